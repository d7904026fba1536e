/*
 * lambda_esm_int.h — private to emulator/lambda/event_sources*.c: event
 * source mappings (the control plane in event_sources.c), their one poller
 * thread (event_sources_poll.c) and the sources it reads (SQS in
 * event_sources_sqs.c, Kinesis in event_sources_kinesis.c, DynamoDB Streams
 * in event_sources_dynamodb.c; what the two streams share in
 * event_sources_stream.c).
 *
 * A mapping is a record in lambda_state's mappings, keyed by UUID, under
 * st->lock: {Config: the EventSourceMappingConfiguration as the API returns
 * it, Account, Region, Kind ("sqs", "kinesis", "dynamodb"), Due: ms (wall) when its
 * transitional State (Creating, Enabling, Disabling, Updating, Deleting)
 * settles}.
 *
 * The poller thread is started by the first CreateEventSourceMapping (an
 * emulator that never maps a source runs no thread for it). It owns each
 * mapping's progress (what it holds, whether an invocation is in flight,
 * checkpoints per shard): nothing else touches it, so it needs no lock. An
 * invocation's result comes back on a runtime thread and is queued for the
 * poller (esm->lock), which handles it on its next turn.
 */
#ifndef AIRGAP_EMULATOR_LAMBDA_ESM_INT_H
#define AIRGAP_EMULATOR_LAMBDA_ESM_INT_H

#include "emulator/lambda/lambda_int.h"

#include <pthread.h>
#include <stdint.h>

#define ESM_TICK_MS 100            /* the poller's cadence when idle */
#define ESM_SETTLE_MS 200          /* Creating → Enabled and the like */
#define ESM_MAX_PAYLOAD (6u << 20) /* a batch's event: the sync invoke limit */
#define ESM_MAX_FILTERS 5

typedef struct lambda_esm lambda_esm;

/* One invocation with a batch, in flight or finished. */
typedef struct esm_batch {
  struct esm_batch *next;
  lambda_esm *esm;
  char uuid[37];
  json_t *ctx; /* what the source needs to finish it (owned) */
  /* The result (lambda.h's, copied). */
  char *error_code;
  char *payload;
  size_t len;
  int function_error;
} esm_batch;

struct lambda_esm {
  lambda_state *st;
  emulator *emu;
  pthread_mutex_t lock; /* done, closing, wake */
  pthread_cond_t cond;
  pthread_t thread;
  int started, closing, wake;
  esm_batch *done;  /* results to handle, any order */
  json_t *progress; /* UUID → the poller's own record (poller thread only) */
};

/* ---- the poller (event_sources_poll.c) ---- */

/* Starts the poller when it does not run yet. Caller does not hold
 * st->lock. 0, or -1 (the mapping then waits for the next try). */
int lambda_esm_start(lambda_state *st);
/* Wakes the poller (a mapping changed). */
void lambda_esm_wake(lambda_state *st);
/* Stops and joins the poller (shutdown); idempotent. */
void lambda_esm_shutdown(lambda_state *st);
/* Frees it (after the runtime is gone: late results land here). */
void lambda_esm_free(lambda_state *st);

/* Settles a mapping's transitional state when due; 1 when it is gone
 * (Deleting settled: the caller removes it). Caller holds st->lock. */
int lambda_esm_settle(json_t *mapping);

/* Invokes the mapping's function with event (consumed) for a batch whose
 * ctx (consumed) the source's finish gets back. 0, or -1 (nothing in flight;
 * LastProcessingResult says why). Poller thread. */
int lambda_esm_invoke(lambda_esm *esm, const json_t *mapping, json_t *progress, json_t *event,
                      json_t *ctx);
/* Sets the mapping's LastProcessingResult. Poller thread, without st->lock. */
void lambda_esm_result(lambda_esm *esm, const char *uuid, const char *text);
/* 1 when record matches the mapping's FilterCriteria (or it has none). */
int lambda_esm_filter(const json_t *mapping, const json_t *record);

/* The failed items of a ReportBatchItemFailures answer: an array of
 * itemIdentifier strings (owned), or NULL when the whole batch failed (an
 * answer AWS treats as a failure: malformed, an empty or unknown
 * identifier); an empty array when every item succeeded. ids: the batch's
 * identifiers (object of id → anything). */
json_t *lambda_esm_failures(const esm_batch *b, const json_t *ids);

/* Ends a Kinesis or DynamoDB Streams batch (event_sources_stream.c): sp is
 * the shard's progress; b->ctx has Shard, First, Last, Count, FirstTs,
 * LastTs, Positions (the batch's sequence numbers) and optionally Next (the
 * checkpoint after success); info_member "KinesisBatchInfo" or
 * "DDBStreamBatchInfo" names the source in the OnFailure record. */
void lambda_esm_stream_finish(lambda_esm *esm, const json_t *mapping, json_t *sp, esm_batch *b,
                              const char *info_member);

/* ---- sources ---- */

typedef struct esm_source {
  const char *kind;
  /* Reads what is due and invokes (at most one batch in flight per
   * mapping). progress is the mapping's own record. */
  void (*poll)(lambda_esm *esm, const json_t *mapping, json_t *progress);
  /* Handles a finished batch (the invocation's result in b). */
  void (*finish)(lambda_esm *esm, const json_t *mapping, json_t *progress, esm_batch *b);
} esm_source;

extern const esm_source lambda_esm_sqs;
extern const esm_source lambda_esm_kinesis;
extern const esm_source lambda_esm_dynamodb;
/* Whether the DynamoDB stream arn exists (CreateEventSourceMapping). */
int lambda_esm_dynamodb_exists(emulator *emu, const char *account, const char *region,
                               const char *arn);

/* ---- handlers (event_sources.c) ---- */

void lambda_create_event_source_mapping(aws_call *call, json_t *input);
void lambda_get_event_source_mapping(aws_call *call, json_t *input);
void lambda_update_event_source_mapping(aws_call *call, json_t *input);
void lambda_delete_event_source_mapping(aws_call *call, json_t *input);
void lambda_list_event_source_mappings(aws_call *call, json_t *input);

#endif
