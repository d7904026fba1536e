/*
 * kms_cipher.c — symmetric KMS ciphertexts: AES-256-GCM (libcrypto's EVP)
 * under the key's 256-bit material. The blob starts with the key id, so
 * Decrypt finds the key without a KeyId, as in AWS; the encryption context is
 * the additional authenticated data, so a blob opened with any other context
 * fails authentication (InvalidCiphertextException), as AWS documents.
 *
 * Blob layout: key id (36 ASCII bytes) ‖ IV (12) ‖ GCM tag (16) ‖ ciphertext.
 * The context is bound in canonical form: compact JSON with sorted keys, so
 * the order a client sends the pairs in does not matter.
 */
#include "emulator/kms/kms_int.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_LEN (KMS_KEY_ID_LEN + KMS_IV_LEN + KMS_TAG_LEN)

/* The AAD for context (owned; "" for none). */
static char *aad_of(const json_t *context) {
  if (!context || json_object_size(context) == 0)
    return strdup("");
  return json_dumps(context, JSON_COMPACT | JSON_SORT_KEYS);
}

int kms_blob_key_id(char *id, const unsigned char *blob, size_t len) {
  if (len < HEADER_LEN)
    return -1;
  memcpy(id, blob, KMS_KEY_ID_LEN);
  id[KMS_KEY_ID_LEN] = '\0';
  return strlen(id) == KMS_KEY_ID_LEN ? 0 : -1;
}

/* One GCM pass; enc selects direction. tag is written when encrypting, checked
 * when decrypting. Returns 0, or -1 when libcrypto fails or the tag does not
 * match. */
static int gcm(int enc, unsigned char *out, const kms_key *key, const unsigned char *iv,
               unsigned char *tag, const char *aad, const unsigned char *in, size_t len) {
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int n = 0, ok = ctx != NULL;
  ok = ok && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, KMS_IV_LEN, NULL) == 1;
  ok = ok && EVP_CipherInit_ex(ctx, NULL, NULL, key->secret, iv, enc) == 1;
  if (ok && *aad)
    ok = EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1;
  if (ok && len)
    ok = EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1;
  if (ok && !enc)
    ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, KMS_TAG_LEN, tag) == 1;
  ok = ok && EVP_CipherFinal_ex(ctx, out + n, &n) == 1;
  if (ok && enc)
    ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, KMS_TAG_LEN, tag) == 1;
  EVP_CIPHER_CTX_free(ctx);
  return ok ? 0 : -1;
}

int kms_seal(unsigned char **out, size_t *out_len, const kms_key *key, const json_t *context,
             const unsigned char *pt, size_t len, kms_err *err) {
  char *aad = aad_of(context);
  unsigned char *blob = malloc(HEADER_LEN + len + 1);
  int error = -1;
  if (!aad || !blob) {
    kms_err_set(err, "KMSInternalException", "out of memory");
    goto cleanup;
  }
  memcpy(blob, key->id, KMS_KEY_ID_LEN);
  unsigned char *iv = blob + KMS_KEY_ID_LEN, *tag = iv + KMS_IV_LEN;
  if (RAND_bytes(iv, KMS_IV_LEN) != 1 || gcm(1, tag + KMS_TAG_LEN, key, iv, tag, aad, pt, len)) {
    kms_err_set(err, "KMSInternalException", "libcrypto could not encrypt with AES-256-GCM.");
    goto cleanup;
  }
  *out = blob;
  *out_len = HEADER_LEN + len;
  blob = NULL;
  error = 0;
cleanup:
  free(aad);
  free(blob);
  return error;
}

int kms_open(unsigned char **out, size_t *out_len, const kms_key *key, const json_t *context,
             const unsigned char *blob, size_t len, kms_err *err) {
  char id[KMS_KEY_ID_LEN + 1];
  if (kms_blob_key_id(id, blob, len) < 0 || strcmp(id, key->id) != 0) {
    kms_err_set(err, "InvalidCiphertextException", "%s", "");
    return -1;
  }
  char *aad = aad_of(context);
  size_t n = len - HEADER_LEN;
  unsigned char *pt = malloc(n + 1);
  unsigned char tag[KMS_TAG_LEN];
  int error = -1;
  if (!aad || !pt) {
    kms_err_set(err, "KMSInternalException", "out of memory");
    goto cleanup;
  }
  memcpy(tag, blob + KMS_KEY_ID_LEN + KMS_IV_LEN, KMS_TAG_LEN);
  if (gcm(0, pt, key, blob + KMS_KEY_ID_LEN, tag, aad, blob + HEADER_LEN, n) < 0) {
    /* AWS answers a wrong context or a damaged blob with an empty message. */
    kms_err_set(err, "InvalidCiphertextException", "%s", "");
    goto cleanup;
  }
  pt[n] = '\0';
  *out = pt;
  *out_len = n;
  pt = NULL;
  error = 0;
cleanup:
  free(aad);
  if (pt)
    OPENSSL_cleanse(pt, n);
  free(pt);
  return error;
}
