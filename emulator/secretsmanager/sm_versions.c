/*
 * sm_versions.c — secret versions and staging labels: PutSecretValue,
 * GetSecretValue, UpdateSecretVersionStage, ListSecretVersionIds, and the
 * version bookkeeping CreateSecret/UpdateSecret share.
 *
 * Labels move as AWS moves them: a label is on at most one version; a new
 * AWSCURRENT version pushes the old one to AWSPREVIOUS (taking AWSPREVIOUS
 * from wherever it was); versions left without labels are "deprecated" and
 * the oldest of them are dropped past SM_MAX_VERSIONS.
 *
 * Values are encrypted through kms.h (what is stored is KMS ciphertext of a
 * type byte, 'S' or 'B', followed by the value's bytes); a version's
 * ClientRequestToken is its VersionId, which makes retries idempotent.
 */
#include "common/codec.h"
#include "common/jsonutil.h"
#include "emulator/kms/kms.h"
#include "emulator/secretsmanager/sm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sm_token_arg(aws_call *call, const char *token) {
  size_t n = token ? strlen(token) : 32;
  if (n < 32 || n > 64) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "ClientRequestToken must be 32 to 64 characters long.");
    return -1;
  }
  return 0;
}

int sm_value_arg(aws_call *call, json_t *input) {
  const char *s = jsonutil_string(input, "SecretString");
  const char *b = jsonutil_string(input, "SecretBinary");
  if (s && b) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "You can't specify both a binary secret value and a string secret value in the "
                  "same secret.");
    return -1;
  }
  /* Binary arrives base64-encoded: 65536 bytes are at most 87384 characters. */
  if ((s && strlen(s) > SM_MAX_VALUE) || (b && strlen(b) > (SM_MAX_VALUE + 2) / 3 * 4)) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "The secret value is larger than the maximum of %d bytes.", SM_MAX_VALUE);
    return -1;
  }
  return s || b ? 1 : 0;
}

/* input's value as the stored plaintext (type byte + bytes); owned. */
static unsigned char *plaintext_of(json_t *input, size_t *len) {
  const char *s = jsonutil_string(input, "SecretString");
  unsigned char *raw = NULL;
  size_t n = 0;
  if (s) {
    n = strlen(s);
  } else if (codec_base64_decode(&raw, &n, jsonutil_string(input, "SecretBinary"),
                                 strlen(jsonutil_string(input, "SecretBinary"))) < 0) {
    return NULL;
  }
  unsigned char *out = malloc(n + 2);
  if (out) {
    out[0] = s ? 'S' : 'B';
    memcpy(out + 1, s ? (const unsigned char *)s : raw, n);
    out[n + 1] = '\0';
    *len = n + 1;
  }
  free(raw);
  return out;
}

static json_t *context_of(json_t *secret, const char *vid) {
  return json_pack("{s:O, s:s}", "SecretARN", json_object_get(secret, "ARN"), "SecretVersionId",
                   vid);
}

/* Decrypts a version's value (type byte first; owned), NULL after answering
 * DecryptionFailure. */
/* The plaintext of a version ('S' or 'B' then the bytes), or NULL when it
 * does not open. */
static unsigned char *open_blob(sm_state *st, json_t *secret, const char *vid, json_t *version,
                                size_t *len) {
  const char *blob = jsonutil_string(version, "Blob");
  unsigned char *raw = NULL, *pt = NULL;
  size_t n = 0;
  if (!blob || codec_base64_decode(&raw, &n, blob, strlen(blob)) < 0)
    return NULL;
  if (json_is_true(json_object_get(version, "Plain"))) {
    *len = n;
    return raw;
  }
  json_t *ctx = context_of(secret, vid);
  int rc = kms_decrypt(&pt, len, NULL, st->emu, jsonutil_string(secret, "Account"),
                       jsonutil_string(secret, "Region"), ctx, raw, n, NULL);
  json_decref(ctx);
  free(raw);
  return rc == 0 ? pt : NULL;
}

#define SM_DECRYPT_FAILED                                                                          \
  "Secrets Manager can't decrypt the protected secret text using the provided KMS key: the key "   \
  "is not available, enabled and valid"

