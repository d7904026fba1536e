/*
 * agent_int.h — the agent's internal modules, shared between its own .c files
 * only (never included from other components).
 */
#ifndef AIRGAP_AGENT_INT_H
#define AIRGAP_AGENT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "agent/agent.h"

/* ---- network namespaces (agent_netns.c) ---- */

/* Opens a TCP listening socket bound to host:port inside the network namespace
 * of process pid (the sandbox container's pause process). The socket keeps
 * living in that namespace; the caller's threads stay where they were (the
 * setns happens on a short-lived helper thread). *out gets the fd (owned).
 * Errors: AIRGAP_ENOTFOUND (no such process), -1 (setns/bind failed). */
int agent_netns_listen(int *out, pid_t pid, const char *host, uint16_t port);

/* The first process of a container that joined the network namespace of
 * process owner (the sandbox's emulator) with a pid namespace of its own: the
 * job container's, found in /proc (a pid's namespace links, its NSpid ending
 * in 1), without asking the engine, whose inspect waits out a container's
 * exit handling. Processes in owner's own pid namespace are not it. 0 and
 * *out; AIRGAP_ENOTFOUND when no such process is left (it ended), -1 when
 * /proc cannot tell (owner itself is not visible). */
int agent_netns_joined_init(pid_t *out, pid_t owner);

/* ---- the emulator's container channel (agent_emulator_channel.c) ---- */

/* The channel's abstract unix socket inside the job's network namespace, as
 * the sandbox's emulator finds it (EMULATOR_CONTAINERS_CHANNEL_ENV). */
#define AGENT_CHANNEL_NAME "@airgap-containers"

typedef struct agent_channel agent_channel;

/* Strings borrowed for the call. */
typedef struct agent_channel_params {
  const char *name;          /* AGENT_CHANNEL_NAME */
  const char *docker_socket; /* the engine's unix socket path */
  const char *sandbox_id;    /* function containers join its network namespace */
  pid_t sandbox_pid;         /* whose network namespace the channel lives in */
  pid_t peer_pid;            /* the process served (the emulator: sandbox_pid), or its
                                child (the emulator forks to run in as PID 1) */
  const char *agent_id;
  const char *job_id;
  long long memory; /* each function container's limits (0: none) */
  long long pids;
  const char *hosts_file; /* bound read-only at /etc/hosts of each function, or NULL */
} agent_channel_params;

/* Starts serving the emulator's container requests (emulator/containers.h)
 * on a thread: only from peer_pid, only function containers in
 * container:<sandbox_id> with labels airgap.agent/airgap.job/airgap.role=
 * function and the limits given, never privileged, no host mount but hosts_file, never
 * another network or namespace (refused with the reason). *out owned: stop
 * with agent_channel_stop. The containers are the teardown's to remove (by
 * label). */
int agent_channel_start(agent_channel **out, const agent_channel_params *params);

/* Stops the thread and frees. Accepts NULL. */
void agent_channel_stop(agent_channel *channel);

/* ---- secret masking (agent_mask.c) ---- */

typedef struct agent_mask agent_mask;

/* Makes a streaming masker replacing every occurrence of each secret (at
 * least 3 bytes long; shorter ones are ignored as they would mask ordinary
 * text) with "****", also when a secret is split across chunks. Owned; free
 * with agent_mask_free. Returns NULL when out of memory. */
agent_mask *agent_mask_new(const char *const *secrets, size_t count);

/* Feeds len bytes; writes masked output that can no longer be part of a
 * secret to emit. Bytes that might start a secret are held back until the
 * next call or agent_mask_flush. Returns 0, or what emit returned if non-zero. */
int agent_mask_write(agent_mask *mask, const char *data, size_t len,
                     int (*emit)(const char *data, size_t len, void *payload), void *payload);
/* Emits whatever is held back (end of stream). */
int agent_mask_flush(agent_mask *mask, int (*emit)(const char *data, size_t len, void *payload),
                     void *payload);
