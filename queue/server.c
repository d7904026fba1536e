/*
 * server.c — the queue's HTTP server (see queue.h for the endpoints): start
 * and stop, the route table, token checks and the helpers every endpoint
 * uses to read requests and answer them.
 *
 * Every request is answered from the store; the store's transactions are what
 * keep jobs safe (durable before acknowledged, one lease per job). What only a
 * server can do lives next to this file: parked lease requests and lease
 * expiry (server_wait.c), log followers (server_logs.c), counters
 * (server_metrics.c); the job endpoints are in server_jobs.c.
 */
#include "queue/server_int.h"
#include "common/error.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LEASE_TTL 30u
#define DEFAULT_MAX_ATTEMPTS 3u
#define DEFAULT_LOG_CAP (16ull * 1024 * 1024)
#define DEFAULT_MAX_WAIT 60u
#define DEFAULT_THREADS 8u
#define DEFAULT_RETENTION (30ull * 24 * 3600) /* seconds */

/* ---------------------------------------------------------------- answers */

void server_respond_json(http_request *req, int status, json_t *body) {
  if (!body) {
    http_request_respond_error(req, 500, "out of memory");
    return;
  }
  http_request_respond(req, http_response_new_json(status, body));
}

void server_respond_code(http_request *req, int code) {
  int status = 500;
  switch (code) {
  case AIRGAP_ENOTFOUND: status = 404; break;
  case AIRGAP_EINVALID: status = 400; break;
  case AIRGAP_ETOOBIG: status = 413; break;
  case AIRGAP_EBUSY:
  case AIRGAP_EEXISTS: status = 409; break;
  case AIRGAP_EAUTH: status = 401; break;
  case QUEUE_STORE_EUNAVAILABLE: status = 503; break;
  default: break;
  }
  if (status == 500)
    log_error("queue", "%s %s: %s", http_request_method(req), http_request_path(req),
              airgap_error_last());
  http_request_respond_error(req, status, airgap_error_last());
}

http_response *server_record_response(int status, const queue_record *rec, unsigned lease_ttl) {
  char *text = NULL;
  size_t len = 0;
  if (queue_record_json_text(&text, &len, rec, lease_ttl) < 0)
    return NULL;
  return http_response_new_take(status, "application/json", text, len);
}

void server_respond_record(http_request *req, int status, const queue_record *rec,
                           unsigned lease_ttl) {
  http_response *resp = server_record_response(status, rec, lease_ttl);
  if (!resp) {
    http_request_respond_error(req, 500, airgap_error_last());
    return;
  }
  http_request_respond(req, resp);
}

/* ------------------------------------------------------------------ auth */

