/*
 * snapshot.c — immutable commit snapshots: trees/<sha>, checked out once.
 *
 * A snapshot is built in trees/.tmp-<sha>-<pid>-<n> and renamed into place,
 * so a reader sees either nothing or a complete tree; when two processes
 * build the same commit at once, the first rename wins and the other throws
 * its copy away. Nothing writes to a snapshot after the rename: workspaces
 * see it as an overlayfs lower layer, which the kernel requires to stay put.
 *
 * Its .git is small: HEAD (detached at the commit), an index, the tags of the
 * mirror (packed, so `git describe --tags` works), remote "origin" naming the
 * URL, and objects/info/alternates holding the mirror's absolute objects path
 * — the job container sees the mirror read-only at the same path. Submodules
 * are checked out recursively from their own mirrors, each with an embedded
 * .git of the same shape. .git/airgap-snapshot records the snapshot's size
 * and the mirrors it depends on, for eviction.
 *
 * Use is counted with a shared flock on trees/<sha>.lock (whose mtime is the
 * last use); the evictor only removes a snapshot it can lock exclusively.
 */
#include "overlay/overlay_int.h"

#include "common/error.h"
#include "common/log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SUBMODULES 256
#define GITMODULES_MAX (1024 * 1024)

typedef struct build_ctx {
  overlay_cache *cache;
  const overlay_credentials *creds;
  int local_allowed; /* the repository is local and local ones are allowed */
  int used_local;    /* a submodule was read from this machine */
  ov_mirror mirrors[OVERLAY_MAX_MIRRORS_PER_TREE]; /* held shared until the rename */
  size_t nmirrors;
} build_ctx;

static void ctx_close(build_ctx *ctx) {
  for (size_t i = 0; i < ctx->nmirrors; i++)
    ov_mirror_close(&ctx->mirrors[i]);
  ctx->nmirrors = 0;
}

/* --- building ------------------------------------------------------------ */

static int write_alternates(const char *gitdir, const char *mirror_path) {
  char *info = ov_strf("%s/objects/info", gitdir);
  char *file = ov_strf("%s/objects/info/alternates", gitdir);
  char *line = ov_strf("%s/objects\n", mirror_path);
  int error = AIRGAP_ERROR;
  if (info && file && line && (error = ov_mkdir(info, 0755)) == 0)
    error = ov_write_file(file, line, strlen(line));
  free(info);
  free(file);
  free(line);
  return error;
}

typedef struct tag_copy {
  git_repository *dst;
  int error;
} tag_copy;

/* Copies the mirror's tags into the snapshot's refs (objects are shared). */
static int copy_tags(git_repository *dst, git_repository *mirror) {
  git_reference_iterator *it = NULL;
  git_reference *ref = NULL;
  int rc = git_reference_iterator_glob_new(&it, mirror, "refs/tags/*");
  if (rc < 0)
    return ov_git_error(rc, "cannot list the mirror's tags");
  int error = 0;
  while ((rc = git_reference_next(&ref, it)) == 0) {
    if (git_reference_type(ref) == GIT_REFERENCE_DIRECT) {
      git_reference *made = NULL;
      rc = git_reference_create(&made, dst, git_reference_name(ref), git_reference_target(ref), 1,
                                NULL);
      git_reference_free(made);
      if (rc < 0) {
        error = ov_git_error(rc, "cannot copy a tag into the snapshot");
        git_reference_free(ref);
        break;
      }
    }
    git_reference_free(ref);
  }
  if (error == 0 && rc != GIT_ITEROVER)
    error = ov_git_error(rc, "cannot list the mirror's tags");
  git_reference_iterator_free(it);
  if (error == 0) {
    git_refdb *db = NULL;
    if ((rc = git_repository_refdb(&db, dst)) < 0 || (rc = git_refdb_compress(db)) < 0)
      error = ov_git_error(rc, "cannot pack the snapshot's refs");
    git_refdb_free(db);
  }
  return error;
}

typedef struct sub_entry {
  char *name;
  char *path;
  char *url;
} sub_entry;

typedef struct sub_list {
  sub_entry items[MAX_SUBMODULES];
  size_t count;
} sub_list;

static void sub_list_free(sub_list *list) {
  for (size_t i = 0; i < list->count; i++) {
    free(list->items[i].name);
    free(list->items[i].path);
    free(list->items[i].url);
  }
  list->count = 0;
}