static unsigned char *open_version(sm_state *st, aws_call *call, json_t *secret, const char *vid,
                                   json_t *version, size_t *len) {
  unsigned char *pt = open_blob(st, secret, vid, version, len);
  if (!pt)
    aws_call_fail(call, 400, "DecryptionFailure", SM_DECRYPT_FAILED);
  return pt;
}

/* The version id that has label stage, NULL when none. */
static const char *stage_holder(json_t *secret, const char *stage) {
  const char *vid;
  json_t *v;
  json_object_foreach(json_object_get(secret, "Versions"), vid, v) {
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(v, "VersionStages"), i, s) {
      if (strcmp(json_string_value(s), stage) == 0)
        return vid;
    }
  }
  return NULL;
}

static void stage_remove(json_t *version, const char *stage) {
  json_t *stages = json_object_get(version, "VersionStages");
  for (size_t i = 0; i < json_array_size(stages); i++)
    if (strcmp(json_string_value(json_array_get(stages, i)), stage) == 0)
      json_array_remove(stages, i--);
}

void sm_stage_move(json_t *secret, const char *stage, const char *vid) {
  json_t *versions = json_object_get(secret, "Versions");
  const char *prev = stage_holder(secret, stage);
  if (prev && vid && strcmp(prev, vid) == 0)
    return;
  char prev_id[65] = "";
  if (prev) {
    snprintf(prev_id, sizeof(prev_id), "%s", prev);
    stage_remove(json_object_get(versions, prev), stage);
  }
  if (vid)
    json_array_append_new(json_object_get(json_object_get(versions, vid), "VersionStages"),
                          json_string(stage));
  if (strcmp(stage, "AWSCURRENT") == 0 && *prev_id && vid)
    sm_stage_move(secret, "AWSPREVIOUS", prev_id);
}

/* Drops the oldest versions without labels past SM_MAX_VERSIONS. */
static void prune(json_t *secret) {
  json_t *order = json_object_get(secret, "Order"), *versions = json_object_get(secret, "Versions");
  for (size_t i = 0; json_array_size(order) > SM_MAX_VERSIONS && i < json_array_size(order);) {
    const char *vid = json_string_value(json_array_get(order, i));
    if (json_array_size(json_object_get(json_object_get(versions, vid), "VersionStages")) == 0) {
      json_object_del(versions, vid);
      json_array_remove(order, i);
    } else {
      i++;
    }
  }
}

