/*
 * object.c — S3 objects: PutObject, GetObject and HeadObject (with HTTP
 * conditions and byte ranges), DeleteObject and DeleteObjects (versions and
 * delete markers), object tagging and ACLs.
 *
 * A GET looks the version up under the lock and takes what it sends before
 * letting go: an open descriptor of the data file (data files are never
 * modified, and an overwrite only unlinks) or a copy of an in-memory body (an
 * overwrite frees it). The body is then sent outside the lock, by sendfile
 * for files, so a slow reader holds nothing up.
 */
#include "emulator/s3/s3_int.h"

#include "common/jsonutil.h"
#include "emulator/delivery/delivery.h"
#include "emulator/protocol/protocol.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- conditions and ranges ---- */

int s3_etag_listed(const char *list, const char *etag) {
  const char *e = etag;
  size_t elen = strlen(e);
  if (elen >= 2 && e[0] == '"') {
    e++;
    elen -= 2;
  }
  const char *s = NULL;
  size_t l = 0;
  for (const char *c = list; s3_list_next(&c, &s, &l);) {
    if (l >= 2 && s[0] == 'W' && s[1] == '/')
      s += 2, l -= 2;
    if (l >= 2 && s[0] == '"' && s[l - 1] == '"')
      s++, l -= 2;
    if ((l == 1 && s[0] == '*') || (l == elen && strncmp(s, e, l) == 0))
      return 1;
  }
  return 0;
}

int s3_check_conditions(const json_t *input, const char *prefix, const char *etag, double mtime) {
  char name[64];
  snprintf(name, sizeof(name), "%sIfMatch", prefix);
  const char *if_match = jsonutil_string(input, name);
  snprintf(name, sizeof(name), "%sIfNoneMatch", prefix);
  const char *if_none = jsonutil_string(input, name);
  double t;
  snprintf(name, sizeof(name), "%sIfUnmodifiedSince", prefix);
  int has_unmod = aws_timestamp_value(&t, json_object_get(input, name)) == 0;
  double unmod = t;
  snprintf(name, sizeof(name), "%sIfModifiedSince", prefix);
  int has_mod = aws_timestamp_value(&t, json_object_get(input, name)) == 0;
  double mod = t;
  int not_modified = *prefix ? 412 : 304;
  if (if_match && !s3_etag_listed(if_match, etag))
    return 412;
  if (!if_match && has_unmod && mtime > unmod)
    return 412;
  if (if_none && s3_etag_listed(if_none, etag))
    return not_modified;
  if (!if_none && has_mod && mtime <= mod)
    return not_modified;
  return 0;
}

int s3_parse_range(const char *text, uint64_t size, uint64_t *start, uint64_t *end) {
  if (!text || strncmp(text, "bytes=", 6) != 0)
    return 0;
  const char *p = text + 6;
  if (strchr(p, ','))
    return 0; /* multiple ranges: S3 serves the whole object */
  char *e1 = NULL, *e2 = NULL;
  if (*p == '-') {
    if (!isdigit((unsigned char)p[1]))
      return 0;
    errno = 0;
    unsigned long long n = strtoull(p + 1, &e1, 10);
    if (*e1 || errno)
      return 0;
    if (n == 0 || size == 0)
      return -1;
    *start = n >= size ? 0 : size - n;
    *end = size - 1;
    return 1;
  }
  if (!isdigit((unsigned char)*p))
    return 0;
  errno = 0;
  unsigned long long a = strtoull(p, &e1, 10);
  if (*e1 != '-' || errno)
    return 0;
  unsigned long long b = UINT64_MAX;
  if (e1[1]) {
    if (!isdigit((unsigned char)e1[1]))
      return 0;
    b = strtoull(e1 + 1, &e2, 10);
    if (*e2 || errno)
      return 0;
    if (b < a)
      return 0;
  }
  if (a >= size)
    return -1;
  *start = a;
  *end = b >= size ? size - 1 : b;
  return 1;
}

/* ---- objects ---- */

