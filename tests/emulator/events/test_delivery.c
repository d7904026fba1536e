/*
 * test_delivery.c — unit tests of the delivery engine (emulator/delivery/)
 * and of EventBridge's schedule expressions (emulator/events/
 * events_schedule.c): jobs reach a registered handler in submission order,
 * failures are retried with the configured backoff and then counted as
 * dropped, a stopped engine refuses jobs, the pattern language's checks and
 * matches, and the next fire times of rate() and cron() expressions.
 *
 * The engine is keyed by an emulator pointer it never dereferences for the
 * handler kinds used here, so a stand-in address serves.
 */
#include "emulator/delivery/delivery.h"
#include "emulator/events/events_int.h"

#include "common/clock.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static int fake_emulator;
#define EMU ((emulator *)&fake_emulator)

typedef struct recorder {
  pthread_mutex_t lock;
  char seen[64][16];
  uint64_t at[64];
  int count;
  int fail_first; /* attempts to refuse */
} recorder;

static int record(const delivery_item *item, void *payload) {
  recorder *r = payload;
  pthread_mutex_lock(&r->lock);
  int fail = r->fail_first > 0;
  if (fail)
    r->fail_first--;
  if (r->count < 64) {
    snprintf(r->seen[r->count], sizeof(r->seen[0]), "%.*s", (int)item->body_len, item->body);
    r->at[r->count] = clock_monotonic_ms();
    r->count++;
  }
  pthread_mutex_unlock(&r->lock);
  return fail ? -1 : 0;
}

static void test_delivery_in_order_to_the_handler(void **state) {
  (void)state;
  recorder r = {.lock = PTHREAD_MUTEX_INITIALIZER};
  delivery *d = delivery_acquire(EMU);
  assert_non_null(d);
  assert_ptr_equal(delivery_find(EMU), d);
  delivery_handler_set(d, DELIVERY_SNS, record, &r);
  for (int i = 0; i < 20; i++) {
    char body[16];
    snprintf(body, sizeof(body), "m%02d", i);
    delivery_job job = {.kind = DELIVERY_SNS,
                        .target = "arn:aws:sns:us-east-1:1:t",
                        .body = body,
                        .body_len = strlen(body)};
    assert_int_equal(delivery_submit(d, &job), 0);
  }
  assert_int_equal(delivery_flush(d, 10000), 0);
  assert_int_equal(r.count, 20);
  for (int i = 0; i < 20; i++) {
    char want[16];
    snprintf(want, sizeof(want), "m%02d", i);
    assert_string_equal(r.seen[i], want);
  }
  delivery_stats stats;
  delivery_stats_get(d, &stats);
  assert_int_equal(stats.delivered, 20);
  delivery_handler_set(d, DELIVERY_SNS, NULL, NULL);
  delivery_release(d);
  assert_null(delivery_find(EMU));
}

static void test_delivery_retries_with_backoff_then_drops(void **state) {
  (void)state;
  recorder r = {.lock = PTHREAD_MUTEX_INITIALIZER, .fail_first = 100};
  delivery *d = delivery_acquire(EMU);
  delivery_handler_set(d, DELIVERY_EVENTS, record, &r);
  delivery_job job = {.kind = DELIVERY_EVENTS,
                      .target = "arn:aws:events:x",
                      .body = "e",
                      .body_len = 1,
                      .max_attempts = 4,
                      .min_delay_ms = 50,
                      .max_delay_ms = 100,
                      .no_delay_retries = 1};
  assert_int_equal(delivery_submit(d, &job), 0);
  assert_int_equal(delivery_flush(d, 10000), 0);
  assert_int_equal(r.count, 4);
  /* attempt 2 at once, 3 after 50 ms, 4 after 100 ms (doubled, capped); only
   * the lower bounds are checked, as a loaded machine may add to any delay */
  assert_true(r.at[2] - r.at[1] >= 50);
  assert_true(r.at[3] - r.at[2] >= 100);
  delivery_stats stats;
  delivery_stats_get(d, &stats);
  assert_int_equal(stats.failed_attempts, 4);
  assert_int_equal(stats.dropped, 1);
  assert_int_equal(stats.delivered, 0);
  delivery_handler_set(d, DELIVERY_EVENTS, NULL, NULL);
  delivery_release(d);
}

