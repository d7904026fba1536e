/*
 * kms_crypto.c — KMS encryption operations: Encrypt, Decrypt, ReEncrypt,
 * GenerateDataKey(+WithoutPlaintext), GenerateDataKeyPair(+WithoutPlaintext)
 * and GenerateRandom. Symmetric keys seal with AES-256-GCM (kms_cipher.c);
 * RSA keys of usage ENCRYPT_DECRYPT use RSAES-OAEP with SHA-1 or SHA-256
 * through EVP_PKEY_encrypt/decrypt. All randomness is RAND_bytes.
 *
 * Key material is used under the store lock (AES and RSA private operations
 * are short); generating a data key pair, which can take a second for
 * RSA_4096, happens before the lock is taken.
 */
#include "emulator/kms/kms_int.h"

#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

/* DryRun: the checks passed, the operation is not performed. */
static int dry_run(aws_call *call, json_t *input) {
  if (!json_is_true(json_object_get(input, "DryRun")))
    return 0;
  aws_call_fail(call, 412, "DryRunOperationException",
                "The request would have succeeded, but the DryRun option is set.");
  return 1;
}

/* Answers a cryptographic operation: out (taken; NULL: the operation failed
 * with err) with the blob added under member, unless the request is a dry run. */
static void reply_with_blob(aws_call *call, json_t *input, json_t *out, const kms_err *err,
                            const char *member, const unsigned char *data, size_t len) {
  if (!out)
    kms_fail(call, err);
  else if (!dry_run(call, input)) {
    kms_set_blob(out, member, data, len);
    aws_call_reply(call, out);
    out = NULL;
  }
  json_decref(out);
}

/* The EncryptionAlgorithm member for key (default SYMMETRIC_DEFAULT); NULL
 * with err set when the key does not support it. */
static const char *algorithm_for(const kms_key *key, const char *alg, kms_err *err) {
  if (!alg)
    alg = "SYMMETRIC_DEFAULT";
  int sym = strcmp(alg, "SYMMETRIC_DEFAULT") == 0;
  int oaep = strcmp(alg, "RSAES_OAEP_SHA_1") == 0 || strcmp(alg, "RSAES_OAEP_SHA_256") == 0;
  if (!sym && !oaep) {
    kms_err_set(err, "ValidationException",
                "1 validation error detected: Value '%.64s' at 'encryptionAlgorithm' failed to "
                "satisfy constraint: Member must satisfy enum value set: [SYMMETRIC_DEFAULT, "
                "RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256]",
                alg);
    return NULL;
  }
  if ((key->kind == KMS_SYMMETRIC) != sym || (key->kind == KMS_RSA) != oaep) {
    kms_err_set(err, "InvalidKeyUsageException",
                "%s key usage is ENCRYPT_DECRYPT and key spec %s, which does not support "
                "encryption algorithm %s.",
                kms_key_arn(key), json_string_value(json_object_get(key->meta, "KeySpec")), alg);
    return NULL;
  }
  return alg;
}

/* RSAES-OAEP in either direction. */
static int rsa_oaep(unsigned char **out, size_t *out_len, const kms_key *key, const char *alg,
                    int enc, const unsigned char *in, size_t len, kms_err *err) {
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key->pkey, NULL);
  const EVP_MD *md = strcmp(alg, "RSAES_OAEP_SHA_1") == 0 ? EVP_sha1() : EVP_sha256();
  unsigned char *buf = NULL;
  size_t n = 0;
  int ok = ctx && (enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) == 1 &&
           EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1;
  ok = ok && (enc ? EVP_PKEY_encrypt(ctx, NULL, &n, in, len)
                  : EVP_PKEY_decrypt(ctx, NULL, &n, in, len)) == 1;
  ok = ok && (buf = malloc(n + 1)) != NULL;
  ok = ok && (enc ? EVP_PKEY_encrypt(ctx, buf, &n, in, len)
                  : EVP_PKEY_decrypt(ctx, buf, &n, in, len)) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) {
    free(buf);
    if (enc)
      kms_err_set(err, "ValidationException",
                  "The plaintext is too long for %s with this key's size.", alg);
    else
      kms_err_set(err, "InvalidCiphertextException", "%s", "");
    return -1;
  }
  buf[n] = '\0';
  *out = buf;
  *out_len = n;
  return 0;
}

