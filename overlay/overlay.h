/*
 * overlay.h — the air gap: a git mirror cache, immutable commit snapshots and
 * throw-away overlayfs workspaces (see DESIGN.md, "The flow of one job").
 *
 * A cache directory holds
 *   mirrors/<key>.git   one bare mirror per repository URL (key: SHA-256 of the
 *                       normalised URL), fetched with libgit2;
 *   mirrors/<key>.lock  flock: exclusive while fetching or evicting, shared while
 *                       a snapshot is being built from the mirror; its mtime is
 *                       the mirror's last use;
 *   trees/<sha>         one read-only checkout per commit, with submodules and a
 *                       small .git whose objects come from the mirror through
 *                       objects/info/alternates (absolute paths);
 *   trees/<sha>.lock    flock: shared while a snapshot is in use, exclusive (non
 *                       blocking) while evicting; its mtime is the last use.
 * Locks die with their process, so a crash never leaves a stale lock behind.
 *
 * A workspace is an overlayfs mount in a run directory: the snapshot is the
 * lower layer, the run's upper and work directories (optionally on a tmpfs of
 * bounded size) take every write, and destroying the workspace deletes them.
 *
 * Every function returns 0 or a negative AIRGAP_E* code (common/error.h) with a
 * message in airgap_error_last(). Mounting needs CAP_SYS_ADMIN (root).
 * Objects are not thread-safe; use one per thread or lock around them.
 */
#ifndef AIRGAP_OVERLAY_OVERLAY_H
#define AIRGAP_OVERLAY_OVERLAY_H

#include <stddef.h>
#include <stdint.h>

typedef struct overlay_cache overlay_cache;
typedef struct overlay_snapshot overlay_snapshot;
typedef struct overlay_workspace overlay_workspace;

/* Limits on what a request may name. */
#define OVERLAY_MAX_URL 2048
#define OVERLAY_MAX_REF 1024
#define OVERLAY_MAX_SUBMODULE_DEPTH 8

/* Credentials for one fetch. They are handed to libgit2's credential callback
 * only: never written to disk, never put into a URL. Borrowed for the call. */
typedef struct overlay_credentials {
  const char *username;       /* https user or ssh user; NULL: from the URL, else
                                 "x-access-token" (https) or "git" (ssh) */
  const char *token;          /* https password or token; NULL: none */
  const char *ssh_key_path;   /* private key file for ssh; NULL: none */
  const char *ssh_passphrase; /* NULL when the key has none */
} overlay_credentials;

/* What to check out. Strings are borrowed for the call. */
typedef struct overlay_request {
  const char *url;    /* file://, git://, http(s)://, ssh:// or a local path. Must not
                         carry a password: pass it in `credentials` instead. */
  const char *ref;    /* a branch ("main"), a tag ("v1.2"), a full ref
                         ("refs/heads/x", "refs/pull/7/head"), a full commit sha,
                         or NULL (or "HEAD") for the remote's default branch */
  const char *commit; /* optional full sha: when present in the
                         mirror, no network is used at all */
  const overlay_credentials *credentials; /* NULL: anonymous */
  int allow_local; /* 1: `url` may be a path on this machine (or file://), and
                      then so may its submodules' URLs. 0 (the default):
                      local URLs are refused, the repository's and every
                      submodule's alike — whoever chose the URL must not make
                      us read this machine's repositories (the cache's own
                      mirrors have predictable paths). Set it only when the
                      URL comes from someone who may read those files anyway
                      (`airgap run`, an agent started with --allow-local-repos). */
} overlay_request;

/* 1 when `url` names something on this machine rather than a remote: an
 * absolute or relative path, a file:// URL, or anything that is not an
 * http(s)://, git://, ssh:// URL or scp-like "user@host:path" (git's
 * "helper::address" included). What overlay_request.allow_local guards. */
int overlay_url_is_local(const char *url);

/* Opens (creating when missing) the cache rooted at `dir`. Owned: free with
 * overlay_cache_free(). */
int overlay_cache_open(overlay_cache **out, const char *dir);
void overlay_cache_free(overlay_cache *cache);

/* Returns the snapshot for `req`, fetching into the mirror and checking the
 * commit out once when needed. The snapshot stays in use (it cannot be
 * evicted) until overlay_snapshot_release(). Errors: AIRGAP_EINVALID (bad URL
 * or ref text, or a local repository or submodule URL that `allow_local` does
 * not permit), AIRGAP_ENOTFOUND (unknown ref or commit), AIRGAP_EAUTH (the
 * remote refused the credentials), -1 (unreachable remote, disk full, ...).
 * On error the cache is left as it was: a failed first clone leaves nothing. */
