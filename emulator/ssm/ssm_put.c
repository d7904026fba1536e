/*
 * ssm_put.c — PutParameter: validation in the order the API reference lists
 * its errors (name rules, value size per tier, type, KMS key, data type,
 * AllowedPattern, policies, tags with overwrite), then a new version of the
 * parameter; SecureString values are encrypted through kms.h with the
 * parameter's KeyId (default alias/aws/ssm, created on first use as in AWS).
 *
 * AllowedPattern is a Java regular expression in AWS; it is compiled here as
 * a POSIX extended one after rewriting the Perl classes patterns use most
 * (\d \w \s and their negations), which covers ordinary patterns.
 */
#include "common/codec.h"
#include "common/dynbuf.h"
#include "common/error.h"
#include "common/jsonutil.h"
#include "emulator/kms/kms.h"
#include "emulator/ssm/ssm_int.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SSM_STANDARD_MAX 4096
#define SSM_ADVANCED_MAX 8192
#define SSM_MAX_TAGS 50
#define SSM_MAX_POLICIES 10

/* The Perl classes rewritten for POSIX ERE, inside and outside brackets. */
static const struct {
  char c;
  const char *out, *in;
} classes[] = {{'d', "[0-9]", "0-9"},
               {'D', "[^0-9]", NULL},
               {'w', "[A-Za-z0-9_]", "A-Za-z0-9_"},
               {'W', "[^A-Za-z0-9_]", NULL},
               {'s', "[[:space:]]", "[:space:]"},
               {'S', "[^[:space:]]", NULL}};

/* AllowedPattern as a POSIX ERE (owned), NULL when it cannot be rewritten. */
static char *posix_pattern(const char *p) {
  dynbuf b;
  dynbuf_init(&b, 8192);
  int bracket = 0;
  for (; *p; p++) {
    if (*p == '\\' && p[1]) {
      const char *rep = NULL;
      for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (classes[i].c == p[1]) {
          rep = bracket ? classes[i].in : classes[i].out;
          if (!rep) {
            dynbuf_free(&b);
            return NULL;
          }
        }
      if (rep) {
        dynbuf_puts(&b, rep);
      } else {
        dynbuf_append(&b, p, 2);
      }
      p++;
      continue;
    }
    if (*p == '[')
      bracket = 1;
    else if (*p == ']')
      bracket = 0;
    dynbuf_append(&b, p, 1);
  }
  return dynbuf_take(&b, NULL);
}

/* -1 after answering when pattern is invalid or value does not match it. */
static int pattern_check(aws_call *call, const char *pattern, const char *value) {
  if (!pattern)
    return 0;
  char *posix = strlen(pattern) <= 1024 ? posix_pattern(pattern) : NULL;
  regex_t re;
  if (!posix || regcomp(&re, posix, REG_EXTENDED | REG_NOSUB) != 0) {
    free(posix);
    aws_call_fail(call, 400, "InvalidAllowedPatternException",
                  "The request includes an AllowedPattern that is not valid: %.256s", pattern);
    return -1;
  }
  int match = regexec(&re, value, 0, NULL, 0) == 0;
  regfree(&re);
  free(posix);
  if (!match) {
    aws_call_fail(call, 400, "ParameterPatternMismatchException",
                  "Parameter value, cannot be validated against allowedPattern: %.256s", pattern);
    return -1;
  }
  return 0;
}

/* Policies (a JSON array of {Type, Version, Attributes}) as
 * ParameterInlinePolicy objects; NULL after answering. */
