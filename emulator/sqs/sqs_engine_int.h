/*
 * sqs_engine_int.h — private to emulator/sqs/: the SQS engine's state and the
 * helpers its files share. Nothing outside emulator/sqs/ includes it (the
 * tests use sqs_int.h).
 *
 * Files, by concept:
 *   engine.c      the engine object, operation dispatch, reset, errors and
 *                 request checks every operation uses, batch plumbing
 *   map.c         the string-keyed hash map, and entries that expire
 *   queues.c      queue storage and lookup (names, URLs, ARNs), messages in
 *                 a queue, CreateQueue … ListQueues, purge, tags
 *   attributes.c  queue attributes: defaults, validation, redrive policies,
 *                 Get/SetQueueAttributes
 *   permissions.c AddPermission, RemovePermission (the queue's Policy)
 *   send.c        message validation, MD5s, SendMessage(Batch)
 *   receive.c     delivery, receipt handles, dead-letter redrive,
 *                 ReceiveMessage, DeleteMessage(Batch), visibility changes
 *   longpoll.c    receivers waiting for messages, and their timers
 *   movetasks.c   message move tasks (DLQ redrive), their background timer
 *   service.c     the aws_service table over the engine
 *
 * Locking: every function here runs under the engine lock (sqs_engine.lock)
 * unless it says otherwise. Functions report AWS errors into an sqs_error and
 * return -1; "op" functions are the operations themselves.
 */
#ifndef AIRGAP_EMULATOR_SQS_ENGINE_INT_H
#define AIRGAP_EMULATOR_SQS_ENGINE_INT_H

