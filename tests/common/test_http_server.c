/*
 * test_http_server.c — common/http_server over real loopback connections.
 *
 * Requests come from common/http_client (well-formed traffic), from curl(1)
 * (Expect: 100-continue, chunked uploads, raw request targets) and from a raw
 * socket (requests no client library would send). Every server listens on
 * 127.0.0.1 with port 0 or on a socket the test bound there.
 */
#include "common/error.h"
#include "common/http_client.h"
#include "common/http_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static atomic_int handled; /* how many times a handler ran */

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- handlers ---- */

/* Describes the request back as JSON. */
static void handle_echo(http_request *req, void *payload) {
  atomic_fetch_add(&handled, 1);
  size_t len = 0;
  const char *body = http_request_body(req, &len);
  const char *seg1 = http_request_segment(req, 1);
  const char *test_header = http_request_header(req, "x-test");
  json_t *reply =
      json_pack("{s:s, s:s, s:s, s:s, s:I, s:s?, s:s?, s:b}", "method", http_request_method(req),
                "path", http_request_path(req), "query", http_request_query(req), "peer",
                http_request_peer(req), "size", (json_int_t)http_request_body_size(req), "segment1",
                seg1, "x-test", test_header, "in_memory", body != NULL);
  if (body)
    json_object_set_new(reply, "body", json_stringn(body, len));
  http_request_respond(req, http_response_new_json(200, reply));
}

static void handle_rest(http_request *req, void *payload) {
  atomic_fetch_add(&handled, 1);
  http_request_respond(req, http_response_new(200, "text/plain", "rest", 4));
}

static void handle_post_only(http_request *req, void *payload) {
  atomic_fetch_add(&handled, 1);
  http_response *resp = http_response_new(201, "text/plain", "made", 4);
  /* No cmocka asserts on server threads: results travel back in headers. */
  if (http_response_header_add(resp, "X-Made", "yes") != 0)
    http_response_header_add(resp, "X-Made", "failed");
  /* A header value with CR/LF would split the response: refused. */
  if (http_response_header_add(resp, "X-Evil", "a\r\nSet-Cookie: x=1") == -1)
    http_response_header_add(resp, "X-Evil-Refused", "yes");
  http_request_respond(req, resp);
}

static const http_route routes[] = {
    {"GET", "/echo/*", handle_echo},     {"POST", "/echo/*", handle_echo},
    {"PUT", "/echo/*", handle_echo},     {NULL, "/files/**", handle_rest},
    {"POST", "/make", handle_post_only},
};

static void handle_routes(http_request *req, void *payload) {
  http_router_dispatch(routes, sizeof(routes) / sizeof(routes[0]), req, payload);
}

/* ---- helpers ---- */

static http_server *start(const http_server_options *extra) {
  http_server_options options = {.listen = "127.0.0.1:0", .handler = handle_routes};
  if (extra)
    options = *extra;
  if (!options.handler)
    options.handler = handle_routes;
  http_server *server = NULL;
  int error = http_server_start(&server, &options);
  if (error < 0)
    fprintf(stderr, "http_server_start: %s\n", airgap_error_last());
  assert_int_equal(error, 0);
  assert_true(http_server_port(server) > 0);
  return server;
}

static char *url_for(http_server *server, const char *target) {
  char *url = NULL;
  assert_true(asprintf(&url, "http://127.0.0.1:%u%s", http_server_port(server), target) > 0);
  return url;
}

/* Sends one request with common/http_client; returns the status, *out_body owned. */
static long send_req(http_server *server, const char *method, const char *target, const void *body,
                     size_t body_len, char **out_body) {
  char *url = url_for(server, target);
  const char *headers[] = {"X-Test: from-client", NULL};
  http_client_request req = {.method = method,
                             .url = url,
                             .headers = headers,
                             .body = body,
                             .body_len = body_len,
                             .timeout_ms = 10000};
  http_client_response resp = {0};
  int error = http_client_send(&resp, &req);
  if (error < 0)
    fprintf(stderr, "http_client_send: %s\n", airgap_error_last());
  assert_int_equal(error, 0);
  free(url);
  if (out_body) {
    *out_body = resp.body;
    resp.body = NULL;
  }
  long status = resp.status;
  http_client_response_free(&resp);
  return status;
}

static json_t *parse(const char *text) {
  json_error_t err;
  json_t *j = json_loads(text, 0, &err);
  if (!j)
    fprintf(stderr, "not JSON: %s\n", text);
  assert_non_null(j);
  return j;
}

/* Runs curl(1) with args (after the fixed ones); returns its exit status, the
 * body in *out (owned) and the HTTP status in *status. */
