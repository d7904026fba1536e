/*
 * multipart.c — multipart uploads: create, UploadPart, UploadPartCopy,
 * complete, abort, ListParts.
 *
 * Every part goes to a data file of its own, whatever its size (parts are
 * large by design: 5 MiB at least but the last). Completing concatenates the
 * listed parts into the object's data file in the kernel (copy_file_range),
 * under the lock, and the ETag is the MD5 of the parts' MD5s with "-N", as
 * S3 computes it; the part files go once the lock is released.
 */
#include "emulator/s3/s3_int.h"

#include "common/codec.h"
#include "common/jsonutil.h"
#include "emulator/delivery/delivery.h"
#include "emulator/protocol/protocol.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static s3_upload *upload_find(const s3_bucket *b, const char *id, const char *key) {
  for (s3_upload *u = b->uploads; u; u = u->next)
    if (id && strcmp(u->id, id) == 0 && (!key || strcmp(u->key, key) == 0))
      return u;
  return NULL;
}

/* x-amz-checksum-type (a raw header: newer than the model) against the
 * algorithm: 1 FULL_OBJECT, 0 COMPOSITE, -1 after answering. CRC64NVME
 * is full-object only, SHA-1 and SHA-256 composite only; the CRCs default to
 * COMPOSITE, CRC64NVME to FULL_OBJECT. */
static int checksum_type_of(aws_call *call, const json_t *input) {
  const char *type = s3_header(call, "x-amz-checksum-type");
  const char *name = jsonutil_string(input, "ChecksumAlgorithm");
  if (!name)
    name = s3_header(call, "x-amz-checksum-algorithm");
  s3_checksum_algo algo = s3_checksum_algo_from_name(name);
  if (name && !algo) {
    aws_call_fail(call, 400, "InvalidRequest",
                  "Checksum algorithm provided is unsupported. Please try again with any of the "
                  "valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]");
    return -1;
  }
  if (!type)
    return algo == S3_CK_CRC64NVME;
  int full = strcmp(type, "FULL_OBJECT") == 0;
  if (!full && strcmp(type, "COMPOSITE") != 0) {
    aws_call_fail(call, 400, "InvalidRequest", "Value for x-amz-checksum-type header is invalid.");
    return -1;
  }
  if (!algo) {
    aws_call_fail(call, 400, "InvalidRequest",
                  "The x-amz-checksum-type header can only be used with the "
                  "x-amz-checksum-algorithm header.");
    return -1;
  }
  if ((full && (algo == S3_CK_SHA1 || algo == S3_CK_SHA256)) ||
      (!full && algo == S3_CK_CRC64NVME)) {
    char lower[16];
    snprintf(lower, sizeof(lower), "%s", s3_checksum_algo_name(algo));
    for (char *c = lower; *c; c++)
      *c = (char)tolower((unsigned char)*c);
    aws_call_fail(call, 400, "InvalidRequest",
                  "The %s checksum type cannot be used with the %s checksum algorithm.", type,
                  lower);
    return -1;
  }
  return full;
}

