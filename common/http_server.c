/*
 * http_server.c — HTTP server glue over libmicrohttpd (see http_server.h).
 *
 * Shape: we open the listening sockets ourselves (addresses or fds handed over
 * from another network namespace) and give each to its own MHD daemon running a
 * small thread pool. Bodies are accumulated with a hard cap, spilling to an
 * unlinked file past a threshold, before the single application handler runs.
 * A handler that does not answer at once leaves the request suspended in MHD
 * (no thread held); http_request_respond() from any thread resumes it. That
 * handshake is guarded by a per-request mutex so that an answer racing the
 * handler's return is never lost.
 *
 * The raw request target is captured in MHD's URI log callback and MHD's own
 * percent-decoding is disabled: AWS signatures and S3 keys need exact bytes.
 * Header deadlines and connection caps live in http_server_guard.c; framing
 * that a proxy could read differently is refused here with a 400.
 */
#include "common/http_server.h"
#include "common/http_server_int.h"
#include "common/error.h"
#include "common/log.h"
#include "common/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HTTP_DEFAULT_MAX_BODY (1024u * 1024u)
#define HTTP_DEFAULT_THREADS 4u
#define HTTP_DEFAULT_TIMEOUT 60u
#define HTTP_DEFAULT_HEADER_TIMEOUT 30u
#define HTTP_DEFAULT_MAX_CONNECTIONS 4096u
#define HTTP_MIN_CONNECTIONS 32u
#define HTTP_MIN_PER_PEER 8u
#define HTTP_MAX_LISTENERS 16
#define HTTP_MAX_SEGMENTS 256
#define HTTP_LISTEN_BACKLOG 256
/* Per-connection memory MHD reads into. libmicrohttpd 0.9.75 zeroes all of
 * it after every request, so it is a cost per request, not only per
 * connection: at 256 KiB the memset was 11% of the server's CPU on 4 KiB
 * PUTs, and 64 connections touched 16 MiB between them, which showed in
 * the tail (tests/bench/s3_bench.py, README). MHD's default, 32 KiB, reads a
 * 1 MiB body 16 KiB at a time; 64 KiB halves those rounds. */
#define HTTP_CONNECTION_MEMORY (64u * 1024u)

struct http_response {
  int status;
  struct MHD_Response *mhd;
  http_stream *stream; /* set for http_response_new_stream */
};

struct http_request {
  http_server *server;
  struct MHD_Connection *conn;
  const char *method; /* owned by MHD for the request's lifetime */
  char *target;       /* raw request target as sent */
  char *path;         /* raw path part of target */
  const char *query;  /* points into target, "" when none */
  char peer[64];

  char *body; /* in-memory body, NUL-terminated */
  size_t body_len;
  size_t body_cap;
  int body_fd; /* spilled body, -1 when in memory */
  uint64_t body_size;
  int body_refused;     /* body exceeded max_body mid-stream */
  http_body_fn body_fn; /* http_request_body_stream: bytes go there */
  void *body_payload;
  uint64_t declared_len; /* Content-Length, 0 when absent */

  char **segments;
  size_t segment_count;
  int segments_split;

  pthread_mutex_t lock;
  int dispatched; /* handler has been called */
  int suspended;  /* parked in MHD waiting for an answer */
  int counted;    /* answer queued or resuming: counted in server->answering until freed */
  http_response *pending;
  http_request *next_suspended; /* server->suspended list */
  http_done_fn done_fn;         /* http_request_on_done */
  void *done_payload;
};

struct http_server {
  http_server_options options;
  char *spill_dir;
  struct MHD_Daemon *daemons[HTTP_MAX_LISTENERS];
  size_t daemon_count;
  uint16_t port;
  pthread_mutex_t lock;
  http_request *suspended;
  int in_flight;          /* handler calls that have not returned (and parked) yet */
  pthread_cond_t settled; /* signalled when in_flight or answering drops */
  int answering;          /* answers given that MHD has not finished sending */
  int stopping;           /* http_server_free has begun: streams may no longer park */
  http_stream *parked;    /* streams waiting for http_stream_wake */
  http_guard *guard;      /* header deadlines and connection caps */
};

/* ---------------------------------------------------------------- responses */

static http_response *response_wrap(int status, struct MHD_Response *mhd) {
  if (!mhd)
    return NULL;
  http_response *resp = calloc(1, sizeof(*resp));
  if (!resp) {
    MHD_destroy_response(mhd);
    return NULL;
  }
  resp->status = status;
  resp->mhd = mhd;
  return resp;
}

