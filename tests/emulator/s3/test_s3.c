/*
 * test_s3.c — unit tests of the S3 service's pure pieces (emulator/s3/),
 * which the end-to-end suites reach only through clients that send tidy
 * input: the header list walker behind aws-chunked detection, Content-Encoding
 * cleaning and If-Match lists; ETag lists; byte ranges; the integrity check
 * of Content-MD5 and x-amz-checksum-*; the digests against published check
 * values; and the sorted index that holds buckets and keys.
 */
#include "emulator/s3/s3_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The items of a comma-separated list, joined with '|'. */
static void walk(char *out, size_t size, const char *list) {
  const char *item = NULL;
  size_t len = 0, used = 0;
  out[0] = '\0';
  for (const char *c = list; s3_list_next(&c, &item, &len);) {
    int n = snprintf(out + used, size - used, "%s%.*s", used ? "|" : "", (int)len, item);
    assert_true(n > 0 && (size_t)n < size - used);
    used += (size_t)n;
  }
}

static void test_s3_list_next_trims_and_skips_empty_items(void **state) {
  (void)state;
  char out[128];
  walk(out, sizeof(out), "gzip, aws-chunked ,,\tbr ");
  assert_string_equal(out, "gzip|aws-chunked|br");
  walk(out, sizeof(out), " , ,");
  assert_string_equal(out, "");
  walk(out, sizeof(out), "");
  assert_string_equal(out, "");
  walk(out, sizeof(out), NULL);
  assert_string_equal(out, "");
  walk(out, sizeof(out), "\"a, b\"");
  assert_string_equal(out, "\"a|b\""); /* no quoting: S3's lists hold no commas */
}

static void test_s3_etag_listed_matches_quoted_weak_and_star(void **state) {
  (void)state;
  const char *etag = "\"5d41402abc4b2a76b9719d911017c592\"";
  assert_true(s3_etag_listed("\"5d41402abc4b2a76b9719d911017c592\"", etag));
  assert_true(s3_etag_listed("5d41402abc4b2a76b9719d911017c592", etag));
  assert_true(s3_etag_listed("\"x\", W/\"5d41402abc4b2a76b9719d911017c592\"", etag));
  assert_true(s3_etag_listed(" * ", etag));
  assert_false(s3_etag_listed("\"5d41402abc4b2a76b9719d911017c59\"", etag));
  assert_false(s3_etag_listed("\"x\", \"y\"", etag));
  assert_false(s3_etag_listed("", etag));
}

static void test_s3_parse_range_forms(void **state) {
  (void)state;
  uint64_t a = 99, z = 99;
  assert_int_equal(s3_parse_range("bytes=0-4", 10, &a, &z), 1);
  assert_true(a == 0 && z == 4);
  assert_int_equal(s3_parse_range("bytes=5-", 10, &a, &z), 1);
  assert_true(a == 5 && z == 9);
  assert_int_equal(s3_parse_range("bytes=-3", 10, &a, &z), 1);
  assert_true(a == 7 && z == 9);
  assert_int_equal(s3_parse_range("bytes=-30", 10, &a, &z), 1);
  assert_true(a == 0 && z == 9);
  assert_int_equal(s3_parse_range("bytes=2-100", 10, &a, &z), 1);
  assert_true(a == 2 && z == 9);
  /* Unsatisfiable: 416. */
  assert_int_equal(s3_parse_range("bytes=10-", 10, &a, &z), -1);
  assert_int_equal(s3_parse_range("bytes=-0", 10, &a, &z), -1);
  assert_int_equal(s3_parse_range("bytes=0-0", 0, &a, &z), -1);
  /* Not a usable range: the whole object. */
  assert_int_equal(s3_parse_range("bytes=4-2", 10, &a, &z), 0);
  assert_int_equal(s3_parse_range("bytes=0-1,3-4", 10, &a, &z), 0);
  assert_int_equal(s3_parse_range("items=0-1", 10, &a, &z), 0);
  assert_int_equal(s3_parse_range("bytes=x-1", 10, &a, &z), 0);
  assert_int_equal(s3_parse_range("bytes=99999999999999999999-", 10, &a, &z), 0);
  assert_int_equal(s3_parse_range(NULL, 10, &a, &z), 0);
}

/* The digests of data with algo: the MD5 and the checksum's base64. */
static void digest(unsigned char md5[16], char *checksum, size_t size, s3_checksum_algo algo,
                   const char *data) {
  s3_digest *dg = s3_digest_new(algo);
  assert_non_null(dg);
  /* In two pieces: the digests run over a body as it streams by. */
  size_t half = strlen(data) / 2;
  s3_digest_update(dg, data, half);
  s3_digest_update(dg, data + half, strlen(data) - half);
  s3_digest_final(dg, md5, checksum, size);
  s3_digest_free(dg);
}

