/*
 * queue_int.h — helpers shared by the queue's own source files (never included
 * outside queue/).
 */
#ifndef AIRGAP_QUEUE_QUEUE_INT_H
#define AIRGAP_QUEUE_QUEUE_INT_H

#include "queue/queue.h"
#include "queue/store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Length of a job id: 16 lower-case hex digits (64 random bits). */
#define QUEUE_JOB_ID_LEN 16

/* Writes 2*bytes random lower-case hex digits and a NUL into out (size
 * 2*bytes+1), from the OpenSSL CSPRNG. */
int queue_random_hex(char *out, size_t bytes);

/* Milliseconds since the epoch (wall clock: stored times and lease expiry). */
int64_t queue_now_ms(void);

/* 1 when id has the shape of a job id (checked before any lookup). */
int queue_job_id_valid(const char *id);

/* Checks a bearer token against the store in constant time with respect to
 * the secret; *out_role (owned) is "agent" or "client". AIRGAP_EAUTH when the
 * token is malformed or unknown or its secret does not match. */
int queue_token_verify(char **out_role, queue_store *store, const char *token);

/* The API's JSON for a stored job (new reference). mask hides secret values. */
json_t *queue_record_json(const queue_record *rec, int mask);

/* Builds a queue_job from the API's JSON. */
int queue_job_from_json(queue_job **out, json_t *obj);

#endif
