/*
 * checksum.c — the digests S3 checks bodies against: MD5 (ETags and
 * Content-MD5) always, plus the one x-amz-checksum-* algorithm a request
 * declares or asks for (CRC32, CRC32C, SHA-1, SHA-256), computed in one pass
 * as the body streams by.
 *
 * CRC32 comes from zlib. CRC32C and CRC64NVME have no implementation in the
 * approved libraries (zlib has CRC32 only, OpenSSL no CRC at all), so small
 * table-driven ones live here: the reflected Castagnoli polynomial
 * 0x82F63B78 and the reflected NVMe polynomial 0x9A6C9329AC4BC9B5 (CRC-64/NVME:
 * init and final xor all ones), one table of 256 entries each, built once.
 */
#include "emulator/s3/s3_int.h"

#include "common/codec.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

const char *const s3_checksum_headers[] = {NULL,
                                           "x-amz-checksum-crc32",
                                           "x-amz-checksum-crc32c",
                                           "x-amz-checksum-sha1",
                                           "x-amz-checksum-sha256",
                                           "x-amz-checksum-crc64nvme"};
const char *const s3_checksum_members[] = {NULL,           "ChecksumCRC32",  "ChecksumCRC32C",
                                           "ChecksumSHA1", "ChecksumSHA256", "ChecksumCRC64NVME"};

static uint32_t crc32c_table[256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void crc32c_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    crc32c_table[i] = c;
  }
}

