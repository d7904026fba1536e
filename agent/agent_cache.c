/*
 * agent_cache.c — keeps the agent's overlay cache bounded (issue 12, item 6).
 *
 * Without it mirrors and snapshots pile up with every commit, and a checkout
 * killed mid-way leaks its build directory. A background thread sweeps those
 * leftovers and evicts at agent start, again soon after jobs end (at most
 * once a minute) and every ten minutes anyway. It runs beside the lease loop,
 * never inside a job's start-up: eviction takes only locks it can get without
 * waiting, and snapshots in use (held by a supervisor, or under a mounted
 * workspace) and the mirrors they borrow objects from are never removed.
 *
 * Limits: the whole cache (snapshots and mirrors) at most cache_max_bytes,
 * by default a quarter of the file system holding it; anything unused for
 * cache_max_age_secs (default 7 days) goes whatever the size.
 */
#include "agent/agent_int.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "overlay/overlay.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#define CACHE_PERIOD_MS (10u * 60u * 1000u)
#define CACHE_MIN_GAP_MS (60u * 1000u)
#define CACHE_DEFAULT_AGE_SECS (7u * 24u * 3600u)

struct agent_cache_keeper {
  char *cache_dir;
  overlay_evict_options limits;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  int stopping;
  int poked;
};

int agent_cache_limits(overlay_evict_options *out, const char *cache_dir, uint64_t max_bytes,
                       unsigned max_age_secs) {
  if (!max_bytes) {
    struct statvfs vfs;
    if (statvfs(cache_dir, &vfs) < 0)
      return airgap_error_set_errno(AIRGAP_ERROR,
                                    "cannot measure the file system of the cache %s to size it "
                                    "(set --cache-max)",
                                    cache_dir);
    max_bytes = (uint64_t)vfs.f_blocks * (uint64_t)vfs.f_frsize / 4;
  }
  unsigned age = max_age_secs ? max_age_secs : CACHE_DEFAULT_AGE_SECS;
  overlay_evict_options limits = {.max_tree_bytes = UINT64_MAX,
                                  .mirror_max_idle_secs = (int64_t)age,
                                  .tree_max_idle_secs = (int64_t)age,
                                  .max_total_bytes = max_bytes};
  *out = limits;
  return 0;
}

static void run_once(agent_cache_keeper *k) {
  overlay_cache *cache = NULL;
  overlay_evict_result res = {0};
  uint64_t started = clock_monotonic_ms();
  if (overlay_cache_open(&cache, k->cache_dir) < 0 ||
      overlay_cache_evict(&res, cache, &k->limits) < 0) {
    log_warn("agent", "cache %s: eviction failed (retrying later): %s", k->cache_dir,
             airgap_error_last());
  } else if (res.trees_removed || res.mirrors_removed) {
    log_info("agent",
             "cache %s: evicted %u snapshot(s) and %u mirror(s) in %llu ms; %llu MiB left "
             "(limit %llu MiB), %u snapshot(s) in use",
             k->cache_dir, res.trees_removed, res.mirrors_removed,
             (unsigned long long)(clock_monotonic_ms() - started),
             (unsigned long long)((res.tree_bytes + res.mirror_bytes) >> 20),
             (unsigned long long)(k->limits.max_total_bytes >> 20), res.trees_in_use);
  }
  overlay_cache_free(cache);
}

static void *keeper_main(void *arg) {
  agent_cache_keeper *k = arg;
  for (;;) {
    run_once(k);
    uint64_t last = clock_monotonic_ms();
    pthread_mutex_lock(&k->lock);
    struct timespec period;
    clock_monotonic_deadline(&period, CACHE_PERIOD_MS);
    while (!k->stopping && !k->poked && pthread_cond_timedwait(&k->wake, &k->lock, &period) == 0) {
    }
    /* Jobs ending in a burst cost one run a minute, not one each. */
    uint64_t since = clock_monotonic_ms() - last;
    if (!k->stopping && since < CACHE_MIN_GAP_MS) {
      struct timespec gap;
      clock_monotonic_deadline(&gap, CACHE_MIN_GAP_MS - since);
      while (!k->stopping && pthread_cond_timedwait(&k->wake, &k->lock, &gap) == 0) {
      }
    }
    k->poked = 0;
    int stopping = k->stopping;
    pthread_mutex_unlock(&k->lock);
    if (stopping)
      break;
  }
  return NULL;
}

int agent_cache_keeper_start(agent_cache_keeper **out, const char *cache_dir, uint64_t max_bytes,
                             unsigned max_age_secs) {
  agent_cache_keeper *k = calloc(1, sizeof(*k));
  if (!k)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  int error = agent_cache_limits(&k->limits, cache_dir, max_bytes, max_age_secs);
  if (error < 0) {
    free(k);
    return error;
  }
  if (!(k->cache_dir = strdup(cache_dir))) {
    free(k);
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  }
  pthread_mutex_init(&k->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&k->wake, &attr);
  pthread_condattr_destroy(&attr);
  int rc = pthread_create(&k->thread, NULL, keeper_main, k);
  if (rc != 0) {
    pthread_cond_destroy(&k->wake);
    pthread_mutex_destroy(&k->lock);
    free(k->cache_dir);
    free(k);
    return airgap_error_set(AIRGAP_ERROR, "cannot start the cache eviction thread: %s",
                            strerror(rc));
  }
  *out = k;
  return 0;
}

void agent_cache_keeper_poke(agent_cache_keeper *k) {
  if (!k)
    return;
  pthread_mutex_lock(&k->lock);
  k->poked = 1;
  pthread_cond_signal(&k->wake);
  pthread_mutex_unlock(&k->lock);
}

void agent_cache_keeper_stop(agent_cache_keeper *k) {
  if (!k)
    return;
  pthread_mutex_lock(&k->lock);
  k->stopping = 1;
  pthread_cond_signal(&k->wake);
  pthread_mutex_unlock(&k->lock);
  pthread_join(k->thread, NULL); /* a run in progress finishes first */
  pthread_cond_destroy(&k->wake);
  pthread_mutex_destroy(&k->lock);
  free(k->cache_dir);
  free(k);
}
