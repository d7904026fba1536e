/*
 * kms_grants.c — KMS grants, stored and listed: CreateGrant, ListGrants,
 * ListRetirableGrants, RetireGrant, RevokeGrant. Access is not enforced
 * (LocalStack's default), so grants change nothing but what these answer.
 */
#include "common/clock.h"
#include "common/codec.h"
#include "common/jsonutil.h"
#include "emulator/kms/kms_int.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KMS_MAX_GRANTS 50000

static const char *const grant_ops[] = {"Decrypt",
                                        "Encrypt",
                                        "GenerateDataKey",
                                        "GenerateDataKeyWithoutPlaintext",
                                        "ReEncryptFrom",
                                        "ReEncryptTo",
                                        "Sign",
                                        "Verify",
                                        "GetPublicKey",
                                        "CreateGrant",
                                        "RetireGrant",
                                        "DescribeKey",
                                        "GenerateDataKeyPair",
                                        "GenerateDataKeyPairWithoutPlaintext",
                                        "GenerateMac",
                                        "VerifyMac",
                                        "DeriveSharedSecret"};

static int op_known(const char *op) {
  for (size_t i = 0; op && i < sizeof(grant_ops) / sizeof(grant_ops[0]); i++)
    if (strcmp(op, grant_ops[i]) == 0)
      return 1;
  return 0;
}

void kms_create_grant(aws_call *call, json_t *input) {
  json_t *ops = json_object_get(input, "Operations");
  size_t i;
  json_t *op;
  if (json_array_size(ops) == 0) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value at 'operations' failed to satisfy "
                  "constraint: Member must have length greater than or equal to 1");
    return;
  }
  json_array_foreach(ops, i, op) {
    if (!op_known(json_string_value(op))) {
      aws_call_fail(call, 400, "ValidationException",
                    "1 validation error detected: Value '%.64s' at 'operations' failed to "
                    "satisfy constraint: Member must satisfy enum value set",
                    json_string_value(op) ? json_string_value(op) : "");
      return;
    }
  }
  kms_state *st = kms_state_of(call);
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    return;
  if (strcmp(kms_key_state(key), "PendingDeletion") == 0) {
    aws_call_fail(call, 400, "KMSInvalidStateException", "%s is pending deletion.",
                  kms_key_arn(key));
    goto done;
  }
  if (json_array_size(key->grants) >= KMS_MAX_GRANTS) {
    aws_call_fail(call, 400, "LimitExceededException", "The key has too many grants.");
    goto done;
  }
  /* A grant with the same name and parameters is the same grant (CreateGrant
   * is idempotent by Name). */
  const char *name = json_string_value(json_object_get(input, "Name"));
  json_t *g;
  json_array_foreach(key->grants, i, g) {
    if (name && json_equal(json_object_get(g, "Name"), json_object_get(input, "Name")) &&
        json_equal(json_object_get(g, "Operations"), ops) &&
        json_equal(json_object_get(g, "GranteePrincipal"),
                   json_object_get(input, "GranteePrincipal"))) {
      aws_call_reply(call, json_pack("{s:O, s:O}", "GrantToken", json_object_get(g, "GrantToken"),
                                     "GrantId", json_object_get(g, "GrantId")));
      goto done;
    }
  }
  unsigned char raw[32], tok[96];
  char id[65];
  RAND_bytes(raw, sizeof(raw));
  RAND_bytes(tok, sizeof(tok));
  codec_hex_encode(id, raw, sizeof(raw));
  char *token = codec_base64_encode(tok, sizeof(tok));
  g = json_pack("{s:s, s:s, s:f, s:O, s:s, s:O, s:s}", "KeyId", kms_key_arn(key), "GrantId", id,
                "CreationDate", (double)clock_wall_ms() / 1000.0, "GranteePrincipal",
                json_object_get(input, "GranteePrincipal"), "IssuingAccount",
                aws_call_account(call), "Operations", ops, "GrantToken", token ? token : "");
  const char *opt[] = {"Name", "RetiringPrincipal", "Constraints"};
  for (size_t k = 0; g && k < 3; k++)
    if (json_object_get(input, opt[k]))
      json_object_set(g, opt[k], json_object_get(input, opt[k]));
  json_array_append_new(key->grants, g);
  aws_call_reply(call, json_pack("{s:s, s:s}", "GrantToken", token ? token : "", "GrantId", id));
  free(token);
