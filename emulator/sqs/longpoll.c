/*
 * longpoll.c — ReceiveMessage calls waiting for messages (long polls).
 *
 * A ReceiveMessage that finds nothing and may wait becomes a waiter on its
 * queue with one timer, armed for the earlier of its deadline and the next
 * moment a message of the queue becomes visible; no thread waits. Any call
 * that makes messages available (send, delete unlocking a FIFO group,
 * visibility change, redrive) hands them to waiting receivers at once
 * (sqs_serve_waiters).
 *
 * Answers are always delivered after the engine lock is released: a waiter
 * answered under the lock goes on the operation's list of finished waiters,
 * and sqs_finish_all calls the completions once the lock is dropped, so a
 * completion may call into the engine again. A waiter answered by another
 * thread has its timer canceled before it is freed (the cancel waits for a
 * firing timer, which then sees the waiter done and leaves it alone).
 */
#include "emulator/sqs/sqs_engine_int.h"

#include <stdlib.h>
#include <string.h>

struct sqs_waiter {
  sqs_waiter *prev, *next;
  sqs_engine *engine;
  sqs_queue *queue;
  recv_params params;
  uint64_t deadline_ms;
  void *timer;
  int done;
  sqs_done_fn fn;
  void *payload;
};

/* A waiter answered under the lock, to be finished after it is released. */
struct sqs_finished {
  sqs_finished *next;
  sqs_waiter *waiter;
  json_t *output;
};

static void waiter_unlink(sqs_waiter *w) {
  sqs_queue *q = w->queue;
  if (w->prev)
    w->prev->next = w->next;
  else
    q->waiters_head = w->next;
  if (w->next)
    w->next->prev = w->prev;
  else
    q->waiters_tail = w->prev;
  w->prev = w->next = NULL;
}

/* Marks w answered with output (under the lock); sqs_finish_all delivers it. */
static void waiter_finish(sqs_op *op, sqs_waiter *w, json_t *output) {
  sqs_finished *f = calloc(1, sizeof(*f));
  waiter_unlink(w);
  w->done = 1;
  w->queue = NULL;
  if (!f) {
    /* Out of memory: answer now, under the lock; better than a hung call. */
    w->fn(output, NULL, w->payload);
    w->fn = NULL;
    return;
  }
  f->waiter = w;
  f->output = output;
  f->next = op->done;
  op->done = f;
}

static void waiter_free(sqs_waiter *w) {
  sqs_recv_params_free(&w->params);
  free(w);
}

void sqs_finish_all(sqs_engine *e, sqs_finished *list) {
  while (list) {
    sqs_finished *f = list;
    list = f->next;
    sqs_waiter *w = f->waiter;
    if (w->timer)
      e->hooks.timer_cancel(e->hooks.payload, w->timer);
    if (w->fn)
      w->fn(f->output, NULL, w->payload);
    else
      json_decref(f->output);
    waiter_free(w);
    free(f);
  }
}

void sqs_serve_waiters(sqs_op *op, sqs_queue *q) {
  while (q->waiters_head) {
    sqs_waiter *w = q->waiters_head;
    json_t *output = NULL;
    if (sqs_receive_now(op, q, &w->params, &output) == 0) {
      json_decref(output);
      return;
    }
    waiter_finish(op, w, output);
  }
}

void sqs_release_waiters(sqs_op *op, sqs_queue *q) {
  while (q->waiters_head)
    waiter_finish(op, q->waiters_head, sqs_receive_output(NULL));
}

/* The earliest moment after now when a message of q becomes visible. */
static uint64_t next_visible(const sqs_queue *q, uint64_t now) {
  uint64_t t = UINT64_MAX;
  for (const sqs_msg *m = q->head; m; m = m->next)
    if (m->visible_at_ms > now && m->visible_at_ms < t)
      t = m->visible_at_ms;
  return t;
}

static void waiter_fired(void *arg);

/* Arms w's timer for the earlier of its deadline and the next visibility
 * change of its queue. */
static int waiter_arm(sqs_op *op, sqs_waiter *w) {
  uint64_t at = next_visible(w->queue, op->now);
  if (at > w->deadline_ms)
    at = w->deadline_ms;
  uint64_t delay = at > op->now ? at - op->now : 1;
  w->timer = op->e->hooks.timer_add(op->e->hooks.payload, delay, waiter_fired, w);
  return w->timer ? 0 : -1;
}

/* The timer thread: delivers what became visible, or gives up at the
 * deadline, or sleeps again until the next visibility change. */
static void waiter_fired(void *arg) {
  sqs_waiter *w = arg;
  sqs_engine *e = w->engine;
  sqs_context ctx = {"000000000000", "us-east-1", NULL};
  sqs_op op = {.e = e, .ctx = &ctx};
  json_t *output = NULL;
  int answered = 0;
  pthread_mutex_lock(&e->lock);
  if (w->done) {
    /* Answered elsewhere; that thread cancels this timer and frees w. */
    pthread_mutex_unlock(&e->lock);
    return;
  }
  op.now = e->hooks.now_ms(e->hooks.payload);
  w->timer = NULL;
  size_t n = sqs_receive_now(&op, w->queue, &w->params, &output);
  if (n > 0 || !output || op.now >= w->deadline_ms || e->shutting_down || waiter_arm(&op, w) < 0) {
    waiter_unlink(w);
    w->done = 1;
    answered = 1;
  } else {
    json_decref(output);
    output = NULL;
  }
  pthread_mutex_unlock(&e->lock);
  sqs_finish_all(e, op.done);
  if (answered) {
    w->fn(output, NULL, w->payload);
    waiter_free(w);
  }
}

int sqs_waiter_add(sqs_op *op, sqs_queue *q, recv_params *p, int64_t wait_s, sqs_done_fn fn,
                   void *payload) {
  sqs_waiter *w = calloc(1, sizeof(*w));
  if (!w) {
    sqs_recv_params_free(p);
    return sqs_err_oom(&op->err);
  }
  w->engine = op->e;
  w->queue = q;
  w->params = *p;
  memset(p, 0, sizeof(*p));
  w->deadline_ms = op->now + (uint64_t)wait_s * 1000;
  w->fn = fn;
  w->payload = payload;
  if (waiter_arm(op, w) < 0) {
    waiter_free(w);
    return 0;
  }
  w->prev = q->waiters_tail;
  if (q->waiters_tail)
    q->waiters_tail->next = w;
  else
    q->waiters_head = w;
  q->waiters_tail = w;
  return 1;
}