static int run_curl(char **out, long *status, const char *const *args) {
  const char *argv[32] = {"curl", "--silent", "--noproxy", "*",           "--max-time",
                          "10",   "--output", "-",         "--write-out", "\n%{http_code}"};
  size_t n = 10;
  for (size_t i = 0; args[i] && n < 31; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  int pipefd[2];
  assert_int_equal(pipe(pipefd), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(pipefd[1], 1);
    close(pipefd[0]);
    close(pipefd[1]);
    execvp("curl", (char *const *)argv);
    _exit(127);
  }
  close(pipefd[1]);
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  assert_non_null(buf);
  ssize_t r;
  while ((r = read(pipefd[0], buf + len, cap - 1 - len)) > 0)
    len += (size_t)r;
  buf[len] = '\0';
  close(pipefd[0]);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  char *nl = strrchr(buf, '\n');
  assert_non_null(nl);
  *status = strtol(nl + 1, NULL, 10);
  *nl = '\0';
  *out = buf;
  return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
}

/* Sends raw bytes on a fresh connection and returns everything the server sent
 * back until it closed (or 3 s passed). Owned. */
static char *raw_exchange(http_server *server, const char *request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in addr = {.sin_family = AF_INET,
                             .sin_port = htons(http_server_port(server)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  struct timeval tv = {3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  assert_true(send(fd, request, strlen(request), MSG_NOSIGNAL) == (ssize_t)strlen(request));
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  assert_non_null(buf);
  ssize_t r;
  while ((r = read(fd, buf + len, cap - 1 - len)) > 0)
    len += (size_t)r;
  buf[len] = '\0';
  close(fd);
  return buf;
}

/* ---- tests: bodies streamed to a callback ---- */

typedef struct relay_sink {
  char data[256];
  size_t len;
  int calls;
} relay_sink;

static int relay_piece(const char *data, size_t len, void *payload) {
  relay_sink *sink = payload;
  sink->calls++;
  if (memmem(data, len, "STOP", 4))
    return -1; /* the consumer's own limit: the connection is dropped */
  size_t room = sizeof(sink->data) - 1 - sink->len;
  size_t n = len < room ? len : room;
  memcpy(sink->data + sink->len, data, n);
  sink->len += n;
  return 0;
}

static void relay_early(http_request *req, void *payload) {
  if (strcmp(http_request_path(req), "/relay") == 0)
    http_request_body_stream(req, relay_piece, payload);
}

static void relay_handle(http_request *req, void *payload) {
  relay_sink *sink = payload;
  size_t len = 1;
  const char *body = http_request_body(req, &len);
  const char *trailer = http_request_trailer(req, "X-Outcome");
  json_t *reply = json_pack("{s:s%, s:s, s:i, s:b}", "relayed", sink->data, sink->len, "trailer",
                            trailer ? trailer : "", "kept", (int)len, "calls", sink->calls > 0);
  (void)body;
  http_request_respond(req, http_response_new_json(200, reply));
}

static void test_http_server_body_stream_and_trailers(void **state) {
  relay_sink sink = {0};
  http_server_options options = {.listen = "127.0.0.1:0",
                                 .handler = relay_handle,
                                 .early = relay_early,
                                 .payload = &sink,
                                 .max_body = 8};
  http_server *server = start(&options);
  /* Past max_body (8): a streamed body is the consumer's to bound. */
  char *reply = raw_exchange(server, "POST /relay HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                                     "Transfer-Encoding: chunked\r\nTrailer: X-Outcome\r\n\r\n"
                                     "6\r\nhello \r\n6\r\nworld!\r\n0\r\nX-Outcome: fine\r\n\r\n");
  if (strncmp(reply, "HTTP/1.1 200", 12) != 0)
    fprintf(stderr, "relay answered: '%.200s'\n", reply);
  assert_true(strncmp(reply, "HTTP/1.1 200", 12) == 0);
  assert_non_null(strstr(reply, "\"relayed\":\"hello world!\""));
  assert_non_null(strstr(reply, "\"trailer\":\"fine\""));
  assert_non_null(strstr(reply, "\"kept\":0"));
  free(reply);
  /* The consumer refuses: the connection goes, no handler answer. */
  memset(&sink, 0, sizeof(sink));
  reply = raw_exchange(server, "POST /relay HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n4\r\nSTOP\r\n0\r\n\r\n");
  assert_null(strstr(reply, "\"relayed\""));
  assert_int_equal(sink.calls, 1);
  free(reply);
  /* Other paths keep their bodies, bounded as before. */
  reply = raw_exchange(server, "POST /other HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                               "Content-Length: 12\r\n\r\nhello world!");
  assert_true(strncmp(reply, "HTTP/1.1 413", 12) == 0);
  free(reply);
  http_server_free(server);
}

/* ---- tests: requests and routing ---- */

static void test_http_server_raw_path_query_headers(void **state) {
  http_server *server = start(NULL);
  char *body = NULL;
  assert_int_equal(send_req(server, "GET", "/echo/a%20b?x=%2F&y", NULL, 0, &body), 200);
  json_t *j = parse(body);
  assert_string_equal(json_string_value(json_object_get(j, "method")), "GET");
  assert_string_equal(json_string_value(json_object_get(j, "path")), "/echo/a%20b");
  assert_string_equal(json_string_value(json_object_get(j, "query")), "x=%2F&y");
  assert_string_equal(json_string_value(json_object_get(j, "segment1")), "a%20b");
  assert_string_equal(json_string_value(json_object_get(j, "x-test")), "from-client");
  assert_string_equal(json_string_value(json_object_get(j, "peer")), "127.0.0.1");
  assert_int_equal(json_integer_value(json_object_get(j, "size")), 0);
  assert_string_equal(json_string_value(json_object_get(j, "body")), "");
  json_decref(j);
  free(body);

  /* A target with bad escapes reaches the handler byte for byte. */
  char *url = url_for(server, "");
  const char *args[] = {"--path-as-is", "--request-target", "/echo/%zz%?q=%G1&%", url, NULL};
  long status = 0;
  char *out = NULL;
  assert_int_equal(run_curl(&out, &status, args), 0);
  assert_int_equal(status, 200);
  j = parse(out);
  assert_string_equal(json_string_value(json_object_get(j, "path")), "/echo/%zz%");
  assert_string_equal(json_string_value(json_object_get(j, "query")), "q=%G1&%");
  json_decref(j);
  free(out);
  free(url);
  http_server_free(server);
}

static void test_http_server_routing_404_405(void **state) {
  http_server *server = start(NULL);
  char *body = NULL;
  int before = atomic_load(&handled);
  assert_int_equal(send_req(server, "GET", "/nowhere", NULL, 0, &body), 404);
  json_t *j = parse(body);
  assert_non_null(json_string_value(json_object_get(j, "error")));
  json_decref(j);
  free(body);

  /* The path exists, the method does not. */
  assert_int_equal(send_req(server, "GET", "/make", NULL, 0, &body), 405);
  j = parse(body);
  assert_non_null(json_string_value(json_object_get(j, "error")));
  json_decref(j);
  free(body);
  assert_int_equal(send_req(server, "DELETE", "/echo/x", NULL, 0, &body), 405);
  free(body);
  /* "*" matches exactly one segment. */
  assert_int_equal(send_req(server, "GET", "/echo/x/y", NULL, 0, &body), 404);
  free(body);
  assert_int_equal(send_req(server, "GET", "/echo", NULL, 0, &body), 404);
  free(body);
  assert_int_equal(atomic_load(&handled), before);

  /* "**" matches the rest, any method when the route has none. */
  assert_int_equal(send_req(server, "DELETE", "/files/a/b/c.txt", NULL, 0, &body), 200);
  assert_string_equal(body, "rest");
  free(body);
  /* HEAD is served by the GET route, without a body. */
  assert_int_equal(send_req(server, "HEAD", "/echo/x", NULL, 0, &body), 200);
  assert_string_equal(body, "");
  free(body);
  assert_int_equal(send_req(server, "POST", "/make", "", 0, &body), 201);
  assert_string_equal(body, "made");
  free(body);
  http_server_free(server);
}

static void test_http_server_response_headers(void **state) {
  http_server *server = start(NULL);
  char *url = url_for(server, "/make");
  http_client_request req = {.method = "POST", .url = url};
  http_client_response resp = {0};
  assert_int_equal(http_client_send(&resp, &req), 0);
  assert_int_equal(resp.status, 201);
  assert_string_equal(json_string_value(json_object_get(resp.headers, "x-made")), "yes");
  assert_null(json_object_get(resp.headers, "x-evil"));
  assert_string_equal(json_string_value(json_object_get(resp.headers, "x-evil-refused")), "yes");
  assert_null(json_object_get(resp.headers, "set-cookie"));
  http_client_response_free(&resp);
  free(url);
  http_server_free(server);
}

static void test_http_server_malformed_requests(void **state) {
  http_server *server = start(NULL);
  int before = atomic_load(&handled);
  /* Each is refused by the server itself (and the connection closed): the
   * handler never sees it. */
  static const struct {
    const char *request;
    const char *status;
  } cases[] = {
      {"THIS IS NOT HTTP\r\n\r\n", "HTTP/1.1 400"},
      {"GET /echo/x HTTP/1.1\r\nHost: a\r\nbroken header\r\n\r\n", "HTTP/1.1 400"},
      {"POST /echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: 12abc\r\n\r\nhello", "HTTP/1.1 400"},
      {"POST /echo/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       "HTTP/1.1 400"},
      {"GET /echo/x HTTP/9.9\r\nHost: a\r\n\r\n", "HTTP/1.1 505"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *reply = raw_exchange(server, cases[i].request);
    if (strncmp(reply, cases[i].status, 12) != 0)
      fprintf(stderr, "request %zu answered: %.60s\n", i, reply);
    assert_true(strncmp(reply, cases[i].status, 12) == 0);
    free(reply);
  }
  assert_int_equal(atomic_load(&handled), before);

  /* The server still answers well-formed requests afterwards. */
  char *reply =
      raw_exchange(server, "GET /echo/ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  assert_true(strncmp(reply, "HTTP/1.1 200", 12) == 0);
  assert_non_null(strstr(reply, "\"path\":\"/echo/ok\""));
  free(reply);
  http_server_free(server);
}

/* Request smuggling behind a proxy lives in framing the two hops read
 * differently: each of these must get a 400 (never a handler call, never a
 * silent close), and an unambiguous request on the same server still works. */
static void test_http_server_ambiguous_framing(void **state) {
  http_server *server = start(NULL);
  int before = atomic_load(&handled);
  static const char *const cases[] = {
      "POST /echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
      "hello!",
      "POST /echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\ncontent-length: 5\r\n\r\n"
      "hello!",
      "POST /echo/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n",
      "POST /echo/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nhello",
      "POST /echo/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
      "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      "POST /echo/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n"
      "\r\n5\r\nhello\r\n0\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *reply = raw_exchange(server, cases[i]);
    if (strncmp(reply, "HTTP/1.1 400", 12) != 0)
      fprintf(stderr, "framing case %zu answered: '%.60s'\n", i, reply);
    assert_true(strncmp(reply, "HTTP/1.1 400", 12) == 0);
    /* The body says why, for whoever reads the proxy's logs. */
    assert_non_null(strstr(reply, "\"error\""));
    free(reply);
  }
  assert_int_equal(atomic_load(&handled), before);

  /* Repeating the same length is not ambiguous (RFC 9112 6.3), nor is a
   * plain chunked body. */
  char *reply = raw_exchange(server, "POST /echo/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                                     "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello");
  assert_true(strncmp(reply, "HTTP/1.1 200", 12) == 0);
  assert_non_null(strstr(reply, "\"body\":\"hello\""));
  free(reply);
  reply = raw_exchange(server, "POST /echo/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                               "Transfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  assert_true(strncmp(reply, "HTTP/1.1 200", 12) == 0);
  assert_non_null(strstr(reply, "\"body\":\"hello\""));
  free(reply);
  http_server_free(server);
}

static void test_http_server_bad_listen_addresses(void **state) {
  http_server *server = NULL;
  const char *bad[] = {"127.0.0.1", "127.0.0.1:99999", "127.0.0.1:12x", ":", "[::1:80", NULL};
  for (size_t i = 0; bad[i]; i++) {
    http_server_options options = {.listen = bad[i], .handler = handle_routes};
    assert_int_equal(http_server_start(&server, &options), AIRGAP_EINVALID);
    assert_null(server);
  }
  http_server_options none = {.handler = handle_routes};
  assert_int_equal(http_server_start(&server, &none), AIRGAP_EINVALID);
  assert_null(server);
}

/* ---- tests: bodies ---- */

static void test_http_server_bounded_body(void **state) {
  http_server_options options = {.listen = "127.0.0.1:0", .max_body = 1000};
  http_server *server = start(&options);
  char *big = malloc(5000);
  assert_non_null(big);
  for (size_t i = 0; i < 5000; i++)
    big[i] = (char)('a' + i % 26);

  /* Exactly at the limit: accepted, delivered intact. */
  char *body = NULL;
  assert_int_equal(send_req(server, "POST", "/echo/x", big, 1000, &body), 200);
  json_t *j = parse(body);
  assert_int_equal(json_integer_value(json_object_get(j, "size")), 1000);
  assert_memory_equal(json_string_value(json_object_get(j, "body")), big, 1000);
  json_decref(j);
  free(body);

  /* One byte over: 413 with a JSON error, and the handler never runs. */
  int before = atomic_load(&handled);
  assert_int_equal(send_req(server, "POST", "/echo/x", big, 1001, &body), 413);
  j = parse(body);
  assert_non_null(json_string_value(json_object_get(j, "error")));
  json_decref(j);
  free(body);

  /* curl(1) asking "Expect: 100-continue" first gets the 413 instead of a 100. */
  char path[] = "/tmp/airgap-test-body-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, big, 5000), 5000);
  close(fd);
  char data_arg[64];
  snprintf(data_arg, sizeof(data_arg), "@%s", path);
  char *url = url_for(server, "/echo/x");
  const char *expect[] = {"-H", "Expect: 100-continue", "--data-binary", data_arg, url, NULL};
  long status = 0, chunked_status = 0;
  char *out = NULL, *chunked_out = NULL;
  run_curl(&out, &status, expect);
  /* A chunked body (no Content-Length) past the limit is cut off, not handled. */
  const char *chunked[] = {"-H", "Transfer-Encoding: chunked", "--data-binary", data_arg, url,
                           NULL};
  run_curl(&chunked_out, &chunked_status, chunked);
  unlink(path); /* before any assertion can end the test */
  assert_int_equal(status, 413);
  free(out);
  assert_int_equal(chunked_status, 413);
  free(chunked_out);
  assert_int_equal(atomic_load(&handled), before);

  /* A chunked body under the limit is fine. */
  const char *small_chunked[] = {
      "-H", "Transfer-Encoding: chunked", "--data-binary", "chunked-body", url, NULL};
  assert_int_equal(run_curl(&out, &status, small_chunked), 0);
  assert_int_equal(status, 200);
  j = parse(out);
  assert_string_equal(json_string_value(json_object_get(j, "body")), "chunked-body");
  json_decref(j);
  free(out);

  free(url);
  free(big);
  http_server_free(server);
}

typedef struct spill_seen {
  int fd_valid;
  int in_memory;
  uint64_t size;
  char content[8192];
  size_t content_len;
  int dir_entries;
  char dir[64];
} spill_seen;

static spill_seen seen;

static void handle_spill(http_request *req, void *payload) {
  atomic_fetch_add(&handled, 1);
  size_t len = 0;
  seen.in_memory = http_request_body(req, &len) != NULL;
  seen.size = http_request_body_size(req);
  int fd = http_request_body_fd(req);
  seen.fd_valid = fd >= 0;
  seen.content_len = 0;
  if (fd >= 0) {
    ssize_t n;
    while ((n = read(fd, seen.content + seen.content_len,
                     sizeof(seen.content) - seen.content_len)) > 0)
      seen.content_len += (size_t)n;
  }
  /* The spilled file is unlinked: nothing is visible in the spill directory. */
  seen.dir_entries = 0;
  DIR *d = opendir(seen.dir);
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      seen.dir_entries++;
  if (d)
    closedir(d);
  http_request_respond(req, http_response_new(200, "text/plain", "ok", 2));
}

static void test_http_server_spill_to_file(void **state) {
  snprintf(seen.dir, sizeof(seen.dir), "/tmp/airgap-test-spill-XXXXXX");
  assert_non_null(mkdtemp(seen.dir));
  http_server_options options = {.listen = "127.0.0.1:0",
                                 .max_body = 100000,
                                 .spill_threshold = 100,
                                 .spill_dir = seen.dir,
                                 .handler = handle_spill};
  http_server *server = start(&options);
  char big[5000];
  for (size_t i = 0; i < sizeof(big); i++)
    big[i] = (char)('A' + i % 23);

  assert_int_equal(send_req(server, "PUT", "/x", big, sizeof(big), NULL), 200);
  assert_false(seen.in_memory);
  assert_true(seen.fd_valid);
  assert_int_equal(seen.size, sizeof(big));
  assert_int_equal(seen.content_len, sizeof(big));
  assert_memory_equal(seen.content, big, sizeof(big));
  assert_int_equal(seen.dir_entries, 0);

  /* Under the threshold: in memory, no file. */
  assert_int_equal(send_req(server, "PUT", "/x", big, 100, NULL), 200);
  assert_true(seen.in_memory);
  assert_false(seen.fd_valid);
  assert_int_equal(seen.size, 100);
  http_server_free(server);
  assert_int_equal(rmdir(seen.dir), 0); /* empty: nothing left behind */
}

/* ---- tests: suspend/resume ---- */

#define PARKED_MAX 16

typedef struct parking {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  http_request *reqs[PARKED_MAX];
  int count;
} parking;

static parking lot = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0};

/* Leaves the request unanswered: the test answers it later from its own thread. */
static void handle_park(http_request *req, void *payload) {
  atomic_fetch_add(&handled, 1);
  pthread_mutex_lock(&lot.lock);
  lot.reqs[lot.count++] = req;
  pthread_cond_broadcast(&lot.cond);
  pthread_mutex_unlock(&lot.lock);
}

static void wait_parked(int n) {
  pthread_mutex_lock(&lot.lock);
  while (lot.count < n)
    pthread_cond_wait(&lot.cond, &lot.lock);
  pthread_mutex_unlock(&lot.lock);
}

typedef struct client_job {
  http_server *server;
  long status;
  char *body;
  int id;
} client_job;

static void *client_thread(void *arg) {
  client_job *job = arg;
  char target[32];
  snprintf(target, sizeof(target), "/wait/%d", job->id);
  char *url = url_for(job->server, target);
  http_client_request req = {.url = url, .timeout_ms = 20000};
  http_client_response resp = {0};
  if (http_client_send(&resp, &req) == 0) {
    job->status = resp.status;
    job->body = resp.body;
    resp.body = NULL;
    http_client_response_free(&resp);
  }
  free(url);
  return NULL;
}

static void test_http_server_suspend_resume(void **state) {
  /* More parked requests than worker threads: parking must not hold a thread. */
  enum { N = 8 };
  lot.count = 0;
  http_server_options options = {.listen = "127.0.0.1:0", .threads = 2, .handler = handle_park};
  http_server *server = start(&options);
  client_job jobs[N];
  pthread_t threads[N];
  for (int i = 0; i < N; i++) {
    jobs[i] = (client_job){.server = server, .id = i};
    assert_int_equal(pthread_create(&threads[i], NULL, client_thread, &jobs[i]), 0);
  }
  wait_parked(N);
  sleep_ms(200);
  for (int i = 0; i < N; i++)
    assert_int_equal(jobs[i].status, 0); /* nobody answered yet */

  /* Answer from this thread, in reverse order of arrival. */
  for (int i = N - 1; i >= 0; i--) {
    http_request *req = lot.reqs[i];
    char text[64];
    int len = snprintf(text, sizeof(text), "late answer for %s", http_request_path(req));
    http_request_respond(req, http_response_new(202, "text/plain", text, (size_t)len));
  }
  for (int i = 0; i < N; i++) {
    pthread_join(threads[i], NULL);
    assert_int_equal(jobs[i].status, 202);
    char want[64];
    snprintf(want, sizeof(want), "late answer for /wait/%d", i);
    assert_string_equal(jobs[i].body, want);
    free(jobs[i].body);
  }
  http_server_free(server);
}

typedef struct late_answer {
  http_request *req;
  int delay_ms;
} late_answer;

static void *answer_later(void *arg) {
  late_answer *a = arg;
  sleep_ms(a->delay_ms);
  http_request_respond(a->req, http_response_new(200, "text/plain", "later", 5));
  free(a);
  return NULL;
}

static void handle_answer_in_thread(http_request *req, void *payload) {
  atomic_fetch_add(&handled, 1);
  late_answer *a = malloc(sizeof(*a));
  pthread_t t;
  if (!a) {
    http_request_respond(req, NULL);
    return;
  }
  a->req = req;
  a->delay_ms = (int)(intptr_t)payload;
  if (pthread_create(&t, NULL, answer_later, a) != 0) {
    free(a);
    http_request_respond(req, NULL);
    return;
  }
  pthread_detach(t);
}

static void test_http_server_answer_from_other_thread(void **state) {
  /* Delay 0 races the answer against the handler's return; 300 ms answers a
   * suspended request. Both must deliver exactly the answer. */
  int delays[] = {0, 300};
  for (size_t d = 0; d < 2; d++) {
    http_server_options options = {.listen = "127.0.0.1:0",
                                   .handler = handle_answer_in_thread,
                                   .payload = (void *)(intptr_t)delays[d]};
    http_server *server = start(&options);
    for (int i = 0; i < 10; i++) {
      char *body = NULL;
      double t0 = now_s();
      assert_int_equal(send_req(server, "GET", "/x", NULL, 0, &body), 200);
      assert_true(now_s() - t0 >= delays[d] / 1000.0 * 0.9);
      assert_string_equal(body, "later");
      free(body);
      if (delays[d])
        break;
    }
    http_server_free(server);
  }
}

/* Stopping a server answers parked requests with 503 and lets the answers
 * reach their clients; stopping while a handler still runs (and parks its
 * request afterwards) must not abort inside libmicrohttpd. */
static void test_http_server_free_answers_parked_requests(void **state) {
  lot.count = 0;
  http_server_options options = {.listen = "127.0.0.1:0", .handler = handle_park};
  http_server *server = start(&options);
  client_job job = {.server = server, .id = 1};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, client_thread, &job), 0);
  wait_parked(1);
  /* The handler has parked the request; give it time to return so that the
   * request is suspended (not in flight) when the server stops. */
  sleep_ms(200);
  http_server_free(server);
  pthread_join(t, NULL);
  assert_int_equal(job.status, 503);
  free(job.body);
}

static void handle_park_slowly(http_request *req, void *payload) {
  handle_park(req, payload);
  sleep_ms(300); /* still running when the test frees the server */
}

static void test_http_server_free_while_handler_runs(void **state) {
  lot.count = 0;
  http_server_options options = {.listen = "127.0.0.1:0", .handler = handle_park_slowly};
  http_server *server = start(&options);
  client_job job = {.server = server, .id = 2};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, client_thread, &job), 0);
  wait_parked(1);
  http_server_free(server);
  pthread_join(t, NULL);
  assert_int_equal(job.status, 503);
  free(job.body);
}

/* ---- tests: after the answer ---- */

static int done_pipe[2];

static void note_done(void *payload) {
  char c = (char)(intptr_t)payload;
  ssize_t n = write(done_pipe[1], &c, 1);
  (void)n;
}

static void handle_then_done(http_request *req, void *payload) {
  http_request_on_done(req, note_done, (void *)(intptr_t)'d');
  sleep_ms(5); /* a hook run too early would have the server stopping by now */
  http_request_respond(req, http_response_new(200, "text/plain", "bye", 3));
}

static int wait_done(int timeout_ms) {
  struct pollfd p = {.fd = done_pipe[0], .events = POLLIN};
  char c = 0;
  if (poll(&p, 1, timeout_ms) != 1 || read(done_pipe[0], &c, 1) != 1)
    return 0;
  return c;
}

/* The server is freed as soon as the request is done, as the emulator's
 * kill action does: the answer must still reach the client every time. */
static void test_http_server_done_follows_answer(void **state) {
  assert_int_equal(pipe(done_pipe), 0);
  for (int i = 0; i < 40; i++) {
    http_server_options options = {.listen = "127.0.0.1:0", .handler = handle_then_done};
    http_server *server = start(&options);
    client_job job = {.server = server, .id = i};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, client_thread, &job), 0);
    assert_int_equal(wait_done(10000), 'd');
    http_server_free(server);
    pthread_join(t, NULL);
    assert_int_equal(job.status, 200);
    assert_string_equal(job.body, "bye");
    free(job.body);
  }
  close(done_pipe[0]);
  close(done_pipe[1]);
}

static void handle_park_with_done(http_request *req, void *payload) {
  http_request_on_done(req, note_done, (void *)(intptr_t)'g');
  handle_park(req, payload);
}

/* A client that leaves before its answer still ends the request: the hook
 * runs once, and answering the request afterwards is harmless. */
static void test_http_server_done_when_client_leaves(void **state) {
  lot.count = 0;
  assert_int_equal(pipe(done_pipe), 0);
  http_server_options options = {.listen = "127.0.0.1:0", .handler = handle_park_with_done};
  http_server *server = start(&options);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(http_server_port(server))};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  const char *request = "GET /wait/1 HTTP/1.1\r\nHost: x\r\n\r\n";
  assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
  wait_parked(1);
  close(fd);
  assert_int_equal(wait_done(200), 0); /* parked: MHD sees the close on resume */
  http_request_respond(lot.reqs[0], http_response_new(200, "text/plain", "late", 4));
  assert_int_equal(wait_done(10000), 'g');
  http_server_free(server);
  assert_int_equal(wait_done(200), 0); /* once only */
  close(done_pipe[0]);
  close(done_pipe[1]);
}

/* ---- tests: listening on fds ---- */

static void test_http_server_listen_fd(void **state) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  assert_int_equal(listen(fd, 16), 0);
  socklen_t len = sizeof(addr);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);

  http_server_options options = {.listen_fds = &fd, .listen_fd_count = 1};
  http_server *server = start(&options);
  assert_int_equal(http_server_port(server), ntohs(addr.sin_port));
  char *body = NULL;
  assert_int_equal(send_req(server, "GET", "/echo/fd", NULL, 0, &body), 200);
  json_t *j = parse(body);
  assert_string_equal(json_string_value(json_object_get(j, "segment1")), "fd");
  json_decref(j);
  free(body);
  http_server_free(server);
  /* The server owned the socket and closed it. */
  assert_int_equal(fcntl(fd, F_GETFD), -1);
}

