/*
 * agent_life.c — one life of an agent process, and reaping what dead lives
 * left behind (issue #12, item 5).
 *
 * A life is one run of `airgap agent` (or serve, or run). It holds an
 * exclusive flock on <work>/.life-<uuid>.lock for as long as it lives, and
 * every supervisor it starts inherits that lock's file description (fd 3),
 * so the lock is held while the agent *or any of its supervisors* lives:
 * a supervisor whose agent was killed keeps its lease alive and finishes its
 * job, and nobody reaps under it. Next to the lock, <work>/.life-<uuid>/
 * holds one record per leased job, "<job>.<attempt>" containing the lease,
 * written before the supervisor starts and removed after it ended. Every
 * container the life starts carries the label airgap.life=<uuid>.
 *
 * Any agent on the host, whatever its id, that can take a lock nobody holds
 * knows that life is over: it removes the life's containers (by label, so a
 * rerun of the same job by a live agent is never touched), each recorded run
 * directory (mounts first), and hands each recorded lease back to the queue
 * at once (release, reason agent_lost) rather than leaving it to expire. It
 * looks at start and then every few seconds, as a supervisor may outlive its
 * agent and die later.
 *
 * Assumes the work directory is local (flock over NFS is not dependable) and
 * that agents sharing one work directory share one queue and token.
 */
#include "agent/agent_int.h"
#include "common/codec.h"
#include "common/docker.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "overlay/overlay.h"
#include "queue/queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIFE_PREFIX ".life-"
#define LOCK_SUFFIX ".lock"
#define RECORD_MAX 512 /* a lease id is far shorter */

struct agent_life {
  char work_dir[PATH_MAX];
  char id[40]; /* uuid */
  char lock_path[PATH_MAX];
  char dir[PATH_MAX]; /* the records */
  int fd;             /* the flock'ed lock file */
};

static int path_join(char *out, size_t size, const char *a, const char *b, const char *c) {
  int n = snprintf(out, size, "%s/%s%s", a, b, c);
  if (n < 0 || (size_t)n >= size)
    return airgap_error_set(AIRGAP_EINVALID, "path under %s is too long", a);
  return 0;
}

static int record_path(char *out, size_t size, const char *dir, const char *job_id,
                       unsigned attempt) {
  int n = snprintf(out, size, "%s/%s.%u", dir, job_id, attempt);
  if (n < 0 || (size_t)n >= size)
    return airgap_error_set(AIRGAP_EINVALID, "path under %s is too long", dir);
  return 0;
}

const char *agent_life_id(const agent_life *life) { return life->id; }

int agent_life_fd(const agent_life *life) { return life->fd; }

int agent_container_label_life(json_t *config, const char *life_id) {
  json_t *labels = json_object_get(config, "Labels");
  if (!life_id)
    return 0;
  if (!json_is_object(labels) ||
      json_object_set_new(labels, AGENT_LABEL_LIFE, json_string(life_id)) < 0)
    return airgap_error_set(AIRGAP_ERROR, "cannot label a container with its agent's life");
  return 0;
}

/* Hands one recorded lease back and removes its run directory. */
static void reap_record(queue_client *queue, const char *work_dir, const char *dir,
                        const char *name) {
  char path[PATH_MAX], run_dir[PATH_MAX], lease[RECORD_MAX];
  if (path_join(path, sizeof(path), dir, name, "") < 0)
    return;
  const char *dot = strrchr(name, '.');
  char job_id[80];
  if (!dot || dot == name || (size_t)(dot - name) >= sizeof(job_id)) {
    unlink(path);
    return;
  }
  snprintf(job_id, sizeof(job_id), "%.*s", (int)(dot - name), name);
  if (agent_job_id_valid(job_id) && path_join(run_dir, sizeof(run_dir), work_dir, name, "") == 0) {
    struct stat st;
    if (lstat(run_dir, &st) == 0 && (overlay_reap(run_dir) < 0 || rmdir(run_dir) < 0))
      log_warn("agent", "job %s: cannot remove %s left by a dead agent: %s", job_id, run_dir,
               airgap_error_last());
  }
  ssize_t n = -1;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0) {
    n = read(fd, lease, sizeof(lease) - 1);
    close(fd);
  }
  if (n > 0 && queue && agent_job_id_valid(job_id)) {
    lease[n] = '\0';
    int rc = queue_client_release(queue, job_id, lease, "agent_lost");
    if (rc == 0)
      log_info("agent", "job %s: handed back the lease of a dead agent", job_id);
    else if (rc != AIRGAP_EBUSY && rc != AIRGAP_ENOTFOUND) {
      /* The queue may be down: keep the record for the next look. */
      log_warn("agent", "job %s: cannot hand back a dead agent's lease (will retry): %s", job_id,
               airgap_error_last());
      return;
    }
  }
  unlink(path);
}

