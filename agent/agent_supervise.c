/*
 * agent_supervise.c — the entry of a job supervisor process: reads the job
 * the agent wrote into its stdin pipe (agent_handoff.c), turns SIGTERM/SIGINT
 * into a cancel and runs the job.
 *
 * It does not die with the agent: a `kill -9` of the agent would otherwise
 * leave the job's containers running unsupervised (they are not our
 * children) and its lease to expire, so the job would run twice. The
 * supervisor keeps its lease alive, finishes and reports, and holds the
 * agent life's lock (fd 3, inherited; agent_life.c) until it ends, so no
 * other agent reaps under it.
 */
#include "agent/agent.h"
#include "agent/agent_int.h"
#include "common/error.h"
#include "common/log.h"

#include <signal.h>
#include <fcntl.h>
#include <unistd.h>

static volatile int stop_requested;

static void on_stop(int sig) {
  (void)sig;
  stop_requested = 1;
}

int agent_supervise(int fd) {
  /* The life's lock stays ours alone: nothing we might start inherits it. */
  fcntl(3, F_SETFD, FD_CLOEXEC);
  struct sigaction sa = {0};
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  agent_handoff h;
  int code = 1;
  if (agent_handoff_read(&h, fd) < 0) {
    log_error("agent", "supervisor: %s", airgap_error_last());
    return code;
  }
  /* An agent that died since it started us is no reason to drop the job:
   * we hold its life's lock, so nobody reaps under us, and we report. */
  log_level_set((log_level)h.log_level);
  h.job.stop_requested = &stop_requested;
  int rc = agent_job_run(&h.job);
  code = rc == 0 ? 0 : rc == AGENT_JOB_REQUEUE ? AGENT_EXIT_REQUEUE : 1;

  agent_handoff_clear(&h);
  return code;
}
