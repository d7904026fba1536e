/*
 * engine.c — the delivery engine: one per emulator, shared by the services
 * that fan out (SNS, EventBridge, S3 notifications) through a reference count.
 *
 * Jobs wait in one of two lanes. The in-process lane (SQS, SNS, EventBridge,
 * Lambda) has a single worker, so jobs leave in the order they were
 * submitted — what FIFO topics and ordered event streams need — and an
 * in-process target is fast. The HTTP lane has DELIVERY_HTTP_WORKERS workers
 * so that a slow or dead endpoint delays only its own lane. A failed attempt
 * goes to its lane's delayed list (sorted by due time) with a backoff delay;
 * when the attempts are spent the body goes to the job's dead-letter queue
 * (an SQS queue), else it is dropped and counted.
 *
 * A lane's workers start with its first job, not with the engine. An SQS job
 * submitted while its lane is idle skips the worker: delivery_submit makes
 * its first attempt itself (submit_inline), and only a failure queues it.
 *
 * Locking: one mutex per engine guards both lanes, the handlers and the
 * counters; handlers and targets run without it.
 */
#include "emulator/delivery/delivery_int.h"

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DELIVERY_HTTP_WORKERS 2
#define DELIVERY_LANES 2

typedef struct job {
  struct job *next;
  delivery_kind kind;
  char *target;
  char *body;
  size_t body_len;
  json_t *meta;
  char *dlq_arn;
  int attempt, max_attempts, no_delay_retries;
  uint32_t min_delay_ms, max_delay_ms;
  uint64_t due_ms; /* delayed retries: monotonic ms */
} job;

typedef struct lane {
  job *ready_head, *ready_tail;
  job *delayed; /* sorted by due_ms */
  size_t queued;
  int running;
  int inline_busy; /* a job runs on its submitter's thread (delivery_submit) */
  pthread_t threads[DELIVERY_HTTP_WORKERS];
  int nthreads;
} lane;

typedef struct handler {
  delivery_handler_fn fn;
  void *payload;
  int busy;
} handler;

struct delivery {
  struct delivery *next; /* the registry */
  emulator *emu;
  int refs;
  pthread_mutex_t lock;
  pthread_cond_t wake; /* jobs, stop */
  pthread_cond_t idle; /* a job finished (flush, handler removal) */
  lane lanes[DELIVERY_LANES];
  handler handlers[DELIVERY_KINDS];
  int stopping, stopped;
  size_t queued_bytes; /* bodies waiting or running, against DELIVERY_MAX_QUEUED_BYTES */
  delivery_stats stats;
};

/* Engines by emulator: few emulators per process, so a list. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static delivery *registry;

typedef struct worker_arg {
  delivery *d;
  int lane;
} worker_arg;

static void job_free(job *j) {
  if (!j)
    return;
  free(j->target);
  free(j->body);
  json_decref(j->meta);
  free(j->dlq_arn);
  free(j);
}

static int lane_of(delivery_kind kind) { return kind == DELIVERY_HTTP ? 1 : 0; }

static void lane_clear(lane *l) {
  for (job *j = l->ready_head, *n; j; j = n) {
    n = j->next;
    job_free(j);
  }
  for (job *j = l->delayed, *n; j; j = n) {
    n = j->next;
    job_free(j);
  }
  l->ready_head = l->ready_tail = l->delayed = NULL;
  l->queued = 0;
}

static void ready_push(lane *l, job *j) {
  j->next = NULL;
  if (l->ready_tail)
    l->ready_tail->next = j;
  else
    l->ready_head = j;
  l->ready_tail = j;
}

static void delayed_push(lane *l, job *j) {
  job **pp = &l->delayed;
  while (*pp && (*pp)->due_ms <= j->due_ms)
    pp = &(*pp)->next;
  j->next = *pp;
  *pp = j;
}

/* Backoff: no_delay_retries at once, then min doubling up to max. */
static uint64_t retry_delay(const job *j) {
  int retry = j->attempt; /* attempts made so far = index of the next retry */
  if (retry <= j->no_delay_retries)
    return 0;
  uint64_t delay = j->min_delay_ms;
  for (int i = j->no_delay_retries + 1; i < retry && delay < j->max_delay_ms; i++)
    delay *= 2;
  return delay < j->max_delay_ms ? delay : j->max_delay_ms;
}

