/*
 * fuzz_dynamodb_streams.c — fuzz target for DynamoDB Streams
 * (emulator/dynamodb/stream.c, streams_api.c): shard iterators, the format
 * the service hands out and parses back, and the four operations' inputs,
 * against one long-lived state holding a table whose stream has records.
 *
 * Input layout: byte 0 picks what to do —
 *   0  GetRecords with "<real stream ARN>|1|<real shard>|" + the rest, so
 *      mutations reach the position and time fields behind a valid prefix;
 *   1  GetRecords with the rest as the iterator;
 *   2..5  the rest is the JSON input of ListStreams, DescribeStream,
 *      GetShardIterator or GetRecords, with $ARN and $SHARD replaced by the
 *      real stream's;
 *   6  the rest is an item written to the table (a record when it changes).
 * Built as a libFuzzer target with clang (-fsanitize=fuzzer); otherwise
 * fuzz_driver.c runs it over the seeds below with deterministic mutations.
 */
#include "emulator/dynamodb/dynamodb_int.h"
#include "tests/fuzz/fuzz_driver.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCOUNT "000000000000"
#define REGION "us-east-1"

static const char TABLE[] =
    "{\"TableName\": \"fzs\", \"BillingMode\": \"PAY_PER_REQUEST\","
    "\"KeySchema\": [{\"AttributeName\": \"pk\", \"KeyType\": \"HASH\"}],"
    "\"AttributeDefinitions\": [{\"AttributeName\": \"pk\", \"AttributeType\": \"S\"}],"
    "\"StreamSpecification\": {\"StreamEnabled\": true, \"StreamViewType\": "
    "\"NEW_AND_OLD_IMAGES\"}}";

static ddb_state *st;
static ddb_stream *stream;

static int run(ddb_op_fn fn, json_t *in) {
  ddb_request rq = {st, ACCOUNT, REGION, in};
  ddb_error e = {0};
  json_t *out = NULL;
  int rc = fn(&out, &rq, &e);
  if (rc < 0 && !e.code)
    abort(); /* a failure must always say why */
  if (rc == 0) {
    char *text = json_dumps(out, 0);
    free(text);
  }
  json_decref(out);
  ddb_error_clear(&e);
  return rc;
}

static void put(const char *item_json) {
  json_t *in = json_pack("{s:s, s:o}", "TableName", "fzs", "Item", json_loads(item_json, 0, NULL));
  run(ddb_op_put_item, in);
  json_decref(in);
}

static void setup(void) {
  if (st)
    return;
  st = calloc(1, sizeof(*st));
  if (!st)
    abort();
  pthread_mutex_init(&st->lock, NULL);
  st->tokens = json_object();
  json_t *in = json_loads(TABLE, 0, NULL);
  if (run(ddb_op_create_table, in) < 0)
    abort();
  json_decref(in);
  put("{\"pk\": {\"S\": \"a\"}, \"v\": {\"N\": \"1\"}}");
  put("{\"pk\": {\"S\": \"a\"}, \"v\": {\"N\": \"2\"}}");
  put("{\"pk\": {\"S\": \"b\"}, \"m\": {\"M\": {\"x\": {\"L\": [{\"NULL\": true}]}}}}");
  ddb_table *t = ddb_table_find(st, ACCOUNT, REGION, "fzs", NULL);
  if (!t || !t->stream)
    abort();
  stream = t->stream;
}

/* text with $ARN and $SHARD replaced (owned). */
static char *substitute(const char *text, size_t len) {
  size_t cap = len + 1;
  for (size_t i = 0; i < len; i++)
    if (text[i] == '$')
      cap += strlen(stream->arn) + sizeof(stream->shard_id);
  char *out = malloc(cap);
  if (!out)
    return NULL;
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    if (len - i >= 4 && memcmp(text + i, "$ARN", 4) == 0) {
      memcpy(out + o, stream->arn, strlen(stream->arn));
      o += strlen(stream->arn);
      i += 4;
    } else if (len - i >= 6 && memcmp(text + i, "$SHARD", 6) == 0) {
      memcpy(out + o, stream->shard_id, strlen(stream->shard_id));
      o += strlen(stream->shard_id);
      i += 6;
    } else {
      out[o++] = text[i++];
    }
  }
  out[o] = '\0';
  return out;
}