/* Reads .gitmodules (untrusted: bounded in size and count) into `list`. We
 * parse it with the plain config reader instead of git_submodule_foreach,
 * which in libgit2 1.5 leaks on every regex lookup. */
static int read_gitmodules(sub_list *list, const char *dir) {
  char *file = ov_strf("%s/.gitmodules", dir);
  git_config *cfg = NULL;
  git_config_iterator *it = NULL;
  git_config_entry *entry;
  int error = 0, rc;
  struct stat st;
  if (!file)
    return AIRGAP_ERROR;
  if (lstat(file, &st) < 0 || !S_ISREG(st.st_mode))
    goto cleanup; /* no submodules */
  if (st.st_size > GITMODULES_MAX) {
    error = airgap_error_set(AIRGAP_ETOOBIG, ".gitmodules is larger than %d bytes", GITMODULES_MAX);
    goto cleanup;
  }
  if ((rc = git_config_open_ondisk(&cfg, file)) < 0 ||
      (rc = git_config_iterator_new(&it, cfg)) < 0) {
    error = ov_git_error(rc, "cannot read .gitmodules");
    goto cleanup;
  }
  while ((rc = git_config_next(&entry, it)) == 0) {
    const char *key = entry->name; /* submodule.<name>.<var>, lower-cased var */
    if (strncmp(key, "submodule.", 10) != 0)
      continue;
    const char *dot = strrchr(key, '.');
    if (dot <= key + 10)
      continue;
    int is_path = strcmp(dot, ".path") == 0, is_url = strcmp(dot, ".url") == 0;
    if (!is_path && !is_url)
      continue;
    size_t nlen = (size_t)(dot - (key + 10));
    sub_entry *e = NULL;
    for (size_t i = 0; i < list->count && !e; i++)
      if (strlen(list->items[i].name) == nlen && strncmp(list->items[i].name, key + 10, nlen) == 0)
        e = &list->items[i];
    if (!e) {
      if (list->count == MAX_SUBMODULES) {
        error = airgap_error_set(AIRGAP_ETOOBIG, "more than %d submodules", MAX_SUBMODULES);
        goto cleanup;
      }
      e = &list->items[list->count++];
      e->name = strndup(key + 10, nlen);
      if (!e->name) {
        error = airgap_error_set(AIRGAP_ERROR, "out of memory");
        goto cleanup;
      }
    }
    char **slot = is_path ? &e->path : &e->url;
    free(*slot);
    if (!(*slot = strdup(entry->value ? entry->value : ""))) {
      error = airgap_error_set(AIRGAP_ERROR, "out of memory");
      goto cleanup;
    }
  }
  if (rc != GIT_ITEROVER)
    error = ov_git_error(rc, "cannot read .gitmodules");
cleanup:
  git_config_iterator_free(it);
  git_config_free(cfg);
  free(file);
  return error;
}

/* Resolves a submodule URL against the superproject's, as git does for
 * "./x" and "../x"; anything else is taken as it is. */
static char *resolve_sub_url(const char *base, const char *url) {
  if (strncmp(url, "./", 2) != 0 && strncmp(url, "../", 3) != 0)
    return strdup(url);
  char *out = malloc(strlen(base) + strlen(url) + 2);
  if (!out)
    return NULL;
  size_t n = strlen(base);
  memcpy(out, base, n + 1);
  while (n > 0 && out[n - 1] == '/')
    out[--n] = '\0';
  const char *rest = url;
  for (;;) {
    if (strncmp(rest, "./", 2) == 0) {
      rest += 2;
    } else if (strncmp(rest, "../", 3) == 0) {
      rest += 3;
      char *slash = strrchr(out, '/');
      char *colon = strrchr(out, ':');
      char *cut = slash > colon ? slash : colon;
      if (!cut || (slash && cut == slash && cut > out && cut[-1] == '/')) {
        free(out);
        return NULL; /* climbs above the host */
      }
      *cut = '\0';
    } else {
      break;
    }
  }
  n = strlen(out);
  out[n] = '/';
  memcpy(out + n + 1, rest, strlen(rest) + 1);
  return out;
}