static void test_delivery_retry_succeeds(void **state) {
  (void)state;
  recorder r = {.lock = PTHREAD_MUTEX_INITIALIZER, .fail_first = 1};
  delivery *d = delivery_acquire(EMU);
  delivery_handler_set(d, DELIVERY_LAMBDA, record, &r);
  delivery_job job = {.kind = DELIVERY_LAMBDA,
                      .target = "arn:aws:lambda:f",
                      .body = "x",
                      .body_len = 1,
                      .min_delay_ms = 10};
  assert_int_equal(delivery_submit(d, &job), 0);
  assert_int_equal(delivery_flush(d, 10000), 0);
  assert_int_equal(r.count, 2);
  delivery_stats stats;
  delivery_stats_get(d, &stats);
  assert_int_equal(stats.delivered, 1);
  delivery_handler_set(d, DELIVERY_LAMBDA, NULL, NULL);
  delivery_release(d);
}

static void test_delivery_refuses_bad_jobs_and_after_stop(void **state) {
  (void)state;
  delivery *d = delivery_acquire(EMU);
  delivery_job none = {.kind = DELIVERY_SNS, .target = NULL};
  assert_int_equal(delivery_submit(d, &none), -4); /* AIRGAP_EINVALID */
  delivery_job big = {
      .kind = DELIVERY_SNS, .target = "t", .body = "x", .body_len = DELIVERY_MAX_BODY + 1};
  assert_int_equal(delivery_submit(d, &big), -5); /* AIRGAP_ETOOBIG */
  delivery_stop(d);
  delivery_stop(d);
  delivery_job ok = {.kind = DELIVERY_SNS, .target = "t", .body = "x", .body_len = 1};
  assert_int_equal(delivery_submit(d, &ok), -7); /* AIRGAP_EBUSY */
  delivery_release(d);
}

/* ---- patterns ---- */

static int check(const char *text, delivery_dialect dialect) {
  json_t *p = json_loads(text, 0, NULL);
  assert_non_null(p);
  char reason[256];
  int rc = delivery_pattern_check(p, dialect, reason, sizeof(reason));
  if (rc < 0)
    assert_true(strlen(reason) > 0);
  json_decref(p);
  return rc;
}

static int match(const char *pattern, const char *doc) {
  json_t *p = json_loads(pattern, 0, NULL), *d = json_loads(doc, 0, NULL);
  assert_non_null(p);
  assert_non_null(d);
  assert_int_equal(delivery_pattern_check(p, DELIVERY_EVENTBRIDGE, NULL, 0), 0);
  int m = delivery_pattern_match(p, d);
  json_decref(p);
  json_decref(d);
  return m;
}

static void test_delivery_pattern_checks(void **state) {
  (void)state;
  assert_int_equal(check("{\"a\": [\"x\"]}", DELIVERY_SNS_ATTRIBUTES), 0);
  assert_int_not_equal(check("{\"a\": {\"b\": [\"x\"]}}", DELIVERY_SNS_ATTRIBUTES), 0);
  assert_int_equal(check("{\"a\": {\"b\": [\"x\"]}}", DELIVERY_SNS_BODY), 0);
  assert_int_not_equal(check("{\"a\": []}", DELIVERY_EVENTBRIDGE), 0);
  assert_int_not_equal(
      check("{\"a\": [{\"numeric\": [\"<\", 1, \">\", 0]}]}", DELIVERY_EVENTBRIDGE), 0);
  assert_int_not_equal(
      check("{\"a\": [{\"numeric\": [\">\", 5, \"<\", 1]}]}", DELIVERY_EVENTBRIDGE), 0);
  assert_int_not_equal(check("{\"a\": [{\"wildcard\": \"x\"}]}", DELIVERY_SNS_BODY), 0);
  assert_int_not_equal(check("{\"a\": [{\"cidr\": \"10.0.0.0/33\"}]}", DELIVERY_EVENTBRIDGE), 0);
  assert_int_not_equal(check("{\"$or\": [{\"a\": [1]}]}", DELIVERY_EVENTBRIDGE), 0);
  assert_int_not_equal(check("{\"a\": [1], \"b\": [1], \"c\": [1], \"d\": [1], \"e\": [1], "
                             "\"f\": [1]}",
                             DELIVERY_SNS_ATTRIBUTES),
                       0);
  /* 151 combinations */
  assert_int_not_equal(
      check("{\"a\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,"
            "28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,"
            "55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76], \"b\": [1, 2]}",
            DELIVERY_SNS_ATTRIBUTES),
      0);
}

