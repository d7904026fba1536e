/*
 * sts.c — AWS STS: GetCallerIdentity, AssumeRole, GetSessionToken,
 * GetFederationToken, GetAccessKeyInfo, AssumeRoot, DecodeAuthorizationMessage (always
 * refused: nothing here encodes one), the role ARN, session name and
 * duration checks every operation shares, and the service table. Session
 * policies, tags and the other session parameters are checked in session.c. The identity-provider
 * operations (AssumeRoleWithSAML, AssumeRoleWithWebIdentity) are in federated.c.
 *
 * Credentials handed out are random, and the emulator remembers them (with
 * their secret, session token and expiry, which S3's opt-in signature checks
 * verify) and whom it issued them to: calls signed with AssumeRole's keys act
 * in the role's account, and GetCallerIdentity names the assumed role (or
 * federated user, or the IAM user whose key asked), as scripts that check
 * "who am I" after assuming a role expect. The caller's account otherwise
 * comes from the access key (aws_call_account, service.h). ARNs carry the
 * partition of the region called (aws-cn for cn-*, …). A role IAM knows
 * (iam.h) answers with its RoleId and limits DurationSeconds to its
 * MaxSessionDuration; any other role is assumed anyway (nothing is enforced)
 * with an id (AROA…) derived from its ARN, so it is the same on every
 * AssumeRole as AWS's is. Parameters are validated as AWS validates them,
 * with its codes. A role session assuming a role (chaining) gets an hour at
 * most and hands on its transitive tags and source identity, which the
 * credentials remember (session.c); the root's GetSessionToken and
 * GetFederationToken sessions last an hour at most, as AWS caps them.
 */
#include "emulator/sts/sts_int.h"

#include "common/jsonutil.h"
#include "emulator/iam/iam.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

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

#define STS_TOKEN_PREFIX "FQoGZXIvYXdzE"
#define STS_TOKEN_LENGTH 356

static const char upper_digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char secret_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* New random credentials for duration seconds, remembered by the emulator
 * (with their secret, token and expiry, for signature checks) as acting for
 * account, arn and user_id. Returns the Credentials member. */
static json_t *credentials(aws_call *call, long duration, const char *account, const char *arn,
                           const char *user_id, const json_t *context) {
  char key[21], secret[41], tok_full[STS_TOKEN_LENGTH + 1];
  memcpy(key, "ASIA", 4);
  random_chars(key + 4, 16, upper_digits);
  random_chars(secret, 40, secret_chars);
  /* The prefix and length of AWS's (v1) session tokens, which some tools
   * check: random_chars fills at most 64 at a time. */
  memcpy(tok_full, STS_TOKEN_PREFIX, strlen(STS_TOKEN_PREFIX));
  for (size_t at = strlen(STS_TOKEN_PREFIX); at < STS_TOKEN_LENGTH; at += 64)
    random_chars(tok_full + at, STS_TOKEN_LENGTH - at < 64 ? STS_TOKEN_LENGTH - at : 64,
                 secret_chars);
  time_t expires = time(NULL) + duration;
  emulator_credential cred = {.access_key = key,
                              .account = account,
                              .arn = arn,
                              .user_id = user_id,
                              .secret = secret,
                              .session_token = tok_full,
                              .expiration = (double)expires,
                              .session = context};
  emulator_credentials_add(aws_call_emulator(call), &cred);
  return json_pack("{s:s, s:s, s:s, s:I}", "AccessKeyId", key, "SecretAccessKey", secret,
                   "SessionToken", tok_full, "Expiration", (json_int_t)expires);
}

/* "AROA" and 17 characters derived from the role's ARN. */
static void role_id(char out[32], const char *role_arn) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(role_arn, strlen(role_arn), d, &n, EVP_sha256(), NULL);
  memcpy(out, "AROA", 4);
  for (int i = 0; i < 17; i++)
    out[4 + i] = upper_digits[d[i] % 32];
  out[21] = '\0';
}

