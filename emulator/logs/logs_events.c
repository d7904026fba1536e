/*
 * logs_events.c — PutLogEvents (AWS's batch rules: at most 10,000 events and
 * 1,048,576 bytes counting 26 per event, chronological order, a 24-hour span;
 * events too new, too old or past retention are rejected one by one in
 * rejectedLogEventsInfo while the rest are stored; sequence tokens are
 * accepted and ignored, as AWS does since 2023), GetLogEvents (forward and
 * backward tokens naming a position, so reading on from a token sees events
 * added since) and FilterLogEvents (a merge of the group's streams in
 * timestamp order, the filter pattern applied, a token naming the last event
 * returned).
 */
#include "emulator/logs/logs_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGS_MAX_RESPONSE_BYTES 1048576

/* ---- PutLogEvents ---- */

static int fail_batch(aws_call *call, const char *fmt, size_t a) {
  aws_call_fail(call, 400, "InvalidParameterException", fmt, a);
  return -1;
}

/* Checks the batch; fills in[] (borrowed messages). -1 after answering. */
static int batch_arg(aws_call *call, json_t *events, logs_event_in *in) {
  size_t n = json_array_size(events), bytes = 0;
  if (n < 1)
    return fail_batch(call,
                      "1 validation error detected: Value '[]' at 'logEvents' failed to satisfy "
                      "constraint: Member must have length greater than or equal to %zu",
                      1);
  if (n > LOGS_MAX_BATCH_EVENTS)
    return fail_batch(call,
                      "1 validation error detected: Value at 'logEvents' failed to satisfy "
                      "constraint: Member must have length less than or equal to %zu",
                      LOGS_MAX_BATCH_EVENTS);
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(events, i);
    const char *msg = json_string_value(json_object_get(e, "message"));
    json_t *ts = json_object_get(e, "timestamp");
    if (!msg || !json_is_integer(ts))
      return fail_batch(call, "Log event %zu lacks its timestamp or message.", i);
    size_t len = json_string_length(json_object_get(e, "message"));
    if (len < 1)
      return fail_batch(call,
                        "1 validation error detected: Value '' at 'logEvents.%zu.member.message' "
                        "failed to satisfy constraint: Member must have length greater than or "
                        "equal to 1",
                        i + 1);
    if (len > LOGS_MAX_EVENT_BYTES)
      return fail_batch(call, "Log event too large: %zu bytes exceeds limit of 262144",
                        len + LOGS_EVENT_OVERHEAD);
    bytes += len + LOGS_EVENT_OVERHEAD;
    in[i] = (logs_event_in){json_integer_value(ts), msg, len};
    if (i > 0 && in[i].timestamp_ms < in[i - 1].timestamp_ms)
      return fail_batch(call,
                        "Log events in a single PutLogEvents request must be in chronological "
                        "order (event %zu is older than the one before it).",
                        i);
  }
  if (bytes > LOGS_MAX_BATCH_BYTES)
    return fail_batch(call, "Upload too large: %zu bytes exceeds limit of 1048576", bytes);
  if (in[n - 1].timestamp_ms - in[0].timestamp_ms > LOGS_MAX_SPAN_MS)
    return fail_batch(call,
                      "The batch of log events in a single PutLogEvents request cannot span more "
                      "than %zu hours.",
                      24);
  return 0;
}

