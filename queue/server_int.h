/*
 * server_int.h — the queue server's pieces, shared between its files only:
 * server.c (start/stop, routes, tokens, request helpers), server_wait.c (lease
 * requests parked until a job arrives, lease expiry), server_jobs.c (the job
 * endpoints), server_logs.c (log appends and followers), server_metrics.c
 * (/healthz and /metrics). Each part owns its state in struct queue_server
 * behind its own lock.
 */
#ifndef AIRGAP_QUEUE_SERVER_INT_H
#define AIRGAP_QUEUE_SERVER_INT_H

#include "queue/queue_int.h"
#include "common/http_server.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define LEASE_ID_BYTES 16
#define MAX_QUERY_PAIRS 16
#define MAX_REASON 64

/* ---- lease waiting (server_wait.c) ---- */

typedef struct waiter waiter;

typedef struct server_waiters {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  waiter *head, *tail; /* parked lease requests, oldest first */
  size_t count;
  int stopping;
  pthread_t thread; /* housekeeping: waiter deadlines, lease expiry */
  int thread_started;
  int64_t grace_until; /* wall ms: no lease expires before (start-up grace) */
} server_waiters;

/* ---- durable answers (server_flush.c) ---- */

typedef struct durable_answer durable_answer;

typedef struct server_flusher {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  durable_answer *head, *tail; /* answers waiting for the next flush */
  int stopping;
  pthread_t thread;
  int started;
  uint64_t last_flush_ns; /* CLOCK_MONOTONIC at the end of the last flush */
} server_flusher;

/* ---- log followers (server_logs.c) ---- */

typedef struct log_stream log_stream;

typedef struct server_followers {
  pthread_mutex_t mu;
  int stopping;
  log_stream *head;
} server_followers;

/* ---- live updates (server_events.c) ---- */

typedef struct event_stream event_stream;

typedef struct server_events {
  pthread_mutex_t mu;
  int stopping;
  uint64_t version;   /* bumped by every change a job list or agent list shows */
  uint64_t last_ping; /* clock_monotonic_ms of the last keep-alive wake */
  event_stream *head;
} server_events;

/* ---- metrics (server_metrics.c) ---- */

#define WAIT_BUCKET_COUNT 8

typedef enum server_counter {
  COUNT_SUBMITTED,
  COUNT_LEASES,
  COUNT_EXPIRED,
  COUNT_LOST,
  COUNT_RELEASED,
  COUNT_LOG_BYTES,
  COUNT_MAX
} server_counter;

typedef struct server_metrics {
  pthread_mutex_t mu;
  uint64_t counters[COUNT_MAX];
  uint64_t wait_buckets[WAIT_BUCKET_COUNT];
  uint64_t wait_count;
  double wait_sum;
} server_metrics;

struct queue_server {
  http_server *http;
  queue_store *store;
  unsigned lease_ttl;
  unsigned max_attempts;
  uint64_t log_cap;
  unsigned max_wait;
  int64_t retention_ms;   /* finished jobs older than this are pruned */
  uint64_t log_total_cap; /* 0: no cap on all logs together */
  server_waiters waiters;
  server_flusher flusher;
  server_followers followers;
  server_events events;
  server_metrics metrics;
  queue_token_cache tokens; /* rows of the tokens seen lately */
};

/* ---- request helpers (server.c) ---- */

/* Answers with body (taken); 500 when body is NULL (out of memory). */
void server_respond_json(http_request *req, int status, json_t *body);
/* Maps an airgap error code to its HTTP status, answering with the message. */
void server_respond_code(http_request *req, int code);
/* Answers with the API's JSON of a stored job (see queue_record_json_text:
 * lease_ttl 0 for every answer but the lease's). */
void server_respond_record(http_request *req, int status, const queue_record *rec,
                           unsigned lease_ttl);
/* Checks the bearer token for role ("agent", "client"; "read": client or
 * viewer; "any": every valid token); answers 401/403 itself and returns -1. */
int server_authorize(queue_server *s, http_request *req, const char *role);
/* The body as a JSON object (owned); answers 400/413 itself and returns NULL. */
json_t *server_body_object(http_request *req);
/* The job id of path segment 2; answers 404 itself and returns NULL. */
const char *server_path_job_id(http_request *req);
/* Decimal digits only, at most 19. */
int server_parse_u64(uint64_t *out, const char *s);
/* 1 when s is 1..max characters of [A-Za-z0-9] and extra. */
int server_name_ok(const char *s, size_t max, const char *extra);

