/*
 * movetasks.c — message move tasks (DLQ redrive): StartMessageMoveTask,
 * CancelMessageMoveTask, ListMessageMoveTasks.
 *
 * A task moves the messages a dead-letter queue holds when it starts (those
 * with a sequence number up to the task's bound, visible at the time they are
 * reached) to one destination queue, or each back to the queue it was
 * dead-lettered from. It runs in the background as AWS's does: one engine-wide
 * timer ticks every running task, moving MaxNumberOfMessagesPerSecond
 * messages a second (the first at once), or everything at the first tick when
 * no rate is given. A task ends COMPLETED when nothing is left to move,
 * CANCELLED by CancelMessageMoveTask, FAILED when its source or destination
 * disappears (FailureReason AWS.SimpleQueueService.NonExistentQueue, AWS's).
 *
 * Task handles are AWS's shape, the base64 of {"taskId":…,"sourceArn":…}.
 * The engine keeps the 10 newest tasks of each source (ListMessageMoveTasks
 * answers at most 10) in one list, newest first. The timer's argument is the
 * engine, never a task, so tasks can be freed under the lock at any time; only
 * sqs_engine_free cancels the timer, after setting shutting_down so that a
 * firing tick does not re-arm it.
 */
#include "emulator/sqs/sqs_engine_int.h"

#include "common/codec.h"
#include "common/jsonutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOVE_TICK_MS 100
#define MOVE_MAX_RATE 500
#define MOVE_KEEP 10 /* tasks kept per source queue */

enum { MOVE_RUNNING, MOVE_COMPLETED, MOVE_CANCELLED, MOVE_FAILED };
static const char *const STATUS_NAMES[] = {"RUNNING", "COMPLETED", "CANCELLED", "FAILED"};

struct sqs_move_task {
  sqs_move_task *next; /* the engine's list, newest first */
  char id[40];
  char *handle;
  char *source_arn, *dest_arn; /* dest_arn NULL: each message's own source */
  int64_t rate;                /* 0: as fast as possible */
  uint64_t bound_seq;          /* messages up to this sequence number are moved */
  uint64_t moved, to_move;
  uint64_t started_ms, last_tick_ms;
  uint64_t credit; /* thousandths of a message the rate allows now */
  int status;
  const char *failure;
};

static void task_free(sqs_move_task *t) {
  if (!t)
    return;
  free(t->handle);
  free(t->source_arn);
  free(t->dest_arn);
  free(t);
}

void sqs_move_tasks_clear(sqs_engine *e) {
  while (e->move_tasks) {
    sqs_move_task *t = e->move_tasks;
    e->move_tasks = t->next;
    task_free(t);
  }
}

static void task_fail(sqs_move_task *t, const char *reason) {
  t->status = MOVE_FAILED;
  t->failure = reason;
}

/* ---- moving messages ---- */

static int move_candidate(const sqs_move_task *t, const sqs_queue *q, const sqs_msg *m,
                          uint64_t now) {
  return m->seq <= t->bound_seq && m->visible_at_ms <= now && !sqs_msg_expired(q, m, now);
}

/* Moves m from src to dst as a new message of dst. */
static int move_one(sqs_op *op, sqs_queue *src, sqs_queue *dst, sqs_msg *m) {
  sqs_msg_unlink(src, m);
  m->receive_count = 0;
  m->first_receive_ms = 0;
  m->delivery = 0;
  m->visible_at_ms = op->now;
  m->retain_from_ms = op->now;
  free(m->dlq_source_arn);
  m->dlq_source_arn = NULL;
  m->sequence[0] = '\0';
  if (dst->a.fifo)
    snprintf(m->sequence, sizeof(m->sequence), "%020" PRIu64, ++dst->next_sequence);
  m->seq = ++op->e->next_seq;
  if (sqs_msg_append(dst, m) < 0) {
    sqs_msg_free(m);
    return -1;
  }
  return 0;
}

