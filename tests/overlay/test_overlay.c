/*
 * test_overlay.c — the air gap end to end, with real repositories made by the
 * git CLI, served over file:// and by `git daemon` (and a smart-HTTP server
 * with Basic auth) on 127.0.0.1, and real overlayfs mounts (run as root).
 *
 * Every test makes its own cache and run directories under one temporary
 * root, removes them, and the group teardown checks /proc/mounts holds
 * nothing under that root.
 */
#include "common/error.h"
#include "overlay/overlay.h"
#include "overlay_test.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stddef.h>

#include <cmocka.h>

char base[256];
char src_url[300];
char sha_c1[41], sha_c2[41], sha_c3[41], sha_feature[41], sha_pr[41];
static pid_t daemon_pid = -1;
int daemon_port;

/* --- helpers ------------------------------------------------------------- */

int sh(const char *fmt, ...) {
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof(cmd))
    return -1;
  int status = system(cmd);
  if (status < 0 || !WIFEXITED(status))
    return -1;
  return WEXITSTATUS(status);
}

/* stdout of a shell command, trailing newlines removed, into buf. */
int capture(char *buf, size_t cap, const char *fmt, ...) {
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  FILE *p = popen(cmd, "r");
  if (!p)
    return -1;
  size_t used = fread(buf, 1, cap - 1, p);
  buf[used] = '\0';
  while (used > 0 && buf[used - 1] == '\n')
    buf[--used] = '\0';
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void path_join(char *out, size_t cap, const char *a, const char *b) {
  int n = snprintf(out, cap, "%s/%s", a, b);
  assert_true(n > 0 && (size_t)n < cap);
}

void copy_str(char *out, size_t cap, const char *s) {
  size_t n = strlen(s);
  assert_true(n < cap);
  memcpy(out, s, n + 1);
}

int exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

int count_entries(const char *dir, const char *prefix, const char *suffix) {
  DIR *d = opendir(dir);
  if (!d)
    return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    size_t len = strlen(e->d_name);
    if (prefix && strncmp(e->d_name, prefix, strlen(prefix)) != 0)
      continue;
    if (suffix && (len < strlen(suffix) || strcmp(e->d_name + len - strlen(suffix), suffix) != 0))
      continue;
    n++;
  }
  closedir(d);
  return n;
}

/* 1 when /proc/mounts lists a mount at or under `path`. */
int mounted_under(const char *path) {
  FILE *f = fopen("/proc/mounts", "re");
  assert_non_null(f);
  char line[8192];
  size_t n = strlen(path);
  int found = 0;
  while (fgets(line, sizeof(line), f)) {
    char *target = strchr(line, ' ');
    if (!target)
      continue;
    target++;
    if (strncmp(target, path, n) == 0 && (target[n] == ' ' || target[n] == '/'))
      found = 1;
  }
  fclose(f);
  return found;
}

/* The mount options /proc/mounts shows for `target` ("" when not mounted). */
static void mount_options(char *out, size_t cap, const char *target) {
  FILE *f = fopen("/proc/mounts", "re");
  assert_non_null(f);
  char line[8192];
  out[0] = '\0';
  while (fgets(line, sizeof(line), f)) {
    char dev[256], mnt[4096], type[64], opts[4096];
    if (sscanf(line, "%255s %4095s %63s %4095s", dev, mnt, type, opts) == 4 &&
        strcmp(mnt, target) == 0 && snprintf(out, cap, "%s %s", type, opts) >= (int)cap)
      out[0] = '\0'; /* never a truncated answer */
  }
  fclose(f);
}

/* Content hash of a tree: names, types, modes, sizes, mtimes (optional),
 * file bytes, link targets — everything a job could change. */
static void hash_walk(EVP_MD_CTX *md, const char *dir, const char *rel, int with_mtime) {
  struct dirent **names = NULL;
  int n = scandir(dir, &names, NULL, alphasort);
  assert_true(n >= 0);
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
      free(names[i]);
      continue;
    }
    char path[PATH_MAX], sub[PATH_MAX];
    path_join(path, sizeof(path), dir, name);
    snprintf(sub, sizeof(sub), "%s/%s", rel, name);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    char meta[PATH_MAX + 128];
    int m = snprintf(meta, sizeof(meta), "%s|%o|%lld|%lld|%u|%u\n", sub, (unsigned)st.st_mode,
                     (long long)(S_ISDIR(st.st_mode) ? 0 : st.st_size),
                     with_mtime ? (long long)st.st_mtime : 0LL, (unsigned)st.st_uid,
                     (unsigned)st.st_gid);
    EVP_DigestUpdate(md, meta, (size_t)m);
    if (S_ISREG(st.st_mode)) {
      FILE *f = fopen(path, "rb");
      assert_non_null(f);
      char buf[65536];
      size_t got;
      while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
        EVP_DigestUpdate(md, buf, got);
      fclose(f);
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t len = readlink(path, target, sizeof(target));
      assert_true(len >= 0);
      EVP_DigestUpdate(md, target, (size_t)len);
    } else if (S_ISDIR(st.st_mode)) {
      hash_walk(md, path, sub, with_mtime);
    }
    free(names[i]);
  }
  free(names);
}