static void response_set_type(http_response *resp, const char *content_type) {
  if (resp && content_type)
    MHD_add_response_header(resp->mhd, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
}

http_response *http_response_new(int status, const char *content_type, const void *body,
                                 size_t len) {
  struct MHD_Response *mhd =
      MHD_create_response_from_buffer(len, (void *)(body ? body : ""), MHD_RESPMEM_MUST_COPY);
  http_response *resp = response_wrap(status, mhd);
  response_set_type(resp, content_type);
  return resp;
}

http_response *http_response_new_take(int status, const char *content_type, char *body,
                                      size_t len) {
  if (!body)
    return http_response_new(status, content_type, NULL, 0);
  struct MHD_Response *mhd = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
  if (!mhd) {
    free(body);
    return NULL;
  }
  http_response *resp = response_wrap(status, mhd);
  response_set_type(resp, content_type);
  return resp;
}

http_response *http_response_new_json(int status, json_t *body) {
  char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  json_decref(body);
  if (!text)
    return NULL;
  size_t len = strlen(text);
  return http_response_new_take(status, "application/json", text, len);
}

http_response *http_response_new_fd(int status, const char *content_type, int fd, uint64_t offset,
                                    uint64_t len) {
  struct MHD_Response *mhd = MHD_create_response_from_fd_at_offset64(len, fd, offset);
  if (!mhd) {
    close(fd);
    return NULL;
  }
  http_response *resp = response_wrap(status, mhd);
  response_set_type(resp, content_type);
  return resp;
}

/* A stream response's state. Parking (HTTP_STREAM_WAIT) suspends the
 * connection from inside MHD's content reader, which is the pattern MHD
 * prescribes for "no body data yet"; `lock` orders a wake against the park so
 * that a wake arriving just before the suspension is never lost. */
struct http_stream {
  http_stream_read_fn reader;
  void *payload;
  void (*free_fn)(void *payload);
  pthread_mutex_t lock;
  http_server *server;         /* set when the response is queued */
  struct MHD_Connection *conn; /* idem */
  int parked;
  int woken;
  http_stream *next_parked; /* server->parked list */
};

/* Refuses (-1) once the server is stopping, atomically with the check, so no
 * stream can park after http_server_free has woken the parked ones. */
static int parked_add(http_server *server, http_stream *stream) {
  pthread_mutex_lock(&server->lock);
  int stopping = server->stopping;
  if (!stopping) {
    stream->next_parked = server->parked;
    server->parked = stream;
  }
  pthread_mutex_unlock(&server->lock);
  return stopping ? -1 : 0;
}

static void parked_remove(http_server *server, http_stream *stream) {
  pthread_mutex_lock(&server->lock);
  for (http_stream **p = &server->parked; *p; p = &(*p)->next_parked) {
    if (*p == stream) {
      *p = stream->next_parked;
      break;
    }
  }
  stream->next_parked = NULL;
  pthread_cond_broadcast(&server->settled);
  pthread_mutex_unlock(&server->lock);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  http_stream *state = cls;
  ssize_t n = state->reader(state->payload, pos, buf, max);
  if (n == HTTP_STREAM_END)
    return MHD_CONTENT_READER_END_OF_STREAM;
  if (n == HTTP_STREAM_WAIT) {
    if (!state->conn)
      return MHD_CONTENT_READER_END_WITH_ERROR;
    ssize_t result = 0;
    pthread_mutex_lock(&state->lock);
    if (state->woken) {
      state->woken = 0; /* something happened since the reader looked: look again */
    } else if (parked_add(state->server, state) < 0) {
      result = MHD_CONTENT_READER_END_WITH_ERROR; /* server stopping */
    } else {
      state->parked = 1;
      MHD_suspend_connection(state->conn);
    }
    pthread_mutex_unlock(&state->lock);
    return result;
  }
  if (n < 0)
    return MHD_CONTENT_READER_END_WITH_ERROR;
  return n;
}

static void stream_free(void *cls) {
  http_stream *state = cls;
  if (state->free_fn)
    state->free_fn(state->payload);
  pthread_mutex_destroy(&state->lock);
  free(state);
}

http_stream *http_response_stream(http_response *resp) { return resp ? resp->stream : NULL; }

void http_stream_wake(http_stream *stream) {
  if (!stream)
    return;
  pthread_mutex_lock(&stream->lock);
  if (stream->parked) {
    stream->parked = 0;
    parked_remove(stream->server, stream);
    MHD_resume_connection(stream->conn);
  } else {
    stream->woken = 1;
  }
  pthread_mutex_unlock(&stream->lock);
}

http_response *http_response_new_stream(int status, const char *content_type, uint64_t size,
                                        http_stream_read_fn reader, void *payload,
                                        void (*free_fn)(void *payload)) {
  http_stream *state = calloc(1, sizeof(*state));
  if (!state) {
    if (free_fn)
      free_fn(payload);
    return NULL;
  }
  state->reader = reader;
  state->payload = payload;
  state->free_fn = free_fn;
  pthread_mutex_init(&state->lock, NULL);
  struct MHD_Response *mhd =
      MHD_create_response_from_callback(size == HTTP_SIZE_UNKNOWN ? MHD_SIZE_UNKNOWN : size,
                                        64 * 1024, stream_read, state, stream_free);
  if (!mhd) {
    stream_free(state);
    return NULL;
  }
  http_response *resp = response_wrap(status, mhd);
  if (resp)
    resp->stream = state;
  response_set_type(resp, content_type);
  return resp;
}

int http_response_header_add(http_response *resp, const char *name, const char *value) {
  if (!resp || !name || !value)
    return -1;
  /* MHD refuses values with CR or LF (no response splitting) and empty ones,
   * which S3 answers (x-amz-meta-a: ""): a space goes, clients strip it. */
  if (!*value)
    value = " ";
  return MHD_add_response_header(resp->mhd, name, value) == MHD_YES ? 0 : -1;
}

void http_response_free(http_response *resp) {
  if (!resp)
    return;
  MHD_destroy_response(resp->mhd);
  free(resp);
}

/* ----------------------------------------------------------------- requests */

const char *http_request_method(const http_request *req) { return req->method; }
const char *http_request_path(const http_request *req) { return req->path; }
const char *http_request_query(const http_request *req) { return req->query; }
const char *http_request_peer(const http_request *req) { return req->peer; }

const char *http_request_header(const http_request *req, const char *name) {
  return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

typedef struct header_visit {
  int (*fn)(const char *name, const char *value, void *payload);
  void *payload;
} header_visit;

static enum MHD_Result header_iterate(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value) {
  header_visit *visit = cls;
  (void)kind;
  return visit->fn(key, value ? value : "", visit->payload) == 0 ? MHD_YES : MHD_NO;
}

void http_request_headers_foreach(const http_request *req,
                                  int (*fn)(const char *name, const char *value, void *payload),
                                  void *payload) {
  header_visit visit = {fn, payload};
  MHD_get_connection_values(req->conn, MHD_HEADER_KIND, header_iterate, &visit);
}

const char *http_request_body(const http_request *req, size_t *len) {
  if (req->body_fd >= 0) {
    if (len)
      *len = 0;
    return NULL;
  }
  if (len)
    *len = req->body_len;
  return req->body ? req->body : "";
}

uint64_t http_request_body_size(const http_request *req) { return req->body_size; }

int http_request_body_fd(const http_request *req) { return req->body_fd; }

int http_request_body_take_fd(http_request *req) {
  int fd = req->body_fd;
  req->body_fd = -1;
  return fd;
}

static void request_split_segments(http_request *req) {
  req->segments_split = 1;
  size_t cap = 8;
  req->segments = calloc(cap, sizeof(char *));
  if (!req->segments)
    return;
  const char *p = req->path;
  while (*p == '/')
    p++;
  while (*p && req->segment_count < HTTP_MAX_SEGMENTS) {
    const char *end = strchr(p, '/');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (req->segment_count == cap) {
      char **grown = realloc(req->segments, cap * 2 * sizeof(char *));
      if (!grown)
        return;
      req->segments = grown;
      cap *= 2;
    }
    char *segment = strndup(p, len);
    if (!segment)
      return;
    req->segments[req->segment_count++] = segment;
    if (!end)
      break;
    p = end + 1;
  }
}

const char *http_request_segment(http_request *req, size_t n) {
  if (!req->segments_split)
    request_split_segments(req);
  return n < req->segment_count ? req->segments[n] : NULL;
}

static void request_free(http_request *req) {
  if (!req)
    return;
  if (req->counted) {
    pthread_mutex_lock(&req->server->lock);
    req->server->answering--;
    pthread_cond_broadcast(&req->server->settled);
    pthread_mutex_unlock(&req->server->lock);
  }
  free(req->target);
  free(req->path);
  free(req->body);
  if (req->body_fd >= 0)
    close(req->body_fd);
  for (size_t i = 0; i < req->segment_count; i++)
    free(req->segments[i]);
  free(req->segments);
  http_response_free(req->pending);
  pthread_mutex_destroy(&req->lock);
  free(req);
}

static void suspended_remove(http_server *server, http_request *req) {
  pthread_mutex_lock(&server->lock);
  for (http_request **p = &server->suspended; *p; p = &(*p)->next_suspended) {
    if (*p == req) {
      *p = req->next_suspended;
      break;
    }
  }
  req->next_suspended = NULL;
  req->counted = 1;
  server->answering++;
  pthread_mutex_unlock(&server->lock);
}

void http_request_body_stream(http_request *req, http_body_fn fn, void *payload) {
  req->body_fn = fn;
  req->body_payload = payload;
}

const char *http_request_trailer(const http_request *req, const char *name) {
  return MHD_lookup_connection_value(req->conn, MHD_FOOTER_KIND, name);
}

void http_request_respond(http_request *req, http_response *resp) {
  if (!resp)
    resp = http_response_new(500, "text/plain", "internal error\n", 15);
  pthread_mutex_lock(&req->lock);
  if (req->pending) {
    /* A second answer is a caller bug; keep the first, drop this one. */
    pthread_mutex_unlock(&req->lock);
    log_warn("http", "request %s %s answered twice", req->method, req->path);
    http_response_free(resp);
    return;
  }
  req->pending = resp;
  if (req->suspended) {
    req->suspended = 0;
    suspended_remove(req->server, req);
    MHD_resume_connection(req->conn);
  }
  pthread_mutex_unlock(&req->lock);
}

void http_request_on_done(http_request *req, http_done_fn fn, void *payload) {
  req->done_fn = fn;
  req->done_payload = payload;
}

void http_request_respond_error(http_request *req, int status, const char *message) {
  json_t *body = json_pack("{s:s}", "error", message ? message : "");
  http_request_respond(req, http_response_new_json(status, body));
}

/* ------------------------------------------------------------- MHD plumbing */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  http_server *server = cls;
  http_request *req = calloc(1, sizeof(*req));
  if (!req)
    return NULL;
  req->server = server;
  req->conn = conn;
  req->body_fd = -1;
  pthread_mutex_init(&req->lock, NULL);
  req->target = strdup(uri ? uri : "/");
  if (!req->target) {
    request_free(req);
    return NULL;
  }
  char *question = strchr(req->target, '?');
  size_t path_len = question ? (size_t)(question - req->target) : strlen(req->target);
  req->path = strndup(req->target, path_len);
  req->query = question ? question + 1 : "";
  if (!req->path) {
    request_free(req);
    return NULL;
  }
  const union MHD_ConnectionInfo *info =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info && info->client_addr) {
    socklen_t alen = info->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                              : sizeof(struct sockaddr_in);
    if (getnameinfo(info->client_addr, alen, req->peer, sizeof(req->peer), NULL, 0,
                    NI_NUMERICHOST) != 0)
      req->peer[0] = '\0';
  }
  return req;
}

