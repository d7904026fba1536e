/*
 * test_docker_protocol.c — common/docker against a scripted engine on a unix socket.
 *
 * test_docker.c runs the real engine; this file plays engines the real one
 * never is on this machine: an older API version (version negotiation), and
 * hostile or broken log streams (bad frame headers, a stream cut mid-frame,
 * frames split across reads), because the demultiplexer parses bytes from
 * outside the process. The scripted engine answers each request from a table
 * of path prefixes.
 */
#include "common/docker.h"
#include "common/error.h"
#include "common/http_client.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

typedef struct rule {
  const char *prefix; /* request line prefix, e.g. "GET /_ping" */
  const char *head;   /* status line and headers, without the blank line */
  const char *body;
  size_t body_len;
} rule;

typedef struct engine {
  int listen_fd;
  char dir[64];
  char path[108];
  pthread_t thread;
  const rule *rules;
  size_t rule_count;
  char seen[16][256]; /* request lines received */
  int seen_count;
} engine;

static void *engine_main(void *arg) {
  engine *e = arg;
  for (;;) {
    int fd = accept(e->listen_fd, NULL, NULL);
    if (fd < 0)
      return NULL; /* listen socket shut down: done */
    char req[8192];
    size_t len = 0;
    while (len < sizeof(req) - 1) {
      ssize_t n = read(fd, req + len, sizeof(req) - 1 - len);
      if (n <= 0)
        break;
      len += (size_t)n;
      req[len] = '\0';
      if (strstr(req, "\r\n\r\n"))
        break;
    }
    req[len] = '\0';
    char *eol = strstr(req, "\r\n");
    if (eol && e->seen_count < 16)
      snprintf(e->seen[e->seen_count++], sizeof(e->seen[0]), "%.*s", (int)(eol - req), req);
    const rule *r = NULL;
    for (size_t i = 0; i < e->rule_count && !r; i++)
      if (strncmp(req, e->rules[i].prefix, strlen(e->rules[i].prefix)) == 0)
        r = &e->rules[i];
    char head[1024];
    int n =
        r ? snprintf(head, sizeof(head), "%s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     r->head, r->body_len)
          : snprintf(head, sizeof(head),
                     "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    send(fd, head, (size_t)n, MSG_NOSIGNAL);
    /* Body in small pieces so that frames straddle reads on the client side. */
    for (size_t off = 0; r && off < r->body_len; off += 3) {
      size_t piece = r->body_len - off < 3 ? r->body_len - off : 3;
      send(fd, r->body + off, piece, MSG_NOSIGNAL);
    }
    close(fd);
  }
}

static engine *engine_start(const rule *rules, size_t count) {
  engine *e = calloc(1, sizeof(*e));
  assert_non_null(e);
  e->rules = rules;
  e->rule_count = count;
  snprintf(e->dir, sizeof(e->dir), "/tmp/airgap-test-engine-XXXXXX");
  assert_non_null(mkdtemp(e->dir));
  snprintf(e->path, sizeof(e->path), "%s/docker.sock", e->dir);
  e->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(e->listen_fd >= 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  memcpy(addr.sun_path, e->path, strlen(e->path) + 1);
  assert_int_equal(bind(e->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  assert_int_equal(listen(e->listen_fd, 8), 0);
  assert_int_equal(pthread_create(&e->thread, NULL, engine_main, e), 0);
  return e;
}

/* Stops serving; e->seen may be read afterwards. Then free it with engine_free. */
static void engine_stop(engine *e) {
  shutdown(e->listen_fd, SHUT_RDWR);
  pthread_join(e->thread, NULL);
  close(e->listen_fd);
  unlink(e->path);
  rmdir(e->dir);
}

static void engine_free(engine *e) { free(e); }

static docker_client *client_for(engine *e) {
  char host[160];
  snprintf(host, sizeof(host), "unix://%s", e->path);
  docker_client *c = NULL;
  assert_int_equal(docker_client_new(&c, host), 0);
  return c;
}

#define PING_141 "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: text/plain"
#define INSPECT_HEAD "HTTP/1.1 200 OK\r\nContent-Type: application/json"
#define INSPECT_BODY "{\"Id\":\"abc\",\"Config\":{\"Tty\":false}}"
#define LOGS_HEAD "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream"

typedef struct captured {
  char out[256];
  size_t out_len;
  char err[256];
  size_t err_len;
  int calls;
} captured;

static int capture(int stream, const char *data, size_t len, void *payload) {
  captured *c = payload;
  c->calls++;
  char *buf = stream == DOCKER_STREAM_STDERR ? c->err : c->out;
  size_t *used = stream == DOCKER_STREAM_STDERR ? &c->err_len : &c->out_len;
  if (*used + len < 256) {
    memcpy(buf + *used, data, len);
    *used += len;
    buf[*used] = '\0';
  }
  return 0;
}

static void test_docker_protocol_negotiates_older_engine(void **state) {
  static const rule rules[] = {
      {"GET /_ping", "HTTP/1.1 200 OK\r\nApi-Version: 1.40", "OK", 2},
      {"GET /v1.40/images/busybox/json", INSPECT_HEAD, "{\"Id\":\"sha256:1\"}", 17},
  };
  engine *e = engine_start(rules, 2);
  docker_client *c = client_for(e);
  json_t *image = NULL;
  assert_int_equal(docker_image_inspect(&image, c, "busybox"), 0);
  assert_string_equal(json_string_value(json_object_get(image, "Id")), "sha256:1");
  json_decref(image);
  assert_string_equal(docker_api_version(c), "1.40");
  docker_client_free(c);
  engine_stop(e);
  engine_free(e);
}

static void test_docker_protocol_keeps_pinned_version_on_newer_engine(void **state) {
  static const rule rules[] = {
      {"GET /_ping", "HTTP/1.1 200 OK\r\nApi-Version: 1.47", "OK", 2},
      {"GET /v1.41/containers/abc/json", INSPECT_HEAD, INSPECT_BODY, sizeof(INSPECT_BODY) - 1},
  };
  engine *e = engine_start(rules, 2);
  docker_client *c = client_for(e);
  json_t *info = NULL;
  assert_int_equal(docker_container_inspect(&info, c, "abc"), 0);
  json_decref(info);
  assert_string_equal(docker_api_version(c), "1.41");
  /* The ping happens once per client. */
  assert_int_equal(docker_container_inspect(&info, c, "abc"), 0);
  json_decref(info);
  docker_client_free(c);
  engine_stop(e);
  int pings = 0;
  for (int i = 0; i < e->seen_count; i++)
    pings += strncmp(e->seen[i], "GET /_ping", 10) == 0;
  assert_int_equal(pings, 1);
  engine_free(e);
}

static void test_docker_protocol_demuxes_split_frames(void **state) {
  /* stdout "hello ", stderr "oops\n", an empty frame, stdout "world\n"; sent 3 bytes at a time. */
  static const char logs[] = "\x01\0\0\0\0\0\0\x06"
                             "hello "
                             "\x02\0\0\0\0\0\0\x05"
                             "oops\n"
                             "\x01\0\0\0\0\0\0\0"
                             "\x01\0\0\0\0\0\0\x06"
                             "world\n";
  static const rule rules[] = {
      {"GET /_ping", PING_141, "OK", 2},
      {"GET /v1.41/containers/abc/json", INSPECT_HEAD, INSPECT_BODY, sizeof(INSPECT_BODY) - 1},
      {"GET /v1.41/containers/abc/logs", LOGS_HEAD, logs, sizeof(logs) - 1},
  };
  engine *e = engine_start(rules, 3);
  docker_client *c = client_for(e);
  captured got = {0};
  assert_int_equal(docker_container_logs(c, "abc", NULL, capture, &got), 0);
  assert_string_equal(got.out, "hello world\n");
  assert_string_equal(got.err, "oops\n");
  docker_client_free(c);
  engine_stop(e);
  engine_free(e);
}

static void test_docker_protocol_rejects_bad_frames(void **state) {
  /* A stream byte of 7, and a JSON error body where frames were promised. */
  static const char bad_stream[] = "\x01\0\0\0\0\0\0\x02ok\x07\0\0\0\0\0\0\x01x";
  static const char not_framed[] = "{\"message\":\"boom\"}";
  static const rule bad_rules[] = {
      {"GET /_ping", PING_141, "OK", 2},
      {"GET /v1.41/containers/abc/json", INSPECT_HEAD, INSPECT_BODY, sizeof(INSPECT_BODY) - 1},
      {"GET /v1.41/containers/abc/logs", LOGS_HEAD, bad_stream, sizeof(bad_stream) - 1},
      {"GET /v1.41/containers/xyz/json", INSPECT_HEAD, INSPECT_BODY, sizeof(INSPECT_BODY) - 1},
      {"GET /v1.41/containers/xyz/logs", LOGS_HEAD, not_framed, sizeof(not_framed) - 1},
  };
  engine *e = engine_start(bad_rules, 5);
  docker_client *c = client_for(e);
  captured got = {0};
  assert_int_equal(docker_container_logs(c, "abc", NULL, capture, &got), AIRGAP_EINVALID);
  assert_string_equal(got.out, "ok"); /* what came before the bad frame was delivered */
  assert_non_null(strstr(airgap_error_last(), "malformed"));
  memset(&got, 0, sizeof(got));
  assert_int_equal(docker_container_logs(c, "xyz", NULL, capture, &got), AIRGAP_EINVALID);
  assert_int_equal(got.calls, 0);
  docker_client_free(c);
  engine_stop(e);
  engine_free(e);
}

/* The container vanished between the inspect and the logs request: the engine
 * answers the logs request 404 with a JSON message. That is "no such
 * container" with the engine's words, not a malformed stream; other error
 * statuses keep their message too, and the callback never sees the body. */
static void test_docker_protocol_logs_error_status(void **state) {
  static const char gone[] = "{\"message\":\"No such container: abc\"}";
  static const char broken[] = "{\"message\":\"log file is corrupt\"}";
  static const char tiny[] = "oops";
  static const rule rules[] = {
      {"GET /_ping", PING_141, "OK", 2},
      {"GET /v1.41/containers/abc/json", INSPECT_HEAD, INSPECT_BODY, sizeof(INSPECT_BODY) - 1},
      {"GET /v1.41/containers/abc/logs", "HTTP/1.1 404 Not Found\r\nContent-Type: application/json",
       gone, sizeof(gone) - 1},
      {"GET /v1.41/containers/def/json", INSPECT_HEAD, INSPECT_BODY, sizeof(INSPECT_BODY) - 1},
      {"GET /v1.41/containers/def/logs", "HTTP/1.1 500 Internal Server Error", broken,
       sizeof(broken) - 1},
      {"GET /v1.41/containers/ghi/json", INSPECT_HEAD, INSPECT_BODY, sizeof(INSPECT_BODY) - 1},
      {"GET /v1.41/containers/ghi/logs", "HTTP/1.1 503 Service Unavailable", tiny,
       sizeof(tiny) - 1},
  };
  engine *e = engine_start(rules, 7);
  docker_client *c = client_for(e);
  captured got = {0};
  assert_int_equal(docker_container_logs(c, "abc", NULL, capture, &got), AIRGAP_ENOTFOUND);
  assert_non_null(strstr(airgap_error_last(), "No such container: abc"));
  assert_null(strstr(airgap_error_last(), "malformed"));
  assert_int_equal(got.calls, 0);
  assert_int_equal(docker_container_logs(c, "def", NULL, capture, &got), AIRGAP_ERROR);
  assert_non_null(strstr(airgap_error_last(), "HTTP 500: log file is corrupt"));
  assert_int_equal(got.calls, 0);
  /* A body shorter than a frame header is still the message. */
  assert_int_equal(docker_container_logs(c, "ghi", NULL, capture, &got), AIRGAP_ERROR);
  assert_non_null(strstr(airgap_error_last(), "HTTP 503: oops"));
  assert_int_equal(got.calls, 0);
  docker_client_free(c);
  engine_stop(e);
  engine_free(e);
}

static void test_docker_protocol_truncated_frame(void **state) {
  /* The header promises 100 bytes; the stream ends after 4. */
  static const char cut[] = "\x01\0\0\0\0\0\0\x64"
                            "abcd";
  static const rule rules[] = {
      {"GET /_ping", PING_141, "OK", 2},
      {"GET /v1.41/containers/abc/json", INSPECT_HEAD, INSPECT_BODY, sizeof(INSPECT_BODY) - 1},
      {"GET /v1.41/containers/abc/logs", LOGS_HEAD, cut, sizeof(cut) - 1},
  };
  engine *e = engine_start(rules, 3);
  docker_client *c = client_for(e);
  captured got = {0};
  assert_int_equal(docker_container_logs(c, "abc", NULL, capture, &got), AIRGAP_EINVALID);
  assert_non_null(strstr(airgap_error_last(), "mid-frame"));
  assert_string_equal(got.out, "abcd");
  docker_client_free(c);
  engine_stop(e);
  engine_free(e);
}

static void test_docker_protocol_engine_errors(void **state) {
  static const char conflict[] = "{\"message\":\"Conflict. The container name is in use\"}";
  static const char gone[] = "{\"message\":\"No such container: abc\"}";
  static const char vanished[] =
      "{\"StatusCode\":0,\"Error\":{\"Message\":\"container vanished\"}}";
  static const rule rules[] = {
      {"GET /_ping", PING_141, "OK", 2},
      {"POST /v1.41/containers/create?name=taken", "HTTP/1.1 409 Conflict", conflict,
       sizeof(conflict) - 1},
      {"POST /v1.41/containers/abc/start", "HTTP/1.1 404 Not Found", gone, sizeof(gone) - 1},
      {"POST /v1.41/containers/abc/wait", "HTTP/1.1 200 OK", vanished, sizeof(vanished) - 1},
      {"GET /v1.41/containers/json", "HTTP/1.1 200 OK", "[]", 2},
  };
  engine *e = engine_start(rules, 5);
  docker_client *c = client_for(e);
  json_t *config = json_pack("{s:s}", "Image", "busybox");
  char *id = NULL;
  assert_int_equal(docker_container_create(&id, c, "taken", config), AIRGAP_EEXISTS);
  assert_non_null(strstr(airgap_error_last(), "name is in use"));
  assert_null(id);
  /* A name outside Docker's character set is refused before any request. */
  assert_int_equal(docker_container_create(&id, c, "a+b", config), AIRGAP_EINVALID);
  assert_int_equal(docker_container_start(c, "abc"), AIRGAP_ENOTFOUND);
  assert_non_null(strstr(airgap_error_last(), "No such container: abc"));
  int code = -1;
  assert_int_equal(docker_container_wait(&code, c, "abc", 5000), AIRGAP_ERROR);
  assert_non_null(strstr(airgap_error_last(), "container vanished"));
  assert_int_equal(code, -1);
  /* The label filter travels as URL-encoded JSON. */
  json_t *list = NULL;
  assert_int_equal(docker_container_list(&list, c, "airgap.job=j 1&x"), 0);
  assert_int_equal(json_array_size(list), 0);
  json_decref(list);
  json_decref(config);
  docker_client_free(c);
  engine_stop(e);
  int found = 0;
  for (int i = 0; i < e->seen_count; i++)
    found |= strstr(e->seen[i], "filters=%7B%22label%22%3A%5B%22airgap.job%3Dj%201%26x%22%5D%7D") !=
             NULL;
  assert_true(found);
  engine_free(e);
}

int main(void) {
  http_client_global_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_docker_protocol_negotiates_older_engine),
      cmocka_unit_test(test_docker_protocol_keeps_pinned_version_on_newer_engine),
      cmocka_unit_test(test_docker_protocol_demuxes_split_frames),
      cmocka_unit_test(test_docker_protocol_rejects_bad_frames),
      cmocka_unit_test(test_docker_protocol_logs_error_status),
      cmocka_unit_test(test_docker_protocol_truncated_frame),
      cmocka_unit_test(test_docker_protocol_engine_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
