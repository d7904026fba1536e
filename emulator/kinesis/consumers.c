/*
 * consumers.c — enhanced fan-out consumers: RegisterStreamConsumer,
 * DescribeStreamConsumer, ListStreamConsumers, DeregisterStreamConsumer.
 * A consumer is CREATING, then ACTIVE after the configured latency; a
 * deregistered one is DELETING, then gone. Its ARN is AWS's:
 * <stream ARN>/consumer/<name>:<creation time in epoch seconds>.
 * SubscribeToShard is in subscribe.c.
 */
#include "emulator/kinesis/kinesis_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kin_consumer_free(kin_consumer *c) {
  if (!c)
    return;
  json_decref(c->tags);
  free(c);
}

static json_t *consumer_json(const kin_consumer *c, const kin_stream *with_stream) {
  json_t *o = json_pack("{s:s, s:s, s:s, s:f}", "ConsumerName", c->name, "ConsumerARN", c->arn,
                        "ConsumerStatus", kin_status_name(c->status), "ConsumerCreationTimestamp",
                        (double)c->created_ms / 1000.0);
  if (with_stream)
    json_object_set_new(o, "StreamARN", json_string(with_stream->arn));
  return o;
}

static kin_consumer *consumer_named(kin_stream *s, const char *name) {
  for (size_t i = 0; i < s->nconsumers; i++)
    if (strcmp(s->consumers[i]->name, name) == 0)
      return s->consumers[i];
  return NULL;
}

/* The stream input's StreamARN names, locked; NULL after answering. */
static kin_stream *lock_by_stream_arn(kin_state *st, aws_call *call, json_t *input) {
  const char *arn = json_string_value(json_object_get(input, "StreamARN"));
  json_t *q = json_pack("{s:s}", "StreamARN", arn);
  kin_stream *s = kin_lock_stream(st, call, q, 0, 0);
  json_decref(q);
  return s;
}

/* The consumer named by ConsumerARN, or StreamARN and ConsumerName, with its
 * stream locked; NULL after answering. */
kin_consumer *kin_lock_consumer(kin_state *st, aws_call *call, json_t *input, kin_stream **stream) {
  const char *carn = json_string_value(json_object_get(input, "ConsumerARN"));
  const char *sarn = json_string_value(json_object_get(input, "StreamARN"));
  const char *name = json_string_value(json_object_get(input, "ConsumerName"));
  if (carn && (sarn || name)) {
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "ConsumerARN cannot be given together with StreamARN or ConsumerName.");
    return NULL;
  }
  if (!carn && !(sarn && name)) {
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "Either ConsumerARN, or both StreamARN and ConsumerName, must be given.");
    return NULL;
  }
  kin_stream *s = NULL;
  kin_consumer *c = NULL;
  if (carn) {
    const char *mark = strstr(carn, "/consumer/");
    if (strlen(carn) > 2048 || !mark || (size_t)(mark - carn) >= sizeof(s->arn)) {
      kin_fail_validation(call, "consumerARN", carn,
                          "satisfy regular expression pattern: "
                          "^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/"
                          "[a-zA-Z0-9_.-]+:[0-9]+");
      return NULL;
    }
    pthread_mutex_lock(&st->lock);
    kin_settle(st, kin_now_ms());
    for (size_t i = 0; i < st->nstreams && !c; i++) {
      kin_stream *x = st->streams[i];
      if (strlen(x->arn) != (size_t)(mark - carn) || strncmp(x->arn, carn, strlen(x->arn)) != 0)
        continue;
      for (size_t k = 0; k < x->nconsumers && !c; k++)
        if (strcmp(x->consumers[k]->arn, carn) == 0) {
          c = x->consumers[k];
          s = x;
        }
    }
    if (!c) {
      pthread_mutex_unlock(&st->lock);
      aws_call_fail(call, 400, "ResourceNotFoundException", "Consumer %s not found.", carn);
      return NULL;
    }
  } else {
    if (kin_name_arg(call, "consumerName", name) < 0)
      return NULL;
    s = lock_by_stream_arn(st, call, input);
    if (!s)
      return NULL;
    c = consumer_named(s, name);
    if (!c) {
      pthread_mutex_unlock(&st->lock);
      aws_call_fail(call, 400, "ResourceNotFoundException",
                    "Consumer %s under stream %s not found.", name, s->arn);
      return NULL;
    }
  }
  *stream = s;
  return c;
}