/* One tick of a running task: moves what its rate allows now. */
static void task_tick(sqs_op *op, sqs_move_task *t) {
  sqs_queue *src = sqs_queue_by_arn(op->e, t->source_arn);
  sqs_queue *fixed = t->dest_arn ? sqs_queue_by_arn(op->e, t->dest_arn) : NULL;
  if (!src || (t->dest_arn && !fixed)) {
    task_fail(t, "AWS.SimpleQueueService.NonExistentQueue");
    return;
  }
  uint64_t allowed = UINT64_MAX;
  if (t->rate > 0) {
    /* Integers, so that ten ticks of a tenth make exactly one message. */
    t->credit += (op->now - t->last_tick_ms) * (uint64_t)t->rate;
    if (t->credit > (uint64_t)t->rate * 1000)
      t->credit = (uint64_t)t->rate * 1000; /* at most a second's worth at once */
    allowed = t->credit / 1000;
  }
  t->last_tick_ms = op->now;
  uint64_t n = 0;
  sqs_msg *m = src->head;
  while (m && n < allowed) {
    sqs_msg *next = m->next;
    if (!move_candidate(t, src, m, op->now)) {
      m = next;
      continue;
    }
    sqs_queue *dst = fixed ? fixed : sqs_queue_by_arn(op->e, m->dlq_source_arn);
    if (!dst || dst == src) {
      task_fail(t, "AWS.SimpleQueueService.NonExistentQueue");
      break;
    }
    if (move_one(op, src, dst, m) == 0) {
      t->moved++;
      sqs_serve_waiters(op, dst);
    }
    n++;
    m = next;
  }
  if (t->rate > 0)
    t->credit -= n * 1000;
  if (t->status != MOVE_RUNNING)
    return;
  for (m = src->head; m; m = m->next)
    if (m->seq <= t->bound_seq && !sqs_msg_expired(src, m, op->now))
      return; /* more to move (now or once visible again) */
  t->status = MOVE_COMPLETED;
}

static void move_timer_fired(void *arg);

/* Arms the engine's move timer when some task runs and none is armed. */
static void move_timer_arm(sqs_op *op, uint64_t delay) {
  sqs_engine *e = op->e;
  if (e->move_timer || e->shutting_down)
    return;
  for (sqs_move_task *t = e->move_tasks; t; t = t->next)
    if (t->status == MOVE_RUNNING) {
      e->move_timer = e->hooks.timer_add(e->hooks.payload, delay, move_timer_fired, e);
      return;
    }
}

static void move_timer_fired(void *arg) {
  sqs_engine *e = arg;
  sqs_context ctx = {"000000000000", "us-east-1", NULL};
  sqs_op op = {.e = e, .ctx = &ctx};
  pthread_mutex_lock(&e->lock);
  e->move_timer = NULL;
  op.now = e->hooks.now_ms(e->hooks.payload);
  for (sqs_move_task *t = e->move_tasks; t; t = t->next)
    if (t->status == MOVE_RUNNING)
      task_tick(&op, t);
  move_timer_arm(&op, MOVE_TICK_MS);
  pthread_mutex_unlock(&e->lock);
  sqs_finish_all(e, op.done);
}

void sqs_move_timer_cancel(sqs_engine *e) {
  pthread_mutex_lock(&e->lock);
  void *timer = e->move_timer;
  pthread_mutex_unlock(&e->lock);
  /* shutting_down is set: a tick running now does not re-arm. */
  if (timer)
    e->hooks.timer_cancel(e->hooks.payload, timer);
  pthread_mutex_lock(&e->lock);
  e->move_timer = NULL;
  pthread_mutex_unlock(&e->lock);
}

void sqs_move_tasks_queue_gone(sqs_engine *e, const char *arn) {
  for (sqs_move_task *t = e->move_tasks; t; t = t->next)
    if (t->status == MOVE_RUNNING &&
        (!strcmp(t->source_arn, arn) || (t->dest_arn && !strcmp(t->dest_arn, arn))))
      task_fail(t, "AWS.SimpleQueueService.NonExistentQueue");
}

/* ---- requests ---- */

/* An ARN member must look like one: arn:<partition>:<service>:<region>:<account>:<resource>. */
static int check_arn_format(sqs_op *op, const char *member, const char *arn) {
  int colons = 0;
  for (const char *p = arn; *p; p++)
    colons += *p == ':';
  if (strncmp(arn, "arn:", 4) || colons < 5)
    return sqs_err_set(&op->err, 0, "InvalidParameterValue",
                       "You must use this format to specify the %s: "
                       "arn:<partition>:<service>:<region>:<account-id>:<resource-id>",
                       member);
  return 0;
}

