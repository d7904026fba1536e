/*
 * client.c — the queue's HTTP client, used by the agent and the CLI.
 *
 * A thin layer over common/http_client: it builds URLs (job ids are checked
 * before they go into a path), adds the bearer token, maps HTTP statuses to
 * airgap's error codes with the server's message, and parses jobs. Following a
 * log reconnects from the last byte received when the server drops an idle
 * stream, until the job has ended and every byte was read.
 *
 * Several servers (`http://a:8470,http://b:8470`, all on one database) make
 * the client fail over: a request that cannot reach its server, or that the
 * server answers 502/503/504 (its database is down), goes to the next one,
 * and the server that answered is tried first from then on. A request that
 * may have reached a server is sent again elsewhere only when repeating it is
 * harmless (everything but submit: leases, heartbeats, log chunks and
 * completions are checked against the lease and the log offset).
 */
#include "queue/queue_int.h"
#include "common/error.h"
#include "common/http_client.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CALL_TIMEOUT_MS 30000L
#define MAX_URL 4096
#define FOLLOW_RETRIES 30
#define MAX_SERVERS 16

struct queue_client {
  char *bases[MAX_SERVERS]; /* without a trailing slash */
  size_t base_count;
  _Atomic size_t current; /* the server that answered last */
  char *auth;             /* "Authorization: Bearer …" or NULL */
  unsigned slots;         /* told to the queue's agent registry with each lease request (0: not) */
};

void queue_client_set_slots(queue_client *c, unsigned slots) { c->slots = slots; }

/* Splits "URL[,URL…]" into c->bases. */
static int parse_servers(queue_client *c, const char *urls) {
  const char *p = urls;
  for (;;) {
    size_t len = strcspn(p, ",");
    while (len > 0 && p[len - 1] == '/')
      len--;
    if (len <= 7 || strncmp(p, "http://", 7) != 0 || len > 1024 || memchr(p, ' ', len))
      return airgap_error_set(AIRGAP_EINVALID,
                              "queue URL must look like http://HOST:PORT, several separated by "
                              "commas (got '%s')",
                              urls);
    if (c->base_count == MAX_SERVERS)
      return airgap_error_set(AIRGAP_EINVALID, "more than %d queue URLs in '%s'", MAX_SERVERS,
                              urls);
    if (!(c->bases[c->base_count] = strndup(p, len)))
      return airgap_error_set(AIRGAP_ERROR, "out of memory");
    c->base_count++;
    p += strcspn(p, ",");
    if (!*p)
      return 0;
    p++;
  }
}

int queue_client_new(queue_client **out, const char *url, const char *token) {
  if (!url || strlen(url) > 16 * 1024)
    return airgap_error_set(AIRGAP_EINVALID, "queue URL must look like http://HOST:PORT (got '%s')",
                            url ? url : "");
  if (token && (strlen(token) > 512 || strpbrk(token, "\r\n")))
    return airgap_error_set(AIRGAP_EINVALID, "malformed token");
  queue_client *c = calloc(1, sizeof(*c));
  if (!c)
    goto oom;
  int error = parse_servers(c, url);
  if (error < 0) {
    queue_client_free(c);
    return error;
  }
  if (token) {
    size_t len = strlen(token) + sizeof("Authorization: Bearer ");
    if (!(c->auth = malloc(len)))
      goto oom;
    snprintf(c->auth, len, "Authorization: Bearer %s", token);
  }
  *out = c;
  return 0;
oom:
  queue_client_free(c);
  return airgap_error_set(AIRGAP_ERROR, "out of memory");
}

void queue_client_free(queue_client *c) {
  if (!c)
    return;
  for (size_t i = 0; i < c->base_count; i++)
    free(c->bases[i]);
  free(c->auth);
  free(c);
}

