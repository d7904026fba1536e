/*
 * docker.c — Docker Engine API client over a unix socket (see docker.h).
 *
 * Every call is one HTTP request through common/http_client to
 * "http://localhost/v<version>/…" on the engine's socket. The version starts
 * pinned at 1.41 — what docker.io 20.10 (Debian 12) serves and what podman's
 * compatible API announces — and the first request pings the engine and
 * lowers it if the engine is older, the way the docker CLI negotiates.
 *
 * Images are pulled and imported through POST /images/create, whose answer is
 * a progress stream of JSON lines that can report a failure after a 200
 * status; both calls read it to the end and turn an "error" line into an
 * error carrying the engine's words.
 *
 * Logs are in docker_logs.c, archives in docker_archive.c; what they share
 * with this file is in docker_int.h.
 */
#include "common/docker.h"
#include "common/docker_int.h"
#include "common/error.h"
#include "common/http_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sys/un.h>
#include <sys/socket.h>

int docker_client_new(docker_client **out, const char *host) {
  const char *where = host ? host : getenv("DOCKER_HOST");
  const char *path = DOCKER_DEFAULT_SOCKET;
  if (where && where[0]) {
    if (strncmp(where, "unix://", 7) == 0)
      path = where + 7;
    else if (where[0] == '/')
      path = where;
    else
      return airgap_error_set(AIRGAP_EINVALID,
                              "docker host '%s' is not supported: use a unix socket "
                              "(DOCKER_HOST=unix:///var/run/docker.sock)",
                              where);
  }
  if (path[0] != '/' || strlen(path) >= 108)
    return airgap_error_set(AIRGAP_EINVALID,
                            "docker socket '%s' must be an absolute path shorter than 108 bytes",
                            path);
  docker_client *c = calloc(1, sizeof(*c));
  if (!c || !(c->socket = strdup(path))) {
    free(c);
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  }
  c->timeout_ms = DOCKER_DEFAULT_TIMEOUT_MS;
  pthread_mutex_init(&c->lock, NULL);
  snprintf(c->version, sizeof(c->version), "%d.%d", DOCKER_PINNED_MAJOR, DOCKER_PINNED_MINOR);
  *out = c;
  return 0;
}

void docker_client_free(docker_client *client) {
  if (!client)
    return;
  pthread_mutex_destroy(&client->lock);
  free(client->socket);
  free(client);
}

const char *docker_client_socket(const docker_client *client) { return client->socket; }

void docker_client_timeout_set(docker_client *client, long timeout_ms) {
  client->timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
}

/* ---- requests ---- */

int docker_check_ref(const char *what, const char *ref) {
  size_t len = ref ? strlen(ref) : 0;
  if (len == 0 || len > DOCKER_REF_MAX)
    return airgap_error_set(AIRGAP_EINVALID, "docker: %s is empty or longer than %d bytes", what,
                            DOCKER_REF_MAX);
  for (size_t i = 0; i < len; i++) {
    char ch = ref[i];
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '.' || ch == '_' || ch == '-' || ch == ':' || ch == '/' || ch == '@';
    if (!ok)
      return airgap_error_set(AIRGAP_EINVALID, "docker: %s '%s' contains an invalid character",
                              what, ref);
  }
  if (ref[0] == '/' || ref[0] == '.' || strstr(ref, ".."))
    return airgap_error_set(AIRGAP_EINVALID, "docker: %s '%s' is not a valid reference", what, ref);
  return 0;
}

char *docker_escape(const char *value) { return curl_easy_escape(NULL, value, 0); }

/* The engine explains failures as {"message": "..."}; podman too. */
static const char *engine_message(const http_client_response *resp) {
  static _Thread_local char text[512];
  json_t *body = resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
  const char *msg = json_string_value(json_object_get(body, "message"));
  if (msg)
    snprintf(text, sizeof(text), "%s", msg);
  else
    snprintf(text, sizeof(text), "%.200s", resp->body ? resp->body : "");
  json_decref(body);
  return text;
}

