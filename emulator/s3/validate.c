/*
 * validate.c — bucket configurations checked as S3 checks them before it
 * stores them (lifecycle, CORS, replication, logging, notifications,
 * accelerate), the tag sets of objects and buckets, and
 * GetBucketPolicyStatus.
 *
 * S3 enforces none of these configurations here (bucket.c stores them as
 * sent), but clients and infrastructure tools rely on the answers to bad
 * ones: rule ids generated when missing, duplicate ids refused, status values
 * and HTTP methods checked. Each validator returns 1, or 0 after answering.
 */
#include "emulator/s3/s3_int.h"

#include "common/jsonutil.h"
#include "emulator/delivery/delivery.h"
#include "emulator/protocol/protocol.h"

#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#define S3_MAX_RULE_ID 255

static int fail_invalid(aws_call *call, const char *code, const char *message) {
  aws_call_fail(call, 400, code, "%s", message);
  return 0;
}

/* 400 InvalidArgument naming the argument and its value, as S3 does. */
static int fail_argument(aws_call *call, const char *name, const char *value, const char *message) {
  aws_call_fail_fields(call, 400, "InvalidArgument",
                       json_pack("{s:s, s:s}", "ArgumentName", name, "ArgumentValue", value), "%s",
                       message);
  return 0;
}

static int status_valid(const char *s) {
  return s && (strcmp(s, "Enabled") == 0 || strcmp(s, "Disabled") == 0);
}

/* Rule ids: generated when missing, at most 255 characters, unique. */
static int rule_ids(aws_call *call, json_t *rules) {
  size_t i, j;
  json_t *rule;
  json_array_foreach(rules, i, rule) {
    const char *id = jsonutil_string(rule, "ID");
    if (!id) {
      char gen[49];
      s3_random_id(gen, sizeof(gen));
      json_object_set_new(rule, "ID", json_string(gen));
      continue;
    }
    if (strlen(id) > S3_MAX_RULE_ID)
      return fail_invalid(call, "InvalidArgument",
                          "ID length should not exceed allowed limit of 255");
    for (j = 0; j < i; j++) {
      const char *other = jsonutil_string(json_array_get(rules, j), "ID");
      if (other && strcmp(other, id) == 0)
        return fail_invalid(call, "InvalidArgument",
                            "Rule ID must be unique. Found same ID for more than one rule");
    }
  }
  return 1;
}

/* 1 when a lifecycle Date is absent or falls at 00:00:00 UTC. */
static int date_at_midnight(const json_t *date) {
  double t = 0;
  if (!date)
    return 1;
  return aws_timestamp_value(&t, date) == 0 && fabs(t) < 9e15 && t == (double)(int64_t)t &&
         (int64_t)t % 86400 == 0;
}

static int lifecycle_valid(aws_call *call, json_t *cfg) {
  json_t *rules = json_object_get(cfg, "Rules");
  if (!json_is_array(rules) || json_array_size(rules) == 0 || json_array_size(rules) > 1000) {
    s3_fail_malformed_xml(call);
    return 0;
  }
  size_t i;
  json_t *rule;
  json_array_foreach(rules, i, rule) {
    int has_filter = json_object_get(rule, "Filter") != NULL;
    int has_prefix = json_object_get(rule, "Prefix") != NULL;
    if (!status_valid(jsonutil_string(rule, "Status")) || has_filter == has_prefix) {
      s3_fail_malformed_xml(call);
      return 0;
    }
    static const char *const actions[] = {
        "Expiration", "Transitions", "NoncurrentVersionExpiration", "NoncurrentVersionTransitions",
        "AbortIncompleteMultipartUpload"};
    int any = 0;
    for (size_t a = 0; a < sizeof(actions) / sizeof(actions[0]); a++)
      any |= json_object_get(rule, actions[a]) != NULL;
    if (!any)
      return fail_invalid(call, "InvalidRequest",
                          "At least one action needs to be specified in a rule");
    json_t *exp = json_object_get(rule, "Expiration");
    json_t *days = json_object_get(exp, "Days");
    if (days && json_object_get(exp, "Date")) {
      s3_fail_malformed_xml(call);
      return 0;
    }
    if (days && json_integer_value(days) <= 0)
      return fail_invalid(call, "InvalidArgument",
                          "'Days' for Expiration action must be a positive integer");
    /* Dated expirations and transitions happen at midnight UTC only. */
    if (!date_at_midnight(json_object_get(exp, "Date")))
      return fail_invalid(call, "InvalidArgument", "'Date' must be at midnight GMT");
    size_t t;
    json_t *tr;
    json_array_foreach(json_object_get(rule, "Transitions"), t, tr) {
      if (!date_at_midnight(json_object_get(tr, "Date")))
        return fail_invalid(call, "InvalidArgument", "'Date' must be at midnight GMT");
    }
    json_t *abort = json_object_get(rule, "AbortIncompleteMultipartUpload");
    json_t *after = json_object_get(abort, "DaysAfterInitiation");
    if (abort && (!after || json_integer_value(after) <= 0))
      return fail_invalid(call, "InvalidArgument",
                          "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must "
                          "be a positive integer");
  }
  return rule_ids(call, rules);
}