static void test_http_server_fd_and_address_together(void **state) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  assert_int_equal(listen(fd, 16), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, (struct sockaddr *)&addr, &len);
  http_server_options options = {.listen = "127.0.0.1:0", .listen_fds = &fd, .listen_fd_count = 1};
  http_server *server = start(&options);
  /* The fd listener is first, so it is the reported port; both answer. */
  assert_int_equal(http_server_port(server), ntohs(addr.sin_port));
  char *body = NULL;
  assert_int_equal(send_req(server, "GET", "/echo/a", NULL, 0, &body), 200);
  free(body);
  http_server_free(server);
}

/* ---- tests: responses ---- */

typedef struct stream_state {
  int chunks;
  atomic_int freed;
} stream_state;

static stream_state stream;

static ssize_t stream_reader(void *payload, uint64_t pos, char *buf, size_t max) {
  stream_state *s = payload;
  if (s->chunks == 10)
    return HTTP_STREAM_END;
  sleep_ms(5); /* a producer that waits a little for data, like log following */
  int n = snprintf(buf, max, "chunk-%d\n", s->chunks++);
  return n;
}

static void stream_free(void *payload) { atomic_store(&((stream_state *)payload)->freed, 1); }

static void handle_stream(http_request *req, void *payload) {
  atomic_fetch_add(&handled, 1);
  stream.chunks = 0;
  atomic_store(&stream.freed, 0);
  http_request_respond(req, http_response_new_stream(200, "text/plain", HTTP_SIZE_UNKNOWN,
                                                     stream_reader, &stream, stream_free));
}