int s3_key_valid(aws_call *call, const char *key) {
  if (!key || !*key) {
    aws_call_fail(call, 400, "InvalidArgument", "An object key must not be empty.");
    return 0;
  }
  if (strlen(key) > S3_MAX_KEY) {
    aws_call_fail_fields(
        call, 400, "KeyTooLongError",
        json_pack("{s:I, s:i}", "Size", (json_int_t)strlen(key), "MaxSizeAllowed", S3_MAX_KEY),
        "Your key is too long");
    return 0;
  }
  return 1;
}

/* PutObject output members for a stored version. */
static json_t *write_output(aws_call *call, const s3_bucket *b, const char *key,
                            const s3_version *v) {
  json_t *out = json_pack("{s:s}", "ETag", v->etag);
  /* A suspended bucket's writes are its "null" version, which S3 does not
   * name in the answer (reads do). */
  if (b->versioning == 1)
    json_object_set_new(out, "VersionId", json_string(v->version_id));
  s3_lifecycle_output(out, b, key, v);
  if (v->ck_algo != S3_CK_NONE) {
    s3_checksum_output(call, out, v->ck_algo, v->checksum);
    s3_checksum_type_header(call, v->ck_composite);
  }
  s3_sse_output(out, v->attrs);
  return out;
}

void s3_op_put_object(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *key = jsonutil_string(input, "Key");
  if (!s3_key_valid(call, key))
    return;
  char ssec[64];
  if (s3_sse_check(call, input, ssec, sizeof(ssec)) < 0 || s3_lock_check_put(call, input) < 0 ||
      s3_storage_class_check(call, input) < 0 || s3_attrs_check(call, input) < 0)
    return;
  s3_bucket *pre = s3_bucket_lock(call, input);
  if (!pre)
    return;
  /* Conditions first: a write that cannot succeed does not read its body. */
  int refused = s3_write_conditions(call, pre, key, 0);
  if (refused == 0)
    refused = s3_sse_kms_check(call, pre, input, ssec);
  s3_unlock(st);
  if (refused < 0)
    return;
  json_t *tags = NULL;
  if (s3_tags_from_input(call, input, &tags) < 0)
    return;
  s3_body r;
  if (s3_ingest(st, call, input, 1, &r) < 0) {
    json_decref(tags);
    return;
  }
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b) {
    s3_data_unlink(st, r.file);
    s3_inline_free(st, r.data, r.size);
    json_decref(tags);
    return;
  }
  int conflict = s3_write_conditions(call, b, key, 1) < 0;
  s3_version *v = conflict ? NULL : s3_version_new(b);
  if (!v) {
    s3_unlock(st);
    s3_data_unlink(st, r.file);
    s3_inline_free(st, r.data, r.size);
    json_decref(tags);
    if (!conflict)
      s3_fail_oom(call);
    return;
  }
  v->file = r.file;
  v->data = r.data;
  v->size = r.size;
  s3_etag(v->etag, sizeof(v->etag), r.md5, 0);
  v->attrs = s3_attrs_from_input(input);
  v->tags = tags;
  v->acl = s3_acl_from_input(call, input);
  snprintf(v->owner, sizeof(v->owner), "%s", aws_call_account(call));
  v->ck_algo = r.ck_algo;
  memcpy(v->checksum, r.checksum, sizeof(v->checksum));
  s3_sse_apply(call, b, input, ssec, v->attrs);
  if (s3_lock_apply(call, b, input, v->attrs) < 0) {
    s3_unlock(st);
    s3_version_free(st, v, S3_DROP_DATA);
    return;
  }
  if (s3_version_install(st, b, key, v) < 0) {
    s3_unlock(st);
    s3_version_free(st, v, S3_DROP_DATA);
    s3_fail_oom(call);
    return;
  }
  json_t *out = write_output(call, b, key, v);
  delivery_s3_event(call, b->configs, b->name, key, v->size, v->etag,
                    b->versioning ? v->version_id : NULL, "ObjectCreated:Put");
  s3_unlock(st);
  aws_call_reply(call, out);
}

