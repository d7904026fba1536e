/*
 * policycond.c — the Condition block of a bucket policy statement, evaluated
 * against a request when the emulator enforces access (acl.c).
 *
 * A Condition is {operator: {key: value or [values]}}: every operator must
 * hold, and within one every key; a key holds when any of its values
 * matches (the negated operators: when none does). The operators are IAM's
 * common ones — String*, Numeric*, Date*, Bool, IpAddress/NotIpAddress,
 * Arn*, Null — with the IfExists suffix and the ForAnyValue:/ForAllValues:
 * set prefixes (every key here has one value). A key the request lacks fails
 * the condition, except under Null, IfExists, ForAllValues: and the negated
 * operators, as IAM evaluates them. An unknown operator never holds.
 *
 * The keys a request carries: aws:SecureTransport (false: plain HTTP),
 * aws:SourceIp, aws:CurrentTime, aws:EpochTime, aws:PrincipalAccount,
 * aws:PrincipalArn, aws:Referer, aws:UserAgent, and S3's s3:prefix,
 * s3:delimiter, s3:max-keys, s3:VersionId, s3:x-amz-acl,
 * s3:x-amz-server-side-encryption (and -aws-kms-key-id), s3:x-amz-storage-class,
 * s3:x-amz-copy-source, s3:x-amz-metadata-directive, s3:x-amz-grant-*,
 * s3:object-lock-mode, s3:object-lock-legal-hold,
 * s3:x-amz-website-redirect-location,
 * s3:x-amz-content-sha256, s3:signatureversion, s3:authType, and the object
 * tag keys: s3:ExistingObjectTag/<key> (the tag of the object the request
 * names), s3:RequestObjectTag/<key> (a tag the request sets: x-amz-tagging
 * on PutObject, CopyObject, CreateMultipartUpload, or PutObjectTagging's tag
 * set) and s3:RequestObjectTagKeys, the one multi-valued key: ForAllValues:
 * holds when every key the request sets matches a value (and when it sets
 * none), ForAnyValue: and the plain operators when one does.
 */
#include "emulator/s3/s3_int.h"

#include "common/http_server.h"
#include "common/jsonutil.h"
#include "emulator/protocol/protocol.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S3_COND_MAX_VALUE 2048

/* The request's value of a condition key into out; 0 when it has none. */
/* The tags a request sets (TagSet array; owned, NULL when none). */
static json_t *request_tags(const json_t *input) {
  const json_t *set = json_object_get(json_object_get(input, "Tagging"), "TagSet");
  if (json_is_array(set)) /* PutObjectTagging */
    return json_incref((json_t *)set);
  const char *header = jsonutil_string(input, "Tagging");
  return header ? s3_tags_parse_header(header) : NULL;
}

static const char *tag_value(const json_t *set, const char *name) {
  size_t i;
  const json_t *t;
  json_array_foreach(set, i, t) {
    const char *k = jsonutil_string(t, "Key");
    if (k && strcmp(k, name) == 0)
      return jsonutil_string(t, "Value");
  }
  return NULL;
}

