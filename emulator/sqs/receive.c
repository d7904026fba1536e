/*
 * receive.c — delivering messages: ReceiveMessage, receipt handles, the
 * dead-letter redrive, DeleteMessage(Batch) and visibility changes.
 *
 * A queue keeps its messages in send order; a receive walks it from the
 * head, skipping what is invisible (in flight or delayed) and, in FIFO
 * queues, every group that has a message in flight. Standard queues remember
 * how far the head is invisible (skip_after/skip_until), so a receive stays
 * O(batch) with many messages in flight.
 *
 * Receipt handles are 64 hex digits: queue incarnation, message sequence
 * number, delivery number and a keyed check, so handles from another queue,
 * a deleted-and-recreated queue, an older delivery or plain garbage are told
 * apart without storing them. A receive that finds nothing and may wait
 * becomes a long poll (longpoll.c).
 */
#include "emulator/sqs/sqs_engine_int.h"

#include "common/jsonutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- receipt handles ---- */

static uint64_t mix64(uint64_t x) { /* splitmix64 finalizer */
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

static uint64_t handle_check(const sqs_engine *e, uint64_t uid, uint64_t seq, uint64_t delivery) {
  return mix64(e->key ^ mix64(uid ^ mix64(seq ^ mix64(delivery))));
}

static void handle_make(char out[65], const sqs_engine *e, const sqs_queue *q, const sqs_msg *m) {
  snprintf(out, 65, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, q->uid, m->seq,
           m->delivery, handle_check(e, q->uid, m->seq, m->delivery));
}

static int handle_parse(const sqs_engine *e, const char *h, uint64_t *uid, uint64_t *seq,
                        uint64_t *delivery) {
  if (!h || strlen(h) != 64)
    return -1;
  uint64_t v[4];
  for (int i = 0; i < 4; i++) {
    char part[17];
    memcpy(part, h + 16 * i, 16);
    part[16] = '\0';
    for (int j = 0; j < 16; j++)
      if (!((part[j] >= '0' && part[j] <= '9') || (part[j] >= 'a' && part[j] <= 'f')))
        return -1;
    v[i] = strtoull(part, NULL, 16);
  }
  if (handle_check(e, v[0], v[1], v[2]) != v[3])
    return -1;
  *uid = v[0];
  *seq = v[1];
  *delivery = v[2];
  return 0;
}

static int invalid_handle(sqs_error *err, const char *h) {
  return sqs_err_set(err, 0, "ReceiptHandleIsInvalid",
                     "The input receipt handle \"%.2000s\" is not a valid receipt handle.",
                     h ? h : "");
}

/* ---- delivery ---- */

/* MessageAttributeNames: "All", "*" and ".*" select every attribute,
 * "prefix.*" those whose names start with prefix (AWS's "Hel.*" selects
 * "Hello" and "Help.Me"), any other entry the attribute of that name. */
static int is_wildcard(const char *s) {
  return !strcmp(s, "All") || !strcmp(s, "*") || !strcmp(s, ".*");
}

static int attribute_selected(json_t *names, const char *name) {
  size_t i;
  json_t *v;
  json_array_foreach(names, i, v) {
    const char *s = json_string_value(v);
    if (!s)
      continue;
    size_t n = strlen(s);
    if (is_wildcard(s) || !strcmp(s, name))
      return 1;
    if (n >= 2 && !strcmp(s + n - 2, ".*") && !strncmp(s, name, n - 2))
      return 1;
  }
  return 0;
}

static int put_u64(json_t *obj, const char *key, uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof(buf), "%" PRIu64, v);
  return json_object_set_new(obj, key, json_string(buf));
}

