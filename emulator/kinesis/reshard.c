/*
 * reshard.c — SplitShard, MergeShards and UpdateShardCount. A reshard closes
 * its parents at the stream's counter and opens children whose lineage
 * (ParentShardId, AdjacentParentShardId) points back at them, so readers can
 * finish a parent before its children. The stream is UPDATING for the
 * configured latency and refuses another reshard until it is ACTIVE again.
 *
 * UpdateShardCount (UNIFORM_SCALING) replaces every open shard by the target
 * number of evenly split shards in one step; AWS reaches the same ranges by a
 * series of splits and merges. Each new shard names as parent the old shard
 * holding its starting hash key and as adjacent parent the one holding its
 * ending hash key when that differs.
 */
#include "emulator/kinesis/kinesis_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int shard_arg(aws_call *call, kin_state *st, kin_stream *s, const char *member,
                     const char *shard_id, kin_shard **out) {
  kin_shard *sh = kin_shard_find(s, shard_id);
  if (!sh) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ResourceNotFoundException",
                  "Could not find shard %s in stream %s under account %s.", shard_id, s->name,
                  s->account);
    return -1;
  }
  if (sh->end_seq) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "Shard %s in stream %s under account %s has already been merged or split, and "
                  "thus is not eligible for merging or splitting (%s).",
                  sh->id, s->name, s->account, member);
    return -1;
  }
  *out = sh;
  return 0;
}

static int room_for(aws_call *call, kin_state *st, kin_stream *s, size_t more) {
  size_t open = kin_account_open_shards(st, s->account, s->region);
  if (open + more <= KIN_SHARD_LIMIT)
    return 0;
  pthread_mutex_unlock(&st->lock);
  aws_call_fail(call, 400, "LimitExceededException",
                "This request would exceed the shard limit for the account %s in %s. Current shard "
                "count for the account: %zu. Limit: %d. Number of additional shards that would "
                "have resulted from this request: %zu.",
                s->account, s->region, open, KIN_SHARD_LIMIT, more);
  return -1;
}

void kin_split_shard(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  const char *shard_id = json_string_value(json_object_get(input, "ShardToSplit"));
  const char *key = json_string_value(json_object_get(input, "NewStartingHashKey"));
  if (kin_name_arg(call, "shardToSplit", shard_id) < 0)
    return;
  mpz_t k, before;
  mpz_inits(k, before, NULL);
  if (kin_hash_parse(k, key) < 0) {
    mpz_clears(k, before, NULL);
    kin_fail_validation(call, "newStartingHashKey", key,
                        "satisfy regular expression pattern: 0|([1-9]\\d{0,38})");
    return;
  }
  kin_stream *s = kin_lock_stream(st, call, input, 1, 0);
  kin_shard *sh = NULL;
  if (!s || shard_arg(call, st, s, "ShardToSplit", shard_id, &sh) < 0 ||
      room_for(call, st, s, 1) < 0) {
    mpz_clears(k, before, NULL);
    return;
  }
  if (mpz_cmp(k, sh->start) <= 0 || mpz_cmp(k, sh->end) > 0) {
    char *a = mpz_get_str(NULL, 10, sh->start), *b = mpz_get_str(NULL, 10, sh->end);
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "NewStartingHashKey %s used in SplitShard() on shard %s in stream %s under "
                  "account %s is not both greater than the shard's StartingHashKey %s and not "
                  "greater than the shard's EndingHashKey %s.",
                  key, sh->id, s->name, s->account, a, b);
    free(a);
    free(b);
    mpz_clears(k, before, NULL);
    return;
  }
  mpz_sub_ui(before, k, 1);
  kin_shard_close(s, sh);
  int ok = kin_shard_add(s, sh->start, before, sh->id, NULL) != NULL &&
           kin_shard_add(s, k, sh->end, sh->id, NULL) != NULL;
  mpz_clears(k, before, NULL);
  kin_stream_transition(st, s, KIN_UPDATING);
  pthread_mutex_unlock(&st->lock);
  if (ok)
    aws_call_reply(call, NULL);
  else
    aws_call_fail(call, 500, "InternalFailure", "Out of memory.");
}

