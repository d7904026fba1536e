/*
 * http_server_int.h — private to common/http_server*.c: the connection guard
 * that keeps slow or greedy clients from taking a server offline (see
 * http_server_guard.c). Nothing outside common/http_server*.c includes this.
 */
#ifndef AIRGAP_COMMON_HTTP_SERVER_INT_H
#define AIRGAP_COMMON_HTTP_SERVER_INT_H

#include <microhttpd.h>

typedef struct http_guard http_guard;

typedef struct http_guard_limits {
  unsigned max_connections; /* across every listener of the server */
  unsigned max_per_peer;    /* per client address */
  unsigned header_ms;       /* from accept to a request's complete headers */
  unsigned idle_ms;         /* from a response to the next request's complete headers */
} http_guard_limits;

/* Makes a guard; *out owned, free with http_guard_free. Connections are
 * counted and capped at once; deadlines are enforced from http_guard_start. */
int http_guard_new(http_guard **out, const http_guard_limits *limits);
/* Starts the reaper thread that enforces deadlines, including those armed
 * before it. Called once the daemons listen, so that a server answers its
 * first request without waiting for one more thread to be made. */
int http_guard_start(http_guard *guard);
/* Stops the reaper. Call after every MHD daemon using the guard has stopped.
 * Accepts NULL. */
void http_guard_free(http_guard *guard);

/* MHD_OPTION_NOTIFY_CONNECTION callback; cls is the guard. */
void http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                       enum MHD_ConnectionNotificationCode code);
/* A request's headers are complete: its connection is no longer waiting. */
void http_guard_headers_done(http_guard *guard, struct MHD_Connection *conn);
/* A request is over: the connection waits for the next request's headers. */
void http_guard_request_done(http_guard *guard, struct MHD_Connection *conn);

#endif
