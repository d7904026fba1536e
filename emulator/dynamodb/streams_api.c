/*
 * streams_api.c — the DynamoDB Streams service (JSON 1.0,
 * DynamoDBStreams_20120810.*; signed with the scope "dynamodb", which the
 * gateway resolves by the target): ListStreams, DescribeStream,
 * GetShardIterator and GetRecords over the streams stream.c keeps.
 *
 * It is a service of its own because it has a model of its own, but it has
 * no state of its own: it reads DynamoDB's (emulator_service_state) under
 * DynamoDB's lock, so a record is readable as soon as the write that made it
 * has answered.
 *
 * Shard iterators are self-describing text, "<stream ARN>|1|<shard>|<next
 * sequence number>|<issued ms>", checked field by field when they come back:
 * nothing is stored per iterator, and one that is forged or mangled is
 * refused as invalid rather than trusted.
 */
#include "emulator/service.h"
#include "emulator/dynamodb/dynamodb_int.h"
#include "common/clock.h"
#include "common/jsonutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAMS_MAX_LIMIT 100     /* ListStreams, DescribeStream */
#define RECORDS_MAX_LIMIT 1000    /* GetRecords */
#define RECORDS_MAX_BYTES 1048576 /* GetRecords answers at most 1 MB */

static int not_null(const json_t *in, const char *member, const char *wire, ddb_error *e) {
  if (!jsonutil_string(in, member))
    return ddb_invalid(e,
                       "1 validation error detected: Value null at '%s' failed to satisfy "
                       "constraint: Member must not be null",
                       wire);
  return 0;
}

/* Limit: absent (def), or 1 .. max. */
static int read_limit(json_int_t *out, const json_t *in, json_int_t def, json_int_t max,
                      ddb_error *e) {
  json_t *v = json_object_get(in, "Limit");
  if (!v) {
    *out = def;
    return 0;
  }
  json_int_t n = json_integer_value(v);
  if (n < 1)
    return ddb_invalid(e,
                       "1 validation error detected: Value '%" JSON_INTEGER_FORMAT
                       "' at 'limit' failed to satisfy constraint: Member must have value "
                       "greater than or equal to 1",
                       n);
  if (n > max)
    return ddb_invalid(e,
                       "1 validation error detected: Value '%" JSON_INTEGER_FORMAT
                       "' at 'limit' failed to satisfy constraint: Member must have value less "
                       "than or equal to %" JSON_INTEGER_FORMAT,
                       n, max);
  *out = n;
  return 0;
}

static ddb_stream *stream_of(ddb_request *rq, const char *arn, ddb_error *e) {
  ddb_stream *s = ddb_stream_find(rq->st, rq->account, rq->region, arn);
  if (!s)
    ddb_fail(e, "ResourceNotFoundException",
             "Requested resource not found: Stream: %.1024s not found", arn);
  return s;
}

int ddb_op_list_streams(json_t **out, ddb_request *rq, ddb_error *e) {
  const json_t *in = rq->input;
  const char *table = jsonutil_string(in, "TableName");
  const char *start = jsonutil_string(in, "ExclusiveStartStreamArn");
  json_int_t limit = 0;
  if (read_limit(&limit, in, STREAMS_MAX_LIMIT, STREAMS_MAX_LIMIT, e) < 0)
    return -1;
  if (table && !ddb_table_find(rq->st, rq->account, rq->region, table, NULL)) {
    /* A deleted table's streams are still listed while they are kept. */
    int kept = 0;
    for (size_t i = 0; i < rq->st->nstreams; i++)
      kept |= strcmp(rq->st->streams[i]->table, table) == 0;
    if (!kept)
      return ddb_fail(e, "ResourceNotFoundException",
                      "Requested resource not found: Table: %.255s not found", table);
  }
  size_t i = 0;
  if (start) {
    ddb_stream *s = stream_of(rq, start, e);
    if (!s)
      return -1;
    while (rq->st->streams[i] != s)
      i++;
    i++;
  }
  json_t *list = json_array();
  const char *last = NULL;
  for (; i < rq->st->nstreams; i++) {
    ddb_stream *s = rq->st->streams[i];
    if (strcmp(s->account, rq->account) != 0 || strcmp(s->region, rq->region) != 0 ||
        (table && strcmp(s->table, table) != 0))
      continue;
    if ((json_int_t)json_array_size(list) == limit) {
      /* Another one follows: the page ends at the last one listed. */
      last = json_string_value(
          json_object_get(json_array_get(list, json_array_size(list) - 1), "StreamArn"));
      break;
    }
    json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "StreamArn", s->arn, "TableName",
                                          s->table, "StreamLabel", s->label));
  }
  *out = json_pack("{s:o}", "Streams", list);
  if (last)
    json_object_set_new(*out, "LastEvaluatedStreamArn", json_string(last));
  return 0;
}

