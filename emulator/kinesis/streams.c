/*
 * streams.c — Kinesis streams and their shards: CreateStream (provisioned
 * with ShardCount, or ON_DEMAND), DeleteStream, DescribeStream,
 * DescribeStreamSummary, ListStreams, ListShards (filters and NextToken
 * pagination), DescribeLimits, and the shard records every other file uses.
 *
 * Shards are kept for the stream's life, closed ones included, in creation
 * order, which is also shard-id order; AWS lists closed shards until their
 * records pass the retention period, which a CI run never reaches.
 */
#include "common/codec.h"
#include "emulator/kinesis/kinesis_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

kin_shard *kin_shard_add(kin_stream *s, const mpz_t start, const mpz_t end, const char *parent,
                         const char *adjacent) {
  if (s->nshards == s->capshards) {
    size_t cap = s->capshards ? s->capshards * 2 : 8;
    kin_shard **n = realloc(s->shards, cap * sizeof(*n));
    if (!n)
      return NULL;
    s->shards = n;
    s->capshards = cap;
  }
  kin_shard *sh = calloc(1, sizeof(*sh));
  if (!sh)
    return NULL;
  sh->index = s->next_index++;
  snprintf(sh->id, sizeof(sh->id), "shardId-%012u", sh->index);
  snprintf(sh->parent, sizeof(sh->parent), "%s", parent ? parent : "");
  snprintf(sh->adjacent, sizeof(sh->adjacent), "%s", adjacent ? adjacent : "");
  mpz_init_set(sh->start, start);
  mpz_init_set(sh->end, end);
  sh->start_seq = s->seq;
  sh->created_ms = kin_now_ms();
  s->shards[s->nshards++] = sh;
  return sh;
}

void kin_shard_close(kin_stream *s, kin_shard *sh) {
  /* The closing boundary takes a number of its own, so a child's first
   * sequence number is above every number of its parents. */
  sh->end_seq = ++s->seq;
  sh->closed_ms = kin_now_ms();
}

size_t kin_open_shards(const kin_stream *s) {
  size_t n = 0;
  for (size_t i = 0; i < s->nshards; i++)
    n += s->shards[i]->end_seq == 0;
  return n;
}

size_t kin_account_open_shards(kin_state *st, const char *account, const char *region) {
  size_t n = 0;
  for (size_t i = 0; i < st->nstreams; i++) {
    kin_stream *s = st->streams[i];
    if (strcmp(s->account, account) == 0 && strcmp(s->region, region) == 0)
      n += kin_open_shards(s);
  }
  return n;
}

json_t *kin_shard_json(const kin_stream *s, const kin_shard *sh) {
  (void)s;
  char seq[KIN_SEQ_LEN + 1];
  json_t *o = json_object();
  json_object_set_new(o, "ShardId", json_string(sh->id));
  if (sh->parent[0])
    json_object_set_new(o, "ParentShardId", json_string(sh->parent));
  if (sh->adjacent[0])
    json_object_set_new(o, "AdjacentParentShardId", json_string(sh->adjacent));
  json_object_set_new(o, "HashKeyRange", kin_hash_range_json(sh));
  json_t *range = json_object();
  kin_seq_format(seq, sh->start_seq, sh);
  json_object_set_new(range, "StartingSequenceNumber", json_string(seq));
  if (sh->end_seq) {
    kin_seq_format(seq, sh->end_seq, sh);
    json_object_set_new(range, "EndingSequenceNumber", json_string(seq));
  }
  json_object_set_new(o, "SequenceNumberRange", range);
  return o;
}

void kin_trim(kin_stream *s, uint64_t now) {
  uint64_t keep_ms = (uint64_t)s->retention_hours * 3600000u;
  if (now < keep_ms)
    return;
  uint64_t cutoff = now - keep_ms;
  for (size_t i = 0; i < s->nshards; i++) {
    kin_shard *sh = s->shards[i];
    while (sh->first < sh->count && sh->recs[sh->first].arrival_ms < cutoff) {
      free(sh->recs[sh->first].key);
      sh->first++;
    }
    if (sh->first == sh->count)
      sh->first = sh->count = 0;
  }
}