int docker_engine_error(const http_client_response *resp, int code, const char *method,
                        const char *path) {
  return airgap_error_set(code, "docker: %s %s: HTTP %ld: %s", method, path, resp->status,
                          engine_message(resp));
}

/* Why nothing answers at path, found the way the kernel sees it: no socket,
 * not a socket, permission denied (with the owner and mode), nothing
 * listening. Returns -1 with the message, or 0 when the socket accepts
 * connections (the engine then answered wrongly; the caller's message says how). */
static int explain_socket(const char *path) {
  struct stat st;
  if (stat(path, &st) < 0)
    return airgap_error_set_errno(AIRGAP_ERROR,
                                  "cannot reach the Docker engine: no socket at %s (is dockerd "
                                  "running? DOCKER_HOST=unix:///path/to.sock selects another)",
                                  path);
  if (!S_ISSOCK(st.st_mode))
    return airgap_error_set(AIRGAP_ERROR,
                            "cannot reach the Docker engine: %s is not a socket; DOCKER_HOST "
                            "must name the engine's unix socket (unix:///var/run/docker.sock)",
                            path);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(addr.sun_path))
    return 0; /* docker_client_new refuses such paths already */
  memcpy(addr.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  int rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
  int err = errno;
  close(fd);
  if (rc == 0)
    return 0;
  if (err == EACCES || err == EPERM)
    return airgap_error_set(AIRGAP_ERROR,
                            "cannot reach the Docker engine: permission denied on %s (owner uid "
                            "%u, group gid %u, mode %03o); run airgap as root, or as a member of "
                            "the socket's group",
                            path, (unsigned)st.st_uid, (unsigned)st.st_gid,
                            (unsigned)(st.st_mode & 0777));
  if (err == ECONNREFUSED)
    return airgap_error_set(AIRGAP_ERROR,
                            "cannot reach the Docker engine: nothing listens on %s (the socket "
                            "of an engine that is no longer running?); start dockerd",
                            path);
  errno = err;
  return airgap_error_set_errno(AIRGAP_ERROR, "cannot reach the Docker engine at %s", path);
}

static int negotiate(docker_client *c);
static int simple_call(docker_client *client, const char *method, const char *path,
                       int ok_conflict);

int docker_call_raw(http_client_response *out, docker_client *c, const docker_call *call,
                    int versioned) {
  if (versioned) {
    int error = negotiate(c);
    if (error < 0)
      return error;
  }
  char url[DOCKER_URL_MAX];
  int n = versioned ? snprintf(url, sizeof(url), "http://localhost/v%s%s", c->version, call->path)
                    : snprintf(url, sizeof(url), "http://localhost%s", call->path);
  if (n < 0 || (size_t)n >= sizeof(url))
    return airgap_error_set(AIRGAP_ETOOBIG, "docker: request path too long: %.80s…", call->path);
  char content_type[128];
  const char *headers[2] = {NULL, NULL};
  if (call->content_type) {
    snprintf(content_type, sizeof(content_type), "Content-Type: %s", call->content_type);
    headers[0] = content_type;
  }
  http_client_request req = {
      .method = call->method,
      .url = url,
      .unix_socket = c->socket,
      .headers = headers,
      .body = call->body,
      .body_len = call->body_len,
      .timeout_ms = call->timeout_ms < 0 ? c->timeout_ms : call->timeout_ms,
      .on_data = call->on_data,
      .payload = call->payload,
  };
  int error = http_client_send(out, &req);
  if (error == AIRGAP_ERROR && explain_socket(c->socket) == 0)
    return airgap_error_set(AIRGAP_ERROR, "the Docker engine at %s did not answer: %s", c->socket,
                            airgap_error_last());
  return error;
}

