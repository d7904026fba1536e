/*
 * test_iam.c — unit tests of IAM's policy evaluator (emulator/iam/iam_eval.c)
 * and document checks (iam_service.c), and of the credential table's expiry
 * as signature verification sees it (emulator/sigv4.c: ExpiredToken cannot
 * be reached end to end without waiting out STS's 900-second minimum).
 */
#include "common/clock.h"
#include "emulator/emulator.h"
#include "emulator/iam/iam_int.h"
#include "emulator/sigv4.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>

static iam_decision eval(const char *doc_text, const char *action, const char *resource,
                         const char *context_text, int *matched) {
  json_t *doc = json_loads(doc_text, 0, NULL);
  json_t *ctx = context_text ? json_loads(context_text, 0, NULL) : json_object();
  assert_non_null(doc);
  assert_non_null(ctx);
  int at = -2;
  iam_decision d = iam_eval_document(doc, action, resource, ctx, NULL, &at);
  if (matched)
    *matched = at;
  json_decref(doc);
  json_decref(ctx);
  return d;
}

static void test_iam_wildcards(void **state) {
  (void)state;
  assert_true(iam_wildcard("s3:Get*", "s3:GetObject", 0));
  assert_true(iam_wildcard("S3:GET*", "s3:GetObject", 1));
  assert_false(iam_wildcard("S3:GET*", "s3:GetObject", 0));
  assert_true(iam_wildcard("dynamodb:Get?tem", "dynamodb:GetItem", 0));
  assert_false(iam_wildcard("dynamodb:Get?tem", "dynamodb:GetIItem", 0));
  assert_true(iam_wildcard("*", "", 0));
  assert_true(iam_wildcard("a*b*c", "aXXbYYc", 0));
  assert_false(iam_wildcard("a*b*c", "aXXbYY", 0));
  assert_true(iam_wildcard("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y", 0));
}

static void test_iam_deny_wins(void **state) {
  (void)state;
  const char *doc = "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},"
                    "{\"Effect\":\"Deny\",\"Action\":\"s3:Delete*\",\"Resource\":\"*\"}]}";
  int at = -1;
  assert_int_equal(eval(doc, "s3:GetObject", "arn:aws:s3:::b/k", NULL, &at), IAM_ALLOWED);
  assert_int_equal(at, 0);
  assert_int_equal(eval(doc, "s3:DeleteObject", "arn:aws:s3:::b/k", NULL, &at), IAM_EXPLICIT_DENY);
  assert_int_equal(at, 1);
  assert_int_equal(eval(doc, "sqs:SendMessage", "*", NULL, &at), IAM_IMPLICIT_DENY);
  assert_int_equal(at, -1);
}

static void test_iam_not_action_not_resource(void **state) {
  (void)state;
  const char *doc = "{\"Statement\":{\"Effect\":\"Allow\",\"NotAction\":[\"iam:*\"],"
                    "\"NotResource\":\"arn:aws:s3:::private/*\"}}";
  assert_int_equal(eval(doc, "s3:GetObject", "arn:aws:s3:::public/a", NULL, NULL), IAM_ALLOWED);
  assert_int_equal(eval(doc, "IAM:CreateUser", "*", NULL, NULL), IAM_IMPLICIT_DENY);
  assert_int_equal(eval(doc, "s3:GetObject", "arn:aws:s3:::private/a", NULL, NULL),
                   IAM_IMPLICIT_DENY);
}

