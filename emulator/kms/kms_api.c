/*
 * kms_api.c — the in-emulator KMS API of kms.h, for the other services. It
 * reaches the running KMS's state through emulator_service_state(), so a
 * service encrypts under exactly the keys clients see, and shares the key
 * look-up and state checks of the KMS operations (kms_store.c).
 */
#include "common/error.h"
#include "emulator/service.h"
#include "emulator/kms/kms.h"
#include "emulator/kms/kms_int.h"

#include <stdlib.h>
#include <string.h>

static kms_state *state_of(emulator *emu, const char **code) {
  kms_state *state = emulator_service_state(emu, "kms");
  if (!state) {
    if (code)
      *code = "NotFoundException";
    airgap_error_set(AIRGAP_ENOTFOUND,
                     "KMS is not served by this emulator: add kms to SERVICES to use KMS keys");
    return NULL;
  }
  return state;
}

int kms_available(emulator *emu) { return emulator_service_state(emu, "kms") != NULL; }

#define KMS_MESSAGE_PREFIX "KMS "

const char *kms_error_message(void) {
  const char *text = airgap_error_last();
  const char *sep = strncmp(text, KMS_MESSAGE_PREFIX, strlen(KMS_MESSAGE_PREFIX)) == 0
                        ? strstr(text, ": ")
                        : NULL;
  return sep ? sep + 2 : text;
}

/* Turns a KMS error into the API's return code and message. */
static int fail(const kms_err *err, const char **code) {
  if (code)
    *code = err->code;
  int rc = strcmp(err->code, "NotFoundException") == 0 ? AIRGAP_ENOTFOUND : AIRGAP_EINVALID;
  return airgap_error_set(rc, KMS_MESSAGE_PREFIX "%s: %s", err->code,
                          *err->message ? err->message : "the ciphertext does not open");
}

/* Finds key_id and checks it is an enabled symmetric encryption key; under
 * st->lock. */
static kms_key *usable_key(kms_state *st, const char *account, const char *region,
                           const char *key_id, const char *op, kms_err *err) {
  kms_key *key = kms_key_find(st, account, region, key_id, 1, err);
  if (!key || kms_key_usable(key, "ENCRYPT_DECRYPT", op, err) < 0)
    return NULL;
  if (key->kind != KMS_SYMMETRIC) {
    kms_err_set(err, "InvalidKeyUsageException", "%s is not a symmetric encryption key.",
                kms_key_arn(key));
    return NULL;
  }
  return key;
}

static int set_arn(char **key_arn, const kms_key *key) {
  if (!key_arn)
    return 0;
  *key_arn = strdup(kms_key_arn(key));
  return *key_arn ? 0 : -1;
}

int kms_encrypt(unsigned char **out, size_t *out_len, char **key_arn, emulator *emu,
                const char *account, const char *region, const char *key_id, const json_t *context,
                const void *data, size_t len, const char **code) {
  kms_state *st = state_of(emu, code);
  if (!st)
    return AIRGAP_ENOTFOUND;
  if (len < 1 || len > KMS_SERVICE_MAX_PLAINTEXT) {
    if (code)
      *code = "ValidationException";
    return airgap_error_set(AIRGAP_EINVALID, "KMS encrypts 1 to %d bytes, not %zu",
                            KMS_SERVICE_MAX_PLAINTEXT, len);
  }
  kms_err err;
  unsigned char *blob = NULL;
  size_t blob_len = 0;
  char *arn = NULL;
  pthread_mutex_lock(&st->lock);
  kms_key *key = usable_key(st, account, region, key_id, "Encrypt", &err);
  int rc = key ? kms_seal(&blob, &blob_len, key, context, data, len, &err) : -1;
  if (rc == 0 && set_arn(key_arn ? &arn : NULL, key) < 0) {
    kms_err_set(&err, "KMSInternalException", "out of memory");
    rc = -1;
  }
  pthread_mutex_unlock(&st->lock);
  if (rc < 0) {
    free(blob);
    return fail(&err, code);
  }
  *out = blob;
  *out_len = blob_len;
  if (key_arn)
    *key_arn = arn;
  return 0;
}

int kms_decrypt(unsigned char **out, size_t *out_len, char **key_arn, emulator *emu,
                const char *account, const char *region, const json_t *context, const void *blob,
                size_t len, const char **code) {
  kms_state *st = state_of(emu, code);
  if (!st)
    return AIRGAP_ENOTFOUND;
  kms_err err;
  char id[KMS_KEY_ID_LEN + 1];
  unsigned char *pt = NULL;
  size_t pt_len = 0;
  char *arn = NULL;
  if (kms_blob_key_id(id, blob, len) < 0) {
    kms_err_set(&err, "InvalidCiphertextException", "%s", "");
    return fail(&err, code);
  }
  pthread_mutex_lock(&st->lock);
  kms_key *key = usable_key(st, account, region, id, "Decrypt", &err);
  int rc = key ? kms_open(&pt, &pt_len, key, context, blob, len, &err) : -1;
  if (rc == 0 && set_arn(key_arn ? &arn : NULL, key) < 0) {
    kms_err_set(&err, "KMSInternalException", "out of memory");
    rc = -1;
  }
  pthread_mutex_unlock(&st->lock);
  if (rc < 0) {
    free(pt);
    return fail(&err, code);
  }
  *out = pt;
  *out_len = pt_len;
  if (key_arn)
    *key_arn = arn;
  return 0;
}

int kms_key_check(char **key_arn, emulator *emu, const char *account, const char *region,
                  const char *key_id, const char **code) {
  kms_state *st = state_of(emu, code);
  if (!st)
    return AIRGAP_ENOTFOUND;
  kms_err err;
  char *arn = NULL;
  pthread_mutex_lock(&st->lock);
  kms_key *key = usable_key(st, account, region, key_id, "Encrypt", &err);
  int rc = key ? set_arn(key_arn ? &arn : NULL, key) : -1;
  pthread_mutex_unlock(&st->lock);
  if (rc < 0)
    return fail(&err, code);
  if (key_arn)
    *key_arn = arn;
  return 0;
}
