/*
 * test_kinesis.c — Kinesis internals without a server: hash keys (MD5 of a
 * partition key, the even split of 2^128), sequence numbers, tokens (a
 * tampered one is refused), and the in-emulator read API of kinesis.h that a
 * Lambda event source mapping polls.
 */
#include "common/error.h"
#include "emulator/kinesis/kinesis_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void expect_hash(const mpz_t v, const char *decimal) {
  json_t *j = kin_hash_json(v);
  assert_string_equal(json_string_value(j), decimal);
  json_decref(j);
}

static void test_kinesis_partition_key_is_md5(void **state) {
  (void)state;
  mpz_t h;
  mpz_init(h);
  kin_hash_partition_key(h, "a"); /* md5("a") = 0cc175b9c0f1b6a831c399e269772661 */
  mpz_t want;
  mpz_init_set_str(want, "0cc175b9c0f1b6a831c399e269772661", 16);
  assert_int_equal(mpz_cmp(h, want), 0);
  mpz_clears(h, want, NULL);
}

static void test_kinesis_hash_space_splits_evenly(void **state) {
  (void)state;
  mpz_t lo, hi, a, b;
  mpz_inits(lo, hi, a, b, NULL);
  mpz_ui_pow_ui(hi, 2, 128);
  mpz_sub_ui(hi, hi, 1);
  kin_hash_split_even(a, b, lo, hi, 0, 3);
  expect_hash(a, "0");
  expect_hash(b, "113427455640312821154458202477256070484");
  kin_hash_split_even(a, b, lo, hi, 2, 3);
  expect_hash(a, "226854911280625642308916404954512140970");
  expect_hash(b, "340282366920938463463374607431768211455");
  assert_int_equal(kin_hash_parse(a, "340282366920938463463374607431768211455"), 0);
  assert_int_equal(kin_hash_parse(a, "340282366920938463463374607431768211456"), -1);
  assert_int_equal(kin_hash_parse(a, "01"), -1);
  assert_int_equal(kin_hash_parse(a, ""), -1);
  assert_int_equal(kin_hash_parse(a, "-1"), -1);
  mpz_clears(lo, hi, a, b, NULL);
}

static void test_kinesis_sequence_numbers_round_trip(void **state) {
  (void)state;
  kin_shard sh = {.index = 7, .created_ms = 1700000000123u};
  char text[KIN_SEQ_LEN + 1];
  kin_seq_format(text, 123456789, &sh);
  assert_string_equal(text, "49000000000000000123456789000000000700000001700000000123");
  /* The widest values of each field still fill exactly 56 digits, as
   * snprintf("49%024llu%010u%020llu") would write them. */
  kin_shard widest = {.index = UINT32_MAX, .created_ms = UINT64_MAX};
  char expect[KIN_SEQ_LEN + 2];
  snprintf(expect, sizeof(expect), "49%024llu%010u%020llu", (unsigned long long)UINT64_MAX,
           (unsigned)UINT32_MAX, (unsigned long long)UINT64_MAX);
  kin_seq_format(text, UINT64_MAX, &widest);
  assert_string_equal(text, expect);
  /* A counter rewritten in place reads as the same shard's number. */
  char again[KIN_SEQ_LEN + 1];
  kin_seq_format(again, 5, &sh);
  kin_seq_set_counter(again, 123456789);
  kin_seq_format(text, 123456789, &sh);
  assert_string_equal(again, text);
  assert_int_equal(strlen(text), 56);
  uint64_t seq = 0;
  unsigned index = 0;
  assert_int_equal(kin_seq_parse(&seq, &index, text), 0);
  assert_int_equal(seq, 123456789);
  assert_int_equal(index, 7);
  assert_int_equal(kin_seq_parse(&seq, &index, text + 1), -1);
  text[0] = '5';
  assert_int_equal(kin_seq_parse(&seq, &index, text), -1);
  assert_int_equal(kin_seq_parse(&seq, &index, "12"), -1);
}

static void test_kinesis_tampered_token_is_refused(void **state) {
  (void)state;
  kin_state st;
  memset(&st, 0, sizeof(st));
  memset(st.iterator_key, 7, sizeof(st.iterator_key));
  const char *fields[3] = {"arn:aws:kinesis:us-east-1:000000000000:stream/s", "", "42"};
  char *token = kin_token_make(&st, fields, 3);
  assert_non_null(token);
  char *buf = NULL, *got[3];
  assert_int_equal(kin_token_parse(&buf, got, 3, &st, token), 0);
  assert_string_equal(got[0], fields[0]);
  assert_string_equal(got[1], "");
  assert_string_equal(got[2], "42");
  free(buf);
  assert_int_equal(kin_token_parse(&buf, got, 2, &st, token), -1);
  kin_state other = st;
  other.iterator_key[0] = 8;
  assert_int_equal(kin_token_parse(&buf, got, 3, &other, token), -1);
  token[4] = token[4] == 'A' ? 'B' : 'A';
  assert_int_equal(kin_token_parse(&buf, got, 3, &st, token), -1);
  free(token);
}

/* A state holding one ACTIVE stream "s" with one shard. */
static kin_state *state_with_stream(kin_stream **out) {
  kin_state *st = calloc(1, sizeof(*st));
  assert_non_null(st);
  pthread_mutex_init(&st->lock, NULL);
  kin_stream *s = calloc(1, sizeof(*s));
  assert_non_null(s);
  strcpy(s->account, "000000000000");
  strcpy(s->region, "us-east-1");
  strcpy(s->name, "s");
  strcpy(s->arn, "arn:aws:kinesis:us-east-1:000000000000:stream/s");
  strcpy(s->encryption, "NONE");
  s->retention_hours = 24;
  s->status = KIN_ACTIVE;
  s->created_ms = kin_now_ms();
  s->tags = json_object();
  s->metrics = json_array();
  mpz_t lo, hi;
  mpz_init(lo);
  mpz_init_set_ui(hi, 1000);
  assert_non_null(kin_shard_add(s, lo, hi, NULL, NULL));
  mpz_clears(lo, hi, NULL);
  st->streams = calloc(1, sizeof(*st->streams));
  st->streams[0] = s;
  st->nstreams = st->cap = 1;
  *out = s;
  return st;
}

