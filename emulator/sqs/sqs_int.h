/*
 * sqs_int.h — private to emulator/sqs/: the SQS engine behind service.c, and
 * the interface its unit tests and fuzz target drive (other services use the
 * engine through sqs.h alone).
 *
 * The engine holds every queue and message of one emulator instance and
 * implements each SQS operation on jansson objects shaped like the botocore
 * model's input and output shapes (the convention of emulator/service.h). It
 * knows nothing of HTTP or aws_call: service.c adapts it, and the unit
 * tests drive it directly with a hand-turned clock and timers. The engine's
 * own internals (state, shared helpers) are in sqs_engine_int.h.
 *
 * Thread safety: every function may be called from any thread at once.
 * Completion callbacks run without any engine lock held, on the calling
 * thread or (long polls) on the timer thread.
 */
#ifndef AIRGAP_EMULATOR_SQS_INT_H
#define AIRGAP_EMULATOR_SQS_INT_H

#include "emulator/sqs/sqs.h"

#include <jansson.h>
#include <stdint.h>

/* Where time comes from. now_ms: milliseconds since the epoch. timer_add runs
 * fn(arg) once after delay_ms and returns a handle (NULL on failure);
 * timer_cancel follows emulator_timer_cancel(): 1 when canceled before firing,
 * 0 when fn already ran or is running (it then waits for fn to finish). */
typedef struct sqs_hooks {
  uint64_t (*now_ms)(void *payload);
  void *(*timer_add)(void *payload, uint64_t delay_ms, void (*fn)(void *arg), void *arg);
  int (*timer_cancel)(void *payload, void *timer);
  void *payload;
  /* LocalStack's SQS_DELAY_RECENTLY_DELETED: re-creating a queue within 60 s
   * of deleting it answers QueueDeletedRecently, as AWS does (off by default,
   * as in LocalStack: test suites re-create queues at once). */
  int delay_recently_deleted;
} sqs_hooks;

/* Makes an engine. hooks is copied. Returns 0 or -1 (airgap_error_last()). */
int sqs_engine_new(sqs_engine **out, const sqs_hooks *hooks);

/* Every operation the engine implements, listed once for the engine's
 * dispatch table and the service's (service.c): X(model name, the engine's
 * function sqs_op_<fn>, private). */
#define SQS_OPERATIONS(X)                                                                          \
  X(AddPermission, add_permission)                                                                 \
  X(CancelMessageMoveTask, cancel_message_move_task)                                               \
  X(ChangeMessageVisibility, change_message_visibility)                                            \
  X(ChangeMessageVisibilityBatch, change_message_visibility_batch)                                 \
  X(CreateQueue, create_queue)                                                                     \
  X(DeleteMessage, delete_message)                                                                 \
  X(DeleteMessageBatch, delete_message_batch)                                                      \
  X(DeleteQueue, delete_queue)                                                                     \
  X(GetQueueAttributes, get_queue_attributes)                                                      \
  X(GetQueueUrl, get_queue_url)                                                                    \
  X(ListDeadLetterSourceQueues, list_dead_letter_source_queues)                                    \
  X(ListMessageMoveTasks, list_message_move_tasks)                                                 \
  X(ListQueueTags, list_queue_tags)                                                                \
  X(ListQueues, list_queues)                                                                       \
  X(PurgeQueue, purge_queue)                                                                       \
  X(ReceiveMessage, receive_message)                                                               \
  X(RemovePermission, remove_permission)                                                           \
  X(SendMessage, send_message)                                                                     \
  X(SendMessageBatch, send_message_batch)                                                          \
  X(SetQueueAttributes, set_queue_attributes)                                                      \
  X(StartMessageMoveTask, start_message_move_task)                                                 \
  X(TagQueue, tag_queue)                                                                           \
  X(UntagQueue, untag_queue)

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
