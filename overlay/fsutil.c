/*
 * fsutil.c — the file-system helpers the overlay component is built on: flock
 * locks that survive concurrent unlinking, a recursive delete that a hostile
 * job cannot trick, disk-usage sums and atomic file writes.
 *
 * The delete walks with one directory fd at a time (descending with openat,
 * climbing back with ".."), so a job that nests directories thousands deep
 * can neither exhaust file descriptors nor the stack. It never follows a
 * symbolic link, gives itself permission on directories a job made 000, and
 * stops with AIRGAP_EBUSY at a mount point rather than delete through it.
 */
#include "overlay/overlay_int.h"

#include "common/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

char *ov_strf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || n > PATH_MAX * 4) {
    airgap_error_set(AIRGAP_ETOOBIG, "path or string too long (limit %d bytes)", PATH_MAX * 4);
    return NULL;
  }
  char *s = malloc((size_t)n + 1);
  if (!s) {
    airgap_error_set(AIRGAP_ERROR, "out of memory");
    return NULL;
  }
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

int ov_lock(int *out, const char *path, int op, int create) {
  for (int attempt = 0; attempt < 100; attempt++) {
    int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (fd < 0) {
      if (errno == ENOENT && !create)
        return airgap_error_set(AIRGAP_ENOTFOUND, "lock file %s does not exist", path);
      return airgap_error_set_errno(AIRGAP_ERROR, "cannot open lock file %s", path);
    }
    int rc;
    do
      rc = flock(fd, op);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) {
      int saved = errno;
      close(fd);
      if (saved == EWOULDBLOCK)
        return airgap_error_set(AIRGAP_EBUSY, "%s is locked by another process", path);
      errno = saved;
      return airgap_error_set_errno(AIRGAP_ERROR, "cannot lock %s", path);
    }
    /* An evictor unlinks the lock file while holding it exclusively; if we
     * waited on that old inode, our lock protects nothing: start over. */
    struct stat held, named;
    int held_ok = fstat(fd, &held) == 0;
    int named_ok = stat(path, &named) == 0;
    int named_errno = errno;
    if (held_ok && named_ok && held.st_ino == named.st_ino && held.st_dev == named.st_dev) {
      *out = fd;
      return 0;
    }
    close(fd);
    if (!named_ok && named_errno == ENOENT && !create)
      return airgap_error_set(AIRGAP_ENOTFOUND, "lock file %s was removed", path);
  }
  return airgap_error_set(AIRGAP_EBUSY, "lock file %s keeps being replaced; try again", path);
}

int ov_mkdir(const char *path, unsigned mode) {
  if (mkdir(path, (mode_t)mode) == 0)
    return 0;
  struct stat st;
  if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return 0;
  return airgap_error_set_errno(AIRGAP_ERROR, "cannot create directory %s", path);
}

/* Opens a child directory for deletion, granting ourselves rwx on it when a
 * job took the permissions away (only matters when not running as root). */
static int open_child_dir(int parent, const char *name) {
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == EACCES) {
    if (fchmodat(parent, name, 0700, 0) == 0)
      fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd >= 0) {
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & 0700) != 0700)
      (void)fchmod(fd, 0700);
  }
  return fd;
}

/* Empties the directory open as `root_fd` (consumed). See the file comment. */
static int remove_contents_fd(int root_fd, const char *what) {
  struct stat root_st;
  if (fstat(root_fd, &root_st) < 0) {
    close(root_fd);
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot stat %s", what);
  }
  int cur = root_fd;
  long depth = 0;
  int error = 0;
  for (;;) {
    int dfd = dup(cur);
    DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!dir) {
      if (dfd >= 0)
        close(dfd);
      error = airgap_error_set_errno(AIRGAP_ERROR, "cannot read a directory under %s", what);
      goto cleanup;
    }
    rewinddir(dir);
    int descended = 0;
    struct dirent *ent;
    while ((errno = 0, ent = readdir(dir)) != NULL) {
      const char *name = ent->d_name;
      if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        continue;
      struct stat st;
      if (fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
          continue;
        closedir(dir);
        error = airgap_error_set_errno(AIRGAP_ERROR, "cannot stat %s under %s", name, what);
        goto cleanup;
      }
      if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(cur, name, 0) < 0 && errno != ENOENT) {
          closedir(dir);
          error = airgap_error_set_errno(AIRGAP_ERROR, "cannot delete %s under %s", name, what);
          goto cleanup;
        }
        continue;
      }
      if (st.st_dev != root_st.st_dev) {
        closedir(dir);
        error = airgap_error_set(
            AIRGAP_EBUSY, "%s contains a mount point (%s); unmount it before deleting", what, name);
        goto cleanup;
      }
      if (unlinkat(cur, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
        continue;
      if (errno != ENOTEMPTY && errno != EEXIST) {
        /* Not a matter of contents (immutable, EPERM, EROFS...): descending
         * would only bring us back here. */
        closedir(dir);
        error = airgap_error_set_errno(AIRGAP_ERROR, "cannot remove %s under %s", name, what);
        goto cleanup;
      }
      int child = open_child_dir(cur, name);
      if (child < 0) {
        closedir(dir);
        error = airgap_error_set_errno(AIRGAP_ERROR, "cannot open %s under %s", name, what);
        goto cleanup;
      }
      struct stat child_st;
      if (fstat(child, &child_st) < 0 || child_st.st_dev != root_st.st_dev) {
        close(child);
        closedir(dir);
        error = airgap_error_set(AIRGAP_EBUSY, "%s contains a mount point (%s)", what, name);
        goto cleanup;
      }
      close(cur);
      cur = child;
      depth++;
      descended = 1;
      break;
    }
    int read_errno = errno;
    closedir(dir);
    if (descended)
      continue;
    if (read_errno != 0) {
      errno = read_errno;
      error = airgap_error_set_errno(AIRGAP_ERROR, "cannot list a directory under %s", what);
      goto cleanup;
    }
    if (depth == 0)
      break;
    /* This directory is empty now: climb back; the parent's next scan
     * removes it with AT_REMOVEDIR. */
    int parent = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (parent < 0) {
      error = airgap_error_set_errno(AIRGAP_ERROR, "cannot climb back up under %s", what);
      goto cleanup;
    }
    close(cur);
    cur = parent;
    depth--;
  }
