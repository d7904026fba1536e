/*
 * cors.c — CORS as S3 answers it, from the bucket's CORS configuration
 * (PutBucketCors): preflight OPTIONS requests, and the Access-Control-*
 * headers of ordinary requests that carry an Origin.
 *
 * S3 takes the first rule whose AllowedOrigins match the Origin (each
 * pattern may hold one '*'), whose AllowedMethods hold the method (the
 * Access-Control-Request-Method of a preflight, else the request's own) and,
 * for a preflight, whose AllowedHeaders match every requested header (case
 * does not matter). A preflight with no matching rule, or to a bucket
 * without a configuration, is a 403 AccessForbidden; an ordinary request
 * without one simply gets no CORS headers. A rule allowing the origin "*"
 * is answered with "*" and without credentials; any other with the Origin
 * echoed and Access-Control-Allow-Credentials: true.
 */
#include "emulator/s3/s3_int.h"

#include "common/dynbuf.h"
#include "common/http_server.h"
#include "common/jsonutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define S3_CORS_VARY "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
#define S3_CORS_MAX_HEADERS 8192 /* Access-Control-Request-Headers we echo */

/* Does text[0, len) match pattern, where pattern may hold one '*' standing
 * for any run of characters? fold: compare without case (header names). */
static int wildcard_match(const char *pattern, const char *text, size_t len, int fold) {
  const char *star = strchr(pattern, '*');
  int (*cmp)(const char *, const char *, size_t) = fold ? strncasecmp : strncmp;
  if (!star)
    return strlen(pattern) == len && cmp(pattern, text, len) == 0;
  size_t head = (size_t)(star - pattern), tail = strlen(star + 1);
  if (head + tail > len)
    return 0;
  return cmp(pattern, text, head) == 0 && cmp(star + 1, text + len - tail, tail) == 0;
}

static int list_matches(const json_t *patterns, const char *text, size_t len, int fold) {
  size_t i;
  json_t *p;
  json_array_foreach(patterns, i, p) {
    const char *s = json_string_value(p);
    if (s && wildcard_match(s, text, len, fold))
      return 1;
  }
  return 0;
}

static int list_has(const json_t *list, const char *text) {
  size_t i;
  json_t *m;
  json_array_foreach(list, i, m) {
    if (json_string_value(m) && strcmp(json_string_value(m), text) == 0)
      return 1;
  }
  return 0;
}

/* The first rule of the bucket's configuration that allows origin, method
 * and (when not NULL) every header of the requested list. Borrowed; NULL when
 * none. Under the lock. */
static const json_t *find_rule(const s3_bucket *b, const char *origin, const char *method,
                               const char *requested) {
  const json_t *rules =
      json_object_get(json_object_get(b->configs, "CORSConfiguration"), "CORSRules");
  size_t i;
  json_t *rule;
  json_array_foreach(rules, i, rule) {
    if (!list_matches(json_object_get(rule, "AllowedOrigins"), origin, strlen(origin), 0) ||
        !list_has(json_object_get(rule, "AllowedMethods"), method))
      continue;
    const char *cursor = requested, *item;
    size_t len;
    int all = 1;
    while (all && s3_list_next(&cursor, &item, &len))
      all = list_matches(json_object_get(rule, "AllowedHeaders"), item, len, 1);
    if (all)
      return rule;
  }
  return NULL;
}

/* Sets header name to list's strings joined with ", " (nothing when empty). */
static void header_of_list(aws_call *call, const char *name, const json_t *list) {
  dynbuf b;
  dynbuf_init(&b, S3_CORS_MAX_HEADERS);
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    if (json_string_value(v))
      dynbuf_printf(&b, "%s%s", b.len ? ", " : "", json_string_value(v));
  }
  if (b.len && !dynbuf_failed(&b))
    aws_call_header(call, name, b.data);
  dynbuf_free(&b);
}

/* The Access-Control-* headers of a matching rule, on whatever the call
 * answers next. requested: a preflight's Access-Control-Request-Headers. */
