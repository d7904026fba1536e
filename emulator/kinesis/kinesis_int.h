/*
 * kinesis_int.h — private to emulator/kinesis/: the stream store shared by
 * the Kinesis Data Streams handlers (one .c per concept: the service and its
 * lookups, streams, hash keys, records and iterators, resharding, consumers).
 *
 * State is plain C structs under one mutex per service instance: a list of
 * streams, each with its shards (open and closed, in creation order) and each
 * shard with its records in sequence order. A stream-wide counter numbers
 * every record and every shard boundary, so sequence numbers increase within
 * a shard and a child shard's numbers follow its parents'.
 *
 * Status transitions (CREATING→ACTIVE, UPDATING→ACTIVE, DELETING→gone) are
 * lazy: a stream records when its pending change completes (ready_ms) and
 * every lookup settles it first, so there are no timers to cancel. The delay
 * is LocalStack's KINESIS_LATENCY (milliseconds, default 500).
 */
#ifndef AIRGAP_EMULATOR_KINESIS_INT_H
#define AIRGAP_EMULATOR_KINESIS_INT_H

#include "emulator/kinesis/kinesis.h"
#include "emulator/service.h"

#include <gmp.h>
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define KIN_MAX_RECORD (1u << 20)      /* data plus partition key, bytes */
#define KIN_MAX_BATCH_BYTES (5u << 20) /* one PutRecords request */
#define KIN_MAX_BATCH_RECORDS 500      /* one PutRecords request */
#define KIN_MAX_GET_BYTES (10u << 20)  /* one GetRecords answer */
#define KIN_MAX_GET_RECORDS 10000      /* GetRecords Limit */
#define KIN_SHARD_LIMIT 500            /* open shards per account and region */
#define KIN_ON_DEMAND_LIMIT 50         /* on-demand streams per account and region */
#define KIN_ON_DEMAND_SHARDS 4         /* shards an on-demand stream starts with */
#define KIN_MAX_CONSUMERS 20           /* enhanced fan-out consumers per stream */
#define KIN_MAX_TAGS 50                /* tags per stream */
#define KIN_MIN_RETENTION 24           /* hours */
#define KIN_MAX_RETENTION 8760         /* hours */
#define KIN_ITERATOR_TTL_MS 300000     /* AWS: iterators expire after 5 minutes */
#define KIN_SEQ_LEN 56                 /* digits of a sequence number */
#define KIN_SUB_DURATION_MS 300000     /* AWS: a subscription lasts 5 minutes */
#define KIN_SUB_TAKEOVER_MS 5000       /* AWS: a resubscription within 5 s is refused */

typedef enum kin_status {
  KIN_CREATING,
  KIN_ACTIVE,
  KIN_UPDATING,
  KIN_DELETING,
} kin_status;

typedef struct kin_record {
  uint64_t seq;        /* the stream counter at the put */
  uint64_t arrival_ms; /* wall clock */
  size_t size;         /* decoded data bytes plus partition key bytes */
  char *key;           /* partition key; data follows it in the same block */
  char *data;          /* base64, as clients send and receive it */
} kin_record;

typedef struct kin_shard {
  char id[32];
  unsigned index;
  char parent[32];   /* "" when none */
  char adjacent[32]; /* "" when none */
  mpz_t start, end;  /* hash key range, inclusive */
  uint64_t start_seq;
  uint64_t end_seq; /* 0 while open */
  uint64_t created_ms;
  uint64_t closed_ms; /* 0 while open */
  kin_record *recs;   /* recs[first..count) live */
  size_t first, count, cap;
} kin_shard;

typedef struct kin_consumer {
  char name[129];
  char arn[512];
  uint64_t created_ms; /* also the ARN's suffix, in seconds */
  kin_status status;   /* CREATING, ACTIVE or DELETING */
  uint64_t ready_ms;
  json_t *tags; /* object: key → value (TagResource on the consumer's ARN) */
} kin_consumer;

typedef struct kin_stream {
  char account[16];
  char region[32];
  char name[129];
  char arn[256];
  uint64_t created_ms;
  kin_status status;
  uint64_t ready_ms; /* when the pending transition completes */
  int on_demand;
  int retention_hours;
  uint64_t seq; /* last counter handed out */
  unsigned next_index;
  kin_shard **shards;
  size_t nshards, capshards;
  json_t *tags;    /* object: key → value */
  json_t *metrics; /* array of enabled shard-level metric names */
  char encryption[8];
  char *key_id;
  kin_consumer **consumers;
  size_t nconsumers;
} kin_stream;

