/*
 * test_dynamodb_number.c — DynamoDB's exact decimals (emulator/dynamodb/
 * number.c): what AWS accepts and refuses, with its messages, the canonical
 * text it answers with, exact comparison and exact + and -.
 */
#include "emulator/dynamodb/dynamodb_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void expect_canonical(const char *in, const char *want) {
  ddb_error e = {0};
  char *out = NULL;
  if (ddb_num_canonical(&out, in, &e) != 0)
    fail_msg("%s refused: %s", in, e.message);
  assert_string_equal(out, want);
  free(out);
}

static void expect_refused(const char *in, const char *message_part) {
  ddb_error e = {0};
  char *out = NULL;
  assert_int_equal(ddb_num_canonical(&out, in, &e), -1);
  assert_null(out);
  assert_string_equal(e.code, "ValidationException");
  if (!strstr(e.message, message_part))
    fail_msg("%s: message %s lacks %s", in, e.message, message_part);
}

static void test_dynamodb_number_canonical_text(void **state) {
  (void)state;
  expect_canonical("1E+2", "100");
  expect_canonical("1e2", "100");
  expect_canonical("100.00", "100");
  expect_canonical("1.50", "1.5");
  expect_canonical("-0", "0");
  expect_canonical("-0.000", "0");
  expect_canonical("0e1000", "0");
  expect_canonical("+3", "3");
  expect_canonical(".123", "0.123");
  expect_canonical("0001.23", "1.23");
  expect_canonical("-17e5", "-1700000");
  expect_canonical("-7.1234", "-7.1234");
  expect_canonical("1.", "1");
  expect_canonical("12.5e-3", "0.0125");
  expect_canonical("123456e-3", "123.456");
  /* 38 significant digits, leading and trailing zeros not counted. */
  expect_canonical("3.1415926535897932384626433832795028841",
                   "3.1415926535897932384626433832795028841");
  expect_canonical("000031415926535897932384626433832795028841000e-3",
                   "31415926535897932384626433832795028841");
}

static void test_dynamodb_number_range(void **state) {
  (void)state;
  char *big = NULL;
  ddb_error e = {0};
  assert_int_equal(ddb_num_canonical(&big, "1E+125", &e), 0);
  assert_int_equal(strlen(big), 126);
  assert_true(big[0] == '1' && strspn(big + 1, "0") == 125);
  free(big);
  assert_int_equal(ddb_num_canonical(&big, "9.9999999999999999999999999999999999999E+125", &e), 0);
  assert_int_equal(strlen(big), 126);
  free(big);
  assert_int_equal(ddb_num_canonical(&big, "-1E-130", &e), 0);
  assert_int_equal(strlen(big), 133); /* "-0." + 129 zeros + "1" */
  assert_string_equal(big + 132, "1");
  free(big);
  expect_refused("1E+126", "Number overflow");
  expect_refused("11E+125", "Number overflow");
  expect_refused("-1E+126", "Number overflow");
  expect_refused("1E-131", "Number underflow");
  expect_refused("0.9E-130", "Number underflow");
  expect_refused("1e999999999999999999999", "Number overflow");
  expect_refused("3.14159265358979323846264338327950288419", "more than 38 significant digits");
}