static json_t *render_message(sqs_op *op, sqs_queue *q, sqs_msg *m, const recv_params *p) {
  char handle[65];
  handle_make(handle, op->e, q, m);
  json_t *out = json_object();
  json_t *sys = json_object();
  if (!out || !sys)
    goto fail;
  json_object_set_new(out, "MessageId", json_string(m->id));
  json_object_set_new(out, "ReceiptHandle", json_string(handle));
  json_object_set_new(out, "MD5OfBody", json_string(m->md5_body));
  json_object_set_new(out, "Body", json_stringn(m->body, m->body_len));
  json_t *names = p->system_names;
  if (sqs_name_selected(names, "SenderId"))
    json_object_set_new(sys, "SenderId", json_string(m->sender));
  if (sqs_name_selected(names, "SentTimestamp"))
    put_u64(sys, "SentTimestamp", m->sent_ms);
  if (sqs_name_selected(names, "ApproximateReceiveCount"))
    put_u64(sys, "ApproximateReceiveCount", m->receive_count);
  if (sqs_name_selected(names, "ApproximateFirstReceiveTimestamp"))
    put_u64(sys, "ApproximateFirstReceiveTimestamp", m->first_receive_ms);
  if (m->sequence[0] && sqs_name_selected(names, "SequenceNumber"))
    json_object_set_new(sys, "SequenceNumber", json_string(m->sequence));
  if (m->dedup_id && sqs_name_selected(names, "MessageDeduplicationId"))
    json_object_set_new(sys, "MessageDeduplicationId", json_string(m->dedup_id));
  if (m->group_id && sqs_name_selected(names, "MessageGroupId"))
    json_object_set_new(sys, "MessageGroupId", json_string(m->group_id));
  if (m->trace_header && sqs_name_selected(names, "AWSTraceHeader"))
    json_object_set_new(sys, "AWSTraceHeader", json_string(m->trace_header));
  if (m->dlq_source_arn && sqs_name_selected(names, "DeadLetterQueueSourceArn"))
    json_object_set_new(sys, "DeadLetterQueueSourceArn", json_string(m->dlq_source_arn));
  if (json_object_size(sys))
    json_object_set(out, "Attributes", sys);
  json_decref(sys);
  sys = NULL;
  if (m->attributes && p->attribute_names) {
    json_t *sel = json_object();
    const char *k;
    json_t *v;
    if (!sel)
      goto fail;
    json_object_foreach(m->attributes, k, v) {
      if (attribute_selected(p->attribute_names, k))
        json_object_set(sel, k, v);
    }
    /* None selected: no MessageAttributes at all, over either protocol (AWS's
     * JSON answers of late 2023 carried empty collections; its answers now
     * leave them out, as they do the empty Messages list). */
    char md5[33];
    if (json_object_size(sel) && sqs_md5_of_attributes(md5, sel) == 0) {
      json_object_set_new(out, "MD5OfMessageAttributes", json_string(md5));
      json_object_set_new(out, "MessageAttributes", sel);
    } else {
      json_decref(sel);
    }
  }
  return out;
fail:
  json_decref(out);
  json_decref(sys);
  return NULL;
}

/* Moves m from q to its dead-letter queue (when that still exists). */
static int redrive(sqs_op *op, sqs_queue *q, sqs_msg *m) {
  sqs_queue *dlq = sqs_queue_by_arn(op->e, q->a.dlq_arn);
  if (!dlq || dlq == q || dlq->a.fifo != q->a.fifo)
    return -1;
  sqs_msg_unlink(q, m);
  m->receive_count = 0;
  m->first_receive_ms = 0;
  m->delivery = 0;
  m->visible_at_ms = op->now;
  if (dlq->a.fifo) {
    m->retain_from_ms = op->now;
    snprintf(m->sequence, sizeof(m->sequence), "%020" PRIu64, ++dlq->next_sequence);
  }
  if (!m->dlq_source_arn)
    m->dlq_source_arn = strdup(q->arn);
  m->seq = ++op->e->next_seq;
  if (sqs_msg_append(dlq, m) < 0) {
    sqs_msg_free(m);
    return 0;
  }
  sqs_serve_waiters(op, dlq);
  return 0;
}

/* What a receive may do with m now: it expired (deleted) or moved to the
 * dead-letter queue, it is invisible (in flight or delayed), or it can go. */
enum { MSG_GONE, MSG_INVISIBLE, MSG_DELIVERABLE };

static int examine(sqs_op *op, sqs_queue *q, sqs_msg *m) {
  if (sqs_msg_expired(q, m, op->now)) {
    sqs_msg_delete(q, m);
    return MSG_GONE;
  }
  if (m->visible_at_ms > op->now)
    return MSG_INVISIBLE;
  if (q->a.max_receive > 0 && m->receive_count >= (uint64_t)q->a.max_receive &&
      redrive(op, q, m) == 0)
    return MSG_GONE;
  return MSG_DELIVERABLE;
}

