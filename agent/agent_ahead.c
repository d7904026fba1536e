/*
 * agent_ahead.c — a sandbox started ahead for the one job `airgap run` is
 * about to queue.
 *
 * Starting the sandbox container (it owns the job's network namespace and
 * runs the job's emulator) is a whole container start, and the job
 * container cannot start before it: two Docker starts one after the other
 * where `docker run` has one. The one-shot knows its job before anything
 * else exists, so it starts the sandbox first, on a thread of its own, while
 * its queue starts, the job is queued and leased, and the supervisor builds
 * the workspace. The agent hands it to the first job it leases like a warm
 * sandbox (agent_loop.c), and the supervisor adopts it once it runs
 * (agent_job.c), or starts one of its own when it failed.
 *
 * Ownership moves once: until the agent takes the id, this handle removes
 * the container when freed; after, the supervisor does at its teardown (and
 * the agent, should the supervisor die first). A start that fails leaves
 * the container to its owner, with the engine's error in its state.
 */
#include "agent/agent.h"
#include "agent/agent_int.h"
#include "common/clock.h"
#include "common/docker.h"
#include "common/error.h"
#include "common/log.h"
#include "queue/queue.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct agent_sandbox_ahead {
  pthread_t thread;
  int thread_started;
  char *network;
  char *agent_id;
  char *pause_path;
  char *docker_host;
  char *services;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int settled; /* under lock: created (id set) or failed before creation */
  int taken;   /* under lock: the agent owns the id */
  char *id;    /* under lock */
  uint64_t started_ms;
};

static void settle(agent_sandbox_ahead *a, char *id) {
  pthread_mutex_lock(&a->lock);
  a->id = id;
  a->settled = 1;
  pthread_cond_broadcast(&a->cond);
  pthread_mutex_unlock(&a->lock);
}

static void *ahead_main(void *arg) {
  agent_sandbox_ahead *a = arg;
  docker_client *docker = NULL;
  json_t *config = NULL;
  char *id = NULL;
  char exe[PATH_MAX], image[AGENT_SANDBOX_TAG_MAX];
  agent_sandbox_params params = {.image = image,
                                 .network = a->network,
                                 .agent_id = a->agent_id,
                                 .job_id = NULL,
                                 .services = a->services};
  int error = docker_client_new(&docker, a->docker_host);
  if (error == 0)
    error = agent_emulator_exe(exe, sizeof(exe), a->pause_path);
  if (error == 0)
    error = agent_sandbox_image_ensure(image, sizeof(image), docker, exe);
  if (error == 0)
    error = agent_emulator_sandbox_config(&config, &params);
  if (error == 0)
    error = docker_container_create(&id, docker, NULL, config);
  json_decref(config);
  if (error < 0) {
    /* Not fatal: the supervisor starts the sandbox after the lease. */
    log_debug("agent", "no sandbox ahead of the job: %s", airgap_error_last());
    settle(a, NULL);
    docker_client_free(docker);
    return NULL;
  }
  char *copy = strdup(id);
  settle(a, id); /* the id is known: the agent may hand it on while it starts */
  log_debug("agent", "sandbox ahead created at +%llu ms",
            (unsigned long long)(clock_monotonic_ms() - a->started_ms));
  /* A start that fails leaves the container with the engine's State.Error,
   * for the supervisor that adopted it to report (it then removes it), or
   * for agent_sandbox_ahead_free to remove. */
  if (!copy || docker_container_start(docker, copy) < 0)
    log_debug("agent", "the sandbox ahead did not start: %s",
              copy ? airgap_error_last() : "out of memory");
  else
    log_debug("agent", "sandbox ahead running at +%llu ms",
              (unsigned long long)(clock_monotonic_ms() - a->started_ms));
  free(copy);
  docker_client_free(docker);
  return NULL;
}

int agent_sandbox_ahead_start(agent_sandbox_ahead **out, const agent_options *o,
                              const char *spec_json, size_t len) {
  queue_spec *spec = NULL;
  queue_spec_error spec_error;
  agent_sandbox_ahead *a = calloc(1, sizeof(*a));
  if (!a)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  pthread_mutex_init(&a->lock, NULL);
  pthread_cond_init(&a->cond, NULL);
  a->started_ms = clock_monotonic_ms();
  int error = queue_spec_parse(&spec, spec_json, len, &spec_error);
  if (error == 0 && !(a->services = agent_services_list(spec)))
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
  queue_spec_free(spec);
  if (error == 0 && (!(a->network = strdup(o->network ? o->network : "")) ||
                     !(a->agent_id = strdup(o->agent_id ? o->agent_id : "")) ||
                     (o->pause_path && !(a->pause_path = strdup(o->pause_path))) ||
                     (o->docker_host && !(a->docker_host = strdup(o->docker_host)))))
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
  if (error == 0) {
    if (pthread_create(&a->thread, NULL, ahead_main, a) == 0)
      a->thread_started = 1;
    else
      error = airgap_error_set(AIRGAP_ERROR, "cannot start the sandbox's thread");
  }
  if (error < 0) {
    agent_sandbox_ahead_free(a);
    return error;
  }
  *out = a;
  return 0;
}

/* Waits until the container exists or will not; under a->lock on return. */
static void wait_settled(agent_sandbox_ahead *a) {
  pthread_mutex_lock(&a->lock);
  while (!a->settled)
    pthread_cond_wait(&a->cond, &a->lock);
}

const char *agent_sandbox_ahead_id(agent_sandbox_ahead *a) {
  if (!a)
    return NULL;
  wait_settled(a);
  const char *id = a->taken ? NULL : a->id;
  pthread_mutex_unlock(&a->lock);
  return id;
}

char *agent_sandbox_ahead_take(agent_sandbox_ahead *a) {
  if (!a)
    return NULL;
  wait_settled(a);
  char *id = NULL;
  if (!a->taken && a->id) {
    id = strdup(a->id);
    a->taken = id != NULL;
  }
  pthread_mutex_unlock(&a->lock);
  return id;
}

void agent_sandbox_ahead_free(agent_sandbox_ahead *a) {
  if (!a)
    return;
  if (a->thread_started)
    pthread_join(a->thread, NULL);
  if (a->id && !a->taken) {
    docker_client *docker = NULL;
    if (docker_client_new(&docker, a->docker_host) == 0) {
      int rc = docker_container_remove(docker, a->id, 1);
      if (rc < 0 && rc != AIRGAP_ENOTFOUND)
        log_warn("agent", "cannot remove the sandbox %.12s: %s", a->id, airgap_error_last());
    }
    docker_client_free(docker);
  }
  free(a->id);
  free(a->network);
  free(a->agent_id);
  free(a->pause_path);
  free(a->docker_host);
  free(a->services);
  pthread_cond_destroy(&a->cond);
  pthread_mutex_destroy(&a->lock);
  free(a);
}