/* Runs one attempt of j (without the lock). */
static int attempt(delivery *d, job *j) {
  delivery_item item = {j->kind, j->target, j->body, j->body_len, j->meta, j->attempt};
  switch (j->kind) {
  case DELIVERY_SQS: return delivery_sqs_send(d->emu, j->target, j->body, j->body_len, j->meta);
  case DELIVERY_HTTP: return delivery_http_post(j->target, j->body, j->body_len, j->meta);
  default: break;
  }
  pthread_mutex_lock(&d->lock);
  handler *h = &d->handlers[j->kind];
  delivery_handler_fn fn = h->fn;
  void *payload = h->payload;
  if (fn)
    h->busy++;
  pthread_mutex_unlock(&d->lock);
  if (!fn && j->kind == DELIVERY_LAMBDA) /* built in unless a handler replaces it */
    return delivery_lambda_invoke(d->emu, j->target, j->body, j->body_len);
  if (!fn)
    return airgap_error_set(AIRGAP_ENOTFOUND, "no service handles this target (%s)", j->target);
  int rc = fn(&item, payload);
  pthread_mutex_lock(&d->lock);
  h->busy--;
  pthread_cond_broadcast(&d->idle);
  pthread_mutex_unlock(&d->lock);
  return rc;
}

/* After the last failed attempt: the body to the dead-letter queue. */
static void dead_letter(delivery *d, job *j) {
  int ok = 0;
  if (j->dlq_arn) {
    json_t *meta = json_object();
    json_t *attrs = json_object_get(j->meta, "MessageAttributes");
    if (meta && json_is_object(attrs))
      json_object_set(meta, "MessageAttributes", attrs);
    ok = delivery_sqs_send(d->emu, j->dlq_arn, j->body, j->body_len, meta) == 0;
    json_decref(meta);
  }
  pthread_mutex_lock(&d->lock);
  if (ok)
    d->stats.dead_lettered++;
  else
    d->stats.dropped++;
  pthread_mutex_unlock(&d->lock);
  if (!ok)
    log_warn("delivery", "delivery to %s failed after %d attempts; message dropped", j->target,
             j->attempt);
}

static void *worker(void *arg) {
  worker_arg *wa = arg;
  delivery *d = wa->d;
  lane *l = &d->lanes[wa->lane];
  free(wa);
  pthread_mutex_lock(&d->lock);
  while (!d->stopping) {
    uint64_t now = clock_monotonic_ms();
    while (l->delayed && l->delayed->due_ms <= now) {
      job *j = l->delayed;
      l->delayed = j->next;
      ready_push(l, j);
    }
    job *j = l->inline_busy ? NULL : l->ready_head;
    if (!j) {
      if (l->delayed) {
        struct timespec ts;
        clock_monotonic_deadline(&ts, l->delayed->due_ms - now);
        pthread_cond_timedwait(&d->wake, &d->lock, &ts);
      } else {
        pthread_cond_wait(&d->wake, &d->lock);
      }
      continue;
    }
    l->ready_head = j->next;
    if (!l->ready_head)
      l->ready_tail = NULL;
    l->running++;
    pthread_mutex_unlock(&d->lock);

    j->attempt++;
    size_t body_len = j->body_len;
    int rc = attempt(d, j);
    if (rc < 0 && j->attempt >= j->max_attempts) {
      dead_letter(d, j);
      job_free(j);
      j = NULL;
    }
    pthread_mutex_lock(&d->lock);
    l->running--;
    if (rc == 0) {
      d->stats.delivered++;
      l->queued--;
      d->queued_bytes -= j->body_len;
      job_free(j);
    } else {
      d->stats.failed_attempts++;
      if (j) {
        j->due_ms = clock_monotonic_ms() + retry_delay(j);
        delayed_push(l, j);
      } else {
        l->queued--;
        d->queued_bytes -= body_len;
      }
    }
    pthread_cond_broadcast(&d->idle);
  }
  pthread_mutex_unlock(&d->lock);
  return NULL;
}