static int cors_valid(aws_call *call, json_t *cfg) {
  json_t *rules = json_object_get(cfg, "CORSRules");
  if (!json_is_array(rules) || json_array_size(rules) == 0) {
    s3_fail_malformed_xml(call);
    return 0;
  }
  if (json_array_size(rules) > 100)
    return fail_invalid(call, "InvalidRequest",
                        "The number of CORS rules should not exceed allowed limit of 100 rules.");
  size_t i, j;
  json_t *rule, *m;
  json_array_foreach(rules, i, rule) {
    json_t *methods = json_object_get(rule, "AllowedMethods");
    json_t *origins = json_object_get(rule, "AllowedOrigins");
    if (!json_array_size(methods) || !json_array_size(origins)) {
      s3_fail_malformed_xml(call);
      return 0;
    }
    json_array_foreach(methods, j, m) {
      const char *s = json_string_value(m);
      static const char *const ok[] = {"GET", "PUT", "HEAD", "POST", "DELETE"};
      int found = 0;
      for (size_t k = 0; s && k < sizeof(ok) / sizeof(ok[0]); k++)
        found |= strcmp(s, ok[k]) == 0;
      if (!found) {
        aws_call_fail(call, 400, "InvalidRequest",
                      "Found unsupported HTTP method in CORS config. Unsupported method is %s",
                      s ? s : "");
        return 0;
      }
    }
    /* Origins and headers match with at most one wildcard (cors.c). */
    static const char *const wild[][2] = {{"AllowedOrigins", "AllowedOrigin"},
                                          {"AllowedHeaders", "AllowedHeader"}};
    for (size_t w = 0; w < 2; w++) {
      json_array_foreach(json_object_get(rule, wild[w][0]), j, m) {
        const char *s = json_string_value(m), *star = s ? strchr(s, '*') : NULL;
        if (star && strchr(star + 1, '*')) {
          aws_call_fail(call, 400, "InvalidRequest",
                        "%s \"%s\" can not have more than one wildcard.", wild[w][1], s);
          return 0;
        }
      }
    }
    const char *id = jsonutil_string(rule, "ID");
    if (id && strlen(id) > S3_MAX_RULE_ID)
      return fail_invalid(call, "InvalidArgument",
                          "ID length should not exceed allowed limit of 255");
  }
  return 1;
}

static int replication_valid(aws_call *call, json_t *cfg) {
  json_t *rules = json_object_get(cfg, "Rules");
  if (!jsonutil_string(cfg, "Role") || !json_is_array(rules) || json_array_size(rules) == 0) {
    s3_fail_malformed_xml(call);
    return 0;
  }
  size_t i;
  json_t *rule;
  json_array_foreach(rules, i, rule) {
    if (!status_valid(jsonutil_string(rule, "Status")) ||
        !jsonutil_string(json_object_get(rule, "Destination"), "Bucket")) {
      s3_fail_malformed_xml(call);
      return 0;
    }
    /* The current schema (with Filter) needs a priority and the
     * delete-marker setting. */
    if (json_object_get(rule, "Filter") && !json_object_get(rule, "DeleteMarkerReplication"))
      return fail_invalid(call, "InvalidRequest",
                          "DeleteMarkerReplication must be specified for this version of Cross "
                          "Region Replication configuration schema.");
    if (json_object_get(rule, "Filter") && !json_object_get(rule, "Priority"))
      return fail_invalid(call, "InvalidRequest",
                          "Priority must be specified for this version of Cross Region "
                          "Replication configuration schema.");
  }
  return rule_ids(call, rules);
}