uint32_t s3_crc32c(uint32_t crc, const void *data, size_t len) {
  pthread_once(&crc32c_once, crc32c_init);
  const unsigned char *p = data;
  crc = ~crc;
  for (size_t i = 0; i < len; i++)
    crc = crc32c_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

static uint64_t crc64_table[256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_init(void) {
  for (uint64_t i = 0; i < 256; i++) {
    uint64_t c = i;
    for (int k = 0; k < 8; k++)
      c = c & 1 ? (c >> 1) ^ 0x9A6C9329AC4BC9B5ull : c >> 1;
    crc64_table[i] = c;
  }
}

uint64_t s3_crc64nvme(uint64_t crc, const void *data, size_t len) {
  pthread_once(&crc64_once, crc64_init);
  const unsigned char *p = data;
  crc = ~crc;
  for (size_t i = 0; i < len; i++)
    crc = crc64_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

void s3_checksum_output(aws_call *call, json_t *out, s3_checksum_algo algo, const char *value) {
  if (algo == S3_CK_NONE || algo >= S3_CK_COUNT)
    return;
  if (algo == S3_CK_CRC64NVME)
    aws_call_header(call, s3_checksum_headers[algo], value);
  else
    json_object_set_new(out, s3_checksum_members[algo], json_string(value));
}

void s3_checksum_type_header(aws_call *call, int composite) {
  aws_call_header(call, "x-amz-checksum-type", composite ? "COMPOSITE" : "FULL_OBJECT");
}

s3_checksum_algo s3_checksum_algo_from_name(const char *name) {
  if (!name)
    return S3_CK_NONE;
  if (strcasecmp(name, "CRC32") == 0)
    return S3_CK_CRC32;
  if (strcasecmp(name, "CRC32C") == 0)
    return S3_CK_CRC32C;
  if (strcasecmp(name, "SHA1") == 0)
    return S3_CK_SHA1;
  if (strcasecmp(name, "SHA256") == 0)
    return S3_CK_SHA256;
  if (strcasecmp(name, "CRC64NVME") == 0)
    return S3_CK_CRC64NVME;
  return S3_CK_NONE;
}

const char *s3_checksum_algo_name(s3_checksum_algo algo) {
  switch (algo) {
  case S3_CK_CRC32: return "CRC32";
  case S3_CK_CRC32C: return "CRC32C";
  case S3_CK_SHA1: return "SHA1";
  case S3_CK_SHA256: return "SHA256";
  case S3_CK_CRC64NVME: return "CRC64NVME";
  case S3_CK_NONE:
  case S3_CK_COUNT: break;
  }
  return "";
}

s3_checksum_algo s3_checksum_declared(aws_call *call, const char **value) {
  for (int a = S3_CK_CRC32; a < S3_CK_COUNT; a++)
    if ((*value = s3_header(call, s3_checksum_headers[a])) != NULL)
      return (s3_checksum_algo)a;
  return S3_CK_NONE;
}

/* The digest length of algo, in bytes. */
static size_t checksum_length(s3_checksum_algo algo) {
  switch (algo) {
  case S3_CK_CRC32:
  case S3_CK_CRC32C: return 4;
  case S3_CK_SHA1: return 20;
  case S3_CK_SHA256: return 32;
  case S3_CK_CRC64NVME: return 8;
  case S3_CK_NONE:
  case S3_CK_COUNT: break;
  }
  return 0;
}

int s3_checksum_headers_check(aws_call *call, int trailer_ok) {
  s3_checksum_algo found = S3_CK_NONE;
  const char *value = NULL;
  for (int a = S3_CK_CRC32; a < S3_CK_COUNT; a++) {
    const char *v = s3_header(call, s3_checksum_headers[a]);
    if (!v)
      continue;
    if (found != S3_CK_NONE) {
      aws_call_fail(call, 400, "InvalidRequest",
                    "Expecting a single x-amz-checksum- header. Multiple checksum Types are not "
                    "allowed.");
      return -1;
    }
    found = (s3_checksum_algo)a;
    value = v;
  }
  if (found != S3_CK_NONE) {
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    int ok = codec_base64_decode(&raw, &raw_len, value, strlen(value)) == 0 &&
             raw_len == checksum_length(found);
    free(raw);
    if (!ok) {
      aws_call_fail(call, 400, "InvalidRequest", "Value for %s header is invalid.",
                    s3_checksum_headers[found]);
      return -1;
    }
  }
  const char *sdk = s3_header(call, "x-amz-sdk-checksum-algorithm");
  if (sdk && s3_checksum_algo_from_name(sdk) == S3_CK_NONE) {
    aws_call_fail(call, 400, "InvalidRequest",
                  "Value for x-amz-sdk-checksum-algorithm header is invalid.");
    return -1;
  }
  if (sdk && found == S3_CK_NONE && !(trailer_ok && s3_header(call, "x-amz-trailer"))) {
    aws_call_fail(call, 400, "InvalidRequest",
                  "x-amz-sdk-checksum-algorithm specified, but no corresponding "
                  "x-amz-checksum-* or x-amz-trailer headers were found.");
    return -1;
  }
  return 0;
}

int s3_checksum_verify(const char **code, char *message, size_t size, const char *content_md5,
                       const unsigned char md5[16], s3_checksum_algo algo, const char *expected,
                       const char *checksum) {
  if (content_md5) {
    unsigned char *want = NULL;
    size_t want_len = 0;
    int ok = codec_base64_decode(&want, &want_len, content_md5, strlen(content_md5)) == 0 &&
             want_len == 16;
    int same = ok && memcmp(want, md5, 16) == 0;
    free(want);
    if (!ok) {
      *code = "InvalidDigest";
      snprintf(message, size, "The Content-MD5 you specified was invalid.");
      return -1;
    }
    if (!same) {
      *code = "BadDigest";
      snprintf(message, size, "The Content-MD5 you specified did not match what we received.");
      return -1;
    }
  }
  if (expected && strcmp(expected, checksum) != 0) {
    *code = "BadDigest";
    snprintf(message, size, "The %s you specified did not match the calculated checksum.",
             s3_checksum_algo_name(algo));
    return -1;
  }
  return 0;
}

/* ---- digests ---- */

/* The digest implementations, fetched once: EVP_md5() and friends make
 * OpenSSL 3 look the algorithm up in its provider tables on every
 * EVP_DigestInit_ex, a measurable part of a small PUT. NULL entries fall back
 * to the implicit fetch. Never freed (one reference each for the process). */
static EVP_MD *md_md5, *md_sha1, *md_sha256;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void) {
  md_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
  md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
  md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

struct s3_digest {
  EVP_MD_CTX *md5;
  EVP_MD_CTX *sha; /* SHA1 / SHA256 */
  s3_checksum_algo algo;
  uint32_t crc;
  uint64_t crc64;
};

s3_digest *s3_digest_new(s3_checksum_algo algo) {
  s3_digest *dg = calloc(1, sizeof(*dg));
  if (!dg)
    return NULL;
  pthread_once(&md_once, md_fetch);
  dg->algo = algo;
  dg->md5 = EVP_MD_CTX_new();
  if (!dg->md5 || EVP_DigestInit_ex(dg->md5, md_md5 ? md_md5 : EVP_md5(), NULL) != 1)
    goto fail;
  if (algo == S3_CK_SHA1 || algo == S3_CK_SHA256) {
    const EVP_MD *md = algo == S3_CK_SHA1 ? (md_sha1 ? md_sha1 : EVP_sha1())
                                          : (md_sha256 ? md_sha256 : EVP_sha256());
    dg->sha = EVP_MD_CTX_new();
    if (!dg->sha || EVP_DigestInit_ex(dg->sha, md, NULL) != 1)
      goto fail;
  }
  if (algo == S3_CK_CRC32)
    dg->crc = (uint32_t)crc32(0L, Z_NULL, 0);
  return dg;
fail:
  s3_digest_free(dg);
  return NULL;
}

void s3_digest_update(s3_digest *dg, const void *data, size_t len) {
  EVP_DigestUpdate(dg->md5, data, len);
  switch (dg->algo) {
  case S3_CK_CRC32: {
    const unsigned char *p = data;
    while (len > 0) {
      uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
      dg->crc = (uint32_t)crc32(dg->crc, p, n);
      p += n;
      len -= n;
    }
    break;
  }
  case S3_CK_CRC32C: dg->crc = s3_crc32c(dg->crc, data, len); break;
  case S3_CK_SHA1:
  case S3_CK_SHA256: EVP_DigestUpdate(dg->sha, data, len); break;
  case S3_CK_CRC64NVME: dg->crc64 = s3_crc64nvme(dg->crc64, data, len); break;
  case S3_CK_NONE:
  case S3_CK_COUNT: break;
  }
}

void s3_digest_final(s3_digest *dg, unsigned char md5[16], char *checksum, size_t size) {
  unsigned int n = 0;
  EVP_DigestFinal_ex(dg->md5, md5, &n);
  unsigned char raw[EVP_MAX_MD_SIZE];
  size_t raw_len = 0;
  if (dg->algo == S3_CK_CRC32 || dg->algo == S3_CK_CRC32C) {
    raw[0] = (unsigned char)(dg->crc >> 24);
    raw[1] = (unsigned char)(dg->crc >> 16);
    raw[2] = (unsigned char)(dg->crc >> 8);
    raw[3] = (unsigned char)dg->crc;
    raw_len = 4;
  } else if (dg->algo == S3_CK_CRC64NVME) {
    for (int i = 0; i < 8; i++)
      raw[i] = (unsigned char)(dg->crc64 >> (56 - 8 * i));
    raw_len = 8;
  } else if (dg->sha) {
    unsigned int m = 0;
    EVP_DigestFinal_ex(dg->sha, raw, &m);
    raw_len = m;
  }
  if (size)
    checksum[0] = '\0';
  if (raw_len) {
    char *b64 = codec_base64_encode(raw, raw_len);
    if (b64)
      snprintf(checksum, size, "%s", b64);
    free(b64);
  }
}

void s3_digest_free(s3_digest *dg) {
  if (!dg)
    return;
  EVP_MD_CTX_free(dg->md5);
  EVP_MD_CTX_free(dg->sha);
  free(dg);
}
