/*
 * http_server_guard.c — keeps slow and greedy clients from taking an HTTP
 * server offline (slowloris: thousands of connections trickling one byte of
 * header at a time).
 *
 * Why not libmicrohttpd's own options: MHD_OPTION_CONNECTION_TIMEOUT is an
 * idle timeout, which a byte every few seconds resets forever;
 * MHD_OPTION_CONNECTION_LIMIT and MHD_OPTION_PER_IP_CONNECTION_LIMIT count per
 * daemon (we run one per listener), split the total between the pool's
 * threads, and refuse the *new* connection when full — so an attacker who
 * got there first keeps the server to himself. libmicrohttpd 0.9.75
 * (Debian 12) has no header deadline at all.
 *
 * So the guard tracks every connection of every listener through
 * MHD_OPTION_NOTIFY_CONNECTION, knows which ones are still waiting for a
 * request's headers (from accept, or from the end of the previous request on
 * a kept-alive connection, until the first access-handler call), and:
 *   - closes a waiting connection whose deadline passed, however many bytes
 *     it trickled (header_ms after accept, idle_ms after a response);
 *   - when a client address holds more than max_per_peer connections, or the
 *     server more than max_connections, closes the oldest *waiting*
 *     connection (of that address first) to make room. Connections that are
 *     being served (a long poll, a streamed log) are never closed this way;
 *     when nothing can be evicted the newcomer is the one refused.
 * A fresh client sends its headers at once, stops waiting within
 * milliseconds and so is not the one evicted: new clients keep being
 * answered during an attack.
 *
 * Closing from outside MHD's thread: shutdown(2) on the connection's socket.
 * The descriptor stays open (MHD closes it), so it cannot have been reused,
 * and MHD's event loop sees end-of-file and tears the connection down in its
 * own thread. MHD reports CLOSED before it closes the descriptor and we drop
 * the record under the same lock we shut down under, so we never touch a
 * descriptor MHD has closed.
 */
#include "common/http_server_int.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

typedef struct guard_conn {
  struct guard_conn *prev, *next; /* accept order: oldest first */
  int fd;
  int family; /* AF_INET, AF_INET6, 0 when unknown (never matched as a peer) */
  unsigned char peer[16];
  int waiting; /* waiting for a request's headers */
  int kicked;  /* shut down, CLOSED not reported yet */
  uint64_t deadline_ms;
} guard_conn;

struct http_guard {
  http_guard_limits limits;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pthread_t reaper;
  int reaper_started; /* http_guard_start made the thread */
  int stopping;
  guard_conn *head, *tail;
  unsigned live;         /* tracked connections not kicked */
  uint64_t next_wake_ms; /* when the reaper will look next, UINT64_MAX when idle */
};

static void peer_of(guard_conn *c, struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *info =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (!info || !info->client_addr)
    return;
  if (info->client_addr->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)info->client_addr;
    c->family = AF_INET;
    memcpy(c->peer, &in->sin_addr, 4);
  } else if (info->client_addr->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)info->client_addr;
    c->family = AF_INET6;
    memcpy(c->peer, &in6->sin6_addr, 16);
  }
}

static int same_peer(const guard_conn *a, const guard_conn *b) {
  if (!a->family || a->family != b->family)
    return 0;
  return memcmp(a->peer, b->peer, a->family == AF_INET ? 4 : 16) == 0;
}

/* Caller holds the lock. */
static void kick(http_guard *guard, guard_conn *c, const char *why) {
  if (c->kicked)
    return;
  c->kicked = 1;
  guard->live--;
  log_debug("http", "closing connection fd %d: %s", c->fd, why);
  shutdown(c->fd, SHUT_RDWR);
}

/* The oldest waiting connection (of peer's address when peer is set). */
static guard_conn *oldest_waiting(http_guard *guard, const guard_conn *peer) {
  for (guard_conn *c = guard->head; c; c = c->next)
    if (c->waiting && !c->kicked && (!peer || same_peer(c, peer)))
      return c;
  return NULL;
}

/* Caller holds the lock; fresh is the connection just accepted. */
static void enforce_caps(http_guard *guard, guard_conn *fresh) {
  if (fresh->family && guard->limits.max_per_peer) {
    unsigned count = 0;
    for (guard_conn *c = guard->head; c; c = c->next)
      if (!c->kicked && same_peer(c, fresh))
        count++;
    if (count > guard->limits.max_per_peer) {
      guard_conn *victim = oldest_waiting(guard, fresh);
      kick(guard, victim ? victim : fresh, "too many connections from one address");
    }
  }
  if (guard->limits.max_connections && guard->live > guard->limits.max_connections) {
    guard_conn *victim = oldest_waiting(guard, NULL);
    kick(guard, victim ? victim : fresh, "too many connections");
  }
}