static void test_s3_digest_check_values(void **state) {
  (void)state;
  unsigned char md5[16];
  char checksum[96], hex[33];
  /* The CRC catalogue's check input; CRC32 0xCBF43926, CRC32C 0xE3069283. */
  digest(md5, checksum, sizeof(checksum), S3_CK_CRC32, "123456789");
  assert_string_equal(checksum, "y/Q5Jg==");
  digest(md5, checksum, sizeof(checksum), S3_CK_CRC32C, "123456789");
  assert_string_equal(checksum, "4waSgw==");
  assert_int_equal(s3_crc32c(0, "123456789", 9), 0xE3069283u);
  /* CRC-64/NVME's check value 0xAE8B14860A799888, also fed in two pieces. */
  assert_true(s3_crc64nvme(0, "123456789", 9) == 0xAE8B14860A799888ull);
  assert_true(s3_crc64nvme(s3_crc64nvme(0, "1234", 4), "56789", 5) == 0xAE8B14860A799888ull);
  digest(md5, checksum, sizeof(checksum), S3_CK_CRC64NVME, "123456789");
  assert_string_equal(checksum, "rosUhgp5mIg=");
  assert_int_equal(s3_checksum_algo_from_name("crc64nvme"), S3_CK_CRC64NVME);
  digest(md5, checksum, sizeof(checksum), S3_CK_SHA1, "abc");
  assert_string_equal(checksum, "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
  digest(md5, checksum, sizeof(checksum), S3_CK_SHA256, "abc");
  assert_string_equal(checksum, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
  digest(md5, checksum, sizeof(checksum), S3_CK_NONE, "hello");
  assert_string_equal(checksum, "");
  s3_etag(hex, sizeof(hex), md5, 0);
  assert_string_equal(hex, "\"5d41402abc4b2a76b9719d911017c59"); /* cut to fit: bounded */
  char etag[48];
  s3_etag(etag, sizeof(etag), md5, 3);
  assert_string_equal(etag, "\"5d41402abc4b2a76b9719d911017c592-3\"");
  assert_int_equal(s3_checksum_algo_from_name("crc32c"), S3_CK_CRC32C);
  assert_int_equal(s3_checksum_algo_from_name("MD5"), S3_CK_NONE);
  assert_string_equal(s3_checksum_algo_name(S3_CK_SHA256), "SHA256");
}

static void test_s3_checksum_verify_codes(void **state) {
  (void)state;
  unsigned char md5[16];
  char checksum[96], message[256];
  const char *code = NULL;
  digest(md5, checksum, sizeof(checksum), S3_CK_CRC32, "hello");
  /* base64 of MD5("hello") and CRC32("hello") = 0x3610A686. */
  assert_int_equal(s3_checksum_verify(&code, message, sizeof(message), "XUFAKrxLKna5cZ2REBfFkg==",
                                      md5, S3_CK_CRC32, "NhCmhg==", checksum),
                   0);
  assert_int_equal(
      s3_checksum_verify(&code, message, sizeof(message), NULL, md5, S3_CK_NONE, NULL, ""), 0);
  assert_int_equal(s3_checksum_verify(&code, message, sizeof(message),
                                      "XUFAKrxLKna5cZ2REBfFkw==", md5, S3_CK_NONE, NULL, ""),
                   -1);
  assert_string_equal(code, "BadDigest");
  assert_int_equal(
      s3_checksum_verify(&code, message, sizeof(message), "not base64", md5, S3_CK_NONE, NULL, ""),
      -1);
  assert_string_equal(code, "InvalidDigest");
  assert_int_equal(
      s3_checksum_verify(&code, message, sizeof(message), "AAAA", md5, S3_CK_NONE, NULL, ""), -1);
  assert_string_equal(code, "InvalidDigest"); /* valid base64, not 16 bytes */
  assert_int_equal(s3_checksum_verify(&code, message, sizeof(message), NULL, md5, S3_CK_CRC32,
                                      "AAAAAA==", checksum),
                   -1);
  assert_string_equal(code, "BadDigest");
  assert_non_null(strstr(message, "CRC32"));
}

static s3_bucket *bucket(const char *name) {
  s3_bucket *b = calloc(1, sizeof(*b));
  assert_non_null(b);
  b->name = strdup(name);
  assert_non_null(b->name);
  return b;
}

static void test_s3_index_keeps_buckets_sorted(void **state) {
  (void)state;
  s3_state st = {0};
  const char *names[] = {"m", "c", "x", "a", "mm"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    assert_int_equal(s3_bucket_insert(&st, bucket(names[i])), 0);
  const char *sorted[] = {"a", "c", "m", "mm", "x"};
  assert_int_equal(st.buckets.len, 5);
  for (size_t i = 0; i < st.buckets.len; i++)
    assert_string_equal(((s3_bucket *)st.buckets.items[i])->name, sorted[i]);
  assert_string_equal(s3_bucket_find(&st, "mm")->name, "mm");
  assert_null(s3_bucket_find(&st, "b"));
  assert_null(s3_bucket_find(&st, NULL));
  assert_int_equal(s3_index_lower(&st.buckets, "b"), 1);
  assert_int_equal(s3_index_lower(&st.buckets, "z"), 5);
  s3_bucket *m = s3_bucket_find(&st, "m");
  s3_bucket_remove(&st, "m");
  s3_bucket_free(&st, m);
  s3_bucket_remove(&st, "nothing");
  assert_int_equal(st.buckets.len, 4);
  assert_null(s3_bucket_find(&st, "m"));
  assert_string_equal(((s3_bucket *)st.buckets.items[2])->name, "mm");
  for (size_t i = 0; i < st.buckets.len; i++)
    s3_bucket_free(&st, st.buckets.items[i]);
  free(st.buckets.items);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_s3_list_next_trims_and_skips_empty_items),
      cmocka_unit_test(test_s3_etag_listed_matches_quoted_weak_and_star),
      cmocka_unit_test(test_s3_parse_range_forms),
      cmocka_unit_test(test_s3_digest_check_values),
      cmocka_unit_test(test_s3_checksum_verify_codes),
      cmocka_unit_test(test_s3_index_keeps_buckets_sorted),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
