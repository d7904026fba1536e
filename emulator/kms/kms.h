/*
 * kms.h — KMS for the emulator's other services (Secrets Manager, SSM
 * SecureString, S3 SSE-KMS): encrypt, decrypt and check keys of the running
 * emulator's KMS, by any name a client may give (key id, key ARN, alias name,
 * alias ARN), in the caller's account and Region.
 *
 * Ciphertexts are the same blobs KMS's own Encrypt returns (the key id, IV,
 * GCM tag and ciphertext; the encryption context authenticated), so a client
 * can decrypt what a service stored with kms:Decrypt and the reverse.
 * AWS-managed aliases ("alias/aws/ssm", "alias/aws/secretsmanager", …) are
 * created with their key the first time they are used, as in AWS.
 *
 * Errors: every function returns 0, AIRGAP_ENOTFOUND (KMS is not served by
 * this emulator — SERVICES leaves it out — or the key does not exist) or
 * AIRGAP_EINVALID (the key is disabled, pending deletion, not a symmetric
 * encryption key, or the ciphertext does not open), with a message in
 * airgap_error_last() and, in *code when code is not NULL, the error code KMS
 * itself would answer ("NotFoundException", "DisabledException",
 * "KMSInvalidStateException", "InvalidKeyUsageException",
 * "InvalidCiphertextException"), which services map to their own errors.
 * Thread-safe.
 */
#ifndef AIRGAP_EMULATOR_KMS_H
#define AIRGAP_EMULATOR_KMS_H

#include <jansson.h>
#include <stddef.h>

typedef struct emulator emulator;

/* 1 when this emulator serves KMS (SERVICES includes it), else 0; services
 * then keep values unencrypted, as there is no key to use. */
int kms_available(emulator *emu);

/* In-process callers may encrypt up to this much in one call: AWS services
 * encrypt large values (64 KiB secrets, 8 KiB parameters) under a data key
 * (envelope encryption), which one call stands for here. */
#define KMS_SERVICE_MAX_PLAINTEXT (1024 * 1024)

/* Encrypts data[0..len) (1..KMS_SERVICE_MAX_PLAINTEXT bytes) under key_id. context: a JSON object
 * of strings, or NULL. *out (owned, free()) receives the ciphertext blob;
 * *key_arn (owned, free(); may be NULL to skip) the key's ARN. */
int kms_encrypt(unsigned char **out, size_t *out_len, char **key_arn, emulator *emu,
                const char *account, const char *region, const char *key_id, const json_t *context,
                const void *data, size_t len, const char **code);

/* Decrypts a blob made by kms_encrypt or by KMS's Encrypt (the blob names its
 * key). *out (owned, free()) is NUL-terminated beyond *out_len. */
int kms_decrypt(unsigned char **out, size_t *out_len, char **key_arn, emulator *emu,
                const char *account, const char *region, const json_t *context, const void *blob,
                size_t len, const char **code);

/* Checks that key_id names an enabled symmetric encryption key; *key_arn
 * (owned, free(); NULL to skip) receives its ARN. */
int kms_key_check(char **key_arn, emulator *emu, const char *account, const char *region,
                  const char *key_id, const char **code);

/* The message KMS itself would answer with the error the last failing call
 * of this thread set (airgap_error_last() without its "KMS <code>: "
 * prefix), for services that pass KMS's words on, as S3 does. */
const char *kms_error_message(void);

#endif
