/*
 * kms_keys.c — the life of a KMS key: CreateKey, DescribeKey, ListKeys,
 * Enable/Disable, ScheduleKeyDeletion/CancelKeyDeletion, the description,
 * automatic-rotation settings, the key policy (stored exactly as sent; only
 * "default" exists, as in AWS) and tags.
 *
 * State changes follow the KMS key-state table: a key pending deletion can
 * only be described, listed or have its deletion canceled (which leaves it
 * Disabled); everything else answers KMSInvalidStateException.
 */
#include "common/clock.h"
#include "common/jsonutil.h"
#include "emulator/kms/kms_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KMS_MAX_TAGS 50

static json_int_t int_arg(json_t *input, const char *name, json_int_t dflt) {
  json_t *v = json_object_get(input, name);
  return v ? json_integer_value(v) : dflt;
}

/* MalformedPolicyDocumentException unless policy is a JSON object. */
static int policy_ok(aws_call *call, const char *policy) {
  json_t *doc = policy ? json_loads(policy, 0, NULL) : NULL;
  int ok = json_is_object(doc) && strlen(policy) <= 32768;
  json_decref(doc);
  if (!ok)
    aws_call_fail(call, 400, "MalformedPolicyDocumentException",
                  "The new key policy will not allow you to update the key policy in the future "
                  "or is not a valid JSON policy document.");
  return ok ? 0 : -1;
}

/* Checks a Tags list ([{TagKey, TagValue}]); -1 after answering TagException. */
static int tags_ok(aws_call *call, json_t *tags, size_t existing) {
  size_t i;
  json_t *t;
  json_array_foreach(tags, i, t) {
    const char *k = json_string_value(json_object_get(t, "TagKey"));
    const char *v = json_string_value(json_object_get(t, "TagValue"));
    if (!k || !v || !*k || strlen(k) > 128 || strlen(v) > 256) {
      aws_call_fail(call, 400, "ValidationException",
                    "1 validation error detected: tags need a TagKey of 1 to 128 characters and "
                    "a TagValue of 0 to 256.");
      return -1;
    }
    if (strncmp(k, "aws:", 4) == 0) {
      aws_call_fail(call, 400, "TagException", "Tags beginning with aws: are reserved.");
      return -1;
    }
  }
  if (existing + json_array_size(tags) > KMS_MAX_TAGS) {
    aws_call_fail(call, 400, "TagException", "A KMS key can have at most %d tags.", KMS_MAX_TAGS);
    return -1;
  }
  return 0;
}

static void add_tags(kms_key *key, json_t *tags) {
  size_t i;
  json_t *t;
  json_array_foreach(tags, i, t)
      json_object_set(key->tags, jsonutil_string(t, "TagKey"), json_object_get(t, "TagValue"));
}

void kms_create_key(aws_call *call, json_t *input) {
  kms_state *st = kms_state_of(call);
  kms_err err;
  const char *spec = json_string_value(json_object_get(input, "KeySpec"));
  if (!spec)
    spec = json_string_value(json_object_get(input, "CustomerMasterKeySpec"));
  const char *usage = json_string_value(json_object_get(input, "KeyUsage"));
  const char *origin = json_string_value(json_object_get(input, "Origin"));
  const char *description = json_string_value(json_object_get(input, "Description"));
  const char *policy = json_string_value(json_object_get(input, "Policy"));
  json_t *tags = json_object_get(input, "Tags");
  if (origin && strcmp(origin, "AWS_KMS") != 0) {
    aws_call_fail(call, 400, "UnsupportedOperationException",
                  "Origin %.32s is not supported by this emulator; use AWS_KMS.", origin);
    return;
  }
  if (usage && strcmp(usage, "ENCRYPT_DECRYPT") && strcmp(usage, "SIGN_VERIFY") &&
      strcmp(usage, "GENERATE_VERIFY_MAC")) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value '%.64s' at 'keyUsage' failed to satisfy "
                  "constraint: Member must satisfy enum value set: [SIGN_VERIFY, "
                  "GENERATE_VERIFY_MAC, ENCRYPT_DECRYPT]",
                  usage);
    return;
  }
  if (description && strlen(description) > 8192) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value at 'description' failed to satisfy "
                  "constraint: Member must have length less than or equal to 8192");
    return;
  }
  if ((policy && policy_ok(call, policy) < 0) || tags_ok(call, tags, 0) < 0)
    return;
  kms_key *key =
      kms_key_new(aws_call_account(call), aws_call_region(call), spec ? spec : "SYMMETRIC_DEFAULT",
                  usage, description, "CUSTOMER", &err);
  if (!key) {
    kms_fail(call, &err);
    return;
  }
  if (policy) {
    free(key->policy);
    key->policy = strdup(policy);
  }
  add_tags(key, tags);
  json_t *meta = json_deep_copy(key->meta);
  pthread_mutex_lock(&st->lock);
  kms_key_link(st, key);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:o}", "KeyMetadata", meta));
}