static int not_found(sqs_op *op, const char *member) {
  return sqs_err_set(&op->err, 404, "ResourceNotFoundException",
                     "The resource that you specified for the %s parameter doesn't exist.", member);
}

/* The queue an ARN names, as seen by the caller (their account's queues). */
static sqs_queue *queue_of_arn(sqs_op *op, const char *arn) {
  sqs_queue *q = sqs_queue_by_arn(op->e, arn);
  return q && !strcmp(q->account, op->ctx->account) ? q : NULL;
}

static int is_dead_letter_queue(const sqs_engine *e, const sqs_queue *dlq) {
  for (const sqs_queue *q = e->queues_head; q; q = q->next)
    if (q->a.dlq_arn && !strcmp(q->a.dlq_arn, dlq->arn))
      return 1;
  return 0;
}

/* Keeps the MOVE_KEEP newest tasks of source_arn; older finished ones go. */
static void prune(sqs_engine *e, const char *source_arn) {
  size_t seen = 0;
  for (sqs_move_task **p = &e->move_tasks; *p;) {
    sqs_move_task *t = *p;
    if (!strcmp(t->source_arn, source_arn) && ++seen > MOVE_KEEP && t->status != MOVE_RUNNING) {
      *p = t->next;
      task_free(t);
      continue;
    }
    p = &t->next;
  }
}

static char *make_handle(const char *id, const char *source_arn) {
  json_t *doc = json_pack("{s:s, s:s}", "taskId", id, "sourceArn", source_arn);
  char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  char *b64 = text ? codec_base64_encode(text, strlen(text)) : NULL;
  json_decref(doc);
  free(text);
  return b64;
}

int sqs_op_start_message_move_task(sqs_op *op, json_t *in) {
  const char *source = jsonutil_string(in, "SourceArn");
  const char *dest = jsonutil_string(in, "DestinationArn");
  int64_t rate = 0;
  if (!source || !*source)
    return sqs_err_missing(&op->err, "SourceArn");
  if (check_arn_format(op, "SourceArn", source) < 0 ||
      (dest && check_arn_format(op, "DestinationArn", dest) < 0))
    return -1;
  if (sqs_int_member_range(in, "MaxNumberOfMessagesPerSecond", 1, MOVE_MAX_RATE,
                           "You must enter a number that's between 1 and 500.", &rate,
                           &op->err) < 0)
    return -1;
  sqs_queue *src = queue_of_arn(op, source);
  if (!src)
    return not_found(op, "SourceArn");
  if (!is_dead_letter_queue(op->e, src))
    return sqs_err_set(&op->err, 0, "InvalidParameterValue",
                       "Source queue must be configured as a Dead Letter Queue.");
  if (dest) {
    sqs_queue *dst = queue_of_arn(op, dest);
    if (!dst)
      return not_found(op, "DestinationArn");
    if (dst == src)
      return sqs_err_set(&op->err, 0, "InvalidParameterValue",
                         "Source queue arn and destination queue arn cannot be the same.");
    if (dst->a.fifo != src->a.fifo)
      return sqs_err_set(&op->err, 0, "InvalidParameterValue",
                         "The source queue and destination queue must be of the same queue type.");
  }
  for (sqs_move_task *t = op->e->move_tasks; t; t = t->next)
    if (t->status == MOVE_RUNNING && !strcmp(t->source_arn, src->arn))
      return sqs_err_set(&op->err, 0, "InvalidParameterValue",
                         "There is already a task running. Only one active task is allowed for a "
                         "source queue arn at a given time.");
  sqs_move_task *t = calloc(1, sizeof(*t));
  if (!t)
    return sqs_err_oom(&op->err);
  codec_uuid4(t->id);
  t->source_arn = strdup(src->arn);
  t->dest_arn = dest ? strdup(dest) : NULL;
  t->handle = make_handle(t->id, src->arn);
  op->output = t->handle ? json_pack("{s:s}", "TaskHandle", t->handle) : NULL;
  if (!t->source_arn || (dest && !t->dest_arn) || !op->output) {
    task_free(t);
    return sqs_err_oom(&op->err);
  }
  t->rate = rate;
  t->credit = 1000; /* the first message moves at once */
  t->bound_seq = op->e->next_seq;
  t->started_ms = t->last_tick_ms = op->now;
  for (const sqs_msg *m = src->head; m; m = m->next)
    if (!sqs_msg_expired(src, m, op->now))
      t->to_move++;
  t->status = MOVE_RUNNING;
  t->next = op->e->move_tasks;
  op->e->move_tasks = t;
  prune(op->e, t->source_arn);
  move_timer_arm(op, 0);
  return 0;
}

