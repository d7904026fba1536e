/*
 * server.c — the queue's HTTP API (see queue.h for the endpoints).
 *
 * Every request is answered from the store; the store's transactions are what
 * keep jobs safe (durable before acknowledged, one lease per job). This file
 * adds what only a server can do:
 *
 * Long-poll leases. A lease request that finds nothing is parked (its HTTP
 * request left unanswered, so http_server suspends the connection: no thread
 * is held) on a FIFO list of waiters. Whatever can make a job leasable — a
 * submission, a lease that expired and requeued its job, a job its agent
 * handed back (release) — runs the waiters
 * right after its own transaction and answers the first whose labels match at
 * once. The missed-wakeup race (a job committed between a waiter's empty scan
 * and its parking) cannot happen: the scan and the parking are done under the
 * waiters' lock, and every wake-up takes that lock after its commit.
 *
 * One housekeeping thread answers waiters whose poll time ran out (204) and
 * expires leases about once a second. It sleeps on a condition variable until
 * the earliest of those deadlines, so there is no thread per waiter.
 *
 * Log following streams the log as chunks arrive: when a follower has read
 * everything, its reader answers HTTP_STREAM_WAIT and the connection is parked
 * (no thread held); every append and every job end wakes the followers.
 */
#include "queue/queue_int.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/http_server.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_LEASE_TTL 30u
#define DEFAULT_MAX_ATTEMPTS 3u
#define DEFAULT_LOG_CAP (16ull * 1024 * 1024)
#define DEFAULT_MAX_WAIT 60u
#define DEFAULT_THREADS 8u
#define MAX_AGENT_NAME 128
#define MAX_LIST_LIMIT 500u
#define DEFAULT_LIST_LIMIT 50u
#define MAX_QUERY_PAIRS 16
#define MAX_REASON 64
#define EXPIRE_PERIOD_MS 1000
#define LEASE_ID_BYTES 16
#define MAX_WAITERS 10000 /* parked lease requests; more are told to retry */

static const double WAIT_BUCKETS[] = {0.005, 0.05, 0.5, 5, 30, 120, 600, 3600};
#define WAIT_BUCKET_COUNT (sizeof(WAIT_BUCKETS) / sizeof(WAIT_BUCKETS[0]))

typedef struct waiter {
  struct waiter *next;
  http_request *req;
  char *agent;
  char **labels;
  size_t label_count;
  uint64_t deadline; /* clock_monotonic_ms */
} waiter;

struct queue_server {
  http_server *http;
  queue_store *store;
  unsigned lease_ttl;
  unsigned max_attempts;
  uint64_t log_cap;
  unsigned max_wait;

  /* waiters and the housekeeping thread */
  pthread_mutex_t wmu;
  pthread_cond_t wcond;
  waiter *head, *tail;
  size_t waiter_count;
  int stopping;
  pthread_t thread;
  int thread_started;

  /* metrics and log followers */
  pthread_mutex_t mmu;
  int log_stopping;             /* stopping, as seen by log followers (under mmu) */
  struct log_stream *followers; /* parked-capable log streams (under mmu) */
  uint64_t submitted, leases, expired, lost, released, log_bytes;
  uint64_t wait_buckets[WAIT_BUCKET_COUNT];
  uint64_t wait_count;
  double wait_sum;
};

/* ---------------------------------------------------------------- answers */

static void respond_json(http_request *req, int status, json_t *body) {
  if (!body) {
    http_request_respond_error(req, 500, "out of memory");
    return;
  }
  http_request_respond(req, http_response_new_json(status, body));
}

/* Maps a store/parse error code to an HTTP answer carrying the message. */
static void respond_code(http_request *req, int code) {
  int status = 500;
  switch (code) {
  case AIRGAP_ENOTFOUND: status = 404; break;
  case AIRGAP_EINVALID: status = 400; break;
  case AIRGAP_ETOOBIG: status = 413; break;
  case AIRGAP_EBUSY:
  case AIRGAP_EEXISTS: status = 409; break;
  case AIRGAP_EAUTH: status = 401; break;
  default: break;
  }
  if (status == 500)
    log_error("queue", "%s %s: %s", http_request_method(req), http_request_path(req),
              airgap_error_last());
  http_request_respond_error(req, status, airgap_error_last());
}

typedef struct log_stream {
  queue_server *server;
  char id[QUEUE_JOB_ID_LEN + 1];
  uint64_t start;
  int follow;
  http_stream *handle; /* woken by notify_logs; NULL once freed */
  struct log_stream *next;
} log_stream;

/* Wakes the followers of job id (NULL: of every job) after its log grew or
 * its state changed; other followers stay parked. */
static void notify_logs(queue_server *s, const char *id) {
  pthread_mutex_lock(&s->mmu);
  for (log_stream *ls = s->followers; ls; ls = ls->next)
    if (!id || strcmp(ls->id, id) == 0)
      http_stream_wake(ls->handle);
  pthread_mutex_unlock(&s->mmu);
}

/* ------------------------------------------------------------------ auth */

