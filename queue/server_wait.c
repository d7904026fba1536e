/*
 * server_wait.c — lease requests that wait for a job, and lease expiry.
 *
 * A lease request that finds nothing is parked (its HTTP request left
 * unanswered, so http_server suspends the connection: no thread is held) on a
 * FIFO list of waiters. Whatever can make a job leasable — a submission, a
 * lease that expired and requeued its job, a job its agent handed back
 * (release) — runs the waiters right after its own transaction and answers the
 * first whose labels match at once. The missed-wakeup race (a job committed
 * between a waiter's empty scan and its parking) cannot happen: the scan and
 * the parking are done under the waiters' lock, and every wake-up takes that
 * lock after its commit.
 *
 * One housekeeping thread answers waiters whose poll time ran out (204),
 * expires leases about once a second and prunes finished jobs (retention)
 * every ten seconds. It sleeps on a condition variable until
 * the earliest of those deadlines, so there is no thread per waiter.
 *
 * Start-up grace: no lease expires during the first lease TTL after the server
 * starts. After an outage of the queue longer than the TTL every running
 * lease is past its expiry; without the grace they would all expire in the
 * first second, before any agent could send a heartbeat, and the finished
 * work of those jobs would be refused and run again. (A result that arrives
 * after the lease expired is still accepted while nobody has leased the job
 * again: see queue_rule_may_complete.)
 */
#include "queue/server_int.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_AGENT_NAME 128
#define MAX_AGENT_VERSION 64
#define MAX_AGENT_SLOTS 4096
#define EXPIRE_PERIOD_MS 1000
#define MAX_WAITERS 10000 /* parked lease requests; more are told to retry */
#define PRUNE_PERIOD_MS 10000
#define PRUNE_BATCH 200u /* jobs per retention transaction: short, never holds up leases */
#define PRUNE_BATCHES 50 /* per pass; the rest waits for the next pass */

struct waiter {
  struct waiter *next;
  http_request *req;
  char *agent;
  char **labels;
  size_t label_count;
  uint64_t deadline; /* clock_monotonic_ms */
  int drained;       /* its agent is drained: offered nothing until resumed */
};

static void waiter_free(waiter *w) {
  if (!w)
    return;
  free(w->agent);
  for (size_t i = 0; i < w->label_count; i++)
    free(w->labels[i]);
  free(w->labels);
  free(w);
}

/* Tries to lease a job for the agent. 1: answered with a job; 0: nothing;
 * < 0: answered with an error. Caller holds the waiters' lock. */
static int try_lease(queue_server *s, http_request *req, const char *agent,
                     const char *const *labels, size_t n) {
  char lease_id[2 * LEASE_ID_BYTES + 1];
  queue_record *rec = NULL;
  int error = queue_random_hex(lease_id, LEASE_ID_BYTES);
  if (error < 0) {
    server_respond_code(req, error);
    return error;
  }
  int64_t now = queue_now_ms();
  error = queue_store_lease(&rec, s->store, agent, labels, n, lease_id,
                            now + (int64_t)s->lease_ttl * 1000, now);
  if (error == AIRGAP_ENOTFOUND)
    return 0;
  if (error < 0) {
    server_respond_code(req, error);
    return error;
  }
  server_metrics_lease(s, rec);
  log_info("queue", "job %s leased to %s (attempt %u)", rec->job.id, agent, rec->job.attempts);
  server_respond_record(req, 200, rec, s->lease_ttl); /* the agent needs the secrets */
  queue_record_free(rec);
  server_events_changed(s);
  return 1;
}

/* Takes w out of the list; prev is the waiter before it (NULL: head). */
static void unlink_waiter(server_waiters *ws, waiter **p, waiter *prev) {
  waiter *w = *p;
  *p = w->next;
  if (ws->tail == w)
    ws->tail = prev;
  ws->count--;
}

/* 1 when every label of a is among b's. */
static int labels_within(const waiter *a, const waiter *b) {
  for (size_t i = 0; i < a->label_count; i++) {
    size_t j = 0;
    while (j < b->label_count && strcmp(a->labels[i], b->labels[j]) != 0)
      j++;
    if (j == b->label_count)
      return 0;
  }
  return 1;
}

