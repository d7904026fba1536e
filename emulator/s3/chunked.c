/*
 * chunked.c — decodes aws-chunked request bodies (the framing is described
 * in s3_int.h).
 *
 * The decoder is a small state machine so that a body can be fed in pieces of
 * any size (from memory or read from a spilled file) without holding it: only
 * the current framing line (bounded by S3_CHUNKED_MAX_LINE) is buffered. It
 * reads untrusted bytes and is fuzzed (tests/fuzz/fuzz_s3_chunked.c).
 *
 * With a signature checker (s3_chunked_verify) each chunk's data is hashed
 * (SHA-256) as it passes and handed to the checker with the chunk's
 * ;chunk-signature= at its end, and the trailer lines ("name:value\n",
 * x-amz-trailer-signature excepted) likewise once the body ends.
 */
#include "emulator/s3/s3_int.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum chunk_state {
  ST_SIZE,    /* reading "<hex>[;ext]\r\n" */
  ST_DATA,    /* remaining bytes of a chunk */
  ST_DATA_CR, /* the "\r\n" after a chunk's data */
  ST_DATA_LF, /* its "\n" */
  ST_TRAILER, /* trailer lines until an empty one */
  ST_DONE,    /* final empty line seen */
  ST_FAILED,
} chunk_state;

struct s3_chunked {
  chunk_state state;
  uint64_t remaining;
  uint64_t decoded;
  int final_seen; /* the zero-size chunk */
  char line[S3_CHUNKED_MAX_LINE + 1];
  size_t line_len;
  size_t trailer_count;
  char *trailer_name[S3_CHUNKED_MAX_TRAILERS];
  char *trailer_value[S3_CHUNKED_MAX_TRAILERS];
  char error[256];
  /* signature checks (s3_chunked_verify) */
  s3_chunk_sig_fn sig_fn;
  void *sig_payload;
  EVP_MD_CTX *md, *tmd; /* this chunk's data; the trailer lines */
  char sig[65], tsig[65];
  int has_sig, has_tsig, sig_failed;
};

s3_chunked *s3_chunked_new(void) { return calloc(1, sizeof(s3_chunked)); }

void s3_chunked_free(s3_chunked *d) {
  if (!d)
    return;
  for (size_t i = 0; i < d->trailer_count; i++) {
    free(d->trailer_name[i]);
    free(d->trailer_value[i]);
  }
  EVP_MD_CTX_free(d->md);
  EVP_MD_CTX_free(d->tmd);
  free(d);
}

int s3_chunked_verify(s3_chunked *d, s3_chunk_sig_fn fn, void *payload) {
  d->md = EVP_MD_CTX_new();
  d->tmd = EVP_MD_CTX_new();
  if (!d->md || !d->tmd || !EVP_DigestInit_ex(d->tmd, EVP_sha256(), NULL))
    return -1;
  d->sig_fn = fn;
  d->sig_payload = payload;
  return 0;
}

int s3_chunked_signature_failed(const s3_chunked *d) { return d->sig_failed; }

static int fail(s3_chunked *d, const char *msg) {
  if (d->state != ST_FAILED)
    snprintf(d->error, sizeof(d->error), "%s", msg);
  d->state = ST_FAILED;
  return -1;
}

/* A chunk's data has all passed: its signature checked. */
static int chunk_end(s3_chunked *d) {
  unsigned char sha[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!d->sig_fn)
    return 0;
  if (!EVP_DigestFinal_ex(d->md, sha, &len))
    return fail(d, "out of memory");
  if (d->sig_fn(d->sig_payload, 0, sha, d->has_sig ? d->sig : NULL) < 0) {
    d->sig_failed = 1;
    return fail(d, "a chunk signature does not match");
  }
  return 0;
}

/* The body's end: the trailer's signature checked, when there are trailers. */
static int trailer_end(s3_chunked *d) {
  unsigned char sha[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!d->sig_fn || (!d->trailer_count && !d->has_tsig))
    return 0;
  if (!EVP_DigestFinal_ex(d->tmd, sha, &len))
    return fail(d, "out of memory");
  if (d->sig_fn(d->sig_payload, 1, sha, d->has_tsig ? d->tsig : NULL) < 0) {
    d->sig_failed = 1;
    return fail(d, "the trailer signature does not match");
  }
  return 0;
}

/* A complete size line (without CRLF): "<hex>[;chunk-signature=…]". */
static int size_line(s3_chunked *d) {
  const char *p = d->line;
  uint64_t size = 0;
  size_t digits = 0;
  while (isxdigit((unsigned char)*p)) {
    if (digits >= 15)
      return fail(d, "an aws-chunked chunk size is too large");
    int c = tolower((unsigned char)*p);
    size = size * 16 + (uint64_t)(isdigit(c) ? c - '0' : c - 'a' + 10);
    digits++;
    p++;
  }
  if (digits == 0)
    return fail(d, "an aws-chunked chunk does not start with a hexadecimal size");
  if (*p && *p != ';')
    return fail(d, "an aws-chunked chunk size line has unexpected characters");
  d->has_sig = 0;
  const char *ext = strstr(p, ";chunk-signature=");
  if (ext) {
    ext += strlen(";chunk-signature=");
    size_t n = strspn(ext, "0123456789abcdefABCDEF");
    if (n == 64 && !ext[n]) {
      memcpy(d->sig, ext, 64);
      d->sig[64] = '\0';
      d->has_sig = 1;
    }
  }
  if (d->sig_fn && !EVP_DigestInit_ex(d->md, EVP_sha256(), NULL))
    return fail(d, "out of memory");
  if (size == 0) {
    d->final_seen = 1;
    d->state = ST_TRAILER;
    return chunk_end(d);
  } else {
    d->remaining = size;
    d->state = ST_DATA;
  }
  return 0;
}

