/*
 * docker_archive.c — files into containers (see docker.h).
 *
 * A tar stream is built in memory with libarchive (capped at
 * DOCKER_ARCHIVE_MAX): the Lambda code and job inputs this is for are small,
 * and a buffered body keeps the HTTP client simple.
 */
#include "common/docker.h"
#include "common/docker_int.h"
#include "common/error.h"

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- archives ---- */

typedef struct tar_buffer {
  char *data;
  size_t len;
  size_t cap;
  int too_big;
} tar_buffer;

static la_ssize_t tar_write(struct archive *a, void *payload, const void *buf, size_t len) {
  tar_buffer *t = payload;
  if (len > DOCKER_ARCHIVE_MAX - t->len) {
    t->too_big = 1;
    archive_set_error(a, ENOSPC, "archive larger than the limit");
    return -1;
  }
  if (t->len + len > t->cap) {
    size_t cap = t->cap ? t->cap : 64 * 1024;
    while (cap < t->len + len)
      cap *= 2;
    char *grown = realloc(t->data, cap);
    if (!grown) {
      archive_set_error(a, ENOMEM, "out of memory");
      return -1;
    }
    t->data = grown;
    t->cap = cap;
  }
  memcpy(t->data + t->len, buf, len);
  t->len += len;
  return (la_ssize_t)len;
}

static int check_entry_path(const char *path) {
  if (!path || !path[0] || path[0] == '/')
    return airgap_error_set(AIRGAP_EINVALID, "docker: archive entry path '%s' must be relative",
                            path ? path : "");
  for (const char *seg = path; seg;) {
    const char *slash = strchr(seg, '/');
    size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
    if (len == 2 && seg[0] == '.' && seg[1] == '.')
      return airgap_error_set(AIRGAP_EINVALID, "docker: archive entry path '%s' contains '..'",
                              path);
    seg = slash ? slash + 1 : NULL;
  }
  return 0;
}

static int tar_open(struct archive **out, tar_buffer *t) {
  struct archive *a = archive_write_new();
  if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
      archive_write_open(a, t, NULL, tar_write, NULL) != ARCHIVE_OK) {
    int error = airgap_error_set(AIRGAP_ERROR, "docker: cannot start a tar archive: %s",
                                 a ? archive_error_string(a) : "out of memory");
    archive_write_free(a);
    return error;
  }
  *out = a;
  return 0;
}

static int tar_failed(struct archive *a, tar_buffer *t, const char *path) {
  if (t->too_big)
    return airgap_error_set(AIRGAP_ETOOBIG, "docker: archive larger than %llu bytes",
                            (unsigned long long)DOCKER_ARCHIVE_MAX);
  return airgap_error_set(AIRGAP_ERROR, "docker: cannot add '%s' to the archive: %s", path,
                          archive_error_string(a));
}

static int archive_upload(docker_client *client, const char *id, const char *dest_dir,
                          const tar_buffer *t) {
  int error = docker_check_ref("container id", id);
  if (error < 0)
    return error;
  if (!dest_dir || dest_dir[0] != '/')
    return airgap_error_set(AIRGAP_EINVALID, "docker: archive destination must be absolute");
  char *escaped = docker_escape(dest_dir);
  if (!escaped)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  char path[DOCKER_URL_MAX];
  int n = snprintf(path, sizeof(path), "/containers/%s/archive?path=%s", id, escaped);
  curl_free(escaped);
  if (n < 0 || (size_t)n >= sizeof(path))
    return airgap_error_set(AIRGAP_ETOOBIG, "docker: archive destination too long");
  docker_call call = {.method = "PUT",
                      .path = path,
                      .content_type = "application/x-tar",
                      .body = t->data ? t->data : "",
                      .body_len = t->len,
                      .timeout_ms = -1};
  http_client_response resp = {0};
  error = docker_call_raw(&resp, client, &call, 1);
  if (error < 0)
    return error;
  if (resp.status == 200)
    error = 0;
  else if (resp.status == 404)
    error = docker_engine_error(&resp, AIRGAP_ENOTFOUND, "PUT", path);
  else if (resp.status == 400 || resp.status == 403)
    error = docker_engine_error(&resp, AIRGAP_EINVALID, "PUT", path);
  else
    error = docker_engine_error(&resp, AIRGAP_ERROR, "PUT", path);
  http_client_response_free(&resp);
  return error;
}

