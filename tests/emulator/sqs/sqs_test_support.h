/*
 * sqs_test_support.h — what the SQS engine's unit tests share: a clock the
 * test turns by hand, timers the test fires, and calls into one engine made
 * by setup() (test_sqs.c, test_sqs_move.c). Included by one test file each;
 * the functions are static inline so each file takes what it uses.
 */
#ifndef AIRGAP_TESTS_SQS_TEST_SUPPORT_H
#define AIRGAP_TESTS_SQS_TEST_SUPPORT_H

#include "emulator/sqs/sqs_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- hand-turned clock and timers ---- */

typedef struct fake_timer {
  struct fake_timer *next;
  uint64_t at;
  void (*fn)(void *arg);
  void *arg;
} fake_timer;

static uint64_t clock_ms;
static fake_timer *timers;
static int timers_added;

static inline uint64_t fake_now(void *payload) {
  (void)payload;
  return clock_ms;
}

static inline void *fake_add(void *payload, uint64_t delay_ms, void (*fn)(void *arg), void *arg) {
  (void)payload;
  fake_timer *t = calloc(1, sizeof(*t));
  assert_non_null(t);
  t->at = clock_ms + delay_ms;
  t->fn = fn;
  t->arg = arg;
  t->next = timers;
  timers = t;
  timers_added++;
  return t;
}

static inline int fake_cancel(void *payload, void *timer) {
  (void)payload;
  for (fake_timer **p = &timers; *p; p = &(*p)->next) {
    if (*p == timer) {
      fake_timer *t = *p;
      *p = t->next;
      free(t);
      return 1;
    }
  }
  return 0;
}

static inline size_t pending_timers(void) {
  size_t n = 0;
  for (fake_timer *t = timers; t; t = t->next)
    n++;
  return n;
}

/* Moves the clock forward, firing due timers in time order. */
static inline void advance(uint64_t ms) {
  uint64_t target = clock_ms + ms;
  for (;;) {
    fake_timer **best = NULL;
    for (fake_timer **p = &timers; *p; p = &(*p)->next)
      if ((*p)->at <= target && (!best || (*p)->at < (*best)->at))
        best = p;
    if (!best)
      break;
    fake_timer *t = *best;
    *best = t->next;
    if (t->at > clock_ms)
      clock_ms = t->at;
    t->fn(t->arg);
    free(t);
  }
  clock_ms = target;
}

/* ---- calling the engine ---- */

typedef struct result {
  int done;
  int failed;
  json_t *output;
  sqs_error err;
} result;

static inline void on_done(json_t *output, const sqs_error *err, void *payload) {
  result *r = payload;
  r->done++;
  if (err) {
    r->failed = 1;
    r->err = *err;
  } else {
    r->output = output ? output : json_object();
  }
}

static sqs_engine *engine;
static const char *ACCOUNT = "000000000000";
static const char *REGION = "us-east-1";

static inline void call_as(result *r, const char *account, const char *region, const char *op,
                           const char *fmt, va_list ap) {
  char text[8192];
  vsnprintf(text, sizeof(text), fmt, ap);
  json_error_t jerr;
  json_t *in = json_loads(text, JSON_ALLOW_NUL, &jerr);
  if (!in)
    fail_msg("bad test JSON: %s in %s", jerr.text, text);
  sqs_context ctx = {account, region, "http://localhost:4566"};
  memset(r, 0, sizeof(*r));
  sqs_engine_call(engine, &ctx, op, in, on_done, r);
  json_decref(in);
}

/* Calls op as account (a long poll may leave r->done 0). */
static inline void call_in(result *r, const char *account, const char *op, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline void call_in(result *r, const char *account, const char *op, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  call_as(r, account, REGION, op, fmt, ap);
  va_end(ap);
}

/* Calls op and expects success; returns the output (owned). */
static inline json_t *ok(const char *op, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline json_t *ok(const char *op, const char *fmt, ...) {
  result r;
  va_list ap;
  va_start(ap, fmt);
  call_as(&r, ACCOUNT, REGION, op, fmt, ap);
  va_end(ap);
  if (r.failed)
    fail_msg("%s failed: %s: %s", op, r.err.code, r.err.message);
  assert_int_equal(r.done, 1);
  return r.output;
}

/* Calls op and expects the error code; returns nothing. */
static inline void fails(const char *code, const char *op, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void fails(const char *code, const char *op, const char *fmt, ...) {
  result r;
  va_list ap;
  va_start(ap, fmt);
  call_as(&r, ACCOUNT, REGION, op, fmt, ap);
  va_end(ap);
  assert_int_equal(r.done, 1);
  if (!r.failed)
    fail_msg("%s succeeded, expected %s", op, code);
  if (strcmp(r.err.code, code))
    fail_msg("%s failed with %s (%s), expected %s", op, r.err.code, r.err.message, code);
}

static inline void ok0(const char *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void ok0(const char *op, const char *fmt, ...) {
  result r;
  va_list ap;
  va_start(ap, fmt);
  call_as(&r, ACCOUNT, REGION, op, fmt, ap);
  va_end(ap);
  if (r.failed)
    fail_msg("%s failed: %s: %s", op, r.err.code, r.err.message);
  json_decref(r.output);
}

/* Starts a call that may be suspended (long poll). */
static inline void start(result *r, const char *op, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void start(result *r, const char *op, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  call_as(r, ACCOUNT, REGION, op, fmt, ap);
  va_end(ap);
}

static inline char *create(const char *name, const char *attrs) {
  json_t *out =
      ok("CreateQueue", "{\"QueueName\":\"%s\",\"Attributes\":%s}", name, attrs ? attrs : "{}");
  char *url = strdup(json_string_value(json_object_get(out, "QueueUrl")));
  json_decref(out);
  return url;
}

static inline void send_body(const char *url, const char *body) {
  ok0("SendMessage", "{\"QueueUrl\":\"%s\",\"MessageBody\":\"%s\"}", url, body);
}

static inline void send_group(const char *url, const char *body, const char *group) {
  ok0("SendMessage", "{\"QueueUrl\":\"%s\",\"MessageBody\":\"%s\",\"MessageGroupId\":\"%s\"}", url,
      body, group);
}

static inline json_t *messages(json_t *out) { return json_object_get(out, "Messages"); }

static inline const char *msg_str(json_t *out, size_t i, const char *key) {
  return json_string_value(json_object_get(json_array_get(messages(out), i), key));
}

static inline const char *sys_attr(json_t *out, size_t i, const char *key) {
  json_t *a = json_object_get(json_array_get(messages(out), i), "Attributes");
  return json_string_value(json_object_get(a, key));
}

static inline const char *queue_attr(const char *url, const char *name, char *buf, size_t len) {
  json_t *out =
      ok("GetQueueAttributes", "{\"QueueUrl\":\"%s\",\"AttributeNames\":[\"%s\"]}", url, name);
  const char *v = json_string_value(json_object_get(json_object_get(out, "Attributes"), name));
  snprintf(buf, len, "%s", v ? v : "(absent)");
  json_decref(out);
  return buf;
}

static inline int setup(void **state) {
  (void)state;
  clock_ms = 1700000000000ULL;
  timers = NULL;
  timers_added = 0;
  sqs_hooks hooks = {fake_now, fake_add, fake_cancel, NULL, 0};
  assert_int_equal(sqs_engine_new(&engine, &hooks), 0);
  return 0;
}

static inline int teardown(void **state) {
  (void)state;
  sqs_engine_free(engine);
  engine = NULL;
  assert_int_equal(pending_timers(), 0);
  return 0;
}

#endif