s3_version *s3_version_lookup(const s3_bucket *b, const char *key, const char *version_id,
                              int *marker_only) {
  *marker_only = 0;
  s3_key *k = s3_key_find(b, key);
  if (!k)
    return NULL;
  if (!version_id) {
    if (k->versions->delete_marker) {
      *marker_only = 1;
      return NULL;
    }
    return k->versions;
  }
  for (s3_version *v = k->versions; v; v = v->next)
    if (strcmp(v->version_id, version_id) == 0)
      return v;
  return NULL;
}

int s3_version_id_valid(const char *version_id) {
  if (strcmp(version_id, "null") == 0)
    return 1;
  size_t n = strlen(version_id);
  if (n != S3_VERSION_ID_LEN)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)version_id[i]) && !strchr("._-", version_id[i]))
      return 0;
  return 1;
}

void s3_fail_bad_version_id(aws_call *call, const char *argument, const char *version_id) {
  aws_call_fail_fields(
      call, 400, "InvalidArgument",
      json_pack("{s:s, s:s}", "ArgumentName", argument, "ArgumentValue", version_id),
      "Invalid version id specified");
}

/* A version id other than "null" names nothing in a bucket that never had
 * versioning, and S3 refuses it as an argument rather than a lookup. */
static int version_id_foreign(const s3_bucket *b, const char *version_id) {
  return version_id && !b->versioning && strcmp(version_id, "null") != 0;
}

void s3_fail_lookup(aws_call *call, const char *key, const char *version_id) {
  if (version_id && !s3_version_id_valid(version_id))
    s3_fail_bad_version_id(call, "versionId", version_id);
  else if (version_id)
    aws_call_fail_fields(call, 404, "NoSuchVersion",
                         json_pack("{s:s, s:s}", "Key", key, "VersionId", version_id),
                         "The specified version does not exist.");
  else
    s3_fail_no_key(call, key);
}

/* GetObject / HeadObject output for a version. */
static json_t *object_output(aws_call *call, const s3_bucket *b, const s3_version *v,
                             const json_t *input) {
  json_t *out = json_deep_copy(v->attrs);
  json_object_set_new(out, "ETag", json_string(v->etag));
  json_object_set_new(out, "LastModified", aws_timestamp_json(v->mtime));
  json_object_set_new(out, "AcceptRanges", json_string("bytes"));
  if (!json_object_get(out, "ContentType"))
    json_object_set_new(out, "ContentType", json_string("binary/octet-stream"));
  if (b->versioning)
    json_object_set_new(out, "VersionId", json_string(v->version_id));
  s3_archive_output(out, v);
  s3_lifecycle_output(out, b, jsonutil_string(input, "Key"), v);
  if (v->tags && json_array_size(v->tags)) {
    json_object_set_new(out, "TagCount", json_integer((json_int_t)json_array_size(v->tags)));
    /* S3 sends the count on HEAD too, though HeadObject's model has no
     * member for it. */
    if (strcmp(aws_call_operation(call), "HeadObject") == 0) {
      char n[24];
      snprintf(n, sizeof(n), "%zu", json_array_size(v->tags));
      aws_call_header(call, "x-amz-tagging-count", n);
    }
  }
  if (v->parts && json_object_get(input, "PartNumber"))
    json_object_set_new(out, "PartsCount", json_integer(v->parts));
  const char *mode = jsonutil_string(input, "ChecksumMode");
  /* A checksum covers the whole object: not sent with part of it (the
   * CRC64NVME header cannot be taken back once the range is known). */
  int partial = json_object_get(input, "Range") || json_object_get(input, "PartNumber");
  if (v->ck_algo != S3_CK_NONE && mode && strcasecmp(mode, "ENABLED") == 0 &&
      !(partial && v->ck_algo == S3_CK_CRC64NVME)) {
    s3_checksum_output(call, out, v->ck_algo, v->checksum);
    if (!partial)
      s3_checksum_type_header(call, v->ck_composite);
  }
  static const char *const overrides[][2] = {
      {"ResponseCacheControl", "CacheControl"},
      {"ResponseContentDisposition", "ContentDisposition"},
      {"ResponseContentEncoding", "ContentEncoding"},
      {"ResponseContentLanguage", "ContentLanguage"},
      {"ResponseContentType", "ContentType"},
      {"ResponseExpires", "Expires"},
  };
  for (size_t i = 0; i < sizeof(overrides) / sizeof(overrides[0]); i++) {
    json_t *o = json_object_get(input, overrides[i][0]);
    if (o)
      json_object_set(out, overrides[i][1], o);
  }
  return out;
}

