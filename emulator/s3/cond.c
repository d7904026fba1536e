/*
 * cond.c — conditional writes and deletes (S3, 2024–2025): If-None-Match: *
 * and If-Match on PutObject and CompleteMultipartUpload, If-Match on
 * DeleteObject.
 *
 * The headers are read raw: the S3 model of Debian's botocore (1.29) has no
 * IfMatch/IfNoneMatch members on those operations, and clients that know them
 * send plain HTTP headers anyway. A write checks its conditions twice: before
 * it reads the body (a failure answers 412 at once, as S3 does) and again
 * under the lock just before the new version is installed; a condition that
 * held then and fails now means another request changed the key meanwhile,
 * which S3 answers with 409 ConditionalRequestConflict.
 */
#include "emulator/s3/s3_int.h"

#include <string.h>

/* The current, live version of key; NULL when none (or a delete marker). */
static const s3_version *current(const s3_bucket *b, const char *key) {
  const s3_key *k = s3_key_find(b, key);
  return k && !k->versions->delete_marker ? k->versions : NULL;
}

/* The object changed between the upload's creation and its completion. */
static void fail_conflict(aws_call *call, const char *condition, const char *key) {
  aws_call_fail_fields(call, 409, "ConditionalRequestConflict",
                       json_pack("{s:s, s:s}", "Condition", condition, "Key", key),
                       "The conditional request cannot succeed due to a conflicting operation "
                       "against this resource.");
}

/* 501 NotImplemented for a conditional header S3 does not take on writes. */
static void fail_header(aws_call *call, const char *header, const char *detail) {
  aws_call_fail_fields(call, 501, "NotImplemented",
                       json_pack("{s:s, s:s}", "Header", header, "additionalMessage", detail),
                       "A header you provided implies functionality that is not implemented");
}

int s3_write_conditions(aws_call *call, const s3_bucket *b, const char *key, int conflict) {
  const char *if_none = s3_header(call, "If-None-Match");
  const char *if_match = s3_header(call, "If-Match");
  if (!if_none && !if_match)
    return 0;
  if (if_none && if_match) {
    fail_header(call, "If-Match,If-None-Match",
                "Multiple conditional request headers present in the request");
    return -1;
  }
  if (if_none && strcmp(if_none, "*") != 0) {
    fail_header(call, "If-None-Match",
                "We don't accept the provided value of If-None-Match header for this API");
    return -1;
  }
  if (if_match && strcmp(if_match, "*") == 0) {
    fail_header(call, "If-Match",
                "We don't accept the provided value of If-Match header for this API");
    return -1;
  }
  const s3_version *v = current(b, key);
  const char *failed = NULL;
  if (if_none && v)
    failed = "If-None-Match";
  else if (if_match && v && !s3_etag_listed(if_match, v->etag))
    failed = "If-Match";
  if (if_match && !v && !failed) {
    if (conflict)
      fail_conflict(call, "If-Match", key);
    else
      s3_fail_no_key(call, key);
    return -1;
  }
  if (!failed)
    return 0;
  if (conflict)
    fail_conflict(call, failed, key);
  else
    s3_fail_precondition(call, failed);
  return -1;
}

int s3_delete_conditions(aws_call *call, const s3_bucket *b, const char *key) {
  const char *if_match = s3_header(call, "If-Match");
  if (!if_match)
    return 0;
  const s3_version *v = current(b, key);
  if (!v) {
    s3_fail_no_key(call, key);
    return -1;
  }
  if (!s3_etag_listed(if_match, v->etag)) {
    s3_fail_precondition(call, "If-Match");
    return -1;
  }
  return 0;
}