/* Makes m in flight for vis seconds and appends it to msgs. */
static void hand_out(sqs_op *op, sqs_queue *q, sqs_msg *m, const recv_params *p, int64_t vis,
                     json_t *msgs) {
  m->receive_count++;
  if (!m->first_receive_ms)
    m->first_receive_ms = op->now;
  m->delivery = ++op->e->next_delivery;
  m->visible_at_ms = op->now + (uint64_t)vis * 1000;
  json_t *rendered = render_message(op, q, m, p);
  if (rendered)
    json_array_append_new(msgs, rendered);
}

/* One FIFO group as a receive sees it: the messages it can hand out now (its
 * first messages, up to its first invisible one) and where it stands among
 * the groups. */
typedef struct group_run {
  sqs_msg *msgs[SQS_MAX_BATCH];
  size_t count;
  int stopped;            /* an invisible message (or enough) was met */
  uint64_t first;         /* position of its first message in the queue */
  uint64_t last_delivery; /* newest delivery of its messages, 0: none yet */
} group_run;

/* Groups never received yet go first, in the order their first messages
 * came; then groups received before, the longest ago first. AWS's recorded
 * answers follow this: with groups 1, 2, 3 sent and 1 and 2 just received
 * with VisibilityTimeout 0, the next receive returns group 3, then 1, then 2. */
static int cmp_group_run(const void *a, const void *b) {
  const group_run *x = *(group_run *const *)a, *y = *(group_run *const *)b;
  int xs = x->last_delivery != 0, ys = y->last_delivery != 0;
  if (xs != ys)
    return xs - ys;
  uint64_t xk = xs ? x->last_delivery : x->first, yk = ys ? y->last_delivery : y->first;
  return xk < yk ? -1 : xk > yk;
}

/* A FIFO receive: groups with their first message in flight or delayed are
 * skipped whole; a group that can go gives as many of its messages as it can
 * before the next group (AWS: [g1-m1, g2-m1, g1-m2] comes back g1-m1, g1-m2,
 * g2-m1), groups taken in cmp_group_run's order. One walk of the queue. */
static size_t deliver_fifo(sqs_op *op, sqs_queue *q, const recv_params *p, int64_t vis,
                           json_t *msgs) {
  sqs_map groups = {0};
  group_run **runs = NULL;
  size_t nruns = 0, cap = 0, n = 0;
  uint64_t pos = 0;
  sqs_msg *m = q->head;
  while (m) {
    sqs_msg *next = m->next;
    group_run *run = sqs_map_get(&groups, m->group_id);
    if (!run) {
      if (nruns == cap) {
        size_t ncap = cap ? 2 * cap : 16;
        group_run **grown = realloc(runs, ncap * sizeof(*runs));
        if (!grown)
          break; /* out of memory: hand out what was found so far */
        runs = grown;
        cap = ncap;
      }
      run = calloc(1, sizeof(*run));
      if (!run || sqs_map_put(&groups, m->group_id, run) < 0) {
        free(run);
        break;
      }
      run->first = pos;
      runs[nruns++] = run;
    }
    pos++;
    if (run->count == (size_t)p->max)
      run->stopped = 1; /* enough of this group: later ones are not looked at */
    if (!run->stopped) {
      int state = examine(op, q, m);
      if (state == MSG_GONE) {
        m = next;
        continue;
      }
      if (state == MSG_INVISIBLE)
        run->stopped = 1;
      else
        run->msgs[run->count++] = m;
    }
    if (m->delivery > run->last_delivery)
      run->last_delivery = m->delivery;
    m = next;
  }
  if (nruns)
    qsort(runs, nruns, sizeof(*runs), cmp_group_run);
  for (size_t i = 0; i < nruns; i++) {
    for (size_t j = 0; j < runs[i]->count && (int64_t)n < p->max; j++, n++)
      hand_out(op, q, runs[i]->msgs[j], p, vis, msgs);
    free(runs[i]);
  }
  free(runs);
  sqs_map_clear(&groups);
  return n;
}

