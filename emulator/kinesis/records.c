/*
 * records.c — writing and reading records: PutRecord and PutRecords (the
 * partition key's MD5, or ExplicitHashKey, picks the open shard whose range
 * holds it), GetShardIterator (every iterator type), GetRecords (Limit, the
 * 10 MiB answer cap, MillisBehindLatest, the end of a closed shard with its
 * ChildShards), and the in-emulator read API of kinesis.h.
 *
 * A shard's records are an array in sequence order; reads find their start
 * by binary search. Records past the retention period are dropped before
 * every read. An iterator holds a position (the last counter read), so it
 * stays valid across trimming and resharding, as AWS's do.
 */
#include "common/error.h"
#include "common/json_arena.h"
#include "emulator/kinesis/kinesis_int.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int inject_error(const kin_state *st) {
  if (st->error_probability <= 0)
    return 0;
  uint32_t r = 0;
  if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
    return 0;
  return (double)r / 4294967296.0 < st->error_probability;
}

/* Decoded size of canonical padded base64 text of n characters. */
static size_t b64_size(const char *s, size_t n) {
  if (n < 4)
    return 0;
  return n / 4 * 3 - (s[n - 1] == '=') - (s[n - 2] == '=');
}

size_t kin_record_after(const kin_shard *sh, uint64_t position) {
  size_t lo = sh->first, hi = sh->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (sh->recs[mid].seq <= position)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

json_t *kin_child_shards(const kin_stream *s, const kin_shard *sh) {
  json_t *children = json_array();
  for (size_t i = 0; i < s->nshards; i++) {
    const kin_shard *c = s->shards[i];
    if (strcmp(c->parent, sh->id) != 0 && strcmp(c->adjacent, sh->id) != 0)
      continue;
    json_t *parents = json_array();
    json_array_append_new(parents, json_string(c->parent));
    if (c->adjacent[0])
      json_array_append_new(parents, json_string(c->adjacent));
    json_array_append_new(children, json_pack("{s:s, s:o, s:o}", "ShardId", c->id, "ParentShards",
                                              parents, "HashKeyRange", kin_hash_range_json(c)));
  }
  return children;
}

/* The index of the open shard whose hash key range holds h, or -1. */
static long shard_index_for(const kin_stream *s, const mpz_t h) {
  for (size_t i = 0; i < s->nshards; i++) {
    const kin_shard *sh = s->shards[i];
    if (sh->end_seq == 0 && mpz_cmp(h, sh->start) >= 0 && mpz_cmp(h, sh->end) <= 0)
      return (long)i;
  }
  return -1;
}

static kin_shard *shard_for(kin_stream *s, const mpz_t h) {
  long i = shard_index_for(s, h);
  return i < 0 ? NULL : s->shards[i];
}

/* A shard's hash key range as 16 big-endian bytes each, which compare as
 * the numbers do (memcmp): PutRecords places 500 records without GMP.
 * id: the shard's ShardId string, made once and shared by the answer. */
typedef struct shard_range {
  unsigned char lo[16], hi[16];
  json_t *id;
  char seq[KIN_SEQ_LEN + 1]; /* the shard's last sequence number, once id is set */
} shard_range;

/* The ranges of s's shards (owned: free()), NULL when out of memory. */
static shard_range *shard_ranges(const kin_stream *s) {
  shard_range *r = calloc(s->nshards ? s->nshards : 1, sizeof(*r));
  for (size_t i = 0; r && i < s->nshards; i++) {
    kin_hash_to_bytes(r[i].lo, s->shards[i]->start);
    kin_hash_to_bytes(r[i].hi, s->shards[i]->end);
  }
  return r;
}

/* shard_index_for on bytes. */
static long shard_index_bytes(const kin_stream *s, const shard_range *r,
                              const unsigned char h[16]) {
  for (size_t i = 0; i < s->nshards; i++)
    if (s->shards[i]->end_seq == 0 && memcmp(h, r[i].lo, 16) >= 0 && memcmp(h, r[i].hi, 16) <= 0)
      return (long)i;
  return -1;
}

/* kin_record_add with the lengths known (PutRecords has them from jansson). */
static kin_record *record_store(kin_stream *s, kin_shard *sh, const char *key, size_t kl,
                                const char *data, size_t dl, size_t size) {
  if (sh->count == sh->cap) {
    if (sh->first > sh->count / 2) {
      memmove(sh->recs, sh->recs + sh->first, (sh->count - sh->first) * sizeof(*sh->recs));
      sh->count -= sh->first;
      sh->first = 0;
    } else {
      size_t cap = sh->cap ? sh->cap * 2 : 64;
      kin_record *n = realloc(sh->recs, cap * sizeof(*n));
      if (!n)
        return NULL;
      sh->recs = n;
      sh->cap = cap;
    }
  }
  char *block = malloc(kl + dl + 2);
  if (!block)
    return NULL;
  memcpy(block, key, kl + 1);
  memcpy(block + kl + 1, data, dl + 1);
  kin_record *r = &sh->recs[sh->count++];
  r->seq = ++s->seq;
  r->arrival_ms = kin_now_ms();
  r->size = size;
  r->key = block;
  r->data = block + kl + 1;
  return r;
}

kin_record *kin_record_add(kin_stream *s, kin_shard *sh, const char *key, const char *data,
                           size_t size) {
  return record_store(s, sh, key, strlen(key), data, strlen(data), size);
}

/* One record's members, looked up once (jansson hashes the key at every
 * lookup), borrowed from the request. */
typedef struct record_in {
  const char *data, *key;
  size_t data_len, key_len;
} record_in;

/* The name of a record's member in validation messages: "data" for
 * PutRecord (index 0), "records.N.member.data" for PutRecords' N-th. */
static void member_name(char *out, size_t len, size_t index, const char *member) {
  if (index)
    snprintf(out, len, "records.%zu.member.%s", index, member);
  else
    snprintf(out, len, "%s", member);
}

/* Checks one record's members; fills *in with them, hash with its hash key
 * (16 big-endian bytes) and *size with its size. index is 0 for PutRecord
 * and N for the N-th record of PutRecords. -1 after answering. */
static int record_arg(aws_call *call, json_t *entry, size_t index, record_in *in,
                      unsigned char hash[16], size_t *size, EVP_MD_CTX *md5) {
  /* The shape check has made Data and PartitionKey present strings. */
  json_t *jdata = json_object_get(entry, "Data"), *jkey = json_object_get(entry, "PartitionKey");
  const char *data = json_string_value(jdata), *key = json_string_value(jkey);
  /* Only records that carry one pay for a third lookup. */
  const char *explicit_key = json_object_size(entry) > 2
                                 ? json_string_value(json_object_get(entry, "ExplicitHashKey"))
                                 : NULL;
  char member[64];
  size_t dlen = json_string_length(jdata), klen = json_string_length(jkey);
  size_t dsize = b64_size(data, dlen);
  if (dsize > KIN_MAX_RECORD) {
    char value[96];
    member_name(member, sizeof(member), index, "data");
    snprintf(value, sizeof(value), "java.nio.HeapByteBuffer[pos=0 lim=%zu cap=%zu]", dsize, dsize);
    kin_fail_validation(call, member, value, "have length less than or equal to 1048576");
    return -1;
  }
  if (klen < 1 || klen > 256) {
    member_name(member, sizeof(member), index, "partitionKey");
    kin_fail_validation(call, member, key,
                        klen < 1 ? "have length greater than or equal to 1"
                                 : "have length less than or equal to 256");
    return -1;
  }
  if (explicit_key) {
    mpz_t h;
    mpz_init(h);
    int bad = kin_hash_parse(h, explicit_key) < 0;
    if (!bad)
      kin_hash_to_bytes(hash, h);
    mpz_clear(h);
    if (bad) {
      aws_call_fail(call, 400, "InvalidArgumentException",
                    "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                    "Specified value was %.64s",
                    explicit_key);
      return -1;
    }
  } else {
    kin_hash_key_bytes_ctx(hash, key, klen, md5);
  }
  *in = (record_in){data, key, dlen, klen};
  *size = dsize + klen;
  return 0;
}

static void throughput_fail(aws_call *call, const kin_stream *s, const char *shard) {
  aws_call_fail(call, 400, "ProvisionedThroughputExceededException",
                "Rate exceeded for shard %s in stream %s under account %s.", shard, s->name,
                s->account);
}

void kin_put_record(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  unsigned char hash[16];
  size_t size = 0;
  record_in rec;
  const char *order = json_string_value(json_object_get(input, "SequenceNumberForOrdering"));
  if (record_arg(call, input, 0, &rec, hash, &size, NULL) < 0)
    return;
  if (order && (strlen(order) > 129 || strspn(order, "0123456789") != strlen(order))) {
    kin_fail_validation(call, "sequenceNumberForOrdering", order,
                        "satisfy regular expression pattern: 0|([1-9]\\d{0,128})");
    return;
  }
  kin_stream *s = kin_lock_stream(st, call, input, 0, 1);
  if (!s)
    return;
  mpz_t h;
  mpz_init(h);
  kin_hash_from_bytes(h, hash);
  kin_shard *sh = shard_for(s, h);
  mpz_clear(h);
  if (!sh) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 500, "InternalFailure", "No open shard holds the hash key.");
    return;
  }
  if (inject_error(st)) {
    throughput_fail(call, s, sh->id);
    pthread_mutex_unlock(&st->lock);
    return;
  }
  kin_record *r = record_store(s, sh, rec.key, rec.key_len, rec.data, rec.data_len, size);
  if (!r) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 500, "InternalFailure", "Out of memory.");
    return;
  }
  char seq[KIN_SEQ_LEN + 1];
  kin_seq_format(seq, r->seq, sh);
  json_t *out = json_pack("{s:s, s:s, s:s}", "ShardId", sh->id, "SequenceNumber", seq,
                          "EncryptionType", s->encryption);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

