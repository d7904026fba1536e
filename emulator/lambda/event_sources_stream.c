/*
 * event_sources_stream.c — what Kinesis and DynamoDB Streams mappings share:
 * the end of a batch. Success moves the shard's checkpoint past it (past
 * the records filtered out behind it too); a failure retries the same
 * records after RETRY_DELAY_MS, halving the batch first with
 * BisectBatchOnFunctionError (which does not count against the retries),
 * until MaximumRetryAttempts (-1: for ever) is spent; then AWS's invocation
 * record (requestContext, responseContext, and KinesisBatchInfo or
 * DDBStreamBatchInfo) goes to DestinationConfig.OnFailure (an SQS queue or
 * an SNS topic, through the delivery engine) and the checkpoint moves on.
 * With ReportBatchItemFailures the checkpoint moves to just before the
 * lowest reported sequence number and the rest is retried.
 *
 * A shard's progress (sp) holds "pos" (the last sequence number handled,
 * absent before the first), "attempts", "limit" (bisection) and "retry_at".
 */
#include "common/clock.h"
#include "common/codec.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "emulator/delivery/delivery.h"
#include "emulator/lambda/lambda_esm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_DELAY_MS 500 /* between attempts at a failing batch */

static void iso8601(char *out, size_t n, double t) {
  time_t secs = (time_t)t;
  struct tm tm;
  gmtime_r(&secs, &tm);
  char day[32];
  strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, n, "%s.%03dZ", day, (int)((t - (double)secs) * 1000.0) % 1000);
}

/* Sends AWS's invocation record for given-up records to OnFailure. */
static void on_failure(lambda_esm *esm, const json_t *mapping, const json_t *ctx,
                       const char *info_member, const esm_batch *b, int attempts) {
  const json_t *c = json_object_get(mapping, "Config");
  const char *dest = jsonutil_string(
      json_object_get(json_object_get(c, "DestinationConfig"), "OnFailure"), "Destination");
  if (!dest)
    return;
  char now[40], first[40], last[40], id[37];
  iso8601(now, sizeof(now), (double)clock_wall_ms() / 1000.0);
  iso8601(first, sizeof(first), json_number_value(json_object_get(ctx, "FirstTs")));
  iso8601(last, sizeof(last), json_number_value(json_object_get(ctx, "LastTs")));
  codec_uuid4(id);
  json_t *response = json_pack("{s:i, s:s}", "statusCode", b && !b->error_code ? 200 : 500,
                               "executedVersion", "$LATEST");
  if (b && b->function_error)
    json_object_set_new(response, "functionError", json_string("Unhandled"));
  json_t *doc = json_pack(
      "{s:{s:s, s:O, s:s, s:i}, s:o, s:s, s:s, s:{s:O, s:O, s:O, s:s, s:s, s:O, s:O}}",
      "requestContext", "requestId", id, "functionArn", json_object_get(c, "FunctionArn"),
      "condition", "RetryAttemptsExhausted", "approximateInvokeCount", attempts, "responseContext",
      response, "version", "1.0", "timestamp", now, info_member, "shardId",
      json_object_get(ctx, "Shard"), "startSequenceNumber", json_object_get(ctx, "First"),
      "endSequenceNumber", json_object_get(ctx, "Last"), "approximateArrivalOfFirstRecord", first,
      "approximateArrivalOfLastRecord", last, "batchSize", json_object_get(ctx, "Count"),
      "streamArn", json_object_get(c, "EventSourceArn"));
  char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  if (!text)
    return;
  delivery *d = delivery_find(esm->emu);
  delivery_job job = {.kind = strncmp(dest, "arn:aws:sqs:", 12) == 0 ? DELIVERY_SQS : DELIVERY_SNS,
                      .target = dest,
                      .body = text,
                      .body_len = strlen(text)};
  if (!d || delivery_submit(d, &job) < 0)
    log_warn("lambda", "event source mapping %s: cannot send the failed batch to %s",
             jsonutil_string(c, "UUID"), dest);
  free(text);
}

void lambda_esm_stream_finish(lambda_esm *esm, const json_t *mapping, json_t *sp, esm_batch *b,
                              const char *info_member) {
  const json_t *c = json_object_get(mapping, "Config");
  const char *uuid = jsonutil_string(c, "UUID");
  json_t *positions = json_object_get(b->ctx, "Positions");
  int failed = b->error_code || b->function_error;
  json_t *bad = NULL;
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(c, "FunctionResponseTypes"), i, t) {
    if (!failed && strcmp(json_string_value(t), "ReportBatchItemFailures") == 0) {
      json_t *ids = json_object();
      size_t j;
      json_t *p;
      json_array_foreach(positions, j, p) {
        json_object_set(ids, json_string_value(p), json_true());
      }
      bad = lambda_esm_failures(b, ids);
      json_decref(ids);
      if (!bad)
        failed = 1;
    }
  }
  if (!failed && json_array_size(bad) > 0) {
    /* Checkpoint before the lowest reported record; retry from it. */
    size_t lowest = json_array_size(positions);
    json_array_foreach(bad, i, t) {
      size_t j;
      json_t *p;
      json_array_foreach(positions, j, p) {
        if (strcmp(json_string_value(p), json_string_value(t)) == 0 && j < lowest)
          lowest = j;
      }
    }
    if (lowest > 0)
      json_object_set(sp, "pos", json_array_get(positions, lowest - 1));
    failed = lowest < json_array_size(positions);
  }
  json_decref(bad);
  if (!failed) {
    json_t *next = json_object_get(b->ctx, "Next");
    json_object_set(sp, "pos", next ? next : json_object_get(b->ctx, "Last"));
    json_object_del(sp, "attempts");
    json_object_del(sp, "limit");
    lambda_esm_result(esm, uuid, "OK");
    return;
  }
  lambda_esm_result(esm, uuid, "PROBLEM: Function call failed");
  json_object_set_new(sp, "retry_at", json_integer((json_int_t)(clock_wall_ms() + RETRY_DELAY_MS)));
  json_int_t attempts = json_integer_value(json_object_get(sp, "attempts")) + 1;
  json_int_t max = json_integer_value(json_object_get(c, "MaximumRetryAttempts"));
  json_int_t count = (json_int_t)json_array_size(positions);
  if (json_is_true(json_object_get(c, "BisectBatchOnFunctionError")) && count > 1) {
    /* Halving does not count against the retries, as in AWS. */
    json_object_set_new(sp, "limit", json_integer(count / 2));
    return;
  }
  if (max >= 0 && attempts > max) {
    on_failure(esm, mapping, b->ctx, info_member, b, (int)attempts);
    json_object_set(sp, "pos", json_object_get(b->ctx, "Last"));
    json_object_del(sp, "attempts");
    json_object_del(sp, "limit");
    return;
  }
  json_object_set_new(sp, "attempts", json_integer(attempts));
}
