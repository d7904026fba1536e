/*
 * s3_chunked.h — private: the aws-chunked body decoder and the digests S3
 * checks bodies against (MD5, CRC32, CRC32C, SHA-1, SHA-256).
 *
 * aws-chunked is what SDKs send for streaming uploads
 * (x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or
 * STREAMING-UNSIGNED-PAYLOAD-TRAILER with trailing checksums):
 *   <hex size>[;chunk-signature=<sig>]\r\n<data>\r\n … 0[;…]\r\n[<trailer>\r\n]…\r\n
 * The decoder is incremental (fed from memory or a spilled file in pieces),
 * bounded (line length, trailer count, chunk size) and refuses malformed
 * framing with a message; chunk signatures are not verified (the emulator
 * verifies no signature).
 */
#ifndef AIRGAP_EMULATOR_S3_CHUNKED_H
#define AIRGAP_EMULATOR_S3_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#define S3_CHUNKED_MAX_LINE 4096
#define S3_CHUNKED_MAX_TRAILERS 16

typedef struct s3_chunked s3_chunked;

/* Receives decoded data; returns 0, or -1 to stop decoding (e.g. a write
 * failed). */
typedef int (*s3_chunked_sink)(void *payload, const char *data, size_t len);

/* Returns NULL when out of memory. */
s3_chunked *s3_chunked_new(void);
void s3_chunked_free(s3_chunked *d);
/* Feeds len bytes. Returns 0, or -1 on malformed input or a sink failure (see
 * s3_chunked_error); after -1 the decoder refuses everything. */
int s3_chunked_feed(s3_chunked *d, const char *data, size_t len, s3_chunked_sink sink,
                    void *payload);
/* The body ended: returns 0 when the final chunk (and trailers) were seen. */
int s3_chunked_finish(s3_chunked *d);
/* What went wrong, "" when nothing. */
const char *s3_chunked_error(const s3_chunked *d);
/* A trailer's value by case-insensitive name (x-amz-checksum-crc32), NULL
 * when absent. Borrowed. */
const char *s3_chunked_trailer(const s3_chunked *d, const char *name);
/* Decoded bytes so far. */
uint64_t s3_chunked_decoded(const s3_chunked *d);

/* ---- digests ---- */

typedef enum s3_checksum_algo {
  S3_CK_NONE,
  S3_CK_CRC32,
  S3_CK_CRC32C,
  S3_CK_SHA1,
  S3_CK_SHA256,
} s3_checksum_algo;

/* "CRC32" etc. (case-insensitive) → algo; S3_CK_NONE when unknown. */
s3_checksum_algo s3_checksum_algo_from_name(const char *name);
/* "CRC32", "CRC32C", "SHA1", "SHA256". */
const char *s3_checksum_algo_name(s3_checksum_algo algo);

typedef struct s3_digest s3_digest;
/* MD5 always, plus the checksum algo (S3_CK_NONE: none). NULL when out of memory. */
s3_digest *s3_digest_new(s3_checksum_algo algo);
void s3_digest_update(s3_digest *dg, const void *data, size_t len);
/* Finishes: md5 (16 bytes) and the checksum's base64 text (size ≥ 64; "" for
 * none). */
void s3_digest_final(s3_digest *dg, unsigned char md5[16], char *checksum, size_t size);
void s3_digest_free(s3_digest *dg);

/* CRC32C (Castagnoli) of data, continuing from crc (0 to start). */
uint32_t s3_crc32c(uint32_t crc, const void *data, size_t len);

#endif
