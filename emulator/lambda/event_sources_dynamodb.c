/*
 * event_sources_dynamodb.c — DynamoDB streams as event sources.
 *
 * The poller reads the stream in process, under DynamoDB's own lock, from
 * the records DynamoDB keeps (emulator/dynamodb/dynamodb_int.h: one shard
 * per stream): up to BatchSize records after the mapping's checkpoint, each
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
#include "common/jsonutil.h"
#include "emulator/dynamodb/dynamodb_int.h"
#include "emulator/lambda/lambda_esm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lambda_esm_dynamodb_exists(emulator *emu, const char *account, const char *region,
                               const char *arn) {
  ddb_state *ds = emulator_service_state(emu, "dynamodb");
  if (!ds)
    return 0;
  pthread_mutex_lock(&ds->lock);
  ddb_stream *s = ddb_stream_find(ds, account, region, arn);
  pthread_mutex_unlock(&ds->lock);
  return s != NULL;
}

static void ddb_poll(lambda_esm *esm, const json_t *mapping, json_t *progress) {
  const json_t *c = json_object_get(mapping, "Config");
  const char *arn = jsonutil_string(c, "EventSourceArn");
  const char *uuid = jsonutil_string(c, "UUID");
  ddb_state *ds = emulator_service_state(esm->emu, "dynamodb");
  if (!ds)
    return;
  if ((uint64_t)json_integer_value(json_object_get(progress, "retry_at")) > clock_wall_ms())
    return;
  json_int_t limit = json_integer_value(json_object_get(progress, "limit"));
  if (limit <= 0)
    limit = json_integer_value(json_object_get(c, "BatchSize"));
  json_int_t age = json_integer_value(json_object_get(c, "MaximumRecordAgeInSeconds"));
  const char *pos = jsonutil_string(progress, "pos");
  json_t *records = json_array(), *positions = json_array();
  char shard[48] = "", seen[32] = "";
  double first_ts = 0, last_ts = 0, now = (double)clock_wall_ms() / 1000.0;
  int found = 0;
  const char *skipped_to = NULL;
  char skipped[32] = "";

  pthread_mutex_lock(&ds->lock);
  ddb_streams_expire(ds, clock_wall_ms());
  ddb_stream *s = ddb_stream_find(ds, jsonutil_string(mapping, "Account"),
                                  jsonutil_string(mapping, "Region"), arn);
  if (s) {
    found = 1;
    snprintf(shard, sizeof(shard), "%s", s->shard_id);
    uint64_t from = 0;
    if (pos && ddb_stream_seq_parse(&from, pos) == 0) {
      from++;
    } else if (json_object_get(progress, "from")) {
      ddb_stream_seq_parse(&from, jsonutil_string(progress, "from"));
    } else {
      const char *start = jsonutil_string(c, "StartingPosition");
      from = start && strcmp(start, "LATEST") == 0 ? s->next_seq : 0;
      char text[32];
      ddb_stream_seq_text(text, from);
      json_object_set_new(progress, "from", json_string(text));
    }
    for (size_t i = ddb_stream_lower(s, from);
         i < s->n && (json_int_t)json_array_size(records) < limit; i++) {
      json_t *rec = ddb_stream_record_json(s, i, NULL);
      if (!rec)
        break;
      json_object_set_new(rec, "eventSourceARN", json_string(arn));
      json_t *d = json_object_get(rec, "dynamodb");
      double ts = json_number_value(json_object_get(d, "ApproximateCreationDateTime"));
      snprintf(seen, sizeof(seen), "%s", jsonutil_string(d, "SequenceNumber"));
      int skip = (age > 0 && now - ts > (double)age) || !lambda_esm_filter(mapping, rec);
      if (skip) {
        if (json_array_size(records) == 0) {
          snprintf(skipped, sizeof(skipped), "%s", seen);
          skipped_to = skipped;
        }
        json_decref(rec);
        continue;
      }
      if (json_array_size(records) == 0)
        first_ts = ts;
      last_ts = ts;
      json_array_append_new(positions, json_string(seen));
      json_array_append_new(records, rec);
    }
  }
  pthread_mutex_unlock(&ds->lock);

  if (!found) {
    lambda_esm_result(esm, uuid, "PROBLEM: Stream not found.");
  } else if (skipped_to) {
    json_object_set_new(progress, "pos", json_string(skipped_to));
  }
  if (json_array_size(records) == 0) {
    json_decref(records);
    json_decref(positions);
    return;
  }
  json_t *ctx = json_pack("{s:s, s:O, s:O, s:I, s:f, s:f, s:o, s:s}", "Shard", shard, "First",
                          json_array_get(positions, 0), "Last",
                          json_array_get(positions, json_array_size(positions) - 1), "Count",
                          (json_int_t)json_array_size(positions), "FirstTs", first_ts, "LastTs",
                          last_ts, "Positions", positions, "Next", seen);
  lambda_esm_invoke(esm, mapping, progress, json_pack("{s:o}", "Records", records), ctx);
}

static void ddb_finish(lambda_esm *esm, const json_t *mapping, json_t *progress, esm_batch *b) {
  lambda_esm_stream_finish(esm, mapping, progress, b, "DDBStreamBatchInfo");
}

const esm_source lambda_esm_dynamodb = {"dynamodb", ddb_poll, ddb_finish};