/* Caller holds the lock. Wakes the reaper if this deadline comes before the
 * one it sleeps towards. */
static void arm(http_guard *guard, guard_conn *c, uint64_t deadline_ms) {
  c->waiting = 1;
  c->deadline_ms = deadline_ms;
  if (deadline_ms < guard->next_wake_ms)
    pthread_cond_signal(&guard->wake);
}

static void *reaper_main(void *arg) {
  http_guard *guard = arg;
  pthread_mutex_lock(&guard->lock);
  while (!guard->stopping) {
    uint64_t now = clock_monotonic_ms(), next = UINT64_MAX;
    for (guard_conn *c = guard->head; c; c = c->next) {
      if (!c->waiting || c->kicked)
        continue;
      if (c->deadline_ms <= now)
        kick(guard, c, "request headers not received in time");
      else if (c->deadline_ms < next)
        next = c->deadline_ms;
    }
    guard->next_wake_ms = next;
    if (next == UINT64_MAX) {
      pthread_cond_wait(&guard->wake, &guard->lock);
    } else {
      struct timespec ts;
      clock_monotonic_deadline(&ts, next - now);
      pthread_cond_timedwait(&guard->wake, &guard->lock, &ts);
    }
  }
  pthread_mutex_unlock(&guard->lock);
  return NULL;
}

int http_guard_new(http_guard **out, const http_guard_limits *limits) {
  http_guard *guard = calloc(1, sizeof(*guard));
  if (!guard)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  guard->limits = *limits;
  guard->next_wake_ms = UINT64_MAX;
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&guard->wake, &attr);
  pthread_condattr_destroy(&attr);
  pthread_mutex_init(&guard->lock, NULL);
  *out = guard;
  return 0;
}

int http_guard_start(http_guard *guard) {
  int rc = pthread_create(&guard->reaper, NULL, reaper_main, guard);
  if (rc != 0)
    return airgap_error_set(AIRGAP_ERROR, "cannot start the HTTP connection guard thread: %s",
                            strerror(rc));
  guard->reaper_started = 1;
  return 0;
}

void http_guard_free(http_guard *guard) {
  if (!guard)
    return;
  pthread_mutex_lock(&guard->lock);
  guard->stopping = 1;
  pthread_cond_signal(&guard->wake);
  pthread_mutex_unlock(&guard->lock);
  if (guard->reaper_started)
    pthread_join(guard->reaper, NULL);
  /* The daemons have stopped and reported every connection closed; anything
   * left would be a connection MHD never reported, freed all the same. */
  for (guard_conn *c = guard->head, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  pthread_cond_destroy(&guard->wake);
  pthread_mutex_destroy(&guard->lock);
  free(guard);
}

void http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                       enum MHD_ConnectionNotificationCode code) {
  http_guard *guard = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    guard_conn *c = calloc(1, sizeof(*c));
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!c || !info) {
      free(c); /* untracked: MHD's idle timeout still applies */
      return;
    }
    c->fd = info->connect_fd;
    peer_of(c, conn);
    pthread_mutex_lock(&guard->lock);
    c->prev = guard->tail;
    if (guard->tail)
      guard->tail->next = c;
    else
      guard->head = c;
    guard->tail = c;
    guard->live++;
    arm(guard, c, clock_monotonic_ms() + guard->limits.header_ms);
    enforce_caps(guard, c);
    pthread_mutex_unlock(&guard->lock);
    *socket_context = c;
    return;
  }
  guard_conn *c = *socket_context;
  if (!c)
    return;
  pthread_mutex_lock(&guard->lock);
  if (c->prev)
    c->prev->next = c->next;
  else
    guard->head = c->next;
  if (c->next)
    c->next->prev = c->prev;
  else
    guard->tail = c->prev;
  if (!c->kicked)
    guard->live--;
  pthread_mutex_unlock(&guard->lock);
  free(c);
  *socket_context = NULL;
}

static guard_conn *conn_record(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *info =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return info ? info->socket_context : NULL;
}

void http_guard_headers_done(http_guard *guard, struct MHD_Connection *conn) {
  guard_conn *c = conn_record(conn);
  if (!c)
    return;
  pthread_mutex_lock(&guard->lock);
  c->waiting = 0;
  pthread_mutex_unlock(&guard->lock);
}

void http_guard_request_done(http_guard *guard, struct MHD_Connection *conn) {
  guard_conn *c = conn_record(conn);
  if (!c)
    return;
  pthread_mutex_lock(&guard->lock);
  arm(guard, c, clock_monotonic_ms() + guard->limits.idle_ms);
  pthread_mutex_unlock(&guard->lock);
}
