/*
 * test_overlay_policy.c — what the cache may read and how it stays bounded
 * (issue 12, items 2 and 6), with real repositories made by the git CLI,
 * served by `git daemon` on 127.0.0.1 (a remote) or named by path (local):
 *   - local repository and submodule URLs are refused unless allowed, and a
 *     remote repository never gets to read one (a host path, or the cache's
 *     own mirror at its predictable path);
 *   - eviction by age and by the total size of snapshots and mirrors spares
 *     what is in use;
 *   - what a killed checkout or fetch leaves is swept.
 * Run by test_overlay's main() (shared fixture in overlay_test.h).
 */
#include "common/error.h"
#include "overlay/overlay.h"
#include "overlay_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static int try_get(overlay_snapshot **out, fixture *fx, const char *url, int allow_local) {
  overlay_request req = {.url = url, .ref = "main", .allow_local = allow_local};
  *out = NULL;
  return overlay_snapshot_get(out, fx->cache, &req);
}

/* The only mirror in the cache (its name), for building a mirror's path. */
static void only_mirror(char *out, size_t cap, fixture *fx) {
  char dir[PATH_MAX];
  path_join(dir, sizeof(dir), fx->cache_dir, "mirrors");
  assert_int_equal(count_entries(dir, NULL, ".git"), 1);
  assert_int_equal(capture(out, cap, "ls -d '%s'/*.git", dir), 0);
}

void test_overlay_url_is_local(void **state) {
  (void)state;
  static const char *const local[] = {"/srv/git/app",
                                      "./app",
                                      "../app",
                                      "~/app",
                                      "app",
                                      "file:///srv/git/app.git",
                                      "FILE:///srv/git/app.git",
                                      "file:app",
                                      "ext::sh -c touch% /tmp/pwned",
                                      "fd::17",
                                      "unknown://host/app",
                                      "",
                                      NULL};
  static const char *const remote[] = {"https://git.example.com/team/app.git",
                                       "HTTP://git.example.com/app",
                                       "git://127.0.0.1:9418/app",
                                       "ssh://git@host/app.git",
                                       "git+ssh://host/app",
                                       "git@github.com:team/app.git",
                                       "host:app",
                                       NULL};
  for (size_t i = 0; local[i]; i++) {
    if (!overlay_url_is_local(local[i]))
      fail_msg("'%s' taken for a remote", local[i]);
  }
  for (size_t i = 0; remote[i]; i++) {
    if (overlay_url_is_local(remote[i]))
      fail_msg("'%s' taken for a local path", remote[i]);
  }
  assert_true(overlay_url_is_local(NULL));
}

void test_overlay_local_repos_need_permission(void **state) {
  (void)state;
  fixture fx;
  fixture_open(&fx, "local");
  char path_url[PATH_MAX], trees[PATH_MAX], mirrors[PATH_MAX];
  snprintf(path_url, sizeof(path_url), "%s/src", base);
  path_join(trees, sizeof(trees), fx.cache_dir, "trees");
  path_join(mirrors, sizeof(mirrors), fx.cache_dir, "mirrors");
  const char *const urls[] = {src_url, path_url};
  for (size_t i = 0; i < 2; i++) {
    overlay_snapshot *s = NULL;
    assert_int_equal(try_get(&s, &fx, urls[i], 0), AIRGAP_EINVALID);
    assert_null(s);
    assert_non_null(strstr(airgap_error_last(), "local repositories are not allowed"));
    assert_non_null(strstr(airgap_error_last(), "--allow-local-repos"));
  }
  /* Refused before anything was read: the cache is as empty as it was. */
  assert_int_equal(count_entries(trees, NULL, NULL), 0);
  assert_int_equal(count_entries(mirrors, NULL, NULL), 0);

  /* Allowed, both spellings work (and share one mirror). */
  for (size_t i = 0; i < 2; i++) {
    overlay_snapshot *s = NULL;
    assert_int_equal(try_get(&s, &fx, urls[i], 1), 0);
    check_snapshot(s, sha_c3, "c.txt", "three");
    overlay_snapshot_release(s);
  }
  assert_int_equal(count_entries(mirrors, NULL, ".git"), 1);

  /* A remote needs no permission. */
  start_daemon();
  char git_url[128];
  snprintf(git_url, sizeof(git_url), "git://127.0.0.1:%d/src", daemon_port);
  overlay_snapshot *s = NULL;
  int rc = try_get(&s, &fx, git_url, 0);
  if (rc != 0)
    fprintf(stderr, "remote: %s\n", airgap_error_last());
  assert_int_equal(rc, 0);
  check_snapshot(s, sha_c3, "c.txt", "three");
  overlay_snapshot_release(s);
  stop_daemon();
  fixture_close(&fx);
}

