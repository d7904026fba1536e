/*
 * queue.h — airgap's durable job queue: the server (`airgap queue`, and the queue
 * half of `airgap serve`), its token management, the job spec, and the client
 * the agent and the CLI use to talk to a queue over HTTP.
 *
 * Jobs move queued → running → passed | failed | errored | canceled. An agent
 * takes a job with a long-polling lease (labels must match), keeps it with
 * heartbeats (the answer carries the cancel flag), appends log chunks at byte
 * offsets and finishes with a final status — or, after a temporary failure,
 * hands the job back (release): it is queued again at once and parked lease
 * requests are answered. A lease that is not renewed expires and the job goes
 * back to the queue the same way. Every lease counts as an attempt: a job that
 * is released or expires after max_attempts leases ends errored, with the
 * agent's reason for a release and "agent_lost" for an expiry; a job whose
 * cancel was requested ends canceled instead of going back. A final status
 * reported under a lease that expired is still accepted as long as nobody
 * has leased the job again, and a server that starts gives running leases
 * one full TTL before any expires (an outage of the queue longer than the TTL
 * does not discard finished work).
 *
 * HTTP API (JSON, every /v1 call needs "Authorization: Bearer TOKEN"; client
 * tokens for the first five and the web UI's calls below, agent tokens for
 * the rest; viewer tokens may make every GET a client token may):
 *   POST /v1/jobs                      submit a spec → 201 job
 *   GET  /v1/jobs?state=S&label=L&repo=R&q=TEXT&limit=N&before=CURSOR
 *                                      newest first → {"jobs":[…],"next":CURSOR|null}
 *   GET  /v1/jobs/ID                   one job (secret values masked)
 *   POST /v1/jobs/ID/cancel            queued → canceled at once; running → cancel flag
 *   GET  /v1/jobs/ID/logs?offset=N[&follow=1]   log bytes from N (follow: until the job ends)
 *   POST /v1/leases                    {"agent":A,"labels":[…],"wait":S} → 200 job+lease | 204
 *   POST /v1/jobs/ID/heartbeat         {"lease":L} → {"cancel":bool,"lease_ttl":S} | 409 lease lost
 *   POST /v1/jobs/ID/logs?offset=N     raw bytes, header X-Airgap-Lease → {"offset":END} | 409
 *   POST /v1/jobs/ID/complete          {"lease":L,"status":S,"reason":R,"exit_code":N}
 *                                      → job (idempotent) | 409
 *   POST /v1/jobs/ID/release           {"lease":L,"reason":R} → job (idempotent) | 409
 *   GET  /healthz, GET /metrics        no token (Prometheus text on /metrics)
 * For the web UI (served at / with no token; see server_ui.c):
 *   POST /v1/jobs/ID/retry             a finished job's spec as a new job → 201 job
 *                                      (linked: retry_of / retried_by) | 409
 *   GET  /v1/agents                    the agent registry (labels, slots, version,
 *                                      last contact, drained, running jobs)
 *   POST /v1/agents/NAME/drain|resume  a drained agent leases nothing new
 *   GET  /v1/queue                     counts, queued jobs by label set, health
 *   GET  /v1/events                    text/event-stream: "change" when a list changes
 *   GET  /v1/whoami                    {"role": "client"|"viewer"|"agent"}
 *   GET  /v1/jobs/ID/logs/times?offset=N  when each log chunk was stored:
 *                                      {"chunks":[[start,at_ms],…],"next":N|null}
 */
#ifndef AIRGAP_QUEUE_QUEUE_H
#define AIRGAP_QUEUE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

/* ---- limits on what a spec may hold (hostile input is refused, not truncated) ---- */
#define QUEUE_MAX_SPEC_BYTES (256u * 1024)
#define QUEUE_MAX_SCRIPT_BYTES (64u * 1024)
#define QUEUE_MAX_ENV 256
#define QUEUE_MAX_ENV_KEY 128
#define QUEUE_MAX_ENV_VALUE (16u * 1024)
#define QUEUE_MAX_LABELS 32
#define QUEUE_MAX_LABEL 64
#define QUEUE_MAX_SERVICES 32
#define QUEUE_MAX_TIMEOUT 604800u /* one week, in seconds */
#define QUEUE_DEFAULT_TIMEOUT 3600u
#define QUEUE_MAX_LOG_CHUNK (1024u * 1024)

/* ---- the job spec ---- */

typedef struct queue_kv {
  char *key;
  char *value;
} queue_kv;

/* A validated job spec. Plain data, read-only for users; owned by whoever got
 * it, freed with queue_spec_free(). Optional strings are NULL when absent. */
