/*
 * test_agent_cache.c — the agent's cache keeper (agent_cache.c): its limits
 * and its first run at start, which sweeps what a killed checkout left and
 * evicts by age and size while sparing a snapshot in use. Real git
 * repositories (git CLI) and a real overlay cache under a temporary root.
 */
#include "agent/agent_int.h"
#include "common/error.h"
#include "overlay/overlay.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static char root[PATH_MAX];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
  char cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof(cmd))
    return -1;
  int status = system(cmd);
  return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Waits up to 20 s for `path` to exist (want 1) or not (want 0). */
static int wait_exists(const char *path, int want) {
  for (int i = 0; i < 200; i++) {
    if (exists(path) == want)
      return 1;
    sleep_ms(100);
  }
  return 0;
}

static int setup(void **state) {
  (void)state;
  char tmpl[] = "/tmp/airgap-agent-cache-XXXXXX";
  if (!mkdtemp(tmpl))
    return -1;
  snprintf(root, sizeof(root), "%s", tmpl);
  setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
  return sh("set -e; cd '%s' && git init -q -b main repo && cd repo"
            " && git -c user.name=ci -c user.email=ci@test commit -q --allow-empty -m one"
            " && git -c user.name=ci -c user.email=ci@test commit -q --allow-empty -m two",
            root);
}

static int teardown(void **state) {
  (void)state;
  return sh("rm -rf '%s'", root);
}

static void test_agent_cache_limits(void **state) {
  (void)state;
  overlay_evict_options o;
  assert_int_equal(agent_cache_limits(&o, root, 0, 0), 0);
  struct statvfs vfs;
  assert_int_equal(statvfs(root, &vfs), 0);
  assert_true(o.max_total_bytes == (uint64_t)vfs.f_blocks * vfs.f_frsize / 4);
  assert_true(o.tree_max_idle_secs == 7 * 86400);
  assert_true(o.mirror_max_idle_secs == 7 * 86400);
  assert_int_equal(agent_cache_limits(&o, root, 5ull << 30, 3600), 0);
  assert_true(o.max_total_bytes == 5ull << 30);
  assert_true(o.tree_max_idle_secs == 3600);
  assert_int_equal(agent_cache_limits(&o, "/nonexistent/airgap-cache", 0, 0), AIRGAP_ERROR);
  assert_non_null(strstr(airgap_error_last(), "--cache-max"));
}

/* A new agent starts on an empty cache: the first run finds nothing to sort
 * or remove, and stopping waits for it. */
static void test_agent_cache_keeper_on_an_empty_cache(void **state) {
  (void)state;
  char dir[PATH_MAX + 16];
  snprintf(dir, sizeof(dir), "%s/empty", root);
  overlay_cache *cache = NULL;
  assert_int_equal(overlay_cache_open(&cache, dir), 0);
  overlay_cache_free(cache);
  agent_cache_keeper *keeper = NULL;
  assert_int_equal(agent_cache_keeper_start(&keeper, dir, 1, 0), 0);
  sleep_ms(500);
  agent_cache_keeper_stop(keeper);
  overlay_evict_options o = {.max_tree_bytes = 0, .mirror_max_idle_secs = 0, .max_total_bytes = 1};
  overlay_evict_result res;
  assert_int_equal(overlay_cache_open(&cache, dir), 0);
  assert_int_equal(overlay_cache_evict(&res, cache, &o), 0);
  assert_int_equal(res.trees_removed + res.mirrors_removed, 0);
  overlay_cache_free(cache);
}

static overlay_snapshot *snapshot(overlay_cache *cache, const char *rev) {
  char url[PATH_MAX + 16];
  snprintf(url, sizeof(url), "%s/repo", root);
  overlay_request req = {.url = url, .ref = rev, .allow_local = 1};
  overlay_snapshot *snap = NULL;
  int rc = overlay_snapshot_get(&snap, cache, &req);
  if (rc != 0)
    fprintf(stderr, "snapshot %s: %s\n", rev, airgap_error_last());
  assert_int_equal(rc, 0);
  return snap;
}

static void test_agent_cache_keeper_sweeps_and_evicts_at_start(void **state) {
  (void)state;
  char dir[PATH_MAX + 16];
  snprintf(dir, sizeof(dir), "%s/cache", root);
  overlay_cache *cache = NULL;
  assert_int_equal(overlay_cache_open(&cache, dir), 0);
  char first[64] = "";
  char cmd[PATH_MAX + 64];
  snprintf(cmd, sizeof(cmd), "git -C '%s/repo' rev-parse main~1", root);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  assert_non_null(fgets(first, sizeof(first), p));
  pclose(p);
  first[strcspn(first, "\n")] = '\0';
  overlay_snapshot *old = snapshot(cache, first);
  overlay_snapshot *held = snapshot(cache, "main");
  char old_path[PATH_MAX], held_path[PATH_MAX];
  snprintf(old_path, sizeof(old_path), "%s", overlay_snapshot_path(old));
  snprintf(held_path, sizeof(held_path), "%s", overlay_snapshot_path(held));
  overlay_snapshot_release(old);
  assert_int_equal(sh("touch -d '10 days ago' '%s.lock'", old_path), 0);

  /* A checkout killed mid-way (its process is gone). */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(0);
  waitpid(pid, NULL, 0);
  char leftover[PATH_MAX + 128];
  snprintf(leftover, sizeof(leftover), "%s/trees/.tmp-%040d-%ld-0", dir, 0, (long)pid);
  assert_int_equal(sh("mkdir -p '%s/sub' && chmod 000 '%s/sub'", leftover, leftover), 0);

  /* Size limit of one byte: everything not in use must go. */
  agent_cache_keeper *keeper = NULL;
  assert_int_equal(agent_cache_keeper_start(&keeper, dir, 1, 0), 0);
  assert_true(wait_exists(leftover, 0));
  assert_true(wait_exists(old_path, 0));
  agent_cache_keeper_poke(keeper);
  agent_cache_keeper_stop(keeper);
  /* The snapshot in use survived, and so did the mirror it borrows from. */
  assert_true(exists(held_path));
  char mirrors[PATH_MAX + 32];
  snprintf(mirrors, sizeof(mirrors), "%s/mirrors", dir);
  assert_int_equal(sh("ls '%s' | grep -q '[.]git$'", mirrors), 0);
  overlay_snapshot_release(held);
  overlay_cache_free(cache);
  agent_cache_keeper_stop(NULL);
}

int main(void) {
  if (geteuid() != 0) {
    fprintf(stderr, "test_agent_cache needs root (the overlay cache reads the mount table)\n");
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_agent_cache_limits),
      cmocka_unit_test(test_agent_cache_keeper_on_an_empty_cache),
      cmocka_unit_test(test_agent_cache_keeper_sweeps_and_evicts_at_start),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
