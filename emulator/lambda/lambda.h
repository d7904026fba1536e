/*
 * lambda.h — how other services of the emulator invoke a Lambda function in
 * process: the delivery engine's Lambda target (SNS subscriptions,
 * EventBridge targets, S3 notifications), Secrets Manager's rotation, and
 * Lambda's own event source mappings.
 *
 * A function is named by its ARN ("arn:aws:lambda:<region>:<account>:
 * function:<name>[:<qualifier>]"), which carries the account and Region.
 * An invocation runs exactly as a client's Invoke would (the same warm
 * containers, concurrency limits, timeouts):
 *   - lambda_async_invoke is InvocationType=Event: queued, retried on a
 *     function error with Lambda's own backoff and the function's event
 *     invoke config (retries, maximum age, destinations), as AWS does for
 *     the services that invoke asynchronously;
 *   - lambda_invoke_request is RequestResponse: the result goes to a
 *     callback (never retried; the caller decides);
 *   - lambda_invoke_wait is lambda_invoke_request that blocks (not to be
 *     called from the request thread of a service the function may call).
 * Thread-safe; none of them may be called with a lock the function's own
 * calls back into the emulator need.
 */
#ifndef AIRGAP_EMULATOR_LAMBDA_H
#define AIRGAP_EMULATOR_LAMBDA_H

#include <stddef.h>
#include <stdint.h>

typedef struct emulator emulator;

/* The outcome of a RequestResponse invocation, borrowed for the callback. */
typedef struct lambda_result {
  /* NULL when the function ran (its answer is in payload, an error of its
   * own in function_error); else the AWS error code of why it could not run
   * ("TooManyRequestsException", "ServiceException", …) with message. */
  const char *error_code;
  const char *message;
  const char *payload;
  size_t len;
  const char *function_error; /* "Unhandled" or NULL */
} lambda_result;

/* Called exactly once per successful lambda_invoke_request, on a thread of
 * the Lambda runtime, possibly with its lock held: it must not call back
 * into Lambda (hand the result to a thread of the caller's). */
typedef void (*lambda_done_fn)(const lambda_result *result, void *payload);

/* Whether function_arn (qualified or not) names an existing function or
 * alias/version of it. 1 yes, 0 no (also when Lambda is not served). */
int lambda_function_exists(emulator *emu, const char *function_arn);

/* Queues an asynchronous (Event) invocation. 0, AIRGAP_ENOTFOUND (no such
 * function or qualifier, or Lambda not served), AIRGAP_EINVALID (a malformed
 * ARN, a payload over 256 KB or not JSON), -1 (the runtime cannot start: no
 * Docker engine). airgap_error_last() says why. */
int lambda_async_invoke(emulator *emu, const char *function_arn, const char *payload, size_t len);

/* Queues a RequestResponse invocation; done gets the result. Errors as
 * lambda_async_invoke (with the 6 MB limit); done is never called when this
 * fails. Waits behind the function's concurrency limit instead of failing
 * with TooManyRequestsException, as the services that poll do. */
int lambda_invoke_request(emulator *emu, const char *function_arn, const char *payload, size_t len,
                          lambda_done_fn done, void *done_payload);

/* What lambda_invoke_wait returns (owned: lambda_outcome_clear). */
typedef struct lambda_outcome {
  char *error_code, *message; /* as in lambda_result */
  char *payload;
  size_t len;
  char *function_error;
} lambda_outcome;

/* lambda_invoke_request, blocking until the result is there: 0 with *out
 * filled (the function ran or failed to run), or the errors of
 * lambda_invoke_request. */
int lambda_invoke_wait(lambda_outcome *out, emulator *emu, const char *function_arn,
                       const char *payload, size_t len);
void lambda_outcome_clear(lambda_outcome *o);

#endif
