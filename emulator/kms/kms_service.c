/*
 * kms_service.c — the KMS service's aws_service: its state, the operation
 * table, and the argument helpers every handler shares (blobs, encryption
 * contexts, key look-up under the lock).
 *
 * Operations of the model that are not in the table (custom key stores,
 * imported key material, multi-Region replication) get the protocol layer's
 * "not implemented" answer.
 */
#include "common/codec.h"
#include "common/error.h"
#include "emulator/kms/kms_int.h"

#include <stdlib.h>
#include <string.h>

kms_state *kms_state_of(aws_call *call) { return aws_call_state(call); }

kms_key *kms_lock_key(kms_state *st, aws_call *call, json_t *input, const char *member) {
  kms_err err;
  pthread_mutex_lock(&st->lock);
  kms_key *key = kms_key_find(st, aws_call_account(call), aws_call_region(call),
                              json_string_value(json_object_get(input, member)), 0, &err);
  if (!key) {
    pthread_mutex_unlock(&st->lock);
    kms_fail(call, &err);
  }
  return key;
}

int kms_blob_arg(unsigned char **out, size_t *len, aws_call *call, json_t *input, const char *name,
                 size_t min, size_t max, int required) {
  *out = NULL;
  *len = 0;
  const char *b64 = json_string_value(json_object_get(input, name));
  if (!b64) {
    if (!required)
      return 0;
    aws_call_fail(call, 400, "ValidationException", "The request must contain the parameter %s.",
                  name);
    return -1;
  }
  if (codec_base64_decode(out, len, b64, strlen(b64)) < 0) {
    aws_call_fail(call, 400, "SerializationException", "%s is not valid base64.", name);
    return -1;
  }
  if (*len < min || *len > max) {
    free(*out);
    *out = NULL;
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value at '%c%s' failed to satisfy constraint: "
                  "Member must have length between %zu and %zu",
                  name[0] + 32, name + 1, min, max);
    return -1;
  }
  return 0;
}

void kms_set_blob(json_t *obj, const char *name, const void *data, size_t len) {
  char *b64 = codec_base64_encode(data, len);
  if (b64)
    json_object_set_new(obj, name, json_string(b64));
  free(b64);
}

int kms_context_arg(aws_call *call, json_t *input, const char *name) {
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(input, name), k, v) {
    if (!*k || strlen(k) > 8192) {
      aws_call_fail(call, 400, "ValidationException",
                    "Encryption context keys must be 1 to 8192 characters.");
      return -1;
    }
  }
  return 0;
}

static int kms_create(void **state, emulator *emu) {
  (void)emu;
  kms_state *st = calloc(1, sizeof(*st));
  if (!st)
    return airgap_error_set(AIRGAP_ERROR, "KMS: out of memory");
  st->aliases = json_object();
  if (!st->aliases || pthread_mutex_init(&st->lock, NULL) != 0) {
    json_decref(st->aliases);
    free(st);
    return airgap_error_set(AIRGAP_ERROR, "KMS: cannot create the key store");
  }
  *state = st;
  return 0;
}

static void kms_reset(void *state) {
  kms_state *st = state;
  pthread_mutex_lock(&st->lock);
  kms_store_clear(st);
  pthread_mutex_unlock(&st->lock);
}

static void kms_destroy(void *state) {
  kms_state *st = state;
  if (!st)
    return;
  kms_store_clear(st);
  json_decref(st->aliases);
  pthread_mutex_destroy(&st->lock);
  free(st);
}

static const aws_operation kms_operations[] = {
    {"CancelKeyDeletion", kms_cancel_key_deletion},
    {"CreateAlias", kms_create_alias},
    {"CreateGrant", kms_create_grant},
    {"CreateKey", kms_create_key},
    {"Decrypt", kms_decrypt_op},
    {"DeleteAlias", kms_delete_alias},
    {"DescribeKey", kms_describe_key},
    {"DisableKey", kms_disable_key},
    {"DisableKeyRotation", kms_disable_key_rotation},
    {"EnableKey", kms_enable_key},
    {"EnableKeyRotation", kms_enable_key_rotation},
    {"Encrypt", kms_encrypt_op},
    {"GenerateDataKey", kms_generate_data_key},
    {"GenerateDataKeyPair", kms_generate_data_key_pair},
    {"GenerateDataKeyPairWithoutPlaintext", kms_generate_data_key_pair_without_plaintext},
    {"GenerateDataKeyWithoutPlaintext", kms_generate_data_key_without_plaintext},
    {"GenerateMac", kms_generate_mac},
    {"GenerateRandom", kms_generate_random},
    {"GetKeyPolicy", kms_get_key_policy},
    {"GetKeyRotationStatus", kms_get_key_rotation_status},
    {"GetPublicKey", kms_get_public_key},
    {"ListAliases", kms_list_aliases},
    {"ListGrants", kms_list_grants},
    {"ListKeyPolicies", kms_list_key_policies},
    {"ListKeys", kms_list_keys},
    {"ListResourceTags", kms_list_resource_tags},
    {"ListRetirableGrants", kms_list_retirable_grants},
    {"PutKeyPolicy", kms_put_key_policy},
    {"ReEncrypt", kms_re_encrypt},
    {"RetireGrant", kms_retire_grant},
    {"RevokeGrant", kms_revoke_grant},
    {"ScheduleKeyDeletion", kms_schedule_key_deletion},
    {"Sign", kms_sign},
    {"TagResource", kms_tag_resource},
    {"UntagResource", kms_untag_resource},
    {"UpdateAlias", kms_update_alias},
    {"UpdateKeyDescription", kms_update_key_description},
    {"Verify", kms_verify},
    {"VerifyMac", kms_verify_mac},
};

const aws_service aws_service_kms = {
    .name = "kms",
    .model_name = "kms",
    .operations = kms_operations,
    .operation_count = sizeof(kms_operations) / sizeof(kms_operations[0]),
    .create = kms_create,
    .reset = kms_reset,
    .destroy = kms_destroy,
};