typedef struct queue_spec {
  char *repo;
  char *ref;    /* "HEAD" when the spec had none */
  char *commit; /* NULL or 4–64 hex digits */
  char *image;
  char *script;
  queue_kv *env;
  size_t env_count;
  queue_kv *secrets; /* values are "***" in specs read back by clients */
  size_t secret_count;
  unsigned timeout; /* seconds */
  char **services;
  size_t service_count;
  char **labels;
  size_t label_count;
  char *memory;     /* NULL or e.g. "2g" */
  double cpus;      /* 0 when unset */
  unsigned pids;    /* 0 when unset */
  char *mountpoint; /* "/workspace" when the spec had none */
} queue_spec;

/* Why a spec was refused: the field ("env.FOO", "timeout") and the reason. */
typedef struct queue_spec_error {
  char field[128];
  char reason[256];
} queue_spec_error;

/* Parses and validates a JSON spec of len bytes. On success *out owns a new
 * spec. On failure returns AIRGAP_EINVALID or AIRGAP_ETOOBIG, records the
 * message "FIELD: REASON" and fills *err when err is not NULL. */
int queue_spec_parse(queue_spec **out, const char *json, size_t len, queue_spec_error *err);

/* Serializes spec as compact JSON (owned; free()). mask_secrets replaces secret
 * values with "***". */
int queue_spec_to_json(char **out, const queue_spec *spec, int mask_secrets);

void queue_spec_free(queue_spec *spec);
/* The rule for a spec's "mountpoint" (absolute, normalised, no ':' or ',', not
 * / nor a system directory of the container), shared by the queue at submit
 * and the agent before it binds the workspace. 0 or AIRGAP_EINVALID with a
 * message naming the reason. */
int queue_spec_mountpoint_check(const char *path);

/* ---- jobs as seen through the API ---- */

/* One job. Owned by the caller; free with queue_job_free(). Times are
 * milliseconds since the epoch, 0 when not reached yet.
 *
 * The spec travels as text: validated once, when it is submitted, and stored
 * in the canonical form queue_spec_to_json() gives it; spec_json is that
 * text as the queue answered it (secret values "***", except in the answer
 * to a lease, which carries them for the agent). Whoever needs its fields
 * parses it there with queue_spec_parse(). */
typedef struct queue_job {
  char *id;
  char *state;  /* "queued", "running", "passed", "failed", "errored", "canceled" */
  char *reason; /* NULL or e.g. "agent_lost", "timeout", "canceled" */
  int has_exit_code;
  int exit_code;
  unsigned attempts;
  char *agent; /* NULL until leased */
  int64_t created_at;
  int64_t started_at;
  int64_t finished_at;
  int cancel_requested;
  uint64_t log_size;
  char *spec_json;    /* NUL-terminated JSON object (owned by the job) */
  char *lease;        /* set only in the answer to a lease request */
  unsigned lease_ttl; /* seconds; idem */
} queue_job;

void queue_job_free(queue_job *job);
void queue_job_list_free(queue_job **jobs, size_t count);

/* 1 for passed/failed/errored/canceled. */
int queue_state_is_final(const char *state);

/* ---- the server ---- */

typedef struct queue_server queue_server;

typedef struct queue_server_options {
  const char *listen;     /* "host:port" list; port 0 picks a free port */
  const char *data_dir;   /* created when missing; holds queue.db */
  unsigned lease_ttl;     /* seconds a lease lives without a heartbeat (0: 30) */
  unsigned max_attempts;  /* leases per job before errored/agent_lost (0: 3) */
  uint64_t log_cap;       /* bytes kept per job log (0: 16 MiB) */
  unsigned max_wait;      /* longest lease long-poll, seconds (0: 60) */
  unsigned threads;       /* HTTP worker threads (0: default) */
  int sync_normal;        /* 1: synchronous=NORMAL (survives process crashes,
                             not power loss); default FULL */
  const char *database;   /* postgres://… (or a libpq conninfo): PostgreSQL,
                             shared by several queue servers; NULL or "": the
                             SQLite database under data_dir */
  unsigned pool_size;     /* PostgreSQL connections per server (0: 8) */
  uint64_t retention;     /* seconds finished jobs and their logs are kept
                             (0: 30 days) */
  uint64_t log_total_cap; /* bytes of stored logs over all jobs, past which
                            the oldest finished jobs go (0: no cap) */
} queue_server_options;

/* Opens the store and starts serving. On success *out owns the running server.
 * Errors: AIRGAP_EINVALID (bad options), -1 (store or listener failed). */
int queue_server_start(queue_server **out, const queue_server_options *options);

/* The port of the first listener. */
uint16_t queue_server_port(const queue_server *server);

/* Answers waiting lease requests, stops serving, closes the store. Accepts NULL. */
void queue_server_free(queue_server *server);