static void test_dynamodb_number_syntax(void **state) {
  (void)state;
  const char *bad[] = {"",   "NaN", "Infinity", "-Infinity", "dog", " 1",   "1 ",  "1e",
                       "e5", ".",   "-",        "1.2.3",     "1e+", "0x10", "1,5", "--1"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    expect_refused(bad[i], "cannot be converted into a number");
}

static int cmp(const char *a, const char *b) { return ddb_num_text_cmp(a, b); }

static int sortable_cmp(const char *a, const char *b) {
  ddb_num x, y;
  ddb_error e = {0};
  ddb_num_init(&x);
  ddb_num_init(&y);
  assert_int_equal(ddb_num_parse(&x, a, &e), 0);
  assert_int_equal(ddb_num_parse(&y, b, &e), 0);
  unsigned char *kx, *ky;
  size_t lx, ly;
  assert_int_equal(ddb_num_sortable(&kx, &lx, &x), 0);
  assert_int_equal(ddb_num_sortable(&ky, &ly, &y), 0);
  int c = memcmp(kx, ky, lx < ly ? lx : ly);
  if (c == 0)
    c = lx < ly ? -1 : lx > ly;
  free(kx);
  free(ky);
  ddb_num_clear(&x);
  ddb_num_clear(&y);
  return c < 0 ? -1 : c > 0;
}

static void test_dynamodb_number_order(void **state) {
  (void)state;
  /* Ascending; every pair is checked both ways and with the byte encoding. */
  const char *sorted[] = {"-1E+125", "-100",    "-12", "-10",    "-1.2", "-1",
                          "-0.5",    "-1E-130", "0",   "1E-130", "0.5",  "1",
                          "1.2",     "1.20001", "10",  "12",     "100",  "1E+125"};
  size_t n = sizeof(sorted) / sizeof(sorted[0]);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      int want = i < j ? -1 : i > j;
      if (cmp(sorted[i], sorted[j]) != want || sortable_cmp(sorted[i], sorted[j]) != want)
        fail_msg("%s vs %s: want %d", sorted[i], sorted[j], want);
    }
  assert_int_equal(cmp("1E+2", "100.000"), 0);
  assert_int_equal(cmp("-0", "0"), 0);
  /* Doubles would call these equal. */
  assert_int_equal(
      cmp("12345678901234567890123456789012345678", "12345678901234567890123456789012345679"), -1);
}

static char *sum(const char *a, const char *b, int negate, ddb_error *e) {
  ddb_num x, y;
  ddb_num_init(&x);
  ddb_num_init(&y);
  assert_int_equal(ddb_num_parse(&x, a, e), 0);
  assert_int_equal(ddb_num_parse(&y, b, e), 0);
  char *out = NULL;
  if (ddb_num_add(&x, &x, &y, negate, e) == 0)
    out = ddb_num_text(&x);
  ddb_num_clear(&x);
  ddb_num_clear(&y);
  return out;
}

static void expect_sum(const char *a, const char *b, int negate, const char *want) {
  ddb_error e = {0};
  char *got = sum(a, b, negate, &e);
  if (!got)
    fail_msg("%s %c %s failed: %s", a, negate ? '-' : '+', b, e.message);
  assert_string_equal(got, want);
  free(got);
}

static void test_dynamodb_number_arithmetic(void **state) {
  (void)state;
  expect_sum("1", "10000000000000000000000", 0, "10000000000000000000001");
  expect_sum("10000000000000000000000", "1", 1, "9999999999999999999999");
  expect_sum("0.1", "0.2", 0, "0.3");
  expect_sum("1.5", "1.5", 1, "0");
  expect_sum("-2.25", "0.25", 0, "-2");
  expect_sum("99999999999999999999999999999999999999", "1", 0,
             "100000000000000000000000000000000000000");
  expect_sum("1E+125", "1E+125", 0,
             "200000000000000000000000000000000000000000000000000000000000000"
             "000000000000000000000000000000000000000000000000000000000000000");
  ddb_error e = {0};
  /* 1e50 + 1 needs 51 digits: AWS calls it an overflow. */
  assert_null(sum("1E+50", "1", 0, &e));
  assert_non_null(strstr(e.message, "Number overflow"));
  assert_null(sum("9E+125", "9E+125", 0, &e));
  assert_non_null(strstr(e.message, "Number overflow"));
  assert_null(sum("9E+125", "-9E+125", 1, &e));
  /* Every valid number is a multiple of 1E-130, so sums cannot underflow. */
  expect_sum("1.0000000000000000000000000000000000001E-93", "1E-93", 1,
             "0."
             "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
             "000000000000000000000000000000000000000000001");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dynamodb_number_canonical_text),
      cmocka_unit_test(test_dynamodb_number_range),
      cmocka_unit_test(test_dynamodb_number_syntax),
      cmocka_unit_test(test_dynamodb_number_order),
      cmocka_unit_test(test_dynamodb_number_arithmetic),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
