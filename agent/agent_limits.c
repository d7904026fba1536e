/*
 * agent_limits.c — the operator's defaults and ceilings for what a job may
 * use (issue #12, item 7): memory, CPUs, pids and workspace disk.
 *
 * A job's spec is written by whoever submits it; the agent's operator decides
 * what a job on their machine may take. A spec above a ceiling is refused, not
 * run with less: a job that silently got less memory than it asked for would
 * fail later in a way nobody can explain. A spec that asks nothing gets the
 * defaults, so no job runs without a memory and a pids limit unless the
 * operator said so. The disk ceiling is applied where the workspace is made
 * (the writable layer on a tmpfs of that size, overlay.h).
 */
#include "agent/agent_int.h"
#include "common/error.h"
#include "queue/queue.h"

#include <stdlib.h>
#include <string.h>

int agent_limits_from_options(agent_limits *out, const agent_options *o) {
  agent_limits l = {
      .default_memory = o->default_memory, .max_cpus = o->max_cpus, .max_pids = o->max_pids};
  int64_t bytes = 0;
  if (o->max_memory && agent_memory_parse(&l.max_memory, o->max_memory) < 0)
    return airgap_error_set(AIRGAP_EINVALID, "--max-memory: %s", airgap_error_last());
  if (o->default_memory && agent_memory_parse(&bytes, o->default_memory) < 0)
    return airgap_error_set(AIRGAP_EINVALID, "--default-memory: %s", airgap_error_last());
  /* A ceiling below the default lowers the default with it. */
  if (l.max_memory && bytes > l.max_memory)
    l.default_memory = o->max_memory;
  if (o->max_cpus < 0)
    return airgap_error_set(AIRGAP_EINVALID, "--max-cpus must not be negative");
  int64_t disk = 0;
  if (o->max_disk && strcmp(o->max_disk, "0") != 0) {
    if (agent_memory_parse(&disk, o->max_disk) < 0)
      return airgap_error_set(AIRGAP_EINVALID, "--max-disk: %s", airgap_error_last());
    l.max_disk = (uint64_t)disk;
  }
  *out = l;
  return 0;
}

int agent_limits_apply(queue_spec *spec, const agent_limits *l, const char **reason) {
  int64_t bytes = 0;
  if (!spec->memory && l->default_memory && !(spec->memory = strdup(l->default_memory)))
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  if (spec->memory && agent_memory_parse(&bytes, spec->memory) < 0) {
    *reason = "spec";
    return AIRGAP_EINVALID;
  }
  if (l->max_memory && bytes > l->max_memory) {
    *reason = "memory_limit";
    return airgap_error_set(AIRGAP_EINVALID,
                            "the job asks for %s of memory; this agent allows at most %lld bytes "
                            "(--max-memory)",
                            spec->memory, (long long)l->max_memory);
  }
  if (l->max_cpus > 0 && spec->cpus > l->max_cpus) {
    *reason = "cpus_limit";
    return airgap_error_set(AIRGAP_EINVALID,
                            "the job asks for %g CPUs; this agent allows at most %g (--max-cpus)",
                            spec->cpus, l->max_cpus);
  }
  if (l->max_pids && spec->pids > l->max_pids) {
    *reason = "pids_limit";
    return airgap_error_set(AIRGAP_EINVALID,
                            "the job asks for %u pids; this agent allows at most %u (--max-pids)",
                            spec->pids, l->max_pids);
  }
  if (!spec->pids && l->max_pids && l->max_pids < AGENT_DEFAULT_PIDS)
    spec->pids = l->max_pids;
  return 0;
}
