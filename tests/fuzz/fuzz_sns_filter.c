/*
 * fuzz_sns_filter.c — fuzz target for SNS filter policies: the shared
 * pattern language's check (emulator/delivery/pattern.c) in both SNS
 * dialects and, for policies that pass, matching against a message's
 * attributes and against a JSON body.
 *
 * Input layout: byte 0 picks the scope (even: MessageAttributes, odd:
 * MessageBody); the rest is the policy text. Built as a libFuzzer target with
 * clang (-fsanitize=fuzzer); otherwise fuzz_driver.c runs it over the seeds
 * below with deterministic mutations on every test run.
 */
#include "emulator/delivery/delivery.h"
#include "tests/fuzz/fuzz_driver.h"

#include <jansson.h>
#include <stdint.h>
#include <string.h>

static const char ATTRS[] = "{\"color\": \"red\", \"size\": 15, \"tags\": [\"a\", \"b\"],"
                            "\"ip\": \"10.0.0.7\", \"empty\": \"\"}";
static const char BODY[] = "{\"order\": {\"status\": \"shipped\", \"total\": 150, \"items\": "
                           "[{\"sku\": \"x\"}, {\"sku\": \"y\"}]}, \"source\": \"shop\", "
                           "\"n\": null, \"ok\": true}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 16384)
    return 0;
  json_t *policy = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
  if (!policy)
    return 0;
  delivery_dialect dialect = data[0] % 2 ? DELIVERY_SNS_BODY : DELIVERY_SNS_ATTRIBUTES;
  char reason[256];
  if (delivery_pattern_check(policy, dialect, reason, sizeof(reason)) == 0) {
    json_t *doc = json_loads(dialect == DELIVERY_SNS_BODY ? BODY : ATTRS, 0, NULL);
    delivery_pattern_match(policy, doc);
    json_decref(doc);
  } else if (strlen(reason) == 0) {
    __builtin_trap(); /* a refusal always says why */
  }
  json_decref(policy);
  return 0;
}

const char fuzz_target_name[] = "fuzz_sns_filter";
const fuzz_seed fuzz_seeds[] = {
    FUZZ_LITERAL("\x00{\"color\": [\"red\", {\"prefix\": \"bl\"}, {\"suffix\": \"een\"}]}"),
    FUZZ_LITERAL("\x00{\"size\": [{\"numeric\": [\">\", 10, \"<=\", 20]}]}"),
    FUZZ_LITERAL("\x00{\"color\": [{\"anything-but\": [\"red\", \"blue\"]}]}"),
    FUZZ_LITERAL("\x00{\"color\": [{\"anything-but\": {\"prefix\": \"r\"}}]}"),
    FUZZ_LITERAL("\x00{\"$or\": [{\"tier\": [{\"exists\": true}]}, {\"vip\": [\"yes\"]}]}"),
    FUZZ_LITERAL("\x00{\"ip\": [{\"cidr\": \"10.0.0.0/24\"}], \"tags\": [\"b\"]}"),
    FUZZ_LITERAL("\x00{\"color\": [{\"equals-ignore-case\": \"RED\"}]}"),
    FUZZ_LITERAL("\x01{\"order\": {\"status\": [\"shipped\"], \"items\": {\"sku\": [\"y\"]}}}"),
    FUZZ_LITERAL("\x01{\"n\": [{\"exists\": false}], \"ok\": [{\"exists\": true}]}"),
    FUZZ_LITERAL("\x00{\"a\": [{\"numeric\": [\"=\", 1e9]}]}"),
};
const size_t fuzz_seed_count = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);
const fuzz_seed fuzz_alphabet = FUZZ_LITERAL("{}[]\":,$or prefix suffix anything-but numeric "
                                             "exists cidr equals-ignore-case <>= 0.5 -1 true "
                                             "false null /");
const int fuzz_mutations_per_seed = 1500;
