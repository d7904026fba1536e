/*
 * subscribe.c — SubscribeToShard: enhanced fan-out's push reads. The answer
 * is an event stream (application/vnd.amazon.eventstream) sent chunked over
 * HTTP/1.1 through the gateway's streaming answers (service.h,
 * aws_call_reply_stream): first the `initial-response` event, then
 * SubscribeToShardEvent events ({Records, ContinuationSequenceNumber,
 * MillisBehindLatest, ChildShards}) for as long as the subscription lasts
 * (AWS's 5 minutes; AIRGAP_KINESIS_SUBSCRIPTION_MS shortens it for tests),
 * after which the body ends and the client subscribes again.
 *
 * One timer feeds every subscription of the service, every KIN_SUB_TICK_MS
 * while any is live (no thread per subscription): a tick sends what was put
 * since the last one (at most KIN_SUB_EVENT_BYTES of records per event), or
 * an empty event after KIN_SUB_HEARTBEAT_MS of quiet. The heartbeat is also
 * how a client that went away is noticed: a parked connection is not
 * watched, its next write fails (service.h).
 *
 * AWS's rules: a second SubscribeToShard of the same consumer and shard
 * within 5 seconds of a successful one is refused (ResourceInUseException);
 * a later one takes the subscription over and the older stream ends with a
 * ResourceInUseException event. Only live subscriptions count here: one whose
 * client has gone is forgotten at its next heartbeat. A shard that is closed
 * and read to its end sends ChildShards (ContinuationSequenceNumber null) and
 * ends the stream; a consumer or stream deleted meanwhile ends it with a
 * ResourceNotFoundException event.
 */
#include "common/log.h"
#include "emulator/kinesis/kinesis_int.h"
#include "emulator/protocol/event_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIN_SUB_TICK_MS 200
#define KIN_SUB_HEARTBEAT_MS 1000
#define KIN_SUB_EVENT_BYTES (1u << 20)
#define KIN_SUB_MAX 1000 /* live subscriptions per emulator */

typedef struct kin_sub {
  aws_stream *out;
  char consumer_arn[512];
  char stream_arn[256];
  uint64_t stream_created_ms;
  char shard[32];
  uint64_t position;      /* records with seq > position come next */
  uint64_t started_ms;    /* wall clock */
  uint64_t last_event_ms; /* monotonic enough: wall clock, like the rest */
  int taken_over;
  struct kin_sub *next;
} kin_sub;

static void sub_timer_fire(void *payload);

/* Arms the timer when it is not armed (under st->lock). */
static void sub_timer_arm(kin_state *st) {
  if (!st->sub_timer && !st->stopping && st->subs)
    st->sub_timer = emulator_timer_add(st->emu, KIN_SUB_TICK_MS, sub_timer_fire, st);
}

/* Writes one event message; -1 when the client can no longer be reached. */
static int sub_send(kin_sub *sub, const char *event_type, json_t *payload) {
  char *text = json_dumps(payload, JSON_COMPACT);
  json_decref(payload);
  if (!text)
    return -1;
  dynbuf b;
  dynbuf_init(&b, EVENT_STREAM_MAX_MESSAGE);
  int rc = event_stream_event_append(&b, event_type, "application/json", text, strlen(text));
  free(text);
  if (rc == 0 && !dynbuf_failed(&b))
    rc = aws_stream_write(sub->out, b.data, b.len);
  else
    rc = -1;
  dynbuf_free(&b);
  return rc;
}

/* Ends a stream with a modeled error event, as AWS ends a subscription. */
static void sub_fail(kin_sub *sub, const char *code, const char *message) {
  json_t *body = json_pack("{s:s}", "message", message);
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  dynbuf b;
  dynbuf_init(&b, EVENT_STREAM_MAX_MESSAGE);
  if (text &&
      event_stream_exception_append(&b, code, "application/json", text, strlen(text)) == 0 &&
      !dynbuf_failed(&b))
    aws_stream_write(sub->out, b.data, b.len);
  free(text);
  dynbuf_free(&b);
}