/* Headers that choose an encryption at rest belong to writes: S3 refuses a
 * read that sends one (400), as the GetObject and HeadObject docs say. 0, or
 * -1 after answering. */
static int read_sse_headers_refused(aws_call *call) {
  static const char *const names[] = {
      "x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id",
      "x-amz-server-side-encryption-context", "x-amz-server-side-encryption-bucket-key-enabled"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    const char *value = s3_header(call, names[i]);
    if (!value)
      continue;
    aws_call_fail_fields(call, 400, "InvalidArgument",
                         json_pack("{s:s, s:s}", "ArgumentName", names[i], "ArgumentValue", value),
                         "%s header is not supported for this operation.", names[i]);
    return -1;
  }
  return 0;
}

void s3_op_get_object(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *key = jsonutil_string(input, "Key"),
             *version_id = jsonutil_string(input, "VersionId");
  if (read_sse_headers_refused(call) < 0)
    return;
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b)
    return;
  if (version_id_foreign(b, version_id)) {
    s3_unlock(st);
    s3_fail_bad_version_id(call, "versionId", version_id);
    return;
  }
  int marker_only = 0;
  s3_version *v = s3_version_lookup(b, key ? key : "", version_id, &marker_only);
  if (marker_only) {
    /* The current version is a delete marker: 404 that says so. */
    s3_key *k = s3_key_find(b, key ? key : "");
    aws_call_header(call, "x-amz-delete-marker", "true");
    if (k)
      aws_call_header(call, "x-amz-version-id", k->versions->version_id);
  }
  if (!v) {
    s3_unlock(st);
    s3_fail_lookup(call, key ? key : "", version_id);
    return;
  }
  if (v->delete_marker) {
    aws_call_header(call, "x-amz-delete-marker", "true");
    aws_call_header(call, "x-amz-version-id", v->version_id);
    s3_unlock(st);
    s3_fail_delete_marker(call);
    return;
  }
  if (s3_sse_read_check(call, v->attrs, input, "") < 0 ||
      (strcmp(aws_call_operation(call), "GetObject") == 0 &&
       s3_archive_read_check(call, v, 0) < 0)) {
    s3_unlock(st);
    return;
  }
  json_t *out = object_output(call, b, v, input);
  int cond = s3_check_conditions(input, "", v->etag, v->mtime);
  uint64_t size = v->size, start = 0, end = size ? size - 1 : 0;
  int ranged = s3_parse_range(jsonutil_string(input, "Range"), size, &start, &end);
  json_t *part = json_object_get(input, "PartNumber");
  if (part && jsonutil_string(input, "Range")) {
    s3_unlock(st);
    json_decref(out);
    aws_call_fail(call, 400, "InvalidRequest",
                  "Cannot specify both Range header and partNumber query parameter");
    return;
  }
  if (part && !cond) {
    if (s3_part_range(call, v, json_integer_value(part), &start, &end) < 0) {
      s3_unlock(st);
      json_decref(out);
      return;
    }
    ranged = 1;
  }
  int fd = -1;
  char *copy = NULL; /* an in-memory body, copied: an overwrite may free it once we unlock */
  if (!cond && v->file) {
    fd = s3_data_open(st, v->file);
    if (fd < 0) {
      s3_unlock(st);
      json_decref(out);
      aws_call_fail(call, 500, "InternalError", "Cannot open the object's data file: %s",
                    strerror(errno));
      return;
    }
  } else if (!cond && v->data) {
    copy = malloc((size_t)size);
    if (!copy) {
      s3_unlock(st);
      json_decref(out);
      s3_fail_oom(call);
      return;
    }
    memcpy(copy, v->data, (size_t)size);
  }
  s3_unlock(st);
  if (cond == 412) {
    json_decref(out);
    if (fd >= 0)
      close(fd);
    free(copy);
    s3_fail_precondition(call,
                         jsonutil_string(input, "IfMatch") ? "If-Match" : "If-Unmodified-Since");
    return;
  }
  if (cond == 304) {
    json_t *slim = json_pack("{s:O, s:O}", "ETag", json_object_get(out, "ETag"), "LastModified",
                             json_object_get(out, "LastModified"));
    json_decref(out);
    aws_call_reply_fd(call, slim, 304, -1, 0, 0);
    return;
  }
  if (ranged < 0) { /* HEAD too: S3 answers 416, without a body */
    json_decref(out);
    if (fd >= 0)
      close(fd);
    free(copy);
    char actual[32];
    snprintf(actual, sizeof(actual), "%" PRIu64, size);
    aws_call_fail_fields(call, 416, "InvalidRange",
                         json_pack("{s:s, s:s}", "RangeRequested", jsonutil_string(input, "Range"),
                                   "ActualObjectSize", actual),
                         "The requested range is not satisfiable");
    return;
  }
  int status = 200;
  if (ranged > 0) {
    /* A checksum covers the whole object: not sent with part of it. */
    if (v->ck_algo != S3_CK_NONE)
      json_object_del(out, s3_checksum_members[v->ck_algo]);
    char cr[96];
    snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start, end, size);
    json_object_set_new(out, "ContentRange", json_string(cr));
    /* HeadObject's model (botocore 1.29) has no ContentRange member. */
    if (strcmp(aws_call_operation(call), "HeadObject") == 0)
      aws_call_header(call, "Content-Range", cr);
    status = 206;
  } else {
    start = 0;
    end = size ? size - 1 : 0;
  }
  uint64_t len = size ? end - start + 1 : 0;
  json_object_set_new(out, "ContentLength", json_integer((json_int_t)len));
  if (copy) {
    aws_call_reply_data(call, out, status, copy + start, (size_t)len);
    free(copy);
    return;
  }
  aws_call_reply_fd(call, out, status, fd, start, len);
}

