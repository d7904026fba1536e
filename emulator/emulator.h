/*
 * emulator.h — the LocalStack-compatible AWS emulator as a library.
 *
 * `airgap emulator` runs one standalone; the agent's job supervisor runs one
 * per job on a socket it opened inside the job's network namespace. An
 * emulator serves the gateway (service routing, the AWS protocols, the
 * services) and LocalStack's internal endpoints (/_localstack/health, …) on
 * its listeners until stopped. State lives in memory and dies with it.
 *
 * Thread-safety: emulator_request_stop() may be called from any thread and
 * from a signal handler; the other functions are called by the owner.
 */
#ifndef AIRGAP_EMULATOR_EMULATOR_H
#define AIRGAP_EMULATOR_EMULATOR_H

#include <stddef.h>
#include <stdint.h>

typedef struct emulator emulator;

typedef struct emulator_options {
  /* Comma-separated "host:port" list, as GATEWAY_LISTEN ("127.0.0.1:4566").
   * Port 0 picks a free port (see emulator_port). Ignored when listen_fds are
   * given; NULL with no fds means "127.0.0.1:4566". */
  const char *listen;
  /* Already bound and listening sockets (e.g. opened inside a job's network
   * namespace). The emulator takes ownership and closes them, also when
   * emulator_start fails. */
  const int *listen_fds;
  size_t listen_fd_count;
  /* Comma-separated service names to serve, as SERVICES ("sqs,sts"); NULL or
   * "" serves all. Others answer as disabled. Names this build does not know
   * are logged and ignored, as LocalStack does. */
  const char *services;
  /* Directory for large request bodies (spilled to unlinked files) and
   * service data; NULL uses $TMPDIR or /tmp. Must exist. The emulator works
   * in a private folder inside it, removed when it stops; the folder of an
   * emulator that was killed is removed by the next one started here. */
  const char *data_dir;
  /* "host:port" used in URLs handed to clients (SQS queue URLs) when a request
   * has no usable Host header, as LOCALSTACK_HOST; NULL: "localhost:<port>". */
  const char *hostname;
  /* HTTP worker threads (0: 4). */
  unsigned threads;
  /* LocalStack's init hooks folder (holding boot.d, start.d, ready.d,
   * shutdown.d); NULL runs none. BOOT and START scripts run before
   * emulator_start returns, READY scripts while it serves, SHUTDOWN scripts
   * in emulator_free while it still serves (each at most 10 s). */
  const char *init_dir;
  /* S3 strict modes, off by default as in LocalStack. s3_verify_signatures:
   * SigV4/SigV2 signatures (headers and presigned URLs) are verified and dates
   * checked (`--s3-verify-signatures`; also on when the environment has
   * S3_SKIP_SIGNATURE_VALIDATION=0, LocalStack's name). s3_enforce_access:
   * ACLs, bucket policies, public-access blocks and ExpectedBucketOwner are
   * evaluated (`--s3-enforce-access`, or AIRGAP_S3_ENFORCE_ACCESS=1). */
  int s3_verify_signatures;
  int s3_enforce_access;
} emulator_options;

/* Starts an emulator: services created, listeners accepting. On success *out
 * owns it (free with emulator_free). Errors: AIRGAP_EINVALID (bad listen
 * address, unreadable init hooks folder; the message says which), -1. */
int emulator_start(emulator **out, const emulator_options *options);

/* Port of the first listener (after listening on port 0). */
uint16_t emulator_port(const emulator *emu);

/* Serves the gateway on one more listening socket, opened after the start
 * (Lambda opens one inside the network namespace its functions join). Takes
 * fd, closed also on failure; the listener lives until emulator_free. At most
 * EMULATOR_MAX_EXTRA_LISTENERS. Errors: AIRGAP_ETOOBIG, -1. */
int emulator_listen_fd(emulator *emu, int fd);
#define EMULATOR_MAX_EXTRA_LISTENERS 4

/* Asks the emulator to stop: emulator_wait returns. Async-signal-safe. */
void emulator_request_stop(emulator *emu);

/* Blocks until a stop is requested (emulator_request_stop or
 * POST /_localstack/health {"action":"kill"}) or timeout_ms passes (-1: no
 * timeout). Returns 1 when a stop was requested, 0 on timeout. */
int emulator_wait(emulator *emu, int timeout_ms);

/* As emulator_wait, and returns 2 as soon as fd is readable (a signalfd, so
 * that a command needs no thread of its own to wait for signals). */
int emulator_wait_fd(emulator *emu, int fd, int timeout_ms);

/* Clears every service's state, as POST /_localstack/state/reset does. */
void emulator_reset(emulator *emu);

/* Stops: READY init scripts still running are stopped, SHUTDOWN scripts run,
 * every suspended call is answered (each service's shutdown), the listeners
 * close, state is freed. Accepts NULL. */
void emulator_free(emulator *emu);

/* Comma-separated names of the services this build can serve ("sqs,sts").
 * Static string. */
const char *emulator_service_names(void);

/* Shared libraries the emulator loads on demand (dlopen) by soname, separated
 * by spaces: an image that holds the emulator and only what it links (the
 * agent's sandbox) must hold these too. libzip: Lambda's deployment packages
 * (emulator/lambda/zipload.c); libcurl: deliveries to HTTP(S) subscribers
 * (emulator/delivery/http.c). */
#define EMULATOR_ON_DEMAND_LIBRARIES "libzip.so.5 libzip.so.4 libcurl.so.4"

#endif
