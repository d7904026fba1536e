/*
 * fuzz_s3_post.c — fuzz target for the multipart/form-data parser of S3's
 * POST Object (emulator/s3/post.c), which reads untrusted browser forms.
 *
 * An input is a Content-Type line, a newline, then the body. The parser must
 * never crash or read outside the body; on success the file part must lie
 * inside the body and the fields must stay within their bounds; on failure
 * the form must come back empty with a message. With clang and
 * -DAIRGAP_LIBFUZZER it is a libFuzzer target; otherwise fuzz_driver.c runs
 * the seeds below and deterministic mutations briefly as a test.
 */
#include "emulator/s3/s3_int.h"
#include "tests/fuzz/fuzz_driver.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *nl = memchr(data, '\n', size);
  if (!nl)
    return 0;
  size_t tlen = (size_t)(nl - (const char *)data);
  char *type = malloc(tlen + 1);
  /* The body in a buffer of its own size, so that ASan sees any overread. */
  size_t blen = size - tlen - 1;
  char *body = malloc(blen ? blen : 1);
  if (!type || !body)
    abort();
  memcpy(type, data, tlen);
  type[tlen] = '\0';
  memcpy(body, nl + 1, blen);
  s3_form f;
  char error[256];
  if (s3_form_parse(&f, type, body, blen, error, sizeof(error)) == 0) {
    if (f.len > S3_FORM_MAX_FIELDS)
      abort();
    for (size_t i = 0; i < f.len; i++)
      if (!f.fields[i].name || !f.fields[i].value || strlen(f.fields[i].value) > S3_FORM_MAX_FIELD)
        abort();
    if (f.has_file && (f.file < body || f.file + f.file_len > body + blen))
      abort();
    (void)s3_form_get(&f, "key");
    s3_form_free(&f);
  } else {
    if (f.len || f.has_file || !error[0])
      abort();
  }
  free(type);
  free(body);
  return 0;
}

const char fuzz_target_name[] = "fuzz_s3_post";
const fuzz_seed fuzz_alphabet = FUZZ_LITERAL("\r\n-;=\":xX ");
const int fuzz_mutations_per_seed = 20000;

const fuzz_seed fuzz_seeds[] = {
    FUZZ_LITERAL("multipart/form-data; boundary=xX\n--xX\r\nContent-Disposition: form-data; "
                 "name=\"key\"\r\n\r\nk\r\n--xX\r\nContent-Disposition: form-data; name=\"file\"; "
                 "filename=\"a\"\r\nContent-Type: text/plain\r\n\r\nbody\r\n--xX--\r\n"),
    FUZZ_LITERAL("multipart/form-data; boundary=\"q q\"\n\r\n--q q\r\nContent-Disposition: "
                 "form-data; name=policy\r\n\r\neyJ9\r\n--q q--"),
    FUZZ_LITERAL("multipart/form-data; boundary=b\n--b\r\nContent-Disposition: form-data; "
                 "name=\"file\"\r\n\r\n\r\n--b\r\n--b--"),
    FUZZ_LITERAL("multipart/form-data; boundary=b\n--b--"),
};
const size_t fuzz_seed_count = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);