/* A request with an optional JSON body whose reply, if any, is parsed as JSON
 * into *out_json (owned; may be NULL). */
static int call_json(json_t **out_json, long *out_status, http_client_response *out_resp,
                     docker_client *c, const char *method, const char *path, json_t *body,
                     long timeout_ms) {
  char *text = NULL;
  if (body && !(text = json_dumps(body, JSON_COMPACT)))
    return airgap_error_set(AIRGAP_EINVALID, "docker: %s %s: cannot serialize the body", method,
                            path);
  docker_call call = {.method = method,
                      .path = path,
                      .content_type = text ? "application/json" : NULL,
                      .body = text,
                      .body_len = text ? strlen(text) : 0,
                      .timeout_ms = timeout_ms};
  http_client_response resp = {0};
  int error = docker_call_raw(&resp, c, &call, 1);
  free(text);
  if (error < 0)
    return error;
  json_t *parsed = NULL;
  if (out_json && resp.status < 300 && resp.body_len > 0) {
    json_error_t jerr;
    parsed = json_loadb(resp.body, resp.body_len, 0, &jerr);
    if (!parsed) {
      error = airgap_error_set(AIRGAP_EINVALID, "docker: %s %s: reply is not JSON (%s): %.120s",
                               method, path, jerr.text, resp.body);
      http_client_response_free(&resp);
      return error;
    }
  }
  if (out_json)
    *out_json = parsed;
  *out_status = resp.status;
  *out_resp = resp;
  return 0;
}

static int negotiate(docker_client *c) {
  int error = 0;
  pthread_mutex_lock(&c->lock);
  if (c->negotiated)
    goto cleanup;
  docker_call call = {.method = "GET", .path = "/_ping", .timeout_ms = -1};
  http_client_response resp = {0};
  error = docker_call_raw(&resp, c, &call, 0);
  if (error < 0)
    goto cleanup;
  if (resp.status != 200) {
    error = docker_engine_error(&resp, AIRGAP_ERROR, "GET", "/_ping");
    http_client_response_free(&resp);
    goto cleanup;
  }
  const char *announced = json_string_value(json_object_get(resp.headers, "api-version"));
  unsigned major = 0, minor = 0;
  if (announced && sscanf(announced, "%u.%u", &major, &minor) == 2 &&
      major == DOCKER_PINNED_MAJOR && minor < DOCKER_PINNED_MINOR && minor >= 24)
    snprintf(c->version, sizeof(c->version), "%u.%u", major, minor);
  http_client_response_free(&resp);
  c->negotiated = 1;

cleanup:
  pthread_mutex_unlock(&c->lock);
  return error;
}

int docker_ping(docker_client *client) { return negotiate(client); }

const char *docker_api_version(docker_client *client) { return client->version; }

/* GET path answered with a JSON object (inspect calls); 404 is AIRGAP_ENOTFOUND. */
static int get_object(json_t **out, docker_client *client, const char *path) {
  json_t *reply = NULL;
  long status = 0;
  http_client_response resp = {0};
  int error = call_json(&reply, &status, &resp, client, "GET", path, NULL, -1);
  if (error < 0)
    return error;
  if (status == 200 && json_is_object(reply)) {
    *out = reply;
    reply = NULL;
  } else if (status == 404) {
    error = docker_engine_error(&resp, AIRGAP_ENOTFOUND, "GET", path);
  } else {
    error = docker_engine_error(&resp, AIRGAP_ERROR, "GET", path);
  }
  json_decref(reply);
  http_client_response_free(&resp);
  return error;
}

/* ---- images ---- */

int docker_image_inspect(json_t **out, docker_client *client, const char *image) {
  int error = docker_check_ref("image name", image);
  if (error < 0)
    return error;
  char path[DOCKER_REF_MAX + 32];
  snprintf(path, sizeof(path), "/images/%s/json", image);
  return get_object(out, client, path);
}

