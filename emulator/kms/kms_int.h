/*
 * kms_int.h — private to emulator/kms/: the key store shared by the KMS
 * handlers (one .c per concept: keys, aliases, encryption, signatures) and the
 * in-emulator API of kms.h.
 *
 * Keys live in one list under one mutex, each tagged with its account and
 * region. Metadata is kept as the KeyMetadata object DescribeKey answers, so
 * every operation that returns it returns the same thing; key material sits
 * beside it (raw bytes for AES-256 and HMAC keys, an EVP_PKEY for RSA/ECC).
 * Errors found under the lock are recorded in a kms_err and turned into the
 * AWS error by the handler (or into airgap_error_set by the kms.h API).
 */
#ifndef AIRGAP_EMULATOR_KMS_INT_H
#define AIRGAP_EMULATOR_KMS_INT_H

#include "emulator/service.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stddef.h>

#define KMS_KEY_ID_LEN 36 /* a UUID; also the first bytes of every symmetric ciphertext */
#define KMS_IV_LEN 12
#define KMS_TAG_LEN 16
#define KMS_MAX_PLAINTEXT 4096
#define KMS_MAX_CIPHERTEXT 6144

enum kms_kind { KMS_SYMMETRIC, KMS_RSA, KMS_EC, KMS_HMAC };

typedef struct kms_key {
  struct kms_key *next;
  char account[13];
  char region[32];
  char id[KMS_KEY_ID_LEN + 1];
  json_t *meta;   /* KeyMetadata, as DescribeKey answers it */
  json_t *tags;   /* TagKey → TagValue */
  json_t *grants; /* GrantListEntry objects */
  char *policy;   /* the "default" key policy, stored exactly */
  int rotation;   /* automatic rotation enabled */
  int rotation_days;
  enum kms_kind kind;
  unsigned char secret[64]; /* AES-256 or HMAC key */
  size_t secret_len;
  EVP_PKEY *pkey; /* RSA or EC key pair */
} kms_key;

typedef struct kms_state {
  pthread_mutex_t lock;
  kms_key *keys;
  /* "<account>/<region>/<alias name>" → {AliasName, AliasArn, TargetKeyId,
   * CreationDate, LastUpdatedDate} */
  json_t *aliases;
} kms_state;

/* An error found while serving a request: an AWS code and its message. */
typedef struct kms_err {
  const char *code;
  char message[512];
} kms_err;

