/*
 * test_http_client.c — common/http_client against a scripted raw HTTP peer.
 *
 * The peer is a real socket server (TCP on 127.0.0.1 or a unix socket) in a
 * thread of this test: it reads one request, records it, and writes back
 * exactly the bytes a test scripted, optionally after a delay. Raw bytes let
 * the tests play a slow, oversized or interim-response peer that a correct
 * server would never be.
 */
#include "common/error.h"
#include "common/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define REQUEST_MAX (256 * 1024)

typedef struct peer {
  int listen_fd;
  uint16_t port;
  char sock_path[108];
  char dir[64];
  pthread_t thread;
  int joined;
  /* what to answer */
  char *response;
  size_t response_len;
  int delay_ms;
  /* what was received */
  char request[REQUEST_MAX];
  size_t request_len;
} peer;

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads the request head and a Content-Length body. */
static void read_request(peer *p, int fd) {
  p->request_len = 0;
  for (;;) {
    ssize_t n = read(fd, p->request + p->request_len, sizeof(p->request) - 1 - p->request_len);
    if (n <= 0)
      break;
    p->request_len += (size_t)n;
    p->request[p->request_len] = '\0';
    char *end = strstr(p->request, "\r\n\r\n");
    if (!end)
      continue;
    size_t head = (size_t)(end + 4 - p->request);
    size_t body = 0;
    const char *cl = strcasestr(p->request, "\r\ncontent-length:");
    if (cl && cl < end)
      body = strtoul(cl + 17, NULL, 10);
    if (p->request_len >= head + body)
      break;
  }
}

static void *peer_main(void *arg) {
  peer *p = arg;
  int fd = accept(p->listen_fd, NULL, NULL);
  if (fd < 0)
    return NULL;
  read_request(p, fd);
  if (p->delay_ms)
    sleep_ms(p->delay_ms);
  size_t off = 0;
  while (off < p->response_len) {
    ssize_t n = send(fd, p->response + off, p->response_len - off, MSG_NOSIGNAL);
    if (n <= 0)
      break;
    off += (size_t)n;
  }
  /* Give the client time to read before the close (it may have hung up early).
   * The wait is bounded: the client keeps idle connections for reuse. */
  shutdown(fd, SHUT_WR);
  char sink[4096];
  struct pollfd readable = {.fd = fd, .events = POLLIN};
  while (poll(&readable, 1, 500) > 0 && read(fd, sink, sizeof(sink)) > 0) {
  }
  close(fd);
  return NULL;
}

static void peer_respond(peer *p, int delay_ms, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&p->response, fmt, ap);
  va_end(ap);
  assert_true(n >= 0);
  p->response_len = (size_t)n;
  p->delay_ms = delay_ms;
}

