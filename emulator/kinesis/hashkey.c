/*
 * hashkey.c — Kinesis hash keys: 128-bit unsigned integers (GMP), written in
 * decimal on the wire. A partition key maps to the MD5 digest of its UTF-8
 * bytes read as a big-endian integer, as AWS documents; a stream's open shards
 * cover [0, 2^128 - 1] with contiguous ranges, split evenly at creation.
 */
#include "emulator/kinesis/kinesis_int.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static EVP_MD *md5_md;
static pthread_once_t md5_once = PTHREAD_ONCE_INIT;

/* Fetched once: EVP_md5() makes OpenSSL 3 look the algorithm up on every
 * digest, a cost PutRecords would pay per record. */
static void md5_fetch(void) { md5_md = EVP_MD_fetch(NULL, "MD5", NULL); }

void kin_hash_key_bytes_ctx(unsigned char out[16], const char *key, size_t len, void *ctx) {
  pthread_once(&md5_once, md5_fetch);
  unsigned int n = 0;
  if (ctx && md5_md && EVP_DigestInit_ex2(ctx, md5_md, NULL) == 1 &&
      EVP_DigestUpdate(ctx, key, len) == 1 && EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == 16)
    return;
  if (!md5_md || EVP_Digest(key, len, out, &n, md5_md, NULL) != 1 || n != 16)
    EVP_Digest(key, len, out, &n, EVP_md5(), NULL);
}

void kin_hash_key_bytes(unsigned char out[16], const char *key) {
  kin_hash_key_bytes_ctx(out, key, strlen(key), NULL);
}

void kin_hash_from_bytes(mpz_t out, const unsigned char in[16]) {
  mpz_import(out, 16, 1, 1, 1, 0, in);
}

void kin_hash_to_bytes(unsigned char out[16], const mpz_t v) {
  size_t count = 0;
  unsigned char buf[16];
  memset(out, 0, 16);
  if (mpz_sizeinbase(v, 2) > 128)
    return;
  mpz_export(buf, &count, 1, 1, 1, 0, v);
  memcpy(out + 16 - count, buf, count);
}

void kin_hash_partition_key(mpz_t out, const char *key) {
  unsigned char md[16];
  kin_hash_key_bytes(md, key);
  kin_hash_from_bytes(out, md);
}

int kin_hash_parse(mpz_t out, const char *text) {
  size_t n = strlen(text);
  /* The model's pattern: 0|([1-9]\d{0,38}). */
  if (n == 0 || n > 39 || strspn(text, "0123456789") != n || (n > 1 && text[0] == '0'))
    return -1;
  mpz_t v;
  mpz_init_set_str(v, text, 10);
  if (mpz_sizeinbase(v, 2) > 128) {
    mpz_clear(v);
    return -1;
  }
  mpz_set(out, v);
  mpz_clear(v);
  return 0;
}

json_t *kin_hash_json(const mpz_t v) {
  char buf[48];
  if (mpz_sizeinbase(v, 10) + 2 > sizeof(buf))
    return json_string("0");
  mpz_get_str(buf, 10, v);
  return json_string(buf);
}

void kin_hash_split_even(mpz_t start, mpz_t end, const mpz_t lo, const mpz_t hi, unsigned i,
                         unsigned n) {
  /* width = (hi - lo + 1) / n; shard i covers lo + i*width .. lo + (i+1)*width - 1,
   * the last one up to hi (AWS's own split of 2^128 into n shards). */
  mpz_t width;
  mpz_init(width);
  mpz_sub(width, hi, lo);
  mpz_add_ui(width, width, 1);
  mpz_fdiv_q_ui(width, width, n);
  mpz_mul_ui(start, width, i);
  mpz_add(start, start, lo);
  if (i + 1 == n) {
    mpz_set(end, hi);
  } else {
    mpz_add(end, start, width);
    mpz_sub_ui(end, end, 1);
  }
  mpz_clear(width);
}

json_t *kin_hash_range_json(const kin_shard *sh) {
  json_t *r = json_object();
  json_object_set_new(r, "StartingHashKey", kin_hash_json(sh->start));
  json_object_set_new(r, "EndingHashKey", kin_hash_json(sh->end));
  return r;
}