int ddb_op_describe_stream(json_t **out, ddb_request *rq, ddb_error *e) {
  const json_t *in = rq->input;
  if (not_null(in, "StreamArn", "streamArn", e) < 0)
    return -1;
  json_int_t limit = 0;
  if (read_limit(&limit, in, STREAMS_MAX_LIMIT, STREAMS_MAX_LIMIT, e) < 0)
    return -1;
  ddb_stream *s = stream_of(rq, jsonutil_string(in, "StreamArn"), e);
  if (!s)
    return -1;
  char first[32], last[32];
  ddb_stream_seq_text(first, s->first_seq);
  json_t *range = json_pack("{s:s}", "StartingSequenceNumber", first);
  if (s->disabled_ms) {
    /* Closed: the range ends at the last record (at its start when empty). */
    ddb_stream_seq_text(last, s->next_seq > s->first_seq ? s->next_seq - 1 : s->first_seq);
    json_object_set_new(range, "EndingSequenceNumber", json_string(last));
  }
  json_t *shards = json_array();
  const char *after = jsonutil_string(in, "ExclusiveStartShardId");
  if (!after || strcmp(after, s->shard_id) < 0)
    json_array_append_new(
        shards, json_pack("{s:s, s:o}", "ShardId", s->shard_id, "SequenceNumberRange", range));
  else
    json_decref(range);
  *out = json_pack("{s:{s:s, s:s, s:s, s:s, s:f, s:s, s:O, s:o}}", "StreamDescription", "StreamArn",
                   s->arn, "StreamLabel", s->label, "StreamStatus",
                   s->disabled_ms ? "DISABLED" : "ENABLED", "StreamViewType", s->view,
                   "CreationRequestDateTime", (double)s->created_ms / 1000.0, "TableName", s->table,
                   "KeySchema", s->key_schema, "Shards", shards);
  return *out ? 0 : ddb_fail(e, "InternalServerError", "out of memory");
}

int ddb_op_get_shard_iterator(json_t **out, ddb_request *rq, ddb_error *e) {
  const json_t *in = rq->input;
  if (not_null(in, "StreamArn", "streamArn", e) < 0 || not_null(in, "ShardId", "shardId", e) < 0 ||
      not_null(in, "ShardIteratorType", "shardIteratorType", e) < 0)
    return -1;
  const char *type = jsonutil_string(in, "ShardIteratorType");
  const char *seq_text = jsonutil_string(in, "SequenceNumber");
  int at = strcmp(type, "AT_SEQUENCE_NUMBER") == 0;
  int after = strcmp(type, "AFTER_SEQUENCE_NUMBER") == 0;
  int horizon = strcmp(type, "TRIM_HORIZON") == 0, latest = strcmp(type, "LATEST") == 0;
  if (!at && !after && !horizon && !latest)
    return ddb_invalid(e,
                       "1 validation error detected: Value '%.64s' at 'shardIteratorType' failed "
                       "to satisfy constraint: Member must satisfy enum value set: "
                       "[TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER]",
                       type);
  ddb_stream *s = stream_of(rq, jsonutil_string(in, "StreamArn"), e);
  if (!s)
    return -1;
  if (strcmp(jsonutil_string(in, "ShardId"), s->shard_id) != 0)
    return ddb_fail(e, "ResourceNotFoundException",
                    "Requested resource not found: Shard %.65s does not exist in stream %s",
                    jsonutil_string(in, "ShardId"), s->arn);
  uint64_t pos;
  if (at || after) {
    uint64_t seq = 0;
    if (!seq_text)
      return ddb_invalid(e, "SequenceNumber must be provided when ShardIteratorType is %s", type);
    uint64_t last = s->next_seq - 1;
    if (ddb_stream_seq_parse(&seq, seq_text) < 0 || seq < s->first_seq || seq > last)
      return ddb_invalid(e, "Invalid SequenceNumber %.40s for shard %s of stream %s", seq_text,
                         s->shard_id, s->arn);
    if (seq <= s->trimmed_seq)
      return ddb_fail(e, "TrimmedDataAccessException",
                      "The sequence number %.40s is beyond the trim horizon of shard %s: its "
                      "record is older than 24 hours and was removed",
                      seq_text, s->shard_id);
    pos = after ? seq + 1 : seq;
  } else if (horizon) {
    pos = s->trimmed_seq >= s->first_seq ? s->trimmed_seq + 1 : s->first_seq;
  } else {
    pos = s->next_seq;
  }
  json_t *it = ddb_stream_iterator(s, pos, clock_wall_ms());
  if (!it)
    return ddb_fail(e, "InternalServerError", "the shard iterator does not fit");
  *out = json_pack("{s:o}", "ShardIterator", it);
  return 0;
}

