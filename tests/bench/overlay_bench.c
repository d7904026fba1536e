/*
 * overlay_bench.c — what a pristine writable checkout costs: an overlay
 * workspace (create + destroy) against its peers measured in the same run on
 * the same generated repository: `git clone --local --no-hardlinks` (+ rm),
 * `git worktree add` + `git worktree remove`, and `cp -a` of the snapshot
 * (+ rm). Prints one row per repository size with the ratios.
 *
 * Usage (as root, it mounts): overlay_bench [-n workspace-iterations] [files...]
 * Default sizes: 1000 10000 50000 files. Target (issue 5): <= 5 ms per
 * workspace at every size, >= 100x faster than a local clone at 10k files.
 */
#include "common/error.h"
#include "overlay/overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

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

/* A repository of `files` files, 100 per directory, committed on main. */
static int make_repo(const char *dir, long files) {
  if (sh("rm -rf '%s' && git init -q -b main '%s'", dir, dir) != 0)
    return -1;
  char path[PATH_MAX];
  for (long i = 0; i < files; i++) {
    if (i % 100 == 0) {
      if (snprintf(path, sizeof(path), "%s/d%05ld", dir, i / 100) >= (int)sizeof(path) ||
          mkdir(path, 0755) < 0)
        return -1;
    }
    if (snprintf(path, sizeof(path), "%s/d%05ld/f%07ld.txt", dir, i / 100, i) >= (int)sizeof(path))
      return -1;
    FILE *f = fopen(path, "w");
    if (!f)
      return -1;
    for (int line = 0; line < 4; line++)
      fprintf(f, "file %ld line %d: the quick brown fox jumps over the lazy dog\n", i, line);
    fclose(f);
  }
  return sh("cd '%s' && git add -A && git -c user.name=bench -c user.email=b@b commit -qm "
            "generated",
            dir);
}

static double time_peer(int iterations, const char *fmt, const char *a, const char *b) {
  double total = 0;
  for (int i = 0; i < iterations; i++) {
    double t0 = now_ms();
    if (sh(fmt, a, b, b) != 0) {
      fprintf(stderr, "peer command failed: ");
      fprintf(stderr, fmt, a, b, b);
      fprintf(stderr, "\n");
      return -1;
    }
    total += now_ms() - t0;
  }
  return total / iterations;
}

int main(int argc, char **argv) {
  int ws_iterations = 50;
  long sizes[16];
  int nsizes = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
      ws_iterations = (int)strtol(argv[++i], NULL, 10);
      if (ws_iterations < 1 || ws_iterations > 100000) {
        fprintf(stderr, "overlay_bench: -n takes 1..100000\n");
        return 2;
      }
    } else if (nsizes < 16) {
      char *end = NULL;
      long v = strtol(argv[i], &end, 10);
      if (!end || *end || v < 1 || v > 1000000) {
        fprintf(stderr, "usage: overlay_bench [-n iterations] [files...] (1..1000000 files)\n");
        return 2;
      }
      sizes[nsizes++] = v;
    }
  }
  if (nsizes == 0) {
    sizes[0] = 1000;
    sizes[1] = 10000;
    sizes[2] = 50000;
    nsizes = 3;
  }
  if (geteuid() != 0) {
    fprintf(stderr, "overlay_bench mounts overlayfs and must run as root\n");
    return 2;
  }
  char root[] = "/tmp/airgap-overlay-bench-XXXXXX";
  if (!mkdtemp(root)) {
    perror("mkdtemp");
    return 1;
  }
  setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
  setenv("HOME", root, 1);
  int rc = 1;
  overlay_cache *cache = NULL;
  char cache_dir[PATH_MAX], run[PATH_MAX];
  snprintf(cache_dir, sizeof(cache_dir), "%s/cache", root);
  snprintf(run, sizeof(run), "%s/run", root);
  if (mkdir(run, 0755) < 0 || overlay_cache_open(&cache, cache_dir) < 0) {
    fprintf(stderr, "overlay_bench: %s\n", airgap_error_last());
    goto cleanup;
  }
  printf("%8s %10s %10s %10s %10s %9s %9s %9s %10s\n", "files", "ws ms", "clone ms", "wtree ms",
         "cp-a ms", "clone/ws", "wtree/ws", "cp-a/ws", "snapshot s");
  for (int s = 0; s < nsizes; s++) {
    char repo[PATH_MAX], url[PATH_MAX + 16], dst[PATH_MAX];
    snprintf(repo, sizeof(repo), "%s/repo-%ld", root, sizes[s]);
    snprintf(url, sizeof(url), "file://%s", repo);
    snprintf(dst, sizeof(dst), "%s/copy", root);
    if (make_repo(repo, sizes[s]) != 0) {
      fprintf(stderr, "overlay_bench: cannot generate a repository of %ld files\n", sizes[s]);
      goto cleanup;
    }
    /* The snapshot is built once per commit; every later run pays only for
     * the workspace. Shown for completeness, not compared. */
    double t0 = now_ms();
    overlay_request req = {.url = url, .ref = "main", .allow_local = 1};
    overlay_snapshot *snap = NULL;
    if (overlay_snapshot_get(&snap, cache, &req) < 0) {
      fprintf(stderr, "overlay_bench: %s\n", airgap_error_last());
      goto cleanup;
    }
    double snapshot_ms = now_ms() - t0;
    double ws_total = 0;
    for (int i = 0; i < ws_iterations; i++) {
      overlay_workspace *ws = NULL;
      double w0 = now_ms();
      if (overlay_workspace_create(&ws, snap, run, NULL) < 0 || overlay_workspace_destroy(ws) < 0) {
        fprintf(stderr, "overlay_bench: %s\n", airgap_error_last());
        overlay_snapshot_release(snap);
        goto cleanup;
      }
      ws_total += now_ms() - w0;
    }
    double ws = ws_total / ws_iterations;
    int peer_iterations = sizes[s] >= 10000 ? 1 : 3;
    double clone = time_peer(
        peer_iterations, "git clone -q --local --no-hardlinks '%s' '%s' && rm -rf '%s'", repo, dst);
    double wtree = 0;
    for (int i = 0; i < peer_iterations; i++) {
      double p0 = now_ms();
      if (sh("git -C '%s' worktree add -q --detach '%s' main && git -C '%s' worktree remove "
             "--force '%s'",
             repo, dst, repo, dst) != 0) {
        fprintf(stderr, "overlay_bench: git worktree failed\n");
        overlay_snapshot_release(snap);
        goto cleanup;
      }
      wtree += now_ms() - p0;
    }
    wtree /= peer_iterations;
    double cp = time_peer(peer_iterations, "cp -a '%s' '%s' && rm -rf '%s'",
                          overlay_snapshot_path(snap), dst);
    overlay_snapshot_release(snap);
    if (clone < 0 || cp < 0)
      goto cleanup;
    printf("%8ld %10.2f %10.1f %10.1f %10.1f %8.0fx %8.0fx %8.0fx %10.2f\n", sizes[s], ws, clone,
           wtree, cp, clone / ws, wtree / ws, cp / ws, snapshot_ms / 1e3);
    fflush(stdout);
    sh("rm -rf '%s'", repo);
  }
  rc = 0;
cleanup:
  overlay_cache_free(cache);
  sh("rm -rf '%s'", root);
  return rc;
}
