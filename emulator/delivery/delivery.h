/*
 * delivery.h — the emulator's one delivery engine, for services that fan
 * messages out to other services and endpoints (SNS subscriptions,
 * EventBridge targets, S3 event notifications), and the event-pattern
 * language SNS filter policies and EventBridge rules share.
 *
 * A service hands the engine a job (a target and a body); the engine delivers
 * it off the request thread, retries failures with backoff and, once the
 * attempts are spent, sends the body to the job's dead-letter queue. Jobs to
 * in-process targets (SQS, SNS, an EventBridge bus, Lambda) run on one
 * worker in submission order, so FIFO topics keep their order — except that
 * the first attempt of an SQS job submitted while nothing is queued or
 * running in that lane is made at once by delivery_submit on the caller's
 * thread (in-process SQS takes microseconds; the hand-over to the worker
 * cost a thread wake-up). The caller must then hold no lock SQS could wait
 * on (SQS takes only its own). Jobs to HTTP
 * endpoints run on their own workers, so a slow subscriber never holds up a
 * queue. Both queues are bounded (DELIVERY_MAX_QUEUED jobs each,
 * DELIVERY_MAX_QUEUED_BYTES of bodies in all).
 *
 * One engine serves one emulator; the services that use it take a
 * reference (delivery_acquire) when they are created and drop it when they
 * are destroyed. Services that are themselves targets register a handler
 * (delivery_handler_set): SNS for DELIVERY_SNS, EventBridge for
 * DELIVERY_EVENTS. SQS, Lambda (an asynchronous invocation through
 * emulator/lambda/lambda.h, retried by Lambda itself once accepted; a
 * registered DELIVERY_LAMBDA handler replaces it, as the unit tests do) and
 * HTTP are built in. Thread-safe.
 */
#ifndef AIRGAP_EMULATOR_DELIVERY_H
#define AIRGAP_EMULATOR_DELIVERY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct emulator emulator;
typedef struct delivery delivery;

#define DELIVERY_MAX_QUEUED 100000                     /* jobs per lane */
#define DELIVERY_MAX_QUEUED_BYTES (256u * 1024 * 1024) /* bodies of all jobs */
#define DELIVERY_MAX_BODY (1024 * 1024)

typedef enum delivery_kind {
  DELIVERY_SQS,    /* target: queue ARN; meta: MessageAttributes, MessageGroupId,
                      MessageDeduplicationId (SQS SendMessage members) */
  DELIVERY_HTTP,   /* target: http(s) URL; meta: {"headers": {name: value}} */
  DELIVERY_SNS,    /* target: topic ARN; meta: Publish members besides Message */
  DELIVERY_EVENTS, /* target: event bus ARN; body: one event (JSON) */
  DELIVERY_LAMBDA, /* target: function ARN; body: the invocation payload */
  DELIVERY_KINDS
} delivery_kind;

/* What a service submits. Everything is copied by delivery_submit. */
typedef struct delivery_job {
  delivery_kind kind;
  const char *target;
  const char *body;
  size_t body_len;
  json_t *meta;          /* kind-specific members (above); may be NULL */
  const char *dlq_arn;   /* SQS queue ARN for undeliverable bodies, or NULL */
  int max_attempts;      /* 0: the kind's default (HTTP 4, others 3) */
  uint32_t min_delay_ms; /* first retry delay (0: 1000); doubles up to max */
  uint32_t max_delay_ms; /* 0: 20000 */
  int no_delay_retries;  /* retries made at once before backing off */
} delivery_job;

/* One attempt as a handler sees it (borrowed for the call). */
typedef struct delivery_item {
  delivery_kind kind;
  const char *target;
  const char *body;
  size_t body_len;
  json_t *meta; /* never NULL */
  int attempt;  /* 1 for the first */
} delivery_item;

/* Delivers one attempt: 0 when delivered, a negative AIRGAP_E* code when not
 * (the engine retries). Runs on a worker thread; payload is what was
 * registered. */
typedef int (*delivery_handler_fn)(const delivery_item *item, void *payload);

/* The engine of emu, created on first use; take one reference per service.
 * NULL when out of memory or threads cannot start (airgap_error_last()). */
delivery *delivery_acquire(emulator *emu);
/* Drops a reference; the last one stops the workers and frees the engine. */
void delivery_release(delivery *d);
/* The engine of emu when some service holds one, else NULL. Borrowed. */
delivery *delivery_find(emulator *emu);

