/*
 * queue_int.h — helpers shared by the queue's own source files (never included
 * outside queue/).
 */
#ifndef AIRGAP_QUEUE_QUEUE_INT_H
#define AIRGAP_QUEUE_QUEUE_INT_H

#include "queue/queue.h"
#include "queue/store_int.h"

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Token rows read recently (id, role, hash of the secret), so that a request
 * does not read the store for them every time: an entry is used for
 * QUEUE_TOKEN_CACHE_MS after it was read. The secret is still hashed and
 * compared at every request. */
#define QUEUE_TOKEN_CACHE_SLOTS 16
#define QUEUE_TOKEN_CACHE_MS 2000
typedef struct queue_token_cache {
  pthread_mutex_t mu;
  struct queue_token_cached {
    char id[17];
    char role[8];
    unsigned char hash[32];
    uint64_t until; /* clock_monotonic_ms; 0: empty */
  } slot[QUEUE_TOKEN_CACHE_SLOTS];
} queue_token_cache;

void queue_token_cache_init(queue_token_cache *cache);
void queue_token_cache_destroy(queue_token_cache *cache);

/* Checks a bearer token against the store in constant time with respect to
 * the secret; *out_role (owned) is "agent" or "client". AIRGAP_EAUTH when the
 * token is malformed or unknown or its secret does not match. */
int queue_token_verify(char **out_role, queue_store *store, const char *token);
/* The same through cache (NULL: none). */
int queue_token_verify_cached(char **out_role, queue_store *store, queue_token_cache *cache,
                              const char *token);

/* Builds a queue_job from the API's JSON. */
int queue_job_from_json(queue_job **out, json_t *obj);

#endif
