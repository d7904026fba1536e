/*
 * ingest.c — reads S3 request bodies into the store, checked.
 *
 * The protocol layer parses every request into the operation's input but
 * never touches an object body: PutObject and UploadPart read it here from
 * the HTTP request (in memory, or the unlinked file the server spilled a
 * large body to), decode it when it is aws-chunked (chunked.c), digest it in
 * the same pass (MD5 for the ETag and Content-MD5, plus the declared or
 * requested CRC32/CRC32C/SHA-1/SHA-256, checksum.c) and keep it where
 * store.c says: in memory while it is small and the budget allows, else in a
 * data file created on the first byte that does not fit. A plain body the
 * server already spilled is only read for its digests and then linked into
 * place as the data file, so a large upload is written once.
 */
#include "emulator/s3/s3_int.h"

#include "common/fs.h"
#include "common/http_server.h"
#include "common/jsonutil.h"
#include "emulator/sigv4.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const char *s3_header(aws_call *call, const char *name) {
  return http_request_header(aws_call_http(call), name);
}

int s3_list_next(const char **cursor, const char **item, size_t *len) {
  const char *p = *cursor;
  while (p && *p) {
    size_t n = strcspn(p, ",");
    const char *s = p, *e = p + n;
    p = *e ? e + 1 : e;
    while (s < e && isspace((unsigned char)*s))
      s++;
    while (e > s && isspace((unsigned char)e[-1]))
      e--;
    if (e > s) {
      *cursor = p;
      *item = s;
      *len = (size_t)(e - s);
      return 1;
    }
  }
  *cursor = p;
  return 0;
}

/* Does the comma-separated list name token (case-insensitive)? */
static int has_token(const char *list, const char *token) {
  size_t n = strlen(token), len = 0;
  const char *item = NULL;
  for (const char *c = list; s3_list_next(&c, &item, &len);)
    if (len == n && strncasecmp(item, token, n) == 0)
      return 1;
  return 0;
}

/* Where decoded body bytes go: memory while the body may stay inline and
 * fits, else a data file created on the first byte that does not fit. */
typedef struct ingest_sink {
  s3_state *st;
  s3_digest *dg;
  s3_chunked *dec; /* aws-chunked bodies: the decoder in front of the sink */
  uint64_t size;
  int inline_ok; /* the caller keeps small bodies in memory */
  char *mem;     /* inline bytes so far (size of them) */
  size_t mem_cap;
  int fd; /* -1 until the body goes to a data file */
  uint64_t file;
  int create_errno; /* the data file could not be created */
  int adopt;        /* digest only: the spilled request body becomes the data file */
} ingest_sink;

/* Makes the request body the server spilled (an unlinked O_TMPFILE file in
 * the emulator's data dir, the parent of ours) the object's data file, instead
 * of writing the same bytes again; else (another filesystem, no /proc, a
 * named spill file) copies it in the kernel. Sets s->file. */
static int sink_adopt(ingest_sink *s, int body_fd) {
  if (s3_data_link(s->st, body_fd, &s->file) == 0)
    return 0;
  s->fd = s3_data_create(s->st, &s->file);
  if (s->fd < 0) {
    s->create_errno = errno;
    return -1;
  }
  return s3_copy_range(s->fd, body_fd, 0, s->size);
}

/* Moves the body to a new data file. */
static int sink_spill(ingest_sink *s) {
  s->fd = s3_data_create(s->st, &s->file);
  if (s->fd < 0) {
    s->create_errno = errno;
    return -1;
  }
  if (s->size && fs_write_all(s->fd, s->mem, (size_t)s->size) < 0)
    return -1;
  free(s->mem);
  s->mem = NULL;
  s->mem_cap = 0;
  return 0;
}

/* Takes decoded bytes. */
static int sink_write(void *payload, const char *data, size_t len) {
  ingest_sink *s = payload;
  if (len == 0)
    return 0;
  s3_digest_update(s->dg, data, len);
  if (s->adopt) {
    s->size += len;
    return 0;
  }
  if (s->fd < 0 && s->inline_ok && s->size + len <= S3_INLINE_MAX) {
    if (s->size + len > s->mem_cap) {
      size_t cap = s->mem_cap ? s->mem_cap : 4096;
      while (cap < s->size + len)
        cap *= 2;
      if (cap > S3_INLINE_MAX)
        cap = S3_INLINE_MAX;
      char *grown = realloc(s->mem, cap);
      if (!grown)
        return -1;
      s->mem = grown;
      s->mem_cap = cap;
    }
    memcpy(s->mem + s->size, data, len);
    s->size += len;
    return 0;
  }
  if (s->fd < 0 && sink_spill(s) < 0)
    return -1;
  s->size += len;
  return fs_write_all(s->fd, data, len);
}