void kin_put_records(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  json_t *records = json_object_get(input, "Records");
  size_t n = json_array_size(records);
  if (n < 1 || n > KIN_MAX_BATCH_RECORDS) {
    char value[32];
    snprintf(value, sizeof(value), "[%zu records]", n);
    kin_fail_validation(call, "records", value,
                        n < 1 ? "have length greater than or equal to 1"
                              : "have length less than or equal to 500");
    return;
  }
  /* Members, hashes and sizes on the stack (28 KiB at most): no allocation
   * per batch. */
  record_in ins[KIN_MAX_BATCH_RECORDS];
  unsigned char hashes[KIN_MAX_BATCH_RECORDS][16];
  size_t sizes[KIN_MAX_BATCH_RECORDS];
  size_t total = 0;
  EVP_MD_CTX *md5 = EVP_MD_CTX_new(); /* NULL: one-shot digests */
  for (size_t i = 0; i < n; i++) {
    if (record_arg(call, json_array_get(records, i), i + 1, &ins[i], hashes[i], &sizes[i], md5) <
        0) {
      EVP_MD_CTX_free(md5);
      return;
    }
    total += sizes[i];
  }
  EVP_MD_CTX_free(md5);
  if (total > KIN_MAX_BATCH_BYTES) {
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "Records size exceeds 5 MB limit: the records of this PutRecords request "
                  "total %zu bytes, partition keys included.",
                  total);
    return;
  }
  kin_stream *s = kin_lock_stream(st, call, input, 0, 1);
  if (!s)
    return;
  /* The answer is dropped once sent: built in the request's arena when the
   * gateway parsed the request into it (it resets the arena after this
   * returns; records are stored with malloc). */
  int arena = json_arena_owns(input) && json_arena_enter() == 0;
  json_t *results = json_array();
  json_int_t failures = 0;
  int oom = 0;
  shard_range *ranges = shard_ranges(s);
  for (size_t i = 0; i < n && !oom && ranges; i++) {
    long index = shard_index_bytes(s, ranges, hashes[i]);
    kin_shard *sh = index < 0 ? NULL : s->shards[index];
    if (!sh || inject_error(st)) {
      char msg[512];
      snprintf(msg, sizeof(msg), "Rate exceeded for shard %s in stream %s under account %s.",
               sh ? sh->id : "?", s->name, s->account);
      json_array_append_new(
          results, json_pack("{s:s, s:s}", "ErrorCode",
                             sh ? "ProvisionedThroughputExceededException" : "InternalFailure",
                             "ErrorMessage", msg));
      failures++;
      continue;
    }
    kin_record *r =
        record_store(s, sh, ins[i].key, ins[i].key_len, ins[i].data, ins[i].data_len, sizes[i]);
    if (!r) {
      oom = 1;
      break;
    }
    /* The entry is stored: drop it from the input now (the gateway frees
     * the input after the handler and reads nothing of it). Without an
     * arena (every slot taken) the answer's entry below then reuses its
     * memory from malloc's per-thread cache instead of growing the heap
     * while a 500-record tree is still alive. */
    json_array_set_new(records, i, json_null());
    shard_range *range = &ranges[index];
    if (!range->id) {
      if (!(range->id = json_string_nocheck(sh->id))) {
        oom = 1;
        break;
      }
      kin_seq_format(range->seq, r->seq, sh);
    } else {
      kin_seq_set_counter(range->seq, r->seq);
    }
    json_t *o = json_object();
    json_object_set_new_nocheck(o, "SequenceNumber", json_stringn_nocheck(range->seq, KIN_SEQ_LEN));
    json_object_set_nocheck(o, "ShardId", range->id);
    json_array_append_new(results, o);
  }
  if (!ranges)
    oom = 1;
  for (size_t i = 0; ranges && i < s->nshards; i++)
    json_decref(ranges[i].id);
  free(ranges);
  json_t *out = json_pack("{s:I, s:o, s:s}", "FailedRecordCount", failures, "Records", results,
                          "EncryptionType", s->encryption);
  if (arena)
    json_arena_leave();
  pthread_mutex_unlock(&st->lock);
  if (oom) {
    json_decref(out);
    aws_call_fail(call, 500, "InternalFailure", "Out of memory.");
  } else {
    aws_call_reply(call, out);
  }
}

