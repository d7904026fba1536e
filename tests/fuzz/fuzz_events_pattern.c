/*
 * fuzz_events_pattern.c — fuzz target for EventBridge's event patterns (the
 * shared pattern language of emulator/delivery/pattern.c in its EventBridge
 * dialect: wildcard, nested objects, $or, null and booleans), matched
 * against a sample event when they pass the check, and for the schedule
 * expressions rate() and cron() (emulator/events/events_schedule.c).
 *
 * Input layout: byte 0 even: the rest is a pattern; odd: a schedule
 * expression. Built as a libFuzzer target with clang (-fsanitize=fuzzer);
 * otherwise fuzz_driver.c runs it over the seeds below with deterministic
 * mutations on every test run.
 */
#include "emulator/events/events_int.h"
#include "tests/fuzz/fuzz_driver.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char EVENT[] =
    "{\"id\": \"1\", \"version\": \"0\", \"detail-type\": \"State Change\", \"source\": "
    "\"aws.ec2\", \"account\": \"123456789012\", \"time\": \"2015-11-11T21:29:54Z\", "
    "\"region\": \"us-east-1\", \"resources\": [\"arn:aws:ec2:us-east-1:1:instance/i-1\"], "
    "\"detail\": {\"state\": \"pending\", \"count\": 5, \"ip\": \"10.0.0.12\", \"tags\": "
    "[\"a\", \"b\"], \"nested\": {\"deep\": {\"flag\": true}}, \"nothing\": null}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 16384)
    return 0;
  if (data[0] % 2) {
    char *expr = malloc(size);
    if (!expr)
      return 0;
    memcpy(expr, data + 1, size - 1);
    expr[size - 1] = '\0';
    if (events_schedule_check(expr) == 0 && events_schedule_next(expr, 1700000000000ull) == 0 &&
        !strncmp(expr, "rate(", 5))
      __builtin_trap(); /* a valid rate always has a next time */
    free(expr);
    return 0;
  }
  json_t *pattern = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
  if (!pattern)
    return 0;
  char reason[256];
  if (delivery_pattern_check(pattern, DELIVERY_EVENTBRIDGE, reason, sizeof(reason)) == 0) {
    json_t *event = json_loads(EVENT, 0, NULL);
    delivery_pattern_match(pattern, event);
    json_decref(event);
  }
  json_decref(pattern);
  return 0;
}

const char fuzz_target_name[] = "fuzz_events_pattern";
const fuzz_seed fuzz_seeds[] = {
    FUZZ_LITERAL(
        "\x00{\"source\": [\"aws.ec2\"], \"detail\": {\"state\": [{\"prefix\": \"pe\"}]}}"),
    FUZZ_LITERAL("\x00{\"detail\": {\"count\": [{\"numeric\": [\">\", 1, \"<=\", 5]}]}}"),
    FUZZ_LITERAL("\x00{\"detail\": {\"state\": [{\"anything-but\": {\"wildcard\": \"p*\"}}]}}"),
    FUZZ_LITERAL("\x00{\"detail\": {\"nested\": {\"deep\": {\"flag\": [true]}}}}"),
    FUZZ_LITERAL("\x00{\"$or\": [{\"source\": [\"x\"]}, {\"detail\": {\"nothing\": [null]}}]}"),
    FUZZ_LITERAL("\x00{\"resources\": [{\"wildcard\": \"arn:*:instance/*\"}]}"),
    FUZZ_LITERAL("\x00{\"detail-type\": [{\"equals-ignore-case\": \"state change\"}]}"),
    FUZZ_LITERAL("\x00{\"detail\": {\"ip\": [{\"cidr\": \"10.0.0.0/8\"}], \"x\": [{\"exists\": "
                 "false}]}}"),
    FUZZ_LITERAL("\x01rate(5 minutes)"),
    FUZZ_LITERAL("\x01cron(0/15 8-17 ? * MON-FRI *)"),
    FUZZ_LITERAL("\x01cron(0 12 L * ? 2030)"),
    FUZZ_LITERAL("\x01cron(0 10 ? * 6#3 *)"),
    FUZZ_LITERAL("\x01cron(0 10 ? * 2L *)"),
};
const size_t fuzz_seed_count = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);
const fuzz_seed fuzz_alphabet = FUZZ_LITERAL("{}[]\":,$or prefix suffix anything-but numeric "
                                             "wildcard * exists ()?#L/-, 0 59 JAN SUN rate cron "
                                             "minute");
const int fuzz_mutations_per_seed = 1500;