static void add_rule_headers(aws_call *call, const json_t *rule, const char *origin,
                             const char *requested) {
  int wildcard = list_has(json_object_get(rule, "AllowedOrigins"), "*");
  aws_call_header(call, "Access-Control-Allow-Origin", wildcard ? "*" : origin);
  if (!wildcard)
    aws_call_header(call, "Access-Control-Allow-Credentials", "true");
  aws_call_header(call, "Vary", S3_CORS_VARY);
  header_of_list(call, "Access-Control-Allow-Methods", json_object_get(rule, "AllowedMethods"));
  /* S3 answers the requested headers, lower-cased, as the allowed ones. */
  dynbuf b;
  dynbuf_init(&b, S3_CORS_MAX_HEADERS);
  const char *cursor = requested, *item;
  size_t len;
  while (s3_list_next(&cursor, &item, &len)) {
    if (b.len)
      dynbuf_append(&b, ", ", 2);
    for (size_t k = 0; k < len; k++) {
      char c = (char)tolower((unsigned char)item[k]);
      dynbuf_append(&b, &c, 1);
    }
  }
  if (b.len && !dynbuf_failed(&b))
    aws_call_header(call, "Access-Control-Allow-Headers", b.data);
  dynbuf_free(&b);
  header_of_list(call, "Access-Control-Expose-Headers", json_object_get(rule, "ExposeHeaders"));
  json_t *age = json_object_get(rule, "MaxAgeSeconds");
  if (json_is_integer(age)) {
    char text[32];
    snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(age));
    aws_call_header(call, "Access-Control-Max-Age", text);
  }
}

void s3_cors_headers(aws_call *call, const s3_bucket *b) {
  http_request *req = aws_call_http(call);
  const char *origin = http_request_header(req, "Origin");
  if (!origin || !*origin)
    return;
  const json_t *rule = find_rule(b, origin, http_request_method(req), NULL);
  if (rule)
    add_rule_headers(call, rule, origin, NULL);
}

static void fail_forbidden(aws_call *call, const char *method, const char *type,
                           const char *message) {
  aws_call_fail_fields(call, 403, "AccessForbidden",
                       json_pack("{s:s, s:s}", "Method", method, "ResourceType", type),
                       "CORSResponse: %s", message);
}

void s3_op_cors_preflight(aws_call *call, json_t *input) {
  http_request *req = aws_call_http(call);
  const char *origin = http_request_header(req, "Origin");
  const char *method = http_request_header(req, "Access-Control-Request-Method");
  const char *requested = http_request_header(req, "Access-Control-Request-Headers");
  if (!origin || !*origin) {
    aws_call_fail(call, 400, "BadRequest",
                  "Insufficient information. Origin request header needed.");
    return;
  }
  if (!method || !*method) {
    aws_call_fail(call, 400, "BadRequest", "Invalid Access-Control-Request-Method: null");
    return;
  }
  static const char *const methods[] = {"GET", "PUT", "HEAD", "POST", "DELETE"};
  int known = 0;
  for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
    known |= strcmp(method, methods[i]) == 0;
  if (!known) {
    aws_call_fail(call, 400, "BadRequest", "Invalid Access-Control-Request-Method: %s", method);
    return;
  }
  s3_state *st = aws_call_state(call);
  s3_lock(st);
  const s3_bucket *b = s3_bucket_find(st, jsonutil_string(input, "Bucket"));
  if (!b) {
    s3_unlock(st);
    fail_forbidden(call, method, "BUCKET", "Bucket not found");
    return;
  }
  if (!json_object_get(b->configs, "CORSConfiguration")) {
    s3_unlock(st);
    fail_forbidden(call, method, "BUCKET", "CORS is not enabled for this bucket.");
    return;
  }
  const json_t *rule = find_rule(b, origin, method, requested);
  if (rule)
    add_rule_headers(call, rule, origin, requested);
  s3_unlock(st);
  if (!rule) {
    fail_forbidden(call, method, "OBJECT",
                   "This CORS request is not allowed. This is usually because the evalution of "
                   "Origin, request method / Access-Control-Request-Method or "
                   "Access-Control-Request-Headers are not whitelisted by the resource's CORS "
                   "spec.");
    return;
  }
  aws_call_reply_data(call, NULL, 200, "", 0);
}