/* ---- reading ---- */

static const char *const iterator_types[] = {"AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER",
                                             "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"};

/* The position a reader at the tip of sh has. */
static uint64_t tip(const kin_stream *s, const kin_shard *sh) {
  return sh->end_seq ? sh->end_seq : s->seq;
}

int kin_start_type(const char *type) {
  for (int i = 0; type && i < 5; i++)
    if (strcmp(type, iterator_types[i]) == 0)
      return i;
  return -1;
}

int kin_start_type_check(aws_call *call, const char *type, const kin_start_names *names,
                         const char *seq_text, const json_t *timestamp) {
  int t = kin_start_type(type);
  if (t < 0) {
    kin_fail_validation(call, names->type_member, type ? type : "null",
                        "satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, "
                        "AT_SEQUENCE_NUMBER, TRIM_HORIZON]");
    return -1;
  }
  if (t <= 1 && !seq_text) {
    aws_call_fail(call, 400, "InvalidArgumentException", "%s must be specified for %s %s.",
                  names->sequence, names->type_name, type);
    return -1;
  }
  if (t == 4 && !timestamp) {
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "Timestamp must be specified for %s AT_TIMESTAMP.", names->type_name);
    return -1;
  }
  return t;
}

int kin_start_position(uint64_t *out, unsigned *seq_shard, const kin_stream *s, const kin_shard *sh,
                       int type, const char *seq_text, uint64_t when_ms) {
  uint64_t position = sh->start_seq;
  if (type <= 1) {
    uint64_t seq;
    unsigned index;
    if (kin_seq_parse(&seq, &index, seq_text) < 0)
      return -1;
    if (index != sh->index) {
      *seq_shard = index;
      return -2;
    }
    /* A shard's StartingSequenceNumber is a valid start too (AT it: everything). */
    position = type == 0 && seq > 0 ? seq - 1 : seq;
  } else if (type == 3) {
    position = tip(s, sh);
  } else if (type == 4) {
    position = tip(s, sh);
    for (size_t i = sh->first; i < sh->count; i++) {
      if (sh->recs[i].arrival_ms >= when_ms) {
        position = sh->recs[i].seq - 1;
        break;
      }
    }
  }
  *out = position;
  return 0;
}

