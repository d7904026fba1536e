/*
 * event_sources_sqs.c — SQS queues as event sources.
 *
 * The poller receives through SQS's own engine in process (ReceiveMessage
 * without waiting, up to BatchSize in rounds of 10), holds what it received
 * until the batch is full or MaximumBatchingWindowInSeconds has passed since
 * its first message, and invokes the function with Lambda's SQS event. On
 * success the batch's messages are deleted (all, or, with
 * ReportBatchItemFailures, all but the batchItemFailures); on a function
 * error they are left alone, so they come back after the queue's visibility
 * timeout and its redrive policy counts the receive. Messages that match no
 * filter of the mapping's FilterCriteria are deleted unseen, as AWS does.
 * FIFO queues keep their group order by SQS's own rule: a group's next
 * message is not received while an earlier one is in flight.
 */
#include "common/clock.h"
#include "common/jsonutil.h"
#include "emulator/lambda/lambda_esm_int.h"
#include "emulator/sqs/sqs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOLD_MAX_BYTES (5u << 20) /* leaves room for the event's envelope */

typedef struct sqs_where {
  char account[16], region[64], url[256];
} sqs_where;

static int where_of(sqs_where *w, const char *arn) {
  char name[128];
  if (sscanf(arn, "arn:%*[^:]:sqs:%63[^:]:%15[^:]:%127s", w->region, w->account, name) != 3)
    return -1;
  snprintf(w->url, sizeof(w->url), "/%s/%s", w->account, name);
  return 0;
}

typedef struct call_result {
  json_t *output;
  int failed;
} call_result;

static void call_done(json_t *output, const sqs_error *error, void *payload) {
  call_result *r = payload;
  r->failed = error != NULL;
  r->output = output;
}

/* One SQS call in process; the output (owned) or NULL. */
static json_t *sqs_call(emulator *emu, const sqs_where *w, const char *op, json_t *in) {
  sqs_engine *engine = emulator_service_state(emu, "sqs");
  if (!engine) {
    json_decref(in);
    return NULL;
  }
  sqs_context ctx = {w->account, w->region, "http://localhost"};
  call_result r = {NULL, 0};
  json_object_set_new(in, "QueueUrl", json_string(w->url));
  sqs_engine_call(engine, &ctx, op, in, call_done, &r);
  json_decref(in);
  if (r.failed) {
    json_decref(r.output);
    return NULL;
  }
  return r.output ? r.output : json_object();
}

/* Deletes the receipt handles in handles (array) in batches of 10. */
static void delete_handles(emulator *emu, const sqs_where *w, const json_t *handles) {
  size_t n = json_array_size(handles);
  for (size_t i = 0; i < n; i += 10) {
    json_t *entries = json_array();
    for (size_t j = i; j < n && j < i + 10; j++) {
      char id[16];
      snprintf(id, sizeof(id), "m%zu", j - i);
      json_array_append_new(
          entries, json_pack("{s:s, s:O}", "Id", id, "ReceiptHandle", json_array_get(handles, j)));
    }
    json_decref(sqs_call(emu, w, "DeleteMessageBatch", json_pack("{s:o}", "Entries", entries)));
  }
}

/* Lambda's record for a received message. */
static json_t *record_of(const json_t *msg, const char *arn, const char *region) {
  json_t *attrs = json_object();
  const char *name;
  json_t *a;
  json_object_foreach(json_object_get(msg, "MessageAttributes"), name, a) {
    json_t *out = json_pack("{s:[], s:[], s:O}", "stringListValues", "binaryListValues", "dataType",
                            json_object_get(a, "DataType"));
    if (json_object_get(a, "StringValue"))
      json_object_set(out, "stringValue", json_object_get(a, "StringValue"));
    if (json_object_get(a, "BinaryValue"))
      json_object_set(out, "binaryValue", json_object_get(a, "BinaryValue"));
    json_object_set_new(attrs, name, out);
  }
  json_t *system = json_object_get(msg, "Attributes");
  system = system ? json_incref(system) : json_object();
  json_t *r = json_pack("{s:O, s:O, s:O, s:o, s:o, s:O, s:s, s:s, s:s}", "messageId",
                        json_object_get(msg, "MessageId"), "receiptHandle",
                        json_object_get(msg, "ReceiptHandle"), "body", json_object_get(msg, "Body"),
                        "attributes", system, "messageAttributes", attrs, "md5OfBody",
                        json_object_get(msg, "MD5OfBody"), "eventSource", "aws:sqs",
                        "eventSourceARN", arn, "awsRegion", region);
  if (r && json_object_get(msg, "MD5OfMessageAttributes"))
    json_object_set(r, "md5OfMessageAttributes", json_object_get(msg, "MD5OfMessageAttributes"));
  return r;
}

/* The record as filters see it: a JSON body as its value. */
static int record_matches(const json_t *mapping, const json_t *record) {
  json_t *doc = json_deep_copy(record);
  const char *body = jsonutil_string(record, "body");
  json_t *parsed = body ? json_loads(body, JSON_DECODE_ANY, NULL) : NULL;
  if (parsed && json_is_object(parsed))
    json_object_set_new(doc, "body", parsed);
  else
    json_decref(parsed);
  int match = lambda_esm_filter(mapping, doc);
  json_decref(doc);
  return match;
}

