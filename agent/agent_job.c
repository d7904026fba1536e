/*
 * agent_job.c — the job supervisor: one process per job (DESIGN.md, "The
 * flow of one job").
 *
 * It builds the job's world — workspace (overlay snapshot + overlayfs),
 * image and sandbox container side by side; the sandbox owns the network
 * namespace and its one process is the job's own emulator listening on
 * 127.0.0.1:4566 inside it, confined like the job (never in this root
 * process: see agent_emulator.c); the job container is created while the
 * sandbox starts and started once the emulator answers — and takes it down
 * on every path: job and Lambda containers with the sandbox beside them,
 * then workspace, run directory, the final log flush and the final status. Every resource
 * is recorded in one struct as soon as it exists, so the one teardown
 * function serves success, failure, cancel and timeout alike; whatever a
 * crash leaves is labelled or lives under the run directory, for the agent
 * to reap.
 *
 * Helper threads: heartbeats (which bring the cancel flag), the container's
 * log stream, and while setting up and tearing down the image check and the
 * sandbox. The main thread waits for the container in short
 * slices so that cancel, timeout and signals take effect within a second.
 */
#include "agent/agent_int.h"
#include "common/clock.h"
#include "common/docker.h"
#include "common/error.h"
#include "common/log.h"
#include "overlay/overlay.h"
#include "queue/queue.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WAIT_SLICE_MS 1000L
#define LOG_CLOSE_TIMEOUT_MS 15000L
#define COMPLETE_ATTEMPTS 7
#define RELEASE_ATTEMPTS 4
#define MAX_MIRRORS 64 /* a repository and its submodules */

typedef struct job_run {
  const agent_job_params *p;
  queue_client *queue;
  queue_spec *spec;
  agent_log *log;
  docker_client *docker;
  overlay_cache *cache;
  overlay_workspace *ws;
  char run_dir[PATH_MAX];
  int run_dir_made;
  char hosts_file[PATH_MAX]; /* "" unless the sandbox has no /etc/hosts of its own */
  char *sandbox_id;
  agent_channel *channel; /* the emulator's requests for containers */
  char *container_id;
  pthread_t logs_thread;
  int logs_started;
  int sandbox_pidfd; /* the emulator's process, -1: unknown */
  pid_t sandbox_pid;
  pthread_t exit_watch; /* stops the emulator once the job's process ended */
  int exit_watch_started;
  int exit_watch_wake[2];

  pthread_t heartbeat_thread;
  int heartbeat_started;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int heartbeat_stop;
  int cancel;     /* from the queue (atomic) */
  int lease_lost; /* atomic */

  agent_outcome outcome;
  uint64_t started_ms;
} job_run;