int server_authorize(queue_server *s, http_request *req, const char *role) {
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
  int error = queue_token_verify_cached(&got, s->store, &s->tokens, token);
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
    server_respond_code(req, error);
    return -1;
  }
  /* "read": what a viewer token may do (look), which a client token may too */
  int ok =
      strcmp(got, role) == 0 || strcmp(role, "any") == 0 ||
      (strcmp(role, "read") == 0 && (strcmp(got, "client") == 0 || strcmp(got, "viewer") == 0));
  free(got);
  if (!ok) {
    char msg[128];
    snprintf(msg, sizeof(msg), "this call needs a %s token",
             strcmp(role, "read") == 0 ? "client or viewer" : role);
    http_request_respond_error(req, 403, msg);
    return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------- helpers */

json_t *server_body_object(http_request *req) {
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

int server_parse_u64(uint64_t *out, const char *s) {
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

const char *server_path_job_id(http_request *req) {
  const char *id = http_request_segment(req, 2);
  if (!queue_job_id_valid(id)) {
    http_request_respond_error(req, 404, "no such job");
    return NULL;
  }
  return id;
}

int server_name_ok(const char *s, size_t max, const char *extra) {
  size_t len = strlen(s);
  if (len == 0 || len > max)
    return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          strchr(extra, *p)))
      return 0;
  return 1;
}

/* ----------------------------------------------------------------- routes */

static const http_route ROUTES[] = {
    {"GET", "/healthz", server_on_healthz},
    {"GET", "/metrics", server_on_metrics},
    {"POST", "/v1/jobs", server_on_submit},
    {"GET", "/v1/jobs", server_on_list},
    {"GET", "/v1/jobs/*", server_on_get},
    {"POST", "/v1/jobs/*/cancel", server_on_cancel},
    {"GET", "/v1/jobs/*/logs", server_on_log_read},
    {"GET", "/v1/jobs/*/logs/times", server_on_log_times},
    {"POST", "/v1/jobs/*/logs", server_on_log_append},
    {"POST", "/v1/jobs/*/heartbeat", server_on_heartbeat},
    {"POST", "/v1/jobs/*/complete", server_on_complete},
    {"POST", "/v1/jobs/*/release", server_on_release},
    {"POST", "/v1/leases", server_on_lease},
    {"POST", "/v1/jobs/*/retry", server_on_retry},
    {"GET", "/v1/agents", server_on_agents},
    {"POST", "/v1/agents/*/drain", server_on_agent_drain},
    {"POST", "/v1/agents/*/resume", server_on_agent_drain},
    {"GET", "/v1/queue", server_on_queue_summary},
    {"GET", "/v1/events", server_on_events},
    {"GET", "/v1/whoami", server_on_whoami},
    {"GET", "/", server_on_ui},
    {"GET", "/*", server_on_ui},
};

static void on_request(http_request *req, void *payload) {
  http_router_dispatch(ROUTES, sizeof(ROUTES) / sizeof(ROUTES[0]), req, payload);
}

/* ------------------------------------------------------------- start / stop */

/* Called by the store's listener (PostgreSQL) after a change made through
 * any server, this one included. */
static void on_store_change(queue_watch_event event, const char *id, void *payload) {
  queue_server *s = payload;
  if (event == QUEUE_WATCH_JOBS)
    server_waiters_dispatch(s);
  else
    server_logs_notify(s, id);
  server_events_changed(s);
}

int queue_server_start(queue_server **out, const queue_server_options *options) {
  queue_server *s = NULL;
  int error = 0;
  int use_pg = options && options->database && *options->database;
  if (!options || !options->listen || (!options->data_dir && !use_pg))
    return airgap_error_set(AIRGAP_EINVALID, "need a listen address and a data directory");
  s = calloc(1, sizeof(*s));
  if (!s)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  s->lease_ttl = options->lease_ttl ? options->lease_ttl : DEFAULT_LEASE_TTL;
  s->max_attempts = options->max_attempts ? options->max_attempts : DEFAULT_MAX_ATTEMPTS;
  s->log_cap = options->log_cap ? options->log_cap : DEFAULT_LOG_CAP;
  s->max_wait = options->max_wait ? options->max_wait : DEFAULT_MAX_WAIT;
  server_metrics_init(s);
  queue_token_cache_init(&s->tokens);
  server_followers_init(s);
  server_events_init(s);
  server_waiters_init(s);
  server_flusher_init(s);
  s->retention_ms = (int64_t)(options->retention ? options->retention : DEFAULT_RETENTION) * 1000;
  s->log_total_cap = options->log_total_cap;
  if (use_pg)
    error = queue_store_open_pg(&s->store, options->database, options->pool_size);
  else
    error = queue_store_open_sqlite(&s->store, options->data_dir, options->sync_normal);
  /* other servers on the same database wake our parked leases and followers */
  if (error < 0 || (error = queue_store_watch(s->store, on_store_change, s)) < 0 ||
      (error = server_waiters_start(s)) < 0 || (error = server_flusher_start(s)) < 0)
    goto cleanup;
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
           http_server_port(s->http), use_pg ? "PostgreSQL" : options->data_dir, s->lease_ttl,
           s->max_attempts);
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
  server_followers_stop(s);
  server_events_stop(s);
  server_waiters_stop(s);
  server_flusher_stop(s);
  http_server_free(s->http);
  queue_store_close(s->store);
  server_waiters_destroy(s);
  server_flusher_destroy(s);
  server_followers_destroy(s);
  server_events_destroy(s);
  server_metrics_destroy(s);
  queue_token_cache_destroy(&s->tokens);
  free(s);
}
