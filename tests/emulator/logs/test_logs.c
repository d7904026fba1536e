/*
 * test_logs.c — unit tests of CloudWatch Logs' pieces below the API: the
 * filter-pattern matcher (a table of patterns and messages, including the
 * extracted values), the Logs Insights parser's refusals, and the in-process
 * API of logs.h that Lambda writes function logs with (groups and streams
 * created on demand, order kept, retention applied, errors when Logs is not
 * served or a name is invalid).
 */
#include "common/error.h"
#include "emulator/emulator.h"
#include "emulator/logs/logs_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

typedef struct pattern_case {
  const char *pattern, *message;
  int match;
} pattern_case;

static const pattern_case CASES[] = {
    {"", "anything", 1},
    {"ERROR", "2024 ERROR disk", 1},
    {"ERROR", "error disk", 0}, /* case-sensitive */
    {"ERROR disk", "ERROR net", 0},
    {"\"disk full\"", "ERROR: disk full!", 1},
    {"\"disk full\"", "disk is full", 0},
    {"?ERROR ?WARN", "WARN low", 1},
    {"?ERROR ?WARN", "INFO ok", 0},
    {"?ERROR disk ?WARN net", "ERROR net", 0},
    {"?ERROR disk ?WARN net", "WARN net", 1},
    {"ERROR -timeout", "ERROR timeout", 0},
    {"ERROR -timeout", "ERROR crash", 1},
    {"-DEBUG", "INFO x", 1},
    {"%[0-9]{3}%", "code 404", 1},
    {"%^ab$%", "abc", 0},
    {"{ $.a = 1 }", "{\"a\": 1}", 1},
    {"{ $.a = 1 }", "{\"a\": 1.5}", 0},
    {"{ $.a > 1.5 && $.b = \"x*\" }", "{\"a\": 2, \"b\": \"xyz\"}", 1},
    {"{ $.a > 1.5 && $.b = \"x*\" }", "{\"a\": 2, \"b\": \"yx\"}", 0},
    {"{ $.a < 0 || $.c[1].d = q }", "{\"a\": 2, \"c\": [0, {\"d\": \"q\"}]}", 1},
    {"{ $.e NOT EXISTS }", "{\"a\": 1}", 1},
    {"{ $.e EXISTS }", "{\"a\": 1}", 0},
    {"{ $.n IS NULL && $.t IS TRUE && $.f IS FALSE }", "{\"n\": null, \"t\": true, \"f\": false}",
     1},
    {"{ $.s != \"a\" }", "{\"s\": \"b\"}", 1},
    {"{ $.s != \"a\" }", "{}", 0},
    {"{ $.a = 1 }", "not json", 0},
    {"{ $.m = %^x.z$% }", "{\"m\": \"xyz\"}", 1},
    {"[a, b, c]", "1 2 3", 1},
    {"[a, b, c]", "1 2", 0},
    {"[a, b, c]", "1 2 3 4", 0},
    {"[..., c = 3]", "1 2 3", 1},
    {"[a, ..., c = 3]", "1 3", 1},
    {"[a, b = 4* || b = 5*, c > 100]", "x 503 120", 1},
    {"[a, b = 4* || b = 5*, c > 100]", "x 200 120", 0},
    {"[ip, req = \"*gif*\", st]", "1.2.3.4 \"GET /a.gif HTTP/1.0\" 200", 1},
    {"[ts, lvl != DEBUG, ...]", "[10/Oct/2000:13:55:36 -0700] DEBUG x y", 0},
    {"[ts, lvl != DEBUG, ...]", "[10/Oct/2000:13:55:36 -0700] INFO x y", 1},
};

static void test_logs_pattern_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
    logs_pattern *p = NULL;
    char err[256] = "";
    if (logs_pattern_parse(&p, CASES[i].pattern, err, sizeof(err)) < 0)
      fail_msg("pattern %s: %s", CASES[i].pattern, err);
    int got = logs_pattern_match(p, CASES[i].message, strlen(CASES[i].message), NULL);
    if (got != CASES[i].match)
      fail_msg("pattern %s on %s: got %d", CASES[i].pattern, CASES[i].message, got);
    logs_pattern_free(p);
  }
}