static void engine_stop(delivery *d) {
  pthread_mutex_lock(&d->lock);
  if (d->stopped) {
    pthread_mutex_unlock(&d->lock);
    return;
  }
  d->stopping = 1;
  d->stopped = 1;
  pthread_cond_broadcast(&d->wake);
  /* An attempt on a submitter's thread uses the engine until it returns. */
  for (int i = 0; i < DELIVERY_LANES; i++)
    while (d->lanes[i].inline_busy)
      pthread_cond_wait(&d->idle, &d->lock);
  pthread_mutex_unlock(&d->lock);
  for (int i = 0; i < DELIVERY_LANES; i++)
    for (int t = 0; t < d->lanes[i].nthreads; t++)
      pthread_join(d->lanes[i].threads[t], NULL);
  pthread_mutex_lock(&d->lock);
  for (int i = 0; i < DELIVERY_LANES; i++) {
    d->stats.dropped += d->lanes[i].queued;
    lane_clear(&d->lanes[i]);
    d->queued_bytes = 0;
  }
  pthread_cond_broadcast(&d->idle);
  pthread_mutex_unlock(&d->lock);
}

static void engine_free(delivery *d) {
  engine_stop(d);
  pthread_mutex_destroy(&d->lock);
  pthread_cond_destroy(&d->wake);
  pthread_cond_destroy(&d->idle);
  free(d);
}

static delivery *engine_new(emulator *emu) {
  delivery *d = calloc(1, sizeof(*d));
  if (!d) {
    airgap_error_set(AIRGAP_ERROR, "out of memory");
    return NULL;
  }
  d->emu = emu;
  d->refs = 1;
  pthread_mutex_init(&d->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&d->wake, &attr);
  pthread_condattr_destroy(&attr);
  pthread_cond_init(&d->idle, NULL);
  return d;
}

/* Starts a lane's workers at its first job (d->lock held): an emulator that
 * never delivers starts no thread for it, and each thread made at start
 * costs its start time (~0.3 ms here). A worker blocks on d->lock until the
 * caller releases it. Fails only when no worker of the lane runs. */
static int lane_start(delivery *d, int index) {
  lane *l = &d->lanes[index];
  int want = index == lane_of(DELIVERY_HTTP) ? DELIVERY_HTTP_WORKERS : 1;
  while (l->nthreads < want) {
    worker_arg *wa = malloc(sizeof(*wa));
    int rc = wa ? 0 : ENOMEM;
    if (wa) {
      wa->d = d;
      wa->lane = index;
      rc = pthread_create(&l->threads[l->nthreads], NULL, worker, wa);
      if (rc != 0)
        free(wa);
    }
    if (rc != 0) {
      if (l->nthreads > 0)
        return 0;
      errno = rc;
      return airgap_error_set_errno(AIRGAP_ERROR, "cannot start a delivery worker");
    }
    l->nthreads++;
  }
  return 0;
}

delivery *delivery_acquire(emulator *emu) {
  pthread_mutex_lock(&registry_lock);
  delivery *d = registry;
  while (d && d->emu != emu)
    d = d->next;
  if (d) {
    d->refs++;
  } else if ((d = engine_new(emu)) != NULL) {
    d->next = registry;
    registry = d;
  }
  pthread_mutex_unlock(&registry_lock);
  return d;
}

void delivery_release(delivery *d) {
  if (!d)
    return;
  pthread_mutex_lock(&registry_lock);
  if (--d->refs > 0) {
    pthread_mutex_unlock(&registry_lock);
    return;
  }
  delivery **pp = &registry;
  while (*pp && *pp != d)
    pp = &(*pp)->next;
  if (*pp)
    *pp = d->next;
  pthread_mutex_unlock(&registry_lock);
  engine_free(d);
}