static json_t *policies_of(aws_call *call, const char *text) {
  json_t *doc = json_loads(text, 0, NULL), *out = json_array();
  size_t i;
  json_t *p;
  if (!json_is_array(doc)) {
    json_decref(doc);
    json_decref(out);
    aws_call_fail(call, 400, "InvalidPolicyAttributeException",
                  "Policies must be a JSON array of parameter policies.");
    return NULL;
  }
  if (json_array_size(doc) > SSM_MAX_POLICIES) {
    json_decref(doc);
    json_decref(out);
    aws_call_fail(call, 400, "PoliciesLimitExceededException",
                  "You specified more than the maximum number of allowed policies (%d).",
                  SSM_MAX_POLICIES);
    return NULL;
  }
  json_array_foreach(doc, i, p) {
    const char *type = jsonutil_string(p, "Type");
    if (!type || (strcmp(type, "Expiration") && strcmp(type, "ExpirationNotification") &&
                  strcmp(type, "NoChangeNotification"))) {
      /* type lives in doc: answer before freeing it. */
      aws_call_fail(call, 400, "InvalidPolicyTypeException",
                    "The policy type %.64s is not supported; use Expiration, "
                    "ExpirationNotification or NoChangeNotification.",
                    type ? type : "(none)");
      json_decref(doc);
      json_decref(out);
      return NULL;
    }
    if (!json_is_object(json_object_get(p, "Attributes"))) {
      json_decref(doc);
      json_decref(out);
      aws_call_fail(call, 400, "InvalidPolicyAttributeException",
                    "A parameter policy needs an Attributes object.");
      return NULL;
    }
    char *text_one = json_dumps(p, JSON_COMPACT);
    json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "PolicyText", text_one ? text_one : "",
                                         "PolicyType", type, "PolicyStatus", "Pending"));
    free(text_one);
  }
  json_decref(doc);
  return out;
}

static int tags_ok(aws_call *call, json_t *tags, size_t existing) {
  size_t i;
  json_t *t;
  json_array_foreach(tags, i, t) {
    const char *k = jsonutil_string(t, "Key"), *v = jsonutil_string(t, "Value");
    if (!k || !v || !*k || strlen(k) > 128 || strlen(v) > 256 || strncmp(k, "aws:", 4) == 0) {
      aws_call_fail(call, 400, "ValidationException",
                    "Tag keys must be 1 to 128 characters and not begin with aws:, values 0 to "
                    "256 characters.");
      return 0;
    }
  }
  if (existing + json_array_size(tags) > SSM_MAX_TAGS) {
    aws_call_fail(call, 400, "TooManyTagsError",
                  "The Tags parameter contains more than the maximum of %d tags.", SSM_MAX_TAGS);
    return 0;
  }
  return 1;
}

/* The data type check AWS makes on PutParameter. */
static int data_type_ok(aws_call *call, const char *dt, const char *type, const char *value) {
  if (strcmp(dt, "text") == 0 || strcmp(dt, "aws:ssm:integration") == 0)
    return 1;
  if (strcmp(dt, "aws:ec2:image") != 0) {
    aws_call_fail(call, 400, "ValidationException",
                  "The following data type is not supported: %.64s (Data type names are all "
                  "lowercase.)",
                  dt);
    return 0;
  }
  size_t hex = strncmp(value, "ami-", 4) == 0 ? strspn(value + 4, "0123456789abcdef") : 0;
  if (strcmp(type, "String") != 0 || hex < 8 || hex > 17 || value[4 + hex]) {
    aws_call_fail(call, 400, "ValidationException",
                  "Parameter value %.64s is not a valid AMI ID: the aws:ec2:image data type "
                  "takes a String of the form ami-<8 to 17 hex digits>.",
                  value);
    return 0;
  }
  return 1;
}