void logs_put_log_events(aws_call *call, json_t *input) {
  const char *sname = json_string_value(json_object_get(input, "logStreamName"));
  json_t *events = json_object_get(input, "logEvents");
  size_t n = json_array_size(events);
  logs_event_in *in = calloc(n + 1, sizeof(*in));
  if (!in) {
    aws_call_fail(call, 500, "ServiceUnavailableException", "out of memory");
    return;
  }
  if (logs_stream_name_arg(call, sname) < 0 || batch_arg(call, events, in) < 0) {
    free(in);
    return;
  }
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  logs_group *g = logs_group_arg(st, call, input);
  logs_stream *s = g ? logs_stream_find(g, sname) : NULL;
  if (g && !s) {
    pthread_mutex_unlock(&st->lock);
    free(in);
    aws_call_fail(call, 400, "ResourceNotFoundException",
                  "The specified log stream does not exist.");
    return;
  }
  if (!g) {
    pthread_mutex_unlock(&st->lock);
    free(in);
    return;
  }
  int64_t now = logs_now_ms();
  int64_t too_old = now - LOGS_MAX_PAST_MS, too_new = now + LOGS_MAX_FUTURE_MS;
  int64_t expired = g->retention ? now - (int64_t)g->retention * 86400000LL : INT64_MIN;
  long old_end = -1, expired_end = -1, new_start = -1;
  size_t first = 0, last = n; /* the stored range [first, last) */
  for (size_t i = 0; i < n; i++) {
    int64_t ts = in[i].timestamp_ms;
    if (ts < too_old)
      old_end = (long)i;
    if (ts < expired)
      expired_end = (long)i;
    if (ts < too_old || ts < expired)
      first = i + 1;
    if (ts > too_new && new_start < 0) {
      new_start = (long)i;
      last = i;
    }
  }
  int stored = first < last ? logs_stream_append(st, g, s, in + first, last - first) : 0;
  uint64_t seq = s->seq;
  pthread_mutex_unlock(&st->lock);
  free(in);
  if (stored < 0) {
    aws_call_fail(call, 400, "LimitExceededException",
                  "The emulator's log store is full (%llu bytes).",
                  (unsigned long long)LOGS_MAX_STORED_BYTES);
    return;
  }
  char tok[64];
  snprintf(tok, sizeof(tok), "4963%040llu", (unsigned long long)seq + 1);
  json_t *reply = json_pack("{s:s}", "nextSequenceToken", tok);
  if (old_end >= 0 || expired_end >= 0 || new_start >= 0) {
    json_t *info = json_object();
    if (new_start >= 0)
      json_object_set_new(info, "tooNewLogEventStartIndex", json_integer(new_start));
    if (old_end >= 0)
      json_object_set_new(info, "tooOldLogEventEndIndex", json_integer(old_end));
    if (expired_end >= 0)
      json_object_set_new(info, "expiredLogEventEndIndex", json_integer(expired_end));
    json_object_set_new(reply, "rejectedLogEventsInfo", info);
  }
  aws_call_reply(call, reply);
}

/* ---- positions: (timestamp, id) ---- */

typedef struct pos {
  uint64_t ts, id;
} pos;

static int pos_cmp(pos a, const logs_event *e) {
  uint64_t ts = (uint64_t)e->ts;
  if (a.ts != ts)
    return a.ts < ts ? -1 : 1;
  return a.id < e->id ? -1 : a.id > e->id ? 1 : 0;
}