static size_t on_unescape(void *cls, struct MHD_Connection *conn, char *s) {
  (void)cls;
  (void)conn;
  return strlen(s); /* keep raw bytes; decoding is the application's choice */
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code) {
  http_server *server = cls;
  (void)code;
  http_guard_request_done(server->guard, conn);
  http_request *req = *con_cls;
  if (req && req->done_fn)
    req->done_fn(req->done_payload);
  request_free(req);
  *con_cls = NULL;
}

static enum MHD_Result queue_plain(struct MHD_Connection *conn, unsigned status, const char *text) {
  struct MHD_Response *mhd =
      MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
  if (!mhd)
    return MHD_NO;
  MHD_add_response_header(mhd, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  enum MHD_Result result = MHD_queue_response(conn, status, mhd);
  MHD_destroy_response(mhd);
  return result;
}

static int open_spill_file(const char *dir) {
  int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
    return fd;
  /* Filesystems without O_TMPFILE: a named file unlinked at once. */
  char name[PATH_MAX];
  if (snprintf(name, sizeof(name), "%s/.airgap-body-XXXXXX", dir) >= (int)sizeof(name))
    return -1;
  fd = mkostemp(name, O_CLOEXEC);
  if (fd >= 0)
    unlink(name);
  return fd;
}

static int body_spill(http_request *req) {
  req->body_fd = open_spill_file(req->server->spill_dir);
  if (req->body_fd < 0) {
    log_error("http", "cannot create a body file in %s: %s", req->server->spill_dir,
              strerror(errno));
    return -1;
  }
  if (req->body_len && fs_write_all(req->body_fd, req->body, req->body_len) < 0)
    return -1;
  free(req->body);
  req->body = NULL;
  req->body_len = req->body_cap = 0;
  return 0;
}

static int body_append(http_request *req, const char *data, size_t len) {
  const http_server_options *opt = &req->server->options;
  req->body_size += len;
  if (req->body_fd < 0 && req->server->spill_dir && opt->spill_threshold &&
      req->body_size > opt->spill_threshold && body_spill(req) < 0)
    return -1;
  if (req->body_fd >= 0)
    return fs_write_all(req->body_fd, data, len);
  if (req->body_len + len + 1 > req->body_cap) {
    /* The declared length (bounded by the spill threshold, or max_body when
     * nothing spills) sizes the buffer once. */
    size_t cap = req->body_cap ? req->body_cap : 4096;
    if (!req->body_cap && req->declared_len + 1 > cap &&
        req->declared_len < (opt->spill_threshold ? opt->spill_threshold : opt->max_body))
      cap = (size_t)req->declared_len + 1;
    while (cap < req->body_len + len + 1)
      cap *= 2;
    char *grown = realloc(req->body, cap);
    if (!grown)
      return -1;
    req->body = grown;
    req->body_cap = cap;
  }
  memcpy(req->body + req->body_len, data, len);
  req->body_len += len;
  req->body[req->body_len] = '\0';
  return 0;
}

static enum MHD_Result queue_pending(http_request *req) {
  http_response *resp = req->pending;
  if (!req->counted) {
    /* Counted until sent, so that stopping the server lets it go out. */
    pthread_mutex_lock(&req->server->lock);
    req->counted = 1;
    req->server->answering++;
    pthread_mutex_unlock(&req->server->lock);
  }
  if (resp->stream) {
    resp->stream->server = req->server;
    resp->stream->conn = req->conn;
  }
  enum MHD_Result result = MHD_queue_response(req->conn, (unsigned)resp->status, resp->mhd);
  return result;
}

/* Framing both hops of a proxy must read alike (RFC 9112 6.1-6.3): several
 * different Content-Length values, any transfer coding other than one plain
 * "chunked", or both headers at once would let a request hide inside another
 * one's body. MHD 0.9.75 takes the first Content-Length and reads a body of
 * unknown coding until the client closes, so we refuse these ourselves, in the
 * first access call, before any body byte is read. */
typedef struct framing_scan {
  const char *length;
  const char *error;
  unsigned encodings;
} framing_scan;

static enum MHD_Result framing_visit(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
  framing_scan *scan = cls;
  (void)kind;
  if (!value)
    value = "";
  if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
    if (scan->length && strcmp(scan->length, value) != 0)
      scan->error = "{\"error\":\"conflicting Content-Length headers: send exactly one\"}";
    scan->length = value;
  } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
    scan->encodings++;
    if (strcasecmp(value, "chunked") != 0)
      scan->error = "{\"error\":\"unsupported Transfer-Encoding: only a single 'chunked' "
                    "coding is accepted\"}";
  }
  return scan->error ? MHD_NO : MHD_YES;
}