static void get_records(const char *iterator) {
  ddb_iterator it;
  if (ddb_stream_iterator_parse(&it, iterator) == 0)
    free(it.arn);
  json_t *in = json_pack("{s:s}", "ShardIterator", iterator);
  if (in)
    run(ddb_op_get_records, in);
  json_decref(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 8192)
    return 0;
  setup();
  const char *rest = (const char *)data + 1;
  size_t len = size - 1;
  if (memchr(rest, '\0', len))
    return 0; /* the protocol layer hands out no strings with NULs */
  int what = data[0] % 7;
  if (what == 0) {
    char prefix[DDB_ITERATOR_MAX];
    int n = snprintf(prefix, sizeof(prefix), "%s|1|%s|", stream->arn, stream->shard_id);
    char *text = malloc((size_t)n + len + 1);
    if (!text)
      return 0;
    memcpy(text, prefix, (size_t)n);
    memcpy(text + n, rest, len);
    text[(size_t)n + len] = '\0';
    get_records(text);
    free(text);
  } else if (what == 1) {
    char *text = strndup(rest, len);
    if (text)
      get_records(text);
    free(text);
  } else {
    char *text = substitute(rest, len);
    json_t *in = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (json_is_object(in)) {
      static const ddb_op_fn OPS[] = {ddb_op_list_streams, ddb_op_describe_stream,
                                      ddb_op_get_shard_iterator, ddb_op_get_records};
      if (what < 6) {
        run(OPS[what - 2], in);
      } else {
        json_t *w = json_pack("{s:s, s:O}", "TableName", "fzs", "Item", in);
        run(ddb_op_put_item, w);
        json_decref(w);
      }
    }
    json_decref(in);
  }
  return 0;
}

const fuzz_seed fuzz_seeds[] = {
    FUZZ_LITERAL("\x00"
                 "1|9999999999999"),
    FUZZ_LITERAL("\x00"
                 "18446744073709551615|0"),
    FUZZ_LITERAL("\x01"
                 "arn:aws:dynamodb:us-east-1:000000000000:table/fzs/stream/x|1|s|1|1"),
    FUZZ_LITERAL("\x02{\"TableName\": \"fzs\", \"Limit\": 1, \"ExclusiveStartStreamArn\": "
                 "\"$ARN\"}"),
    FUZZ_LITERAL("\x03{\"StreamArn\": \"$ARN\", \"Limit\": 100, \"ExclusiveStartShardId\": "
                 "\"shardId-0\"}"),
    FUZZ_LITERAL("\x04{\"StreamArn\": \"$ARN\", \"ShardId\": \"$SHARD\", \"ShardIteratorType\": "
                 "\"AT_SEQUENCE_NUMBER\", \"SequenceNumber\": \"000000000000000000001\"}"),
    FUZZ_LITERAL("\x04{\"StreamArn\": \"$ARN\", \"ShardId\": \"$SHARD\", \"ShardIteratorType\": "
                 "\"TRIM_HORIZON\"}"),
    FUZZ_LITERAL("\x05{\"ShardIterator\": \"$ARN|1|$SHARD|1|1\", \"Limit\": 1000}"),
    FUZZ_LITERAL("\x06{\"pk\": {\"S\": \"c\"}, \"n\": {\"NS\": [\"1\", \"2\"]}}"),
};
const size_t fuzz_seed_count = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);
const char fuzz_target_name[] = "fuzz_dynamodb_streams";
const fuzz_seed fuzz_alphabet = FUZZ_LITERAL("{}[]\":,0123456789|$ARNSHD-");
const int fuzz_mutations_per_seed = 3000;