/* Reaps one life whose lock fd (flock'ed by us) says it is over. Returns 0
 * when everything went, -1 when something is left for the next look. */
static int reap_life(docker_client *docker, queue_client *queue, const char *work_dir,
                     const char *life_id, const char *lock_path) {
  char label[96], dir[PATH_MAX];
  snprintf(label, sizeof(label), "%s=%s", AGENT_LABEL_LIFE, life_id);
  json_t *list = NULL;
  unsigned removed = 0;
  int error = docker_container_list(&list, docker, label);
  if (error < 0)
    return error;
  size_t i;
  json_t *item;
  json_array_foreach(list, i, item) {
    const char *id = json_string_value(json_object_get(item, "Id"));
    int rc = id ? docker_container_remove(docker, id, 1) : 0;
    if (rc == 0)
      removed++;
    else if (rc != AIRGAP_ENOTFOUND)
      error = rc;
  }
  json_decref(list);
  if (error < 0)
    return error;
  if (path_join(dir, sizeof(dir), work_dir, LIFE_PREFIX, life_id) < 0)
    return -1;
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)))
      if (e->d_name[0] != '.')
        reap_record(queue, work_dir, dir, e->d_name);
    closedir(d);
  }
  if (rmdir(dir) < 0 && errno != ENOENT)
    return airgap_error_set_errno(AIRGAP_ERROR, "records of dead agent life %s remain in %s",
                                  life_id, dir);
  log_info("agent", "reaped the leftovers of a dead agent (life %s, %u container(s))", life_id,
           removed);
  unlink(lock_path); /* last: while it exists, the life is looked at again */
  return 0;
}

/* Whether any life's records (live or dead) name the run directory name. */
static int recorded(const char *work_dir, const char *name) {
  DIR *d = opendir(work_dir);
  if (!d)
    return 1; /* cannot tell: keep it */
  int found = 0;
  struct dirent *e;
  size_t pre = strlen(LIFE_PREFIX);
  while (!found && (e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (strncmp(e->d_name, LIFE_PREFIX, pre) != 0 || len < strlen(LOCK_SUFFIX) ||
        strcmp(e->d_name + len - strlen(LOCK_SUFFIX), LOCK_SUFFIX) == 0)
      continue;
    char path[PATH_MAX];
    struct stat st;
    int n = snprintf(path, sizeof(path), "%s/%s/%s", work_dir, e->d_name, name);
    found = n < 0 || (size_t)n >= sizeof(path) || lstat(path, &st) == 0;
  }
  closedir(d);
  return found;
}

/* Run directories no life records: left by an agent from before lives were
 * recorded, or by a crash between a record's removal and its directory's
 * (a record is always written before its supervisor starts, so a live run
 * is never without one). */
static int sweep_unrecorded(const char *work_dir) {
  DIR *d = opendir(work_dir);
  if (!d)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot list the work directory %s", work_dir);
  int error = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    char path[PATH_MAX];
    struct stat st;
    if (e->d_name[0] == '.' || recorded(work_dir, e->d_name) ||
        path_join(path, sizeof(path), work_dir, e->d_name, "") < 0 || lstat(path, &st) < 0)
      continue;
    if (S_ISDIR(st.st_mode) ? overlay_reap(path) < 0 || rmdir(path) < 0 : unlink(path) < 0) {
      log_warn("agent", "cannot remove %s: %s", path, airgap_error_last());
      error = -1;
    } else {
      log_info("agent", "removed %s, left by an earlier agent", path);
    }
  }
  closedir(d);
  return error;
}

