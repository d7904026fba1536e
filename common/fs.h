/*
 * fs.h — the two file-system helpers every component needs: create a directory
 * with its parents, and write a whole buffer to a descriptor.
 */
#ifndef AIRGAP_COMMON_FS_H
#define AIRGAP_COMMON_FS_H

#include <stddef.h>

/* mkdir -p: creates `path` and its missing parents with `mode` (existing ones
 * are left as they are). An existing directory is success. Returns 0, or -1
 * with a message naming the component that failed. Paths of PATH_MAX bytes
 * or more are refused (AIRGAP_ETOOBIG). */
int fs_mkdir_p(const char *path, unsigned mode);

/* Writes all `len` bytes of `data` to `fd`, retrying after EINTR and short
 * writes. Returns 0, or -1 with errno set; records no message, because the
 * logger itself writes through it. */
int fs_write_all(int fd, const void *data, size_t len);

#endif
