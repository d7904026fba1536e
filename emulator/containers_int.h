/*
 * containers_int.h — private to emulator/containers*.c: the table of the two
 * implementations of emulator_containers, and the unix-socket helpers both
 * use (no libcurl: see containers.h).
 */
#ifndef AIRGAP_EMULATOR_CONTAINERS_INT_H
#define AIRGAP_EMULATOR_CONTAINERS_INT_H

#include "emulator/containers.h"

#include <jansson.h>
#include <stddef.h>

typedef struct containers_ops {
  int (*create)(char **out, emulator_containers *c, const emulator_container_spec *spec);
  /* op: "start", "stop" or "remove" */
  int (*act)(emulator_containers *c, const char *op, const char *id);
  void (*free)(emulator_containers *c);
  /* NULL: not supported by this implementation */
  int (*logs)(char **out, size_t *out_len, emulator_containers *c, const char *id,
              unsigned long long since_ms, size_t limit);
  int (*list)(json_t **out, emulator_containers *c, const char *label);
} containers_ops;

struct emulator_containers {
  const containers_ops *ops;
};

/* The direct Docker implementation (containers.c). network_mode may be
 * changed (containers_place.c) before the first create, never after. */
typedef struct docker_impl {
  emulator_containers base;
  char *socket;
  char *network_mode;
  json_t *labels;
  long long memory;
  long long pids;
  char *hosts_file; /* bound read-only at /etc/hosts, or NULL */
} docker_impl;

/* One Engine API request as HTTP/1.0 on d's socket: *status and the answer's
 * body (owned, NUL-terminated; its length in *body_len when not NULL). type
 * NULL: application/json. */
int containers_docker_exchange(int *status, char **body, size_t *body_len, docker_impl *d,
                               const char *method, const char *path, const char *type,
                               const void *data, size_t len);

/* An answer outside 2xx as an error naming the request (what) and the
 * engine's message: AIRGAP_ENOTFOUND (404), AIRGAP_EINVALID (400), -1. */
int containers_docker_failed(int status, const char *body, const char *what);

/* Connects to a unix socket: a path, or "@name" for an abstract one. *out
 * owned (close). The connection gets send and receive timeouts of timeout_ms. */
int containers_unix_connect(int *out, const char *path, long timeout_ms);

/* Writes everything; -1 with a message on failure. */
int containers_write_all(int fd, const void *data, size_t len);

/* Reads to end of stream into *out (owned, NUL-terminated), at most limit
 * bytes: AIRGAP_ETOOBIG past it. */
int containers_read_all(char **out, size_t *out_len, int fd, size_t limit);

/* A container id as the engine gives it: 1-64 lowercase hex digits. */
int containers_id_valid(const char *id);

/* The channel's create request from a spec (containers.h); owned text. */
char *containers_request_encode(const emulator_container_spec *spec);

#endif