int sm_version_add(char vid_out[65], sm_state *st, aws_call *call, json_t *secret, json_t *input,
                   const char *version_id, json_t *stages) {
  size_t len = 0, blob_len = 0, old_len = 0;
  unsigned char *pt = plaintext_of(input, &len), *blob = NULL, *old = NULL;
  char vid[65];
  int rc = -1;
  if (!pt) {
    aws_call_fail(call, 400, "InvalidParameterException", "SecretBinary is not valid base64.");
    return -1;
  }
  if (version_id)
    snprintf(vid, sizeof(vid), "%s", version_id);
  else
    codec_uuid4(vid);
  json_t *versions = json_object_get(secret, "Versions");
  json_t *existing = json_object_get(versions, vid);
  if (existing) {
    old = open_version(st, call, secret, vid, existing, &old_len);
    if (!old)
      goto cleanup;
    if (old_len != len || memcmp(old, pt, len) != 0) {
      aws_call_fail(call, 400, "ResourceExistsException",
                    "You can't modify an existing version, you can only create a new version.");
      goto cleanup;
    }
    memcpy(vid_out, vid, sizeof(vid));
    rc = 0; /* the same request again: nothing changes */
    goto cleanup;
  }
  json_t *version = json_pack("{s:f, s:[]}", "CreatedDate", sm_now(), "VersionStages");
  const char *key_id = jsonutil_string(secret, "KmsKeyId");
  if (kms_available(st->emu)) {
    json_t *ctx = context_of(secret, vid);
    char *key_arn = NULL;
    int krc = kms_encrypt(&blob, &blob_len, &key_arn, st->emu, jsonutil_string(secret, "Account"),
                          jsonutil_string(secret, "Region"),
                          key_id ? key_id : "alias/aws/secretsmanager", ctx, pt, len, NULL);
    json_decref(ctx);
    if (krc < 0) {
      json_decref(version);
      aws_call_fail(call, 400, "EncryptionFailure",
                    "Secrets Manager can't encrypt the protected secret text using the provided "
                    "KMS key. Check that the KMS key is available, enabled, and not in an invalid "
                    "state.");
      goto cleanup;
    }
    json_object_set_new(version, "KmsKeyIds", json_pack("[s]", key_arn));
    free(key_arn);
  } else {
    /* No KMS in this emulator (SERVICES leaves it out): keep the value as is. */
    blob = malloc(len);
    if (blob)
      memcpy(blob, pt, len);
    blob_len = len;
    json_object_set_new(version, "Plain", json_true());
  }
  char *b64 = blob ? codec_base64_encode(blob, blob_len) : NULL;
  if (!b64) {
    json_decref(version);
    aws_call_fail(call, 500, "InternalServiceError", "out of memory");
    goto cleanup;
  }
  json_object_set_new(version, "Blob", json_string(b64));
  free(b64);
  json_object_set_new(versions, vid, version);
  json_array_append_new(json_object_get(secret, "Order"), json_string(vid));
  if (!stages || json_array_size(stages) == 0) {
    sm_stage_move(secret, "AWSCURRENT", vid);
  } else {
    size_t i;
    json_t *s;
    json_array_foreach(stages, i, s) sm_stage_move(secret, json_string_value(s), vid);
  }
  prune(secret);
  json_object_set_new(secret, "LastChangedDate", json_real(sm_now()));
  memcpy(vid_out, vid, sizeof(vid));
  rc = 0;
cleanup:
  free(pt);
  free(old);
  free(blob);
  return rc;
}

json_t *sm_version_stages(json_t *secret) {
  json_t *out = json_object();
  const char *vid;
  json_t *v;
  json_object_foreach(json_object_get(secret, "Versions"), vid, v) {
    json_t *stages = json_object_get(v, "VersionStages");
    if (json_array_size(stages))
      json_object_set(out, vid, stages);
  }
  return out;
}

/* VersionStages: 1..20 labels of 1..256 characters; -1 after answering. */
static int stages_arg(aws_call *call, json_t *stages) {
  size_t i;
  json_t *s;
  if (stages && (json_array_size(stages) < 1 || json_array_size(stages) > 20)) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "VersionStages must list 1 to 20 staging labels.");
    return -1;
  }
  json_array_foreach(stages, i, s) {
    size_t n = strlen(json_string_value(s) ? json_string_value(s) : "");
    if (n < 1 || n > 256) {
      aws_call_fail(call, 400, "InvalidParameterException",
                    "A staging label must be 1 to 256 characters long.");
      return -1;
    }
  }
  return 0;
}

void sm_put_secret_value(aws_call *call, json_t *input) {
  const char *token = jsonutil_string(input, "ClientRequestToken");
  json_t *stages = json_object_get(input, "VersionStages");
  int has = sm_value_arg(call, input);
  if (has < 0 || sm_token_arg(call, token) < 0 || stages_arg(call, stages) < 0)
    return;
  if (!has) {
    aws_call_fail(call, 400, "InvalidRequestException",
                  "You must provide either SecretString or SecretBinary.");
    return;
  }
  sm_state *st = sm_state_of(call);
  json_t *secret = sm_lock_secret(st, call, input, 1);
  if (!secret)
    return;
  char vid[65];
  if (sm_version_add(vid, st, call, secret, input, token, stages) == 0) {
    json_t *v = json_object_get(json_object_get(secret, "Versions"), vid);
    aws_call_reply(call, json_pack("{s:O, s:O, s:s, s:O}", "ARN", json_object_get(secret, "ARN"),
                                   "Name", json_object_get(secret, "Name"), "VersionId", vid,
                                   "VersionStages", json_object_get(v, "VersionStages")));
  }
  pthread_mutex_unlock(&st->lock);
}