static const char *framing_error(struct MHD_Connection *conn) {
  framing_scan scan = {0};
  MHD_get_connection_values(conn, MHD_HEADER_KIND, framing_visit, &scan);
  if (!scan.error && scan.encodings > 1)
    scan.error = "{\"error\":\"repeated Transfer-Encoding headers: send one 'chunked'\"}";
  if (!scan.error && scan.encodings && scan.length)
    scan.error = "{\"error\":\"both Transfer-Encoding and Content-Length: send one of them\"}";
  return scan.error;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls) {
  http_server *server = cls;
  http_request *req = *con_cls;
  (void)url;
  (void)version;
  if (!req)
    return MHD_NO; /* out of memory in on_uri: drop the connection */
  if (!req->method) {
    /* First call: headers only. Refuse declared oversize bodies before reading them
     * (this also answers `Expect: 100-continue` with 413 instead of 100). */
    req->method = method;
    http_guard_headers_done(server->guard, conn);
    const char *ambiguous = framing_error(conn);
    if (ambiguous) {
      log_warn("http", "%s %s from %s: ambiguous request framing, answering 400", method, req->path,
               req->peer);
      return queue_plain(conn, 400, ambiguous);
    }
    const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (length) {
      char *end = NULL;
      errno = 0;
      unsigned long long declared = strtoull(length, &end, 10);
      if (errno || end == length || *end != '\0' || declared > server->options.max_body)
        return queue_plain(conn, 413, "{\"error\":\"request body too large for this endpoint\"}");
      req->declared_len = declared;
    }
    /* MHD sends `100 Continue` only once this call returns without a response. */
    if (server->options.early)
      server->options.early(req, server->options.payload);
    pthread_mutex_lock(&req->lock);
    req->dispatched = req->pending != NULL; /* refused early: the handler never runs */
    enum MHD_Result result = req->pending ? queue_pending(req) : MHD_YES;
    pthread_mutex_unlock(&req->lock);
    return result;
  }
  if (*upload_data_size > 0 && req->body_fn) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    return req->body_fn(upload_data, n, req->body_payload) < 0 ? MHD_NO : MHD_YES;
  }
  if (*upload_data_size > 0) {
    if (req->body_refused || req->body_size + *upload_data_size > server->options.max_body) {
      /* Chunked body past the cap: discard the rest (up to a bound, then
       * close) and answer 413 once the upload is complete. */
      if (!req->body_refused)
        log_warn("http", "%s %s: body over %llu bytes, answering 413", method, req->path,
                 (unsigned long long)server->options.max_body);
      req->body_refused = 1;
      req->body_size += *upload_data_size;
      *upload_data_size = 0;
      return req->body_size > 4 * server->options.max_body + 65536 ? MHD_NO : MHD_YES;
    }
    if (body_append(req, upload_data, *upload_data_size) < 0) {
      log_error("http", "%s %s: cannot store request body", method, req->path);
      return MHD_NO;
    }
    *upload_data_size = 0;
    return MHD_YES;
  }

  if (req->body_refused)
    return queue_plain(conn, 413, "{\"error\":\"request body too large for this endpoint\"}");
  pthread_mutex_lock(&req->lock);
  if (req->dispatched) {
    /* Resumed after a deferred answer. */
    enum MHD_Result result = req->pending ? queue_pending(req) : MHD_NO;
    pthread_mutex_unlock(&req->lock);
    return result;
  }
  req->dispatched = 1;
  pthread_mutex_unlock(&req->lock);

  if (req->body_fd >= 0 && lseek(req->body_fd, 0, SEEK_SET) < 0)
    return MHD_NO;
  pthread_mutex_lock(&server->lock);
  server->in_flight++;
  pthread_mutex_unlock(&server->lock);
  server->options.handler(req, server->options.payload);

  pthread_mutex_lock(&req->lock);
  enum MHD_Result result = MHD_YES;
  if (req->pending) {
    result = queue_pending(req);
  } else {
    req->suspended = 1;
    pthread_mutex_lock(&server->lock);
    req->next_suspended = server->suspended;
    server->suspended = req;
    pthread_mutex_unlock(&server->lock);
    MHD_suspend_connection(conn);
  }
  pthread_mutex_unlock(&req->lock);
  pthread_mutex_lock(&server->lock);
  server->in_flight--;
  pthread_cond_broadcast(&server->settled);
  pthread_mutex_unlock(&server->lock);
  return result;
}

