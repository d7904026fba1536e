/*
 * codec.h — byte encodings used across airgap: base64 (RFC 4648, padded),
 * lower-case hex, and random (version 4) UUIDs.
 */
#ifndef AIRGAP_COMMON_CODEC_H
#define AIRGAP_COMMON_CODEC_H

#include <stddef.h>

/* 1 when s[0..len) is canonical padded base64 (length a multiple of 4, only
 * the alphabet, '=' only as the last one or two characters), else 0. */
int codec_base64_valid(const char *s, size_t len);

/* Base64 of data. Owned (free()); NULL when out of memory or len > 1.5 GiB. */
char *codec_base64_encode(const void *data, size_t len);

/* Decodes s[0..len) into a new buffer (owned, free()), NUL-terminated so text
 * payloads can be used as strings; *out_len excludes the NUL. Returns 0,
 * AIRGAP_EINVALID when s is not valid base64 (nothing written), -1 when out of
 * memory. */
int codec_base64_decode(unsigned char **out, size_t *out_len, const char *s, size_t len);

/* Writes 2*n lower-case hex digits of d and a NUL into out (2*n+1 bytes). */
void codec_hex_encode(char *out, const void *d, size_t n);

/* A random version 4 UUID, lower case, into out (36 characters and a NUL).
 * Uses getrandom(2): no library initialisation, safe from any thread. */
void codec_uuid4(char out[37]);

#endif
