/*
 * lambda_runtime_int.h — private to emulator/lambda/runtime*.c and
 * containers.c: execution environments, invocations and the runtime that
 * owns them (see runtime.c for the flow and the locking rules).
 */
#ifndef AIRGAP_EMULATOR_LAMBDA_RUNTIME_INT_H
#define AIRGAP_EMULATOR_LAMBDA_RUNTIME_INT_H

#include "common/http_server.h"
#include "emulator/containers.h"
#include "emulator/lambda/lambda_int.h"
#include "emulator/logs/logs.h"

#include <pthread.h>
#include <stdint.h>

typedef struct lambda_env lambda_env;
typedef struct lambda_inv lambda_inv;
typedef struct lambda_log_job lambda_log_job;

enum { ENV_STARTING, ENV_IDLE, ENV_BUSY, ENV_DEAD };
enum { TIMER_TIMEOUT, TIMER_IDLE, TIMER_INIT, TIMER_RETRY, TIMER_FORWARD };

struct lambda_inv {
  lambda_inv *next; /* on rt->pending */
  uint64_t seq;
  char id[37];         /* the request id */
  char trace[25];      /* 96 random bits, hex, for the trace header */
  char *key;           /* "<function arn>#<version>#<revision>#<code sha>" */
  aws_call *call;      /* NULL: an Event invocation, or an in-process one (done) */
  lambda_done_fn done; /* lambda.h's RequestResponse callback, or NULL */
  void *done_payload;
  char *payload;
  size_t len;
  char *function_arn, *invoked_arn, *version, *client_context;
  json_t *config, *code; /* owned copies */
  json_t *async;         /* Event: lambda_async_settings (owned), else NULL */
  uint64_t created_ms;   /* wall, when it was queued (MaximumEventAgeInSeconds) */
  int reserved;          /* -1: none */
  int timeout_ms;
  int tail;
  int streaming;         /* InvokeWithResponseStream */
  lambda_chunk_fn chunk; /* with done: a streamed response's pieces (lambda_int.h) */
  char *content_type;    /* the streamed response's Content-Type (chunk set) */
  uint64_t streamed;     /* bytes of a streamed response relayed (stream.c) */
  int attempts;          /* async: failed attempts so far */
  int delivered;
  uint64_t started_ms; /* monotonic, at delivery */
  /* The emulator's own share of a synchronous invocation (timings): from
   * the call (or the runtime's /next, when that came later: waiting for the
   * runtime is its time) to the hand-off, and from the runtime's answer to
   * the caller's, as Lambda's handlers see them. Monotonic nanoseconds. */
  uint64_t t_arrive_ns, t_handed_ns, t_back_ns;
  uint64_t deadline_wall_ms;           /* Lambda-Runtime-Deadline-Ms */
  uint64_t log_since_ms;               /* wall, for LogType=Tail */
  char stream[LOGS_LAMBDA_STREAM_MAX]; /* its environment's log stream */
  double init_ms;                      /* the environment's init, first invocation; else -1 */
  lambda_env *env;
  char *container; /* the container it was delivered to */
};

struct lambda_env {
  lambda_env *next;
  lambda_runtime *rt;
  uint64_t seq, gen; /* gen changes whenever it leaves or enters idle */
  char *key, *function_arn;
  int state;
  int starting;    /* the starter thread still runs */
  int initialized; /* asked for an invocation at least once */
  int retire;      /* its function changed or went: gone after this invocation */
  http_server *server;
  uint16_t port;
  char *container;
  http_request *parked;                /* a waiting /invocation/next */
  int idle_armed;                      /* its one TIMER_IDLE is pending */
  uint64_t idle_since_ms;              /* monotonic, when it last went idle */
  char stream[LOGS_LAMBDA_STREAM_MAX]; /* AWS_LAMBDA_LOG_STREAM_NAME */
  uint64_t created_ms;                 /* monotonic */
  double init_ms;                      /* until the first /next */
  int served;                          /* an invocation was delivered to it */
  lambda_inv *inv;                     /* given to it (delivered or about to be) */
  /* What the starter thread needs (owned until it has run). */
  json_t *config, *code;
  char *version;
};

typedef struct runtime_timer {
  struct runtime_timer *next, *prev; /* on rt->timers while linked */
  int linked;
  lambda_runtime *rt;
  emulator_timer *handle;
  int kind;
  uint64_t seq, gen;
  lambda_inv *inv; /* TIMER_RETRY: owned while waiting */
} runtime_timer;

/* The emulator's own share of the last invocations (RequestResponse that
 * ran), in nanoseconds: GET /_aws/lambda/timings. */
#define LAMBDA_TIMINGS 4096
typedef struct lambda_timings {
  uint64_t own_ns[LAMBDA_TIMINGS];
  uint64_t to_runtime_ns[LAMBDA_TIMINGS]; /* of which: the call to the hand-off */
  uint64_t count;                         /* since the last reset; the ring holds the last ones */
} lambda_timings;

