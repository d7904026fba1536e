/*
 * agent_loop.c — the agent: leases jobs and runs each in its own supervisor
 * process (the same `airgap` binary, `airgap agent --supervise`), up to N at
 * once.
 *
 * A supervisor gets its job over a pipe on stdin (agent_handoff.c: the spec
 * holds secrets, which must not show in argv or the environment; its text
 * goes on as the queue gave it, unparsed here), runs in its own process
 * group (a Ctrl-C reaches only the agent, which decides what to cancel) and
 * outlives the agent: after a `kill -9` of the agent its supervisors keep
 * their leases alive and finish their jobs, holding the agent life's lock
 * (agent_life.c) until the last of them ends; only then may another agent
 * reap what is left and hand back the leases recorded. A supervisor that
 * exits without reporting (a crash) gets its job reported errored by the
 * agent, after the agent has removed its containers and run directory.
 *
 * Signals only set flags (see agent_options); the loop polls them between
 * lease requests, which are kept short so a drain takes effect quickly.
 */
#include "agent/agent.h"
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
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define LEASE_WAIT_S 2
/* Looks for dead agent lives this often: a readdir and a flock each. */
#define REAP_EVERY_MS 1000
#define LIFE_FD 3 /* where a supervisor holds the life's lock */
#define MAX_SLOTS 256

typedef struct slot {
  pid_t pid;
  char *job_id;
  char *lease;
  char *sandbox_id; /* the warm sandbox handed to the job, if any */
  unsigned attempt; /* names the run directory <job>.<attempt> */
  int pidfd;        /* readable once the supervisor ended; -1: none */
} slot;

#define WARM_RETRY_MS 30000

/* Starts a sandbox before any job is known, so a leased job finds its
 * network namespace ready: starting it is the largest fixed cost of a job. */
static int warm_start(char **out, docker_client *docker, const agent_options *o,
                      const agent_life *life, const char *image) {
  json_t *config = NULL;
  char *id = NULL;
  int error = agent_container_sandbox_config(&config, image, o->network, o->agent_id, NULL);
  if (error == 0)
    error = agent_container_label_life(config, agent_life_id(life));
  if (error == 0)
    error = docker_container_create(&id, docker, NULL, config);
  if (error == 0)
    error = docker_container_start(docker, id);
  json_decref(config);
  if (error < 0) {
    if (id)
      docker_container_remove(docker, id, 1);
    free(id);
    return error;
  }
  *out = id;
  return 0;
}

static void sandbox_remove(docker_client *docker, char **id) {
  if (*id) {
    int rc = docker_container_remove(docker, *id, 1);
    if (rc < 0 && rc != AIRGAP_ENOTFOUND)
      log_warn("agent", "cannot remove sandbox %.12s: %s", *id, airgap_error_last());
  }
  free(*id);
  *id = NULL;
}

static void sleep_ms(uint64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL); /* a signal cutting it short is what we want */
}

/* Waits up to ms for a running supervisor to exit (or a signal): a pidfd of
 * each becomes readable when it ends, so a finished job frees its slot, and
 * ends a drain, at once instead of at the next tick. Without pidfds (before
 * Linux 5.3) it sleeps. Flags set by signals are still seen within ms. */
static void wait_supervisors(const slot *slots, unsigned count, uint64_t ms) {
  struct pollfd fds[MAX_SLOTS];
  nfds_t n = 0;
  for (unsigned i = 0; i < count; i++)
    if (slots[i].pidfd >= 0 && slots[i].pid)
      fds[n++] = (struct pollfd){.fd = slots[i].pidfd, .events = POLLIN};
  if (n == 0) {
    sleep_ms(ms);
    return;
  }
  poll(fds, n, (int)ms);
}

static int flag(volatile const int *f) { return f && *f; }