void kms_err_set(kms_err *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Answers call with err. */
void kms_fail(aws_call *call, const kms_err *err);

/* ---- kms_store.c (all under st->lock) ---- */

/* The key named by key_id (key id, key ARN, alias name "alias/x" or alias
 * ARN) in account/region, NULL with err set (NotFoundException, or
 * ValidationException/InvalidArnException for malformed names). Keys whose
 * deletion date has passed are deleted first. An AWS-managed alias
 * ("alias/aws/<service>") that does not exist yet is created with its key
 * when create_aws_managed is set, as AWS does the first time a service uses it. */
kms_key *kms_key_find(kms_state *st, const char *account, const char *region, const char *key_id,
                      int create_aws_managed, kms_err *err);
/* The key with this id exactly (no alias, no ARN); NULL when none. */
kms_key *kms_key_by_id(kms_state *st, const char *account, const char *region, const char *id);
/* Checks that key can be used for a cryptographic operation (op names it in
 * messages): Enabled, with usage `usage` (NULL: any). 0, or -1 with err set
 * (DisabledException, KMSInvalidStateException, InvalidKeyUsageException). */
int kms_key_usable(const kms_key *key, const char *usage, const char *op, kms_err *err);
/* Makes a key of spec/usage with fresh material; NULL with err set. Not yet
 * in the list; the caller links it (kms_key_link) under the lock. */
kms_key *kms_key_new(const char *account, const char *region, const char *spec, const char *usage,
                     const char *description, const char *key_manager, kms_err *err);
void kms_key_link(kms_state *st, kms_key *key);
void kms_key_free(kms_key *key);
const char *kms_key_arn(const kms_key *key);
const char *kms_key_state(const kms_key *key);
/* Deletes keys whose scheduled deletion date has passed, with their aliases,
 * as AWS does at the end of the waiting period. */
void kms_store_sweep(kms_state *st);
/* Removes every key and alias of every account. */
void kms_store_clear(kms_state *st);
/* The alias table key for account/region/name into out. */
void kms_alias_slot(char *out, size_t n, const char *account, const char *region, const char *name);

/* ---- kms_cipher.c ---- */

/* AES-256-GCM with the key's material; the blob is key id ‖ IV ‖ tag ‖
 * ciphertext, the encryption context (canonical JSON, keys sorted) the AAD.
 * Returns 0 or -1 with err set. *out is owned (free()). */
int kms_seal(unsigned char **out, size_t *out_len, const kms_key *key, const json_t *context,
             const unsigned char *pt, size_t len, kms_err *err);
/* Opens a blob made by kms_seal with key (whose id the blob must name). */
int kms_open(unsigned char **out, size_t *out_len, const kms_key *key, const json_t *context,
             const unsigned char *blob, size_t len, kms_err *err);
/* The key id a symmetric blob names into id (37 bytes); -1 when the blob is
 * too short to be one. */
int kms_blob_key_id(char *id, const unsigned char *blob, size_t len);

/* ---- handlers (one file per concept) ---- */
kms_state *kms_state_of(aws_call *call);
/* Locks the store and finds the key named by input member `member` ("KeyId"
 * mostly). On failure answers the call, unlocks and returns NULL; on success
 * the caller unlocks st->lock when done with the key. */
kms_key *kms_lock_key(kms_state *st, aws_call *call, json_t *input, const char *member);
/* input member `name` decoded from base64 into *out (owned, free()); *len its
 * size. Missing → *out NULL. -1 after answering a ValidationException when it
 * is not in [min, max] bytes. */
int kms_blob_arg(unsigned char **out, size_t *len, aws_call *call, json_t *input, const char *name,
                 size_t min, size_t max, int required);
/* Sets member name of obj to the base64 of data. */
void kms_set_blob(json_t *obj, const char *name, const void *data, size_t len);
/* Validates an EncryptionContext / Tags argument; -1 after answering. */
int kms_context_arg(aws_call *call, json_t *input, const char *name);

/* Limit (1..1000, default 100) and Marker (an offset handed out in
 * NextMarker); -1 after answering the error. */
int kms_page_args(aws_call *call, json_t *input, size_t *limit, size_t *offset);
/* Answers items[offset, offset+limit) under member name with Truncated and
 * NextMarker. Takes the reference to items. */
void kms_reply_page(aws_call *call, const char *name, json_t *items, size_t limit, size_t offset);

void kms_create_key(aws_call *call, json_t *input);
void kms_describe_key(aws_call *call, json_t *input);
void kms_list_keys(aws_call *call, json_t *input);
void kms_enable_key(aws_call *call, json_t *input);
void kms_disable_key(aws_call *call, json_t *input);
void kms_schedule_key_deletion(aws_call *call, json_t *input);
void kms_cancel_key_deletion(aws_call *call, json_t *input);
void kms_update_key_description(aws_call *call, json_t *input);
void kms_enable_key_rotation(aws_call *call, json_t *input);
void kms_disable_key_rotation(aws_call *call, json_t *input);
void kms_get_key_rotation_status(aws_call *call, json_t *input);
void kms_get_key_policy(aws_call *call, json_t *input);
void kms_put_key_policy(aws_call *call, json_t *input);
void kms_list_key_policies(aws_call *call, json_t *input);
void kms_tag_resource(aws_call *call, json_t *input);
void kms_untag_resource(aws_call *call, json_t *input);
void kms_list_resource_tags(aws_call *call, json_t *input);

void kms_create_grant(aws_call *call, json_t *input);
void kms_list_grants(aws_call *call, json_t *input);
void kms_list_retirable_grants(aws_call *call, json_t *input);
void kms_retire_grant(aws_call *call, json_t *input);
void kms_revoke_grant(aws_call *call, json_t *input);

void kms_create_alias(aws_call *call, json_t *input);
void kms_update_alias(aws_call *call, json_t *input);
void kms_delete_alias(aws_call *call, json_t *input);
void kms_list_aliases(aws_call *call, json_t *input);

void kms_encrypt_op(aws_call *call, json_t *input);
void kms_decrypt_op(aws_call *call, json_t *input);
void kms_re_encrypt(aws_call *call, json_t *input);
void kms_generate_data_key(aws_call *call, json_t *input);
void kms_generate_data_key_without_plaintext(aws_call *call, json_t *input);
void kms_generate_data_key_pair(aws_call *call, json_t *input);
void kms_generate_data_key_pair_without_plaintext(aws_call *call, json_t *input);
void kms_generate_random(aws_call *call, json_t *input);

void kms_sign(aws_call *call, json_t *input);
void kms_verify(aws_call *call, json_t *input);
void kms_generate_mac(aws_call *call, json_t *input);
void kms_verify_mac(aws_call *call, json_t *input);
void kms_get_public_key(aws_call *call, json_t *input);

/* A fresh asymmetric key pair for spec (RSA_*, ECC_*); NULL with err set. */
EVP_PKEY *kms_pkey_generate(const char *spec, kms_err *err);

#endif
