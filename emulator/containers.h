/*
 * containers.h — how the emulator starts the containers it needs (Lambda
 * functions, next), behind one interface with two implementations:
 *
 *  - direct Docker: standalone `airgap emulator`, whose user chose to give it
 *    the engine's socket. Talks to the Engine API over the unix socket with a
 *    small HTTP/1.0 client of its own (common/docker.c needs libcurl and
 *    libarchive, which the slim `airgap` executable must not load).
 *  - the supervisor channel: inside a job the emulator is confined (no socket,
 *    no capabilities) and asks the job's supervisor instead. One JSON request
 *    per connection on a unix socket; the supervisor validates it and starts
 *    only function containers in the job's own network namespace, with the
 *    job's labels and limits (agent/agent_emulator_channel.c).
 *
 * The channel's request, the one form it crosses the boundary in:
 *   {"op": "create", "image": "...", "env": ["K=V", ...], "cmd": ["...", ...],
 *    "entrypoint": ["...", ...], "working_dir": "/...",
 *    "code": "<base64 of a tar>", "code_dir": "/var/task",
 *    "memory": <bytes>, "tmpfs_mb": <MiB>}
 *   {"op": "logs", "id": "<container id>", "since_ms": <ms>, "limit": <bytes>}
 *   {"op": "start" | "stop" | "remove", "id": "<container id>"}
 * and its answer {"id": "..."} (create), {"output": "<base64>"} (logs), {} or
 * {"error": "<message>"}. memory and tmpfs_mb only lower what the job gets.
 * Anything else in a request (privileged, binds, network, ...) is refused.
 */
#ifndef AIRGAP_EMULATOR_CONTAINERS_H
#define AIRGAP_EMULATOR_CONTAINERS_H

#include "common/dynbuf.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct emulator_containers emulator_containers;

/* A function container to create. Strings borrowed for the call. */
typedef struct emulator_container_spec {
  const char *image;
  const char *const *env; /* "KEY=value" */
  size_t env_count;
  const char *const *cmd; /* NULL: the image's own command */
  size_t cmd_count;
  const char *const *entrypoint; /* NULL: the image's own entrypoint */
  size_t entrypoint_count;
  const char *working_dir; /* absolute; NULL: the image's own */
  const void *code_tar;    /* a tar archive extracted into code_dir before the
                              container starts, or NULL */
  size_t code_tar_len;
  const char *code_dir; /* absolute; must exist in the image ("/var/task") */
  /* Per-container limits (Lambda's MemorySize and ephemeral storage). The
   * direct implementation applies them (never above its own memory limit);
   * through the channel the supervisor applies the job's. 0: none. */
  long long memory;   /* bytes */
  long long tmpfs_mb; /* a tmpfs on /tmp of this size */
  /* Extra labels ("key=value") for this container, beside the
   * implementation's own (which win). */
  const char *const *labels;
  size_t label_count;
} emulator_container_spec;

/* Limits and identity the direct implementation puts on every container it
 * creates (the supervisor fills them from the job). Strings borrowed for the
 * call to emulator_containers_docker_new (copied). */
typedef struct emulator_containers_docker_options {
  const char *socket;        /* the engine's unix socket; NULL: DOCKER_HOST
                                (unix://) or /var/run/docker.sock */
  const char *network_mode;  /* "container:<id>", "none", a network name */
  const char *const *labels; /* "key=value" pairs, plus airgap.role=function */
  size_t label_count;
  long long memory;       /* bytes; 0: none */
  long long pids;         /* 0: none */
  const char *hosts_file; /* host path bound read-only at /etc/hosts, or NULL */
} emulator_containers_docker_options;

/* The largest request or code archive either implementation handles. */
#define EMULATOR_CONTAINERS_MAX_CODE (64u * 1024 * 1024)
#define EMULATOR_CONTAINERS_MAX_REQUEST (EMULATOR_CONTAINERS_MAX_CODE / 3 * 4 + 64 * 1024)
/* The most output one logs request reads through the channel (its base64
 * answer stays under the channel's 1 MiB answer). */
#define EMULATOR_CONTAINERS_MAX_CHANNEL_LOGS (512u * 1024)

/* Direct Docker. Does not connect. *out owned (emulator_containers_free).
 * Errors: AIRGAP_EINVALID (a DOCKER_HOST that is not unix://). */
int emulator_containers_docker_new(emulator_containers **out,
                                   const emulator_containers_docker_options *options);

/* The supervisor channel at the unix socket socket_path ("@name" for an
 * abstract socket). Does not connect. *out owned. */
int emulator_containers_channel_new(emulator_containers **out, const char *socket_path);

/* From the environment: AIRGAP_CONTAINERS_CHANNEL (set in a job's sandbox)
 * selects the channel; otherwise direct Docker with network_mode (NULL:
 * "none") and no limits. *out owned. */
int emulator_containers_from_env(emulator_containers **out, const char *network_mode);

/* Creates (and fills code_dir of) a container; *out gets its id (owned,
 * free()). Errors: AIRGAP_EINVALID (a refused or malformed spec, with the
 * reason), AIRGAP_ENOTFOUND (no such image), AIRGAP_ETOOBIG, -1. */