/* A remote repository whose .gitmodules names this machine's repositories:
 * a host path, and the cache's own mirror of another repository at its
 * predictable path. Neither may be read; a local superproject with local
 * repositories allowed may use local submodules. */
void test_overlay_local_submodules_refused(void **state) {
  (void)state;
  fixture fx;
  fixture_open(&fx, "localsub");
  assert_int_equal(sh("set -e; cd '%s' && rm -rf secret evil evil2 && git init -q secret"
                      " && cd secret && echo 'host secret' > secret.txt && git add -A"
                      " && git commit -qm secret",
                      base),
                   0);
  /* The secret repository gets a mirror in the cache (an earlier job). */
  char secret_url[PATH_MAX], mirror[PATH_MAX], buf[PATH_MAX + 64];
  snprintf(secret_url, sizeof(secret_url), "file://%s/secret", base);
  overlay_snapshot *s = get(&fx, secret_url, "main", NULL);
  overlay_snapshot_release(s);
  only_mirror(mirror, sizeof(mirror), &fx);

  /* evil: submodule url = /host/path; evil2: url = file://<cache mirror>. */
  assert_int_equal(sh("set -e; cd '%s' && git init -q evil && cd evil && echo app > app.txt"
                      " && git submodule -q add '%s/secret' vendor/s"
                      " && git commit -qam 'add a host path'",
                      base, base),
                   0);
  assert_int_equal(sh("set -e; cd '%s' && git init -q evil2 && cd evil2 && echo app > app.txt"
                      " && git submodule -q add '%s/secret' vendor/s"
                      " && git config -f .gitmodules submodule.vendor/s.url 'file://%s'"
                      " && git commit -qam 'add the cache mirror'",
                      base, base, mirror),
                   0);
  assert_int_equal(capture(buf, sizeof(buf),
                           "git -C '%s/evil' config -f .gitmodules "
                           "submodule.vendor/s.url",
                           base),
                   0);
  assert_true(buf[0] == '/');

  char trees[PATH_MAX];
  path_join(trees, sizeof(trees), fx.cache_dir, "trees");
  int trees_before = count_entries(trees, NULL, NULL);
  start_daemon();
  const char *const evil[] = {"evil", "evil2"};
  for (size_t i = 0; i < 2; i++) {
    char url[128];
    snprintf(url, sizeof(url), "git://127.0.0.1:%d/%s", daemon_port, evil[i]);
    for (int allow = 0; allow <= 1; allow++) {
      /* Even an agent that allows local repositories does not let a remote
       * one reach into the host. */
      s = NULL;
      int rc = try_get(&s, &fx, url, allow);
      if (rc != AIRGAP_EINVALID)
        fprintf(stderr, "%s (allow_local %d): rc %d: %s\n", url, allow, rc, airgap_error_last());
      assert_int_equal(rc, AIRGAP_EINVALID);
      assert_null(s);
      assert_non_null(strstr(airgap_error_last(), "vendor/s"));
      assert_non_null(strstr(airgap_error_last(), "local URL"));
    }
  }
  stop_daemon();
  /* No snapshot was made: the secret is only in its own snapshot. */
  assert_int_equal(count_entries(trees, NULL, NULL), trees_before);
  assert_int_equal(sh("ls -d '%s'/*/vendor 2>/dev/null | grep -q .", trees), 1);

  /* A local superproject, local repositories allowed: the user's own
   * machine, the submodule is followed. */
  char evil_url[PATH_MAX];
  snprintf(evil_url, sizeof(evil_url), "%s/evil", base);
  s = NULL;
  assert_int_equal(try_get(&s, &fx, evil_url, 0), AIRGAP_EINVALID);
  s = get(&fx, evil_url, "main", NULL);
  char file[PATH_MAX], evil_sha[48];
  snprintf(file, sizeof(file), "%s/vendor/s/secret.txt", overlay_snapshot_path(s));
  assert_true(exists(file));
  snprintf(evil_sha, sizeof(evil_sha), "%s", overlay_snapshot_commit(s));
  overlay_snapshot_release(s);
  /* Snapshots are shared by commit: the same commit asked for from a remote
   * must not get the one holding the host's files. */
  start_daemon();
  char remote[128];
  snprintf(remote, sizeof(remote), "git://127.0.0.1:%d/evil", daemon_port);
  overlay_request again = {.url = remote, .commit = evil_sha};
  s = NULL;
  assert_int_equal(overlay_snapshot_get(&s, fx.cache, &again), AIRGAP_EINVALID);
  assert_null(s);
  assert_non_null(strstr(airgap_error_last(), "read from this machine"));
  stop_daemon();
  assert_int_equal(sh("rm -rf '%s/secret' '%s/evil' '%s/evil2'", base, base, base), 0);
  fixture_close(&fx);
}

