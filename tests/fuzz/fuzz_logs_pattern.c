/*
 * fuzz_logs_pattern.c — fuzz target for CloudWatch Logs' filter-pattern
 * parser and matcher (emulator/logs/logs_pattern.c) and the Logs Insights
 * query parser (logs_query.c).
 *
 * Input layout: byte 0 picks the target (even: a filter pattern, matched
 * against a fixed set of messages — plain, JSON, space-delimited — with
 * extraction on; odd: a Logs Insights query, run over those messages when it
 * parses); the rest is the text. A parser
 * must either succeed or fail with a message, never crash or leak. Built as a
 * libFuzzer target with clang (-fsanitize=fuzzer); otherwise fuzz_driver.c
 * runs it over the seeds below with deterministic mutations on every run.
 */
#include "emulator/logs/logs_int.h"
#include "tests/fuzz/fuzz_driver.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const MESSAGES[] = {
    "ERROR [main] Exception in thread: disk full",
    "{\"level\": \"error\", \"latency\": 512, \"user\": {\"id\": 7, \"tags\": [\"a\", null]}, "
    "\"ok\": false, \"none\": null}",
    "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 404 2326",
    "",
    "{not json",
};

/* Runs a query that parsed over one group holding MESSAGES. */
static void run_query(const logs_query *q) {
  logs_state st = {0};
  logs_group *g = logs_group_add(&st, "000000000000", "us-east-1", "/fuzz");
  logs_stream *s = g ? logs_stream_add(g, "s") : NULL;
  if (s) {
    logs_event_in ev[sizeof(MESSAGES) / sizeof(MESSAGES[0])];
    for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
      ev[i] = (logs_event_in){1000 + (int64_t)i, MESSAGES[i], strlen(MESSAGES[i])};
    logs_stream_append(&st, g, s, ev, sizeof(ev) / sizeof(ev[0]));
    json_t *results = NULL, *stats = NULL;
    logs_query_run(&results, &stats, q, &g, 1, 0, INT64_MAX, 100);
    json_decref(results);
    json_decref(stats);
  }
  logs_group_free(g);
  free(st.groups);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 12000)
    return 0;
  char *text = malloc(size);
  if (!text)
    return 0;
  memcpy(text, data + 1, size - 1);
  text[size - 1] = '\0';
  char err[256] = "";
  if (data[0] % 2 == 0) {
    logs_pattern *p = NULL;
    if (logs_pattern_parse(&p, text, err, sizeof(err)) == 0) {
      for (size_t i = 0; i < sizeof(MESSAGES) / sizeof(MESSAGES[0]); i++) {
        json_t *values = json_object();
        logs_pattern_match(p, MESSAGES[i], strlen(MESSAGES[i]), values);
        json_decref(values);
      }
      logs_pattern_free(p);
    } else if (!err[0]) {
      abort(); /* a failure must always say why */
    }
  } else {
    logs_query *q = NULL;
    if (logs_query_parse(&q, text, err, sizeof(err)) == 0) {
      run_query(q);
      logs_query_free(q);
    } else if (!err[0]) {
      abort();
    }
  }
  free(text);
  return 0;
}

const fuzz_seed fuzz_seeds[] = {
    FUZZ_LITERAL("\x00"
                 "ERROR \"disk full\" -DEBUG"),
    FUZZ_LITERAL("\x00?ERROR ?WARN \"Exception\" ?%[Ee]rror%"),
    FUZZ_LITERAL("\x00{ ($.level = \"err*\" && $.latency >= 500) || $.user.tags[0] = a }"),
    FUZZ_LITERAL(
        "\x00{ $.ok IS FALSE && $.none IS NULL && $.missing NOT EXISTS && $.user.id != 8 }"),
    FUZZ_LITERAL(
        "\x00[ip, id, user, ts, request = \"*gif*\", status = 4* || status = 5*, bytes > 1000]"),
    FUZZ_LITERAL("\x00[..., status = 404, bytes]"),
    FUZZ_LITERAL("\x00[a, ..., b, ..., c = %^2.*%]"),
    FUZZ_LITERAL("\x01"
                 "fields @timestamp, @message | filter level = \"error\" and latency > 100 | "
                 "sort @timestamp desc | limit 20"),
    FUZZ_LITERAL("\x01"
                 "filter @message like /ERROR/ or not user.id in [1, 2, \"x\"] | stats count(*) "
                 "as n, avg(latency) by level"),
    FUZZ_LITERAL(
        "\x01"
        "parse @message \"* [*] *\" as a, b, c | parse a /(?<x>[0-9]+)(?:[a-z]*)(?<y>[^]x])/"),
    FUZZ_LITERAL("\x01"
                 "filter ispresent(user.id) and (a != 'b' or (c <= -1.5)) | display a, `b c`"),
};
const size_t fuzz_seed_count = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);
const char fuzz_target_name[] = "fuzz_logs_pattern";
const fuzz_seed fuzz_alphabet =
    FUZZ_LITERAL("{}[]()$.*?%\"'`/,=!<>&| -0123456789ISNULLTRUENOTEXISTS"
                 "andornotlikein|");
const int fuzz_mutations_per_seed = 2000;
