/*
 * session.c — what STS checks in the session parameters shared by the
 * operations that issue credentials: session policies (their JSON and
 * grammar, MalformedPolicyDocument), managed policy ARNs, session tags and
 * transitive tag keys, ExternalId, SourceIdentity, the MFA SerialNumber and
 * TokenCode, the packed size of policies and tags (PackedPolicySize,
 * PackedPolicyTooLarge), and what a session hands on to the sessions it
 * chains to (transitive tags, source identity).
 *
 * Limits and patterns are the model's and AWS's documented ones; errors
 * take AWS's "1 validation error detected: …" shape with the member's
 * camelCase name. AWS compresses session policies and tags into a packed
 * binary form whose limit it does not publish; here the packed size is the
 * bytes of the minified policy, the policy ARNs and the tags against 2,048
 * bytes (the plain-text policy limit), so a maximal policy fills 100% and
 * tags on top of it overflow, as they do at AWS.
 */
#include "emulator/sts/sts_int.h"

#include "common/jsonutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STS_MAX_TAGS 50
#define TAG_PATTERN "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]"
#define STS_PACKED_LIMIT 2048

static int invalid(aws_call *call, const char *value, const char *member, const char *constraint) {
  aws_call_fail(call, 400, "ValidationError",
                "1 validation error detected: Value '%s' at '%s' failed to satisfy "
                "constraint: Member must %s",
                value, member, constraint);
  return -1;
}

/* 1 when every byte of s is allowed: ASCII from ascii_extra plus letters and
 * digits; bytes of multi-byte UTF-8 count as letters when utf8 is set. */
static int matches(const char *s, const char *ascii_extra, int utf8) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
      continue;
    if (*p >= 0x80 ? utf8 : strchr(ascii_extra, *p) != NULL)
      continue;
    return 0;
  }
  return 1;
}

/* The code points of UTF-8 text s (an invalid byte counts as one), and in
 * *free_text whether all are in the class AWS's free-text pattern allows
 * ([\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+):
 * AWS's regular expressions read its last range as BMP characters, so a
 * supplementary character fails it, as AWS answers for roleArn. */
