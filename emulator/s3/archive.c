/*
 * archive.c — the archive storage classes (GLACIER, DEEP_ARCHIVE) and
 * RestoreObject.
 *
 * An object written with an archive class keeps its bytes, but S3 refuses to
 * read it (GET, copy source: 403 InvalidObjectState) until a RestoreObject
 * makes a temporary copy available for the days asked for; HEAD always
 * works and tells the restore's state in x-amz-restore. AWS takes hours to
 * restore; the emulator completes a restore at once (as LocalStack and moto
 * do), so a client polling HeadObject for ongoing-request="false" finds it
 * on its first poll. The copy expires at midnight UTC after the days have
 * passed, as S3 rounds it, and the object is then archived again. Restoring
 * a restored object again sets a new expiry (200 instead of 202).
 */
#include "emulator/s3/s3_int.h"

#include "common/jsonutil.h"
#include "emulator/delivery/delivery.h"
#include "emulator/protocol/protocol.h"

#include <stdio.h>
#include <string.h>

#define S3_DAY 86400.0
#define S3_RESTORE_MAX_DAYS 2147483647

/* OUTPOSTS is S3 on Outposts' own: a regional bucket refuses it. */
static const char *const storage_classes[] = {
    "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA",      "INTELLIGENT_TIERING",
    "GLACIER",  "DEEP_ARCHIVE",       "GLACIER_IR",  "EXPRESS_ONEZONE",
};

int s3_storage_class_check(aws_call *call, const json_t *input) {
  const char *sc = jsonutil_string(input, "StorageClass");
  if (!sc)
    return 0;
  for (size_t i = 0; i < sizeof(storage_classes) / sizeof(storage_classes[0]); i++)
    if (strcmp(sc, storage_classes[i]) == 0)
      return 0;
  aws_call_fail_fields(call, 400, "InvalidStorageClass",
                       json_pack("{s:s}", "StorageClassRequested", sc),
                       "The storage class you specified is not valid");
  return -1;
}

/* The archive class of v ("GLACIER", "DEEP_ARCHIVE"), or NULL. */
static const char *archive_class(const s3_version *v) {
  const char *sc = jsonutil_string(v->attrs, "StorageClass");
  if (sc && (strcmp(sc, "GLACIER") == 0 || strcmp(sc, "DEEP_ARCHIVE") == 0))
    return sc;
  return NULL;
}

/* Is a restored copy of v available now? */
static int restored(const s3_version *v) { return v->restore_expiry > s3_now(); }

int s3_archive_read_check(aws_call *call, const s3_version *v, int copy_source) {
  const char *sc = archive_class(v);
  if (!sc || restored(v))
    return 0;
  aws_call_fail_fields(call, 403, "InvalidObjectState", json_pack("{s:s}", "StorageClass", sc),
                       copy_source ? "Operation is not valid for the source object's storage class"
                                   : "The operation is not valid for the object's storage class");
  return -1;
}

void s3_archive_output(json_t *out, const s3_version *v) {
  if (!archive_class(v) || !restored(v))
    return;
  char date[64], text[128];
  aws_timestamp_format(date, sizeof(date), v->restore_expiry, "rfc822");
  snprintf(text, sizeof(text), "ongoing-request=\"false\", expiry-date=\"%s\"", date);
  json_object_set_new(out, "Restore", json_string(text));
}

void s3_op_restore_object(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *key = jsonutil_string(input, "Key"),
             *version_id = jsonutil_string(input, "VersionId");
  const json_t *req = json_object_get(input, "RestoreRequest");
  const char *type = jsonutil_string(req, "Type");
  if (type && strcmp(type, "SELECT") == 0) {
    aws_call_fail(call, 501, "NotImplemented",
                  "airgap's emulator does not implement select restore requests (Type SELECT).");
    return;
  }
  json_t *days = json_object_get(req, "Days");
  if (days && (!json_is_integer(days) || json_integer_value(days) < 1 ||
               json_integer_value(days) > S3_RESTORE_MAX_DAYS)) {
    char value[32] = "";
    if (json_is_integer(days))
      snprintf(value, sizeof(value), "%" JSON_INTEGER_FORMAT, json_integer_value(days));
    aws_call_fail_fields(call, 400, "InvalidArgument",
                         json_pack("{s:s, s:s}", "ArgumentName", "Days", "ArgumentValue", value),
                         "Restore Days must be a positive number of days.");
    return;
  }
  const char *tier = jsonutil_string(json_object_get(req, "GlacierJobParameters"), "Tier");
  if (!tier)
    tier = jsonutil_string(req, "Tier");
  if (tier && strcmp(tier, "Standard") != 0 && strcmp(tier, "Bulk") != 0 &&
      strcmp(tier, "Expedited") != 0) {
    s3_fail_malformed_xml(call);
    return;
  }
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b)
    return;
  int marker_only = 0;
  s3_version *v = s3_version_lookup(b, key ? key : "", version_id, &marker_only);
  if (!v || v->delete_marker) {
    s3_unlock(st);
    if (v || marker_only)
      s3_fail_delete_marker(call);
    else
      s3_fail_lookup(call, key ? key : "", version_id);
    return;
  }
  const char *sc = archive_class(v);
  if (!sc) {
    s3_unlock(st);
    aws_call_fail_fields(call, 403, "InvalidObjectState",
                         json_pack("{s:s}", "StorageClass",
                                   jsonutil_string(v->attrs, "StorageClass")
                                       ? jsonutil_string(v->attrs, "StorageClass")
                                       : "STANDARD"),
                         "Restore is not allowed for the object's current storage class");
    return;
  }
  if (!days) {
    s3_unlock(st);
    aws_call_fail_fields(call, 400, "InvalidArgument",
                         json_pack("{s:s, s:s}", "ArgumentName", "Days", "ArgumentValue", "null"),
                         "Restore Days is required for an archived object.");
    return;
  }
  if (tier && strcmp(tier, "Expedited") == 0 && strcmp(sc, "DEEP_ARCHIVE") == 0) {
    s3_unlock(st);
    aws_call_fail(call, 400, "InvalidArgument",
                  "Expedited retrievals are not available for the DEEP_ARCHIVE storage class.");
    return;
  }
  int again = restored(v);
  /* S3 rounds the expiry up to the next midnight UTC. */
  double now = s3_now();
  double expiry = now + (double)json_integer_value(days) * S3_DAY;
  expiry = ((double)(long long)(expiry / S3_DAY) + 1.0) * S3_DAY;
  v->restore_expiry = expiry;
  /* The restore completes at once: both of S3's events, in their order. */
  const char *vid = strcmp(v->version_id, "null") ? v->version_id : NULL;
  delivery_s3_event(call, b->configs, b->name, key ? key : "", v->size, v->etag, vid,
                    "ObjectRestore:Post");
  delivery_s3_event(call, b->configs, b->name, key ? key : "", v->size, v->etag, vid,
                    "ObjectRestore:Completed");
  s3_unlock(st);
  aws_call_reply_data(call, NULL, again ? 200 : 202, "", 0);
}