/* ------------------------------------------------------------ listen sockets */

static int listen_on(int *out, const char *spec) {
  char host[256];
  const char *port;
  const char *colon = strrchr(spec, ':');
  if (!colon || colon == spec || colon[1] == '\0')
    return airgap_error_set(AIRGAP_EINVALID,
                            "bad listen address '%s': use HOST:PORT, e.g. 127.0.0.1:4566", spec);
  size_t host_len = (size_t)(colon - spec);
  const char *host_start = spec;
  if (spec[0] == '[') {
    if (host_len < 2 || spec[host_len - 1] != ']')
      return airgap_error_set(AIRGAP_EINVALID, "bad listen address '%s': unclosed '['", spec);
    host_start++;
    host_len -= 2;
  }
  if (host_len >= sizeof(host))
    return airgap_error_set(AIRGAP_EINVALID, "bad listen address '%s': host too long", spec);
  memcpy(host, host_start, host_len);
  host[host_len] = '\0';
  port = colon + 1;
  for (const char *p = port; *p; p++)
    if (*p < '0' || *p > '9' || p - port > 5)
      return airgap_error_set(AIRGAP_EINVALID, "bad listen address '%s': port must be 0-65535",
                              spec);
  if (strtol(port, NULL, 10) > 65535)
    return airgap_error_set(AIRGAP_EINVALID, "bad listen address '%s': port must be 0-65535", spec);

  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int rc = getaddrinfo(host_len ? host : NULL, port, &hints, &res);
  if (rc != 0)
    return airgap_error_set(AIRGAP_EINVALID, "cannot resolve listen address '%s': %s", spec,
                            gai_strerror(rc));
  int fd = -1, saved = 0;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      saved = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6)
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, HTTP_LISTEN_BACKLOG) == 0)
      break;
    saved = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    errno = saved;
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot listen on %s", spec);
  }
  *out = fd;
  return 0;
}

