/* The job log: batching at byte offsets, retries, resync on a wrong offset,
 * secret masking across writes, agent-side lines marked and on their own
 * line. The receiving end follows queue_client_log_append's contract and can
 * be told to fail, lose bytes or lose the lease. */
#include "agent/agent_int.h"
#include "common/error.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

typedef struct server {
  pthread_mutex_t lock;
  char data[1 << 20];
  size_t len;
  unsigned calls;
  unsigned fail_next; /* transport failures to simulate */
  int lease_lost;
  size_t largest;
} server;

static int server_append(uint64_t *out, uint64_t offset, const void *data, size_t len,
                         void *payload) {
  server *s = payload;
  pthread_mutex_lock(&s->lock);
  s->calls++;
  int rc = 0;
  if (s->lease_lost) {
    rc = AIRGAP_EBUSY;
  } else if (s->fail_next) {
    s->fail_next--;
    rc = AIRGAP_ERROR;
  } else if (offset > s->len) {
    rc = AIRGAP_EINVALID;
  } else {
    /* Idempotent: bytes below len are already there. */
    size_t skip = s->len - (size_t)offset;
    if (skip < len) {
      assert_true(s->len + (len - skip) < sizeof(s->data));
      memcpy(s->data + s->len, (const char *)data + skip, len - skip);
      s->len += len - skip;
    }
    if (len > s->largest)
      s->largest = len;
  }
  *out = s->len;
  s->data[s->len] = '\0';
  pthread_mutex_unlock(&s->lock);
  return rc;
}

static server *server_new(void) {
  server *s = calloc(1, sizeof(*s));
  pthread_mutex_init(&s->lock, NULL);
  return s;
}

static void server_free(server *s) {
  pthread_mutex_destroy(&s->lock);
  free(s);
}

