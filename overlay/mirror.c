/*
 * mirror.c — one bare git mirror per repository URL, fetched with libgit2.
 *
 * A mirror lives at mirrors/<key>.git, where the key is the SHA-256 of the
 * normalised URL (scheme and host lower-cased, trailing "/" and ".git"
 * dropped, local paths spelled file://), so spellings of one repository share
 * one mirror. Everyone who touches a mirror holds mirrors/<key>.lock: fetching
 * takes it exclusively, building a snapshot from the mirror holds it shared,
 * and the evictor only ever tries it without blocking. flock locks vanish with
 * their process, so a crash leaves no stale lock.
 *
 * A first clone is made in mirrors/.tmp-<key>-<pid> and renamed into place
 * only once the requested commit is in it: a failed clone leaves nothing. The
 * network is skipped when the caller names a commit the mirror already has.
 * Otherwise the fetch takes every branch and tag (cheap once the mirror
 * exists; `git describe --tags` in a workspace needs the tags) plus the one
 * ref asked for when it lives elsewhere (refs/pull/N/head).
 *
 * Credentials reach libgit2 only through its credential callback; the URL is
 * refused when it carries a password, so nothing secret lands in a config
 * file or a log line.
 */
#include "overlay/overlay_int.h"

#include "common/error.h"
#include "common/log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int ov_git_error(int git_code, const char *what) {
  const git_error *e = git_error_last();
  const char *msg = e && e->message ? e->message : "unknown libgit2 error";
  int code = AIRGAP_ERROR;
  if (git_code == GIT_ENOTFOUND)
    code = AIRGAP_ENOTFOUND;
  else if (git_code == GIT_EAUTH)
    code = AIRGAP_EAUTH;
  else if (git_code == GIT_EINVALIDSPEC)
    code = AIRGAP_EINVALID;
  const char *hint = "";
  if (strstr(msg, "No space left") || strstr(msg, "ENOSPC"))
    hint = " (disk full: free space in the cache directory or evict snapshots)";
  return airgap_error_set(code, "%s: %s%s", what, msg, hint);
}

/* --- URL key ------------------------------------------------------------- */

int ov_url_key(char out[OVERLAY_KEY_HEX + 1], const char *url) {
  if (!url || !*url)
    return airgap_error_set(AIRGAP_EINVALID, "the repository URL is empty");
  size_t len = strlen(url);
  if (len > OVERLAY_MAX_URL)
    return airgap_error_set(AIRGAP_ETOOBIG, "the repository URL is longer than %d bytes",
                            OVERLAY_MAX_URL);
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
      return airgap_error_set(AIRGAP_EINVALID,
                              "the repository URL contains whitespace or a control character");
  char norm[OVERLAY_MAX_URL + 16];
  const char *scheme_end = strstr(url, "://");
  if (scheme_end) {
    size_t slen = (size_t)(scheme_end - url);
    const char *authority = scheme_end + 3;
    size_t alen = strcspn(authority, "/");
    const char *at = memchr(authority, '@', alen);
    if (at && memchr(authority, ':', (size_t)(at - authority)))
      return airgap_error_set(AIRGAP_EINVALID,
                              "the repository URL carries a password; pass credentials "
                              "separately (they never go into URLs or onto disk)");
    const char *host = at ? at + 1 : authority;
    size_t w = 0;
    for (size_t i = 0; i < slen; i++)
      norm[w++] = (char)tolower((unsigned char)url[i]);
    memcpy(norm + w, "://", 3);
    w += 3;
    if (at) {
      memcpy(norm + w, authority, (size_t)(host - authority));
      w += (size_t)(host - authority);
    }
    for (const char *p = host; p < authority + alen; p++)
      norm[w++] = (char)tolower((unsigned char)*p);
    size_t rest = len - (size_t)(authority + alen - url);
    memcpy(norm + w, authority + alen, rest);
    w += rest;
    norm[w] = '\0';
  } else if (url[0] == '/') {
    snprintf(norm, sizeof(norm), "file://%s", url);
  } else {
    /* scp-like "user@host:path" is what ssh users write; keep it verbatim. */
    if (!strchr(url, ':'))
      return airgap_error_set(AIRGAP_EINVALID,
                              "repository URL \"%s\" is neither a URL nor an absolute path", url);
    snprintf(norm, sizeof(norm), "%s", url);
  }
  size_t n = strlen(norm);
  for (;;) {
    if (n > 0 && norm[n - 1] == '/')
      norm[--n] = '\0';
    else if (n > 4 && strcmp(norm + n - 4, ".git") == 0)
      norm[n -= 4] = '\0';
    else
      break;
  }
  unsigned char digest[32];
  unsigned int dlen = 0;
  if (!EVP_Digest(norm, n, digest, &dlen, EVP_sha256(), NULL) || dlen != 32)
    return airgap_error_set(AIRGAP_ERROR, "cannot hash the repository URL");
  for (int i = 0; i < 32; i++)
    snprintf(out + i * 2, 3, "%02x", digest[i]);
  return 0;
}