/* Checks the bearer token; answers 401/403 itself and returns -1 on refusal. */
static int authorize(queue_server *s, http_request *req, const char *role) {
  const char *h = http_request_header(req, "Authorization");
  char *got = NULL;
  if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
    static const char body[] = "{\"error\":\"missing token: send Authorization: Bearer TOKEN "
                               "(airgap queue token create)\"}";
    http_response *resp = http_response_new(401, "application/json", body, sizeof(body) - 1);
    http_response_header_add(resp, "WWW-Authenticate", "Bearer realm=\"airgap\"");
    http_request_respond(req, resp);
    return -1;
  }
  const char *token = h + 7;
  while (*token == ' ')
    token++;
  int error = queue_token_verify(&got, s->store, token);
  if (error == AIRGAP_EAUTH) {
    http_response *resp =
        http_response_new(401, "application/json", "{\"error\":\"invalid token\"}", 25);
    http_response_header_add(resp, "WWW-Authenticate",
                             "Bearer realm=\"airgap\", "
                             "error=\"invalid_token\"");
    http_request_respond(req, resp);
    return -1;
  }
  if (error < 0) {
    respond_code(req, error);
    return -1;
  }
  int ok = strcmp(got, role) == 0;
  free(got);
  if (!ok) {
    char msg[128];
    snprintf(msg, sizeof(msg), "this call needs a %s token", role);
    http_request_respond_error(req, 403, msg);
    return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------- helpers */

/* Parses the body as a JSON object; answers 400 itself on failure. */
static json_t *body_object(http_request *req) {
  size_t len = 0;
  const char *body = http_request_body(req, &len);
  json_error_t jerr;
  char msg[256];
  if (!body) {
    http_request_respond_error(req, 413, "request body too large");
    return NULL;
  }
  json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!o || !json_is_object(o)) {
    snprintf(msg, sizeof(msg), "body must be a JSON object%s%s", o ? "" : ": ", o ? "" : jerr.text);
    json_decref(o);
    http_request_respond_error(req, 400, msg);
    return NULL;
  }
  return o;
}

static int parse_u64(uint64_t *out, const char *s) {
  uint64_t v = 0;
  if (!s || !*s || strlen(s) > 19)
    return -1;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9')
      return -1;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  *out = v;
  return 0;
}

/* The job id in path segment 2, checked; answers 404 itself when malformed. */
static const char *path_job_id(http_request *req) {
  const char *id = http_request_segment(req, 2);
  if (!queue_job_id_valid(id)) {
    http_request_respond_error(req, 404, "no such job");
    return NULL;
  }
  return id;
}

static int name_ok(const char *s, size_t max, const char *extra) {
  size_t len = strlen(s);
  if (len == 0 || len > max)
    return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          strchr(extra, *p)))
      return 0;
  return 1;
}

static void respond_record(http_request *req, int status, const queue_record *rec, int mask) {
  respond_json(req, status, queue_record_json(rec, mask));
}

/* ------------------------------------------------------------- lease waiters */

static void waiter_free(waiter *w) {
  if (!w)
    return;
  free(w->agent);
  for (size_t i = 0; i < w->label_count; i++)
    free(w->labels[i]);
  free(w->labels);
  free(w);
}

static void note_lease(queue_server *s, const queue_record *rec) {
  pthread_mutex_lock(&s->mmu);
  s->leases++;
  if (rec->job.attempts == 1) {
    double wait = (double)(rec->job.started_at - rec->job.created_at) / 1000.0;
    if (wait < 0)
      wait = 0;
    s->wait_count++;
    s->wait_sum += wait;
    for (size_t i = 0; i < WAIT_BUCKET_COUNT; i++)
      if (wait <= WAIT_BUCKETS[i])
        s->wait_buckets[i]++;
  }
  pthread_mutex_unlock(&s->mmu);
}

/* Tries to lease a job for the agent. 1: answered with a job; 0: nothing;
 * < 0: answered with an error. Caller holds wmu. */
static int try_lease(queue_server *s, http_request *req, const char *agent,
                     const char *const *labels, size_t n) {
  char lease_id[2 * LEASE_ID_BYTES + 1];
  queue_record *rec = NULL;
  int error = queue_random_hex(lease_id, LEASE_ID_BYTES);
  if (error < 0) {
    respond_code(req, error);
    return error;
  }
  int64_t now = queue_now_ms();
  error = queue_store_lease(&rec, s->store, agent, labels, n, lease_id,
                            now + (int64_t)s->lease_ttl * 1000, now);
  if (error == AIRGAP_ENOTFOUND)
    return 0;
  if (error < 0) {
    respond_code(req, error);
    return error;
  }
  json_t *o = queue_record_json(rec, 0); /* the agent needs the secrets */
  if (o) {
    json_object_set_new(o, "lease", json_string(lease_id));
    json_object_set_new(o, "lease_ttl", json_integer(s->lease_ttl));
  }
  note_lease(s, rec);
  log_info("queue", "job %s leased to %s (attempt %u)", rec->job.id, agent, rec->job.attempts);
  queue_record_free(rec);
  respond_json(req, 200, o);
  return 1;
}