static void set_last_use(fixture *fx, const char *sha, const char *when) {
  assert_int_equal(sh("touch -d '%s' '%s/trees/%s.lock'", when, fx->cache_dir, sha), 0);
}

void test_overlay_cache_evicts_by_age_and_total_size(void **state) {
  (void)state;
  fixture fx;
  fixture_open(&fx, "bounded");
  overlay_snapshot *s1 = get(&fx, src_url, sha_c1, NULL);
  overlay_snapshot *s2 = get(&fx, src_url, sha_c2, NULL);
  overlay_snapshot *s3 = get(&fx, src_url, sha_c3, NULL);
  char p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX];
  snprintf(p1, sizeof(p1), "%s", overlay_snapshot_path(s1));
  snprintf(p2, sizeof(p2), "%s", overlay_snapshot_path(s2));
  snprintf(p3, sizeof(p3), "%s", overlay_snapshot_path(s3));
  overlay_snapshot_release(s1);
  overlay_snapshot_release(s3);
  /* c1 unused for ten days, c2 (held) and c3 used a moment ago. */
  set_last_use(&fx, sha_c1, "10 days ago");
  set_last_use(&fx, sha_c2, "10 days ago");

  /* Age: only what was unused for longer than a week goes, not c2 in use. */
  overlay_evict_options week = {
      .max_tree_bytes = UINT64_MAX, .mirror_max_idle_secs = -1, .tree_max_idle_secs = 7 * 86400};
  overlay_evict_result res;
  assert_int_equal(overlay_cache_evict(&res, fx.cache, &week), 0);
  assert_int_equal(res.trees_removed, 1);
  assert_int_equal(res.trees_in_use, 1);
  assert_false(exists(p1));
  assert_true(exists(p2));
  assert_true(exists(p3));
  /* No age limit (0), generous size: nothing goes, sizes are reported. */
  overlay_evict_options keep = {
      .max_tree_bytes = UINT64_MAX, .mirror_max_idle_secs = -1, .max_total_bytes = UINT64_MAX};
  assert_int_equal(overlay_cache_evict(&res, fx.cache, &keep), 0);
  assert_int_equal(res.trees_removed, 0);
  assert_true(res.tree_bytes > 0);
  assert_true(res.mirror_bytes > 0);
  uint64_t mirror_bytes = res.mirror_bytes;

  /* Total size just above the mirror: the unused snapshot goes; the mirror
   * stays because c2 (in use) borrows its objects. */
  overlay_evict_options tight = {
      .max_tree_bytes = UINT64_MAX, .mirror_max_idle_secs = -1, .max_total_bytes = 1};
  assert_int_equal(overlay_cache_evict(&res, fx.cache, &tight), 0);
  assert_int_equal(res.trees_removed, 1);
  assert_int_equal(res.mirrors_removed, 0);
  assert_false(exists(p3));
  assert_true(exists(p2));
  assert_int_equal(res.mirror_bytes, mirror_bytes);

  /* Released: the snapshot and then the mirror go, the cache is empty. */
  overlay_snapshot_release(s2);
  assert_int_equal(overlay_cache_evict(&res, fx.cache, &tight), 0);
  assert_int_equal(res.trees_removed, 1);
  assert_int_equal(res.mirrors_removed, 1);
  assert_int_equal(res.tree_bytes, 0);
  assert_int_equal(res.mirror_bytes, 0);
  char mirrors[PATH_MAX];
  path_join(mirrors, sizeof(mirrors), fx.cache_dir, "mirrors");
  assert_int_equal(count_entries(mirrors, NULL, ".git"), 0);
  /* And it fills again. */
  overlay_snapshot *again = get(&fx, src_url, "main", NULL);
  check_snapshot(again, sha_c3, "c.txt", "three");
  overlay_snapshot_release(again);
  fixture_close(&fx);
}

