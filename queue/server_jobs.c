/*
 * server_jobs.c — the job endpoints: what clients call (submit, list, get,
 * cancel) and what the agent holding a job's lease calls (heartbeat,
 * complete, release). Leases themselves are taken in server_wait.c, logs in
 * server_logs.c.
 *
 * A spec is validated once, here at submission, and stored as the canonical
 * text queue_spec_to_json() makes of it; from then on it travels as that text
 * (see queue_record_json_text) and is parsed only where it is used.
 */
#include "queue/server_int.h"
#include "common/error.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

#define MAX_LIST_LIMIT 500u
#define DEFAULT_LIST_LIMIT 50u
#define MAX_REPO_FILTER 1024u
#define MAX_TEXT_FILTER 256u

/* Answers a call that changed a job with the job, after waking the
 * followers of its log (id is borrowed from req: wake them before answering). */
static void answer_changed(queue_server *s, http_request *req, const char *id,
                           const queue_record *rec) {
  server_logs_notify(s, id);
  server_respond_record(req, 200, rec, 0);
  server_events_changed(s);
}

/* The submitted job is committed: waiting leases and the UI's event stream
 * may see it now (its submitter's answer still waits for the disk). */
static void job_committed(void *payload) {
  queue_server *s = payload;
  server_events_changed(s);
  server_waiters_dispatch(s);
}

void server_on_submit(http_request *req, void *payload) {
  queue_server *s = payload;
  queue_spec *spec = NULL;
  queue_spec_error err;
  queue_record *rec = NULL;
  char *canonical = NULL;
  char id[QUEUE_JOB_ID_LEN + 1];
  size_t len = 0;
  if (server_authorize(s, req, "client") < 0)
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
    server_respond_json(req, 400, o);
    return;
  }
  if ((error = queue_spec_to_json(&canonical, spec, 0)) < 0 || (error = queue_job_id_new(id)) < 0)
    goto cleanup;
  /* Acknowledged only once the insert is durable (see store_int.h), by the
   * flusher; a waiting lease is answered at the commit, while the disk
   * flushes. */
  queue_store_defer_begin();
  error = queue_store_job_insert_then(s->store, id, canonical, (const char *const *)spec->labels,
                                      spec->label_count, queue_now_ms(), job_committed, s);
  uint64_t ticket = queue_store_defer_end();
  if (error < 0)
    goto cleanup;
  error = queue_store_job_get(&rec, s->store, id);
  if (error < 0)
    goto cleanup;
  server_metrics_add(s, COUNT_SUBMITTED, 1);
  http_response *resp = server_record_response(201, rec, 0);
  if (!resp) {
    error = -1;
    goto cleanup;
  }
  server_respond_durable(s, req, resp, ticket, NULL);
  req = NULL;
cleanup:
  if (error < 0 && req)
    server_respond_code(req, error);
  queue_record_free(rec);
  free(canonical);
  queue_spec_free(spec);
}

/* The listing's filters from the query string; answers nothing itself. */
static int list_filter(queue_job_filter *f, const http_query_pair *pairs, size_t count) {
  uint64_t limit = DEFAULT_LIST_LIMIT, before = 0;
  const char *lim = http_query_get(pairs, count, "limit");
  const char *bef = http_query_get(pairs, count, "before");
  f->state = http_query_get(pairs, count, "state");
  f->label = http_query_get(pairs, count, "label");
  f->repo = http_query_get(pairs, count, "repo");
  f->text = http_query_get(pairs, count, "q");
  /* an empty filter is no filter: what a form with nothing typed sends */
  if (f->state && !*f->state)
    f->state = NULL;
  if (f->label && !*f->label)
    f->label = NULL;
  if (f->repo && !*f->repo)
    f->repo = NULL;
  if (f->text && !*f->text)
    f->text = NULL;
  if (f->state && !queue_state_valid(f->state))
    return airgap_error_set(AIRGAP_EINVALID,
                            "state must be queued, running, passed, failed, errored or canceled");
  if (f->label && !server_name_ok(f->label, QUEUE_MAX_LABEL, "._:=-"))
    return airgap_error_set(AIRGAP_EINVALID, "label must be 1 to %d characters of [A-Za-z0-9._:=-]",
                            QUEUE_MAX_LABEL);
  if (f->repo && strlen(f->repo) > MAX_REPO_FILTER)
    return airgap_error_set(AIRGAP_EINVALID, "repo must be at most %u bytes", MAX_REPO_FILTER);
  if (f->text && strlen(f->text) > MAX_TEXT_FILTER)
    return airgap_error_set(AIRGAP_EINVALID, "q must be at most %u bytes", MAX_TEXT_FILTER);
  if (lim && (server_parse_u64(&limit, lim) < 0 || limit == 0 || limit > MAX_LIST_LIMIT))
    return airgap_error_set(AIRGAP_EINVALID, "limit must be an integer in [1, %u]", MAX_LIST_LIMIT);
  if (bef && (server_parse_u64(&before, bef) < 0 || before > INT64_MAX))
    return airgap_error_set(AIRGAP_EINVALID, "before must be a cursor from a previous page");
  f->limit = (unsigned)limit;
  f->before = (int64_t)before;
  return 0;
}