/* Offers queued jobs to the parked lease requests, oldest request first.
 * Caller holds wmu. */
static void dispatch_locked(queue_server *s) {
  waiter **p = &s->head;
  waiter *prev = NULL;
  while (*p) {
    waiter *w = *p;
    int r = try_lease(s, w->req, w->agent, (const char *const *)w->labels, w->label_count);
    if (r == 0) {
      prev = w;
      p = &w->next;
      continue;
    }
    *p = w->next;
    if (s->tail == w)
      s->tail = prev;
    s->waiter_count--;
    waiter_free(w);
  }
}

static void dispatch(queue_server *s) {
  pthread_mutex_lock(&s->wmu);
  if (s->head)
    dispatch_locked(s);
  pthread_mutex_unlock(&s->wmu);
}

/* Answers every waiter whose deadline passed (204), or all when all is set. */
static void expire_waiters_locked(queue_server *s, uint64_t now, int all) {
  waiter **p = &s->head;
  waiter *prev = NULL;
  while (*p) {
    waiter *w = *p;
    if (!all && w->deadline > now) {
      prev = w;
      p = &w->next;
      continue;
    }
    *p = w->next;
    if (s->tail == w)
      s->tail = prev;
    s->waiter_count--;
    if (all)
      http_request_respond_error(w->req, 503, "queue server stopping; retry");
    else
      http_request_respond(w->req, http_response_new(204, "application/json", "", 0));
    waiter_free(w);
  }
}

static void *housekeeping(void *arg) {
  queue_server *s = arg;
  uint64_t next_expire = clock_monotonic_ms() + EXPIRE_PERIOD_MS;
  pthread_mutex_lock(&s->wmu);
  while (!s->stopping) {
    uint64_t now = clock_monotonic_ms();
    expire_waiters_locked(s, now, 0);
    if (now >= next_expire) {
      pthread_mutex_unlock(&s->wmu);
      queue_expire_result res = {0, 0};
      int error = queue_store_expire(&res, s->store, queue_now_ms(), s->max_attempts);
      if (error < 0)
        log_error("queue", "lease expiry failed: %s", airgap_error_last());
      if (res.requeued || res.lost) {
        log_warn("queue", "%zu lease(s) expired: %zu requeued, %zu gave up (agent_lost)",
                 res.requeued + res.lost, res.requeued, res.lost);
        pthread_mutex_lock(&s->mmu);
        s->expired += res.requeued + res.lost;
        s->lost += res.lost;
        pthread_mutex_unlock(&s->mmu);
        notify_logs(s, NULL);
      }
      pthread_mutex_lock(&s->wmu);
      if (res.requeued && s->head)
        dispatch_locked(s);
      next_expire = clock_monotonic_ms() + EXPIRE_PERIOD_MS;
      continue;
    }
    uint64_t wake = next_expire;
    for (waiter *w = s->head; w; w = w->next)
      if (w->deadline < wake)
        wake = w->deadline;
    struct timespec ts = {.tv_sec = wake / 1000, .tv_nsec = (wake % 1000) * 1000000};
    pthread_cond_timedwait(&s->wcond, &s->wmu, &ts);
  }
  pthread_mutex_unlock(&s->wmu);
  return NULL;
}

/* ---------------------------------------------------------------- handlers */

static void on_submit(http_request *req, void *payload) {
  queue_server *s = payload;
  queue_spec *spec = NULL;
  queue_spec_error err;
  queue_record *rec = NULL;
  char *canonical = NULL;
  char id[QUEUE_JOB_ID_LEN + 1];
  size_t len = 0;
  if (authorize(s, req, "client") < 0)
    return;
  const char *body = http_request_body(req, &len);
  if (!body) {
    http_request_respond_error(req, 413, "spec too large");
    return;
  }
  int error = queue_spec_parse(&spec, body, len, &err);
  if (error < 0) {
    json_t *o = json_pack("{s:s,s:s,s:s}", "error", airgap_error_last(), "field", err.field,
                          "reason", err.reason);
    respond_json(req, 400, o);
    return;
  }
  if ((error = queue_spec_to_json(&canonical, spec, 0)) < 0 ||
      (error = queue_random_hex(id, QUEUE_JOB_ID_LEN / 2)) < 0)
    goto cleanup;
  /* Acknowledged only once the insert is durable (see store_sqlite.c). */
  error = queue_store_job_insert(s->store, id, canonical, (const char *const *)spec->labels,
                                 spec->label_count, queue_now_ms());
  if (error < 0)
    goto cleanup;
  error = queue_store_job_get(&rec, s->store, id);
  if (error < 0)
    goto cleanup;
  pthread_mutex_lock(&s->mmu);
  s->submitted++;
  pthread_mutex_unlock(&s->mmu);
  respond_record(req, 201, rec, 1);
  req = NULL;
  dispatch(s);
cleanup:
  if (error < 0 && req)
    respond_code(req, error);
  queue_record_free(rec);
  free(canonical);
  queue_spec_free(spec);
}

