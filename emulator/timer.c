/*
 * timer.c — one timer thread per emulator, for visibility timeouts, delays
 * and long-poll deadlines: no thread per waiter and no polling loop. The
 * thread starts with the first timer.
 *
 * Pending timers sit in a binary min-heap ordered by due time; the thread
 * sleeps on a condition variable (CLOCK_MONOTONIC) until the earliest is due.
 * A handle is not a pointer but a never-reused 64-bit id looked up in a
 * process-wide table, so emulator_timer_cancel() is safe whenever it is
 * called — before, during or after the timer fires — and can never cancel
 * some other timer that happens to reuse freed memory.
 */
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "emulator/emulator_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TIMER_BUCKETS 4096

enum { TIMER_PENDING, TIMER_RUNNING };

typedef struct timer_entry {
  uint64_t id;
  uint64_t due_us;
  void (*fn)(void *payload);
  void *payload;
  emulator_timers *owner;
  int state;
  size_t heap_index;
  struct timer_entry *hnext;
} timer_entry;

struct emulator_timers {
  pthread_t thread;
  int started;         /* the thread starts with the first timer */
  pthread_cond_t wake; /* new earliest timer, or stop */
  pthread_cond_t done; /* a running timer finished */
  timer_entry **heap;
  size_t heap_len, heap_cap;
  int stopping;
};

/* One lock for all timers of all emulators: timer operations are short. */
static pthread_mutex_t timers_lock = PTHREAD_MUTEX_INITIALIZER;
static timer_entry *buckets[TIMER_BUCKETS];
static uint64_t next_id;

/* Microseconds: a timer never fires before its full delay has passed. */
static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static timer_entry *map_find(uint64_t id) {
  for (timer_entry *e = buckets[id % TIMER_BUCKETS]; e; e = e->hnext)
    if (e->id == id)
      return e;
  return NULL;
}

static void map_remove(timer_entry *t) {
  timer_entry **pp = &buckets[t->id % TIMER_BUCKETS];
  while (*pp && *pp != t)
    pp = &(*pp)->hnext;
  if (*pp)
    *pp = t->hnext;
}

static int before(const timer_entry *a, const timer_entry *b) {
  return a->due_us < b->due_us || (a->due_us == b->due_us && a->id < b->id);
}

static void heap_swap(emulator_timers *t, size_t i, size_t j) {
  timer_entry *tmp = t->heap[i];
  t->heap[i] = t->heap[j];
  t->heap[j] = tmp;
  t->heap[i]->heap_index = i;
  t->heap[j]->heap_index = j;
}

static void heap_up(emulator_timers *t, size_t i) {
  while (i > 0 && before(t->heap[i], t->heap[(i - 1) / 2])) {
    heap_swap(t, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
}

static void heap_down(emulator_timers *t, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < t->heap_len && before(t->heap[l], t->heap[m]))
      m = l;
    if (r < t->heap_len && before(t->heap[r], t->heap[m]))
      m = r;
    if (m == i)
      return;
    heap_swap(t, i, m);
    i = m;
  }
}

static void heap_remove(emulator_timers *t, size_t i) {
  t->heap_len--;
  if (i != t->heap_len) {
    t->heap[i] = t->heap[t->heap_len];
    t->heap[i]->heap_index = i;
    heap_down(t, i);
    heap_up(t, i);
  }
}

static void *timer_thread(void *arg) {
  emulator_timers *t = arg;
  pthread_mutex_lock(&timers_lock);
  while (!t->stopping) {
    if (t->heap_len == 0) {
      pthread_cond_wait(&t->wake, &timers_lock);
      continue;
    }
    timer_entry *e = t->heap[0];
    uint64_t now = now_us();
    if (e->due_us > now) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      uint64_t wait = e->due_us - now;
      ts.tv_sec += (time_t)(wait / 1000000u);
      ts.tv_nsec += (long)(wait % 1000000u) * 1000L;
      if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&t->wake, &timers_lock, &ts);
      continue;
    }
    heap_remove(t, 0);
    e->state = TIMER_RUNNING;
    pthread_mutex_unlock(&timers_lock);
    e->fn(e->payload);
    pthread_mutex_lock(&timers_lock);
    map_remove(e);
    free(e);
    pthread_cond_broadcast(&t->done);
  }
  pthread_mutex_unlock(&timers_lock);
  return NULL;
}

int emulator_timers_start(emulator_timers **out) {
  emulator_timers *t = calloc(1, sizeof(*t));
  if (!t)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&t->wake, &attr);
  pthread_condattr_destroy(&attr);
  pthread_cond_init(&t->done, NULL);
  *out = t;
  return 0;
}

void emulator_timers_stop(emulator_timers *t) {
  if (!t)
    return;
  pthread_mutex_lock(&timers_lock);
  t->stopping = 1;
  pthread_cond_broadcast(&t->wake);
  int started = t->started;
  pthread_mutex_unlock(&timers_lock);
  if (started)
    pthread_join(t->thread, NULL);
  pthread_mutex_lock(&timers_lock);
  for (size_t i = 0; i < t->heap_len; i++) {
    map_remove(t->heap[i]);
    free(t->heap[i]);
  }
  pthread_mutex_unlock(&timers_lock);
  free(t->heap);
  pthread_cond_destroy(&t->wake);
  pthread_cond_destroy(&t->done);
  free(t);
}

