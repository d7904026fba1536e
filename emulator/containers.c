/*
 * containers.c — emulator_containers (containers.h): the dispatch, the direct
 * Docker implementation and the supervisor channel's client.
 *
 * Direct Docker speaks the Engine API over its unix socket as HTTP/1.0: the
 * engine then closes the connection after each answer and never chunks it,
 * so one bounded read to the end of the stream is the whole response. Every
 * container it creates carries the labels, network mode and limits it was
 * constructed with, whatever the spec says (the spec has no field for them).
 *
 * The channel client sends one JSON request per connection (containers.h)
 * and half-closes; the supervisor answers and closes. The answer's "code" is
 * the error code of common/error.h, so callers see the same codes through
 * either implementation.
 */
#include "common/codec.h"
#include "common/error.h"
#include "common/jsonutil.h"
#include "emulator/containers_int.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DOCKER_API "/v1.41"
#define DOCKER_TIMEOUT_MS 60000L
#define CHANNEL_TIMEOUT_MS 120000L
#define ANSWER_MAX (1024 * 1024)

/* ---- direct Docker ---- */

int containers_docker_exchange(int *status, char **body, size_t *body_len, docker_impl *d,
                               const char *method, const char *path, const char *type,
                               const void *data, size_t len) {
  int fd = -1;
  char *answer = NULL;
  size_t answer_len = 0;
  char head[1024];
  int n = snprintf(head, sizeof(head),
                   "%s " DOCKER_API "%s HTTP/1.0\r\nHost: docker\r\nContent-Type: %s\r\n"
                   "Content-Length: %zu\r\n\r\n",
                   method, path, type ? type : "application/json", len);
  if (n < 0 || (size_t)n >= sizeof(head))
    return airgap_error_set(AIRGAP_EINVALID, "request path too long");
  int error = containers_unix_connect(&fd, d->socket, DOCKER_TIMEOUT_MS);
  if (error == 0 && (error = containers_write_all(fd, head, (size_t)n)) == 0 && len)
    error = containers_write_all(fd, data, len);
  if (error == 0)
    error = containers_read_all(&answer, &answer_len, fd, ANSWER_MAX);
  if (fd >= 0)
    close(fd);
  if (error < 0)
    return error;
  int code = 0;
  char *end = strstr(answer, "\r\n\r\n");
  if (sscanf(answer, "HTTP/1.%*d %d", &code) != 1 || !end) {
    free(answer);
    return airgap_error_set(AIRGAP_ERROR, "the Docker engine at %s did not answer HTTP", d->socket);
  }
  *status = code;
  size_t blen = answer_len - (size_t)(end + 4 - answer);
  *body = malloc(blen + 1);
  if (*body) {
    memcpy(*body, end + 4, blen);
    (*body)[blen] = '\0';
    if (body_len)
      *body_len = blen;
  }
  free(answer);
  return *body ? 0 : airgap_error_set(AIRGAP_ERROR, "out of memory");
}

static int docker_exchange(int *status, char **body, docker_impl *d, const char *method,
                           const char *path, const char *type, const void *data, size_t len) {
  return containers_docker_exchange(status, body, NULL, d, method, path, type, data, len);
}

int containers_docker_failed(int status, const char *body, const char *what) {
  json_t *j = json_loads(body ? body : "", 0, NULL);
  const char *msg = jsonutil_string(j, "message");
  int code = status == 404 ? AIRGAP_ENOTFOUND : status == 400 ? AIRGAP_EINVALID : AIRGAP_ERROR;
  airgap_error_set(code, "%s: Docker answered %d: %s", what, status,
                   msg ? msg : (body && *body ? body : "(no message)"));
  json_decref(j);
  return code;
}

static int path_safe(const char *path) {
  if (!path || path[0] != '/' || strstr(path, ".."))
    return 0;
  for (const char *p = path; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          strchr("/_.-", *p)))
      return 0;
  return 1;
}

static int docker_act(emulator_containers *c, const char *op, const char *id);