static void on_list(http_request *req, void *payload) {
  queue_server *s = payload;
  http_query_pair *pairs = NULL;
  size_t count = 0, n = 0;
  queue_record **recs = NULL;
  uint64_t limit = DEFAULT_LIST_LIMIT, before = 0;
  if (authorize(s, req, "client") < 0)
    return;
  const char *q = http_request_query(req);
  int error = http_query_parse(&pairs, &count, q, strlen(q), MAX_QUERY_PAIRS);
  if (error < 0)
    goto cleanup;
  const char *state = http_query_get(pairs, count, "state");
  const char *lim = http_query_get(pairs, count, "limit");
  const char *bef = http_query_get(pairs, count, "before");
  if (state && !queue_state_is_final(state) && strcmp(state, "queued") != 0 &&
      strcmp(state, "running") != 0) {
    error = airgap_error_set(AIRGAP_EINVALID,
                             "state must be queued, running, passed, failed, errored or canceled");
    goto cleanup;
  }
  if (lim && (parse_u64(&limit, lim) < 0 || limit == 0 || limit > MAX_LIST_LIMIT)) {
    error =
        airgap_error_set(AIRGAP_EINVALID, "limit must be an integer in [1, %u]", MAX_LIST_LIMIT);
    goto cleanup;
  }
  if (bef && (parse_u64(&before, bef) < 0 || before > INT64_MAX)) {
    error = airgap_error_set(AIRGAP_EINVALID, "before must be a cursor from a previous page");
    goto cleanup;
  }
  error = queue_store_job_list(&recs, &n, s->store, state, (int64_t)before, (unsigned)limit);
  if (error < 0)
    goto cleanup;
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < n; i++)
    json_array_append_new(arr, queue_record_json(recs[i], 1));
  json_t *o = json_pack("{s:o,s:o}", "jobs", arr ? arr : json_array(), "next",
                        n == limit && n > 0 ? json_integer(recs[n - 1]->seq) : json_null());
  respond_json(req, 200, o);
cleanup:
  if (error < 0)
    respond_code(req, error);
  queue_record_list_free(recs, n);
  http_query_free(pairs, count);
}

static void on_get(http_request *req, void *payload) {
  queue_server *s = payload;
  queue_record *rec = NULL;
  if (authorize(s, req, "client") < 0)
    return;
  const char *id = path_job_id(req);
  if (!id)
    return;
  int error = queue_store_job_get(&rec, s->store, id);
  if (error < 0)
    respond_code(req, error);
  else
    respond_record(req, 200, rec, 1);
  queue_record_free(rec);
}

static void on_cancel(http_request *req, void *payload) {
  queue_server *s = payload;
  queue_record *rec = NULL;
  if (authorize(s, req, "client") < 0)
    return;
  const char *id = path_job_id(req);
  if (!id)
    return;
  int error = queue_store_job_cancel(&rec, s->store, id, queue_now_ms());
  if (error < 0) {
    respond_code(req, error);
    return;
  }
  log_info("queue", "job %s: cancel requested (%s)", id, rec->job.state);
  notify_logs(s, id); /* before answering: id is borrowed from req */
  respond_record(req, 200, rec, 1);
  queue_record_free(rec);
}

/* ---- leases ---- */

static void on_lease(http_request *req, void *payload) {
  queue_server *s = payload;
  waiter *w = NULL;
  json_t *o = NULL;
  if (authorize(s, req, "agent") < 0)
    return;
  if (!(o = body_object(req)))
    return;
  const char *msg = NULL;
  json_t *agent = json_object_get(o, "agent");
  json_t *labels = json_object_get(o, "labels");
  json_t *wait = json_object_get(o, "wait");
  if (!json_is_string(agent) || !name_ok(json_string_value(agent), MAX_AGENT_NAME, "._:@-"))
    msg = "agent: must be a name of 1 to 128 characters of [A-Za-z0-9._:@-]";
  else if (labels && !json_is_array(labels))
    msg = "labels: must be an array of strings";
  else if (labels && json_array_size(labels) > QUEUE_MAX_LABELS)
    msg = "labels: too many (at most 32)";
  else if (wait && (!json_is_integer(wait) || json_integer_value(wait) < 0))
    msg = "wait: must be a non-negative integer number of seconds";
  for (size_t i = 0; !msg && labels && i < json_array_size(labels); i++) {
    json_t *l = json_array_get(labels, i);
    if (!json_is_string(l) || !name_ok(json_string_value(l), QUEUE_MAX_LABEL, "._:=-"))
      msg = "labels: each must be 1 to 64 characters of [A-Za-z0-9._:=-]";
  }
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
  w->req = req;
  w->deadline = clock_monotonic_ms() + (uint64_t)secs * 1000;
  pthread_mutex_lock(&s->wmu);
  if (s->stopping || (secs > 0 && s->waiter_count >= MAX_WAITERS)) {
    int stopping = s->stopping;
    pthread_mutex_unlock(&s->wmu);
    http_request_respond_error(req, 503,
                               stopping ? "queue server stopping; retry"
                                        : "too many waiting lease requests; retry later");
    goto cleanup;
  }
  int r = try_lease(s, req, w->agent, (const char *const *)w->labels, w->label_count);
  if (r == 0 && secs == 0) {
    pthread_mutex_unlock(&s->wmu);
    http_request_respond(req, http_response_new(204, "application/json", "", 0));
    goto cleanup;
  }
  if (r != 0) {
    pthread_mutex_unlock(&s->wmu);
    goto cleanup;
  }
  /* Park: the request stays unanswered (suspended) until a job or the deadline. */
  if (s->tail)
    s->tail->next = w;
  else
    s->head = w;
  s->tail = w;
  s->waiter_count++;
  w = NULL;
  pthread_cond_signal(&s->wcond);
  pthread_mutex_unlock(&s->wmu);
cleanup:
  waiter_free(w);
  json_decref(o);
}

