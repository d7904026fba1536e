/*
 * test_dynamodb_streams.c — DynamoDB Streams' records (emulator/dynamodb/
 * stream.c) with a clock the test sets: what a write records (and what it
 * does not), the 24-hour retention of records and of disabled streams, the
 * trim horizon as GetShardIterator and GetRecords report it, and the shard
 * iterator's text format.
 */
#include "emulator/dynamodb/dynamodb_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define ACCOUNT "000000000000"
#define REGION "us-east-1"
#define HOUR_MS (3600ull * 1000)

static ddb_state *state_new(void) {
  ddb_state *st = calloc(1, sizeof(*st));
  assert_non_null(st);
  pthread_mutex_init(&st->lock, NULL);
  st->tokens = json_object();
  return st;
}

static void state_free(ddb_state *st) {
  for (size_t i = 0; i < st->ntables; i++)
    ddb_table_free(st->tables[i]);
  free(st->tables);
  ddb_streams_clear(st);
  json_decref(st->tokens);
  pthread_mutex_destroy(&st->lock);
  free(st);
}

static int call(ddb_state *st, ddb_op_fn fn, const char *json, json_t **out, ddb_error *e) {
  json_t *in = json_loads(json, 0, NULL);
  assert_non_null(in);
  ddb_request rq = {st, ACCOUNT, REGION, in};
  json_t *ignored = NULL;
  int rc = fn(out ? out : &ignored, &rq, e);
  json_decref(ignored);
  json_decref(in);
  return rc;
}

static ddb_table *table_with_stream(ddb_state *st, const char *view) {
  char json[512];
  snprintf(json, sizeof(json),
           "{\"TableName\": \"tst\", \"BillingMode\": \"PAY_PER_REQUEST\", \"KeySchema\": "
           "[{\"AttributeName\": \"pk\", \"KeyType\": \"HASH\"}], \"AttributeDefinitions\": "
           "[{\"AttributeName\": \"pk\", \"AttributeType\": \"S\"}], \"StreamSpecification\": "
           "{\"StreamEnabled\": true, \"StreamViewType\": \"%s\"}}",
           view);
  ddb_error e = {0};
  assert_int_equal(call(st, ddb_op_create_table, json, NULL, &e), 0);
  ddb_table *t = ddb_table_find(st, ACCOUNT, REGION, "tst", NULL);
  assert_non_null(t);
  assert_non_null(t->stream);
  return t;
}

static json_t *item(const char *pk, const char *v) {
  return json_pack("{s:{s:s}, s:{s:s}}", "pk", "S", pk, "v", "N", v);
}

static void test_dynamodb_streams_what_is_recorded(void **unused) {
  (void)unused;
  ddb_state *st = state_new();
  ddb_stream *s = table_with_stream(st, "OLD_IMAGE")->stream;
  json_t *a1 = item("a", "1"), *a1b = item("a", "1"), *a2 = item("a", "2");
  ddb_stream_record(s, NULL, NULL, 0, 1000); /* deleting nothing */
  ddb_stream_record(s, NULL, a1, 0, 1000);
  ddb_stream_record(s, a1, a1b, 0, 1500); /* an equal item: no change */
  ddb_stream_record(s, a1, a2, 0, 2000);
  ddb_stream_record(s, a2, NULL, 1, 2999);
  assert_int_equal(s->n, 3);
  const char *names[] = {"INSERT", "MODIFY", "REMOVE"};
  for (size_t i = 0; i < 3; i++) {
    size_t size = 0;
    json_t *r = ddb_stream_record_json(s, i, &size);
    assert_string_equal(json_string_value(json_object_get(r, "eventName")), names[i]);
    json_t *d = json_object_get(r, "dynamodb");
    assert_int_equal(json_object_size(json_object_get(d, "Keys")), 1);
    assert_null(json_object_get(d, "NewImage")); /* OLD_IMAGE */
    assert_true((json_object_get(d, "OldImage") != NULL) == (i > 0));
    assert_int_equal(json_integer_value(json_object_get(d, "SizeBytes")), (json_int_t)size);
    assert_int_equal(json_integer_value(json_object_get(d, "ApproximateCreationDateTime")),
                     i == 0 ? 1 : 2); /* seconds, rounded down */
    assert_true((json_object_get(r, "userIdentity") != NULL) == (i == 2));
    json_decref(r);
  }
  assert_true(s->recs[0].seq < s->recs[1].seq && s->recs[1].seq < s->recs[2].seq);
  assert_int_equal(s->recs[0].seq, s->first_seq);
  json_decref(a1);
  json_decref(a1b);
  json_decref(a2);
  state_free(st);
}