/* Splits a checked reference into repository and tag: "registry:5000/name:tag"
 * → ("registry:5000/name", "tag"); no tag → "latest"; a digest
 * ("name@sha256:…") stays in the repository and there is no tag (NULL).
 * repo has room for DOCKER_REF_MAX + 1 bytes. */
static void split_ref(char *repo, const char **tag, const char *ref) {
  snprintf(repo, DOCKER_REF_MAX + 1, "%s", ref);
  *tag = "latest";
  if (strchr(repo, '@')) {
    *tag = NULL;
    return;
  }
  char *slash = strrchr(repo, '/');
  char *colon = strrchr(repo, ':');
  if (colon && (!slash || colon > slash)) {
    *colon = '\0';
    *tag = colon + 1;
  }
}

/* The pull's progress stream: one JSON object per line, parsed with a bounded
 * line buffer. A failure shows up as {"error": …} in a 200 answer, or as the
 * usual {"message": …} body of an error status (which also arrives here,
 * because the body is streamed). */
typedef struct pull_stream {
  docker_progress_fn fn;
  void *payload;
  char line[DOCKER_PULL_LINE_MAX];
  size_t len;
  int overlong;
  int canceled;
  char error[512];   /* the first "error" of the stream */
  char message[512]; /* the body of an error status */
} pull_stream;

static int pull_line(pull_stream *p) {
  json_t *msg = json_loadb(p->line, p->len, 0, NULL);
  const char *error = json_string_value(json_object_get(msg, "error"));
  const char *message = json_string_value(json_object_get(msg, "message"));
  const char *status = json_string_value(json_object_get(msg, "status"));
  const char *id = json_string_value(json_object_get(msg, "id"));
  int stop = 0;
  if (!msg) {
    if (!p->message[0])
      snprintf(p->message, sizeof(p->message), "%.*s", (int)(p->len < 200 ? p->len : 200), p->line);
  } else if (error) {
    if (!p->error[0])
      snprintf(p->error, sizeof(p->error), "%s", error);
  } else if (message) {
    if (!p->message[0])
      snprintf(p->message, sizeof(p->message), "%s", message);
  } else if (status && p->fn) {
    char text[640];
    snprintf(text, sizeof(text), "%s%s%s", id ? id : "", id ? ": " : "", status);
    if (p->fn(text, p->payload) != 0)
      p->canceled = stop = 1;
  }
  json_decref(msg);
  return stop;
}

static int pull_data(const char *data, size_t len, void *payload) {
  pull_stream *p = payload;
  for (size_t i = 0; i < len; i++) {
    if (data[i] == '\n') {
      int stop = !p->overlong && p->len && pull_line(p);
      p->len = 0;
      p->overlong = 0;
      if (stop)
        return 1;
    } else if (p->len < sizeof(p->line)) {
      p->line[p->len++] = data[i];
    } else {
      p->overlong = 1; /* progress bars can be long: skipped, never grown */
    }
  }
  return 0;
}