void kin_merge_shards(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  const char *a_id = json_string_value(json_object_get(input, "ShardToMerge"));
  const char *b_id = json_string_value(json_object_get(input, "AdjacentShardToMerge"));
  if (kin_name_arg(call, "shardToMerge", a_id) < 0 ||
      kin_name_arg(call, "adjacentShardToMerge", b_id) < 0)
    return;
  kin_stream *s = kin_lock_stream(st, call, input, 1, 0);
  kin_shard *a = NULL, *b = NULL;
  if (!s || shard_arg(call, st, s, "ShardToMerge", a_id, &a) < 0 ||
      shard_arg(call, st, s, "AdjacentShardToMerge", b_id, &b) < 0)
    return;
  mpz_t next;
  mpz_init(next);
  int adjacent = 0;
  if (a != b) {
    mpz_add_ui(next, a->end, 1);
    adjacent = mpz_cmp(next, b->start) == 0;
    mpz_add_ui(next, b->end, 1);
    adjacent |= mpz_cmp(next, a->start) == 0;
  }
  mpz_clear(next);
  if (!adjacent) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "Shards %s and %s in stream %s under account %s are not an adjacent pair of "
                  "shards eligible for merging.",
                  a_id, b_id, s->name, s->account);
    return;
  }
  const mpz_t *lo = mpz_cmp(a->start, b->start) < 0 ? &a->start : &b->start;
  const mpz_t *hi = mpz_cmp(a->end, b->end) > 0 ? &a->end : &b->end;
  kin_shard_close(s, a);
  kin_shard_close(s, b);
  int ok = kin_shard_add(s, *lo, *hi, a->id, b->id) != NULL;
  kin_stream_transition(st, s, KIN_UPDATING);
  pthread_mutex_unlock(&st->lock);
  if (ok)
    aws_call_reply(call, NULL);
  else
    aws_call_fail(call, 500, "InternalFailure", "Out of memory.");
}

/* The open shard (among the first n of s) holding hash key h. */
static kin_shard *old_holding(kin_stream *s, size_t n, const mpz_t h) {
  for (size_t i = 0; i < n; i++) {
    kin_shard *sh = s->shards[i];
    if (sh->end_seq == 0 && mpz_cmp(h, sh->start) >= 0 && mpz_cmp(h, sh->end) <= 0)
      return sh;
  }
  return NULL;
}

void kin_update_shard_count(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  const char *scaling = json_string_value(json_object_get(input, "ScalingType"));
  long target;
  if (kin_int_arg(call, input, "TargetShardCount", "targetShardCount", 1, 100000, 1, &target) < 0)
    return;
  if (strcmp(scaling, "UNIFORM_SCALING") != 0) {
    kin_fail_validation(call, "scalingType", scaling, "satisfy enum value set: [UNIFORM_SCALING]");
    return;
  }
  kin_stream *s = kin_lock_stream(st, call, input, 1, 0);
  if (!s)
    return;
  if (s->on_demand) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ValidationException",
                  "UpdateShardCount is not supported for stream %s under account %s in "
                  "ON_DEMAND mode.",
                  s->name, s->account);
    return;
  }
  size_t current = kin_open_shards(s);
  if ((size_t)target > current * 2 || (size_t)target * 2 < current) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "UpdateShardCount of stream %s under account %s: the target shard count %ld "
                  "must be within half and double the current open shard count %zu.",
                  s->name, s->account, target, current);
    return;
  }
  if ((size_t)target > current && room_for(call, st, s, (size_t)target - current) < 0)
    return;
  if ((size_t)target != current) {
    size_t old_n = s->nshards;
    mpz_t lo, hi, a, b;
    mpz_inits(lo, hi, a, b, NULL);
    mpz_ui_pow_ui(hi, 2, 128);
    mpz_sub_ui(hi, hi, 1);
    /* Lineage first (while the old shards are open), then close them all. */
    char(*parents)[2][32] = calloc((size_t)target, sizeof(*parents));
    int ok = parents != NULL;
    for (long i = 0; ok && i < target; i++) {
      kin_hash_split_even(a, b, lo, hi, (unsigned)i, (unsigned)target);
      kin_shard *p = old_holding(s, old_n, a), *q = old_holding(s, old_n, b);
      snprintf(parents[i][0], 32, "%s", p ? p->id : "");
      snprintf(parents[i][1], 32, "%s", q && q != p ? q->id : "");
    }
    for (size_t i = 0; ok && i < old_n; i++)
      if (s->shards[i]->end_seq == 0)
        kin_shard_close(s, s->shards[i]);
    for (long i = 0; ok && i < target; i++) {
      kin_hash_split_even(a, b, lo, hi, (unsigned)i, (unsigned)target);
      ok = kin_shard_add(s, a, b, parents[i][0], parents[i][1]) != NULL;
    }
    free(parents);
    mpz_clears(lo, hi, a, b, NULL);
    if (!ok) {
      pthread_mutex_unlock(&st->lock);
      aws_call_fail(call, 500, "InternalFailure", "Out of memory.");
      return;
    }
    kin_stream_transition(st, s, KIN_UPDATING);
  }
  json_t *out = json_pack("{s:s, s:s, s:i, s:i}", "StreamName", s->name, "StreamARN", s->arn,
                          "CurrentShardCount", (int)current, "TargetShardCount", (int)target);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}