static void test_logs_pattern_refusals(void **state) {
  (void)state;
  static const char *const bad[] = {
      "{ $.a = }", "{ a = 1 }",   "{ $.a > \"x\" }", "[a, b",   "\"open",
      "%(group)%", "%a% %b% %c%", "{ $.a = 1 } x",   "[a,, b]", "{ ((($.a = 1) }"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    logs_pattern *p = NULL;
    char err[256] = "";
    if (logs_pattern_parse(&p, bad[i], err, sizeof(err)) == 0)
      fail_msg("pattern %s parsed", bad[i]);
    assert_true(err[0] != '\0');
  }
}

static void test_logs_pattern_extracts(void **state) {
  (void)state;
  logs_pattern *p = NULL;
  char err[256];
  assert_int_equal(logs_pattern_parse(&p, "[ip, user, status = 404]", err, sizeof(err)), 0);
  json_t *values = json_object();
  assert_int_equal(logs_pattern_match(p, "1.2.3.4 bob 404", 15, values), 1);
  assert_string_equal(json_string_value(json_object_get(values, "$user")), "bob");
  assert_string_equal(json_string_value(json_object_get(values, "$status")), "404");
  json_decref(values);
  logs_pattern_free(p);
  assert_int_equal(logs_pattern_parse(&p, "{ $.a.b > 1 }", err, sizeof(err)), 0);
  values = json_object();
  assert_int_equal(logs_pattern_match(p, "{\"a\": {\"b\": 5}}", 15, values), 1);
  assert_string_equal(json_string_value(json_object_get(values, "$.a.b")), "5");
  json_decref(values);
  logs_pattern_free(p);
}

static void test_logs_query_refusals(void **state) {
  (void)state;
  static const char *const bad[] = {"bogus a",       "fields",     "limit 0",
                                    "limit x",       "filter a =", "stats median(a)",
                                    "filter (a = 1", "sort",       "fields a | | fields b",
                                    "filter a like"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    logs_query *q = NULL;
    char err[256] = "";
    if (logs_query_parse(&q, bad[i], err, sizeof(err)) == 0)
      fail_msg("query %s parsed", bad[i]);
    assert_true(err[0] != '\0');
  }
  logs_query *q = NULL;
  char err[256];
  assert_int_equal(logs_query_parse(&q,
                                    "fields a | filter a > 1 and not b like /x/ | sort a desc "
                                    "| limit 5 | stats count(*) as n by a",
                                    err, sizeof(err)),
                   0);
  logs_query_free(q);
}

static emulator *start(const char *services) {
  emulator_options o = {.listen = "127.0.0.1:0", .services = services};
  emulator *emu = NULL;
  assert_int_equal(emulator_start(&emu, &o), 0);
  return emu;
}

