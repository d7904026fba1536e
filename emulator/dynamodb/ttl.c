/*
 * ttl.c — DynamoDB's time to live: a periodic sweep deletes the items whose
 * TTL attribute (a Number of epoch seconds) has passed, in tables where
 * UpdateTimeToLive enabled it.
 *
 * The sweep runs on the emulator's timer thread (no thread of its own),
 * every AIRGAP_DYNAMODB_TTL_SWEEP_SECONDS (default 60, 0 = never; AWS itself
 * deletes within days, so clients must not rely on the exact moment), from
 * the first UpdateTimeToLive that enables it and while some table has it: an
 * emulator whose tables never use TTL never starts the timer thread (a
 * thread made at start costs start time, tests/bench/emulator_bench.py). Like
 * AWS, it ignores items whose TTL is not a Number and items that expired
 * more than five years ago. Deletion goes through the normal write path, so
 * indexes follow.
 */
#include "emulator/service.h"
#include "emulator/dynamodb/dynamodb_int.h"
#include "common/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIVE_YEARS_S (5ull * 365 * 24 * 3600)

typedef struct expired {
  ddb_bytes hk, rk;
} expired;

static int is_expired(const json_t *item, const char *attr, const char *now, const char *oldest) {
  const char *v = json_string_value(json_object_get(json_object_get(item, attr), "N"));
  return v && ddb_num_text_cmp(v, now) <= 0 && ddb_num_text_cmp(v, oldest) >= 0;
}

static size_t sweep_table(ddb_table *t, const char *now, const char *oldest) {
  size_t n = 0, cap = 0;
  expired *list = NULL;
  for (size_t i = 0; i < t->store.n; i++) {
    const ddb_part *p = t->store.parts[i];
    for (size_t j = 0; j < p->n; j++) {
      if (!is_expired(p->v[j]->item, t->ttl_attr, now, oldest))
        continue;
      if (n == cap) {
        size_t nc = cap ? cap * 2 : 16;
        expired *nl = realloc(list, nc * sizeof(*nl));
        if (!nl)
          goto apply; /* delete what was found; the next sweep gets the rest */
        list = nl;
        cap = nc;
      }
      json_t *item = p->v[j]->item;
      if (ddb_table_key(t, item, 0, &list[n].hk, &list[n].rk, NULL) == 0)
        n++;
    }
  }
apply:
  /* Deleting changes the arrays being walked, so keys are collected first. */
  for (size_t i = 0; i < n; i++)
    ddb_table_write_by(t, &list[i].hk, &list[i].rk, NULL, 1);
  free(list);
  return n;
}

size_t ddb_ttl_sweep(ddb_state *st, uint64_t now_s) {
  char now[32], oldest[32];
  snprintf(now, sizeof(now), "%llu", (unsigned long long)now_s);
  snprintf(oldest, sizeof(oldest), "%llu",
           (unsigned long long)(now_s > FIVE_YEARS_S ? now_s - FIVE_YEARS_S : 0));
  size_t total = 0;
  for (size_t i = 0; i < st->ntables; i++)
    if (st->tables[i]->ttl_attr)
      total += sweep_table(st->tables[i], now, oldest);
  return total;
}

static int any_ttl(const ddb_state *st) {
  for (size_t i = 0; i < st->ntables; i++)
    if (st->tables[i]->ttl_attr)
      return 1;
  return 0;
}

static void on_timer(void *payload) {
  ddb_state *st = payload;
  pthread_mutex_lock(&st->lock);
  st->ttl_timer = NULL;
  if (!st->stopping) {
    ddb_ttl_sweep(st, clock_wall_ms() / 1000);
    ddb_ttl_arm(st);
  }
  pthread_mutex_unlock(&st->lock);
}

void ddb_ttl_arm(ddb_state *st) {
  if (!st->emu || st->ttl_interval_ms == 0 || st->stopping || st->ttl_timer || !any_ttl(st))
    return;
  st->ttl_timer = emulator_timer_add(st->emu, st->ttl_interval_ms, on_timer, st);
}

void ddb_ttl_start(ddb_state *st, void *emu) {
  const char *env = getenv("AIRGAP_DYNAMODB_TTL_SWEEP_SECONDS");
  char *end = NULL;
  unsigned long secs = env && *env ? strtoul(env, &end, 10) : 60;
  if (env && *env && (!end || *end))
    secs = 60; /* not a number: the default */
  st->emu = emu;
  st->ttl_interval_ms = (uint64_t)secs * 1000u;
}

void ddb_ttl_stop(ddb_state *st) {
  pthread_mutex_lock(&st->lock);
  st->stopping = 1;
  void *timer = st->ttl_timer;
  st->ttl_timer = NULL;
  pthread_mutex_unlock(&st->lock);
  if (timer)
    emulator_timer_cancel(timer);
}

/* DELETE /_aws/dynamodb/expired (LocalStack's endpoint): removes every
 * expired item now, so a test need not wait for the background sweep, and
 * answers how many went. */
int ddb_internal_endpoint(void *state, http_request *req, const char *rest) {
  ddb_state *st = state;
  if (strcmp(rest, "expired") != 0)
    return 0;
  if (strcmp(http_request_method(req), "DELETE") != 0) {
    http_request_respond_error(req, 405, "use DELETE /_aws/dynamodb/expired");
    return 1;
  }
  pthread_mutex_lock(&st->lock);
  size_t n = ddb_ttl_sweep(st, clock_wall_ms() / 1000);
  pthread_mutex_unlock(&st->lock);
  char body[64];
  int len = snprintf(body, sizeof(body), "{\"ExpiredItems\": %zu}", n);
  http_request_respond(req, http_response_new(200, "application/json", body, (size_t)len));
  return 1;
}