/* Takes body bytes as they came: through the decoder when aws-chunked. */
static int sink_feed(void *payload, const char *data, size_t len) {
  ingest_sink *s = payload;
  return s->dec ? s3_chunked_feed(s->dec, data, len, sink_write, s) : sink_write(s, data, len);
}

/* s3_chunk_sig_fn over the request's signing chain (sigv4.c). */
static int check_chunk(void *payload, int trailer, const unsigned char sha256[32],
                       const char *signature) {
  return emulator_sigv4_chunk_check(payload, trailer, sha256, signature) ? 0 : -1;
}

/* A failed integrity check; an unreadable Content-MD5 is named in the
 * error, as S3 does. */
static void fail_verify(aws_call *call, int status, const char *code, const char *message,
                        const char *content_md5) {
  if (strcmp(code, "InvalidDigest") == 0 && content_md5)
    aws_call_fail_fields(call, status, code, json_pack("{s:s}", "Content-MD5", content_md5), "%s",
                         message);
  else
    aws_call_fail(call, status, code, "%s", message);
}

/* aws-chunked bodies, by either of the ways a request says so. */
static int body_is_chunked(aws_call *call) {
  const char *sha = s3_header(call, "x-amz-content-sha256");
  return (sha && strncmp(sha, "STREAMING-", 10) == 0) ||
         has_token(s3_header(call, "Content-Encoding"), "aws-chunked");
}

s3_checksum_algo s3_checksum_requested(aws_call *call, const json_t *input, const char **expected,
                                       int *from_trailer) {
  *expected = NULL;
  *from_trailer = 0;
  s3_checksum_algo algo = s3_checksum_declared(call, expected);
  const char *trailer = s3_header(call, "x-amz-trailer");
  if (algo == S3_CK_NONE && trailer && body_is_chunked(call)) {
    for (int a = S3_CK_CRC32; a < S3_CK_COUNT; a++)
      if (has_token(trailer, s3_checksum_headers[a])) {
        algo = (s3_checksum_algo)a;
        *from_trailer = 1;
      }
  }
  if (algo == S3_CK_NONE) {
    const char *asked = jsonutil_string(input, "ChecksumAlgorithm");
    if (!asked)
      asked = s3_header(call, "x-amz-sdk-checksum-algorithm");
    algo = s3_checksum_algo_from_name(asked);
  }
  return algo;
}

