/*
 * copy.c — CopyObject, and the copy source it shares with UploadPartCopy
 * (x-amz-copy-source with its own conditions).
 *
 * A copy never reads the bytes through user space when it can help it: a
 * whole data file is hard-linked (data files are immutable), a range is
 * copied in the kernel (copy_file_range), and an in-memory body is copied in
 * memory while the budget allows (store.c, s3_body_clone). All of it happens
 * under the lock, so the source cannot change half-way.
 */
#include "emulator/s3/s3_int.h"

#include "common/http_server.h"
#include "common/jsonutil.h"
#include "emulator/delivery/delivery.h"
#include "emulator/protocol/protocol.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* "bucket/key[?versionId=v]" (URL-encoded, optional leading '/'). */
static int parse_copy_source(const char *src, char **bucket, char **key, char **version) {
  *bucket = *key = *version = NULL;
  if (!src)
    return -1;
  if (*src == '/')
    src++;
  size_t plen = strcspn(src, "?");
  if (src[plen] == '?' && strncmp(src + plen + 1, "versionId=", 10) == 0) {
    *version = http_percent_decode(src + plen + 11, strlen(src + plen + 11), 0, 1, NULL);
    if (!*version)
      return -1;
  }
  char *path = http_percent_decode(src, plen, 0, 1, NULL);
  if (!path)
    goto fail;
  char *slash = strchr(path, '/');
  if (!slash || slash == path || !slash[1]) {
    free(path);
    goto fail;
  }
  *slash = '\0';
  *bucket = strdup(path);
  *key = strdup(slash + 1);
  free(path);
  if (!*bucket || !*key)
    goto fail;
  return 0;
fail:
  free(*bucket);
  free(*key);
  free(*version);
  *bucket = *key = *version = NULL;
  return -1;
}

