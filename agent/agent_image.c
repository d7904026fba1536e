/*
 * agent_image.c — making sure a job's image is there, per the pull policy
 * (the sandbox's own image is agent_sandbox_image.c's).
 *
 * Pulls and imports go through common/docker (docker_image_pull,
 * docker_image_import). Progress is summarised in the job's log as agent
 * lines ("pulling…", "pulled…: <the engine's last status>"), not copied
 * message by message.
 */
#include "agent/agent_int.h"
#include "common/docker.h"
#include "common/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PULL_STATUS_MAX 256

int agent_pull_policy_parse(agent_pull_policy *out, const char *text) {
  if (text && strcmp(text, "if-not-present") == 0)
    *out = AGENT_PULL_IF_NOT_PRESENT;
  else if (text && strcmp(text, "always") == 0)
    *out = AGENT_PULL_ALWAYS;
  else if (text && strcmp(text, "never") == 0)
    *out = AGENT_PULL_NEVER;
  else
    return airgap_error_set(AIRGAP_EINVALID,
                            "pull policy '%s' is not one of if-not-present, always, never",
                            text ? text : "");
  return 0;
}

/* Remembers the engine's latest progress message for the summary line. */
static int pull_progress(const char *text, void *payload) {
  snprintf(payload, PULL_STATUS_MAX, "%s", text);
  return 0;
}

static int image_pull(docker_client *docker, const char *image, agent_log *log) {
  char last_status[PULL_STATUS_MAX] = "";
  if (log)
    agent_log_note(log, "pulling image %s", image);
  int error = docker_image_pull(docker, image, pull_progress, last_status);
  if (error == 0) {
    if (log)
      agent_log_note(log, "pulled image %s%s%s", image, last_status[0] ? ": " : "", last_status);
    return 0;
  }
  /* agent_int.h promises AIRGAP_ENOTFOUND for any failed pull (the job ends
   * errored/image_pull); the message stays the engine's. */
  char why[1024];
  snprintf(why, sizeof(why), "%s", airgap_error_last());
  return airgap_error_set(AIRGAP_ENOTFOUND, "%s", why);
}

int agent_image_ensure(docker_client *docker, const char *image, agent_pull_policy policy,
                       agent_log *log) {
  if (policy != AGENT_PULL_ALWAYS) {
    json_t *info = NULL;
    int error = docker_image_inspect(&info, docker, image);
    json_decref(info);
    if (error == 0)
      return 0;
    if (error != AIRGAP_ENOTFOUND)
      return error;
    if (policy == AGENT_PULL_NEVER)
      return airgap_error_set(AIRGAP_ENOTFOUND,
                              "image %s is not present and the pull policy is never; "
                              "load or build it on this machine first",
                              image);
  }
  return image_pull(docker, image, log);
}
