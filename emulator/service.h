/*
 * service.h — the contract between the emulator's core and every service
 * (emulator/<name>/, e.g. emulator/sts/). A service includes this header and
 * its own <name>_int.h, never a core private header (emulator_int.h,
 * services_int.h); it is listed in the core's service table (services.c).
 * Not part of the public emulator.h API; only emulator/ includes it.
 *
 * The protocol layer (emulator/protocol/) parses a request of any AWS
 * protocol (query, json, rest-json, rest-xml) into a jansson object shaped by
 * the operation's input shape in the embedded botocore model, calls the
 * operation's handler, and serializes what the handler answers. A handler
 * never sees XML or a URL.
 *
 * Value conventions for input and output objects (the JSON protocol's own):
 *   structure → object keyed by model member names; absent members are absent
 *   list → array;  map → object;  string/enum → string;  boolean → true/false
 *   integer/long → integer;  float/double → real
 *   timestamp → number of seconds since the epoch (integer or real)
 *   blob → string holding the base64 encoding of the bytes
 * Members bound to HTTP headers, the URI or the query string (rest protocols)
 * appear in the input object under their member names like any other.
 *
 * Answering: a handler finishes a call with exactly one aws_call_reply() or
 * aws_call_fail(), before it returns or later from any thread (long polls).
 * After that the call must not be touched.
 */
#ifndef AIRGAP_EMULATOR_SERVICE_H
#define AIRGAP_EMULATOR_SERVICE_H

#include "common/http_server.h"

#include <jansson.h>
#include <stdint.h>

typedef struct aws_call aws_call;
typedef struct emulator emulator;

/* ---- what a handler can read about the call (all borrowed from the call) ---- */

const char *aws_call_service(const aws_call *call);   /* "sqs" */
const char *aws_call_operation(const aws_call *call); /* "SendMessage" */
const char *aws_call_account(const aws_call *call);   /* 12 digits */
const char *aws_call_region(const aws_call *call);    /* "us-east-1" */
/* The partition of the Region called, for ARNs: "aws-cn" for cn-*,
 * "aws-us-gov" for us-gov-*, the ISO partitions for theirs, "aws" otherwise. */
const char *aws_call_partition(const aws_call *call);
const char *aws_call_request_id(const aws_call *call); /* unique per request */
/* "http://host:port" as the client addressed us (Host header), for URLs handed
 * back to clients such as SQS queue URLs. */
const char *aws_call_endpoint(const aws_call *call);
/* The protocol the request came in ("query", "json", "rest-json", "rest-xml"). */
const char *aws_call_protocol(const aws_call *call);
/* The raw HTTP request, for the rare operation that needs bytes the model does
 * not describe (S3 streaming bodies). Valid until the call is answered. */
http_request *aws_call_http(aws_call *call);
/* The service's state pointer (what its create function made). */
void *aws_call_state(const aws_call *call);
/* The emulator instance serving the call. */
emulator *aws_call_emulator(const aws_call *call);
/* The access key the request was signed with ("" when unsigned). */
const char *aws_call_access_key(const aws_call *call);
/* Names the caller when the request carries its credentials in its body, not
 * its headers (S3's POST Object form): the access key, and the account it
 * maps to as a signed request's would. Over 128 bytes is ignored. */
void aws_call_set_access_key(aws_call *call, const char *access_key);

/* ---- answering ---- */

/* Answers with output (shaped by the operation's output shape; NULL for an
 * empty output). Takes the reference. */
void aws_call_reply(aws_call *call, json_t *output);

/* Answers with output's status, header and statusCode members (rest
 * protocols; any body members are ignored) and a body streamed from fd: len
 * bytes from offset. Takes fd (-1: empty body) and the output reference.
 * status 0 keeps the operation's status. For S3 objects (GetObject 200/206,
 * HeadObject, where the server sends headers only, 304). */
void aws_call_reply_fd(aws_call *call, json_t *output, int status, int fd, uint64_t offset,
                       uint64_t len);
/* As aws_call_reply_fd with a body copied from memory. */
void aws_call_reply_data(aws_call *call, json_t *output, int status, const void *data, size_t len);

/* ---- streaming answers (event streams) ---- */

/* A body the service produces while the client reads it: Lambda's
 * InvokeWithResponseStream, Kinesis's SubscribeToShard. The gateway answers
 * at once with output's status and header members (as aws_call_reply_data;
 * status 0 keeps the operation's) and content_type (NULL: what the protocol
 * says), then sends the body chunked (HTTP/1.1 Transfer-Encoding: chunked),
 * each aws_stream_write going out as soon as the client can take it.
 *
 * Between writes the connection is parked in the HTTP server (MHD suspended,
 * no thread held, no polling), and a write resumes it. A parked connection is
 * not watched, so a client that went away is noticed at the next write that
 * reaches the socket: a producer that may go quiet writes now and then
 * (Kinesis's heartbeat events). From then on aws_stream_write fails and the
 * producer ends with aws_stream_close. Nothing is held per stream but its
 * state and what waits to be sent, at most AWS_STREAM_MAX_BACKLOG bytes: a
 * write past that fails and the connection is dropped (a client that stopped
 * reading must not grow the emulator's memory). */
