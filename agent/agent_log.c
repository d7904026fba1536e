/*
 * agent_log.c — a job's log on its way to the queue.
 *
 * Container output and the agent's own lines go through one secret masker, in
 * arrival order, into a pending buffer whose first byte sits at byte offset
 * `base` of the job's log. A sender thread ships the buffer every interval or
 * as soon as a batch is full, at that offset, so a retry after a lost answer
 * is idempotent on the server. When the server answers with another offset it
 * resyncs: bytes it has already are dropped, bytes it lost and we no longer
 * hold are replaced by a marker. The buffer is bounded: while the queue does
 * not take output, the newest output is dropped (with a marker) rather than
 * growing without limit. Writers never wait for the network.
 */
#include "agent/agent_int.h"
#include "common/clock.h"
#include "common/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_DEFAULT_INTERVAL_MS 250
#define LOG_DEFAULT_BATCH (64u * 1024)
#define LOG_DEFAULT_MAX_PENDING (8u * 1024 * 1024)
#define LOG_DEFAULT_BACKOFF_MS 2000
#define LOG_MAX_SEND (256u * 1024) /* one request, below the queue's 1 MiB chunk cap */
#define LOG_NOTE_MAX 1024

struct agent_log {
  pthread_mutex_t lock;
  pthread_cond_t wake; /* sender: bytes, batch full, closing */
  pthread_cond_t idle; /* closers: pending drained or sender gave up */
  pthread_t thread;
  int thread_started;

  agent_log_options opts;
  agent_log_send_fn send;
  void *payload;
  agent_mask *mask;

  char *buf; /* pending bytes, buf[0] at offset base */
  size_t len;
  size_t cap;
  uint64_t base;
  size_t dropped;  /* output refused since the last drop marker */
  char last;       /* last byte fed to the masker, for line starts */
  int closing;     /* no more writes; send what is left */
  int stop;        /* sender must exit now */
  int lease_lost;  /* the queue refused the lease: nothing more is sent */
  int sender_done; /* the sender thread has exited */
};

/* Appends to the pending buffer (lock held); 0, or -1 when over the bound. */
static int buffer_put(agent_log *log, const char *data, size_t len) {
  if (log->lease_lost)
    return 0;
  if (log->len + len > log->opts.max_pending) {
    log->dropped += len;
    return 0;
  }
  if (log->len + len > log->cap) {
    size_t cap = log->cap ? log->cap : 4096;
    while (cap < log->len + len)
      cap *= 2;
    if (cap > log->opts.max_pending)
      cap = log->opts.max_pending;
    char *grown = realloc(log->buf, cap);
    if (!grown) {
      log->dropped += len;
      return 0;
    }
    log->buf = grown;
    log->cap = cap;
  }
  memcpy(log->buf + log->len, data, len);
  log->len += len;
  return 0;
}

static int emit_to_buffer(const char *data, size_t len, void *payload) {
  return buffer_put(payload, data, len);
}

/* Feeds bytes through the masker (lock held). */
static void feed(agent_log *log, const char *data, size_t len) {
  if (len == 0)
    return;
  if (log->dropped && log->len + 256 <= log->opts.max_pending) {
    char marker[160];
    int n = snprintf(marker, sizeof(marker),
                     "%s" AGENT_LOG_MARK "%zu bytes of output dropped: the queue did not take "
                     "them in time\n",
                     log->last == '\n' || log->last == 0 ? "" : "\n", log->dropped);
    log->dropped = 0;
    agent_mask_write(log->mask, marker, (size_t)n, emit_to_buffer, log);
  }
  size_t before = log->len;
  agent_mask_write(log->mask, data, len, emit_to_buffer, log);
  log->last = data[len - 1];
  /* Wake the sender when bytes arrive in an empty buffer (it then waits
   * for the interval) and when a batch is full (it sends at once). */
  if ((before == 0 && log->len > 0) || log->len >= log->opts.batch_bytes)
    pthread_cond_signal(&log->wake);
}

