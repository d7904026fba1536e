/*
 * settings.c — what a stream carries besides its shards: the retention
 * period (24..8760 hours; a decrease drops the records past it at once), tags
 * (AddTagsToStream, RemoveTagsFromStream, ListTagsForStream, Tags at creation,
 * and TagResource, UntagResource, ListTagsForResource on stream and consumer
 * ARNs), server-side encryption settings (stored; with KMS served the key
 * must exist and be enabled, as AWS checks), enhanced monitoring metrics and
 * the capacity mode (UpdateStreamMode).
 */
#include "emulator/kinesis/kinesis_int.h"
#include "emulator/kms/kms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int retention_arg(aws_call *call, json_t *input, long *hours) {
  json_t *v = json_object_get(input, "RetentionPeriodHours");
  long long n = json_integer_value(v);
  if (n < KIN_MIN_RETENTION) {
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "Minimum allowed retention period is %d hours. Requested retention period (%lld "
                  "hours) is too short.",
                  KIN_MIN_RETENTION, n);
    return -1;
  }
  if (n > KIN_MAX_RETENTION) {
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "Maximum allowed retention period is %d hours. Requested retention period (%lld "
                  "hours) is too long.",
                  KIN_MAX_RETENTION, n);
    return -1;
  }
  *hours = (long)n;
  return 0;
}

static void change_retention(aws_call *call, json_t *input, int increase) {
  kin_state *st = kin_state_of(call);
  long hours;
  if (retention_arg(call, input, &hours) < 0)
    return;
  kin_stream *s = kin_lock_stream(st, call, input, 1, 0);
  if (!s)
    return;
  if (increase && hours < s->retention_hours) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "Requested retention period (%ld hours) for stream %s can not be shorter than "
                  "existing retention period (%d hours). Use DecreaseRetentionPeriod API.",
                  hours, s->name, s->retention_hours);
    return;
  }
  if (!increase && hours > s->retention_hours) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "Requested retention period (%ld hours) for stream %s can not be longer than "
                  "existing retention period (%d hours). Use IncreaseRetentionPeriod API.",
                  hours, s->name, s->retention_hours);
    return;
  }
  /* Takes effect at once; the API reference names no UPDATING phase here
   * (unlike encryption and resharding), so the stream stays ACTIVE. */
  s->retention_hours = (int)hours;
  kin_trim(s, kin_now_ms());
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

void kin_increase_retention(aws_call *call, json_t *input) { change_retention(call, input, 1); }

void kin_decrease_retention(aws_call *call, json_t *input) { change_retention(call, input, 0); }

/* Checks a Tags map of a tagging request; -1 after answering. */
static int tag_map_arg(aws_call *call, json_t *tags) {
  size_t n = json_object_size(tags);
  if (n < 1 || n > KIN_MAX_TAGS) {
    char value[32];
    snprintf(value, sizeof(value), "{%zu tags}", n);
    kin_fail_validation(call, "tags", value,
                        n < 1 ? "have length greater than or equal to 1"
                              : "have length less than or equal to 50");
    return -1;
  }
  const char *k;
  json_t *v;
  json_object_foreach(tags, k, v) {
    if (!*k || strlen(k) > 128 || strlen(json_string_value(v)) > 256) {
      kin_fail_validation(call, "tags", k,
                          "have a key of 1 to 128 characters and a value of at most 256");
      return -1;
    }
  }
  return 0;
}

/* Adds tags to have (a resource's tag object) unless the total would pass
 * the limit; -1 after answering (the caller still holds the lock: unlocked
 * here on failure). */
static int tags_add(aws_call *call, kin_state *st, json_t *have, json_t *tags,
                    const char *resource) {
  size_t total = json_object_size(have);
  const char *k;
  json_t *v;
  json_object_foreach(tags, k, v) total += !json_object_get(have, k);
  if (total > KIN_MAX_TAGS) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "Failed to add tags to %s because a given resource cannot have more than %d "
                  "tags.",
                  resource, KIN_MAX_TAGS);
    return -1;
  }
  json_object_update(have, tags);
  return 0;
}

static int tag_keys_arg(aws_call *call, json_t *keys) {
  size_t n = json_array_size(keys);
  if (n < 1 || n > KIN_MAX_TAGS) {
    char value[32];
    snprintf(value, sizeof(value), "[%zu keys]", n);
    kin_fail_validation(call, "tagKeys", value,
                        n < 1 ? "have length greater than or equal to 1"
                              : "have length less than or equal to 50");
    return -1;
  }
  return 0;
}