static void test_iam_conditions(void **state) {
  (void)state;
  const char *doc = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\","
                    "\"Condition\":{\"StringLike\":{\"s3:prefix\":[\"home/*\"]},"
                    "\"NumericLessThan\":{\"s3:max-keys\":\"10\"},"
                    "\"BoolIfExists\":{\"aws:MultiFactorAuthPresent\":true}}}}";
  assert_int_equal(eval(doc, "s3:ListBucket", "*",
                        "{\"s3:prefix\":[\"home/bob\"],\"s3:max-keys\":[\"5\"]}", NULL),
                   IAM_ALLOWED);
  assert_int_equal(
      eval(doc, "s3:ListBucket", "*", "{\"s3:prefix\":[\"etc/\"],\"s3:max-keys\":[\"5\"]}", NULL),
      IAM_IMPLICIT_DENY);
  assert_int_equal(eval(doc, "s3:ListBucket", "*",
                        "{\"s3:prefix\":[\"home/bob\"],\"s3:max-keys\":[\"50\"]}", NULL),
                   IAM_IMPLICIT_DENY);
  assert_int_equal(eval(doc, "s3:ListBucket", "*",
                        "{\"s3:prefix\":[\"home/bob\"],\"s3:max-keys\":[\"5\"],"
                        "\"aws:multifactorauthpresent\":[\"false\"]}",
                        NULL),
                   IAM_IMPLICIT_DENY);
  /* A missing key is reported; Null tests presence. */
  json_t *d = json_loads("{\"Statement\":{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\","
                         "\"Condition\":{\"StringNotEquals\":{\"aws:PrincipalTag/team\":\"ci\"},"
                         "\"Null\":{\"aws:TokenIssueTime\":\"true\"}}}}",
                         0, NULL);
  json_t *missing = json_array(), *ctx = json_object();
  int at;
  assert_int_equal(iam_eval_document(d, "s3:GetObject", "*", ctx, missing, &at), IAM_IMPLICIT_DENY);
  assert_int_equal(json_array_size(missing), 1);
  assert_string_equal(json_string_value(json_array_get(missing, 0)), "aws:PrincipalTag/team");
  json_object_set_new(ctx, "aws:principaltag/team", json_pack("[s]", "qa"));
  assert_int_equal(iam_eval_document(d, "s3:GetObject", "*", ctx, missing, &at), IAM_EXPLICIT_DENY);
  json_decref(d);
  json_decref(missing);
  json_decref(ctx);
}

static void test_iam_document_checks(void **state) {
  (void)state;
  static const struct {
    const char *doc;
    int type;
    const char *message; /* NULL: accepted */
  } cases[] = {
      {"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\","
       "\"Resource\":\"*\"}]}",
       IAM_DOC_IDENTITY, NULL},
      {"[]", IAM_DOC_IDENTITY, "Syntax errors in policy."},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"GetObject\",\"Resource\":\"*\"}}",
       IAM_DOC_IDENTITY,
       "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
      {"{\"Statement\":{\"Action\":\"s3:*\",\"Resource\":\"*\"}}", IAM_DOC_IDENTITY,
       "Missing required field Effect"},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":"
       "\"sts:AssumeRole\"}}",
       IAM_DOC_TRUST, NULL},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"sts:AssumeRole\","
       "\"Resource\":\"*\"}}",
       IAM_DOC_TRUST, "Has prohibited field Resource"},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},"
       "\"Statement\":[]}",
       IAM_DOC_IDENTITY, "Syntax errors in policy."},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    iam_ctx c = {0};
    json_t *doc = iam_check_document(&c, cases[i].doc, cases[i].type);
    if (!cases[i].message) {
      assert_non_null(doc);
      assert_false(c.failed);
    } else {
      assert_null(doc);
      assert_true(c.failed);
      assert_string_equal(c.code, "MalformedPolicyDocument");
      assert_string_equal(c.message, cases[i].message);
    }
    json_decref(doc);
  }
  assert_int_equal(iam_doc_size("{ \"a\" :\n 1 }"), 7);
  char *e = iam_url_encode("{\"a\": [1]}");
  assert_string_equal(e, "%7B%22a%22%3A%20%5B1%5D%7D");
  free(e);
}

/* ---- issued keys and signature verification ---- */

typedef struct headers {
  const char *names[5], *values[5];
} headers;

static const char *header_of(void *ctx, const char *name) {
  headers *h = ctx;
  for (int i = 0; i < 5 && h->names[i]; i++)
    if (!strcasecmp(h->names[i], name))
      return h->values[i];
  return NULL;
}