static int spawn_supervisor(pid_t *out, const agent_options *o, const queue_job *job,
                            const char *sandbox_id, const agent_life *life,
                            const agent_limits *limits) {
  int error = 0;
  int fds[2] = {-1, -1};
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  agent_handoff handoff = {
      .job =
          {
              .queue_url = o->queue_url,
              .token = o->token,
              .agent_id = o->agent_id,
              .job_id = job->id,
              .lease = job->lease,
              .lease_ttl = job->lease_ttl,
              .spec_json = job->spec_json,
              .cache_dir = o->cache_dir,
              .work_dir = o->work_dir,
              .attempt = job->attempts,
              .network = o->network,
              .pause_path = o->pause_path,
              .user = o->user,
              .pull = o->pull,
              .docker_host = o->docker_host,
              .sandbox_id = sandbox_id,
              .allow_local_repos = o->allow_local_repos,
              .life_id = agent_life_id(life),
              .limits = *limits,
          },
      .parent = getpid(),
      .log_level = (int)log_level_get(),
  };

  if (pipe2(fds, O_CLOEXEC) < 0) {
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot create a pipe for the job supervisor");
    goto cleanup;
  }
  posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
  /* The supervisor holds the life's lock as long as it lives. */
  posix_spawn_file_actions_adddup2(&actions, agent_life_fd(life), LIFE_FD);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  char *argv[] = {"airgap", "agent", "--supervise", NULL};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, o->self_exe, &actions, &attr, argv, environ);
  if (rc != 0) {
    errno = rc;
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot start the job supervisor %s", o->self_exe);
    goto cleanup;
  }
  close(fds[0]);
  fds[0] = -1;
  if (agent_handoff_write(fds[1], &handoff) < 0)
    log_warn("agent", "job %s: %s", job->id, airgap_error_last());
  *out = pid;

cleanup:
  if (fds[0] >= 0)
    close(fds[0]);
  if (fds[1] >= 0)
    close(fds[1]);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  return error;
}

/* A supervisor ended without reporting: clean up after it and report. */
static void supervisor_crashed(const agent_options *o, queue_client *queue, docker_client *docker,
                               const slot *s, int status) {
  char what[64];
  if (WIFSIGNALED(status))
    snprintf(what, sizeof(what), "was killed by signal %d", WTERMSIG(status));
  else
    snprintf(what, sizeof(what), "exited with status %d", WEXITSTATUS(status));
  log_error("agent", "job %s: the job supervisor %s; reaping and reporting errored", s->job_id,
            what);
  if (agent_containers_reap(NULL, docker, o->agent_id, s->job_id, NULL) < 0)
    log_warn("agent", "job %s: %s", s->job_id, airgap_error_last());
  char run_dir[PATH_MAX];
  if (agent_run_dir(run_dir, sizeof(run_dir), o->work_dir, s->job_id, s->attempt) == 0) {
    struct stat st;
    if (lstat(run_dir, &st) == 0 && (overlay_reap(run_dir) < 0 || rmdir(run_dir) < 0))
      log_warn("agent", "job %s: cannot remove %s: %s", s->job_id, run_dir, airgap_error_last());
  }
  /* An agent token may not read jobs, so the log's end is learned the way
   * the append contract offers: an offset past the end is answered with the
   * server's offset. */
  char line[160];
  int n = snprintf(line, sizeof(line), "\n" AGENT_LOG_MARK "the job supervisor %s\n", what);
  uint64_t server = 0;
  int rc = queue_client_log_append(&server, queue, s->job_id, s->lease, (uint64_t)1 << 60, line,
                                   (size_t)n);
  if (rc == AIRGAP_EINVALID)
    rc = queue_client_log_append(&server, queue, s->job_id, s->lease, server, line, (size_t)n);
  if (rc < 0)
    log_warn("agent", "job %s: cannot append to its log: %s", s->job_id, airgap_error_last());
  if (rc != AIRGAP_EBUSY &&
      queue_client_complete(queue, s->job_id, s->lease, "errored", "supervisor_crashed", -1) < 0)
    log_warn("agent", "job %s: cannot report it errored: %s", s->job_id, airgap_error_last());
}

static void slot_clear(slot *s) {
  free(s->job_id);
  free(s->lease);
  free(s->sandbox_id);
  if (s->pidfd >= 0)
    close(s->pidfd);
  memset(s, 0, sizeof(*s));
  s->pidfd = -1;
}

/* Collects ended supervisors; returns how many still run. */
static unsigned collect(const agent_options *o, queue_client *queue, docker_client *docker,
                        agent_life *life, slot *slots, unsigned count, int block) {
  unsigned running = 0;
  for (unsigned i = 0; i < count; i++) {
    if (!slots[i].pid)
      continue;
    int status = 0;
    pid_t pid = waitpid(slots[i].pid, &status, block ? 0 : WNOHANG);
    if (pid == slots[i].pid) {
      if (WIFEXITED(status) && WEXITSTATUS(status) == AGENT_EXIT_REQUEUE)
        log_warn("agent", "job %s: left to go back to the queue when its lease expires",
                 slots[i].job_id);
      else if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        supervisor_crashed(o, queue, docker, &slots[i], status);
      else
        log_info("agent", "job %s: supervisor done", slots[i].job_id);
      /* Normally gone already; not when the supervisor failed before its
       * teardown could take the warm sandbox down. */
      if (slots[i].sandbox_id && docker_container_remove(docker, slots[i].sandbox_id, 1) == 0)
        log_debug("agent", "job %s: removed its sandbox", slots[i].job_id);
      agent_life_forget(life, slots[i].job_id, slots[i].attempt);
      slot_clear(&slots[i]);
    } else {
      running++;
    }
  }
  return running;
}