static size_t code_points(const char *s, int *free_text, int latin1) {
  const unsigned char *p = (const unsigned char *)s;
  size_t n = 0;
  *free_text = 1;
  while (*p) {
    unsigned long c = *p;
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    for (size_t i = 1; i < len; i++)
      if ((p[i] & 0xC0) != 0x80)
        len = 0;
    if (len == 0) {
      *free_text = 0;
      p++;
      n++;
      continue;
    }
    if (len > 1) {
      c &= 0xFFu >> (len + 1);
      for (size_t i = 1; i < len; i++)
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (latin1 ? !(c == 9 || c == 10 || c == 13 || (c >= 0x20 && c <= 0xFF))
               : !(c == 9 || c == 10 || c == 13 || (c >= 0x20 && c <= 0x7E) || c == 0x85 ||
                   (c >= 0xA0 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD)))
      *free_text = 0;
    p += len;
    n++;
  }
  return n;
}

int sts_check_text(aws_call *call, const char *member, const char *value, size_t lo, size_t hi,
                   const char *allowed, const char *pattern) {
  if (!value) {
    aws_call_fail(call, 400, "ValidationError",
                  "1 validation error detected: Value null at '%s' failed to satisfy constraint: "
                  "Member must not be null",
                  member);
    return -1;
  }
  int free_text, latin1 = allowed && allowed[0] == '\2';
  size_t n = code_points(value, &free_text, latin1);
  if (latin1)
    allowed = NULL;
  /* The pattern first, then the length, as AWS lists them; a pattern with
   * '*' admits the empty string. */
  int utf8 = allowed && allowed[0] == '\1';
  size_t plen = strlen(pattern);
  int pattern_ok = allowed ? matches(value, allowed + utf8, utf8) &&
                                 (n > 0 || plen < 2 || strcmp(pattern + plen - 2, "]+") != 0)
                           : free_text && n > 0;
  char length[64] = "";
  if (n < lo)
    snprintf(length, sizeof(length), "have length greater than or equal to %zu", lo);
  else if (n > hi)
    snprintf(length, sizeof(length), "have length less than or equal to %zu", hi);
  int errors = !pattern_ok + (length[0] != '\0');
  if (!errors)
    return 0;
  /* AWS quotes the value in full, however long (the request bounds it). */
  if (errors == 2)
    aws_call_fail(call, 400, "ValidationError",
                  "2 validation errors detected: Value '%s' at '%s' failed to satisfy "
                  "constraint: Member must satisfy regular expression pattern: %s; Value '%s' at "
                  "'%s' failed to satisfy constraint: Member must %s",
                  value, member, pattern, value, member, length);
  else
    aws_call_fail(call, 400, "ValidationError",
                  "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: "
                  "Member must %s%s",
                  value, member, pattern_ok ? length : "satisfy regular expression pattern: ",
                  pattern_ok ? "" : pattern);
  return -1;
}

/* An optional string member, checked as sts_check_text. */
static int check_string(aws_call *call, json_t *input, const char *name, const char *member,
                        size_t lo, size_t hi, const char *extra, const char *pattern) {
  json_t *v = json_object_get(input, name);
  if (!v)
    return 0;
  const char *s = json_string_value(v);
  if (s && strlen(s) != json_string_length(v))
    return invalid(call, s, member, "not contain NUL characters");
  return sts_check_text(call, member, s ? s : "", lo, hi, extra, pattern);
}

/* Tags (at most 50 {Key, Value}) and TransitiveTagKeys (at most 50 keys). */
static int check_tags(aws_call *call, json_t *input) {
  /* \p{L}\p{Z}\p{N}: any non-ASCII character counts as a letter here. */
  static const char tag_chars[] = "\1 _.:/=+-@";
  json_t *tags = json_object_get(input, "Tags");
  json_t *transitive = json_object_get(input, "TransitiveTagKeys");
  size_t i;
  json_t *t;
  char member[64];
  if (json_array_size(tags) > STS_MAX_TAGS)
    return invalid(call, "[…]", "tags", "have length less than or equal to 50");
  json_array_foreach(tags, i, t) {
    const char *key = jsonutil_string(t, "Key"), *value = jsonutil_string(t, "Value");
    snprintf(member, sizeof(member), "tags.%zu.member.key", i + 1);
    if (sts_check_text(call, member, key, 1, 128, tag_chars, TAG_PATTERN "+") < 0)
      return -1;
    snprintf(member, sizeof(member), "tags.%zu.member.value", i + 1);
    if (sts_check_text(call, member, value, 0, 256, tag_chars, TAG_PATTERN "*") < 0)
      return -1;
    /* Keys are case-insensitive at AWS: one key twice is refused. */
    for (size_t j = 0; j < i; j++) {
      const char *other = jsonutil_string(json_array_get(tags, j), "Key");
      if (other && !strcasecmp(other, key)) {
        aws_call_fail(call, 400, "InvalidParameterValue",
                      "Duplicate tag keys found. Please note that Tag keys are case "
                      "insensitive.");
        return -1;
      }
    }
  }
  if (json_array_size(transitive) > STS_MAX_TAGS)
    return invalid(call, "[…]", "transitiveTagKeys", "have length less than or equal to 50");
  json_array_foreach(transitive, i, t) {
    const char *key = json_string_value(t);
    snprintf(member, sizeof(member), "transitiveTagKeys.%zu.member", i + 1);
    if (sts_check_text(call, member, key, 1, 128, tag_chars, TAG_PATTERN "+") < 0)
      return -1;
  }
  /* A transitive key names one of the request's own tags (case-insensitively). */
  json_array_foreach(transitive, i, t) {
    const char *key = json_string_value(t);
    int tagged = 0;
    size_t j;
    json_t *tag;
    json_array_foreach(tags, j, tag) {
      const char *k = jsonutil_string(tag, "Key");
      if (k && !strcasecmp(k, key))
        tagged = 1;
    }
    if (!tagged) {
      aws_call_fail(call, 400, "InvalidParameterValue",
                    "The specified transitive tag key must be included in the requested tags.");
      return -1;
    }
  }
  return 0;
}

/* PolicyArns: at most 10 {arn}, each an IAM policy ARN of 20-2048 characters. */
static int check_policy_arns(aws_call *call, json_t *input) {
  json_t *arns = json_object_get(input, "PolicyArns");
  size_t i;
  json_t *a;
  char member[48];
  if (json_array_size(arns) > 10)
    return invalid(call, "[…]", "policyArns", "have length less than or equal to 10");
  json_array_foreach(arns, i, a) {
    const char *arn = jsonutil_string(a, "arn");
    size_t n = arn ? strlen(arn) : 0;
    snprintf(member, sizeof(member), "policyArns.%zu.member.arn", i + 1);
    if (n < 20 || n > 2048)
      return invalid(call, arn ? arn : "null", member, "have length between 20 and 2048");
    char partition[16];
    if (sscanf(arn, "arn:%15[a-z-]:iam::", partition) != 1 || !strstr(arn, ":policy/")) {
      aws_call_fail(call, 400, "ValidationError", "Invalid policy ARN: %.256s", arn);
      return -1;
    }
  }
  return 0;
}

/* A session policy's grammar: a Statement (one or a list), each with an
 * Effect of Allow or Deny and an Action or NotAction. */
static int policy_grammar_ok(json_t *doc) {
  json_t *stmts = json_object_get(doc, "Statement");
  json_t *version = json_object_get(doc, "Version");
  if (!stmts || (version && !json_is_string(version)))
    return 0;
  size_t n = json_is_array(stmts) ? json_array_size(stmts) : 1;
  if (n == 0)
    return 0;
  for (size_t i = 0; i < n; i++) {
    json_t *s = json_is_array(stmts) ? json_array_get(stmts, i) : stmts;
    const char *effect = jsonutil_string(s, "Effect");
    if (!json_is_object(s) || !effect || (strcmp(effect, "Allow") && strcmp(effect, "Deny")) ||
        (!json_object_get(s, "Action") && !json_object_get(s, "NotAction")))
      return 0;
  }
  return 1;
}

int sts_check_policy(aws_call *call, json_t *input) {
  const char *policy = jsonutil_string(input, "Policy");
  if (check_policy_arns(call, input) < 0)
    return -1;
  if (!policy)
    return 0;
  if (sts_check_text(call, "policy", policy, 1, STS_MAX_POLICY, STS_LATIN1,
                     "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+") < 0)
    return -1;
  json_t *doc = json_loads(policy, JSON_REJECT_DUPLICATES, NULL);
  int parsed = json_is_object(doc), ok = parsed && policy_grammar_ok(doc);
  json_decref(doc);
  if (!ok) {
    aws_call_fail(call, 0, "MalformedPolicyDocumentException",
                  parsed ? "Syntax errors in policy."
                         : "The policy is not in the valid JSON format.");
    return -1;
  }
  return 0;
}

int sts_check_session(aws_call *call, json_t *input) {
  const char *source = jsonutil_string(input, "SourceIdentity");
  if (check_tags(call, input) < 0 ||
      check_string(call, input, "ExternalId", "externalId", 2, 1224, "_+=,.@:/-",
                   "[\\w+=,.@:\\/-]*") < 0 ||
      check_string(call, input, "SourceIdentity", "sourceIdentity", 2, 64, "_+=,.@-",
                   "[\\w+=,.@-]*") < 0 ||
      check_string(call, input, "SerialNumber", "serialNumber", 9, 256, "_+=/:,.@-",
                   "[\\w+=/:,.@-]*") < 0 ||
      check_string(call, input, "TokenCode", "tokenCode", 6, 6, "", "[\\d]*") < 0)
    return -1;
  const char *code = jsonutil_string(input, "TokenCode");
  if (code && strspn(code, "0123456789") != strlen(code))
    return invalid(call, code, "tokenCode", "satisfy regular expression pattern: [\\d]*");
  if (source && !strncasecmp(source, "aws:", 4)) {
    aws_call_fail(call, 400, "ValidationError",
                  "1 validation error detected: Value '%.64s' at 'sourceIdentity' failed to "
                  "satisfy constraint: Member must not start with 'aws:'",
                  source);
    return -1;
  }
  if (jsonutil_string(input, "SerialNumber") && !code) {
    aws_call_fail(call, 400, "ValidationError",
                  "Both SerialNumber and TokenCode are required for MFA authentication.");
    return -1;
  }
  return 0;
}

int sts_packed_size(aws_call *call, json_t *input, int always, const json_t *inherited,
                    json_t *out) {
  const char *policy = jsonutil_string(input, "Policy");
  json_t *arns = json_object_get(input, "PolicyArns"), *tags = json_object_get(input, "Tags");
  if (!policy && !json_array_size(arns) && !json_array_size(tags) && !json_array_size(inherited)) {
    if (always)
      json_object_set_new(out, "PackedPolicySize", json_integer(0));
    return 0;
  }
  size_t bytes = 0, i;
  json_t *v;
  if (policy) {
    json_t *doc = json_loads(policy, 0, NULL);
    char *min = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    bytes += min ? strlen(min) : strlen(policy);
    free(min);
    json_decref(doc);
  }
  json_array_foreach(arns, i, v) {
    const char *arn = jsonutil_string(v, "arn");
    bytes += arn ? strlen(arn) : 0;
  }
  json_array_foreach(tags, i, v) {
    const char *key = jsonutil_string(v, "Key"), *value = jsonutil_string(v, "Value");
    bytes += (key ? strlen(key) : 0) + (value ? strlen(value) : 0) + 2;
  }
  json_array_foreach(inherited, i, v) {
    const char *key = jsonutil_string(v, "Key"), *value = jsonutil_string(v, "Value");
    bytes += (key ? strlen(key) : 0) + (value ? strlen(value) : 0) + 2;
  }
  json_array_foreach(json_object_get(input, "TransitiveTagKeys"), i, v) bytes +=
      json_string_length(v) + 1;
  size_t percent = (bytes * 100 + STS_PACKED_LIMIT - 1) / STS_PACKED_LIMIT;
  if (percent > 100) {
    aws_call_fail(call, 0, "PackedPolicyTooLargeException",
                  "Packed policy consumes %zu%% of allotted space, please use smaller policy.",
                  percent);
    return -1;
  }
  json_object_set_new(out, "PackedPolicySize", json_integer((json_int_t)percent));
  return 0;
}

/* Whether keys (an array of strings) holds key, case-insensitively (AWS's
 * tag keys are). */
static int has_key(const json_t *keys, const char *key) {
  size_t i;
  json_t *k;
  json_array_foreach(keys, i, k) {
    if (key && json_string_value(k) && !strcasecmp(json_string_value(k), key))
      return 1;
  }
  return 0;
}

int sts_chain_session(aws_call *call, json_t *input, const json_t *caller, json_t **out,
                      const json_t **inherited) {
  const json_t *from = json_object_get(caller, "Session");
  const json_t *carried_keys = json_object_get(from, "TransitiveTagKeys");
  const char *carried_source = jsonutil_string(from, "SourceIdentity");
  const char *source = jsonutil_string(input, "SourceIdentity");
  json_t *tags = json_object_get(input, "Tags");
  size_t i;
  json_t *t;
  json_array_foreach(tags, i, t) {
    if (has_key(carried_keys, jsonutil_string(t, "Key"))) {
      aws_call_fail(call, 400, "InvalidParameterValue",
                    "One of the specified transitive tag keys can't be set because it conflicts "
                    "with a transitive tag key from the calling session.");
      return -1;
    }
  }
  if (carried_source && source && strcmp(carried_source, source) != 0) {
    aws_call_fail(call, 400, "ValidationError",
                  "The source identity is already set for this assume role session");
    return -1;
  }
  json_t *session = json_object(), *all_tags = json_array(), *keys = json_array();
  json_t *carried = json_array();
  if (!session || !all_tags || !keys || !carried) {
    json_decref(session);
    json_decref(all_tags);
    json_decref(keys);
    json_decref(carried);
    aws_call_fail(call, 500, "InternalFailure", "out of memory");
    return -1;
  }
  /* The caller's transitive tags first (a request cannot set them again),
   * then the request's own. */
  json_array_foreach(json_object_get(from, "Tags"), i, t) {
    if (has_key(carried_keys, jsonutil_string(t, "Key"))) {
      json_array_append(all_tags, t);
      json_array_append(carried, t);
    }
  }
  json_array_foreach(tags, i, t)
      json_array_append_new(all_tags, json_pack("{s:s, s:s}", "Key", jsonutil_string(t, "Key"),
                                                "Value", jsonutil_string(t, "Value")));
  json_array_extend(keys, (json_t *)carried_keys);
  json_array_foreach(json_object_get(input, "TransitiveTagKeys"), i, t) {
    if (!has_key(keys, json_string_value(t)))
      json_array_append(keys, t);
  }
  if (json_array_size(all_tags))
    json_object_set(session, "Tags", all_tags);
  if (json_array_size(keys))
    json_object_set(session, "TransitiveTagKeys", keys);
  if (carried_source || source)
    json_object_set_new(session, "SourceIdentity",
                        json_string(carried_source ? carried_source : source));
  if (json_array_size(carried))
    json_object_set(session, "Carried", carried);
  json_decref(all_tags);
  json_decref(keys);
  json_decref(carried);
  if (json_object_size(session) == 0) {
    json_decref(session);
    session = NULL;
  }
  *out = session;
  *inherited = json_object_get(session, "Carried");
  return 0;
}