int overlay_snapshot_get(overlay_snapshot **out, overlay_cache *cache, const overlay_request *req);
/* The snapshot's directory (trees/<sha>), borrowed. */
const char *overlay_snapshot_path(const overlay_snapshot *snap);
/* The full commit sha (40 hex), borrowed. */
const char *overlay_snapshot_commit(const overlay_snapshot *snap);
/* The bare mirrors whose objects the snapshot's .git (and its submodules')
 * borrow through objects/info/alternates, as absolute paths: bind-mount each
 * read-only at the same path into a job container so git works there, and
 * nothing else of the cache. Borrowed, valid until release; *out_count set. */
const char *const *overlay_snapshot_mirrors(const overlay_snapshot *snap, size_t *out_count);
/* Drops the snapshot's use; frees it. Accepts NULL. */
void overlay_snapshot_release(overlay_snapshot *snap);

typedef struct overlay_workspace_options {
  uint64_t upper_limit_bytes; /* 0: the upper layer lives on the run dir's file
                                 system, unbounded; otherwise on a tmpfs of this
                                 size, so a run cannot fill the disk (writes past
                                 it fail with ENOSPC) */
} overlay_workspace_options;

/* Mounts a workspace of `snap` in `run_dir` (which must exist): the merged view
 * at <run_dir>/workspace, the writable layer at <run_dir>/layer. The workspace
 * keeps the snapshot in use by itself, so the caller may release `snap` while
 * it is mounted. `opts` may be NULL. Paths must not contain ',', ':', '\\' or
 * whitespace (overlayfs option syntax). Errors: AIRGAP_EEXISTS when the run
 * dir already holds a workspace, AIRGAP_EINVALID for a bad path, -1 otherwise.
 * Owned: destroy with overlay_workspace_destroy(). */
int overlay_workspace_create(overlay_workspace **out, const overlay_snapshot *snap,
                             const char *run_dir, const overlay_workspace_options *opts);
/* The merged directory the job sees, borrowed. */
const char *overlay_workspace_path(const overlay_workspace *ws);
/* Unmounts (retrying on EBUSY, detaching lazily as the last resort), deletes the
 * writable layer and the mount point, and frees `ws` — also when an error is
 * returned (the leftovers are then for overlay_reap()). Accepts NULL. */
int overlay_workspace_destroy(overlay_workspace *ws);

typedef struct overlay_evict_options {
  uint64_t max_tree_bytes;      /* remove least-recently-used snapshots that are
                                   not in use until the rest fit; UINT64_MAX: keep */
  int64_t mirror_max_idle_secs; /* remove mirrors unused for longer than this
                                   (and their unused snapshots); < 0: keep */
  int64_t tree_max_idle_secs;   /* remove snapshots unused for longer than this;
                                   0: no age limit */
  uint64_t max_total_bytes;     /* then, while snapshots and mirrors together hold
                                   more than this, remove the least-recently-used
                                   snapshots, then the least-recently-used mirrors
                                   with their snapshots (none in use); 0: no limit */
} overlay_evict_options;

typedef struct overlay_evict_result {
  unsigned trees_removed;
  unsigned mirrors_removed;
  unsigned trees_in_use; /* snapshots kept because a process uses them */
  uint64_t tree_bytes;   /* size of the snapshots left */
  uint64_t mirror_bytes; /* size of the mirrors left (measured only with max_total_bytes) */
} overlay_evict_result;

/* Evicts per `opts`, after overlay_cache_sweep(). Snapshots in use (held, or
 * the lower layer of a mounted workspace) are never removed, nor mirrors they
 * borrow objects from. `out` may be NULL. */
int overlay_cache_evict(overlay_evict_result *out, overlay_cache *cache,
                        const overlay_evict_options *opts);

/* Removes what killed processes left in the cache: snapshot and mirror build
 * directories (trees/.tmp-*, mirrors/.tmp-*, .evict-*) whose process is gone,
 * lock files without their snapshot, and git's own lock and temporary pack
 * files inside mirrors nobody is fetching into (a fetch killed mid-way
 * leaves refs/heads/x.lock, which fails every later fetch). Never blocks on a
 * lock and never touches anything a live process uses. Call it at start. */
int overlay_cache_sweep(overlay_cache *cache);

/* Unmounts every mount at or under `run_root` (a crashed run's workspaces and
 * tmpfs layers) and deletes everything inside `run_root`, keeping the
 * directory itself. Never follows symbolic links and never deletes across a
 * mount that could not be removed (AIRGAP_EBUSY then). Call it only on
 * directories no live run uses: at agent start on the whole run root, or on
 * the run directory of one supervisor that died. */
int overlay_reap(const char *run_root);

#endif