static int stream_mode_arg(aws_call *call, json_t *input, int *on_demand) {
  json_t *details = json_object_get(input, "StreamModeDetails");
  if (!details)
    return 0;
  const char *mode = json_string_value(json_object_get(details, "StreamMode"));
  if (strcmp(mode, "ON_DEMAND") == 0) {
    *on_demand = 1;
  } else if (strcmp(mode, "PROVISIONED") == 0) {
    *on_demand = 0;
  } else {
    kin_fail_validation(call, "streamModeDetails.streamMode", mode,
                        "satisfy enum value set: [PROVISIONED, ON_DEMAND]");
    return -1;
  }
  return 0;
}

static int tags_valid(aws_call *call, json_t *tags) {
  const char *k;
  json_t *v;
  json_object_foreach(tags, k, v) {
    if (!*k || strlen(k) > 128) {
      kin_fail_validation(call, "tags", k, "have length less than or equal to 128");
      return -1;
    }
    if (strlen(json_string_value(v)) > 256) {
      kin_fail_validation(call, "tags", json_string_value(v),
                          "have length less than or equal to 256");
      return -1;
    }
  }
  if (json_object_size(tags) > KIN_MAX_TAGS) {
    aws_call_fail(call, 400, "InvalidArgumentException", "A stream cannot have more than %d tags.",
                  KIN_MAX_TAGS);
    return -1;
  }
  return 0;
}

void kin_create_stream(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  const char *name = json_string_value(json_object_get(input, "StreamName"));
  int on_demand = 0;
  long count = 0;
  if (kin_name_arg(call, "streamName", name) < 0 || stream_mode_arg(call, input, &on_demand) < 0 ||
      kin_int_arg(call, input, "ShardCount", "shardCount", 1, 100000, 0, &count) < 0)
    return;
  json_t *tags = json_object_get(input, "Tags");
  if (tags && tags_valid(call, tags) < 0)
    return;
  if (on_demand && count) {
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "ShardCount must not be specified for a stream in ON_DEMAND mode.");
    return;
  }
  if (!on_demand && !count) {
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "ShardCount must be specified for a stream in PROVISIONED mode.");
    return;
  }
  if (on_demand)
    count = KIN_ON_DEMAND_SHARDS;
  const char *account = aws_call_account(call), *region = aws_call_region(call);
  pthread_mutex_lock(&st->lock);
  kin_settle(st, kin_now_ms());
  if (kin_stream_find(st, account, region, name)) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ResourceInUseException", "Stream %s under account %s already exists.",
                  name, account);
    return;
  }
  size_t open = kin_account_open_shards(st, account, region);
  if (open + (size_t)count > KIN_SHARD_LIMIT) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "LimitExceededException",
                  "This request would exceed the shard limit for the account %s in %s. Current "
                  "shard count for the account: %zu. Limit: %d. Number of additional shards that "
                  "would have resulted from this request: %ld.",
                  account, region, open, KIN_SHARD_LIMIT, count);
    return;
  }
  if (on_demand) {
    size_t n = 0;
    for (size_t i = 0; i < st->nstreams; i++)
      n += st->streams[i]->on_demand && strcmp(st->streams[i]->account, account) == 0 &&
           strcmp(st->streams[i]->region, region) == 0;
    if (n >= KIN_ON_DEMAND_LIMIT) {
      pthread_mutex_unlock(&st->lock);
      aws_call_fail(call, 400, "LimitExceededException",
                    "This request would exceed the limit of %d on-demand streams for the account "
                    "%s in %s.",
                    KIN_ON_DEMAND_LIMIT, account, region);
      return;
    }
  }
  kin_stream *s = calloc(1, sizeof(*s));
  kin_stream **grown = NULL;
  if (s && st->nstreams == st->cap) {
    size_t cap = st->cap ? st->cap * 2 : 16;
    grown = realloc(st->streams, cap * sizeof(*grown));
    if (grown) {
      st->streams = grown;
      st->cap = cap;
    }
  }
  if (!s || st->nstreams == st->cap) {
    pthread_mutex_unlock(&st->lock);
    free(s);
    aws_call_fail(call, 500, "InternalFailure", "Out of memory.");
    return;
  }
  snprintf(s->account, sizeof(s->account), "%s", account);
  snprintf(s->region, sizeof(s->region), "%s", region);
  snprintf(s->name, sizeof(s->name), "%s", name);
  snprintf(s->arn, sizeof(s->arn), "arn:aws:kinesis:%s:%s:stream/%s", region, account, name);
  snprintf(s->encryption, sizeof(s->encryption), "NONE");
  s->created_ms = kin_now_ms();
  s->on_demand = on_demand;
  s->retention_hours = KIN_MIN_RETENTION;
  s->tags = tags ? json_deep_copy(tags) : json_object();
  s->metrics = json_array();
  mpz_t lo, hi, a, b;
  mpz_inits(lo, hi, a, b, NULL);
  mpz_ui_pow_ui(hi, 2, 128);
  mpz_sub_ui(hi, hi, 1);
  int ok = s->tags && s->metrics;
  for (unsigned i = 0; ok && i < (unsigned)count; i++) {
    kin_hash_split_even(a, b, lo, hi, i, (unsigned)count);
    ok = kin_shard_add(s, a, b, NULL, NULL) != NULL;
  }
  mpz_clears(lo, hi, a, b, NULL);
  if (!ok) {
    pthread_mutex_unlock(&st->lock);
    kin_stream_free(s);
    aws_call_fail(call, 500, "InternalFailure", "Out of memory.");
    return;
  }
  st->streams[st->nstreams++] = s;
  kin_stream_transition(st, s, KIN_CREATING);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