static void test_http_server_streamed_response(void **state) {
  http_server_options options = {.listen = "127.0.0.1:0", .handler = handle_stream};
  http_server *server = start(&options);
  char *url = url_for(server, "/stream");
  http_client_request req = {.url = url, .timeout_ms = 10000};
  http_client_response resp = {0};
  assert_int_equal(http_client_send(&resp, &req), 0);
  assert_int_equal(resp.status, 200);
  assert_string_equal(json_string_value(json_object_get(resp.headers, "transfer-encoding")),
                      "chunked");
  char want[256] = "";
  for (int i = 0; i < 10; i++) {
    size_t used = strlen(want);
    snprintf(want + used, sizeof(want) - used, "chunk-%d\n", i);
  }
  assert_string_equal(resp.body, want);
  http_client_response_free(&resp);
  free(url);
  http_server_free(server);
  assert_int_equal(atomic_load(&stream.freed), 1);
}

/* A follower-style stream: the reader answers HTTP_STREAM_WAIT until a
 * producer thread has published more lines, and the producer wakes it. */
typedef struct parked_feed {
  pthread_mutex_t lock;
  int published; /* lines available */
  int ended;
  http_stream *handle; /* NULL once the response is freed */
  atomic_int reads;    /* reader calls: few when parked, thousands when spinning */
  atomic_int freed;
} parked_feed;