void kms_describe_key(aws_call *call, json_t *input) {
  kms_state *st = kms_state_of(call);
  /* DescribeKey of an AWS-managed alias creates its key, as in AWS. */
  kms_err err;
  pthread_mutex_lock(&st->lock);
  kms_key *key = kms_key_find(st, aws_call_account(call), aws_call_region(call),
                              json_string_value(json_object_get(input, "KeyId")), 1, &err);
  json_t *meta = key ? json_deep_copy(key->meta) : NULL;
  pthread_mutex_unlock(&st->lock);
  if (!key)
    kms_fail(call, &err);
  else
    aws_call_reply(call, json_pack("{s:o}", "KeyMetadata", meta));
}

/* Limit (1..1000, default 100) and Marker (an offset we handed out); -1 after
 * answering. */
int kms_page_args(aws_call *call, json_t *input, size_t *limit, size_t *offset) {
  json_int_t l = int_arg(input, "Limit", 100);
  if (l < 1 || l > 1000) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value '%lld' at 'limit' failed to satisfy "
                  "constraint: Member must have value between 1 and 1000",
                  (long long)l);
    return -1;
  }
  *limit = (size_t)l;
  *offset = 0;
  const char *marker = json_string_value(json_object_get(input, "Marker"));
  if (marker) {
    char *end = NULL;
    unsigned long long v = strtoull(marker, &end, 10);
    if (!*marker || *end || v > 1000000000ULL) {
      aws_call_fail(call, 400, "InvalidMarkerException", "The marker %.64s is not valid.", marker);
      return -1;
    }
    *offset = (size_t)v;
  }
  return 0;
}

/* Answers a page of items under member `name`, with Truncated/NextMarker. */
void kms_reply_page(aws_call *call, const char *name, json_t *items, size_t limit, size_t offset) {
  json_t *page = json_array(), *out = json_object();
  size_t n = json_array_size(items);
  for (size_t i = offset; i < n && i < offset + limit; i++)
    json_array_append(page, json_array_get(items, i));
  json_object_set_new(out, name, page);
  int truncated = offset + limit < n;
  json_object_set_new(out, "Truncated", json_boolean(truncated));
  if (truncated) {
    char marker[32];
    snprintf(marker, sizeof(marker), "%zu", offset + limit);
    json_object_set_new(out, "NextMarker", json_string(marker));
  }
  json_decref(items);
  aws_call_reply(call, out);
}

void kms_list_keys(aws_call *call, json_t *input) {
  kms_state *st = kms_state_of(call);
  size_t limit, offset;
  if (kms_page_args(call, input, &limit, &offset) < 0)
    return;
  json_t *items = json_array();
  pthread_mutex_lock(&st->lock);
  kms_store_sweep(st);
  for (kms_key *k = st->keys; k; k = k->next)
    if (strcmp(k->account, aws_call_account(call)) == 0 &&
        strcmp(k->region, aws_call_region(call)) == 0)
      json_array_insert_new(items, 0,
                            json_pack("{s:s, s:s}", "KeyId", k->id, "KeyArn", kms_key_arn(k)));
  pthread_mutex_unlock(&st->lock);
  kms_reply_page(call, "Keys", items, limit, offset);
}

/* KMSInvalidStateException when key is pending deletion; 1 when it is. */
static int pending(aws_call *call, kms_key *key) {
  if (strcmp(kms_key_state(key), "PendingDeletion") != 0)
    return 0;
  aws_call_fail(call, 400, "KMSInvalidStateException", "%s is pending deletion.", kms_key_arn(key));
  return 1;
}