/* Offers queued jobs to the parked lease requests, oldest request first.
 * A job fits an agent whose labels include the job's, so once a request
 * found nothing, one whose labels are among that request's would find
 * nothing either and is not asked (a job committed meanwhile runs a pass of
 * its own after this one): each try is a write transaction, and with many
 * agents waiting a submission would otherwise cost one per agent. Caller
 * holds the waiters' lock. */
static void dispatch_locked(queue_server *s) {
  server_waiters *ws = &s->waiters;
  waiter **p = &ws->head;
  waiter *prev = NULL;
  const waiter *found_nothing[8];
  size_t nothing_count = 0;
  while (*p) {
    waiter *w = *p;
    int skip = w->drained;
    for (size_t i = 0; !skip && i < nothing_count; i++)
      skip = labels_within(w, found_nothing[i]);
    if (!skip &&
        try_lease(s, w->req, w->agent, (const char *const *)w->labels, w->label_count) == 0) {
      if (nothing_count < sizeof(found_nothing) / sizeof(found_nothing[0]))
        found_nothing[nothing_count++] = w;
      skip = 1;
    }
    if (skip) {
      prev = w;
      p = &w->next;
      continue;
    }
    unlink_waiter(ws, p, prev);
    waiter_free(w);
  }
}

void server_waiters_drain(queue_server *s, const char *agent, int drained) {
  pthread_mutex_lock(&s->waiters.mu);
  for (waiter *w = s->waiters.head; w; w = w->next)
    if (strcmp(w->agent, agent) == 0)
      w->drained = drained;
  if (!drained && s->waiters.head)
    dispatch_locked(s);
  pthread_mutex_unlock(&s->waiters.mu);
}

void server_waiters_dispatch(queue_server *s) {
  pthread_mutex_lock(&s->waiters.mu);
  if (s->waiters.head)
    dispatch_locked(s);
  pthread_mutex_unlock(&s->waiters.mu);
}

size_t server_waiters_count(queue_server *s) {
  pthread_mutex_lock(&s->waiters.mu);
  size_t n = s->waiters.count;
  pthread_mutex_unlock(&s->waiters.mu);
  return n;
}

/* Answers every waiter whose deadline passed (204), or all when all is set. */
static void expire_waiters_locked(server_waiters *ws, uint64_t now, int all) {
  waiter **p = &ws->head;
  waiter *prev = NULL;
  while (*p) {
    waiter *w = *p;
    if (!all && w->deadline > now) {
      prev = w;
      p = &w->next;
      continue;
    }
    unlink_waiter(ws, p, prev);
    if (all)
      http_request_respond_error(w->req, 503, "queue server stopping; retry");
    else
      http_request_respond(w->req, http_response_new(204, "application/json", "", 0));
    waiter_free(w);
  }
}

/* One pass of lease expiry; called without the waiters' lock. Returns 1 when
 * a job went back to the queue. */
static int expire_leases(queue_server *s) {
  queue_expire_result res = {0, 0};
  int64_t now = queue_now_ms();
  if (now < s->waiters.grace_until)
    return 0;
  if (queue_store_expire(&res, s->store, now, s->max_attempts) < 0)
    log_error("queue", "lease expiry failed: %s", airgap_error_last());
  if (res.requeued || res.lost) {
    log_warn("queue", "%zu lease(s) expired: %zu requeued, %zu gave up (agent_lost)",
             res.requeued + res.lost, res.requeued, res.lost);
    server_metrics_add(s, COUNT_EXPIRED, res.requeued + res.lost);
    server_metrics_add(s, COUNT_LOST, res.lost);
    server_logs_notify(s, NULL);
    server_events_changed(s);
  }
  return res.requeued > 0;
}

/* One retention pass: finished jobs past the retention and, over the total
 * log cap, the oldest finished ones, in small transactions. Called without
 * the waiters' lock. Safe on every server at once (see queue_store_prune). */
static void prune(queue_server *s) {
  queue_prune_result total = {0, 0};
  int64_t before = queue_now_ms() - s->retention_ms;
  for (int i = 0; i < PRUNE_BATCHES; i++) {
    queue_prune_result res = {0, 0};
    if (queue_store_prune(&res, s->store, before, s->log_total_cap, PRUNE_BATCH) < 0) {
      log_error("queue", "retention failed: %s", airgap_error_last());
      break;
    }
    total.jobs += res.jobs;
    total.bytes += res.bytes;
    if (res.jobs < PRUNE_BATCH)
      break;
  }
  if (total.jobs)
    log_info("queue", "retention removed %zu finished job(s) and %llu log byte(s)", total.jobs,
             (unsigned long long)total.bytes);
}