static peer *peer_start_tcp(void) {
  peer *p = calloc(1, sizeof(*p));
  assert_non_null(p);
  p->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(p->listen_fd >= 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(p->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  assert_int_equal(listen(p->listen_fd, 4), 0);
  socklen_t len = sizeof(addr);
  assert_int_equal(getsockname(p->listen_fd, (struct sockaddr *)&addr, &len), 0);
  p->port = ntohs(addr.sin_port);
  return p;
}

static peer *peer_start_unix(void) {
  peer *p = calloc(1, sizeof(*p));
  assert_non_null(p);
  snprintf(p->dir, sizeof(p->dir), "/tmp/airgap-test-http-XXXXXX");
  assert_non_null(mkdtemp(p->dir));
  snprintf(p->sock_path, sizeof(p->sock_path), "%s/s.sock", p->dir);
  p->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(p->listen_fd >= 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  memcpy(addr.sun_path, p->sock_path, strlen(p->sock_path) + 1);
  assert_int_equal(bind(p->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  assert_int_equal(listen(p->listen_fd, 4), 0);
  return p;
}

static void peer_run(peer *p) {
  assert_int_equal(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

/* A TCP peer already running, that answers response at once. */
static peer *peer_answering(const char *response) {
  peer *p = peer_start_tcp();
  peer_respond(p, 0, "%s", response);
  peer_run(p);
  return p;
}

/* Waits until the peer has answered, so that its record of the request is complete. */
static void peer_wait(peer *p) {
  if (!p->joined)
    pthread_join(p->thread, NULL);
  p->joined = 1;
}

static void peer_free(peer *p) {
  peer_wait(p);
  close(p->listen_fd);
  if (p->sock_path[0]) {
    unlink(p->sock_path);
    rmdir(p->dir);
  }
  free(p->response);
  free(p);
}

static char *url_of(peer *p, const char *path) {
  char *url = NULL;
  assert_true(asprintf(&url, "http://127.0.0.1:%u%s", p->port, path) > 0);
  return url;
}

static void test_http_client_get_buffers_body_and_headers(void **state) {
  peer *p = peer_start_tcp();
  peer_respond(p, 0,
               "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Thing: Some Value  \r\n"
               "Content-Type: text/plain\r\n\r\nhello");
  peer_run(p);
  char *url = url_of(p, "/a/b?x=1");
  const char *headers[] = {"X-Request: yes", NULL};
  http_client_request req = {.url = url, .headers = headers, .timeout_ms = 5000};
  http_client_response resp = {0};
  assert_int_equal(http_client_send(&resp, &req), 0);
  assert_int_equal(resp.status, 200);
  assert_int_equal(resp.body_len, 5);
  assert_string_equal(resp.body, "hello");
  assert_string_equal(json_string_value(json_object_get(resp.headers, "x-thing")), "Some Value");
  assert_string_equal(json_string_value(json_object_get(resp.headers, "content-type")),
                      "text/plain");
  assert_null(json_object_get(resp.headers, "X-Thing"));
  http_client_response_free(&resp);
  peer_wait(p);
  assert_true(starts_with(p->request, "GET /a/b?x=1 HTTP/1.1\r\n"));
  assert_non_null(strcasestr(p->request, "\r\nX-Request: yes\r\n"));
  peer_free(p);
  free(url);
}

static void test_http_client_post_sends_body_without_expect(void **state) {
  peer *p = peer_start_tcp();
  peer_respond(p, 0, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
  peer_run(p);
  char *url = url_of(p, "/upload");
  /* Big enough that curl would normally ask for 100-continue. */
  size_t len = 200 * 1024;
  char *body = malloc(len);
  assert_non_null(body);
  memset(body, 'z', len);
  http_client_request req = {.method = "PUT", .url = url, .body = body, .body_len = len};
  http_client_response resp = {0};
  double start = now_s();
  assert_int_equal(http_client_send(&resp, &req), 0);
  assert_true(now_s() - start < 0.9); /* no one-second wait for 100 Continue */
  assert_int_equal(resp.status, 201);
  assert_int_equal(resp.body_len, 0);
  assert_non_null(resp.body);
  http_client_response_free(&resp);
  peer_wait(p);
  assert_true(starts_with(p->request, "PUT /upload HTTP/1.1\r\n"));
  assert_non_null(strcasestr(p->request, "\r\nContent-Length: 204800\r\n"));
  assert_null(strcasestr(p->request, "\r\nExpect:"));
  char *got_body = strstr(p->request, "\r\n\r\n");
  assert_non_null(got_body);
  got_body += 4;
  assert_int_equal(p->request_len - (size_t)(got_body - p->request), len);
  assert_int_equal(memcmp(got_body, body, len), 0);
  peer_free(p);
  free(body);
  free(url);
}

static void test_http_client_response_cap(void **state) {
  size_t big = 100000;
  char *payload = malloc(big + 1);
  assert_non_null(payload);
  memset(payload, 'a', big);
  payload[big] = '\0';

  /* Over the cap: refused with ETOOBIG. */
  peer *p = peer_start_tcp();
  peer_respond(p, 0, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s", big, payload);
  peer_run(p);
  char *url = url_of(p, "/big");
  http_client_request req = {.url = url, .max_response = 1000, .timeout_ms = 5000};
  http_client_response resp = {0};
  assert_int_equal(http_client_send(&resp, &req), AIRGAP_ETOOBIG);
  assert_non_null(strstr(airgap_error_last(), "limit of 1000 bytes"));
  assert_null(resp.body);
  peer_free(p);
  free(url);

  /* Exactly at the cap: accepted. */
  p = peer_start_tcp();
  peer_respond(p, 0, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s", big, payload);
  peer_run(p);
  url = url_of(p, "/big");
  req.url = url;
  req.max_response = big;
  assert_int_equal(http_client_send(&resp, &req), 0);
  assert_int_equal(resp.body_len, big);
  assert_int_equal(strlen(resp.body), big);
  http_client_response_free(&resp);
  peer_free(p);
  free(url);
  free(payload);
}

static void test_http_client_timeout(void **state) {
  peer *p = peer_start_tcp();
  peer_respond(p, 1500, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  peer_run(p);
  char *url = url_of(p, "/slow");
  http_client_request req = {.url = url, .timeout_ms = 200};
  http_client_response resp = {0};
  double start = now_s();
  assert_int_equal(http_client_send(&resp, &req), AIRGAP_ETIMEOUT);
  double took = now_s() - start;
  assert_true(took >= 0.15 && took < 1.2);
  assert_non_null(strstr(airgap_error_last(), "timed out"));
  peer_free(p);
  free(url);
}

typedef struct collected {
  char data[256];
  size_t len;
  int calls;
  int stop_after;
} collected;

static int collect(const char *data, size_t len, void *payload) {
  collected *c = payload;
  c->calls++;
  if (c->len + len < sizeof(c->data)) {
    memcpy(c->data + c->len, data, len);
    c->len += len;
  }
  return c->stop_after && c->calls >= c->stop_after ? 1 : 0;
}

static void test_http_client_streams_body(void **state) {
  peer *p = peer_start_tcp();
  peer_respond(p, 0,
               "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
  peer_run(p);
  char *url = url_of(p, "/stream");
  collected c = {0};
  http_client_request req = {.url = url, .on_data = collect, .payload = &c, .max_response = 2};
  http_client_response resp = {0};
  /* max_response bounds only buffered bodies: a streamed one may be longer. */
  assert_int_equal(http_client_send(&resp, &req), 0);
  assert_int_equal(resp.status, 200);
  assert_null(resp.body);
  assert_int_equal(c.len, 7);
  assert_memory_equal(c.data, "abcdefg", 7);
  http_client_response_free(&resp);
  peer_free(p);
  free(url);
}

static void test_http_client_stream_abort(void **state) {
  peer *p = peer_start_tcp();
  peer_respond(p, 0, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789");
  peer_run(p);
  char *url = url_of(p, "/stream");
  collected c = {.stop_after = 1};
  http_client_request req = {.url = url, .on_data = collect, .payload = &c};
  http_client_response resp = {0};
  assert_int_equal(http_client_send(&resp, &req), AIRGAP_ECANCELED);
  assert_int_equal(c.calls, 1);
  peer_free(p);
  free(url);
}

static void test_http_client_unix_socket(void **state) {
  peer *p = peer_start_unix();
  peer_respond(p, 0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nApi-Version: 1.41\r\n\r\nOK");
  peer_run(p);
  http_client_request req = {
      .url = "http://localhost/_ping", .unix_socket = p->sock_path, .timeout_ms = 5000};
  http_client_response resp = {0};
  assert_int_equal(http_client_send(&resp, &req), 0);
  assert_int_equal(resp.status, 200);
  assert_string_equal(resp.body, "OK");
  assert_string_equal(json_string_value(json_object_get(resp.headers, "api-version")), "1.41");
  http_client_response_free(&resp);
  peer_wait(p);
  assert_true(starts_with(p->request, "GET /_ping HTTP/1.1\r\n"));
  peer_free(p);
}

static void test_http_client_unix_socket_missing(void **state) {
  http_client_request req = {.url = "http://localhost/_ping",
                             .unix_socket = "/tmp/airgap-no-such-dir/none.sock"};
  http_client_response resp = {0};
  assert_int_equal(http_client_send(&resp, &req), AIRGAP_ERROR);
  assert_non_null(strstr(airgap_error_last(), "/tmp/airgap-no-such-dir/none.sock"));
}

static void test_http_client_connection_refused(void **state) {
  /* A port that was just free and has no listener. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, (struct sockaddr *)&addr, &len);
  close(fd);
  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", ntohs(addr.sin_port));
  http_client_request req = {.url = url};
  http_client_response resp = {0};
  assert_int_equal(http_client_send(&resp, &req), AIRGAP_ERROR);
  assert_non_null(strstr(airgap_error_last(), url));
}

static void test_http_client_interim_response_headers_dropped(void **state) {
  peer *p = peer_start_tcp();
  peer_respond(p, 0,
               "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
               "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nX-Final: 2\r\n\r\n");
  peer_run(p);
  char *url = url_of(p, "/");
  http_client_request req = {.method = "POST", .url = url, .body = "x", .body_len = 1};
  http_client_response resp = {0};
  assert_int_equal(http_client_send(&resp, &req), 0);
  assert_int_equal(resp.status, 202);
  assert_null(json_object_get(resp.headers, "x-interim"));
  assert_string_equal(json_string_value(json_object_get(resp.headers, "x-final")), "2");
  http_client_response_free(&resp);
  peer_free(p);
  free(url);
}

/* A thread's calls share one kept handle: nothing of one call may reach the
 * next (method, body, headers, unix socket, nobody). */
static void test_http_client_calls_do_not_inherit_options(void **state) {
  peer *u = peer_start_unix();
  peer_respond(u, 0, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  peer_run(u);
  const char *first_headers[] = {"X-First: 1", NULL};
  http_client_request put = {.method = "PUT",
                             .url = "http://localhost/v1.41/x",
                             .unix_socket = u->sock_path,
                             .headers = first_headers,
                             .body = "abc",
                             .body_len = 3};
  http_client_response resp = {0};
  assert_int_equal(http_client_send(&resp, &put), 0);
  http_client_response_free(&resp);
  peer_free(u);

  peer *head = peer_answering("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n");
  char *head_url = url_of(head, "/h");
  http_client_request head_req = {.method = "HEAD", .url = head_url};
  assert_int_equal(http_client_send(&resp, &head_req), 0);
  http_client_response_free(&resp);
  peer_wait(head);
  assert_true(starts_with(head->request, "HEAD /h HTTP/1.1\r\n"));
  peer_free(head);
  free(head_url);

  peer *p = peer_answering("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  char *url = url_of(p, "/second");
  http_client_request get = {.url = url, .timeout_ms = 5000};
  assert_int_equal(http_client_send(&resp, &get), 0);
  assert_int_equal(resp.status, 200);
  assert_string_equal(resp.body, "ok"); /* a body: not a HEAD any more */
  http_client_response_free(&resp);
  peer_wait(p);
  assert_true(starts_with(p->request, "GET /second HTTP/1.1\r\n"));
  assert_null(strcasestr(p->request, "X-First"));
  assert_null(strcasestr(p->request, "Content-Length"));
  peer_free(p);
  free(url);
}

typedef struct nested {
  char *inner_url;
  int inner_rc;
  long inner_status;
  char inner_body[16];
  int calls;
} nested;

/* A streaming callback that makes a request of its own, while the outer
 * request is still using this thread's handle. */
static int call_from_callback(const char *data, size_t len, void *payload) {
  (void)data;
  (void)len;
  nested *n = payload;
  if (n->calls++ > 0)
    return 0;
  http_client_request req = {.url = n->inner_url, .timeout_ms = 5000};
  http_client_response resp = {0};
  n->inner_rc = http_client_send(&resp, &req);
  n->inner_status = resp.status;
  if (resp.body)
    snprintf(n->inner_body, sizeof(n->inner_body), "%s", resp.body);
  http_client_response_free(&resp);
  return 0;
}

static void test_http_client_call_from_stream_callback(void **state) {
  peer *outer = peer_answering("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nouter");
  peer *inner = peer_answering("HTTP/1.1 202 Accepted\r\nContent-Length: 5\r\n\r\ninner");
  char *outer_url = url_of(outer, "/outer");
  nested n = {.inner_url = url_of(inner, "/inner")};
  http_client_request req = {.url = outer_url, .on_data = call_from_callback, .payload = &n};
  http_client_response resp = {0};
  assert_int_equal(http_client_send(&resp, &req), 0);
  assert_int_equal(resp.status, 200);
  assert_int_equal(n.inner_rc, 0);
  assert_int_equal(n.inner_status, 202);
  assert_string_equal(n.inner_body, "inner");
  http_client_response_free(&resp);
  /* And the thread's handle is free again afterwards. */
  peer *after = peer_answering("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter");
  char *after_url = url_of(after, "/after");
  http_client_request again = {.url = after_url, .timeout_ms = 5000};
  assert_int_equal(http_client_send(&resp, &again), 0);
  assert_string_equal(resp.body, "after");
  http_client_response_free(&resp);
  peer_free(outer);
  peer_free(inner);
  peer_free(after);
  free(outer_url);
  free(n.inner_url);
  free(after_url);
}

static void test_http_client_json_round_trip(void **state) {
  peer *p = peer_start_tcp();
  peer_respond(p, 0,
               "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: 17\r\n"
               "\r\n{\"error\":\"taken\"}");
  peer_run(p);
  char *url = url_of(p, "/v1/jobs");
  json_t *body = json_pack("{s:s, s:i}", "name", "x\"y", "n", 3);
  const char *headers[] = {"Authorization: Bearer t0k", NULL};
  json_t *reply = NULL;
  long status = 0;
  assert_int_equal(http_client_json(&reply, &status, NULL, url, headers, body, 5000), 0);
  assert_int_equal(status, 409);
  assert_string_equal(json_string_value(json_object_get(reply, "error")), "taken");
  json_decref(reply);
  peer_wait(p);
  assert_true(starts_with(p->request, "POST /v1/jobs HTTP/1.1\r\n"));
  assert_non_null(strcasestr(p->request, "\r\nContent-Type: application/json\r\n"));
  assert_non_null(strcasestr(p->request, "\r\nAuthorization: Bearer t0k\r\n"));
  json_t *sent = json_loads(strstr(p->request, "\r\n\r\n") + 4, 0, NULL);
  assert_non_null(sent);
  assert_true(json_equal(sent, body));
  json_decref(sent);
  json_decref(body);
  peer_free(p);
  free(url);
}

static void test_http_client_json_rejects_non_json(void **state) {
  peer *p = peer_start_tcp();
  peer_respond(p, 0, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 9\r\n\r\n<html>oh!");
  peer_run(p);
  char *url = url_of(p, "/");
  json_t *reply = (json_t *)0x1;
  long status = -7;
  assert_int_equal(http_client_json(&reply, &status, "GET", url, NULL, NULL, 5000),
                   AIRGAP_EINVALID);
  assert_ptr_equal(reply, (json_t *)0x1); /* outputs untouched on failure */
  assert_int_equal(status, -7);
  assert_non_null(strstr(airgap_error_last(), "not JSON"));
  assert_non_null(strstr(airgap_error_last(), "502"));
  peer_free(p);
  free(url);
}

static void test_http_client_json_empty_reply(void **state) {
  peer *p = peer_start_tcp();
  peer_respond(p, 0, "HTTP/1.1 204 No Content\r\n\r\n");
  peer_run(p);
  char *url = url_of(p, "/");
  json_t *reply = (json_t *)0x1;
  long status = 0;
  assert_int_equal(http_client_json(&reply, &status, "DELETE", url, NULL, NULL, 5000), 0);
  assert_null(reply);
  assert_int_equal(status, 204);
  peer_wait(p);
  assert_true(starts_with(p->request, "DELETE / HTTP/1.1\r\n"));
  peer_free(p);
  free(url);
}

int main(void) {
  http_client_global_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_http_client_get_buffers_body_and_headers),
      cmocka_unit_test(test_http_client_post_sends_body_without_expect),
      cmocka_unit_test(test_http_client_response_cap),
      cmocka_unit_test(test_http_client_timeout),
      cmocka_unit_test(test_http_client_streams_body),
      cmocka_unit_test(test_http_client_stream_abort),
      cmocka_unit_test(test_http_client_unix_socket),
      cmocka_unit_test(test_http_client_unix_socket_missing),
      cmocka_unit_test(test_http_client_connection_refused),
      cmocka_unit_test(test_http_client_interim_response_headers_dropped),
      cmocka_unit_test(test_http_client_calls_do_not_inherit_options),
      cmocka_unit_test(test_http_client_call_from_stream_callback),
      cmocka_unit_test(test_http_client_json_round_trip),
      cmocka_unit_test(test_http_client_json_rejects_non_json),
      cmocka_unit_test(test_http_client_json_empty_reply),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