void kin_get_shard_iterator(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  const char *shard_id = json_string_value(json_object_get(input, "ShardId"));
  const char *type = json_string_value(json_object_get(input, "ShardIteratorType"));
  const char *start = json_string_value(json_object_get(input, "StartingSequenceNumber"));
  json_t *ts = json_object_get(input, "Timestamp");
  if (kin_name_arg(call, "shardId", shard_id) < 0)
    return;
  static const kin_start_names names = {"shardIteratorType", "StartingSequenceNumber",
                                        "ShardIteratorType"};
  int t = kin_start_type_check(call, type, &names, start, ts);
  if (t < 0)
    return;
  kin_stream *s = kin_lock_stream(st, call, input, 0, 1);
  if (!s)
    return;
  kin_shard *sh = kin_shard_find(s, shard_id);
  if (!sh) {
    kin_fail_no_shard(st, call, s, shard_id);
    return;
  }
  uint64_t now = kin_now_ms(), position = sh->start_seq;
  kin_trim(s, now);
  unsigned index = 0;
  int rc = kin_start_position(&position, &index, s, sh, t, start, t == 4 ? kin_ms_of(ts) : 0);
  if (rc == -1) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "StartingSequenceNumber %.140s used in GetShardIterator on shard %s in stream "
                  "%s under account %s is invalid.",
                  start, sh->id, s->name, s->account);
    return;
  }
  if (rc == -2) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "InvalidArgumentException",
                  "Invalid StartingSequenceNumber. It encodes shardId-%012u, while it was used "
                  "in a call to a shard with %s",
                  index, sh->id);
    return;
  }
  char *it = kin_iterator_make(st, s, sh, position, now);
  pthread_mutex_unlock(&st->lock);
  if (!it) {
    aws_call_fail(call, 500, "InternalFailure", "Out of memory.");
    return;
  }
  aws_call_reply(call, json_pack("{s:s}", "ShardIterator", it));
  free(it);
}