struct kinesis_state {
  pthread_mutex_t lock;
  kin_stream **streams;
  size_t nstreams, cap;
  uint64_t latency_ms;
  uint64_t iterator_ttl_ms;
  double error_probability; /* KINESIS_ERROR_PROBABILITY */
  unsigned char iterator_key[32];
  emulator *emu;
  /* SubscribeToShard (subscribe.c): live subscriptions, the one timer that
   * feeds them all, and how long one lasts (AIRGAP_KINESIS_SUBSCRIPTION_MS,
   * AWS's 5 minutes by default). */
  struct kin_sub *subs;
  emulator_timer *sub_timer;
  uint64_t sub_duration_ms;
  int stopping;
};

typedef struct kinesis_state kin_state;

/* ---- service.c: lookups and argument checks (answer on failure) ---- */

kin_state *kin_state_of(aws_call *call);
uint64_t kin_now_ms(void);
/* Milliseconds of a timestamp value (seconds since the epoch, as the
 * protocol layer gives it), clamped to [0, 2^53] so a hostile value cannot
 * overflow the conversion. */
uint64_t kin_ms_of(const json_t *timestamp);
const char *kin_status_name(kin_status s);
/* Settles the pending transitions of every stream (under the lock). */
void kin_settle(kin_state *st, uint64_t now);
/* The stream named by input's StreamName or StreamARN, under st->lock, held
 * on success; NULL after answering (ResourceNotFoundException, a validation
 * error, or InvalidArgumentException when name and ARN disagree). When
 * active is set, a stream that is not ACTIVE answers ResourceInUseException;
 * when readable is set, CREATING streams are not found (as AWS answers
 * data-plane calls; a DELETING stream still takes reads and writes). */
kin_stream *kin_lock_stream(kin_state *st, aws_call *call, json_t *input, int active, int readable);
/* Finds a stream by account/region/name under the lock (NULL: none). */
kin_stream *kin_stream_find(kin_state *st, const char *account, const char *region,
                            const char *name);
/* The stream whose ARN is arn (NULL: none), under the lock. */
kin_stream *kin_stream_by_arn(kin_state *st, const char *arn);
kin_shard *kin_shard_find(kin_stream *s, const char *shard_id);
/* Unlocks st and answers ResourceNotFoundException for shard_id of s, in
 * AWS's words. */
void kin_fail_no_shard(kin_state *st, aws_call *call, const kin_stream *s, const char *shard_id);
/* Frees a stream and everything in it. */
void kin_stream_free(kin_stream *s);
/* Removes a stream from the store and frees it. */
void kin_stream_remove(kin_state *st, kin_stream *s);
/* Starts a transition: status now, ACTIVE (or gone) after the latency. */
void kin_stream_transition(kin_state *st, kin_stream *s, kin_status status);

/* AWS's validation error: "1 validation error detected: Value 'v' at
 * 'member' failed to satisfy constraint: Member must …" (ValidationException). */
void kin_fail_validation(aws_call *call, const char *member, const char *value,
                         const char *constraint);
/* Checks a name ([a-zA-Z0-9_.-]{1,128}); -1 after answering. */
int kin_name_arg(aws_call *call, const char *member, const char *value);
/* An optional integer member within [min, max]; *out keeps dflt when absent.
 * -1 after answering. */
int kin_int_arg(aws_call *call, json_t *input, const char *key, const char *member, long min,
                long max, long dflt, long *out);

/* ---- hashkey.c: 128-bit hash keys (GMP) ---- */

/* The hash key of a partition key: its MD5 read as a big-endian integer. */
void kin_hash_partition_key(mpz_t out, const char *key);
/* The same as 16 big-endian bytes (the MD5 digest itself), and conversions
 * between bytes and integers (v must be below 2^128). */
void kin_hash_key_bytes(unsigned char out[16], const char *key);
/* The same for a key of len bytes, reusing ctx (an EVP_MD_CTX, or NULL for
 * a one-shot digest): PutRecords hashes up to 500 keys with one context
 * instead of making and wiping one per record. */
