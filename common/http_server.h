/*
 * http_server.h — HTTP server glue over libmicrohttpd.
 *
 * One handler sees every complete request (headers and body already read,
 * bounded). It answers by calling http_request_respond() exactly once, either
 * before it returns or later from any thread: a request left unanswered when
 * the handler returns is suspended (no thread is held, no polling) until the
 * answer arrives. That is how long polls (SQS WaitTimeSeconds, queue leases)
 * are served.
 *
 * Paths and query strings are handed over raw (not percent-decoded) because
 * AWS signatures and S3 keys need the exact bytes; http_query_parse() decodes.
 *
 * Ownership: an http_request is borrowed by the handler and stays valid until
 * http_request_respond() is called on it; after that it must not be touched.
 * Every suspended request must be answered before http_server_free().
 */
#ifndef AIRGAP_COMMON_HTTP_SERVER_H
#define AIRGAP_COMMON_HTTP_SERVER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct http_server http_server;
typedef struct http_request http_request;
typedef struct http_response http_response;

typedef void (*http_handler_fn)(http_request *req, void *payload);

typedef struct http_server_options {
  /* Comma-separated "host:port" list ("127.0.0.1:4566,[::1]:4566"); port 0 picks
   * a free port (see http_server_port). May be NULL when listen_fds are given. */
  const char *listen;
  /* Already bound and listening sockets to serve (e.g. opened inside another
   * network namespace). The server takes ownership and closes them. */
  const int *listen_fds;
  size_t listen_fd_count;
  /* Hard cap on a request body; larger bodies are refused with 413 before the
   * handler runs. 0 means 1 MiB. */
  uint64_t max_body;
  /* Bodies larger than this are written to an unlinked file in spill_dir instead
   * of memory (see http_request_body_fd). 0 or a NULL spill_dir: never spill. */
  uint64_t spill_threshold;
  const char *spill_dir;
  /* Worker threads (0 means 4). */
  unsigned threads;
  /* Seconds an idle connection is kept (0 means 60). Also the deadline, counted
   * from an answer, for the next request's complete headers on a kept-alive
   * connection, however slowly it trickles bytes. */
  unsigned connection_timeout;
  /* Slow and greedy clients (slowloris). A new connection must deliver a
   * request's complete headers within header_timeout seconds of being
   * accepted, or it is closed (0 means 30). max_connections caps the open
   * connections across all listeners (0: derived from RLIMIT_NOFILE, half of
   * the descriptors, at most 4096, at least 32); max_connections_per_peer caps
   * one client address (0: a quarter of max_connections, at least 8). At a
   * cap the oldest connection still waiting for its headers (from the same
   * address first) is closed to make room; the newcomer is refused only when
   * every other connection is being served (long polls, streams). So new
   * clients keep being answered during an attack while the slow ones go. */
  unsigned header_timeout;
  unsigned max_connections;
  unsigned max_connections_per_peer;
  http_handler_fn handler;
  /* Optional: called once a request's headers are complete, before its body
   * is read, and so before `100 Continue` goes to a client that expects it.
   * It may refuse the request by answering it (http_request_respond, at
   * once, from this thread); the body is then never read and handler is not
   * called. Body accessors return nothing yet. */
  http_handler_fn early;
  void *payload;
} http_server_options;

/* Starts serving. On success *out owns a running server (free with
 * http_server_free). Errors: AIRGAP_EINVALID (bad listen address), -1. */
int http_server_start(http_server **out, const http_server_options *options);

/* The port of the first listener (useful after listening on port 0). */
uint16_t http_server_port(const http_server *server);

/* Stops accepting, closes connections, frees. Accepts NULL. */
void http_server_free(http_server *server);

/* ---- requests (borrowed; valid until answered) ---- */

const char *http_request_method(const http_request *req);
/* Raw request target path, e.g. "/bucket/a%20b", without the query string. */
const char *http_request_path(const http_request *req);
/* Raw query string without '?', "" when none. */
const char *http_request_query(const http_request *req);
/* Header value by case-insensitive name, NULL when absent. */
const char *http_request_header(const http_request *req, const char *name);
/* Calls fn for every header in arrival order; stops early when fn returns non-zero. */
void http_request_headers_foreach(const http_request *req,
                                  int (*fn)(const char *name, const char *value, void *payload),
                                  void *payload);
/* Numeric peer address ("127.0.0.1"), "" if unknown. */
const char *http_request_peer(const http_request *req);

/* In-memory body (NUL-terminated for convenience; len excludes the NUL), or
 * NULL with *len set when the body was spilled to a file. Borrowed. */
const char *http_request_body(const http_request *req, size_t *len);
/* Size of the body, wherever it is. */
uint64_t http_request_body_size(const http_request *req);
/* The spilled body's file, positioned at 0, or -1 when the body is in memory.
 * Borrowed; http_request_body_take_fd transfers ownership to the caller. */
int http_request_body_fd(const http_request *req);
int http_request_body_take_fd(http_request *req);

/* From the `early` callback only: the body's bytes go to fn as they arrive,
 * on the server's thread, instead of being kept (for bodies relayed while
 * they are sent, such as a Lambda runtime's streamed response). Such bytes
 * do not count against max_body: fn keeps its own limit and returns -1 to
 * drop the connection (0 to go on). The handler then runs once the body is
 * complete, with an empty body, and may read its trailers. fn is not called
 * after the handler has run. */
typedef int (*http_body_fn)(const char *data, size_t len, void *payload);
void http_request_body_stream(http_request *req, http_body_fn fn, void *payload);
/* A trailer of a chunked request body (after the last chunk) by
 * case-insensitive name, NULL when absent. Valid in the handler. */