static json_t *record_json(const kin_stream *s, const kin_shard *sh, const kin_record *r) {
  char seq[KIN_SEQ_LEN + 1];
  kin_seq_format(seq, r->seq, sh);
  json_t *o =
      json_pack("{s:s, s:f, s:s, s:s}", "SequenceNumber", seq, "ApproximateArrivalTimestamp",
                (double)r->arrival_ms / 1000.0, "Data", r->data, "PartitionKey", r->key);
  if (strcmp(s->encryption, "NONE") != 0)
    json_object_set_new(o, "EncryptionType", json_string(s->encryption));
  return o;
}

void kin_shard_read(json_t *out_records, uint64_t *position, int *ended, uint64_t *behind,
                    const kin_stream *s, const kin_shard *sh, size_t limit, size_t max_bytes,
                    uint64_t now) {
  size_t i = kin_record_after(sh, *position), bytes = 0;
  for (; i < sh->count && json_array_size(out_records) < limit; i++) {
    const kin_record *r = &sh->recs[i];
    if (json_array_size(out_records) > 0 && bytes + r->size > max_bytes)
      break;
    bytes += r->size;
    json_array_append_new(out_records, record_json(s, sh, r));
    *position = r->seq;
  }
  *ended = sh->end_seq != 0 && i == sh->count;
  *behind = i < sh->count && now > sh->recs[i].arrival_ms ? now - sh->recs[i].arrival_ms : 0;
}