static parked_feed feed = {.lock = PTHREAD_MUTEX_INITIALIZER};

static ssize_t feed_reader(void *payload, uint64_t pos, char *buf, size_t max) {
  parked_feed *f = payload;
  atomic_fetch_add(&f->reads, 1);
  pthread_mutex_lock(&f->lock);
  int available = f->published, ended = f->ended;
  pthread_mutex_unlock(&f->lock);
  int sent = (int)(pos / 8); /* each line is "line-NN\n", 8 bytes */
  if (sent < available)
    return snprintf(buf, max, "line-%02d\n", sent);
  return ended ? HTTP_STREAM_END : HTTP_STREAM_WAIT;
}

static void feed_free(void *payload) {
  parked_feed *f = payload;
  pthread_mutex_lock(&f->lock);
  f->handle = NULL;
  pthread_mutex_unlock(&f->lock);
  atomic_store(&f->freed, 1);
}

static void handle_feed(http_request *req, void *payload) {
  http_response *resp =
      http_response_new_stream(200, "text/plain", HTTP_SIZE_UNKNOWN, feed_reader, &feed, feed_free);
  pthread_mutex_lock(&feed.lock);
  feed.handle = http_response_stream(resp);
  pthread_mutex_unlock(&feed.lock);
  http_request_respond(req, resp);
}