static void free_state(kin_state *st) {
  for (size_t i = 0; i < st->nstreams; i++)
    kin_stream_free(st->streams[i]);
  free(st->streams);
  pthread_mutex_destroy(&st->lock);
  free(st);
}

static void test_kinesis_read_api(void **state) {
  (void)state;
  kin_stream *s = NULL;
  kin_state *st = state_with_stream(&s);
  const char *arn = s->arn;
  kin_shard *sh = s->shards[0];
  assert_non_null(kin_record_add(s, sh, "k1", "YQ==", 3));
  assert_non_null(kin_record_add(s, sh, "k2", "Yg==", 3));
  assert_non_null(kin_record_add(s, sh, "k3", "Yw==", 3));

  json_t *out = NULL;
  assert_int_equal(kinesis_shard_read(&out, st, arn, "shardId-000000000000", NULL, 2), 0);
  json_t *records = json_object_get(out, "Records");
  assert_int_equal(json_array_size(records), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(records, 1), "Data")),
                      "Yg==");
  assert_false(json_is_true(json_object_get(out, "EndOfShard")));
  char *position = strdup(json_string_value(json_object_get(out, "Position")));
  assert_string_equal(
      position, json_string_value(json_object_get(json_array_get(records, 1), "SequenceNumber")));
  json_decref(out);

  assert_int_equal(kinesis_shard_read(&out, st, arn, "shardId-000000000000", position, 10), 0);
  records = json_object_get(out, "Records");
  assert_int_equal(json_array_size(records), 1);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(records, 0), "PartitionKey")), "k3");
  free(position);
  position = strdup(json_string_value(json_object_get(out, "Position")));
  json_decref(out);

  assert_int_equal(kinesis_shard_read(&out, st, arn, "shardId-000000000000", "LATEST", 10), 0);
  assert_int_equal(json_array_size(json_object_get(out, "Records")), 0);
  json_decref(out);

  /* A closed shard read to its end says so; the shard list shows it closed. */
  kin_shard_close(s, sh);
  assert_int_equal(kinesis_shard_read(&out, st, arn, "shardId-000000000000", position, 10), 0);
  assert_int_equal(json_array_size(json_object_get(out, "Records")), 0);
  assert_true(json_is_true(json_object_get(out, "EndOfShard")));
  json_decref(out);
  free(position);
  assert_int_equal(kinesis_stream_shards(&out, st, arn), 0);
  assert_int_equal(json_array_size(out), 1);
  assert_true(json_is_true(json_object_get(json_array_get(out, 0), "Closed")));
  json_decref(out);

  /* Errors: unknown stream or shard, a number of another shard, a bad limit. */
  assert_int_equal(kinesis_stream_shards(&out, st, "arn:aws:kinesis:us-east-1:0:stream/x"),
                   AIRGAP_ENOTFOUND);
  assert_int_equal(kinesis_shard_read(&out, st, arn, "shardId-000000000009", NULL, 1),
                   AIRGAP_ENOTFOUND);
  kin_shard other = {.index = 5};
  char seq[KIN_SEQ_LEN + 1];
  kin_seq_format(seq, 1, &other);
  assert_int_equal(kinesis_shard_read(&out, st, arn, "shardId-000000000000", seq, 1),
                   AIRGAP_EINVALID);
  assert_int_equal(kinesis_shard_read(&out, st, arn, "shardId-000000000000", NULL, 0),
                   AIRGAP_EINVALID);
  free_state(st);
}

static void test_kinesis_retention_trims_old_records(void **state) {
  (void)state;
  kin_stream *s = NULL;
  kin_state *st = state_with_stream(&s);
  kin_shard *sh = s->shards[0];
  for (int i = 0; i < 3; i++)
    assert_non_null(kin_record_add(s, sh, "k", "YQ==", 2));
  uint64_t now = kin_now_ms(), hour = 3600000u;
  sh->recs[0].arrival_ms = now - 30 * hour; /* past 24 h */
  sh->recs[1].arrival_ms = now - 25 * hour;
  s->retention_hours = 48;
  kin_trim(s, now);
  assert_int_equal(sh->count - sh->first, 3);
  s->retention_hours = 24; /* DecreaseStreamRetentionPeriod */
  kin_trim(s, now);
  assert_int_equal(sh->count - sh->first, 1);
  /* A reader from the trim horizon starts at the oldest record kept. */
  json_t *out = NULL;
  assert_int_equal(kinesis_shard_read(&out, st, s->arn, sh->id, NULL, 10), 0);
  json_t *records = json_object_get(out, "Records");
  assert_int_equal(json_array_size(records), 1);
  char want[KIN_SEQ_LEN + 1];
  kin_seq_format(want, 3, sh);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(records, 0), "SequenceNumber")), want);
  json_decref(out);
  free_state(st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kinesis_partition_key_is_md5),
      cmocka_unit_test(test_kinesis_hash_space_splits_evenly),
      cmocka_unit_test(test_kinesis_sequence_numbers_round_trip),
      cmocka_unit_test(test_kinesis_tampered_token_is_refused),
      cmocka_unit_test(test_kinesis_read_api),
      cmocka_unit_test(test_kinesis_retention_trims_old_records),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
