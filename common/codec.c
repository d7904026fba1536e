/*
 * codec.c — base64, hex and UUIDs (see codec.h).
 *
 * Base64 goes through OpenSSL's EVP block functions, after our own strict
 * check: EVP_DecodeBlock accepts whitespace and garbage after padding, and
 * AWS refuses both. UUIDs come from getrandom(2) rather than RAND_bytes, so
 * that minting an id never initialises OpenSSL's random generator.
 */
#include "common/codec.h"

#include "common/error.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/evp.h>

static int base64_char(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

int codec_base64_valid(const char *s, size_t len) {
  if (len % 4 != 0)
    return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (base64_char(c))
      continue;
    if (c == '=' && i >= len - 2 && (i == len - 1 || s[len - 1] == '='))
      continue;
    return 0;
  }
  return 1;
}

char *codec_base64_encode(const void *data, size_t len) {
  if (len > ((size_t)INT_MAX / 4) * 3)
    return NULL;
  char *out = malloc(4 * ((len + 2) / 3) + 1);
  if (!out)
    return NULL;
  EVP_EncodeBlock((unsigned char *)out, data, (int)len);
  return out;
}

int codec_base64_decode(unsigned char **out, size_t *out_len, const char *s, size_t len) {
  if (len > (size_t)INT_MAX || !codec_base64_valid(s, len))
    return AIRGAP_EINVALID;
  unsigned char *buf = malloc(len / 4 * 3 + 1);
  if (!buf)
    return AIRGAP_ERROR;
  int n = len ? EVP_DecodeBlock(buf, (const unsigned char *)s, (int)len) : 0;
  if (n < 0) {
    free(buf);
    return AIRGAP_EINVALID;
  }
  /* EVP_DecodeBlock counts padding as zero bytes. */
  if (len >= 1 && s[len - 1] == '=')
    n--;
  if (len >= 2 && s[len - 2] == '=')
    n--;
  buf[n] = '\0';
  *out = buf;
  *out_len = (size_t)n;
  return 0;
}

void codec_hex_encode(char *out, const void *d, size_t n) {
  static const char digits[] = "0123456789abcdef";
  const unsigned char *p = d;
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
}

void codec_uuid4(char out[37]) {
  unsigned char b[16];
  if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
    /* Only before the kernel's pool is ready (early boot): ids need to be
     * unique, not secret, so a counter mixed with the clock will do. */
    static atomic_uint_fast64_t counter;
    uint64_t c = atomic_fetch_add(&counter, 1) ^ (uint64_t)time(NULL) << 20;
    for (size_t i = 0; i < sizeof(b); i++)
      b[i] = (unsigned char)(c >> ((i % 8) * 8)) ^ (unsigned char)(i * 37);
  }
  b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
  char hex[33];
  codec_hex_encode(hex, b, sizeof(b));
  snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}
