/*
 * fuzz_lambda_prelude.c — fuzz target for the prelude of a function URL's
 * streamed response (emulator/lambda/urls.c, lambda_url_prelude: a JSON
 * object, 8 NUL bytes, the body), which the function writes, so untrusted.
 *
 * Whatever comes in: 1 only with a JSON object and a body offset inside the
 * input just past the 8 NUL bytes; 0 only for input shorter than the limit
 * plus the delimiter; every prefix of a found prelude's input that still
 * holds the delimiter finds the same one. Nothing may crash or leak. With
 * clang and -DAIRGAP_LIBFUZZER it is a libFuzzer target; otherwise
 * fuzz_driver.c runs the seeds and deterministic mutations briefly as a test.
 */
#include "emulator/lambda/lambda_int.h"
#include "tests/fuzz/fuzz_driver.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char zeros[8] = {0};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_t *meta = NULL;
  size_t at = 0;
  int rc = lambda_url_prelude(&meta, &at, (const char *)data, size, 0);
  if (rc == 1) {
    if (!json_is_object(meta) || at < 8 || at > size || memcmp(data + at - 8, zeros, 8) != 0)
      abort();
    /* The input cut just after the delimiter gives the same answer. */
    json_t *again = NULL;
    size_t at2 = 0;
    if (lambda_url_prelude(&again, &at2, (const char *)data, at, 0) != 1 || at2 != at ||
        !json_equal(meta, again))
      abort();
    json_decref(again);
    /* Searched in two steps, resuming where the first stopped: the same. */
    size_t half = at / 2;
    json_t *first = NULL;
    size_t at3 = 0;
    int rc1 = lambda_url_prelude(&first, &at3, (const char *)data, half, 0);
    if (rc1 == 0) {
      json_t *second = NULL;
      if (lambda_url_prelude(&second, &at3, (const char *)data, at, half >= 8 ? half - 7 : 0) !=
              1 ||
          at3 != at || !json_equal(meta, second))
        abort();
      json_decref(second);
    }
    json_decref(first);
  } else if (meta) {
    abort();
  } else if (rc == 0 && size >= LAMBDA_URL_MAX_PRELUDE + 8) {
    abort();
  }
  json_decref(meta);
  return 0;
}

const char fuzz_target_name[] = "fuzz_lambda_prelude";
const fuzz_seed fuzz_seeds[] = {
    FUZZ_LITERAL("{\"statusCode\":201,\"headers\":{\"X\":\"y\"},\"cookies\":[\"a=1\"]}"
                 "\0\0\0\0\0\0\0\0body"),
    FUZZ_LITERAL("{}\0\0\0\0\0\0\0\0"),
    FUZZ_LITERAL("[1,2]\0\0\0\0\0\0\0\0after"),
    FUZZ_LITERAL("{\"statusCode\":200}\0\0\0\0\0\0\0"),
    {"{\"statusCode\":", 0},
    FUZZ_LITERAL("\0\0\0\0\0\0\0\0{}"),
    FUZZ_LITERAL("{\"a\":\"\\u0000\"}\0\0\0\0\0\0\0\0\0\0"),
};
const size_t fuzz_seed_count = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);
const fuzz_seed fuzz_alphabet = FUZZ_LITERAL("\0{}[]\":,0123456789statusCode\\u");
const int fuzz_mutations_per_seed = 2000;