static void sqs_poll(lambda_esm *esm, const json_t *mapping, json_t *progress) {
  const json_t *c = json_object_get(mapping, "Config");
  const char *arn = jsonutil_string(c, "EventSourceArn");
  sqs_where w;
  if (where_of(&w, arn) < 0)
    return;
  json_int_t batch = json_integer_value(json_object_get(c, "BatchSize"));
  json_int_t window = json_integer_value(json_object_get(c, "MaximumBatchingWindowInSeconds"));
  json_t *held = json_object_get(progress, "held");
  if (!held) {
    held = json_array();
    json_object_set_new(progress, "held", held);
  }
  size_t bytes = (size_t)json_integer_value(json_object_get(progress, "bytes"));
  while ((json_int_t)json_array_size(held) < batch && bytes < HOLD_MAX_BYTES) {
    json_int_t want = batch - (json_int_t)json_array_size(held);
    json_t *out = sqs_call(esm->emu, &w, "ReceiveMessage",
                           json_pack("{s:I, s:i, s:[s], s:[s], s:[s]}", "MaxNumberOfMessages",
                                     want > 10 ? (json_int_t)10 : want, "WaitTimeSeconds", 0,
                                     "AttributeNames", "All", "MessageSystemAttributeNames", "All",
                                     "MessageAttributeNames", "All"));
    json_t *msgs = json_object_get(out, "Messages");
    size_t i;
    json_t *msg;
    json_array_foreach(msgs, i, msg) {
      json_t *r = record_of(msg, arn, w.region);
      if (!r)
        continue;
      if (!record_matches(mapping, r)) {
        json_t *one = json_pack("[O]", json_object_get(msg, "ReceiptHandle"));
        delete_handles(esm->emu, &w, one);
        json_decref(one);
        json_decref(r);
        continue;
      }
      bytes += strlen(jsonutil_string(r, "body") ? jsonutil_string(r, "body") : "") + 1024;
      json_array_append_new(held, r);
    }
    size_t got = json_array_size(msgs);
    json_decref(out);
    if (got == 0)
      break;
  }
  json_object_set_new(progress, "bytes", json_integer((json_int_t)bytes));
  if (json_array_size(held) == 0) {
    json_object_del(progress, "first_ms");
    return;
  }
  uint64_t now = clock_wall_ms();
  if (!json_object_get(progress, "first_ms"))
    json_object_set_new(progress, "first_ms", json_integer((json_int_t)now));
  uint64_t first = (uint64_t)json_integer_value(json_object_get(progress, "first_ms"));
  if ((json_int_t)json_array_size(held) < batch && bytes < HOLD_MAX_BYTES && window > 0 &&
      now - first < (uint64_t)window * 1000)
    return;
  json_t *handles = json_object();
  size_t i;
  json_t *r;
  json_array_foreach(held, i, r) {
    json_object_set(handles, jsonutil_string(r, "messageId"), json_object_get(r, "receiptHandle"));
  }
  json_t *ctx = json_pack("{s:o}", "Handles", handles);
  json_t *event = json_pack("{s:O}", "Records", held);
  json_object_del(progress, "held");
  json_object_del(progress, "first_ms");
  json_object_del(progress, "bytes");
  /* When the invocation cannot even be queued, the messages come back after
   * their visibility timeout, as after a failure. */
  lambda_esm_invoke(esm, mapping, progress, event, ctx);
}

static void sqs_finish(lambda_esm *esm, const json_t *mapping, json_t *progress, esm_batch *b) {
  (void)progress;
  const json_t *c = json_object_get(mapping, "Config");
  const char *uuid = jsonutil_string(c, "UUID");
  sqs_where w;
  if (where_of(&w, jsonutil_string(c, "EventSourceArn")) < 0)
    return;
  if (b->error_code || b->function_error) {
    lambda_esm_result(esm, uuid, "PROBLEM: Function call failed");
    return;
  }
  json_t *handles = json_object_get(b->ctx, "Handles");
  json_t *failed = json_array();
  int report = 0;
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(c, "FunctionResponseTypes"), i, t) {
    if (strcmp(json_string_value(t), "ReportBatchItemFailures") == 0)
      report = 1;
  }
  if (report) {
    json_decref(failed);
    failed = lambda_esm_failures(b, handles);
    if (!failed) {
      lambda_esm_result(esm, uuid, "PROBLEM: Function call failed");
      return;
    }
  }
  json_t *done = json_array();
  const char *id;
  json_t *h;
  json_object_foreach(handles, id, h) {
    int keep = 0;
    json_array_foreach(failed, i, t) {
      if (strcmp(json_string_value(t), id) == 0)
        keep = 1;
    }
    if (!keep)
      json_array_append(done, h);
  }
  delete_handles(esm->emu, &w, done);
  json_decref(done);
  json_decref(failed);
  lambda_esm_result(esm, uuid, "OK");
}

const esm_source lambda_esm_sqs = {"sqs", sqs_poll, sqs_finish};
