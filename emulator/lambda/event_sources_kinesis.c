/*
 * event_sources_kinesis.c — Kinesis streams as event sources.
 *
 * The poller reads each shard through emulator/kinesis/kinesis.h, keeping
 * its own checkpoint (the last sequence number handled) per shard, as
 * Lambda's pollers do: a child shard is read only once its parents are read
 * to their end. One batch is in flight per mapping; it is at most BatchSize
 * records of one shard, and the checkpoint moves past it only when it
 * succeeded or was given up:
 *   - a function error retries the same records (MaximumRetryAttempts, -1
 *     for ever), halving the batch first with BisectBatchOnFunctionError;
 *   - records older than MaximumRecordAgeInSeconds are given up;
 *   - given-up records go, as AWS's record (requestContext,
 *     responseContext, KinesisBatchInfo), to DestinationConfig.OnFailure
 *     (an SQS queue or an SNS topic);
 *   - with ReportBatchItemFailures, the checkpoint moves to just before the
 *     lowest itemIdentifier (a sequence number) the function reported, and
 *     the batch is retried from there
 * (event_sources_stream.c, shared with DynamoDB Streams).
 * StartingPosition LATEST starts at the tip when the mapping first polls,
 * AT_TIMESTAMP skips records that arrived before StartingPositionTimestamp.
 * Records that match no filter are passed over.
 */
#include "common/clock.h"
#include "common/codec.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "emulator/delivery/delivery.h"
#include "emulator/kinesis/kinesis.h"
#include "emulator/lambda/lambda_esm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *shard_progress(json_t *progress, const char *shard) {
  json_t *shards = json_object_get(progress, "shards");
  if (!shards) {
    shards = json_object();
    json_object_set_new(progress, "shards", shards);
  }
  return json_object_get(shards, shard);
}

/* Whether every parent of shard s has been read to its end. */
static int parents_done(json_t *progress, const json_t *s) {
  static const char *const parents[] = {"ParentShardId", "AdjacentParentShardId"};
  for (size_t i = 0; i < 2; i++) {
    const char *p = jsonutil_string(s, parents[i]);
    if (!p)
      continue;
    json_t *sp = shard_progress(progress, p);
    /* A parent trimmed away (not listed any more) counts as read. */
    if (sp && !json_is_true(json_object_get(sp, "end")))
      return 0;
  }
  return 1;
}

/* Lambda's Kinesis record. */
static json_t *record_of(const json_t *rec, const char *arn, const char *shard, const char *region,
                         const char *role) {
  char id[256];
  snprintf(id, sizeof(id), "%s:%s", shard, jsonutil_string(rec, "SequenceNumber"));
  json_t *r =
      json_pack("{s:{s:s, s:O, s:O, s:O, s:O}, s:s, s:s, s:s, s:s, s:s, s:s}", "kinesis",
                "kinesisSchemaVersion", "1.0", "partitionKey", json_object_get(rec, "PartitionKey"),
                "sequenceNumber", json_object_get(rec, "SequenceNumber"), "data",
                json_object_get(rec, "Data"), "approximateArrivalTimestamp",
                json_object_get(rec, "ApproximateArrivalTimestamp"), "eventSource", "aws:kinesis",
                "eventVersion", "1.0", "eventID", id, "eventName", "aws:kinesis:record",
                "awsRegion", region, "eventSourceARN", arn);
  if (r && role)
    json_object_set_new(r, "invokeIdentityArn", json_string(role));
  return r;
}

/* Filters see the data decoded, as JSON when it is JSON. */
static int record_matches(const json_t *mapping, const json_t *record) {
  json_t *doc = json_deep_copy(record);
  const char *data = jsonutil_string(json_object_get(record, "kinesis"), "data");
  unsigned char *raw = NULL;
  size_t len = 0;
  if (data && codec_base64_decode(&raw, &len, data, strlen(data)) == 0) {
    json_t *parsed = json_loadb((const char *)raw, len, 0, NULL);
    if (parsed && json_is_object(parsed))
      json_object_set_new(json_object_get(doc, "kinesis"), "data", parsed);
    else
      json_decref(parsed);
  }
  free(raw);
  int match = lambda_esm_filter(mapping, doc);
  json_decref(doc);
  return match;
}

