/*
 * store.c — where S3 object bodies live, and the state lock that knows it.
 *
 * Small object bodies (up to S3_INLINE_MAX, 64 KiB) stay in memory with their
 * version: CI workloads put and get many small objects, and a file per object
 * costs an inode create, write and close per PUT, an unlink per overwrite and
 * an open per GET — most of a small request's time. Larger bodies, and every
 * multipart part, are written to a data file and GetObject answers with the
 * file itself (sent with sendfile, ranges included), so a 1 GB upload costs a
 * file, not 1 GB of RAM. In-memory bodies together are capped
 * (S3_INLINE_BUDGET, 32 MiB): past that, small bodies go to files too, so no
 * workload — a million small objects included — grows the emulator's memory
 * by more than that.
 *
 * Data files live in a private directory under the emulator's data dir, one
 * per object version or uploaded part, named by a counter, and are never
 * modified after they are written: CopyObject hard-links them, an overwrite
 * unlinks the old one (a GET already streaming it keeps its open file). A
 * request body the HTTP server spilled to a file is linked into place rather
 * than copied. In-memory bodies are immutable too; a GET copies the bytes it
 * sends while holding the lock, so an overwrite can free them at any time.
 */
#include "emulator/s3/s3_int.h"

#include "common/fs.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the lock ---- */

void s3_lock(s3_state *st) { pthread_mutex_lock(&st->lock); }

void s3_unlock(s3_state *st) {
  uint64_t *doomed = NULL;
  size_t n = st->ndoomed;
  if (n) {
    doomed = st->doomed;
    st->doomed = NULL;
    st->ndoomed = st->capdoomed = 0;
  }
  pthread_mutex_unlock(&st->lock);
  for (size_t i = 0; i < n; i++)
    s3_data_unlink(st, doomed[i]);
  free(doomed);
}

/* ---- data files ---- */

static void data_path(const s3_state *st, uint64_t file, char *buf, size_t size) {
  snprintf(buf, size, "%s/%" PRIu64, st->dir, file);
}

void s3_data_unlink(const s3_state *st, uint64_t file) {
  if (!file)
    return;
  char path[4096];
  data_path(st, file, path, sizeof(path));
  if (unlink(path) < 0 && errno != ENOENT)
    log_warn("s3", "cannot remove the data file %s: %s", path, strerror(errno));
}

void s3_data_unlink_later(s3_state *st, uint64_t file) {
  if (!file)
    return;
  if (st->ndoomed == st->capdoomed) {
    size_t cap = st->capdoomed ? st->capdoomed * 2 : 16;
    uint64_t *grown = realloc(st->doomed, cap * sizeof(*grown));
    if (!grown) {
      s3_data_unlink(st, file); /* out of memory: now, under the lock */
      return;
    }
    st->doomed = grown;
    st->capdoomed = cap;
  }
  st->doomed[st->ndoomed++] = file;
}

int s3_data_create(s3_state *st, uint64_t *out) {
  uint64_t file = atomic_fetch_add(&st->next_file, 1);
  char path[4096];
  data_path(st, file, path, sizeof(path));
  int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0)
    *out = file;
  return fd;
}

int s3_data_open(const s3_state *st, uint64_t file) {
  char path[4096];
  data_path(st, file, path, sizeof(path));
  return open(path, O_RDONLY | O_CLOEXEC);
}

/* Through /proc/self/fd: how an O_TMPFILE file gets a name without
 * privileges (linkat with AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH). */
int s3_data_link(s3_state *st, int fd, uint64_t *out) {
  uint64_t file = atomic_fetch_add(&st->next_file, 1);
  char path[4096], proc[64];
  data_path(st, file, path, sizeof(path));
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
  if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0)
    return -1;
  *out = file;
  return 0;
}

int s3_copy_range(int out, int in, uint64_t offset, uint64_t len) {
  off_t off = (off_t)offset;
  while (len > 0) {
    ssize_t n = copy_file_range(in, &off, out, NULL, len > (1u << 30) ? (1u << 30) : len, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n > 0) {
      len -= (uint64_t)n;
      continue;
    }
    if (n == 0)
      return -1;
    /* Fallback (EXDEV, ENOSYS, …): read and write. */
    char buf[65536];
    while (len > 0) {
      ssize_t r = pread(in, buf, len > sizeof(buf) ? sizeof(buf) : len, off);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0 || fs_write_all(out, buf, (size_t)r) < 0)
        return -1;
      off += r;
      len -= (uint64_t)r;
    }
  }
  return 0;
}

