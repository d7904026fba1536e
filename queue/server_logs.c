/*
 * server_logs.c — job logs over HTTP: agents append chunks at byte offsets,
 * clients read them and may follow them as they grow.
 *
 * Following streams the log as chunks arrive: when a follower has read
 * everything, its reader answers HTTP_STREAM_WAIT and the connection is parked
 * (no thread held); every append and every job end wakes the followers of
 * that job (server_logs_notify).
 */
#include "queue/server_int.h"
#include "common/error.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TIMES_PAGE 4096

struct log_stream {
  queue_server *server;
  char id[QUEUE_JOB_ID_LEN + 1];
  uint64_t start;
  int follow;
  http_stream *handle; /* woken by server_logs_notify; NULL once freed */
  struct log_stream *next;
};

void server_followers_init(queue_server *s) { pthread_mutex_init(&s->followers.mu, NULL); }

void server_followers_stop(queue_server *s) {
  pthread_mutex_lock(&s->followers.mu);
  s->followers.stopping = 1;
  pthread_mutex_unlock(&s->followers.mu);
}

void server_followers_destroy(queue_server *s) { pthread_mutex_destroy(&s->followers.mu); }

void server_logs_notify(queue_server *s, const char *id) {
  pthread_mutex_lock(&s->followers.mu);
  for (log_stream *ls = s->followers.head; ls; ls = ls->next)
    if (!id || strcmp(ls->id, id) == 0)
      http_stream_wake(ls->handle);
  pthread_mutex_unlock(&s->followers.mu);
}

/* The start both log calls share: a token of role, the job id in the path,
 * the query string parsed into *pairs (owned: http_query_free). Returns the
 * id (borrowed from req), or NULL when it has answered the request itself. */
static const char *log_call(http_query_pair **pairs, size_t *count, queue_server *s,
                            http_request *req, const char *role) {
  if (server_authorize(s, req, role) < 0)
    return NULL;
  const char *id = server_path_job_id(req);
  if (!id)
    return NULL;
  const char *q = http_request_query(req);
  int error = http_query_parse(pairs, count, q, strlen(q), MAX_QUERY_PAIRS);
  if (error < 0) {
    server_respond_code(req, error);
    return NULL;
  }
  return id;
}

void server_on_log_append(http_request *req, void *payload) {
  queue_server *s = payload;
  http_query_pair *pairs = NULL;
  size_t count = 0, len = 0;
  uint64_t offset = 0;
  queue_log_ack ack = {0, 0};
  const char *id = log_call(&pairs, &count, s, req, "agent");
  if (!id)
    return;
  const char *lease = http_request_header(req, "X-Airgap-Lease");
  const char *body = http_request_body(req, &len);
  if (server_parse_u64(&offset, http_query_get(pairs, count, "offset")) < 0 ||
      offset > INT64_MAX / 2)
    http_request_respond_error(req, 400, "offset: must be a byte offset (?offset=N)");
  else if (!lease || strlen(lease) != 2 * LEASE_ID_BYTES)
    http_request_respond_error(req, 400, "X-Airgap-Lease: must carry the lease id");
  else if (!body || len > QUEUE_MAX_LOG_CHUNK)
    http_request_respond_error(req, 413, "log chunk too large (at most 1 MiB)");
  else {
    int error = queue_store_log_append(&ack, s->store, id, lease, offset, body, len, s->log_cap);
    if (error == AIRGAP_EINVALID) {
      server_respond_json(
          req, 409,
          json_pack("{s:s,s:I}", "error", airgap_error_last(), "offset", (json_int_t)ack.received));
    } else if (error < 0) {
      server_respond_code(req, error);
    } else {
      if (ack.stored) {
        server_metrics_add(s, COUNT_LOG_BYTES, ack.stored);
        server_logs_notify(s, id); /* before answering: id is borrowed from req */
      }
      server_respond_json(req, 200, json_pack("{s:I}", "offset", (json_int_t)ack.received));
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
  pthread_mutex_lock(&s->followers.mu);
  int stopping = s->followers.stopping;
  pthread_mutex_unlock(&s->followers.mu);
  /* An append between the read above and the park wakes the stream, which the
   * server turns into another call rather than a lost wake-up. */
  return stopping ? HTTP_STREAM_END : HTTP_STREAM_WAIT;
}

static void log_stream_free(void *payload) {
  log_stream *ls = payload;
  queue_server *s = ls->server;
  pthread_mutex_lock(&s->followers.mu);
  for (log_stream **p = &s->followers.head; *p; p = &(*p)->next) {
    if (*p == ls) {
      *p = ls->next;
      break;
    }
  }
  pthread_mutex_unlock(&s->followers.mu);
  free(ls);
}

void server_on_log_read(http_request *req, void *payload) {
  queue_server *s = payload;
  http_query_pair *pairs = NULL;
  size_t count = 0;
  queue_record *rec = NULL;
  uint64_t offset = 0;
  int error = 0;
  const char *id = log_call(&pairs, &count, s, req, "read");
  if (!id)
    return;
  const char *off = http_query_get(pairs, count, "offset");
  const char *follow = http_query_get(pairs, count, "follow");
  if (off && (server_parse_u64(&offset, off) < 0 || offset > INT64_MAX / 2)) {
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
    pthread_mutex_lock(&s->followers.mu);
    ls->handle = http_response_stream(resp);
    ls->next = s->followers.head;
    s->followers.head = ls;
    pthread_mutex_unlock(&s->followers.mu);
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
    server_respond_code(req, error);
  queue_record_free(rec);
  http_query_free(pairs, count);
}

/* GET /v1/jobs/ID/logs/times?offset=N: when each stretch of the log was
 * stored, {"chunks":[[start, at], …], "next": OFFSET|null} — the web UI's
 * line timestamps (a line gets the time of the chunk it starts in). */
void server_on_log_times(http_request *req, void *payload) {
  queue_server *s = payload;
  http_query_pair *pairs = NULL;
  size_t count = 0, n = 0;
  uint64_t offset = 0;
  queue_log_time *times = NULL;
  int error = 0;
  const char *id = log_call(&pairs, &count, s, req, "read");
  if (!id)
    return;
  const char *off = http_query_get(pairs, count, "offset");
  if (off && (server_parse_u64(&offset, off) < 0 || offset > INT64_MAX / 2)) {
    error = airgap_error_set(AIRGAP_EINVALID, "offset: must be a byte offset");
    goto cleanup;
  }
  if (!(times = calloc(LOG_TIMES_PAGE, sizeof(*times)))) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  if ((error = queue_store_log_times(times, &n, s->store, id, offset, LOG_TIMES_PAGE)) < 0)
    goto cleanup;
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < n; i++)
    json_array_append_new(arr,
                          json_pack("[I,I]", (json_int_t)times[i].start, (json_int_t)times[i].at));
  /* the next page starts after the last chunk listed: past its start */
  server_respond_json(req, 200,
                      json_pack("{s:o,s:o}", "chunks", arr ? arr : json_array(), "next",
                                n == LOG_TIMES_PAGE
                                    ? json_integer((json_int_t)times[n - 1].start + 1)
                                    : json_null()));
cleanup:
  if (error < 0)
    server_respond_code(req, error);
  free(times);
  http_query_free(pairs, count);
}