void s3_op_create_multipart(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *key = jsonutil_string(input, "Key");
  if (!s3_key_valid(call, key))
    return;
  char ssec[64];
  if (s3_sse_check(call, input, ssec, sizeof(ssec)) < 0 || s3_lock_check_put(call, input) < 0 ||
      s3_storage_class_check(call, input) < 0 || s3_attrs_check(call, input) < 0)
    return;
  int full_object = checksum_type_of(call, input);
  if (full_object < 0)
    return;
  json_t *tags = NULL;
  if (s3_tags_from_input(call, input, &tags) < 0)
    return;
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b) {
    json_decref(tags);
    return;
  }
  if (s3_sse_kms_check(call, b, input, ssec) < 0) {
    s3_unlock(st);
    json_decref(tags);
    return;
  }
  s3_upload *u = calloc(1, sizeof(*u));
  if (!u || !(u->key = strdup(key))) {
    s3_unlock(st);
    free(u);
    json_decref(tags);
    s3_fail_oom(call);
    return;
  }
  s3_random_id(u->id, 41);
  u->initiated = s3_now();
  snprintf(u->initiator, sizeof(u->initiator), "%s", aws_call_account(call));
  u->attrs = s3_attrs_from_input(input);
  u->tags = tags;
  u->acl = s3_acl_from_input(call, input);
  u->ck_algo = s3_checksum_algo_from_name(jsonutil_string(input, "ChecksumAlgorithm"));
  if (!u->ck_algo) /* CRC64NVME is newer than the model's enum: the raw header */
    u->ck_algo = s3_checksum_algo_from_name(s3_header(call, "x-amz-checksum-algorithm"));
  u->ck_full_object = full_object;
  s3_sse_apply(call, b, input, ssec, u->attrs);
  if (s3_lock_apply(call, b, input, u->attrs) < 0) {
    s3_unlock(st);
    s3_upload_free(st, u);
    return;
  }
  u->next = b->uploads;
  b->uploads = u;
  json_t *out = json_pack("{s:s, s:s, s:s}", "Bucket", b->name, "Key", key, "UploadId", u->id);
  if (u->ck_algo != S3_CK_NONE) {
    if (u->ck_algo == S3_CK_CRC64NVME) /* not in the model's enum */
      aws_call_header(call, "x-amz-checksum-algorithm", "CRC64NVME");
    else
      json_object_set_new(out, "ChecksumAlgorithm", json_string(s3_checksum_algo_name(u->ck_algo)));
    s3_checksum_type_header(call, !u->ck_full_object);
  }
  s3_sse_output(out, u->attrs);
  s3_unlock(st);
  aws_call_reply(call, out);
}

/* Under the lock: input's bucket and upload; when either is missing,
 * releases the lock, answers and returns NULL. */
static s3_upload *upload_get(aws_call *call, s3_state *st, const json_t *input,
                             s3_bucket **out_bucket) {
  s3_bucket *b = s3_bucket_get(call, st, jsonutil_string(input, "Bucket"));
  if (!b)
    return NULL;
  s3_cors_headers(call, b);
  s3_upload *u = upload_find(b, jsonutil_string(input, "UploadId"), jsonutil_string(input, "Key"));
  if (!u) {
    s3_unlock(st);
    s3_fail_no_upload(call, jsonutil_string(input, "UploadId"));
    return NULL;
  }
  *out_bucket = b;
  return u;
}

/* Takes the lock and finds input's bucket and upload (upload_get). */
static s3_upload *lock_upload(aws_call *call, const json_t *input, s3_bucket **out_bucket) {
  s3_state *st = aws_call_state(call);
  s3_lock(st);
  return upload_get(call, st, input, out_bucket);
}

static int part_number_of(aws_call *call, const json_t *input) {
  json_t *n = json_object_get(input, "PartNumber");
  json_int_t num = json_is_integer(n) ? json_integer_value(n) : 0;
  if (num < 1 || num > S3_MAX_PARTS) {
    char value[24];
    snprintf(value, sizeof(value), "%lld", (long long)num);
    aws_call_fail_fields(
        call, 400, "InvalidArgument",
        json_pack("{s:s, s:s}", "ArgumentName", "partNumber", "ArgumentValue", value),
        "Part number must be an integer between 1 and %d, inclusive", S3_MAX_PARTS);
    return -1;
  }
  return (int)num;
}

/* Records a part's data file in an upload (replacing an earlier one). Under the lock. */
static int part_install(s3_state *st, s3_upload *u, int num, uint64_t file, uint64_t size,
                        const unsigned char md5[16], s3_checksum_algo ck_algo,
                        const char *checksum) {
  if (!u->parts) {
    u->parts = calloc(S3_MAX_PARTS + 1, sizeof(*u->parts));
    if (!u->parts)
      return -1;
  }
  char *ck = NULL;
  if (ck_algo != S3_CK_NONE && !(ck = strdup(checksum)))
    return -1;
  s3_part *p = &u->parts[num];
  if (p->present)
    s3_data_unlink_later(st, p->file);
  free(p->checksum);
  p->checksum = ck;
  p->ck_algo = ck ? ck_algo : S3_CK_NONE;
  p->present = 1;
  p->file = file;
  p->size = size;
  memcpy(p->md5, md5, 16);
  p->mtime = s3_now();
  return 0;
}

