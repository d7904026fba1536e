/*
 * agent_reap.c — finding and removing what jobs leave behind, and the job id
 * rule that makes that safe.
 *
 * Everything a job creates is findable (DESIGN.md, "Reaping"): its containers
 * carry the labels airgap.agent=<agent id> and airgap.job=<job id>, and its
 * mounts and files live in its run directory under the agent's work
 * directory. The supervisor reaps its own job's containers at teardown, the
 * agent reaps a crashed supervisor's, and any agent reaps what dead agent
 * lives left (agent_life.c). A job id becomes a directory name and a label value,
 * so only ids that are safe as both are accepted.
 *
 * Kept apart from the supervisor (agent_job.c) so that the lease loop
 * (agent_loop.c) needs only this file, not the supervisor's.
 */
#include "agent/agent_int.h"
#include "common/docker.h"
#include "common/error.h"
#include "common/log.h"
#include "overlay/overlay.h"

#include <stdio.h>
#include <string.h>

int agent_job_id_valid(const char *id) {
  size_t len = id ? strlen(id) : 0;
  if (len == 0 || len > 64)
    return 0;
  for (size_t i = 0; i < len; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_'))
      return 0;
  }
  return 1;
}

int agent_containers_reap(unsigned *out, docker_client *docker, const char *agent_id,
                          const char *job_id, const char *except_id) {
  char label[256];
  snprintf(label, sizeof(label), "%s=%s", job_id ? "airgap.job" : "airgap.agent",
           job_id ? job_id : agent_id);
  json_t *list = NULL;
  int error = docker_container_list(&list, docker, label);
  if (error < 0)
    return error;
  unsigned removed = 0;
  size_t i;
  json_t *item;
  json_array_foreach(list, i, item) {
    const char *id = json_string_value(json_object_get(item, "Id"));
    if (!id || (except_id && strcmp(id, except_id) == 0))
      continue;
    int rc = docker_container_remove(docker, id, 1);
    if (rc == 0)
      removed++;
    else if (rc != AIRGAP_ENOTFOUND && error == 0)
      error = rc;
  }
  json_decref(list);
  if (out)
    *out = removed;
  return error;
}

int agent_reap_leftovers(docker_client *docker, const char *agent_id, const char *work_dir,
                         const char *except_id) {
  /* Containers of this id from before lives were labelled; a labelled one
   * belongs to a life that may still be running (a supervisor outlives its
   * agent), which agent_life_reap_dead decides. */
  char label[256];
  snprintf(label, sizeof(label), "airgap.agent=%s", agent_id);
  json_t *list = NULL;
  int error = docker_container_list(&list, docker, label);
  if (error < 0)
    return error;
  unsigned removed = 0;
  size_t i;
  json_t *item;
  json_array_foreach(list, i, item) {
    const char *id = json_string_value(json_object_get(item, "Id"));
    if (!id || json_object_get(json_object_get(item, "Labels"), AGENT_LABEL_LIFE) ||
        (except_id && strcmp(id, except_id) == 0))
      continue;
    int rc = docker_container_remove(docker, id, 1);
    if (rc == 0)
      removed++;
    else if (rc != AIRGAP_ENOTFOUND && error == 0)
      error = rc;
  }
  json_decref(list);
  if (removed)
    log_info("agent", "removed %u container(s) left by an earlier run of agent %s", removed,
             agent_id);
  (void)work_dir; /* its run directories are agent_life_reap_dead's */
  return error;
}
