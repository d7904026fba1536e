/*
 * workspace.c — the air gap itself: an overlayfs mount per run.
 *
 * <run_dir>/workspace is the merged view (what the job sees), the snapshot is
 * the lower layer, and <run_dir>/layer holds upper/ and work/ — on a tmpfs of
 * bounded size when the caller caps the upper layer, so a job cannot fill the
 * disk. Everything the job writes, deletes, renames or chmods lands in upper/;
 * destroying the workspace unmounts it and deletes layer/, so nothing a run
 * did survives it and the snapshot is never touched. Creating and destroying
 * costs a few mkdirs and two syscalls, whatever the size of the repository.
 *
 * The workspace holds its own shared lock on the snapshot, so the snapshot
 * cannot be evicted from under a mounted workspace even after the caller
 * released its handle. Mounts are nodev,nosuid: a job cannot plant device
 * nodes or set-uid binaries that would work on the host. They are also
 * volatile (no syncs of the upper layer), since the upper layer is discarded.
 */
#include "overlay/overlay_int.h"

#include "common/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

struct overlay_workspace {
  char *merged; /* <run>/workspace */
  char *layer;  /* <run>/layer */
  int tmpfs_mounted;
  int overlay_mounted;
  int lock_fd; /* shared lock on the snapshot */
};

static void workspace_free(overlay_workspace *ws) {
  if (!ws)
    return;
  if (ws->lock_fd >= 0)
    close(ws->lock_fd);
  free(ws->merged);
  free(ws->layer);
  free(ws);
}

static int teardown(overlay_workspace *ws) {
  int error = 0;
  if (ws->overlay_mounted) {
    if ((error = ov_unmount(ws->merged)) < 0)
      return error; /* never delete what may still be in use; reap later */
    ws->overlay_mounted = 0;
  }
  if (ws->tmpfs_mounted) {
    if ((error = ov_unmount(ws->layer)) < 0)
      return error;
    ws->tmpfs_mounted = 0;
  }
  if ((error = ov_remove_tree(ws->layer)) < 0)
    return error;
  if (rmdir(ws->merged) < 0 && errno != ENOENT)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot remove %s", ws->merged);
  return 0;
}

int overlay_workspace_create(overlay_workspace **out, const overlay_snapshot *snap,
                             const char *run_dir, const overlay_workspace_options *opts) {
  if (!snap || !run_dir)
    return airgap_error_set(AIRGAP_EINVALID, "a workspace needs a snapshot and a run directory");
  if (strpbrk(run_dir, ",:\\ \t\n"))
    return airgap_error_set(AIRGAP_EINVALID,
                            "run directory \"%s\" contains ',', ':', '\\' or whitespace, which "
                            "overlayfs mount options cannot carry",
                            run_dir);
  overlay_workspace *ws = calloc(1, sizeof(*ws));
  char *run = NULL, *upper = NULL, *work = NULL, *options = NULL;
  int error = 0;
  if (!ws)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  ws->lock_fd = -1;
  run = realpath(run_dir, NULL);
  if (!run) {
    error = airgap_error_set_errno(AIRGAP_ENOTFOUND, "run directory %s is not usable", run_dir);
    goto cleanup;
  }
  ws->merged = ov_strf("%s/workspace", run);
  ws->layer = ov_strf("%s/layer", run);
  upper = ov_strf("%s/layer/upper", run);
  work = ov_strf("%s/layer/work", run);
  if (!ws->merged || !ws->layer || !upper || !work) {
    error = AIRGAP_ERROR;
    goto cleanup;
  }
  if ((error = ov_lock(&ws->lock_fd, snap->lock_path, LOCK_SH, 0)) < 0)
    goto cleanup;
  if (mkdir(ws->layer, 0700) < 0) {
    error = airgap_error_set_errno(errno == EEXIST ? AIRGAP_EEXISTS : AIRGAP_ERROR,
                                   "cannot create %s (does the run directory already hold a "
                                   "workspace?)",
                                   ws->layer);
    goto cleanup;
  }
  if (mkdir(ws->merged, 0755) < 0) {
    error = airgap_error_set_errno(errno == EEXIST ? AIRGAP_EEXISTS : AIRGAP_ERROR,
                                   "cannot create %s", ws->merged);
    rmdir(ws->layer);
    goto cleanup;
  }
  if (opts && opts->upper_limit_bytes > 0) {
    char tmpfs_opts[64];
    snprintf(tmpfs_opts, sizeof(tmpfs_opts), "size=%llu,mode=0700",
             (unsigned long long)opts->upper_limit_bytes);
    if (mount("tmpfs", ws->layer, "tmpfs", MS_NODEV | MS_NOSUID, tmpfs_opts) < 0) {
      error = airgap_error_set_errno(AIRGAP_ERROR, "cannot mount a tmpfs for the upper layer at %s",
                                     ws->layer);
      goto undo;
    }
    ws->tmpfs_mounted = 1;
  }
  if ((error = ov_mkdir(upper, 0755)) < 0 || (error = ov_mkdir(work, 0700)) < 0)
    goto undo;
  /* volatile: the upper layer is thrown away, so skip the syncs overlayfs
   * would otherwise do on unmount (they cost tens of milliseconds on a busy
   * disk). Kernels before 5.10 do not know it: retry without. */
  options = ov_strf("lowerdir=%s,upperdir=%s,workdir=%s,volatile", snap->path, upper, work);
  if (!options) {
    error = AIRGAP_ERROR;
    goto undo;
  }
  int mounted = mount("overlay", ws->merged, "overlay", MS_NODEV | MS_NOSUID, options);
  if (mounted < 0 && errno == EINVAL) {
    options[strlen(options) - strlen(",volatile")] = '\0';
    mounted = mount("overlay", ws->merged, "overlay", MS_NODEV | MS_NOSUID, options);
  }
  if (mounted < 0) {
    error = airgap_error_set_errno(errno == EPERM ? AIRGAP_EAUTH : AIRGAP_ERROR,
                                   "cannot mount the workspace overlay at %s%s", ws->merged,
                                   errno == EPERM ? " (mounting needs root)" : "");
    goto undo;
  }
  ws->overlay_mounted = 1;
  *out = ws;
  ws = NULL;
  goto cleanup;
undo : {
  /* Keep the message of the failure, not of the clean-up. */
  char msg[1024];
  snprintf(msg, sizeof(msg), "%s", airgap_error_last());
  (void)teardown(ws);
  airgap_error_set(error, "%s", msg);
}
cleanup:
  workspace_free(ws);
  free(run);
  free(upper);
  free(work);
  free(options);
  return error;
}

const char *overlay_workspace_path(const overlay_workspace *ws) { return ws->merged; }

int overlay_workspace_destroy(overlay_workspace *ws) {
  if (!ws)
    return 0;
  int error = teardown(ws);
  workspace_free(ws);
  return error;
}
