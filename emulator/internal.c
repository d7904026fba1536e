/*
 * internal.c — LocalStack's own endpoints, with LocalStack's shapes, so that
 * fixtures and wait-for-ready scripts written for LocalStack work unchanged:
 *   GET|HEAD /_localstack/health   service states, edition, version
 *   POST     /_localstack/health   {"action":"kill"} stops, "restart" resets
 *   PUT      /_localstack/health   merges a JSON object into the reported state
 *   GET      /_localstack/info     version, session, uptime
 *   GET      /_localstack/init[/<stage>]  the init hooks and their states (init_hooks.c)
 *   POST     /_localstack/state/reset, /_localstack/state/<service>/reset
 *   POST     /moto-api/reset       moto's reset
 *   any      /_aws/<service>/…     the service's own endpoints (aws_service.internal_endpoint)
 */
#include "common/log.h"
#include "emulator/emulator_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The LocalStack release whose endpoint shapes we follow. */
#define LOCALSTACK_COMPAT_VERSION "4.0.0"
#define INTERNAL_MAX_BODY 65536

static void respond_json(http_request *req, int status, json_t *body) {
  http_request_respond(req, http_response_new_json(status, body));
}

static void respond_text(http_request *req, int status, const char *text) {
  http_request_respond(req, http_response_new(status, "text/plain", text, strlen(text)));
}

static json_t *health_body(emulator *emu) {
  json_t *services = json_object();
  for (size_t i = 0; i < emu->slot_count; i++) {
    service_slot *s = &emu->slots[i];
    const char *state = !s->enabled ? "disabled" : atomic_load(&s->used) ? "running" : "available";
    json_object_set_new(services, s->svc->name, json_string(state));
  }
  json_t *body = json_pack("{s:o, s:s, s:s}", "services", services, "edition", "community",
                           "version", LOCALSTACK_COMPAT_VERSION);
  pthread_mutex_lock(&emu->lock);
  json_t *merged = json_deep_copy(emu->health_state);
  pthread_mutex_unlock(&emu->lock);
  /* Reported services always win over merged state of the same name. */
  json_object_update_missing(body, merged);
  json_decref(merged);
  return body;
}

static json_t *body_json(http_request *req) {
  size_t len = 0;
  const char *body = http_request_body(req, &len);
  if (!body || len == 0 || len > INTERNAL_MAX_BODY)
    return NULL;
  return json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
}

static void stop_after_answer(void *payload) { emulator_request_stop(payload); }

static void health(emulator *emu, http_request *req, const char *method) {
  if (strcmp(method, "GET") == 0) {
    respond_json(req, 200, health_body(emu));
  } else if (strcmp(method, "HEAD") == 0) {
    http_request_respond(req, http_response_new(200, "application/json", "", 0));
  } else if (strcmp(method, "POST") == 0) {
    json_t *body = body_json(req);
    const char *action = json_string_value(json_object_get(body, "action"));
    if (!json_is_object(body)) {
      respond_text(req, 400, "invalid request");
    } else if (action && strcmp(action, "kill") == 0) {
      log_info("emulator", "stop requested through /_localstack/health");
      /* Stop once the 200 is written: stopping first could close the
       * connection before it goes out. */
      http_request_on_done(req, stop_after_answer, emu);
      respond_text(req, 200, "ok");
    } else if (action && strcmp(action, "restart") == 0) {
      emulator_reset(emu);
      respond_text(req, 200, "ok");
    } else {
      respond_text(req, 400, "unsupported action");
    }
    json_decref(body);
  } else if (strcmp(method, "PUT") == 0) {
    json_t *body = body_json(req);
    if (!json_is_object(body)) {
      respond_text(req, 400, "invalid request");
    } else {
      pthread_mutex_lock(&emu->lock);
      json_object_update(emu->health_state, body);
      pthread_mutex_unlock(&emu->lock);
      respond_text(req, 200, "ok");
    }
    json_decref(body);
  } else {
    http_request_respond_error(req, 405, "method not allowed");
  }
}

