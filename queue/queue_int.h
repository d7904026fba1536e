/*
 * queue_int.h — helpers shared by the queue's own source files (never included
 * outside queue/).
 */
#ifndef AIRGAP_QUEUE_QUEUE_INT_H
#define AIRGAP_QUEUE_QUEUE_INT_H

#include "queue/queue.h"
#include "queue/store_int.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Checks a bearer token against the store in constant time with respect to
 * the secret; *out_role (owned) is "agent" or "client". AIRGAP_EAUTH when the
 * token is malformed or unknown or its secret does not match. */
int queue_token_verify(char **out_role, queue_store *store, const char *token);

/* Builds a queue_job from the API's JSON. */
int queue_job_from_json(queue_job **out, json_t *obj);

#endif