long sts_duration(aws_call *call, json_t *input, long dflt, long max) {
  json_t *d = json_object_get(input, "DurationSeconds");
  if (!d)
    return dflt;
  json_int_t v = json_integer_value(d);
  if (v < STS_MIN_DURATION || v > max) {
    aws_call_fail(call, 400, "ValidationError",
                  "1 validation error detected: Value '%lld' at 'durationSeconds' failed to "
                  "satisfy constraint: Member must have value %s %ld",
                  (long long)v,
                  v < STS_MIN_DURATION ? "greater than or equal to" : "less than or equal to",
                  v < STS_MIN_DURATION ? (long)STS_MIN_DURATION : max);
    return -1;
  }
  return (long)v;
}

int sts_role_arn(aws_call *call, const char *arn, char account[13], char partition[16]) {
  if (sts_check_text(call, "roleArn", arn, 20, 2048, NULL, STS_TEXT_PATTERN) < 0)
    return -1;
  size_t n = strlen(arn);
  /* arn:<partition>:<service>:<region>:<account>:role/<path/name>, as AWS
   * parses it: the service and region are not checked (nothing is enforced,
   * as with roles IAM does not know), an empty account is the caller's, and
   * the role name must not be empty. */
  char acct[13] = "";
  const char *p = arn + 4;
  const char *c[5];
  int colons = 0;
  for (const char *q = p; *q && colons < 5; q++)
    if (*q == ':')
      c[colons++] = q;
  int ok = !strncmp(arn, "arn:", 4) && colons == 4 && c[0] > p && (size_t)(c[0] - p) < 16 &&
           c[1] > c[0] + 1 && (size_t)(c[1] - c[0] - 1) < 32 && !strncmp(c[3] + 1, "role/", 5) &&
           arn[n - 1] != '/' && c[3][6] != '\0';
  if (ok) {
    size_t al = (size_t)(c[3] - c[2] - 1);
    ok = al == 0 || (al == 12 && strspn(c[2] + 1, "0123456789") >= 12);
    if (ok && al == 12)
      memcpy(acct, c[2] + 1, 12);
  }
  if (!ok) {
    aws_call_fail(call, 400, "ValidationError", "%s is invalid", arn);
    return -1;
  }
  memcpy(partition, p, (size_t)(c[0] - p));
  partition[c[0] - p] = '\0';
  snprintf(account, 13, "%s", acct[0] ? acct : aws_call_account(call));
  return 0;
}

int sts_check_session_name(aws_call *call, const char *member, const char *name) {
  return sts_check_text(call, member, name, 2, 64, "_+=,.@-", "[\\w+=,.@-]*");
}

void sts_reply_assumed(aws_call *call, const char *role_arn, const char *account,
                       const char *partition, const char *session, long duration, json_t *extra,
                       json_t *context) {
  const char *role = strstr(role_arn, ":role/") + 6;
  const char *name = strrchr(role, '/');
  name = name ? name + 1 : role;
  /* A role IAM knows keeps its id (and its MaxSessionDuration applies); any
   * other is assumed anyway (nothing is enforced) with an id derived from
   * its ARN. */
  char rid[32];
  iam_role_info role_info;
  if (iam_role_assumed(&role_info, aws_call_emulator(call), account, name, aws_call_region(call)) ==
      0) {
    if (duration > role_info.max_session_duration) {
      json_decref(extra);
      json_decref(context);
      aws_call_fail(call, 400, "ValidationError",
                    "The requested DurationSeconds exceeds the MaxSessionDuration set for this "
                    "role.");
      return;
    }
    snprintf(rid, sizeof(rid), "%s", role_info.role_id);
  } else {
    role_id(rid, role_arn);
  }
  size_t n = strlen(name) + strlen(session) + 64;
  char *user_arn = malloc(n), *user_id = malloc(n);
  if (!user_arn || !user_id) {
    free(user_arn);
    free(user_id);
    json_decref(extra);
    json_decref(context);
    aws_call_fail(call, 500, "InternalFailure", "out of memory");
    return;
  }
  snprintf(user_arn, n, "arn:%s:sts::%s:assumed-role/%s/%s", partition, account, name, session);
  snprintf(user_id, n, "%s:%s", rid, session);
  json_t *creds = credentials(call, duration, account, user_arn, user_id, context);
  json_t *out = json_pack("{s:o, s:{s:s, s:s}}", "Credentials", creds, "AssumedRoleUser",
                          "AssumedRoleId", user_id, "Arn", user_arn);
  if (out && extra)
    json_object_update(out, extra);
  json_decref(extra);
  json_decref(context);
  free(user_arn);
  free(user_id);
  aws_call_reply(call, out);
}