static int docker_create(char **out, emulator_containers *c, const emulator_container_spec *spec) {
  docker_impl *d = (docker_impl *)c;
  json_t *env = json_array(), *config = NULL, *answer = NULL;
  char *text = NULL, *body = NULL, *id = NULL;
  int status = 0, error = 0;
  if (!spec->image || !*spec->image) {
    error = airgap_error_set(AIRGAP_EINVALID, "a function container needs an image");
    goto cleanup;
  }
  if (spec->code_tar && !path_safe(spec->code_dir)) {
    error = airgap_error_set(AIRGAP_EINVALID, "code directory '%s' is not a plain absolute path",
                             spec->code_dir ? spec->code_dir : "");
    goto cleanup;
  }
  if (spec->code_tar_len > EMULATOR_CONTAINERS_MAX_CODE) {
    error = airgap_error_set(AIRGAP_ETOOBIG, "the code archive is larger than %u bytes",
                             EMULATOR_CONTAINERS_MAX_CODE);
    goto cleanup;
  }
  for (size_t i = 0; env && i < spec->env_count; i++)
    json_array_append_new(env, json_string(spec->env[i]));
  json_t *host = json_pack("{s:s, s:[s], s:b}", "NetworkMode", d->network_mode, "SecurityOpt",
                           "no-new-privileges:true", "Privileged", 0);
  long long memory = d->memory;
  if (spec->memory > 0 && (memory <= 0 || spec->memory < memory))
    memory = spec->memory;
  if (host && memory > 0) {
    json_object_set_new(host, "Memory", json_integer(memory));
    json_object_set_new(host, "MemorySwap", json_integer(memory));
  }
  if (host && spec->tmpfs_mb > 0) {
    char opts[64];
    snprintf(opts, sizeof(opts), "rw,exec,size=%lldm", spec->tmpfs_mb);
    json_object_set_new(host, "Tmpfs", json_pack("{s:s}", "/tmp", opts));
  }
  json_t *labels = json_object();
  for (size_t i = 0; labels && i < spec->label_count; i++) {
    const char *eq = strchr(spec->labels[i], '=');
    if (!eq || eq == spec->labels[i] || eq - spec->labels[i] >= 128)
      continue;
    char key[128];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - spec->labels[i]), spec->labels[i]);
    json_object_set_new(labels, key, json_string(eq + 1));
  }
  if (labels)
    json_object_update(labels, d->labels);
  if (host && d->pids > 0)
    json_object_set_new(host, "PidsLimit", json_integer(d->pids));
  if (host && d->hosts_file) {
    char bind[PATH_MAX + 32];
    snprintf(bind, sizeof(bind), "%s:/etc/hosts:ro", d->hosts_file);
    json_object_set_new(host, "Binds", json_pack("[s]", bind));
  }
  config = json_pack("{s:s, s:o, s:o, s:o}", "Image", spec->image, "Env", env, "Labels", labels,
                     "HostConfig", host);
  env = NULL;
  if (config && spec->cmd) {
    json_t *cmd = json_array();
    for (size_t i = 0; i < spec->cmd_count; i++)
      json_array_append_new(cmd, json_string(spec->cmd[i]));
    json_object_set_new(config, "Cmd", cmd);
  }
  if (config && spec->entrypoint) {
    json_t *entry = json_array();
    for (size_t i = 0; i < spec->entrypoint_count; i++)
      json_array_append_new(entry, json_string(spec->entrypoint[i]));
    json_object_set_new(config, "Entrypoint", entry);
  }
  if (config && spec->working_dir)
    json_object_set_new(config, "WorkingDir", json_string(spec->working_dir));
  if (!config || !(text = json_dumps(config, JSON_COMPACT))) {
    error = airgap_error_set(AIRGAP_ERROR, "cannot build the container's configuration");
    goto cleanup;
  }
  if ((error = docker_exchange(&status, &body, d, "POST", "/containers/create", NULL, text,
                               strlen(text))) < 0)
    goto cleanup;
  if (status != 201) {
    error = containers_docker_failed(status, body, "creating a function container");
    goto cleanup;
  }
  answer = json_loads(body, 0, NULL);
  const char *got = jsonutil_string(answer, "Id");
  if (!containers_id_valid(got) || !(id = strdup(got))) {
    error = airgap_error_set(AIRGAP_ERROR, "Docker's answer to create has no container id");
    goto cleanup;
  }
  if (spec->code_tar) {
    char path[512];
    snprintf(path, sizeof(path), "/containers/%s/archive?path=%s", id, spec->code_dir);
    free(body);
    body = NULL;
    error = docker_exchange(&status, &body, d, "PUT", path, "application/x-tar", spec->code_tar,
                            spec->code_tar_len);
    if (error == 0 && status != 200)
      error =
          containers_docker_failed(status, body, "copying the code into the function container");
    if (error < 0) {
      char why[512];
      snprintf(why, sizeof(why), "%s", airgap_error_last());
      docker_act(c, "remove", id);
      error = airgap_error_set(error, "%s", why);
      goto cleanup;
    }
  }
  *out = id;
  id = NULL;
