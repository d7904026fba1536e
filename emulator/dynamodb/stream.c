/*
 * stream.c — DynamoDB Streams' records: a stream per enabling of
 * StreamSpecification on a table, one shard each, the change records every
 * write appends (ddb_table_write_by calls ddb_stream_record), their 24-hour
 * retention, and the JSON a record is read back as.
 *
 * Writes must not slow down when a stream is on (LocalStack #10411: 3,000
 * writes went from 1.4 s to 27 s), so recording a change is two reference
 * counts and an array slot: the old and new images are the stored items
 * themselves, which no write modifies in place (writes replace items). Keys,
 * images per view type, SizeBytes and eventID are derived when a consumer
 * reads the record. Sequence numbers increase within a shard; they start at
 * the stream's creation time in microseconds, so a re-enabled stream's shard
 * never overlaps an older one. Retention is enforced lazily (on write and on
 * every Streams call) and bounded in count (DDB_STREAM_MAX_RECORDS).
 *
 * Streams outlive their tables' stream settings: a disabled stream (or the
 * stream of a deleted table) stays readable, its shard closed, for 24 hours,
 * as in DynamoDB. The state owns streams; a table only borrows its enabled one.
 */
#include "emulator/dynamodb/dynamodb_int.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/jsonutil.h"
#include "emulator/dynamodb/dynamodb.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const VIEWS[] = {"NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"};

int ddb_stream_spec_check(const json_t *spec, ddb_error *e) {
  if (!spec)
    return 0;
  json_t *enabled = json_object_get(spec, "StreamEnabled");
  const char *view = jsonutil_string(spec, "StreamViewType");
  if (!json_is_boolean(enabled))
    return ddb_invalid(e, "1 validation error detected: Value null at "
                          "'streamSpecification.streamEnabled' failed to satisfy constraint: "
                          "Member must not be null");
  if (view) {
    int known = 0;
    for (size_t i = 0; i < sizeof(VIEWS) / sizeof(VIEWS[0]); i++)
      known |= strcmp(view, VIEWS[i]) == 0;
    if (!known)
      return ddb_invalid(e,
                         "1 validation error detected: Value '%.64s' at "
                         "'streamSpecification.streamViewType' failed to satisfy constraint: "
                         "Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, "
                         "NEW_AND_OLD_IMAGES, KEYS_ONLY]",
                         view);
  }
  if (json_is_true(enabled) && !view)
    return ddb_invalid(e, "One or more parameter values were invalid: StreamViewType must be "
                          "specified when StreamEnabled is true");
  if (json_is_false(enabled) && view)
    return ddb_invalid(e, "One or more parameter values were invalid: StreamViewType can not be "
                          "specified when StreamEnabled is false");
  return 0;
}

static void stream_free(ddb_stream *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->n; i++) {
    json_decref(s->recs[s->off + i].old_img);
    json_decref(s->recs[s->off + i].new_img);
  }
  free(s->recs);
  free(s->arn);
  free(s->account);
  free(s->region);
  free(s->table);
  free(s->hash);
  free(s->range);
  json_decref(s->key_schema);
  free(s);
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