static void headers_each(void *ctx, aws_header_fn fn, void *payload) {
  headers *h = ctx;
  for (int i = 0; i < 5 && h->names[i]; i++)
    if (fn(h->names[i], h->values[i], payload) != 0)
      return;
}

/* Verifies a request signed (wrongly: the key's status decides first) with
 * key and token at time now; the error code or "" when it passed. */
static void verify(char *code, size_t n, emulator *emu, const char *key, const char *token,
                   double now) {
  char auth[256], date[17];
  time_t t = (time_t)now;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(date, sizeof(date), "%Y%m%dT%H%M%SZ", &tm);
  snprintf(auth, sizeof(auth),
           "AWS4-HMAC-SHA256 Credential=%s/%.8s/us-east-1/s3/aws4_request, "
           "SignedHeaders=host;x-amz-date, Signature=%064d",
           key, date, 0);
  headers h = {{"Authorization", "x-amz-date", "Host", "x-amz-content-sha256",
                token ? "X-Amz-Security-Token" : NULL},
               {auth, date, "localhost", "UNSIGNED-PAYLOAD", token}};
  aws_http_in in = {.method = "GET",
                    .path = "/",
                    .query = "",
                    .header = header_of,
                    .headers_foreach = headers_each,
                    .ctx = &h};
  aws_error err = {0};
  int rc = emulator_sigv4_verify(&err, emu, &in, NULL, now);
  snprintf(code, n, "%s", rc == 0 ? "" : err.code);
  aws_error_clear(&err);
}

static void test_iam_issued_keys_verified(void **state) {
  (void)state;
  emulator *emu = NULL;
  emulator_options o = {.listen = "127.0.0.1:0", .services = "sts", .s3_verify_signatures = 1};
  assert_int_equal(emulator_start(&emu, &o), 0);
  double now = (double)(clock_wall_ms() / 1000);
  emulator_credential temp = {.access_key = "ASIAEXPIREDEXAMPLE01",
                              .account = "111122223333",
                              .arn = "arn:aws:sts::111122223333:assumed-role/r/s",
                              .user_id = "AROAEXAMPLE:s",
                              .secret = "s3cret",
                              .session_token = "tok",
                              .expiration = now - 1};
  emulator_credentials_add(emu, &temp);
  char code[64];
  verify(code, sizeof(code), emu, "ASIAEXPIREDEXAMPLE01", "tok", now);
  assert_string_equal(code, "ExpiredToken");
  verify(code, sizeof(code), emu, "ASIAEXPIREDEXAMPLE01", "other", now);
  assert_string_equal(code, "InvalidToken");
  /* Before its expiry the token is good and the (wrong) signature is checked. */
  temp.expiration = now + 3600;
  emulator_credentials_add(emu, &temp);
  verify(code, sizeof(code), emu, "ASIAEXPIREDEXAMPLE01", "tok", now);
  assert_string_equal(code, "SignatureDoesNotMatch");
  verify(code, sizeof(code), emu, "AKIANEVERISSUED00001", NULL, now);
  assert_string_equal(code, "InvalidAccessKeyId");
  emulator_credentials_remove(emu, "ASIAEXPIREDEXAMPLE01");
  verify(code, sizeof(code), emu, "ASIAEXPIREDEXAMPLE01", "tok", now);
  assert_string_equal(code, "InvalidAccessKeyId");
  /* LocalStack's test keys still have the secret "test". */
  verify(code, sizeof(code), emu, "test", NULL, now);
  assert_string_equal(code, "SignatureDoesNotMatch");
  emulator_free(emu);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_iam_wildcards),
      cmocka_unit_test(test_iam_deny_wins),
      cmocka_unit_test(test_iam_not_action_not_resource),
      cmocka_unit_test(test_iam_conditions),
      cmocka_unit_test(test_iam_document_checks),
      cmocka_unit_test(test_iam_issued_keys_verified),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