void kin_delete_stream(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  kin_stream *s = kin_lock_stream(st, call, input, 0, 0);
  if (!s)
    return;
  int enforce = json_is_true(json_object_get(input, "EnforceConsumerDeletion"));
  if (s->nconsumers && !enforce) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ResourceInUseException",
                  "Stream %s under account %s has registered consumers. Deregister them first, "
                  "or set EnforceConsumerDeletion.",
                  s->name, s->account);
    return;
  }
  if (s->status == KIN_CREATING) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ResourceInUseException",
                  "Stream %s under account %s not ACTIVE, instead in state CREATING", s->name,
                  s->account);
    return;
  }
  if (s->status != KIN_DELETING)
    kin_stream_transition(st, s, KIN_DELETING);
  for (size_t i = 0; i < s->nconsumers; i++) {
    s->consumers[i]->status = KIN_DELETING;
    s->consumers[i]->ready_ms = s->ready_ms;
  }
  if (st->latency_ms == 0)
    kin_settle(st, kin_now_ms());
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

static json_t *mode_json(const kin_stream *s) {
  return json_pack("{s:s}", "StreamMode", s->on_demand ? "ON_DEMAND" : "PROVISIONED");
}

static json_t *monitoring_json(const kin_stream *s) {
  return json_pack("[{s:O}]", "ShardLevelMetrics", s->metrics);
}

/* The members DescribeStream and DescribeStreamSummary share. */
static json_t *description_base(const kin_stream *s) {
  json_t *d = json_object();
  json_object_set_new(d, "StreamName", json_string(s->name));
  json_object_set_new(d, "StreamARN", json_string(s->arn));
  json_object_set_new(d, "StreamStatus", json_string(kin_status_name(s->status)));
  json_object_set_new(d, "StreamModeDetails", mode_json(s));
  json_object_set_new(d, "RetentionPeriodHours", json_integer(s->retention_hours));
  json_object_set_new(d, "StreamCreationTimestamp", json_real((double)s->created_ms / 1000.0));
  json_object_set_new(d, "EnhancedMonitoring", monitoring_json(s));
  json_object_set_new(d, "EncryptionType", json_string(s->encryption));
  if (s->key_id)
    json_object_set_new(d, "KeyId", json_string(s->key_id));
  return d;
}

