/*
 * server_events.c — live updates for the web UI: GET /v1/events is a
 * Server-Sent Events stream (text/event-stream) that says "something a list
 * shows changed" — a job submitted, leased, finished, canceled, retried,
 * requeued; an agent drained or resumed — so that a page refetches what it
 * shows instead of polling. It carries no job data: what a page may see is
 * decided by the calls it makes then, with its own token.
 *
 * The page reads it with fetch() (EventSource cannot send an Authorization
 * header, and tokens never go in URLs or cookies). Each stream is parked
 * between changes like a log follower (no thread held); a change bumps a
 * version number and wakes every stream, which sends one event with the
 * newest version, however many changes came in between. A comment line
 * every KEEPALIVE_MS keeps proxies from closing an idle stream and lets the
 * server notice a page that went away.
 */
#include "queue/server_int.h"
#include "common/clock.h"
#include "common/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEEPALIVE_MS 15000
#define MAX_EVENT_STREAMS 1000

struct event_stream {
  queue_server *server;
  uint64_t sent;      /* the version this stream told its page last */
  uint64_t pinged_at; /* clock_monotonic_ms */
  http_stream *handle;
  struct event_stream *next;
};

void server_events_init(queue_server *s) { pthread_mutex_init(&s->events.mu, NULL); }

void server_events_stop(queue_server *s) {
  pthread_mutex_lock(&s->events.mu);
  s->events.stopping = 1;
  for (event_stream *es = s->events.head; es; es = es->next)
    http_stream_wake(es->handle);
  pthread_mutex_unlock(&s->events.mu);
}

void server_events_destroy(queue_server *s) { pthread_mutex_destroy(&s->events.mu); }

void server_events_changed(queue_server *s) {
  pthread_mutex_lock(&s->events.mu);
  s->events.version++;
  for (event_stream *es = s->events.head; es; es = es->next)
    http_stream_wake(es->handle);
  pthread_mutex_unlock(&s->events.mu);
}

void server_events_tick(queue_server *s) {
  uint64_t now = clock_monotonic_ms();
  pthread_mutex_lock(&s->events.mu);
  if (now - s->events.last_ping >= KEEPALIVE_MS) {
    s->events.last_ping = now;
    for (event_stream *es = s->events.head; es; es = es->next)
      http_stream_wake(es->handle);
  }
  pthread_mutex_unlock(&s->events.mu);
}

static ssize_t event_stream_read(void *payload, uint64_t pos, char *buf, size_t max) {
  event_stream *es = payload;
  server_events *ev = &es->server->events;
  uint64_t now = clock_monotonic_ms();
  int n = 0;
  (void)pos;
  pthread_mutex_lock(&ev->mu);
  if (ev->stopping)
    n = -1;
  else if (es->sent != ev->version) {
    es->sent = ev->version;
    n = snprintf(buf, max, "event: change\ndata: %llu\n\n", (unsigned long long)es->sent);
  } else if (now - es->pinged_at >= KEEPALIVE_MS) {
    es->pinged_at = now;
    n = snprintf(buf, max, ": keep-alive\n\n");
  }
  pthread_mutex_unlock(&ev->mu);
  if (n < 0)
    return HTTP_STREAM_END;
  if (n == 0)
    return HTTP_STREAM_WAIT; /* a wake between the check and the park is not lost */
  return (size_t)n < max ? (ssize_t)n : HTTP_STREAM_ERROR;
}

static void event_stream_free(void *payload) {
  event_stream *es = payload;
  server_events *ev = &es->server->events;
  pthread_mutex_lock(&ev->mu);
  for (event_stream **p = &ev->head; *p; p = &(*p)->next) {
    if (*p == es) {
      *p = es->next;
      break;
    }
  }
  pthread_mutex_unlock(&ev->mu);
  free(es);
}

void server_on_events(http_request *req, void *payload) {
  queue_server *s = payload;
  server_events *ev = &s->events;
  if (server_authorize(s, req, "read") < 0)
    return;
  event_stream *es = calloc(1, sizeof(*es));
  if (!es) {
    http_request_respond_error(req, 500, "out of memory");
    return;
  }
  es->server = s;
  es->pinged_at = clock_monotonic_ms();
  pthread_mutex_lock(&ev->mu);
  size_t count = 0;
  for (event_stream *p = ev->head; p; p = p->next)
    count++;
  es->sent = ev->version - 1; /* the first read answers at once: the page is in sync */
  pthread_mutex_unlock(&ev->mu);
  if (count >= MAX_EVENT_STREAMS) {
    free(es);
    http_request_respond_error(req, 503, "too many event streams; retry later");
    return;
  }
  http_response *resp = http_response_new_stream(200, "text/event-stream", HTTP_SIZE_UNKNOWN,
                                                 event_stream_read, es, event_stream_free);
  if (!resp) { /* es was freed by event_stream_free */
    http_request_respond_error(req, 500, "out of memory");
    return;
  }
  http_response_header_add(resp, "Cache-Control", "no-store");
  http_response_header_add(resp, "X-Accel-Buffering", "no"); /* nginx: do not buffer */
  pthread_mutex_lock(&ev->mu);
  es->handle = http_response_stream(resp);
  es->next = ev->head;
  ev->head = es;
  pthread_mutex_unlock(&ev->mu);
  http_request_respond(req, resp);
}