int ddb_stream_enable(ddb_state *st, ddb_table *t, const char *view, uint64_t now_ms,
                      ddb_error *e) {
  ddb_stream *s = calloc(1, sizeof(*s));
  ddb_stream **nv = realloc(st->streams, (st->nstreams + 1) * sizeof(*nv));
  if (nv)
    st->streams = nv;
  if (!s || !nv)
    goto oom;
  /* A label is the creation time to the millisecond; a second stream in the
   * same millisecond (disable and enable at once) takes the next one. */
  for (size_t i = 0; i < st->nstreams; i++)
    if (strcmp(st->streams[i]->table, t->name) == 0 && st->streams[i]->created_ms >= now_ms &&
        strcmp(st->streams[i]->account, t->account) == 0 &&
        strcmp(st->streams[i]->region, t->region) == 0)
      now_ms = st->streams[i]->created_ms + 1;
  time_t secs = (time_t)(now_ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char date[24];
  strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(s->label, sizeof(s->label), "%s.%03u", date, (unsigned)(now_ms % 1000));
  unsigned char rnd[8] = {0};
  RAND_bytes(rnd, sizeof(rnd));
  snprintf(s->shard_id, sizeof(s->shard_id), "shardId-%020" PRIu64 "-%02x%02x%02x%02x", now_ms,
           rnd[0], rnd[1], rnd[2], rnd[3]);
  memcpy(&s->salt, rnd + 4, sizeof(s->salt));
  snprintf(s->view, sizeof(s->view), "%s", view);
  size_t n = strlen(t->arn) + strlen(s->label) + 16;
  s->arn = malloc(n);
  if (s->arn)
    snprintf(s->arn, n, "%s/stream/%s", t->arn, s->label);
  s->account = strdup(t->account);
  s->region = strdup(t->region);
  s->table = strdup(t->name);
  s->hash = strdup(t->hash.name);
  s->range = dup_or_null(t->range.name);
  s->key_schema = json_pack("[{s:s, s:s}]", "AttributeName", t->hash.name, "KeyType", "HASH");
  if (s->key_schema && t->range.name)
    json_array_append_new(
        s->key_schema, json_pack("{s:s, s:s}", "AttributeName", t->range.name, "KeyType", "RANGE"));
  s->created_ms = now_ms;
  s->first_seq = now_ms * 1000u + 1;
  s->next_seq = s->first_seq;
  char *latest = s->arn ? strdup(s->arn) : NULL;
  if (!s->arn || !s->account || !s->region || !s->table || !s->hash ||
      (t->range.name && !s->range) || !s->key_schema || !latest) {
    free(latest);
    goto oom;
  }
  st->streams[st->nstreams++] = s;
  free(t->stream_arn);
  t->stream_arn = latest;
  snprintf(t->stream_label, sizeof(t->stream_label), "%s", s->label);
  t->stream = s;
  return 0;
oom:
  stream_free(s);
  return ddb_fail(e, "InternalServerError", "out of memory while enabling the stream");
}

void ddb_stream_disable(ddb_table *t, uint64_t now_ms) {
  if (!t->stream)
    return;
  t->stream->disabled_ms = now_ms ? now_ms : 1;
  t->stream = NULL;
}

/* 1 when two attribute maps hold the same attributes with the same values. */
static int same_item(const json_t *a, const json_t *b) {
  if (json_object_size(a) != json_object_size(b))
    return 0;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)a, k, v) {
    json_t *w = json_object_get(b, k);
    if (!w || !ddb_value_equal(v, w))
      return 0;
  }
  return 1;
}

/* Forgets the oldest count live records. */
static void trim(ddb_stream *s, size_t count) {
  for (size_t i = 0; i < count; i++) {
    ddb_srec *r = &s->recs[s->off + i];
    s->trimmed_seq = r->seq;
    json_decref(r->old_img);
    json_decref(r->new_img);
  }
  s->off += count;
  s->n -= count;
  if (s->n == 0)
    s->off = 0;
}

static void trim_old(ddb_stream *s, uint64_t now_ms) {
  size_t count = 0;
  while (count < s->n && s->recs[s->off + count].at_ms + DDB_STREAM_RETENTION_MS <= now_ms)
    count++;
  if (count)
    trim(s, count);
}

void ddb_stream_record(ddb_stream *s, const json_t *old_item, const json_t *new_item,
                       int by_service, uint64_t now_ms) {
  if (!old_item && !new_item)
    return; /* deleting what is not there */
  if (old_item && new_item && (old_item == new_item || same_item(old_item, new_item)))
    return; /* DynamoDB writes no record for a write that changes nothing */
  if (s->n && s->recs[s->off].at_ms + DDB_STREAM_RETENTION_MS <= now_ms)
    trim_old(s, now_ms);
  if (s->n >= DDB_STREAM_MAX_RECORDS)
    trim(s, 1);
  if (s->off + s->n == s->cap) {
    if (s->off > s->n) {
      /* Most of the array is trimmed space: slide the live records down. */
      memmove(s->recs, s->recs + s->off, s->n * sizeof(*s->recs));
      s->off = 0;
    } else {
      size_t nc = s->cap ? s->cap * 2 : 64;
      ddb_srec *nr = realloc(s->recs, nc * sizeof(*nr));
      if (!nr)
        return; /* the write stands; its record is lost, as under memory pressure */
      s->recs = nr;
      s->cap = nc;
    }
  }
  ddb_srec *r = &s->recs[s->off + s->n++];
  r->seq = s->next_seq++;
  r->at_ms = now_ms;
  r->old_img = old_item ? json_incref((json_t *)old_item) : NULL;
  r->new_img = new_item ? json_incref((json_t *)new_item) : NULL;
  r->event = !old_item ? DDB_EV_INSERT : !new_item ? DDB_EV_REMOVE : DDB_EV_MODIFY;
  r->by_service = by_service ? 1 : 0;
}