/* GetSecretValue's answer for a version whose plaintext is pt[0..len); also
 * records the access (AWS records it by day). */
static json_t *value_output(json_t *secret, const char *vid, json_t *version,
                            const unsigned char *pt, size_t len) {
  double day = (double)((long long)sm_now() / 86400 * 86400);
  json_object_set_new(secret, "LastAccessedDate", json_real(day));
  json_object_set_new(version, "LastAccessedDate", json_real(day));
  json_t *out = json_pack("{s:O, s:O, s:s, s:O, s:O}", "ARN", json_object_get(secret, "ARN"),
                          "Name", json_object_get(secret, "Name"), "VersionId", vid,
                          "VersionStages", json_object_get(version, "VersionStages"), "CreatedDate",
                          json_object_get(version, "CreatedDate"));
  if (pt[0] == 'B') {
    char *b64 = codec_base64_encode(pt + 1, len - 1);
    json_object_set_new(out, "SecretBinary", json_string(b64 ? b64 : ""));
    free(b64);
  } else {
    json_object_set_new(out, "SecretString", json_stringn((const char *)pt + 1, len - 1));
  }
  return out;
}

json_t *sm_current_value(sm_state *st, json_t *secret, const char **code, const char **message) {
  const char *holder = stage_holder(secret, "AWSCURRENT");
  json_t *version = holder ? json_object_get(json_object_get(secret, "Versions"), holder) : NULL;
  size_t len = 0;
  unsigned char *pt = version ? open_blob(st, secret, holder, version, &len) : NULL;
  if (!version) {
    *code = "ResourceNotFoundException";
    *message = "Secrets Manager can't find the specified secret value for staging label: "
               "AWSCURRENT";
    return NULL;
  }
  if (!pt) {
    *code = "DecryptionFailure";
    *message = SM_DECRYPT_FAILED;
    return NULL;
  }
  json_t *out = value_output(secret, holder, version, pt, len);
  free(pt);
  return out;
}

void sm_get_secret_value(aws_call *call, json_t *input) {
  const char *vid = jsonutil_string(input, "VersionId");
  const char *stage = jsonutil_string(input, "VersionStage");
  sm_state *st = sm_state_of(call);
  json_t *secret = sm_lock_secret(st, call, input, 1);
  if (!secret)
    return;
  json_t *versions = json_object_get(secret, "Versions");
  const char *holder = stage || !vid ? stage_holder(secret, stage ? stage : "AWSCURRENT") : vid;
  json_t *version = holder ? json_object_get(versions, holder) : NULL;
  unsigned char *pt = NULL;
  size_t len = 0;
  if (vid && holder && strcmp(vid, holder) != 0) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "You provided a VersionStage that is not associated to the provided VersionId.");
    goto done;
  }
  if (!version) {
    if (vid && !stage)
      aws_call_fail(call, 400, "ResourceNotFoundException",
                    "Secrets Manager can't find the specified secret value for VersionId: %.64s",
                    vid);
    else
      aws_call_fail(call, 400, "ResourceNotFoundException",
                    "Secrets Manager can't find the specified secret value for staging label: "
                    "%.256s",
                    stage ? stage : "AWSCURRENT");
    goto done;
  }
  pt = open_version(st, call, secret, holder, version, &len);
  if (!pt)
    goto done;
  json_t *out = value_output(secret, holder, version, pt, len);
  aws_call_reply(call, out);
done:
  pthread_mutex_unlock(&st->lock);
  free(pt);
}