/* x-amz-bypass-governance-retention (even "false") only on Object Lock
 * buckets. 0, or -1 after answering. */
static int bypass_applicable(aws_call *call, const s3_bucket *b, const json_t *input) {
  if (b->object_lock || !json_object_get(input, "BypassGovernanceRetention"))
    return 0;
  aws_call_fail_fields(call, 400, "InvalidArgument",
                       json_pack("{s:s}", "ArgumentName", "x-amz-bypass-governance-retention"),
                       "x-amz-bypass-governance-retention is only applicable to Object Lock "
                       "enabled buckets.");
  return -1;
}

/* delete_one's answer for a version Object Lock protects. */
#define S3_DELETE_LOCKED (-2)

/* Removes a version or adds a delete marker, per the bucket's versioning.
 * Fills *out with the DeleteObject output members. Under the lock. */
static int delete_one(s3_state *st, s3_bucket *b, const char *key, const char *version_id,
                      int bypass, json_t *out) {
  s3_key *k = s3_key_find(b, key);
  if (version_id) {
    if (!k)
      return 0;
    for (s3_version **pv = &k->versions; *pv; pv = &(*pv)->next) {
      if (strcmp((*pv)->version_id, version_id) == 0) {
        s3_version *v = *pv;
        if (s3_lock_protects(v, bypass))
          return S3_DELETE_LOCKED;
        *pv = v->next;
        if (v->delete_marker)
          json_object_set_new(out, "DeleteMarker", json_true());
        s3_version_free(st, v, S3_DOOM_DATA);
        break;
      }
    }
    json_object_set_new(out, "VersionId", json_string(version_id));
    s3_key_remove_if_empty(b, key);
    return 0;
  }
  if (!b->versioning) {
    if (k) {
      while (k->versions) {
        s3_version *v = k->versions;
        k->versions = v->next;
        s3_version_free(st, v, S3_DOOM_DATA);
      }
      s3_key_remove_if_empty(b, key);
    }
    return 0;
  }
  s3_version *marker = s3_version_new(b);
  if (!marker)
    return -1;
  marker->delete_marker = 1;
  marker->attrs = json_object();
  if (s3_version_install(st, b, key, marker) < 0) {
    s3_version_free(st, marker, S3_KEEP_DATA);
    return -1;
  }
  json_object_set_new(out, "DeleteMarker", json_true());
  json_object_set_new(out, "VersionId", json_string(marker->version_id));
  return 0;
}

