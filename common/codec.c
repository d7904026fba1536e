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

/* 1 for the 64 characters of the base64 alphabet. A table: the check runs
 * over every blob of every JSON request (Kinesis data, DynamoDB binaries). */
static const unsigned char base64_alphabet[256] = {
    ['+'] = 1, ['/'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1,
    ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1,
    ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1,
    ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1,
    ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

int codec_base64_valid(const char *s, size_t len) {
  if (len % 4 != 0)
    return 0;
  /* Padding: "=" or "==" at the very end only. */
  size_t body = len;
  if (body > 0 && s[body - 1] == '=')
    body--;
  if (body > 0 && s[body - 1] == '=' && body == len - 1)
    body--;
  const unsigned char *p = (const unsigned char *)s;
  unsigned ok = 1;
  for (size_t i = 0; i < body; i++)
    ok &= base64_alphabet[p[i]];
  return (int)ok;
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
