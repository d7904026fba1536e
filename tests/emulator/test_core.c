/*
 * test_core.c — unit tests of the emulator instance: start on a free port,
 * timers (fire, cancel before and after firing, cancel from the callback),
 * and stop requests.
 */
#include "emulator/emulator.h"
#include "emulator/service.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
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

static void slow_fire(void *payload) {
  (void)payload;
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
  usleep(30000);
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
      cmocka_unit_test(test_emulator_bad_listen),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
