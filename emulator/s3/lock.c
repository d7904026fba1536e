/*
 * lock.c — S3 Object Lock: buckets created with it (versioning on, an
 * ObjectLockConfiguration), the bucket's default retention, a version's
 * retention (GOVERNANCE or COMPLIANCE until a date) and legal hold, and the
 * deletes they refuse.
 *
 * A version's lock lives in its attrs as the output members GetObject and
 * HeadObject answer with (ObjectLockMode, ObjectLockRetainUntilDate,
 * ObjectLockLegalHoldStatus), so reads echo them without more code; this file
 * is what writes and checks them. Only deletes of a specific version are
 * refused: a delete without a version id adds a delete marker, which S3
 * allows on locked objects.
 */
#include "emulator/s3/s3_int.h"

#include "common/jsonutil.h"
#include "emulator/protocol/protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const lock_members[] = {"ObjectLockMode", "ObjectLockRetainUntilDate",
                                           "ObjectLockLegalHoldStatus", NULL};

static int mode_valid(const char *m) {
  return m && (strcmp(m, "GOVERNANCE") == 0 || strcmp(m, "COMPLIANCE") == 0);
}

static int hold_valid(const char *s) {
  return s && (strcmp(s, "ON") == 0 || strcmp(s, "OFF") == 0);
}

static void fail_missing_config(aws_call *call) {
  aws_call_fail(call, 400, "InvalidRequest", "Bucket is missing Object Lock Configuration");
}

static int integrity_given(aws_call *call) {
  const char *unused = NULL;
  return s3_header(call, "Content-MD5") || s3_checksum_declared(call, &unused) != S3_CK_NONE ||
         s3_header(call, "x-amz-sdk-checksum-algorithm") || s3_header(call, "x-amz-trailer");
}

/* PutObjectLockConfiguration, PutObjectRetention and PutObjectLegalHold
 * need an integrity header (the model marks them httpChecksumRequired, and
 * S3 refuses them without one); the body must match it. 0, or -1 after
 * answering. */
static int integrity_checked(aws_call *call, const char *what) {
  if (!integrity_given(call)) {
    aws_call_fail(call, 400, "InvalidRequest",
                  "Content-MD5 OR x-amz-checksum- HTTP header is required for %s requests", what);
    return -1;
  }
  return s3_verify_parsed_body(call);
}

int s3_lock_check_put(aws_call *call, const json_t *input) {
  const char *mode = jsonutil_string(input, "ObjectLockMode");
  json_t *until = json_object_get(input, "ObjectLockRetainUntilDate");
  const char *hold = jsonutil_string(input, "ObjectLockLegalHoldStatus");
  if (!mode && !until && !hold)
    return 0;
  if ((mode != NULL) != (until != NULL)) {
    aws_call_fail(call, 400, "InvalidArgument",
                  "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be "
                  "supplied");
    return -1;
  }
  if (mode && !mode_valid(mode)) {
    aws_call_fail_fields(
        call, 400, "InvalidArgument",
        json_pack("{s:s, s:s}", "ArgumentName", "x-amz-object-lock-mode", "ArgumentValue", mode),
        "Unknown wormMode directive.");
    return -1;
  }
  double t = 0;
  if (until && (aws_timestamp_value(&t, until) < 0 || t <= s3_now())) {
    aws_call_fail(call, 400, "InvalidArgument", "The retain until date must be in the future!");
    return -1;
  }
  if (hold && !hold_valid(hold)) {
    aws_call_fail_fields(call, 400, "InvalidArgument",
                         json_pack("{s:s, s:s}", "ArgumentName", "x-amz-object-lock-legal-hold",
                                   "ArgumentValue", hold),
                         "Legal Hold must be either of 'ON' or 'OFF'");
    return -1;
  }
  /* S3 insists on an integrity header for writes that lock what they write. */
  if (strcmp(aws_call_operation(call), "PutObject") == 0 && !integrity_given(call)) {
    aws_call_fail(call, 400, "InvalidRequest",
                  "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests "
                  "with Object Lock parameters");
    return -1;
  }
  return 0;
}