void kin_hash_key_bytes_ctx(unsigned char out[16], const char *key, size_t len, void *ctx);
void kin_hash_from_bytes(mpz_t out, const unsigned char in[16]);
void kin_hash_to_bytes(unsigned char out[16], const mpz_t v);
/* Parses a decimal hash key in [0, 2^128); -1 when malformed or out of range. */
int kin_hash_parse(mpz_t out, const char *text);
/* Decimal text of a hash key (new jansson string). */
json_t *kin_hash_json(const mpz_t v);
/* Sets start/end of shard i of n shards evenly splitting [lo, hi]. */
void kin_hash_split_even(mpz_t start, mpz_t end, const mpz_t lo, const mpz_t hi, unsigned i,
                         unsigned n);
/* {"StartingHashKey", "EndingHashKey"} of a shard (new reference). */
json_t *kin_hash_range_json(const kin_shard *sh);

/* ---- streams.c: stream records ---- */

/* A new shard appended to s (open, starting at the stream's counter), or NULL
 * when out of memory. */
kin_shard *kin_shard_add(kin_stream *s, const mpz_t start, const mpz_t end, const char *parent,
                         const char *adjacent);
/* Closes a shard at the stream's current counter. */
void kin_shard_close(kin_stream *s, kin_shard *sh);
size_t kin_open_shards(const kin_stream *s);
/* Open shards of every stream of an account and region. */
size_t kin_account_open_shards(kin_state *st, const char *account, const char *region);
/* The Shard description of AWS (new reference). */
json_t *kin_shard_json(const kin_stream *s, const kin_shard *sh);
/* Drops records older than the retention period. */
void kin_trim(kin_stream *s, uint64_t now);

/* ---- records.c: sequence numbers and iterators ---- */

/* The 56-digit sequence number of counter seq on shard sh. */
void kin_seq_format(char out[KIN_SEQ_LEN + 1], uint64_t seq, const kin_shard *sh);
/* Rewrites the counter of seq_text, a sequence number kin_seq_format wrote,
 * to seq: the same shard's next number without formatting its other 30
 * digits again (PutRecords does this per record). */
void kin_seq_set_counter(char seq_text[KIN_SEQ_LEN + 1], uint64_t seq);
/* Parses a sequence number; 0 with *seq and *shard_index set, -1 when it is
 * not one of ours. */
int kin_seq_parse(uint64_t *seq, unsigned *shard_index, const char *text);
/* Opaque tokens (shard iterators, ListShards NextTokens): base64 of
 * "<field>|<field>|…|<mac>", the MAC (HMAC-SHA256, truncated) keyed by a
 * per-emulator random key so that a forged or altered token is refused.
 * Fields must not contain '|'. kin_token_make: owned (free()), NULL when out
 * of memory. kin_token_parse splits a token into exactly n fields (each
 * pointer into *buf, owned by the caller: free()); -1 when the token is
 * malformed, forged or has another number of fields. */
#define KIN_MAX_TOKEN 2048
char *kin_token_make(const kin_state *st, const char *const *fields, size_t n);
int kin_token_parse(char **buf, char **fields, size_t n, const kin_state *st, const char *text);
/* Parses a decimal uint64 field; -1 when malformed. */
int kin_u64_parse(uint64_t *out, const char *text);
/* Shard iterators are tokens of the fields stream ARN, stream creation ms,
 * shard id, position and issue time (ms). */
char *kin_iterator_make(const kin_state *st, const kin_stream *s, const kin_shard *sh,
                        uint64_t position, uint64_t issued_ms);
typedef struct kin_iterator {
  char arn[256];
  uint64_t stream_created_ms;
  char shard[32];
  uint64_t position; /* records with seq > position come next */
  uint64_t issued_ms;
} kin_iterator;
/* Decodes and checks an iterator; -1 when malformed or forged. */
int kin_iterator_parse(kin_iterator *out, const kin_state *st, const char *text);
/* ChildShards of a closed shard (new reference, array). */
json_t *kin_child_shards(const kin_stream *s, const kin_shard *sh);
/* Appends a record to an open shard of s (the next sequence number, arrival
 * now); key and data (base64) are copied. NULL when out of memory. */
kin_record *kin_record_add(kin_stream *s, kin_shard *sh, const char *key, const char *data,
                           size_t size);
/* Index of the first live record of sh with seq > position. */
size_t kin_record_after(const kin_shard *sh, uint64_t position);
/* Reads from *position: records (appended to out_records, at most limit and
 * max_bytes, at least one), the new *position, whether the shard ended (all
 * read, and closed), and MillisBehindLatest. */