void kin_describe_stream(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  long limit;
  if (kin_int_arg(call, input, "Limit", "limit", 1, 10000, 100, &limit) < 0)
    return;
  const char *after = json_string_value(json_object_get(input, "ExclusiveStartShardId"));
  if (after && kin_name_arg(call, "exclusiveStartShardId", after) < 0)
    return;
  kin_stream *s = kin_lock_stream(st, call, input, 0, 0);
  if (!s)
    return;
  json_t *d = description_base(s);
  json_t *shards = json_array();
  int more = 0;
  /* AWS lists no shards while the stream is being created. */
  for (size_t i = 0; s->status != KIN_CREATING && i < s->nshards; i++) {
    if (after && strcmp(s->shards[i]->id, after) <= 0)
      continue;
    if (json_array_size(shards) == (size_t)limit) {
      more = 1;
      break;
    }
    json_array_append_new(shards, kin_shard_json(s, s->shards[i]));
  }
  json_object_set_new(d, "Shards", shards);
  json_object_set_new(d, "HasMoreShards", json_boolean(more));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:o}", "StreamDescription", d));
}

void kin_describe_stream_summary(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  kin_stream *s = kin_lock_stream(st, call, input, 0, 0);
  if (!s)
    return;
  json_t *d = description_base(s);
  json_object_set_new(d, "OpenShardCount", json_integer((json_int_t)kin_open_shards(s)));
  json_object_set_new(d, "ConsumerCount", json_integer((json_int_t)s->nconsumers));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:o}", "StreamDescriptionSummary", d));
}

static int by_name(const void *a, const void *b) {
  return strcmp((*(kin_stream *const *)a)->name, (*(kin_stream *const *)b)->name);
}

void kin_list_streams(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  long limit;
  if (kin_int_arg(call, input, "Limit", "limit", 1, 10000, 100, &limit) < 0)
    return;
  const char *after = json_string_value(json_object_get(input, "ExclusiveStartStreamName"));
  const char *token = json_string_value(json_object_get(input, "NextToken"));
  char *buf = NULL, *f[1];
  if (token) {
    if (after) {
      aws_call_fail(call, 400, "InvalidArgumentException",
                    "NextToken and ExclusiveStartStreamName cannot be provided together.");
      return;
    }
    if (strlen(token) > KIN_MAX_TOKEN || kin_token_parse(&buf, f, 1, st, token) < 0) {
      aws_call_fail(call, 400, "InvalidArgumentException", "Invalid NextToken.");
      return;
    }
    after = f[0];
  } else if (after && kin_name_arg(call, "exclusiveStartStreamName", after) < 0) {
    return;
  }
  const char *account = aws_call_account(call), *region = aws_call_region(call);
  pthread_mutex_lock(&st->lock);
  kin_settle(st, kin_now_ms());
  kin_stream **mine = calloc(st->nstreams + 1, sizeof(*mine));
  size_t n = 0;
  for (size_t i = 0; mine && i < st->nstreams; i++)
    if (strcmp(st->streams[i]->account, account) == 0 &&
        strcmp(st->streams[i]->region, region) == 0)
      mine[n++] = st->streams[i];
  if (!mine) {
    pthread_mutex_unlock(&st->lock);
    free(buf);
    aws_call_fail(call, 500, "InternalFailure", "Out of memory.");
    return;
  }
  qsort(mine, n, sizeof(*mine), by_name);
  json_t *names = json_array(), *summaries = json_array();
  const char *last = NULL;
  int more = 0;
  for (size_t i = 0; i < n; i++) {
    kin_stream *s = mine[i];
    if (after && strcmp(s->name, after) <= 0)
      continue;
    if (json_array_size(names) == (size_t)limit) {
      more = 1;
      break;
    }
    json_array_append_new(names, json_string(s->name));
    json_array_append_new(summaries,
                          json_pack("{s:s, s:s, s:s, s:o, s:f}", "StreamName", s->name, "StreamARN",
                                    s->arn, "StreamStatus", kin_status_name(s->status),
                                    "StreamModeDetails", mode_json(s), "StreamCreationTimestamp",
                                    (double)s->created_ms / 1000.0));
    last = s->name;
  }
  json_t *out = json_pack("{s:o, s:b, s:o}", "StreamNames", names, "HasMoreStreams", more,
                          "StreamSummaries", summaries);
  if (more) {
    char *next = kin_token_make(st, &last, 1);
    if (next)
      json_object_set_new(out, "NextToken", json_string(next));
    free(next);
  }
  free(mine);
  pthread_mutex_unlock(&st->lock);
  free(buf);
  aws_call_reply(call, out);
}