#define AWS_STREAM_MAX_BACKLOG (32u * 1024 * 1024)
typedef struct aws_stream aws_stream;

/* Answers the call with a streamed body and returns the producer's handle
 * (owned: release it with aws_stream_close, from any thread), or NULL when
 * the answer could not be made, in which case the call has been answered with
 * a 500 error. Takes the output reference. After this the call must not be
 * touched. */
aws_stream *aws_call_reply_stream(aws_call *call, json_t *output, int status,
                                  const char *content_type);
/* Queues len bytes (copied). Thread-safe. Returns 0, or -1 when the client
 * is gone, the server is stopping or the backlog limit would be passed: the
 * body will not be completed, and the producer should stop and close. */
int aws_stream_write(aws_stream *stream, const void *data, size_t len);
/* 1 once writes can no longer reach the client. */
int aws_stream_gone(aws_stream *stream);
/* Ends the body after what was written has been sent and releases the
 * producer's handle. Accepts NULL. */
void aws_stream_close(aws_stream *stream);

/* As aws_call_reply_stream, but the call stays open, for answers whose end
 * is decided elsewhere (Lambda's InvokeComplete, after the function is done):
 * the status and headers go now, aws_call_stream(call) is the body's producer
 * (borrowed from the call: not closed by the caller), and the call still
 * ends with exactly one answer. Then aws_call_reply and aws_call_reply_data /
 * _fd end the body after what was written (their own output and body are not
 * sent: the headers are gone), and aws_call_fail cuts it (the client sees a
 * broken stream, never a complete one). Returns 0, or -1 with nothing sent
 * and the call untouched (answer it as usual). Takes the output reference. */
int aws_call_stream_open(aws_call *call, json_t *output, int status, const char *content_type);
/* The call's open stream, or NULL when aws_call_stream_open was not called. */
aws_stream *aws_call_stream(aws_call *call);
/* A streamed answer outside the protocol layer, for a request a service
 * answers itself (Lambda's function URLs): *out is the response to send
 * (status, content_type; NULL: application/octet-stream), to which the
 * caller adds its headers before it hands it to http_request_respond; the
 * return is the body's producer (owned, as aws_call_reply_stream's). NULL
 * when out of memory (nothing made). */
aws_stream *aws_stream_response_new(http_response **out, int status, const char *content_type);
/* Ends the body as broken (the client never takes it for a complete one)
 * and releases the producer's handle, as aws_stream_close. Accepts NULL. */
void aws_stream_abort(aws_stream *stream);

/* Adds a header to whichever answer (reply or error) the call gets next,
 * for headers the model does not describe (S3's x-amz-delete-marker on a 404,
 * x-amz-bucket-region). Names with ':' or CR/LF in either are ignored. */
void aws_call_header(aws_call *call, const char *name, const char *value);

/* Answers with an AWS error. code is the model's error shape name
 * ("QueueDoesNotExist") or a generic AWS code ("InvalidParameterValue");
 * the protocol layer renders it the way the protocol requires (including
 * awsQueryCompatible codes). status 0 takes the status from the model's error
 * shape, 400 when it has none. */