void ssm_put_parameter(aws_call *call, json_t *input) {
  const char *name = jsonutil_string(input, "Name");
  const char *value = jsonutil_string(input, "Value");
  const char *type = jsonutil_string(input, "Type");
  const char *key_id = jsonutil_string(input, "KeyId");
  const char *tier = jsonutil_string(input, "Tier");
  const char *dt = jsonutil_string(input, "DataType");
  const char *pattern = jsonutil_string(input, "AllowedPattern");
  const char *desc = jsonutil_string(input, "Description");
  const char *policy_text = jsonutil_string(input, "Policies");
  json_t *tags = json_object_get(input, "Tags");
  int overwrite = json_is_true(json_object_get(input, "Overwrite"));
  ssm_state *st = ssm_state_of(call);
  json_t *policies = NULL, *version = NULL;
  unsigned char *blob = NULL;
  if (ssm_name_check(call, name) < 0)
    return;
  size_t len = strlen(value);
  if (len == 0) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value '' at 'value' failed to satisfy "
                  "constraint: Member must have length greater than or equal to 1");
    return;
  }
  if (type && strcmp(type, "String") && strcmp(type, "StringList") &&
      strcmp(type, "SecureString")) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value '%.64s' at 'type' failed to satisfy "
                  "constraint: Member must satisfy enum value set: [SecureString, StringList, "
                  "String]",
                  type);
    return;
  }
  if (tier && strcmp(tier, "Standard") && strcmp(tier, "Advanced") &&
      strcmp(tier, "Intelligent-Tiering")) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value '%.64s' at 'tier' failed to satisfy "
                  "constraint: Member must satisfy enum value set: [Advanced, "
                  "Intelligent-Tiering, Standard]",
                  tier);
    return;
  }
  if (desc && strlen(desc) > 1024) {
    aws_call_fail(call, 400, "ValidationException", "Description must be at most 1024 characters.");
    return;
  }
  if (len > SSM_ADVANCED_MAX) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value at 'value' failed to satisfy constraint: "
                  "Member must have length less than or equal to %d",
                  SSM_ADVANCED_MAX);
    return;
  }
  if (tags && overwrite) {
    aws_call_fail(call, 400, "ValidationException",
                  "Invalid request: tags and overwrite can't be used together. To create a "
                  "parameter with tags, please remove overwrite flag. To update tags for an "
                  "existing parameter, please use AddTagsToResource or RemoveTagsFromResource.");
    return;
  }
  if (!tags_ok(call, tags, 0))
    return;
  if (policy_text && !(policies = policies_of(call, policy_text)))
    return;

  pthread_mutex_lock(&st->lock);
  json_t *param = ssm_find(st, call, name);
  json_t *versions = json_object_get(param, "Versions");
  json_t *last = json_array_get(versions, json_array_size(versions) - 1);
  if (param && !overwrite) {
    aws_call_fail(call, 400, "ParameterAlreadyExists",
                  "The parameter already exists. To overwrite this value, set the overwrite "
                  "option in the request to true.");
    goto done;
  }
  if (!type)
    type = jsonutil_string(last, "Type");
  if (!type) {
    aws_call_fail(call, 400, "ValidationException",
                  "A parameter type is required when you create a parameter.");
    goto done;
  }
  if (key_id && strcmp(type, "SecureString") != 0) {
    aws_call_fail(call, 400, "ValidationException",
                  "KeyId is required for SecureString type parameter only.");
    goto done;
  }
  if (!dt)
    dt = last ? jsonutil_string(last, "DataType") : "text";
  if (!pattern)
    pattern = jsonutil_string(last, "AllowedPattern");
  if (!data_type_ok(call, dt, type, value) || pattern_check(call, pattern, value) < 0)
    goto done;
  /* Tiers: Advanced stays Advanced; Intelligent-Tiering picks what the value
   * and policies need. */
  const char *was = jsonutil_string(last, "Tier");
  int advanced = (tier && strcmp(tier, "Advanced") == 0) || (was && !strcmp(was, "Advanced"));
  if (tier && strcmp(tier, "Standard") == 0 && was && strcmp(was, "Advanced") == 0) {
    aws_call_fail(call, 400, "ValidationException",
                  "This parameter uses the advanced-parameter tier. You can't downgrade a "
                  "parameter from the advanced-parameter tier to the standard-parameter tier.");
    goto done;
  }
  if (tier && strcmp(tier, "Intelligent-Tiering") == 0 &&
      (len > SSM_STANDARD_MAX || json_array_size(policies)))
    advanced = 1;
  if (!advanced && len > SSM_STANDARD_MAX) {
    aws_call_fail(call, 400, "ValidationException",
                  "Standard tier parameters support a maximum parameter value of 4096 "
                  "characters. To create a larger parameter value, upgrade the parameter to use "
                  "the advanced-parameter tier.");
    goto done;
  }
  if (!advanced && json_array_size(policies)) {
    aws_call_fail(call, 400, "ValidationException",
                  "Parameter policies are supported only for the advanced-parameter tier.");
    goto done;
  }
  json_int_t number = json_integer_value(json_object_get(last, "Version")) + 1;
  if (json_array_size(versions) >= SSM_MAX_VERSIONS &&
      json_array_size(json_object_get(json_array_get(versions, 0), "Labels"))) {
    aws_call_fail(
        call, 400, "ParameterMaxVersionLimitExceeded",
        "You attempted to create a new version of %s by calling the PutParameter API "
        "with the overwrite flag. Version %lld, the oldest version, can't be deleted "
        "because it has a label associated with it. Move the label to another version "
        "of the parameter, and try again.",
        name,
        (long long)json_integer_value(json_object_get(json_array_get(versions, 0), "Version")));
    goto done;
  }
  char arn[SSM_MAX_NAME + 128], user[64];
  ssm_arn(arn, sizeof(arn), aws_call_region(call), aws_call_account(call), name);
  snprintf(user, sizeof(user), "arn:aws:iam::%s:root", aws_call_account(call));
  version = json_pack("{s:I, s:s, s:s, s:s, s:f, s:s, s:[]}", "Version", number, "Type", type,
                      "DataType", dt, "Tier", advanced ? "Advanced" : "Standard",
                      "LastModifiedDate", ssm_now(), "LastModifiedUser", user, "Labels");
  if (desc || jsonutil_string(last, "Description"))
    json_object_set_new(version, "Description",
                        json_string(desc ? desc : jsonutil_string(last, "Description")));
  if (pattern)
    json_object_set_new(version, "AllowedPattern", json_string(pattern));
  if (policies)
    json_object_set(version, "Policies", policies);
  if (strcmp(type, "SecureString") == 0) {
    if (!key_id && last && strcmp(jsonutil_string(last, "Type"), "SecureString") == 0)
      key_id = jsonutil_string(last, "KeyId");
    if (!key_id)
      key_id = "alias/aws/ssm";
    json_object_set_new(version, "KeyId", json_string(key_id));
    if (kms_available(st->emu)) {
      size_t blob_len = 0;
      json_t *ctx = json_pack("{s:s}", "PARAMETER_ARN", arn);
      int rc = kms_encrypt(&blob, &blob_len, NULL, st->emu, aws_call_account(call),
                           aws_call_region(call), key_id, ctx, value, len, NULL);
      json_decref(ctx);
      char *b64 = rc == 0 ? codec_base64_encode(blob, blob_len) : NULL;
      if (!b64) {
        aws_call_fail(call, 400, "InvalidKeyId", "The KMS key %.256s cannot encrypt: %s", key_id,
                      airgap_error_last());
        goto done;
      }
      json_object_set_new(version, "Value", json_string(b64));
      free(b64);
    } else {
      json_object_set_new(version, "Value", json_string(value));
      json_object_set_new(version, "Plain", json_true());
    }
  } else {
    json_object_set_new(version, "Value", json_string(value));
  }
  if (!param) {
    char slot[SSM_MAX_NAME + 128];
    ssm_slot(slot, sizeof(slot), aws_call_account(call), aws_call_region(call), name);
    param = json_pack("{s:s, s:s, s:s, s:s, s:o, s:[]}", "Name", name, "ARN", arn, "Account",
                      aws_call_account(call), "Region", aws_call_region(call), "Tags",
                      tags ? json_deep_copy(tags) : json_array(), "Versions");
    json_object_set_new(st->params, slot, param);
    versions = json_object_get(param, "Versions");
  }
  if (json_array_size(versions) >= SSM_MAX_VERSIONS)
    json_array_remove(versions, 0);
  json_array_append(versions, version);
  aws_call_reply(
      call, json_pack("{s:I, s:s}", "Version", number, "Tier", advanced ? "Advanced" : "Standard"));
done:
  pthread_mutex_unlock(&st->lock);
  json_decref(version);
  json_decref(policies);
  free(blob);
}