/* The first event of s whose position is after p (or at/after when incl). */
static size_t pos_find(const logs_stream *s, pos p, int incl) {
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = pos_cmp(p, &s->ev[mid]);
    if (c > 0 || (c == 0 && !incl))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static json_t *pos_token(char dir, pos p) {
  char buf[64];
  snprintf(buf, sizeof(buf), "%c/%020" PRIu64 "%020" PRIu64, dir, p.ts, p.id);
  return json_string(buf);
}

static int pos_parse(pos *out, char *dir, const char *tok) {
  if (strlen(tok) != 42 || (tok[0] != 'f' && tok[0] != 'b') || tok[1] != '/')
    return -1;
  for (int i = 2; i < 42; i++)
    if (tok[i] < '0' || tok[i] > '9')
      return -1;
  char a[21], b[21];
  memcpy(a, tok + 2, 20);
  memcpy(b, tok + 22, 20);
  a[20] = b[20] = '\0';
  out->ts = strtoull(a, NULL, 10);
  out->id = strtoull(b, NULL, 10);
  *dir = tok[0];
  return 0;
}

/* Time bounds as event indexes: [lo, hi) of events with start <= ts < end. */
static void time_range(const logs_stream *s, json_t *input, int end_inclusive, size_t *lo,
                       size_t *hi) {
  json_t *start = json_object_get(input, "startTime"), *end = json_object_get(input, "endTime");
  *lo = 0;
  *hi = s->n;
  if (json_is_integer(start) && json_integer_value(start) > 0)
    *lo = pos_find(s, (pos){(uint64_t)json_integer_value(start), 0}, 1);
  if (json_is_integer(end) && json_integer_value(end) >= 0)
    *hi = pos_find(s, (pos){(uint64_t)json_integer_value(end), end_inclusive ? UINT64_MAX : 0}, 1);
  if (*hi < *lo)
    *hi = *lo;
}

static json_t *output_event(const logs_event *e) {
  return json_pack("{s:I, s:s%, s:I}", "timestamp", (json_int_t)e->ts, "message", e->msg, e->len,
                   "ingestionTime", (json_int_t)e->ingest);
}

void logs_get_log_events(aws_call *call, json_t *input) {
  const char *sname = json_string_value(json_object_get(input, "logStreamName"));
  const char *tok = json_string_value(json_object_get(input, "nextToken"));
  int head = json_is_true(json_object_get(input, "startFromHead"));
  size_t limit;
  pos p = {0, 0};
  char dir = head ? 'f' : 'b';
  if (!head)
    p = (pos){UINT64_MAX, UINT64_MAX};
  if (logs_stream_name_arg(call, sname) < 0 ||
      logs_limit_arg(call, input, "limit", 10000, 10000, &limit) < 0)
    return;
  if (tok && pos_parse(&p, &dir, tok) < 0) {
    aws_call_fail(call, 400, "InvalidParameterException", "The specified nextToken is invalid.");
    return;
  }
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  logs_group *g = logs_group_arg(st, call, input);
  logs_stream *s = g ? logs_stream_find(g, sname) : NULL;
  if (!s) {
    pthread_mutex_unlock(&st->lock);
    if (g)
      aws_call_fail(call, 400, "ResourceNotFoundException",
                    "The specified log stream does not exist.");
    return;
  }
  size_t lo, hi, from, to;
  time_range(s, input, 0, &lo, &hi);
  if (dir == 'f') {
    from = pos_find(s, p, 0);
    from = from < lo ? lo : from;
    to = from;
    size_t bytes = 0;
    while (to < hi && to - from < limit && bytes + s->ev[to].len + 26 <= LOGS_MAX_RESPONSE_BYTES)
      bytes += s->ev[to++].len + 26;
  } else {
    to = pos_find(s, p, 1);
    to = to > hi ? hi : to;
    from = to;
    size_t bytes = 0;
    while (from > lo && to - from < limit &&
           bytes + s->ev[from - 1].len + 26 <= LOGS_MAX_RESPONSE_BYTES)
      bytes += s->ev[--from].len + 26;
  }
  json_t *out = json_array();
  for (size_t i = from; i < to; i++)
    json_array_append_new(out, output_event(&s->ev[i]));
  json_t *reply = json_pack("{s:o}", "events", out);
  if (from < to) {
    json_object_set_new(reply, "nextForwardToken",
                        pos_token('f', (pos){(uint64_t)s->ev[to - 1].ts, s->ev[to - 1].id}));
    json_object_set_new(reply, "nextBackwardToken",
                        pos_token('b', (pos){(uint64_t)s->ev[from].ts, s->ev[from].id}));
  } else {
    /* Nothing in that direction: the same position again, as AWS answers at
     * either end of a stream. */
    pos here = p;
    if (!tok)
      here = head ? (pos){0, 0} : (pos){UINT64_MAX, UINT64_MAX};
    json_object_set_new(reply, "nextForwardToken",
                        pos_token('f', !tok && !head ? (pos){0, 0} : here));
    json_object_set_new(reply, "nextBackwardToken", pos_token('b', here));
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, reply);
}

/* ---- FilterLogEvents ---- */

static int pick_streams(aws_call *call, json_t *input, logs_group *g, logs_stream **sel,
                        size_t *n) {
  json_t *names = json_object_get(input, "logStreamNames");
  const char *prefix = json_string_value(json_object_get(input, "logStreamNamePrefix"));
  *n = 0;
  if (names && prefix) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.");
    return -1;
  }
  if (names) {
    size_t i;
    json_t *v;
    if (json_array_size(names) < 1 || json_array_size(names) > 100) {
      aws_call_fail(call, 400, "InvalidParameterException",
                    "logStreamNames must name 1 to 100 log streams.");
      return -1;
    }
    json_array_foreach(names, i, v) {
      logs_stream *s = logs_stream_find(g, json_string_value(v) ? json_string_value(v) : "");
      int dup = 0;
      for (size_t k = 0; k < *n; k++)
        dup |= sel[k] == s;
      if (s && !dup)
        sel[(*n)++] = s;
    }
    return 0;
  }
  size_t plen = prefix ? strlen(prefix) : 0;
  for (size_t i = 0; i < g->nstreams; i++)
    if (!prefix || strncmp(g->streams[i]->name, prefix, plen) == 0)
      sel[(*n)++] = g->streams[i];
  return 0;
}

