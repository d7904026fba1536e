/*
 * docker.h — a Docker Engine API client over the engine's unix socket.
 *
 * Speaks the HTTP API directly (through common/http_client), so it needs no
 * docker CLI and works against podman's Docker-compatible socket as well. The
 * API version is pinned to 1.41 (docker.io 20.10, Debian 12's engine) and
 * lowered on first contact when the engine only speaks an older one.
 *
 * Where: DOCKER_HOST when set (only unix:///path is supported), otherwise
 * /var/run/docker.sock.
 *
 * Errors: every function returns 0 or a negative code from common/error.h and
 * records a message naming the request and the engine's own explanation.
 * AIRGAP_ENOTFOUND means the engine answered 404 (no such container or image).
 *
 * A docker_client is immutable after the first request has negotiated the API
 * version; one client may be used from several threads.
 */
#ifndef AIRGAP_COMMON_DOCKER_H
#define AIRGAP_COMMON_DOCKER_H

#include <jansson.h>
#include <stddef.h>

typedef struct docker_client docker_client;

/* Creates a client for host ("unix:///path", or a plain socket path; NULL means
 * DOCKER_HOST, then /var/run/docker.sock). Does not connect. *out is owned:
 * free with docker_client_free. Errors: AIRGAP_EINVALID for a host that is
 * not a unix socket (tcp:// and ssh:// are not supported). */
int docker_client_new(docker_client **out, const char *host);
void docker_client_free(docker_client *client);

/* The unix socket path the client talks to. Borrowed. */
const char *docker_client_socket(const docker_client *client);

/* Sets the timeout of ordinary requests (default 60 s; 0: none). Waits and
 * followed logs have their own timeouts. Call before sharing the client. */
void docker_client_timeout_set(docker_client *client, long timeout_ms);

/* Checks that the engine answers (GET /_ping) and negotiates the API version.
 * Errors: -1 when nothing answers (the message says where it looked). */
int docker_ping(docker_client *client);

/* The API version in use ("1.41"), after the first request. Borrowed. */
const char *docker_api_version(docker_client *client);

/* ---- images ---- */

/* The engine's description of an image (GET /images/{name}/json); owned.
 * AIRGAP_ENOTFOUND when the image is not present locally. */
int docker_image_inspect(json_t **out, docker_client *client, const char *image);

/* Receives the pull's progress, one message per call as the engine reports it
 * ("Pulling fs layer", "3f4d90098f5b: Download complete", "Status: Downloaded
 * newer image for busybox:latest"); text is borrowed for the call. Return 0 to
 * go on, non-zero to stop (the pull then returns AIRGAP_ECANCELED). */
typedef int (*docker_progress_fn)(const char *text, void *payload);

/* Pulls image ("name", "name:tag", "registry:5000/name:tag" or
 * "name@sha256:…"; no tag means "latest") with POST /images/create, reading the
 * engine's progress stream (one JSON object per line; overlong lines are
 * skipped, never buffered whole) for up to 30 minutes. progress may be NULL;
 * it may have been called before a failure that the stream reports late.
 * Errors, each with the engine's own explanation in the message:
 * AIRGAP_ENOTFOUND (the engine answered 404: no such image or repository),
 * AIRGAP_EINVALID (a malformed reference, refused before any request),
 * AIRGAP_ECANCELED, AIRGAP_ETIMEOUT, -1 (the registry is unreachable or
 * refused, the stream reported an error, the engine is unreachable). */
int docker_image_pull(docker_client *client, const char *image, docker_progress_fn progress,
                      void *payload);

/* Creates image ("repo" or "repo:tag"; no tag means "latest"; no digest) from
 * a tar archive of a root filesystem (len bytes, at most 1 GiB) with
 * POST /images/create?fromSrc=-, replacing the tag if it exists. Errors:
 * AIRGAP_EINVALID (a malformed name), AIRGAP_ETOOBIG, -1 (the engine refused
 * the archive; its message says why). */
int docker_image_import(docker_client *client, const char *image, const void *tar, size_t len);

/* Removes a local image (DELETE /images/{name}); force also removes it when
 * stopped containers use it. AIRGAP_ENOTFOUND when it does not exist,
 * AIRGAP_EBUSY when a container uses it and force is 0. */
int docker_image_remove(docker_client *client, const char *image, int force);

/* ---- containers ---- */

/* Creates a container from a ContainerConfig body (Image, Cmd, Env, Labels,
 * HostConfig, …; see the Engine API). name may be NULL. *out is the new
 * container's id (owned; free()). Errors: AIRGAP_ENOTFOUND (image missing),
 * AIRGAP_EEXISTS (name taken), AIRGAP_EINVALID (the engine refused the body). */