/* A checksum algorithm's name as S3's multipart errors spell it: "sha256". */
static void lower_name(char *out, size_t size, s3_checksum_algo algo) {
  size_t n = 0;
  for (const char *c = s3_checksum_algo_name(algo); *c && n + 1 < size; c++)
    out[n++] = (char)tolower((unsigned char)*c);
  out[n] = '\0';
}

void s3_op_upload_part(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  int num = part_number_of(call, input);
  if (num < 0)
    return;
  s3_bucket *b = NULL;
  s3_upload *pre = lock_upload(call, input, &b);
  if (!pre)
    return;
  /* The parts of an SSE-C upload carry the upload's key. */
  int refused = s3_sse_read_check(call, pre->attrs, input, "");
  /* A part's checksum is of the upload's algorithm, when it has one. */
  const char *expected;
  int from_trailer;
  s3_checksum_algo part_algo =
      refused ? S3_CK_NONE : s3_checksum_requested(call, input, &expected, &from_trailer);
  if (pre->ck_algo != S3_CK_NONE && part_algo != S3_CK_NONE && part_algo != pre->ck_algo) {
    char want[16], got[16];
    lower_name(want, sizeof(want), pre->ck_algo);
    lower_name(got, sizeof(got), part_algo);
    aws_call_fail(call, 400, "InvalidRequest",
                  "Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum "
                  "Type: %s",
                  want, got);
    refused = -1;
  }
  s3_unlock(st);
  if (refused < 0)
    return;
  s3_body r;
  if (s3_ingest(st, call, input, 0, &r) < 0) /* parts always go to files */
    return;
  s3_upload *u = lock_upload(call, input, &b);
  if (!u) {
    s3_data_unlink(st, r.file);
    return;
  }
  if (part_install(st, u, num, r.file, r.size, r.md5, r.ck_algo, r.checksum) < 0) {
    s3_unlock(st);
    s3_data_unlink(st, r.file);
    s3_fail_oom(call);
    return;
  }
  char etag[48];
  s3_etag(etag, sizeof(etag), r.md5, 0);
  json_t *out = json_pack("{s:s}", "ETag", etag);
  s3_sse_output(out, u->attrs);
  s3_unlock(st);
  if (r.ck_algo != S3_CK_NONE)
    s3_checksum_output(call, out, r.ck_algo, r.checksum);
  aws_call_reply(call, out);
}

json_t *s3_upload_party_json(const s3_bucket *b, const s3_upload *u, int initiator) {
  if (!u->initiator[0] || (!initiator && s3_ownership_enforced(b)))
    return s3_owner_json(s3_acl_owner(b));
  return s3_owner_json(u->initiator);
}