static int event_valid(const char *e) {
  static const char *const events[] = {
      "s3:ReducedRedundancyLostObject",
      "s3:ObjectCreated:*",
      "s3:ObjectCreated:Put",
      "s3:ObjectCreated:Post",
      "s3:ObjectCreated:Copy",
      "s3:ObjectCreated:CompleteMultipartUpload",
      "s3:ObjectRemoved:*",
      "s3:ObjectRemoved:Delete",
      "s3:ObjectRemoved:DeleteMarkerCreated",
      "s3:ObjectRestore:*",
      "s3:ObjectRestore:Post",
      "s3:ObjectRestore:Completed",
      "s3:ObjectRestore:Delete",
      "s3:Replication:*",
      "s3:Replication:OperationFailedReplication",
      "s3:Replication:OperationNotTracked",
      "s3:Replication:OperationMissedThreshold",
      "s3:Replication:OperationReplicatedAfterThreshold",
      "s3:LifecycleTransition",
      "s3:IntelligentTiering",
      "s3:ObjectAcl:Put",
      "s3:LifecycleExpiration:*",
      "s3:LifecycleExpiration:Delete",
      "s3:LifecycleExpiration:DeleteMarkerCreated",
      "s3:ObjectTagging:*",
      "s3:ObjectTagging:Put",
      "s3:ObjectTagging:Delete",
  };
  for (size_t i = 0; e && i < sizeof(events) / sizeof(events[0]); i++)
    if (strcmp(e, events[i]) == 0)
      return 1;
  return 0;
}

static int notification_valid(aws_call *call, json_t *cfg, const json_t *input) {
  static const char *const kinds[][2] = {
      {"TopicConfigurations", "TopicArn"},
      {"QueueConfigurations", "QueueArn"},
      {"LambdaFunctionConfigurations", "LambdaFunctionArn"},
  };
  for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
    json_t *list = json_object_get(cfg, kinds[k][0]);
    size_t i, j;
    json_t *c, *e;
    json_array_foreach(list, i, c) {
      const char *arn = jsonutil_string(c, kinds[k][1]);
      json_t *events = json_object_get(c, "Events");
      if (!arn || !json_array_size(events)) {
        s3_fail_malformed_xml(call);
        return 0;
      }
      if (strncmp(arn, "arn:", 4) != 0) {
        aws_call_fail_fields(
            call, 400, "InvalidArgument",
            json_pack("{s:s, s:s}", "ArgumentName", kinds[k][1], "ArgumentValue", arn),
            "The ARN is not well formed");
        return 0;
      }
      json_array_foreach(events, j, e) {
        if (!event_valid(json_string_value(e))) {
          aws_call_fail_fields(call, 400, "InvalidArgument",
                               json_pack("{s:s, s:s}", "ArgumentName", "Event", "ArgumentValue",
                                         json_string_value(e) ? json_string_value(e) : ""),
                               "The event is not supported for notifications");
          return 0;
        }
      }
      if (!jsonutil_string(c, "Id")) {
        char gen[49];
        s3_random_id(gen, sizeof(gen));
        json_object_set_new(c, "Id", json_string(gen));
      }
    }
  }
  /* S3 makes sure it can deliver before it accepts, unless asked not to. */
  if (!json_is_true(json_object_get(input, "SkipDestinationValidation")) &&
      !delivery_s3_destinations_check(call, cfg))
    return 0;
  return 1;
}

static int accelerate_valid(aws_call *call, json_t *cfg, const char *bucket) {
  const char *s = jsonutil_string(cfg, "Status");
  if (!s || (strcmp(s, "Enabled") != 0 && strcmp(s, "Suspended") != 0)) {
    s3_fail_malformed_xml(call);
    return 0;
  }
  if (bucket && strchr(bucket, '.'))
    return fail_invalid(call, "InvalidRequest",
                        "S3 Transfer Acceleration is not supported for buckets with periods (.) "
                        "in their names");
  return 1;
}