void sm_update_secret_version_stage(aws_call *call, json_t *input) {
  const char *stage = jsonutil_string(input, "VersionStage");
  const char *from = jsonutil_string(input, "RemoveFromVersionId");
  const char *to = jsonutil_string(input, "MoveToVersionId");
  if (!stage || !*stage || strlen(stage) > 256) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "VersionStage must be 1 to 256 characters long.");
    return;
  }
  sm_state *st = sm_state_of(call);
  json_t *secret = sm_lock_secret(st, call, input, 1);
  if (!secret)
    return;
  json_t *versions = json_object_get(secret, "Versions");
  const char *holder = stage_holder(secret, stage);
  if ((from && !json_object_get(versions, from)) || (to && !json_object_get(versions, to))) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "The version %.64s does not exist for this secret.",
                  from && !json_object_get(versions, from) ? from : to);
  } else if (holder && (!from || strcmp(from, holder) != 0) && !(to && strcmp(to, holder) == 0)) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "The staging label %s is currently attached to version %s, so you must "
                  "explicitly reference that version in RemoveFromVersionId.",
                  stage, holder);
  } else if (from && (!holder || strcmp(from, holder) != 0)) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "The staging label %s is not attached to version %s.", stage, from);
  } else if (!to && strcmp(stage, "AWSCURRENT") == 0) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "You can only move the AWSCURRENT staging label to another version; it cannot "
                  "be removed.");
  } else {
    sm_stage_move(secret, stage, to);
    json_object_set_new(secret, "LastChangedDate", json_real(sm_now()));
    aws_call_reply(call, json_pack("{s:O, s:O}", "ARN", json_object_get(secret, "ARN"), "Name",
                                   json_object_get(secret, "Name")));
  }
  pthread_mutex_unlock(&st->lock);
}

/* MaxResults 1..100 and NextToken (an offset we handed out); -1 after answering. */
int sm_page_args(aws_call *call, json_t *input, size_t *limit, size_t *offset) {
  json_t *m = json_object_get(input, "MaxResults");
  json_int_t v = m ? json_integer_value(m) : 100;
  const char *token = jsonutil_string(input, "NextToken");
  *limit = (size_t)v;
  *offset = 0;
  if (v < 1 || v > 100) {
    aws_call_fail(call, 400, "InvalidParameterException", "MaxResults must be between 1 and 100.");
    return -1;
  }
  if (token) {
    char *end = NULL;
    unsigned long long o = strtoull(token, &end, 10);
    if (!*token || *end || o > 100000000ULL) {
      aws_call_fail(call, 400, "InvalidNextTokenException", "The NextToken value is invalid.");
      return -1;
    }
    *offset = (size_t)o;
  }
  return 0;
}

void sm_list_secret_version_ids(aws_call *call, json_t *input) {
  size_t limit, offset;
  if (sm_page_args(call, input, &limit, &offset) < 0)
    return;
  int deprecated = json_is_true(json_object_get(input, "IncludeDeprecated"));
  sm_state *st = sm_state_of(call);
  json_t *secret = sm_lock_secret(st, call, input, 0);
  if (!secret)
    return;
  json_t *all = json_array(), *versions = json_object_get(secret, "Versions");
  size_t i;
  json_t *id;
  json_array_foreach(json_object_get(secret, "Order"), i, id) {
    json_t *v = json_object_get(versions, json_string_value(id));
    if (!deprecated && json_array_size(json_object_get(v, "VersionStages")) == 0)
      continue;
    json_t *e = json_pack("{s:O, s:O, s:O}", "VersionId", id, "VersionStages",
                          json_object_get(v, "VersionStages"), "CreatedDate",
                          json_object_get(v, "CreatedDate"));
    const char *opt[] = {"LastAccessedDate", "KmsKeyIds"};
    for (size_t k = 0; k < 2; k++)
      if (json_object_get(v, opt[k]))
        json_object_set(e, opt[k], json_object_get(v, opt[k]));
    json_array_append_new(all, e);
  }
  json_t *out = json_pack("{s:O, s:O, s:[]}", "ARN", json_object_get(secret, "ARN"), "Name",
                          json_object_get(secret, "Name"), "Versions");
  pthread_mutex_unlock(&st->lock);
  json_t *page = json_object_get(out, "Versions");
  for (i = offset; i < json_array_size(all) && i < offset + limit; i++)
    json_array_append(page, json_array_get(all, i));
  if (offset + limit < json_array_size(all)) {
    char token[32];
    snprintf(token, sizeof(token), "%zu", offset + limit);
    json_object_set_new(out, "NextToken", json_string(token));
  }
  json_decref(all);
  aws_call_reply(call, out);
}
