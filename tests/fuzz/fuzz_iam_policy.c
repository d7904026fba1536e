/*
 * fuzz_iam_policy.c — fuzz target for IAM's policy document checks and
 * evaluator (emulator/iam/iam_service.c, iam_eval.c), which read documents
 * any client sends (PutRolePolicy, CreatePolicy, SimulateCustomPolicy).
 *
 * An input is an action line, a resource line, then the document. The
 * checker must accept or refuse it with MalformedPolicyDocument (never
 * crash); an accepted document is evaluated as identity and trust policy,
 * with a context holding one key, and the decision must be one of the three.
 * With clang and -DAIRGAP_LIBFUZZER it is a libFuzzer target; otherwise
 * fuzz_driver.c runs the seeds below and deterministic mutations briefly.
 */
#include "emulator/iam/iam_int.h"
#include "tests/fuzz/fuzz_driver.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The next line of data (owned), advancing *p; NULL at the end. */
static char *line(const uint8_t **p, const uint8_t *end) {
  const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
  if (!nl)
    return NULL;
  size_t n = (size_t)(nl - *p);
  char *s = malloc(n + 1);
  if (!s)
    abort();
  memcpy(s, *p, n);
  s[n] = '\0';
  *p = nl + 1;
  return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *p = data, *end = data + size;
  char *action = line(&p, end);
  char *resource = action ? line(&p, end) : NULL;
  if (!resource) {
    free(action);
    return 0;
  }
  size_t n = (size_t)(end - p);
  char *text = malloc(n + 1);
  if (!text)
    abort();
  memcpy(text, p, n);
  text[n] = '\0';
  json_t *ctx = json_pack("{s:[s]}", "aws:sourceip", "10.0.0.1");
  for (int type = IAM_DOC_IDENTITY; type <= IAM_DOC_TRUST; type++) {
    iam_ctx c = {0};
    json_t *doc = iam_check_document(&c, text, type);
    if (!doc) {
      if (!c.failed || !c.code[0])
        abort();
      continue;
    }
    json_t *missing = json_array();
    int at = -2;
    iam_decision d = iam_eval_document(doc, action, resource, ctx, missing, &at);
    if ((d != IAM_ALLOWED && d != IAM_EXPLICIT_DENY && d != IAM_IMPLICIT_DENY) ||
        (d == IAM_IMPLICIT_DENY) != (at == -1))
      abort();
    (void)iam_wildcard(action, resource, 1);
    json_decref(missing);
    json_decref(doc);
  }
  json_decref(ctx);
  free(text);
  free(action);
  free(resource);
  return 0;
}

const char fuzz_target_name[] = "fuzz_iam_policy";
const fuzz_seed fuzz_alphabet = FUZZ_LITERAL("{}[]\":,*?");
const int fuzz_mutations_per_seed = 5000;

const fuzz_seed fuzz_seeds[] = {
    FUZZ_LITERAL("s3:GetObject\narn:aws:s3:::b/k\n{\"Version\":\"2012-10-17\",\"Statement\":[{"
                 "\"Effect\":\"Allow\",\"Action\":[\"s3:Get*\",\"s3:List?\"],\"Resource\":\"*\"},{"
                 "\"Effect\":\"Deny\",\"NotAction\":\"s3:*\",\"NotResource\":\"arn:*\"}]}"),
    FUZZ_LITERAL("sts:AssumeRole\n*\n{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{"
                 "\"Service\":\"lambda.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}}"),
    FUZZ_LITERAL("ec2:RunInstances\n*\n{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
                 "\"Resource\":\"*\",\"Condition\":{\"IpAddressIfExists\":{\"aws:SourceIp\":"
                 "\"10.0.0.0/8\"},\"ForAnyValue:StringLike\":{\"aws:SourceIp\":[\"10.*\"]},"
                 "\"NumericLessThanEquals\":{\"aws:MultiFactorAuthAge\":3600},\"Null\":{"
                 "\"aws:TokenIssueTime\":true}}}]}"),
};
const size_t fuzz_seed_count = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);
