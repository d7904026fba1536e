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
