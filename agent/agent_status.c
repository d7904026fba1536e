/*
 * agent_status.c — what the supervisor reports when a job ends.
 *
 * One place decides the final status from what was observed, so every path
 * of the supervisor (and the agent after a supervisor crash) reports the same
 * way. The order matters: an infrastructure failure hides whatever the
 * container did, a cancel wins over the kill it caused, and a timeout wins
 * over the exit code of the killed container.
 */
#include "agent/agent_int.h"

void agent_status_from_outcome(agent_status *out, const agent_outcome *outcome) {
  agent_status status = {.status = "errored", .reason = "infrastructure", .exit_code = -1};
  if (outcome->error_reason) {
    status.reason = outcome->error_reason;
  } else if (outcome->canceled) {
    status.status = "canceled";
    status.reason = "canceled";
  } else if (outcome->timed_out) {
    status.status = "failed";
    status.reason = "timeout";
  } else if (outcome->oom_killed) {
    status.status = "failed";
    status.reason = "oom";
    status.exit_code = outcome->has_exit_code ? outcome->exit_code : -1;
  } else if (outcome->has_exit_code && outcome->exit_code == 0) {
    status.status = "passed";
    status.reason = NULL;
    status.exit_code = 0;
  } else if (outcome->has_exit_code) {
    status.status = "failed";
    status.reason = NULL;
    status.exit_code = outcome->exit_code;
  }
  *out = status;
}
