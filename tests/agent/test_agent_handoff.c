/* The agent → supervisor hand-off: what agent_handoff_write puts in the pipe
 * agent_handoff_read gives back, the spec's text byte for byte (never
 * re-encoded), refusals of malformed and oversized input, and the run
 * directory's one name. */
#include "agent/agent_int.h"
#include "common/error.h"
#include "common/fs.h"

#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* Not canonical on purpose (spaces, key order, an escaped slash, a
 * non-ASCII secret): the supervisor must see exactly what the queue sent. */
#define SPEC                                                                                       \
  "{\"script\": \"echo a\\/b\\nexit 3\",  \"image\":\"busybox\", \"repo\":\"/r\","                 \
  "\"secrets\":{\"TOKEN\":\"s\u00e9cret\"}}"

typedef struct writer {
  int fd;
  const char *data;
  size_t len;
} writer;

static void *write_then_close(void *arg) {
  writer *w = arg;
  fs_write_all(w->fd, w->data, w->len);
  close(w->fd);
  return NULL;
}

/* Reads what data/len gives through a pipe (a thread writes it). */
static int read_from(agent_handoff *out, const char *data, size_t len) {
  int fds[2];
  pthread_t t;
  assert_int_equal(pipe(fds), 0);
  writer w = {fds[1], data, len};
  assert_int_equal(pthread_create(&t, NULL, write_then_close, &w), 0);
  int rc = agent_handoff_read(out, fds[0]);
  close(fds[0]); /* a writer past the bound gets EPIPE rather than blocking */
  pthread_join(t, NULL);
  return rc;
}

static void test_agent_handoff_roundtrip_keeps_the_spec_text(void **state) {
  (void)state;
  agent_handoff in = {
      .job = {.queue_url = "http://127.0.0.1:1",
              .token = "aq_tok",
              .agent_id = "a1",
              .job_id = "0123456789abcdef",
              .lease = "l1",
              .lease_ttl = 7,
              .spec_json = SPEC,
              .cache_dir = "/c",
              .work_dir = "/w",
              .attempt = 3,
              .network = "none",
              .pause_path = "/p",
              .user = NULL,
              .pull = AGENT_PULL_NEVER,
              .docker_host = NULL,
              .sandbox_id = "sb",
              .allow_local_repos = 1},
      .parent = 42,
      .log_level = 2,
  };
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(agent_handoff_write(fds[1], &in), 0);
  close(fds[1]);
  agent_handoff out;
  assert_int_equal(agent_handoff_read(&out, fds[0]), 0);
  close(fds[0]);
  assert_string_equal(out.job.spec_json, SPEC);
  assert_string_equal(out.job.queue_url, in.job.queue_url);
  assert_string_equal(out.job.token, "aq_tok");
  assert_string_equal(out.job.job_id, in.job.job_id);
  assert_string_equal(out.job.lease, "l1");
  assert_string_equal(out.job.work_dir, "/w");
  assert_string_equal(out.job.sandbox_id, "sb");
  assert_null(out.job.user);
  assert_null(out.job.docker_host);
  assert_int_equal(out.job.lease_ttl, 7);
  assert_int_equal(out.job.attempt, 3);
  assert_int_equal(out.job.allow_local_repos, 1);
  assert_int_equal(out.job.pull, AGENT_PULL_NEVER);
  assert_int_equal(out.parent, 42);
  assert_int_equal(out.log_level, 2);
  agent_handoff_clear(&out);
  assert_null(out.text);
}

static void test_agent_handoff_refuses_malformed_input(void **state) {
  (void)state;
  agent_handoff out;
  const char *no_newline = "{\"queue\":\"q\"}";
  assert_int_equal(read_from(&out, no_newline, strlen(no_newline)), AIRGAP_EINVALID);
  const char *not_json = "queue=q\n{}";
  assert_int_equal(read_from(&out, not_json, strlen(not_json)), AIRGAP_EINVALID);
  const char *missing = "{\"queue\":\"q\",\"agent\":\"a\",\"job\":\"j\"}\n{}";
  assert_int_equal(read_from(&out, missing, strlen(missing)), AIRGAP_EINVALID);
  const char *no_spec = "{\"queue\":\"q\",\"agent\":\"a\",\"job\":\"j\",\"lease\":\"l\","
                        "\"cache\":\"c\",\"work\":\"w\",\"network\":\"n\",\"pause\":\"p\"}\n";
  assert_int_equal(read_from(&out, no_spec, strlen(no_spec)), AIRGAP_EINVALID);
}

static void test_agent_handoff_is_bounded(void **state) {
  (void)state;
  size_t len = 3u * 1024 * 1024;
  char *big = malloc(len);
  assert_non_null(big);
  memset(big, ' ', len);
  agent_handoff out;
  assert_int_equal(read_from(&out, big, len), AIRGAP_ETOOBIG);
  free(big);
}

static void test_agent_handoff_run_dir(void **state) {
  (void)state;
  char path[PATH_MAX];
  assert_int_equal(agent_run_dir(path, sizeof(path), "/work", "0123456789abcdef", 2), 0);
  assert_string_equal(path, "/work/0123456789abcdef.2");
  char small[8];
  assert_int_equal(agent_run_dir(small, sizeof(small), "/work", "0123456789abcdef", 2),
                   AIRGAP_EINVALID);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_agent_handoff_roundtrip_keeps_the_spec_text),
      cmocka_unit_test(test_agent_handoff_refuses_malformed_input),
      cmocka_unit_test(test_agent_handoff_is_bounded),
      cmocka_unit_test(test_agent_handoff_run_dir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