void kin_register_consumer(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  const char *name = json_string_value(json_object_get(input, "ConsumerName"));
  if (kin_name_arg(call, "consumerName", name) < 0)
    return;
  kin_stream *s = lock_by_stream_arn(st, call, input);
  if (!s)
    return;
  if (consumer_named(s, name)) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ResourceInUseException",
                  "Consumer %s under stream %s already exists.", name, s->arn);
    return;
  }
  if (s->nconsumers >= KIN_MAX_CONSUMERS) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "LimitExceededException",
                  "Stream %s under account %s already has the maximum of %d consumers.", s->name,
                  s->account, KIN_MAX_CONSUMERS);
    return;
  }
  kin_consumer *c = calloc(1, sizeof(*c));
  if (c)
    c->tags = json_object();
  kin_consumer **grown =
      c && c->tags ? realloc(s->consumers, (s->nconsumers + 1) * sizeof(*grown)) : NULL;
  if (!grown) {
    pthread_mutex_unlock(&st->lock);
    kin_consumer_free(c);
    aws_call_fail(call, 500, "InternalFailure", "Out of memory.");
    return;
  }
  s->consumers = grown;
  snprintf(c->name, sizeof(c->name), "%s", name);
  c->created_ms = kin_now_ms();
  snprintf(c->arn, sizeof(c->arn), "%s/consumer/%s:%llu", s->arn, name,
           (unsigned long long)(c->created_ms / 1000));
  c->status = st->latency_ms ? KIN_CREATING : KIN_ACTIVE;
  c->ready_ms = c->created_ms + st->latency_ms;
  s->consumers[s->nconsumers++] = c;
  json_t *out = json_pack("{s:o}", "Consumer", consumer_json(c, NULL));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

void kin_describe_consumer(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  kin_stream *s = NULL;
  kin_consumer *c = kin_lock_consumer(st, call, input, &s);
  if (!c)
    return;
  json_t *out = json_pack("{s:o}", "ConsumerDescription", consumer_json(c, s));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

void kin_deregister_consumer(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  kin_stream *s = NULL;
  kin_consumer *c = kin_lock_consumer(st, call, input, &s);
  if (!c)
    return;
  c->status = KIN_DELETING;
  c->ready_ms = kin_now_ms() + st->latency_ms;
  if (st->latency_ms == 0)
    kin_settle(st, kin_now_ms());
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

void kin_list_consumers(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  long limit;
  if (kin_int_arg(call, input, "MaxResults", "maxResults", 1, 10000, 100, &limit) < 0)
    return;
  const char *token = json_string_value(json_object_get(input, "NextToken"));
  uint64_t offset = 0;
  char *buf = NULL, *f[2];
  if (token) {
    if (strlen(token) > KIN_MAX_TOKEN || kin_token_parse(&buf, f, 2, st, token) < 0 ||
        strcmp(f[0], json_string_value(json_object_get(input, "StreamARN"))) != 0 ||
        kin_u64_parse(&offset, f[1]) < 0) {
      free(buf);
      aws_call_fail(call, 400, "InvalidArgumentException", "Invalid NextToken.");
      return;
    }
    free(buf);
  }
  kin_stream *s = lock_by_stream_arn(st, call, input);
  if (!s)
    return;
  json_t *ts = json_object_get(input, "StreamCreationTimestamp");
  if (ts && kin_ms_of(ts) / 1000 != s->created_ms / 1000) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ResourceNotFoundException",
                  "Stream %s under account %s with the given StreamCreationTimestamp not found.",
                  s->name, s->account);
    return;
  }
  json_t *list = json_array();
  size_t i = (size_t)offset;
  for (; i < s->nconsumers && json_array_size(list) < (size_t)limit; i++)
    json_array_append_new(list, consumer_json(s->consumers[i], NULL));
  json_t *out = json_pack("{s:o}", "Consumers", list);
  if (i < s->nconsumers) {
    char next[24];
    snprintf(next, sizeof(next), "%zu", i);
    const char *tf[2] = {s->arn, next};
    char *t = kin_token_make(st, tf, 2);
    if (t)
      json_object_set_new(out, "NextToken", json_string(t));
    free(t);
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}
