/*
 * sts.c — AWS STS: GetCallerIdentity, AssumeRole, GetSessionToken.
 *
 * Credentials handed out are random and every credential is accepted anyway
 * (signatures are not checked), but the emulator remembers whom it issued
 * them to: calls signed with AssumeRole's keys act in the role's account, and
 * GetCallerIdentity names the assumed role, as scripts that check "who am I"
 * after assuming a role expect. The caller's account otherwise comes from the
 * access key (aws_call_account, service.h).
 */
#include "emulator/service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define STS_MIN_DURATION 900
#define STS_MAX_DURATION 43200

/* Fills out with n random characters of alphabet (NUL-terminated). */
static void random_chars(char *out, size_t n, const char *alphabet) {
  unsigned char bytes[64];
  size_t alen = strlen(alphabet);
  if (n > sizeof(bytes))
    n = sizeof(bytes);
  if (getrandom(bytes, n, 0) != (ssize_t)n)
    for (size_t i = 0; i < n; i++)
      bytes[i] = (unsigned char)(rand() & 0xFF);
  for (size_t i = 0; i < n; i++)
    out[i] = alphabet[bytes[i] % alen];
  out[n] = '\0';
}

static const char upper_digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char secret_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* New random credentials; key_out receives the access key id. */
static json_t *credentials(long duration, char key_out[21]) {
  char key[21], secret[41], token[65], tok_full[80];
  memcpy(key, "ASIA", 4);
  random_chars(key + 4, 16, upper_digits);
  random_chars(secret, 40, secret_chars);
  random_chars(token, 64, secret_chars);
  snprintf(tok_full, sizeof(tok_full), "FQoGZXIvYXdzE%s", token);
  memcpy(key_out, key, sizeof(key));
  return json_pack("{s:s, s:s, s:s, s:I}", "AccessKeyId", key, "SecretAccessKey", secret,
                   "SessionToken", tok_full, "Expiration", (json_int_t)(time(NULL) + duration));
}

/* DurationSeconds within STS's bounds, or -1 after answering the error. */
static long duration_of(aws_call *call, json_t *input, long dflt, long max) {
  json_t *d = json_object_get(input, "DurationSeconds");
  if (!d)
    return dflt;
  json_int_t v = json_integer_value(d);
  if (v < STS_MIN_DURATION || v > max) {
    aws_call_fail(call, 400, "ValidationError",
                  "1 validation error detected: Value '%lld' at 'durationSeconds' failed to "
                  "satisfy constraint: Member must have value between %d and %ld",
                  (long long)v, STS_MIN_DURATION, max);
    return -1;
  }
  return (long)v;
}

static void get_caller_identity(aws_call *call, json_t *input) {
  (void)input;
  json_t *issued = emulator_credentials_get(aws_call_emulator(call), aws_call_access_key(call));
  if (issued) {
    aws_call_reply(call, issued);
    return;
  }
  char arn[64];
  snprintf(arn, sizeof(arn), "arn:aws:iam::%s:root", aws_call_account(call));
  aws_call_reply(call, json_pack("{s:s, s:s, s:s}", "UserId", "AKIAIOSFODNN7EXAMPLE", "Account",
                                 aws_call_account(call), "Arn", arn));
}

static void assume_role(aws_call *call, json_t *input) {
  const char *role_arn = json_string_value(json_object_get(input, "RoleArn"));
  const char *session = json_string_value(json_object_get(input, "RoleSessionName"));
  /* arn:aws:iam::<account>:role/<path/>name */
  char account[13];
  const char *role = role_arn ? strstr(role_arn, ":role/") : NULL;
  if (!role_arn || strncmp(role_arn, "arn:", 4) != 0 || !role || strlen(role_arn) > 2048 ||
      sscanf(role_arn, "arn:%*[^:]:iam::%12[0-9]:", account) != 1 || strlen(account) != 12) {
    aws_call_fail(
        call, 400, "ValidationError",
        "1 validation error detected: Value at 'roleArn' failed to satisfy "
        "constraint: Member must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)");
    return;
  }
  size_t slen = strlen(session);
  if (slen < 2 || slen > 64 ||
      strspn(session, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789_=,.@-") != slen) {
    aws_call_fail(call, 400, "ValidationError",
                  "1 validation error detected: Value at 'roleSessionName' failed to satisfy "
                  "constraint: Member must have length 2-64 and match [\\w+=,.@-]*");
    return;
  }
  long duration = duration_of(call, input, 3600, STS_MAX_DURATION);
  if (duration < 0)
    return;
  const char *name = strrchr(role + 6, '/');
  name = name ? name + 1 : role + 6;
  char role_id[32], *user_arn = NULL, *user_id = NULL;
  memcpy(role_id, "AROA", 4);
  random_chars(role_id + 4, 17, upper_digits);
  size_t n = strlen(name) + slen + 64;
  user_arn = malloc(n);
  user_id = malloc(n);
  if (!user_arn || !user_id) {
    free(user_arn);
    free(user_id);
    aws_call_fail(call, 500, "InternalFailure", "out of memory");
    return;
  }
  snprintf(user_arn, n, "arn:aws:sts::%s:assumed-role/%s/%s", account, name, session);
  snprintf(user_id, n, "%s:%s", role_id, session);
  char key[21];
  json_t *creds = credentials(duration, key);
  emulator_credentials_add(aws_call_emulator(call), key, account, user_arn, user_id);
  json_t *out = json_pack("{s:o, s:{s:s, s:s}, s:i}", "Credentials", creds, "AssumedRoleUser",
                          "AssumedRoleId", user_id, "Arn", user_arn, "PackedPolicySize", 6);
  json_t *source = json_object_get(input, "SourceIdentity");
  if (out && source)
    json_object_set(out, "SourceIdentity", source);
  free(user_arn);
  free(user_id);
  aws_call_reply(call, out);
}

static void get_session_token(aws_call *call, json_t *input) {
  long duration = duration_of(call, input, 43200, 129600);
  if (duration < 0)
    return;
  emulator *emu = aws_call_emulator(call);
  char key[21], arn[64];
  json_t *creds = credentials(duration, key);
  /* Session credentials act as whoever asked for them. */
  json_t *caller = emulator_credentials_get(emu, aws_call_access_key(call));
  snprintf(arn, sizeof(arn), "arn:aws:iam::%s:root", aws_call_account(call));
  const char *caller_arn = json_string_value(json_object_get(caller, "Arn"));
  const char *caller_id = json_string_value(json_object_get(caller, "UserId"));
  emulator_credentials_add(emu, key, aws_call_account(call), caller_arn ? caller_arn : arn,
                           caller_id ? caller_id : "AKIAIOSFODNN7EXAMPLE");
  json_decref(caller);
  aws_call_reply(call, json_pack("{s:o}", "Credentials", creds));
}

static const aws_operation sts_operations[] = {
    {"AssumeRole", assume_role},
    {"GetCallerIdentity", get_caller_identity},
    {"GetSessionToken", get_session_token},
};

const aws_service aws_service_sts = {
    .name = "sts",
    .model_name = "sts",
    .operations = sts_operations,
    .operation_count = sizeof(sts_operations) / sizeof(sts_operations[0]),
};