static const char *lease_of(json_t *o) {
  json_t *l = json_object_get(o, "lease");
  if (!json_is_string(l) || json_string_length(l) != 2 * LEASE_ID_BYTES)
    return NULL;
  return json_string_value(l);
}

static void on_heartbeat(http_request *req, void *payload) {
  queue_server *s = payload;
  json_t *o = NULL;
  int cancel = 0;
  if (authorize(s, req, "agent") < 0)
    return;
  const char *id = path_job_id(req);
  if (!id || !(o = body_object(req)))
    return;
  const char *lease = lease_of(o);
  if (!lease) {
    http_request_respond_error(req, 400, "lease: must be the lease id from the lease answer");
    goto cleanup;
  }
  int error = queue_store_heartbeat(&cancel, s->store, id, lease,
                                    queue_now_ms() + (int64_t)s->lease_ttl * 1000);
  if (error < 0) {
    respond_code(req, error);
    goto cleanup;
  }
  respond_json(req, 200, json_pack("{s:b,s:i}", "cancel", cancel, "lease_ttl", (int)s->lease_ttl));
cleanup:
  json_decref(o);
}

static void on_complete(http_request *req, void *payload) {
  queue_server *s = payload;
  json_t *o = NULL;
  queue_record *rec = NULL;
  if (authorize(s, req, "agent") < 0)
    return;
  const char *id = path_job_id(req);
  if (!id || !(o = body_object(req)))
    return;
  const char *lease = lease_of(o);
  json_t *status = json_object_get(o, "status");
  json_t *reason = json_object_get(o, "reason");
  json_t *code = json_object_get(o, "exit_code");
  const char *msg = NULL;
  if (!lease)
    msg = "lease: must be the lease id from the lease answer";
  else if (!json_is_string(status) || !queue_state_is_final(json_string_value(status)))
    msg = "status: must be passed, failed, errored or canceled";
  else if (reason && !json_is_null(reason) &&
           (!json_is_string(reason) || !name_ok(json_string_value(reason), MAX_REASON, "_-")))
    msg = "reason: must be a short word of [A-Za-z0-9_-] (e.g. timeout, oom)";
  else if (code && !json_is_null(code) &&
           (!json_is_integer(code) || json_integer_value(code) < -1 ||
            json_integer_value(code) > 255))
    msg = "exit_code: must be an integer in [-1, 255]";
  if (msg) {
    http_request_respond_error(req, 400, msg);
    goto cleanup;
  }
  int has_code = json_is_integer(code) && json_integer_value(code) >= 0;
  int error =
      queue_store_complete(&rec, s->store, id, lease, json_string_value(status),
                           json_is_string(reason) ? json_string_value(reason) : NULL, has_code,
                           has_code ? (int)json_integer_value(code) : 0, queue_now_ms());
  if (error < 0) {
    respond_code(req, error);
    goto cleanup;
  }
  log_info("queue", "job %s %s", id, rec->job.state);
  notify_logs(s, id); /* before answering: id is borrowed from req */
  respond_record(req, 200, rec, 1);
cleanup:
  queue_record_free(rec);
  json_decref(o);
}

/* Handing a job back: the agent hit a temporary failure (Docker or the git
 * remote unreachable). A requeued job goes to the parked lease requests at
 * once rather than waiting for a lease to expire. */
static void on_release(http_request *req, void *payload) {
  queue_server *s = payload;
  json_t *o = NULL;
  queue_record *rec = NULL;
  if (authorize(s, req, "agent") < 0)
    return;
  const char *id = path_job_id(req);
  if (!id || !(o = body_object(req)))
    return;
  const char *lease = lease_of(o);
  json_t *reason = json_object_get(o, "reason");
  const char *msg = NULL;
  if (!lease)
    msg = "lease: must be the lease id from the lease answer";
  else if (!json_is_string(reason) || !name_ok(json_string_value(reason), MAX_REASON, "_-"))
    msg = "reason: must be a short word of [A-Za-z0-9_-] (e.g. git, docker)";
  if (msg) {
    http_request_respond_error(req, 400, msg);
    goto cleanup;
  }
  int error = queue_store_release(&rec, s->store, id, lease, json_string_value(reason),
                                  s->max_attempts, queue_now_ms());
  if (error < 0) {
    respond_code(req, error);
    goto cleanup;
  }
  log_info("queue", "job %s handed back (%s): %s", id, json_string_value(reason), rec->job.state);
  pthread_mutex_lock(&s->mmu);
  s->released++;
  pthread_mutex_unlock(&s->mmu);
  int requeued = strcmp(rec->job.state, "queued") == 0;
  notify_logs(s, id); /* before answering: id is borrowed from req */
  respond_record(req, 200, rec, 1);
  if (requeued)
    dispatch(s);
cleanup:
  queue_record_free(rec);
  json_decref(o);
}

