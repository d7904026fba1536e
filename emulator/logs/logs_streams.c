/*
 * logs_streams.c — log streams: each group's streams sorted by name, storing
 * events in (timestamp, id) order (an event older than the stream's newest
 * goes in its place, as AWS accepts out-of-order batches across calls), and
 * Create/Delete/DescribeLogStreams.
 */
#include "emulator/logs/logs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t stream_pos(logs_group *g, const char *name, int *found) {
  size_t lo = 0, hi = g->nstreams;
  *found = 0;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(g->streams[mid]->name, name);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

logs_stream *logs_stream_find(logs_group *g, const char *name) {
  int found;
  size_t i = stream_pos(g, name, &found);
  return found ? g->streams[i] : NULL;
}

logs_stream *logs_stream_add(logs_group *g, const char *name) {
  int found;
  size_t i = stream_pos(g, name, &found);
  if (found)
    return NULL;
  if (g->nstreams == g->cap) {
    size_t cap = g->cap ? g->cap * 2 : 8;
    logs_stream **p = realloc(g->streams, cap * sizeof(*p));
    if (!p)
      return NULL;
    g->streams = p;
    g->cap = cap;
  }
  logs_stream *s = calloc(1, sizeof(*s));
  if (!s || !(s->name = strdup(name))) {
    free(s);
    return NULL;
  }
  s->created = logs_now_ms();
  memmove(g->streams + i + 1, g->streams + i, (g->nstreams - i) * sizeof(*g->streams));
  g->streams[i] = s;
  g->nstreams++;
  return s;
}

void logs_stream_free(logs_stream *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->n; i++)
    free(s->ev[i].msg);
  free(s->ev);
  free(s->name);
  free(s);
}

int logs_stream_append(logs_state *st, logs_group *g, logs_stream *s, const logs_event_in *events,
                       size_t n) {
  uint64_t bytes = 0;
  for (size_t i = 0; i < n; i++)
    bytes += events[i].len;
  if (st->stored + bytes > LOGS_MAX_STORED_BYTES)
    return -1;
  if (s->n + n > s->cap) {
    size_t cap = s->cap ? s->cap : 64;
    while (cap < s->n + n)
      cap *= 2;
    logs_event *p = realloc(s->ev, cap * sizeof(*p));
    if (!p)
      return -1;
    s->ev = p;
    s->cap = cap;
  }
  int64_t now = logs_now_ms();
  for (size_t i = 0; i < n; i++) {
    logs_event e = {events[i].timestamp_ms, now, g->next_id++, malloc(events[i].len + 1),
                    events[i].len};
    if (!e.msg)
      return (int)i;
    memcpy(e.msg, events[i].message, e.len);
    e.msg[e.len] = '\0';
    /* Events mostly arrive in order: find the place from the end. */
    size_t at = s->n;
    while (at > 0 && s->ev[at - 1].ts > e.ts)
      at--;
    memmove(s->ev + at + 1, s->ev + at, (s->n - at) * sizeof(*s->ev));
    s->ev[at] = e;
    s->n++;
    s->stored += e.len;
    st->stored += e.len;
    if (!s->first_ts || e.ts < s->first_ts)
      s->first_ts = e.ts;
    if (e.ts > s->last_ts)
      s->last_ts = e.ts;
    s->last_ingest = now;
  }
  s->seq++;
  return (int)n;
}

void logs_create_log_stream(aws_call *call, json_t *input) {
  const char *name = json_string_value(json_object_get(input, "logStreamName"));
  if (logs_stream_name_arg(call, name) < 0)
    return;
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  logs_group *g = logs_group_arg(st, call, input);
  if (!g) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  int exists = logs_stream_find(g, name) != NULL;
  logs_stream *s = exists ? NULL : logs_stream_add(g, name);
  pthread_mutex_unlock(&st->lock);
  if (exists)
    aws_call_fail(call, 400, "ResourceAlreadyExistsException",
                  "The specified log stream already exists");
  else if (!s)
    aws_call_fail(call, 500, "ServiceUnavailableException", "out of memory");
  else
    aws_call_reply(call, NULL);
}

