/*
 * evict.c — keeping the cache bounded: least-recently-used snapshots past a
 * size threshold, and mirrors idle for longer than a given time.
 *
 * A snapshot is removed only when its use lock can be taken exclusively
 * without waiting (nobody holds it) and no overlay mount in the mount table
 * uses it as a lower layer (a crashed run's workspace that was not reaped
 * yet). Removal renames trees/<sha> out of the way first, then unlinks the
 * lock file while still holding it, so a process that was waiting on the old
 * lock notices and starts over (see ov_lock).
 *
 * A mirror is removed together with every snapshot whose .git borrows objects
 * from it (.git/airgap-snapshot lists them), and only when all of those can
 * go: a snapshot's alternates must never point at a missing mirror. Temporary
 * directories of crashed builds (their pid in the name is gone) are swept too,
 * and so are git's lock files and temporary packs inside mirrors that nobody
 * fetches into (their exclusive lock is free), which a killed fetch leaves.
 *
 * Age: snapshots unused for longer than a limit go. Size: past a threshold on
 * snapshots alone, or on snapshots and mirrors together, least-recently-used
 * snapshots go first (rebuilt from the mirror in seconds), then the
 * least-recently-used mirrors (a full clone to get back).
 */
#include "overlay/overlay_int.h"

#include "common/error.h"
#include "common/log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define INFO_MAX (64 * 1024)
#define MAX_TREES 100000
#define MAX_MIRRORS 100000
#define REFS_MAX_DEPTH 32

typedef struct tree_info {
  char sha[OVERLAY_SHA_HEX + 1];
  time_t used;
  uint64_t bytes;
  char *info; /* contents of .git/airgap-snapshot, or NULL */
  int gone;
} tree_info;

static int is_hex_name(const char *s, size_t len) {
  if (strlen(s) != len)
    return 0;
  for (size_t i = 0; i < len; i++)
    if (!isxdigit((unsigned char)s[i]))
      return 0;
  return 1;
}