/* entries into a tar archive in t (owned by the caller: free(t->data)). */
static int tar_build(tar_buffer *t, const docker_archive_entry *entries, size_t count) {
  int error = 0;
  struct archive *a = NULL;
  struct archive_entry *e = NULL;
  time_t now = time(NULL);

  for (size_t i = 0; i < count; i++)
    if ((error = check_entry_path(entries[i].path)) < 0)
      return error;
  if ((error = tar_open(&a, t)) < 0)
    goto cleanup;
  if (!(e = archive_entry_new())) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  for (size_t i = 0; i < count; i++) {
    const docker_archive_entry *x = &entries[i];
    archive_entry_clear(e);
    archive_entry_set_pathname(e, x->path);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_mtime(e, now, 0);
    if (x->target) {
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_symlink(e, x->target);
      archive_entry_set_perm(e, 0777);
      archive_entry_set_size(e, 0);
    } else if (x->is_dir) {
      archive_entry_set_filetype(e, AE_IFDIR);
      archive_entry_set_perm(e, x->mode ? x->mode & 07777 : 0755);
      archive_entry_set_size(e, 0);
    } else {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, x->mode ? x->mode & 07777 : 0644);
      archive_entry_set_size(e, (la_int64_t)x->len);
    }
    if (archive_write_header(a, e) != ARCHIVE_OK) {
      error = tar_failed(a, t, x->path);
      goto cleanup;
    }
    if (!x->target && !x->is_dir && x->len > 0 &&
        archive_write_data(a, x->data, x->len) != (la_ssize_t)x->len) {
      error = tar_failed(a, t, x->path);
      goto cleanup;
    }
  }
  if (archive_write_close(a) != ARCHIVE_OK)
    error = tar_failed(a, t, "(end)");

cleanup:
  archive_entry_free(e);
  archive_write_free(a);
  return error;
}

int docker_container_archive_put(docker_client *client, const char *id, const char *dest_dir,
                                 const docker_archive_entry *entries, size_t count) {
  tar_buffer t = {0};
  int error = tar_build(&t, entries, count);
  if (error == 0)
    error = archive_upload(client, id, dest_dir, &t);
  free(t.data);
  return error;
}

int docker_image_import_entries(docker_client *client, const char *image,
                                const docker_archive_entry *entries, size_t count) {
  tar_buffer t = {0};
  int error = tar_build(&t, entries, count);
  if (error == 0)
    error = docker_image_import(client, image, t.data ? t.data : "", t.len);
  free(t.data);
  return error;
}

int docker_container_archive_put_dir(docker_client *client, const char *id, const char *dest_dir,
                                     const char *src_dir) {
  int error = 0;
  tar_buffer t = {0};
  struct archive *a = NULL;
  struct archive *disk = NULL;
  struct archive_entry *e = NULL;
  size_t prefix = src_dir ? strlen(src_dir) : 0;
  char buf[64 * 1024];

  while (prefix > 1 && src_dir[prefix - 1] == '/')
    prefix--;
  if (prefix == 0)
    return airgap_error_set(AIRGAP_EINVALID, "docker: no source directory to copy");
  struct stat st;
  if (stat(src_dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return airgap_error_set(AIRGAP_ENOTFOUND, "docker: %s is not a directory to copy", src_dir);
  if ((error = tar_open(&a, &t)) < 0)
    goto cleanup;
  disk = archive_read_disk_new();
  e = archive_entry_new();
  if (!disk || !e) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  archive_read_disk_set_symlink_physical(disk);
  if (archive_read_disk_open(disk, src_dir) != ARCHIVE_OK) {
    error = airgap_error_set(AIRGAP_ENOTFOUND, "docker: cannot read directory %s: %s", src_dir,
                             archive_error_string(disk));
    goto cleanup;
  }
  for (;;) {
    archive_entry_clear(e);
    int r = archive_read_next_header2(disk, e);
    if (r == ARCHIVE_EOF)
      break;
    if (r != ARCHIVE_OK) {
      error = airgap_error_set(AIRGAP_ERROR, "docker: cannot read %s: %s", src_dir,
                               archive_error_string(disk));
      goto cleanup;
    }
    archive_read_disk_descend(disk);
    const char *full = archive_entry_pathname(e);
    /* Names under src_dir, made relative; the directory itself is skipped. */
    if (!full || strncmp(full, src_dir, prefix) != 0)
      continue;
    const char *rel = full + prefix;
    while (*rel == '/')
      rel++;
    if (!*rel)
      continue;
    char name[4096];
    snprintf(name, sizeof(name), "%s", rel);
    archive_entry_set_pathname(e, name);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_uname(e, "root");
    archive_entry_set_gname(e, "root");
    if (archive_write_header(a, e) != ARCHIVE_OK) {
      error = tar_failed(a, &t, name);
      goto cleanup;
    }
    if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0) {
      la_ssize_t n;
      while ((n = archive_read_data(disk, buf, sizeof(buf))) > 0) {
        if (archive_write_data(a, buf, (size_t)n) != n) {
          error = tar_failed(a, &t, name);
          goto cleanup;
        }
      }
      if (n < 0) {
        error = airgap_error_set(AIRGAP_ERROR, "docker: cannot read %s: %s", full,
                                 archive_error_string(disk));
        goto cleanup;
      }
    }
  }
  if (archive_write_close(a) != ARCHIVE_OK) {
    error = tar_failed(a, &t, "(end)");
    goto cleanup;
  }
  error = archive_upload(client, id, dest_dir, &t);

cleanup:
  archive_entry_free(e);
  archive_read_free(disk);
  archive_write_free(a);
  free(t.data);
  return error;
}