int ddb_op_get_records(json_t **out, ddb_request *rq, ddb_error *e) {
  const json_t *in = rq->input;
  if (not_null(in, "ShardIterator", "shardIterator", e) < 0)
    return -1;
  json_int_t limit = 0;
  if (read_limit(&limit, in, RECORDS_MAX_LIMIT, RECORDS_MAX_LIMIT, e) < 0)
    return -1;
  ddb_iterator iter;
  int rc = -1;
  uint64_t now_ms = clock_wall_ms();
  if (ddb_stream_iterator_parse(&iter, jsonutil_string(in, "ShardIterator")) < 0)
    return ddb_invalid(e, "Invalid ShardIterator");
  char *arn = iter.arn;
  const char *shard = iter.shard;
  uint64_t pos = iter.pos, issued = iter.issued_ms;
  ddb_stream *s = ddb_stream_find(rq->st, rq->account, rq->region, arn);
  if (!s) {
    ddb_fail(e, "ResourceNotFoundException",
             "Requested resource not found: Stream: %.1024s not found", arn);
    goto done;
  }
  if (strcmp(shard, s->shard_id) != 0 || pos < s->first_seq || pos > s->next_seq ||
      issued > now_ms + 60000) {
    ddb_invalid(e, "Invalid ShardIterator");
    goto done;
  }
  if (issued + DDB_ITERATOR_TTL_MS < now_ms) {
    ddb_fail(e, "ExpiredIteratorException",
             "Iterator expired: shard iterators are valid for 15 minutes after GetShardIterator "
             "or GetRecords returns them");
    goto done;
  }
  if (pos <= s->trimmed_seq) {
    ddb_fail(e, "TrimmedDataAccessException",
             "The iterator points at records older than 24 hours, which were trimmed from shard "
             "%s; start again from TRIM_HORIZON",
             s->shard_id);
    goto done;
  }
  json_t *records = json_array();
  size_t total = 0;
  uint64_t next = pos;
  for (size_t i = ddb_stream_lower(s, pos); i < s->n; i++) {
    if ((json_int_t)json_array_size(records) >= limit)
      break;
    size_t size = 0;
    json_t *r = ddb_stream_record_json(s, i, &size);
    if (!r)
      break;
    if (json_array_size(records) && total + size > RECORDS_MAX_BYTES) {
      json_decref(r);
      break;
    }
    total += size;
    json_array_append_new(records, r);
    next = s->recs[s->off + i].seq + 1;
  }
  *out = json_pack("{s:o}", "Records", records);
  /* A closed shard read to its end has no next iterator: the consumer moves
   * on (to the child shard, of which a disabled stream has none). */
  if (!(s->disabled_ms && next >= s->next_seq)) {
    json_t *it = ddb_stream_iterator(s, next, now_ms);
    if (it)
      json_object_set_new(*out, "NextShardIterator", it);
  }
  rc = 0;
done:
  free(arn); /* and shard, in the same allocation */
  return rc;
}

static void streams_handle(aws_call *call, json_t *input, ddb_op_fn fn) {
  ddb_state *st = emulator_service_state(aws_call_emulator(call), "dynamodb");
  if (!st) {
    aws_call_fail(call, 400, "ResourceNotFoundException",
                  "Requested resource not found: DynamoDB is not enabled in this emulator "
                  "(SERVICES), so it has no streams");
    return;
  }
  ddb_request rq = {st, aws_call_account(call), aws_call_region(call), input};
  ddb_error e = {0};
  json_t *out = NULL;
  pthread_mutex_lock(&st->lock);
  ddb_streams_expire(st, clock_wall_ms());
  int rc = fn(&out, &rq, &e);
  pthread_mutex_unlock(&st->lock);
  if (rc < 0) {
    if (!e.code)
      ddb_fail(&e, "InternalServerError", "internal error in %s", aws_call_operation(call));
    json_t *fields = e.fields;
    e.fields = NULL;
    aws_call_fail_fields(call, strcmp(e.code, "InternalServerError") == 0 ? 500 : 400, e.code,
                         fields, "%s", e.message);
    return;
  }
  aws_call_reply(call, out);
}

static void h_list_streams(aws_call *call, json_t *input) {
  streams_handle(call, input, ddb_op_list_streams);
}
static void h_describe_stream(aws_call *call, json_t *input) {
  streams_handle(call, input, ddb_op_describe_stream);
}
static void h_get_shard_iterator(aws_call *call, json_t *input) {
  streams_handle(call, input, ddb_op_get_shard_iterator);
}
static void h_get_records(aws_call *call, json_t *input) {
  streams_handle(call, input, ddb_op_get_records);
}

static int streams_create(void **state, emulator *emu) {
  *state = emu; /* no state of its own: DynamoDB's is found per call */
  return 0;
}

static void streams_noop(void *state) { (void)state; }

static const aws_operation streams_operations[] = {
    {"DescribeStream", h_describe_stream},
    {"GetRecords", h_get_records},
    {"GetShardIterator", h_get_shard_iterator},
    {"ListStreams", h_list_streams},
};

const aws_service aws_service_dynamodbstreams = {
    .name = "dynamodbstreams",
    .model_name = "dynamodbstreams",
    .operations = streams_operations,
    .operation_count = sizeof(streams_operations) / sizeof(streams_operations[0]),
    .create = streams_create,
    .reset = streams_noop,
    .shutdown = streams_noop,
    .destroy = streams_noop,
};