cleanup:
  json_decref(env);
  json_decref(config);
  json_decref(answer);
  free(text);
  free(body);
  free(id);
  return error;
}

static int docker_act(emulator_containers *c, const char *op, const char *id) {
  docker_impl *d = (docker_impl *)c;
  if (!containers_id_valid(id))
    return airgap_error_set(AIRGAP_EINVALID, "'%.80s' is not a container id", id ? id : "");
  char path[160];
  const char *method = "POST";
  if (strcmp(op, "start") == 0)
    snprintf(path, sizeof(path), "/containers/%s/start", id);
  else if (strcmp(op, "stop") == 0)
    snprintf(path, sizeof(path), "/containers/%s/stop?t=1", id);
  else if (strcmp(op, "remove") == 0) {
    snprintf(path, sizeof(path), "/containers/%s?force=1", id);
    method = "DELETE";
  } else
    return airgap_error_set(AIRGAP_EINVALID, "unknown container operation '%s'", op);
  int status = 0;
  char *body = NULL;
  int error = docker_exchange(&status, &body, d, method, path, NULL, NULL, 0);
  if (error == 0 && status / 100 != 2 && status != 304) {
    char what[96];
    snprintf(what, sizeof(what), "%s of container %.12s", op, id);
    error = containers_docker_failed(status, body, what);
  }
  free(body);
  return error;
}

static void docker_free(emulator_containers *c) {
  docker_impl *d = (docker_impl *)c;
  free(d->socket);
  free(d->network_mode);
  free(d->hosts_file);
  json_decref(d->labels);
  free(d);
}

/* The engine's log stream (not a TTY) is framed: 8-byte headers (stream,
 * 0, 0, 0, big-endian length) before each chunk. */
static int docker_logs(char **out, size_t *out_len, emulator_containers *c, const char *id,
                       unsigned long long since_ms, size_t limit) {
  docker_impl *d = (docker_impl *)c;
  if (!containers_id_valid(id))
    return airgap_error_set(AIRGAP_EINVALID, "'%.80s' is not a container id", id ? id : "");
  char path[256];
  snprintf(path, sizeof(path), "/containers/%s/logs?stdout=1&stderr=1&tail=1000&since=%llu.%03llu",
           id, since_ms / 1000, since_ms % 1000);
  int status = 0;
  char *body = NULL;
  size_t len = 0;
  int error = containers_docker_exchange(&status, &body, &len, d, "GET", path, NULL, NULL, 0);
  if (error == 0 && status != 200)
    error = containers_docker_failed(status, body, "reading a function container's output");
  if (error < 0) {
    free(body);
    return error;
  }
  size_t w = 0;
  for (size_t r = 0; r + 8 <= len;) {
    const unsigned char *h = (const unsigned char *)body + r;
    size_t n = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
    if (h[0] > 2 || n > len - r - 8)
      break;
    memmove(body + w, body + r + 8, n);
    w += n;
    r += 8 + n;
  }
  if (w > limit) {
    memmove(body, body + w - limit, limit);
    w = limit;
  }
  body[w] = '\0';
  *out = body;
  *out_len = w;
  return 0;
}

static int docker_list(json_t **out, emulator_containers *c, const char *label) {
  docker_impl *d = (docker_impl *)c;
  json_t *filters = json_pack("{s:[s]}", "label", label);
  char *text = filters ? json_dumps(filters, JSON_COMPACT) : NULL;
  json_decref(filters);
  if (!text)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  char path[1024] = "/containers/json?all=1&filters=";
  size_t at = strlen(path);
  for (const char *p = text; *p && at + 4 < sizeof(path); p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        strchr("-_.", *p))
      path[at++] = *p;
    else
      at += (size_t)snprintf(path + at, sizeof(path) - at, "%%%02X", (unsigned char)*p);
  }
  path[at] = '\0';
  free(text);
  int status = 0;
  char *body = NULL;
  int error = docker_exchange(&status, &body, d, "GET", path, NULL, NULL, 0);
  if (error == 0 && status != 200)
    error = containers_docker_failed(status, body, "listing containers");
  json_t *all = error == 0 ? json_loads(body, 0, NULL) : NULL;
  free(body);
  if (error < 0)
    return error;
  if (!json_is_array(all)) {
    json_decref(all);
    return airgap_error_set(AIRGAP_ERROR, "Docker's container list is not a JSON array");
  }
  json_t *list = json_array();
  size_t i;
  json_t *item;
  json_array_foreach(all, i, item) {
    json_t *labels = json_object_get(item, "Labels");
    json_array_append_new(list, json_pack("{s:O, s:o}", "Id", json_object_get(item, "Id"), "Labels",
                                          labels ? json_incref(labels) : json_object()));
  }
  json_decref(all);
  *out = list;
  return 0;
}

