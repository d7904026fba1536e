/*
 * objattrs.c — reading an object by its parts: GetObjectAttributes (ETag,
 * checksum, parts with pagination, storage class, size) and the partNumber
 * of GetObject/HeadObject.
 *
 * A version completed from a multipart upload keeps its parts' sizes
 * (s3_version.part_sizes), so part N is a byte range of the assembled body:
 * GET ?partNumber=N answers it as a range (206, Content-Range), as S3 does.
 * An object uploaded in one piece is one part.
 */
#include "emulator/s3/s3_int.h"

#include "common/jsonutil.h"
#include "emulator/protocol/protocol.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int s3_part_range(aws_call *call, const s3_version *v, json_int_t n, uint64_t *start,
                  uint64_t *end) {
  int count = v->parts ? v->parts : 1;
  if (n < 1 || n > S3_MAX_PARTS) {
    aws_call_fail_fields(call, 400, "InvalidArgument",
                         json_pack("{s:s, s:I}", "ArgumentName", "partNumber", "ArgumentValue", n),
                         "Part number must be an integer between 1 and %d, inclusive",
                         S3_MAX_PARTS);
    return -1;
  }
  if (n > count) {
    char req[24], actual[24];
    snprintf(req, sizeof(req), "%lld", (long long)n);
    snprintf(actual, sizeof(actual), "%d", count);
    aws_call_fail_fields(
        call, 416, "InvalidPartNumber",
        json_pack("{s:s, s:s}", "PartNumberRequested", req, "ActualPartCount", actual),
        "The requested partnumber is not satisfiable");
    return -1;
  }
  uint64_t off = 0, len = v->size;
  if (v->parts && v->part_sizes) {
    for (json_int_t i = 1; i < n; i++)
      off += v->part_sizes[i - 1];
    len = v->part_sizes[n - 1];
  }
  *start = off;
  *end = len ? off + len - 1 : off;
  return 0;
}

/* Is name among the requested attributes (a header list or an array)? */
static int wants(const json_t *req, const char *name) {
  if (json_is_array(req)) {
    size_t i;
    json_t *item;
    json_array_foreach(req, i, item) {
      const char *s = json_string_value(item);
      const char *c = s, *it = NULL;
      size_t len = 0;
      while (s && s3_list_next(&c, &it, &len))
        if (len == strlen(name) && strncasecmp(it, name, len) == 0)
          return 1;
    }
    return 0;
  }
  const char *c = json_string_value(req), *it = NULL;
  size_t len = 0;
  while (c && s3_list_next(&c, &it, &len))
    if (len == strlen(name) && strncasecmp(it, name, len) == 0)
      return 1;
  return 0;
}

void s3_op_get_object_attributes(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *key = jsonutil_string(input, "Key"), *vid = jsonutil_string(input, "VersionId");
  json_t *req = json_object_get(input, "ObjectAttributes");
  static const char *const known[] = {"ETag", "Checksum", "ObjectParts", "StorageClass",
                                      "ObjectSize"};
  int any = 0;
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
    any |= wants(req, known[i]);
  if (!any) {
    aws_call_fail_fields(
        call, 400, "InvalidArgument",
        json_pack("{s:s, s:s}", "ArgumentName", "x-amz-object-attributes", "ArgumentValue", ""),
        "Invalid attribute name specified.");
    return;
  }
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b)
    return;
  int marker_only = 0;
  s3_version *v = s3_version_lookup(b, key ? key : "", vid, &marker_only);
  if (!v || v->delete_marker) {
    if (marker_only || (v && v->delete_marker))
      aws_call_header(call, "x-amz-delete-marker", "true");
    s3_unlock(st);
    if (v)
      s3_fail_delete_marker(call);
    else
      s3_fail_lookup(call, key ? key : "", vid);
    return;
  }
  if (s3_sse_read_check(call, v->attrs, input, "") < 0) {
    s3_unlock(st);
    return;
  }
  json_t *out = json_pack("{s:o}", "LastModified", aws_timestamp_json(v->mtime));
  if (b->versioning)
    json_object_set_new(out, "VersionId", json_string(v->version_id));
  if (wants(req, "ETag")) {
    /* Unquoted here, unlike everywhere else. */
    char etag[48];
    snprintf(etag, sizeof(etag), "%.*s", (int)strlen(v->etag) - 2, v->etag + 1);
    json_object_set_new(out, "ETag", json_string(etag));
  }
  if (wants(req, "Checksum") && v->ck_algo != S3_CK_NONE)
    json_object_set_new(out, "Checksum",
                        json_pack("{s:s}", s3_checksum_members[v->ck_algo], v->checksum));
  if (wants(req, "StorageClass")) {
    const char *sc = jsonutil_string(v->attrs, "StorageClass");
    json_object_set_new(out, "StorageClass", json_string(sc ? sc : "STANDARD"));
  }
  if (wants(req, "ObjectSize"))
    json_object_set_new(out, "ObjectSize", json_integer((json_int_t)v->size));
  if (wants(req, "ObjectParts") && v->parts) {
    int max = s3_max_keys(input, "MaxParts");
    json_int_t marker = json_integer_value(json_object_get(input, "PartNumberMarker"));
    if (marker < 0)
      marker = 0;
    json_t *parts = json_array();
    int next = (int)marker, truncated = 0;
    for (int n = (int)marker + 1; n <= v->parts; n++) {
      if ((int)json_array_size(parts) >= max) {
        truncated = 1;
        break;
      }
      json_array_append_new(parts,
                            json_pack("{s:i, s:I}", "PartNumber", n, "Size",
                                      (json_int_t)(v->part_sizes ? v->part_sizes[n - 1] : 0)));
      next = n;
    }
    json_t *op =
        json_pack("{s:i, s:I, s:i, s:i, s:b}", "TotalPartsCount", v->parts, "PartNumberMarker",
                  marker, "NextPartNumberMarker", next, "MaxParts", max, "IsTruncated", truncated);
    if (json_array_size(parts))
      json_object_set_new(op, "Parts", parts);
    else
      json_decref(parts);
    json_object_set_new(out, "ObjectParts", op);
  }
  s3_unlock(st);
  aws_call_reply(call, out);
}