const char *http_request_trailer(const http_request *req, const char *name);

/* Answers the request; takes ownership of resp (NULL answers 500). May be
 * called from any thread, exactly once. */
void http_request_respond(http_request *req, http_response *resp);

/* Calls fn(payload) once, when the request has ended: its answer handed to
 * the socket, or the connection lost. For what must follow the answer, such
 * as stopping the server that sends it. Call before answering. */
typedef void (*http_done_fn)(void *payload);
void http_request_on_done(http_request *req, http_done_fn fn, void *payload);

/* ---- responses (owned by the caller until handed to http_request_respond) ---- */

/* Copies body. */
http_response *http_response_new(int status, const char *content_type, const void *body,
                                 size_t len);
/* Takes a malloc'd body. */
http_response *http_response_new_take(int status, const char *content_type, char *body, size_t len);
/* Serializes json compactly; takes the reference. */
http_response *http_response_new_json(int status, json_t *body);
/* Sends len bytes of fd from offset; takes ownership of fd. */
http_response *http_response_new_fd(int status, const char *content_type, int fd, uint64_t offset,
                                    uint64_t len);

/* A body produced on demand. The reader fills at most max bytes at position pos
 * and returns how many, HTTP_STREAM_END when done, HTTP_STREAM_ERROR to abort
 * the connection, or HTTP_STREAM_WAIT when it has nothing yet but the body is
 * not over (log following): the connection is then parked — no thread held, no
 * polling — until http_stream_wake() on the response's stream handle, and the
 * reader is called again. size is the total length or HTTP_SIZE_UNKNOWN (sent
 * chunked). free_fn (may be NULL) releases payload once the response is done;
 * after it has run the stream handle is gone. */
#define HTTP_STREAM_END ((ssize_t)-1)
#define HTTP_STREAM_ERROR ((ssize_t)-2)
#define HTTP_STREAM_WAIT ((ssize_t)-3)
#define HTTP_SIZE_UNKNOWN UINT64_MAX
typedef ssize_t (*http_stream_read_fn)(void *payload, uint64_t pos, char *buf, size_t max);
http_response *http_response_new_stream(int status, const char *content_type, uint64_t size,
                                        http_stream_read_fn reader, void *payload,
                                        void (*free_fn)(void *payload));

typedef struct http_stream http_stream;
/* The stream handle of a response made by http_response_new_stream (NULL for
 * other responses). Borrowed: valid until the response's free_fn runs, so a
 * producer that wakes streams must forget the handle inside free_fn, under the
 * same lock it holds while waking. */
http_stream *http_response_stream(http_response *resp);
/* Lets a reader that answered HTTP_STREAM_WAIT be called again. Any thread;
 * waking a stream that is not parked makes its next WAIT return at once. */
void http_stream_wake(http_stream *stream);

/* Adds a header. Returns 0 or -1. */
int http_response_header_add(http_response *resp, const char *name, const char *value);
/* Frees an unsent response. Accepts NULL. */
void http_response_free(http_response *resp);

/* ---- query strings ---- */

typedef struct http_query_pair {
  char *name;       /* percent-decoded, '+' as space */
  char *value;      /* "" when the pair had no '=' */
  size_t value_len; /* bytes of value (a %00 counts: see HTTP_QUERY_KEEP_NUL) */
} http_query_pair;

/* Parses a raw "a=1&b=x%20y" string (a query or a form body) into *out (an owned
 * array, free with http_query_free) of *count pairs, in order. Refuses more than
 * max_pairs pairs or bad percent escapes with AIRGAP_EINVALID / AIRGAP_ETOOBIG;
 * a %00 is refused as well (AIRGAP_EINVALID), so that no value is cut short
 * where it is read as a C string. */
int http_query_parse(http_query_pair **out, size_t *count, const char *raw, size_t len,
                     size_t max_pairs);
/* http_query_parse() with flags: HTTP_QUERY_KEEP_NUL keeps a %00 inside
 * values (value_len counts past it; names still refuse it), for callers that
 * read values by length. */
#define HTTP_QUERY_KEEP_NUL 1
int http_query_parse_flags(http_query_pair **out, size_t *count, const char *raw, size_t len,
                           size_t max_pairs, int flags);
/* First value for name, NULL when absent. */
const char *http_query_get(const http_query_pair *pairs, size_t count, const char *name);
void http_query_free(http_query_pair *pairs, size_t count);

/* Percent-decodes len bytes of src into a new NUL-terminated string (owned;
 * free()). plus_as_space turns '+' into ' ' (forms). Returns NULL on a bad escape
 * or an embedded NUL (%00) when reject_nul is set. *out_len may be NULL. */
char *http_percent_decode(const char *src, size_t len, int plus_as_space, int reject_nul,
                          size_t *out_len);

/* ---- routing ---- */

/* A route matches method (NULL: any) and a pattern of '/'-separated segments
 * where "*" matches one segment and a trailing "**" matches the rest. */
typedef struct http_route {
  const char *method;
  const char *pattern;
  http_handler_fn handler;
} http_route;

/* Calls the first matching route's handler; answers 404 (no path matched) or
 * 405 (path matched, method did not) with a JSON error otherwise. */
void http_router_dispatch(const http_route *routes, size_t count, http_request *req, void *payload);

/* The raw n-th segment of the request path (0-based), or NULL. Borrowed from
 * req. Useful for "*" patterns: "/v1/jobs/ * /logs" → segment 2 is the id. */
const char *http_request_segment(http_request *req, size_t n);

/* Convenience: answers {"error": message} with status. */
void http_request_respond_error(http_request *req, int status, const char *message);

#endif
