/*
 * mounts.c — reading the mount table and unmounting with patience.
 *
 * /proc/self/mountinfo is the one place that knows what is mounted where: the
 * reaper uses it to find what a crashed run left under its run root, and the
 * evictor uses the overlay super options (lowerdir=...) to spare snapshots a
 * stale mount still sits on. Lines are bounded (OV_MOUNTINFO_LINE_MAX) and
 * octal escapes (\040 for a space) are decoded.
 */
#include "overlay/overlay_int.h"

#include "common/error.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>

#define OV_MOUNTINFO_LINE_MAX (64 * 1024)
#define OV_MOUNTS_MAX 100000
#define OV_UNMOUNT_TRIES 20

/* Decodes mountinfo's \ooo escapes in place. */
static void unescape(char *s) {
  char *w = s;
  for (char *r = s; *r; r++) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
        r[3] <= '7') {
      *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
      r += 3;
    } else {
      *w++ = *r;
    }
  }
  *w = '\0';
}

/* Splits the next space-separated field off *cursor. */
static char *next_field(char **cursor) {
  char *s = *cursor;
  while (*s == ' ')
    s++;
  if (!*s)
    return NULL;
  char *end = strchr(s, ' ');
  if (end) {
    *end = '\0';
    *cursor = end + 1;
  } else {
    *cursor = s + strlen(s);
  }
  return s;
}

void ov_mounts_free(ov_mount *mounts, size_t count) {
  if (!mounts)
    return;
  for (size_t i = 0; i < count; i++) {
    free(mounts[i].target);
    free(mounts[i].fstype);
    free(mounts[i].options);
  }
  free(mounts);
}

int ov_mounts_read(ov_mount **out, size_t *out_count) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot read /proc/self/mountinfo");
  ov_mount *mounts = NULL;
  size_t count = 0, cap = 0;
  char *line = NULL;
  size_t line_cap = 0;
  int error = 0;
  ssize_t len;
  while ((len = getline(&line, &line_cap, f)) >= 0) {
    if (len > OV_MOUNTINFO_LINE_MAX) {
      error = airgap_error_set(AIRGAP_ETOOBIG, "mountinfo line longer than %d bytes",
                               OV_MOUNTINFO_LINE_MAX);
      goto cleanup;
    }
    if (len > 0 && line[len - 1] == '\n')
      line[len - 1] = '\0';
    /* id parent major:minor root target options [optional...] - fstype source super */
    char *cursor = line, *target = NULL, *fstype = NULL, *super = NULL, *field;
    int index = 0, after_dash = -1;
    while ((field = next_field(&cursor)) != NULL) {
      if (index == 4)
        target = field;
      if (after_dash < 0 && index >= 6 && strcmp(field, "-") == 0) {
        after_dash = 0;
      } else if (after_dash >= 0) {
        after_dash++;
        if (after_dash == 1)
          fstype = field;
        else if (after_dash == 3)
          super = field;
      }
      index++;
    }
    if (!target || !fstype)
      continue;
    if (count == cap) {
      if (cap >= OV_MOUNTS_MAX) {
        error = airgap_error_set(AIRGAP_ETOOBIG, "more than %d mounts", OV_MOUNTS_MAX);
        goto cleanup;
      }
      size_t ncap = cap ? cap * 2 : 64;
      ov_mount *grown = realloc(mounts, ncap * sizeof(*grown));
      if (!grown) {
        error = airgap_error_set(AIRGAP_ERROR, "out of memory");
        goto cleanup;
      }
      mounts = grown;
      cap = ncap;
    }
    ov_mount *m = &mounts[count];
    m->target = strdup(target);
    m->fstype = strdup(fstype);
    m->options = strdup(super ? super : "");
    count++;
    if (!m->target || !m->fstype || !m->options) {
      error = airgap_error_set(AIRGAP_ERROR, "out of memory");
      goto cleanup;
    }
    unescape(m->target);
    unescape(m->options);
  }
cleanup:
  free(line);
  fclose(f);
  if (error < 0) {
    ov_mounts_free(mounts, count);
    return error;
  }
  *out = mounts;
  *out_count = count;
  return 0;
}

int ov_mounts_use_lower(const ov_mount *mounts, size_t count, const char *dir) {
  size_t dlen = strlen(dir);
  for (size_t i = 0; i < count; i++) {
    if (strcmp(mounts[i].fstype, "overlay") != 0)
      continue;
    const char *opt = strstr(mounts[i].options, "lowerdir=");
    if (!opt)
      continue;
    opt += strlen("lowerdir=");
    /* lowerdir=a:b:c, terminated by ',' */
    while (*opt && *opt != ',') {
      size_t n = strcspn(opt, ":,");
      if (n == dlen && strncmp(opt, dir, dlen) == 0)
        return 1;
      opt += n;
      if (*opt == ':')
        opt++;
    }
  }
  return 0;
}

int ov_unmount(const char *target) {
  for (int attempt = 0; attempt < OV_UNMOUNT_TRIES; attempt++) {
    if (umount2(target, UMOUNT_NOFOLLOW) == 0)
      return 0;
    if (errno == EINVAL || errno == ENOENT)
      return airgap_error_set_errno(AIRGAP_EINVALID, "%s is not a mount point", target);
    if (errno != EBUSY)
      return airgap_error_set_errno(AIRGAP_ERROR, "cannot unmount %s", target);
    /* Something (a process left in the workspace, a bind mount into a job
     * container being torn down) still uses it: give it a moment. */
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  log_warn(OVERLAY_COMPONENT, "%s stayed busy; detaching it lazily", target);
  if (umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
    return 0;
  return airgap_error_set_errno(AIRGAP_EBUSY, "cannot unmount %s even lazily", target);
}