void agent_log_write(agent_log *log, const char *data, size_t len) {
  pthread_mutex_lock(&log->lock);
  if (!log->closing)
    feed(log, data, len);
  pthread_mutex_unlock(&log->lock);
}

void agent_log_note(agent_log *log, const char *fmt, ...) {
  char text[LOG_NOTE_MAX];
  size_t n = 0;
  text[n++] = '\n';
  memcpy(text + n, AGENT_LOG_MARK, sizeof(AGENT_LOG_MARK) - 1);
  n += sizeof(AGENT_LOG_MARK) - 1;
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(text + n, sizeof(text) - n - 1, fmt, ap);
  va_end(ap);
  if (w < 0)
    w = 0;
  n += (size_t)w < sizeof(text) - n - 1 ? (size_t)w : sizeof(text) - n - 2;
  text[n++] = '\n';
  pthread_mutex_lock(&log->lock);
  if (!log->closing) {
    int fresh_line = log->last == '\n' || log->last == 0;
    feed(log, text + fresh_line, n - (size_t)fresh_line);
  }
  pthread_mutex_unlock(&log->lock);
}

/* Drops bytes below offset `to` from the buffer (lock held). */
static void buffer_consume(agent_log *log, uint64_t to) {
  if (to <= log->base)
    return;
  uint64_t n = to - log->base;
  if (n > log->len)
    n = log->len;
  memmove(log->buf, log->buf + n, log->len - (size_t)n);
  log->len -= (size_t)n;
  log->base += n;
}

/* The server holds fewer bytes than we already dropped: say so in the log. */
static void resync_behind(agent_log *log, uint64_t server) {
  char marker[160];
  int n = snprintf(marker, sizeof(marker),
                   "\n" AGENT_LOG_MARK "%llu bytes of log were lost by the queue\n",
                   (unsigned long long)(log->base - server));
  char *joined = malloc(log->len + (size_t)n);
  if (!joined)
    return; /* next round tries again */
  memcpy(joined, marker, (size_t)n);
  memcpy(joined + n, log->buf, log->len);
  free(log->buf);
  log->buf = joined;
  log->len += (size_t)n;
  log->cap = log->len;
  log->base = server;
}

static void *sender_main(void *arg) {
  agent_log *log = arg;
  unsigned backoff = 0;
  char *chunk = malloc(LOG_MAX_SEND);
  pthread_mutex_lock(&log->lock);
  uint64_t last_send = clock_monotonic_ms();
  while (chunk && !log->stop && !log->lease_lost) {
    if (log->len == 0) {
      if (log->closing)
        break;
      pthread_cond_broadcast(&log->idle);
      pthread_cond_wait(&log->wake, &log->lock);
      continue;
    }
    uint64_t now = clock_monotonic_ms();
    uint64_t due = last_send + (backoff ? backoff : log->opts.interval_ms);
    if (!log->closing && now < due && (backoff || log->len < log->opts.batch_bytes)) {
      struct timespec until;
      clock_monotonic_deadline(&until, due - now);
      pthread_cond_timedwait(&log->wake, &log->lock, &until);
      continue;
    }
    if (log->closing && backoff && now < due) {
      struct timespec until;
      clock_monotonic_deadline(&until, due - now);
      pthread_cond_timedwait(&log->wake, &log->lock, &until);
      continue;
    }
    size_t n = log->len < LOG_MAX_SEND ? log->len : LOG_MAX_SEND;
    uint64_t offset = log->base;
    memcpy(chunk, log->buf, n);
    pthread_mutex_unlock(&log->lock);
    uint64_t server = 0;
    int rc = log->send(&server, offset, chunk, n, log->payload);
    pthread_mutex_lock(&log->lock);
    last_send = clock_monotonic_ms();
    if (rc == 0) {
      backoff = 0;
      buffer_consume(log, offset + n);
    } else if (rc == AIRGAP_EINVALID) {
      backoff = 0;
      if (server >= log->base)
        buffer_consume(log, server);
      else
        resync_behind(log, server);
    } else if (rc == AIRGAP_EBUSY) {
      log->lease_lost = 1;
    } else {
      backoff = backoff ? backoff * 2 : 100;
      if (backoff > log->opts.max_backoff_ms)
        backoff = log->opts.max_backoff_ms;
    }
  }
  log->sender_done = 1;
  pthread_cond_broadcast(&log->idle);
  pthread_mutex_unlock(&log->lock);
  free(chunk);
  return NULL;
}