/* A trailer line "name:value" (without CRLF); an empty one ends the body. */
static int trailer_line(s3_chunked *d) {
  if (d->line_len == 0) {
    d->state = ST_DONE;
    return trailer_end(d);
  }
  char *colon = memchr(d->line, ':', d->line_len);
  if (!colon || colon == d->line)
    return fail(d, "an aws-chunked trailer is not a 'name:value' line");
  if (d->trailer_count == S3_CHUNKED_MAX_TRAILERS)
    return fail(d, "an aws-chunked body has too many trailers");
  const char *v = colon + 1;
  while (*v == ' ' || *v == '\t')
    v++;
  size_t vlen = strlen(v);
  while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
    vlen--;
  if (d->sig_fn) {
    size_t nlen = (size_t)(colon - d->line);
    if (nlen == 23 && strncasecmp(d->line, "x-amz-trailer-signature", 23) == 0) {
      if (vlen == 64) {
        memcpy(d->tsig, v, 64);
        d->tsig[64] = '\0';
        d->has_tsig = 1;
      }
      return 0;
    }
    EVP_DigestUpdate(d->tmd, d->line, nlen);
    EVP_DigestUpdate(d->tmd, ":", 1);
    EVP_DigestUpdate(d->tmd, v, vlen);
    EVP_DigestUpdate(d->tmd, "\n", 1);
  }
  char *name = strndup(d->line, (size_t)(colon - d->line));
  char *value = strndup(v, vlen);
  if (!name || !value) {
    free(name);
    free(value);
    return fail(d, "out of memory");
  }
  d->trailer_name[d->trailer_count] = name;
  d->trailer_value[d->trailer_count] = value;
  d->trailer_count++;
  return 0;
}

/* Accumulates a line; returns 1 when a full line (CRLF stripped) is ready,
 * 0 when more is needed (all of data used), -1 on error. *used counts bytes
 * taken from data. */
static int take_line(s3_chunked *d, const char *data, size_t len, size_t *used) {
  size_t i = 0;
  for (; i < len; i++) {
    char c = data[i];
    if (c == '\n') {
      if (d->line_len && d->line[d->line_len - 1] == '\r')
        d->line_len--;
      d->line[d->line_len] = '\0';
      *used = i + 1;
      if (memchr(d->line, '\0', d->line_len))
        return fail(d, "an aws-chunked framing line holds a NUL byte");
      return 1;
    }
    if (d->line_len == S3_CHUNKED_MAX_LINE)
      return fail(d, "an aws-chunked framing line is too long");
    d->line[d->line_len++] = c;
  }
  *used = len;
  return 0;
}

int s3_chunked_feed(s3_chunked *d, const char *data, size_t len, s3_bytes_fn sink, void *payload) {
  while (len > 0) {
    size_t used = 0;
    int rc;
    switch (d->state) {
    case ST_FAILED: return -1;
    case ST_DONE:
      /* Some clients end with an extra CRLF; anything else is garbage. */
      if (*data != '\r' && *data != '\n')
        return fail(d, "data follows the end of an aws-chunked body");
      used = 1;
      break;
    case ST_SIZE:
    case ST_TRAILER:
      rc = take_line(d, data, len, &used);
      if (rc < 0)
        return -1;
      if (rc == 1) {
        int r = d->state == ST_SIZE ? size_line(d) : trailer_line(d);
        d->line_len = 0;
        if (r < 0)
          return -1;
      }
      break;
    case ST_DATA:
      used = len < d->remaining ? len : (size_t)d->remaining;
      if (sink && sink(payload, data, used) < 0)
        return fail(d, "the decoded body could not be stored");
      if (d->sig_fn)
        EVP_DigestUpdate(d->md, data, used);
      d->remaining -= used;
      d->decoded += used;
      if (d->remaining == 0) {
        d->state = ST_DATA_CR;
        if (chunk_end(d) < 0)
          return -1;
      }
      break;
    case ST_DATA_CR:
      if (*data == '\n') {
        d->state = ST_SIZE;
      } else if (*data == '\r') {
        d->state = ST_DATA_LF;
      } else {
        return fail(d, "an aws-chunked chunk is longer than its declared size");
      }
      used = 1;
      break;
    case ST_DATA_LF:
      if (*data != '\n')
        return fail(d, "an aws-chunked chunk is not followed by CRLF");
      d->state = ST_SIZE;
      used = 1;
      break;
    }
    data += used;
    len -= used;
  }
  return 0;
}

int s3_chunked_finish(s3_chunked *d) {
  if (d->state == ST_FAILED)
    return -1;
  if (d->state == ST_DONE)
    return 0;
  /* Lenient on the very end: the final chunk seen, the last CRLF missing. */
  if (d->state == ST_TRAILER && d->final_seen) {
    if (d->line_len) {
      d->line[d->line_len] = '\0';
      if (trailer_line(d) < 0)
        return -1;
    }
    d->state = ST_DONE;
    return trailer_end(d);
  }
  return fail(d, "the aws-chunked body ended before its final chunk");
}

const char *s3_chunked_error(const s3_chunked *d) { return d->error; }

const char *s3_chunked_trailer(const s3_chunked *d, const char *name) {
  for (size_t i = 0; i < d->trailer_count; i++)
    if (strcasecmp(d->trailer_name[i], name) == 0)
      return d->trailer_value[i];
  return NULL;
}

uint64_t s3_chunked_decoded(const s3_chunked *d) { return d->decoded; }