/* ---- ListShards ---- */

typedef struct shard_filter {
  const char *type; /* NULL: none */
  const char *shard_id;
  uint64_t ts_ms;
} shard_filter;

static int filter_match(const shard_filter *f, const kin_shard *sh, const char *after) {
  if (after && strcmp(sh->id, after) <= 0)
    return 0;
  if (!f->type)
    return 1;
  if (strcmp(f->type, "AFTER_SHARD_ID") == 0)
    return strcmp(sh->id, f->shard_id) > 0;
  if (strcmp(f->type, "AT_LATEST") == 0)
    return sh->end_seq == 0;
  if (strcmp(f->type, "AT_TIMESTAMP") == 0)
    return sh->created_ms <= f->ts_ms && (sh->end_seq == 0 || sh->closed_ms > f->ts_ms);
  if (strcmp(f->type, "FROM_TIMESTAMP") == 0)
    return sh->end_seq == 0 || sh->closed_ms >= f->ts_ms;
  return 1; /* AT_TRIM_HORIZON, FROM_TRIM_HORIZON: every shard kept */
}

static int filter_arg(aws_call *call, json_t *input, shard_filter *f) {
  json_t *filter = json_object_get(input, "ShardFilter");
  memset(f, 0, sizeof(*f));
  if (!filter)
    return 0;
  f->type = json_string_value(json_object_get(filter, "Type"));
  static const char *const types[] = {"AFTER_SHARD_ID", "AT_TRIM_HORIZON", "FROM_TRIM_HORIZON",
                                      "AT_LATEST",      "AT_TIMESTAMP",    "FROM_TIMESTAMP"};
  int known = 0;
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
    known |= strcmp(f->type, types[i]) == 0;
  if (!known) {
    kin_fail_validation(call, "shardFilter.type", f->type,
                        "satisfy enum value set: [AFTER_SHARD_ID, AT_TRIM_HORIZON, "
                        "FROM_TRIM_HORIZON, AT_LATEST, AT_TIMESTAMP, FROM_TIMESTAMP]");
    return -1;
  }
  f->shard_id = json_string_value(json_object_get(filter, "ShardId"));
  json_t *ts = json_object_get(filter, "Timestamp");
  int wants_id = strcmp(f->type, "AFTER_SHARD_ID") == 0;
  int wants_ts = strstr(f->type, "TIMESTAMP") != NULL;
  if (wants_id != (f->shard_id != NULL)) {
    aws_call_fail(call, 400, "InvalidArgumentException",
                  wants_id ? "ShardId must be specified with the AFTER_SHARD_ID filter type."
                           : "ShardId can be specified only with the AFTER_SHARD_ID filter type.");
    return -1;
  }
  if (wants_ts != (ts != NULL)) {
    aws_call_fail(call, 400, "InvalidArgumentException",
                  wants_ts ? "Timestamp must be specified with the %s filter type."
                           : "Timestamp can be specified only with the AT_TIMESTAMP and "
                             "FROM_TIMESTAMP filter types (not %s).",
                  f->type);
    return -1;
  }
  if (ts)
    f->ts_ms = kin_ms_of(ts);
  return 0;
}

