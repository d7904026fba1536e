/*
 * fuzz_s3_chunked.c — fuzz target for the aws-chunked body decoder
 * (emulator/s3_chunked.c), which reads untrusted upload bodies.
 *
 * Each input is decoded twice: in one piece, and fed in pieces whose sizes
 * come from the input's first byte. The decoder must never crash, and both
 * runs must agree exactly (same verdict, same decoded bytes, same error and
 * trailers): the HTTP server hands bodies over in arbitrary pieces, so a
 * split that changes the result would be a bug. With clang and
 * -DAIRGAP_LIBFUZZER it is a libFuzzer target; otherwise the main() below
 * runs seeds and deterministic mutations briefly as a test.
 */
#include "emulator/s3_chunked.h"

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

static int decode(const uint8_t *data, size_t size, size_t piece, out_buf *out, char *error,
                  size_t error_size, char *trailer, size_t trailer_size) {
  s3_chunked *d = s3_chunked_new();
  if (!d)
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  size_t piece = 1 + data[0] % 17;
  data++;
  size--;
  static out_buf whole, split;
  char e1[256], e2[256], t1[256], t2[256];
  int r1 = decode(data, size, size ? size : 1, &whole, e1, sizeof(e1), t1, sizeof(t1));
  int r2 = decode(data, size, piece, &split, e2, sizeof(e2), t2, sizeof(t2));
  if (r1 != r2 || strcmp(e1, e2) != 0 || strcmp(t1, t2) != 0)
    abort();
  if (r1 == 0 && (whole.len != split.len || memcmp(whole.data, split.data, whole.len) != 0))
    abort();
  return 0;
}

#ifndef AIRGAP_LIBFUZZER
#define MUTATIONS_PER_SEED 20000
#define MAX_INPUT 4096

static const char *const seeds[] = {
    "\x03"
    "5;chunk-signature=0000000000000000000000000000000000000000000000000000000000000000\r\n"
    "hello\r\n0;chunk-signature=0000000000000000000000000000000000000000000000000000000000000000"
    "\r\n\r\n",
    "\x05"
    "3\r\nabc\r\n4\r\ndefg\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n",
    "\x01"
    "A\r\n0123456789\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:abc\r\n\r\n",
    "\x07"
    "1\r\nx\r\n0\r\n",
    "\x02"
    "ffffffffffffff\r\nabc",
    "\x09"
    "3\nabc\n0\n\n",
};

static uint64_t rng = 0x2545F4914F6CDD1Du;

static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void run(const uint8_t *seed, size_t len) {
  static uint8_t buf[MAX_INPUT];
  if (len > MAX_INPUT / 2)
    len = MAX_INPUT / 2;
  LLVMFuzzerTestOneInput(seed, len);
  for (int i = 0; i < MUTATIONS_PER_SEED; i++) {
    memcpy(buf, seed, len);
    size_t n = len;
    int edits = 1 + (int)(next() % 4);
    for (int e = 0; e < edits && n > 1; e++) {
      size_t at = (size_t)(next() % n);
      switch (next() % 5) {
      case 0: buf[at] ^= (uint8_t)(1u << (next() % 8)); break;
      case 1: buf[at] = (uint8_t)next(); break;
      case 2: n = at + 1; break;
      case 3: {
        static const char special[] = "\r\n;:=0123456789abcdefABCDEF\0";
        buf[at] = (uint8_t)special[next() % (sizeof(special) - 1)];
        break;
      }
      default: {
        size_t from = (size_t)(next() % n), span = 1 + (size_t)(next() % 16);
        if (from + span > n)
          span = n - from;
        if (n + span <= MAX_INPUT) {
          uint8_t slice[16];
          memcpy(slice, buf + from, span);
          memmove(buf + at + span, buf + at, n - at);
          memcpy(buf + at, slice, span);
          n += span;
        }
      }
      }
    }
    LLVMFuzzerTestOneInput(buf, n);
  }
}

int main(int argc, char **argv) {
  for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
    run((const uint8_t *)seeds[i], strlen(seeds[i]));
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (!f) {
      fprintf(stderr, "cannot open %s\n", argv[i]);
      return 1;
    }
    static uint8_t buf[MAX_INPUT];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    run(buf, n);
  }
  printf("fuzz_s3_chunked: %zu seeds x %d mutations, no failure\n",
         sizeof(seeds) / sizeof(seeds[0]), MUTATIONS_PER_SEED);
  return 0;
}
#endif