/* Hands up to p->max deliverable messages of q to the caller (appending to
 * msgs). */
static size_t deliver(sqs_op *op, sqs_queue *q, const recv_params *p, json_t *msgs) {
  int64_t vis = p->visibility >= 0 ? p->visibility : q->a.visibility;
  if (q->a.fifo)
    return deliver_fifo(op, q, p, vis, msgs);
  size_t n = 0;
  sqs_msg *m = q->head, *clean = NULL;
  uint64_t until = UINT64_MAX;
  if (q->skip_after && op->now < q->skip_until) {
    clean = q->skip_after;
    until = q->skip_until;
    m = clean->next;
  }
  while (m && (int64_t)n < p->max) {
    sqs_msg *next = m->next;
    int state = examine(op, q, m);
    if (state == MSG_GONE) {
      m = next;
      continue;
    }
    if (state == MSG_DELIVERABLE) {
      hand_out(op, q, m, p, vis, msgs);
      n++;
    }
    clean = m;
    if (m->visible_at_ms < until)
      until = m->visible_at_ms;
    m = next;
  }
  /* Everything examined up to clean is invisible until `until`. */
  q->skip_after = clean;
  q->skip_until = until;
  return n;
}

json_t *sqs_receive_output(json_t *msgs) {
  /* No messages: no Messages member. AWS's JSON answer leaves it out (it
   * briefly sent an empty list when SQS gained the JSON protocol in 2023;
   * SDK conformance runs of 2026 see it omitted), the query answer is an
   * empty ReceiveMessageResult. */
  json_t *out = json_object();
  if (out && json_array_size(msgs))
    json_object_set(out, "Messages", msgs);
  return out;
}

/* ---- ReceiveMessage ---- */

void sqs_recv_params_free(recv_params *p) {
  json_decref(p->system_names);
  json_decref(p->attribute_names);
  free(p->attempt_id);
  memset(p, 0, sizeof(*p));
}

/* Reads ReceiveMessage's parameters into p (owned by the caller after
 * success) and the seconds it may wait into *wait. */
static int parse_recv(sqs_op *op, sqs_queue *q, json_t *in, recv_params *p, int64_t *wait) {
  memset(p, 0, sizeof(*p));
  p->max = 1;
  p->visibility = -1;
  *wait = q->a.wait;
  if (sqs_int_member_range(in, "MaxNumberOfMessages", 1, SQS_MAX_BATCH,
                           "Must be between 1 and 10, if provided.", &p->max, &op->err) < 0 ||
      sqs_int_member_range(in, "VisibilityTimeout", 0, SQS_MAX_VISIBILITY,
                           "Must be between 0 and 43200, if provided.", &p->visibility,
                           &op->err) < 0 ||
      sqs_int_member_range(in, "WaitTimeSeconds", 0, 20, "Must be >= 0 and <= 20, if provided.",
                           wait, &op->err) < 0)
    return -1;
  /* AttributeNames (older models) and MessageSystemAttributeNames (newer) both
   * select system attributes. */
  json_t *sys = json_array();
  json_t *names[2] = {json_object_get(in, "AttributeNames"),
                      json_object_get(in, "MessageSystemAttributeNames")};
  for (int k = 0; k < 2; k++) {
    size_t i;
    json_t *s;
    json_array_foreach(names[k], i, s) if (json_is_string(s)) json_array_append(sys, s);
  }
  p->system_names = sys;
  json_t *an = json_object_get(in, "MessageAttributeNames");
  if (json_is_array(an))
    p->attribute_names = json_deep_copy(an);
  const char *attempt = jsonutil_string(in, "ReceiveRequestAttemptId");
  if (attempt && q->a.fifo) {
    if (!sqs_valid_dedup_id(attempt)) {
      sqs_recv_params_free(p);
      return sqs_err_set(&op->err, 0, "InvalidParameterValue",
                         "Value %.2000s for parameter ReceiveRequestAttemptId is invalid.",
                         attempt);
    }
    p->attempt_id = strdup(attempt);
  }
  return 0;
}

/* A FIFO retry with the same ReceiveRequestAttemptId gets the same answer
 * while none of its messages was deleted or handed out again. */