static void set_enabled(aws_call *call, json_t *input, int enabled) {
  kms_state *st = kms_state_of(call);
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    return;
  if (!pending(call, key)) {
    json_object_set_new(key->meta, "Enabled", json_boolean(enabled));
    json_object_set_new(key->meta, "KeyState", json_string(enabled ? "Enabled" : "Disabled"));
    aws_call_reply(call, NULL);
  }
  pthread_mutex_unlock(&st->lock);
}

void kms_enable_key(aws_call *call, json_t *input) { set_enabled(call, input, 1); }
void kms_disable_key(aws_call *call, json_t *input) { set_enabled(call, input, 0); }

void kms_schedule_key_deletion(aws_call *call, json_t *input) {
  json_int_t days = int_arg(input, "PendingWindowInDays", 30);
  if (days < 7 || days > 30) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value '%lld' at 'pendingWindowInDays' failed to "
                  "satisfy constraint: Member must have value between 7 and 30",
                  (long long)days);
    return;
  }
  kms_state *st = kms_state_of(call);
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    return;
  if (!pending(call, key)) {
    double when = (double)clock_wall_ms() / 1000.0 + (double)days * 86400.0;
    json_object_set_new(key->meta, "KeyState", json_string("PendingDeletion"));
    json_object_set_new(key->meta, "Enabled", json_false());
    json_object_set_new(key->meta, "DeletionDate", json_real(when));
    json_object_set_new(key->meta, "PendingDeletionWindowInDays", json_integer(days));
    aws_call_reply(call,
                   json_pack("{s:s, s:f, s:s, s:I}", "KeyId", kms_key_arn(key), "DeletionDate",
                             when, "KeyState", "PendingDeletion", "PendingWindowInDays", days));
  }
  pthread_mutex_unlock(&st->lock);
}

void kms_cancel_key_deletion(aws_call *call, json_t *input) {
  kms_state *st = kms_state_of(call);
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    return;
  if (strcmp(kms_key_state(key), "PendingDeletion") != 0) {
    aws_call_fail(call, 400, "KMSInvalidStateException", "%s is not pending deletion.",
                  kms_key_arn(key));
  } else {
    json_object_set_new(key->meta, "KeyState", json_string("Disabled"));
    json_object_del(key->meta, "DeletionDate");
    json_object_del(key->meta, "PendingDeletionWindowInDays");
    aws_call_reply(call, json_pack("{s:s}", "KeyId", kms_key_arn(key)));
  }
  pthread_mutex_unlock(&st->lock);
}

void kms_update_key_description(aws_call *call, json_t *input) {
  const char *d = json_string_value(json_object_get(input, "Description"));
  if (!d || strlen(d) > 8192) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value at 'description' failed to satisfy "
                  "constraint: Member must have length less than or equal to 8192");
    return;
  }
  kms_state *st = kms_state_of(call);
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    return;
  if (!pending(call, key)) {
    json_object_set_new(key->meta, "Description", json_string(d));
    aws_call_reply(call, NULL);
  }
  pthread_mutex_unlock(&st->lock);
}

/* Rotation applies to symmetric encryption keys only. */
static kms_key *rotation_key(kms_state *st, aws_call *call, json_t *input) {
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    return NULL;
  if (pending(call, key)) {
    pthread_mutex_unlock(&st->lock);
    return NULL;
  }
  if (key->kind != KMS_SYMMETRIC) {
    aws_call_fail(call, 400, "UnsupportedOperationException",
                  "%s key spec is not supported for automatic rotation.", kms_key_arn(key));
    pthread_mutex_unlock(&st->lock);
    return NULL;
  }
  return key;
}

void kms_enable_key_rotation(aws_call *call, json_t *input) {
  json_int_t days = int_arg(input, "RotationPeriodInDays", 365);
  if (days < 90 || days > 2560) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value '%lld' at 'rotationPeriodInDays' failed to "
                  "satisfy constraint: Member must have value between 90 and 2560",
                  (long long)days);
    return;
  }
  kms_state *st = kms_state_of(call);
  kms_key *key = rotation_key(st, call, input);
  if (!key)
    return;
  if (strcmp(kms_key_state(key), "Disabled") == 0) {
    aws_call_fail(call, 400, "DisabledException", "%s is disabled.", kms_key_arn(key));
  } else {
    key->rotation = 1;
    key->rotation_days = (int)days;
    aws_call_reply(call, NULL);
  }
  pthread_mutex_unlock(&st->lock);
}