static void test_dynamodb_streams_retention(void **unused) {
  (void)unused;
  ddb_state *st = state_new();
  ddb_table *t = table_with_stream(st, "KEYS_ONLY");
  ddb_stream *s = t->stream;
  uint64_t t0 = s->created_ms;
  json_t *a = item("a", "1"), *b = item("b", "1");
  ddb_stream_record(s, NULL, a, 0, t0);
  ddb_stream_record(s, NULL, b, 0, t0 + 2 * HOUR_MS);
  uint64_t first = s->recs[s->off].seq, second = s->recs[s->off + 1].seq;
  ddb_streams_expire(st, t0 + 24 * HOUR_MS - 1);
  assert_int_equal(s->n, 2);
  ddb_streams_expire(st, t0 + 24 * HOUR_MS);
  assert_int_equal(s->n, 1);
  assert_int_equal(s->trimmed_seq, first);
  assert_int_equal(s->recs[s->off].seq, second);

  /* The trimmed record's sequence number is past the trim horizon. */
  char json[1024], seq[32];
  ddb_stream_seq_text(seq, first);
  snprintf(json, sizeof(json),
           "{\"StreamArn\": \"%s\", \"ShardId\": \"%s\", \"ShardIteratorType\": "
           "\"AT_SEQUENCE_NUMBER\", \"SequenceNumber\": \"%s\"}",
           s->arn, s->shard_id, seq);
  ddb_error e = {0};
  assert_int_equal(call(st, ddb_op_get_shard_iterator, json, NULL, &e), -1);
  assert_string_equal(e.code, "TrimmedDataAccessException");
  ddb_error_clear(&e);
  /* TRIM_HORIZON starts at the oldest record left. */
  json_t *out = NULL;
  snprintf(json, sizeof(json),
           "{\"StreamArn\": \"%s\", \"ShardId\": \"%s\", \"ShardIteratorType\": "
           "\"TRIM_HORIZON\"}",
           s->arn, s->shard_id);
  assert_int_equal(call(st, ddb_op_get_shard_iterator, json, &out, &e), 0);
  ddb_iterator it;
  assert_int_equal(
      ddb_stream_iterator_parse(&it, json_string_value(json_object_get(out, "ShardIterator"))), 0);
  assert_int_equal(it.pos, second);
  free(it.arn);
  json_decref(out);
  /* A disabled stream is kept for 24 hours, then forgotten. */
  ddb_stream_disable(t, t0 + 30 * HOUR_MS);
  assert_null(t->stream);
  assert_non_null(t->stream_arn);
  ddb_streams_expire(st, t0 + 54 * HOUR_MS - 1);
  assert_int_equal(st->nstreams, 1);
  ddb_streams_expire(st, t0 + 54 * HOUR_MS);
  assert_int_equal(st->nstreams, 0);
  assert_null(ddb_stream_find(st, ACCOUNT, REGION, t->stream_arn));
  json_decref(a);
  json_decref(b);
  state_free(st);
}

static void test_dynamodb_streams_trimmed_iterator(void **unused) {
  (void)unused;
  ddb_state *st = state_new();
  ddb_stream *s = table_with_stream(st, "NEW_IMAGE")->stream;
  json_t *a = item("a", "1");
  ddb_stream_record(s, NULL, a, 0, 1);
  uint64_t first = s->recs[s->off].seq;
  ddb_streams_expire(st, 1 + 24 * HOUR_MS);
  assert_int_equal(s->n, 0);
  /* An iterator handed out before the trim (now, by the wall clock). */
  ddb_request rq = {st, ACCOUNT, REGION, NULL};
  char json[1024];
  snprintf(json, sizeof(json),
           "{\"StreamArn\": \"%s\", \"ShardId\": \"%s\", \"ShardIteratorType\": \"LATEST\"}",
           s->arn, s->shard_id);
  json_t *out = NULL;
  ddb_error e = {0};
  assert_int_equal(call(st, ddb_op_get_shard_iterator, json, &out, &e), 0);
  ddb_iterator it;
  assert_int_equal(
      ddb_stream_iterator_parse(&it, json_string_value(json_object_get(out, "ShardIterator"))), 0);
  assert_int_equal(it.pos, first + 1); /* LATEST: after the last record */
  json_decref(out);
  json_t *stale = ddb_stream_iterator(s, first, it.issued_ms);
  free(it.arn);
  json_t *in = json_pack("{s:o}", "ShardIterator", stale);
  rq.input = in;
  assert_int_equal(ddb_op_get_records(&out, &rq, &e), -1);
  assert_string_equal(e.code, "TrimmedDataAccessException");
  ddb_error_clear(&e);
  json_decref(in);
  json_decref(a);
  state_free(st);
}

static void test_dynamodb_streams_iterator_format(void **unused) {
  (void)unused;
  ddb_iterator it;
  assert_int_equal(ddb_stream_iterator_parse(&it, "arn:x/stream/l|1|shardId-1|42|1700000000000"),
                   0);
  assert_string_equal(it.arn, "arn:x/stream/l");
  assert_string_equal(it.shard, "shardId-1");
  assert_int_equal(it.pos, 42);
  assert_int_equal(it.issued_ms, 1700000000000ull);
  free(it.arn);
  const char *bad[] = {"",          "x",          "|1|s|1|1",
                       "a|2|s|1|1", "a|1||1|1",   "a|1|s|-1|1",
                       "a|1|s|1|",  "a|1|s|1|1x", "a|1|s|18446744073709551616|1",
                       "a|1|s|1"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (ddb_stream_iterator_parse(&it, bad[i]) == 0)
      fail_msg("parsed: '%s'", bad[i]);
  char *huge = malloc(DDB_ITERATOR_MAX + 2);
  assert_non_null(huge);
  memset(huge, '1', DDB_ITERATOR_MAX + 1);
  memcpy(huge, "a|1|s|1|", 8);
  huge[DDB_ITERATOR_MAX + 1] = '\0';
  assert_int_equal(ddb_stream_iterator_parse(&it, huge), -1);
  free(huge);
  uint64_t v;
  assert_int_equal(ddb_stream_seq_parse(&v, "000000000000000000007"), 0);
  assert_int_equal(v, 7);
  assert_int_equal(ddb_stream_seq_parse(&v, "1 "), -1);
  assert_int_equal(ddb_stream_seq_parse(&v, "+1"), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dynamodb_streams_what_is_recorded),
      cmocka_unit_test(test_dynamodb_streams_retention),
      cmocka_unit_test(test_dynamodb_streams_trimmed_iterator),
      cmocka_unit_test(test_dynamodb_streams_iterator_format),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