int docker_image_pull(docker_client *client, const char *image, docker_progress_fn progress,
                      void *payload) {
  char repo[DOCKER_REF_MAX + 1];
  const char *tag = NULL;
  char *q_repo = NULL, *q_tag = NULL;
  pull_stream *p = NULL;
  http_client_response resp = {0};
  char path[DOCKER_URL_MAX];
  int error = docker_check_ref("image name", image);
  if (error < 0)
    return error;
  split_ref(repo, &tag, image);
  if (!repo[0] || (tag && !tag[0]))
    return airgap_error_set(AIRGAP_EINVALID, "docker: image name '%s' is not a valid reference",
                            image);
  p = calloc(1, sizeof(*p));
  q_repo = docker_escape(repo);
  q_tag = tag ? docker_escape(tag) : NULL;
  if (!p || !q_repo || (tag && !q_tag)) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  p->fn = progress;
  p->payload = payload;
  snprintf(path, sizeof(path), "/images/create?fromImage=%s%s%s", q_repo, q_tag ? "&tag=" : "",
           q_tag ? q_tag : "");
  docker_call call = {.method = "POST",
                      .path = path,
                      .timeout_ms = DOCKER_PULL_TIMEOUT_MS,
                      .on_data = pull_data,
                      .payload = p};
  error = docker_call_raw(&resp, client, &call, 1);
  if (error == AIRGAP_ECANCELED && p->canceled) {
    error = airgap_error_set(AIRGAP_ECANCELED, "docker: pull of %s stopped on request", image);
    goto cleanup;
  }
  if (error == AIRGAP_ETIMEOUT) {
    error = airgap_error_set(AIRGAP_ETIMEOUT, "docker: pull of %s took longer than %ld minutes",
                             image, DOCKER_PULL_TIMEOUT_MS / 60000);
    goto cleanup;
  }
  if (error < 0)
    goto cleanup;
  if (p->len && !p->overlong && pull_line(p)) {
    error = airgap_error_set(AIRGAP_ECANCELED, "docker: pull of %s stopped on request", image);
    goto cleanup;
  }
  if (resp.status == 200 && !p->error[0])
    goto cleanup;
  const char *why = p->error[0] ? p->error : p->message[0] ? p->message : "no explanation given";
  if (resp.status == 404)
    error = airgap_error_set(AIRGAP_ENOTFOUND,
                             "docker: cannot pull image %s: %s (check the name and that the "
                             "registry has it)",
                             image, why);
  else if (resp.status == 200)
    error = airgap_error_set(AIRGAP_ERROR, "docker: pulling image %s failed: %s", image, why);
  else
    error = airgap_error_set(AIRGAP_ERROR,
                             "docker: cannot pull image %s: HTTP %ld: %s (is the registry "
                             "reachable from the Docker engine?)",
                             image, resp.status, why);

cleanup:
  http_client_response_free(&resp);
  curl_free(q_repo);
  curl_free(q_tag);
  free(p);
  return error;
}

int docker_image_import(docker_client *client, const char *image, const void *tar, size_t len) {
  char repo[DOCKER_REF_MAX + 1];
  const char *tag = NULL;
  char *q_repo = NULL, *q_tag = NULL;
  http_client_response resp = {0};
  char path[DOCKER_URL_MAX];
  int error = docker_check_ref("image name", image);
  if (error < 0)
    return error;
  split_ref(repo, &tag, image);
  if (!tag || !tag[0] || !repo[0])
    return airgap_error_set(AIRGAP_EINVALID,
                            "docker: cannot import as '%s': give a name and optional tag, "
                            "not a digest",
                            image);
  if (len > DOCKER_ARCHIVE_MAX)
    return airgap_error_set(AIRGAP_ETOOBIG, "docker: image archive larger than %llu bytes",
                            (unsigned long long)DOCKER_ARCHIVE_MAX);
  q_repo = docker_escape(repo);
  q_tag = docker_escape(tag);
  if (!q_repo || !q_tag) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  snprintf(path, sizeof(path), "/images/create?fromSrc=-&repo=%s&tag=%s", q_repo, q_tag);
  docker_call call = {.method = "POST",
                      .path = path,
                      .content_type = "application/x-tar",
                      .body = tar ? tar : "",
                      .body_len = tar ? len : 0,
                      .timeout_ms = DOCKER_PULL_TIMEOUT_MS};
  if ((error = docker_call_raw(&resp, client, &call, 1)) < 0)
    goto cleanup;
  if (resp.status != 200) {
    error = docker_engine_error(&resp, resp.status == 400 ? AIRGAP_EINVALID : AIRGAP_ERROR, "POST",
                                path);
    goto cleanup;
  }
  /* A 200 answer is a progress stream that may still end in {"error": …}. */
  for (const char *line = resp.body; line && *line;) {
    const char *end = memchr(line, '\n', resp.body_len - (size_t)(line - resp.body));
    size_t n = end ? (size_t)(end - line) : strlen(line);
    json_t *msg = json_loadb(line, n, 0, NULL);
    const char *why = json_string_value(json_object_get(msg, "error"));
    if (why)
      error = airgap_error_set(AIRGAP_ERROR, "docker: importing image %s failed: %s", image, why);
    json_decref(msg);
    if (error < 0)
      break;
    line = end ? end + 1 : NULL;
  }

cleanup:
  http_client_response_free(&resp);
  curl_free(q_repo);
  curl_free(q_tag);
  return error;
}

