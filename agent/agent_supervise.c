/*
 * agent_supervise.c — the entry of a job supervisor process: reads the job
 * the agent wrote into its stdin pipe (bounded; it holds the token and the
 * secrets, so it never travels in argv or the environment), arranges to die
 * with the agent, turns SIGTERM/SIGINT into a cancel and runs the job.
 */
#include "agent/agent.h"

#include "common/jsonutil.h"
#include "agent/agent_int.h"
#include "common/error.h"
#include "common/log.h"
#include "queue/queue.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define SUPERVISE_MAX_INPUT (2u * 1024 * 1024)

static volatile int stop_requested;

static void on_stop(int sig) {
  (void)sig;
  stop_requested = 1;
}

static int read_input(char **out, size_t *out_len, int fd) {
  size_t cap = 64 * 1024, len = 0;
  char *buf = malloc(cap + 1);
  if (!buf)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  for (;;) {
    if (len == cap) {
      if (cap >= SUPERVISE_MAX_INPUT) {
        free(buf);
        return airgap_error_set(AIRGAP_ETOOBIG, "supervisor input is larger than %u bytes",
                                SUPERVISE_MAX_INPUT);
      }
      cap *= 2;
      char *grown = realloc(buf, cap + 1);
      if (!grown) {
        free(buf);
        return airgap_error_set(AIRGAP_ERROR, "out of memory");
      }
      buf = grown;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      free(buf);
      return airgap_error_set_errno(AIRGAP_ERROR, "cannot read the supervisor's job");
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  *out = buf;
  *out_len = len;
  return 0;
}

int agent_supervise(int fd) {
  /* Die with the agent: its restart reaps what we leave and the queue hands
   * the job out again once the lease expires. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  struct sigaction sa = {0};
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  char *text = NULL;
  size_t len = 0;
  json_t *in = NULL;
  int code = 1;
  if (read_input(&text, &len, fd) < 0) {
    log_error("agent", "supervisor: %s", airgap_error_last());
    goto cleanup;
  }
  json_error_t jerr;
  in = json_loadb(text, len, 0, &jerr);
  if (!json_is_object(in)) {
    log_error("agent", "supervisor: malformed job input: %s", jerr.text);
    goto cleanup;
  }
  json_int_t parent = json_integer_value(json_object_get(in, "parent"));
  if (parent > 0 && getppid() != (pid_t)parent) {
    log_error("agent", "supervisor: the agent is gone; not starting the job");
    goto cleanup;
  }
  log_level_set((log_level)json_integer_value(json_object_get(in, "log_level")));
  agent_job_params p = {
      .queue_url = jsonutil_string(in, "queue"),
      .token = jsonutil_string(in, "token"),
      .agent_id = jsonutil_string(in, "agent"),
      .job_id = jsonutil_string(in, "job"),
      .lease = jsonutil_string(in, "lease"),
      .lease_ttl = (unsigned)json_integer_value(json_object_get(in, "lease_ttl")),
      .spec_json = jsonutil_string(in, "spec"),
      .cache_dir = jsonutil_string(in, "cache"),
      .work_dir = jsonutil_string(in, "work"),
      .network = jsonutil_string(in, "network"),
      .pause_path = jsonutil_string(in, "pause"),
      .user = jsonutil_string(in, "user"),
      .docker_host = jsonutil_string(in, "docker_host"),
      .sandbox_id = jsonutil_string(in, "sandbox"),
      .attempt = (unsigned)json_integer_value(json_object_get(in, "attempt")),
      .pull = (agent_pull_policy)json_integer_value(json_object_get(in, "pull")),
      .allow_local_repos = json_is_true(json_object_get(in, "allow_local")),
      .stop_requested = &stop_requested,
  };
  if (!p.queue_url || !p.agent_id || !p.job_id || !p.lease || !p.spec_json || !p.cache_dir ||
      !p.work_dir || !p.network || !p.pause_path) {
    log_error("agent", "supervisor: the job input lacks a required member");
    goto cleanup;
  }
  int rc = agent_job_run(&p);
  code = rc == 0 ? 0 : rc == AGENT_JOB_REQUEUE ? AGENT_EXIT_REQUEUE : 1;

cleanup:
  if (text) {
    memset(text, 0, len);
    free(text);
  }
  json_decref(in);
  return code;
}