static void hash_tree(char out[65], const char *dir, int with_mtime) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  assert_non_null(md);
  EVP_DigestInit_ex(md, EVP_sha256(), NULL);
  hash_walk(md, dir, "", with_mtime);
  unsigned char d[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(md, d, &len);
  EVP_MD_CTX_free(md);
  for (int i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  socklen_t len = sizeof(a);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

static int port_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
  close(fd);
  return ok;
}

static void stop_process(pid_t *pid) {
  if (*pid > 0) {
    kill(*pid, SIGTERM);
    waitpid(*pid, NULL, 0);
  }
  *pid = -1;
}

void stop_daemon(void) { stop_process(&daemon_pid); }

/* Starts `git daemon` for everything under base on a free loopback port. */
void start_daemon(void) {
  daemon_port = free_port();
  char port_arg[32], base_arg[PATH_MAX + 16];
  snprintf(port_arg, sizeof(port_arg), "--port=%d", daemon_port);
  snprintf(base_arg, sizeof(base_arg), "--base-path=%s", base);
  fflush(stdout);
  fflush(stderr);
  daemon_pid = fork();
  assert_true(daemon_pid >= 0);
  if (daemon_pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 1);
    dup2(null, 2);
    execlp("git", "git", "daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1", port_arg,
           base_arg, base, (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 100 && !port_open(daemon_port); i++)
    usleep(50 * 1000);
  assert_true(port_open(daemon_port));
}

void fixture_open(fixture *fx, const char *name) {
  snprintf(fx->cache_dir, sizeof(fx->cache_dir), "%s/cache-%s", base, name);
  snprintf(fx->run_root, sizeof(fx->run_root), "%s/runs-%s", base, name);
  assert_int_equal(
      sh("rm -rf '%s' '%s' && mkdir -p '%s'", fx->cache_dir, fx->run_root, fx->run_root), 0);
  assert_int_equal(overlay_cache_open(&fx->cache, fx->cache_dir), 0);
}

void fixture_close(fixture *fx) {
  overlay_cache_free(fx->cache);
  fx->cache = NULL;
  assert_false(mounted_under(fx->run_root));
  assert_false(mounted_under(fx->cache_dir));
  assert_int_equal(sh("rm -rf '%s' '%s'", fx->cache_dir, fx->run_root), 0);
}

overlay_snapshot *get(fixture *fx, const char *url, const char *ref, const char *commit) {
  overlay_request req = {.url = url, .ref = ref, .commit = commit, .allow_local = 1};
  overlay_snapshot *snap = NULL;
  int rc = overlay_snapshot_get(&snap, fx->cache, &req);
  if (rc != 0)
    fprintf(stderr, "overlay_snapshot_get(%s, %s): %s\n", url, ref ? ref : "(null)",
            airgap_error_last());
  assert_int_equal(rc, 0);
  return snap;
}

overlay_workspace *ws_create(fixture *fx, const overlay_snapshot *snap, const char *name,
                             uint64_t limit) {
  char run[PATH_MAX];
  path_join(run, sizeof(run), fx->run_root, name);
  assert_int_equal(sh("mkdir -p '%s'", run), 0);
  overlay_workspace_options o = {.upper_limit_bytes = limit};
  overlay_workspace *ws = NULL;
  int rc = overlay_workspace_create(&ws, snap, run, &o);
  if (rc != 0)
    fprintf(stderr, "overlay_workspace_create: %s\n", airgap_error_last());
  assert_int_equal(rc, 0);
  return ws;
}

/* --- group setup: the origin repository ---------------------------------- */

/* An earlier run killed before its teardown (a ctest timeout) leaves its
 * mounts and directory behind: clear them, so that runs do not pile up mounts.
 * Only this executable uses the prefix, and one runs at a time. */
static void reap_earlier_runs(void) {
  sh("grep -o ' /tmp/airgap-overlay-test-[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l;"
     " rm -rf /tmp/airgap-overlay-test-*");
}

static int group_setup(void **state) {
  (void)state;
  reap_earlier_runs();
  char tmpl[] = "/tmp/airgap-overlay-test-XXXXXX";
  if (!mkdtemp(tmpl))
    return -1;
  snprintf(base, sizeof(base), "%s", tmpl);
  setenv("HOME", base, 1);
  setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
  setenv("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z", 1);
  setenv("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z", 1);
  if (sh("cd '%s' && git config --global user.name CI && git config --global user.email ci@test"
         " && git config --global init.defaultBranch main"
         " && git config --global protocol.file.allow always"
         " && git config --global advice.detachedHead false",
         base) != 0)
    return -1;
  /* src: main = c1 (tag v1.0) - c2 - c3; feature = c2 - cf; refs/pull/1/head = c3 - cp */
  if (sh("set -e; cd '%s' && git init -q src && cd src"
         " && echo one > a.txt && mkdir dir && echo bee > dir/b.txt"
         " && printf '#!/bin/sh\\necho hi\\n' > run.sh && chmod +x run.sh && ln -s a.txt link"
         " && git add -A && git commit -qm c1 && git tag -a v1.0 -m 'release 1.0'"
         " && echo two >> a.txt && git commit -qam c2"
         " && git checkout -q -b feature && echo feat > f.txt && git add f.txt"
         " && git commit -qm cf && git checkout -q main"
         " && echo three > c.txt && git add c.txt && git commit -qm c3"
         " && git checkout -q --detach && echo pr > pr.txt && git add pr.txt && git commit -qm cp"
         " && git update-ref refs/pull/1/head HEAD && git checkout -q main",
         base) != 0)
    return -1;
  struct {
    char *out;
    const char *rev;
  } revs[] = {{sha_c1, "main~2"},
              {sha_c2, "main~1"},
              {sha_c3, "main"},
              {sha_feature, "feature"},
              {sha_pr, "refs/pull/1/head"}};
  for (size_t i = 0; i < sizeof(revs) / sizeof(revs[0]); i++) {
    char buf[128];
    if (capture(buf, sizeof(buf), "git -C '%s/src' rev-parse '%s'", base, revs[i].rev) != 0 ||
        strlen(buf) != 40)
      return -1;
    memcpy(revs[i].out, buf, 41);
  }
  snprintf(src_url, sizeof(src_url), "file://%s/src", base);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  stop_process(&daemon_pid);
  int leaked = mounted_under(base);
  if (leaked) /* a failed test left mounts: clear them before deleting */
    sh("grep -o ' %s/[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l", base);
  sh("rm -rf '%s'", base);
  return leaked ? -1 : 0;
}

/* --- tests --------------------------------------------------------------- */

void check_snapshot(overlay_snapshot *snap, const char *sha, const char *file,
                    const char *content) {
  assert_string_equal(overlay_snapshot_commit(snap), sha);
  char path[PATH_MAX], buf[256];
  path_join(path, sizeof(path), overlay_snapshot_path(snap), file);
  assert_int_equal(capture(buf, sizeof(buf), "cat '%s'", path), 0);
  assert_string_equal(buf, content);
}

static void test_overlay_every_ref_kind(void **state) {
  (void)state;
  fixture fx;
  fixture_open(&fx, "refs");
  start_daemon();
  char git_url[256];
  snprintf(git_url, sizeof(git_url), "git://127.0.0.1:%d/src", daemon_port);
  const char *urls[] = {src_url, git_url};
  for (int u = 0; u < 2; u++) {
    overlay_snapshot *s;
    s = get(&fx, urls[u], "main", NULL);
    check_snapshot(s, sha_c3, "c.txt", "three");
    overlay_snapshot_release(s);
    s = get(&fx, urls[u], NULL, NULL); /* default branch */
    check_snapshot(s, sha_c3, "c.txt", "three");
    overlay_snapshot_release(s);
    s = get(&fx, urls[u], "HEAD", NULL);
    check_snapshot(s, sha_c3, "c.txt", "three");
    overlay_snapshot_release(s);
    s = get(&fx, urls[u], "v1.0", NULL);
    check_snapshot(s, sha_c1, "a.txt", "one");
    overlay_snapshot_release(s);
    s = get(&fx, urls[u], "refs/tags/v1.0", NULL);
    check_snapshot(s, sha_c1, "a.txt", "one");
    overlay_snapshot_release(s);
    s = get(&fx, urls[u], "feature", NULL);
    check_snapshot(s, sha_feature, "f.txt", "feat");
    overlay_snapshot_release(s);
    s = get(&fx, urls[u], "refs/heads/feature", NULL);
    check_snapshot(s, sha_feature, "f.txt", "feat");
    overlay_snapshot_release(s);
    s = get(&fx, urls[u], sha_c2, NULL);
    check_snapshot(s, sha_c2, "a.txt", "one\ntwo");
    overlay_snapshot_release(s);
    s = get(&fx, urls[u], "refs/pull/1/head", NULL);
    check_snapshot(s, sha_pr, "pr.txt", "pr");
    overlay_snapshot_release(s);
    s = get(&fx, urls[u], "main", sha_c1); /* ref + exact commit */
    check_snapshot(s, sha_c1, "a.txt", "one");
    overlay_snapshot_release(s);
  }
  /* file:// and a plain path are one repository, hence one mirror; the git
   * daemon URL is another. */
  char mirrors[PATH_MAX], trees[PATH_MAX];
  path_join(mirrors, sizeof(mirrors), fx.cache_dir, "mirrors");
  path_join(trees, sizeof(trees), fx.cache_dir, "trees");
  overlay_snapshot *s = get(&fx, src_url + strlen("file://"), "main", NULL);
  overlay_snapshot_release(s);
  assert_int_equal(count_entries(mirrors, NULL, ".git"), 2);
  assert_int_equal(count_entries(mirrors, ".tmp", NULL), 0);
  assert_int_equal(count_entries(trees, NULL, ".lock"), 5);
  assert_int_equal(count_entries(trees, ".", NULL), 0);
  stop_process(&daemon_pid);
  fixture_close(&fx);
}

static void test_overlay_known_commit_needs_no_network(void **state) {
  (void)state;
  fixture fx;
  fixture_open(&fx, "offline");
  assert_int_equal(sh("rm -rf '%s/copy' && cp -a '%s/src' '%s/copy'", base, base, base), 0);
  char url[PATH_MAX + 16];
  snprintf(url, sizeof(url), "file://%s/copy", base);
  overlay_snapshot *s = get(&fx, url, "main", NULL);
  overlay_snapshot_release(s);
  /* The origin disappears: commits the mirror has still work, by sha or by
   * ref + commit; a branch name needs the network and fails clearly. */
  assert_int_equal(sh("mv '%s/copy' '%s/copy.gone'", base, base), 0);
  s = get(&fx, url, sha_c3, NULL); /* checked out already */
  check_snapshot(s, sha_c3, "c.txt", "three");
  overlay_snapshot_release(s);
  s = get(&fx, url, sha_c1, NULL); /* in the mirror, not yet checked out */
  check_snapshot(s, sha_c1, "a.txt", "one");
  overlay_snapshot_release(s);
  s = get(&fx, url, "feature", sha_feature);
  check_snapshot(s, sha_feature, "f.txt", "feat");
  overlay_snapshot_release(s);
  overlay_request req = {.url = url, .ref = "main", .allow_local = 1};
  assert_true(overlay_snapshot_get(&s, fx.cache, &req) < 0);
  assert_non_null(strstr(airgap_error_last(), "copy"));
  assert_int_equal(sh("rm -rf '%s/copy.gone'", base), 0);
  fixture_close(&fx);
}

static void test_overlay_workspace_is_a_git_checkout(void **state) {
  (void)state;
  fixture fx;
  fixture_open(&fx, "gitws");
  overlay_snapshot *s = get(&fx, src_url, "main", NULL);
  overlay_workspace *ws = ws_create(&fx, s, "job1", 0);
  const char *w = overlay_workspace_path(ws);
  char opts[4096], buf[4096];
  mount_options(opts, sizeof(opts), w);
  assert_non_null(strstr(opts, "overlay "));
  assert_non_null(strstr(opts, "nosuid"));
  assert_non_null(strstr(opts, "nodev"));
  assert_non_null(strstr(opts, overlay_snapshot_path(s)));
  assert_int_equal(capture(buf, sizeof(buf), "cd '%s' && git status --porcelain", w), 0);
  assert_string_equal(buf, "");
  assert_int_equal(capture(buf, sizeof(buf), "cd '%s' && git log --format=%%s | tr '\\n' ' '", w),
                   0);
  assert_string_equal(buf, "c3 c2 c1 ");
  assert_int_equal(capture(buf, sizeof(buf), "cd '%s' && git describe --tags", w), 0);
  char expect[64];
  snprintf(expect, sizeof(expect), "v1.0-2-g%.7s", sha_c3);
  assert_string_equal(buf, expect);
  assert_int_equal(capture(buf, sizeof(buf), "cd '%s' && git rev-parse HEAD", w), 0);
  assert_string_equal(buf, sha_c3);
  assert_int_equal(capture(buf, sizeof(buf), "cd '%s' && ./run.sh && readlink link", w), 0);
  assert_string_equal(buf, "hi\na.txt");
  /* Objects come from the mirror (absolute path), none are copied. */
  assert_int_equal(capture(buf, sizeof(buf), "cat '%s/.git/objects/info/alternates'", w), 0);
  assert_true(strncmp(buf, fx.cache_dir, strlen(fx.cache_dir)) == 0 ||
              strstr(buf, "/mirrors/") != NULL);
  assert_int_equal(buf[0], '/');
  size_t nmirrors = 0;
  const char *const *mirrors = overlay_snapshot_mirrors(s, &nmirrors);
  assert_int_equal(nmirrors, 1);
  char expect_alt[PATH_MAX + 16];
  snprintf(expect_alt, sizeof(expect_alt), "%s/objects", mirrors[0]);
  assert_string_equal(buf, expect_alt);
  assert_int_equal(
      capture(buf, sizeof(buf), "find '%s/.git/objects' -type f | grep -v /info/ | wc -l", w), 0);
  assert_string_equal(buf, "0");
  /* A second workspace of the same snapshot, side by side. */
  overlay_workspace *ws2 = ws_create(&fx, s, "job2", 0);
  assert_int_equal(sh("echo mine > '%s/a.txt'", overlay_workspace_path(ws2)), 0);
  assert_int_equal(capture(buf, sizeof(buf), "cat '%s/a.txt'", w), 0);
  assert_string_equal(buf, "one\ntwo");
  /* A run dir holds one workspace. */
  char run[PATH_MAX];
  path_join(run, sizeof(run), fx.run_root, "job1");
  overlay_workspace *dup = NULL;
  assert_int_equal(overlay_workspace_create(&dup, s, run, NULL), AIRGAP_EEXISTS);
  assert_int_equal(overlay_workspace_destroy(ws2), 0);
  overlay_snapshot_release(s); /* the workspace keeps its own use */
  assert_int_equal(overlay_workspace_destroy(ws), 0);
  assert_false(mounted_under(fx.run_root));
  assert_int_equal(count_entries(run, NULL, NULL), 0);
  fixture_close(&fx);
}

static void test_overlay_hostile_run_leaves_no_trace(void **state) {
  (void)state;
  fixture fx;
  fixture_open(&fx, "hostile");
  overlay_snapshot *s = get(&fx, src_url, "main", NULL);
  char mirrors[PATH_MAX], snap_before[65], snap_after[65], mirror_before[65], mirror_after[65];
  path_join(mirrors, sizeof(mirrors), fx.cache_dir, "mirrors");
  hash_tree(snap_before, overlay_snapshot_path(s), 1);
  hash_tree(mirror_before, mirrors, 1);
  char outside[PATH_MAX];
  path_join(outside, sizeof(outside), base, "outside");
  assert_int_equal(sh("rm -rf '%s' && mkdir -p '%s/sub' && echo keep > '%s/target.txt'"
                      " && echo keep > '%s/sub/inner.txt'",
                      outside, outside, outside, outside),
                   0);

  overlay_workspace *ws = ws_create(&fx, s, "job", 0);
  const char *w = overlay_workspace_path(ws);
  /* As in the job container, the mirror is visible read-only at its own
   * path (git would otherwise "freshen" the mtimes of mirror packs it finds
   * objects in); the job runs in a private mount namespace for that. */
  char script[PATH_MAX];
  path_join(script, sizeof(script), base, "hostile.sh");
  FILE *f = fopen(script, "w");
  assert_non_null(f);
  fputs("set -e\n"
        "mount --bind \"$1\" \"$1\" && mount -o remount,bind,ro \"$1\" \"$1\"\n"
        "cd \"$2\"\n"
        "echo junk > new-file.txt && mkdir -p newdir/deeper && echo x > newdir/deeper/y\n"
        "git add -A && git commit -qm hostile && git commit -q --allow-empty -m again\n"
        "git mv a.txt renamed.txt && mv dir moved-dir && git commit -qam renames\n"
        "git gc -q --prune=now && git reset -q --hard HEAD~1\n"
        "ln -s /etc/passwd passwd-link && ln -s \"$3/target.txt\" out-file\n"
        "ln -s \"$3\" out-dir && ln -s ../../../.. up-link\n"
        "rm -rf run.sh c.txt .git/hooks && echo changed > link\n"
        "mkdir -p locked/a/b && echo s > locked/a/b/c && chmod -R 000 locked\n"
        "(for i in $(seq 1 1500); do mkdir d && cd d || exit 1; done; echo bottom > f)\n"
        "chmod -R 000 .git && chmod 000 .\n",
        f);
  fclose(f);
  int rc = sh("unshare --mount --propagation private sh '%s' '%s' '%s' '%s'", script, mirrors, w,
              outside);
  assert_int_equal(rc, 0);
  assert_int_equal(overlay_workspace_destroy(ws), 0);
  assert_false(mounted_under(fx.run_root));

  /* Nothing outside was followed or deleted. */
  char buf[256];
  assert_int_equal(
      capture(buf, sizeof(buf), "cat '%s/target.txt' '%s/sub/inner.txt'", outside, outside), 0);
  assert_string_equal(buf, "keep\nkeep");
  assert_true(exists("/etc/passwd"));
  /* link pointed at a.txt inside the snapshot; "echo > link" wrote through
   * it into the upper layer, not the snapshot. */
  hash_tree(snap_after, overlay_snapshot_path(s), 1);
  hash_tree(mirror_after, mirrors, 1);
  assert_string_equal(snap_before, snap_after);
  assert_string_equal(mirror_before, mirror_after);

  /* The next workspace is pristine: the merged view hashes like the snapshot
   * (the root directory's own attributes come from the fresh upper dir, so
   * the hash starts below it) and git sees a clean checkout. */
  ws = ws_create(&fx, s, "job", 0);
  w = overlay_workspace_path(ws);
  char fresh[65];
  hash_tree(fresh, w, 1);
  assert_string_equal(fresh, snap_before);
  assert_int_equal(capture(buf, sizeof(buf), "cd '%s' && git status --porcelain", w), 0);
  assert_string_equal(buf, "");
  assert_int_equal(capture(buf, sizeof(buf), "cd '%s' && git rev-parse HEAD", w), 0);
  assert_string_equal(buf, sha_c3);
  assert_int_equal(overlay_workspace_destroy(ws), 0);
  overlay_snapshot_release(s);
  assert_int_equal(sh("rm -rf '%s'", outside), 0);
  fixture_close(&fx);
}

static void test_overlay_submodules(void **state) {
  (void)state;
  fixture fx;
  fixture_open(&fx, "submodules");
  assert_int_equal(sh("set -e; cd '%s' && rm -rf lib super && git init -q lib && cd lib"
                      " && echo library > lib.txt && git add -A && git commit -qm lib1"
                      " && cd .. && git init -q super && cd super && echo app > app.txt"
                      " && git submodule -q add 'file://%s/lib' vendor/lib"
                      " && git commit -qam 'add lib'",
                      base, base),
                   0);
  char url[PATH_MAX + 16], lib_sha[48], buf[512];
  snprintf(url, sizeof(url), "file://%s/super", base);
  assert_int_equal(capture(lib_sha, sizeof(lib_sha), "git -C '%s/lib' rev-parse HEAD", base), 0);
  overlay_snapshot *s = get(&fx, url, "main", NULL);
  overlay_workspace *ws = ws_create(&fx, s, "job", 0);
  const char *w = overlay_workspace_path(ws);
  assert_int_equal(capture(buf, sizeof(buf), "cat '%s/vendor/lib/lib.txt'", w), 0);
  assert_string_equal(buf, "library");
  assert_int_equal(capture(buf, sizeof(buf), "cd '%s' && git status --porcelain", w), 0);
  assert_string_equal(buf, "");
  assert_int_equal(capture(buf, sizeof(buf), "cd '%s/vendor/lib' && git rev-parse HEAD", w), 0);
  assert_string_equal(buf, lib_sha);
  assert_int_equal(capture(buf, sizeof(buf), "cd '%s/vendor/lib' && git log --format=%%s", w), 0);
  assert_string_equal(buf, "lib1");
  assert_int_equal(capture(buf, sizeof(buf), "cd '%s' && git submodule status | cut -c1-41", w), 0);
  char expect[128];
  snprintf(expect, sizeof(expect), " %s", lib_sha);
  assert_string_equal(buf, expect);
  /* The snapshot names both mirrors (for read-only bind mounts). */
  size_t nm = 0;
  const char *const *used = overlay_snapshot_mirrors(s, &nm);
  assert_int_equal(nm, 2);
  assert_int_equal(capture(buf, sizeof(buf), "cat '%s/vendor/lib/.git/objects/info/alternates'", w),
                   0);
  char alt[PATH_MAX + 16];
  snprintf(alt, sizeof(alt), "%s/objects", used[1]);
  assert_string_equal(buf, alt);
  assert_int_equal(overlay_workspace_destroy(ws), 0);
  overlay_snapshot_release(s);
  char mirrors[PATH_MAX];
  path_join(mirrors, sizeof(mirrors), fx.cache_dir, "mirrors");
  assert_int_equal(count_entries(mirrors, NULL, ".git"), 2);
  /* A relative submodule URL resolves against the superproject's URL (to the
   * same mirror), and a new submodule commit needs only a fetch of it. */
  assert_int_equal(sh("set -e; cd '%s/lib' && echo v2 > lib.txt && git commit -qam lib2"
                      " && cd ../super && git -C vendor/lib pull -q"
                      " && git config -f .gitmodules submodule.vendor/lib.url ../lib"
                      " && git commit -qam 'lib v2, relative url'",
                      base),
                   0);
  s = get(&fx, url, "main", NULL);
  ws = ws_create(&fx, s, "job", 0);
  w = overlay_workspace_path(ws);
  assert_int_equal(capture(buf, sizeof(buf), "cat '%s/vendor/lib/lib.txt'", w), 0);
  assert_string_equal(buf, "v2");
  assert_int_equal(capture(buf, sizeof(buf), "cd '%s' && git status --porcelain", w), 0);
  assert_string_equal(buf, "");
  assert_int_equal(overlay_workspace_destroy(ws), 0);
  overlay_snapshot_release(s);
  assert_int_equal(count_entries(mirrors, NULL, ".git"), 2);
  assert_int_equal(sh("rm -rf '%s/lib' '%s/super'", base, base), 0);
  fixture_close(&fx);
}

static void test_overlay_two_processes_fetch_at_once(void **state) {
  (void)state;
  fixture fx;
  fixture_open(&fx, "concurrent");
  start_daemon();
  char url[256];
  snprintf(url, sizeof(url), "git://127.0.0.1:%d/src", daemon_port);
  int gate[2];
  assert_int_equal(pipe(gate), 0);
  pid_t kids[2];
  for (int i = 0; i < 2; i++) {
    kids[i] = fork();
    assert_true(kids[i] >= 0);
    if (kids[i] == 0) {
      close(gate[1]);
      char c;
      (void)!read(gate[0], &c, 1); /* both start together when the gate closes */
      overlay_cache *cache = NULL;
      overlay_snapshot *snap = NULL;
      overlay_request req = {
          .url = url, .ref = i == 0 ? "main" : "refs/pull/1/head", .allow_local = 1};
      int rc = overlay_cache_open(&cache, fx.cache_dir);
      if (rc == 0)
        rc = overlay_snapshot_get(&snap, cache, &req);
      if (rc != 0)
        fprintf(stderr, "child %d: %s\n", i, airgap_error_last());
      const char *want = i == 0 ? sha_c3 : sha_pr;
      int ok = rc == 0 && strcmp(overlay_snapshot_commit(snap), want) == 0;
      overlay_snapshot_release(snap);
      overlay_cache_free(cache);
      _exit(ok ? 0 : 1);
    }
  }
  close(gate[0]);
  close(gate[1]);
  for (int i = 0; i < 2; i++) {
    int status = 0;
    assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  char mirrors[PATH_MAX], trees[PATH_MAX];
  path_join(mirrors, sizeof(mirrors), fx.cache_dir, "mirrors");
  path_join(trees, sizeof(trees), fx.cache_dir, "trees");
  assert_int_equal(count_entries(mirrors, NULL, ".git"), 1);
  assert_int_equal(count_entries(mirrors, ".", NULL), 0);
  assert_int_equal(count_entries(trees, NULL, ".lock"), 2);
  assert_int_equal(count_entries(trees, ".", NULL), 0);
  /* The mirror is a sound repository holding both. */
  assert_int_equal(sh("cd '%s' && git --git-dir=\"$(ls -d *.git)\" fsck >/dev/null 2>&1 && git "
                      "--git-dir=\"$(ls -d *.git)\" cat-file -e %s && git --git-dir=\"$(ls -d "
                      "*.git)\" cat-file -e %s",
                      mirrors, sha_c3, sha_pr),
                   0);
  stop_process(&daemon_pid);
  fixture_close(&fx);
}

static void test_overlay_sigkill_then_reap(void **state) {
  (void)state;
  fixture fx;
  fixture_open(&fx, "reap");
  overlay_snapshot *held = get(&fx, src_url, "main", NULL); /* builds it up front */
  char tree[PATH_MAX];
  copy_str(tree, sizeof(tree), overlay_snapshot_path(held));
  overlay_snapshot_release(held);
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  pid_t kid = fork();
  assert_true(kid >= 0);
  if (kid == 0) {
    close(ready[0]);
    overlay_cache *cache = NULL;
    overlay_snapshot *snap = NULL;
    overlay_workspace *ws1 = NULL, *ws2 = NULL;
    overlay_request req = {.url = src_url, .ref = "main", .allow_local = 1};
    char run1[PATH_MAX], run2[PATH_MAX];
    path_join(run1, sizeof(run1), fx.run_root, "job1");
    path_join(run2, sizeof(run2), fx.run_root, "job2");
    overlay_workspace_options capped = {.upper_limit_bytes = 4 << 20};
    if (mkdir(run1, 0755) < 0 || mkdir(run2, 0755) < 0 ||
        overlay_cache_open(&cache, fx.cache_dir) < 0 ||
        overlay_snapshot_get(&snap, cache, &req) < 0 ||
        overlay_workspace_create(&ws1, snap, run1, NULL) < 0 ||
        overlay_workspace_create(&ws2, snap, run2, &capped) < 0)
      _exit(1);
    char path[PATH_MAX];
    path_join(path, sizeof(path), overlay_workspace_path(ws1), "written-by-job");
    int fd = open(path, O_CREAT | O_WRONLY, 0644); /* kept open on purpose */
    (void)fd;
    (void)!write(ready[1], "r", 1);
    for (;;)
      pause(); /* holding fd, locks and mounts until killed */
  }
  close(ready[1]);
  char c = 0;
  assert_int_equal(read(ready[0], &c, 1), 1);
  close(ready[0]);
  assert_int_equal(kill(kid, SIGKILL), 0);
  int status = 0;
  assert_int_equal(waitpid(kid, &status, 0), kid);
  assert_true(WIFSIGNALED(status));
  assert_true(mounted_under(fx.run_root));

  /* The snapshot's lock died with the process, but a stale mount still uses
   * it as its lower layer: eviction must keep it. */
  overlay_evict_options all = {.max_tree_bytes = 0, .mirror_max_idle_secs = 0};
  overlay_evict_result res;
  assert_int_equal(overlay_cache_evict(&res, fx.cache, &all), 0);
  assert_int_equal(res.trees_removed, 0);
  assert_int_equal(res.mirrors_removed, 0);
  assert_true(exists(tree));

  assert_int_equal(overlay_reap(fx.run_root), 0);
  assert_false(mounted_under(fx.run_root));
  assert_int_equal(count_entries(fx.run_root, NULL, NULL), 0);
  assert_true(exists(fx.run_root));
  /* Reaping twice is harmless. */
  assert_int_equal(overlay_reap(fx.run_root), 0);

  assert_int_equal(overlay_cache_evict(&res, fx.cache, &all), 0);
  assert_int_equal(res.trees_removed, 1);
  assert_int_equal(res.mirrors_removed, 1);
  assert_false(exists(tree));
  fixture_close(&fx);
}

static void test_overlay_eviction_spares_snapshots_in_use(void **state) {
  (void)state;
  fixture fx;
  fixture_open(&fx, "evict");
  overlay_snapshot *s1 = get(&fx, src_url, sha_c1, NULL);
  overlay_snapshot *s2 = get(&fx, src_url, sha_c2, NULL);
  overlay_snapshot *s3 = get(&fx, src_url, sha_c3, NULL);
  char p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX];
  copy_str(p1, sizeof(p1), overlay_snapshot_path(s1));
  copy_str(p2, sizeof(p2), overlay_snapshot_path(s2));
  copy_str(p3, sizeof(p3), overlay_snapshot_path(s3));
  overlay_snapshot_release(s1);
  overlay_snapshot_release(s3);
  overlay_workspace *ws = ws_create(&fx, s2, "job", 0);

  /* Generous threshold: nothing goes. */
  overlay_evict_options keep = {.max_tree_bytes = UINT64_MAX, .mirror_max_idle_secs = -1};
  overlay_evict_result res;
  assert_int_equal(overlay_cache_evict(&res, fx.cache, &keep), 0);
  assert_int_equal(res.trees_removed, 0);
  assert_true(res.tree_bytes > 0);
  /* A mirror used a moment ago is not idle for an hour. */
  overlay_evict_options hour = {.max_tree_bytes = UINT64_MAX, .mirror_max_idle_secs = 3600};
  assert_int_equal(overlay_cache_evict(&res, fx.cache, &hour), 0);
  assert_int_equal(res.mirrors_removed, 0);
  assert_int_equal(res.trees_removed, 0);
  /* A lock file left without its tree (a crashed build) is swept. */
  char orphan[PATH_MAX + 64];
  snprintf(orphan, sizeof(orphan), "%s/trees/%s.lock", fx.cache_dir,
           "0123456789012345678901234567890123456789");
  assert_int_equal(sh("touch '%s'", orphan), 0);
  assert_int_equal(overlay_cache_evict(&res, fx.cache, &keep), 0);
  assert_false(exists(orphan));

  /* Threshold 0 while s2 is in use: the others go, s2 survives, and the
   * mirror stays because s2 borrows its objects. */
  overlay_evict_options none = {.max_tree_bytes = 0, .mirror_max_idle_secs = 0};
  assert_int_equal(overlay_cache_evict(&res, fx.cache, &none), 0);
  assert_int_equal(res.trees_removed, 2);
  assert_int_equal(res.mirrors_removed, 0);
  assert_int_equal(res.trees_in_use, 1);
  assert_false(exists(p1));
  assert_true(exists(p2));
  assert_false(exists(p3));
  char buf[256];
  assert_int_equal(capture(buf, sizeof(buf),
                           "cd '%s' && git status --porcelain && git log "
                           "--format=%%s | head -1",
                           overlay_workspace_path(ws)),
                   0);
  assert_string_equal(buf, "c2");
  assert_int_equal(overlay_workspace_destroy(ws), 0);

  /* Still held by the caller: survives again. */
  assert_int_equal(overlay_cache_evict(&res, fx.cache, &none), 0);
  assert_int_equal(res.trees_removed, 0);
  assert_true(exists(p2));

  overlay_snapshot_release(s2);
  assert_int_equal(overlay_cache_evict(&res, fx.cache, &none), 0);
  assert_int_equal(res.trees_removed, 1);
  assert_int_equal(res.mirrors_removed, 1);
  assert_int_equal(res.tree_bytes, 0);
  char mirrors[PATH_MAX], trees[PATH_MAX];
  path_join(mirrors, sizeof(mirrors), fx.cache_dir, "mirrors");
  path_join(trees, sizeof(trees), fx.cache_dir, "trees");
  assert_int_equal(count_entries(mirrors, NULL, NULL), 0);
  assert_int_equal(count_entries(trees, NULL, NULL), 0);

  /* And the cache works again afterwards. */
  overlay_snapshot *again = get(&fx, src_url, "main", NULL);
  check_snapshot(again, sha_c3, "c.txt", "three");
  overlay_snapshot_release(again);
  fixture_close(&fx);
}

void expect_failure(fixture *fx, const char *url, const char *ref, const char *commit, int code,
                    const char *needle) {
  overlay_request req = {.url = url, .ref = ref, .commit = commit, .allow_local = 1};
  overlay_snapshot *s = NULL;
  int rc = overlay_snapshot_get(&s, fx->cache, &req);
  if (rc != code || !strstr(airgap_error_last(), needle))
    fprintf(stderr, "url=%s ref=%s: rc=%d: %s\n", url ? url : "(null)", ref ? ref : "(null)", rc,
            airgap_error_last());
  assert_int_equal(rc, code);
  assert_null(s);
  assert_non_null(strstr(airgap_error_last(), needle));
}

static void test_overlay_bad_urls_and_refs(void **state) {
  (void)state;
  fixture fx;
  fixture_open(&fx, "bad");
  char mirrors[PATH_MAX], trees[PATH_MAX];
  path_join(mirrors, sizeof(mirrors), fx.cache_dir, "mirrors");
  path_join(trees, sizeof(trees), fx.cache_dir, "trees");
  char missing[PATH_MAX + 32], closed[128];
  snprintf(missing, sizeof(missing), "file://%s/no-such-repo", base);
  snprintf(closed, sizeof(closed), "git://127.0.0.1:%d/src", free_port());

  expect_failure(&fx, missing, "main", NULL, AIRGAP_ERROR, "no-such-repo");
  expect_failure(&fx, closed, "main", NULL, AIRGAP_ERROR, "cannot reach");
  /* A first clone that cannot find the ref leaves nothing behind. */
  expect_failure(&fx, src_url, "no-such-branch", NULL, AIRGAP_ENOTFOUND, "no-such-branch");
  expect_failure(&fx, src_url, "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef", NULL, AIRGAP_ENOTFOUND,
                 "deadbeef");
  assert_int_equal(count_entries(mirrors, NULL, ".git"), 0);
  assert_int_equal(count_entries(mirrors, ".tmp", NULL), 0);
  assert_int_equal(count_entries(trees, NULL, NULL), 0);
  /* Malformed input is refused before anything is touched. */
  expect_failure(&fx, src_url, "bad..ref", NULL, AIRGAP_EINVALID, "not a valid git ref");
  expect_failure(&fx, src_url, "main", "not-a-sha", AIRGAP_EINVALID, "not a 40-character sha");
  expect_failure(&fx, "https://user:secret@127.0.0.1:1/r.git", "main", NULL, AIRGAP_EINVALID,
                 "password");
  expect_failure(&fx, "relative/path", "main", NULL, AIRGAP_EINVALID, "absolute path");
  expect_failure(&fx, "", "main", NULL, AIRGAP_EINVALID, "empty");
  expect_failure(&fx, src_url, "", NULL, AIRGAP_EINVALID, "empty");
  assert_int_equal(count_entries(mirrors, NULL, NULL), 0);

  /* With a mirror in place, a bad ref leaves it intact and usable. */
  overlay_snapshot *s = get(&fx, src_url, "main", NULL);
  overlay_snapshot_release(s);
  char before[65], after[65];
  hash_tree(before, mirrors, 0);
  expect_failure(&fx, src_url, "refs/pull/99/head", NULL, AIRGAP_ENOTFOUND, "refs/pull/99/head");
  expect_failure(&fx, src_url, "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef", NULL, AIRGAP_ENOTFOUND,
                 "not found");
  hash_tree(after, mirrors, 0);
  assert_string_equal(before, after);
  s = get(&fx, src_url, "feature", NULL);
  check_snapshot(s, sha_feature, "f.txt", "feat");
  overlay_snapshot_release(s);
  /* A workspace in a run dir with a comma is refused, not mis-mounted. */
  assert_int_equal(sh("mkdir -p '%s/a,b'", fx.run_root), 0);
  char odd[PATH_MAX];
  path_join(odd, sizeof(odd), fx.run_root, "a,b");
  overlay_workspace *ws = NULL;
  s = get(&fx, src_url, "main", NULL);
  assert_int_equal(overlay_workspace_create(&ws, s, odd, NULL), AIRGAP_EINVALID);
  overlay_snapshot_release(s);
  fixture_close(&fx);
}

static void test_overlay_upper_layer_cap(void **state) {
  (void)state;
  fixture fx;
  fixture_open(&fx, "cap");
  overlay_snapshot *s = get(&fx, src_url, "main", NULL);
  overlay_workspace *ws = ws_create(&fx, s, "job", 2 << 20);
  const char *w = overlay_workspace_path(ws);
  assert_int_equal(sh("dd if=/dev/zero of='%s/small' bs=1k count=512 status=none", w), 0);
  assert_int_not_equal(sh("dd if=/dev/zero of='%s/big' bs=1M count=8 status=none 2>/dev/null", w),
                       0);
  assert_int_equal(sh("rm -f '%s/big' && echo ok > '%s/after'", w, w), 0);
  char layer[PATH_MAX + 16], opts[1024];
  snprintf(layer, sizeof(layer), "%s/job/layer", fx.run_root);
  mount_options(opts, sizeof(opts), layer);
  assert_non_null(strstr(opts, "tmpfs "));
  assert_int_equal(overlay_workspace_destroy(ws), 0);
  overlay_snapshot_release(s);
  fixture_close(&fx);
}

static void test_overlay_disk_full_is_clear_and_clean(void **state) {
  (void)state;
  char tiny[PATH_MAX], cache_dir[PATH_MAX + 16];
  path_join(tiny, sizeof(tiny), base, "tiny");
  snprintf(cache_dir, sizeof(cache_dir), "%s/cache", tiny);
  assert_int_equal(sh("mkdir -p '%s' && mount -t tmpfs -o size=64k tmpfs '%s'", tiny, tiny), 0);
  /* A repository that cannot fit: 256 KiB of incompressible data. */
  assert_int_equal(
      sh("set -e; cd '%s' && rm -rf big && git init -q big && cd big"
         " && head -c 262144 /dev/urandom > blob && git add blob && git commit -qm big",
         base),
      0);
  overlay_cache *cache = NULL;
  assert_int_equal(overlay_cache_open(&cache, cache_dir), 0);
  char url[PATH_MAX + 16];
  snprintf(url, sizeof(url), "file://%s/big", base);
  overlay_request req = {.url = url, .ref = "main", .allow_local = 1};
  overlay_snapshot *s = NULL;
  int rc = overlay_snapshot_get(&s, cache, &req);
  assert_true(rc < 0);
  assert_null(s);
  fprintf(stderr, "disk full reported as: %s\n", airgap_error_last());
  assert_non_null(strstr(airgap_error_last(), "space"));
  char mirrors[PATH_MAX + 32], trees[PATH_MAX + 32];
  snprintf(mirrors, sizeof(mirrors), "%s/mirrors", cache_dir);
  snprintf(trees, sizeof(trees), "%s/trees", cache_dir);
  assert_int_equal(count_entries(mirrors, NULL, NULL), 0);
  assert_int_equal(count_entries(trees, NULL, NULL), 0);
  overlay_cache_free(cache);
  assert_int_equal(sh("umount '%s' && rm -rf '%s' '%s/big'", tiny, tiny, base), 0);
}

/* Starts the smart-HTTP server with Basic auth; returns its port. The pipe
 * it prints the port on stays open (in *out_fd) until the server stops. */
static int start_http(pid_t *pid, int *out_fd, const char *token) {
  int out[2];
  assert_int_equal(pipe(out), 0);
  fflush(stdout);
  fflush(stderr);
  *pid = fork();
  assert_true(*pid >= 0);
  if (*pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    char script[PATH_MAX];
    snprintf(script, sizeof(script), "%s/tests/overlay/git_http_auth.py",
             getenv("AIRGAP_SOURCE_DIR") ? getenv("AIRGAP_SOURCE_DIR") : AIRGAP_SOURCE_DIR_DEFAULT);
    execl("/usr/bin/python3", "python3", script, base, "ci", token, (char *)NULL);
    _exit(127);
  }
  close(out[1]);
  char buf[32] = {0};
  size_t used = 0;
  while (used < sizeof(buf) - 1) {
    ssize_t n = read(out[0], buf + used, 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0 || buf[used] == '\n')
      break;
    used++;
  }
  buf[used] = '\0';
  *out_fd = out[0];
  long port = strtol(buf, NULL, 10);
  assert_true(port > 0 && port < 65536);
  return (int)port;
}

static void test_overlay_credentials_via_callback(void **state) {
  (void)state;
  fixture fx;
  fixture_open(&fx, "auth");
  const char *token = "tok-7f3a9c-never-on-disk";
  pid_t http = -1;
  int http_out = -1;
  int port = start_http(&http, &http_out, token);
  char url[256];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/src", port);
  overlay_request req = {.url = url, .ref = "main", .allow_local = 1};
  overlay_snapshot *s = NULL;
  /* Anonymous and wrong credentials are refused as auth failures. */
  assert_int_equal(overlay_snapshot_get(&s, fx.cache, &req), AIRGAP_EAUTH);
  assert_non_null(strstr(airgap_error_last(), "credentials"));
  overlay_credentials wrong = {.username = "ci", .token = "wrong"};
  req.credentials = &wrong;
  assert_int_equal(overlay_snapshot_get(&s, fx.cache, &req), AIRGAP_EAUTH);
  char mirrors[PATH_MAX];
  path_join(mirrors, sizeof(mirrors), fx.cache_dir, "mirrors");
  assert_int_equal(count_entries(mirrors, NULL, ".git"), 0);
  /* The right token works, and is nowhere on disk afterwards. */
  overlay_credentials right = {.username = "ci", .token = token};
  req.credentials = &right;
  int rc = overlay_snapshot_get(&s, fx.cache, &req);
  if (rc != 0)
    fprintf(stderr, "auth fetch: %s\n", airgap_error_last());
  assert_int_equal(rc, 0);
  check_snapshot(s, sha_c3, "c.txt", "three");
  overlay_workspace *ws = ws_create(&fx, s, "job", 0);
  assert_int_equal(
      sh("grep -rqa -- '%s' '%s' '%s'", token, fx.cache_dir, overlay_workspace_path(ws)), 1);
  assert_int_equal(overlay_workspace_destroy(ws), 0);
  overlay_snapshot_release(s);
  /* A token inside the URL is refused outright. */
  char bad[256];
  snprintf(bad, sizeof(bad), "http://ci:%s@127.0.0.1:%d/src", token, port);
  expect_failure(&fx, bad, "main", NULL, AIRGAP_EINVALID, "password");
  stop_process(&http);
  close(http_out);
  fixture_close(&fx);
}

int main(void) {
  if (geteuid() != 0) {
    fprintf(stderr, "test_overlay mounts overlayfs and must run as root\n");
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_overlay_every_ref_kind),
      cmocka_unit_test(test_overlay_known_commit_needs_no_network),
      cmocka_unit_test(test_overlay_workspace_is_a_git_checkout),
      cmocka_unit_test(test_overlay_hostile_run_leaves_no_trace),
      cmocka_unit_test(test_overlay_submodules),
      cmocka_unit_test(test_overlay_two_processes_fetch_at_once),
      cmocka_unit_test(test_overlay_sigkill_then_reap),
      cmocka_unit_test(test_overlay_eviction_spares_snapshots_in_use),
      cmocka_unit_test(test_overlay_bad_urls_and_refs),
      cmocka_unit_test(test_overlay_upper_layer_cap),
      cmocka_unit_test(test_overlay_disk_full_is_clear_and_clean),
      cmocka_unit_test(test_overlay_credentials_via_callback),
      cmocka_unit_test(test_overlay_url_is_local),
      cmocka_unit_test(test_overlay_local_repos_need_permission),
      cmocka_unit_test(test_overlay_local_submodules_refused),
      cmocka_unit_test(test_overlay_cache_evicts_by_age_and_total_size),
      cmocka_unit_test(test_overlay_killed_checkout_leftovers_swept),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