static int website_valid(aws_call *call, const json_t *cfg) {
  const json_t *redirect = json_object_get(cfg, "RedirectAllRequestsTo");
  const char *suffix = jsonutil_string(json_object_get(cfg, "IndexDocument"), "Suffix");
  if (redirect) {
    if (!jsonutil_string(redirect, "HostName")) {
      s3_fail_malformed_xml(call);
      return 0;
    }
    if (json_object_get(cfg, "IndexDocument") || json_object_get(cfg, "ErrorDocument") ||
        json_object_get(cfg, "RoutingRules"))
      return fail_argument(call, "RedirectAllRequestsTo", "not null",
                           "RedirectAllRequestsTo cannot be provided in conjunction with other "
                           "Routing Rules.");
    const char *protocol = jsonutil_string(redirect, "Protocol");
    if (protocol && strcmp(protocol, "http") != 0 && strcmp(protocol, "https") != 0)
      return fail_invalid(call, "InvalidRequest",
                          "Invalid protocol, protocol can be http or https. If not defined the "
                          "protocol will be selected automatically.");
    return 1;
  }
  if (!suffix)
    return fail_argument(call, "IndexDocument", "null",
                         "A value for IndexDocument Suffix must be provided if "
                         "RedirectAllRequestsTo is empty");
  if (!*suffix || strchr(suffix, '/'))
    return fail_argument(call, "IndexDocument", suffix,
                         "The IndexDocument Suffix is not well formed");
  return 1;
}

static int one_of(const char *s, const char *const *list) {
  for (; s && *list; list++)
    if (strcmp(s, *list) == 0)
      return 1;
  return 0;
}

static int ownership_valid(aws_call *call, const json_t *cfg) {
  static const char *const values[] = {"BucketOwnerPreferred", "ObjectWriter",
                                       "BucketOwnerEnforced", NULL};
  const json_t *rules = json_object_get(cfg, "Rules");
  if (json_array_size(rules) != 1 ||
      !one_of(jsonutil_string(json_array_get(rules, 0), "ObjectOwnership"), values)) {
    s3_fail_malformed_xml(call);
    return 0;
  }
  return 1;
}

static int payment_valid(aws_call *call, const json_t *cfg) {
  static const char *const values[] = {"Requester", "BucketOwner", NULL};
  if (!one_of(jsonutil_string(cfg, "Payer"), values)) {
    s3_fail_malformed_xml(call);
    return 0;
  }
  return 1;
}

static int fail_policy(aws_call *call, const char *message) {
  aws_call_fail(call, 400, "MalformedPolicy", "%s", message);
  return 0;
}

/* A Principal (or NotPrincipal; NULL is fine): "*", or an object of AWS
 * (each "*", a 12-digit account id or an ARN), Service, Federated or
 * CanonicalUser (64 hex digits) entries. S3 also refuses ARNs of users and
 * roles that do not exist, which the emulator cannot know. */
static int principal_valid(const json_t *p) {
  if (!p)
    return 1;
  if (json_is_string(p))
    return strcmp(json_string_value(p), "*") == 0;
  if (!json_is_object(p) || !json_object_size(p))
    return 0;
  const char *kind;
  const json_t *v;
  json_object_foreach((json_t *)p, kind, v) {
    int aws = strcmp(kind, "AWS") == 0, canonical = strcmp(kind, "CanonicalUser") == 0;
    if (!aws && !canonical && strcmp(kind, "Service") != 0 && strcmp(kind, "Federated") != 0)
      return 0;
    json_t *list = json_is_array(v) ? json_incref((json_t *)v) : json_pack("[O]", v);
    size_t i;
    json_t *e;
    int ok = json_array_size(list) > 0;
    json_array_foreach(list, i, e) {
      const char *t = json_string_value(e);
      size_t n = t ? strlen(t) : 0;
      if (!t || !n)
        ok = 0;
      else if (aws && !(strcmp(t, "*") == 0 || (n == 12 && strspn(t, "0123456789") == 12) ||
                        strncmp(t, "arn:", 4) == 0))
        ok = 0;
      else if (canonical && !(n == 64 && strspn(t, "0123456789abcdef") == 64))
        ok = 0;
    }
    json_decref(list);
    if (!ok)
      return 0;
  }
  return 1;
}