void s3_op_upload_part_copy(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  int num = part_number_of(call, input);
  if (num < 0)
    return;
  char *sbucket = NULL, *skey = NULL, *sversion = NULL;
  s3_version *sv = s3_copy_source_lock(call, input, &sbucket, &skey, &sversion);
  if (!sv)
    goto cleanup;
  uint64_t start = 0, len = sv->size;
  const char *range = jsonutil_string(input, "CopySourceRange");
  if (range) {
    uint64_t a = 0, z = 0;
    /* Only bytes=first-last, both given; a range past the source's end is
     * unsatisfiable (S3 does not shorten it, as a GET would). */
    const char *dash = strncmp(range, "bytes=", 6) == 0 ? strchr(range + 6, '-') : NULL;
    int form = dash && dash > range + 6 && dash[1];
    int parsed = form ? s3_parse_range(range, sv->size, &a, &z) : 0;
    if (!form || parsed == 0) {
      s3_unlock(st);
      aws_call_fail_fields(call, 400, "InvalidArgument",
                           json_pack("{s:s, s:s}", "ArgumentName", "x-amz-copy-source-range",
                                     "ArgumentValue", range),
                           "The x-amz-copy-source-range value must be of the form bytes=first-last "
                           "where first and last are the zero-based offsets of the first and "
                           "last bytes to copy");
      goto cleanup;
    }
    unsigned long long want_end = strtoull(dash + 1, NULL, 10);
    if (parsed < 0) {
      s3_unlock(st);
      aws_call_fail(call, 400, "InvalidRequest",
                    "The specified copy range is invalid for the source object size");
      goto cleanup;
    }
    if (want_end >= sv->size) {
      uint64_t size = sv->size;
      s3_unlock(st);
      aws_call_fail_fields(call, 400, "InvalidArgument",
                           json_pack("{s:s, s:s}", "ArgumentName", "x-amz-copy-source-range",
                                     "ArgumentValue", range),
                           "Range specified is not valid for source object of size: %" PRIu64,
                           size);
      goto cleanup;
    }
    start = a;
    len = z - a + 1;
  }
  s3_bucket *b = NULL;
  s3_upload *u = upload_get(call, st, input, &b);
  if (!u)
    goto cleanup;
  if (s3_sse_read_check(call, u->attrs, input, "") < 0) { /* an SSE-C upload's key */
    s3_unlock(st);
    goto cleanup;
  }
  uint64_t file = 0;
  char *unused = NULL; /* parts always go to files */
  unsigned char md5[16];
  if (s3_body_clone(st, sv, start, len, 0, &file, &unused) < 0 ||
      s3_data_md5(st, file, len, md5) < 0 ||
      part_install(st, u, num, file, len, md5, S3_CK_NONE, NULL) < 0) {
    int saved = errno;
    s3_unlock(st);
    s3_data_unlink(st, file);
    aws_call_fail(call, 500, "InternalError", "Cannot copy the part's data: %s", strerror(saved));
    goto cleanup;
  }
  char etag[48];
  s3_etag(etag, sizeof(etag), md5, 0);
  json_t *out = json_pack("{s:{s:s, s:o}}", "CopyPartResult", "ETag", etag, "LastModified",
                          aws_timestamp_json(u->parts[num].mtime));
  s3_bucket *sb = s3_bucket_find(st, sbucket);
  if (sb && sb->versioning)
    json_object_set_new(out, "CopySourceVersionId", json_string(sv->version_id));
  s3_sse_output(out, u->attrs);
  s3_unlock(st);
  aws_call_reply(call, out);
cleanup:
  free(sbucket);
  free(skey);
  free(sversion);
}

static void unlink_upload(s3_bucket *b, s3_upload *u) {
  for (s3_upload **pu = &b->uploads; *pu; pu = &(*pu)->next)
    if (*pu == u) {
      *pu = u->next;
      return;
    }
}

static int feed_digest(void *payload, const char *data, size_t len) {
  s3_digest_update(payload, data, len);
  return 0;
}

/* Reads part p once: its bytes go to whole (FULL_OBJECT) or, digested on
 * their own, its raw checksum goes to outer (COMPOSITE). Under the lock. */
static int part_checksum(s3_state *st, const s3_part *p, s3_checksum_algo algo, s3_digest *whole,
                         s3_digest *outer) {
  s3_digest *own = whole ? NULL : s3_digest_new(algo);
  s3_digest *dg = whole ? whole : own;
  if (!dg)
    return -1;
  int rc = 0;
  if (p->size) {
    int fd = s3_data_open(st, p->file);
    rc = fd < 0 ? -1 : s3_read_range(fd, 0, p->size, 1 << 16, feed_digest, dg);
    if (fd >= 0)
      close(fd);
  }
  if (own) {
    unsigned char ignored[16];
    char text[96];
    s3_digest_final(own, ignored, text, sizeof(text));
    s3_digest_free(own);
    unsigned char *raw = NULL;
    size_t len = 0;
    if (rc == 0 && codec_base64_decode(&raw, &len, text, strlen(text)) == 0)
      s3_digest_update(outer, raw, len);
    else
      rc = -1;
    free(raw);
  }
  return rc;
}

/* Keeps a completion's answer for repeats of it; past S3_MAX_COMPLETED per
 * bucket the remembered ones are forgotten (a bound, not an LRU: repeats come
 * right after the first completion). Under the lock. */
