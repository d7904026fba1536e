/*
 * service.c — the Kinesis Data Streams service's aws_service: state, the
 * operation table, settling status transitions, finding a stream by the
 * StreamName or StreamARN a client gives, and the argument checks AWS makes
 * (its ValidationException wording).
 *
 * The protocol layer does not check a model's constraints (lengths, patterns,
 * ranges), so the handlers do, with AWS's messages.
 * Configuration, as LocalStack names it: KINESIS_LATENCY (milliseconds a
 * status transition takes, default 500) and KINESIS_ERROR_PROBABILITY (0..1,
 * the share of writes and reads failed with
 * ProvisionedThroughputExceededException). AIRGAP_KINESIS_ITERATOR_TTL_MS
 * shortens the 5 minutes an iterator lives, AIRGAP_KINESIS_SUBSCRIPTION_MS
 * the 5 minutes a SubscribeToShard subscription lasts, for tests.
 */
#include "common/clock.h"
#include "common/error.h"
#include "emulator/kinesis/kinesis_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

kin_state *kin_state_of(aws_call *call) { return aws_call_state(call); }

uint64_t kin_now_ms(void) { return clock_wall_ms(); }

uint64_t kin_ms_of(const json_t *timestamp) {
  double s = json_number_value(timestamp) * 1000.0;
  if (!(s > 0)) /* also NaN */
    return 0;
  if (s > 9007199254740992.0)
    return 9007199254740992u;
  return (uint64_t)s;
}

const char *kin_status_name(kin_status s) {
  switch (s) {
  case KIN_CREATING: return "CREATING";
  case KIN_UPDATING: return "UPDATING";
  case KIN_DELETING: return "DELETING";
  default: return "ACTIVE";
  }
}

void kin_stream_free(kin_stream *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->nshards; i++) {
    kin_shard *sh = s->shards[i];
    for (size_t r = sh->first; r < sh->count; r++)
      free(sh->recs[r].key);
    free(sh->recs);
    mpz_clear(sh->start);
    mpz_clear(sh->end);
    free(sh);
  }
  free(s->shards);
  for (size_t i = 0; i < s->nconsumers; i++)
    kin_consumer_free(s->consumers[i]);
  free(s->consumers);
  json_decref(s->tags);
  json_decref(s->metrics);
  free(s->key_id);
  free(s);
}

void kin_stream_remove(kin_state *st, kin_stream *s) {
  for (size_t i = 0; i < st->nstreams; i++) {
    if (st->streams[i] == s) {
      memmove(&st->streams[i], &st->streams[i + 1],
              (st->nstreams - i - 1) * sizeof(st->streams[0]));
      st->nstreams--;
      break;
    }
  }
  kin_stream_free(s);
}

void kin_stream_transition(kin_state *st, kin_stream *s, kin_status status) {
  s->status = status;
  s->ready_ms = kin_now_ms() + st->latency_ms;
  if (st->latency_ms == 0 && status != KIN_DELETING)
    s->status = KIN_ACTIVE;
}

void kin_settle(kin_state *st, uint64_t now) {
  for (size_t i = 0; i < st->nstreams;) {
    kin_stream *s = st->streams[i];
    if (s->status == KIN_DELETING && now >= s->ready_ms) {
      kin_stream_remove(st, s);
      continue;
    }
    if (s->status != KIN_ACTIVE && s->status != KIN_DELETING && now >= s->ready_ms)
      s->status = KIN_ACTIVE;
    for (size_t c = 0; c < s->nconsumers;) {
      kin_consumer *k = s->consumers[c];
      if (now >= k->ready_ms && k->status == KIN_DELETING) {
        kin_consumer_free(k);
        memmove(&s->consumers[c], &s->consumers[c + 1],
                (s->nconsumers - c - 1) * sizeof(s->consumers[0]));
        s->nconsumers--;
        continue;
      }
      if (now >= k->ready_ms && k->status == KIN_CREATING)
        k->status = KIN_ACTIVE;
      c++;
    }
    i++;
  }
}

kin_stream *kin_stream_find(kin_state *st, const char *account, const char *region,
                            const char *name) {
  for (size_t i = 0; i < st->nstreams; i++) {
    kin_stream *s = st->streams[i];
    if (strcmp(s->name, name) == 0 && strcmp(s->account, account) == 0 &&
        strcmp(s->region, region) == 0)
      return s;
  }
  return NULL;
}

kin_stream *kin_stream_by_arn(kin_state *st, const char *arn) {
  for (size_t i = 0; i < st->nstreams; i++)
    if (strcmp(st->streams[i]->arn, arn) == 0)
      return st->streams[i];
  return NULL;
}

kin_shard *kin_shard_find(kin_stream *s, const char *shard_id) {
  for (size_t i = 0; i < s->nshards; i++)
    if (strcmp(s->shards[i]->id, shard_id) == 0)
      return s->shards[i];
  /* AWS also accepts the bare number of a shard id ("1" for shardId-000000000001). */
  char *end = NULL;
  unsigned long n = strtoul(shard_id, &end, 10);
  if (*shard_id >= '0' && *shard_id <= '9' && end && !*end && strlen(shard_id) <= 12)
    for (size_t i = 0; i < s->nshards; i++)
      if (s->shards[i]->index == n)
        return s->shards[i];
  return NULL;
}