/* A bucket policy's statements as S3 checks them before storing the policy. */
static int policy_valid(aws_call *call, const json_t *value, const char *bucket) {
  json_t *doc = json_loads(json_string_value(value) ? json_string_value(value) : "", 0, NULL);
  json_t *st = json_object_get(doc, "Statement");
  int ok = 0;
  if (!st || (json_is_array(st) && !json_array_size(st))) {
    ok = fail_policy(call, "Missing required field Statement");
    goto done;
  }
  json_t *list = json_is_array(st) ? json_incref(st) : json_pack("[O]", st);
  size_t i;
  json_t *s;
  ok = 1;
  json_array_foreach(list, i, s) {
    const char *effect = jsonutil_string(s, "Effect");
    if (!json_is_object(s) || !effect) {
      ok = fail_policy(call, "Missing required field Effect");
      break;
    }
    if (strcmp(effect, "Allow") != 0 && strcmp(effect, "Deny") != 0) {
      aws_call_fail(call, 400, "MalformedPolicy", "Invalid effect: %.64s", effect);
      ok = 0;
      break;
    }
    if (!json_object_get(s, "Principal") && !json_object_get(s, "NotPrincipal")) {
      ok = fail_policy(call, "Missing required field Principal");
      break;
    }
    if (!principal_valid(json_object_get(s, "Principal")) ||
        !principal_valid(json_object_get(s, "NotPrincipal"))) {
      ok = fail_policy(call, "Invalid principal in policy");
      break;
    }
    const json_t *actions = json_object_get(s, "Action");
    if (!actions)
      actions = json_object_get(s, "NotAction");
    if (!actions) {
      ok = fail_policy(call, "Missing required field Action");
      break;
    }
    const json_t *resources = json_object_get(s, "Resource");
    if (!resources)
      resources = json_object_get(s, "NotResource");
    if (!resources) {
      ok = fail_policy(call, "Missing required field Resource");
      break;
    }
    json_t *acts =
        json_is_array(actions) ? json_incref((json_t *)actions) : json_pack("[O]", actions);
    json_t *res =
        json_is_array(resources) ? json_incref((json_t *)resources) : json_pack("[O]", resources);
    size_t j;
    json_t *a;
    json_array_foreach(acts, j, a) {
      const char *text = json_string_value(a);
      if (ok && (!text || (strcmp(text, "*") != 0 && strncasecmp(text, "s3:", 3) != 0)))
        ok = fail_policy(call, "Policy has invalid action");
    }
    const char *name = bucket ? bucket : "";
    json_array_foreach(res, j, a) {
      const char *text = json_string_value(a);
      /* A resource names this bucket or its objects: the part before the
       * first '/' matches the bucket's name (wildcards allowed). */
      int mine = text && strcmp(text, "*") == 0;
      if (text && !mine && strncmp(text, "arn:aws:s3:::", 13) == 0) {
        char part[S3_MAX_KEY];
        snprintf(part, sizeof(part), "%.*s", (int)strcspn(text + 13, "/"), text + 13);
        mine = fnmatch(part, name, 0) == 0;
      }
      if (ok && !mine)
        ok = fail_policy(call, "Policy has invalid resource");
    }
    json_decref(acts);
    json_decref(res);
    if (!ok)
      break;
  }
  json_decref(list);
done:
  json_decref(doc);
  return ok;
}

int s3_config_valid(aws_call *call, const char *member, json_t *value, const json_t *input) {
  if (strcmp(member, "Policy") == 0)
    return policy_valid(call, value, jsonutil_string(input, "Bucket"));
  if (strcmp(member, "WebsiteConfiguration") == 0)
    return website_valid(call, value);
  if (strcmp(member, "OwnershipControls") == 0)
    return ownership_valid(call, value);
  if (strcmp(member, "RequestPaymentConfiguration") == 0)
    return payment_valid(call, value);
  if (strcmp(member, "LifecycleConfiguration") == 0)
    return lifecycle_valid(call, value);
  if (strcmp(member, "CORSConfiguration") == 0)
    return cors_valid(call, value);
  if (strcmp(member, "ReplicationConfiguration") == 0)
    return replication_valid(call, value);
  if (strcmp(member, "NotificationConfiguration") == 0)
    return notification_valid(call, value, input);
  if (strcmp(member, "AccelerateConfiguration") == 0)
    return accelerate_valid(call, value, jsonutil_string(input, "Bucket"));
  if (strcmp(member, "ServerSideEncryptionConfiguration") == 0)
    return s3_sse_config_valid(call, value);
  if (strcmp(member, "Tagging") == 0)
    return s3_tags_valid(call, json_object_get(value, "TagSet"), S3_MAX_TAGS);
  return 1;
}

