/*
 * kms_store.c — the KMS key store: making keys (fresh material from
 * libcrypto), finding them by any of the four names KMS accepts (key id, key
 * ARN, alias name, alias ARN), the state checks every cryptographic
 * operation makes, and deletion once a scheduled deletion date has passed.
 *
 * Assumes the caller holds st->lock for everything here except kms_key_new,
 * which generates key material (RSA 4096 takes a while) outside the lock.
 */
#include "common/clock.h"
#include "common/codec.h"
#include "emulator/kms/kms_int.h"

#include <ctype.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kms_err_set(kms_err *err, const char *code, const char *fmt, ...) {
  va_list ap;
  err->code = code;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof(err->message), fmt, ap);
  va_end(ap);
}

void kms_fail(aws_call *call, const kms_err *err) {
  aws_call_fail(call, 400, err->code, "%s", err->message);
}

const char *kms_key_arn(const kms_key *key) {
  return json_string_value(json_object_get(key->meta, "Arn"));
}

const char *kms_key_state(const kms_key *key) {
  return json_string_value(json_object_get(key->meta, "KeyState"));
}

void kms_alias_slot(char *out, size_t n, const char *account, const char *region,
                    const char *name) {
  snprintf(out, n, "%s/%s/%s", account, region, name);
}

/* Which kind of material a KeySpec needs and the usages it allows (the
 * CreateKey reference's table). */
static const struct spec_info {
  const char *spec;
  enum kms_kind kind;
  const char *usages[2];
  const char *algorithm; /* ECDSA algorithm of an ECC key, MAC algorithm of HMAC */
  size_t secret_len;
} specs[] = {
    {"SYMMETRIC_DEFAULT", KMS_SYMMETRIC, {"ENCRYPT_DECRYPT", NULL}, NULL, 32},
    {"RSA_2048", KMS_RSA, {"ENCRYPT_DECRYPT", "SIGN_VERIFY"}, NULL, 0},
    {"RSA_3072", KMS_RSA, {"ENCRYPT_DECRYPT", "SIGN_VERIFY"}, NULL, 0},
    {"RSA_4096", KMS_RSA, {"ENCRYPT_DECRYPT", "SIGN_VERIFY"}, NULL, 0},
    {"ECC_NIST_P256", KMS_EC, {"SIGN_VERIFY", NULL}, "ECDSA_SHA_256", 0},
    {"ECC_NIST_P384", KMS_EC, {"SIGN_VERIFY", NULL}, "ECDSA_SHA_384", 0},
    {"ECC_NIST_P521", KMS_EC, {"SIGN_VERIFY", NULL}, "ECDSA_SHA_512", 0},
    {"ECC_SECG_P256K1", KMS_EC, {"SIGN_VERIFY", NULL}, "ECDSA_SHA_256", 0},
    {"HMAC_224", KMS_HMAC, {"GENERATE_VERIFY_MAC", NULL}, "HMAC_SHA_224", 28},
    {"HMAC_256", KMS_HMAC, {"GENERATE_VERIFY_MAC", NULL}, "HMAC_SHA_256", 32},
    {"HMAC_384", KMS_HMAC, {"GENERATE_VERIFY_MAC", NULL}, "HMAC_SHA_384", 48},
    {"HMAC_512", KMS_HMAC, {"GENERATE_VERIFY_MAC", NULL}, "HMAC_SHA_512", 64},
};

static const struct spec_info *spec_find(const char *spec) {
  for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
    if (strcmp(specs[i].spec, spec) == 0)
      return &specs[i];
  return NULL;
}

EVP_PKEY *kms_pkey_generate(const char *spec, kms_err *err) {
  EVP_PKEY *pkey = NULL;
  if (strncmp(spec, "RSA_", 4) == 0) {
    unsigned bits = (unsigned)strtoul(spec + 4, NULL, 10);
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
  } else if (strcmp(spec, "ECC_NIST_P256") == 0) {
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  } else if (strcmp(spec, "ECC_NIST_P384") == 0) {
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
  } else if (strcmp(spec, "ECC_NIST_P521") == 0) {
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
  } else if (strcmp(spec, "ECC_SECG_P256K1") == 0) {
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
  } else {
    kms_err_set(err, "ValidationException", "KeySpec %s is not an asymmetric key spec.", spec);
    return NULL;
  }
  if (!pkey)
    kms_err_set(err, "KMSInternalException", "libcrypto could not generate a %s key.", spec);
  return pkey;
}

static json_t *string_array(const char *const *items, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_string(items[i]));
  return a;
}