static const containers_ops DOCKER_OPS = {docker_create, docker_act, docker_free, docker_logs,
                                          docker_list};

int emulator_containers_docker_new(emulator_containers **out,
                                   const emulator_containers_docker_options *o) {
  const char *socket_path = o->socket;
  if (!socket_path) {
    const char *host = getenv("DOCKER_HOST");
    if (host && *host && strncmp(host, "unix://", 7) != 0)
      return airgap_error_set(AIRGAP_EINVALID,
                              "DOCKER_HOST=%s is not a unix:// socket (the only kind supported)",
                              host);
    socket_path = host && *host ? host + 7 : "/var/run/docker.sock";
  }
  docker_impl *d = calloc(1, sizeof(*d));
  if (!d)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  d->base.ops = &DOCKER_OPS;
  d->socket = strdup(socket_path);
  d->network_mode = strdup(o->network_mode ? o->network_mode : "none");
  d->labels = json_object();
  d->memory = o->memory;
  d->pids = o->pids;
  d->hosts_file = o->hosts_file ? strdup(o->hosts_file) : NULL;
  int error = d->socket && d->network_mode && d->labels && (d->hosts_file || !o->hosts_file)
                  ? 0
                  : AIRGAP_ERROR;
  for (size_t i = 0; error == 0 && i < o->label_count; i++) {
    const char *eq = strchr(o->labels[i], '=');
    if (!eq || eq == o->labels[i]) {
      error = airgap_error_set(AIRGAP_EINVALID, "label '%s' is not key=value", o->labels[i]);
      break;
    }
    char key[128];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - o->labels[i]), o->labels[i]);
    json_object_set_new(d->labels, key, json_string(eq + 1));
  }
  if (error == 0)
    json_object_set_new(d->labels, "airgap.role", json_string("function"));
  if (error < 0) {
    if (error == AIRGAP_ERROR)
      airgap_error_set(AIRGAP_ERROR, "out of memory");
    docker_free(&d->base);
    return error;
  }
  *out = &d->base;
  return 0;
}

/* ---- the supervisor channel ---- */

typedef struct channel_impl {
  emulator_containers base;
  char *socket;
} channel_impl;

/* Sends one request, reads the answer (owned) or the error it carries. */
static int channel_call(json_t **out, channel_impl *ch, const char *request) {
  int fd = -1;
  char *text = NULL;
  size_t len = 0;
  int error = containers_unix_connect(&fd, ch->socket, CHANNEL_TIMEOUT_MS);
  if (error == 0 && (error = containers_write_all(fd, request, strlen(request))) == 0) {
    shutdown(fd, SHUT_WR);
    error = containers_read_all(&text, &len, fd, ANSWER_MAX);
  }
  if (fd >= 0)
    close(fd);
  if (error < 0)
    return airgap_error_set(error, "the supervisor's container channel: %s", airgap_error_last());
  json_t *answer = json_loadb(text, len, 0, NULL);
  free(text);
  if (!json_is_object(answer)) {
    json_decref(answer);
    return airgap_error_set(AIRGAP_ERROR, "the supervisor's container channel answered no JSON");
  }
  const char *msg = jsonutil_string(answer, "error");
  if (msg) {
    json_int_t code = json_integer_value(json_object_get(answer, "code"));
    error = code < 0 && code >= AIRGAP_ECANCELED ? (int)code : AIRGAP_ERROR;
    airgap_error_set(error, "the supervisor refused: %s", msg);
    json_decref(answer);
    return error;
  }
  *out = answer;
  return 0;
}

/* Sends a request built with json_pack (NULL when that ran out of memory; taken either way). */
static int channel_call_json(json_t **out, channel_impl *ch, json_t *req) {
  char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
  json_decref(req);
  if (!text)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  int error = channel_call(out, ch, text);
  free(text);
  return error;
}