/* --- local or remote ----------------------------------------------------- */

int overlay_url_is_local(const char *url) {
  static const char *const remote_schemes[] = {"http",    "https",   "git", "ssh",
                                               "git+ssh", "ssh+git", NULL};
  if (!url || !*url || url[0] == '/' || url[0] == '.' || url[0] == '~')
    return 1;
  if (strncasecmp(url, "file:", 5) == 0 || strstr(url, "::"))
    return 1; /* file:// and git's remote helpers ("ext::sh -c ...") */
  const char *scheme_end = strstr(url, "://");
  if (scheme_end) {
    size_t len = (size_t)(scheme_end - url);
    for (size_t i = 0; remote_schemes[i]; i++)
      if (strlen(remote_schemes[i]) == len && strncasecmp(url, remote_schemes[i], len) == 0)
        return 0;
    return 1;
  }
  /* scp-like "[user@]host:path": a ':' before any '/' (git's own rule). */
  const char *colon = strchr(url, ':');
  const char *slash = strchr(url, '/');
  return !(colon && colon != url && (!slash || colon < slash));
}

/* --- credentials --------------------------------------------------------- */

typedef struct cred_state {
  const overlay_credentials *creds;
  int asked;    /* the remote asked for credentials */
  int supplied; /* we answered at least once */
} cred_state;

static int credential_cb(git_credential **out, const char *url, const char *username_from_url,
                         unsigned int allowed, void *payload) {
  cred_state *st = payload;
  st->asked = 1;
  const overlay_credentials *c = st->creds;
  /* libgit2 calls again after a rejection: answer once, then give up so a
   * wrong token fails fast instead of looping. */
  if (!c || st->supplied >= 1)
    return GIT_PASSTHROUGH;
  if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && c->token) {
    st->supplied++;
    const char *user = c->username                                 ? c->username
                       : (username_from_url && *username_from_url) ? username_from_url
                                                                   : "x-access-token";
    return git_credential_userpass_plaintext_new(out, user, c->token);
  }
  const char *ssh_user = c->username                                 ? c->username
                         : (username_from_url && *username_from_url) ? username_from_url
                                                                     : "git";
  if ((allowed & GIT_CREDENTIAL_USERNAME) && c->ssh_key_path)
    return git_credential_username_new(out, ssh_user);
  if ((allowed & GIT_CREDENTIAL_SSH_KEY) && c->ssh_key_path) {
    st->supplied++;
    return git_credential_ssh_key_new(out, ssh_user, NULL, c->ssh_key_path, c->ssh_passphrase);
  }
  return GIT_PASSTHROUGH;
}

/* --- refs ---------------------------------------------------------------- */

static int is_full_sha(const char *s) {
  if (!s || strlen(s) != OVERLAY_SHA_HEX)
    return 0;
  for (const char *p = s; *p; p++)
    if (!isxdigit((unsigned char)*p))
      return 0;
  return 1;
}

static int check_ref_text(const char *ref) {
  if (!ref)
    return 0;
  size_t len = strlen(ref);
  if (len == 0 || len > OVERLAY_MAX_REF)
    return airgap_error_set(AIRGAP_EINVALID, "ref \"%.64s\" is empty or longer than %d bytes", ref,
                            OVERLAY_MAX_REF);
  if (is_full_sha(ref))
    return 0;
  char full[OVERLAY_MAX_REF + 16];
  snprintf(full, sizeof(full), "%s%s", strncmp(ref, "refs/", 5) == 0 ? "" : "refs/heads/", ref);
  int valid = 0;
  if (git_reference_name_is_valid(&valid, full) < 0 || !valid)
    return airgap_error_set(AIRGAP_EINVALID,
                            "\"%s\" is not a valid git ref name (expected a branch, a tag, "
                            "refs/..., or a 40-character commit sha)",
                            ref);
  return 0;
}

static int has_commit(git_repository *repo, const git_oid *oid) {
  git_commit *commit = NULL;
  if (git_commit_lookup(&commit, repo, oid) < 0)
    return 0;
  git_commit_free(commit);
  return 1;
}