/* Reads a task handle: the base64 of {"taskId": …, "sourceArn": …}. */
static int parse_handle(const char *handle, char id[40], char **source_arn) {
  unsigned char *raw = NULL;
  size_t len = 0;
  int rc = -1;
  if (!handle || strlen(handle) > 4096 || codec_base64_decode(&raw, &len, handle, strlen(handle)))
    return -1;
  json_t *doc = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
  const char *tid = jsonutil_string(doc, "taskId"), *arn = jsonutil_string(doc, "sourceArn");
  if (tid && arn && strlen(tid) < 40 && (*source_arn = strdup(arn))) {
    snprintf(id, 40, "%s", tid);
    rc = 0;
  }
  json_decref(doc);
  free(raw);
  return rc;
}

int sqs_op_cancel_message_move_task(sqs_op *op, json_t *in) {
  const char *handle = jsonutil_string(in, "TaskHandle");
  char id[40], *source = NULL;
  if (!handle || !*handle)
    return sqs_err_missing(&op->err, "TaskHandle");
  if (parse_handle(handle, id, &source) < 0)
    return sqs_err_set(&op->err, 0, "InvalidParameterValue",
                       "Value for parameter TaskHandle is invalid.");
  sqs_queue *src = queue_of_arn(op, source);
  sqs_move_task *t = op->e->move_tasks;
  while (t && (strcmp(t->id, id) || strcmp(t->source_arn, source)))
    t = t->next;
  free(source);
  if (!src)
    return not_found(op, "SourceArn");
  if (!t)
    return sqs_err_set(&op->err, 404, "ResourceNotFoundException", "Task does not exist.");
  if (t->status != MOVE_RUNNING)
    return sqs_err_set(&op->err, 0, "InvalidParameterValue",
                       "Only active tasks can be cancelled. The task is %s.",
                       STATUS_NAMES[t->status]);
  t->status = MOVE_CANCELLED;
  op->output = json_pack("{s:I}", "ApproximateNumberOfMessagesMoved", (json_int_t)t->moved);
  return op->output ? 0 : sqs_err_oom(&op->err);
}

static json_t *task_entry(const sqs_move_task *t) {
  json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I}", "Status", STATUS_NAMES[t->status], "SourceArn",
                        t->source_arn, "ApproximateNumberOfMessagesMoved", (json_int_t)t->moved,
                        "ApproximateNumberOfMessagesToMove", (json_int_t)t->to_move,
                        "StartedTimestamp", (json_int_t)t->started_ms);
  if (!o)
    return NULL;
  if (t->status == MOVE_RUNNING)
    json_object_set_new(o, "TaskHandle", json_string(t->handle));
  if (t->dest_arn)
    json_object_set_new(o, "DestinationArn", json_string(t->dest_arn));
  if (t->rate > 0)
    json_object_set_new(o, "MaxNumberOfMessagesPerSecond", json_integer(t->rate));
  if (t->failure)
    json_object_set_new(o, "FailureReason", json_string(t->failure));
  return o;
}

int sqs_op_list_message_move_tasks(sqs_op *op, json_t *in) {
  const char *source = jsonutil_string(in, "SourceArn");
  int64_t max = 1;
  if (!source || !*source)
    return sqs_err_missing(&op->err, "SourceArn");
  if (check_arn_format(op, "SourceArn", source) < 0 ||
      sqs_int_member_range(in, "MaxResults", 1, MOVE_KEEP,
                           "You must enter a number that's between 1 and 10.", &max, &op->err) < 0)
    return -1;
  sqs_queue *src = queue_of_arn(op, source);
  if (!src)
    return not_found(op, "SourceArn");
  json_t *results = json_array();
  int64_t n = 0;
  for (sqs_move_task *t = op->e->move_tasks; results && t && n < max; t = t->next) {
    if (strcmp(t->source_arn, src->arn))
      continue;
    json_array_append_new(results, task_entry(t));
    n++;
  }
  op->output = results ? json_pack("{s:o}", "Results", results) : NULL;
  return op->output ? 0 : sqs_err_oom(&op->err);
}