/* The path of a request ("/v1/jobs/…"); call() puts a server in front. */
static int make_path(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int make_path(char *out, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(out, size, fmt, ap);
  va_end(ap);
  if (m < 0 || (size_t)m >= size)
    return airgap_error_set(AIRGAP_EINVALID, "queue URL too long");
  return 0;
}

/* server + path into out; the caller's buffer is MAX_URL + 1024. */
static void server_url(char *out, size_t size, const queue_client *c, size_t server,
                       const char *path) {
  snprintf(out, size, "%s%s", c->bases[server], path);
}

/* What a server behind a proxy, or without its database, answers. */
static int unavailable(long status) { return status == 502 || status == 503 || status == 504; }

/* Whether a failed request goes on to the next server. */
static int should_fail_over(const queue_client *c, int error, const http_client_response *resp,
                            int repeatable) {
  if (c->base_count < 2)
    return 0;
  if (error == 0)
    return unavailable(resp->status);
  if (resp->unreached)
    return 1;
  return repeatable && (error == AIRGAP_ERROR || error == AIRGAP_ETIMEOUT);
}

/* Turns a non-2xx answer into an error code with the server's message. */
static int status_error(long status, const char *body, const char *url) {
  const char *msg = NULL;
  json_t *o = body ? json_loads(body, 0, NULL) : NULL;
  if (json_is_string(json_object_get(o, "error")))
    msg = json_string_value(json_object_get(o, "error"));
  int code = AIRGAP_ERROR;
  if (status == 401 || status == 403)
    code = AIRGAP_EAUTH;
  else if (status == 404)
    code = AIRGAP_ENOTFOUND;
  else if (status == 400 || status == 413)
    code = AIRGAP_EINVALID;
  else if (status == 409)
    code = AIRGAP_EBUSY;
  if (code == AIRGAP_EAUTH)
    airgap_error_set(code, "queue refused the token (HTTP %ld: %s): check AIRGAP_TOKEN / --token",
                     status, msg ? msg : "unauthorized");
  else
    airgap_error_set(code, "%s: HTTP %ld: %s", url, status, msg ? msg : "unexpected answer");
  json_decref(o);
  return code;
}

/* Sends a request to path, failing over between servers (see the top);
 * *out_json gets the parsed JSON answer (NULL for none). */
static int call(json_t **out_json, long *out_status, queue_client *c, const char *method,
                const char *path, const char *content_type, const void *body, size_t len,
                const char *extra_header, long timeout_ms) {
  char url[MAX_URL + 1024];
  int repeatable = !(strcmp(method, "POST") == 0 && strcmp(path, "/v1/jobs") == 0);
  char ctype[128];
  const char *headers[4];
  size_t h = 0;
  if (c->auth)
    headers[h++] = c->auth;
  if (content_type) {
    snprintf(ctype, sizeof(ctype), "Content-Type: %s", content_type);
    headers[h++] = ctype;
  }
  if (extra_header)
    headers[h++] = extra_header;
  headers[h] = NULL;
  http_client_request req = {
      .method = method,
      .url = url,
      .headers = headers,
      .body = body,
      .body_len = len,
      .timeout_ms = timeout_ms,
  };
  http_client_response resp;
  size_t server = c->current;
  int error;
  for (size_t tried = 1;; tried++) {
    server_url(url, sizeof(url), c, server, path);
    error = http_client_send(&resp, &req);
    if (tried == c->base_count || !should_fail_over(c, error, &resp, repeatable))
      break;
    size_t next = (server + 1) % c->base_count;
    if (error < 0)
      log_warn("queue", "%s; trying %s", airgap_error_last(), c->bases[next]);
    else
      log_warn("queue", "%s %s: HTTP %ld (unavailable); trying %s", method, url, resp.status,
               c->bases[next]);
    http_client_response_free(&resp);
    server = next;
  }
  if (error < 0)
    return error;
  if (!unavailable(resp.status))
    c->current = server;
  json_t *o = NULL;
  if (resp.status >= 200 && resp.status < 300 && resp.status != 204 && resp.body_len > 0) {
    o = json_loadb(resp.body, resp.body_len, 0, NULL);
    if (!o) {
      error = airgap_error_set(AIRGAP_EINVALID, "%s: the answer is not JSON", url);
      goto cleanup;
    }
  } else if (resp.status == 409 && resp.body) {
    o = json_loads(resp.body, 0, NULL); /* the log append's offset */
  }
  if ((resp.status < 200 || resp.status >= 300) && resp.status != 409) {
    error = status_error(resp.status, resp.body, url);
    goto cleanup;
  }
  if (resp.status == 409) {
    status_error(resp.status, resp.body, url);
    error = AIRGAP_EBUSY;
  }
  *out_status = resp.status;
  *out_json = o;
  o = NULL;
cleanup:
  json_decref(o);
  http_client_response_free(&resp);
  return error;
}

static int check_id(const char *id) {
  if (!queue_job_id_valid(id))
    return airgap_error_set(AIRGAP_ENOTFOUND, "no job '%s' (job ids are 16 hex digits)",
                            id ? id : "");
  return 0;
}

int queue_client_submit(char **out, queue_client *c, const char *spec_json, size_t len) {
  char url[MAX_URL];
  json_t *o = NULL;
  long status = 0;
  int error = make_path(url, sizeof(url), "/v1/jobs");
  if (error < 0)
    return error;
  error =
      call(&o, &status, c, "POST", url, "application/json", spec_json, len, NULL, CALL_TIMEOUT_MS);
  if (error < 0) {
    json_decref(o);
    return error;
  }
  json_t *id = json_object_get(o, "id");
  if (!json_is_string(id)) {
    json_decref(o);
    return airgap_error_set(AIRGAP_EINVALID, "%s: the answer carries no job id", url);
  }
  *out = strdup(json_string_value(id));
  json_decref(o);
  return *out ? 0 : airgap_error_set(AIRGAP_ERROR, "out of memory");
}

static int job_call(queue_job **out, queue_client *c, const char *method, const char *url,
                    const char *body) {
  json_t *o = NULL;
  long status = 0;
  int error = call(&o, &status, c, method, url, body ? "application/json" : NULL, body,
                   body ? strlen(body) : 0, NULL, CALL_TIMEOUT_MS);
  if (error < 0) {
    json_decref(o);
    return error;
  }
  queue_job *job = NULL;
  error = queue_job_from_json(&job, o);
  json_decref(o);
  if (error < 0)
    return error;
  if (out)
    *out = job;
  else
    queue_job_free(job);
  return 0;
}

int queue_client_get(queue_job **out, queue_client *c, const char *id) {
  char url[MAX_URL];
  int error = check_id(id);
  if (error < 0 || (error = make_path(url, sizeof(url), "/v1/jobs/%s", id)) < 0)
    return error;
  return job_call(out, c, "GET", url, NULL);
}

int queue_client_cancel(queue_job **out, queue_client *c, const char *id) {
  char url[MAX_URL];
  int error = check_id(id);
  if (error < 0 || (error = make_path(url, sizeof(url), "/v1/jobs/%s/cancel", id)) < 0)
    return error;
  return job_call(out, c, "POST", url, "{}");
}

int queue_client_list(queue_job ***out, size_t *out_count, int64_t *out_next, queue_client *c,
                      const char *state, unsigned limit, int64_t before) {
  char url[MAX_URL];
  json_t *o = NULL;
  queue_job **jobs = NULL;
  size_t n = 0;
  long status = 0;
  if (state && strspn(state, "abcdefghijklmnopqrstuvwxyz") != strlen(state))
    return airgap_error_set(AIRGAP_EINVALID, "bad state '%s'", state);
  int error = make_path(url, sizeof(url), "/v1/jobs?limit=%u%s%s&before=%lld", limit ? limit : 50,
                        state ? "&state=" : "", state ? state : "", (long long)before);
  if (error < 0)
    return error;
  error = call(&o, &status, c, "GET", url, NULL, NULL, 0, NULL, CALL_TIMEOUT_MS);
  if (error < 0)
    goto cleanup;
  json_t *arr = json_object_get(o, "jobs");
  if (!json_is_array(arr)) {
    error = airgap_error_set(AIRGAP_EINVALID, "%s: the answer has no job list", url);
    goto cleanup;
  }
  jobs = calloc(json_array_size(arr) + 1, sizeof(*jobs));
  if (!jobs) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  for (; n < json_array_size(arr); n++)
    if ((error = queue_job_from_json(&jobs[n], json_array_get(arr, n))) < 0)
      goto cleanup;
  json_t *next = json_object_get(o, "next");
  *out_next = json_is_integer(next) ? json_integer_value(next) : 0;
  *out = jobs;
  *out_count = n;
  jobs = NULL;
cleanup:
  queue_job_list_free(jobs, n);
  json_decref(o);
  return error;
}

int queue_client_lease(queue_job **out, queue_client *c, const char *agent,
                       const char *const *labels, size_t label_count, unsigned wait) {
  char url[MAX_URL];
  json_t *o = NULL, *body = NULL, *arr = json_array();
  char *text = NULL;
  long status = 0;
  int error = make_path(url, sizeof(url), "/v1/leases");
  if (error < 0)
    goto cleanup;
  for (size_t i = 0; arr && i < label_count; i++)
    json_array_append_new(arr, json_string(labels[i]));
  /* version and slots: what the queue's agent registry shows (the web UI) */
  body = json_pack("{s:s,s:O,s:i,s:s}", "agent", agent ? agent : "", "labels", arr, "wait",
                   (int)wait, "version", AIRGAP_VERSION);
  if (body && c->slots)
    json_object_set_new(body, "slots", json_integer(c->slots));
  text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  if (!text) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  error = call(&o, &status, c, "POST", url, "application/json", text, strlen(text), NULL,
               (long)(wait + 30) * 1000);
  if (error < 0)
    goto cleanup;
  if (status == 204 || !o) {
    *out = NULL;
    goto cleanup;
  }
  error = queue_job_from_json(out, o);
cleanup:
  free(text);
  json_decref(body);
  json_decref(arr);
  json_decref(o);
  return error;
}

int queue_client_heartbeat(int *out_cancel, queue_client *c, const char *id, const char *lease) {
  char url[MAX_URL];
  json_t *o = NULL, *body = NULL;
  char *text = NULL;
  long status = 0;
  int error = check_id(id);
  if (error < 0 || (error = make_path(url, sizeof(url), "/v1/jobs/%s/heartbeat", id)) < 0)
    return error;
  body = json_pack("{s:s}", "lease", lease ? lease : "");
  text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  if (!text) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  error = call(&o, &status, c, "POST", url, "application/json", text, strlen(text), NULL,
               CALL_TIMEOUT_MS);
  if (error < 0)
    goto cleanup;
  *out_cancel = json_is_true(json_object_get(o, "cancel"));
cleanup:
  free(text);
  json_decref(body);
  json_decref(o);
  return error;
}

int queue_client_log_append(uint64_t *out, queue_client *c, const char *id, const char *lease,
                            uint64_t offset, const void *data, size_t len) {
  char url[MAX_URL], header[96];
  json_t *o = NULL;
  long status = 0;
  int error = check_id(id);
  if (error < 0 || (error = make_path(url, sizeof(url), "/v1/jobs/%s/logs?offset=%llu", id,
                                      (unsigned long long)offset)) < 0)
    return error;
  if (!lease || strlen(lease) > 64 || strpbrk(lease, "\r\n"))
    return airgap_error_set(AIRGAP_EINVALID, "malformed lease id");
  snprintf(header, sizeof(header), "X-Airgap-Lease: %s", lease);
  error = call(&o, &status, c, "POST", url, "application/octet-stream", data ? data : "", len,
               header, CALL_TIMEOUT_MS);
  json_t *off = json_object_get(o, "offset");
  if (error == AIRGAP_EBUSY && json_is_integer(off)) {
    *out = (uint64_t)json_integer_value(off);
    error = airgap_error_set(AIRGAP_EINVALID,
                             "log offset %llu is ahead of the queue's %llu; resend from there",
                             (unsigned long long)offset, (unsigned long long)*out);
  } else if (error == 0) {
    if (!json_is_integer(off))
      error = airgap_error_set(AIRGAP_EINVALID, "%s: the answer carries no offset", url);
    else
      *out = (uint64_t)json_integer_value(off);
  }
  json_decref(o);
  return error;
}

typedef struct follow_state {
  int (*on_data)(const char *data, size_t len, void *payload);
  void *payload;
  uint64_t received;
  int stopped;
} follow_state;

static int follow_data(const char *data, size_t len, void *payload) {
  follow_state *f = payload;
  f->received += len;
  if (f->on_data(data, len, f->payload) != 0) {
    f->stopped = 1;
    return 1;
  }
  return 0;
}

int queue_client_log_read(queue_client *c, const char *id, uint64_t offset, int follow,
                          int (*on_data)(const char *data, size_t len, void *payload),
                          void *payload) {
  char path[MAX_URL], url[MAX_URL + 1024];
  follow_state f = {on_data, payload, 0, 0};
  int error = check_id(id), failures = 0;
  if (error < 0)
    return error;
  for (;;) {
    if ((error = make_path(path, sizeof(path), "/v1/jobs/%s/logs?offset=%llu%s", id,
                           (unsigned long long)(offset + f.received), follow ? "&follow=1" : "")) <
        0)
      return error;
    size_t server = c->current;
    server_url(url, sizeof(url), c, server, path);
    const char *headers[] = {c->auth, NULL};
    http_client_request req = {
        .url = url,
        .headers = c->auth ? headers : NULL,
        .timeout_ms = follow ? 0 : CALL_TIMEOUT_MS,
        .on_data = follow_data,
        .payload = &f,
    };
    http_client_response resp;
    uint64_t before = f.received;
    error = http_client_send(&resp, &req);
    if (f.stopped)
      return airgap_error_set(AIRGAP_ECANCELED, "stopped reading the log");
    int over = should_fail_over(c, error, &resp, 1);
    if (over && c->current == server)
      c->current = (server + 1) % c->base_count; /* reconnect through the next server */
    if (error == 0) {
      long status = resp.status;
      http_client_response_free(&resp);
      if (status != 200 && !over)
        return status_error(status, NULL, url);
    }
    if (!follow)
      return error;
    /* The stream ended or broke: done only if the job ended and we have it all. */
    queue_job *job = NULL;
    int gerr = queue_client_get(&job, c, id);
    if (gerr == AIRGAP_EAUTH || gerr == AIRGAP_ENOTFOUND)
      return gerr;
    if (gerr == 0) {
      int done = queue_state_is_final(job->state) && offset + f.received >= job->log_size;
      queue_job_free(job);
      if (done)
        return 0;
    }
    failures = (error < 0 || gerr < 0) && f.received == before ? failures + 1 : 0;
    if (failures > FOLLOW_RETRIES)
      return error < 0 ? error : gerr;
    if (failures)
      sleep(1);
  }
}

/* POSTs body (taken) to /v1/jobs/ID/action and reads the job answered. */
static int job_post(queue_client *c, const char *id, const char *action, json_t *body) {
  char url[MAX_URL];
  char *text = NULL;
  int error = check_id(id);
  if (error < 0 || (error = make_path(url, sizeof(url), "/v1/jobs/%s/%s", id, action)) < 0)
    goto cleanup;
  text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  if (!text) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  error = job_call(NULL, c, "POST", url, text);
cleanup:
  free(text);
  json_decref(body);
  return error;
}

int queue_client_complete(queue_client *c, const char *id, const char *lease, const char *status,
                          const char *reason, int exit_code) {
  json_t *body =
      json_pack("{s:s,s:s}", "lease", lease ? lease : "", "status", status ? status : "");
  if (body && reason)
    json_object_set_new(body, "reason", json_string(reason));
  if (body && exit_code >= 0)
    json_object_set_new(body, "exit_code", json_integer(exit_code));
  return job_post(c, id, "complete", body);
}

int queue_client_release(queue_client *c, const char *id, const char *lease, const char *reason) {
  if (!reason || !reason[0])
    return airgap_error_set(AIRGAP_EINVALID, "releasing job %s needs a reason", id ? id : "");
  return job_post(c, id, "release",
                  json_pack("{s:s,s:s}", "lease", lease ? lease : "", "reason", reason));
}
