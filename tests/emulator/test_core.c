/*
 * test_core.c — unit tests of the emulator instance: start on a free port,
 * timers (fire, cancel before and after firing, cancel from the callback),
 * and stop requests.
 */
#include "emulator/emulator.h"
#include "emulator/service.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static emulator *start(void) {
  emulator_options o = {.listen = "127.0.0.1:0"};
  emulator *emu = NULL;
  assert_int_equal(emulator_start(&emu, &o), 0);
  assert_true(emulator_port(emu) > 0);
  return emu;
}

static atomic_int fired;

static void on_fire(void *payload) {
  (void)payload;
  atomic_fetch_add(&fired, 1);
}

static void wait_for(int want) {
  for (int i = 0; i < 400 && atomic_load(&fired) < want; i++)
    usleep(5000);
}

static void test_emulator_timer_fires_in_order(void **state) {
  (void)state;
  emulator *emu = start();
  atomic_store(&fired, 0);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  emulator_timer *t1 = emulator_timer_add(emu, 50, on_fire, NULL);
  emulator_timer *t2 = emulator_timer_add(emu, 10, on_fire, NULL);
  assert_non_null(t1);
  assert_non_null(t2);
  wait_for(2);
  clock_gettime(CLOCK_MONOTONIC, &b);
  assert_int_equal(atomic_load(&fired), 2);
  long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
  assert_true(ms >= 50);
  /* Both fired: cancelling now is harmless and reports "too late". */
  assert_int_equal(emulator_timer_cancel(t1), 0);
  assert_int_equal(emulator_timer_cancel(t2), 0);
  emulator_free(emu);
}

static void test_emulator_timer_cancel(void **state) {
  (void)state;
  emulator *emu = start();
  atomic_store(&fired, 0);
  emulator_timer *t = emulator_timer_add(emu, 10000, on_fire, NULL);
  assert_int_equal(emulator_timer_cancel(t), 1);
  assert_int_equal(emulator_timer_cancel(t), 0); /* already gone */
  emulator_timer *never = emulator_timer_add(emu, 60000, on_fire, NULL);
  assert_non_null(never);
  /* Freed with the emulator without firing (and without leaking). */
  emulator_free(emu);
  assert_int_equal(atomic_load(&fired), 0);
}

typedef struct self_cancel {
  emulator_timer *timer;
  atomic_int result;
  atomic_int done;
} self_cancel;

static void cancel_self(void *payload) {
  self_cancel *s = payload;
  while (!s->timer)
    usleep(1000);
  atomic_store(&s->result, emulator_timer_cancel(s->timer));
  atomic_store(&s->done, 1);
}

static atomic_int slow_started;

static void slow_fire(void *payload) {
  (void)payload;
  atomic_store(&slow_started, 1);
  usleep(100000);
  atomic_fetch_add(&fired, 1);
}

static void test_emulator_timer_cancel_running(void **state) {
  (void)state;
  emulator *emu = start();
  self_cancel s = {0};
  s.result = -1;
  s.timer = emulator_timer_add(emu, 0, cancel_self, &s);
  for (int i = 0; i < 400 && !atomic_load(&s.done); i++)
    usleep(5000);
  assert_int_equal(atomic_load(&s.result), 0);

  /* Cancelling a running timer from another thread waits for it to finish. */
  atomic_store(&fired, 0);
  emulator_timer *t = emulator_timer_add(emu, 0, slow_fire, NULL);
  for (int i = 0; i < 2000 && !atomic_load(&slow_started); i++)
    usleep(1000);
  assert_true(atomic_load(&slow_started));
  assert_int_equal(emulator_timer_cancel(t), 0);
  assert_int_equal(atomic_load(&fired), 1);
  emulator_free(emu);
}

static void *stop_later(void *arg) {
  usleep(50000);
  emulator_request_stop(arg);
  return NULL;
}

static void test_emulator_stop_request(void **state) {
  (void)state;
  emulator *emu = start();
  assert_int_equal(emulator_wait(emu, 10), 0);
  pthread_t th;
  pthread_create(&th, NULL, stop_later, emu);
  assert_int_equal(emulator_wait(emu, 5000), 1);
  pthread_join(th, NULL);
  emulator_free(emu);
}

/* The agent's way: a socket opened elsewhere (a job's netns) is handed over. */
static void test_emulator_listen_fd_handover(void **state) {
  (void)state;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  assert_int_equal(listen(fd, 16), 0);
  socklen_t len = sizeof(addr);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
  emulator_options o = {.listen_fds = &fd, .listen_fd_count = 1, .services = "sts"};
  emulator *emu = NULL;
  assert_int_equal(emulator_start(&emu, &o), 0);
  assert_int_equal(emulator_port(emu), ntohs(addr.sin_port));

  int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_int_equal(connect(c, (struct sockaddr *)&addr, sizeof(addr)), 0);
  const char *req = "GET /_localstack/health HTTP/1.1\r\nHost: localhost\r\n"
                    "Connection: close\r\n\r\n";
  assert_int_equal(write(c, req, strlen(req)), (ssize_t)strlen(req));
  char buf[4096];
  size_t got = 0;
  ssize_t n;
  while (got < sizeof(buf) - 1 && (n = read(c, buf + got, sizeof(buf) - 1 - got)) > 0)
    got += (size_t)n;
  buf[got] = '\0';
  close(c);
  assert_non_null(strstr(buf, "HTTP/1.1 200"));
  assert_non_null(strstr(buf, "\"sqs\":\"disabled\""));
  assert_non_null(strstr(buf, "\"sts\":\"available\""));
  emulator_free(emu);
  /* The emulator owned the socket: it is closed now. */
  assert_true(fcntl(fd, F_GETFD) < 0);
}

static void test_emulator_bad_listen(void **state) {
  (void)state;
  emulator_options o = {.listen = "not-an-address"};
  emulator *emu = NULL;
  assert_true(emulator_start(&emu, &o) < 0);
  assert_null(emu);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_emulator_timer_fires_in_order),
      cmocka_unit_test(test_emulator_timer_cancel),
      cmocka_unit_test(test_emulator_timer_cancel_running),
      cmocka_unit_test(test_emulator_stop_request),
      cmocka_unit_test(test_emulator_listen_fd_handover),
      cmocka_unit_test(test_emulator_bad_listen),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