s3_version *s3_copy_source_lock(aws_call *call, const json_t *input, char **src_bucket,
                                char **src_key, char **src_version) {
  s3_state *st = aws_call_state(call);
  if (parse_copy_source(jsonutil_string(input, "CopySource"), src_bucket, src_key, src_version) <
      0) {
    aws_call_fail(call, 400, "InvalidArgument",
                  "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
    return NULL;
  }
  s3_lock(st);
  s3_bucket *sb = s3_bucket_get(call, st, *src_bucket);
  if (!sb)
    return NULL;
  int marker_only = 0;
  s3_version *sv = s3_version_lookup(sb, *src_key, *src_version, &marker_only);
  if (!sv || sv->delete_marker) {
    s3_unlock(st);
    if (sv)
      aws_call_fail(call, 400, "InvalidRequest",
                    "The source of a copy request may not specifically refer to a delete marker "
                    "by version id.");
    else
      s3_fail_lookup(call, *src_key, *src_version);
    return NULL;
  }
  if (s3_check_conditions(input, "CopySource", sv->etag, sv->mtime)) {
    /* S3 names the header whose condition failed. */
    const char *if_match = jsonutil_string(input, "CopySourceIfMatch");
    const char *if_none = jsonutil_string(input, "CopySourceIfNoneMatch");
    const char *failed = "x-amz-copy-source-If-Modified-Since";
    if (if_match && !s3_etag_listed(if_match, sv->etag))
      failed = "x-amz-copy-source-If-Match";
    else if (if_none && s3_etag_listed(if_none, sv->etag))
      failed = "x-amz-copy-source-If-None-Match";
    else if (!if_match && json_object_get(input, "CopySourceIfUnmodifiedSince") &&
             !(if_none && !json_object_get(input, "CopySourceIfModifiedSince")))
      failed = "x-amz-copy-source-If-Unmodified-Since";
    s3_unlock(st);
    s3_fail_precondition(call, failed);
    return NULL;
  }
  if (s3_sse_read_check(call, sv->attrs, input, "CopySource") < 0 ||
      s3_archive_read_check(call, sv, 1) < 0) {
    s3_unlock(st);
    return NULL;
  }
  return sv;
}

/* A metadata or tagging directive is COPY or REPLACE; anything else is
 * refused before the source is read, as S3 does. Returns 1 when it failed. */
static int directive_invalid(aws_call *call, const char *value, const char *header,
                             const char *what) {
  if (!value || strcmp(value, "COPY") == 0 || strcmp(value, "REPLACE") == 0)
    return 0;
  aws_call_fail_fields(call, 400, "InvalidArgument",
                       json_pack("{s:s, s:s}", "ArgumentName", header, "ArgumentValue", value),
                       "Unknown %s directive.", what);
  return 1;
}

void s3_op_copy_object(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *bucket = jsonutil_string(input, "Bucket"), *key = jsonutil_string(input, "Key");
  if (!s3_key_valid(call, key))
    return;
  char *sbucket = NULL, *skey = NULL, *sversion = NULL;
  json_t *tags = NULL;
  const char *tdir = jsonutil_string(input, "TaggingDirective");
  int replace_tags = tdir && strcmp(tdir, "REPLACE") == 0;
  const char *directive = jsonutil_string(input, "MetadataDirective");
  int replace = directive && strcmp(directive, "REPLACE") == 0;
  if (directive_invalid(call, directive, "x-amz-metadata-directive", "metadata") ||
      directive_invalid(call, tdir, "x-amz-tagging-directive", "tagging"))
    return;
  char ssec[64];
  if (s3_sse_check(call, input, ssec, sizeof(ssec)) < 0 || s3_lock_check_put(call, input) < 0 ||
      s3_storage_class_check(call, input) < 0 || s3_attrs_check(call, input) < 0)
    return;
  if (replace_tags && s3_tags_from_input(call, input, &tags) < 0)
    return;
  s3_version *sv = s3_copy_source_lock(call, input, &sbucket, &skey, &sversion);
  if (!sv)
    goto cleanup;
  s3_bucket *b = s3_bucket_get(call, st, bucket);
  if (!b)
    goto cleanup;
  s3_cors_headers(call, b);
  /* The destination's access and ACL rules, as s3_bucket_lock applies them. */
  if (s3_access_check(call, input, st, b) < 0)
    goto cleanup;
  if (s3_ownership_check_write(call, b, input) < 0) {
    s3_unlock(st);
    goto cleanup;
  }
  /* Conditional writes apply to the destination too (If-None-Match: *,
   * If-Match); the copy happens under this same lock, so no conflict. */
  if (s3_write_conditions(call, b, key, 0) < 0 || s3_sse_kms_check(call, b, input, ssec) < 0) {
    s3_unlock(st);
    goto cleanup;
  }
  if (!replace && strcmp(sbucket, bucket) == 0 && strcmp(skey, key) == 0 && !sversion &&
      !json_object_get(input, "StorageClass") && !json_object_get(input, "ServerSideEncryption") &&
      !json_object_get(input, "WebsiteRedirectLocation") && !ssec[0]) {
    s3_unlock(st);
    aws_call_fail(call, 400, "InvalidRequest",
                  "This copy request is illegal because it is trying to copy an object to itself "
                  "without changing the object's metadata, storage class, website redirect "
                  "location or encryption attributes.");
    goto cleanup;
  }
  uint64_t file = 0;
  char *data = NULL;
  int cloned = s3_body_clone(st, sv, 0, sv->size, 1, &file, &data);
  s3_version *v = cloned < 0 ? NULL : s3_version_new(b);
  if (!v) {
    int saved = errno;
    uint64_t size = sv->size; /* sv may go once the lock is released */
    s3_unlock(st);
    s3_data_unlink(st, file);
    s3_inline_free(st, data, size);
    aws_call_fail(call, 500, "InternalError", "Cannot copy the object's data: %s", strerror(saved));
    goto cleanup;
  }
  v->file = file;
  v->data = data;
  v->size = sv->size;
  memcpy(v->etag, sv->etag, sizeof(v->etag));
  v->parts = sv->parts;
  if (sv->part_sizes && (v->part_sizes = malloc((size_t)sv->parts * sizeof(uint64_t))))
    memcpy(v->part_sizes, sv->part_sizes, (size_t)sv->parts * sizeof(uint64_t));
  v->ck_algo = sv->ck_algo;
  memcpy(v->checksum, sv->checksum, sizeof(v->checksum));
  if (replace) {
    v->attrs = s3_attrs_from_input(input);
  } else {
    v->attrs = json_deep_copy(sv->attrs);
    /* The storage class is not copied: STANDARD unless the request names one. */
    json_t *sc = json_object_get(input, "StorageClass");
    json_t *redirect = json_object_get(input, "WebsiteRedirectLocation");
    if (redirect) /* a request's redirect applies under COPY too */
      json_object_set(v->attrs, "WebsiteRedirectLocation", redirect);
    if (sc && strcmp(json_string_value(sc), "STANDARD") != 0)
      json_object_set(v->attrs, "StorageClass", sc);
    else
      json_object_del(v->attrs, "StorageClass");
  }
  v->tags = replace_tags ? json_incref(tags) : json_incref(sv->tags);
  v->acl = s3_acl_from_input(call, input);
  snprintf(v->owner, sizeof(v->owner), "%s", aws_call_account(call));
  /* A copy is encrypted and locked as its request and bucket say, never as
   * its source was. */
  s3_sse_apply(call, b, input, ssec, v->attrs);
  if (s3_lock_apply(call, b, input, v->attrs) < 0) {
    s3_unlock(st);
    s3_version_free(st, v, S3_DROP_DATA);
    goto cleanup;
  }
  const char *copied_version = sversion ? sversion : sv->version_id;
  json_t *out = json_object();
  s3_bucket *sb = s3_bucket_find(st, sbucket);
  if (sb && sb->versioning)
    json_object_set_new(out, "CopySourceVersionId", json_string(copied_version));
  if (s3_version_install(st, b, key, v) < 0) {
    s3_unlock(st);
    s3_version_free(st, v, S3_DROP_DATA);
    json_decref(out);
    s3_fail_oom(call);
    goto cleanup;
  }
  if (b->versioning == 1) /* a suspended bucket's "null" version goes unnamed */
    json_object_set_new(out, "VersionId", json_string(v->version_id));
  s3_lifecycle_output(out, b, key, v);
  delivery_s3_event(call, b->configs, b->name, key, v->size, v->etag,
                    b->versioning ? v->version_id : NULL, "ObjectCreated:Copy");
  json_t *result =
      json_pack("{s:s, s:o}", "ETag", v->etag, "LastModified", aws_timestamp_json(v->mtime));
  if (v->ck_algo != S3_CK_NONE)
    s3_checksum_output(call, result, v->ck_algo, v->checksum);
  json_object_set_new(out, "CopyObjectResult", result);
  s3_sse_output(out, v->attrs);
  s3_unlock(st);
  aws_call_reply(call, out);
cleanup:
  json_decref(tags);
  free(sbucket);
  free(skey);
  free(sversion);
}