void kms_disable_key_rotation(aws_call *call, json_t *input) {
  kms_state *st = kms_state_of(call);
  kms_key *key = rotation_key(st, call, input);
  if (!key)
    return;
  key->rotation = 0;
  aws_call_reply(call, NULL);
  pthread_mutex_unlock(&st->lock);
}

void kms_get_key_rotation_status(aws_call *call, json_t *input) {
  kms_state *st = kms_state_of(call);
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    return;
  json_t *out =
      json_pack("{s:b, s:s}", "KeyRotationEnabled", key->rotation, "KeyId", kms_key_arn(key));
  if (key->rotation)
    json_object_set_new(out, "RotationPeriodInDays", json_integer(key->rotation_days));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

/* PolicyName is optional and must be "default". */
static int policy_name_ok(aws_call *call, json_t *input) {
  const char *name = json_string_value(json_object_get(input, "PolicyName"));
  if (name && strcmp(name, "default") != 0) {
    aws_call_fail(call, 400, "NotFoundException", "No such policy exists: %.128s", name);
    return 0;
  }
  return 1;
}

void kms_get_key_policy(aws_call *call, json_t *input) {
  if (!policy_name_ok(call, input))
    return;
  kms_state *st = kms_state_of(call);
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    return;
  json_t *out = json_pack("{s:s, s:s}", "Policy", key->policy, "PolicyName", "default");
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

void kms_put_key_policy(aws_call *call, json_t *input) {
  const char *policy = json_string_value(json_object_get(input, "Policy"));
  if (!policy_name_ok(call, input) || policy_ok(call, policy) < 0)
    return;
  kms_state *st = kms_state_of(call);
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    return;
  char *copy = strdup(policy);
  if (!pending(call, key) && copy) {
    free(key->policy);
    key->policy = copy;
    copy = NULL;
    aws_call_reply(call, NULL);
  }
  pthread_mutex_unlock(&st->lock);
  free(copy);
}

void kms_list_key_policies(aws_call *call, json_t *input) {
  kms_state *st = kms_state_of(call);
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    return;
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:[s], s:b}", "PolicyNames", "default", "Truncated", 0));
}

void kms_tag_resource(aws_call *call, json_t *input) {
  kms_state *st = kms_state_of(call);
  json_t *tags = json_object_get(input, "Tags");
  if (tags_ok(call, tags, 0) < 0)
    return;
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    return;
  /* The limit counts the tags after merging: replacing a value adds none. */
  json_t *merged = json_copy(key->tags);
  size_t i;
  json_t *t;
  json_array_foreach(tags, i, t)
      json_object_set(merged, jsonutil_string(t, "TagKey"), json_object_get(t, "TagValue"));
  if (pending(call, key)) {
    /* answered */
  } else if (json_object_size(merged) > KMS_MAX_TAGS) {
    aws_call_fail(call, 400, "TagException", "A KMS key can have at most %d tags.", KMS_MAX_TAGS);
  } else {
    json_decref(key->tags);
    key->tags = merged;
    merged = NULL;
    aws_call_reply(call, NULL);
  }
  pthread_mutex_unlock(&st->lock);
  json_decref(merged);
}

void kms_untag_resource(aws_call *call, json_t *input) {
  kms_state *st = kms_state_of(call);
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    return;
  if (!pending(call, key)) {
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(input, "TagKeys"), i, k) {
      if (json_string_value(k))
        json_object_del(key->tags, json_string_value(k));
    }
    aws_call_reply(call, NULL);
  }
  pthread_mutex_unlock(&st->lock);
}

void kms_list_resource_tags(aws_call *call, json_t *input) {
  size_t limit, offset;
  if (kms_page_args(call, input, &limit, &offset) < 0)
    return;
  kms_state *st = kms_state_of(call);
  kms_key *key = kms_lock_key(st, call, input, "KeyId");
  if (!key)
    return;
  json_t *items = json_array();
  const char *k;
  json_t *v;
  json_object_foreach(key->tags, k, v)
      json_array_append_new(items, json_pack("{s:s, s:O}", "TagKey", k, "TagValue", v));
  pthread_mutex_unlock(&st->lock);
  kms_reply_page(call, "Tags", items, limit, offset);
}
