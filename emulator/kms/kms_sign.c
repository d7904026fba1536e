/*
 * kms_sign.c — asymmetric signatures and MACs: Sign, Verify (RSASSA-PSS and
 * RSASSA-PKCS1-v1_5 with SHA-256/384/512, ECDSA on the NIST curves and
 * secp256k1, DER-encoded as KMS returns them), GenerateMac/VerifyMac (HMAC
 * with SHA-224..512) and GetPublicKey (DER SubjectPublicKeyInfo).
 *
 * MessageType RAW hashes the message first; DIGEST takes it as the digest,
 * which must then have the digest's exact length. PSS uses a salt as long as
 * the digest, as KMS does, so signatures verify with common libraries'
 * defaults for KMS.
 */
#include "emulator/kms/kms_int.h"

#include <openssl/crypto.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

static const char *str(json_t *input, const char *name) {
  return json_string_value(json_object_get(input, name));
}

/* The digest of a signing or MAC algorithm name (by its SHA_<n> suffix). */
static const EVP_MD *md_of(const char *alg) {
  const char *sha = alg ? strstr(alg, "SHA_") : NULL;
  if (!sha)
    return NULL;
  if (strcmp(sha, "SHA_224") == 0)
    return EVP_sha224();
  if (strcmp(sha, "SHA_256") == 0)
    return EVP_sha256();
  if (strcmp(sha, "SHA_384") == 0)
    return EVP_sha384();
  if (strcmp(sha, "SHA_512") == 0)
    return EVP_sha512();
  return NULL;
}

static int listed_in(const json_t *list, const char *alg) {
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    if (alg && strcmp(json_string_value(v), alg) == 0)
      return 1;
  }
  return 0;
}

/* The key for Sign/Verify with its algorithm checked, under the lock (the
 * caller unlocks); NULL after answering. */
static kms_key *signing_key(kms_state *st, aws_call *call, json_t *input, const char *op) {
  const char *alg = str(input, "SigningAlgorithm");
  kms_err err;
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    return NULL;
  if (kms_key_usable(key, "SIGN_VERIFY", op, &err) < 0) {
    pthread_mutex_unlock(&st->lock);
    kms_fail(call, &err);
    return NULL;
  }
  if (!listed_in(json_object_get(key->meta, "SigningAlgorithms"), alg)) {
    aws_call_fail(call, 400, "InvalidKeyUsageException",
                  "Algorithm %.64s is incompatible with key spec %s.", alg ? alg : "",
                  json_string_value(json_object_get(key->meta, "KeySpec")));
    pthread_mutex_unlock(&st->lock);
    return NULL;
  }
  return key;
}

/* The digest to sign: the message hashed (RAW) or the message itself
 * (DIGEST, length checked). Returns its length, or 0 after answering. */
static unsigned digest_of(unsigned char *out, aws_call *call, json_t *input, const EVP_MD *md,
                          const unsigned char *msg, size_t len) {
  const char *type = str(input, "MessageType");
  unsigned n = 0;
  if (type && strcmp(type, "DIGEST") == 0) {
    if (len != (size_t)EVP_MD_get_size(md)) {
      aws_call_fail(call, 400, "ValidationException", "Digest is invalid length for algorithm %s.",
                    str(input, "SigningAlgorithm"));
      return 0;
    }
    memcpy(out, msg, len);
    return (unsigned)len;
  }
  if (type && strcmp(type, "RAW") != 0) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value '%.32s' at 'messageType' failed to satisfy "
                  "constraint: Member must satisfy enum value set: [RAW, DIGEST]",
                  type);
    return 0;
  }
  if (EVP_Digest(msg, len, out, &n, md, NULL) != 1) {
    aws_call_fail(call, 500, "KMSInternalException", "libcrypto could not hash the message.");
    return 0;
  }
  return n;
}