void kin_fail_no_shard(kin_state *st, aws_call *call, const kin_stream *s, const char *shard_id) {
  pthread_mutex_unlock(&st->lock);
  aws_call_fail(call, 400, "ResourceNotFoundException",
                "Shard %s in stream %s under account %s does not exist", shard_id, s->name,
                s->account);
}

void kin_fail_validation(aws_call *call, const char *member, const char *value,
                         const char *constraint) {
  aws_call_fail(call, 400, "ValidationException",
                "1 validation error detected: Value '%.256s' at '%s' failed to satisfy "
                "constraint: Member must %s",
                value, member, constraint);
}

int kin_name_arg(aws_call *call, const char *member, const char *value) {
  size_t n = strlen(value);
  if (n < 1 || n > 128) {
    kin_fail_validation(call, member, value,
                        n < 1 ? "have length greater than or equal to 1"
                              : "have length less than or equal to 128");
    return -1;
  }
  if (strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n) {
    kin_fail_validation(call, member, value, "satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
    return -1;
  }
  return 0;
}

int kin_int_arg(aws_call *call, json_t *input, const char *key, const char *member, long min,
                long max, long dflt, long *out) {
  json_t *v = json_object_get(input, key);
  if (!v) {
    *out = dflt;
    return 0;
  }
  long long n = json_integer_value(v);
  char text[32];
  snprintf(text, sizeof(text), "%lld", n);
  if (n < min) {
    char c[64];
    snprintf(c, sizeof(c), "have value greater than or equal to %ld", min);
    kin_fail_validation(call, member, text, c);
    return -1;
  }
  if (n > max) {
    char c[64];
    snprintf(c, sizeof(c), "have value less than or equal to %ld", max);
    kin_fail_validation(call, member, text, c);
    return -1;
  }
  *out = (long)n;
  return 0;
}

/* The name an ARN "arn:aws:kinesis:<region>:<account>:stream/<name>" names,
 * with its account and region; -1 when arn is not a stream ARN. */
static int arn_parts(char account[16], char region[32], char name[129], const char *arn) {
  const char *p = arn;
  if (strncmp(p, "arn:", 4) != 0)
    return -1;
  p += 4;
  const char *colon = strchr(p, ':'); /* partition */
  if (!colon || strncmp(colon + 1, "kinesis:", 8) != 0)
    return -1;
  p = colon + 9;
  colon = strchr(p, ':');
  if (!colon || (size_t)(colon - p) >= 32)
    return -1;
  snprintf(region, 32, "%.*s", (int)(colon - p), p);
  p = colon + 1;
  colon = strchr(p, ':');
  if (!colon || colon - p != 12 || strspn(p, "0123456789") < 12)
    return -1;
  snprintf(account, 16, "%.12s", p);
  p = colon + 1;
  if (strncmp(p, "stream/", 7) != 0 || strlen(p + 7) > 128 || !p[7] || strchr(p + 7, '/'))
    return -1;
  snprintf(name, 129, "%s", p + 7);
  return 0;
}

kin_stream *kin_lock_stream(kin_state *st, aws_call *call, json_t *input, int active,
                            int readable) {
  const char *name = json_string_value(json_object_get(input, "StreamName"));
  const char *arn = json_string_value(json_object_get(input, "StreamARN"));
  char account[16], region[32], arn_name[129];
  snprintf(account, sizeof(account), "%s", aws_call_account(call));
  snprintf(region, sizeof(region), "%s", aws_call_region(call));
  if (!name && !arn) {
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "Neither StreamName nor StreamARN was provided.");
    return NULL;
  }
  if (name && kin_name_arg(call, "streamName", name) < 0)
    return NULL;
  if (arn) {
    if (strlen(arn) > 2048 || arn_parts(account, region, arn_name, arn) < 0) {
      kin_fail_validation(call, "streamARN", arn,
                          "satisfy regular expression pattern: "
                          "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+");
      return NULL;
    }
    if (name && strcmp(name, arn_name) != 0) {
      aws_call_fail(call, 400, "InvalidArgumentException",
                    "StreamName %s does not match the stream name in StreamARN %s.", name, arn);
      return NULL;
    }
    name = arn_name;
  }
  pthread_mutex_lock(&st->lock);
  kin_settle(st, kin_now_ms());
  kin_stream *s = kin_stream_find(st, account, region, name);
  if (s && readable && s->status == KIN_CREATING)
    s = NULL;
  if (!s) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ResourceNotFoundException", "Stream %s under account %s not found.",
                  name, account);
    return NULL;
  }
  if (active && s->status != KIN_ACTIVE) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ResourceInUseException",
                  "Stream %s under account %s not ACTIVE, instead in state %s", name, account,
                  kin_status_name(s->status));
    return NULL;
  }
  return s;
}