static void feed_publish(int lines, int end) {
  pthread_mutex_lock(&feed.lock);
  feed.published = lines;
  feed.ended = end;
  http_stream_wake(feed.handle);
  pthread_mutex_unlock(&feed.lock);
}

static void *feed_producer(void *arg) {
  (void)arg;
  for (int i = 1; i <= 5; i++) {
    sleep_ms(100);
    feed_publish(i, i == 5);
  }
  return NULL;
}

static void feed_reset(void) {
  feed.published = feed.ended = 0;
  feed.handle = NULL;
  atomic_store(&feed.reads, 0);
  atomic_store(&feed.freed, 0);
}

static void test_http_server_stream_parks_until_woken(void **state) {
  feed_reset();
  http_server_options options = {.listen = "127.0.0.1:0", .handler = handle_feed};
  http_server *server = start(&options);
  pthread_t producer;
  assert_int_equal(pthread_create(&producer, NULL, feed_producer, NULL), 0);
  char *body = NULL;
  assert_int_equal(send_req(server, "GET", "/follow", NULL, 0, &body), 200);
  pthread_join(producer, NULL);
  assert_string_equal(body, "line-00\nline-01\nline-02\nline-03\nline-04\n");
  free(body);
  /* Half a second of waiting: a spinning reader would be called thousands of times. */
  assert_true(atomic_load(&feed.reads) < 40);
  http_server_free(server);
  assert_int_equal(atomic_load(&feed.freed), 1);
}

static void *feed_client(void *arg) {
  http_server *server = arg;
  char *url = url_for(server, "/follow");
  http_client_request req = {.url = url, .timeout_ms = 10000};
  http_client_response resp = {0};
  http_client_send(&resp, &req); /* cut short by the server stopping */
  http_client_response_free(&resp);
  free(url);
  return NULL;
}

static void test_http_server_free_ends_parked_streams(void **state) {
  feed_reset();
  feed.published = 1;
  http_server_options options = {.listen = "127.0.0.1:0", .handler = handle_feed};
  http_server *server = start(&options);
  pthread_t client;
  assert_int_equal(pthread_create(&client, NULL, feed_client, server), 0);
  for (int i = 0; i < 500 && atomic_load(&feed.reads) < 2; i++)
    sleep_ms(10); /* until the stream has sent its line and parked */
  assert_true(atomic_load(&feed.reads) >= 2);
  double started = now_s();
  http_server_free(server); /* must neither hang nor abort inside libmicrohttpd */
  assert_true(now_s() - started < 5.0);
  pthread_join(client, NULL);
  assert_int_equal(atomic_load(&feed.freed), 1);
}

static char fd_file[] = "/tmp/airgap-test-fdresp-XXXXXX";

static void handle_fd(http_request *req, void *payload) {
  int fd = open(fd_file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    http_request_respond_error(req, 500, "cannot open the test file");
    return;
  }
  http_request_respond(req, http_response_new_fd(200, "application/octet-stream", fd, 3, 5));
}

static void test_http_server_fd_response(void **state) {
  int fd = mkstemp(fd_file);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "0123456789", 10), 10);
  close(fd);
  http_server_options options = {.listen = "127.0.0.1:0", .handler = handle_fd};
  http_server *server = start(&options);
  char *body = NULL;
  assert_int_equal(send_req(server, "GET", "/f", NULL, 0, &body), 200);
  assert_string_equal(body, "34567");
  free(body);
  http_server_free(server);
  unlink(fd_file);
}

/* ---- tests: query strings ---- */

static void test_http_server_query_parse(void **state) {
  http_query_pair *pairs = NULL;
  size_t count = 0;
  const char *raw = "a=1&b=x%20y&c&d=+plus+&&e=%41%2f&a=2&=empty";
  assert_int_equal(http_query_parse(&pairs, &count, raw, strlen(raw), 100), 0);
  assert_int_equal(count, 7);
  assert_string_equal(pairs[0].name, "a");
  assert_string_equal(pairs[0].value, "1");
  assert_string_equal(http_query_get(pairs, count, "b"), "x y");
  assert_string_equal(http_query_get(pairs, count, "c"), "");
  assert_string_equal(http_query_get(pairs, count, "d"), " plus ");
  assert_string_equal(http_query_get(pairs, count, "e"), "A/");
  assert_string_equal(http_query_get(pairs, count, "a"), "1"); /* the first one */
  assert_string_equal(pairs[5].value, "2");
  assert_string_equal(http_query_get(pairs, count, ""), "empty");
  assert_null(http_query_get(pairs, count, "zzz"));
  http_query_free(pairs, count);

  /* Only len bytes count. */
  assert_int_equal(http_query_parse(&pairs, &count, "k=v&rest=ignored", 3, 10), 0);
  assert_int_equal(count, 1);
  assert_string_equal(pairs[0].value, "v");
  http_query_free(pairs, count);

  assert_int_equal(http_query_parse(&pairs, &count, "", 0, 10), 0);
  assert_int_equal(count, 0);
  http_query_free(pairs, count);
}