delivery *delivery_find(emulator *emu) {
  pthread_mutex_lock(&registry_lock);
  delivery *d = registry;
  while (d && d->emu != emu)
    d = d->next;
  pthread_mutex_unlock(&registry_lock);
  return d;
}

emulator *delivery_emulator(delivery *d) { return d->emu; }

void delivery_handler_set(delivery *d, delivery_kind kind, delivery_handler_fn fn, void *payload) {
  if (!d || kind < 0 || kind >= DELIVERY_KINDS)
    return;
  pthread_mutex_lock(&d->lock);
  handler *h = &d->handlers[kind];
  if (!fn)
    while (h->busy > 0)
      pthread_cond_wait(&d->idle, &d->lock);
  h->fn = fn;
  h->payload = fn ? payload : NULL;
  pthread_mutex_unlock(&d->lock);
}

/* A job's own copy of what was submitted; NULL when out of memory. */
static job *job_new(const delivery_job *in) {
  job *j = calloc(1, sizeof(*j));
  if (!j)
    return NULL;
  j->kind = in->kind;
  j->target = strdup(in->target);
  j->body = malloc(in->body_len + 1);
  j->meta = in->meta ? json_deep_copy(in->meta) : json_object();
  j->dlq_arn = in->dlq_arn ? strdup(in->dlq_arn) : NULL;
  if (!j->target || !j->body || !j->meta || (in->dlq_arn && !j->dlq_arn)) {
    job_free(j);
    return NULL;
  }
  if (in->body_len)
    memcpy(j->body, in->body, in->body_len);
  j->body[in->body_len] = '\0';
  j->body_len = in->body_len;
  j->max_attempts = in->max_attempts > 0 ? in->max_attempts : (in->kind == DELIVERY_HTTP ? 4 : 3);
  j->min_delay_ms = in->min_delay_ms ? in->min_delay_ms : 1000;
  j->max_delay_ms = in->max_delay_ms ? in->max_delay_ms : 20000;
  if (j->max_delay_ms < j->min_delay_ms)
    j->max_delay_ms = j->min_delay_ms;
  j->no_delay_retries = in->no_delay_retries > 0 ? in->no_delay_retries : 0;
  return j;
}

/* The first attempt of an SQS job made by its submitter while its lane is
 * idle (d->lock held on entry and on return). An in-process SQS send takes
 * microseconds and only SQS's lock, while a hand-over to the worker costs a
 * thread wake-up — on a loaded machine most of a Publish-to-receive latency.
 * Order is kept: nothing is queued or running ahead of it, and the worker
 * starts nothing while it runs (inline_busy). A failed attempt becomes an
 * ordinary job waiting for its retry. 0, or -1 when the job could not be
 * kept for a retry (counted as dropped). */
static int submit_inline(delivery *d, lane *l, const delivery_job *in) {
  l->inline_busy = 1;
  pthread_mutex_unlock(&d->lock);
  int rc = delivery_sqs_send(d->emu, in->target, in->body, in->body_len, in->meta);
  job *j = NULL;
  int kept = 1;
  if (rc < 0) {
    char why[512];
    snprintf(why, sizeof(why), "%s", airgap_error_last());
    j = job_new(in);
    if (j) {
      j->attempt = 1;
      if (j->attempt >= j->max_attempts) {
        dead_letter(d, j);
        job_free(j);
        j = NULL;
      }
    } else {
      kept = 0;
      log_warn("delivery", "delivery to %s failed (%s) and cannot be retried: out of memory",
               in->target, why);
    }
  }
  pthread_mutex_lock(&d->lock);
  l->inline_busy = 0;
  if (rc == 0) {
    d->stats.delivered++;
  } else {
    d->stats.failed_attempts++;
    if (j && !d->stopping && l->queued < DELIVERY_MAX_QUEUED &&
        d->queued_bytes + j->body_len <= DELIVERY_MAX_QUEUED_BYTES &&
        lane_start(d, lane_of(in->kind)) == 0) {
      j->due_ms = clock_monotonic_ms() + retry_delay(j);
      delayed_push(l, j);
      l->queued++;
      d->queued_bytes += j->body_len;
      j = NULL;
    } else if (j || !kept) {
      d->stats.dropped++;
      kept = 0;
    }
  }
  /* Wakes the worker for what was queued behind this job, or for the retry. */
  pthread_cond_broadcast(&d->wake);
  pthread_cond_broadcast(&d->idle);
  job_free(j);
  return kept ? 0 : -1;
}