static int key_value(char *out, size_t size, const char *key, aws_call *call, const json_t *input,
                     const json_t *existing) {
  http_request *req = aws_call_http(call);
  const char *v = NULL;
  char num[64];
  if (strcasecmp(key, "aws:SecureTransport") == 0) {
    v = "false";
  } else if (strcasecmp(key, "aws:SourceIp") == 0) {
    v = http_request_peer(req);
  } else if (strcasecmp(key, "aws:CurrentTime") == 0) {
    aws_timestamp_format(num, sizeof(num), s3_now(), "iso8601");
    v = num;
  } else if (strcasecmp(key, "aws:EpochTime") == 0) {
    snprintf(num, sizeof(num), "%.0f", s3_now());
    v = num;
  } else if (strcasecmp(key, "aws:PrincipalAccount") == 0) {
    v = aws_call_access_key(call)[0] ? aws_call_account(call) : NULL;
  } else if (strcasecmp(key, "aws:PrincipalArn") == 0) {
    if (!aws_call_access_key(call)[0])
      return 0;
    snprintf(out, size, "arn:aws:iam::%s:root", aws_call_account(call));
    return 1;
  } else if (strcasecmp(key, "aws:Referer") == 0) {
    v = http_request_header(req, "Referer");
  } else if (strcasecmp(key, "aws:UserAgent") == 0) {
    v = http_request_header(req, "User-Agent");
  } else if (strncasecmp(key, "s3:ExistingObjectTag/", 21) == 0) {
    v = tag_value(existing, key + 21);
  } else if (strncasecmp(key, "s3:RequestObjectTag/", 20) == 0) {
    json_t *set = request_tags(input);
    v = tag_value(set, key + 20);
    if (v)
      snprintf(out, size, "%s", v);
    json_decref(set);
    return v != NULL;
  } else if (strcasecmp(key, "s3:RequestObjectTagKeys") == 0) { /* for Null */
    json_t *set = request_tags(input);
    const char *k = jsonutil_string(json_array_get(set, 0), "Key");
    if (k)
      snprintf(out, size, "%s", k);
    json_decref(set);
    return k != NULL;
  } else if (strcasecmp(key, "s3:prefix") == 0) {
    v = jsonutil_string(input, "Prefix");
  } else if (strcasecmp(key, "s3:delimiter") == 0) {
    v = jsonutil_string(input, "Delimiter");
  } else if (strcasecmp(key, "s3:max-keys") == 0) {
    json_t *m = json_object_get(input, "MaxKeys");
    if (!json_is_integer(m))
      return 0;
    snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(m));
    v = num;
  } else if (strcasecmp(key, "s3:VersionId") == 0) {
    v = jsonutil_string(input, "VersionId");
  } else if (strcasecmp(key, "s3:x-amz-acl") == 0) {
    v = jsonutil_string(input, "ACL");
  } else if (strcasecmp(key, "s3:x-amz-server-side-encryption") == 0) {
    v = jsonutil_string(input, "ServerSideEncryption");
  } else if (strcasecmp(key, "s3:x-amz-server-side-encryption-aws-kms-key-id") == 0) {
    v = jsonutil_string(input, "SSEKMSKeyId");
  } else if (strcasecmp(key, "s3:x-amz-storage-class") == 0) {
    v = jsonutil_string(input, "StorageClass");
  } else if (strcasecmp(key, "s3:x-amz-copy-source") == 0) {
    /* "bucket/key" as sent (an optional leading '/' and ?versionId= off),
     * percent-decoded, as policies name it ("bucket/prefix/" and a star). */
    const char *src = jsonutil_string(input, "CopySource");
    if (!src)
      return 0;
    src += *src == '/';
    char *path = http_percent_decode(src, strcspn(src, "?"), 0, 1, NULL);
    if (!path)
      return 0;
    snprintf(out, size, "%s", path);
    free(path);
    return 1;
  } else if (strcasecmp(key, "s3:x-amz-metadata-directive") == 0) {
    v = jsonutil_string(input, "MetadataDirective");
  } else if (strncasecmp(key, "s3:x-amz-grant-", 15) == 0) {
    static const char *const grants[][2] = {{"full-control", "GrantFullControl"},
                                            {"read", "GrantRead"},
                                            {"write", "GrantWrite"},
                                            {"read-acp", "GrantReadACP"},
                                            {"write-acp", "GrantWriteACP"}};
    for (size_t i = 0; i < sizeof(grants) / sizeof(grants[0]); i++)
      if (strcasecmp(key + 15, grants[i][0]) == 0)
        v = jsonutil_string(input, grants[i][1]);
  } else if (strcasecmp(key, "s3:object-lock-mode") == 0) {
    v = jsonutil_string(input, "ObjectLockMode");
  } else if (strcasecmp(key, "s3:object-lock-legal-hold") == 0) {
    v = jsonutil_string(input, "ObjectLockLegalHoldStatus");
  } else if (strcasecmp(key, "s3:x-amz-website-redirect-location") == 0) {
    v = jsonutil_string(input, "WebsiteRedirectLocation");
  } else if (strcasecmp(key, "s3:x-amz-content-sha256") == 0) {
    v = http_request_header(req, "x-amz-content-sha256");
  } else if (strcasecmp(key, "s3:signatureversion") == 0 || strcasecmp(key, "s3:authType") == 0) {
    const char *auth = http_request_header(req, "Authorization");
    const char *query = http_request_query(req);
    int presigned = strstr(query, "X-Amz-Signature=") || strstr(query, "Signature=");
    if (!auth && !presigned)
      return 0;
    if (strcasecmp(key, "s3:authType") == 0)
      v = auth ? "REST-HEADER" : "REST-QUERY-STRING";
    else
      v = (auth && strncmp(auth, "AWS4-", 5) == 0) || strstr(query, "X-Amz-Signature=")
              ? "AWS4-HMAC-SHA256"
              : "AWS";
  }
  if (!v)
    return 0;
  snprintf(out, size, "%s", v);
  return 1;
}