static void test_http_server_query_parse_rejects_bad_input(void **state) {
  const char *bad[] = {"a=%zz", "a=%4", "a=%", "%=1", "x=1&a=%G0", "a=%00", "a%00b=1", NULL};
  for (size_t i = 0; bad[i]; i++) {
    http_query_pair *pairs = (http_query_pair *)0x1;
    size_t count = 99;
    assert_int_equal(http_query_parse(&pairs, &count, bad[i], strlen(bad[i]), 10), AIRGAP_EINVALID);
    assert_ptr_equal(pairs, (http_query_pair *)0x1); /* outputs untouched */
    assert_int_equal(count, 99);
    assert_non_null(strstr(airgap_error_last(), "percent"));
  }
  http_query_pair *pairs = NULL;
  size_t count = 0;
  assert_int_equal(http_query_parse(&pairs, &count, "a=1&b=2&c=3&d=4", 15, 3), AIRGAP_ETOOBIG);
  assert_null(pairs);
}

/* HTTP_QUERY_KEEP_NUL: a %00 stays inside a value, counted by value_len, so
 * that a caller reading by length sees all of it; names still refuse it. */
static void test_http_server_query_parse_keeps_nul(void **state) {
  http_query_pair *pairs = NULL;
  size_t count = 0;
  const char *raw = "a=x%00y&b=plain&c";
  assert_int_equal(
      http_query_parse_flags(&pairs, &count, raw, strlen(raw), 10, HTTP_QUERY_KEEP_NUL), 0);
  assert_int_equal(count, 3);
  assert_int_equal(pairs[0].value_len, 3);
  assert_memory_equal(pairs[0].value, "x\0y", 4); /* NUL-terminated after the 3 bytes */
  assert_int_equal(pairs[1].value_len, 5);
  assert_int_equal(pairs[2].value_len, 0);
  http_query_free(pairs, count);
  pairs = NULL;
  assert_int_equal(http_query_parse_flags(&pairs, &count, "a%00b=1", 7, 10, HTTP_QUERY_KEEP_NUL),
                   AIRGAP_EINVALID);
  assert_null(pairs);
  assert_non_null(strstr(airgap_error_last(), "NUL"));
  /* Without the flag, the NUL is refused and says so. */
  assert_int_equal(http_query_parse(&pairs, &count, "a=x%00y", 7, 10), AIRGAP_EINVALID);
  assert_non_null(strstr(airgap_error_last(), "NUL"));
  assert_int_equal(http_query_parse(&pairs, &count, "a=%4", 4, 10), AIRGAP_EINVALID);
  assert_null(strstr(airgap_error_last(), "NUL"));
}

/* ---- tests: slow clients (slowloris) ---- */

#define SLOW_CONNECTIONS 2000
#define SLOW_SOURCES 8       /* 127.0.0.1 .. 127.0.0.8: the fresh client's own address too */
#define SLOW_ATTACK_MAX_S 25 /* the attack stops by itself, whatever happens */
#define SLOW_ROUND_MS 200    /* one byte per connection per round */

typedef struct slow_attack {
  uint16_t port;
  int fds[SLOW_CONNECTIONS];
  int closed[SLOW_CONNECTIONS];
  atomic_int opened;   /* connections the attacker has started */
  atomic_int n_closed; /* connections the server closed */
  atomic_int stop;
  double all_closed_at; /* seconds since start, 0 when not all */
} slow_attack;

static void slow_open(slow_attack *attack, int i) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  assert_true(fd >= 0);
  struct sockaddr_in src = {.sin_family = AF_INET,
                            .sin_addr.s_addr =
                                htonl(INADDR_LOOPBACK + (uint32_t)(i % SLOW_SOURCES))};
  assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
  struct sockaddr_in dst = {.sin_family = AF_INET,
                            .sin_port = htons(attack->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int rc = connect(fd, (struct sockaddr *)&dst, sizeof(dst));
  assert_true(rc == 0 || errno == EINPROGRESS);
  attack->fds[i] = fd;
}

/* Sends the next byte of an endless header; notices when the server closed. */
static void slow_step(slow_attack *attack, int i, size_t round) {
  static const char prefix[] = "GET /echo/slow HTTP/1.1\r\nHost: a\r\nX-Slow: ";
  if (attack->closed[i])
    return;
  char probe;
  ssize_t r = recv(attack->fds[i], &probe, 1, MSG_DONTWAIT);
  int gone = r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN);
  if (!gone) {
    char byte = round < sizeof(prefix) - 1 ? prefix[round] : 'a';
    ssize_t w = send(attack->fds[i], &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    gone = w < 0 && (errno == EPIPE || errno == ECONNRESET || errno == ECONNREFUSED);
  }
  if (gone) {
    attack->closed[i] = 1;
    atomic_fetch_add(&attack->n_closed, 1);
  }
}

static void *slow_attack_main(void *arg) {
  slow_attack *attack = arg;
  double start = now_s();
  /* Open in bursts so that the listen backlog is not what refuses them. */
  for (size_t round = 0; !atomic_load(&attack->stop); round++) {
    int opened = atomic_load(&attack->opened);
    for (int k = 0; k < 250 && opened < SLOW_CONNECTIONS; k++)
      slow_open(attack, opened++);
    atomic_store(&attack->opened, opened);
    for (int i = 0; i < opened; i++)
      slow_step(attack, i, round);
    if (atomic_load(&attack->n_closed) == SLOW_CONNECTIONS) {
      attack->all_closed_at = now_s() - start;
      break;
    }
    if (now_s() - start > SLOW_ATTACK_MAX_S)
      break;
    sleep_ms(SLOW_ROUND_MS);
  }
  for (int i = 0; i < atomic_load(&attack->opened); i++)
    close(attack->fds[i]);
  return NULL;
}

static void test_http_server_slow_clients(void **state) {
  /* 2,000 client sockets plus the server's own in this one process. */
  struct rlimit rl;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_cur < 3 * SLOW_CONNECTIONS) {
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 3 * SLOW_CONNECTIONS
                      ? 3 * SLOW_CONNECTIONS
                      : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur < SLOW_CONNECTIONS + 600)
    skip(); /* cannot hold the attack's sockets here */
  http_server_options options = {.listen = "127.0.0.1:0",
                                 .handler = handle_routes,
                                 .header_timeout = 2,
                                 .connection_timeout = 30,
                                 .max_connections = 400,
                                 .max_connections_per_peer = 100};
  http_server *server = start(&options);
  slow_attack *attack = calloc(1, sizeof(*attack));
  assert_non_null(attack);
  attack->port = http_server_port(server);
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, slow_attack_main, attack), 0);
  while (atomic_load(&attack->opened) < SLOW_CONNECTIONS)
    sleep_ms(50);

  /* While every trickling connection is open or being opened, fresh clients
   * (from 127.0.0.1, an address the attack uses too) are answered at once. */
  for (int probe = 0; probe < 3; probe++) {
    double t0 = now_s();
    char *body = NULL;
    long status = send_req(server, "GET", "/echo/fresh", NULL, 0, &body);
    double took = now_s() - t0;
    if (status != 200 || took > 3.0)
      fprintf(stderr, "fresh client: status %ld after %.2f s\n", status, took);
    assert_int_equal(status, 200);
    assert_true(took < 3.0);
    assert_non_null(strstr(body, "\"path\":\"/echo/fresh\""));
    free(body);
    sleep_ms(300);
  }
  pthread_join(thread, NULL);
  int closed = atomic_load(&attack->n_closed);
  if (closed != SLOW_CONNECTIONS)
    fprintf(stderr, "the server closed %d of %d trickling connections\n", closed, SLOW_CONNECTIONS);
  /* Every trickling connection was closed by the server, none held until the
   * attacker gave up. */
  assert_int_equal(closed, SLOW_CONNECTIONS);
  assert_true(attack->all_closed_at > 0 && attack->all_closed_at < SLOW_ATTACK_MAX_S);
  free(attack);
  assert_int_equal(send_req(server, "GET", "/echo/after", NULL, 0, NULL), 200);
  http_server_free(server);
}