void kin_add_tags(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  json_t *tags = json_object_get(input, "Tags");
  if (tag_map_arg(call, tags) < 0)
    return;
  kin_stream *s = kin_lock_stream(st, call, input, 1, 0);
  if (!s)
    return;
  char what[300];
  snprintf(what, sizeof(what), "stream %s under account %s", s->name, s->account);
  if (tags_add(call, st, s->tags, tags, what) < 0)
    return;
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

void kin_remove_tags(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  json_t *keys = json_object_get(input, "TagKeys");
  if (tag_keys_arg(call, keys) < 0)
    return;
  kin_stream *s = kin_lock_stream(st, call, input, 1, 0);
  if (!s)
    return;
  size_t i;
  json_t *k;
  json_array_foreach(keys, i, k) json_object_del(s->tags, json_string_value(k));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

static int by_key(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* [{Key, Value}…] of a tag object, sorted by key, after `after` (NULL: from
 * the first), at most limit; *more says whether some were left out. */
static json_t *tag_list(json_t *have, const char *after, size_t limit, int *more) {
  size_t n = json_object_size(have), k = 0;
  const char **keys = calloc(n + 1, sizeof(*keys));
  const char *key;
  json_t *v;
  if (keys)
    json_object_foreach(have, key, v) keys[k++] = key;
  qsort(keys, k, sizeof(*keys), by_key);
  json_t *tags = json_array();
  *more = 0;
  for (size_t i = 0; i < k; i++) {
    if (after && strcmp(keys[i], after) <= 0)
      continue;
    if (json_array_size(tags) == limit) {
      *more = 1;
      break;
    }
    json_array_append_new(
        tags, json_pack("{s:s, s:O}", "Key", keys[i], "Value", json_object_get(have, keys[i])));
  }
  free(keys);
  return tags;
}

void kin_list_tags(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  long limit;
  if (kin_int_arg(call, input, "Limit", "limit", 1, 50, 50, &limit) < 0)
    return;
  const char *after = json_string_value(json_object_get(input, "ExclusiveStartTagKey"));
  kin_stream *s = kin_lock_stream(st, call, input, 0, 0);
  if (!s)
    return;
  int more = 0;
  json_t *tags = tag_list(s->tags, after, (size_t)limit, &more);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:o, s:b}", "Tags", tags, "HasMoreTags", more));
}

/* The tag object of the stream or consumer a ResourceARN names, under the
 * lock (held on success); NULL after answering. */
static json_t *lock_resource_tags(kin_state *st, aws_call *call, json_t *input) {
  const char *arn = json_string_value(json_object_get(input, "ResourceARN"));
  if (!*arn || strlen(arn) > 2048 || strncmp(arn, "arn:", 4) != 0 || !strstr(arn, ":kinesis:") ||
      !strstr(arn, ":stream/")) {
    kin_fail_validation(call, "resourceARN", arn,
                        "satisfy regular expression pattern: "
                        "arn:aws.*:kinesis:.*:\\d{12}:.*stream/\\S+");
    return NULL;
  }
  pthread_mutex_lock(&st->lock);
  kin_settle(st, kin_now_ms());
  for (size_t i = 0; i < st->nstreams; i++) {
    kin_stream *s = st->streams[i];
    if (strcmp(s->arn, arn) == 0)
      return s->tags;
    for (size_t c = 0; c < s->nconsumers; c++)
      if (strcmp(s->consumers[c]->arn, arn) == 0)
        return s->consumers[c]->tags;
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_fail(call, 400, "ResourceNotFoundException", "Resource %s not found.", arn);
  return NULL;
}

void kin_tag_resource(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  json_t *tags = json_object_get(input, "Tags");
  if (tag_map_arg(call, tags) < 0)
    return;
  json_t *have = lock_resource_tags(st, call, input);
  if (!have ||
      tags_add(call, st, have, tags, json_string_value(json_object_get(input, "ResourceARN"))) < 0)
    return;
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

void kin_untag_resource(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  json_t *keys = json_object_get(input, "TagKeys");
  if (tag_keys_arg(call, keys) < 0)
    return;
  json_t *have = lock_resource_tags(st, call, input);
  if (!have)
    return;
  size_t i;
  json_t *k;
  json_array_foreach(keys, i, k) json_object_del(have, json_string_value(k));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

void kin_list_tags_for_resource(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  json_t *have = lock_resource_tags(st, call, input);
  if (!have)
    return;
  int more = 0;
  json_t *tags = tag_list(have, NULL, KIN_MAX_TAGS, &more);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:o}", "Tags", tags));
}

/* KMS's own error code mapped to the one Kinesis answers. */
static const char *kms_code(const char *code) {
  if (code && strcmp(code, "DisabledException") == 0)
    return "KMSDisabledException";
  if (code && strcmp(code, "KMSInvalidStateException") == 0)
    return "KMSInvalidStateException";
  if (code && strcmp(code, "NotFoundException") == 0)
    return "KMSNotFoundException";
  return "KMSAccessDeniedException";
}

static void encryption(aws_call *call, json_t *input, int start) {
  kin_state *st = kin_state_of(call);
  const char *type = json_string_value(json_object_get(input, "EncryptionType"));
  const char *key = json_string_value(json_object_get(input, "KeyId"));
  if (strcmp(type, "KMS") != 0 && strcmp(type, "NONE") != 0) {
    kin_fail_validation(call, "encryptionType", type, "satisfy enum value set: [NONE, KMS]");
    return;
  }
  if (strcmp(type, "KMS") != 0) {
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "Encryption type %s is not valid for %s; use KMS.", type,
                  start ? "StartStreamEncryption" : "StopStreamEncryption");
    return;
  }
  if (!*key || strlen(key) > 2048) {
    kin_fail_validation(call, "keyId", key, "have length between 1 and 2048");
    return;
  }
  const char *code = NULL;
  if (start && kms_available(st->emu) &&
      kms_key_check(NULL, st->emu, aws_call_account(call), aws_call_region(call), key, &code) < 0) {
    aws_call_fail(call, 400, kms_code(code), "KMS key %s cannot be used: %s", key,
                  code ? code : "unknown error");
    return;
  }
  kin_stream *s = kin_lock_stream(st, call, input, 1, 0);
  if (!s)
    return;
  if (start) {
    char *copy = strdup(key);
    if (!copy) {
      pthread_mutex_unlock(&st->lock);
      aws_call_fail(call, 500, "InternalFailure", "Out of memory.");
      return;
    }
    free(s->key_id);
    s->key_id = copy;
    snprintf(s->encryption, sizeof(s->encryption), "KMS");
  } else {
    free(s->key_id);
    s->key_id = NULL;
    snprintf(s->encryption, sizeof(s->encryption), "NONE");
  }
  kin_stream_transition(st, s, KIN_UPDATING);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

void kin_start_encryption(aws_call *call, json_t *input) { encryption(call, input, 1); }

void kin_stop_encryption(aws_call *call, json_t *input) { encryption(call, input, 0); }

static const char *const all_metrics[] = {"IncomingBytes",
                                          "IncomingRecords",
                                          "OutgoingBytes",
                                          "OutgoingRecords",
                                          "WriteProvisionedThroughputExceeded",
                                          "ReadProvisionedThroughputExceeded",
                                          "IteratorAgeMilliseconds"};
#define METRIC_COUNT (sizeof(all_metrics) / sizeof(all_metrics[0]))

static int has_metric(json_t *list, const char *m) {
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) if (strcmp(json_string_value(v), m) == 0) return 1;
  return 0;
}

static void monitoring(aws_call *call, json_t *input, int enable) {
  kin_state *st = kin_state_of(call);
  json_t *asked = json_object_get(input, "ShardLevelMetrics");
  size_t n = json_array_size(asked), i;
  json_t *v;
  if (n < 1 || n > 7) {
    kin_fail_validation(call, "shardLevelMetrics", "[]",
                        n < 1 ? "have length greater than or equal to 1"
                              : "have length less than or equal to 7");
    return;
  }
  int all = 0;
  json_array_foreach(asked, i, v) {
    const char *m = json_string_value(v);
    int known = strcmp(m, "ALL") == 0;
    all |= known;
    for (size_t k = 0; k < METRIC_COUNT; k++)
      known |= strcmp(m, all_metrics[k]) == 0;
    if (!known) {
      kin_fail_validation(call, "shardLevelMetrics", m,
                          "satisfy enum value set: [IncomingBytes, IncomingRecords, "
                          "OutgoingBytes, OutgoingRecords, WriteProvisionedThroughputExceeded, "
                          "ReadProvisionedThroughputExceeded, IteratorAgeMilliseconds, ALL]");
      return;
    }
  }
  kin_stream *s = kin_lock_stream(st, call, input, 1, 0);
  if (!s)
    return;
  json_t *before = json_deep_copy(s->metrics), *after = json_array();
  for (size_t k = 0; k < METRIC_COUNT; k++) {
    int on = has_metric(s->metrics, all_metrics[k]);
    int named = all || has_metric(asked, all_metrics[k]);
    if (enable ? (on || named) : (on && !named))
      json_array_append_new(after, json_string(all_metrics[k]));
  }
  json_decref(s->metrics);
  s->metrics = after;
  json_t *out = json_pack("{s:s, s:s, s:o, s:O}", "StreamName", s->name, "StreamARN", s->arn,
                          "CurrentShardLevelMetrics", before, "DesiredShardLevelMetrics", after);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

void kin_enable_monitoring(aws_call *call, json_t *input) { monitoring(call, input, 1); }

void kin_disable_monitoring(aws_call *call, json_t *input) { monitoring(call, input, 0); }

void kin_update_stream_mode(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  const char *mode =
      json_string_value(json_object_get(json_object_get(input, "StreamModeDetails"), "StreamMode"));
  if (strcmp(mode, "ON_DEMAND") != 0 && strcmp(mode, "PROVISIONED") != 0) {
    kin_fail_validation(call, "streamModeDetails.streamMode", mode,
                        "satisfy enum value set: [PROVISIONED, ON_DEMAND]");
    return;
  }
  json_t *by_arn = json_pack("{s:O}", "StreamARN", json_object_get(input, "StreamARN"));
  kin_stream *s = kin_lock_stream(st, call, by_arn, 1, 0);
  json_decref(by_arn);
  if (!s)
    return;
  int on_demand = strcmp(mode, "ON_DEMAND") == 0;
  if (on_demand == s->on_demand) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "Stream %s under account %s is already in %s mode.", s->name, s->account, mode);
    return;
  }
  s->on_demand = on_demand;
  kin_stream_transition(st, s, KIN_UPDATING);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}