/* One subscription's tick (under st->lock). Returns 1 when it is over. */
static int sub_tick(kin_state *st, kin_sub *sub, uint64_t now) {
  if (aws_stream_gone(sub->out))
    return 1;
  if (sub->taken_over) {
    char msg[700];
    snprintf(msg, sizeof(msg),
             "Another subscription of consumer %s to shard %s has taken over this one.",
             sub->consumer_arn, sub->shard);
    sub_fail(sub, "ResourceInUseException", msg);
    return 1;
  }
  kin_stream *s = kin_stream_by_arn(st, sub->stream_arn);
  kin_consumer *c = NULL;
  for (size_t i = 0; s && i < s->nconsumers && !c; i++)
    if (strcmp(s->consumers[i]->arn, sub->consumer_arn) == 0)
      c = s->consumers[i];
  kin_shard *sh =
      s && s->created_ms == sub->stream_created_ms ? kin_shard_find(s, sub->shard) : NULL;
  if (!c || c->status != KIN_ACTIVE || !sh) {
    char msg[700];
    snprintf(msg, sizeof(msg), "Consumer %s or its stream no longer exists.", sub->consumer_arn);
    sub_fail(sub, "ResourceNotFoundException", msg);
    return 1;
  }
  if (now >= sub->started_ms + st->sub_duration_ms)
    return 1; /* the subscription's time is up: the body ends, the client renews */
  kin_trim(s, now);
  json_t *records = json_array();
  uint64_t position = sub->position, behind = 0;
  int ended = 0;
  kin_shard_read(records, &position, &ended, &behind, s, sh, KIN_MAX_GET_RECORDS,
                 KIN_SUB_EVENT_BYTES, now);
  if (json_array_size(records) == 0 && !ended && now - sub->last_event_ms < KIN_SUB_HEARTBEAT_MS) {
    json_decref(records);
    return 0;
  }
  json_t *event =
      json_pack("{s:o, s:I}", "Records", records, "MillisBehindLatest", (json_int_t)behind);
  if (ended) {
    json_object_set_new(event, "ChildShards", kin_child_shards(s, sh));
  } else {
    char seq[KIN_SEQ_LEN + 1];
    kin_seq_format(seq, position, sh);
    json_object_set_new(event, "ContinuationSequenceNumber", json_string(seq));
  }
  if (sub_send(sub, "SubscribeToShardEvent", event) < 0)
    return 1;
  sub->position = position;
  sub->last_event_ms = now;
  return ended;
}

static void sub_timer_fire(void *payload) {
  kin_state *st = payload;
  pthread_mutex_lock(&st->lock);
  st->sub_timer = NULL;
  if (st->stopping) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  uint64_t now = kin_now_ms();
  kin_settle(st, now);
  for (kin_sub **p = &st->subs; *p;) {
    kin_sub *sub = *p;
    if (sub_tick(st, sub, now)) {
      *p = sub->next;
      aws_stream_close(sub->out);
      free(sub);
    } else {
      p = &sub->next;
    }
  }
  sub_timer_arm(st);
  pthread_mutex_unlock(&st->lock);
}

void kin_subs_end_all(kin_state *st, int stop) {
  pthread_mutex_lock(&st->lock);
  if (stop)
    st->stopping = 1;
  emulator_timer *timer = stop ? st->sub_timer : NULL;
  if (stop)
    st->sub_timer = NULL;
  kin_sub *subs = st->subs;
  st->subs = NULL;
  pthread_mutex_unlock(&st->lock);
  /* Outside the lock: a tick that is running takes it, and cancel waits for
   * the tick; having seen stopping, it arms no other. */
  if (timer)
    emulator_timer_cancel(timer);
  while (subs) {
    kin_sub *next = subs->next;
    aws_stream_close(subs->out);
    free(subs);
    subs = next;
  }
}