static size_t server_len(server *s) {
  pthread_mutex_lock(&s->lock);
  size_t len = s->len;
  pthread_mutex_unlock(&s->lock);
  return len;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void test_agent_log_delivers_in_order_and_marks_agent_lines(void **state) {
  (void)state;
  server *s = server_new();
  agent_log *log = NULL;
  assert_int_equal(agent_log_new(&log, NULL, 0, NULL, server_append, s), 0);
  agent_log_note(log, "preparing workspace");
  agent_log_write(log, "hello ", 6);
  agent_log_write(log, "world", 5); /* no newline: the note must start a line */
  agent_log_note(log, "job finished in %d ms", 42);
  assert_int_equal(agent_log_close(log, 5000), 0);
  assert_string_equal(s->data, "[airgap] preparing workspace\nhello world\n"
                               "[airgap] job finished in 42 ms\n");
  assert_int_equal(agent_log_acked(log), s->len);
  agent_log_free(log);
  server_free(s);
}

static void test_agent_log_batches_by_time(void **state) {
  (void)state;
  server *s = server_new();
  agent_log *log = NULL;
  agent_log_options opts = {.interval_ms = 100};
  assert_int_equal(agent_log_new(&log, NULL, 0, &opts, server_append, s), 0);
  for (int i = 0; i < 20; i++)
    agent_log_write(log, "x", 1);
  /* Nothing is sent at once: the first batch waits for the interval. */
  sleep_ms(20);
  unsigned early = s->calls;
  /* Within a few intervals everything arrives, in one or two requests. */
  for (int i = 0; i < 100 && server_len(s) < 20; i++)
    sleep_ms(20);
  assert_int_equal(server_len(s), 20);
  assert_true(s->calls <= early + 2);
  assert_int_equal(agent_log_close(log, 5000), 0);
  agent_log_free(log);
  server_free(s);
}

/* Output after a quiet spell goes out by itself, without waiting for more. */
static void test_agent_log_sends_after_idle(void **state) {
  (void)state;
  server *s = server_new();
  agent_log *log = NULL;
  agent_log_options opts = {.interval_ms = 50};
  assert_int_equal(agent_log_new(&log, NULL, 0, &opts, server_append, s), 0);
  agent_log_write(log, "first\n", 6);
  for (int i = 0; i < 200 && server_len(s) < 6; i++)
    sleep_ms(10);
  assert_int_equal(server_len(s), 6);
  sleep_ms(200); /* the sender is idle now */
  agent_log_note(log, "later");
  for (int i = 0; i < 200 && server_len(s) < 21; i++)
    sleep_ms(10);
  assert_int_equal(server_len(s), 21);
  assert_string_equal(s->data, "first\n[airgap] later\n");
  assert_int_equal(agent_log_close(log, 5000), 0);
  agent_log_free(log);
  server_free(s);
}

static void test_agent_log_batches_by_size(void **state) {
  (void)state;
  server *s = server_new();
  agent_log *log = NULL;
  /* A long interval: only a full batch can make it send before closing. */
  agent_log_options opts = {.interval_ms = 60000, .batch_bytes = 4096};
  assert_int_equal(agent_log_new(&log, NULL, 0, &opts, server_append, s), 0);
  char block[1024];
  memset(block, 'a', sizeof(block));
  for (int i = 0; i < 5; i++)
    agent_log_write(log, block, sizeof(block));
  for (int i = 0; i < 250 && server_len(s) < 4096; i++)
    sleep_ms(20);
  assert_true(server_len(s) >= 4096);
  assert_int_equal(agent_log_close(log, 5000), 0);
  assert_int_equal(s->len, 5 * 1024);
  agent_log_free(log);
  server_free(s);
}

static void test_agent_log_retries_transport_failures(void **state) {
  (void)state;
  server *s = server_new();
  s->fail_next = 3;
  agent_log *log = NULL;
  agent_log_options opts = {.interval_ms = 10, .max_backoff_ms = 50};
  assert_int_equal(agent_log_new(&log, NULL, 0, &opts, server_append, s), 0);
  agent_log_write(log, "line one\n", 9);
  agent_log_write(log, "line two\n", 9);
  assert_int_equal(agent_log_close(log, 5000), 0);
  assert_string_equal(s->data, "line one\nline two\n");
  assert_true(s->calls >= 4);
  agent_log_free(log);
  server_free(s);
}

/* The server lost its tail (say, a restart): the log resyncs to the server's
 * offset and says how many bytes went missing instead of leaving a hole. */
static void test_agent_log_resyncs_when_the_server_is_behind(void **state) {
  (void)state;
  server *s = server_new();
  agent_log *log = NULL;
  agent_log_options opts = {.interval_ms = 10};
  assert_int_equal(agent_log_new(&log, NULL, 0, &opts, server_append, s), 0);
  agent_log_write(log, "0123456789\n", 11);
  for (int i = 0; i < 250 && server_len(s) < 11; i++)
    sleep_ms(10);
  assert_int_equal(server_len(s), 11);
  pthread_mutex_lock(&s->lock);
  s->len = 4; /* the server forgets 7 bytes */
  pthread_mutex_unlock(&s->lock);
  agent_log_write(log, "after\n", 6);
  assert_int_equal(agent_log_close(log, 5000), 0);
  assert_string_equal(s->data, "0123\n[airgap] 7 bytes of log were lost by the queue\nafter\n");
  agent_log_free(log);
  server_free(s);
}

static void test_agent_log_masks_secrets_across_writes(void **state) {
  (void)state;
  server *s = server_new();
  const char *secrets[] = {"hunter2-token"};
  agent_log *log = NULL;
  agent_log_options opts = {.interval_ms = 1};
  assert_int_equal(agent_log_new(&log, secrets, 1, &opts, server_append, s), 0);
  const char *text = "token=hunter2-token; again hunter2-token\n";
  for (size_t i = 0; text[i]; i++) {
    agent_log_write(log, text + i, 1);
    if (i % 5 == 0)
      sleep_ms(2); /* let batches go out mid-secret */
  }
  agent_log_note(log, "cloned with hunter2-token");
  assert_int_equal(agent_log_close(log, 5000), 0);
  assert_string_equal(s->data, "token=****; again ****\n[airgap] cloned with ****\n");
  assert_null(strstr(s->data, "hunter2"));
  agent_log_free(log);
  server_free(s);
}

static void test_agent_log_stops_when_the_lease_is_lost(void **state) {
  (void)state;
  server *s = server_new();
  s->lease_lost = 1;
  agent_log *log = NULL;
  assert_int_equal(agent_log_new(&log, NULL, 0, NULL, server_append, s), 0);
  agent_log_write(log, "output\n", 7);
  assert_int_equal(agent_log_close(log, 5000), AIRGAP_EBUSY);
  assert_int_equal(s->calls, 1); /* no retry storm against a lost lease */
  agent_log_free(log);
  server_free(s);
}

static void test_agent_log_close_gives_up_at_its_deadline(void **state) {
  (void)state;
  server *s = server_new();
  s->fail_next = 1000000;
  agent_log *log = NULL;
  agent_log_options opts = {.interval_ms = 10, .max_backoff_ms = 20};
  assert_int_equal(agent_log_new(&log, NULL, 0, &opts, server_append, s), 0);
  agent_log_write(log, "unsendable\n", 11);
  assert_int_equal(agent_log_close(log, 300), AIRGAP_ETIMEOUT);
  assert_non_null(strstr(airgap_error_last(), "11 bytes"));
  agent_log_free(log);
  server_free(s);
}

/* While the queue refuses output, memory stays bounded and the log says
 * what was dropped once it can. */
static void test_agent_log_bounds_pending_output(void **state) {
  (void)state;
  server *s = server_new();
  s->fail_next = 1000000;
  agent_log *log = NULL;
  agent_log_options opts = {.interval_ms = 10, .max_backoff_ms = 20, .max_pending = 1024};
  assert_int_equal(agent_log_new(&log, NULL, 0, &opts, server_append, s), 0);
  char block[512];
  memset(block, 'b', sizeof(block));
  block[511] = '\n';
  for (int i = 0; i < 8; i++)
    agent_log_write(log, block, sizeof(block));
  pthread_mutex_lock(&s->lock);
  s->fail_next = 0; /* the queue is back */
  pthread_mutex_unlock(&s->lock);
  for (int i = 0; i < 250 && server_len(s) < 1024; i++)
    sleep_ms(10);
  agent_log_write(log, "tail\n", 5);
  assert_int_equal(agent_log_close(log, 5000), 0);
  assert_int_equal(strspn(s->data, "b\n"), 1024);
  assert_non_null(strstr(s->data, "[airgap] 3072 bytes of output dropped"));
  assert_non_null(strstr(s->data, "tail\n"));
  agent_log_free(log);
  server_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_agent_log_delivers_in_order_and_marks_agent_lines),
      cmocka_unit_test(test_agent_log_batches_by_time),
      cmocka_unit_test(test_agent_log_sends_after_idle),
      cmocka_unit_test(test_agent_log_batches_by_size),
      cmocka_unit_test(test_agent_log_retries_transport_failures),
      cmocka_unit_test(test_agent_log_resyncs_when_the_server_is_behind),
      cmocka_unit_test(test_agent_log_masks_secrets_across_writes),
      cmocka_unit_test(test_agent_log_stops_when_the_lease_is_lost),
      cmocka_unit_test(test_agent_log_close_gives_up_at_its_deadline),
      cmocka_unit_test(test_agent_log_bounds_pending_output),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