void server_on_list(http_request *req, void *payload) {
  queue_server *s = payload;
  http_query_pair *pairs = NULL;
  size_t count = 0, n = 0;
  queue_record **recs = NULL;
  queue_job_filter f;
  memset(&f, 0, sizeof(f));
  if (server_authorize(s, req, "read") < 0)
    return;
  const char *q = http_request_query(req);
  int error = http_query_parse(&pairs, &count, q, strlen(q), MAX_QUERY_PAIRS);
  if (error < 0 || (error = list_filter(&f, pairs, count)) < 0 ||
      (error = queue_store_job_find(&recs, &n, s->store, &f)) < 0)
    goto cleanup;
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < n; i++)
    json_array_append_new(arr, queue_record_json(recs[i], 1));
  json_t *o = json_pack("{s:o,s:o}", "jobs", arr ? arr : json_array(), "next",
                        n == f.limit && n > 0 ? json_integer(recs[n - 1]->seq) : json_null());
  server_respond_json(req, 200, o);
cleanup:
  if (error < 0)
    server_respond_code(req, error);
  queue_record_list_free(recs, n);
  http_query_free(pairs, count);
}

void server_on_get(http_request *req, void *payload) {
  queue_server *s = payload;
  queue_record *rec = NULL;
  if (server_authorize(s, req, "read") < 0)
    return;
  const char *id = server_path_job_id(req);
  if (!id)
    return;
  int error = queue_store_job_get(&rec, s->store, id);
  if (error < 0)
    server_respond_code(req, error);
  else
    server_respond_record(req, 200, rec, 0);
  queue_record_free(rec);
}

void server_on_cancel(http_request *req, void *payload) {
  queue_server *s = payload;
  queue_record *rec = NULL;
  if (server_authorize(s, req, "client") < 0)
    return;
  const char *id = server_path_job_id(req);
  if (!id)
    return;
  int error = queue_store_job_cancel(&rec, s->store, id, queue_now_ms());
  if (error < 0) {
    server_respond_code(req, error);
    return;
  }
  log_info("queue", "job %s: cancel requested (%s)", id, rec->job.state);
  answer_changed(s, req, id, rec);
  queue_record_free(rec);
}

/* A new job with the spec of a finished one, linked both ways (retry_of on
 * the new job, retried_by on the old), like a retry in GitLab or Buildkite. */
void server_on_retry(http_request *req, void *payload) {
  queue_server *s = payload;
  queue_record *rec = NULL;
  char new_id[QUEUE_JOB_ID_LEN + 1];
  if (server_authorize(s, req, "client") < 0)
    return;
  const char *id = server_path_job_id(req);
  if (!id)
    return;
  int error = queue_job_id_new(new_id);
  if (error == 0)
    error = queue_store_job_retry(&rec, s->store, id, new_id, queue_now_ms());
  if (error < 0) {
    server_respond_code(req, error);
    return;
  }
  log_info("queue", "job %s retried as %s", id, new_id);
  server_metrics_add(s, COUNT_SUBMITTED, 1);
  server_logs_notify(s, id);
  server_respond_record(req, 201, rec, 0);
  queue_record_free(rec);
  server_events_changed(s);
  server_waiters_dispatch(s);
}

/* ---- the agent's calls on a leased job ---- */

/* The start every call of the lease holder shares: an agent token, the job id
 * in the path, a JSON body carrying the lease. Returns the body (owned) and
 * sets *out_id and *out_lease (borrowed from req and the body); NULL when it
 * has answered the request itself. */