void kin_subscribe_to_shard(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  const char *carn = json_string_value(json_object_get(input, "ConsumerARN"));
  const char *shard_id = json_string_value(json_object_get(input, "ShardId"));
  json_t *pos = json_object_get(input, "StartingPosition");
  const char *type = json_string_value(json_object_get(pos, "Type"));
  const char *seq_text = json_string_value(json_object_get(pos, "SequenceNumber"));
  json_t *ts = json_object_get(pos, "Timestamp");
  if (!carn) {
    aws_call_fail(call, 400, "ValidationException",
                  "1 validation error detected: Value null at 'consumerARN' failed to satisfy "
                  "constraint: Member must not be null");
    return;
  }
  if (kin_name_arg(call, "shardId", shard_id ? shard_id : "") < 0)
    return;
  static const kin_start_names names = {"startingPosition.type", "SequenceNumber",
                                        "StartingPosition type"};
  int t = kin_start_type_check(call, type, &names, seq_text, ts);
  if (t < 0)
    return;
  json_t *by_arn = json_pack("{s:s}", "ConsumerARN", carn);
  kin_stream *s = NULL;
  kin_consumer *c = kin_lock_consumer(st, call, by_arn, &s);
  json_decref(by_arn);
  if (!c)
    return;
  if (c->status != KIN_ACTIVE) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ResourceInUseException",
                  "Consumer %s is not in ACTIVE state, instead in state %s.", c->arn,
                  kin_status_name(c->status));
    return;
  }
  kin_shard *sh = kin_shard_find(s, shard_id);
  if (!sh) {
    kin_fail_no_shard(st, call, s, shard_id);
    return;
  }
  uint64_t now = kin_now_ms();
  kin_trim(s, now);
  uint64_t position = sh->start_seq;
  unsigned other = 0;
  int rc = kin_start_position(&position, &other, s, sh, t, seq_text, t == 4 ? kin_ms_of(ts) : 0);
  if (rc < 0) {
    pthread_mutex_unlock(&st->lock);
    if (rc == -1)
      aws_call_fail(call, 400, "InvalidArgumentException",
                    "StartingSequenceNumber %.140s used in SubscribeToShard on shard %s in stream "
                    "%s under account %s is invalid.",
                    seq_text, sh->id, s->name, s->account);
    else
      aws_call_fail(call, 400, "InvalidArgumentException",
                    "Invalid StartingSequenceNumber. It encodes shardId-%012u, while it was used "
                    "in a call to a shard with %s",
                    other, sh->id);
    return;
  }
  size_t live = 0;
  kin_sub *previous = NULL;
  for (kin_sub *x = st->subs; x; x = x->next) {
    live++;
    if (!x->taken_over && strcmp(x->consumer_arn, c->arn) == 0 && strcmp(x->shard, sh->id) == 0)
      previous = x;
  }
  if (previous && now < previous->started_ms + KIN_SUB_TAKEOVER_MS) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ResourceInUseException",
                  "Another active subscription exists for consumer %s and shard %s. Subscribe "
                  "again 5 seconds or more after the previous call to take it over.",
                  c->arn, sh->id);
    return;
  }
  if (live >= KIN_SUB_MAX || st->stopping) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "LimitExceededException",
                  "This emulator serves at most %d subscriptions at once.", KIN_SUB_MAX);
    return;
  }
  kin_sub *sub = calloc(1, sizeof(*sub));
  if (!sub) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 500, "InternalFailure", "Out of memory.");
    return;
  }
  snprintf(sub->consumer_arn, sizeof(sub->consumer_arn), "%s", c->arn);
  snprintf(sub->stream_arn, sizeof(sub->stream_arn), "%s", s->arn);
  snprintf(sub->shard, sizeof(sub->shard), "%s", sh->id);
  sub->stream_created_ms = s->created_ms;
  sub->position = position;
  sub->started_ms = now;
  sub->last_event_ms = now;
  /* The answer goes out under the lock so that no tick can write an event
   * before the initial response. */
  sub->out = aws_call_reply_stream(call, json_object(), 200, "application/vnd.amazon.eventstream");
  if (!sub->out) { /* answered with an error */
    pthread_mutex_unlock(&st->lock);
    free(sub);
    return;
  }
  if (sub_send(sub, "initial-response", json_object()) < 0) {
    pthread_mutex_unlock(&st->lock);
    aws_stream_close(sub->out);
    free(sub);
    return;
  }
  if (previous)
    previous->taken_over = 1; /* told at the next tick */
  /* The first event comes at the first tick, with what is already there. */
  sub->last_event_ms = 0;
  sub->next = st->subs;
  st->subs = sub;
  sub_timer_arm(st);
  pthread_mutex_unlock(&st->lock);
}