/* A kept-alive connection that starts a second request and trickles it is
 * closed at the idle deadline, not kept as long as bytes keep coming. */
static void test_http_server_header_deadline(void **state) {
  http_server_options options = {.listen = "127.0.0.1:0",
                                 .handler = handle_routes,
                                 .header_timeout = 1,
                                 .connection_timeout = 2};
  http_server *server = start(&options);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET,
                             .sin_port = htons(http_server_port(server)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  static const char first[] = "GET /echo/one HTTP/1.1\r\nHost: a\r\n\r\n";
  assert_int_equal(send(fd, first, strlen(first), MSG_NOSIGNAL), (ssize_t)strlen(first));
  char buf[4096];
  struct timeval tv = {3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
  assert_true(n > 12);
  assert_true(strncmp(buf, "HTTP/1.1 200", 12) == 0);
  /* Now trickle the next request's headers, a byte every 100 ms. */
  double t0 = now_s();
  static const char second[] = "GET /echo/two HTTP/1.1\r\nX-Slow: ";
  int closed = 0;
  for (size_t i = 0; now_s() - t0 < 8 && !closed; i++) {
    char byte = i < sizeof(second) - 1 ? second[i] : 'a';
    if (send(fd, &byte, 1, MSG_NOSIGNAL) != 1)
      closed = 1;
    ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
      closed = 1;
    sleep_ms(100);
  }
  double took = now_s() - t0;
  close(fd);
  assert_true(closed);
  assert_true(took > 1.5 && took < 4.0); /* the idle deadline (2 s), not the header one */

  /* A fresh connection trickling its first request gets header_timeout. */
  fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  t0 = now_s();
  closed = 0;
  for (size_t i = 0; now_s() - t0 < 8 && !closed; i++) {
    char byte = i < sizeof(second) - 1 ? second[i] : 'a';
    if (send(fd, &byte, 1, MSG_NOSIGNAL) != 1)
      closed = 1;
    ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
      closed = 1;
    sleep_ms(100);
  }
  took = now_s() - t0;
  close(fd);
  assert_true(closed);
  assert_true(took > 0.5 && took < 2.5);
  http_server_free(server);
}

static void test_http_server_percent_decode(void **state) {
  size_t len = 0;
  char *s = http_percent_decode("a+b%2Bc%20", 10, 0, 1, &len);
  assert_string_equal(s, "a+b+c ");
  assert_int_equal(len, 6);
  free(s);
  s = http_percent_decode("a+b", 3, 1, 1, NULL);
  assert_string_equal(s, "a b");
  free(s);
  /* %00 is kept (with its length) when NUL is allowed. */
  s = http_percent_decode("x%00y", 5, 0, 0, &len);
  assert_non_null(s);
  assert_int_equal(len, 3);
  assert_memory_equal(s, "x\0y", 3);
  free(s);
  assert_null(http_percent_decode("x%00y", 5, 0, 1, NULL));
  assert_null(http_percent_decode("%e", 2, 0, 1, NULL));
  assert_null(http_percent_decode("%-1", 3, 0, 1, NULL));
}

int main(void) {
  http_client_global_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_http_server_raw_path_query_headers),
      cmocka_unit_test(test_http_server_routing_404_405),
      cmocka_unit_test(test_http_server_response_headers),
      cmocka_unit_test(test_http_server_malformed_requests),
      cmocka_unit_test(test_http_server_ambiguous_framing),
      cmocka_unit_test(test_http_server_bad_listen_addresses),
      cmocka_unit_test(test_http_server_bounded_body),
      cmocka_unit_test(test_http_server_spill_to_file),
      cmocka_unit_test(test_http_server_suspend_resume),
      cmocka_unit_test(test_http_server_answer_from_other_thread),
      cmocka_unit_test(test_http_server_free_answers_parked_requests),
      cmocka_unit_test(test_http_server_free_while_handler_runs),
      cmocka_unit_test(test_http_server_done_follows_answer),
      cmocka_unit_test(test_http_server_done_when_client_leaves),
      cmocka_unit_test(test_http_server_listen_fd),
      cmocka_unit_test(test_http_server_fd_and_address_together),
      cmocka_unit_test(test_http_server_streamed_response),
      cmocka_unit_test(test_http_server_fd_response),
      cmocka_unit_test(test_http_server_stream_parks_until_woken),
      cmocka_unit_test(test_http_server_free_ends_parked_streams),
      cmocka_unit_test(test_http_server_query_parse),
      cmocka_unit_test(test_http_server_query_parse_rejects_bad_input),
      cmocka_unit_test(test_http_server_query_parse_keeps_nul),
      cmocka_unit_test(test_http_server_percent_decode),
      cmocka_unit_test(test_http_server_header_deadline),
      cmocka_unit_test(test_http_server_slow_clients),
      cmocka_unit_test(test_http_server_body_stream_and_trailers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