/* Encrypts with key (checked for state and usage); 0 or -1 with err set. */
static int encrypt_with(unsigned char **out, size_t *out_len, const char **alg_out,
                        const kms_key *key, const char *alg, const json_t *context,
                        const unsigned char *pt, size_t len, const char *op, kms_err *err) {
  if (kms_key_usable(key, "ENCRYPT_DECRYPT", op, err) < 0)
    return -1;
  alg = algorithm_for(key, alg, err);
  if (!alg)
    return -1;
  *alg_out = alg;
  if (key->kind == KMS_RSA)
    return rsa_oaep(out, out_len, key, alg, 1, pt, len, err);
  return kms_seal(out, out_len, key, context, pt, len, err);
}

/* Decrypts blob: with the key named by key_id when given (required for RSA
 * keys), else with the key the blob names. *key_out borrows the key. */
static int decrypt_blob(unsigned char **out, size_t *out_len, kms_key **key_out,
                        const char **alg_out, kms_state *st, aws_call *call, const char *key_id,
                        const char *alg, const json_t *context, const unsigned char *blob,
                        size_t len, kms_err *err) {
  const char *account = aws_call_account(call), *region = aws_call_region(call);
  char id[KMS_KEY_ID_LEN + 1];
  int named = kms_blob_key_id(id, blob, len) == 0;
  kms_key *key;
  if (key_id) {
    key = kms_key_find(st, account, region, key_id, 0, err);
    if (!key)
      return -1;
    if (key->kind == KMS_SYMMETRIC && (!named || strcmp(id, key->id) != 0)) {
      kms_err_set(err, named ? "IncorrectKeyException" : "InvalidCiphertextException",
                  named ? "The key ID in the request does not identify a CMK that can perform "
                          "this operation."
                        : "");
      return -1;
    }
  } else {
    key = named ? kms_key_by_id(st, account, region, id) : NULL;
    if (!key) {
      kms_err_set(err, "InvalidCiphertextException", "%s", "");
      return -1;
    }
  }
  if (kms_key_usable(key, "ENCRYPT_DECRYPT", "Decrypt", err) < 0)
    return -1;
  alg = algorithm_for(key, alg, err);
  if (!alg)
    return -1;
  *alg_out = alg;
  *key_out = key;
  if (key->kind == KMS_RSA)
    return rsa_oaep(out, out_len, key, alg, 0, blob, len, err);
  return kms_open(out, out_len, key, context, blob, len, err);
}

static const char *str(json_t *input, const char *name) {
  return json_string_value(json_object_get(input, name));
}

void kms_encrypt_op(aws_call *call, json_t *input) {
  unsigned char *pt = NULL, *blob = NULL;
  size_t len = 0, blob_len = 0;
  if (kms_blob_arg(&pt, &len, call, input, "Plaintext", 1, KMS_MAX_PLAINTEXT, 1) < 0 ||
      kms_context_arg(call, input, "EncryptionContext") < 0)
    goto cleanup;
  kms_state *st = kms_state_of(call);
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    goto cleanup;
  kms_err err;
  const char *alg = NULL;
  json_t *out = NULL;
  if (encrypt_with(&blob, &blob_len, &alg, key, str(input, "EncryptionAlgorithm"),
                   json_object_get(input, "EncryptionContext"), pt, len, "Encrypt", &err) == 0)
    out = json_pack("{s:s, s:s}", "KeyId", kms_key_arn(key), "EncryptionAlgorithm", alg);
  pthread_mutex_unlock(&st->lock);
  reply_with_blob(call, input, out, &err, "CiphertextBlob", blob, blob_len);
cleanup:
  if (pt)
    OPENSSL_cleanse(pt, len);
  free(pt);
  free(blob);
}

void kms_decrypt_op(aws_call *call, json_t *input) {
  unsigned char *blob = NULL, *pt = NULL;
  size_t len = 0, pt_len = 0;
  if (kms_blob_arg(&blob, &len, call, input, "CiphertextBlob", 1, KMS_MAX_CIPHERTEXT, 1) < 0)
    goto cleanup;
  kms_state *st = kms_state_of(call);
  kms_err err;
  kms_key *key = NULL;
  const char *alg = NULL;
  json_t *out = NULL;
  pthread_mutex_lock(&st->lock);
  if (decrypt_blob(&pt, &pt_len, &key, &alg, st, call, str(input, "KeyId"),
                   str(input, "EncryptionAlgorithm"), json_object_get(input, "EncryptionContext"),
                   blob, len, &err) == 0)
    out = json_pack("{s:s, s:s}", "KeyId", kms_key_arn(key), "EncryptionAlgorithm", alg);
  pthread_mutex_unlock(&st->lock);
  reply_with_blob(call, input, out, &err, "Plaintext", pt, pt_len);
cleanup:
  if (pt)
    OPENSSL_cleanse(pt, pt_len);
  free(pt);
  free(blob);
}