void ddb_streams_expire(ddb_state *st, uint64_t now_ms) {
  size_t kept = 0;
  for (size_t i = 0; i < st->nstreams; i++) {
    ddb_stream *s = st->streams[i];
    if (s->disabled_ms && s->disabled_ms + DDB_STREAM_RETENTION_MS <= now_ms) {
      stream_free(s);
      continue;
    }
    trim_old(s, now_ms);
    st->streams[kept++] = s;
  }
  st->nstreams = kept;
}

void ddb_streams_clear(ddb_state *st) {
  for (size_t i = 0; i < st->nstreams; i++)
    stream_free(st->streams[i]);
  free(st->streams);
  st->streams = NULL;
  st->nstreams = 0;
}

ddb_stream *ddb_stream_find(ddb_state *st, const char *account, const char *region,
                            const char *arn) {
  for (size_t i = 0; arn && i < st->nstreams; i++) {
    ddb_stream *s = st->streams[i];
    if (strcmp(s->arn, arn) == 0 && strcmp(s->account, account) == 0 &&
        strcmp(s->region, region) == 0)
      return s;
  }
  return NULL;
}

size_t ddb_stream_lower(const ddb_stream *s, uint64_t seq) {
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->recs[s->off + mid].seq < seq)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

void ddb_stream_seq_text(char out[32], uint64_t seq) { snprintf(out, 32, "%021" PRIu64, seq); }

static void copy_attr(json_t *dst, const json_t *item, const char *name) {
  json_t *v = name ? json_object_get(item, name) : NULL;
  if (v)
    json_object_set(dst, name, v);
}

json_t *ddb_stream_record_json(const ddb_stream *s, size_t i, size_t *size_out) {
  const ddb_srec *r = &s->recs[s->off + i];
  static const char *const EVENTS[] = {"INSERT", "MODIFY", "REMOVE"};
  int want_new = strcmp(s->view, "NEW_IMAGE") == 0 || strcmp(s->view, "NEW_AND_OLD_IMAGES") == 0;
  int want_old = strcmp(s->view, "OLD_IMAGE") == 0 || strcmp(s->view, "NEW_AND_OLD_IMAGES") == 0;
  const json_t *any = r->new_img ? r->new_img : r->old_img;
  json_t *keys = json_object();
  copy_attr(keys, any, s->hash);
  copy_attr(keys, any, s->range);
  size_t size = ddb_item_size(keys);
  char seq[32], id[40];
  ddb_stream_seq_text(seq, r->seq);
  snprintf(id, sizeof(id), "%08" PRIx32 "%024" PRIx64, s->salt, r->seq);
  json_t *d = json_pack("{s:I, s:o, s:s, s:s}", "ApproximateCreationDateTime",
                        (json_int_t)(r->at_ms / 1000), "Keys", keys, "SequenceNumber", seq,
                        "StreamViewType", s->view);
  if (want_new && r->new_img) {
    json_object_set(d, "NewImage", r->new_img);
    size += ddb_item_size(r->new_img);
  }
  if (want_old && r->old_img) {
    json_object_set(d, "OldImage", r->old_img);
    size += ddb_item_size(r->old_img);
  }
  json_object_set_new(d, "SizeBytes", json_integer((json_int_t)(size ? size : 1)));
  json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "eventID", id, "eventName",
                          EVENTS[r->event], "eventVersion", "1.1", "eventSource", "aws:dynamodb",
                          "awsRegion", s->region, "dynamodb", d);
  if (rec && r->by_service)
    json_object_set_new(
        rec, "userIdentity",
        json_pack("{s:s, s:s}", "PrincipalId", "dynamodb.amazonaws.com", "Type", "Service"));
  if (size_out)
    *size_out = size ? size : 1;
  return rec;
}