static uint16_t socket_port(int fd) {
  struct sockaddr_storage addr;
  socklen_t len = sizeof(addr);
  if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
    return 0;
  if (addr.ss_family == AF_INET)
    return ntohs(((struct sockaddr_in *)&addr)->sin_port);
  if (addr.ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
  return 0;
}

static int start_daemon(http_server *server, int fd) {
  /* MHD_USE_ITC: needed by MHD_quiesce_daemon with a thread pool. poll(),
   * not epoll: with epoll, libmicrohttpd (0.9.75) races MHD_quiesce_daemon
   * against its worker threads, which remove the listening socket from their
   * epoll set too, and the loser aborts the process ("Failed to remove listen
   * FD from epoll set"; seen in test_http_server). With poll() quiescing goes
   * through the inter-thread channel instead. Each worker polls only its share
   * of the connections, so poll()'s cost stays small at our connection caps. */
  unsigned flags =
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;
  /* The guard enforces the real caps across listeners and makes room by
   * closing waiting connections, which MHD notices a moment later; MHD's own
   * per-daemon limit (split between the pool's threads) is only a backstop
   * set well above, so that it never refuses the newcomer the guard let in. */
  unsigned mhd_limit = server->options.max_connections * 2 + 16 * server->options.threads;
  struct MHD_Daemon *daemon = MHD_start_daemon(
      flags, 0, NULL, NULL, on_access, server, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
      MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)server->options.threads,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONNECTION_MEMORY,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)server->options.connection_timeout,
      MHD_OPTION_URI_LOG_CALLBACK, on_uri, server, MHD_OPTION_UNESCAPE_CALLBACK, on_unescape,
      server, MHD_OPTION_NOTIFY_COMPLETED, on_completed, server, MHD_OPTION_NOTIFY_CONNECTION,
      http_guard_notify, server->guard, MHD_OPTION_CONNECTION_LIMIT, mhd_limit, MHD_OPTION_END);
  if (!daemon) {
    close(fd);
    return airgap_error_set(AIRGAP_ERROR, "cannot start the HTTP server (libmicrohttpd)");
  }
  if (server->daemon_count == 0)
    server->port = socket_port(fd);
  server->daemons[server->daemon_count++] = daemon;
  return 0;
}