void aws_call_fail(aws_call *call, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* As aws_call_fail, with extra members for the error body (S3's BucketName,
 * Key, …). Takes the reference to fields (may be NULL). */
void aws_call_fail_fields(aws_call *call, int status, const char *code, json_t *fields,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The directory where services keep data files: the emulator's private
 * folder (inside its data_dir, else $TMPDIR or /tmp), removed with everything
 * in it when the emulator stops. Borrowed; lives as long as emu. */
const char *emulator_data_dir(const emulator *emu);

/* The state of another service of the same emulator (what its create function
 * made), for services that call each other in process (Secrets Manager and
 * SSM encrypt through KMS). NULL when that service is not served (not in
 * SERVICES). Borrowed; lives as long as emu. */
void *emulator_service_state(emulator *emu, const char *name);

/* ---- credentials issued by STS and IAM ---- */

/* Credentials an STS or IAM service hands out are remembered per emulator,
 * so that calls signed with them act as the identity they were issued to (its
 * account: see aws_call_account), GetCallerIdentity names it, and, when
 * signatures are verified, requests signed with them are checked against
 * their secret (and session token and expiry). Bounded: the oldest half of
 * the temporary ones (with a session token) is forgotten past
 * EMULATOR_MAX_CREDENTIALS. Thread-safe. */
#define EMULATOR_MAX_CREDENTIALS 10000
typedef struct emulator_credential {
  const char *access_key, *account, *arn, *user_id;
  const char *secret;        /* the secret access key */
  const char *session_token; /* STS's; NULL for long-term (IAM) keys */
  double expiration;         /* seconds since the epoch; 0: never */
  /* What STS carries from a session into the sessions it assumes (session
   * tags, transitive tag keys, source identity), kept as "Session"; NULL for
   * none. Copied. */
  const json_t *session;
} emulator_credential;
void emulator_credentials_add(emulator *emu, const emulator_credential *cred);
/* Forgets access_key (an IAM key deleted or made inactive). */
void emulator_credentials_remove(emulator *emu, const char *access_key);
/* The identity issued with access_key, {"Account", "Arn", "UserId",
 * "SecretAccessKey"[, "SessionToken", "Expiration"][, "Session"][, "LastUsed":
 * {"LastUsedDate", "ServiceName", "Region"}]} (new reference: json_decref),
 * or NULL when this emulator did not issue it. */
json_t *emulator_credentials_get(emulator *emu, const char *access_key);

/* ---- timers (one timer thread per emulator; no thread per waiter) ---- */

typedef struct emulator_timer emulator_timer;
/* Calls fn(payload) on the timer thread after delay_ms. Returns NULL on failure. */
emulator_timer *emulator_timer_add(emulator *emu, uint64_t delay_ms, void (*fn)(void *payload),
                                   void *payload);
/* Cancels a timer. Returns 1 when it was canceled before firing (fn will never
 * run), 0 when fn has already run or is running (waits for it to finish unless
 * called from fn itself). The timer handle is invalid afterwards either way. */
int emulator_timer_cancel(emulator_timer *timer);

/* ---- virtual clocks (the /_aws/<service>/clock test hook) ----
 * A service's clock that runs `speed` times faster than the wall clock from
 * epoch_ms on, so that tests see hourly schedules fire within seconds. The
 * owner serialises access (its own lock). */
typedef struct emulator_clock {
  double speed;
  uint64_t epoch_ms;        /* wall ms when the speed last changed */
  uint64_t virtual_base_ms; /* the virtual time then */
} emulator_clock;
/* Starts clock at the wall clock's time, at the speed that environment
 * variable env names (1 to 100000; otherwise, or NULL: 1). */
void emulator_clock_init(emulator_clock *clock, const char *env);
/* The virtual time, ms since the epoch. */
uint64_t emulator_clock_now(const emulator_clock *clock);
/* Changes the speed from now on; the virtual time does not jump. */
void emulator_clock_set_speed(emulator_clock *clock, double speed);
/* Answers /_aws/<service>/clock (rest is the path after /_aws/<service>/):
 * POST {"speed": N} with N from 1 to 100000 calls set(speed, payload), then
 * answers {"speed": N}; anything else is answered 405 or 400 and set is not
 * called. Returns 1 when it answered, 0 when rest is not "clock". */
int emulator_clock_endpoint(http_request *req, const char *service, const char *rest,
                            void (*set)(double speed, void *payload), void *payload);

/* ---- services ---- */

/* input is borrowed for the duration of the handler call; json_incref() it to
 * keep it for a suspended call. */
typedef void (*aws_operation_fn)(aws_call *call, json_t *input);

typedef struct aws_operation {
  const char *name; /* operation name in the model */
  aws_operation_fn handler;
} aws_operation;

typedef struct aws_service {
  const char *name;       /* SERVICES / health name and SigV4 scope: "sqs", "sts", "s3" */
  const char *model_name; /* embedded model key (botocore folder name): "sqs" */
  const aws_operation *operations;
  size_t operation_count;
  /* Makes the service's state. Returns 0 or an AIRGAP_E* code. */
  int (*create)(void **state, emulator *emu);
  /* Clears all resources (reset endpoints). */
  void (*reset)(void *state);
  /* Answers every pending (suspended) call; runs before the server stops. */
  void (*shutdown)(void *state);
  void (*destroy)(void *state);
  /* Optional: runs once the gateway listens, for housekeeping that the first
   * answers need not wait for (Lambda's removal of a killed emulator's
   * containers). */
  void (*started)(void *state);
  /* Optional: the service's own endpoints under /_aws/<name>/ (LocalStack's
   * shapes, e.g. DynamoDB's DELETE /_aws/dynamodb/expired). rest is what
   * follows /_aws/<name>/. Answers req and returns 1, or returns 0 (without
   * answering) for a path it does not know, which gets a 404. */
  int (*internal_endpoint)(void *state, http_request *req, const char *rest);
  /* Optional, NULL-terminated: operations whose handler keeps no reference
   * to its input past its return and answers before it returns. Their
   * request is parsed into the thread's jansson arena (common/json_arena.h),
   * which the gateway resets once the handler has returned; the handler may
   * build its answer there too. */
  const char *const *arena_operations;
} aws_service;

/* An operation the model has but the handler table lacks is answered with a
 * clear "not implemented" error by the protocol layer. */

#endif