void kms_re_encrypt(aws_call *call, json_t *input) {
  unsigned char *blob = NULL, *pt = NULL, *out_blob = NULL;
  size_t len = 0, pt_len = 0, out_len = 0;
  if (kms_blob_arg(&blob, &len, call, input, "CiphertextBlob", 1, KMS_MAX_CIPHERTEXT, 1) < 0)
    goto cleanup;
  kms_state *st = kms_state_of(call);
  kms_err err;
  kms_key *src = NULL, *dst = NULL;
  const char *src_alg = NULL, *dst_alg = NULL;
  json_t *out = NULL;
  pthread_mutex_lock(&st->lock);
  if (decrypt_blob(&pt, &pt_len, &src, &src_alg, st, call, str(input, "SourceKeyId"),
                   str(input, "SourceEncryptionAlgorithm"),
                   json_object_get(input, "SourceEncryptionContext"), blob, len, &err) == 0 &&
      (dst = kms_key_find(st, aws_call_account(call), aws_call_region(call),
                          str(input, "DestinationKeyId"), 0, &err)) != NULL &&
      encrypt_with(&out_blob, &out_len, &dst_alg, dst, str(input, "DestinationEncryptionAlgorithm"),
                   json_object_get(input, "DestinationEncryptionContext"), pt, pt_len, "ReEncrypt",
                   &err) == 0)
    out = json_pack("{s:s, s:s, s:s, s:s}", "SourceKeyId", kms_key_arn(src), "KeyId",
                    kms_key_arn(dst), "SourceEncryptionAlgorithm", src_alg,
                    "DestinationEncryptionAlgorithm", dst_alg);
  pthread_mutex_unlock(&st->lock);
  reply_with_blob(call, input, out, &err, "CiphertextBlob", out_blob, out_len);
cleanup:
  if (pt)
    OPENSSL_cleanse(pt, pt_len);
  free(pt);
  free(blob);
  free(out_blob);
}

/* Seals data under the symmetric key named by input's KeyId into out's
 * member `name`; answers the call itself on failure. Returns 0 or -1. */
static int seal_for(json_t *out, const char *name, aws_call *call, json_t *input,
                    const unsigned char *data, size_t len, const char *op) {
  kms_state *st = kms_state_of(call);
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    return -1;
  kms_err err;
  unsigned char *blob = NULL;
  size_t blob_len = 0;
  int rc = kms_key_usable(key, "ENCRYPT_DECRYPT", op, &err);
  if (rc == 0 && key->kind != KMS_SYMMETRIC) {
    kms_err_set(&err, "InvalidKeyUsageException",
                "%s is not a symmetric encryption key; %s needs one.", kms_key_arn(key), op);
    rc = -1;
  }
  if (rc == 0)
    rc = kms_seal(&blob, &blob_len, key, json_object_get(input, "EncryptionContext"), data, len,
                  &err);
  if (rc == 0)
    json_object_set_new(out, "KeyId", json_string(kms_key_arn(key)));
  pthread_mutex_unlock(&st->lock);
  if (rc < 0) {
    kms_fail(call, &err);
    return -1;
  }
  kms_set_blob(out, name, blob, blob_len);
  free(blob);
  if (dry_run(call, input))
    return -1;
  return 0;
}