/* Registers (fn non-NULL) or removes the handler of an in-process kind
 * (DELIVERY_SNS, DELIVERY_EVENTS; DELIVERY_LAMBDA to replace the built-in). Removing waits for a
 * running call of it to finish. Jobs of a kind without handler fail (and are
 * retried, then dead-lettered). */
void delivery_handler_set(delivery *d, delivery_kind kind, delivery_handler_fn fn, void *payload);

/* Queues a job. 0, AIRGAP_EBUSY when the queue is full or the engine stops,
 * AIRGAP_EINVALID for a malformed job. */
int delivery_submit(delivery *d, const delivery_job *job);

/* Stops accepting jobs and joins the workers; queued jobs are dropped.
 * Idempotent; services call it from their shutdown hook. */
void delivery_stop(delivery *d);

/* Waits until no job is queued, delayed or running (tests, benchmarks), up to
 * timeout_ms. 0, or AIRGAP_ETIMEOUT. */
int delivery_flush(delivery *d, uint64_t timeout_ms);

/* Counters since the engine started: delivered, failed attempts, dead-lettered, dropped. */
typedef struct delivery_stats {
  uint64_t delivered, failed_attempts, dead_lettered, dropped;
} delivery_stats;
void delivery_stats_get(delivery *d, delivery_stats *out);

/* ---- event patterns (pattern.c): SNS filter policies, EventBridge rules ----
 *
 * A pattern is a JSON object whose leaves are arrays of matchers: literal
 * strings, numbers, null, and {"prefix"}, {"suffix"}, {"anything-but"},
 * {"numeric"}, {"exists"}, {"equals-ignore-case"}, {"wildcard"}, {"cidr"};
 * "$or" takes an array of patterns. Dialects differ in what they accept. */

typedef enum delivery_dialect {
  DELIVERY_SNS_ATTRIBUTES, /* SNS filter policy, MessageAttributes scope (flat keys) */
  DELIVERY_SNS_BODY,       /* SNS filter policy, MessageBody scope (nested) */
  DELIVERY_EVENTBRIDGE,    /* EventBridge event pattern */
} delivery_dialect;

#define DELIVERY_PATTERN_MAX_TEXT 262144
#define DELIVERY_PATTERN_MAX_DEPTH 32

/* Checks a pattern. 0, or AIRGAP_EINVALID with the reason (AWS's wording
 * where known) written to reason. */
int delivery_pattern_check(const json_t *pattern, delivery_dialect dialect, char *reason,
                           size_t reason_len);

/* 1 when the document matches pattern (which must have passed the check),
 * else 0. For DELIVERY_SNS_ATTRIBUTES the document is an object of attribute
 * name → value (strings, numbers, arrays for String.Array). */
int delivery_pattern_match(const json_t *pattern, const json_t *document);

/* ---- S3 event notifications (s3notify.c) ----
 *
 * S3 calls this, under its lock, where an object was created or removed:
 * bucket_configs is the bucket's stored configurations (the object whose
 * "NotificationConfiguration" PutBucketNotificationConfiguration stored;
 * borrowed), event_name is "ObjectCreated:Put", "ObjectCreated:Copy",
 * "ObjectCreated:CompleteMultipartUpload", "ObjectRemoved:Delete" or
 * "ObjectRemoved:DeleteMarkerCreated"; etag (quoted or not) and version_id
 * may be NULL. The account, Region and requester come from call. Matching
 * configurations (event type, prefix/suffix rules) get S3's event record
 * through the engine; the default event bus gets the EventBridge form when
 * the configuration has EventBridgeConfiguration. Never fails the caller and
 * never blocks: delivery problems are logged. */
typedef struct aws_call aws_call;
/* PutBucketNotificationConfiguration's check of its destinations, as S3
 * makes it: every queue, topic and function named must exist (in this
 * emulator, in the account and Region of its ARN). 1 when they do; else
 * answers InvalidArgument "Unable to validate the following destination
 * configurations" naming the first that does not, and returns 0. */
int delivery_s3_destinations_check(aws_call *call, const json_t *config);
/* The s3:TestEvent S3 sends each queue and topic of a configuration it has
 * just accepted. Never fails the caller. */
void delivery_s3_test_event(aws_call *call, const json_t *config, const char *bucket);
void delivery_s3_event(aws_call *call, const json_t *bucket_configs, const char *bucket,
                       const char *key, uint64_t size, const char *etag, const char *version_id,
                       const char *event_name);

#endif