cleanup:
  close(cur);
  return error;
}

int ov_remove_contents(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return 0;
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot open %s to delete it", path);
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && (st.st_mode & 0700) != 0700)
    (void)fchmod(fd, (st.st_mode & 07777) | 0700);
  return remove_contents_fd(fd, path);
}

int ov_remove_tree(const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0) {
    if (errno == ENOENT)
      return 0;
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot stat %s", path);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (unlink(path) < 0 && errno != ENOENT)
      return airgap_error_set_errno(AIRGAP_ERROR, "cannot delete %s", path);
    return 0;
  }
  int error = ov_remove_contents(path);
  if (error < 0)
    return error;
  if (rmdir(path) < 0 && errno != ENOENT)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot remove directory %s", path);
  return 0;
}

static int tree_bytes_fd(uint64_t *total, int fd, dev_t dev, int depth) {
  if (depth > 4096) {
    close(fd);
    return airgap_error_set(AIRGAP_ETOOBIG, "directory nesting deeper than 4096 levels");
  }
  DIR *dir = fdopendir(fd);
  if (!dir) {
    close(fd);
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot read directory");
  }
  int error = 0;
  struct dirent *ent;
  while ((ent = readdir(dir)) != NULL) {
    if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
      continue;
    struct stat st;
    if (fstatat(dirfd(dir), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    *total += (uint64_t)st.st_blocks * 512u;
    if (S_ISDIR(st.st_mode) && st.st_dev == dev) {
      int child = openat(dirfd(dir), ent->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child >= 0 && (error = tree_bytes_fd(total, child, dev, depth + 1)) < 0)
        break;
    }
  }
  closedir(dir);
  return error;
}

int ov_tree_bytes(uint64_t *out, const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot open %s", path);
  struct stat st;
  if (fstat(fd, &st) < 0) {
    close(fd);
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot stat %s", path);
  }
  uint64_t total = (uint64_t)st.st_blocks * 512u;
  int error = tree_bytes_fd(&total, fd, st.st_dev, 0);
  if (error == 0)
    *out = total;
  return error;
}

int ov_write_file(const char *path, const char *data, size_t len) {
  char *tmp = ov_strf("%s.tmp.%ld", path, (long)getpid());
  if (!tmp)
    return AIRGAP_ERROR;
  int error = 0;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot create %s", tmp);
    goto cleanup;
  }
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(fd, data + done, len - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      error = airgap_error_set_errno(AIRGAP_ERROR, "cannot write %s%s", tmp,
                                     errno == ENOSPC ? " (disk full)" : "");
      goto cleanup;
    }
    done += (size_t)n;
  }
  if (fsync(fd) < 0) {
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot sync %s", tmp);
    goto cleanup;
  }
  if (close(fd) < 0) {
    fd = -1;
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot close %s", tmp);
    goto cleanup;
  }
  fd = -1;
  if (rename(tmp, path) < 0) {
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot rename %s to %s", tmp, path);
    goto cleanup;
  }
cleanup:
  if (fd >= 0)
    close(fd);
  if (error < 0)
    unlink(tmp);
  free(tmp);
  return error;
}

int ov_read_file(char **out, const char *path, size_t max) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT)
      return airgap_error_set(AIRGAP_ENOTFOUND, "%s does not exist", path);
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot open %s", path);
  }
  char *buf = malloc(max + 1);
  if (!buf) {
    close(fd);
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  }
  size_t used = 0;
  for (;;) {
    if (used == max) {
      char extra;
      ssize_t more = read(fd, &extra, 1);
      if (more > 0) {
        free(buf);
        close(fd);
        return airgap_error_set(AIRGAP_ETOOBIG, "%s is larger than %zu bytes", path, max);
      }
      break;
    }
    ssize_t n = read(fd, buf + used, max - used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      free(buf);
      close(fd);
      return airgap_error_set_errno(AIRGAP_ERROR, "cannot read %s", path);
    }
    if (n == 0)
      break;
    used += (size_t)n;
  }
  close(fd);
  buf[used] = '\0';
  *out = buf;
  return 0;
}