#include "emulator/sqs/sqs_int.h"

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits (AWS's published quotas) ---- */

#define SQS_MAX_NAME 80
#define SQS_MAX_MESSAGE_SIZE 1048576 /* 1 MiB since 2025 (was 256 KiB) */
#define SQS_MAX_BATCH 10
#define SQS_MAX_BATCH_ID 80
#define SQS_MAX_MESSAGE_ATTRIBUTES 10
#define SQS_MAX_ATTRIBUTE_NAME 256
#define SQS_MAX_DATA_TYPE 256
#define SQS_MAX_DEDUP_ID 128
#define SQS_MAX_TAGS 50
#define SQS_MAX_PERMISSION_ACTIONS 7
#define SQS_MAX_POLICY 20480
#define SQS_DEDUP_WINDOW_MS (5 * 60 * 1000)
#define SQS_PURGE_INTERVAL_MS (60 * 1000)
#define SQS_MAX_LIST_RESULTS 1000
#define SQS_MAX_VISIBILITY 43200

/* ---- a small string-keyed hash map (map.c) ---- */

typedef struct map_entry {
  struct map_entry *next;
  char *key;
  void *value;
} map_entry;

/* Zero-initialised is an empty map. Values are borrowed: the map never frees them. */
typedef struct sqs_map {
  map_entry **buckets;
  size_t nbuckets;
  size_t count;
} sqs_map;

/* The value stored under key, or NULL. */
void *sqs_map_get(const sqs_map *m, const char *key);
/* Adds key (copied) → value; the key must not be present. 0, or -1 out of memory. */
int sqs_map_put(sqs_map *m, const char *key, void *value);
/* Removes key; returns its value, or NULL when absent. */
void *sqs_map_del(sqs_map *m, const char *key);
/* Removes every entry and frees the buckets; the map is empty again. */
void sqs_map_clear(sqs_map *m);

/* ---- entries that expire (FIFO deduplication ids, receive attempt ids) ----
 * Entries are added with a fixed window, so they expire in insertion order:
 * a list in that order plus a map to the live node. */

typedef struct ttl_node {
  struct ttl_node *next;
  char *key;
  uint64_t expires;
  char message_id[40];
  char sequence[24];
  json_t *messages; /* receive attempts: the answer given */
  size_t count;
  uint64_t seqs[SQS_MAX_BATCH];
  uint64_t deliveries[SQS_MAX_BATCH];
} ttl_node;

typedef struct ttl_map {
  sqs_map map;
  ttl_node *head, *tail;
} ttl_map;

/* The live node of key at now (expired ones are dropped first), or NULL. Borrowed. */
ttl_node *sqs_ttl_get(ttl_map *t, const char *key, uint64_t now);
/* Adds a node for key (replacing the live one); returns it (borrowed) or NULL. */
ttl_node *sqs_ttl_add(ttl_map *t, const char *key, uint64_t expires);
/* Forgets key (the node stays in the list until it expires). */
void sqs_ttl_forget(ttl_map *t, const char *key);
void sqs_ttl_clear(ttl_map *t);

/* ---- engine state ---- */

typedef struct sqs_queue sqs_queue;
typedef struct sqs_waiter sqs_waiter;       /* longpoll.c */
typedef struct sqs_finished sqs_finished;   /* longpoll.c */
typedef struct sqs_move_task sqs_move_task; /* movetasks.c */

typedef struct sqs_msg {
  struct sqs_msg *prev, *next;
  uint64_t seq;      /* engine-wide; in receipt handles */
  uint64_t delivery; /* delivery number of the current receipt handle, 0: never */
  char id[40];
  char *body;
  size_t body_len;
  json_t *attributes; /* MessageAttributes object, or NULL */
  char md5_body[33];
  char md5_attributes[33];   /* "" when no attributes */
  char md5_system[33];       /* "" when no system attributes */
  char *trace_header;        /* AWSTraceHeader, or NULL */
  char *group_id, *dedup_id; /* or NULL */
  char *dlq_source_arn;      /* set once moved to a dead-letter queue */
  char sender[16];
  char sequence[24]; /* FIFO SequenceNumber, "" otherwise */
  uint64_t sent_ms;
  uint64_t retain_from_ms;
  uint64_t visible_at_ms;
  uint64_t first_receive_ms;
  uint64_t receive_count;
} sqs_msg;

typedef struct qattrs {
  int fifo;
  int64_t delay, max_size, retention, wait, visibility, kms_reuse;
  int content_dedup, dedup_scope_group, throughput_per_group, sse;
  char *policy, *redrive_policy, *redrive_allow, *kms_key;
  char *dlq_arn; /* parsed from redrive_policy */
  int64_t max_receive;
} qattrs;

struct sqs_queue {
  sqs_queue *prev, *next; /* all queues of the engine */
  char *key;              /* account/region/name */
  char account[16];
  char *region, *name, *arn;
  uint64_t uid;
  qattrs a;
  int64_t created_s, modified_s;
  uint64_t last_purge_ms;
  json_t *tags;
  sqs_msg *head, *tail;
  sqs_map messages; /* seq (hex) → sqs_msg */
  uint64_t next_sequence;
  ttl_map dedup;
  ttl_map attempts;
  sqs_waiter *waiters_head, *waiters_tail;
  /* Standard queues: no message from head through skip_after becomes
   * visible before skip_until, so receives start after skip_after. Keeps
   * receives O(batch) with many messages in flight. */
  sqs_msg *skip_after;
  uint64_t skip_until;
};

/* What one ReceiveMessage asked for. */
typedef struct recv_params {
  int64_t max;
  int64_t visibility; /* -1: the queue's */
  json_t *system_names;
  json_t *attribute_names;
  char *attempt_id;
} recv_params;

struct sqs_engine {
  pthread_mutex_t lock;
  sqs_hooks hooks;
  sqs_map queues;
  sqs_queue *queues_head;
  uint64_t next_uid, next_seq, next_delivery;
  uint64_t key; /* receipt-handle check */
  int shutting_down;
  /* hooks.delay_recently_deleted: queue key → when it was deleted (ms),
   * entries older than SQS_DELETED_WAIT_MS pruned at each delete. */
  json_t *deleted;
  sqs_move_task *move_tasks; /* newest first */
  void *move_timer;          /* ticks running move tasks; NULL when none runs */
};

#define SQS_DELETED_WAIT_MS 60000
#define SQS_DELETED_MAX 10000 /* remembered deletions, at most */

/* One operation in progress (under the engine lock). */
typedef struct sqs_op {
  sqs_engine *e;
  const sqs_context *ctx;
  sqs_done_fn fn; /* the caller's completion, and its payload (long polls keep them) */
  void *payload;
  uint64_t now;
  sqs_error err;
  json_t *output;
  int suspended;      /* a long poll: the waiter answers later */
  sqs_finished *done; /* waiters answered, finished after the lock (longpoll.c) */
} sqs_op;

/* An operation: reads in, sets op->output (NULL: an empty output) or op->err
 * and returns -1. */
typedef int (*sqs_op_fn)(sqs_op *op, json_t *in);

static inline int64_t sqs_now_s(const sqs_op *op) { return (int64_t)(op->now / 1000); }

/* 1 when m has outlived q's retention period at now. */
static inline int sqs_msg_expired(const sqs_queue *q, const sqs_msg *m, uint64_t now) {
  return m->retain_from_ms + (uint64_t)q->a.retention * 1000 <= now;
}

/* ---- errors and request checks (engine.c) ---- */

/* Fills err (status 0: the model's) and returns -1. */
int sqs_err_set(sqs_error *err, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int sqs_err_oom(sqs_error *err);
/* MissingParameter for name. */
int sqs_err_missing(sqs_error *err, const char *name);
/* Reads an optional integer member (the protocol layer makes integers; a
 * string of digits is accepted too). 0 absent, 1 present, -1 malformed. */
int sqs_int_member(json_t *obj, const char *name, int64_t *out, sqs_error *err);
/* The same, and the value must lie in [lo, hi]: else InvalidParameterValue
 * whose message ends with reason. *out is written only when 1 is returned. */
int sqs_int_member_range(json_t *obj, const char *name, int64_t lo, int64_t hi, const char *reason,
                         int64_t *out, sqs_error *err);
/* [A-Za-z0-9_-]: queue names, labels, batch entry ids, attribute names. */
int sqs_name_char(char c);
/* Group, deduplication and receive attempt ids: 1-128 printable ASCII. */
int sqs_valid_dedup_id(const char *s);
/* A message attribute name: 1-256 of alphanumerics (UTF-8 letters too), '_',
 * '-' and '.', not starting or ending with '.', no "..", no "AWS."/"Amazon."
 * prefix (any case). */
int sqs_valid_attribute_name(const char *name);
/* 1 when the string array names selects name (or says "All"). */
int sqs_name_selected(json_t *names, const char *name);

/* One entry of a batch request on q: 0 with *result (owned, NULL for an
 * empty one) or -1 with err. */
typedef int (*sqs_batch_entry_fn)(sqs_op *op, sqs_queue *q, json_t *entry, json_t **result,
                                  sqs_error *err);
/* Checks a batch request's entries: their count and ids (sets op->err). */
int sqs_batch_check(sqs_op *op, json_t *entries, const char *entry_name);
/* Runs fn on every entry of a checked batch and answers per entry
 * (Successful, with each entry's Id added to its result, and Failed); then
 * serves q's waiters. */
int sqs_batch_run(sqs_op *op, sqs_queue *q, json_t *entries, sqs_batch_entry_fn fn);

/* ---- queues and their messages (queues.c) ---- */

/* Messages of a queue: a list in send order plus a map by sequence number. */
int sqs_msg_append(sqs_queue *q, sqs_msg *m);
void sqs_msg_unlink(sqs_queue *q, sqs_msg *m);
void sqs_msg_delete(sqs_queue *q, sqs_msg *m);
sqs_msg *sqs_msg_find(sqs_queue *q, uint64_t seq);
void sqs_msg_free(sqs_msg *m);

/* 12 decimal digits. */
int sqs_is_account(const char *s, size_t n);
/* The queue an "arn:aws:sqs:<region>:<account>:<name>" names, or NULL. */
sqs_queue *sqs_queue_by_arn(sqs_engine *e, const char *arn);
/* The queue the QueueUrl member of in names (QueueDoesNotExist otherwise). */
int sqs_queue_from_url(sqs_op *op, json_t *in, sqs_queue **out);
/* Deletes q: its waiters are answered with no messages. */
void sqs_queue_remove(sqs_op *op, sqs_queue *q);

int sqs_op_create_queue(sqs_op *op, json_t *in);
int sqs_op_delete_queue(sqs_op *op, json_t *in);
int sqs_op_get_queue_url(sqs_op *op, json_t *in);
int sqs_op_purge_queue(sqs_op *op, json_t *in);
int sqs_op_list_queues(sqs_op *op, json_t *in);
int sqs_op_list_dead_letter_source_queues(sqs_op *op, json_t *in);
int sqs_op_tag_queue(sqs_op *op, json_t *in);
int sqs_op_untag_queue(sqs_op *op, json_t *in);
int sqs_op_list_queue_tags(sqs_op *op, json_t *in);

/* ---- queue attributes (attributes.c) ---- */

/* CreateQueue's FifoQueue attribute ("true"/"false" or a boolean; absent: 0). */
int sqs_qattrs_fifo(json_t *attrs, int *out, sqs_error *err);
void sqs_qattrs_defaults(qattrs *a, int fifo);
/* Applies an Attributes map of CreateQueue (creating: FifoQueue is skipped,
 * read by sqs_qattrs_fifo) or SetQueueAttributes to a. On error a may be
 * partly changed: callers work on a copy. */
int sqs_qattrs_apply(qattrs *a, json_t *attrs, int creating, sqs_error *err);
void sqs_qattrs_free(qattrs *a);
/* SSE-KMS and SSE-SQS exclude each other when a request asks for both. */
int sqs_check_encryption(json_t *attrs, sqs_error *err);
/* Checks a's RedrivePolicy against its target queue: it exists, is not the
 * source itself, has the same type and allows the source. Errors quote the
 * request's RedrivePolicy (attrs, may be NULL) or else the stored one. */
int sqs_check_redrive_target(sqs_op *op, const char *source_arn, int fifo, const qattrs *a,
                             json_t *attrs, sqs_error *err);
/* Renders attribute name of q into buf (or returns a stored string, borrowed);
 * NULL when the queue has no value for it. */
const char *sqs_attribute_value(const sqs_queue *q, const char *name, uint64_t now, char *buf,
                                size_t len);
/* Splits "arn:aws:sqs:<region>:<account>:<name>" into the three buffers. */
int sqs_parse_queue_arn(const char *arn, char *region, size_t region_len, char *account,
                        size_t account_len, char *name, size_t name_len);

int sqs_op_get_queue_attributes(sqs_op *op, json_t *in);
int sqs_op_set_queue_attributes(sqs_op *op, json_t *in);

/* ---- permissions (permissions.c) ---- */

int sqs_op_add_permission(sqs_op *op, json_t *in);
int sqs_op_remove_permission(sqs_op *op, json_t *in);

/* ---- sending (send.c) ---- */

int sqs_op_send_message(sqs_op *op, json_t *in);
int sqs_op_send_message_batch(sqs_op *op, json_t *in);

/* ---- delivery and in-flight messages (receive.c) ---- */

/* One receive as p asks, now: hands up to p->max deliverable messages of q to
 * the caller (a FIFO answer is remembered under p's attempt id) and returns
 * how many; *out is the ReceiveMessage output (owned; NULL when out of memory). */
size_t sqs_receive_now(sqs_op *op, sqs_queue *q, const recv_params *p, json_t **out);
/* The output of ReceiveMessage for msgs (borrowed; NULL or empty: no messages). */
json_t *sqs_receive_output(json_t *msgs);
void sqs_recv_params_free(recv_params *p);

/* A long poll sets op->suspended: op->fn is called later. */
int sqs_op_receive_message(sqs_op *op, json_t *in);
int sqs_op_delete_message(sqs_op *op, json_t *in);
int sqs_op_delete_message_batch(sqs_op *op, json_t *in);
int sqs_op_change_message_visibility(sqs_op *op, json_t *in);
int sqs_op_change_message_visibility_batch(sqs_op *op, json_t *in);

/* ---- long polls (longpoll.c) ---- */

/* Makes the call a receiver waiting up to wait_s seconds on q; takes *p (freed
 * on every path). 1: waiting, fn is called later; 0: no timer could be armed,
 * the caller answers now with no messages; -1: out of memory (op->err). */
int sqs_waiter_add(sqs_op *op, sqs_queue *q, recv_params *p, int64_t wait_s, sqs_done_fn fn,
                   void *payload);
/* Gives waiting receivers of q whatever has become deliverable. */
void sqs_serve_waiters(sqs_op *op, sqs_queue *q);
/* Answers q's waiters with no messages (queue deleted, reset, shutdown). */
void sqs_release_waiters(sqs_op *op, sqs_queue *q);
/* Delivers the answers collected under the lock; call WITHOUT the lock. */
void sqs_finish_all(sqs_engine *e, sqs_finished *list);

/* ---- message move tasks (movetasks.c) ---- */

int sqs_op_start_message_move_task(sqs_op *op, json_t *in);
int sqs_op_cancel_message_move_task(sqs_op *op, json_t *in);
int sqs_op_list_message_move_tasks(sqs_op *op, json_t *in);
/* Fails the running tasks that move from or to the queue arn (deleted). */
void sqs_move_tasks_queue_gone(sqs_engine *e, const char *arn);
/* Frees every task. */
void sqs_move_tasks_clear(sqs_engine *e);
/* Cancels the move timer; call WITHOUT the lock, after shutting_down is set. */
void sqs_move_timer_cancel(sqs_engine *e);

#endif