static double env_double(const char *name, double dflt, double min, double max) {
  const char *v = getenv(name);
  if (!v || !*v)
    return dflt;
  char *end = NULL;
  double d = strtod(v, &end);
  if (!end || *end || d < min || d > max)
    return dflt;
  return d;
}

static int kin_create(void **state, emulator *emu) {
  kin_state *st = calloc(1, sizeof(*st));
  if (!st)
    return airgap_error_set(AIRGAP_ERROR, "Kinesis: out of memory");
  if (pthread_mutex_init(&st->lock, NULL) != 0) {
    free(st);
    return airgap_error_set(AIRGAP_ERROR, "Kinesis: cannot create the stream store");
  }
  /* getrandom(2), not RAND_bytes: OpenSSL's first use costs ~3.5 ms (its
   * provider's name map), which the first request that needs it pays, not the
   * emulator's start. */
  if (getrandom(st->iterator_key, sizeof(st->iterator_key), 0) !=
      (ssize_t)sizeof(st->iterator_key)) {
    pthread_mutex_destroy(&st->lock);
    free(st);
    return airgap_error_set(AIRGAP_ERROR, "Kinesis: no random bytes for the iterator key");
  }
  st->latency_ms = (uint64_t)env_double("KINESIS_LATENCY", 500, 0, 600000);
  st->iterator_ttl_ms =
      (uint64_t)env_double("AIRGAP_KINESIS_ITERATOR_TTL_MS", KIN_ITERATOR_TTL_MS, 1, 86400000);
  st->error_probability = env_double("KINESIS_ERROR_PROBABILITY", 0, 0, 1);
  st->sub_duration_ms = (uint64_t)env_double("AIRGAP_KINESIS_SUBSCRIPTION_MS", KIN_SUB_DURATION_MS,
                                             100, KIN_SUB_DURATION_MS);
  st->emu = emu;
  *state = st;
  return 0;
}

static void kin_reset(void *state) {
  kin_state *st = state;
  kin_subs_end_all(st, 0);
  pthread_mutex_lock(&st->lock);
  for (size_t i = 0; i < st->nstreams; i++)
    kin_stream_free(st->streams[i]);
  st->nstreams = 0;
  pthread_mutex_unlock(&st->lock);
}

static void kin_shutdown(void *state) { kin_subs_end_all(state, 1); }

static void kin_destroy(void *state) {
  kin_state *st = state;
  if (!st)
    return;
  kin_subs_end_all(st, 1); /* none left after shutdown; this is for a failed start */
  for (size_t i = 0; i < st->nstreams; i++)
    kin_stream_free(st->streams[i]);
  free(st->streams);
  pthread_mutex_destroy(&st->lock);
  free(st);
}

static const aws_operation kin_operations[] = {
    {"AddTagsToStream", kin_add_tags},
    {"CreateStream", kin_create_stream},
    {"DecreaseStreamRetentionPeriod", kin_decrease_retention},
    {"DeleteStream", kin_delete_stream},
    {"DeregisterStreamConsumer", kin_deregister_consumer},
    {"DescribeLimits", kin_describe_limits},
    {"DescribeStream", kin_describe_stream},
    {"DescribeStreamConsumer", kin_describe_consumer},
    {"DescribeStreamSummary", kin_describe_stream_summary},
    {"DisableEnhancedMonitoring", kin_disable_monitoring},
    {"EnableEnhancedMonitoring", kin_enable_monitoring},
    {"GetRecords", kin_get_records},
    {"GetShardIterator", kin_get_shard_iterator},
    {"IncreaseStreamRetentionPeriod", kin_increase_retention},
    {"ListShards", kin_list_shards},
    {"ListStreamConsumers", kin_list_consumers},
    {"ListStreams", kin_list_streams},
    {"ListTagsForResource", kin_list_tags_for_resource},
    {"ListTagsForStream", kin_list_tags},
    {"MergeShards", kin_merge_shards},
    {"PutRecord", kin_put_record},
    {"PutRecords", kin_put_records},
    {"RegisterStreamConsumer", kin_register_consumer},
    {"RemoveTagsFromStream", kin_remove_tags},
    {"SplitShard", kin_split_shard},
    {"StartStreamEncryption", kin_start_encryption},
    {"StopStreamEncryption", kin_stop_encryption},
    {"SubscribeToShard", kin_subscribe_to_shard},
    {"TagResource", kin_tag_resource},
    {"UntagResource", kin_untag_resource},
    {"UpdateShardCount", kin_update_shard_count},
    {"UpdateStreamMode", kin_update_stream_mode},
};

/* Their handlers copy what they store and answer before returning: the
 * request and the answer live in the thread's jansson arena (gateway.c). */
static const char *const kin_arena_operations[] = {"PutRecord", "PutRecords", NULL};

const aws_service aws_service_kinesis = {
    .name = "kinesis",
    .model_name = "kinesis",
    .operations = kin_operations,
    .operation_count = sizeof(kin_operations) / sizeof(kin_operations[0]),
    .create = kin_create,
    .reset = kin_reset,
    .shutdown = kin_shutdown,
    .destroy = kin_destroy,
    .arena_operations = kin_arena_operations,
};