/* Glob with * and ? (StringLike, ArnLike). */
static int like(const char *pat, const char *s, int nocase) {
  const char *star = NULL, *back = NULL;
  while (*s) {
    if (*pat == '*') {
      star = pat++;
      back = s;
    } else if (*pat == '?' ||
               (nocase ? tolower((unsigned char)*pat) == tolower((unsigned char)*s) : *pat == *s)) {
      pat++;
      s++;
    } else if (star) {
      pat = star + 1;
      s = ++back;
    } else {
      return 0;
    }
  }
  while (*pat == '*')
    pat++;
  return *pat == '\0';
}

/* Does addr fall in cidr ("10.0.0.0/8", a plain address, IPv6 too)? */
static int ip_in(const char *cidr, const char *addr) {
  char net[64];
  snprintf(net, sizeof(net), "%s", cidr);
  char *slash = strchr(net, '/');
  long bits = -1;
  if (slash) {
    *slash = '\0';
    char *end = NULL;
    bits = strtol(slash + 1, &end, 10);
    if (*end || bits < 0)
      return 0;
  }
  unsigned char a[16], n[16];
  int family = strchr(net, ':') ? AF_INET6 : AF_INET;
  size_t len = family == AF_INET6 ? 16 : 4;
  const char *peer = addr;
  if (family == AF_INET && strncmp(peer, "::ffff:", 7) == 0)
    peer += 7;
  if (inet_pton(family, net, n) != 1 || inet_pton(family, peer, a) != 1)
    return 0;
  if (bits < 0 || bits > (long)(len * 8))
    bits = (long)(len * 8);
  for (long i = 0; i < bits; i++) {
    unsigned char mask = (unsigned char)(0x80 >> (i % 8));
    if ((a[i / 8] & mask) != (n[i / 8] & mask))
      return 0;
  }
  return 1;
}

static int parse_number(double *out, const char *s) {
  char *end = NULL;
  double d = strtod(s, &end);
  if (end == s || *end || !isfinite(d))
    return 0;
  *out = d;
  return 1;
}

/* A date: ISO 8601 or epoch seconds. */
static int parse_date(double *out, const char *s) { return aws_timestamp_parse(out, s) == 0; }

enum { CMP_EQ, CMP_LT, CMP_LE, CMP_GT, CMP_GE };

static int compare(double a, double b, int how) {
  switch (how) {
  case CMP_EQ: return a == b;
  case CMP_LT: return a < b;
  case CMP_LE: return a <= b;
  case CMP_GT: return a > b;
  default: return a >= b;
  }
}

/* One operator (without IfExists and set prefixes) applied to the request's
 * value and one policy value: 1 matches, 0 not, -1 unknown operator. negated
 * is set for the Not operators, which are answered as their positive form. */
static int match_one(const char *op, const char *have, const char *want, int *negated) {
  static const struct {
    const char *name;
    int negated, kind, how;
  } ops[] = {
      {"StringEquals", 0, 0, 0},
      {"StringNotEquals", 1, 0, 0},
      {"StringEqualsIgnoreCase", 0, 0, 1},
      {"StringNotEqualsIgnoreCase", 1, 0, 1},
      {"StringLike", 0, 1, 0},
      {"StringNotLike", 1, 1, 0},
      {"NumericEquals", 0, 2, CMP_EQ},
      {"NumericNotEquals", 1, 2, CMP_EQ},
      {"NumericLessThan", 0, 2, CMP_LT},
      {"NumericLessThanEquals", 0, 2, CMP_LE},
      {"NumericGreaterThan", 0, 2, CMP_GT},
      {"NumericGreaterThanEquals", 0, 2, CMP_GE},
      {"DateEquals", 0, 3, CMP_EQ},
      {"DateNotEquals", 1, 3, CMP_EQ},
      {"DateLessThan", 0, 3, CMP_LT},
      {"DateLessThanEquals", 0, 3, CMP_LE},
      {"DateGreaterThan", 0, 3, CMP_GT},
      {"DateGreaterThanEquals", 0, 3, CMP_GE},
      {"Bool", 0, 0, 1},
      {"IpAddress", 0, 4, 0},
      {"NotIpAddress", 1, 4, 0},
      {"ArnEquals", 0, 1, 0},
      {"ArnNotEquals", 1, 1, 0},
      {"ArnLike", 0, 1, 0},
      {"ArnNotLike", 1, 1, 0},
  };
  for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
    if (strcmp(op, ops[i].name) != 0)
      continue;
    *negated = ops[i].negated;
    double a, b;
    switch (ops[i].kind) {
    case 0: return ops[i].how ? strcasecmp(have, want) == 0 : strcmp(have, want) == 0;
    case 1: return like(want, have, 0);
    case 2: return parse_number(&a, have) && parse_number(&b, want) && compare(a, b, ops[i].how);
    case 3: return parse_date(&a, have) && parse_date(&b, want) && compare(a, b, ops[i].how);
    default: return ip_in(want, have);
    }
  }
  return -1;
}