void logs_delete_log_stream(aws_call *call, json_t *input) {
  const char *name = json_string_value(json_object_get(input, "logStreamName"));
  if (logs_stream_name_arg(call, name) < 0)
    return;
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  logs_group *g = logs_group_arg(st, call, input);
  if (!g) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  int found;
  size_t i = stream_pos(g, name, &found);
  if (found) {
    st->stored -= g->streams[i]->stored;
    logs_stream_free(g->streams[i]);
    memmove(g->streams + i, g->streams + i + 1, (g->nstreams - i - 1) * sizeof(*g->streams));
    g->nstreams--;
  }
  pthread_mutex_unlock(&st->lock);
  if (!found)
    aws_call_fail(call, 400, "ResourceNotFoundException",
                  "The specified log stream does not exist.");
  else
    aws_call_reply(call, NULL);
}

static json_t *describe(const logs_group *g, const logs_stream *s) {
  char arn[1400];
  snprintf(arn, sizeof(arn), "arn:aws:logs:%s:%s:log-group:%s:log-stream:%s", g->region, g->account,
           g->name, s->name);
  json_t *o = json_pack("{s:s, s:I, s:s, s:I}", "logStreamName", s->name, "creationTime",
                        (json_int_t)s->created, "arn", arn, "storedBytes", (json_int_t)s->stored);
  if (s->n) {
    json_object_set_new(o, "firstEventTimestamp", json_integer(s->first_ts));
    json_object_set_new(o, "lastEventTimestamp", json_integer(s->last_ts));
    json_object_set_new(o, "lastIngestionTime", json_integer(s->last_ingest));
  }
  char tok[64];
  snprintf(tok, sizeof(tok), "4963%040llu", (unsigned long long)s->seq + 1);
  json_object_set_new(o, "uploadSequenceToken", json_string(tok));
  return o;
}

static int by_last_event(const void *a, const void *b) {
  const logs_stream *x = *(logs_stream *const *)a, *y = *(logs_stream *const *)b;
  int64_t tx = x->last_ts ? x->last_ts : 0, ty = y->last_ts ? y->last_ts : 0;
  if (tx != ty)
    return tx < ty ? -1 : 1;
  return strcmp(x->name, y->name);
}

void logs_describe_log_streams(aws_call *call, json_t *input) {
  const char *prefix = json_string_value(json_object_get(input, "logStreamNamePrefix"));
  const char *order = json_string_value(json_object_get(input, "orderBy"));
  int desc = json_is_true(json_object_get(input, "descending"));
  int by_time = order && strcmp(order, "LastEventTime") == 0;
  size_t limit, offset;
  if (order && !by_time && strcmp(order, "LogStreamName") != 0) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "1 validation error detected: Value '%.64s' at 'orderBy' failed to satisfy "
                  "constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]",
                  order);
    return;
  }
  if (by_time && prefix) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "Cannot order by LastEventTime with a logStreamNamePrefix.");
    return;
  }
  if (logs_limit_arg(call, input, "limit", 50, 50, &limit) < 0 ||
      logs_offset_arg(call, input, "nextToken", &offset) < 0)
    return;
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  logs_group *g = logs_group_arg(st, call, input);
  if (!g) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  size_t plen = prefix ? strlen(prefix) : 0, n = 0;
  logs_stream **sel = calloc(g->nstreams + 1, sizeof(*sel));
  for (size_t i = 0; sel && i < g->nstreams; i++)
    if (!prefix || strncmp(g->streams[i]->name, prefix, plen) == 0)
      sel[n++] = g->streams[i];
  if (by_time)
    qsort(sel, n, sizeof(*sel), by_last_event);
  json_t *out = json_array();
  for (size_t k = offset; sel && k < n && k < offset + limit; k++)
    json_array_append_new(out, describe(g, sel[desc ? n - 1 - k : k]));
  pthread_mutex_unlock(&st->lock);
  free(sel);
  json_t *reply = json_pack("{s:o}", "logStreams", out);
  if (offset + limit < n)
    json_object_set_new(reply, "nextToken", logs_offset_token(offset + limit));
  aws_call_reply(call, reply);
}
