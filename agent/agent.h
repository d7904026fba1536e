/*
 * agent.h — the agent component's public API: the lease loop behind
 * `airgap agent`, `airgap serve` and `airgap run`, and the job supervisor
 * process it starts for each job (DESIGN.md, "The flow of one job").
 *
 * Every function returns 0 or a negative AIRGAP_E* code (common/error.h) with
 * a message in airgap_error_last(). Running jobs needs root (overlayfs mounts,
 * joining a container's network namespace) and a Docker engine.
 */
#ifndef AIRGAP_AGENT_AGENT_H
#define AIRGAP_AGENT_AGENT_H

#include <stddef.h>
#include <stdint.h>

/* When to pull a job's image. */
typedef enum {
  AGENT_PULL_IF_NOT_PRESENT = 0,
  AGENT_PULL_ALWAYS,
  AGENT_PULL_NEVER,
} agent_pull_policy;

/* "if-not-present", "always", "never". AIRGAP_EINVALID otherwise. */
int agent_pull_policy_parse(agent_pull_policy *out, const char *text);

/* Parses a Docker memory size ("512m", "2g", "1048576", suffixes b/k/m/g/t,
 * binary multiples) into bytes. AIRGAP_EINVALID when malformed or < 6 MiB. */
int agent_memory_parse(int64_t *out, const char *text);

/* A sandbox started ahead for one job known before the agent runs (`airgap
 * run`): see agent_sandbox_ahead_start. */
typedef struct agent_sandbox_ahead agent_sandbox_ahead;

/* The agent's configuration; every string is borrowed for the call. */
typedef struct agent_options {
  const char *queue_url; /* http://host:port */
  const char *token;     /* agent token */
  const char *agent_id;  /* stable across restarts: leftovers are found by it */
  const char *const *labels;
  size_t label_count;
  unsigned slots;          /* jobs at once (0: 1) */
  const char *cache_dir;   /* overlay cache (created when missing) */
  const char *work_dir;    /* run directories (created; reaped at start) */
  const char *network;     /* sandbox network: bridge, none or a network name */
  const char *pause_path;  /* the static airgap-pause program */
  const char *self_exe;    /* the airgap binary, started as `airgap agent --supervise` */
  const char *user;        /* job container user, NULL: the image's */
  const char *docker_host; /* NULL: DOCKER_HOST or /var/run/docker.sock */
  agent_pull_policy pull;
  unsigned shutdown_timeout; /* seconds a drain waits before canceling (0: forever) */
  unsigned max_jobs;         /* stop leasing after this many (0: no limit) */
  int no_warm_sandbox;       /* 1: start each job's sandbox after its lease */
  /* 1: a job's repo may be a path on this machine or a file:// URL (and then
   * so may its submodules). 0: such jobs fail — a queue client must not make
   * the agent read this host's files. `airgap run` sets it; `airgap agent`
   * and `airgap serve` only with --allow-local-repos. */
  int allow_local_repos;
  /* Cache eviction, run by the agent in the background at start and after
   * jobs end: least-recently-used snapshots (and then idle mirrors) go once
   * the cache holds more than cache_max_bytes (0: a quarter of the cache's
   * file system), and whatever was unused for cache_max_age_secs (0: 7 days).
   * Snapshots in use are never removed. */
  uint64_t cache_max_bytes;
  unsigned cache_max_age_secs;
  /* Operator defaults and ceilings for every job (issue #12 item 7). A spec
   * above a ceiling ends errored with a reason naming the limit. */
  const char *default_memory; /* memory of a job whose spec sets none (NULL: no limit) */
  const char *max_memory;     /* largest memory a spec may ask (NULL: no ceiling) */
  double max_cpus;            /* most CPUs a spec may ask (0: no ceiling) */
  unsigned max_pids;          /* most pids a spec may ask (0: no ceiling) */
  const char *max_disk;       /* size the workspace may write, on a tmpfs ("4g"; NULL
                                or "0": the host's disk, unbounded) */
  /* Borrowed: handed to the first job leased (which adopts it when its
   * services match), and left alone by the reaping at start. NULL: none. */
  agent_sandbox_ahead *sandbox_ahead;
  volatile const int *drain; /* set: lease no more, let running jobs finish */
  volatile const int *abort; /* set: cancel running jobs, tear down, return */
} agent_options;

/* Reaps what an earlier run left (containers labelled airgap.agent=<id>,
 * mounts and run directories under work_dir), then leases and runs jobs until
 * drained or aborted (see the flags) and every supervisor has ended.
 * Errors: AIRGAP_EAUTH (the queue refused the token), -1 (no Docker engine,
 * work directory unusable, ...). */
int agent_run(const agent_options *options);

/* Starts, on a thread of its own, the sandbox container (network namespace
 * and emulator, with the services spec_json names) for the job spec_json
 * describes, with options' agent id, network, pause path and Docker host, so
 * that it runs by the time the job is leased: put it in options->sandbox_ahead.
 * A sandbox that cannot be started is no error here (the job's supervisor
 * starts one after the lease). Owned: agent_sandbox_ahead_free, after
 * agent_run has returned. Errors: AIRGAP_EINVALID (spec_json is no valid
 * spec), -1. */
int agent_sandbox_ahead_start(agent_sandbox_ahead **out, const agent_options *options,
                              const char *spec_json, size_t len);

/* Waits for the thread and removes the sandbox unless a job took it (whose
 * supervisor removes it then). Accepts NULL. */
void agent_sandbox_ahead_free(agent_sandbox_ahead *ahead);

/* The body of a job supervisor process: reads its job (JSON written by
 * agent_run) from fd, runs it with SIGTERM/SIGINT meaning cancel, and returns
 * the process exit code: 0 when the final status was reported (or the lease
 * was lost), 75 when a temporary failure leaves the job to requeue, 1
 * otherwise — the agent then reports the job errored. */
int agent_supervise(int fd);

#endif
