/*
 * fuzz_queue_spec.c — fuzz target for the job spec parser (queue_spec_parse),
 * the first thing hostile input from `airgap submit` reaches. Checks, beyond
 * "no crash, no leak": a refused spec names a field and a reason; an accepted
 * spec serializes, and its serialization parses back to the same text.
 */
#include "queue/queue.h"
#include "common/error.h"
#include "tests/fuzz/fuzz_driver.h"

#include <stdlib.h>
#include <string.h>

const char fuzz_target_name[] = "fuzz_queue_spec";
const fuzz_seed fuzz_alphabet = FUZZ_LITERAL("{}[]\":,\\0123456789-eE.u");
const int fuzz_mutations_per_seed = 3000;

const fuzz_seed fuzz_seeds[] = {
    {"{\"repo\":\"https://git.example.com/team/app.git\",\"ref\":\"main\",\"image\":\"debian:"
     "bookworm\",\"script\":\"make test\",\"env\":{\"K\":\"V\"},\"secrets\":{\"TOKEN\":\"s3cr3t\"},"
     "\"timeout\":600,\"services\":[\"s3\",\"sqs\"],\"labels\":[\"linux\"],\"resources\":{"
     "\"memory\":\"2g\",\"cpus\":2,\"pids\":4096},\"mountpoint\":\"/workspace\"}",
     0},
    {"{\"repo\":\"/srv/git/app\",\"commit\":\"0123456789abcdef0123456789abcdef01234567\",\"image\":"
     "\"busybox\",\"script\":\"true\"}",
     0},
    {"{\"repo\":\"r\",\"image\":\"i\",\"script\":\"s\",\"env\":{\"A\":\"\\u0000\"},\"timeout\":"
     "1e9}",
     0},
    {"[{\"repo\":null}]", 0},
};
const size_t fuzz_seed_count = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  queue_spec *spec = NULL;
  queue_spec_error err = {{0}, {0}};
  int rc = queue_spec_parse(&spec, (const char *)data, size, &err);
  if (rc < 0) {
    if (spec || (rc != AIRGAP_EINVALID && rc != AIRGAP_ETOOBIG) || !err.field[0] || !err.reason[0])
      abort(); /* a refusal must name the field and the reason, and hand out nothing */
    return 0;
  }
  char *first = NULL, *second = NULL;
  queue_spec *again = NULL;
  if (queue_spec_to_json(&first, spec, 0) < 0 ||
      queue_spec_parse(&again, first, strlen(first), NULL) < 0 ||
      queue_spec_to_json(&second, again, 0) < 0 || strcmp(first, second) != 0)
    abort(); /* what we accept, we must be able to store and read back unchanged */
  free(first);
  free(second);
  queue_spec_free(again);
  queue_spec_free(spec);
  return 0;
}