/* Half the descriptors this process may open (the rest are the queue's
 * database, the emulator's spilled bodies and files, the Docker socket...):
 * past the limit accept() fails and MHD stops accepting, which is exactly the
 * outage a slow client would cause. */
static unsigned default_max_connections(void) {
  struct rlimit rl;
  unsigned limit = HTTP_DEFAULT_MAX_CONNECTIONS;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 2 < limit)
    limit = (unsigned)(rl.rlim_cur / 2);
  return limit > HTTP_MIN_CONNECTIONS ? limit : HTTP_MIN_CONNECTIONS;
}

int http_server_start(http_server **out, const http_server_options *options) {
  int error = 0;
  char *specs = NULL;
  size_t next_fd = 0; /* handed-over sockets before this index belong to a daemon */
  http_server *server = calloc(1, sizeof(*server));
  if (!server) {
    for (size_t i = 0; i < options->listen_fd_count; i++)
      close(options->listen_fds[i]);
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  }
  pthread_mutex_init(&server->lock, NULL);
  pthread_cond_init(&server->settled, NULL);
  server->options = *options;
  if (!server->options.max_body)
    server->options.max_body = HTTP_DEFAULT_MAX_BODY;
  if (!server->options.threads)
    server->options.threads = HTTP_DEFAULT_THREADS;
  if (!server->options.connection_timeout)
    server->options.connection_timeout = HTTP_DEFAULT_TIMEOUT;
  if (!server->options.header_timeout)
    server->options.header_timeout = HTTP_DEFAULT_HEADER_TIMEOUT;
  if (!server->options.max_connections)
    server->options.max_connections = default_max_connections();
  if (!server->options.max_connections_per_peer) {
    unsigned quarter = server->options.max_connections / 4;
    server->options.max_connections_per_peer =
        quarter > HTTP_MIN_PER_PEER ? quarter : HTTP_MIN_PER_PEER;
  }
  http_guard_limits limits = {.max_connections = server->options.max_connections,
                              .max_per_peer = server->options.max_connections_per_peer,
                              .header_ms = server->options.header_timeout * 1000u,
                              .idle_ms = server->options.connection_timeout * 1000u};
  if ((error = http_guard_new(&server->guard, &limits)) < 0)
    goto cleanup;
  if (options->spill_dir && !(server->spill_dir = strdup(options->spill_dir))) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  server->options.spill_dir = NULL; /* the caller's string need not outlive the call */
  if (!options->handler) {
    error = airgap_error_set(AIRGAP_EINVALID, "http server needs a handler");
    goto cleanup;
  }
  if (options->listen_fd_count + (options->listen ? 1 : 0) == 0) {
    error = airgap_error_set(AIRGAP_EINVALID, "http server needs a listen address or socket");
    goto cleanup;
  }

  for (; next_fd < options->listen_fd_count; next_fd++) {
    if (server->daemon_count == HTTP_MAX_LISTENERS) {
      error = airgap_error_set(AIRGAP_ETOOBIG, "more than %d listeners", HTTP_MAX_LISTENERS);
      goto cleanup;
    }
    int fd = options->listen_fds[next_fd];
    if ((error = start_daemon(server, fd)) < 0) {
      next_fd++;
      goto cleanup;
    }
  }
  if (options->listen) {
    if (!(specs = strdup(options->listen))) {
      error = airgap_error_set(AIRGAP_ERROR, "out of memory");
      goto cleanup;
    }
    char *save = NULL;
    for (char *spec = strtok_r(specs, ",", &save); spec; spec = strtok_r(NULL, ",", &save)) {
      while (*spec == ' ')
        spec++;
      if (!*spec)
        continue;
      if (server->daemon_count == HTTP_MAX_LISTENERS) {
        error = airgap_error_set(AIRGAP_ETOOBIG, "more than %d listeners", HTTP_MAX_LISTENERS);
        goto cleanup;
      }
      int fd = -1;
      if ((error = listen_on(&fd, spec)) < 0 || (error = start_daemon(server, fd)) < 0)
        goto cleanup;
    }
    if (server->daemon_count == 0) {
      error = airgap_error_set(AIRGAP_EINVALID, "empty listen address list");
      goto cleanup;
    }
  }
  if ((error = http_guard_start(server->guard)) < 0)
    goto cleanup;
  free(specs);
  *out = server;
  return 0;

cleanup:
  /* Sockets handed over but not yet given to a daemon are ours to close. */
  for (size_t i = next_fd; i < options->listen_fd_count; i++)
    close(options->listen_fds[i]);
  free(specs);
  http_server_free(server);
  return error;
}