int s3_lock_apply(aws_call *call, const s3_bucket *b, const json_t *input, json_t *attrs) {
  for (size_t i = 0; lock_members[i]; i++)
    json_object_del(attrs, lock_members[i]);
  const char *mode = jsonutil_string(input, "ObjectLockMode");
  json_t *until = json_object_get(input, "ObjectLockRetainUntilDate");
  const char *hold = jsonutil_string(input, "ObjectLockLegalHoldStatus");
  if ((mode || until || hold) && !b->object_lock) {
    fail_missing_config(call);
    return -1;
  }
  if (!b->object_lock)
    return 0;
  if (mode && until) {
    json_object_set_new(attrs, "ObjectLockMode", json_string(mode));
    json_object_set(attrs, "ObjectLockRetainUntilDate", until);
  } else {
    json_t *dr = json_object_get(
        json_object_get(json_object_get(b->configs, "ObjectLockConfiguration"), "Rule"),
        "DefaultRetention");
    const char *dmode = jsonutil_string(dr, "Mode");
    json_int_t days = json_integer_value(json_object_get(dr, "Days"));
    json_int_t years = json_integer_value(json_object_get(dr, "Years"));
    if (dmode && (days > 0 || years > 0)) {
      double t = s3_now() + (double)(days > 0 ? days : years * 365) * 86400.0;
      json_object_set_new(attrs, "ObjectLockMode", json_string(dmode));
      json_object_set_new(attrs, "ObjectLockRetainUntilDate", aws_timestamp_json(t));
    }
  }
  if (hold)
    json_object_set_new(attrs, "ObjectLockLegalHoldStatus", json_string(hold));
  return 0;
}

int s3_lock_protects(const s3_version *v, int bypass) {
  if (v->delete_marker)
    return 0;
  const char *hold = jsonutil_string(v->attrs, "ObjectLockLegalHoldStatus");
  if (hold && strcmp(hold, "ON") == 0)
    return 1;
  const char *mode = jsonutil_string(v->attrs, "ObjectLockMode");
  double until = 0;
  if (!mode ||
      aws_timestamp_value(&until, json_object_get(v->attrs, "ObjectLockRetainUntilDate")) < 0 ||
      until <= s3_now())
    return 0;
  return strcmp(mode, "COMPLIANCE") == 0 || !bypass;
}

int s3_lock_bypass(aws_call *call, const json_t *input) {
  (void)call;
  return json_is_true(json_object_get(input, "BypassGovernanceRetention"));
}

/* ---- the bucket's configuration ---- */

void s3_op_put_object_lock_config(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  if (integrity_checked(call, "Put Object Lock Configuration") < 0)
    return;
  json_t *cfg = json_object_get(input, "ObjectLockConfiguration");
  const char *enabled = jsonutil_string(cfg, "ObjectLockEnabled");
  json_t *rule = json_object_get(cfg, "Rule");
  json_t *dr = json_object_get(rule, "DefaultRetention");
  if (!cfg || (enabled && strcmp(enabled, "Enabled") != 0) || (rule && !dr)) {
    s3_fail_malformed_xml(call);
    return;
  }
  if (dr) {
    json_t *days = json_object_get(dr, "Days"), *years = json_object_get(dr, "Years");
    if (!mode_valid(jsonutil_string(dr, "Mode")) || (days && years) || (!days && !years)) {
      s3_fail_malformed_xml(call);
      return;
    }
    json_t *n = days ? days : years;
    if (json_integer_value(n) <= 0) {
      aws_call_fail(call, 400, "InvalidArgument",
                    "Default retention period must be a positive integer value.");
      return;
    }
  }
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b)
    return;
  if (!b->object_lock && b->versioning != 1) {
    s3_unlock(st);
    aws_call_fail(call, 409, "InvalidBucketState",
                  "Versioning must be 'Enabled' on the bucket to apply a Object Lock "
                  "configuration");
    return;
  }
  if (!enabled) {
    s3_unlock(st);
    s3_fail_malformed_xml(call);
    return;
  }
  b->object_lock = 1;
  json_object_set(b->configs, "ObjectLockConfiguration", cfg);
  s3_unlock(st);
  aws_call_reply(call, NULL);
}

void s3_op_get_object_lock_config(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b)
    return;
  json_t *cfg = json_object_get(b->configs, "ObjectLockConfiguration");
  if (!cfg) {
    s3_unlock(st);
    aws_call_fail_fields(call, 404, "ObjectLockConfigurationNotFoundError",
                         json_pack("{s:s}", "BucketName", jsonutil_string(input, "Bucket")),
                         "Object Lock configuration does not exist for this bucket");
    return;
  }
  json_t *out = json_pack("{s:O}", "ObjectLockConfiguration", cfg);
  s3_unlock(st);
  aws_call_reply(call, out);
}

/* ---- a version's retention and legal hold ---- */

/* Under the lock: input's version in a lock-enabled bucket; on failure
 * answers, unlocks and returns NULL. */
