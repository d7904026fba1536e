/*
 * server_flush.c — answering durable requests once their commit is on disk,
 * from one flusher thread (group commit).
 *
 * A submission or a final status is acknowledged only after its commit is
 * durable (store_int.h). Waiting for that on the request's own thread holds
 * an HTTP worker in fdatasync, and with it every connection that worker
 * serves: requests that arrive meanwhile cannot even commit, so they cannot
 * share the flush, and a lease answered at a submission's commit waits
 * behind its worker's flush too. Instead the handler commits with its
 * durability deferred, builds its answer, and leaves both here; the
 * flusher waits once for the highest ticket of everything that has
 * accumulated (one fdatasync of the WAL covers every commit before it) and
 * then answers them all. The request stays suspended meanwhile (no thread
 * held). A failed flush is answered with the error, as a waiting handler
 * would have.
 *
 * Under load the flusher also waits a moment (FLUSH_GATHER_NS) before a
 * flush, as PostgreSQL's commit_delay does: a flush on this kind of disk is
 * short (~0.15 ms) but costs ~0.2 ms of CPU in the virtual disk's path, so
 * without the wait most flushes carried one or two commits and the CPU they
 * took capped the cycles/s. Only when the previous flush ended less than
 * FLUSH_BUSY_NS ago: an idle queue answers without the delay.
 *
 * Stores whose commits are durable at once (PostgreSQL) leave no ticket, and
 * their answers go out at once.
 */
#include "queue/server_int.h"
#include "common/error.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FLUSH_GATHER_NS 200000ull /* 0.2 ms */
#define FLUSH_BUSY_NS 1000000ull  /* 1 ms */

static uint64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct durable_answer {
  durable_answer *next;
  http_request *req;
  http_response *resp;
  uint64_t ticket;
  char *changed_id; /* followers and the event stream hear of it once durable */
};

/* Once durable (or not): what the handler would have done after its wait. */
static void answer(queue_server *s, durable_answer *a, int error, const char *message) {
  if (error < 0) {
    http_response_free(a->resp);
    http_request_respond_error(a->req, 500, message);
  } else {
    if (a->changed_id)
      server_logs_notify(s, a->changed_id);
    http_request_respond(a->req, a->resp);
    if (a->changed_id)
      server_events_changed(s);
  }
  free(a->changed_id);
  free(a);
}

static void *flusher_main(void *arg) {
  queue_server *s = arg;
  server_flusher *f = &s->flusher;
  pthread_mutex_lock(&f->mu);
  for (;;) {
    while (!f->head && !f->stopping)
      pthread_cond_wait(&f->cond, &f->mu);
    if (!f->head)
      break; /* stopping, and nothing left */
    uint64_t now = monotonic_ns();
    if (!f->stopping && now - f->last_flush_ns < FLUSH_BUSY_NS) {
      uint64_t until = now + FLUSH_GATHER_NS;
      struct timespec deadline = {.tv_sec = (time_t)(until / 1000000000ull),
                                  .tv_nsec = (long)(until % 1000000000ull)};
      while (!f->stopping && pthread_cond_timedwait(&f->cond, &f->mu, &deadline) != ETIMEDOUT)
        ;
    }
    durable_answer *batch = f->head;
    f->head = f->tail = NULL;
    pthread_mutex_unlock(&f->mu);
    uint64_t ticket = 0;
    for (durable_answer *a = batch; a; a = a->next)
      if (a->ticket > ticket)
        ticket = a->ticket;
    int error = queue_store_durable_wait(s->store, ticket);
    f->last_flush_ns = monotonic_ns(); /* only this thread reads or writes it */
    const char *message = error < 0 ? airgap_error_last() : NULL;
    while (batch) {
      durable_answer *next = batch->next;
      answer(s, batch, error, message);
      batch = next;
    }
    pthread_mutex_lock(&f->mu);
  }
  pthread_mutex_unlock(&f->mu);
  return NULL;
}

void server_flusher_init(queue_server *s) {
  pthread_mutex_init(&s->flusher.mu, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* the gathering deadline's clock */
  pthread_cond_init(&s->flusher.cond, &attr);
  pthread_condattr_destroy(&attr);
}

int server_flusher_start(queue_server *s) {
  if (pthread_create(&s->flusher.thread, NULL, flusher_main, s) != 0)
    return airgap_error_set(AIRGAP_ERROR, "cannot start the queue's flusher thread");
  s->flusher.started = 1;
  return 0;
}

void server_flusher_stop(queue_server *s) {
  server_flusher *f = &s->flusher;
  pthread_mutex_lock(&f->mu);
  f->stopping = 1;
  pthread_cond_signal(&f->cond);
  pthread_mutex_unlock(&f->mu);
  if (f->started)
    pthread_join(f->thread, NULL);
  f->started = 0;
}

void server_flusher_destroy(queue_server *s) {
  pthread_cond_destroy(&s->flusher.cond);
  pthread_mutex_destroy(&s->flusher.mu);
}

void server_respond_durable(queue_server *s, http_request *req, http_response *resp,
                            uint64_t ticket, const char *changed_id) {
  server_flusher *f = &s->flusher;
  durable_answer *a = calloc(1, sizeof(*a));
  if (!a || (changed_id && !(a->changed_id = strdup(changed_id)))) {
    free(a);
    /* Not worth an error: wait here, as without the flusher. */
    int error = queue_store_durable_wait(s->store, ticket);
    if (error < 0) {
      http_response_free(resp);
      http_request_respond_error(req, 500, airgap_error_last());
      return;
    }
    if (changed_id)
      server_logs_notify(s, changed_id);
    http_request_respond(req, resp);
    if (changed_id)
      server_events_changed(s);
    return;
  }
  a->req = req;
  a->resp = resp;
  a->ticket = ticket;
  pthread_mutex_lock(&f->mu);
  if (ticket && f->started && !f->stopping) {
    if (f->tail)
      f->tail->next = a;
    else
      f->head = a;
    f->tail = a;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->mu);
    return;
  }
  pthread_mutex_unlock(&f->mu);
  /* Nothing to wait for, or the server is stopping: answer from here. */
  int error = queue_store_durable_wait(s->store, ticket);
  answer(s, a, error, error < 0 ? airgap_error_last() : NULL);
}
