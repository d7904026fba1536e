/*
 * s3.h — S3 for the emulator's other services: read an object of the
 * running emulator's S3 in process (Lambda takes deployment packages and
 * layers from S3Bucket/S3Key/S3ObjectVersion).
 *
 * Errors: every function returns 0 or AIRGAP_ENOTFOUND (S3 is not served, or
 * the bucket, key or version does not exist), AIRGAP_ETOOBIG (the object is
 * larger than the caller's limit), AIRGAP_EINVALID (the object cannot be read
 * without more: an archived object not restored, an SSE-C object), -1; with a
 * message in airgap_error_last() and, in *code when code is not NULL, the
 * error code S3's GetObject would answer ("NoSuchBucket", "NoSuchKey",
 * "NoSuchVersion", "InvalidObjectState", "InvalidRequest"), which services
 * put in their own errors. Thread-safe.
 */
#ifndef AIRGAP_EMULATOR_S3_H
#define AIRGAP_EMULATOR_S3_H

#include <stddef.h>

typedef struct emulator emulator;

/* 1 when this emulator serves S3 (SERVICES includes it). */
int s3_available(emulator *emu);

/* The body of bucket/key (version_id NULL: the current version) into *out
 * (owned, free(); NUL-terminated beyond *len), at most limit bytes. */
int s3_object_read(char **out, size_t *len, emulator *emu, const char *bucket, const char *key,
                   const char *version_id, size_t limit, const char **code);

#endif
