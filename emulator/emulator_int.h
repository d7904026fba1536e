/*
 * emulator_int.h — private to the core: the emulator instance shared by
 * emulator.c (life cycle), gateway.c (routing and calls), internal.c
 * (LocalStack's endpoints) and timer.c. Services and everything outside
 * emulator/ use service.h (or emulator.h) instead.
 */
#ifndef AIRGAP_EMULATOR_EMULATOR_INT_H
#define AIRGAP_EMULATOR_EMULATOR_INT_H

#include "common/http_server.h"
#include "emulator/emulator.h"
#include "emulator/init_hooks_int.h"
#include "emulator/services_int.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

typedef struct service_slot {
  const aws_service *svc;
  int enabled;
  void *state;
  atomic_int used; /* a request reached it: health says "running" */
} service_slot;

typedef struct emulator_timers emulator_timers;

struct emulator {
  http_server *server;
  http_server *extra[EMULATOR_MAX_EXTRA_LISTENERS]; /* emulator_listen_fd; under lock */
  size_t extra_count;
  service_slot *slots;
  size_t slot_count;
  emulator_timers *timers;
  int stop_pipe[2];
  atomic_int stopping;  /* shutting down: new AWS calls are refused */
  pthread_mutex_t lock; /* guards health_state and credentials */
  json_t *health_state; /* merged by PUT /_localstack/health */
  char *hostname;       /* fallback "host:port" for URLs */
  char *data_dir;       /* private: spilled bodies, service data (emulator.c) */
  int work_lock;        /* flock()ed while the emulator lives; -1 before */
  json_t *credentials;  /* issued access key → identity, secret, …(service.h); under lock */
  init_hooks *hooks;    /* NULL when no init hooks folder was given */
  uint16_t port;
  time_t started;
  atomic_uint_fast64_t requests;
  char session_id[37];
  int s3_verify_signatures; /* emulator_options; set at start, read-only after */
  int s3_enforce_access;
  unsigned threads; /* emulator_options.threads, for later listeners */
};

/* gateway.c: the HTTP handler for everything the emulator serves. */
void emulator_gateway_handle(http_request *req, void *payload);
/* gateway.c: the checks of a request's headers before its body is read. */
void emulator_gateway_early(http_request *req, void *payload);
/* internal.c: answers /_localstack/… and /moto-api/…; returns 1 when it did. */
int emulator_internal_handle(emulator *emu, http_request *req);
/* The slot of a service by name, NULL when this build has no such service. */
service_slot *emulator_slot(emulator *emu, const char *name);

/* emulator.c: records that an issued key was just used (service, region),
 * which IAM reports (GetAccessKeyLastUsed: the identity's LastUsed member). */
void emulator_credentials_used(emulator *emu, const char *access_key, const char *service,
                               const char *region);

/* timer.c */
int emulator_timers_start(emulator_timers **out);
void emulator_timers_stop(emulator_timers *timers);

#endif