/* The text of a policy value (strings, numbers and booleans all occur). */
static int value_text(char *out, size_t size, const json_t *v) {
  if (json_is_string(v))
    snprintf(out, size, "%s", json_string_value(v));
  else if (json_is_integer(v))
    snprintf(out, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  else if (json_is_real(v))
    snprintf(out, size, "%.17g", json_real_value(v));
  else if (json_is_boolean(v))
    snprintf(out, size, "%s", json_is_true(v) ? "true" : "false");
  else
    return 0;
  return 1;
}

/* One operator's block {key: values}. */
/* s3:RequestObjectTagKeys, multi-valued, under op with values. */
static int tag_keys_hold(const char *op, int for_all, int if_exists, const json_t *values,
                         const json_t *input) {
  json_t *set = request_tags(input);
  json_t *list = json_is_array(values) ? json_incref((json_t *)values)
                                       : json_pack("[O]", values ? values : json_null());
  int negated = 0, all = 1, any = 0;
  size_t i, j;
  json_t *t, *v;
  json_array_foreach(set, i, t) {
    const char *have = jsonutil_string(t, "Key");
    int hit = 0;
    char want[S3_COND_MAX_VALUE];
    json_array_foreach(list, j, v) {
      if (have && value_text(want, sizeof(want), v) && match_one(op, have, want, &negated) == 1)
        hit = 1;
    }
    any |= hit;
    all &= hit;
  }
  size_t count = json_array_size(set);
  json_decref(set);
  json_decref(list);
  if (!count)
    return for_all || if_exists || negated;
  if (for_all)
    return negated ? !any : all;
  return negated ? !any : any;
}

static int block_holds(const char *opname, const json_t *block, aws_call *call, const json_t *input,
                       const json_t *existing) {
  char op[96];
  int if_exists = 0, for_all = 0;
  if (strncmp(opname, "ForAnyValue:", 12) == 0)
    opname += 12;
  else if (strncmp(opname, "ForAllValues:", 13) == 0)
    opname += 13, for_all = 1;
  snprintf(op, sizeof(op), "%s", opname);
  size_t n = strlen(op);
  if (n > 8 && strcmp(op + n - 8, "IfExists") == 0) {
    op[n - 8] = '\0';
    if_exists = 1;
  }
  if (!json_is_object(block))
    return 0;
  const char *key;
  json_t *values;
  json_object_foreach((json_t *)block, key, values) {
    char have[S3_COND_MAX_VALUE], want[S3_COND_MAX_VALUE];
    if (strcasecmp(key, "s3:RequestObjectTagKeys") == 0 && strcmp(op, "Null") != 0) {
      int neg = 0;
      if (match_one(op, "", "", &neg) < 0 || !tag_keys_hold(op, for_all, if_exists, values, input))
        return 0;
      continue;
    }
    int present = key_value(have, sizeof(have), key, call, input, existing);
    if (strcmp(op, "Null") == 0) {
      /* Null: true asks that the key be absent, false that it be present. */
      if (!value_text(want, sizeof(want),
                      json_is_array(values) ? json_array_get(values, 0) : values))
        return 0;
      if ((strcasecmp(want, "true") == 0) == present)
        return 0;
      continue;
    }
    int negated = 0;
    if (match_one(op, "", "", &negated) < 0)
      return 0; /* unknown operator */
    if (!present) {
      if (if_exists || for_all || negated)
        continue;
      return 0;
    }
    json_t *list = json_is_array(values) ? json_incref(values) : json_pack("[O]", values);
    int any = 0;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
      if (value_text(want, sizeof(want), v) && match_one(op, have, want, &negated) == 1)
        any = 1;
    }
    json_decref(list);
    if (negated ? any : !any)
      return 0;
  }
  return 1;
}

int s3_policy_condition_holds(const json_t *condition, aws_call *call, const json_t *input,
                              const json_t *existing_tags) {
  if (!condition)
    return 1;
  if (!json_is_object(condition))
    return 0;
  const char *op;
  json_t *block;
  json_object_foreach((json_t *)condition, op, block) {
    if (!block_holds(op, block, call, input, existing_tags))
      return 0;
  }
  return 1;
}