static void *housekeeping(void *arg) {
  queue_server *s = arg;
  server_waiters *ws = &s->waiters;
  uint64_t next_expire = clock_monotonic_ms() + EXPIRE_PERIOD_MS;
  uint64_t next_prune = clock_monotonic_ms(); /* once at start */
  pthread_mutex_lock(&ws->mu);
  while (!ws->stopping) {
    uint64_t now = clock_monotonic_ms();
    expire_waiters_locked(ws, now, 0);
    if (now >= next_expire) {
      pthread_mutex_unlock(&ws->mu);
      int requeued = expire_leases(s);
      server_events_tick(s);
      if (clock_monotonic_ms() >= next_prune) {
        prune(s);
        next_prune = clock_monotonic_ms() + PRUNE_PERIOD_MS;
      }
      pthread_mutex_lock(&ws->mu);
      if (requeued && ws->head)
        dispatch_locked(s);
      next_expire = clock_monotonic_ms() + EXPIRE_PERIOD_MS;
      continue;
    }
    uint64_t wake = next_expire;
    for (waiter *w = ws->head; w; w = w->next)
      if (w->deadline < wake)
        wake = w->deadline;
    struct timespec ts = {.tv_sec = wake / 1000, .tv_nsec = (wake % 1000) * 1000000};
    pthread_cond_timedwait(&ws->cond, &ws->mu, &ts);
  }
  pthread_mutex_unlock(&ws->mu);
  return NULL;
}

void server_waiters_init(queue_server *s) {
  server_waiters *ws = &s->waiters;
  pthread_condattr_t attr;
  pthread_mutex_init(&ws->mu, NULL);
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&ws->cond, &attr);
  pthread_condattr_destroy(&attr);
}

int server_waiters_start(queue_server *s) {
  server_waiters *ws = &s->waiters;
  if (pthread_create(&ws->thread, NULL, housekeeping, s) != 0)
    return airgap_error_set(AIRGAP_ERROR, "cannot start the queue housekeeping thread");
  ws->grace_until = queue_now_ms() + (int64_t)s->lease_ttl * 1000;
  ws->thread_started = 1;
  return 0;
}

void server_waiters_stop(queue_server *s) {
  server_waiters *ws = &s->waiters;
  pthread_mutex_lock(&ws->mu);
  ws->stopping = 1;
  pthread_cond_broadcast(&ws->cond);
  pthread_mutex_unlock(&ws->mu);
  if (ws->thread_started)
    pthread_join(ws->thread, NULL);
  ws->thread_started = 0;
  pthread_mutex_lock(&ws->mu);
  expire_waiters_locked(ws, 0, 1);
  pthread_mutex_unlock(&ws->mu);
}

void server_waiters_destroy(queue_server *s) {
  pthread_cond_destroy(&s->waiters.cond);
  pthread_mutex_destroy(&s->waiters.mu);
}

/* Checks the lease request's body; NULL when fine, else what is wrong. */
static const char *lease_request_problem(json_t *agent, json_t *labels, json_t *wait,
                                         json_t *version, json_t *slots) {
  if (version && !json_is_null(version) &&
      (!json_is_string(version) ||
       !server_name_ok(json_string_value(version), MAX_AGENT_VERSION, "._+~-")))
    return "version: must be 1 to 64 characters of [A-Za-z0-9._+~-]";
  if (slots && !json_is_null(slots) &&
      (!json_is_integer(slots) || json_integer_value(slots) < 1 ||
       json_integer_value(slots) > MAX_AGENT_SLOTS))
    return "slots: must be an integer in [1, 4096]";
  if (!json_is_string(agent) || !server_name_ok(json_string_value(agent), MAX_AGENT_NAME, "._:@-"))
    return "agent: must be a name of 1 to 128 characters of [A-Za-z0-9._:@-]";
  if (labels && !json_is_array(labels))
    return "labels: must be an array of strings";
  if (labels && json_array_size(labels) > QUEUE_MAX_LABELS)
    return "labels: too many (at most 32)";
  if (wait && (!json_is_integer(wait) || json_integer_value(wait) < 0))
    return "wait: must be a non-negative integer number of seconds";
  for (size_t i = 0; labels && i < json_array_size(labels); i++) {
    json_t *l = json_array_get(labels, i);
    if (!json_is_string(l) || !server_name_ok(json_string_value(l), QUEUE_MAX_LABEL, "._:=-"))
      return "labels: each must be 1 to 64 characters of [A-Za-z0-9._:=-]";
  }
  return NULL;
}

