/*
 * overlay_int.h — private to overlay/: the cache struct and the helpers the
 * concept files share (locks, file-system walking, mount table, mirrors).
 * Other components include overlay/overlay.h only.
 */
#ifndef AIRGAP_OVERLAY_OVERLAY_INT_H
#define AIRGAP_OVERLAY_OVERLAY_INT_H

#include "overlay/overlay.h"

#include <git2.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define OVERLAY_COMPONENT "overlay"
#define OVERLAY_SHA_HEX 40
#define OVERLAY_KEY_HEX 64
/* Name of the file inside a snapshot's .git that records its size and the
 * mirrors its alternates point into. */
#define OVERLAY_SNAPSHOT_INFO "airgap-snapshot"
#define OVERLAY_MAX_MIRRORS_PER_TREE (OVERLAY_MAX_SUBMODULE_DEPTH * 64)

struct overlay_cache {
  char *root;        /* absolute */
  char *mirrors_dir; /* <root>/mirrors */
  char *trees_dir;   /* <root>/trees */
};

struct overlay_snapshot {
  char *path; /* trees/<sha> */
  char commit[OVERLAY_SHA_HEX + 1];
  char *lock_path; /* trees/<sha>.lock */
  int lock_fd;     /* shared flock while in use */
  char **mirrors;  /* absolute mirror paths (from .git/airgap-snapshot) */
  size_t nmirrors;
};

/* --- fsutil.c ------------------------------------------------------------ */

/* malloc'd printf; NULL on overflow or out of memory (error recorded). */
char *ov_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Opens `path` (creating it 0644 unless `create` is 0) and flocks it with
 * `op` (LOCK_SH/LOCK_EX, optionally | LOCK_NB). Retries until the locked file
 * is still the one at `path` (a concurrent evictor may unlink it). Sets *out
 * to a close-on-exec fd. AIRGAP_EBUSY when LOCK_NB and the lock is held,
 * AIRGAP_ENOTFOUND when !create and the file is missing. */
int ov_lock(int *out, const char *path, int op, int create);

/* Recursively deletes `path` without following symlinks, fixing permissions
 * (chmod 000 directories) on the way and refusing to cross into another file
 * system (AIRGAP_EBUSY). Missing `path` is success. */
int ov_remove_tree(const char *path);
/* Same for the contents of the directory `path`, keeping it. */
int ov_remove_contents(const char *path);

/* Disk usage (st_blocks) of a tree, not following symlinks or mounts. */
int ov_tree_bytes(uint64_t *out, const char *path);

/* mkdir that accepts an existing directory. */
int ov_mkdir(const char *path, unsigned mode);

/* Writes `len` bytes to `path` atomically (temp file, fsync, rename). */
int ov_write_file(const char *path, const char *data, size_t len);
/* Reads at most `max` bytes of `path` into a NUL-terminated malloc'd buffer. */
int ov_read_file(char **out, const char *path, size_t max);

/* --- mounts.c ------------------------------------------------------------ */

typedef struct ov_mount {
  char *target; /* mount point, unescaped */
  char *fstype;
  char *options; /* super options ("rw,lowerdir=...") */
} ov_mount;

/* The calling process's mount table, in /proc/self/mountinfo order. Free with
 * ov_mounts_free(). */
int ov_mounts_read(ov_mount **out, size_t *out_count);
void ov_mounts_free(ov_mount *mounts, size_t count);
/* 1 when some overlay mount uses `dir` as a lower layer. */
int ov_mounts_use_lower(const ov_mount *mounts, size_t count, const char *dir);
/* Unmounts `target`: retries on EBUSY, then detaches lazily. */
int ov_unmount(const char *target);

/* --- mirror.c ------------------------------------------------------------ */

/* Normalises `url` and hashes it: *out gets OVERLAY_KEY_HEX hex digits + NUL.
 * AIRGAP_EINVALID for an empty, over-long or password-carrying URL. */
int ov_url_key(char out[OVERLAY_KEY_HEX + 1], const char *url);

typedef struct ov_mirror {
  char key[OVERLAY_KEY_HEX + 1];
  char *path;      /* mirrors/<key>.git */
  char *lock_path; /* mirrors/<key>.lock */
  int lock_fd;     /* held shared on return from ov_mirror_resolve */
  git_repository *repo;
} ov_mirror;

/* Makes sure the mirror of `url` exists and holds the commit named by
 * `ref`/`commit`, fetching (under the exclusive mirror lock) only when needed.
 * On success *out holds the mirror open with its lock held shared, and
 * `oid_out` the commit. Release with ov_mirror_close(). */
int ov_mirror_resolve(ov_mirror *out, git_oid *oid_out, overlay_cache *cache, const char *url,
                      const char *ref, const char *commit, const overlay_credentials *creds);
void ov_mirror_close(ov_mirror *mirror);

/* Records the last libgit2 error as an airgap error with `what` in front and
 * returns the matching code. */
int ov_git_error(int git_code, const char *what);

#endif