void agent_mask_free(agent_mask *mask);

/* ---- the job log (agent_log.c) ---- */

/* Delivers len bytes written at byte offset to the queue, with the contract of
 * queue_client_log_append: writes the server's offset to *out; returns 0 when
 * stored, AIRGAP_EINVALID when offset is ahead of the server (resend from
 * *out), AIRGAP_EBUSY when the lease is lost, anything else to retry. */
typedef int (*agent_log_send_fn)(uint64_t *out, uint64_t offset, const void *data, size_t len,
                                 void *payload);

typedef struct agent_log_options {
  unsigned interval_ms;    /* send at least this often when bytes wait (0: 250) */
  size_t batch_bytes;      /* send at once when this many bytes wait (0: 64 KiB) */
  size_t max_pending;      /* bytes held while the queue does not take them; more
                              output is dropped with a marker (0: 8 MiB) */
  unsigned max_backoff_ms; /* retry delay cap (0: 2000) */
} agent_log_options;

typedef struct agent_log agent_log;

/* The marker that starts every line the agent itself writes to a job's log. */
#define AGENT_LOG_MARK "[airgap] "

/* Starts a log with its sender thread. Output passes through a secret masker
 * (secrets: values to mask, borrowed for the call). opts may be NULL. *out
 * is owned: finish with agent_log_close, then agent_log_free. send is called
 * from the sender thread only, never after agent_log_close returned. */
int agent_log_new(agent_log **out, const char *const *secrets, size_t secret_count,
                  const agent_log_options *opts, agent_log_send_fn send, void *payload);

/* Appends job output (any chunking). Never blocks on the network. Thread-safe. */
void agent_log_write(agent_log *log, const char *data, size_t len);

/* Appends one agent-side line, marked with AGENT_LOG_MARK and started on a
 * fresh line. Thread-safe. */