static json_t *attempt_replay(sqs_op *op, sqs_queue *q, const char *attempt_id) {
  ttl_node *n = sqs_ttl_get(&q->attempts, attempt_id, op->now);
  if (!n)
    return NULL;
  for (size_t i = 0; i < n->count; i++) {
    sqs_msg *m = sqs_msg_find(q, n->seqs[i]);
    if (!m || m->delivery != n->deliveries[i] || m->visible_at_ms <= op->now) {
      sqs_ttl_forget(&q->attempts, attempt_id);
      return NULL;
    }
  }
  return json_deep_copy(n->messages);
}

static void attempt_record(sqs_op *op, sqs_queue *q, const char *attempt_id, json_t *msgs) {
  ttl_node *n = sqs_ttl_add(&q->attempts, attempt_id, op->now + SQS_DEDUP_WINDOW_MS);
  if (!n)
    return;
  n->messages = json_deep_copy(msgs);
  size_t i;
  json_t *m;
  json_array_foreach(msgs, i, m) {
    uint64_t uid, seq, delivery;
    if (i < SQS_MAX_BATCH &&
        handle_parse(op->e, jsonutil_string(m, "ReceiptHandle"), &uid, &seq, &delivery) == 0) {
      n->seqs[n->count] = seq;
      n->deliveries[n->count] = delivery;
      n->count++;
    }
  }
}

size_t sqs_receive_now(sqs_op *op, sqs_queue *q, const recv_params *p, json_t **out) {
  json_t *msgs = json_array();
  size_t n = msgs ? deliver(op, q, p, msgs) : 0;
  if (n > 0 && p->attempt_id)
    attempt_record(op, q, p->attempt_id, msgs);
  *out = sqs_receive_output(msgs);
  json_decref(msgs);
  return n;
}

int sqs_op_receive_message(sqs_op *op, json_t *in) {
  sqs_queue *q;
  recv_params p;
  int64_t wait = 0;
  if (sqs_queue_from_url(op, in, &q) < 0 || parse_recv(op, q, in, &p, &wait) < 0)
    return -1;
  json_t *replay = p.attempt_id ? attempt_replay(op, q, p.attempt_id) : NULL;
  if (replay) {
    op->output = sqs_receive_output(replay);
    json_decref(replay);
    sqs_recv_params_free(&p);
    return 0;
  }
  size_t n = sqs_receive_now(op, q, &p, &op->output);
  if (!op->output) {
    sqs_recv_params_free(&p);
    return sqs_err_oom(&op->err);
  }
  if (n > 0 || wait == 0 || op->e->shutting_down) {
    sqs_recv_params_free(&p);
    return 0;
  }
  /* Nothing yet: wait; without a timer the empty answer stands. */
  int rc = sqs_waiter_add(op, q, &p, wait, op->fn, op->payload);
  if (rc == 1) {
    json_decref(op->output);
    op->output = NULL;
    op->suspended = 1;
  }
  return rc < 0 ? -1 : 0;
}

/* Resolves a receipt handle of q to the message's sequence and delivery
 * numbers (ReceiptHandleIsInvalid when it is not one of q's). */
static int handle_resolve(sqs_op *op, sqs_queue *q, const char *handle, uint64_t *seq,
                          uint64_t *delivery, sqs_error *err) {
  uint64_t uid;
  if (handle_parse(op->e, handle, &uid, seq, delivery) < 0 || uid != q->uid || *delivery == 0)
    return invalid_handle(err, handle);
  return 0;
}

/* ---- in-flight messages: delete, change visibility ---- */

static int delete_one(sqs_op *op, sqs_queue *q, const char *handle, sqs_error *err) {
  uint64_t seq, delivery;
  if (!handle || !*handle)
    return sqs_err_missing(err, "ReceiptHandle");
  if (handle_resolve(op, q, handle, &seq, &delivery, err) < 0)
    return -1;
  sqs_msg *m = sqs_msg_find(q, seq);
  if (!m)
    return 0; /* already deleted: DeleteMessage is idempotent */
  /* A standard queue deletes the message with any handle it was ever received
   * with, also once its visibility timeout has passed (AWS does; LocalStack's
   * AWS-validated tests and moto agree). A FIFO queue wants the handle of the
   * current, unexpired delivery. */
  if (q->a.fifo && (m->delivery != delivery || m->visible_at_ms <= op->now))
    return sqs_err_set(err, 0, "InvalidParameterValue",
                       "Value %.2000s for parameter ReceiptHandle is invalid. Reason: The receipt "
                       "handle has expired.",
                       handle);
  sqs_msg_delete(q, m);
  return 0;
}