#define S3_MAX_COMPLETED 1000
static void remember_completion(s3_bucket *b, const char *id, const json_t *out) {
  if (!b->completed && !(b->completed = json_object()))
    return;
  if (json_object_size(b->completed) >= S3_MAX_COMPLETED)
    json_object_clear(b->completed);
  json_object_set_new(b->completed, id, json_deep_copy(out));
}

void s3_op_complete_multipart(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  json_t *parts = json_object_get(json_object_get(input, "MultipartUpload"), "Parts");
  if (!json_is_array(parts) || json_array_size(parts) == 0 ||
      json_array_size(parts) > S3_MAX_PARTS) {
    s3_fail_malformed_xml(call);
    return;
  }
  s3_lock(st);
  s3_bucket *b = s3_bucket_get(call, st, jsonutil_string(input, "Bucket"));
  if (!b)
    return;
  s3_cors_headers(call, b);
  const char *id = jsonutil_string(input, "UploadId"), *ukey = jsonutil_string(input, "Key");
  s3_upload *u = upload_find(b, id, ukey);
  json_t *done = id ? json_object_get(b->completed, id) : NULL;
  if (!u && done && ukey && strcmp(jsonutil_string(done, "Key"), ukey) == 0) {
    /* Completing again after success answers as the first completion did
     * (clients retry a completion whose answer they lost). */
    json_t *again = json_deep_copy(done);
    s3_unlock(st);
    aws_call_reply(call, again);
    return;
  }
  if (!u) {
    s3_unlock(st);
    s3_fail_no_upload(call, id);
    return;
  }
  if (s3_write_conditions(call, b, u->key, 0) < 0) {
    s3_unlock(st);
    return;
  }
  const char *code = NULL;
  char message[256] = "";
  json_t *fields = NULL;
  int last = 0;
  size_t count = json_array_size(parts), i;
  json_t *item;
  json_array_foreach(parts, i, item) {
    json_int_t num = json_integer_value(json_object_get(item, "PartNumber"));
    const char *etag = jsonutil_string(item, "ETag");
    if (num <= last) {
      code = "InvalidPartOrder";
      fields = json_pack("{s:s}", "UploadId", u->id);
      snprintf(message, sizeof(message),
               "The list of parts was not in ascending order. Parts "
               "must be ordered by part number.");
      break;
    }
    last = (int)num;
    s3_part *p = num <= S3_MAX_PARTS && u->parts ? &u->parts[num] : NULL;
    char want[48];
    if (p && p->present)
      s3_etag(want, sizeof(want), p->md5, 0);
    /* A part's checksum listed in the completion must be the one the part
     * was uploaded with: S3 answers a mismatch as it does a wrong ETag. */
    const char *listed_ck = p && p->present && p->ck_algo
                                ? jsonutil_string(item, s3_checksum_members[p->ck_algo])
                                : NULL;
    if (!p || !p->present || !etag || !s3_etag_listed(etag, want) ||
        (listed_ck && strcmp(listed_ck, p->checksum) != 0)) {
      code = "InvalidPart";
      /* S3's message has two spaces after the first sentence, and names
       * the ETag without its quotes. */
      snprintf(message, sizeof(message),
               "One or more of the specified parts could not be found.  The part may not have "
               "been uploaded, or the specified entity tag may not match the part's entity tag.");
      const char *bare = etag ? etag : "";
      size_t blen = strlen(bare);
      if (blen >= 2 && bare[0] == '"' && bare[blen - 1] == '"')
        bare++, blen -= 2;
      fields =
          json_pack("{s:I, s:s%, s:s}", "PartNumber", num, "ETag", bare, blen, "UploadId", u->id);
      break;
    }
    /* A composite checksum is made of the parts' checksums, which the
     * completion must list (the full-object one is computed from the bytes). */
    if (u->ck_algo != S3_CK_NONE && !u->ck_full_object &&
        !jsonutil_string(item, s3_checksum_members[u->ck_algo])) {
      char lower[16];
      lower_name(lower, sizeof(lower), u->ck_algo);
      code = "InvalidRequest";
      snprintf(message, sizeof(message),
               "The upload was created using a %s checksum. The complete request must include "
               "the checksum for each part. It was missing for part %d in the request.",
               lower, (int)num);
      break;
    }
  }
  /* Sizes are checked once every listed part is known to exist. */
  json_array_foreach(parts, i, item) {
    if (code)
      break;
    json_int_t num = json_integer_value(json_object_get(item, "PartNumber"));
    const char *etag = jsonutil_string(item, "ETag");
    const s3_part *p = &u->parts[num];
    if (i + 1 < count && p->size < S3_MIN_PART) {
      code = "EntityTooSmall";
      snprintf(message, sizeof(message),
               "Your proposed upload is smaller than the minimum allowed object size.");
      char sz[32];
      snprintf(sz, sizeof(sz), "%" PRIu64, p->size);
      fields = json_pack("{s:s, s:s, s:I, s:s}", "ProposedSize", sz, "MinSizeAllowed", "5242880",
                         "PartNumber", num, "ETag", etag);
      break;
    }
  }
  if (code) {
    s3_unlock(st);
    aws_call_fail_fields(call, 400, code, fields, "%s", message);
    return;
  }
  /* The object's checksum, when the upload declared an algorithm: of all
   * its bytes (FULL_OBJECT) or of the parts' checksums (COMPOSITE, "-N").
   * Computed from the part files here, whatever the parts were sent with. */
  s3_digest *ck = u->ck_algo ? s3_digest_new(u->ck_algo) : NULL;
  char checksum[96] = "";
  if (ck) {
    json_array_foreach(parts, i, item) {
      const s3_part *p = &u->parts[json_integer_value(json_object_get(item, "PartNumber"))];
      if (part_checksum(st, p, u->ck_algo, u->ck_full_object ? ck : NULL, ck) < 0) {
        s3_digest_free(ck);
        s3_unlock(st);
        aws_call_fail(call, 500, "InternalError", "Cannot read a part: %s", strerror(errno));
        return;
      }
    }
    unsigned char ignored[16];
    s3_digest_final(ck, ignored, checksum, sizeof(checksum));
    s3_digest_free(ck);
    if (!u->ck_full_object) {
      size_t n = strlen(checksum);
      snprintf(checksum + n, sizeof(checksum) - n, "-%zu", count);
    }
  }
  /* Concatenate the parts into the object's data file. */
  uint64_t file = 0, size = 0;
  int out_fd = s3_data_create(st, &file);
  s3_digest *md = s3_digest_new(S3_CK_NONE); /* the MD5 of the parts' MD5s */
  int rc = out_fd < 0 || !md ? -1 : 0;
  json_array_foreach(parts, i, item) {
    if (rc < 0)
      break;
    s3_part *p = &u->parts[json_integer_value(json_object_get(item, "PartNumber"))];
    s3_digest_update(md, p->md5, 16);
    if (p->size) {
      int in = s3_data_open(st, p->file);
      rc = in < 0 ? -1 : s3_copy_range(out_fd, in, 0, p->size);
      if (in >= 0)
        close(in);
    }
    size += p->size;
  }
  if (out_fd >= 0 && close(out_fd) < 0)
    rc = -1;
  unsigned char md5[16];
  char unused[96];
  if (rc == 0)
    s3_digest_final(md, md5, unused, sizeof(unused));
  s3_digest_free(md);
  s3_version *v = rc == 0 ? s3_version_new(b) : NULL;
  if (!v) {
    s3_unlock(st);
    if (file)
      s3_data_unlink(st, file);
    aws_call_fail(call, 500, "InternalError", "Cannot assemble the object: %s", strerror(errno));
    return;
  }
  if (size == 0) {
    s3_data_unlink(st, file);
    file = 0;
  }
  v->file = file;
  v->size = size;
  v->parts = (int)count;
  v->ck_algo = u->ck_algo;
  v->ck_composite = u->ck_algo && !u->ck_full_object;
  memcpy(v->checksum, checksum, sizeof(v->checksum));
  v->part_sizes = malloc(count * sizeof(uint64_t));
  /* Without them, partNumber reads fall back to the whole object. */
  if (v->part_sizes) {
    json_array_foreach(parts, i, item) {
      v->part_sizes[i] = u->parts[json_integer_value(json_object_get(item, "PartNumber"))].size;
    }
  }
  s3_etag(v->etag, sizeof(v->etag), md5, (int)count);
  v->attrs = json_incref(u->attrs);
  v->tags = json_incref(u->tags);
  v->acl = json_incref(u->acl);
  memcpy(v->owner, u->initiator, sizeof(v->owner)); /* the writer is who started it */
  char *key = strdup(u->key);
  if (!key || s3_version_install(st, b, u->key, v) < 0) {
    s3_unlock(st);
    free(key);
    s3_version_free(st, v, S3_DROP_DATA);
    s3_fail_oom(call);
    return;
  }
  unlink_upload(b, u);
  s3_upload_free(st, u);
  char location[2048];
  snprintf(location, sizeof(location), "%s/%s/%s", aws_call_endpoint(call), b->name, key);
  json_t *out = json_pack("{s:s, s:s, s:s, s:s}", "Location", location, "Bucket", b->name, "Key",
                          key, "ETag", v->etag);
  if (b->versioning == 1) /* a suspended bucket's "null" version goes unnamed */
    json_object_set_new(out, "VersionId", json_string(v->version_id));
  s3_lifecycle_output(out, b, key, v);
  s3_sse_output(out, v->attrs);
  if (v->ck_algo) {
    s3_checksum_output(call, out, v->ck_algo, v->checksum);
    s3_checksum_type_header(call, v->ck_composite);
  }
  remember_completion(b, id, out);
  delivery_s3_event(call, b->configs, b->name, key, v->size, v->etag,
                    b->versioning ? v->version_id : NULL, "ObjectCreated:CompleteMultipartUpload");
  s3_unlock(st);
  free(key);
  aws_call_reply(call, out);
}