done:
  pthread_mutex_unlock(&st->lock);
}

/* Copies grant g for a listing (without its token). */
static json_t *listed(json_t *g) {
  json_t *c = json_deep_copy(g);
  json_object_del(c, "GrantToken");
  return c;
}

static int page(aws_call *call, json_t *input, size_t *limit, size_t *offset) {
  return kms_page_args(call, input, limit, offset);
}

void kms_list_grants(aws_call *call, json_t *input) {
  size_t limit, offset;
  if (page(call, input, &limit, &offset) < 0)
    return;
  kms_state *st = kms_state_of(call);
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    return;
  json_t *gid = json_object_get(input, "GrantId");
  json_t *grantee = json_object_get(input, "GranteePrincipal");
  json_t *items = json_array();
  size_t i;
  json_t *g;
  json_array_foreach(key->grants, i, g) {
    if ((gid && !json_equal(gid, json_object_get(g, "GrantId"))) ||
        (grantee && !json_equal(grantee, json_object_get(g, "GranteePrincipal"))))
      continue;
    json_array_append_new(items, listed(g));
  }
  pthread_mutex_unlock(&st->lock);
  kms_reply_page(call, "Grants", items, limit, offset);
}

void kms_list_retirable_grants(aws_call *call, json_t *input) {
  size_t limit, offset;
  if (page(call, input, &limit, &offset) < 0)
    return;
  json_t *principal = json_object_get(input, "RetiringPrincipal");
  kms_state *st = kms_state_of(call);
  json_t *items = json_array();
  pthread_mutex_lock(&st->lock);
  for (kms_key *k = st->keys; k; k = k->next) {
    if (strcmp(k->account, aws_call_account(call)) != 0)
      continue;
    size_t i;
    json_t *g;
    json_array_foreach(k->grants, i, g) {
      if (json_equal(principal, json_object_get(g, "RetiringPrincipal")))
        json_array_append_new(items, listed(g));
    }
  }
  pthread_mutex_unlock(&st->lock);
  kms_reply_page(call, "Grants", items, limit, offset);
}

/* Removes the grant matching token (when given) or id from key; 0 when found. */
static int drop_grant(kms_key *key, const char *token, const char *id) {
  size_t i;
  json_t *g;
  json_array_foreach(key->grants, i, g) {
    const char *have = jsonutil_string(g, token ? "GrantToken" : "GrantId");
    if (have && strcmp(have, token ? token : id) == 0) {
      json_array_remove(key->grants, i);
      return 0;
    }
  }
  return -1;
}

void kms_retire_grant(aws_call *call, json_t *input) {
  const char *token = json_string_value(json_object_get(input, "GrantToken"));
  const char *id = json_string_value(json_object_get(input, "GrantId"));
  kms_state *st = kms_state_of(call);
  if (token) {
    pthread_mutex_lock(&st->lock);
    for (kms_key *k = st->keys; k; k = k->next) {
      if (strcmp(k->account, aws_call_account(call)) == 0 && drop_grant(k, token, NULL) == 0) {
        pthread_mutex_unlock(&st->lock);
        aws_call_reply(call, NULL);
        return;
      }
    }
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "InvalidGrantTokenException", "The grant token is not valid.");
    return;
  }
  if (!id || !json_object_get(input, "KeyId")) {
    aws_call_fail(call, 400, "ValidationException",
                  "RetireGrant needs a GrantToken, or a KeyId and a GrantId.");
    return;
  }
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    return;
  if (drop_grant(key, NULL, id) == 0)
    aws_call_reply(call, NULL);
  else
    aws_call_fail(call, 400, "NotFoundException", "Grant ID %.128s not found", id);
  pthread_mutex_unlock(&st->lock);
}

void kms_revoke_grant(aws_call *call, json_t *input) {
  const char *id = json_string_value(json_object_get(input, "GrantId"));
  kms_state *st = kms_state_of(call);
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    return;
  if (id && drop_grant(key, NULL, id) == 0)
    aws_call_reply(call, NULL);
  else
    aws_call_fail(call, 400, "NotFoundException", "Grant ID %.128s not found", id ? id : "");
  pthread_mutex_unlock(&st->lock);
}
