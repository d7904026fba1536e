/*
 * delivery_int.h — private to emulator/delivery/: the engine's state and the
 * built-in targets.
 *
 * Files, by concept:
 *   engine.c    the engine per emulator, lanes, workers, retries, dead letters
 *   targets.c   the built-in targets: SQS (in process, SQS's own send path),
 *               Lambda (an Event invocation through emulator/lambda/lambda.h)
 *   http.c      HTTP(S) (libcurl, loaded at the first delivery)
 *   pattern.c   the event-pattern language (checks and matching)
 *   s3notify.c  S3 event notifications into the engine
 */
#ifndef AIRGAP_EMULATOR_DELIVERY_INT_H
#define AIRGAP_EMULATOR_DELIVERY_INT_H

#include "emulator/delivery/delivery.h"
#include "emulator/service.h"

/* Sends body to the SQS queue queue_arn in process (meta: SendMessage
 * members). 0, AIRGAP_ENOTFOUND (no such queue, or SQS not served), or -1. */
int delivery_sqs_send(emulator *emu, const char *queue_arn, const char *body, size_t body_len,
                      json_t *meta);

/* 1 when the target of kind (DELIVERY_SQS, DELIVERY_SNS, DELIVERY_LAMBDA)
 * named by arn exists in emu, else 0 (also when its service is not served). */
int delivery_target_exists(emulator *emu, delivery_kind kind, const char *arn);
/* Queues an asynchronous (Event) invocation of function_arn with body as its
 * payload: 0 once Lambda has accepted it (Lambda then retries a failing
 * function itself, as AWS does for the services that invoke asynchronously),
 * else the error of lambda_async_invoke (the engine retries, then
 * dead-letters). */
int delivery_lambda_invoke(emulator *emu, const char *function_arn, const char *body,
                           size_t body_len);

/* POSTs body to url with meta's "headers"; 0 on a 2xx answer. */
int delivery_http_post(const char *url, const char *body, size_t body_len, json_t *meta);

/* The emulator an engine serves (borrowed). */
emulator *delivery_emulator(delivery *d);

#endif
