/*
 * fuzz_s3_chunked.c — fuzz target for the aws-chunked body decoder
 * (emulator/s3/chunked.c), which reads untrusted upload bodies.
 *
 * Each input is decoded twice: in one piece, and fed in pieces whose sizes
 * come from the input's first byte. The decoder must never crash, and both
 * runs must agree exactly (same verdict, same decoded bytes, same error and
 * trailers): the HTTP server hands bodies over in arbitrary pieces, so a
 * split that changes the result would be a bug. With clang and
 * -DAIRGAP_LIBFUZZER it is a libFuzzer target; otherwise fuzz_driver.c runs
 * the seeds below and deterministic mutations briefly as a test.
 */
#include "emulator/s3/s3_int.h"
#include "tests/fuzz/fuzz_driver.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct out_buf {
  unsigned char data[1 << 17];
  size_t len;
} out_buf;

static int collect(void *payload, const char *data, size_t len) {
  out_buf *o = payload;
  if (len > sizeof(o->data) - o->len)
    return -1;
  memcpy(o->data + o->len, data, len);
  o->len += len;
  return 0;
}

/* The signature checker of verify mode: records what it was shown and
 * refuses, deterministically, chunks whose digest starts with an odd byte
 * and signatures that are absent. */
typedef struct sig_log {
  unsigned calls;
  unsigned char mix;
} sig_log;

static int check_sig(void *payload, int trailer, const unsigned char sha256[32],
                     const char *signature) {
  sig_log *log = payload;
  log->calls++;
  log->mix = (unsigned char)(log->mix * 31u + sha256[0] + (unsigned)trailer);
  return !signature || (sha256[0] & 1) ? -1 : 0;
}

static int decode(const uint8_t *data, size_t size, size_t piece, out_buf *out, char *error,
                  size_t error_size, char *trailer, size_t trailer_size, sig_log *log) {
  s3_chunked *d = s3_chunked_new();
  if (!d || (log && s3_chunked_verify(d, check_sig, log) < 0))
    abort();
  out->len = 0;
  int rc = 0;
  for (size_t off = 0; off < size && rc == 0; off += piece) {
    size_t n = size - off < piece ? size - off : piece;
    rc = s3_chunked_feed(d, (const char *)data + off, n, collect, out);
  }
  if (rc == 0)
    rc = s3_chunked_finish(d);
  if (rc == 0 && s3_chunked_decoded(d) != out->len)
    abort();
  snprintf(error, error_size, "%s", s3_chunked_error(d));
  const char *t = s3_chunked_trailer(d, "x-amz-checksum-crc32");
  snprintf(trailer, trailer_size, "%s", t ? t : "(none)");
  s3_chunked_free(d);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  size_t piece = 1 + data[0] % 17;
  int verify = data[0] & 0x80; /* chunk signatures checked */
  data++;
  size--;
  static out_buf whole, split;
  char e1[256], e2[256], t1[256], t2[256];
  sig_log l1 = {0, 0}, l2 = {0, 0};
  int r1 = decode(data, size, size ? size : 1, &whole, e1, sizeof(e1), t1, sizeof(t1),
                  verify ? &l1 : NULL);
  int r2 = decode(data, size, piece, &split, e2, sizeof(e2), t2, sizeof(t2), verify ? &l2 : NULL);
  if (r1 != r2 || strcmp(e1, e2) != 0 || strcmp(t1, t2) != 0 || l1.calls != l2.calls ||
      l1.mix != l2.mix)
    abort();
  if (r1 == 0 && (whole.len != split.len || memcmp(whole.data, split.data, whole.len) != 0))
    abort();
  return 0;
}

const char fuzz_target_name[] = "fuzz_s3_chunked";
const fuzz_seed fuzz_alphabet = FUZZ_LITERAL("\r\n;:=0123456789abcdefABCDEF\0");
const int fuzz_mutations_per_seed = 20000;

const fuzz_seed fuzz_seeds[] = {
    FUZZ_LITERAL(
        "\x03"
        "5;chunk-signature=0000000000000000000000000000000000000000000000000000000000000000\r\n"
        "hello\r\n0;chunk-signature="
        "0000000000000000000000000000000000000000000000000000000000000000"
        "\r\n\r\n"),
    FUZZ_LITERAL("\x05"
                 "3\r\nabc\r\n4\r\ndefg\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"),
    FUZZ_LITERAL("\x01"
                 "A\r\n0123456789\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:"
                 "abc\r\n\r\n"),
    FUZZ_LITERAL("\x07"
                 "1\r\nx\r\n0\r\n"),
    FUZZ_LITERAL("\x02"
                 "ffffffffffffff\r\nabc"),
    FUZZ_LITERAL("\x09"
                 "3\nabc\n0\n\n"),
    FUZZ_LITERAL(
        "\x83"
        "5;chunk-signature=0000000000000000000000000000000000000000000000000000000000000000\r\n"
        "hello\r\n0;chunk-signature="
        "0000000000000000000000000000000000000000000000000000000000000000\r\n"
        "x-amz-checksum-crc32:NhCmhg==\r\nx-amz-trailer-signature:"
        "0000000000000000000000000000000000000000000000000000000000000000\r\n\r\n"),
};
const size_t fuzz_seed_count = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);