static s3_version *locked_version(aws_call *call, const json_t *input) {
  s3_state *st = aws_call_state(call);
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b)
    return NULL;
  if (!b->object_lock) {
    s3_unlock(st);
    fail_missing_config(call);
    return NULL;
  }
  const char *key = jsonutil_string(input, "Key"), *vid = jsonutil_string(input, "VersionId");
  int marker_only = 0;
  s3_version *v = s3_version_lookup(b, key ? key : "", vid, &marker_only);
  if (!v || v->delete_marker) {
    s3_unlock(st);
    if (v)
      s3_fail_delete_marker(call);
    else
      s3_fail_lookup(call, key ? key : "", vid);
    return NULL;
  }
  return v;
}

static void fail_no_lock(aws_call *call) {
  aws_call_fail(call, 404, "NoSuchObjectLockConfiguration",
                "The specified object does not have a ObjectLock configuration");
}

void s3_op_put_object_retention(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  if (integrity_checked(call, "Put Object Retention") < 0)
    return;
  json_t *ret = json_object_get(input, "Retention");
  const char *mode = jsonutil_string(ret, "Mode");
  json_t *until = json_object_get(ret, "RetainUntilDate");
  double t = 0;
  if (!ret || (mode && !mode_valid(mode)) || (!mode != !until) ||
      (until && aws_timestamp_value(&t, until) < 0)) {
    s3_fail_malformed_xml(call);
    return;
  }
  if (until && t <= s3_now()) {
    aws_call_fail(call, 400, "InvalidArgument", "The retain until date must be in the future!");
    return;
  }
  s3_version *v = locked_version(call, input);
  if (!v)
    return;
  const char *old_mode = jsonutil_string(v->attrs, "ObjectLockMode");
  double old_until = 0;
  int active = old_mode &&
               aws_timestamp_value(&old_until,
                                   json_object_get(v->attrs, "ObjectLockRetainUntilDate")) == 0 &&
               old_until > s3_now();
  /* Extending a retention is always allowed; shortening, removing or changing
   * its mode is not for COMPLIANCE, and needs the bypass for GOVERNANCE. */
  int weakens = active && (!mode || t < old_until || strcmp(mode, old_mode) != 0);
  if (weakens && (strcmp(old_mode, "COMPLIANCE") == 0 || !s3_lock_bypass(call, input))) {
    s3_unlock(st);
    aws_call_fail(call, 403, "AccessDenied",
                  "Access Denied because object protected by object lock.");
    return;
  }
  if (mode) {
    json_object_set_new(v->attrs, "ObjectLockMode", json_string(mode));
    json_object_set(v->attrs, "ObjectLockRetainUntilDate", until);
  } else {
    json_object_del(v->attrs, "ObjectLockMode");
    json_object_del(v->attrs, "ObjectLockRetainUntilDate");
  }
  s3_unlock(st);
  aws_call_reply(call, NULL);
}

void s3_op_get_object_retention(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  s3_version *v = locked_version(call, input);
  if (!v)
    return;
  json_t *mode = json_object_get(v->attrs, "ObjectLockMode");
  if (!mode) {
    s3_unlock(st);
    fail_no_lock(call);
    return;
  }
  json_t *out = json_pack("{s:{s:O, s:O}}", "Retention", "Mode", mode, "RetainUntilDate",
                          json_object_get(v->attrs, "ObjectLockRetainUntilDate"));
  s3_unlock(st);
  aws_call_reply(call, out);
}

void s3_op_put_object_legal_hold(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  if (integrity_checked(call, "Put Object Legal Hold") < 0)
    return;
  const char *status = jsonutil_string(json_object_get(input, "LegalHold"), "Status");
  if (!hold_valid(status)) {
    s3_fail_malformed_xml(call);
    return;
  }
  s3_version *v = locked_version(call, input);
  if (!v)
    return;
  json_object_set_new(v->attrs, "ObjectLockLegalHoldStatus", json_string(status));
  s3_unlock(st);
  aws_call_reply(call, NULL);
}

void s3_op_get_object_legal_hold(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  s3_version *v = locked_version(call, input);
  if (!v)
    return;
  json_t *status = json_object_get(v->attrs, "ObjectLockLegalHoldStatus");
  if (!status) {
    s3_unlock(st);
    fail_no_lock(call);
    return;
  }
  json_t *out = json_pack("{s:{s:O}}", "LegalHold", "Status", status);
  s3_unlock(st);
  aws_call_reply(call, out);
}