int docker_image_remove(docker_client *client, const char *image, int force) {
  int error = docker_check_ref("image name", image);
  if (error < 0)
    return error;
  char path[DOCKER_REF_MAX + 32];
  snprintf(path, sizeof(path), "/images/%s?force=%d", image, force ? 1 : 0);
  return simple_call(client, "DELETE", path, 0);
}

/* ---- containers ---- */

int docker_container_create(char **out, docker_client *client, const char *name, json_t *config) {
  int error = 0;
  char *escaped = NULL;
  if (!json_is_object(config))
    return airgap_error_set(AIRGAP_EINVALID, "docker: container config must be a JSON object");
  char path[DOCKER_REF_MAX * 3 + 64] = "/containers/create";
  if (name) {
    if ((error = docker_check_ref("container name", name)) < 0)
      return error;
    if (!(escaped = docker_escape(name)))
      return airgap_error_set(AIRGAP_ERROR, "out of memory");
    snprintf(path, sizeof(path), "/containers/create?name=%s", escaped);
    curl_free(escaped);
  }
  json_t *reply = NULL;
  long status = 0;
  http_client_response resp = {0};
  error = call_json(&reply, &status, &resp, client, "POST", path, config, -1);
  if (error < 0)
    return error;
  const char *id = json_string_value(json_object_get(reply, "Id"));
  if (status == 201 && id) {
    char *copy = strdup(id);
    if (!copy)
      error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    else
      *out = copy;
  } else if (status == 404) {
    error = docker_engine_error(&resp, AIRGAP_ENOTFOUND, "POST", path);
  } else if (status == 409) {
    error = docker_engine_error(&resp, AIRGAP_EEXISTS, "POST", path);
  } else if (status == 400) {
    error = docker_engine_error(&resp, AIRGAP_EINVALID, "POST", path);
  } else {
    error = docker_engine_error(&resp, AIRGAP_ERROR, "POST", path);
  }
  json_decref(reply);
  http_client_response_free(&resp);
  return error;
}

/* A bodiless POST/DELETE whose success statuses are given; 404 → ENOTFOUND,
 * ok_conflict: 409 counts as success. */
static int simple_call(docker_client *client, const char *method, const char *path,
                       int ok_conflict) {
  long status = 0;
  http_client_response resp = {0};
  int error = call_json(NULL, &status, &resp, client, method, path, NULL, -1);
  if (error < 0)
    return error;
  if (status == 200 || status == 204 || status == 304 || (ok_conflict && status == 409))
    error = 0;
  else if (status == 404)
    error = docker_engine_error(&resp, AIRGAP_ENOTFOUND, method, path);
  else if (status == 409)
    error = docker_engine_error(&resp, AIRGAP_EBUSY, method, path);
  else
    error = docker_engine_error(&resp, AIRGAP_ERROR, method, path);
  http_client_response_free(&resp);
  return error;
}

int docker_container_start(docker_client *client, const char *id) {
  int error = docker_check_ref("container id", id);
  if (error < 0)
    return error;
  char path[DOCKER_REF_MAX + 32];
  snprintf(path, sizeof(path), "/containers/%s/start", id);
  return simple_call(client, "POST", path, 0);
}