void kin_get_records(aws_call *call, json_t *input) {
  kin_state *st = kin_state_of(call);
  const char *text = json_string_value(json_object_get(input, "ShardIterator"));
  long limit;
  if (kin_int_arg(call, input, "Limit", "limit", 1, KIN_MAX_GET_RECORDS, KIN_MAX_GET_RECORDS,
                  &limit) < 0)
    return;
  if (strlen(text) > 512) {
    kin_fail_validation(call, "shardIterator", text, "have length less than or equal to 512");
    return;
  }
  kin_iterator it;
  if (kin_iterator_parse(&it, st, text) < 0) {
    aws_call_fail(call, 400, "InvalidArgumentException", "Invalid ShardIterator.");
    return;
  }
  uint64_t now = kin_now_ms();
  if (now > it.issued_ms + st->iterator_ttl_ms) {
    char made[64], right[64];
    time_t a = (time_t)(it.issued_ms / 1000), b = (time_t)(now / 1000);
    struct tm ta, tb;
    gmtime_r(&a, &ta);
    gmtime_r(&b, &tb);
    strftime(made, sizeof(made), "%a %b %d %H:%M:%S UTC %Y", &ta);
    strftime(right, sizeof(right), "%a %b %d %H:%M:%S UTC %Y", &tb);
    aws_call_fail(call, 400, "ExpiredIteratorException",
                  "Iterator expired. The iterator was created at time %s while right now it is %s "
                  "which is further in the future than the tolerated delay of %llu milliseconds.",
                  made, right, (unsigned long long)st->iterator_ttl_ms);
    return;
  }
  json_t *by_arn = json_pack("{s:s}", "StreamARN", it.arn);
  kin_stream *s = kin_lock_stream(st, call, by_arn, 0, 1);
  json_decref(by_arn);
  if (!s)
    return;
  kin_shard *sh = s->created_ms == it.stream_created_ms ? kin_shard_find(s, it.shard) : NULL;
  if (!sh) {
    kin_fail_no_shard(st, call, s, it.shard);
    return;
  }
  if (inject_error(st)) {
    throughput_fail(call, s, sh->id);
    pthread_mutex_unlock(&st->lock);
    return;
  }
  kin_trim(s, now);
  json_t *records = json_array();
  uint64_t position = it.position, behind = 0;
  int ended = 0;
  kin_shard_read(records, &position, &ended, &behind, s, sh, (size_t)limit, KIN_MAX_GET_BYTES, now);
  json_t *out =
      json_pack("{s:o, s:I}", "Records", records, "MillisBehindLatest", (json_int_t)behind);
  if (ended) {
    json_object_set_new(out, "ChildShards", kin_child_shards(s, sh));
  } else {
    char *next = kin_iterator_make(st, s, sh, position, now);
    if (next)
      json_object_set_new(out, "NextShardIterator", json_string(next));
    free(next);
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

/* ---- kinesis.h ---- */

static kin_stream *api_stream(kinesis_state *st, const char *arn) {
  pthread_mutex_lock(&st->lock);
  kin_settle(st, kin_now_ms());
  kin_stream *s = kin_stream_by_arn(st, arn);
  if (!s || s->status == KIN_CREATING) {
    pthread_mutex_unlock(&st->lock);
    airgap_error_set(AIRGAP_ENOTFOUND, "Kinesis stream %s not found", arn);
    return NULL;
  }
  return s;
}

int kinesis_stream_shards(json_t **out, kinesis_state *st, const char *stream_arn) {
  kin_stream *s = api_stream(st, stream_arn);
  if (!s)
    return AIRGAP_ENOTFOUND;
  json_t *shards = json_array();
  for (size_t i = 0; i < s->nshards; i++) {
    kin_shard *sh = s->shards[i];
    json_t *o = json_pack("{s:s, s:b}", "ShardId", sh->id, "Closed", sh->end_seq != 0);
    if (sh->parent[0])
      json_object_set_new(o, "ParentShardId", json_string(sh->parent));
    if (sh->adjacent[0])
      json_object_set_new(o, "AdjacentParentShardId", json_string(sh->adjacent));
    json_array_append_new(shards, o);
  }
  pthread_mutex_unlock(&st->lock);
  *out = shards;
  return 0;
}

int kinesis_shard_read(json_t **out, kinesis_state *st, const char *stream_arn,
                       const char *shard_id, const char *after_seq, size_t limit) {
  if (limit < 1 || limit > KIN_MAX_GET_RECORDS)
    return airgap_error_set(AIRGAP_EINVALID, "Kinesis: limit %zu is not within 1..%d", limit,
                            KIN_MAX_GET_RECORDS);
  kin_stream *s = api_stream(st, stream_arn);
  if (!s)
    return AIRGAP_ENOTFOUND;
  kin_shard *sh = kin_shard_find(s, shard_id);
  if (!sh) {
    pthread_mutex_unlock(&st->lock);
    return airgap_error_set(AIRGAP_ENOTFOUND, "Kinesis shard %s of %s not found", shard_id,
                            stream_arn);
  }
  uint64_t now = kin_now_ms(), position = sh->start_seq, behind = 0;
  unsigned index = 0;
  if (after_seq && strcmp(after_seq, "LATEST") == 0) {
    position = tip(s, sh);
    limit = 0;
  } else if (after_seq && (kin_seq_parse(&position, &index, after_seq) < 0 || index != sh->index)) {
    pthread_mutex_unlock(&st->lock);
    return airgap_error_set(AIRGAP_EINVALID, "Kinesis: %.64s is not a sequence number of %s",
                            after_seq, shard_id);
  }
  kin_trim(s, now);
  json_t *records = json_array();
  int ended = 0;
  kin_shard_read(records, &position, &ended, &behind, s, sh, limit, KIN_MAX_GET_BYTES, now);
  char seq[KIN_SEQ_LEN + 1];
  kin_seq_format(seq, position, sh);
  pthread_mutex_unlock(&st->lock);
  *out = json_pack("{s:o, s:s, s:b}", "Records", records, "Position", seq, "EndOfShard", ended);
  return 0;
}