int sqs_op_delete_message(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (sqs_queue_from_url(op, in, &q) < 0 ||
      delete_one(op, q, jsonutil_string(in, "ReceiptHandle"), &op->err) < 0)
    return -1;
  sqs_serve_waiters(op, q);
  return 0;
}

/* DeleteMessageBatch, ChangeMessageVisibilityBatch. */
static int run_batch(sqs_op *op, json_t *in, const char *entry_name, sqs_batch_entry_fn fn) {
  sqs_queue *q;
  json_t *entries = json_object_get(in, "Entries");
  if (sqs_queue_from_url(op, in, &q) < 0 || sqs_batch_check(op, entries, entry_name) < 0)
    return -1;
  return sqs_batch_run(op, q, entries, fn);
}

static int delete_entry(sqs_op *op, sqs_queue *q, json_t *entry, json_t **result, sqs_error *err) {
  return delete_one(op, q, jsonutil_string(entry, "ReceiptHandle"), err);
}

int sqs_op_delete_message_batch(sqs_op *op, json_t *in) {
  return run_batch(op, in, "DeleteMessageBatchRequestEntry", delete_entry);
}

static int change_one(sqs_op *op, sqs_queue *q, json_t *in, json_t **result, sqs_error *err) {
  const char *handle = jsonutil_string(in, "ReceiptHandle");
  int64_t vis = 0;
  int rc = sqs_int_member(in, "VisibilityTimeout", &vis, err);
  uint64_t seq, delivery;
  if (rc < 0)
    return -1;
  if (rc == 0)
    return sqs_err_missing(err, "VisibilityTimeout");
  if (!handle || !*handle)
    return sqs_err_missing(err, "ReceiptHandle");
  if (vis < 0 || vis > SQS_MAX_VISIBILITY)
    return sqs_err_set(err, 0, "InvalidParameterValue",
                       "Value %" PRId64
                       " for parameter VisibilityTimeout is invalid. Reason: Must be "
                       "between 0 and 43200.",
                       vis);
  if (handle_resolve(op, q, handle, &seq, &delivery, err) < 0)
    return -1;
  sqs_msg *m = sqs_msg_find(q, seq);
  /* As with deletes, a standard queue takes an older handle of the message. */
  if (!m || (q->a.fifo && m->delivery != delivery))
    return sqs_err_set(
        err, 0, "InvalidParameterValue",
        "Value %.2000s for parameter ReceiptHandle is invalid. Reason: Message does not "
        "exist or is not available for visibility timeout change.",
        handle);
  /* A message no longer in flight (its visibility timeout passed, or was set
   * to 0) stays visible: AWS answers OK and changes nothing (LocalStack's
   * AWS-validated test records it), never MessageNotInflight. */
  if (m->visible_at_ms <= op->now)
    return 0;
  uint64_t until = op->now + (uint64_t)vis * 1000;
  if (until > m->first_receive_ms + (uint64_t)SQS_MAX_VISIBILITY * 1000)
    return sqs_err_set(err, 0, "InvalidParameterValue",
                       "Value %" PRId64
                       " for parameter VisibilityTimeout is invalid. Reason: Total "
                       "VisibilityTimeout for the message is beyond the limit [43200 seconds]",
                       vis);
  m->visible_at_ms = until;
  if (until < q->skip_until)
    q->skip_until = until;
  return 0;
}

int sqs_op_change_message_visibility(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (sqs_queue_from_url(op, in, &q) < 0 || change_one(op, q, in, NULL, &op->err) < 0)
    return -1;
  sqs_serve_waiters(op, q);
  return 0;
}

int sqs_op_change_message_visibility_batch(sqs_op *op, json_t *in) {
  return run_batch(op, in, "ChangeMessageVisibilityBatchRequestEntry", change_one);
}