/* Finds (or takes) the mirror of `url` holding `commit` for a submodule. */
static int sub_mirror(ov_mirror **out, build_ctx *ctx, const char *url, const git_oid *commit) {
  char key[OVERLAY_KEY_HEX + 1];
  int error = ov_url_key(key, url);
  if (error < 0)
    return error;
  for (size_t i = 0; i < ctx->nmirrors; i++) {
    if (strcmp(ctx->mirrors[i].key, key) == 0) {
      /* Already held by this build (a submodule of the same repository):
       * taking its lock again would wait on ourselves. */
      git_commit *c = NULL;
      if (git_commit_lookup(&c, ctx->mirrors[i].repo, commit) < 0)
        return airgap_error_set(AIRGAP_ENOTFOUND, "submodule commit %s not found in %s",
                                git_oid_tostr_s(commit), url);
      git_commit_free(c);
      *out = &ctx->mirrors[i];
      return 0;
    }
  }
  if (ctx->nmirrors == OVERLAY_MAX_MIRRORS_PER_TREE)
    return airgap_error_set(AIRGAP_ETOOBIG, "more than %d repositories in one snapshot",
                            OVERLAY_MAX_MIRRORS_PER_TREE);
  char sha[OVERLAY_SHA_HEX + 1];
  git_oid_tostr(sha, sizeof(sha), commit);
  git_oid got;
  error =
      ov_mirror_resolve(&ctx->mirrors[ctx->nmirrors], &got, ctx->cache, url, NULL, sha, ctx->creds);
  if (error < 0)
    return error;
  *out = &ctx->mirrors[ctx->nmirrors++];
  return 0;
}

static int checkout_into(build_ctx *ctx, const char *dir, ov_mirror *mirror, const git_oid *oid,
                         const char *url, int depth);

static int checkout_submodules(build_ctx *ctx, git_repository *wt, git_commit *commit,
                               const char *dir, const char *url, int depth) {
  sub_list *list = calloc(1, sizeof(*list));
  git_tree *tree = NULL;
  git_config *cfg = NULL;
  int error = 0, rc;
  if (!list)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  if ((error = read_gitmodules(list, dir)) < 0 || list->count == 0)
    goto cleanup;
  if (depth >= OVERLAY_MAX_SUBMODULE_DEPTH) {
    error = airgap_error_set(AIRGAP_ETOOBIG, "submodules nested deeper than %d levels",
                             OVERLAY_MAX_SUBMODULE_DEPTH);
    goto cleanup;
  }
  if ((rc = git_commit_tree(&tree, commit)) < 0 || (rc = git_repository_config(&cfg, wt)) < 0) {
    error = ov_git_error(rc, "cannot read the commit's tree");
    goto cleanup;
  }
  for (size_t i = 0; i < list->count && error == 0; i++) {
    sub_entry *e = &list->items[i];
    git_tree_entry *te = NULL;
    char *resolved = NULL, *subdir = NULL, *key = NULL;
    if (!e->path || !e->url)
      continue;
    /* Only gitlinks recorded in this commit count; .gitmodules may list more. */
    if (git_tree_entry_bypath(&te, tree, e->path) < 0 ||
        git_tree_entry_filemode(te) != GIT_FILEMODE_COMMIT)
      goto next;
    if (strstr(e->path, "..") || e->path[0] == '/') {
      error =
          airgap_error_set(AIRGAP_EINVALID, "submodule path \"%s\" escapes the checkout", e->path);
      goto next;
    }
    if (!(resolved = resolve_sub_url(url, e->url))) {
      error = airgap_error_set(AIRGAP_EINVALID, "submodule %s has an unusable URL \"%s\"", e->path,
                               e->url);
      goto next;
    }
    /* git itself refuses these since 2.38.1 (protocol.file.allow=user): a
     * remote repository must not make us read this machine's repositories,
     * the cache's mirrors (predictable paths) included. */
    if (!ctx->local_allowed && overlay_url_is_local(resolved)) {
      error = airgap_error_set(AIRGAP_EINVALID,
                               "submodule %s has the local URL \"%s\": submodules are read "
                               "from this machine only when the repository itself is local and "
                               "local repositories are allowed",
                               e->path, resolved);
      goto next;
    }
    if (overlay_url_is_local(resolved))
      ctx->used_local = 1;
    /* Recorded as initialised, like `git submodule update --init` does, so
     * `git submodule status` in the workspace reports it checked out. */
    if (!(key = ov_strf("submodule.%s.url", e->name))) {
      error = AIRGAP_ERROR;
      goto next;
    }
    if ((rc = git_config_set_string(cfg, key, resolved)) < 0) {
      error = ov_git_error(rc, "cannot record a submodule in the snapshot's git config");
      goto next;
    }
    const git_oid *sub_oid = git_tree_entry_id(te);
    ov_mirror *m = NULL;
    if ((error = sub_mirror(&m, ctx, resolved, sub_oid)) < 0) {
      char msg[512];
      snprintf(msg, sizeof(msg), "%s", airgap_error_last());
      airgap_error_set(error, "submodule %s: %s", e->path, msg);
      goto next;
    }
    if (!(subdir = ov_strf("%s/%s", dir, e->path))) {
      error = AIRGAP_ERROR;
      goto next;
    }
    error = checkout_into(ctx, subdir, m, sub_oid, resolved, depth + 1);
  next:
    git_tree_entry_free(te);
    free(resolved);
    free(subdir);
    free(key);
  }
cleanup:
  git_config_free(cfg);
  git_tree_free(tree);
  sub_list_free(list);
  free(list);
  return error;
}