/* A pid that is certainly not running. */
static long dead_pid(void) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(0);
  waitpid(pid, NULL, 0);
  return (long)pid;
}

void test_overlay_killed_checkout_leftovers_swept(void **state) {
  (void)state;
  fixture fx;
  fixture_open(&fx, "sweep");
  assert_int_equal(sh("set -e; cd '%s' && rm -rf moving && git clone -q src moving", base), 0);
  char url[PATH_MAX], mirror[PATH_MAX];
  snprintf(url, sizeof(url), "file://%s/moving", base);
  overlay_snapshot *s = get(&fx, url, "main", NULL);
  char kept[PATH_MAX];
  snprintf(kept, sizeof(kept), "%s", overlay_snapshot_path(s));
  overlay_snapshot_release(s);
  only_mirror(mirror, sizeof(mirror), &fx);

  /* What a checkout and a fetch killed with SIGKILL leave: a half-built
   * snapshot (unreadable directory inside), a half-made first clone, and
   * git's locks and a temporary pack inside the mirror. */
  long gone = dead_pid();
  char tmp_tree[PATH_MAX + 128], tmp_mirror[PATH_MAX + 128];
  snprintf(tmp_tree, sizeof(tmp_tree), "%s/trees/.tmp-%s-%ld-0", fx.cache_dir, sha_c2, gone);
  snprintf(tmp_mirror, sizeof(tmp_mirror), "%s/mirrors/.tmp-%064d-%ld", fx.cache_dir, 7, gone);
  assert_int_equal(sh("set -e; mkdir -p '%s/dir' '%s/objects' && echo x > '%s/dir/f'"
                      " && chmod 000 '%s/dir'",
                      tmp_tree, tmp_mirror, tmp_tree, tmp_tree),
                   0);
  assert_int_equal(sh("set -e; cd '%s' && touch refs/heads/main.lock packed-refs.lock"
                      " && mkdir -p objects/pack && echo junk > objects/pack/pack_git2_0123abcd",
                      mirror),
                   0);
  /* A live process's build directory is not touched. */
  char live[PATH_MAX + 128];
  snprintf(live, sizeof(live), "%s/trees/.tmp-%s-%ld-0", fx.cache_dir, sha_c1, (long)getpid());
  assert_int_equal(sh("mkdir -p '%s'", live), 0);

  /* Left there, the lock fails the next fetch. */
  assert_int_equal(sh("set -e; cd '%s/moving' && echo four > d.txt && git add d.txt"
                      " && git commit -qm c4",
                      base),
                   0);
  overlay_snapshot *stuck = NULL;
  overlay_request req = {.url = url, .ref = "main", .allow_local = 1};
  assert_true(overlay_snapshot_get(&stuck, fx.cache, &req) < 0);
  assert_null(stuck);

  assert_int_equal(overlay_cache_sweep(fx.cache), 0);
  assert_false(exists(tmp_tree));
  assert_false(exists(tmp_mirror));
  char path[PATH_MAX + 64];
  snprintf(path, sizeof(path), "%s/refs/heads/main.lock", mirror);
  assert_false(exists(path));
  snprintf(path, sizeof(path), "%s/packed-refs.lock", mirror);
  assert_false(exists(path));
  snprintf(path, sizeof(path), "%s/objects/pack/pack_git2_0123abcd", mirror);
  assert_false(exists(path));
  assert_true(exists(live));
  assert_true(exists(kept));

  /* And the fetch works again. */
  s = get(&fx, url, "main", NULL);
  char file[PATH_MAX];
  snprintf(file, sizeof(file), "%s/d.txt", overlay_snapshot_path(s));
  assert_true(exists(file));
  overlay_snapshot_release(s);
  assert_int_equal(sh("rm -rf '%s' '%s/moving'", live, base), 0);
  fixture_close(&fx);
}