static void info(emulator *emu, http_request *req) {
  char now[32];
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%S", &tm);
  json_t *body = json_pack(
      "{s:s, s:s, s:b, s:s, s:s, s:s, s:b, s:s, s:I, s:s}", "version", LOCALSTACK_COMPAT_VERSION,
      "edition", "community", "is_license_activated", 0, "session_id", emu->session_id,
      "machine_id", "airgap", "system", "linux", "is_docker", 0, "server_time_utc", now, "uptime",
      (json_int_t)(t - emu->started), "airgap_version", AIRGAP_VERSION);
  respond_json(req, 200, body);
}

static void init(emulator *emu, http_request *req, const char *stage) {
  json_t *report = init_hooks_report(emu->hooks, stage && *stage ? stage : NULL);
  if (!report) {
    http_request_respond_error(req, 404, "unknown init stage");
    return;
  }
  respond_json(req, 200, report);
}

static void state_reset(emulator *emu, http_request *req, const char *service) {
  if (!service) {
    emulator_reset(emu);
    respond_json(req, 200, json_object());
    return;
  }
  service_slot *slot = emulator_slot(emu, service);
  if (!slot) {
    http_request_respond_error(req, 404, "unknown service");
    return;
  }
  if (slot->enabled && slot->state && slot->svc->reset)
    slot->svc->reset(slot->state);
  respond_json(req, 200, json_object());
}

/* /_aws/<service>/<rest>: handed to the service when it is served. */
static void service_endpoint(emulator *emu, http_request *req, const char *path) {
  const char *name = path + strlen("/_aws/");
  const char *slash = strchr(name, '/');
  char service[64];
  size_t len = slash ? (size_t)(slash - name) : strlen(name);
  if (len == 0 || len >= sizeof(service)) {
    http_request_respond_error(req, 404, "no such internal endpoint");
    return;
  }
  memcpy(service, name, len);
  service[len] = '\0';
  service_slot *slot = emulator_slot(emu, service);
  if (!slot || !slot->enabled || !slot->state || !slot->svc->internal_endpoint ||
      !slot->svc->internal_endpoint(slot->state, req, slash ? slash + 1 : ""))
    http_request_respond_error(req, 404, "no such internal endpoint");
}

int emulator_internal_handle(emulator *emu, http_request *req) {
  const char *path = http_request_path(req);
  const char *method = http_request_method(req);
  if (strncmp(path, "/_aws/", 6) == 0) {
    service_endpoint(emu, req, path);
    return 1;
  }
  if (strncmp(path, "/_localstack/", 13) != 0 && strncmp(path, "/moto-api/", 10) != 0)
    return 0;
  char service[64];
  if (strcmp(path, "/_localstack/health") == 0) {
    health(emu, req, method);
  } else if (strcmp(path, "/_localstack/info") == 0 && strcmp(method, "GET") == 0) {
    info(emu, req);
  } else if (strcmp(path, "/_localstack/init") == 0 && strcmp(method, "GET") == 0) {
    init(emu, req, NULL);
  } else if (strncmp(path, "/_localstack/init/", 18) == 0 && strcmp(method, "GET") == 0) {
    init(emu, req, path + 18);
  } else if (strcmp(path, "/_localstack/state/reset") == 0 && strcmp(method, "POST") == 0) {
    state_reset(emu, req, NULL);
  } else if (sscanf(path, "/_localstack/state/%63[a-z0-9-]/reset", service) == 1 &&
             strcmp(method, "POST") == 0 &&
             strlen(path) == strlen("/_localstack/state//reset") + strlen(service)) {
    state_reset(emu, req, service);
  } else if (strcmp(path, "/moto-api/reset") == 0 && strcmp(method, "POST") == 0) {
    emulator_reset(emu);
    respond_json(req, 200, json_pack("{s:s}", "status", "ok"));
  } else {
    http_request_respond_error(req, 404, "no such internal endpoint");
  }
  return 1;
}