/* Makes `dir` a checkout of `oid` whose .git borrows objects from `mirror`. */
static int checkout_into(build_ctx *ctx, const char *dir, ov_mirror *mirror, const git_oid *oid,
                         const char *url, int depth) {
  git_repository *wt = NULL;
  git_commit *commit = NULL;
  git_config *cfg = NULL;
  char *gitdir = NULL;
  int error = 0, rc;
  git_repository_init_options io;
  git_repository_init_options_init(&io, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
  io.flags = GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
  if ((rc = git_repository_init_ext(&wt, dir, &io)) < 0) {
    error = ov_git_error(rc, "cannot create the snapshot's .git");
    goto cleanup;
  }
  git_repository_free(wt);
  wt = NULL;
  if (!(gitdir = ov_strf("%s/.git", dir))) {
    error = AIRGAP_ERROR;
    goto cleanup;
  }
  if ((error = write_alternates(gitdir, mirror->path)) < 0)
    goto cleanup;
  /* Reopen so the object database picks up the alternates. */
  if ((rc = git_repository_open(&wt, dir)) < 0) {
    error = ov_git_error(rc, "cannot open the snapshot's .git");
    goto cleanup;
  }
  if ((rc = git_repository_config(&cfg, wt)) < 0 ||
      (rc = git_config_set_string(cfg, "remote.origin.url", url)) < 0 ||
      (rc = git_config_set_string(cfg, "remote.origin.fetch",
                                  "+refs/heads/*:refs/remotes/origin/*")) < 0) {
    error = ov_git_error(rc, "cannot write the snapshot's git config");
    goto cleanup;
  }
  if ((error = copy_tags(wt, mirror->repo)) < 0)
    goto cleanup;
  if ((rc = git_commit_lookup(&commit, wt, oid)) < 0) {
    error = ov_git_error(rc, "the commit is missing from the mirror");
    goto cleanup;
  }
  git_checkout_options co;
  git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
  co.checkout_strategy = GIT_CHECKOUT_FORCE;
  if ((rc = git_checkout_tree(wt, (const git_object *)commit, &co)) < 0) {
    error = ov_git_error(rc, "cannot check the commit out");
    goto cleanup;
  }
  if ((rc = git_repository_set_head_detached(wt, oid)) < 0) {
    error = ov_git_error(rc, "cannot set the snapshot's HEAD");
    goto cleanup;
  }
  error = checkout_submodules(ctx, wt, commit, dir, url, depth);
cleanup:
  git_config_free(cfg);
  git_commit_free(commit);
  git_repository_free(wt);
  free(gitdir);
  return error;
}

static int write_info(build_ctx *ctx, const char *dir, const char *sha, const char *url) {
  uint64_t bytes = 0;
  int error = ov_tree_bytes(&bytes, dir);
  if (error < 0)
    return error;
  size_t cap = 256 + strlen(url) + ctx->nmirrors * (OVERLAY_KEY_HEX + 16);
  char *text = malloc(cap);
  char *path = ov_strf("%s/.git/%s", dir, OVERLAY_SNAPSHOT_INFO);
  if (!text || !path) {
    free(text);
    free(path);
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  }
  size_t used = (size_t)snprintf(text, cap, "commit %s\nurl %s\nsize %llu\n", sha, url,
                                 (unsigned long long)bytes);
  for (size_t i = 0; i < ctx->nmirrors && used < cap; i++)
    used += (size_t)snprintf(text + used, cap - used, "mirror %s\n", ctx->mirrors[i].key);
  if (ctx->used_local && used < cap)
    used += (size_t)snprintf(text + used, cap - used, "local-submodules\n");
  error = ov_write_file(path, text, strlen(text));
  free(text);
  free(path);
  return error;
}

static int build(build_ctx *ctx, const char *final, const char *sha, const git_oid *oid,
                 const char *url) {
  static _Atomic unsigned counter; /* distinct temp dirs per thread */
  char *tmp = ov_strf("%s/.tmp-%s-%ld-%u", ctx->cache->trees_dir, sha, (long)getpid(), counter++);
  if (!tmp)
    return AIRGAP_ERROR;
  int error = ov_remove_tree(tmp);
  if (error < 0)
    goto cleanup;
  log_info(OVERLAY_COMPONENT, "checking out %s of %s", sha, url);
  if ((error = checkout_into(ctx, tmp, &ctx->mirrors[0], oid, url, 0)) < 0)
    goto cleanup;
  if ((error = write_info(ctx, tmp, sha, url)) < 0)
    goto cleanup;
  /* Read-only at the top: nobody adds to a snapshot. (Root ignores modes;
   * the real guarantee is that only overlayfs, which never writes to a lower
   * layer, ever sees it.) */
  if (chmod(tmp, 0555) < 0) {
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot make %s read-only", tmp);
    goto cleanup;
  }
  if (rename(tmp, final) < 0) {
    if (errno != EEXIST && errno != ENOTEMPTY) {
      error = airgap_error_set_errno(AIRGAP_ERROR, "cannot move the snapshot into %s", final);
      goto cleanup;
    }
    /* Someone else built the same commit first: theirs is as good. */
  }
cleanup:
  (void)ov_remove_tree(tmp);
  free(tmp);
  return error;
}

/* --- public -------------------------------------------------------------- */

static void touch_mirror(overlay_cache *cache, const char *url) {
  char key[OVERLAY_KEY_HEX + 1];
  if (ov_url_key(key, url) < 0)
    return;
  char *lock = ov_strf("%s/%s.lock", cache->mirrors_dir, key);
  if (lock)
    (void)utimensat(AT_FDCWD, lock, NULL, 0);
  free(lock);
}

/* Takes the use lock of trees/<sha> into a new snapshot object. */
static int snapshot_open(overlay_snapshot **out, overlay_cache *cache, const char *sha) {
  overlay_snapshot *snap = calloc(1, sizeof(*snap));
  if (!snap)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  snap->lock_fd = -1;
  for (int i = 0; i < OVERLAY_SHA_HEX; i++)
    snap->commit[i] = (char)tolower((unsigned char)sha[i]);
  snap->path = ov_strf("%s/%s", cache->trees_dir, snap->commit);
  snap->lock_path = ov_strf("%s/%s.lock", cache->trees_dir, snap->commit);
  int error = AIRGAP_ERROR;
  if (snap->path && snap->lock_path)
    error = ov_lock(&snap->lock_fd, snap->lock_path, LOCK_SH, 1);
  if (error < 0) {
    overlay_snapshot_release(snap);
    return error;
  }
  (void)futimens(snap->lock_fd, NULL);
  *out = snap;
  return 0;
}

static int tree_exists(const overlay_snapshot *snap) {
  struct stat st;
  return stat(snap->path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Releases a snapshot whose tree does not exist, removing its lock file when
 * nobody else waits on it, so a failed request leaves nothing behind. */
static void snapshot_discard(overlay_snapshot *snap) {
  if (snap && snap->lock_fd >= 0 && !tree_exists(snap) &&
      flock(snap->lock_fd, LOCK_EX | LOCK_NB) == 0 && !tree_exists(snap))
    unlink(snap->lock_path);
  overlay_snapshot_release(snap);
}

/* Reads the mirror list of a built snapshot from .git/airgap-snapshot. */
/* Snapshots are shared by commit: one built where local submodules were
 * allowed holds files read from this machine, and is only handed to a
 * request that may read them too (local_ok). */
static int load_mirrors(overlay_snapshot *snap, overlay_cache *cache, int local_ok) {
  char *file = ov_strf("%s/.git/%s", snap->path, OVERLAY_SNAPSHOT_INFO);
  char *text = NULL;
  int error = file ? ov_read_file(&text, file, 64 * 1024) : AIRGAP_ERROR;
  free(file);
  if (error < 0)
    return error;
  for (const char *line = text; line && *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    if (!local_ok && len == 16 && strncmp(line, "local-submodules", 16) == 0) {
      error = airgap_error_set(AIRGAP_EINVALID,
                               "the snapshot of %s was built with submodules read from this "
                               "machine, which this request may not read",
                               snap->commit);
      break;
    }
    if (len == 7 + OVERLAY_KEY_HEX && strncmp(line, "mirror ", 7) == 0 &&
        snap->nmirrors < OVERLAY_MAX_MIRRORS_PER_TREE) {
      char **grown = realloc(snap->mirrors, (snap->nmirrors + 1) * sizeof(*grown));
      if (!grown) {
        error = airgap_error_set(AIRGAP_ERROR, "out of memory");
        break;
      }
      snap->mirrors = grown;
      if (!(snap->mirrors[snap->nmirrors] =
                ov_strf("%s/%.*s.git", cache->mirrors_dir, OVERLAY_KEY_HEX, line + 7))) {
        error = AIRGAP_ERROR;
        break;
      }
      snap->nmirrors++;
    }
    line = end ? end + 1 : NULL;
  }
  free(text);
  return error;
}

int overlay_snapshot_get(overlay_snapshot **out, overlay_cache *cache, const overlay_request *req) {
  if (!cache || !req || !req->url)
    return airgap_error_set(AIRGAP_EINVALID, "a snapshot request needs a repository URL");
  overlay_snapshot *snap = NULL;
  build_ctx *ctx = NULL;
  int error;
  char key[OVERLAY_KEY_HEX + 1];
  if ((error = ov_url_key(key, req->url)) < 0)
    return error;
  int local = overlay_url_is_local(req->url);
  if (local && !req->allow_local)
    return airgap_error_set(AIRGAP_EINVALID,
                            "repository \"%s\" is a path on this machine, and local "
                            "repositories are not allowed here (an agent allows them when "
                            "started with --allow-local-repos; `airgap run` always does)",
                            req->url);

  /* Fast path: a known commit already checked out needs neither the mirror
   * nor the network. */
  const char *sha = req->commit;
  if (!sha && req->ref && strlen(req->ref) == OVERLAY_SHA_HEX &&
      strspn(req->ref, "0123456789abcdefABCDEF") == OVERLAY_SHA_HEX)
    sha = req->ref;
  if (sha && strlen(sha) == OVERLAY_SHA_HEX &&
      strspn(sha, "0123456789abcdefABCDEF") == OVERLAY_SHA_HEX) {
    if ((error = snapshot_open(&snap, cache, sha)) < 0)
      return error;
    if (tree_exists(snap)) {
      touch_mirror(cache, req->url);
      if ((error = load_mirrors(snap, cache, local && req->allow_local)) < 0) {
        overlay_snapshot_release(snap);
        return error;
      }
      *out = snap;
      return 0;
    }
    snapshot_discard(snap);
    snap = NULL;
  }

  ctx = calloc(1, sizeof(*ctx));
  if (!ctx)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  ctx->cache = cache;
  ctx->creds = req->credentials;
  ctx->local_allowed = local && req->allow_local;
  git_oid oid;
  error = ov_mirror_resolve(&ctx->mirrors[0], &oid, cache, req->url, req->ref, req->commit,
                            req->credentials);
  if (error < 0)
    goto cleanup;
  ctx->nmirrors = 1;
  char hex[OVERLAY_SHA_HEX + 1];
  git_oid_tostr(hex, sizeof(hex), &oid);
  if ((error = snapshot_open(&snap, cache, hex)) < 0)
    goto cleanup;
  if (!tree_exists(snap) && (error = build(ctx, snap->path, hex, &oid, req->url)) < 0)
    goto cleanup;
  if ((error = load_mirrors(snap, cache, local && req->allow_local)) < 0)
    goto cleanup;
  *out = snap;
  snap = NULL;
cleanup:
  if (ctx)
    ctx_close(ctx);
  free(ctx);
  snapshot_discard(snap);
  return error;
}

const char *overlay_snapshot_path(const overlay_snapshot *snap) { return snap->path; }

const char *overlay_snapshot_commit(const overlay_snapshot *snap) { return snap->commit; }

const char *const *overlay_snapshot_mirrors(const overlay_snapshot *snap, size_t *out_count) {
  *out_count = snap->nmirrors;
  return (const char *const *)snap->mirrors;
}

void overlay_snapshot_release(overlay_snapshot *snap) {
  if (!snap)
    return;
  if (snap->lock_fd >= 0)
    close(snap->lock_fd);
  for (size_t i = 0; i < snap->nmirrors; i++)
    free(snap->mirrors[i]);
  free(snap->mirrors);
  free(snap->path);
  free(snap->lock_path);
  free(snap);
}
