/*
 * fuzz_lambda_trailer.c — fuzz target for the error trailers a Lambda
 * runtime sends after a streamed response (emulator/lambda/stream.c:
 * Lambda-Runtime-Function-Error-Type and -Body, base64 JSON, from a function
 * container, so untrusted).
 *
 * Input: the type, a newline, the body. Whatever comes in, the result must
 * be a JSON object with a string errorType, and nothing may crash or leak.
 * With clang and -DAIRGAP_LIBFUZZER it is a libFuzzer target; otherwise
 * fuzz_driver.c runs the seeds and deterministic mutations briefly as a test.
 */
#include "emulator/lambda/lambda_runtime_int.h"
#include "tests/fuzz/fuzz_driver.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  char *nl = strchr(text, '\n');
  const char *b64 = NULL;
  if (nl) {
    *nl = '\0';
    b64 = nl + 1;
  }
  char *out = lambda_stream_error_body(text, b64);
  if (out) {
    json_t *j = json_loads(out, 0, NULL);
    if (!json_is_object(j) || !json_is_string(json_object_get(j, "errorType")))
      abort();
    json_decref(j);
  }
  free(out);
  free(text);
  return 0;
}

const char fuzz_target_name[] = "fuzz_lambda_trailer";
const fuzz_seed fuzz_seeds[] = {
    /* {"errorMessage":"boom","errorType":"ValueError"} */
    {"ValueError\neyJlcnJvck1lc3NhZ2UiOiJib29tIiwiZXJyb3JUeXBlIjoiVmFsdWVFcnJvciJ9", 0},
    /* {"errorMessage":"no type"} */
    {"Unhandled\neyJlcnJvck1lc3NhZ2UiOiJubyB0eXBlIn0=", 0},
    /* [1,2] (not an object) */
    {"Unhandled\nWzEsMl0=", 0},
    {"Unhandled\n!!!not base64", 0},
    {"OnlyAType", 0},
    FUZZ_LITERAL("Nul\0Type\neyJhIjoxfQ=="),
};
const size_t fuzz_seed_count = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);
const fuzz_seed fuzz_alphabet = FUZZ_LITERAL("\n={}\":,+/AZaz09\\");
const int fuzz_mutations_per_seed = 2000;