void server_on_lease(http_request *req, void *payload) {
  queue_server *s = payload;
  server_waiters *ws = &s->waiters;
  waiter *w = NULL;
  json_t *o = NULL;
  if (server_authorize(s, req, "agent") < 0)
    return;
  if (!(o = server_body_object(req)))
    return;
  json_t *agent = json_object_get(o, "agent");
  json_t *labels = json_object_get(o, "labels");
  json_t *wait = json_object_get(o, "wait");
  json_t *version = json_object_get(o, "version");
  json_t *slots = json_object_get(o, "slots");
  const char *msg = lease_request_problem(agent, labels, wait, version, slots);
  char *joined = NULL;
  int drained = 0, error = 0;
  if (msg) {
    http_request_respond_error(req, 400, msg);
    goto cleanup;
  }
  unsigned secs =
      wait ? (unsigned)(json_integer_value(wait) > s->max_wait ? s->max_wait
                                                               : json_integer_value(wait))
           : 0;
  w = calloc(1, sizeof(*w));
  size_t n = labels ? json_array_size(labels) : 0;
  if (!w || !(w->agent = strdup(json_string_value(agent))) ||
      (n && !(w->labels = calloc(n, sizeof(char *))))) {
    http_request_respond_error(req, 500, "out of memory");
    goto cleanup;
  }
  for (size_t i = 0; i < n; i++, w->label_count++)
    if (!(w->labels[i] = strdup(json_string_value(json_array_get(labels, i))))) {
      http_request_respond_error(req, 500, "out of memory");
      goto cleanup;
    }
  if ((error = queue_labels_join(&joined, (const char *const *)w->labels, w->label_count)) < 0) {
    server_respond_code(req, error);
    goto cleanup;
  }
  w->req = req;
  w->deadline = clock_monotonic_ms() + (uint64_t)secs * 1000;
  pthread_mutex_lock(&ws->mu);
  if (ws->stopping || (secs > 0 && ws->count >= MAX_WAITERS)) {
    int stopping = ws->stopping;
    pthread_mutex_unlock(&ws->mu);
    http_request_respond_error(req, 503,
                               stopping ? "queue server stopping; retry"
                                        : "too many waiting lease requests; retry later");
    goto cleanup;
  }
  /* The registry: every lease request says the agent is alive, and whether
   * it may take work (drained from the web UI or the API). Read under the
   * waiters' lock, like a lease: a drain either comes before this read or
   * marks this request once it is parked (server_waiters_drain), never
   * between the two. */
  error = queue_store_agent_seen(&drained, s->store, w->agent, joined, json_string_value(version),
                                 json_is_integer(slots) ? (unsigned)json_integer_value(slots) : 0,
                                 queue_now_ms());
  if (error < 0) {
    pthread_mutex_unlock(&ws->mu);
    server_respond_code(req, error);
    goto cleanup;
  }
  w->drained = drained;
  int r =
      w->drained ? 0 : try_lease(s, req, w->agent, (const char *const *)w->labels, w->label_count);
  if (r == 0 && secs == 0) {
    pthread_mutex_unlock(&ws->mu);
    http_request_respond(req, http_response_new(204, "application/json", "", 0));
    goto cleanup;
  }
  if (r != 0) {
    pthread_mutex_unlock(&ws->mu);
    goto cleanup;
  }
  /* Park: the request stays unanswered (suspended) until a job or the deadline. */
  if (ws->tail)
    ws->tail->next = w;
  else
    ws->head = w;
  ws->tail = w;
  ws->count++;
  w = NULL;
  pthread_cond_signal(&ws->cond);
  pthread_mutex_unlock(&ws->mu);
cleanup:
  free(joined);
  waiter_free(w);
  json_decref(o);
}