int docker_container_create(char **out, docker_client *client, const char *name, json_t *config);

/* Starts a created container. Starting a running one is not an error. */
int docker_container_start(docker_client *client, const char *id);

/* Waits until the container is not running and writes its exit code to *out.
 * Call it after docker_container_start (a created container counts as not
 * running). timeout_ms 0 waits forever; AIRGAP_ETIMEOUT when it passes. */
int docker_container_wait(int *out, docker_client *client, const char *id, long timeout_ms);

/* Sends a signal ("SIGKILL" when NULL). A container that is not running is not
 * an error: teardown code can kill unconditionally. */
int docker_container_kill(docker_client *client, const char *id, const char *signal);

/* Removes a container and its anonymous volumes; force kills it first when it
 * runs. AIRGAP_ENOTFOUND when it does not exist. */
int docker_container_remove(docker_client *client, const char *id, int force);

/* The engine's description of a container (GET /containers/{id}/json); owned. */
int docker_container_inspect(json_t **out, docker_client *client, const char *id);

/* Containers carrying a label, running or not: label is "key" or "key=value";
 * NULL lists all. *out is the engine's array (owned); each element has "Id",
 * "Names", "Labels", "State", …. */
int docker_container_list(json_t **out, docker_client *client, const char *label);

/* ---- logs ---- */

enum { DOCKER_STREAM_STDOUT = 1, DOCKER_STREAM_STDERR = 2 };

/* Receives log bytes in arrival order; stream is DOCKER_STREAM_STDOUT or
 * DOCKER_STREAM_STDERR (always STDOUT for a container with a TTY). A chunk is
 * not a line. Return 0 to go on, non-zero to stop (the call then returns
 * AIRGAP_ECANCELED). */
typedef int (*docker_log_fn)(int stream, const char *data, size_t len, void *payload);

typedef struct docker_logs_options {
  int follow;      /* keep reading until the container stops */
  int timestamps;  /* prefix each line with an RFC 3339 timestamp */
  long since;      /* unix seconds; 0: from the start */
  long timeout_ms; /* whole call; 0: none */
} docker_logs_options;

/* Streams a container's stdout and stderr to fn, demultiplexing the engine's
 * framed stream. options may be NULL (everything so far, no follow). If the
 * call fails before any byte arrived, fn was never called. An engine that
 * answers the logs request with an error status is reported as that error,
 * never as log bytes (for a TTY container, whose stream is unframed raw
 * bytes, the status is only checked by the inspect that precedes it). Errors: AIRGAP_ENOTFOUND (no
 * such container, also when it vanished between the inspect and the logs request),
 * AIRGAP_ECANCELED, AIRGAP_ETIMEOUT, AIRGAP_EINVALID (a 200 answer that was not framed as the API
 * promises), -1 (any other engine error, with the engine's message). */
int docker_container_logs(docker_client *client, const char *id, const docker_logs_options *options,
                          docker_log_fn fn, void *payload);

/* ---- copying files in ---- */

typedef struct docker_archive_entry {
  const char *path; /* relative path inside the archive ("app/main.py"); no "..", not absolute */
  const void *data; /* file contents (ignored for directories and symlinks) */
  size_t len;
  unsigned mode;      /* permission bits, e.g. 0644; 0 means 0644 (0755 for directories) */
  int is_dir;         /* a directory entry */
  const char *target; /* when non-NULL, a symlink to target */
} docker_archive_entry;

/* Builds a tar archive of entries (owned by root) and extracts it into the
 * container at dest_dir (which must exist) with PUT /containers/{id}/archive.
 * Works on created and stopped containers too. Errors: AIRGAP_EINVALID (a bad
 * entry path), AIRGAP_ETOOBIG (more than 1 GiB), AIRGAP_ENOTFOUND. */
int docker_container_archive_put(docker_client *client, const char *id, const char *dest_dir,
                                 const docker_archive_entry *entries, size_t count);

/* Copies the contents of the local directory src_dir (recursively, symlinks
 * kept as links) into dest_dir of the container, owned by root. Same errors. */
int docker_container_archive_put_dir(docker_client *client, const char *id, const char *dest_dir,
                                     const char *src_dir);

/* Imports an image whose root file system is exactly entries (paths relative
 * to /), as docker_image_import does. Same errors as both. */
int docker_image_import_entries(docker_client *client, const char *image,
                                const docker_archive_entry *entries, size_t count);

#endif