int ddb_stream_seq_parse(uint64_t *out, const char *text) {
  if (!text || !*text || strspn(text, "0123456789") != strlen(text))
    return -1;
  errno = 0;
  char *end = NULL;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || *end)
    return -1;
  *out = v;
  return 0;
}

json_t *ddb_stream_iterator(const ddb_stream *s, uint64_t pos, uint64_t now_ms) {
  char buf[DDB_ITERATOR_MAX + 1];
  int n =
      snprintf(buf, sizeof(buf), "%s|1|%s|%" PRIu64 "|%" PRIu64, s->arn, s->shard_id, pos, now_ms);
  return n > 0 && n <= DDB_ITERATOR_MAX ? json_string(buf) : NULL;
}

int ddb_stream_iterator_parse(ddb_iterator *out, const char *text) {
  size_t len = text ? strlen(text) : 0;
  if (len == 0 || len > DDB_ITERATOR_MAX)
    return -1;
  char *copy = strdup(text);
  if (!copy)
    return -1;
  /* Fields from the right, since only the ARN is free text: f[0] "1",
   * f[1] shard, f[2] position, f[3] issued; what is left is the ARN. */
  char *f[4];
  for (int i = 3; i >= 0; i--) {
    char *bar = strrchr(copy, '|');
    if (!bar) {
      free(copy);
      return -1;
    }
    *bar = '\0';
    f[i] = bar + 1;
  }
  uint64_t pos, issued;
  if (strcmp(f[0], "1") != 0 || !*f[1] || ddb_stream_seq_parse(&pos, f[2]) < 0 ||
      ddb_stream_seq_parse(&issued, f[3]) < 0 || !*copy) {
    free(copy);
    return -1;
  }
  /* The shard follows the ARN's terminator in the same allocation. */
  out->arn = copy;
  out->shard = f[1];
  out->pos = pos;
  out->issued_ms = issued;
  return 0;
}

/* ---- dynamodb.h: streams read by other services ---- */

int dynamodb_stream_exists(emulator *emu, const char *account, const char *region,
                           const char *arn) {
  ddb_state *st = emulator_service_state(emu, "dynamodb");
  if (!st)
    return 0;
  pthread_mutex_lock(&st->lock);
  int found = ddb_stream_find(st, account, region, arn) != NULL;
  pthread_mutex_unlock(&st->lock);
  return found;
}

int dynamodb_stream_read(emulator *emu, const char *account, const char *region, const char *arn,
                         const dynamodb_stream_start *start, char shard_out[48],
                         char started_out[32], int (*fn)(json_t *record, void *payload),
                         void *payload) {
  ddb_state *st = emulator_service_state(emu, "dynamodb");
  if (!st)
    return airgap_error_set(AIRGAP_ENOTFOUND, "DynamoDB is not running");
  pthread_mutex_lock(&st->lock);
  ddb_streams_expire(st, clock_wall_ms());
  ddb_stream *s = ddb_stream_find(st, account, region, arn);
  if (!s) {
    pthread_mutex_unlock(&st->lock);
    return airgap_error_set(AIRGAP_ENOTFOUND, "no stream %s", arn);
  }
  snprintf(shard_out, 48, "%s", s->shard_id);
  uint64_t from = 0;
  if (start->after && ddb_stream_seq_parse(&from, start->after) == 0)
    from++;
  else if (start->from)
    ddb_stream_seq_parse(&from, start->from);
  else
    from = start->latest ? s->next_seq : 0;
  if (started_out)
    ddb_stream_seq_text(started_out, from);
  for (size_t i = ddb_stream_lower(s, from); i < s->n; i++) {
    json_t *rec = ddb_stream_record_json(s, i, NULL);
    if (!rec || !fn(rec, payload))
      break;
  }
  pthread_mutex_unlock(&st->lock);
  return 0;
}