/* The commit a ref of the mirror points at (tags peeled). */
static int peel_ref(git_oid *out, git_repository *repo, const char *refname) {
  git_reference *ref = NULL;
  git_object *obj = NULL;
  int rc = git_reference_lookup(&ref, repo, refname);
  if (rc == 0)
    rc = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT);
  if (rc == 0)
    git_oid_cpy(out, git_object_id(obj));
  git_object_free(obj);
  git_reference_free(ref);
  return rc;
}

/* --- fetching ------------------------------------------------------------ */

#define MAX_REFSPECS 8

/* Connects, decides what to fetch for ref (NULL: the default branch), fetches,
 * and writes the full ref name to fetch into *wanted (malloc'd; NULL when the
 * request is a sha). */
static int fetch(git_repository *repo, const char *url, const char *ref, const git_oid *sha,
                 const overlay_credentials *creds, char **wanted) {
  git_remote *remote = NULL;
  git_buf head = GIT_BUF_INIT;
  char *want = NULL;
  char *sha_ref = NULL;
  int error = 0, rc;
  char what[OVERLAY_MAX_URL + 64];
  cred_state cs = {creds, 0, 0};
  git_remote_callbacks cb;
  git_remote_init_callbacks(&cb, GIT_REMOTE_CALLBACKS_VERSION);
  cb.credentials = credential_cb;
  cb.payload = &cs;

  /* No insteadOf rewriting: the job's URL is fetched as given, whatever the
   * host's git config says (and libgit2 1.5 leaks in that lookup). */
  git_remote_create_options ro;
  git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
  ro.repository = repo;
  ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
  if ((rc = git_remote_create_with_opts(&remote, url, &ro)) < 0) {
    snprintf(what, sizeof(what), "invalid repository URL %s", url);
    error = ov_git_error(rc, what);
    goto cleanup;
  }
  if ((rc = git_remote_connect(remote, GIT_DIRECTION_FETCH, &cb, NULL, NULL)) < 0) {
    const git_error *ge = git_error_last();
    const char *gmsg = ge && ge->message ? ge->message : "unknown error";
    if (cs.asked || rc == GIT_EAUTH)
      error =
          airgap_error_set(AIRGAP_EAUTH,
                           "the repository %s refused %s (%s); check the job's "
                           "credentials",
                           url, cs.supplied ? "the credentials given" : "anonymous access", gmsg);
    else
      error = airgap_error_set(AIRGAP_ERROR,
                               "cannot reach the repository %s: %s; check the URL and that the "
                               "server is up",
                               url, gmsg);
    goto cleanup;
  }
  const git_remote_head **heads = NULL;
  size_t nheads = 0;
  if ((rc = git_remote_ls(&heads, &nheads, remote)) < 0) {
    snprintf(what, sizeof(what), "cannot list the refs of %s", url);
    error = ov_git_error(rc, what);
    goto cleanup;
  }
  const char *specs[MAX_REFSPECS];
  size_t nspecs = 0;
  specs[nspecs++] = "+refs/heads/*:refs/heads/*";
  specs[nspecs++] = "+refs/tags/*:refs/tags/*";
  if (sha) {
    /* A sha: fetch whatever advertised ref points at it (it may live only
     * under refs/pull/); branches and tags come anyway. */
    for (size_t i = 0; i < nheads; i++) {
      if (git_oid_equal(&heads[i]->oid, sha) && strncmp(heads[i]->name, "refs/", 5) == 0 &&
          strncmp(heads[i]->name, "refs/heads/", 11) != 0 &&
          strncmp(heads[i]->name, "refs/tags/", 10) != 0) {
        sha_ref = ov_strf("+%s:%s", heads[i]->name, heads[i]->name);
        if (!sha_ref) {
          error = AIRGAP_ERROR;
          goto cleanup;
        }
        specs[nspecs++] = sha_ref;
        break;
      }
    }
  } else {
    if (!ref) {
      rc = git_remote_default_branch(&head, remote);
      if (rc < 0) {
        error = airgap_error_set(AIRGAP_ENOTFOUND,
                                 "the repository %s has no default branch (is it empty?); "
                                 "name a branch, tag or commit",
                                 url);
        goto cleanup;
      }
      want = strdup(head.ptr);
    } else {
      /* git's order: refs/<x>, refs/tags/<x>, refs/heads/<x>. */
      char cand[3][OVERLAY_MAX_REF + 16];
      snprintf(cand[0], sizeof(cand[0]), "%s%s", strncmp(ref, "refs/", 5) == 0 ? "" : "refs/", ref);
      snprintf(cand[1], sizeof(cand[1]), "refs/tags/%s", ref);
      snprintf(cand[2], sizeof(cand[2]), "refs/heads/%s", ref);
      int ncand = strncmp(ref, "refs/", 5) == 0 ? 1 : 3;
      for (int c = 0; c < ncand && !want; c++)
        for (size_t i = 0; i < nheads && !want; i++)
          if (strcmp(heads[i]->name, cand[c]) == 0)
            want = strdup(cand[c]);
      if (!want) {
        error = airgap_error_set(
            AIRGAP_ENOTFOUND, "ref \"%s\" not found in %s (no such branch, tag or ref)", ref, url);
        goto cleanup;
      }
    }
    if (!want) {
      error = airgap_error_set(AIRGAP_ERROR, "out of memory");
      goto cleanup;
    }
    if (strncmp(want, "refs/heads/", 11) != 0 && strncmp(want, "refs/tags/", 10) != 0) {
      sha_ref = ov_strf("+%s:%s", want, want);
      if (!sha_ref) {
        error = AIRGAP_ERROR;
        goto cleanup;
      }
      specs[nspecs++] = sha_ref;
    }
  }
  git_strarray refspecs = {(char **)specs, nspecs};
  git_fetch_options fo;
  git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
  fo.callbacks = cb;
  fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  fo.update_fetchhead = 0;
  if ((rc = git_remote_download(remote, &refspecs, &fo)) < 0) {
    snprintf(what, sizeof(what), "cannot download from %s", url);
    error = ov_git_error(rc, what);
    goto cleanup;
  }
  if ((rc = git_remote_update_tips(remote, &cb, 0, GIT_REMOTE_DOWNLOAD_TAGS_NONE, "airgap fetch")) <
      0) {
    error = ov_git_error(rc, "cannot update the mirror's refs");
    goto cleanup;
  }
  *wanted = want;
  want = NULL;
cleanup:
  if (remote) {
    git_remote_disconnect(remote);
    git_remote_free(remote);
  }
  git_buf_dispose(&head);
  free(want);
  free(sha_ref);
  return error;
}