void s3_op_abort_multipart(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  s3_bucket *b = NULL;
  s3_upload *u = lock_upload(call, input, &b);
  if (!u)
    return;
  unlink_upload(b, u);
  s3_upload_free(st, u);
  s3_unlock(st);
  aws_call_reply(call, NULL);
}

void s3_op_list_parts(aws_call *call, json_t *input) {
  if (!s3_max_keys_valid(call, input, "MaxParts"))
    return;
  s3_state *st = aws_call_state(call);
  s3_bucket *b = NULL;
  s3_upload *u = lock_upload(call, input, &b);
  if (!u)
    return;
  int max = s3_max_keys(input, "MaxParts");
  json_int_t marker = json_integer_value(json_object_get(input, "PartNumberMarker"));
  json_t *list = json_array();
  int truncated = 0, next = 0;
  for (int n = marker > 0 && marker <= S3_MAX_PARTS ? (int)marker + 1 : 1;
       u->parts && n <= S3_MAX_PARTS; n++) {
    s3_part *p = &u->parts[n];
    if (!p->present)
      continue;
    if ((int)json_array_size(list) >= max) {
      truncated = 1;
      break;
    }
    char etag[48];
    s3_etag(etag, sizeof(etag), p->md5, 0);
    json_array_append_new(list, json_pack("{s:i, s:o, s:s, s:I}", "PartNumber", n, "LastModified",
                                          aws_timestamp_json(p->mtime), "ETag", etag, "Size",
                                          (json_int_t)p->size));
    next = n;
  }
  json_t *out =
      json_pack("{s:s, s:s, s:s, s:I, s:i, s:i, s:b, s:o, s:o, s:s}", "Bucket", b->name, "Key",
                u->key, "UploadId", u->id, "PartNumberMarker",
                (json_int_t)(marker > 0 ? marker : 0), "NextPartNumberMarker", next, "MaxParts",
                max, "IsTruncated", truncated, "Owner", s3_upload_party_json(b, u, 0), "Initiator",
                s3_upload_party_json(b, u, 1), "StorageClass", "STANDARD");
  s3_unlock(st);
  if (json_array_size(list))
    json_object_set_new(out, "Parts", list);
  else
    json_decref(list);
  aws_call_reply(call, out);
}