int agent_life_reap_dead(docker_client *docker, queue_client *queue, const char *work_dir,
                         const agent_life *self) {
  DIR *d = opendir(work_dir);
  if (!d)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot list the work directory %s", work_dir);
  int error = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name), pre = strlen(LIFE_PREFIX), suf = strlen(LOCK_SUFFIX);
    if (len <= pre + suf || strncmp(e->d_name, LIFE_PREFIX, pre) != 0 ||
        strcmp(e->d_name + len - suf, LOCK_SUFFIX) != 0 || len - pre - suf >= 40)
      continue;
    char life_id[40], lock_path[PATH_MAX];
    snprintf(life_id, sizeof(life_id), "%.*s", (int)(len - pre - suf), e->d_name + pre);
    if (self && strcmp(life_id, self->id) == 0)
      continue;
    if (path_join(lock_path, sizeof(lock_path), work_dir, e->d_name, "") < 0)
      continue;
    int fd = open(lock_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
      continue; /* reaped by another agent meanwhile */
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      struct stat st;
      /* Another reaper may have unlinked it between our open and flock. */
      if (fstat(fd, &st) == 0 && st.st_nlink > 0 &&
          reap_life(docker, queue, work_dir, life_id, lock_path) < 0 && error == 0)
        error = -1;
    }
    close(fd);
  }
  closedir(d);
  if (sweep_unrecorded(work_dir) < 0 && error == 0)
    error = -1;
  if (error < 0)
    log_warn("agent", "a dead agent's leftovers remain (will retry): %s", airgap_error_last());
  return error;
}

int agent_life_begin(agent_life **out, const char *work_dir) {
  agent_life *life = calloc(1, sizeof(*life));
  if (!life)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  life->fd = -1;
  int error = 0;
  codec_uuid4(life->id);
  snprintf(life->work_dir, sizeof(life->work_dir), "%s", work_dir);
  if ((error = path_join(life->lock_path, sizeof(life->lock_path), work_dir, LIFE_PREFIX,
                         life->id)) < 0 ||
      (error = path_join(life->dir, sizeof(life->dir), work_dir, LIFE_PREFIX, life->id)) < 0)
    goto fail;
  size_t n = strlen(life->lock_path);
  if (n + strlen(LOCK_SUFFIX) >= sizeof(life->lock_path)) {
    error = airgap_error_set(AIRGAP_EINVALID, "path under %s is too long", work_dir);
    goto fail;
  }
  memcpy(life->lock_path + n, LOCK_SUFFIX, strlen(LOCK_SUFFIX) + 1);
  if (mkdir(life->dir, 0700) < 0) {
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot create %s", life->dir);
    goto fail;
  }
  /* Locked under a name no reaper looks at, then renamed into place: a
   * reaper never sees the lock free before we hold it. */
  char tmp[PATH_MAX + 8];
  snprintf(tmp, sizeof(tmp), "%s.tmp", life->lock_path);
  life->fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (life->fd < 0 || flock(life->fd, LOCK_EX | LOCK_NB) < 0 || rename(tmp, life->lock_path) < 0) {
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot lock %s", life->lock_path);
    unlink(tmp);
    goto fail;
  }
  *out = life;
  return 0;
fail:
  agent_life_end(life);
  return error;
}

int agent_life_record(agent_life *life, const char *job_id, unsigned attempt, const char *lease) {
  char path[PATH_MAX];
  int error = record_path(path, sizeof(path), life->dir, job_id, attempt);
  if (error < 0)
    return error;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot record the lease of job %s in %s", job_id,
                                  path);
  if (fs_write_all(fd, lease, strlen(lease)) < 0 || fsync(fd) < 0)
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot record the lease of job %s", job_id);
  close(fd);
  return error;
}

void agent_life_forget(agent_life *life, const char *job_id, unsigned attempt) {
  char path[PATH_MAX];
  if (record_path(path, sizeof(path), life->dir, job_id, attempt) == 0)
    unlink(path);
}

void agent_life_end(agent_life *life) {
  if (!life)
    return;
  /* Records left (a supervisor still running after a drain gave up on it)
   * keep the life for a later agent to reap; the lock goes with our fd. */
  if (life->dir[0] && rmdir(life->dir) == 0 && life->lock_path[0] && life->fd >= 0)
    unlink(life->lock_path);
  if (life->fd >= 0)
    close(life->fd);
  free(life);
}