/* ---- logs ---- */

static void on_log_append(http_request *req, void *payload) {
  queue_server *s = payload;
  http_query_pair *pairs = NULL;
  size_t count = 0, len = 0;
  uint64_t offset = 0;
  queue_log_ack ack = {0, 0};
  if (authorize(s, req, "agent") < 0)
    return;
  const char *id = path_job_id(req);
  if (!id)
    return;
  const char *q = http_request_query(req);
  int error = http_query_parse(&pairs, &count, q, strlen(q), MAX_QUERY_PAIRS);
  if (error < 0) {
    respond_code(req, error);
    return;
  }
  const char *lease = http_request_header(req, "X-Airgap-Lease");
  const char *body = http_request_body(req, &len);
  if (parse_u64(&offset, http_query_get(pairs, count, "offset")) < 0 || offset > INT64_MAX / 2)
    http_request_respond_error(req, 400, "offset: must be a byte offset (?offset=N)");
  else if (!lease || strlen(lease) != 2 * LEASE_ID_BYTES)
    http_request_respond_error(req, 400, "X-Airgap-Lease: must carry the lease id");
  else if (!body || len > QUEUE_MAX_LOG_CHUNK)
    http_request_respond_error(req, 413, "log chunk too large (at most 1 MiB)");
  else {
    error = queue_store_log_append(&ack, s->store, id, lease, offset, body, len, s->log_cap);
    if (error == AIRGAP_EINVALID) {
      respond_json(
          req, 409,
          json_pack("{s:s,s:I}", "error", airgap_error_last(), "offset", (json_int_t)ack.received));
    } else if (error < 0) {
      respond_code(req, error);
    } else {
      if (ack.stored) {
        pthread_mutex_lock(&s->mmu);
        s->log_bytes += ack.stored;
        pthread_mutex_unlock(&s->mmu);
        notify_logs(s, id); /* before answering: id is borrowed from req */
      }
      respond_json(req, 200, json_pack("{s:I}", "offset", (json_int_t)ack.received));
    }
  }
  http_query_free(pairs, count);
}

static ssize_t log_stream_read(void *payload, uint64_t pos, char *buf, size_t max) {
  log_stream *ls = payload;
  queue_server *s = ls->server;
  size_t n = 0;
  int final = 0;
  if (queue_store_log_read(&n, &final, s->store, ls->id, ls->start + pos, buf, max) < 0) {
    log_error("queue", "reading the log of %s: %s", ls->id, airgap_error_last());
    return HTTP_STREAM_ERROR;
  }
  if (n > 0)
    return (ssize_t)n;
  if (final || !ls->follow)
    return HTTP_STREAM_END;
  pthread_mutex_lock(&s->mmu);
  int stopping = s->log_stopping;
  pthread_mutex_unlock(&s->mmu);
  /* An append between the read above and the park wakes the stream, which the
   * server turns into another call rather than a lost wake-up. */
  return stopping ? HTTP_STREAM_END : HTTP_STREAM_WAIT;
}

static void log_stream_free(void *payload) {
  log_stream *ls = payload;
  queue_server *s = ls->server;
  pthread_mutex_lock(&s->mmu);
  for (log_stream **p = &s->followers; *p; p = &(*p)->next) {
    if (*p == ls) {
      *p = ls->next;
      break;
    }
  }
  pthread_mutex_unlock(&s->mmu);
  free(ls);
}

static void on_log_read(http_request *req, void *payload) {
  queue_server *s = payload;
  http_query_pair *pairs = NULL;
  size_t count = 0;
  queue_record *rec = NULL;
  uint64_t offset = 0;
  if (authorize(s, req, "client") < 0)
    return;
  const char *id = path_job_id(req);
  if (!id)
    return;
  const char *q = http_request_query(req);
  int error = http_query_parse(&pairs, &count, q, strlen(q), MAX_QUERY_PAIRS);
  if (error < 0)
    goto cleanup;
  const char *off = http_query_get(pairs, count, "offset");
  const char *follow = http_query_get(pairs, count, "follow");
  if (off && (parse_u64(&offset, off) < 0 || offset > INT64_MAX / 2)) {
    error = airgap_error_set(AIRGAP_EINVALID, "offset: must be a byte offset");
    goto cleanup;
  }
  error = queue_store_job_get(&rec, s->store, id);
  if (error < 0)
    goto cleanup;
  log_stream *ls = calloc(1, sizeof(*ls));
  if (!ls) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  ls->server = s;
  memcpy(ls->id, id, QUEUE_JOB_ID_LEN + 1);
  ls->start = offset;
  ls->follow = follow && (strcmp(follow, "1") == 0 || strcmp(follow, "true") == 0);
  http_response *resp = http_response_new_stream(
      200, "text/plain; charset=utf-8", HTTP_SIZE_UNKNOWN, log_stream_read, ls, log_stream_free);
  if (resp && ls->follow) {
    pthread_mutex_lock(&s->mmu);
    ls->handle = http_response_stream(resp);
    ls->next = s->followers;
    s->followers = ls;
    pthread_mutex_unlock(&s->mmu);
  }
  if (resp) {
    char size[32];
    snprintf(size, sizeof(size), "%llu", (unsigned long long)rec->job.log_size);
    http_response_header_add(resp, "X-Airgap-Log-Size", size);
    http_response_header_add(resp, "X-Airgap-Job-State", rec->job.state);
  }
  http_request_respond(req, resp);
cleanup:
  if (error < 0)
    respond_code(req, error);
  queue_record_free(rec);
  http_query_free(pairs, count);
}