uint16_t http_server_port(const http_server *server) { return server->port; }

void http_server_free(http_server *server) {
  if (!server)
    return;
  /* Stop accepting, then let handlers that are still running return: a request
   * they park after the scan below would be suspended when MHD stops, which
   * MHD answers with abort(). */
  MHD_socket quiesced[HTTP_MAX_LISTENERS];
  for (size_t i = 0; i < server->daemon_count; i++)
    quiesced[i] = MHD_quiesce_daemon(server->daemons[i]);
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 10;
  pthread_mutex_lock(&server->lock);
  while (server->in_flight > 0 &&
         pthread_cond_timedwait(&server->settled, &server->lock, &deadline) == 0) {
  }
  server->stopping = 1;
  pthread_mutex_unlock(&server->lock);
  /* Parked streams are woken; their readers will find nothing new and, as the
   * server is stopping, their connections end. */
  for (;;) {
    pthread_mutex_lock(&server->lock);
    http_stream *stream = server->parked;
    pthread_mutex_unlock(&server->lock);
    if (!stream)
      break;
    http_stream_wake(stream);
  }
  /* Callers answer their suspended requests first; anything left is answered
   * here so that MHD can stop (a later answer from the owner would be a bug). */
  for (;;) {
    pthread_mutex_lock(&server->lock);
    http_request *req = server->suspended;
    pthread_mutex_unlock(&server->lock);
    if (!req)
      break;
    log_warn("http", "stopping with %s %s unanswered; answering 503", req->method, req->path);
    http_request_respond(
        req, http_response_new(503, "application/json", "{\"error\":\"server stopping\"}", 27));
  }
  /* Stopping closes connections at once, unsent answers and all: let the
   * answers given so far reach their clients first, for a second at most (a
   * slow client's download would otherwise hold the stop). */
  struct timespec answers_deadline;
  clock_gettime(CLOCK_REALTIME, &answers_deadline);
  answers_deadline.tv_sec += 1;
  if (answers_deadline.tv_sec > deadline.tv_sec)
    answers_deadline = deadline;
  pthread_mutex_lock(&server->lock);
  while (server->answering > 0 &&
         pthread_cond_timedwait(&server->settled, &server->lock, &answers_deadline) == 0) {
  }
  pthread_mutex_unlock(&server->lock);
  /* The listening sockets are closed only once no worker can touch them. */
  for (size_t i = 0; i < server->daemon_count; i++) {
    MHD_stop_daemon(server->daemons[i]);
    if (quiesced[i] != MHD_INVALID_SOCKET)
      close(quiesced[i]);
  }
  http_guard_free(server->guard); /* after the daemons: they report every close */
  free(server->spill_dir);
  pthread_cond_destroy(&server->settled);
  pthread_mutex_destroy(&server->lock);
  free(server);
}