/* Reads the next batch of the first shard with one, and invokes. */
static void kinesis_poll(lambda_esm *esm, const json_t *mapping, json_t *progress) {
  const json_t *c = json_object_get(mapping, "Config");
  const char *arn = jsonutil_string(c, "EventSourceArn");
  kinesis_state *ks = emulator_service_state(esm->emu, "kinesis");
  json_t *shards = NULL;
  if (!ks || kinesis_stream_shards(&shards, ks, arn) < 0) {
    lambda_esm_result(esm, jsonutil_string(c, "UUID"), "PROBLEM: Stream not found.");
    return;
  }
  const char *position = jsonutil_string(c, "StartingPosition");
  double since = json_number_value(json_object_get(c, "StartingPositionTimestamp"));
  json_int_t age = json_integer_value(json_object_get(c, "MaximumRecordAgeInSeconds"));
  size_t i;
  json_t *s;
  json_array_foreach(shards, i, s) {
    const char *shard = jsonutil_string(s, "ShardId");
    json_t *sp = shard_progress(progress, shard);
    if (!sp) {
      sp = json_object();
      json_object_set_new(json_object_get(progress, "shards"), shard, sp);
      /* Shards made after the mapping start at their beginning. */
      if (position && strcmp(position, "LATEST") == 0 && !json_object_get(progress, "seen")) {
        json_t *tip = NULL;
        if (kinesis_shard_read(&tip, ks, arn, shard, "LATEST", 1) == 0)
          json_object_set(sp, "pos", json_object_get(tip, "Position"));
        json_decref(tip);
      }
    }
    if (json_is_true(json_object_get(sp, "end")) || !parents_done(progress, s) ||
        (uint64_t)json_integer_value(json_object_get(sp, "retry_at")) > clock_wall_ms())
      continue;
    json_int_t limit = json_integer_value(json_object_get(sp, "limit"));
    if (limit <= 0)
      limit = json_integer_value(json_object_get(c, "BatchSize"));
    json_t *read = NULL;
    if (kinesis_shard_read(&read, ks, arn, shard, jsonutil_string(sp, "pos"), (size_t)limit) < 0)
      continue;
    json_t *recs = json_object_get(read, "Records");
    json_t *records = json_array(), *positions = json_array();
    double first_ts = 0, last_ts = 0, now = (double)clock_wall_ms() / 1000.0;
    const char *skipped_to = NULL;
    size_t j;
    json_t *rec;
    json_array_foreach(recs, j, rec) {
      double ts = json_number_value(json_object_get(rec, "ApproximateArrivalTimestamp"));
      json_t *r = record_of(rec, arn, shard, jsonutil_string(mapping, "Region"),
                            jsonutil_string(mapping, "Role"));
      int skip = !r || (position && strcmp(position, "AT_TIMESTAMP") == 0 && ts < since) ||
                 (age > 0 && now - ts > (double)age) || !record_matches(mapping, r);
      if (skip && json_array_size(records) == 0) {
        /* Passed over before the batch: the checkpoint moves with it. */
        skipped_to = jsonutil_string(rec, "SequenceNumber");
        json_decref(r);
        continue;
      }
      if (skip) {
        json_decref(r);
        continue;
      }
      if (json_array_size(records) == 0)
        first_ts = ts;
      last_ts = ts;
      json_array_append_new(records, r);
      json_array_append(positions, json_object_get(rec, "SequenceNumber"));
    }
    if (skipped_to)
      json_object_set_new(sp, "pos", json_string(skipped_to));
    if (json_array_size(records) == 0) {
      if (json_array_size(recs) == 0 && json_is_true(json_object_get(read, "EndOfShard")))
        json_object_set_new(sp, "end", json_true());
      else if (json_array_size(recs) > 0)
        json_object_set(sp, "pos", json_object_get(read, "Position"));
      json_decref(records);
      json_decref(positions);
      json_decref(read);
      continue;
    }
    json_t *ctx = json_pack("{s:s, s:O, s:O, s:I, s:f, s:f, s:o}", "Shard", shard, "First",
                            json_array_get(positions, 0), "Last",
                            json_array_get(positions, json_array_size(positions) - 1), "Count",
                            (json_int_t)json_array_size(positions), "FirstTs", first_ts, "LastTs",
                            last_ts, "Positions", positions);
    if (json_array_size(recs) > 0 && jsonutil_string(read, "Position")) {
      /* Past filtered records behind the batch, on success. */
      json_object_set(ctx, "Next", json_object_get(read, "Position"));
    }
    json_decref(read);
    json_object_set_new(progress, "seen", json_true());
    lambda_esm_invoke(esm, mapping, progress, json_pack("{s:o}", "Records", records), ctx);
    break;
  }
  json_object_set_new(progress, "seen", json_true());
  json_decref(shards);
}

static void kinesis_finish(lambda_esm *esm, const json_t *mapping, json_t *progress, esm_batch *b) {
  json_t *sp = shard_progress(progress, jsonutil_string(b->ctx, "Shard"));
  if (sp)
    lambda_esm_stream_finish(esm, mapping, sp, b, "KinesisBatchInfo");
}

const esm_source lambda_esm_kinesis = {"kinesis", kinesis_poll, kinesis_finish};
