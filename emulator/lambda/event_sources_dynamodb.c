/*
 * event_sources_dynamodb.c — DynamoDB streams as event sources.
 *
 * The poller reads the stream in process, under DynamoDB's own lock, from
 * the records DynamoDB keeps (emulator/dynamodb/dynamodb.h: one shard per
 * stream): up to BatchSize records after the mapping's checkpoint, each
 * as GetRecords shows it plus eventSourceARN, which is Lambda's DynamoDB
 * event. StartingPosition TRIM_HORIZON starts at the oldest record kept,
 * LATEST at the stream's tip when the mapping first polls (AT_TIMESTAMP is
 * refused at creation, as AWS refuses it). Retries, bisection, record age,
 * OnFailure (DDBStreamBatchInfo) and ReportBatchItemFailures
 * (itemIdentifier: the record's dynamodb.SequenceNumber) are the Kinesis
 * rules (event_sources_stream.c). Records that match no filter are passed
 * over.
 */
#include "common/clock.h"
#include "common/error.h"
#include "common/jsonutil.h"
#include "emulator/dynamodb/dynamodb.h"
#include "emulator/lambda/lambda_esm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lambda_esm_dynamodb_exists(emulator *emu, const char *account, const char *region,
                               const char *arn) {
  return dynamodb_stream_exists(emu, account, region, arn);
}

/* What the poll collects from the stream, record by record. */
typedef struct ddb_batch {
  const json_t *mapping;
  const char *arn;
  json_int_t limit, age;
  double now, first_ts, last_ts;
  json_t *records, *positions;
  char seen[32];
  char skipped[32]; /* the last record passed over before the first kept */
} ddb_batch;

static int ddb_take(json_t *rec, void *payload) {
  ddb_batch *b = payload;
  json_object_set_new(rec, "eventSourceARN", json_string(b->arn));
  json_t *d = json_object_get(rec, "dynamodb");
  double ts = json_number_value(json_object_get(d, "ApproximateCreationDateTime"));
  snprintf(b->seen, sizeof(b->seen), "%s", jsonutil_string(d, "SequenceNumber"));
  int skip = (b->age > 0 && b->now - ts > (double)b->age) || !lambda_esm_filter(b->mapping, rec);
  if (skip) {
    if (json_array_size(b->records) == 0)
      snprintf(b->skipped, sizeof(b->skipped), "%s", b->seen);
    json_decref(rec);
  } else {
    if (json_array_size(b->records) == 0)
      b->first_ts = ts;
    b->last_ts = ts;
    json_array_append_new(b->positions, json_string(b->seen));
    json_array_append_new(b->records, rec);
  }
  return (json_int_t)json_array_size(b->records) < b->limit;
}

static void ddb_poll(lambda_esm *esm, const json_t *mapping, json_t *progress) {
  const json_t *c = json_object_get(mapping, "Config");
  const char *uuid = jsonutil_string(c, "UUID");
  if ((uint64_t)json_integer_value(json_object_get(progress, "retry_at")) > clock_wall_ms())
    return;
  ddb_batch b = {.mapping = mapping,
                 .arn = jsonutil_string(c, "EventSourceArn"),
                 .now = (double)clock_wall_ms() / 1000.0,
                 .records = json_array(),
                 .positions = json_array()};
  b.limit = json_integer_value(json_object_get(progress, "limit"));
  if (b.limit <= 0)
    b.limit = json_integer_value(json_object_get(c, "BatchSize"));
  b.age = json_integer_value(json_object_get(c, "MaximumRecordAgeInSeconds"));
  const char *pos = jsonutil_string(progress, "pos");
  const char *starting = jsonutil_string(c, "StartingPosition");
  dynamodb_stream_start start = {.after = pos,
                                 .from = jsonutil_string(progress, "from"),
                                 .latest = starting && strcmp(starting, "LATEST") == 0};
  char shard[48] = "", started[32] = "";
  int rc = b.limit > 0 ? dynamodb_stream_read(esm->emu, jsonutil_string(mapping, "Account"),
                                              jsonutil_string(mapping, "Region"), b.arn, &start,
                                              shard, started, ddb_take, &b)
                       : 0;
  if (rc == AIRGAP_ENOTFOUND) {
    lambda_esm_result(esm, uuid, "PROBLEM: Stream not found.");
  } else {
    /* The first poll fixes where TRIM_HORIZON or LATEST pointed. */
    if (!pos && !start.from && started[0])
      json_object_set_new(progress, "from", json_string(started));
    if (b.skipped[0])
      json_object_set_new(progress, "pos", json_string(b.skipped));
  }
  if (json_array_size(b.records) == 0) {
    json_decref(b.records);
    json_decref(b.positions);
    return;
  }
  json_t *ctx = json_pack("{s:s, s:O, s:O, s:I, s:f, s:f, s:o, s:s}", "Shard", shard, "First",
                          json_array_get(b.positions, 0), "Last",
                          json_array_get(b.positions, json_array_size(b.positions) - 1), "Count",
                          (json_int_t)json_array_size(b.positions), "FirstTs", b.first_ts, "LastTs",
                          b.last_ts, "Positions", b.positions, "Next", b.seen);
  lambda_esm_invoke(esm, mapping, progress, json_pack("{s:o}", "Records", b.records), ctx);
}

static void ddb_finish(lambda_esm *esm, const json_t *mapping, json_t *progress, esm_batch *b) {
  lambda_esm_stream_finish(esm, mapping, progress, b, "DDBStreamBatchInfo");
}

const esm_source lambda_esm_dynamodb = {"dynamodb", ddb_poll, ddb_finish};