int docker_container_kill(docker_client *client, const char *id, const char *signal) {
  int error = docker_check_ref("container id", id);
  if (error < 0)
    return error;
  const char *sig = signal ? signal : "SIGKILL";
  for (const char *p = sig; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) || p - sig > 16)
      return airgap_error_set(AIRGAP_EINVALID, "docker: bad signal name '%s'", sig);
  char path[DOCKER_REF_MAX + 64];
  snprintf(path, sizeof(path), "/containers/%s/kill?signal=%s", id, sig);
  return simple_call(client, "POST", path, 1);
}

int docker_container_remove(docker_client *client, const char *id, int force) {
  int error = docker_check_ref("container id", id);
  if (error < 0)
    return error;
  char path[DOCKER_REF_MAX + 64];
  snprintf(path, sizeof(path), "/containers/%s?v=1&force=%d", id, force ? 1 : 0);
  return simple_call(client, "DELETE", path, 0);
}

int docker_container_inspect(json_t **out, docker_client *client, const char *id) {
  int error = docker_check_ref("container id", id);
  if (error < 0)
    return error;
  char path[DOCKER_REF_MAX + 32];
  snprintf(path, sizeof(path), "/containers/%s/json", id);
  return get_object(out, client, path);
}

int docker_container_wait(int *out, docker_client *client, const char *id, long timeout_ms) {
  int error = docker_check_ref("container id", id);
  if (error < 0)
    return error;
  char path[DOCKER_REF_MAX + 64];
  snprintf(path, sizeof(path), "/containers/%s/wait?condition=not-running", id);
  json_t *reply = NULL;
  long status = 0;
  http_client_response resp = {0};
  error = call_json(&reply, &status, &resp, client, "POST", path, NULL,
                    timeout_ms > 0 ? timeout_ms : 0);
  if (error < 0)
    return error;
  json_t *code = json_object_get(reply, "StatusCode");
  const char *wait_error =
      json_string_value(json_object_get(json_object_get(reply, "Error"), "Message"));
  if (status == 200 && json_is_integer(code) && !(wait_error && wait_error[0])) {
    *out = (int)json_integer_value(code);
  } else if (status == 200) {
    error = airgap_error_set(AIRGAP_ERROR, "docker: waiting for container %s failed: %s", id,
                             wait_error ? wait_error : "no exit code in the reply");
  } else if (status == 404) {
    error = docker_engine_error(&resp, AIRGAP_ENOTFOUND, "POST", path);
  } else {
    error = docker_engine_error(&resp, AIRGAP_ERROR, "POST", path);
  }
  json_decref(reply);
  http_client_response_free(&resp);
  return error;
}

int docker_container_list(json_t **out, docker_client *client, const char *label) {
  int error = 0;
  char path[2048] = "/containers/json?all=1";
  if (label) {
    json_t *filters = json_pack("{s:[s]}", "label", label);
    char *text = filters ? json_dumps(filters, JSON_COMPACT) : NULL;
    char *escaped = text ? docker_escape(text) : NULL;
    json_decref(filters);
    free(text);
    if (!escaped)
      return airgap_error_set(AIRGAP_EINVALID, "docker: cannot encode the label filter '%.80s'",
                              label);
    int n = snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", escaped);
    curl_free(escaped);
    if (n < 0 || (size_t)n >= sizeof(path))
      return airgap_error_set(AIRGAP_ETOOBIG, "docker: label filter too long");
  }
  json_t *reply = NULL;
  long status = 0;
  http_client_response resp = {0};
  error = call_json(&reply, &status, &resp, client, "GET", path, NULL, -1);
  if (error < 0)
    return error;
  if (status == 200 && json_is_array(reply)) {
    *out = reply;
    reply = NULL;
  } else {
    error = docker_engine_error(&resp, status == 400 ? AIRGAP_EINVALID : AIRGAP_ERROR, "GET", path);
  }
  json_decref(reply);
  http_client_response_free(&resp);
  return error;
}