/* ---- operations ---- */

static void on_healthz(http_request *req, void *payload) {
  queue_server *s = payload;
  queue_store_counts c;
  if (queue_store_counts_get(&c, s->store) < 0) {
    http_request_respond_error(req, 503, airgap_error_last());
    return;
  }
  respond_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static int appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
    va_end(ap);
    if (n < 0)
      return -1;
    if (*buf && *len + (size_t)n < *cap) {
      *len += (size_t)n;
      return 0;
    }
    size_t want = (*cap ? *cap * 2 : 4096) + (size_t)n;
    char *grown = realloc(*buf, want);
    if (!grown)
      return -1;
    *buf = grown;
    *cap = want;
  }
}

static void on_metrics(http_request *req, void *payload) {
  queue_server *s = payload;
  queue_store_counts c;
  char *buf = NULL;
  size_t len = 0, cap = 0;
  int bad = 0;
  if (queue_store_counts_get(&c, s->store) < 0) {
    http_request_respond_error(req, 503, airgap_error_last());
    return;
  }
  pthread_mutex_lock(&s->wmu);
  size_t waiters = s->waiter_count;
  pthread_mutex_unlock(&s->wmu);
  pthread_mutex_lock(&s->mmu);
  bad |= appendf(&buf, &len, &cap,
                 "# HELP airgap_queue_jobs Jobs in the queue by state.\n"
                 "# TYPE airgap_queue_jobs gauge\n"
                 "airgap_queue_jobs{state=\"queued\"} %llu\n"
                 "airgap_queue_jobs{state=\"running\"} %llu\n"
                 "airgap_queue_jobs{state=\"passed\"} %llu\n"
                 "airgap_queue_jobs{state=\"failed\"} %llu\n"
                 "airgap_queue_jobs{state=\"errored\"} %llu\n"
                 "airgap_queue_jobs{state=\"canceled\"} %llu\n",
                 (unsigned long long)c.queued, (unsigned long long)c.running,
                 (unsigned long long)c.passed, (unsigned long long)c.failed,
                 (unsigned long long)c.errored, (unsigned long long)c.canceled);
  bad |= appendf(&buf, &len, &cap,
                 "# HELP airgap_queue_jobs_submitted_total Jobs accepted since start.\n"
                 "# TYPE airgap_queue_jobs_submitted_total counter\n"
                 "airgap_queue_jobs_submitted_total %llu\n"
                 "# HELP airgap_queue_leases_total Leases granted since start.\n"
                 "# TYPE airgap_queue_leases_total counter\n"
                 "airgap_queue_leases_total %llu\n"
                 "# HELP airgap_queue_leases_expired_total Leases that expired without a "
                 "heartbeat.\n"
                 "# TYPE airgap_queue_leases_expired_total counter\n"
                 "airgap_queue_leases_expired_total %llu\n"
                 "# HELP airgap_queue_jobs_agent_lost_total Jobs that ran out of attempts.\n"
                 "# TYPE airgap_queue_jobs_agent_lost_total counter\n"
                 "airgap_queue_jobs_agent_lost_total %llu\n"
                 "# HELP airgap_queue_releases_total Jobs handed back by their agent "
                 "(release answers).\n"
                 "# TYPE airgap_queue_releases_total counter\n"
                 "airgap_queue_releases_total %llu\n"
                 "# HELP airgap_queue_lease_waiters Lease requests waiting for a job.\n"
                 "# TYPE airgap_queue_lease_waiters gauge\n"
                 "airgap_queue_lease_waiters %zu\n"
                 "# HELP airgap_queue_log_bytes_total Log bytes stored since start.\n"
                 "# TYPE airgap_queue_log_bytes_total counter\n"
                 "airgap_queue_log_bytes_total %llu\n"
                 "# HELP airgap_queue_wait_seconds Time from submission to first lease.\n"
                 "# TYPE airgap_queue_wait_seconds histogram\n",
                 (unsigned long long)s->submitted, (unsigned long long)s->leases,
                 (unsigned long long)s->expired, (unsigned long long)s->lost,
                 (unsigned long long)s->released, waiters, (unsigned long long)s->log_bytes);
  for (size_t i = 0; i < WAIT_BUCKET_COUNT; i++)
    bad |= appendf(&buf, &len, &cap, "airgap_queue_wait_seconds_bucket{le=\"%g\"} %llu\n",
                   WAIT_BUCKETS[i], (unsigned long long)s->wait_buckets[i]);
  bad |= appendf(&buf, &len, &cap,
                 "airgap_queue_wait_seconds_bucket{le=\"+Inf\"} %llu\n"
                 "airgap_queue_wait_seconds_sum %.6f\n"
                 "airgap_queue_wait_seconds_count %llu\n",
                 (unsigned long long)s->wait_count, s->wait_sum, (unsigned long long)s->wait_count);
  pthread_mutex_unlock(&s->mmu);
  if (bad) {
    free(buf);
    http_request_respond_error(req, 500, "out of memory");
    return;
  }
  http_request_respond(req, http_response_new_take(200, "text/plain; version=0.0.4", buf, len));
}