int s3_ingest(s3_state *st, aws_call *call, const json_t *input, int inline_ok, s3_body *res) {
  http_request *req = aws_call_http(call);
  memset(res, 0, sizeof(*res));
  const char *sha = s3_header(call, "x-amz-content-sha256");
  int chunked = body_is_chunked(call);
  if (s3_checksum_headers_check(call, chunked) < 0)
    return -1;
  const char *expected = NULL;
  int from_trailer = 0;
  s3_checksum_algo algo = s3_checksum_requested(call, input, &expected, &from_trailer);
  const char *code = NULL;
  char message[512] = "";
  int status = 400;
  inline_ok = inline_ok && s3_inline_room(st);
  ingest_sink sink = {.st = st,
                      .dg = s3_digest_new(algo),
                      .dec = chunked ? s3_chunked_new() : NULL,
                      .inline_ok = inline_ok,
                      .fd = -1};
  /* Signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]) are checked
   * when the emulator verifies signatures. */
  emulator_chunk_signer signer;
  int check_chunks =
      chunked && sha && strncmp(sha, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", 34) == 0 &&
      emulator_sigv4_chunk_signer(&signer, aws_call_emulator(call),
                                  s3_header(call, "Authorization"), s3_header(call, "x-amz-date"));
  if (!sink.dg || (chunked && !sink.dec) ||
      (check_chunks && s3_chunked_verify(sink.dec, check_chunk, &signer) < 0)) {
    code = "InternalError", status = 500;
    snprintf(message, sizeof(message), "out of memory");
    goto done;
  }
  size_t mem_len = 0;
  const char *mem = http_request_body(req, &mem_len);
  /* A body known to stay inline gets its exact buffer up front. */
  if (inline_ok && mem && !sink.dec && mem_len > 0 && mem_len <= S3_INLINE_MAX) {
    if (!(sink.mem = malloc(mem_len))) {
      code = "InternalError", status = 500;
      snprintf(message, sizeof(message), "out of memory");
      goto done;
    }
    sink.mem_cap = mem_len;
  }
  int rc = 0;
  if (mem) {
    rc = sink_feed(&sink, mem, mem_len);
  } else {
    int body_fd = http_request_body_fd(req);
    uint64_t total = http_request_body_size(req);
    /* A plain body that will not stay in memory is only read for its digests;
     * the spilled file then becomes the data file. */
    sink.adopt = !sink.dec && (!inline_ok || total > S3_INLINE_MAX);
    rc = s3_read_range(body_fd, 0, total, 1 << 18, sink_feed, &sink);
    if (rc == 0 && sink.adopt && sink.size)
      rc = sink_adopt(&sink, body_fd);
  }
  if (rc == 0 && sink.dec)
    rc = s3_chunked_finish(sink.dec);
  if (rc < 0) {
    if (sink.create_errno) {
      code = "InternalError", status = 500;
      snprintf(message, sizeof(message),
               "Cannot create a data file in %s: %s; check that the emulator's data directory is "
               "writable",
               st->dir, strerror(sink.create_errno));
    } else if (sink.dec && s3_chunked_signature_failed(sink.dec)) {
      code = "SignatureDoesNotMatch", status = 403;
      snprintf(message, sizeof(message),
               "The request signature we calculated does not match the signature you provided. "
               "Check your key and signing method.");
    } else if (sink.dec && *s3_chunked_error(sink.dec)) {
      code = "IncompleteBody";
      snprintf(message, sizeof(message), "The aws-chunked request body is malformed: %s",
               s3_chunked_error(sink.dec));
    } else {
      code = "InternalError", status = 500;
      snprintf(message, sizeof(message), "Cannot store the request body: %s", strerror(errno));
    }
    goto done;
  }
  const char *decoded_len = s3_header(call, "x-amz-decoded-content-length");
  if (sink.dec && decoded_len) {
    char *end = NULL;
    unsigned long long want = strtoull(decoded_len, &end, 10);
    if (!end || *end || want != sink.size) {
      code = "IncompleteBody";
      snprintf(message, sizeof(message),
               "The decoded body has %" PRIu64 " bytes; x-amz-decoded-content-length says %.40s.",
               sink.size, decoded_len);
      goto done;
    }
  }
  if (from_trailer) {
    expected = s3_chunked_trailer(sink.dec, s3_checksum_headers[algo]);
    if (!expected) {
      code = "InvalidRequest";
      snprintf(message, sizeof(message), "The announced trailer %s is missing.",
               s3_checksum_headers[algo]);
      goto done;
    }
  }
  s3_digest_final(sink.dg, res->md5, res->checksum, sizeof(res->checksum));
  const char *content_md5 = jsonutil_string(input, "ContentMD5");
  if (!content_md5)
    content_md5 = s3_header(call, "Content-MD5");
  s3_checksum_verify(&code, message, sizeof(message), content_md5, res->md5, algo, expected,
                     res->checksum);
done:
  if (sink.fd >= 0 && close(sink.fd) < 0 && !code) {
    code = "InternalError", status = 500;
    snprintf(message, sizeof(message), "Cannot write a data file: %s", strerror(errno));
  }
  s3_digest_free(sink.dg);
  s3_chunked_free(sink.dec);
  if (code) {
    s3_data_unlink(st, sink.file);
    free(sink.mem);
    const char *md5_sent = jsonutil_string(input, "ContentMD5");
    fail_verify(call, status, code, message, md5_sent ? md5_sent : s3_header(call, "Content-MD5"));
    return -1;
  }
  res->size = sink.size;
  res->ck_algo = algo;
  res->file = sink.file;
  if (sink.size && !sink.file) {
    /* Growth may have left slack: keep exactly the body. */
    char *exact = sink.mem_cap > sink.size ? realloc(sink.mem, (size_t)sink.size) : NULL;
    res->data = exact ? exact : sink.mem;
    s3_inline_add(st, sink.size);
  } else {
    free(sink.mem);
  }
  return 0;
}

int s3_verify_parsed_body(aws_call *call) {
  if (s3_checksum_headers_check(call, 0) < 0)
    return -1;
  size_t len = 0;
  const char *body = http_request_body(aws_call_http(call), &len);
  const char *expected = NULL;
  s3_checksum_algo algo = s3_checksum_declared(call, &expected);
  const char *content_md5 = s3_header(call, "Content-MD5");
  if (!body || (!expected && !content_md5))
    return 0;
  s3_digest *dg = s3_digest_new(algo);
  if (!dg) {
    s3_fail_oom(call);
    return -1;
  }
  unsigned char md5[16];
  char checksum[96];
  s3_digest_update(dg, body, len);
  s3_digest_final(dg, md5, checksum, sizeof(checksum));
  s3_digest_free(dg);
  const char *code = NULL;
  char message[256];
  if (s3_checksum_verify(&code, message, sizeof(message), content_md5, md5, algo, expected,
                         checksum) < 0) {
    fail_verify(call, 400, code, message, content_md5);
    return -1;
  }
  return 0;
}