static void test_logs_events_write(void **state) {
  (void)state;
  emulator *emu = start("logs");
  int64_t now = logs_now_ms();
  logs_event_in ev[] = {{now - 2, "START RequestId: r1 Version: $LATEST", 0},
                        {now - 1, "hello from the function\n", 0},
                        {now - 3, "END RequestId: r1", 0}}; /* kept in the order given */
  const char *group = "/aws/lambda/fn", *stream = "2026/01/01/[$LATEST]0123456789abcdef";
  assert_true(logs_available(emu));
  assert_int_equal(logs_events_write(emu, "000000000000", "us-east-1", group, stream, ev, 3), 3);
  assert_int_equal(logs_events_write(emu, "000000000000", "us-east-1", group, stream, ev, 1), 1);
  logs_state *st = emulator_service_state(emu, "logs");
  logs_group *g = logs_group_find(st, "000000000000", "us-east-1", group);
  assert_non_null(g);
  logs_stream *s = logs_stream_find(g, stream);
  assert_non_null(s);
  assert_int_equal(s->n, 4);
  assert_string_equal(s->ev[0].msg, "END RequestId: r1"); /* sorted by timestamp */
  assert_string_equal(s->ev[1].msg, "START RequestId: r1 Version: $LATEST");
  assert_string_equal(s->ev[2].msg, "START RequestId: r1 Version: $LATEST");
  assert_true(s->ev[1].id < s->ev[2].id);
  /* Retention drops what is too old. */
  g->retention = 1;
  logs_event_in old = {now - 2LL * 86400000, "old", 0};
  assert_int_equal(logs_events_write(emu, "000000000000", "us-east-1", group, stream, &old, 1), 0);
  assert_int_equal(logs_events_write(emu, "000000000000", "us-east-1", "bad name", stream, ev, 1),
                   AIRGAP_EINVALID);
  assert_int_equal(logs_events_write(emu, "000000000000", "us-east-1", group, "a:b", ev, 1),
                   AIRGAP_EINVALID);
  emulator_request_stop(emu);
  emulator_wait(emu, 5000);
  emulator_free(emu);

  emu = start("sts");
  assert_false(logs_available(emu));
  assert_int_equal(logs_events_write(emu, "000000000000", "us-east-1", group, stream, ev, 1),
                   AIRGAP_ENOTFOUND);
  emulator_request_stop(emu);
  emulator_wait(emu, 5000);
  emulator_free(emu);
}

static void test_logs_lambda_write(void **state) {
  (void)state;
  emulator *emu = start("logs");
  char stream[LOGS_LAMBDA_STREAM_MAX];
  int64_t now = logs_now_ms();
  logs_lambda_stream_name(stream, now, "$LATEST");
  assert_int_equal(strlen(stream), strlen("2026/01/01/[$LATEST]") + 32);
  assert_non_null(strstr(stream, "/[$LATEST]"));
  const char out[] = "first line\nsecond line\nno newline";
  logs_lambda_invocation inv = {.function_name = "fn",
                                .stream = stream,
                                .request_id = "r-1",
                                .version = "$LATEST",
                                .start_ms = now - 12,
                                .end_ms = now,
                                .memory_mb = 128,
                                .max_memory_used_mb = 40,
                                .init_duration_ms = 101.5,
                                .output = out,
                                .output_len = sizeof(out) - 1};
  assert_int_equal(logs_lambda_write(emu, "000000000000", "us-east-1", &inv), 6);
  inv.init_duration_ms = -1;
  inv.output = NULL;
  assert_int_equal(logs_lambda_write(emu, "000000000000", "us-east-1", &inv), 3);
  logs_state *st = emulator_service_state(emu, "logs");
  logs_stream *s =
      logs_stream_find(logs_group_find(st, "000000000000", "us-east-1", "/aws/lambda/fn"), stream);
  assert_non_null(s);
  assert_int_equal(s->n, 9);
  assert_string_equal(s->ev[0].msg, "START RequestId: r-1 Version: $LATEST\n");
  assert_string_equal(s->ev[1].msg, "first line\n");
  assert_string_equal(s->ev[3].msg, "no newline");
  assert_string_equal(s->ev[4].msg, "START RequestId: r-1 Version: $LATEST\n");
  assert_string_equal(s->ev[5].msg, "END RequestId: r-1\n");
  assert_string_equal(s->ev[6].msg,
                      "REPORT RequestId: r-1\tDuration: 12.00 ms\tBilled Duration: 12 ms\t"
                      "Memory Size: 128 MB\tMax Memory Used: 40 MB\tInit Duration: 101.50 ms\t\n");
  assert_string_equal(s->ev[8].msg,
                      "REPORT RequestId: r-1\tDuration: 12.00 ms\tBilled Duration: 12 ms\t"
                      "Memory Size: 128 MB\tMax Memory Used: 40 MB\t\n");
  emulator_request_stop(emu);
  emulator_wait(emu, 5000);
  emulator_free(emu);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_logs_pattern_table),    cmocka_unit_test(test_logs_pattern_refusals),
      cmocka_unit_test(test_logs_pattern_extracts), cmocka_unit_test(test_logs_query_refusals),
      cmocka_unit_test(test_logs_events_write),     cmocka_unit_test(test_logs_lambda_write),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
