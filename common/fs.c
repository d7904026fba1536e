/*
 * fs.c — mkdir -p and write-all (see fs.h).
 *
 * fs_mkdir_p walks the path once from the left, so the parents are created in
 * order; EEXIST is accepted only where the existing entry is a directory, so a
 * file in the way gives a clear error instead of a later, stranger one.
 */
#include "common/fs.h"

#include "common/error.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int make_one(const char *path, unsigned mode) {
  if (mkdir(path, (mode_t)mode) == 0)
    return 0;
  int saved = errno;
  struct stat st;
  if (saved == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return 0;
  errno = saved;
  return airgap_error_set_errno(AIRGAP_ERROR, "cannot create directory %s", path);
}

int fs_mkdir_p(const char *path, unsigned mode) {
  char copy[PATH_MAX];
  size_t len = strlen(path);
  if (len == 0)
    return airgap_error_set(AIRGAP_EINVALID, "cannot create a directory with an empty path");
  if (len >= sizeof(copy))
    return airgap_error_set(AIRGAP_ETOOBIG, "directory path too long (%zu bytes, limit %d)", len,
                            PATH_MAX - 1);
  memcpy(copy, path, len + 1);
  for (char *p = copy + 1; *p; p++) {
    if (*p != '/' || p[-1] == '/')
      continue;
    *p = '\0';
    int error = make_one(copy, mode);
    *p = '/';
    if (error < 0)
      return error;
  }
  return make_one(copy, mode);
}

int fs_write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    if (n == 0) {
      errno = EIO;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}