int s3_read_range(int fd, uint64_t offset, uint64_t len, size_t piece, s3_bytes_fn fn,
                  void *payload) {
  if (fd < 0)
    return -1;
  char *buf = malloc(piece);
  if (!buf)
    return -1;
  int rc = 0;
  uint64_t off = offset, end = offset + len;
  while (rc == 0 && off < end) {
    ssize_t n = pread(fd, buf, end - off < piece ? (size_t)(end - off) : piece, (off_t)off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      rc = -1;
      break;
    }
    off += (uint64_t)n;
    rc = fn(payload, buf, (size_t)n);
  }
  free(buf);
  return rc;
}

/* ---- in-memory bodies ---- */

int s3_inline_room(s3_state *st) {
  return atomic_load(&st->inline_bytes) + S3_INLINE_MAX <= S3_INLINE_BUDGET;
}

void s3_inline_add(s3_state *st, uint64_t size) { atomic_fetch_add(&st->inline_bytes, size); }

void s3_inline_free(s3_state *st, char *data, uint64_t size) {
  if (!data)
    return;
  free(data);
  atomic_fetch_sub(&st->inline_bytes, size);
}

/* ---- copies ---- */

/* A new data file holding bytes [start, start+len) of src's. Hard link for a
 * whole file. Returns the file number (0 for empty) or -1. Under the lock. */
static int64_t data_clone(s3_state *st, uint64_t src, uint64_t start, uint64_t len, uint64_t size) {
  if (!src || len == 0)
    return 0;
  if (start == 0 && len == size) {
    uint64_t file = atomic_fetch_add(&st->next_file, 1);
    char from[4096], to[4096];
    data_path(st, src, from, sizeof(from));
    data_path(st, file, to, sizeof(to));
    if (link(from, to) == 0)
      return (int64_t)file;
  }
  uint64_t file = 0;
  int out = s3_data_create(st, &file);
  if (out < 0)
    return -1;
  int in = s3_data_open(st, src);
  int rc = in < 0 ? -1 : s3_copy_range(out, in, start, len);
  if (in >= 0)
    close(in);
  if (close(out) < 0)
    rc = -1;
  if (rc < 0) {
    s3_data_unlink(st, file);
    return -1;
  }
  return (int64_t)file;
}

int s3_body_clone(s3_state *st, const s3_version *v, uint64_t start, uint64_t len, int inline_ok,
                  uint64_t *file, char **data) {
  *file = 0;
  *data = NULL;
  if (len == 0)
    return 0;
  if (!v->data) {
    int64_t f = data_clone(st, v->file, start, len, v->size);
    if (f < 0)
      return -1;
    *file = (uint64_t)f;
    return 0;
  }
  if (inline_ok && s3_inline_room(st)) {
    if (!(*data = malloc((size_t)len)))
      return -1;
    memcpy(*data, v->data + start, (size_t)len);
    s3_inline_add(st, len);
    return 0;
  }
  uint64_t f = 0;
  int fd = s3_data_create(st, &f);
  if (fd < 0)
    return -1;
  int rc = fs_write_all(fd, v->data + start, (size_t)len);
  if (close(fd) < 0)
    rc = -1;
  if (rc < 0) {
    int saved = errno;
    s3_data_unlink(st, f);
    errno = saved;
    return -1;
  }
  *file = f;
  return 0;
}

static int digest_bytes(void *payload, const char *data, size_t len) {
  s3_digest_update(payload, data, len);
  return 0;
}

int s3_data_md5(const s3_state *st, uint64_t file, uint64_t len, unsigned char md5[16]) {
  s3_digest *dg = s3_digest_new(S3_CK_NONE);
  if (!dg)
    return -1;
  int rc = 0;
  if (file && len) {
    int fd = s3_data_open(st, file);
    rc = s3_read_range(fd, 0, len, 1 << 16, digest_bytes, dg);
    if (fd >= 0)
      close(fd);
  }
  char unused[96];
  s3_digest_final(dg, md5, unused, sizeof(unused));
  s3_digest_free(dg);
  return rc;
}