static const http_route ROUTES[] = {
    {"GET", "/healthz", on_healthz},
    {"GET", "/metrics", on_metrics},
    {"POST", "/v1/jobs", on_submit},
    {"GET", "/v1/jobs", on_list},
    {"GET", "/v1/jobs/*", on_get},
    {"POST", "/v1/jobs/*/cancel", on_cancel},
    {"GET", "/v1/jobs/*/logs", on_log_read},
    {"POST", "/v1/jobs/*/logs", on_log_append},
    {"POST", "/v1/jobs/*/heartbeat", on_heartbeat},
    {"POST", "/v1/jobs/*/complete", on_complete},
    {"POST", "/v1/jobs/*/release", on_release},
    {"POST", "/v1/leases", on_lease},
};

static void on_request(http_request *req, void *payload) {
  http_router_dispatch(ROUTES, sizeof(ROUTES) / sizeof(ROUTES[0]), req, payload);
}

/* ------------------------------------------------------------- start / stop */

int queue_server_start(queue_server **out, const queue_server_options *options) {
  queue_server *s = NULL;
  pthread_condattr_t attr;
  int error = 0;
  if (!options || !options->listen || !options->data_dir)
    return airgap_error_set(AIRGAP_EINVALID, "need a listen address and a data directory");
  s = calloc(1, sizeof(*s));
  if (!s)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  s->lease_ttl = options->lease_ttl ? options->lease_ttl : DEFAULT_LEASE_TTL;
  s->max_attempts = options->max_attempts ? options->max_attempts : DEFAULT_MAX_ATTEMPTS;
  s->log_cap = options->log_cap ? options->log_cap : DEFAULT_LOG_CAP;
  s->max_wait = options->max_wait ? options->max_wait : DEFAULT_MAX_WAIT;
  pthread_mutex_init(&s->wmu, NULL);
  pthread_mutex_init(&s->mmu, NULL);
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&s->wcond, &attr);
  pthread_condattr_destroy(&attr);
  error = queue_store_open_sqlite(&s->store, options->data_dir, options->sync_normal);
  if (error < 0)
    goto cleanup;
  if (pthread_create(&s->thread, NULL, housekeeping, s) != 0) {
    error = airgap_error_set(AIRGAP_ERROR, "cannot start the queue housekeeping thread");
    goto cleanup;
  }
  s->thread_started = 1;
  http_server_options hopts = {
      .listen = options->listen,
      .max_body = QUEUE_MAX_LOG_CHUNK,
      .threads = options->threads ? options->threads : DEFAULT_THREADS,
      /* idle connections close after this; a parked lease is never idle for
       * longer than max_wait, and followers are reconnected by the client */
      .connection_timeout = s->max_wait + 30,
      .handler = on_request,
      .payload = s,
  };
  error = http_server_start(&s->http, &hopts);
  if (error < 0)
    goto cleanup;
  log_info("queue", "listening on port %u, data in %s (lease %us, %u attempts)",
           http_server_port(s->http), options->data_dir, s->lease_ttl, s->max_attempts);
  *out = s;
  return 0;
cleanup:
  queue_server_free(s);
  return error;
}

uint16_t queue_server_port(const queue_server *server) { return http_server_port(server->http); }

void queue_server_free(queue_server *s) {
  if (!s)
    return;
  pthread_mutex_lock(&s->wmu);
  s->stopping = 1;
  pthread_cond_broadcast(&s->wcond);
  pthread_mutex_unlock(&s->wmu);
  pthread_mutex_lock(&s->mmu);
  s->log_stopping = 1;
  pthread_mutex_unlock(&s->mmu);
  if (s->thread_started)
    pthread_join(s->thread, NULL);
  pthread_mutex_lock(&s->wmu);
  expire_waiters_locked(s, 0, 1);
  pthread_mutex_unlock(&s->wmu);
  http_server_free(s->http);
  queue_store_close(s->store);
  pthread_cond_destroy(&s->wcond);
  pthread_mutex_destroy(&s->wmu);
  pthread_mutex_destroy(&s->mmu);
  free(s);
}