/* Opens the mirror at `path`, or initialises a bare repository there. */
static int open_or_init(git_repository **out, const char *path, int create) {
  int rc;
  if (!create) {
    rc = git_repository_open_bare(out, path);
    return rc < 0 ? ov_git_error(rc, "cannot open the mirror") : 0;
  }
  git_repository_init_options io;
  git_repository_init_options_init(&io, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
  io.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_NO_REINIT | GIT_REPOSITORY_INIT_MKPATH;
  rc = git_repository_init_ext(out, path, &io);
  return rc < 0 ? ov_git_error(rc, "cannot create the mirror") : 0;
}

void ov_mirror_close(ov_mirror *m) {
  if (!m)
    return;
  git_repository_free(m->repo);
  m->repo = NULL;
  if (m->lock_fd >= 0)
    close(m->lock_fd);
  m->lock_fd = -1;
  free(m->path);
  free(m->lock_path);
  m->path = m->lock_path = NULL;
}

/* One attempt of ov_mirror_resolve; AIRGAP_EBUSY asks for another (the mirror
 * was evicted between our exclusive and shared lock). */
static int resolve_once(ov_mirror *m, git_oid *oid_out, overlay_cache *cache, const char *url,
                        const char *ref, const char *commit, const overlay_credentials *creds) {
  char *tmp = NULL;
  char *wanted = NULL;
  git_repository *repo = NULL;
  int error = 0;
  git_oid sha;
  int have_sha = 0;
  int created = 0;

  const char *sha_text = commit ? commit : (is_full_sha(ref) ? ref : NULL);
  if (sha_text) {
    if (!is_full_sha(sha_text))
      return airgap_error_set(AIRGAP_EINVALID, "commit \"%.64s\" is not a 40-character sha",
                              sha_text);
    if (git_oid_fromstr(&sha, sha_text) < 0)
      return ov_git_error(-1, "invalid commit sha");
    have_sha = 1;
  }
  if ((error = ov_lock(&m->lock_fd, m->lock_path, LOCK_EX, 1)) < 0)
    return error;
  (void)futimens(m->lock_fd, NULL);

  struct stat st;
  if (stat(m->path, &st) == 0) {
    if ((error = open_or_init(&repo, m->path, 0)) < 0)
      goto cleanup;
  } else {
    /* A crashed clone may have left a temp dir; we hold the lock, so any
     * .tmp-<key>-* is dead. */
    char *prefix = ov_strf(".tmp-%s-", m->key);
    if (!prefix) {
      error = AIRGAP_ERROR;
      goto cleanup;
    }
    tmp = ov_strf("%s/%s%ld", cache->mirrors_dir, prefix, (long)getpid());
    free(prefix);
    if (!tmp) {
      error = AIRGAP_ERROR;
      goto cleanup;
    }
    (void)ov_remove_tree(tmp);
    created = 1;
    if ((error = open_or_init(&repo, tmp, 1)) < 0)
      goto cleanup;
  }

  int need_fetch = !(have_sha && has_commit(repo, &sha));
  if (need_fetch) {
    log_info(OVERLAY_COMPONENT, "fetching %s (%s)", url, ref ? ref : sha_text ? sha_text : "HEAD");
    const char *fetch_ref = ref && !is_full_sha(ref) ? ref : NULL;
    error = fetch(repo, url, fetch_ref, fetch_ref ? NULL : have_sha ? &sha : NULL, creds, &wanted);
    if (error < 0)
      goto cleanup;
    if (have_sha) {
      if (!has_commit(repo, &sha)) {
        error = airgap_error_set(AIRGAP_ENOTFOUND,
                                 "commit %s not found in %s (it is not reachable from any "
                                 "branch, tag or advertised ref)",
                                 sha_text, url);
        goto cleanup;
      }
    } else {
      int rc = peel_ref(&sha, repo, wanted);
      if (rc < 0) {
        error = ov_git_error(rc, "the fetched ref does not name a commit");
        goto cleanup;
      }
    }
  }
  if (created) {
    if (rename(tmp, m->path) < 0) {
      error = airgap_error_set_errno(AIRGAP_ERROR, "cannot move the new mirror into %s", m->path);
      goto cleanup;
    }
    /* libgit2 remembers the path it opened: reopen at the final place. */
    git_repository_free(repo);
    repo = NULL;
    created = 0;
    if ((error = open_or_init(&repo, m->path, 0)) < 0)
      goto cleanup;
  }
  /* Downgrade: snapshot builds from one mirror may run side by side; only
   * fetches and eviction need it alone. flock converts non-atomically, so
   * check the mirror is still there afterwards. */
  if (flock(m->lock_fd, LOCK_SH) < 0) {
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot downgrade the lock on %s", m->lock_path);
    goto cleanup;
  }
  if (stat(m->path, &st) < 0) {
    error = airgap_error_set(AIRGAP_EBUSY, "mirror %s was evicted meanwhile", m->path);
    goto cleanup;
  }
  git_oid_cpy(oid_out, &sha);
  m->repo = repo;
  repo = NULL;
cleanup:
  git_repository_free(repo);
  if (created && tmp)
    (void)ov_remove_tree(tmp);
  free(tmp);
  free(wanted);
  if (error < 0 && m->lock_fd >= 0) {
    /* No mirror came of it: drop the lock file too (while still holding it,
     * so a waiter notices and starts over), leaving nothing behind. */
    struct stat gone;
    if (stat(m->path, &gone) < 0 && errno == ENOENT)
      unlink(m->lock_path);
    close(m->lock_fd);
    m->lock_fd = -1;
  }
  return error;
}

int ov_mirror_resolve(ov_mirror *out, git_oid *oid_out, overlay_cache *cache, const char *url,
                      const char *ref, const char *commit, const overlay_credentials *creds) {
  ov_mirror m = {.lock_fd = -1};
  if (ref && strcmp(ref, "HEAD") == 0)
    ref = NULL; /* the remote's default branch */
  int error = ov_url_key(m.key, url);
  if (error < 0)
    return error;
  if ((error = check_ref_text(ref)) < 0)
    return error;
  m.path = ov_strf("%s/%s.git", cache->mirrors_dir, m.key);
  m.lock_path = ov_strf("%s/%s.lock", cache->mirrors_dir, m.key);
  if (!m.path || !m.lock_path) {
    error = AIRGAP_ERROR;
    goto cleanup;
  }
  for (int attempt = 0; attempt < 3; attempt++) {
    error = resolve_once(&m, oid_out, cache, url, ref, commit, creds);
    if (error != AIRGAP_EBUSY)
      break;
  }
  if (error < 0)
    goto cleanup;
  *out = m;
  return 0;
cleanup:
  ov_mirror_close(&m);
  return error;
}