/* ---- tokens ---- */

/* Creates a token of role "agent", "client" or "viewer" (read only) in the queue database under
 * data_dir — or, when data_dir starts with postgres:// or postgresql://, in
 * that PostgreSQL database — (which may be in use by a running server) and writes the token into
 * *out (owned; free()). Only a hash is stored: the token cannot be shown again.
 * Errors: AIRGAP_EINVALID (unknown role), -1. */
int queue_token_create(char **out, const char *data_dir, const char *role);

/* The same, in the database of a server this process runs (no second
 * connection to open: what `airgap run`'s embedded queue uses). */
int queue_server_token_create(char **out, queue_server *server, const char *role);

/* ---- the client ---- */

typedef struct queue_client queue_client;

/* url: "http://host:port" (a trailing slash is fine); token may be NULL.
 * Both are copied. */
int queue_client_new(queue_client **out, const char *url, const char *token);

/* The number of jobs the agent using this client runs at once, sent with its
 * lease requests for the queue's agent registry (GET /v1/agents). */
void queue_client_set_slots(queue_client *client, unsigned slots);
void queue_client_free(queue_client *client);

/* Errors of every call below: AIRGAP_EAUTH (401/403), AIRGAP_ENOTFOUND (404),
 * AIRGAP_EINVALID (400; message from the server), AIRGAP_EBUSY (409: lease lost
 * or state conflict), -1 (transport; the message names the URL). */

/* Submits a JSON spec; *out gets the new job id (owned; free()). */
int queue_client_submit(char **out, queue_client *client, const char *spec_json, size_t len);

int queue_client_get(queue_job **out, queue_client *client, const char *id);

/* Lists jobs newest first, optionally of one state. before: 0 for the first
 * page, else the cursor a previous call wrote to *out_next (0: no more). */
int queue_client_list(queue_job ***out, size_t *out_count, int64_t *out_next, queue_client *client,
                      const char *state, unsigned limit, int64_t before);

/* Cancels: a queued job ends at once; a running one gets the cancel flag. *out
 * (may be NULL) receives the job after the call. */
int queue_client_cancel(queue_job **out, queue_client *client, const char *id);

/* Long-polls for a job whose labels are all among labels. *out is the leased
 * job (with lease and lease_ttl, and spec_json with the secret values: pass
 * it on as it is), or NULL when none arrived within wait seconds. */
int queue_client_lease(queue_job **out, queue_client *client, const char *agent,
                       const char *const *labels, size_t label_count, unsigned wait);

/* Extends the lease; *out_cancel is 1 when the job was canceled. AIRGAP_EBUSY
 * when the lease is lost (expired and requeued, or the job ended): stop. */
int queue_client_heartbeat(int *out_cancel, queue_client *client, const char *id,
                           const char *lease);

/* Appends len bytes of log written at byte offset (the count of bytes the agent
 * sent before). Writes the server's offset into *out in both outcomes: 0 when
 * the chunk is stored (or was already: retries are idempotent); AIRGAP_EINVALID
 * when offset is ahead of the server, which then holds *out bytes: resend from
 * there. AIRGAP_EBUSY when the lease is lost. */
int queue_client_log_append(uint64_t *out, queue_client *client, const char *id, const char *lease,
                            uint64_t offset, const void *data, size_t len);

/* Reads the log from offset, handing bytes to on_data as they arrive; with
 * follow, keeps reading until the job ends. on_data returns non-zero to stop
 * (AIRGAP_ECANCELED). */
int queue_client_log_read(queue_client *client, const char *id, uint64_t offset, int follow,
                          int (*on_data)(const char *data, size_t len, void *payload),
                          void *payload);

/* Reports the final status ("passed", "failed", "errored", "canceled"); reason
 * may be NULL, exit_code < 0 means none. Repeating the same report is fine.
 * Accepted also after the lease expired, until the job is leased again. */
int queue_client_complete(queue_client *client, const char *id, const char *lease,
                          const char *status, const char *reason, int exit_code);

/* Hands a running job back after a temporary failure (the Docker engine or the
 * git remote unreachable); stop working on it afterwards. reason is a short
 * word of [A-Za-z0-9_-] ("git", "docker"). The job is queued again at once —
 * the lease counted as an attempt — and waiting lease requests are answered;
 * if it has had max_attempts leases already it ends errored with reason; if
 * its cancel was requested it ends canceled. Repeating the same release is
 * fine (0). AIRGAP_EBUSY when the lease is lost (expired, or the job ended or
 * was handed back under another lease); AIRGAP_EINVALID for a missing or
 * malformed reason. */
int queue_client_release(queue_client *client, const char *id, const char *lease,
                         const char *reason);

#endif
