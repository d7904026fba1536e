/*
 * http_client.h — HTTP client over libcurl: plain requests, JSON requests,
 * streamed responses, unix-domain sockets (the Docker API), timeouts and a
 * hard cap on the size of a buffered response.
 *
 * Thread-safe: every call uses a curl handle no other call uses at the time
 * (each thread keeps one between its calls). Call http_client_global_init()
 * once at program start before threads are created.
 */
#ifndef AIRGAP_COMMON_HTTP_CLIENT_H
#define AIRGAP_COMMON_HTTP_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Streams response body bytes as they arrive; return 0 to go on, non-zero to abort. */
typedef int (*http_client_write_fn)(const char *data, size_t len, void *payload);

typedef struct http_client_request {
  const char *method;         /* "GET" when NULL */
  const char *url;            /* for unix sockets: "http://localhost/v1.41/..." */
  const char *unix_socket;    /* path of a unix socket to connect to, or NULL */
  const char *const *headers; /* NULL-terminated "Name: value" list, or NULL */
  const void *body;           /* request body, or NULL */
  size_t body_len;
  long timeout_ms;              /* whole request; 0 means no limit */
  long connect_timeout_ms;      /* 0 means 10 s */
  size_t max_response;          /* buffered body cap; 0 means 16 MiB (ETOOBIG past it) */
  http_client_write_fn on_data; /* when set, the body is streamed here, not buffered */
  void *payload;
} http_client_request;

typedef struct http_client_response {
  long status;
  char *body; /* NUL-terminated, owned; NULL when streamed */
  size_t body_len;
  json_t *headers; /* object of lower-cased header name → last value; owned */
  int unreached;   /* on failure: no connection was made, so the server saw nothing */
} http_client_response;

int http_client_global_init(void);

/* Performs the request. On success fills *out (free with
 * http_client_response_free) whatever the HTTP status. Errors (nothing to free):
 * AIRGAP_ETIMEOUT, AIRGAP_ETOOBIG, AIRGAP_ECANCELED (on_data aborted), -1
 * (connection failed; the message names the URL). */
int http_client_send(http_client_response *out, const http_client_request *req);

void http_client_response_free(http_client_response *resp);

/* Sends body (may be NULL; not stolen) as JSON with optional extra headers and
 * parses a JSON reply into *out_json (owned; NULL for an empty body). *out_status
 * gets the HTTP status. A reply that is not JSON is an AIRGAP_EINVALID error. */
int http_client_json(json_t **out_json, long *out_status, const char *method, const char *url,
                     const char *const *headers, json_t *body, long timeout_ms);

#endif