static json_t *lease_call(const char **out_id, const char **out_lease, queue_server *s,
                          http_request *req) {
  json_t *o = NULL;
  if (server_authorize(s, req, "agent") < 0)
    return NULL;
  const char *id = server_path_job_id(req);
  if (!id || !(o = server_body_object(req)))
    return NULL;
  json_t *l = json_object_get(o, "lease");
  if (!json_is_string(l) || json_string_length(l) != 2 * LEASE_ID_BYTES) {
    http_request_respond_error(req, 400, "lease: must be the lease id from the lease answer");
    json_decref(o);
    return NULL;
  }
  *out_id = id;
  *out_lease = json_string_value(l);
  return o;
}

/* A short word of [A-Za-z0-9_-]: what the agent may give as a reason. */
static int reason_ok(json_t *reason) {
  return json_is_string(reason) && server_name_ok(json_string_value(reason), MAX_REASON, "_-");
}

void server_on_heartbeat(http_request *req, void *payload) {
  queue_server *s = payload;
  const char *id = NULL, *lease = NULL;
  int cancel = 0;
  json_t *o = lease_call(&id, &lease, s, req);
  if (!o)
    return;
  int error = queue_store_heartbeat(&cancel, s->store, id, lease,
                                    queue_now_ms() + (int64_t)s->lease_ttl * 1000);
  if (error < 0)
    server_respond_code(req, error);
  else {
    /* the agent is alive even when all its slots are busy and it polls no lease */
    if (queue_store_agent_touch(s->store, id, queue_now_ms()) < 0)
      log_warn("queue", "job %s: cannot refresh its agent: %s", id, airgap_error_last());
    server_respond_json(req, 200,
                        json_pack("{s:b,s:i}", "cancel", cancel, "lease_ttl", (int)s->lease_ttl));
  }
  json_decref(o);
}

void server_on_complete(http_request *req, void *payload) {
  queue_server *s = payload;
  const char *id = NULL, *lease = NULL;
  queue_record *rec = NULL;
  json_t *o = lease_call(&id, &lease, s, req);
  if (!o)
    return;
  json_t *status = json_object_get(o, "status");
  json_t *reason = json_object_get(o, "reason");
  json_t *code = json_object_get(o, "exit_code");
  const char *msg = NULL;
  if (!json_is_string(status) || !queue_state_is_final(json_string_value(status)))
    msg = "status: must be passed, failed, errored or canceled";
  else if (reason && !json_is_null(reason) && !reason_ok(reason))
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
  /* Acknowledged (and shown to followers) once durable, by the flusher. */
  queue_store_defer_begin();
  int error =
      queue_store_complete(&rec, s->store, id, lease, json_string_value(status),
                           json_is_string(reason) ? json_string_value(reason) : NULL, has_code,
                           has_code ? (int)json_integer_value(code) : 0, queue_now_ms());
  uint64_t ticket = queue_store_defer_end();
  http_response *resp = error < 0 ? NULL : server_record_response(200, rec, 0);
  if (error < 0)
    server_respond_code(req, error);
  else if (!resp)
    http_request_respond_error(req, 500, airgap_error_last());
  else {
    log_info("queue", "job %s %s", id, rec->job.state);
    server_respond_durable(s, req, resp, ticket, id);
  }
cleanup:
  queue_record_free(rec);
  json_decref(o);
}

/* Handing a job back: the agent hit a temporary failure (Docker or the git
 * remote unreachable). A requeued job goes to the parked lease requests at
 * once rather than waiting for a lease to expire. */
void server_on_release(http_request *req, void *payload) {
  queue_server *s = payload;
  const char *id = NULL, *lease = NULL;
  queue_record *rec = NULL;
  json_t *o = lease_call(&id, &lease, s, req);
  if (!o)
    return;
  json_t *reason = json_object_get(o, "reason");
  if (!reason_ok(reason)) {
    http_request_respond_error(req, 400,
                               "reason: must be a short word of [A-Za-z0-9_-] (e.g. git, docker)");
    goto cleanup;
  }
  int error = queue_store_release(&rec, s->store, id, lease, json_string_value(reason),
                                  s->max_attempts, queue_now_ms());
  if (error < 0) {
    server_respond_code(req, error);
    goto cleanup;
  }
  log_info("queue", "job %s handed back (%s): %s", id, json_string_value(reason), rec->job.state);
  server_metrics_add(s, COUNT_RELEASED, 1);
  answer_changed(s, req, id, rec);
  if (strcmp(rec->job.state, "queued") == 0)
    server_waiters_dispatch(s);
cleanup:
  queue_record_free(rec);
  json_decref(o);
}
