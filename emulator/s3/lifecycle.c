/*
 * lifecycle.c — what a bucket's lifecycle configuration tells about one
 * object: S3 answers PutObject, CopyObject, CompleteMultipartUpload, POST
 * Object, GetObject and HeadObject with x-amz-expiration (expiry-date and
 * rule-id) when an enabled rule's Expiration covers the object, and tools
 * read it to show when an upload will go.
 *
 * Rules match as S3 documents: the rule's Prefix or its Filter (Prefix, Tag,
 * object size bounds, or an And of them; an empty Filter matches every
 * object). A rule with Days expires the object at the first midnight UTC
 * after creation plus that many days, one with a Date at that date; when
 * several match, the earliest expiry is reported. The emulator reports
 * expirations but does not carry them out (README: lifecycle expiry is not
 * emulated), so the header only tells what S3 would do.
 */
#include "emulator/s3/s3_int.h"

#include "common/jsonutil.h"
#include "emulator/protocol/protocol.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 when the tag set holds key=value. */
static int has_tag(const json_t *tags, const json_t *tag) {
  const char *k = jsonutil_string(tag, "Key"), *val = jsonutil_string(tag, "Value");
  size_t i;
  json_t *t;
  json_array_foreach(tags, i, t) {
    const char *tk = jsonutil_string(t, "Key"), *tv = jsonutil_string(t, "Value");
    if (k && tk && strcmp(k, tk) == 0 && (!val || (tv && strcmp(val, tv) == 0)))
      return 1;
  }
  return 0;
}

/* 1 when the conditions of one filter level (Prefix, Tag/Tags, object size
 * bounds) all hold for the object. */
static int conditions_hold(const json_t *f, const char *key, const s3_version *v) {
  const char *prefix = jsonutil_string(f, "Prefix");
  if (prefix && strncmp(key, prefix, strlen(prefix)) != 0)
    return 0;
  const json_t *tag = json_object_get(f, "Tag");
  if (tag && !has_tag(v->tags, tag))
    return 0;
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(f, "Tags"), i, t) {
    if (!has_tag(v->tags, t))
      return 0;
  }
  json_t *gt = json_object_get(f, "ObjectSizeGreaterThan");
  if (gt && !(v->size > (uint64_t)json_integer_value(gt)))
    return 0;
  json_t *lt = json_object_get(f, "ObjectSizeLessThan");
  if (lt && !(v->size < (uint64_t)json_integer_value(lt)))
    return 0;
  return 1;
}

static int rule_matches(const json_t *rule, const char *key, const s3_version *v) {
  const json_t *filter = json_object_get(rule, "Filter");
  if (!filter) /* the older form: a Prefix on the rule itself */
    return conditions_hold(rule, key, v);
  const json_t *and = json_object_get(filter, "And");
  return conditions_hold(filter, key, v) && (!and || conditions_hold(and, key, v));
}

void s3_lifecycle_output(json_t *out, const s3_bucket *b, const char *key, const s3_version *v) {
  const json_t *rules =
      json_object_get(json_object_get(b->configs, "LifecycleConfiguration"), "Rules");
  if (!json_array_size(rules) || !v || v->delete_marker)
    return;
  /* Expiration is about the current version; noncurrent ones have rules of
   * their own, which S3 does not report in this header. */
  const s3_key *k = s3_key_find(b, key);
  if (!k || k->versions != v)
    return;
  double best = 0;
  const char *best_id = NULL;
  size_t i;
  json_t *rule;
  json_array_foreach(rules, i, rule) {
    const char *status = jsonutil_string(rule, "Status");
    const json_t *exp = json_object_get(rule, "Expiration");
    if (!status || strcmp(status, "Enabled") != 0 || !exp || !rule_matches(rule, key, v))
      continue;
    double when = 0;
    json_t *days = json_object_get(exp, "Days");
    json_t *date = json_object_get(exp, "Date");
    if (days && json_integer_value(days) > 0) {
      /* Creation plus the days, rounded up to the next midnight UTC. */
      double day,
          part = modf((v->mtime + 86400.0 * (double)json_integer_value(days)) / 86400.0, &day);
      when = (day + (part > 0)) * 86400.0;
    } else if (!date || aws_timestamp_value(&when, date) < 0) {
      continue; /* ExpiredObjectDeleteMarker alone: nothing to report */
    }
    if (!best_id || when < best) {
      best = when;
      best_id = jsonutil_string(rule, "ID");
    }
  }
  if (!best_id)
    return;
  char date[64];
  aws_timestamp_format(date, sizeof(date), best, "rfc822");
  char *id = s3_url_encode(best_id);
  if (!id)
    return;
  char text[1024];
  snprintf(text, sizeof(text), "expiry-date=\"%s\", rule-id=\"%s\"", date, id);
  free(id);
  json_object_set_new(out, "Expiration", json_string(text));
}