int delivery_submit(delivery *d, const delivery_job *in) {
  if (!d || !in || !in->target || !*in->target || in->kind < 0 || in->kind >= DELIVERY_KINDS ||
      (in->body_len && !in->body))
    return airgap_error_set(AIRGAP_EINVALID, "malformed delivery job");
  if (in->body_len > DELIVERY_MAX_BODY)
    return airgap_error_set(AIRGAP_ETOOBIG, "delivery body over %d bytes", DELIVERY_MAX_BODY);
  lane *l = &d->lanes[lane_of(in->kind)];
  pthread_mutex_lock(&d->lock);
  if (in->kind == DELIVERY_SQS && !d->stopping && !l->ready_head && !l->running &&
      !l->inline_busy) {
    int rc = submit_inline(d, l, in);
    pthread_mutex_unlock(&d->lock);
    return rc < 0 ? airgap_error_set(AIRGAP_ERROR, "delivery to %.200s failed and was dropped",
                                     in->target)
                  : 0;
  }
  pthread_mutex_unlock(&d->lock);

  job *j = job_new(in);
  if (!j)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  pthread_mutex_lock(&d->lock);
  if (!d->stopping && lane_start(d, lane_of(in->kind)) < 0) {
    pthread_mutex_unlock(&d->lock);
    job_free(j);
    return -1;
  }
  if (d->stopping || l->queued >= DELIVERY_MAX_QUEUED ||
      d->queued_bytes + j->body_len > DELIVERY_MAX_QUEUED_BYTES) {
    d->stats.dropped++;
    int stopping = d->stopping;
    pthread_mutex_unlock(&d->lock);
    job_free(j);
    return airgap_error_set(AIRGAP_EBUSY, stopping ? "the delivery engine is stopping"
                                                   : "the delivery queue is full");
  }
  ready_push(l, j);
  l->queued++;
  d->queued_bytes += j->body_len;
  pthread_cond_broadcast(&d->wake);
  pthread_mutex_unlock(&d->lock);
  return 0;
}

void delivery_stop(delivery *d) {
  if (d)
    engine_stop(d);
}

int delivery_flush(delivery *d, uint64_t timeout_ms) {
  if (!d)
    return 0;
  uint64_t deadline = clock_monotonic_ms() + timeout_ms;
  pthread_mutex_lock(&d->lock);
  for (;;) {
    size_t pending = 0;
    for (int i = 0; i < DELIVERY_LANES; i++)
      pending += d->lanes[i].queued;
    if (!pending) {
      pthread_mutex_unlock(&d->lock);
      return 0;
    }
    uint64_t now = clock_monotonic_ms();
    if (now >= deadline) {
      pthread_mutex_unlock(&d->lock);
      return airgap_error_set(AIRGAP_ETIMEOUT, "deliveries still pending");
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t wait = deadline - now < 50 ? deadline - now : 50;
    ts.tv_nsec += (long)wait * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&d->idle, &d->lock, &ts);
  }
}

void delivery_stats_get(delivery *d, delivery_stats *out) {
  memset(out, 0, sizeof(*out));
  if (!d)
    return;
  pthread_mutex_lock(&d->lock);
  *out = d->stats;
  pthread_mutex_unlock(&d->lock);
}