void kin_shard_read(json_t *out_records, uint64_t *position, int *ended, uint64_t *behind,
                    const kin_stream *s, const kin_shard *sh, size_t limit, size_t max_bytes,
                    uint64_t now);
/* A starting position type's number: AT_SEQUENCE_NUMBER 0,
 * AFTER_SEQUENCE_NUMBER 1, TRIM_HORIZON 2, LATEST 3, AT_TIMESTAMP 4; -1 for
 * anything else (NULL too). */
int kin_start_type(const char *type);
/* How GetShardIterator and SubscribeToShard name a starting position's parts
 * in their errors. */
typedef struct kin_start_names {
  const char *type_member; /* the type's member in validation errors */
  const char *sequence;    /* the sequence number's member */
  const char *type_name;   /* the type as InvalidArgumentException names it */
} kin_start_names;
/* A starting position checked as AWS checks it: a known type, with the
 * sequence number or timestamp it needs. Its number, or -1 after answering. */
int kin_start_type_check(aws_call *call, const char *type, const kin_start_names *names,
                         const char *seq_text, const json_t *timestamp);
/* The position (records with seq > it come next) a reader starting at type
 * has on sh. seq_text is the sequence number of types 0 and 1, when_ms the
 * timestamp of type 4. Returns 0; -1 when seq_text is not a sequence number;
 * -2 when it is one of another shard (*seq_shard: that shard's index). */
int kin_start_position(uint64_t *out, unsigned *seq_shard, const kin_stream *s, const kin_shard *sh,
                       int type, const char *seq_text, uint64_t when_ms);

/* ---- operations ---- */

void kin_create_stream(aws_call *call, json_t *input);
void kin_delete_stream(aws_call *call, json_t *input);
void kin_describe_stream(aws_call *call, json_t *input);
void kin_describe_stream_summary(aws_call *call, json_t *input);
void kin_list_streams(aws_call *call, json_t *input);
void kin_list_shards(aws_call *call, json_t *input);
void kin_describe_limits(aws_call *call, json_t *input);
void kin_increase_retention(aws_call *call, json_t *input);
void kin_decrease_retention(aws_call *call, json_t *input);
void kin_add_tags(aws_call *call, json_t *input);
void kin_remove_tags(aws_call *call, json_t *input);
void kin_list_tags(aws_call *call, json_t *input);
void kin_tag_resource(aws_call *call, json_t *input);
void kin_untag_resource(aws_call *call, json_t *input);
void kin_list_tags_for_resource(aws_call *call, json_t *input);
/* The consumer named by input's ConsumerARN, or StreamARN and
 * ConsumerName, with its stream in *stream and st->lock held; NULL after
 * answering (validation, InvalidArgumentException, ResourceNotFoundException). */
kin_consumer *kin_lock_consumer(kin_state *st, aws_call *call, json_t *input, kin_stream **stream);
/* Frees a consumer (NULL is fine). */
void kin_consumer_free(kin_consumer *c);
void kin_start_encryption(aws_call *call, json_t *input);
void kin_stop_encryption(aws_call *call, json_t *input);
void kin_enable_monitoring(aws_call *call, json_t *input);
void kin_disable_monitoring(aws_call *call, json_t *input);
void kin_update_stream_mode(aws_call *call, json_t *input);

void kin_put_record(aws_call *call, json_t *input);
void kin_put_records(aws_call *call, json_t *input);
void kin_get_shard_iterator(aws_call *call, json_t *input);
void kin_get_records(aws_call *call, json_t *input);

void kin_split_shard(aws_call *call, json_t *input);
void kin_merge_shards(aws_call *call, json_t *input);
void kin_update_shard_count(aws_call *call, json_t *input);

void kin_register_consumer(aws_call *call, json_t *input);
void kin_describe_consumer(aws_call *call, json_t *input);
void kin_list_consumers(aws_call *call, json_t *input);
void kin_deregister_consumer(aws_call *call, json_t *input);
void kin_subscribe_to_shard(aws_call *call, json_t *input);
/* Ends every subscription (reset, shutdown: stop also cancels the timer and
 * keeps new ones out). Called without st->lock held. */
void kin_subs_end_all(kin_state *st, int stop);

#endif