int s3_config_valid_locked(aws_call *call, s3_state *st, const s3_bucket *b, const char *member,
                           const json_t *value) {
  if (strcmp(member, "ReplicationConfiguration") == 0 && b->versioning != 1) {
    aws_call_fail(call, 400, "InvalidRequest",
                  "Versioning must be 'Enabled' on the bucket to apply a replication "
                  "configuration");
    return 0;
  }
  if (strcmp(member, "BucketLoggingStatus") == 0) {
    json_t *le = json_object_get(value, "LoggingEnabled");
    const char *target = jsonutil_string(le, "TargetBucket");
    if (le && (!target || !json_object_get(le, "TargetPrefix"))) {
      s3_fail_malformed_xml(call);
      return 0;
    }
    if (le && !s3_bucket_find(st, target)) {
      aws_call_fail_fields(call, 400, "InvalidTargetBucketForLogging",
                           json_pack("{s:s}", "TargetBucket", target),
                           "The target bucket for logging does not exist");
      return 0;
    }
  }
  /* ACLs cannot be disabled while the bucket's ACL grants anyone else. */
  const char *own =
      jsonutil_string(json_array_get(json_object_get(value, "Rules"), 0), "ObjectOwnership");
  if (strcmp(member, "OwnershipControls") == 0 && own && strcmp(own, "BucketOwnerEnforced") == 0 &&
      !s3_ownership_acl_owner_only(b->acl, s3_acl_owner(b))) {
    s3_ownership_fail_bucket_acl(call);
    return 0;
  }
  return 1;
}

/* S3's tag alphabet: letters, digits, white space and _ . : / = + - @. Bytes
 * of multi-byte UTF-8 sequences count as letters. */
static int tag_text_valid(const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c < 0x80 && !isalnum(c) && !isspace(c) && !strchr("_.:/=+-@", c))
      return 0;
  }
  return 1;
}

/* An InvalidTag naming the tag (TagKey, and TagValue for a value), as S3 does. */
static int fail_tag(aws_call *call, const char *key, const char *value, const char *message) {
  json_t *fields = value ? json_pack("{s:s, s:s}", "TagKey", key, "TagValue", value)
                         : json_pack("{s:s}", "TagKey", key ? key : "");
  aws_call_fail_fields(call, 400, "InvalidTag", fields, "%s", message);
  return 0;
}

int s3_tags_header_valid(const json_t *set) {
  size_t i, j;
  json_t *tag;
  json_array_foreach(set, i, tag) {
    const char *k = jsonutil_string(tag, "Key"), *v = jsonutil_string(tag, "Value");
    if (!k || !v || !tag_text_valid(k) || !tag_text_valid(v))
      return 0;
    for (j = 0; j < i; j++)
      if (strcmp(jsonutil_string(json_array_get(set, j), "Key"), k) == 0)
        return 0;
  }
  return 1;
}

int s3_tags_valid(aws_call *call, const json_t *set, size_t max) {
  if (json_array_size(set) > max) {
    aws_call_fail(call, 400, "BadRequest", "%s tags cannot be greater than %zu",
                  max == S3_MAX_OBJECT_TAGS ? "Object" : "Bucket", max);
    return 0;
  }
  size_t i, j;
  json_t *tag;
  json_array_foreach(set, i, tag) {
    const char *k = jsonutil_string(tag, "Key"), *v = jsonutil_string(tag, "Value");
    if (!k || !*k || strlen(k) > 128 || !tag_text_valid(k))
      return fail_tag(call, k, NULL, "The TagKey you have provided is invalid");
    if (!v || strlen(v) > 256 || !tag_text_valid(v))
      return fail_tag(call, k, v ? v : "", "The TagValue you have provided is invalid");
    /* The aws: prefix is AWS's own (CloudFormation's stack tags, …). */
    if (strncmp(k, "aws:", 4) == 0)
      return fail_tag(call, k, NULL,
                      max == S3_MAX_OBJECT_TAGS
                          ? "Your TagKey cannot be prefixed with aws:"
                          : "System tags cannot be added/updated by requester");
    for (j = 0; j < i; j++)
      if (strcmp(jsonutil_string(json_array_get(set, j), "Key"), k) == 0)
        return fail_tag(call, k, NULL, "Cannot provide multiple Tags with the same key");
  }
  return 1;
}

void s3_op_get_bucket_policy_status(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b)
    return;
  const char *text = jsonutil_string(b->configs, "Policy");
  if (!text) {
    s3_unlock(st);
    aws_call_fail_fields(call, 404, "NoSuchBucketPolicy",
                         json_pack("{s:s}", "BucketName", jsonutil_string(input, "Bucket")),
                         "The bucket policy does not exist");
    return;
  }
  json_t *doc = json_loads(text, 0, NULL);
  s3_unlock(st);
  int pub = s3_policy_public(doc);
  json_decref(doc);
  aws_call_reply(call, json_pack("{s:{s:b}}", "PolicyStatus", "IsPublic", pub));
}
