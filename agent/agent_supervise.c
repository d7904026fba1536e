/*
 * agent_supervise.c — the entry of a job supervisor process: reads the job
 * the agent wrote into its stdin pipe (agent_handoff.c), arranges to die with
 * the agent, turns SIGTERM/SIGINT into a cancel and runs the job.
 */
#include "agent/agent.h"
#include "agent/agent_int.h"
#include "common/error.h"
#include "common/log.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

static volatile int stop_requested;

static void on_stop(int sig) {
  (void)sig;
  stop_requested = 1;
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

  agent_handoff h;
  int code = 1;
  if (agent_handoff_read(&h, fd) < 0) {
    log_error("agent", "supervisor: %s", airgap_error_last());
    return code;
  }
  if (h.parent > 0 && getppid() != h.parent) {
    log_error("agent", "supervisor: the agent is gone; not starting the job");
    goto cleanup;
  }
  log_level_set((log_level)h.log_level);
  h.job.stop_requested = &stop_requested;
  int rc = agent_job_run(&h.job);
  code = rc == 0 ? 0 : rc == AGENT_JOB_REQUEUE ? AGENT_EXIT_REQUEUE : 1;

cleanup:
  agent_handoff_clear(&h);
  return code;
}