/* A PKEY context for signing or verifying with alg's padding and digest. */
static EVP_PKEY_CTX *sign_ctx(const kms_key *key, const char *alg, int sign) {
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key->pkey, NULL);
  int ok = ctx && (sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) == 1 &&
           EVP_PKEY_CTX_set_signature_md(ctx, md_of(alg)) == 1;
  if (ok && strncmp(alg, "RSASSA_PSS_", 11) == 0)
    ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  else if (ok && strncmp(alg, "RSASSA_PKCS1_", 13) == 0)
    ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1;
  if (!ok) {
    EVP_PKEY_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

static void sign_or_verify(aws_call *call, json_t *input, int sign) {
  unsigned char *msg = NULL, *sig = NULL, *sig_in = NULL;
  size_t len = 0, sig_len = 0, sig_in_len = 0;
  unsigned char dig[EVP_MAX_MD_SIZE];
  if (kms_blob_arg(&msg, &len, call, input, "Message", 1, 4096, 1) < 0 ||
      (!sign && kms_blob_arg(&sig_in, &sig_in_len, call, input, "Signature", 1, 6144, 1) < 0))
    goto cleanup;
  kms_state *st = kms_state_of(call);
  kms_key *key = signing_key(st, call, input, sign ? "Sign" : "Verify");
  if (!key)
    goto cleanup;
  const char *alg = str(input, "SigningAlgorithm");
  unsigned dlen = digest_of(dig, call, input, md_of(alg), msg, len);
  if (!dlen) {
    pthread_mutex_unlock(&st->lock);
    goto cleanup;
  }
  EVP_PKEY_CTX *ctx = sign_ctx(key, alg, sign);
  int rc = -1;
  if (ctx && sign && EVP_PKEY_sign(ctx, NULL, &sig_len, dig, dlen) == 1 &&
      (sig = malloc(sig_len)) != NULL)
    rc = EVP_PKEY_sign(ctx, sig, &sig_len, dig, dlen) == 1 ? 1 : -1;
  else if (ctx && !sign)
    rc = EVP_PKEY_verify(ctx, sig_in, sig_in_len, dig, dlen) == 1 ? 1 : 0;
  EVP_PKEY_CTX_free(ctx);
  json_t *out = json_pack("{s:s, s:s}", "KeyId", kms_key_arn(key), "SigningAlgorithm", alg);
  pthread_mutex_unlock(&st->lock);
  if (rc < 0) {
    aws_call_fail(call, 500, "KMSInternalException", "libcrypto could not sign with %s.", alg);
  } else if (rc == 0) {
    aws_call_fail(call, 400, "KMSInvalidSignatureException", "%s", "");
  } else if (json_is_true(json_object_get(input, "DryRun"))) {
    aws_call_fail(call, 412, "DryRunOperationException",
                  "The request would have succeeded, but the DryRun option is set.");
  } else {
    if (sign)
      kms_set_blob(out, "Signature", sig, sig_len);
    else
      json_object_set_new(out, "SignatureValid", json_true());
    aws_call_reply(call, out);
    out = NULL;
  }
  json_decref(out);
cleanup:
  free(msg);
  free(sig);
  free(sig_in);
}

void kms_sign(aws_call *call, json_t *input) { sign_or_verify(call, input, 1); }
void kms_verify(aws_call *call, json_t *input) { sign_or_verify(call, input, 0); }

static void mac(aws_call *call, json_t *input, int generate) {
  unsigned char *msg = NULL, *mac_in = NULL;
  size_t len = 0, mac_in_len = 0;
  unsigned char out_mac[EVP_MAX_MD_SIZE];
  size_t mac_len = 0;
  if (kms_blob_arg(&msg, &len, call, input, "Message", 1, 4096, 1) < 0 ||
      (!generate && kms_blob_arg(&mac_in, &mac_in_len, call, input, "Mac", 1, 6144, 1) < 0))
    goto cleanup;
  kms_state *st = kms_state_of(call);
  kms_err err;
  const char *alg = str(input, "MacAlgorithm");
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    goto cleanup;
  if (kms_key_usable(key, "GENERATE_VERIFY_MAC", generate ? "GenerateMac" : "VerifyMac", &err) <
      0) {
    pthread_mutex_unlock(&st->lock);
    kms_fail(call, &err);
    goto cleanup;
  }
  if (!listed_in(json_object_get(key->meta, "MacAlgorithms"), alg)) {
    aws_call_fail(call, 400, "InvalidKeyUsageException",
                  "Algorithm %.64s is incompatible with key spec %s.", alg ? alg : "",
                  json_string_value(json_object_get(key->meta, "KeySpec")));
    pthread_mutex_unlock(&st->lock);
    goto cleanup;
  }
  const char *digest = EVP_MD_get0_name(md_of(alg));
  int ok = EVP_Q_mac(NULL, "HMAC", NULL, digest, NULL, key->secret, key->secret_len, msg, len,
                     out_mac, sizeof(out_mac), &mac_len) != NULL;
  json_t *out = json_pack("{s:s, s:s}", "KeyId", kms_key_arn(key), "MacAlgorithm", alg);
  pthread_mutex_unlock(&st->lock);
  if (!ok) {
    aws_call_fail(call, 500, "KMSInternalException", "libcrypto could not compute %s.", alg);
  } else if (!generate && (mac_in_len != mac_len || CRYPTO_memcmp(mac_in, out_mac, mac_len) != 0)) {
    aws_call_fail(call, 400, "KMSInvalidMacException", "%s", "");
  } else {
    if (generate)
      kms_set_blob(out, "Mac", out_mac, mac_len);
    else
      json_object_set_new(out, "MacValid", json_true());
    aws_call_reply(call, out);
    out = NULL;
  }
  json_decref(out);
cleanup:
  free(msg);
  free(mac_in);
}

void kms_generate_mac(aws_call *call, json_t *input) { mac(call, input, 1); }
void kms_verify_mac(aws_call *call, json_t *input) { mac(call, input, 0); }

void kms_get_public_key(aws_call *call, json_t *input) {
  kms_state *st = kms_state_of(call);
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    return;
  if (!key->pkey) {
    aws_call_fail(call, 400, "UnsupportedOperationException",
                  "%s key spec is not an asymmetric key spec; GetPublicKey needs one.",
                  kms_key_arn(key));
    pthread_mutex_unlock(&st->lock);
    return;
  }
  if (strcmp(kms_key_state(key), "PendingDeletion") == 0) {
    aws_call_fail(call, 400, "KMSInvalidStateException", "%s is pending deletion.",
                  kms_key_arn(key));
    pthread_mutex_unlock(&st->lock);
    return;
  }
  unsigned char *der = NULL;
  int n = i2d_PUBKEY(key->pkey, &der);
  json_t *out = json_object();
  const char *copy[] = {"CustomerMasterKeySpec", "KeySpec", "KeyUsage", "EncryptionAlgorithms",
                        "SigningAlgorithms"};
  json_object_set_new(out, "KeyId", json_string(kms_key_arn(key)));
  for (size_t i = 0; i < sizeof(copy) / sizeof(copy[0]); i++)
    if (json_object_get(key->meta, copy[i]))
      json_object_set(out, copy[i], json_object_get(key->meta, copy[i]));
  pthread_mutex_unlock(&st->lock);
  if (n <= 0) {
    json_decref(out);
    aws_call_fail(call, 500, "KMSInternalException", "libcrypto could not encode the key.");
    return;
  }
  kms_set_blob(out, "PublicKey", der, (size_t)n);
  OPENSSL_free(der);
  aws_call_reply(call, out);
}