void kin_list_shards(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  long limit;
  shard_filter f;
  if (kin_int_arg(call, input, "MaxResults", "maxResults", 1, 10000, 1000, &limit) < 0 ||
      filter_arg(call, input, &f) < 0)
    return;
  const char *token = json_string_value(json_object_get(input, "NextToken"));
  const char *after = json_string_value(json_object_get(input, "ExclusiveStartShardId"));
  char *buf = NULL, *fields[6];
  json_t *from_token = NULL;
  if (token) {
    if (json_object_get(input, "StreamName") || json_object_get(input, "StreamARN") || after ||
        json_object_get(input, "StreamCreationTimestamp")) {
      aws_call_fail(call, 400, "InvalidArgumentException",
                    "NextToken and StreamName/StreamARN, ExclusiveStartShardId or "
                    "StreamCreationTimestamp cannot be provided together.");
      return;
    }
    uint64_t issued = 0;
    if (strlen(token) > KIN_MAX_TOKEN || kin_token_parse(&buf, fields, 6, st, token) < 0 ||
        kin_u64_parse(&issued, fields[2]) < 0) {
      free(buf);
      aws_call_fail(call, 400, "InvalidArgumentException", "Invalid NextToken.");
      return;
    }
    if (kin_now_ms() > issued + KIN_ITERATOR_TTL_MS) {
      free(buf);
      aws_call_fail(call, 400, "ExpiredNextTokenException",
                    "The timestamp of the NextToken has expired; call ListShards again without "
                    "a NextToken.");
      return;
    }
    from_token = json_pack("{s:s}", "StreamARN", fields[0]);
    after = fields[1];
    if (fields[3][0]) {
      f.type = fields[3];
      f.shard_id = fields[4][0] ? fields[4] : NULL;
      kin_u64_parse(&f.ts_ms, fields[5]);
    }
  } else if (after && kin_name_arg(call, "exclusiveStartShardId", after) < 0) {
    return;
  }
  kin_stream *s = kin_lock_stream(st, call, from_token ? from_token : input, 0, 0);
  json_decref(from_token);
  if (!s) {
    free(buf);
    return;
  }
  json_t *ts = json_object_get(input, "StreamCreationTimestamp");
  if (ts && kin_ms_of(ts) / 1000 != s->created_ms / 1000) {
    pthread_mutex_unlock(&st->lock);
    free(buf);
    aws_call_fail(call, 400, "ResourceNotFoundException",
                  "Stream %s under account %s with the given StreamCreationTimestamp not found.",
                  s->name, s->account);
    return;
  }
  json_t *shards = json_array();
  const char *last = NULL;
  int more = 0;
  for (size_t i = 0; i < s->nshards; i++) {
    if (!filter_match(&f, s->shards[i], after))
      continue;
    if (json_array_size(shards) == (size_t)limit) {
      more = 1;
      break;
    }
    json_array_append_new(shards, kin_shard_json(s, s->shards[i]));
    last = s->shards[i]->id;
  }
  json_t *out = json_pack("{s:o}", "Shards", shards);
  if (more) {
    char issued[24], ts_text[24];
    snprintf(issued, sizeof(issued), "%llu", (unsigned long long)kin_now_ms());
    snprintf(ts_text, sizeof(ts_text), "%llu", (unsigned long long)f.ts_ms);
    const char *tf[6] = {s->arn, last, issued, f.type ? f.type : "", f.shard_id ? f.shard_id : "",
                         ts_text};
    char *next = kin_token_make(st, tf, 6);
    if (next)
      json_object_set_new(out, "NextToken", json_string(next));
    free(next);
  }
  pthread_mutex_unlock(&st->lock);
  free(buf);
  aws_call_reply(call, out);
}

void kin_describe_limits(aws_call *call, json_t *input) {
  (void)input;
  kin_state *st = kin_state_of(call);
  const char *account = aws_call_account(call), *region = aws_call_region(call);
  pthread_mutex_lock(&st->lock);
  kin_settle(st, kin_now_ms());
  size_t open = kin_account_open_shards(st, account, region), on_demand = 0;
  for (size_t i = 0; i < st->nstreams; i++)
    on_demand += st->streams[i]->on_demand && strcmp(st->streams[i]->account, account) == 0 &&
                 strcmp(st->streams[i]->region, region) == 0;
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call,
                 json_pack("{s:i, s:I, s:I, s:i}", "ShardLimit", KIN_SHARD_LIMIT, "OpenShardCount",
                           (json_int_t)open, "OnDemandStreamCount", (json_int_t)on_demand,
                           "OnDemandStreamCountLimit", KIN_ON_DEMAND_LIMIT));
}