int emulator_containers_create(char **out, emulator_containers *c,
                               const emulator_container_spec *spec);
/* Start, stop (SIGKILL after a second) and remove (forced) a container this
 * interface created. AIRGAP_ENOTFOUND when it does not exist (or, through the
 * channel, was not created through it). */
int emulator_containers_start(emulator_containers *c, const char *id);
int emulator_containers_stop(emulator_containers *c, const char *id);
int emulator_containers_remove(emulator_containers *c, const char *id);

/* What a container printed (stdout and stderr, in order) since since_ms
 * (wall clock, milliseconds), at most limit bytes (the end is kept).
 * *out owned (NUL-terminated). Through the channel, the supervisor reads it
 * (at most EMULATOR_CONTAINERS_MAX_CHANNEL_LOGS bytes). */
int emulator_containers_logs(char **out, size_t *out_len, emulator_containers *c, const char *id,
                             unsigned long long since_ms, size_t limit);

/* The containers carrying label ("key" or "key=value"), running or not:
 * *out an array of {"Id", "Labels"} (owned). Direct Docker only (the
 * supervisor reaps a job's containers itself): AIRGAP_EINVALID through the
 * channel. Also tells whether the engine answers at all. */
int emulator_containers_list(json_t **out, emulator_containers *c, const char *label);

/* 1 when c talks to Docker itself, 0 through the supervisor's channel. */
int emulator_containers_direct(const emulator_containers *c);

/* Accepts NULL. */
void emulator_containers_free(emulator_containers *c);

/* ---- where a standalone emulator's functions run (containers_place.c) ----
 *
 * Function containers join the network namespace of the emulator that
 * started them, so localhost:<port> inside a function is the emulator. Inside
 * a job the supervisor's channel sees to it. Standalone (direct Docker), the
 * first of these that applies:
 *  - LAMBDA_DOCKER_NETWORK names a network mode ("host", a user network,
 *    "container:<id>"): functions join it, as LocalStack's do;
 *  - the emulator runs in a container itself (its id read from
 *    /proc/self/mountinfo, confirmed by the engine): functions join that
 *    container's namespace ("container:<own id>");
 *  - otherwise the emulator starts a sandbox of its own: a container whose
 *    only process is the static airgap-pause program (AIRGAP_PAUSE, else
 *    next to this executable, else /usr/lib/airgap/airgap-pause), in an
 *    image imported locally from it (airgap/lambda-sandbox:<version>-<hash>,
 *    no registry), on AIRGAP_LAMBDA_SANDBOX_NETWORK (default "bridge", so
 *    functions reach out as on AWS; "none" keeps them on loopback). The
 *    emulator opens listeners inside that namespace (setns on a helper
 *    thread: root or CAP_SYS_ADMIN); without the privilege the sandbox is
 *    removed again and functions fall back to "host", with a warning.
 * The sandbox carries the labels given (the caller's owner label), so the
 * caller's reaping finds it with the function containers. */
typedef struct emulator_placement emulator_placement;

/* Decides where c's function containers run and sets c's network mode
 * (before its first create). c must be direct Docker. labels: "key=value"
 * put on a sandbox. *out owned (emulator_placement_free). */
int emulator_containers_place(emulator_placement **out, emulator_containers *c,
                              const char *const *labels, size_t label_count);

/* A TCP socket bound to 127.0.0.1:port (0: a free one) and listening, in the
 * network namespace functions join (this process's own unless a sandbox is
 * used). *out owned (close). */
int emulator_placement_listen(int *out, const emulator_placement *p, uint16_t port);

/* 1 when functions run in a namespace that is not this process's own (a
 * sandbox): the emulator then also listens inside it. */
int emulator_placement_separate(const emulator_placement *p);

/* The network mode function containers get ("container:<id>", "host", ...);
 * borrowed. */
const char *emulator_placement_network(const emulator_placement *p);

/* The sandbox's container id, NULL without one; borrowed. */
const char *emulator_placement_sandbox(const emulator_placement *p);

/* Removes the sandbox (if any) through c and frees p. Accepts NULL. */
void emulator_placement_free(emulator_placement *p, emulator_containers *c);

/* The environment variable naming the channel inside a job's sandbox. */
#define EMULATOR_CONTAINERS_CHANNEL_ENV "AIRGAP_CONTAINERS_CHANNEL"

/* ---- tar archives (containers_tar.c) ----
 *
 * The format the Engine API takes for a container's files and an imported
 * image: ustar, with a pax header for a name or link target beyond 100
 * bytes, every entry owned by root. Appended to b (its limit bounds the
 * archive; check dynbuf_failed once at the end). */

/* One entry: type '0' a file of size bytes of data, '5' a directory, '2' a
 * symlink to link. mode: the permission bits. */
void emulator_containers_tar_entry(dynbuf *b, const char *name, char type, unsigned mode,
                                   const void *data, size_t size, const char *link);
/* The end-of-archive marker (two zero blocks), after the last entry. */
void emulator_containers_tar_end(dynbuf *b);

#endif
