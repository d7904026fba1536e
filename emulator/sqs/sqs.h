/*
 * sqs.h — what SQS shares with the emulator's other services: its engine,
 * called in process with the JSON shapes of the botocore model (the delivery
 * engine sends messages with it; Lambda's event sources receive and delete).
 * The engine of an emulator is its SQS service state:
 * emulator_service_state(emu, "sqs") returns the sqs_engine (NULL when SQS
 * is not running). Everything else of the service is private to
 * emulator/sqs/ (sqs_int.h).
 *
 * Thread safety: every function may be called from any thread at once.
 * Completion callbacks run without any engine lock held, on the calling
 * thread or (long polls) on the timer thread.
 */
#ifndef AIRGAP_EMULATOR_SQS_H
#define AIRGAP_EMULATOR_SQS_H

#include <jansson.h>

typedef struct sqs_engine sqs_engine;

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
  char message[4096]; /* room for the values AWS quotes whole (2,000 bytes of one) */
} sqs_error;

/* Receives the answer of one call: output (owned by the callee, may be NULL for
 * an empty output) when error is NULL, else error (borrowed for the call). */
typedef void (*sqs_done_fn)(json_t *output, const sqs_error *error, void *payload);

/* Runs one SQS operation (model name, "SendMessage"). input is borrowed (NULL
 * means {}). done is called exactly once: before this returns, or later for a
 * long poll (from the timer thread, or the thread of a call that made a
 * message available). */
void sqs_engine_call(sqs_engine *engine, const sqs_context *ctx, const char *operation,
                     json_t *input, sqs_done_fn done, void *payload);

#endif