/* ---- operations ---- */

static void get_caller_identity(aws_call *call, json_t *input) {
  (void)input;
  json_t *issued = emulator_credentials_get(aws_call_emulator(call), aws_call_access_key(call));
  if (issued) {
    json_t *out =
        json_pack("{s:O, s:O, s:O}", "UserId", json_object_get(issued, "UserId"), "Account",
                  json_object_get(issued, "Account"), "Arn", json_object_get(issued, "Arn"));
    json_decref(issued);
    aws_call_reply(call, out);
    return;
  }
  char arn[64];
  snprintf(arn, sizeof(arn), "arn:%s:iam::%s:root", aws_call_partition(call),
           aws_call_account(call));
  /* The account's root: its aws:userid is the account id (IAM's policy
   * variables table), which GetCallerIdentity answers as UserId. */
  aws_call_reply(call, json_pack("{s:s, s:s, s:s}", "UserId", aws_call_account(call), "Account",
                                 aws_call_account(call), "Arn", arn));
}

static void assume_role(aws_call *call, json_t *input) {
  const char *role_arn = jsonutil_string(input, "RoleArn");
  const char *session = jsonutil_string(input, "RoleSessionName");
  char account[13], partition[16];
  if (sts_role_arn(call, role_arn, account, partition) < 0 ||
      sts_check_session_name(call, "roleSessionName", session) < 0 ||
      sts_check_policy(call, input) < 0 || sts_check_session(call, input) < 0)
    return;
  long duration = sts_duration(call, input, 3600, STS_ROLE_MAX_DURATION);
  if (duration < 0)
    return;
  /* Role chaining: a role's session assuming a role gets an hour at most,
   * and carries its transitive tags and source identity into the new one. */
  json_t *caller = emulator_credentials_get(aws_call_emulator(call), aws_call_access_key(call));
  const char *caller_arn = json_string_value(json_object_get(caller, "Arn"));
  int chained = caller_arn && strstr(caller_arn, ":assumed-role/") != NULL;
  if (chained && json_object_get(input, "DurationSeconds") && duration > STS_CHAINED_MAX_DURATION) {
    json_decref(caller);
    aws_call_fail(call, 400, "ValidationError",
                  "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                  "assumed by role chaining.");
    return;
  }
  json_t *context = NULL;
  const json_t *inherited = NULL;
  int rc = sts_chain_session(call, input, caller, &context, &inherited);
  json_decref(caller);
  if (rc < 0)
    return;
  json_t *extra = json_object();
  if (!extra) {
    json_decref(context);
    aws_call_fail(call, 500, "InternalFailure", "out of memory");
    return;
  }
  /* The session's source identity: the request's, or the one it carries. */
  json_t *source = json_object_get(context, "SourceIdentity");
  if (source)
    json_object_set(extra, "SourceIdentity", source);
  if (sts_packed_size(call, input, 0, inherited, extra) < 0) {
    json_decref(extra);
    json_decref(context);
    return;
  }
  sts_reply_assumed(call, role_arn, account, partition, session, duration, extra, context);
}

/* Whether the call is signed with the account root's keys (its own, or keys
 * the emulator does not know, which act as the root of their account): AWS
 * caps the sessions those get. */
static int root_caller(aws_call *call) {
  json_t *caller = emulator_credentials_get(aws_call_emulator(call), aws_call_access_key(call));
  const char *arn = json_string_value(json_object_get(caller, "Arn"));
  size_t n = arn ? strlen(arn) : 0;
  int root = !caller || (n > 5 && !strcmp(arn + n - 5, ":root"));
  json_decref(caller);
  return root;
}

/* 1 (after answering AWS's AccessDenied) when the call is signed with
 * temporary credentials: GetSessionToken and GetFederationToken take an
 * account's or IAM user's long-term keys only. AWS refuses them always; the
 * emulator, permissive by default as LocalStack is, only with LocalStack's
 * ENFORCE_IAM=1. */
static int refuse_session_credentials(aws_call *call, const char *operation) {
  const char *strict = getenv("ENFORCE_IAM");
  if (!strict || (strcmp(strict, "1") && strcasecmp(strict, "true")))
    return 0;
  json_t *caller = emulator_credentials_get(aws_call_emulator(call), aws_call_access_key(call));
  int temporary = json_object_get(caller, "SessionToken") != NULL;
  json_decref(caller);
  if (temporary)
    aws_call_fail(call, 403, "AccessDenied", "Cannot call %s with session credentials", operation);
  return temporary;
}

static void get_session_token(aws_call *call, json_t *input) {
  if (sts_check_session(call, input) < 0 || refuse_session_credentials(call, "GetSessionToken"))
    return;
  long duration = sts_duration(call, input, 43200, STS_SESSION_MAX_DURATION);
  if (duration < 0)
    return;
  /* The root's sessions last an hour at most: a longer (or the default)
   * duration gets one hour, as AWS documents, not an error. */
  if (duration > STS_ROOT_MAX_DURATION && root_caller(call))
    duration = STS_ROOT_MAX_DURATION;
  emulator *emu = aws_call_emulator(call);
  char arn[64];
  /* Session credentials act as whoever asked for them (an IAM user). */
  json_t *caller = emulator_credentials_get(emu, aws_call_access_key(call));
  snprintf(arn, sizeof(arn), "arn:%s:iam::%s:root", aws_call_partition(call),
           aws_call_account(call));
  const char *caller_arn = json_string_value(json_object_get(caller, "Arn"));
  const char *caller_id = json_string_value(json_object_get(caller, "UserId"));
  json_t *creds = credentials(call, duration, aws_call_account(call), caller_arn ? caller_arn : arn,
                              caller_id ? caller_id : aws_call_account(call),
                              json_object_get(caller, "Session"));
  json_decref(caller);
  aws_call_reply(call, json_pack("{s:o}", "Credentials", creds));
}

/* A federated user: credentials acting as
 * arn:<partition>:sts::<account>:federated-user/<Name>, UserId <account>:<Name>. */
static void get_federation_token(aws_call *call, json_t *input) {
  const char *name = jsonutil_string(input, "Name");
  if (sts_check_text(call, "name", name, 2, 32, "_+=,.@-", "[\\w+=,.@-]*") < 0)
    return;
  if (sts_check_policy(call, input) < 0 || sts_check_session(call, input) < 0 ||
      refuse_session_credentials(call, "GetFederationToken"))
    return;
  long duration = sts_duration(call, input, 43200, STS_SESSION_MAX_DURATION);
  if (duration < 0)
    return;
  if (duration > STS_ROOT_MAX_DURATION && root_caller(call))
    duration = STS_ROOT_MAX_DURATION;
  const char *account = aws_call_account(call);
  char arn[128], user_id[64];
  snprintf(arn, sizeof(arn), "arn:%s:sts::%s:federated-user/%s", aws_call_partition(call), account,
           name);
  snprintf(user_id, sizeof(user_id), "%s:%s", account, name);
  json_t *packed = json_object();
  if (!packed || sts_packed_size(call, input, 1, NULL, packed) < 0) {
    if (!packed)
      aws_call_fail(call, 500, "InternalFailure", "out of memory");
    json_decref(packed);
    return;
  }
  json_t *creds = credentials(call, duration, account, arn, user_id, NULL);
  json_t *out = json_pack("{s:o, s:{s:s, s:s}}", "Credentials", creds, "FederatedUser",
                          "FederatedUserId", user_id, "Arn", arn);
  if (out)
    json_object_update(out, packed);
  json_decref(packed);
  aws_call_reply(call, out);
}

/* The account an access key belongs to: the identity's for keys this
 * emulator issued, the key itself when it is 12 digits (the emulator's
 * convention, as aws_call_account), 000000000000 otherwise. */
static void get_access_key_info(aws_call *call, json_t *input) {
  const char *key = jsonutil_string(input, "AccessKeyId");
  if (sts_check_text(call, "accessKeyId", key, 16, 128, "_", "[\\w]*") < 0)
    return;
  json_t *issued = emulator_credentials_get(aws_call_emulator(call), key);
  const char *account = json_string_value(json_object_get(issued, "Account"));
  json_t *out = json_pack("{s:s}", "Account", account ? account : "000000000000");
  json_decref(issued);
  aws_call_reply(call, out);
}

/* AssumeRoot (centralized root access): short credentials acting as the
 * root of a member account, for one of AWS's root-task policies. The caller
 * is not checked to be the organization's management account (nothing is
 * enforced). */
static void assume_root(aws_call *call, json_t *input) {
  static const char *const tasks[] = {"IAMAuditRootUserCredentials", "IAMCreateRootUserPassword",
                                      "IAMDeleteRootUserCredentials", "S3UnlockBucketPolicy",
                                      "SQSUnlockQueuePolicy"};
  const char *target = jsonutil_string(input, "TargetPrincipal");
  const char *task = jsonutil_string(json_object_get(input, "TaskPolicyArn"), "arn");
  if (sts_check_text(call, "targetPrincipal", target, 12, 2048, NULL, STS_TEXT_PATTERN) < 0 ||
      sts_check_text(call, "taskPolicyArn.arn", task, 20, 2048, NULL, STS_TEXT_PATTERN) < 0)
    return;
  /* The member account: its id, or its root's ARN. */
  char account[13] = "", partition[16] = "";
  size_t n = strlen(target);
  if (n == 12 && strspn(target, "0123456789") == 12)
    memcpy(account, target, 13);
  else if (sscanf(target, "arn:%15[a-z-]:iam::%12[0-9]:root", partition, account) != 2 ||
           strlen(account) != 12 || strcmp(target + n - 5, ":root") != 0)
    account[0] = '\0';
  if (!account[0]) {
    aws_call_fail(call, 400, "ValidationError",
                  "%.256s is invalid: TargetPrincipal is a member account's id or its root's ARN",
                  target);
    return;
  }
  const char *name = strstr(task, ":iam::aws:policy/root-task/");
  int known = name && !strncmp(task, "arn:", 4);
  for (size_t i = 0; known && i < sizeof(tasks) / sizeof(tasks[0]); i++)
    if (!strcmp(name + 27, tasks[i]))
      known = 2;
  if (known != 2) {
    aws_call_fail(call, 400, "ValidationError",
                  "%.256s is invalid: TaskPolicyArn must be one of AWS's root-task policies "
                  "(arn:aws:iam::aws:policy/root-task/<name>)",
                  task);
    return;
  }
  /* 0 to 900 seconds (the model's range), 900 by default. */
  json_t *d = json_object_get(input, "DurationSeconds");
  json_int_t duration = d ? json_integer_value(d) : 900;
  if (duration < 0 || duration > 900) {
    aws_call_fail(call, 400, "ValidationError",
                  "1 validation error detected: Value '%lld' at 'durationSeconds' failed to "
                  "satisfy constraint: Member must have value %s",
                  (long long)duration,
                  duration < 0 ? "greater than or equal to 0" : "less than or equal to 900");
    return;
  }
  char arn[64];
  snprintf(arn, sizeof(arn), "arn:%s:iam::%s:root", aws_call_partition(call), account);
  json_t *creds = credentials(call, (long)duration, account, arn, account, NULL);
  aws_call_reply(call, json_pack("{s:o}", "Credentials", creds));
}

/* The emulator enforces no policy, so it never encodes an authorization
 * failure: no message can be one of its own, and AWS refuses those. */
static void decode_authorization_message(aws_call *call, json_t *input) {
  const char *message = jsonutil_string(input, "EncodedMessage");
  if (!message || !*message) {
    aws_call_fail(call, 400, "ValidationError",
                  "1 validation error detected: Value at 'encodedMessage' failed to satisfy "
                  "constraint: Member must have length greater than or equal to 1");
    return;
  }
  aws_call_fail(call, 0, "InvalidAuthorizationMessageException",
                "The message is not a valid authorization message: this emulator enforces no "
                "policies and encodes none.");
}

static const aws_operation sts_operations[] = {
    {"AssumeRole", assume_role},
    {"AssumeRoot", assume_root},
    {"AssumeRoleWithSAML", sts_assume_role_with_saml},
    {"AssumeRoleWithWebIdentity", sts_assume_role_with_web_identity},
    {"DecodeAuthorizationMessage", decode_authorization_message},
    {"GetAccessKeyInfo", get_access_key_info},
    {"GetCallerIdentity", get_caller_identity},
    {"GetFederationToken", get_federation_token},
    {"GetSessionToken", get_session_token},
};

const aws_service aws_service_sts = {
    .name = "sts",
    .model_name = "sts",
    .operations = sts_operations,
    .operation_count = sizeof(sts_operations) / sizeof(sts_operations[0]),
};
