/*
 * docker_int.h — private to common/docker*.c: the client's state and the
 * request helpers the image, container, log and archive calls share.
 */
#ifndef AIRGAP_COMMON_DOCKER_INT_H
#define AIRGAP_COMMON_DOCKER_INT_H

#include "common/docker.h"
#include "common/http_client.h"

#include <pthread.h>
#include <stddef.h>

#define DOCKER_DEFAULT_SOCKET "/var/run/docker.sock"
#define DOCKER_PINNED_MAJOR 1
#define DOCKER_PINNED_MINOR 41
#define DOCKER_DEFAULT_TIMEOUT_MS 60000L
#define DOCKER_REF_MAX 512
#define DOCKER_ARCHIVE_MAX (1024ull * 1024 * 1024)
#define DOCKER_URL_MAX 4096
#define DOCKER_PULL_TIMEOUT_MS (30L * 60 * 1000)
#define DOCKER_PULL_LINE_MAX 8192

struct docker_client {
  char *socket;
  long timeout_ms;
  pthread_mutex_t lock;
  int negotiated;
  char version[16];
};

typedef struct docker_call {
  const char *method;
  const char *path; /* API path after the version, with its query string */
  const char *content_type;
  const void *body;
  size_t body_len;
  long timeout_ms; /* < 0: the client's default */
  http_client_write_fn on_data;
  void *payload;
} docker_call;

/* One request on the engine's socket; versioned: under /v<negotiated>/. */
int docker_call_raw(http_client_response *out, docker_client *c, const docker_call *call,
                    int versioned);
/* Ids, names and image references go into URL paths unescaped, so only the
 * characters they are made of are accepted. */
int docker_check_ref(const char *what, const char *ref);
/* Percent-encodes a query value; owned, free with curl_free. */
char *docker_escape(const char *value);
/* code, with "docker: METHOD PATH: HTTP n: <the engine's message>". */
int docker_engine_error(const http_client_response *resp, int code, const char *method,
                        const char *path);

#endif