static void test_delivery_pattern_matches(void **state) {
  (void)state;
  const char *doc = "{\"a\": \"Hello\", \"n\": 7, \"arr\": [\"x\", \"y\"], \"o\": {\"p\": "
                    "\"q\"}, \"ip\": \"192.168.1.9\", \"z\": null}";
  assert_true(match("{\"a\": [\"Hello\"]}", doc));
  assert_false(match("{\"a\": [\"hello\"]}", doc));
  assert_true(match("{\"a\": [{\"equals-ignore-case\": \"hello\"}]}", doc));
  assert_true(match("{\"a\": [{\"prefix\": {\"equals-ignore-case\": \"HE\"}}]}", doc));
  assert_true(match("{\"a\": [{\"suffix\": \"llo\"}]}", doc));
  assert_true(match("{\"a\": [{\"wildcard\": \"H*l*o\"}]}", doc));
  assert_false(match("{\"a\": [{\"wildcard\": \"H*x\"}]}", doc));
  assert_true(match("{\"n\": [{\"numeric\": [\">=\", 7, \"<\", 8]}]}", doc));
  assert_true(match("{\"n\": [7.0]}", doc));
  assert_true(match("{\"arr\": [\"y\"]}", doc));
  assert_true(match("{\"arr\": [{\"anything-but\": \"x\"}]}", doc)); /* y is not x */
  assert_false(match("{\"a\": [{\"anything-but\": {\"prefix\": \"He\"}}]}", doc));
  assert_true(match("{\"o\": {\"p\": [\"q\"]}}", doc));
  assert_true(match("{\"ip\": [{\"cidr\": \"192.168.0.0/16\"}]}", doc));
  assert_false(match("{\"ip\": [{\"cidr\": \"10.0.0.0/8\"}]}", doc));
  assert_true(match("{\"missing\": [{\"exists\": false}]}", doc));
  assert_false(match("{\"missing\": [{\"anything-but\": \"x\"}]}", doc));
  assert_true(match("{\"z\": [null]}", doc));
  assert_true(match("{\"$or\": [{\"a\": [\"no\"]}, {\"n\": [7]}]}", doc));
  assert_false(match("{\"$or\": [{\"a\": [\"no\"]}, {\"n\": [8]}]}", doc));
}

/* ---- schedules ---- */

static uint64_t at(int y, int mo, int d, int h, int mi) {
  struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
  return (uint64_t)timegm(&tm) * 1000;
}

static void test_events_schedule_expressions(void **state) {
  (void)state;
  assert_int_equal(events_schedule_check("rate(1 minute)"), 0);
  assert_int_equal(events_schedule_check("rate(5 hours)"), 0);
  assert_int_not_equal(events_schedule_check("rate(1 minutes)"), 0);
  assert_int_not_equal(events_schedule_check("rate(2 minute)"), 0);
  assert_int_not_equal(events_schedule_check("rate(0 days)"), 0);
  assert_int_not_equal(events_schedule_check("cron(* * * * * *)"), 0); /* no '?' */
  assert_int_not_equal(events_schedule_check("cron(0 12 * *)"), 0);
  assert_int_not_equal(events_schedule_check("cron(60 12 * * ? *)"), 0);
  uint64_t t0 = at(2024, 1, 1, 10, 30); /* a Monday */
  assert_int_equal(events_schedule_next("rate(5 minutes)", t0), t0 + 300000);
  /* every 15 minutes from 8 to 17 on weekdays */
  const char *office = "cron(0/15 8-17 ? * MON-FRI *)";
  assert_int_equal(events_schedule_next(office, t0), at(2024, 1, 1, 10, 45));
  assert_int_equal(events_schedule_next(office, at(2024, 1, 5, 17, 50)), at(2024, 1, 8, 8, 0));
  /* the last day of the month at noon */
  assert_int_equal(events_schedule_next("cron(0 12 L * ? *)", t0), at(2024, 1, 31, 12, 0));
  assert_int_equal(events_schedule_next("cron(0 12 L * ? *)", at(2024, 2, 1, 0, 0)),
                   at(2024, 2, 29, 12, 0));
  /* the third Friday, the last Monday */
  assert_int_equal(events_schedule_next("cron(0 10 ? * 6#3 *)", t0), at(2024, 1, 19, 10, 0));
  assert_int_equal(events_schedule_next("cron(0 10 ? * 2L *)", t0), at(2024, 1, 29, 10, 0));
  /* a year that has passed never fires */
  assert_int_equal(events_schedule_next("cron(0 10 * * ? 2020)", t0), 0);
  assert_int_equal(events_schedule_next("cron(0 0 1 JAN ? 2025)", t0), at(2025, 1, 1, 0, 0));
}

#define T(f) cmocka_unit_test(f)
int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_delivery_in_order_to_the_handler), T(test_delivery_retries_with_backoff_then_drops),
      T(test_delivery_retry_succeeds),          T(test_delivery_refuses_bad_jobs_and_after_stop),
      T(test_delivery_pattern_checks),          T(test_delivery_pattern_matches),
      T(test_events_schedule_expressions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
