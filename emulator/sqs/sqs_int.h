/*
 * sqs_engine.h — private: the SQS engine behind service_sqs.c.
 *
 * The engine holds every queue and message of one emulator instance and
 * implements each SQS operation on jansson objects shaped like the botocore
 * model's input and output shapes (the convention of emulator/service.h). It
 * knows nothing of HTTP or aws_call: service_sqs.c adapts it, and the unit
 * tests drive it directly with a hand-turned clock and timers.
 *
 * Thread safety: every function may be called from any thread at once.
 * Completion callbacks run without any engine lock held, on the calling
 * thread or (long polls) on the timer thread.
 */
#ifndef AIRGAP_EMULATOR_SQS_ENGINE_H
#define AIRGAP_EMULATOR_SQS_ENGINE_H

#include <jansson.h>
#include <stdint.h>

typedef struct sqs_engine sqs_engine;

/* Where time comes from. now_ms: milliseconds since the epoch. timer_add runs
 * fn(arg) once after delay_ms and returns a handle (NULL on failure);
 * timer_cancel follows emulator_timer_cancel(): 1 when canceled before firing,
 * 0 when fn already ran or is running (it then waits for fn to finish). */
typedef struct sqs_hooks {
  uint64_t (*now_ms)(void *payload);
  void *(*timer_add)(void *payload, uint64_t delay_ms, void (*fn)(void *arg), void *arg);
  int (*timer_cancel)(void *payload, void *timer);
  void *payload;
} sqs_hooks;

/* Who is calling: borrowed strings, read only during sqs_engine_call(). */
typedef struct sqs_context {
  const char *account;  /* 12 digits */
  const char *region;   /* "us-east-1" */
  const char *endpoint; /* "http://host:port", the base of queue URLs */
} sqs_context;

/* An AWS error: code is a botocore error shape name ("QueueDoesNotExist") or a
 * generic AWS code ("InvalidParameterValue"); status 0 means "the model's". */
typedef struct sqs_error {
  int status;
  const char *code;
  char message[512];
} sqs_error;

/* Receives the answer of one call: output (owned by the callee, may be NULL for
 * an empty output) when error is NULL, else error (borrowed for the call). */
typedef void (*sqs_done_fn)(json_t *output, const sqs_error *error, void *payload);

/* Makes an engine. hooks is copied. Returns 0 or -1 (airgap_error_last()). */
int sqs_engine_new(sqs_engine **out, const sqs_hooks *hooks);

/* Runs one SQS operation (model name, "SendMessage"). input is borrowed (NULL
 * means {}). done is called exactly once: before this returns, or later for a
 * long poll (from the timer thread, or the thread of a call that made a
 * message available). */
void sqs_engine_call(sqs_engine *engine, const sqs_context *ctx, const char *operation,
                     json_t *input, sqs_done_fn done, void *payload);

/* 1 when the engine implements operation. */
int sqs_engine_has_operation(const char *operation);

/* Deletes every queue; pending long polls are answered with no messages. */
void sqs_engine_reset(sqs_engine *engine);

/* Answers every pending long poll with no messages; later long polls are
 * answered at once. */
void sqs_engine_shutdown(sqs_engine *engine);

/* Frees the engine (answers any pending long poll first). Accepts NULL. */
void sqs_engine_free(sqs_engine *engine);

/* The MD5 hex digest (33 bytes with NUL) of a message attribute map as AWS
 * computes MD5OfMessageAttributes: names sorted, each name, data type and value
 * preceded by a 4-byte big-endian length, a transport byte (1 string, 2
 * binary, 3 string list, 4 binary list) before the value. attributes is an
 * object name → {DataType, StringValue | BinaryValue (base64) | …}. Returns 0,
 * or AIRGAP_EINVALID on a malformed map. Exposed for the tests. */
int sqs_md5_of_attributes(char out[33], json_t *attributes);

#endif