/* The answer to a request that changed a job, as server_respond_record would
 * send it (owned; NULL when out of memory). */
http_response *server_record_response(int status, const queue_record *rec, unsigned lease_ttl);

/* ---- durable answers (server_flush.c) ---- */

void server_flusher_init(queue_server *s);
int server_flusher_start(queue_server *s);
/* Answers what waits (after its flush) and stops the thread; later calls of
 * server_respond_durable wait on their own thread. */
void server_flusher_stop(queue_server *s);
void server_flusher_destroy(queue_server *s);
/* Sends resp (taken) once the deferred commit ticket (queue_store_defer_end)
 * is durable — at once for ticket 0 — and then, when changed_id is set, tells
 * that job's log followers and the event stream. A failed flush is answered
 * 500 with its message. */
void server_respond_durable(queue_server *s, http_request *req, http_response *resp,
                            uint64_t ticket, const char *changed_id);

/* ---- lease waiting (server_wait.c) ---- */

void server_waiters_init(queue_server *s);
/* Starts the housekeeping thread (once the store is open). */
int server_waiters_start(queue_server *s);
/* Answers every parked request (503) and stops the housekeeping thread. */
void server_waiters_stop(queue_server *s);
void server_waiters_destroy(queue_server *s);
/* Offers queued jobs to the parked lease requests (after a job became
 * leasable: submitted, requeued, handed back). */
void server_waiters_dispatch(queue_server *s);
size_t server_waiters_count(queue_server *s);
void server_on_lease(http_request *req, void *payload);

/* ---- job endpoints (server_jobs.c) ---- */

void server_on_submit(http_request *req, void *payload);
void server_on_list(http_request *req, void *payload);
void server_on_get(http_request *req, void *payload);
void server_on_cancel(http_request *req, void *payload);
void server_on_heartbeat(http_request *req, void *payload);
void server_on_complete(http_request *req, void *payload);
void server_on_release(http_request *req, void *payload);
void server_on_retry(http_request *req, void *payload);

/* ---- logs (server_logs.c) ---- */

void server_followers_init(queue_server *s);
/* Followers end their streams instead of waiting for more. */
void server_followers_stop(queue_server *s);
void server_followers_destroy(queue_server *s);
/* Wakes the followers of job id (NULL: of every job) after its log grew or
 * its state changed. */
void server_logs_notify(queue_server *s, const char *id);
void server_on_log_append(http_request *req, void *payload);
void server_on_log_read(http_request *req, void *payload);
void server_on_log_times(http_request *req, void *payload);

/* ---- live updates (server_events.c) ---- */

void server_events_init(queue_server *s);
/* Ends every event stream instead of parking it again. */
void server_events_stop(queue_server *s);
void server_events_destroy(queue_server *s);
/* Something a list shows changed (a job's state, an agent's): the event
 * streams tell their pages. */
void server_events_changed(queue_server *s);
/* Called about once a second: wakes the streams for a keep-alive now and then. */
void server_events_tick(queue_server *s);
void server_on_events(http_request *req, void *payload);

/* ---- agents and the queue's summary (server_agents.c) ---- */

/* Marks agent's parked lease requests drained (1) or not (0); resumed ones
 * are offered the queued jobs (server_wait.c). */
void server_waiters_drain(queue_server *s, const char *agent, int drained);
void server_on_agents(http_request *req, void *payload);
void server_on_agent_drain(http_request *req, void *payload);
void server_on_queue_summary(http_request *req, void *payload);

/* ---- the web UI (server_ui.c) ---- */

/* One file of the UI, embedded at build time (ui_assets.c, generated). */
typedef struct queue_ui_asset {
  const char *path; /* "/", "/app.js", … */
  const char *content_type;
  const unsigned char *data;
  size_t len;
  const char *etag;
} queue_ui_asset;

extern const queue_ui_asset QUEUE_UI_ASSETS[];
extern const size_t QUEUE_UI_ASSET_COUNT;

void server_on_ui(http_request *req, void *payload);
void server_on_whoami(http_request *req, void *payload);

/* ---- metrics (server_metrics.c) ---- */

void server_metrics_init(queue_server *s);
void server_metrics_destroy(queue_server *s);
void server_metrics_add(queue_server *s, server_counter which, uint64_t n);
/* Counts a granted lease and, for a first attempt, its wait in the queue. */
void server_metrics_lease(queue_server *s, const queue_record *rec);
void server_on_healthz(http_request *req, void *payload);
void server_on_metrics(http_request *req, void *payload);

#endif