struct lambda_runtime {
  lambda_state *st;
  emulator *emu;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  emulator_containers *containers;
  emulator_placement *placement; /* direct only: where functions run */
  int direct;                    /* talks to Docker itself (else the supervisor's channel) */
  lambda_timings timings;        /* under lock */
  lambda_env *envs;
  lambda_inv *pending;
  runtime_timer *timers;
  uint64_t seq;
  int threads; /* starter and teardown threads running */
  int closing;
  char *endpoint;  /* AWS_ENDPOINT_URL for functions */
  char *mapping;   /* LAMBDA_RUNTIME_IMAGE_MAPPING */
  char owner[128]; /* label value naming this process */
  uint64_t keepalive_ms, init_timeout_ms, retry_base_ms;
  int max_concurrency;
  int remove_containers;
  struct delivery *delivery; /* taken at the first record sent (destinations.c) */
  /* logging.c: the CloudWatch writer's queue (under lock). */
  pthread_cond_t log_cond;
  lambda_log_job *log_queue, *log_last;
  size_t log_queued;
  int log_writer; /* its thread runs */
};

/* runtime.c */
void lambda_runtime_api_handle(http_request *req, void *payload);
void lambda_inv_dispatch(lambda_runtime *rt, lambda_inv *inv);
void lambda_runtime_retry_later(lambda_runtime *rt, lambda_inv *inv, uint64_t delay_ms);
void lambda_inv_release(lambda_inv *inv);
/* Invokes function_arn (qualified or not) asynchronously with payload,
 * outside rt->lock (on the timer thread): a Lambda destination. Caller holds
 * rt->lock. */
void lambda_runtime_forward(lambda_runtime *rt, const char *function_arn, const char *payload,
                            size_t len);

/* destinations.c: an Event invocation is over (condition "Success",
 * "RetriesExhausted" or "EventAgeExceeded"; payload the function's answer
 * or error, may be NULL): its record to OnSuccess/OnFailure and, on
 * failure, the event to the dead-letter queue. Caller holds rt->lock; inv
 * stays the caller's. */
void lambda_async_outcome(lambda_runtime *rt, lambda_inv *inv, const char *condition,
                          const char *payload, size_t len, const char *function_error);

/* invocations.c: finishing an invocation (caller holds rt->lock; inv is
 * detached from any environment and consumed). */
/* The function answered (function_error NULL) or failed ("Unhandled"). */
/* CLOCK_MONOTONIC in nanoseconds (the timings). */
uint64_t lambda_clock_ns(void);
void lambda_inv_finish(lambda_runtime *rt, lambda_inv *inv, const char *payload, size_t len,
                       const char *function_error);
/* It ran past its timeout. */
void lambda_inv_timed_out(lambda_runtime *rt, lambda_inv *inv);
/* It could not run: an AWS error for a synchronous call. */
void lambda_inv_fail(lambda_runtime *rt, lambda_inv *inv, int status, const char *code,
                     const char *message);

/* logging.c: the invocation's log to CloudWatch Logs (when served) and, for
 * a Tail call (call non-NULL), the answer out with its LogResult, on other
 * threads. extra: a platform line after the output, or NULL. Caller holds
 * rt->lock; inv stays the caller's. -1 when nothing was queued (call and out
 * are then still the caller's). */
int lambda_log_invocation(lambda_runtime *rt, lambda_inv *inv, aws_call *call, json_t *out,
                          const char *extra);

/* containers.c: creates and starts env's container; *out its id (owned).
 * Called without rt->lock, on the starter thread. */
int lambda_container_create(char **out, lambda_runtime *rt, lambda_env *env);

/* ---- relaying streamed responses (stream.c; under rt->lock unless said) ---- */

/* The most a streamed response relays: AWS's 200 MB. */
#define LAMBDA_MAX_STREAM_RESPONSE (200ull * 1024 * 1024)
/* Sends the caller's answer's head now (an InvokeWithResponseStream that
 * has not started it); 0, or -1 (not streamed: answered at the end). */
int lambda_stream_open(lambda_inv *inv);
/* Relays a piece of the runtime's streamed response as PayloadChunk events. */
void lambda_stream_chunk(lambda_inv *inv, const char *data, size_t len);
/* The Runtime API listener's `early` callback (takes rt->lock): a
 * streamed /response of the environment's invocation is relayed as it
 * arrives. */
void lambda_runtime_api_early(http_request *req, void *payload);
/* Whether a /response ended in error: the runtime's trailers
 * (Lambda-Runtime-Function-Error-Type/-Body) or a relayed stream past its
 * limit. 1 with *out the error's JSON (owned, free(); NULL when out of
 * memory), 0 when it did not. */
int lambda_stream_error(char **out, size_t *len, http_request *req, const lambda_inv *inv);
/* The error JSON of the trailers: Error-Body (b64, may be NULL) decoded when
 * it is a JSON object (at most LAMBDA_MAX_ERROR_TRAILER characters), its
 * errorType defaulting to type; else {"errorType": type, "errorMessage": ""}.
 * Owned (free()); NULL when out of memory. */
#define LAMBDA_MAX_ERROR_TRAILER 65536
char *lambda_stream_error_body(const char *type, const char *b64);

#endif