kms_key *kms_key_new(const char *account, const char *region, const char *spec, const char *usage,
                     const char *description, const char *key_manager, kms_err *err) {
  const struct spec_info *info = spec_find(spec);
  if (!info) {
    kms_err_set(err, "ValidationException",
                "1 validation error detected: Value '%.64s' at 'keySpec' failed to satisfy "
                "constraint: Member must satisfy enum value set: [RSA_2048, RSA_3072, RSA_4096, "
                "ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1, "
                "SYMMETRIC_DEFAULT, HMAC_224, HMAC_256, HMAC_384, HMAC_512]",
                spec);
    return NULL;
  }
  if (!usage)
    usage = info->usages[0];
  if (strcmp(usage, info->usages[0]) != 0 &&
      !(info->usages[1] && !strcmp(usage, info->usages[1]))) {
    kms_err_set(err, "ValidationException", "KeyUsage %.64s is not compatible with KeySpec %s.",
                usage, spec);
    return NULL;
  }
  kms_key *key = calloc(1, sizeof(*key));
  if (!key) {
    kms_err_set(err, "KMSInternalException", "out of memory");
    return NULL;
  }
  key->kind = info->kind;
  if (info->secret_len) {
    key->secret_len = info->secret_len;
    if (RAND_bytes(key->secret, (int)info->secret_len) != 1) {
      kms_err_set(err, "KMSInternalException", "libcrypto's RAND_bytes failed.");
      free(key);
      return NULL;
    }
  } else {
    key->pkey = kms_pkey_generate(spec, err);
    if (!key->pkey) {
      free(key);
      return NULL;
    }
  }
  snprintf(key->account, sizeof(key->account), "%s", account);
  snprintf(key->region, sizeof(key->region), "%s", region);
  codec_uuid4(key->id);
  char arn[160];
  snprintf(arn, sizeof(arn), "arn:aws:kms:%s:%s:key/%s", region, account, key->id);
  key->meta = json_pack("{s:s, s:s, s:s, s:f, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
                        "AWSAccountId", account, "KeyId", key->id, "Arn", arn, "CreationDate",
                        (double)clock_wall_ms() / 1000.0, "Enabled", 1, "Description",
                        description ? description : "", "KeyUsage", usage, "KeyState", "Enabled",
                        "Origin", "AWS_KMS", "KeyManager", key_manager, "CustomerMasterKeySpec",
                        spec, "KeySpec", spec, "MultiRegion", 0);
  if (strcmp(usage, "ENCRYPT_DECRYPT") == 0) {
    static const char *const sym[] = {"SYMMETRIC_DEFAULT"};
    static const char *const rsa[] = {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"};
    json_object_set_new(key->meta, "EncryptionAlgorithms",
                        info->kind == KMS_RSA ? string_array(rsa, 2) : string_array(sym, 1));
  } else if (strcmp(usage, "SIGN_VERIFY") == 0) {
    static const char *const rsa[] = {"RSASSA_PSS_SHA_256",        "RSASSA_PSS_SHA_384",
                                      "RSASSA_PSS_SHA_512",        "RSASSA_PKCS1_V1_5_SHA_256",
                                      "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"};
    json_object_set_new(key->meta, "SigningAlgorithms",
                        info->kind == KMS_RSA ? string_array(rsa, 6)
                                              : string_array(&info->algorithm, 1));
  } else {
    json_object_set_new(key->meta, "MacAlgorithms", string_array(&info->algorithm, 1));
  }
  key->tags = json_object();
  key->grants = json_array();
  char policy[512];
  snprintf(policy, sizeof(policy),
           "{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : "
           "[ {\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    "
           "\"Principal\" : {\n      \"AWS\" : \"arn:aws:iam::%s:root\"\n    },\n    \"Action\" : "
           "\"kms:*\",\n    \"Resource\" : \"*\"\n  } ]\n}",
           account);
  key->policy = strdup(policy);
  if (!key->meta || !key->tags || !key->grants || !key->policy) {
    kms_key_free(key);
    kms_err_set(err, "KMSInternalException", "out of memory");
    return NULL;
  }
  return key;
}

void kms_key_free(kms_key *key) {
  if (!key)
    return;
  json_decref(key->meta);
  json_decref(key->tags);
  json_decref(key->grants);
  free(key->policy);
  EVP_PKEY_free(key->pkey);
  OPENSSL_cleanse(key->secret, sizeof(key->secret));
  free(key);
}

void kms_key_link(kms_state *st, kms_key *key) {
  key->next = st->keys;
  st->keys = key;
}

void kms_store_sweep(kms_state *st) {
  double now = (double)clock_wall_ms() / 1000.0;
  for (kms_key **p = &st->keys; *p;) {
    kms_key *k = *p;
    json_t *date = json_object_get(k->meta, "DeletionDate");
    if (strcmp(kms_key_state(k), "PendingDeletion") == 0 && date &&
        json_number_value(date) <= now) {
      *p = k->next;
      const char *slot;
      json_t *alias, *tmp;
      json_object_foreach_safe(st->aliases, tmp, slot, alias) {
        if (strcmp(json_string_value(json_object_get(alias, "TargetKeyId")), k->id) == 0)
          json_object_del(st->aliases, slot);
      }
      kms_key_free(k);
      continue;
    }
    p = &k->next;
  }
}

kms_key *kms_key_by_id(kms_state *st, const char *account, const char *region, const char *id) {
  for (kms_key *k = st->keys; k; k = k->next)
    if (strcmp(k->id, id) == 0 && strcmp(k->account, account) == 0 &&
        strcmp(k->region, region) == 0)
      return k;
  return NULL;
}

/* Creates the AWS-managed key behind alias/aws/<service>. */
static kms_key *create_aws_managed(kms_state *st, const char *account, const char *region,
                                   const char *alias, kms_err *err) {
  char desc[160];
  snprintf(desc, sizeof(desc), "Default key that protects my %s data when no other key is defined",
           alias + 10);
  kms_key *key =
      kms_key_new(account, region, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", desc, "AWS", err);
  if (!key)
    return NULL;
  kms_key_link(st, key);
  char slot[512], arn[512];
  double now = (double)clock_wall_ms() / 1000.0;
  kms_alias_slot(slot, sizeof(slot), account, region, alias);
  snprintf(arn, sizeof(arn), "arn:aws:kms:%s:%s:%s", region, account, alias);
  json_object_set_new(st->aliases, slot,
                      json_pack("{s:s, s:s, s:s, s:f, s:f}", "AliasName", alias, "AliasArn", arn,
                                "TargetKeyId", key->id, "CreationDate", now, "LastUpdatedDate",
                                now));
  return key;
}

/* A key id as KMS makes them: a UUID, or "mrk-" and 32 hex digits for a
 * multi-Region key. KMS answers "Invalid keyId" for a bare name of another
 * shape, "does not exist" for one of this shape it does not hold. */
static int key_id_shaped(const char *id) {
  size_t n = strlen(id);
  if (n == 36) {
    for (size_t i = 0; i < n; i++)
      if ((i == 8 || i == 13 || i == 18 || i == 23) ? id[i] != '-'
                                                    : !isxdigit((unsigned char)id[i]))
        return 0;
    return 1;
  }
  return n == 4 + 32 && strncmp(id, "mrk-", 4) == 0 && strspn(id + 4, "0123456789abcdef") == 32;
}

kms_key *kms_key_find(kms_state *st, const char *account, const char *region, const char *key_id,
                      int create_managed, kms_err *err) {
  kms_store_sweep(st);
  if (!key_id || !*key_id || strlen(key_id) > 2048) {
    kms_err_set(err, "ValidationException",
                "1 validation error detected: Value at 'keyId' failed to satisfy constraint: "
                "Member must have length between 1 and 2048");
    return NULL;
  }
  char acc[13], reg[32], rest[2100];
  const char *name = key_id;
  if (strncmp(key_id, "arn:", 4) == 0) {
    /* arn:<partition>:kms:<region>:<account>:key/<id> | alias/<name> */
    if (sscanf(key_id, "arn:%*[^:]:kms:%31[^:]:%12[0-9]:%2099s", reg, acc, rest) != 3) {
      kms_err_set(err, "NotFoundException", "Invalid arn %.256s", key_id);
      return NULL;
    }
    account = acc;
    region = reg;
    name = rest;
    if (strncmp(name, "key/", 4) == 0)
      name += 4;
    else if (strncmp(name, "alias/", 6) != 0) {
      kms_err_set(err, "NotFoundException", "Invalid arn %.256s", key_id);
      return NULL;
    }
  }
  if (strncmp(name, "alias/", 6) == 0) {
    char slot[2300];
    kms_alias_slot(slot, sizeof(slot), account, region, name);
    json_t *alias = json_object_get(st->aliases, slot);
    if (!alias) {
      if (create_managed && strncmp(name, "alias/aws/", 10) == 0 && strlen(name) < 128)
        return create_aws_managed(st, account, region, name, err);
      kms_err_set(err, "NotFoundException", "Alias arn:aws:kms:%s:%s:%.256s is not found.", region,
                  account, name);
      return NULL;
    }
    name = json_string_value(json_object_get(alias, "TargetKeyId"));
  }
  kms_key *key = kms_key_by_id(st, account, region, name);
  if (!key && name == key_id && !key_id_shaped(name))
    kms_err_set(err, "NotFoundException", "Invalid keyId %.256s", key_id);
  else if (!key)
    kms_err_set(err, "NotFoundException", "Key 'arn:aws:kms:%s:%s:key/%.256s' does not exist",
                region, account, name);
  return key;
}

int kms_key_usable(const kms_key *key, const char *usage, const char *op, kms_err *err) {
  const char *state = kms_key_state(key);
  if (strcmp(state, "Disabled") == 0) {
    kms_err_set(err, "DisabledException", "%s is disabled.", kms_key_arn(key));
    return -1;
  }
  if (strcmp(state, "Enabled") != 0) {
    kms_err_set(err, "KMSInvalidStateException", "%s is %s.", kms_key_arn(key),
                strcmp(state, "PendingDeletion") == 0 ? "pending deletion" : state);
    return -1;
  }
  const char *have = json_string_value(json_object_get(key->meta, "KeyUsage"));
  if (usage && strcmp(have, usage) != 0) {
    kms_err_set(err, "InvalidKeyUsageException", "%s key usage is %s which is not valid for %s.",
                kms_key_arn(key), have, op);
    return -1;
  }
  return 0;
}

void kms_store_clear(kms_state *st) {
  while (st->keys) {
    kms_key *k = st->keys;
    st->keys = k->next;
    kms_key_free(k);
  }
  json_object_clear(st->aliases);
}