void s3_op_delete_object(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *key = jsonutil_string(input, "Key");
  const char *vid = jsonutil_string(input, "VersionId");
  if (vid && !s3_version_id_valid(vid)) {
    s3_fail_bad_version_id(call, "versionId", vid);
    return;
  }
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b)
    return;
  if (version_id_foreign(b, vid)) {
    s3_unlock(st);
    s3_fail_bad_version_id(call, "versionId", vid);
    return;
  }
  if (bypass_applicable(call, b, input) < 0 || s3_delete_conditions(call, b, key ? key : "") < 0) {
    s3_unlock(st);
    return;
  }
  json_t *out = json_object();
  int rc = delete_one(st, b, key ? key : "", jsonutil_string(input, "VersionId"),
                      s3_lock_bypass(call, input), out);
  if (rc == 0)
    delivery_s3_event(
        call, b->configs, b->name, key ? key : "", 0, NULL, jsonutil_string(out, "VersionId"),
        json_is_true(json_object_get(out, "DeleteMarker")) && !jsonutil_string(input, "VersionId")
            ? "ObjectRemoved:DeleteMarkerCreated"
            : "ObjectRemoved:Delete");
  s3_unlock(st);
  if (rc == S3_DELETE_LOCKED) {
    json_decref(out);
    aws_call_fail(call, 403, "AccessDenied",
                  "Access Denied because object protected by object lock.");
    return;
  }
  if (rc < 0) {
    json_decref(out);
    s3_fail_oom(call);
    return;
  }
  aws_call_reply(call, out);
}

void s3_op_delete_objects(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  if (s3_verify_parsed_body(call) < 0)
    return;
  json_t *objects = json_object_get(json_object_get(input, "Delete"), "Objects");
  int quiet = json_is_true(json_object_get(json_object_get(input, "Delete"), "Quiet"));
  if (!json_is_array(objects) || json_array_size(objects) == 0 ||
      json_array_size(objects) > S3_MAX_DELETE) {
    s3_fail_malformed_xml(call);
    return;
  }
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b)
    return;
  if (bypass_applicable(call, b, input) < 0) {
    s3_unlock(st);
    return;
  }
  json_t *deleted = json_array(), *errors = json_array();
  size_t i;
  json_t *item;
  json_array_foreach(objects, i, item) {
    const char *key = jsonutil_string(item, "Key");
    const char *vid = jsonutil_string(item, "VersionId");
    json_t *res = json_object();
    if (!key || !*key || strlen(key) > S3_MAX_KEY) {
      json_array_append_new(errors, json_pack("{s:s, s:s, s:s}", "Key", key ? key : "", "Code",
                                              "InvalidArgument", "Message", "Invalid key"));
      json_decref(res);
      continue;
    }
    if ((vid && !s3_version_id_valid(vid)) || version_id_foreign(b, vid)) {
      json_array_append_new(errors, json_pack("{s:s, s:s, s:s, s:s}", "Key", key, "VersionId", vid,
                                              "Code", "NoSuchVersion", "Message",
                                              "The specified version does not exist."));
      json_decref(res);
      continue;
    }
    int rc = delete_one(st, b, key, vid, s3_lock_bypass(call, input), res);
    if (rc == S3_DELETE_LOCKED) {
      json_t *e = json_pack("{s:s, s:s, s:s}", "Key", key, "Code", "AccessDenied", "Message",
                            "Access Denied because object protected by object lock.");
      json_object_set_new(e, "VersionId", json_string(vid));
      json_array_append_new(errors, e);
      json_decref(res);
      continue;
    }
    if (rc < 0) {
      json_array_append_new(errors, json_pack("{s:s, s:s, s:s}", "Key", key, "Code",
                                              "InternalError", "Message", "out of memory"));
      json_decref(res);
      continue;
    }
    /* One event per key deleted, as DeleteObject would send it. */
    delivery_s3_event(call, b->configs, b->name, key, 0, NULL, jsonutil_string(res, "VersionId"),
                      json_is_true(json_object_get(res, "DeleteMarker")) && !vid
                          ? "ObjectRemoved:DeleteMarkerCreated"
                          : "ObjectRemoved:Delete");
    if (quiet) {
      json_decref(res);
      continue;
    }
    json_t *d = json_pack("{s:s}", "Key", key);
    if (vid)
      json_object_set_new(d, "VersionId", json_string(vid));
    if (json_is_true(json_object_get(res, "DeleteMarker"))) {
      json_object_set_new(d, "DeleteMarker", json_true());
      json_object_set(d, "DeleteMarkerVersionId", json_object_get(res, "VersionId"));
    }
    json_array_append_new(deleted, d);
    json_decref(res);
  }
  s3_unlock(st);
  json_t *out = json_object();
  if (json_array_size(deleted))
    json_object_set_new(out, "Deleted", deleted);
  else
    json_decref(deleted);
  if (json_array_size(errors))
    json_object_set_new(out, "Errors", errors);
  else
    json_decref(errors);
  aws_call_reply(call, out);
}