void agent_log_note(agent_log *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Masks and sends what is left, waiting at most timeout_ms, and stops the
 * sender thread. Returns 0 when every byte reached the queue, AIRGAP_EBUSY
 * when the lease was lost, AIRGAP_ETIMEOUT when bytes were left unsent. */
int agent_log_close(agent_log *log, long timeout_ms);

/* Bytes the queue has acknowledged so far. */
uint64_t agent_log_acked(agent_log *log);

/* Stops the thread if agent_log_close was not called (bytes are lost). Accepts NULL. */
void agent_log_free(agent_log *log);

/* ---- container configurations (agent_container.c) ---- */

struct queue_spec;

/* What the job container needs besides the spec. Strings borrowed. */
typedef struct agent_container_params {
  const char *agent_id;
  const char *job_id;
  const char *commit;          /* full sha of the snapshot */
  const char *sandbox_id;      /* the container owning the network namespace */
  const char *workspace;       /* host path of the merged workspace */
  const char *const *ro_binds; /* host paths bound read-only at the same path
                                  (the mirrors .git borrows objects from) */
  size_t ro_bind_count;
  const char *user;       /* "uid[:gid]" or NULL for the image's user */
  const char *hosts_file; /* host path bound read-only at /etc/hosts, or NULL
                             (agent_hosts_file: the sandbox's namespace has none) */
} agent_container_params;

/* The /etc/hosts of a job's containers when the sandbox has network none.
 * Such a sandbox is created with NetworkDisabled: the engine then makes its
 * namespace (loopback only) without its libnetwork setup, whose prestart hook
 * re-executes dockerd and costs ~300 ms of every start here, but also writes
 * no /etc/hosts, and `localhost` (AWS_ENDPOINT_URL) must still resolve. */
#define AGENT_HOSTS_CONTENT "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"

/* Writes AGENT_HOSTS_CONTENT to <run_dir>/hosts (removed with the run
 * directory) and puts its path in out. */
int agent_hosts_file(char *out, size_t size, const char *run_dir);

/* Whether a sandbox with this network mode is made with NetworkDisabled (and
 * its job's containers need agent_hosts_file). */
int agent_network_disabled(const char *network);

/* Default pids limit of a job container. */
#define AGENT_DEFAULT_PIDS 4096

/* The Engine API body creating the job container: /bin/sh -c script, the
 * environment of DESIGN.md "The job spec" (spec env and secrets override the
 * defaults), labels airgap.agent/airgap.job/airgap.role=job, the workspace
 * bound at the mountpoint as working directory, resource limits,
 * no-new-privileges, NetworkMode container:<sandbox>. Owned (json_decref).
 * Errors: AIRGAP_EINVALID (a memory size or path that cannot be used). */
int agent_container_job_config(json_t **out, const struct queue_spec *spec,
                               const agent_container_params *params);

/* ---- the job's emulator: the sandbox container (agent_container.c,
 * agent_emulator.c) ---- */

/* What the emulator runs as and may use. Its data directory is a tmpfs, the
 * only place it can write. */
#define AGENT_EMULATOR_UID 65534 /* nobody:nogroup */
#define AGENT_EMULATOR_PORT 4566
#define AGENT_EMULATOR_MEMORY (1024LL * 1024 * 1024)
#define AGENT_EMULATOR_DATA_BYTES (512LL * 1024 * 1024)
#define AGENT_EMULATOR_PIDS 256
#define AGENT_EMULATOR_DATA_DIR "/data"
#define AGENT_EMULATOR_EXE_IN_CONTAINER "/airgap-emulator"
/* How long a supervisor waits for a sandbox's emulator to answer. */
#define AGENT_EMULATOR_READY_MS 15000L

/* The sandbox of one job. Strings borrowed. */
typedef struct agent_sandbox_params {
  const char *image;   /* the sandbox image (agent_sandbox_image_ensure) */
  const char *network; /* bridge, none or a network name */
  const char *agent_id;
  const char *job_id;   /* NULL: a warm sandbox made before its job is known */
  const char *services; /* SERVICES for the emulator, or NULL for all */
} agent_sandbox_params;

/* The sandbox container: the job's emulator is its one process
 * (`airgap emulator --listen 127.0.0.1:4566`), so it owns the job's network
 * namespace and is confined like a job: user AGENT_EMULATOR_UID, CapDrop ALL,
 * no-new-privileges, the engine's default seccomp profile, read-only root
 * with a tmpfs at AGENT_EMULATOR_DATA_DIR, no IPC namespace, memory, pids and
 * log size limits. Nothing of the host is bound in: the image holds the
 * executable and its libraries. Labels airgap.agent, airgap.role=sandbox and airgap.job
 * (unless job_id is NULL). Owned (json_decref). AIRGAP_EINVALID for a
 * network mode that is not a name. */
int agent_emulator_sandbox_config(json_t **out, const agent_sandbox_params *params);

/* The spec's services as the emulator's SERVICES list, comma-separated ("" for
 * all), as sandboxes carry it in their AGENT_LABEL_SERVICES label. Owned
 * (free); NULL when out of memory. */
char *agent_services_list(const struct queue_spec *spec);

/* The same for the warm sandbox (no services restriction). */
int agent_container_sandbox_config(json_t **out, const char *image, const char *network,
                                   const char *agent_id, const char *job_id);

/* Finds the `airgap` executable (the slim one carrying the emulator) for the
 * sandbox: AIRGAP_EMULATOR_BIN when set, else `airgap` next to hint (the
 * airgap-pause path), next to this executable, or in ../../bin from it (the
 * installed layout, runner in lib/airgap). Writes an absolute path to out.
 * AIRGAP_ENOTFOUND when none is executable. */
int agent_emulator_exe(char *out, size_t size, const char *hint);

/* Waits until something accepts TCP connections on 127.0.0.1:port inside the
 * network namespace of process pid (the sandbox's emulator), at most
 * timeout_ms. AIRGAP_ETIMEOUT when it never did, AIRGAP_ENOTFOUND when the
 * process is gone. */
int agent_netns_wait_listening(pid_t pid, uint16_t port, long timeout_ms);

/* ---- images (agent_image.c) ---- */

/* The image of every sandbox (agent_sandbox_image.c): the emulator executable
 * at AGENT_EMULATOR_EXE_IN_CONTAINER and the shared libraries it loads, at
 * their paths, imported locally (no registry involved). Tagged
 * AGENT_SANDBOX_IMAGE_PREFIX + 12 hex digits naming the executable. */
#define AGENT_SANDBOX_IMAGE_PREFIX "airgap/sandbox:" AIRGAP_VERSION "-"
#define AGENT_SANDBOX_TAG_MAX 128

/* The tag for exe (by its path, size, modification time and inode). */
int agent_sandbox_image_tag(char *out, size_t size, const char *exe);

/* Writes the tag for exe to tag and imports that image when it is missing.
 * AIRGAP_ENOTFOUND: exe or one of its libraries is missing. */
struct docker_client;
int agent_sandbox_image_ensure(char *tag, size_t tag_size, struct docker_client *docker,
                               const char *exe);

struct docker_client;
/* Makes sure image is present per policy, pulling through the Engine API
 * (POST /images/create) when needed; progress goes to log as agent lines
 * (log may be NULL). AIRGAP_ENOTFOUND when absent and policy is never or the
 * pull failed. */
int agent_image_ensure(struct docker_client *docker, const char *image, agent_pull_policy policy,
                       agent_log *log);

/* ---- final status (agent_status.c) ---- */

/* What happened to a job, as the supervisor saw it. */
typedef struct agent_outcome {
  const char *error_reason; /* non-NULL: an infrastructure failure ("git",
                               "image_pull", "docker", "workspace", ...) */
  int retryable;            /* the error may be temporary: hand the job back */
  int canceled;
  int timed_out;
  int oom_killed;
  int has_exit_code;
  int exit_code;
} agent_outcome;

typedef struct agent_status {
  const char *status; /* "passed", "failed", "errored", "canceled" (static) */
  const char *reason; /* NULL or static/borrowed from the outcome */
  int exit_code;      /* -1: none */
} agent_status;

/* Maps an outcome to the status reported to the queue: an error → errored
 * with its reason; cancel → canceled; timeout → failed/timeout; OOM kill →
 * failed/oom (with the exit code); exit 0 → passed; other exit → failed with
 * the exit code; no exit code at all → errored/infrastructure. */
void agent_status_from_outcome(agent_status *out, const agent_outcome *outcome);

/* ---- operator ceilings (agent_limits.c) ---- */

/* What the operator allows a job (agent_options' ceilings, checked). */
typedef struct agent_limits {
  const char *default_memory; /* a spec without memory gets this (NULL: none) */
  int64_t max_memory;         /* bytes; 0: no ceiling */
  double max_cpus;            /* 0: no ceiling */
  unsigned max_pids;          /* ceiling; also the default when below AGENT_DEFAULT_PIDS */
  uint64_t max_disk;          /* the writable layer's tmpfs size; 0: the host's disk */
} agent_limits;

/* Checks the options' defaults and ceilings into *out (strings borrowed).
 * AIRGAP_EINVALID names the bad flag. */
int agent_limits_from_options(agent_limits *out, const agent_options *options);

/* Applies the defaults to spec and refuses what asks more than a ceiling:
 * AIRGAP_EINVALID with a message naming the limit, and *reason (static) the
 * job's errored reason ("memory_limit", "cpus_limit", "pids_limit"). */
struct queue_spec;
int agent_limits_apply(struct queue_spec *spec, const agent_limits *limits, const char **reason);

/* ---- the job supervisor (agent_job.c) ---- */

/* Everything one supervisor needs; strings borrowed. */
typedef struct agent_job_params {
  const char *queue_url;
  const char *token;
  const char *agent_id;
  const char *job_id;
  const char *lease;
  unsigned lease_ttl;    /* seconds; heartbeats go out every third of it */
  const char *spec_json; /* the job's spec with secret values */
  const char *cache_dir; /* overlay cache */
  const char *work_dir;  /* run directories: <work_dir>/<job id>.<attempt> */
  unsigned attempt;      /* the queue's attempt number of this lease */
  const char *network;   /* sandbox network mode: bridge, none or a name */
  const char *pause_path;
  const char *user; /* NULL: the image's user */
  agent_pull_policy pull;
  int allow_local_repos;              /* agent_options.allow_local_repos */
  const char *docker_host;            /* NULL: DOCKER_HOST or the default socket */
  const char *sandbox_id;             /* a warm sandbox the agent started for this job, or NULL */
  volatile const int *stop_requested; /* set (by a signal handler) to cancel */
  /* agentlife (issue #12 items 5, 7) */
  const char *life_id; /* the agent's life: labels airgap.life of every container */
  agent_limits limits;
} agent_job_params;

/* ---- the agent → supervisor hand-off (agent_handoff.c) ---- */

/* What the agent hands a job supervisor. Writer: strings borrowed. Reader:
 * they point into the hand-off itself, valid until agent_handoff_clear. */
typedef struct agent_handoff {
  agent_job_params job; /* job.spec_json: the spec's text as the queue gave it;
                           job.stop_requested is not handed over */
  pid_t parent;         /* the agent that started the supervisor (informational) */
  int log_level;
  /* the reader's storage */
  char *text;
  size_t len;
  json_t *header;
} agent_handoff;

/* Writes the hand-off to fd (the supervisor's stdin pipe). */
int agent_handoff_write(int fd, const agent_handoff *handoff);

/* Reads a hand-off from fd to its end (bounded) into *out, checking that the
 * required members are there. Errors: AIRGAP_EINVALID (malformed),
 * AIRGAP_ETOOBIG, -1. */
int agent_handoff_read(agent_handoff *out, int fd);

/* Wipes (it holds the token and the secrets) and frees what a read holds. */
void agent_handoff_clear(agent_handoff *handoff);

/* The run directory of one attempt of a job, <work_dir>/<job id>.<attempt>:
 * the one place that names it (the supervisor makes it, the agent removes
 * what a crashed supervisor left there). AIRGAP_EINVALID when too long. */
int agent_run_dir(char *out, size_t size, const char *work_dir, const char *job_id,
                  unsigned attempt);

/* agent_job_run's answer when a temporary failure could not even be handed
 * back to the queue (queue unreachable too), so the job is left to requeue when
 * its lease expires, and the supervisor's exit status saying so (EX_TEMPFAIL). */
#define AGENT_JOB_REQUEUE 1
#define AGENT_EXIT_REQUEUE 75

/* Runs one leased job end to end: workspace, sandbox, emulator, container,
 * heartbeats, cancel, timeout, logs, teardown in order, final status. Returns
 * 0 when the final status reached the queue (or the lease was lost, so there
 * is nothing left to report); AGENT_JOB_REQUEUE when the job was left for the
 * queue to hand out again; -1 when it could not be reported. */
int agent_job_run(const agent_job_params *params);

/* ---- reaping and job ids (agent_reap.c) ---- */

/* Reaps containers labelled airgap.agent=<agent_id> that name no agent life
 * (left by agents from before lives; a life's own are agent_life_reap_dead's),
 * except except_id (a sandbox started ahead for this agent; NULL: none).
 * work_dir is unused. */
struct docker_client;
int agent_reap_leftovers(struct docker_client *docker, const char *agent_id, const char *work_dir,
                         const char *except_id);

/* Removes every container labelled airgap.job=<job_id> (label "airgap.job"
 * with value) or, when job_id is NULL, airgap.agent=<agent_id>. *out (may be
 * NULL) gets the count removed. */
struct docker_client;
int agent_containers_reap(unsigned *out, struct docker_client *docker, const char *agent_id,
                          const char *job_id, const char *except_id);

/* ---- the agent's life and what dead ones left (agent_life.c) ---- */

/* The label naming the agent life that started a container. */
#define AGENT_LABEL_LIFE "airgap.life"
/* On sandboxes: the services their emulator serves ("" for all). */
#define AGENT_LABEL_SERVICES "airgap.services"

/* agent.h's sandbox ahead, as the lease loop uses it. Both wait until the
 * container exists or has failed to. The id of a sandbox not yet taken
 * (borrowed; NULL: none), so the agent's start-up reaping leaves it. */
const char *agent_sandbox_ahead_id(agent_sandbox_ahead *ahead);
/* The id, once (owned, free it); the caller owns the container from then on
 * (a supervisor adopts or removes it). NULL: none, or taken already. */
char *agent_sandbox_ahead_take(agent_sandbox_ahead *ahead);

typedef struct agent_life agent_life;
struct queue_client;

/* Starts a life in work_dir: its lock (held until agent_life_end, and by
 * every supervisor that inherits agent_life_fd) and its lease records. */
int agent_life_begin(agent_life **out, const char *work_dir);
/* The uuid naming this life (borrowed). */
const char *agent_life_id(const agent_life *life);
/* The lock's fd, for supervisors to inherit. */
int agent_life_fd(const agent_life *life);
/* Records a lease before its supervisor starts; forget it once it ended. */
int agent_life_record(agent_life *life, const char *job_id, unsigned attempt, const char *lease);
void agent_life_forget(agent_life *life, const char *job_id, unsigned attempt);
/* Ends the life: its records and lock go when no supervisor is left. Accepts NULL. */
void agent_life_end(agent_life *life);

/* Reaps every life in work_dir whose lock nobody holds (self excepted; may
 * be NULL): its containers (label airgap.life), its recorded run
 * directories, and its leases, handed back to the queue with reason
 * agent_lost (queue may be NULL: records are then only removed). -1 when
 * something is left for a later call. */
int agent_life_reap_dead(struct docker_client *docker, struct queue_client *queue,
                         const char *work_dir, const agent_life *self);

/* Adds the label airgap.life=<life_id> to a container configuration
 * (nothing when life_id is NULL). */
int agent_container_label_life(json_t *config, const char *life_id);

/* A job id usable as a directory name and label value: 1–64 of [A-Za-z0-9_-]. */
int agent_job_id_valid(const char *id);

/* ---- cache eviction (agent_cache.c) ---- */

struct overlay_evict_options;

/* The eviction limits for agent_options' cache_max_bytes (0: a quarter of
 * the cache's file system) and cache_max_age_secs (0: 7 days). */
int agent_cache_limits(struct overlay_evict_options *out, const char *cache_dir, uint64_t max_bytes,
                       unsigned max_age_secs);

typedef struct agent_cache_keeper agent_cache_keeper;

/* Starts the background thread that sweeps a killed checkout's leftovers and
 * evicts: at once, after agent_cache_keeper_poke (at most once a minute) and
 * every ten minutes. *out owned: agent_cache_keeper_stop. */
int agent_cache_keeper_start(agent_cache_keeper **out, const char *cache_dir, uint64_t max_bytes,
                             unsigned max_age_secs);
/* A job ended: evict soon. Accepts NULL. */
void agent_cache_keeper_poke(agent_cache_keeper *keeper);
/* Waits for a run in progress, stops the thread, frees. Accepts NULL. */
void agent_cache_keeper_stop(agent_cache_keeper *keeper);

#endif