static void signal_all(slot *slots, unsigned count, int sig) {
  for (unsigned i = 0; i < count; i++)
    if (slots[i].pid)
      kill(slots[i].pid, sig);
}

int agent_run(const agent_options *o) {
  int error = 0;
  queue_client *queue = NULL;
  docker_client *docker = NULL;
  unsigned slot_count = o->slots ? o->slots : 1;
  slot *slots = NULL;
  agent_cache_keeper *keeper = NULL;
  agent_life *life = NULL;
  agent_limits limits;
  if (slot_count > MAX_SLOTS)
    return airgap_error_set(AIRGAP_EINVALID, "--slots %u is more than %d", slot_count, MAX_SLOTS);
  if ((error = queue_client_new(&queue, o->queue_url, o->token)) < 0 ||
      (error = docker_client_new(&docker, o->docker_host)) < 0)
    goto cleanup;
  queue_client_set_slots(queue, slot_count); /* shown on the web UI's agents page */
  if (!(slots = calloc(slot_count, sizeof(*slots)))) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  for (unsigned i = 0; i < slot_count; i++)
    slots[i].pidfd = -1;
  if ((error = docker_ping(docker)) < 0)
    goto cleanup;
  if (mkdir(o->work_dir, 0700) < 0 && errno != EEXIST) {
    error =
        airgap_error_set_errno(AIRGAP_ERROR, "cannot create the work directory %s", o->work_dir);
    goto cleanup;
  }
  if (mkdir(o->cache_dir, 0700) < 0 && errno != EEXIST) {
    error =
        airgap_error_set_errno(AIRGAP_ERROR, "cannot create the cache directory %s", o->cache_dir);
    goto cleanup;
  }
  if ((error = agent_limits_from_options(&limits, o)) < 0)
    goto cleanup;
  if ((error = agent_cache_keeper_start(&keeper, o->cache_dir, o->cache_max_bytes,
                                        o->cache_max_age_secs)) < 0)
    goto cleanup;
  /* Ours first, so that a reaper never takes us for dead. */
  if ((error = agent_life_begin(&life, o->work_dir)) < 0 ||
      (error = agent_reap_leftovers(docker, o->agent_id, o->work_dir,
                                    agent_sandbox_ahead_id(o->sandbox_ahead))) < 0)
    goto cleanup;
  agent_life_reap_dead(docker, queue, o->work_dir, life);
  uint64_t reaped_at = clock_monotonic_ms();
  log_info("agent", "agent %s: %u slot(s), queue %s", o->agent_id, slot_count, o->queue_url);
  char *warm = NULL;
  uint64_t warm_retry_at = o->no_warm_sandbox ? UINT64_MAX : 0;
  char sandbox_image[AGENT_SANDBOX_TAG_MAX] = "", exe[PATH_MAX];
  if (!o->no_warm_sandbox &&
      (agent_emulator_exe(exe, sizeof(exe), o->pause_path) < 0 ||
       agent_sandbox_image_ensure(sandbox_image, sizeof(sandbox_image), docker, exe) < 0)) {
    log_warn("agent", "no warm sandboxes (each job starts its own): %s", airgap_error_last());
    warm_retry_at = UINT64_MAX;
  }

  unsigned leased = 0, backoff = 0;
  uint64_t drain_started = 0;
  int canceling = 0;
  unsigned was_running = 0;
  for (;;) {
    unsigned running = collect(o, queue, docker, life, slots, slot_count, 0);
    if (clock_monotonic_ms() - reaped_at >= REAP_EVERY_MS) {
      /* A supervisor may outlive its agent and die later. */
      agent_life_reap_dead(docker, queue, o->work_dir, life);
      reaped_at = clock_monotonic_ms();
    }
    if (running < was_running)
      agent_cache_keeper_poke(keeper); /* a job ended: its snapshot may go now */
    was_running = running;
    int draining = flag(o->drain) || (o->max_jobs && leased >= o->max_jobs);
    if (flag(o->abort) && !canceling) {
      log_info("agent", "canceling %u running job(s)", running);
      signal_all(slots, slot_count, SIGTERM);
      canceling = 1;
    }
    if (draining && !drain_started) {
      drain_started = clock_monotonic_ms();
      if (running && flag(o->drain))
        log_info("agent", "draining: waiting for %u running job(s) (up to %u s)", running,
                 o->shutdown_timeout);
    }
    if (draining && !canceling && o->shutdown_timeout &&
        clock_monotonic_ms() - drain_started > (uint64_t)o->shutdown_timeout * 1000u) {
      log_info("agent", "shutdown timeout: canceling %u running job(s)", running);
      signal_all(slots, slot_count, SIGTERM);
      canceling = 1;
    }
    if (draining || canceling) {
      if (running == 0)
        break;
      wait_supervisors(slots, slot_count, 100);
      continue;
    }
    if (running == slot_count) {
      wait_supervisors(slots, slot_count, 100);
      continue;
    }
    queue_job *job = NULL;
    int rc = 0;
    if (!warm && clock_monotonic_ms() >= warm_retry_at) {
      /* A job that waits already is not kept waiting for a sandbox to start
       * (the largest fixed cost of a job): it is leased first, and its
       * supervisor starts the sandbox beside the workspace. Only with none
       * queued is the next job's sandbox started ahead. */
      rc = queue_client_lease(&job, queue, o->agent_id, o->labels, o->label_count, 0);
      if (rc == 0 && !job && warm_start(&warm, docker, o, life, sandbox_image) < 0) {
        log_warn("agent", "cannot start a warm sandbox (retrying in %d s): %s",
                 WARM_RETRY_MS / 1000, airgap_error_last());
        warm_retry_at = clock_monotonic_ms() + WARM_RETRY_MS;
      }
    }
    if (rc == 0 && !job)
      rc = queue_client_lease(&job, queue, o->agent_id, o->labels, o->label_count, LEASE_WAIT_S);
    if (rc < 0) {
      if (rc == AIRGAP_EAUTH) {
        error = rc;
        break;
      }
      backoff = backoff ? (backoff * 2 > 30000 ? 30000 : backoff * 2) : 500;
      log_warn("agent", "lease request failed (retrying in %u ms): %s", backoff,
               airgap_error_last());
      sleep_ms(backoff);
      continue;
    }
    backoff = 0;
    if (!job)
      continue;
    leased++;
    unsigned free_slot = 0;
    while (slots[free_slot].pid)
      free_slot++;
    pid_t pid = 0;
    log_info("agent", "job %s: leased (attempt %u)", job->id, job->attempts);
    if (!warm)
      warm = agent_sandbox_ahead_take(o->sandbox_ahead); /* the first job's */
    char *id_copy = strdup(job->id);
    char *lease_copy = job->lease ? strdup(job->lease) : NULL;
    if (!id_copy || !lease_copy || !agent_job_id_valid(job->id) ||
        agent_life_record(life, job->id, job->attempts, job->lease) < 0 ||
        spawn_supervisor(&pid, o, job, warm, life, &limits) < 0) {
      log_error("agent", "job %s: cannot start its supervisor: %s", job->id, airgap_error_last());
      if (job->lease)
        queue_client_complete(queue, job->id, job->lease, "errored", "infrastructure", -1);
      if (id_copy && agent_job_id_valid(job->id))
        agent_life_forget(life, job->id, job->attempts);
      free(id_copy);
      free(lease_copy);
    } else {
      slots[free_slot].pid = pid;
      slots[free_slot].pidfd = (int)syscall(SYS_pidfd_open, pid, 0); /* -1: sleep instead */
      was_running++;
      slots[free_slot].job_id = id_copy;
      slots[free_slot].lease = lease_copy;
      slots[free_slot].sandbox_id = warm; /* the supervisor owns it now */
      slots[free_slot].attempt = job->attempts;
      warm = NULL;
    }
    queue_job_free(job);
  }
  collect(o, queue, docker, life, slots, slot_count, 1);
  sandbox_remove(docker, &warm);
  /* Supervisors of a dead life may have ended while we ran. */
  agent_life_reap_dead(docker, queue, o->work_dir, life);

cleanup:
  agent_cache_keeper_stop(keeper);
  if (slots)
    for (unsigned i = 0; i < slot_count; i++)
      slot_clear(&slots[i]);
  free(slots);
  agent_life_end(life);
  docker_client_free(docker);
  queue_client_free(queue);
  return error;
}