/* ".tmp-<x>-<pid>[-n]" or ".evict-<x>-<pid>": 1 when the pid is gone. */
static int stale_temp(const char *name, size_t key_len) {
  const char *p = NULL;
  if (strncmp(name, ".tmp-", 5) == 0)
    p = name + 5;
  else if (strncmp(name, ".evict-", 7) == 0)
    p = name + 7;
  else
    return 0;
  if (strlen(p) < key_len + 2 || p[key_len] != '-')
    return 0;
  char *end = NULL;
  errno = 0;
  long pid = strtol(p + key_len + 1, &end, 10);
  if (errno || pid <= 0 || end == p + key_len + 1)
    return 0;
  return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static void sweep_temps(const char *dir, size_t key_len) {
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *ent;
  while ((ent = readdir(d)) != NULL) {
    if (!stale_temp(ent->d_name, key_len))
      continue;
    char *path = ov_strf("%s/%s", dir, ent->d_name);
    if (path && ov_remove_tree(path) == 0)
      log_info(OVERLAY_COMPONENT, "removed %s left by a crashed process", path);
    free(path);
  }
  closedir(d);
}

/* Removes trees/<sha>.lock files without a tree (a build that failed in a
 * process that then crashed) when nobody holds them. */
static void sweep_orphan_locks(overlay_cache *cache) {
  DIR *d = opendir(cache->trees_dir);
  if (!d)
    return;
  struct dirent *ent;
  while ((ent = readdir(d)) != NULL) {
    size_t len = strlen(ent->d_name);
    if (len != OVERLAY_SHA_HEX + 5 || strcmp(ent->d_name + OVERLAY_SHA_HEX, ".lock") != 0)
      continue;
    char *lock = ov_strf("%s/%s", cache->trees_dir, ent->d_name);
    char *tree = ov_strf("%s/%.*s", cache->trees_dir, OVERLAY_SHA_HEX, ent->d_name);
    struct stat st;
    int fd = -1;
    if (lock && tree && stat(tree, &st) < 0 && errno == ENOENT &&
        ov_lock(&fd, lock, LOCK_EX | LOCK_NB, 0) == 0) {
      if (stat(tree, &st) < 0 && errno == ENOENT)
        unlink(lock);
      close(fd);
    }
    free(lock);
    free(tree);
  }
  closedir(d);
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Unlinks every "*.lock" file under `dir` (a mirror's refs/). */
static unsigned remove_ref_locks(const char *dir, int depth) {
  DIR *d = depth < REFS_MAX_DEPTH ? opendir(dir) : NULL;
  if (!d)
    return 0;
  unsigned removed = 0;
  struct dirent *ent;
  while ((ent = readdir(d)) != NULL) {
    if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
      continue;
    char *path = ov_strf("%s/%s", dir, ent->d_name);
    struct stat st;
    if (path && lstat(path, &st) == 0) {
      if (S_ISDIR(st.st_mode))
        removed += remove_ref_locks(path, depth + 1);
      else if (ends_with(ent->d_name, ".lock") && unlink(path) == 0)
        removed++;
    }
    free(path);
  }
  closedir(d);
  return removed;
}

/* git's and libgit2's leftovers of a killed fetch in mirror `path`: lock
 * files (which make every later fetch fail) and temporary packs. The caller
 * holds the mirror's exclusive lock, so no fetch is running. */
static unsigned remove_git_leftovers(const char *path) {
  static const char *const top_locks[] = {"packed-refs.lock", "config.lock",  "HEAD.lock",
                                          "FETCH_HEAD.lock",  "shallow.lock", NULL};
  unsigned removed = 0;
  for (size_t i = 0; top_locks[i]; i++) {
    char *lock = ov_strf("%s/%s", path, top_locks[i]);
    if (lock && unlink(lock) == 0)
      removed++;
    free(lock);
  }
  char *refs = ov_strf("%s/refs", path);
  if (refs)
    removed += remove_ref_locks(refs, 0);
  free(refs);
  char *packs = ov_strf("%s/objects/pack", path);
  DIR *d = packs ? opendir(packs) : NULL;
  struct dirent *ent;
  while (d && (ent = readdir(d)) != NULL) {
    if (strncmp(ent->d_name, "pack_git2_", 10) != 0 && strncmp(ent->d_name, "tmp_", 4) != 0)
      continue;
    char *file = ov_strf("%s/%s", packs, ent->d_name);
    if (file && unlink(file) == 0)
      removed++;
    free(file);
  }
  if (d)
    closedir(d);
  free(packs);
  return removed;
}

static void sweep_mirror_leftovers(overlay_cache *cache) {
  DIR *d = opendir(cache->mirrors_dir);
  if (!d)
    return;
  struct dirent *ent;
  unsigned seen = 0;
  while ((ent = readdir(d)) != NULL && seen++ < MAX_MIRRORS) {
    size_t len = strlen(ent->d_name);
    if (len != OVERLAY_KEY_HEX + 4 || !ends_with(ent->d_name, ".git"))
      continue;
    char *lock = ov_strf("%s/%.*s.lock", cache->mirrors_dir, OVERLAY_KEY_HEX, ent->d_name);
    char *path = ov_strf("%s/%s", cache->mirrors_dir, ent->d_name);
    int fd = -1;
    if (lock && path && ov_lock(&fd, lock, LOCK_EX | LOCK_NB, 0) == 0) {
      unsigned removed = remove_git_leftovers(path);
      if (removed)
        log_info(OVERLAY_COMPONENT,
                 "removed %u lock or temporary file(s) a killed fetch left in %s", removed, path);
      close(fd);
    }
    free(lock);
    free(path);
  }
  closedir(d);
}

int overlay_cache_sweep(overlay_cache *cache) {
  if (!cache)
    return airgap_error_set(AIRGAP_EINVALID, "sweeping needs a cache");
  sweep_temps(cache->trees_dir, OVERLAY_SHA_HEX);
  sweep_temps(cache->mirrors_dir, OVERLAY_KEY_HEX);
  sweep_orphan_locks(cache);
  sweep_mirror_leftovers(cache);
  airgap_error_clear();
  return 0;
}

/* Takes the exclusive lock of tree `sha` when nobody uses it. */
static int lock_unused_tree(int *out, overlay_cache *cache, const char *sha, const ov_mount *mounts,
                            size_t nmounts) {
  char *path = ov_strf("%s/%s", cache->trees_dir, sha);
  char *lock = ov_strf("%s/%s.lock", cache->trees_dir, sha);
  int error = AIRGAP_ERROR;
  if (!path || !lock)
    goto cleanup;
  if (ov_mounts_use_lower(mounts, nmounts, path)) {
    error = airgap_error_set(AIRGAP_EBUSY, "%s is the lower layer of a mounted workspace", path);
    goto cleanup;
  }
  error = ov_lock(out, lock, LOCK_EX | LOCK_NB, 1);
cleanup:
  free(path);
  free(lock);
  return error;
}

/* Removes tree `sha` whose exclusive lock `lock_fd` we hold (consumed). */
static int remove_tree_locked(overlay_cache *cache, const char *sha, int lock_fd) {
  char *path = ov_strf("%s/%s", cache->trees_dir, sha);
  char *lock = ov_strf("%s/%s.lock", cache->trees_dir, sha);
  char *away = ov_strf("%s/.evict-%s-%ld", cache->trees_dir, sha, (long)getpid());
  int error = AIRGAP_ERROR;
  if (!path || !lock || !away)
    goto cleanup;
  error = 0;
  if (rename(path, away) < 0 && errno != ENOENT) {
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot move %s aside to evict it", path);
    goto cleanup;
  }
  unlink(lock);
  close(lock_fd);
  lock_fd = -1;
  error = ov_remove_tree(away);
  if (error == 0)
    log_info(OVERLAY_COMPONENT, "evicted snapshot %s", sha);
cleanup:
  if (lock_fd >= 0)
    close(lock_fd);
  free(path);
  free(lock);
  free(away);
  return error;
}

static void trees_free(tree_info *trees, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(trees[i].info);
  free(trees);
}

static int list_trees(tree_info **out, size_t *out_n, overlay_cache *cache) {
  DIR *d = opendir(cache->trees_dir);
  if (!d)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot list %s", cache->trees_dir);
  tree_info *trees = NULL;
  size_t n = 0, cap = 0;
  int error = 0;
  struct dirent *ent;
  while ((ent = readdir(d)) != NULL) {
    if (!is_hex_name(ent->d_name, OVERLAY_SHA_HEX))
      continue;
    if (n == cap) {
      if (cap >= MAX_TREES) {
        error = airgap_error_set(AIRGAP_ETOOBIG, "more than %d snapshots", MAX_TREES);
        break;
      }
      size_t ncap = cap ? cap * 2 : 32;
      tree_info *grown = realloc(trees, ncap * sizeof(*grown));
      if (!grown) {
        error = airgap_error_set(AIRGAP_ERROR, "out of memory");
        break;
      }
      trees = grown;
      cap = ncap;
    }
    tree_info *t = &trees[n++];
    memset(t, 0, sizeof(*t));
    memcpy(t->sha, ent->d_name, OVERLAY_SHA_HEX + 1);
    char *lock = ov_strf("%s/%s.lock", cache->trees_dir, t->sha);
    char *dir = ov_strf("%s/%s", cache->trees_dir, t->sha);
    char *info = ov_strf("%s/%s/.git/%s", cache->trees_dir, t->sha, OVERLAY_SNAPSHOT_INFO);
    struct stat st;
    if (lock && stat(lock, &st) == 0)
      t->used = st.st_mtime;
    else if (dir && stat(dir, &st) == 0)
      t->used = st.st_mtime;
    if (info && ov_read_file(&t->info, info, INFO_MAX) == 0) {
      const char *size = strstr(t->info, "\nsize ");
      if (size)
        t->bytes = strtoull(size + 6, NULL, 10);
    }
    if (t->bytes == 0 && dir)
      (void)ov_tree_bytes(&t->bytes, dir);
    free(lock);
    free(dir);
    free(info);
  }
  closedir(d);
  if (error < 0) {
    trees_free(trees, n);
    return error;
  }
  *out = trees;
  *out_n = n;
  return 0;
}

static int tree_uses_mirror(const tree_info *t, const char *key) {
  if (!t->info)
    return 0;
  char needle[OVERLAY_KEY_HEX + 16];
  snprintf(needle, sizeof(needle), "\nmirror %s\n", key);
  return strstr(t->info, needle) != NULL;
}

static int by_use(const void *a, const void *b) {
  const tree_info *x = a, *y = b;
  return (x->used > y->used) - (x->used < y->used);
}

/* Removes mirror `key` and its snapshots when none of them is in use. */
static int evict_mirror(overlay_evict_result *res, overlay_cache *cache, const char *key,
                        tree_info *trees, size_t ntrees, const ov_mount *mounts, size_t nmounts,
                        time_t cutoff) {
  char *lock = ov_strf("%s/%s.lock", cache->mirrors_dir, key);
  char *path = ov_strf("%s/%s.git", cache->mirrors_dir, key);
  char *away = ov_strf("%s/.evict-%s-%ld", cache->mirrors_dir, key, (long)getpid());
  int *tree_fds = calloc(ntrees ? ntrees : 1, sizeof(int));
  int lock_fd = -1, error = 0;
  size_t locked = 0;
  if (!lock || !path || !away || !tree_fds) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  if (ov_lock(&lock_fd, lock, LOCK_EX | LOCK_NB, 1) < 0)
    goto cleanup; /* in use right now */
  struct stat st;
  if (fstat(lock_fd, &st) == 0 && st.st_mtime > cutoff)
    goto cleanup; /* used since we looked */
  for (size_t i = 0; i < ntrees; i++)
    tree_fds[i] = -1;
  for (size_t i = 0; i < ntrees; i++) {
    if (trees[i].gone || !tree_uses_mirror(&trees[i], key))
      continue;
    if (lock_unused_tree(&tree_fds[i], cache, trees[i].sha, mounts, nmounts) < 0) {
      tree_fds[i] = -1;
      goto cleanup; /* a snapshot of this mirror is in use: keep both */
    }
    locked++;
  }
  for (size_t i = 0; i < ntrees; i++) {
    if (tree_fds[i] < 0)
      continue;
    int fd = tree_fds[i];
    tree_fds[i] = -1;
    if ((error = remove_tree_locked(cache, trees[i].sha, fd)) < 0)
      goto cleanup;
    trees[i].gone = 1;
    res->trees_removed++;
  }
  if (rename(path, away) < 0 && errno != ENOENT) {
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot move mirror %s aside", path);
    goto cleanup;
  }
  unlink(lock);
  close(lock_fd);
  lock_fd = -1;
  if ((error = ov_remove_tree(away)) < 0)
    goto cleanup;
  res->mirrors_removed++;
  log_info(OVERLAY_COMPONENT, "evicted idle mirror %s", key);
cleanup:
  for (size_t i = 0; tree_fds && i < ntrees && locked; i++)
    if (tree_fds[i] >= 0)
      close(tree_fds[i]);
  if (lock_fd >= 0)
    close(lock_fd);
  free(tree_fds);
  free(lock);
  free(path);
  free(away);
  return error;
}

static int evict_mirrors(overlay_evict_result *res, overlay_cache *cache, tree_info *trees,
                         size_t ntrees, const ov_mount *mounts, size_t nmounts, int64_t max_idle) {
  DIR *d = opendir(cache->mirrors_dir);
  if (!d)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot list %s", cache->mirrors_dir);
  time_t cutoff = time(NULL) - (time_t)max_idle;
  int error = 0;
  struct dirent *ent;
  while (error == 0 && (ent = readdir(d)) != NULL) {
    size_t len = strlen(ent->d_name);
    if (len != OVERLAY_KEY_HEX + 4 || strcmp(ent->d_name + OVERLAY_KEY_HEX, ".git") != 0)
      continue;
    char key[OVERLAY_KEY_HEX + 1];
    memcpy(key, ent->d_name, OVERLAY_KEY_HEX);
    key[OVERLAY_KEY_HEX] = '\0';
    if (!is_hex_name(key, OVERLAY_KEY_HEX))
      continue;
    char *lock = ov_strf("%s/%s.lock", cache->mirrors_dir, key);
    struct stat st;
    int idle = lock && (stat(lock, &st) < 0 || st.st_mtime <= cutoff);
    free(lock);
    if (idle)
      error = evict_mirror(res, cache, key, trees, ntrees, mounts, nmounts, cutoff);
  }
  closedir(d);
  return error;
}

/* Disk usage of every mirror. */
static int mirrors_bytes(uint64_t *out, overlay_cache *cache) {
  DIR *d = opendir(cache->mirrors_dir);
  if (!d)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot list %s", cache->mirrors_dir);
  uint64_t total = 0;
  struct dirent *ent;
  while ((ent = readdir(d)) != NULL) {
    if (strlen(ent->d_name) != OVERLAY_KEY_HEX + 4 || !ends_with(ent->d_name, ".git"))
      continue;
    char *path = ov_strf("%s/%s", cache->mirrors_dir, ent->d_name);
    uint64_t bytes = 0;
    if (path && ov_tree_bytes(&bytes, path) == 0)
      total += bytes;
    free(path);
  }
  closedir(d);
  *out = total;
  return 0;
}

typedef struct mirror_use {
  char key[OVERLAY_KEY_HEX + 1];
  time_t used;
  uint64_t bytes;
} mirror_use;

static int by_mirror_use(const void *a, const void *b) {
  const mirror_use *x = a, *y = b;
  return (x->used > y->used) - (x->used < y->used);
}

/* Past max_total_bytes once unused snapshots are gone: removes the
 * least-recently-used mirrors (each with its snapshots, when none is in use)
 * until the cache fits. */
static int evict_mirrors_lru(overlay_evict_result *res, overlay_cache *cache, tree_info *trees,
                             size_t ntrees, const ov_mount *mounts, size_t nmounts,
                             uint64_t *tree_total, uint64_t *mirror_total, uint64_t max_total) {
  DIR *d = opendir(cache->mirrors_dir);
  if (!d)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot list %s", cache->mirrors_dir);
  mirror_use *list = NULL;
  size_t n = 0, cap = 0;
  int error = 0;
  struct dirent *ent;
  while ((ent = readdir(d)) != NULL && n < MAX_MIRRORS) {
    if (strlen(ent->d_name) != OVERLAY_KEY_HEX + 4 || !ends_with(ent->d_name, ".git"))
      continue;
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      mirror_use *grown = realloc(list, ncap * sizeof(*grown));
      if (!grown) {
        error = airgap_error_set(AIRGAP_ERROR, "out of memory");
        break;
      }
      list = grown;
      cap = ncap;
    }
    mirror_use *m = &list[n];
    memcpy(m->key, ent->d_name, OVERLAY_KEY_HEX);
    m->key[OVERLAY_KEY_HEX] = '\0';
    if (!is_hex_name(m->key, OVERLAY_KEY_HEX))
      continue;
    char *lock = ov_strf("%s/%s.lock", cache->mirrors_dir, m->key);
    char *path = ov_strf("%s/%s", cache->mirrors_dir, ent->d_name);
    struct stat st;
    m->used = lock && stat(lock, &st) == 0 ? st.st_mtime : 0;
    m->bytes = 0;
    if (path)
      (void)ov_tree_bytes(&m->bytes, path);
    free(lock);
    free(path);
    n++;
  }
  closedir(d);
  if (error == 0 && n > 1) /* qsort(NULL, 0) is undefined */
    qsort(list, n, sizeof(*list), by_mirror_use);
  for (size_t i = 0; error == 0 && i < n; i++) {
    if (*tree_total + *mirror_total <= max_total)
      break;
    unsigned before = res->mirrors_removed;
    uint64_t tree_bytes = 0;
    for (size_t t = 0; t < ntrees; t++)
      if (!trees[t].gone && tree_uses_mirror(&trees[t], list[i].key))
        tree_bytes += trees[t].bytes;
    /* A cutoff in the future: "idle" no longer matters, only "in use". */
    error =
        evict_mirror(res, cache, list[i].key, trees, ntrees, mounts, nmounts, time(NULL) + 86400);
    if (error == 0 && res->mirrors_removed > before) {
      *mirror_total -= list[i].bytes < *mirror_total ? list[i].bytes : *mirror_total;
      *tree_total -= tree_bytes < *tree_total ? tree_bytes : *tree_total;
    }
  }
  free(list);
  return error;
}

int overlay_cache_evict(overlay_evict_result *out, overlay_cache *cache,
                        const overlay_evict_options *opts) {
  if (!cache || !opts)
    return airgap_error_set(AIRGAP_EINVALID, "eviction needs a cache and options");
  overlay_evict_result res = {0};
  ov_mount *mounts = NULL;
  size_t nmounts = 0, ntrees = 0;
  tree_info *trees = NULL;
  int error = ov_mounts_read(&mounts, &nmounts);
  if (error < 0)
    return error;
  overlay_cache_sweep(cache);
  if ((error = list_trees(&trees, &ntrees, cache)) < 0)
    goto cleanup;
  if (opts->mirror_max_idle_secs >= 0 &&
      (error = evict_mirrors(&res, cache, trees, ntrees, mounts, nmounts,
                             opts->mirror_max_idle_secs)) < 0)
    goto cleanup;
  if (ntrees > 1) /* qsort(NULL, 0) is undefined */
    qsort(trees, ntrees, sizeof(*trees), by_use);
  uint64_t total = 0;
  for (size_t i = 0; i < ntrees; i++)
    if (!trees[i].gone)
      total += trees[i].bytes;
  time_t too_old =
      opts->tree_max_idle_secs > 0 ? time(NULL) - (time_t)opts->tree_max_idle_secs : (time_t)0;
  uint64_t mirror_bytes = 0;
  if (opts->max_total_bytes && (error = mirrors_bytes(&mirror_bytes, cache)) < 0)
    goto cleanup;
  for (size_t i = 0; i < ntrees; i++) {
    if (trees[i].gone)
      continue;
    int old = opts->tree_max_idle_secs > 0 && trees[i].used <= too_old;
    int over = total > opts->max_tree_bytes ||
               (opts->max_total_bytes && total + mirror_bytes > opts->max_total_bytes);
    if (!old && !over)
      break; /* sorted by last use: the rest are newer and fit */
    int fd = -1;
    if (lock_unused_tree(&fd, cache, trees[i].sha, mounts, nmounts) < 0) {
      res.trees_in_use++;
      continue;
    }
    if ((error = remove_tree_locked(cache, trees[i].sha, fd)) < 0)
      goto cleanup;
    trees[i].gone = 1;
    total -= trees[i].bytes;
    res.trees_removed++;
  }
  if (opts->max_total_bytes && total + mirror_bytes > opts->max_total_bytes &&
      (error = evict_mirrors_lru(&res, cache, trees, ntrees, mounts, nmounts, &total, &mirror_bytes,
                                 opts->max_total_bytes)) < 0)
    goto cleanup;
  res.tree_bytes = total;
  res.mirror_bytes = mirror_bytes;
  airgap_error_clear();
cleanup:
  trees_free(trees, ntrees);
  ov_mounts_free(mounts, nmounts);
  if (error == 0 && out)
    *out = res;
  return error;
}