static void data_key(aws_call *call, json_t *input, int with_plaintext) {
  const char *spec = str(input, "KeySpec");
  json_t *nb = json_object_get(input, "NumberOfBytes");
  size_t n = 0;
  if ((spec && nb) || (!spec && !nb)) {
    aws_call_fail(call, 400, "ValidationException",
                  "Please specify either number of bytes or key spec.");
    return;
  }
  if (spec) {
    if (strcmp(spec, "AES_256") && strcmp(spec, "AES_128")) {
      aws_call_fail(call, 400, "ValidationException",
                    "1 validation error detected: Value '%.32s' at 'keySpec' failed to satisfy "
                    "constraint: Member must satisfy enum value set: [AES_256, AES_128]",
                    spec);
      return;
    }
    n = strcmp(spec, "AES_256") == 0 ? 32 : 16;
  } else {
    json_int_t v = json_integer_value(nb);
    if (v < 1 || v > 1024) {
      aws_call_fail(call, 400, "ValidationException",
                    "1 validation error detected: Value '%lld' at 'numberOfBytes' failed to "
                    "satisfy constraint: Member must have value between 1 and 1024",
                    (long long)v);
      return;
    }
    n = (size_t)v;
  }
  if (kms_context_arg(call, input, "EncryptionContext") < 0)
    return;
  unsigned char buf[1024];
  RAND_bytes(buf, (int)n);
  json_t *out = json_object();
  if (seal_for(out, "CiphertextBlob", call, input, buf, n,
               with_plaintext ? "GenerateDataKey" : "GenerateDataKeyWithoutPlaintext") == 0) {
    if (with_plaintext)
      kms_set_blob(out, "Plaintext", buf, n);
    aws_call_reply(call, out);
    out = NULL;
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  json_decref(out);
}

void kms_generate_data_key(aws_call *call, json_t *input) { data_key(call, input, 1); }
void kms_generate_data_key_without_plaintext(aws_call *call, json_t *input) {
  data_key(call, input, 0);
}

static void data_key_pair(aws_call *call, json_t *input, int with_plaintext) {
  const char *spec = str(input, "KeyPairSpec");
  kms_err err;
  if (!spec || (strncmp(spec, "RSA_", 4) && strncmp(spec, "ECC_", 4))) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value '%.32s' at 'keyPairSpec' failed to satisfy "
                  "constraint: Member must satisfy enum value set: [RSA_2048, RSA_3072, RSA_4096, "
                  "ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1]",
                  spec ? spec : "");
    return;
  }
  if (kms_context_arg(call, input, "EncryptionContext") < 0)
    return;
  EVP_PKEY *pkey = kms_pkey_generate(spec, &err);
  if (!pkey) {
    kms_fail(call, &err);
    return;
  }
  unsigned char *priv = NULL, *pub = NULL;
  int priv_len = -1, pub_len = i2d_PUBKEY(pkey, &pub);
  PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pkey);
  priv_len = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &priv) : -1;
  PKCS8_PRIV_KEY_INFO_free(p8);
  EVP_PKEY_free(pkey);
  json_t *out = json_pack("{s:s}", "KeyPairSpec", spec);
  if (priv_len <= 0 || pub_len <= 0) {
    aws_call_fail(call, 500, "KMSInternalException", "libcrypto could not encode the key pair.");
  } else if (seal_for(out, "PrivateKeyCiphertextBlob", call, input, priv, (size_t)priv_len,
                      with_plaintext ? "GenerateDataKeyPair"
                                     : "GenerateDataKeyPairWithoutPlaintext") == 0) {
    if (with_plaintext)
      kms_set_blob(out, "PrivateKeyPlaintext", priv, (size_t)priv_len);
    kms_set_blob(out, "PublicKey", pub, (size_t)pub_len);
    aws_call_reply(call, out);
    out = NULL;
  }
  json_decref(out);
  if (priv)
    OPENSSL_clear_free(priv, (size_t)priv_len);
  OPENSSL_free(pub);
}

void kms_generate_data_key_pair(aws_call *call, json_t *input) { data_key_pair(call, input, 1); }
void kms_generate_data_key_pair_without_plaintext(aws_call *call, json_t *input) {
  data_key_pair(call, input, 0);
}

void kms_generate_random(aws_call *call, json_t *input) {
  json_t *nb = json_object_get(input, "NumberOfBytes");
  json_int_t v = nb ? json_integer_value(nb) : 0;
  if (v < 1 || v > 1024) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value '%lld' at 'numberOfBytes' failed to satisfy "
                  "constraint: Member must have value between 1 and 1024",
                  (long long)v);
    return;
  }
  unsigned char buf[1024];
  RAND_bytes(buf, (int)v);
  json_t *out = json_object();
  kms_set_blob(out, "Plaintext", buf, (size_t)v);
  aws_call_reply(call, out);
}