emulator_timer *emulator_timer_add(emulator *emu, uint64_t delay_ms, void (*fn)(void *payload),
                                   void *payload) {
  if (!emu || !emu->timers || !fn)
    return NULL;
  emulator_timers *t = emu->timers;
  timer_entry *e = calloc(1, sizeof(*e));
  if (!e)
    return NULL;
  if (delay_ms > UINT64_MAX / 4000)
    delay_ms = UINT64_MAX / 4000;
  e->due_us = now_us() + delay_ms * 1000u;
  e->fn = fn;
  e->payload = payload;
  e->owner = t;
  pthread_mutex_lock(&timers_lock);
  /* The thread starts here, not with the emulator: each thread made at start
   * costs start time (~0.3 ms here), and many runs never set a timer. It
   * waits for timers_lock until this call returns. */
  if (!t->started) {
    if (t->stopping) {
      pthread_mutex_unlock(&timers_lock);
      free(e);
      return NULL;
    }
    if (pthread_create(&t->thread, NULL, timer_thread, t) != 0) {
      pthread_mutex_unlock(&timers_lock);
      free(e);
      log_error("emulator", "cannot start the emulator's timer thread");
      return NULL;
    }
    t->started = 1;
  }
  if (t->heap_len == t->heap_cap) {
    size_t cap = t->heap_cap ? t->heap_cap * 2 : 64;
    timer_entry **heap = realloc(t->heap, cap * sizeof(*heap));
    if (!heap) {
      pthread_mutex_unlock(&timers_lock);
      free(e);
      return NULL;
    }
    t->heap = heap;
    t->heap_cap = cap;
  }
  e->id = ++next_id;
  e->hnext = buckets[e->id % TIMER_BUCKETS];
  buckets[e->id % TIMER_BUCKETS] = e;
  e->heap_index = t->heap_len;
  t->heap[t->heap_len++] = e;
  heap_up(t, e->heap_index);
  if (t->heap[0] == e)
    pthread_cond_signal(&t->wake);
  uint64_t id = e->id;
  pthread_mutex_unlock(&timers_lock);
  return (emulator_timer *)(uintptr_t)id;
}

int emulator_timer_cancel(emulator_timer *timer) {
  uint64_t id = (uint64_t)(uintptr_t)timer;
  if (!id)
    return 0;
  pthread_mutex_lock(&timers_lock);
  timer_entry *e = map_find(id);
  if (e && e->state == TIMER_PENDING) {
    heap_remove(e->owner, e->heap_index);
    map_remove(e);
    pthread_mutex_unlock(&timers_lock);
    free(e);
    return 1;
  }
  /* Running: wait for fn to finish, unless fn itself is cancelling. */
  while (e && !pthread_equal(e->owner->thread, pthread_self())) {
    pthread_cond_wait(&e->owner->done, &timers_lock);
    e = map_find(id);
  }
  pthread_mutex_unlock(&timers_lock);
  return 0;
}

/* ---- virtual clocks ---- */

#define CLOCK_MAX_SPEED 100000

void emulator_clock_init(emulator_clock *clock, const char *env) {
  clock->speed = 1;
  clock->epoch_ms = clock->virtual_base_ms = clock_wall_ms();
  const char *speed = env ? getenv(env) : NULL;
  if (speed) {
    char *end = NULL;
    double v = strtod(speed, &end);
    if (end != speed && *end == '\0' && v >= 1 && v <= CLOCK_MAX_SPEED)
      clock->speed = v;
    else
      log_warn("emulator", "%s=%s ignored: use a number from 1 to %d", env, speed, CLOCK_MAX_SPEED);
  }
}

uint64_t emulator_clock_now(const emulator_clock *clock) {
  uint64_t now = clock_wall_ms();
  uint64_t elapsed = now > clock->epoch_ms ? now - clock->epoch_ms : 0;
  return clock->virtual_base_ms + (uint64_t)((double)elapsed * clock->speed);
}

void emulator_clock_set_speed(emulator_clock *clock, double speed) {
  clock->virtual_base_ms = emulator_clock_now(clock);
  clock->epoch_ms = clock_wall_ms();
  clock->speed = speed;
}

int emulator_clock_endpoint(http_request *req, const char *service, const char *rest,
                            void (*set)(double speed, void *payload), void *payload) {
  if (strcmp(rest, "clock"))
    return 0;
  if (strcmp(http_request_method(req), "POST")) {
    char msg[128];
    snprintf(msg, sizeof(msg), "use POST /_aws/%s/clock {\"speed\": N}", service);
    http_request_respond_error(req, 405, msg);
    return 1;
  }
  size_t len = 0;
  const char *body = http_request_body(req, &len);
  json_t *j = body ? json_loadb(body, len, 0, NULL) : NULL;
  json_t *speed = json_object_get(j, "speed");
  double v = json_number_value(speed);
  int is_number = json_is_number(speed);
  json_decref(j);
  if (!is_number || v < 1 || v > CLOCK_MAX_SPEED) {
    http_request_respond_error(req, 400, "speed must be a number from 1 to 100000");
    return 1;
  }
  set(v, payload);
  http_request_respond(req, http_response_new_json(200, json_pack("{s:f}", "speed", v)));
  return 1;
}