void logs_filter_log_events(aws_call *call, json_t *input) {
  const char *tok = json_string_value(json_object_get(input, "nextToken"));
  const char *pattern = json_string_value(json_object_get(input, "filterPattern"));
  size_t limit;
  pos after = {0, 0};
  int have_after = 0;
  if (logs_limit_arg(call, input, "limit", 10000, 10000, &limit) < 0)
    return;
  if (tok) {
    char dir;
    if (pos_parse(&after, &dir, tok) < 0 || dir != 'f') {
      aws_call_fail(call, 400, "InvalidParameterException", "The specified nextToken is invalid.");
      return;
    }
    have_after = 1;
  }
  logs_pattern *pat = NULL;
  char err[256];
  if (pattern && strlen(pattern) > LOGS_MAX_PATTERN) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "1 validation error detected: Value at 'filterPattern' failed to satisfy "
                  "constraint: Member must have length less than or equal to %d",
                  LOGS_MAX_PATTERN);
    return;
  }
  if (logs_pattern_parse(&pat, pattern ? pattern : "", err, sizeof(err)) < 0) {
    aws_call_fail(call, 400, "InvalidParameterException", "Invalid filter pattern: %s", err);
    return;
  }
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  logs_group *g = logs_group_arg(st, call, input);
  logs_stream **sel = g ? calloc(g->nstreams + 1, sizeof(*sel)) : NULL;
  size_t *cur = g ? calloc(g->nstreams + 1, sizeof(*cur)) : NULL;
  size_t *end = g ? calloc(g->nstreams + 1, sizeof(*end)) : NULL;
  size_t n = 0;
  if (!g || !sel || !cur || !end || pick_streams(call, input, g, sel, &n) < 0) {
    pthread_mutex_unlock(&st->lock);
    if (g && (!sel || !cur || !end))
      aws_call_fail(call, 500, "ServiceUnavailableException", "out of memory");
    free(sel);
    free(cur);
    free(end);
    logs_pattern_free(pat);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    size_t lo;
    /* FilterLogEvents includes events at endTime (GetLogEvents does not). */
    time_range(sel[i], input, 1, &lo, &end[i]);
    cur[i] = have_after ? pos_find(sel[i], after, 0) : 0;
    if (cur[i] < lo)
      cur[i] = lo;
  }
  json_t *out = json_array();
  size_t bytes = 0;
  int more = 0;
  const logs_event *last = NULL;
  for (;;) {
    long best = -1;
    for (size_t i = 0; i < n; i++)
      if (cur[i] < end[i] &&
          (best < 0 || pos_cmp((pos){(uint64_t)sel[i]->ev[cur[i]].ts, sel[i]->ev[cur[i]].id},
                               &sel[best]->ev[cur[best]]) < 0))
        best = (long)i;
    if (best < 0)
      break;
    const logs_event *e = &sel[best]->ev[cur[best]];
    if (json_array_size(out) >= limit || bytes + e->len + 26 > LOGS_MAX_RESPONSE_BYTES) {
      more = 1;
      break;
    }
    cur[best]++;
    if (!logs_pattern_match(pat, e->msg, e->len, NULL))
      continue;
    char id[64];
    snprintf(id, sizeof(id), "%020" PRIu64 "%020" PRIu64, (uint64_t)e->ts, e->id);
    json_t *o = output_event(e);
    json_object_set_new(o, "logStreamName", json_string(sel[best]->name));
    json_object_set_new(o, "eventId", json_string(id));
    json_array_append_new(out, o);
    bytes += e->len + 26;
    last = e;
  }
  json_t *reply = json_pack("{s:o, s:[]}", "events", out, "searchedLogStreams");
  if (more) {
    pos p = last ? (pos){(uint64_t)last->ts, last->id} : after;
    json_object_set_new(reply, "nextToken", pos_token('f', p));
  }
  pthread_mutex_unlock(&st->lock);
  free(sel);
  free(cur);
  free(end);
  logs_pattern_free(pat);
  aws_call_reply(call, reply);
}