int agent_log_new(agent_log **out, const char *const *secrets, size_t secret_count,
                  const agent_log_options *opts, agent_log_send_fn send, void *payload) {
  agent_log *log = calloc(1, sizeof(*log));
  if (!log)
    return airgap_error_set(AIRGAP_ERROR, "out of memory for a job log");
  if (opts)
    log->opts = *opts;
  if (!log->opts.interval_ms)
    log->opts.interval_ms = LOG_DEFAULT_INTERVAL_MS;
  if (!log->opts.batch_bytes)
    log->opts.batch_bytes = LOG_DEFAULT_BATCH;
  if (!log->opts.max_pending)
    log->opts.max_pending = LOG_DEFAULT_MAX_PENDING;
  if (!log->opts.max_backoff_ms)
    log->opts.max_backoff_ms = LOG_DEFAULT_BACKOFF_MS;
  log->send = send;
  log->payload = payload;
  pthread_mutex_init(&log->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&log->wake, &attr);
  pthread_cond_init(&log->idle, &attr);
  pthread_condattr_destroy(&attr);
  log->mask = agent_mask_new(secrets, secret_count);
  if (!log->mask) {
    agent_log_free(log);
    return airgap_error_set(AIRGAP_ERROR, "out of memory for the secret masker");
  }
  int rc = pthread_create(&log->thread, NULL, sender_main, log);
  if (rc != 0) {
    agent_log_free(log);
    errno = rc;
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot start the log sender thread");
  }
  log->thread_started = 1;
  *out = log;
  return 0;
}

int agent_log_close(agent_log *log, long timeout_ms) {
  pthread_mutex_lock(&log->lock);
  if (!log->closing) {
    agent_mask_flush(log->mask, emit_to_buffer, log);
    log->closing = 1;
  }
  pthread_cond_signal(&log->wake);
  struct timespec until;
  clock_monotonic_deadline(&until, timeout_ms > 0 ? (uint64_t)timeout_ms : 0);
  while (!log->sender_done) {
    if (pthread_cond_timedwait(&log->idle, &log->lock, &until) == ETIMEDOUT)
      break;
  }
  log->stop = 1;
  pthread_cond_signal(&log->wake);
  int lost = log->lease_lost;
  size_t left = log->len;
  pthread_mutex_unlock(&log->lock);
  if (log->thread_started) {
    pthread_join(log->thread, NULL);
    log->thread_started = 0;
  }
  if (lost)
    return airgap_error_set(AIRGAP_EBUSY, "the job's lease was lost; its log is incomplete");
  if (left)
    return airgap_error_set(AIRGAP_ETIMEOUT,
                            "%zu bytes of the job's log could not be sent to the queue", left);
  return 0;
}

uint64_t agent_log_acked(agent_log *log) {
  pthread_mutex_lock(&log->lock);
  uint64_t base = log->base;
  pthread_mutex_unlock(&log->lock);
  return base;
}

void agent_log_free(agent_log *log) {
  if (!log)
    return;
  if (log->thread_started) {
    pthread_mutex_lock(&log->lock);
    log->stop = 1;
    pthread_cond_signal(&log->wake);
    pthread_mutex_unlock(&log->lock);
    pthread_join(log->thread, NULL);
  }
  agent_mask_free(log->mask);
  pthread_mutex_destroy(&log->lock);
  pthread_cond_destroy(&log->wake);
  pthread_cond_destroy(&log->idle);
  free(log->buf);
  free(log);
}
