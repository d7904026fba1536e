/*
 * reap.c — clearing up after a crashed run: overlay_reap(run_root).
 *
 * A job supervisor killed with SIGKILL leaves its workspace mounted (and its
 * tmpfs layer, when capped) under the agent's run root. The mount table is
 * the truth: every mount at or under the run root is unmounted, deepest
 * first (the reverse of mountinfo order, which lists parents before their
 * children), retrying and finally detaching lazily. Only then are the
 * directories deleted, and the delete refuses to cross a mount point that is
 * still there — deleting through a live overlay would reach into the upper
 * layer of someone else, or into a bind-mounted host directory.
 */
#include "overlay/overlay_int.h"

#include "common/error.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

/* 1 when `path` is `root` or below it. */
static int under(const char *path, const char *root) {
  size_t n = strlen(root);
  if (n > 1 && root[n - 1] == '/')
    n--;
  return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int overlay_reap(const char *run_root) {
  if (!run_root || !*run_root)
    return airgap_error_set(AIRGAP_EINVALID, "no run root given to reap");
  char *root = realpath(run_root, NULL);
  if (!root)
    return airgap_error_set_errno(AIRGAP_ENOTFOUND, "cannot resolve run root %s", run_root);
  if (strcmp(root, "/") == 0) {
    free(root);
    return airgap_error_set(AIRGAP_EINVALID, "refusing to reap the root directory");
  }
  int error = 0;
  for (int round = 0; round < 4; round++) {
    ov_mount *mounts = NULL;
    size_t n = 0;
    if ((error = ov_mounts_read(&mounts, &n)) < 0)
      goto cleanup;
    int found = 0;
    error = 0;
    for (size_t i = n; i-- > 0;) {
      if (!under(mounts[i].target, root))
        continue;
      found = 1;
      log_info(OVERLAY_COMPONENT, "reaping stale %s mount %s", mounts[i].fstype, mounts[i].target);
      int rc = ov_unmount(mounts[i].target);
      if (rc < 0 && rc != AIRGAP_EINVALID)
        error = rc;
    }
    ov_mounts_free(mounts, n);
    if (!found)
      break;
  }
  if (error < 0)
    goto cleanup;
  error = ov_remove_contents(root);
cleanup:
  free(root);
  return error;
}