static int channel_create(char **out, emulator_containers *c, const emulator_container_spec *spec) {
  if (spec->code_tar_len > EMULATOR_CONTAINERS_MAX_CODE)
    return airgap_error_set(AIRGAP_ETOOBIG, "the code archive is larger than %u bytes",
                            EMULATOR_CONTAINERS_MAX_CODE);
  char *request = containers_request_encode(spec);
  if (!request)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  json_t *answer = NULL;
  int error = channel_call(&answer, (channel_impl *)c, request);
  free(request);
  if (error < 0)
    return error;
  const char *id = jsonutil_string(answer, "id");
  char *copy = containers_id_valid(id) ? strdup(id) : NULL;
  json_decref(answer);
  if (!copy)
    return airgap_error_set(AIRGAP_ERROR, "the supervisor's answer to create has no container id");
  *out = copy;
  return 0;
}

static int channel_act(emulator_containers *c, const char *op, const char *id) {
  json_t *answer = NULL;
  int error = channel_call_json(&answer, (channel_impl *)c,
                                json_pack("{s:s, s:s}", "op", op, "id", id ? id : ""));
  json_decref(answer);
  return error;
}

/* A function container's output, read by the supervisor (LogType=Tail). */
static int channel_logs(char **out, size_t *out_len, emulator_containers *c, const char *id,
                        unsigned long long since_ms, size_t limit) {
  if (limit > EMULATOR_CONTAINERS_MAX_CHANNEL_LOGS)
    limit = EMULATOR_CONTAINERS_MAX_CHANNEL_LOGS;
  json_t *answer = NULL;
  int error =
      channel_call_json(&answer, (channel_impl *)c,
                        json_pack("{s:s, s:s, s:I, s:I}", "op", "logs", "id", id ? id : "",
                                  "since_ms", (json_int_t)since_ms, "limit", (json_int_t)limit));
  if (error < 0)
    return error;
  const char *output = jsonutil_string(answer, "output");
  unsigned char *bytes = NULL;
  size_t len = 0;
  if (!output || codec_base64_decode(&bytes, &len, output, strlen(output)) < 0 || len > limit) {
    free(bytes);
    json_decref(answer);
    return airgap_error_set(AIRGAP_ERROR, "the supervisor's answer to logs has no output");
  }
  json_decref(answer);
  /* NUL-terminated, as the direct implementation's. */
  char *copy = realloc(bytes, len + 1);
  if (!copy) {
    free(bytes);
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  }
  copy[len] = '\0';
  *out = copy;
  *out_len = len;
  return 0;
}

static void channel_free(emulator_containers *c) {
  channel_impl *ch = (channel_impl *)c;
  free(ch->socket);
  free(ch);
}

static const containers_ops CHANNEL_OPS = {channel_create, channel_act, channel_free, channel_logs,
                                           NULL};

int emulator_containers_channel_new(emulator_containers **out, const char *socket_path) {
  channel_impl *ch = calloc(1, sizeof(*ch));
  if (!ch || !(ch->socket = strdup(socket_path))) {
    free(ch);
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  }
  ch->base.ops = &CHANNEL_OPS;
  *out = &ch->base;
  return 0;
}

/* ---- the interface ---- */

int emulator_containers_from_env(emulator_containers **out, const char *network_mode) {
  const char *channel = getenv(EMULATOR_CONTAINERS_CHANNEL_ENV);
  if (channel && *channel)
    return emulator_containers_channel_new(out, channel);
  emulator_containers_docker_options o = {.network_mode = network_mode};
  return emulator_containers_docker_new(out, &o);
}

int emulator_containers_create(char **out, emulator_containers *c,
                               const emulator_container_spec *spec) {
  return c->ops->create(out, c, spec);
}

int emulator_containers_start(emulator_containers *c, const char *id) {
  return c->ops->act(c, "start", id);
}

int emulator_containers_stop(emulator_containers *c, const char *id) {
  return c->ops->act(c, "stop", id);
}

int emulator_containers_remove(emulator_containers *c, const char *id) {
  return c->ops->act(c, "remove", id);
}

int emulator_containers_logs(char **out, size_t *out_len, emulator_containers *c, const char *id,
                             unsigned long long since_ms, size_t limit) {
  if (!c->ops->logs)
    return airgap_error_set(AIRGAP_EINVALID, "container output is not available through the "
                                             "supervisor's channel");
  return c->ops->logs(out, out_len, c, id, since_ms, limit);
}

int emulator_containers_list(json_t **out, emulator_containers *c, const char *label) {
  if (!c->ops->list)
    return airgap_error_set(AIRGAP_EINVALID, "containers cannot be listed through the "
                                             "supervisor's channel");
  return c->ops->list(out, c, label);
}

int emulator_containers_direct(const emulator_containers *c) { return c->ops == &DOCKER_OPS; }

void emulator_containers_free(emulator_containers *c) {
  if (c)
    c->ops->free(c);
}