/* Object sub-resources: tagging and ACL. */
void s3_op_object_subresource(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *op = aws_call_operation(call);
  const char *key = jsonutil_string(input, "Key"), *vid = jsonutil_string(input, "VersionId");
  if (strcmp(op, "PutObjectTagging") == 0) {
    json_t *set = json_object_get(json_object_get(input, "Tagging"), "TagSet");
    if (!json_is_array(set)) {
      s3_fail_malformed_xml(call);
      return;
    }
    if (!s3_tags_valid(call, set, S3_MAX_OBJECT_TAGS))
      return;
  }
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b)
    return;
  int marker_only = 0;
  s3_version *v = s3_version_lookup(b, key ? key : "", vid, &marker_only);
  if (!v || v->delete_marker) {
    s3_unlock(st);
    if (v || marker_only) {
      s3_fail_delete_marker(call);
    } else if (!vid && strcmp(op, "GetObjectTagging") == 0) {
      /* S3 names a missing key of GetObjectTagging with its bucket. */
      char *path = NULL;
      if (asprintf(&path, "%s/%s", jsonutil_string(input, "Bucket"), key ? key : "") < 0) {
        s3_fail_oom(call);
        return;
      }
      s3_fail_no_key(call, path);
      free(path);
    } else {
      s3_fail_lookup(call, key ? key : "", vid);
    }
    return;
  }
  json_t *out = json_object();
  if (strcmp(op, "PutObjectTagging") == 0) {
    json_decref(v->tags);
    v->tags = json_deep_copy(json_object_get(json_object_get(input, "Tagging"), "TagSet"));
  } else if (strcmp(op, "GetObjectTagging") == 0) {
    json_object_set_new(out, "TagSet", v->tags ? json_deep_copy(v->tags) : json_array());
  } else if (strcmp(op, "DeleteObjectTagging") == 0) {
    json_decref(v->tags);
    v->tags = NULL;
  } else if (strcmp(op, "PutObjectAcl") == 0) {
    json_t *acl = s3_acl_from_input(call, input);
    if (acl) {
      json_decref(v->acl);
      v->acl = acl;
    }
  } else {
    json_decref(out);
    out = s3_object_acl_output(b, v);
  }
  if (b->versioning && strcmp(op, "GetObjectAcl") != 0 && strcmp(op, "PutObjectAcl") != 0)
    json_object_set_new(out, "VersionId", json_string(v->version_id));
  s3_unlock(st);
  aws_call_reply(call, out);
}