static void sleep_ms(uint64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

/* ---- cancel, lease and heartbeats ---- */

static int lease_lost(job_run *r) { return __atomic_load_n(&r->lease_lost, __ATOMIC_SEQ_CST); }

static int cancel_requested(job_run *r) {
  return __atomic_load_n(&r->cancel, __ATOMIC_SEQ_CST) || lease_lost(r) ||
         (r->p->stop_requested && *r->p->stop_requested);
}

static void *heartbeat_main(void *arg) {
  job_run *r = arg;
  unsigned ttl = r->p->lease_ttl ? r->p->lease_ttl : 30;
  uint64_t interval = (uint64_t)ttl * 1000 / 3;
  if (interval > 2000)
    interval = 2000; /* cancel reaches a job within a few seconds */
  if (interval < 500)
    interval = 500;
  pthread_mutex_lock(&r->lock);
  while (!r->heartbeat_stop) {
    struct timespec until;
    clock_monotonic_deadline(&until, interval);
    if (pthread_cond_timedwait(&r->cond, &r->lock, &until) != ETIMEDOUT)
      continue;
    pthread_mutex_unlock(&r->lock);
    int cancel = 0;
    int rc = queue_client_heartbeat(&cancel, r->queue, r->p->job_id, r->p->lease);
    if (rc == 0 && cancel)
      __atomic_store_n(&r->cancel, 1, __ATOMIC_SEQ_CST);
    else if (rc == AIRGAP_EBUSY)
      __atomic_store_n(&r->lease_lost, 1, __ATOMIC_SEQ_CST);
    else if (rc < 0)
      log_warn("agent", "job %s: heartbeat failed (will retry): %s", r->p->job_id,
               airgap_error_last());
    pthread_mutex_lock(&r->lock);
    if (rc == AIRGAP_EBUSY)
      break;
  }
  pthread_mutex_unlock(&r->lock);
  return NULL;
}

static void heartbeat_stop(job_run *r) {
  if (!r->heartbeat_started)
    return;
  pthread_mutex_lock(&r->lock);
  r->heartbeat_stop = 1;
  pthread_cond_signal(&r->cond);
  pthread_mutex_unlock(&r->lock);
  pthread_join(r->heartbeat_thread, NULL);
  r->heartbeat_started = 0;
}

/* ---- the log ---- */

static int send_log(uint64_t *out, uint64_t offset, const void *data, size_t len, void *payload) {
  job_run *r = payload;
  return queue_client_log_append(out, r->queue, r->p->job_id, r->p->lease, offset, data, len);
}

static int on_output(int stream, const char *data, size_t len, void *payload) {
  agent_log_write(payload, data, len);
  return 0;
}

static void *logs_main(void *arg) {
  job_run *r = arg;
  /* Bounded, so a stream the engine never closes cannot hold the teardown. */
  docker_logs_options opts = {
      .follow = 1, .timeout_ms = ((long)(r->spec->timeout ? r->spec->timeout : 3600) + 120) * 1000};
  int rc = docker_container_logs(r->docker, r->container_id, &opts, on_output, r->log);
  if (rc < 0 && rc != AIRGAP_ENOTFOUND)
    log_warn("agent", "job %s: container log stream ended: %s", r->p->job_id, airgap_error_last());
  return NULL;
}

/* Records an infrastructure failure: reason for the status, message for the log. */
static int fail(job_run *r, int error, const char *reason) {
  /* The first failure names the reason; the sandbox thread may fail at the
   * same time as the workspace. */
  const char *none = NULL;
  __atomic_compare_exchange_n(&r->outcome.error_reason, &none, reason, 0, __ATOMIC_SEQ_CST,
                              __ATOMIC_SEQ_CST);
  const char *msg = airgap_error_last();
  log_error("agent", "job %s: %s: %s", r->p->job_id, reason, msg);
  if (r->log)
    agent_log_note(r->log, "error (%s): %s", reason, msg);
  return error;
}

/* ---- setting up ---- */

static int prepare_workspace(job_run *r, char **mirror_paths, size_t *mirror_path_count,
                             char *commit, size_t commit_size) {
  const queue_spec *spec = r->spec;
  overlay_snapshot *snap = NULL;
  uint64_t t = clock_monotonic_ms();
  agent_log_note(r->log, "preparing workspace: %s at %s", spec->repo,
                 spec->commit ? spec->commit : spec->ref);
  int error = overlay_cache_open(&r->cache, r->p->cache_dir);
  if (error < 0)
    return fail(r, error, "workspace");
  /* The queue spells "the remote's default branch" HEAD; overlay wants NULL. */
  const char *ref = spec->ref && strcmp(spec->ref, "HEAD") != 0 ? spec->ref : NULL;
  overlay_request req = {.url = spec->repo,
                         .ref = ref,
                         .commit = spec->commit,
                         .allow_local = r->p->allow_local_repos};
  if ((error = overlay_snapshot_get(&snap, r->cache, &req)) < 0) {
    /* An unreachable remote may come back; an unknown ref, refused
     * credentials or a missing local repository will not. */
    r->outcome.retryable = error == AIRGAP_ERROR && strstr(spec->repo, "://") &&
                           strncmp(spec->repo, "file://", 7) != 0;
    return fail(r, error, "git");
  }

  if (mkdir(r->run_dir, 0700) < 0) {
    if (errno != EEXIST) {
      error =
          airgap_error_set_errno(AIRGAP_ERROR, "cannot create the run directory %s", r->run_dir);
      goto done;
    }
    /* A previous attempt of this job died here: its leftovers go first. */
    if ((error = overlay_reap(r->run_dir)) < 0)
      goto done;
  }
  r->run_dir_made = 1;
  if (agent_network_disabled(r->p->network) &&
      (error = agent_hosts_file(r->hosts_file, sizeof(r->hosts_file), r->run_dir)) < 0)
    goto done;
  overlay_workspace_options ws_opts = {.upper_limit_bytes = r->p->limits.max_disk};
  if ((error = overlay_workspace_create(&r->ws, snap, r->run_dir, &ws_opts)) < 0)
    goto done;
  /* The mirrors the snapshot's .git borrows objects from (submodules'
   * too), bound read-only at their own paths so git works in the job. */
  size_t mirror_count = 0;
  const char *const *mirrors = overlay_snapshot_mirrors(snap, &mirror_count);
  if (mirror_count > MAX_MIRRORS) {
    error = airgap_error_set(AIRGAP_ETOOBIG, "the snapshot borrows from %zu mirrors (at most %d)",
                             mirror_count, MAX_MIRRORS);
    goto done;
  }
  for (size_t i = 0; i < mirror_count; i++) {
    if (!(mirror_paths[i] = strdup(mirrors[i]))) {
      error = airgap_error_set(AIRGAP_ERROR, "out of memory");
      goto done;
    }
    *mirror_path_count = i + 1;
  }
  snprintf(commit, commit_size, "%s", overlay_snapshot_commit(snap));
  agent_log_note(r->log, "workspace ready: commit %s (%llu ms)", commit,
                 (unsigned long long)(clock_monotonic_ms() - t));
done:
  overlay_snapshot_release(snap);
  if (error < 0)
    return fail(r, error, "workspace");
  return 0;
}

/* The sandbox comes up on its own thread. The main thread creates the job
 * container as soon as the sandbox's id is known (the container names the
 * sandbox's network; the engine needs the sandbox running only to start it),
 * so that creation overlaps the sandbox's start and its emulator's. */
typedef struct sandbox_setup {
  job_run *r;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int known; /* under lock: r->sandbox_id is set, or no sandbox will be */
  pid_t pid;
  int error;
} sandbox_setup;

static void sandbox_known(sandbox_setup *s) {
  pthread_mutex_lock(&s->lock);
  s->known = 1;
  pthread_cond_broadcast(&s->cond);
  pthread_mutex_unlock(&s->lock);
}

/* Waits until the sandbox thread knows its container; 0 when there is one. */
static int sandbox_wait_known(sandbox_setup *s) {
  pthread_mutex_lock(&s->lock);
  while (!s->known)
    pthread_cond_wait(&s->cond, &s->lock);
  pthread_mutex_unlock(&s->lock);
  return s->r->sandbox_id ? 0 : -1;
}

static int start_sandbox(job_run *r, sandbox_setup *s, pid_t *out_pid) {
  json_t *config = NULL, *info = NULL;
  char exe[PATH_MAX], image[AGENT_SANDBOX_TAG_MAX];
  char *services = agent_services_list(r->spec);
  int error = services ? 0 : airgap_error_set(AIRGAP_ERROR, "out of memory");
  if (error < 0 || (error = agent_emulator_exe(exe, sizeof(exe), r->p->pause_path)) < 0 ||
      (error = agent_sandbox_image_ensure(image, sizeof(image), r->docker, exe)) < 0)
    goto cleanup;
  agent_sandbox_params params = {.image = image,
                                 .network = r->p->network,
                                 .agent_id = r->p->agent_id,
                                 .job_id = r->p->job_id,
                                 .services = services};
  if ((error = agent_emulator_sandbox_config(&config, &params)) < 0 ||
      (error = agent_container_label_life(config, r->p->life_id)) < 0)
    goto cleanup;
  error = docker_container_create(&r->sandbox_id, r->docker, NULL, config);
  sandbox_known(s);
  log_debug("agent", "job %s: sandbox created at +%llu ms", r->p->job_id,
            (unsigned long long)(clock_monotonic_ms() - r->started_ms));
  if (error < 0 || (error = docker_container_start(r->docker, r->sandbox_id)) < 0 ||
      (error = docker_container_inspect(&info, r->docker, r->sandbox_id)) < 0)
    goto cleanup;
  json_int_t pid = json_integer_value(json_object_get(json_object_get(info, "State"), "Pid"));
  if (pid <= 0) {
    error = airgap_error_set(AIRGAP_ERROR,
                             "the sandbox container %.12s is not running (did its emulator start? "
                             "see `docker logs %.12s`)",
                             r->sandbox_id, r->sandbox_id);
    goto cleanup;
  }
  *out_pid = (pid_t)pid;
cleanup:
  free(services);
  json_decref(config);
  json_decref(info);
  return error < 0 ? fail(r, error, "sandbox") : 0;
}

/* A sandbox started before the lease (the agent's warm one, or `airgap
 * run`'s, which may still be starting) is taken over when it is one, serves
 * the job's services and has not failed; otherwise it is removed and the
 * caller starts one. AIRGAP_ENOTFOUND: not usable. */
static int adopt_sandbox(job_run *r) {
  /* From the engine's list, not an inspect: an inspect waits for the
   * container's lock, which the engine holds through a start under way,
   * and the job container is created while the sandbox starts. */
  char label[256];
  json_t *list = NULL, *info = NULL, *item;
  size_t i;
  snprintf(label, sizeof(label), "airgap.agent=%s", r->p->agent_id);
  int error = docker_container_list(&list, r->docker, label);
  json_array_foreach(list, i, item) {
    const char *id = json_string_value(json_object_get(item, "Id"));
    if (id && strcmp(id, r->p->sandbox_id) == 0)
      info = item;
  }
  const char *status = json_string_value(json_object_get(info, "State"));
  json_t *labels = json_object_get(info, "Labels");
  const char *role = json_string_value(json_object_get(labels, "airgap.role"));
  const char *served = json_string_value(json_object_get(labels, AGENT_LABEL_SERVICES));
  char *services = agent_services_list(r->spec);
  /* A sandbox from before the label served every service. */
  int usable = error == 0 && services && status &&
               (strcmp(status, "running") == 0 || strcmp(status, "created") == 0) && role &&
               strcmp(role, "sandbox") == 0 && strcmp(served ? served : "", services) == 0;
  free(services);
  json_decref(list);
  if (!usable) {
    log_info("agent", "job %s: the sandbox %.12s started ahead is not usable; starting another",
             r->p->job_id, r->p->sandbox_id);
    docker_container_remove(r->docker, r->p->sandbox_id, 1);
    return AIRGAP_ENOTFOUND;
  }
  if (!(r->sandbox_id = strdup(r->p->sandbox_id)))
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  return 0;
}

/* Waits until the adopted sandbox runs: `airgap run` starts it while the job
 * is queued and leased, so it may not yet. A start that failed shows as the
 * engine's State.Error (or the container gone). */
static int adopted_sandbox_pid(job_run *r, pid_t *out_pid) {
  uint64_t deadline = clock_monotonic_ms() + AGENT_EMULATOR_READY_MS;
  uint64_t pause = 2;
  for (;;) {
    json_t *info = NULL;
    int error = docker_container_inspect(&info, r->docker, r->sandbox_id);
    json_t *state = json_object_get(info, "State");
    const char *status = json_string_value(json_object_get(state, "Status"));
    const char *why = json_string_value(json_object_get(state, "Error"));
    json_int_t pid = json_integer_value(json_object_get(state, "Pid"));
    int starting = error == 0 && status && strcmp(status, "created") == 0 && !(why && *why);
    if (error == 0 && json_is_true(json_object_get(state, "Running")) && pid > 0) {
      json_decref(info);
      *out_pid = (pid_t)pid;
      return 0;
    }
    if (error == 0 && (!starting || clock_monotonic_ms() >= deadline))
      error =
          airgap_error_set(AIRGAP_ERROR,
                           "the sandbox container %.12s did not start%s%s (see `docker logs "
                           "%.12s`)",
                           r->sandbox_id, why && *why ? ": " : "", why ? why : "", r->sandbox_id);
    json_decref(info);
    if (error < 0)
      return fail(r, error, "sandbox");
    sleep_ms(pause);
    pause = pause * 2 > 20 ? 20 : pause * 2;
  }
}

/* The emulator is the sandbox's own process: the job starts only once it
 * answers on localhost:4566 inside the job's namespace. */
static int wait_emulator(job_run *r, pid_t sandbox_pid) {
  int error = agent_netns_wait_listening(sandbox_pid, AGENT_EMULATOR_PORT, AGENT_EMULATOR_READY_MS);
  if (error < 0)
    return fail(r, error, "emulator");
  /* Answering, so this pid is still the emulator's (exit_watch_main). */
  r->sandbox_pidfd = (int)syscall(SYS_pidfd_open, sandbox_pid, 0);
  r->sandbox_pid = sandbox_pid;
  /* What the confined emulator may not do itself (start Lambda containers)
   * it asks of us, and only in this job's namespace with its limits. */
  int64_t memory = 0;
  if (r->spec->memory)
    agent_memory_parse(&memory, r->spec->memory); /* checked before anything started */
  agent_channel_params channel = {.name = AGENT_CHANNEL_NAME,
                                  .docker_socket = docker_client_socket(r->docker),
                                  .sandbox_id = r->sandbox_id,
                                  .sandbox_pid = sandbox_pid,
                                  .peer_pid = sandbox_pid,
                                  .agent_id = r->p->agent_id,
                                  .job_id = r->p->job_id,
                                  .memory = memory,
                                  .pids = r->spec->pids ? r->spec->pids : AGENT_DEFAULT_PIDS,
                                  .hosts_file = r->hosts_file[0] ? r->hosts_file : NULL};
  if ((error = agent_channel_start(&r->channel, &channel)) < 0)
    return fail(r, error, "emulator");
  agent_log_note(r->log,
                 "emulator listening on localhost:%d inside the job's network (its own container, "
                 "uid %d, no capabilities)",
                 AGENT_EMULATOR_PORT, AGENT_EMULATOR_UID);
  return 0;
}

/* Creates the job container in the sandbox's network; it starts once the
 * emulator answers (start_job_container). */
static int create_job_container(job_run *r, const char *commit, char **mirror_paths,
                                size_t mirror_path_count) {
  json_t *config = NULL;
  agent_container_params params = {.agent_id = r->p->agent_id,
                                   .job_id = r->p->job_id,
                                   .commit = commit,
                                   .sandbox_id = r->sandbox_id,
                                   .workspace = overlay_workspace_path(r->ws),
                                   .ro_binds = (const char *const *)mirror_paths,
                                   .ro_bind_count = mirror_path_count,
                                   .user = r->p->user,
                                   .hosts_file = r->hosts_file[0] ? r->hosts_file : NULL};
  int error = agent_container_job_config(&config, r->spec, &params);
  if (error == 0)
    error = agent_container_label_life(config, r->p->life_id);
  if (error == 0)
    error = docker_container_create(&r->container_id, r->docker, NULL, config);
  json_decref(config);
  if (error < 0)
    return fail(r, error, "container");
  log_debug("agent", "job %s: job container created at +%llu ms", r->p->job_id,
            (unsigned long long)(clock_monotonic_ms() - r->started_ms));
  return 0;
}

/* The emulator is of no use once the job container's process has ended,
 * and stopping a container costs the engine ~150 ms of exit handling here
 * (shim, rootfs, cgroup), which the teardown would otherwise wait for after
 * the job's own. So a thread watches the job's process (a pidfd: its end is
 * known at once, before the engine's wait answers) and kills the emulator
 * then, so that both containers' exits are handled side by side. The
 * emulator's pidfd was opened while it ran, so no reused pid is signalled. */
static void *exit_watch_main(void *arg) {
  job_run *r = arg;
  int job_pidfd = -1, gone = 0;
  pid_t pid = 0;
  /* From /proc first: the engine's inspect would wait out the exit handling
   * of a job that already ended, which is what this is to overlap. */
  int found = agent_netns_joined_init(&pid, r->sandbox_pid);
  if (found == AIRGAP_ENOTFOUND) {
    gone = 1; /* it was started, and no process of it is left */
  } else if (found < 0) {
    json_t *info = NULL;
    if (docker_container_inspect(&info, r->docker, r->container_id) == 0) {
      json_t *state = json_object_get(info, "State");
      pid = (pid_t)json_integer_value(json_object_get(state, "Pid"));
      gone = pid <= 0 && !json_is_true(json_object_get(state, "Running"));
    }
    json_decref(info);
  }
  if (pid > 0 && (job_pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
    gone = errno == ESRCH; /* ended before we looked */
  if (job_pidfd >= 0) {
    struct pollfd fds[2] = {{.fd = job_pidfd, .events = POLLIN},
                            {.fd = r->exit_watch_wake[0], .events = POLLIN}};
    while (poll(fds, 2, -1) < 0 && errno == EINTR)
      ;
    gone = (fds[0].revents & POLLIN) != 0;
    close(job_pidfd);
  }
  if (gone && syscall(SYS_pidfd_send_signal, r->sandbox_pidfd, SIGKILL, NULL, 0) == 0)
    log_debug("agent", "job %s: job process ended, emulator stopped at +%llu ms", r->p->job_id,
              (unsigned long long)(clock_monotonic_ms() - r->started_ms));
  return NULL;
}

static void exit_watch_start(job_run *r) {
  if (r->sandbox_pidfd < 0 || pipe2(r->exit_watch_wake, O_CLOEXEC) < 0)
    return; /* the teardown stops the emulator, only later */
  if (pthread_create(&r->exit_watch, NULL, exit_watch_main, r) == 0) {
    r->exit_watch_started = 1;
    return;
  }
  close(r->exit_watch_wake[0]);
  close(r->exit_watch_wake[1]);
}

static void exit_watch_stop(job_run *r) {
  if (r->exit_watch_started) {
    (void)!write(r->exit_watch_wake[1], "x", 1);
    pthread_join(r->exit_watch, NULL);
    close(r->exit_watch_wake[0]);
    close(r->exit_watch_wake[1]);
    r->exit_watch_started = 0;
  }
  if (r->sandbox_pidfd >= 0)
    close(r->sandbox_pidfd);
  r->sandbox_pidfd = -1;
}

static int start_job_container(job_run *r) {
  int error = docker_container_start(r->docker, r->container_id);
  if (error < 0)
    return fail(r, error, "container");
  if (pthread_create(&r->logs_thread, NULL, logs_main, r) == 0)
    r->logs_started = 1;
  else
    agent_log_note(r->log, "cannot stream the container's output; the log will be empty");
  exit_watch_start(r);
  return 0;
}

static void *sandbox_main(void *arg) {
  sandbox_setup *s = arg;
  job_run *r = s->r;
  if (r->p->sandbox_id && adopt_sandbox(r) == 0) {
    sandbox_known(s); /* the job container may be created while it starts */
    s->error = adopted_sandbox_pid(r, &s->pid);
    log_debug("agent", "job %s: sandbox running at +%llu ms", r->p->job_id,
              (unsigned long long)(clock_monotonic_ms() - r->started_ms));
    return NULL;
  }
  s->error = start_sandbox(r, s, &s->pid);
  sandbox_known(s); /* again, for the failures before its creation */
  log_debug("agent", "job %s: sandbox running at +%llu ms", r->p->job_id,
            (unsigned long long)(clock_monotonic_ms() - r->started_ms));
  return NULL;
}

/* The image (per the pull policy), on a thread of its own: a pull and a
 * clone are the slow steps, and neither needs the other. */
typedef struct image_setup {
  job_run *r;
  int error;
} image_setup;

static void *image_main(void *arg) {
  image_setup *s = arg;
  job_run *r = s->r;
  s->error = agent_image_ensure(r->docker, r->spec->image, r->p->pull, r->log);
  if (s->error < 0)
    fail(r, s->error, s->error == AIRGAP_ENOTFOUND ? "image_pull" : "docker");
  log_debug("agent", "job %s: image checked at +%llu ms", r->p->job_id,
            (unsigned long long)(clock_monotonic_ms() - r->started_ms));
  return NULL;
}

/* Waits for the job container, applying cancel and timeout. */
static void wait_job_container(job_run *r) {
  uint64_t started = clock_monotonic_ms();
  uint64_t deadline = started + (uint64_t)(r->spec->timeout ? r->spec->timeout : 3600) * 1000u;
  int killed = 0;
  for (;;) {
    int code = 0;
    int rc = docker_container_wait(&code, r->docker, r->container_id, WAIT_SLICE_MS);
    if (rc == 0) {
      r->outcome.has_exit_code = 1;
      r->outcome.exit_code = code;
      break;
    }
    if (rc != AIRGAP_ETIMEOUT) {
      fail(r, rc, "container");
      return;
    }
    if (killed)
      continue;
    if (cancel_requested(r)) {
      r->outcome.canceled = 1;
      agent_log_note(r->log, "%s: stopping the job",
                     lease_lost(r) ? "the job's lease was lost" : "canceled");
    } else if (clock_monotonic_ms() >= deadline) {
      r->outcome.timed_out = 1;
      agent_log_note(r->log, "timed out after %u s: stopping the job", r->spec->timeout);
    } else {
      continue;
    }
    docker_container_kill(r->docker, r->container_id, "SIGKILL");
    killed = 1;
  }
  log_debug("agent", "job %s: job container exited at +%llu ms", r->p->job_id,
            (unsigned long long)(clock_monotonic_ms() - r->started_ms));
  /* The stream ends with the container: read it to the end first, so the
   * job's last output comes before the lines below. */
  if (r->logs_started) {
    pthread_join(r->logs_thread, NULL);
    r->logs_started = 0;
  }
  json_t *info = NULL;
  if (docker_container_inspect(&info, r->docker, r->container_id) == 0)
    r->outcome.oom_killed =
        json_is_true(json_object_get(json_object_get(info, "State"), "OOMKilled"));
  json_decref(info);
  if (r->outcome.oom_killed)
    agent_log_note(r->log, "the job ran out of memory and was killed");
  agent_log_note(r->log, "container exited with code %d after %llu ms", r->outcome.exit_code,
                 (unsigned long long)(clock_monotonic_ms() - started));
}

/* ---- tearing down: always this order ---- */

/* The sandbox goes on a thread of its own while the job's containers go:
 * once the channel is closed and the job container is dead nothing new
 * joins its network, and a container that shares the network keeps it until
 * it goes itself, so the two removals need not wait for each other. */
static void *sandbox_remove_main(void *arg) {
  job_run *r = arg;
  int rc = docker_container_remove(r->docker, r->sandbox_id, 1);
  if (rc < 0 && rc != AIRGAP_ENOTFOUND)
    log_warn("agent", "job %s: %s", r->p->job_id, airgap_error_last());
  log_debug("agent", "job %s: teardown: emulator and sandbox gone at +%llu ms", r->p->job_id,
            (unsigned long long)(clock_monotonic_ms() - r->started_ms));
  return NULL;
}

static void teardown(job_run *r) {
  uint64_t t = clock_monotonic_ms();
  /* 0. the emulator's channel: no container is started from here on. */
  agent_channel_stop(r->channel);
  r->channel = NULL;
  exit_watch_stop(r);
  /* 1. the job container, then any other container of the job (Lambda).
   * A container still running is stopped first and its log stream read to
   * the end before it is removed: a job that exits within milliseconds must
   * not lose its output to the removal. One that exited has had its stream
   * read already (wait_job_container). */
  if (r->docker && r->container_id && !r->outcome.has_exit_code)
    docker_container_kill(r->docker, r->container_id, "SIGKILL");
  if (r->logs_started) {
    pthread_join(r->logs_thread, NULL);
    r->logs_started = 0;
  }
  /* 2. the sandbox, with the emulator it runs, beside them. */
  pthread_t sandbox_thread;
  int sandbox_async = 0;
  if (r->docker && r->sandbox_id) {
    sandbox_async = pthread_create(&sandbox_thread, NULL, sandbox_remove_main, r) == 0;
    if (!sandbox_async)
      sandbox_remove_main(r);
  }
  if (r->docker) {
    if (r->container_id) {
      int rc = docker_container_remove(r->docker, r->container_id, 1);
      if (rc < 0 && rc != AIRGAP_ENOTFOUND)
        log_warn("agent", "job %s: %s", r->p->job_id, airgap_error_last());
    }
    if (agent_containers_reap(NULL, r->docker, r->p->agent_id, r->p->job_id, r->sandbox_id) < 0)
      log_warn("agent", "job %s: %s", r->p->job_id, airgap_error_last());
  }
  log_debug("agent", "job %s: teardown: job containers gone at +%llu ms", r->p->job_id,
            (unsigned long long)(clock_monotonic_ms() - r->started_ms));
  if (sandbox_async)
    pthread_join(sandbox_thread, NULL);
  /* 4. the workspace, 5. the run directory. */
  if (r->ws && overlay_workspace_destroy(r->ws) < 0)
    log_warn("agent", "job %s: %s", r->p->job_id, airgap_error_last());
  r->ws = NULL;
  if (r->run_dir_made) {
    if (overlay_reap(r->run_dir) < 0 || rmdir(r->run_dir) < 0)
      log_warn("agent", "job %s: run directory %s left for reaping: %s", r->p->job_id, r->run_dir,
               airgap_error_last());
    r->run_dir_made = 0;
  }
  if (r->log)
    agent_log_note(r->log, "cleaned up in %llu ms; job took %llu ms",
                   (unsigned long long)(clock_monotonic_ms() - t),
                   (unsigned long long)(clock_monotonic_ms() - r->started_ms));
}

/* A temporary failure: the job goes back to the queue at once (the queue
 * counts the attempt and ends the job errored with our reason once it has had
 * its attempts). Should the queue be unreachable too, the job is left for its
 * lease to expire, which requeues it just the same, only later. */
static int hand_back(job_run *r, const agent_status *status) {
  const char *reason = status->reason ? status->reason : "infrastructure";
  uint64_t backoff = 250;
  for (int attempt = 0; attempt < RELEASE_ATTEMPTS; attempt++) {
    int rc = queue_client_release(r->queue, r->p->job_id, r->p->lease, reason);
    if (rc == 0) {
      log_warn("agent", "job %s: %s looks temporary; handed the job back to the queue",
               r->p->job_id, reason);
      return 0;
    }
    if (rc == AIRGAP_EBUSY || rc == AIRGAP_ENOTFOUND) {
      log_warn("agent", "job %s: the queue no longer holds our lease: %s", r->p->job_id,
               airgap_error_last());
      return 0;
    }
    if (rc == AIRGAP_EINVALID || rc == AIRGAP_EAUTH)
      break;
    log_warn("agent", "job %s: handing it back failed (attempt %d): %s", r->p->job_id, attempt + 1,
             airgap_error_last());
    sleep_ms(backoff);
    backoff *= 2;
  }
  log_warn("agent",
           "job %s: cannot hand it back (%s); leaving it to requeue when its lease expires",
           r->p->job_id, airgap_error_last());
  return AGENT_JOB_REQUEUE;
}

/* 7. the final status, retried with backoff, bounded. */
static int report(job_run *r) {
  agent_status status;
  agent_status_from_outcome(&status, &r->outcome);
  if (r->outcome.retryable && !cancel_requested(r))
    return hand_back(r, &status);
  if (lease_lost(r)) {
    log_warn("agent", "job %s: lease lost; not reporting %s", r->p->job_id, status.status);
    return 0;
  }
  uint64_t backoff = 250;
  for (int attempt = 0; attempt < COMPLETE_ATTEMPTS; attempt++) {
    int rc = queue_client_complete(r->queue, r->p->job_id, r->p->lease, status.status,
                                   status.reason, status.exit_code);
    if (rc == 0) {
      log_info("agent", "job %s: %s%s%s", r->p->job_id, status.status, status.reason ? "/" : "",
               status.reason ? status.reason : "");
      return 0;
    }
    if (rc == AIRGAP_EBUSY || rc == AIRGAP_ENOTFOUND) {
      log_warn("agent", "job %s: the queue no longer holds our lease: %s", r->p->job_id,
               airgap_error_last());
      return 0;
    }
    if (rc == AIRGAP_EINVALID || rc == AIRGAP_EAUTH)
      break;
    log_warn("agent", "job %s: reporting %s failed (attempt %d): %s", r->p->job_id, status.status,
             attempt + 1, airgap_error_last());
    sleep_ms(backoff);
    backoff = backoff * 2 > 8000 ? 8000 : backoff * 2;
  }
  log_error("agent", "job %s: cannot report its final status: %s", r->p->job_id,
            airgap_error_last());
  return -1;
}

int agent_job_run(const agent_job_params *p) {
  job_run run = {.p = p, .started_ms = clock_monotonic_ms(), .sandbox_pidfd = -1};
  job_run *r = &run;
  char *mirror_paths[MAX_MIRRORS] = {0};
  size_t mirror_path_count = 0;
  char commit[64] = "";
  pthread_mutex_init(&r->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&r->cond, &attr);
  pthread_condattr_destroy(&attr);

  int error = 0;
  if (!agent_job_id_valid(p->job_id)) {
    log_error("agent", "refusing job id '%.80s': not a plain identifier", p->job_id);
    error = -1;
    goto out;
  }
  if (queue_client_new(&r->queue, p->queue_url, p->token) < 0) {
    log_error("agent", "job %s: %s", p->job_id, airgap_error_last());
    error = -1;
    goto out;
  }
  queue_spec_error spec_error;
  int spec_rc = queue_spec_parse(&r->spec, p->spec_json, strlen(p->spec_json), &spec_error);
  const char **secrets = NULL;
  size_t secret_count = r->spec ? r->spec->secret_count : 0;
  if (secret_count && (secrets = calloc(secret_count, sizeof(*secrets))))
    for (size_t i = 0; i < secret_count; i++)
      secrets[i] = r->spec->secrets[i].value;
  /* Never run a job whose secrets could not be set up for masking. */
  error = secret_count && !secrets
              ? airgap_error_set(AIRGAP_ERROR, "out of memory for the secret list")
              : agent_log_new(&r->log, secrets, secret_count, NULL, send_log, r);
  free(secrets);
  if (error < 0) {
    log_error("agent", "job %s: %s", p->job_id, airgap_error_last());
    r->outcome.error_reason = "infrastructure";
    goto finish;
  }
  if (pthread_create(&r->heartbeat_thread, NULL, heartbeat_main, r) == 0)
    r->heartbeat_started = 1;
  if (spec_rc < 0) {
    fail(r, spec_rc, "spec");
    goto finish;
  }
  /* One directory per attempt: a stale supervisor of an earlier attempt
   * (its lease expired while it was cut off from the queue) keeps its own. */
  if ((error = agent_run_dir(r->run_dir, sizeof(r->run_dir), p->work_dir, p->job_id, p->attempt)) <
      0) {
    fail(r, error, "workspace");
    goto finish;
  }
  /* A rerun's log starts with a separator naming the attempt; the queue's
   * own note just above it says why the earlier attempt ended. */
  if (p->attempt > 1)
    agent_log_note(r->log,
                   "======== attempt %u: rerun after attempt %u ended without a result "
                   "(see above) ========",
                   p->attempt, p->attempt - 1);
  agent_log_note(r->log, "job %s on agent %s, image %s", p->job_id, p->agent_id, r->spec->image);
  const char *limit_reason = "spec";
  if ((error = agent_limits_apply(r->spec, &p->limits, &limit_reason)) < 0) {
    fail(r, error, limit_reason); /* refused before anything is set up */
    goto finish;
  }

  if (docker_client_new(&r->docker, p->docker_host) < 0 || docker_ping(r->docker) < 0) {
    r->outcome.retryable = 1; /* the engine may be restarting */
    fail(r, -1, "docker");
    goto teardown;
  }
  /* The image, the sandbox and the workspace come up side by side; the job
   * container is created while the sandbox starts, and started once the
   * emulator in it answers. */
  sandbox_setup sandbox = {.r = r};
  image_setup image = {.r = r};
  pthread_mutex_init(&sandbox.lock, NULL);
  pthread_cond_init(&sandbox.cond, NULL);
  pthread_t sandbox_thread, image_thread;
  int sandbox_async = pthread_create(&sandbox_thread, NULL, sandbox_main, &sandbox) == 0;
  if (!sandbox_async)
    sandbox_main(&sandbox);
  int image_async = pthread_create(&image_thread, NULL, image_main, &image) == 0;
  if (!image_async)
    image_main(&image);
  int ws_error = prepare_workspace(r, mirror_paths, &mirror_path_count, commit, sizeof(commit));
  log_debug("agent", "job %s: workspace ready at +%llu ms", p->job_id,
            (unsigned long long)(clock_monotonic_ms() - r->started_ms));
  if (image_async)
    pthread_join(image_thread, NULL);
  int setup_error = ws_error < 0 || image.error < 0 ? -1 : 0;
  if (setup_error == 0 && sandbox_wait_known(&sandbox) == 0)
    setup_error = create_job_container(r, commit, mirror_paths, mirror_path_count);
  if (sandbox_async)
    pthread_join(sandbox_thread, NULL);
  pthread_cond_destroy(&sandbox.cond);
  pthread_mutex_destroy(&sandbox.lock);
  if (setup_error < 0 || sandbox.error < 0)
    goto teardown;
  uint64_t t = clock_monotonic_ms();
  if (cancel_requested(r))
    goto canceled;
  if (wait_emulator(r, sandbox.pid) < 0)
    goto teardown;
  if (cancel_requested(r))
    goto canceled;
  log_debug("agent", "job %s: emulator up at +%llu ms", p->job_id,
            (unsigned long long)(clock_monotonic_ms() - r->started_ms));
  if (start_job_container(r) < 0)
    goto teardown;
  log_debug("agent", "job %s: job container started at +%llu ms", p->job_id,
            (unsigned long long)(clock_monotonic_ms() - r->started_ms));
  agent_log_note(r->log,
                 "job container started (%llu ms after the workspace and sandbox were ready, "
                 "%llu ms after the supervisor started)",
                 (unsigned long long)(clock_monotonic_ms() - t),
                 (unsigned long long)(clock_monotonic_ms() - r->started_ms));
  wait_job_container(r);
  goto teardown;

canceled:
  r->outcome.canceled = 1;
  agent_log_note(r->log, "canceled before the job started");
teardown:
  teardown(r);
finish:
  if (r->log) {
    if (r->outcome.retryable && !cancel_requested(r))
      agent_log_note(r->log, "this failure may be temporary: the job goes back to the queue");
    int rc = agent_log_close(r->log, LOG_CLOSE_TIMEOUT_MS);
    if (rc < 0 && rc != AIRGAP_EBUSY)
      log_warn("agent", "job %s: %s", p->job_id, airgap_error_last());
  }
  error = report(r);
  heartbeat_stop(r);
out:
  for (size_t i = 0; i < mirror_path_count; i++)
    free(mirror_paths[i]);
  agent_log_free(r->log);
  docker_client_free(r->docker);
  free(r->sandbox_id);
  free(r->container_id);
  overlay_cache_free(r->cache);
  queue_spec_free(r->spec);
  queue_client_free(r->queue);
  pthread_cond_destroy(&r->cond);
  pthread_mutex_destroy(&r->lock);
  return error;
}
