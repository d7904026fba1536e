/*
 * dynamodb_int.h — private to emulator/dynamodb/: the pieces of the DynamoDB
 * service and the types they share. Nothing outside this folder (and its unit
 * tests) includes it.
 *
 * Values cross the service in the wire form of the JSON protocol: an
 * AttributeValue is a jansson object with one member named after its type
 * ({"S": "x"}, {"N": "1.5"}, {"B": "<base64>"}, {"SS": [...]}, {"M": {...}},
 * …). Numbers stay decimal strings end to end (canonicalised on the way in by
 * number.c, never converted to doubles).
 *
 * Locking: one mutex per service instance (ddb_state.lock) is held for the
 * whole of every operation, which makes every operation, batches and
 * transactions included, atomic and isolated at no extra cost.
 */
#ifndef AIRGAP_EMULATOR_DYNAMODB_INT_H
#define AIRGAP_EMULATOR_DYNAMODB_INT_H

#include "common/http_server.h"

#include <gmp.h>
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors (every function below that can fail fills one) ---- */

typedef struct ddb_error {
  const char *code; /* "ValidationException", … (static) */
  char message[1024];
  json_t *fields; /* extra members for the error body (owned; may be NULL) */
} ddb_error;

/* Records code and message in e (replacing what was there). Returns -1. */
int ddb_fail(ddb_error *e, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Shorthand for a ValidationException. Returns -1. */
int ddb_invalid(ddb_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ddb_error_clear(ddb_error *e);

/* ---- numbers (number.c): GMP integer × 10^exp ---- */

#define DDB_NUM_MAX_DIGITS 38
#define DDB_NUM_MAX_EXP 125  /* largest adjusted exponent (9.99…E+125) */
#define DDB_NUM_MIN_EXP -130 /* smallest adjusted exponent (1E-130) */

/* value = coef × 10^exp; canonical: coef has no trailing decimal zero, and
 * zero is coef 0, exp 0 (so "-0" is 0). */
typedef struct ddb_num {
  mpz_t coef;
  long exp;
} ddb_num;

void ddb_num_init(ddb_num *n);
void ddb_num_clear(ddb_num *n);
/* Parses text the way DynamoDB accepts it ([+-]digits[.digits][e[+-]digits],
 * at least one digit, no spaces, no NaN/Infinity) and checks precision and
 * range. On failure returns -1 with e filled with AWS's message and n left
 * unchanged. */
int ddb_num_parse(ddb_num *n, const char *text, ddb_error *e);
/* out = a + b (or a - b when negate_b), exact; fails like AWS when the
 * result needs more than 38 digits or leaves the range. out may alias. */
int ddb_num_add(ddb_num *out, const ddb_num *a, const ddb_num *b, int negate_b, ddb_error *e);
/* -1, 0, 1. */
int ddb_num_cmp(const ddb_num *a, const ddb_num *b);
/* The text DynamoDB answers with: plain notation, no exponent, no trailing
 * fractional zeros ("1E+2" → "100", "1.50" → "1.5", "-0" → "0"). Owned. */
char *ddb_num_text(const ddb_num *n);
/* Parse then text: the canonical form of a number string. Owned in *out. */
int ddb_num_canonical(char **out, const char *text, ddb_error *e);
/* Bytes whose memcmp order is the numeric order (for keys). Owned in *out. */
int ddb_num_sortable(unsigned char **out, size_t *len, const ddb_num *n);
/* Compares two canonical number strings numerically. */
int ddb_num_text_cmp(const char *a, const char *b);

/* ---- attribute values (value.c) ---- */

#define DDB_MAX_DEPTH 32               /* nesting of M and L */
#define DDB_MAX_ITEM_SIZE (400 * 1024) /* bytes, computed AWS's way */

/* The type member of an AttributeValue ("S", "N", "SS", "M", …); NULL when v
 * is not one. Borrowed (static). */
const char *ddb_value_type(const json_t *v);
/* The member holding the value ({"S": "x"} → "x"). Borrowed. */
json_t *ddb_value_payload(const json_t *v);
/* Checks a client's AttributeValue the way DynamoDB does (exactly one type,
 * valid numbers, non-empty sets without duplicates, nesting) and answers a
 * canonical copy (numbers canonical). New reference in *out. */
int ddb_value_check(json_t **out, const json_t *v, ddb_error *e);
/* The same over an attribute map ({"name": AttributeValue, …}). */
int ddb_item_check(json_t **out, const json_t *item, ddb_error *e);
/* 1 when a and b are the same value (sets compared as sets). */
int ddb_value_equal(const json_t *a, const json_t *b);
/* Ordering of two values of the same scalar type (S and B by bytes, N by
 * value): 0 with -1/0/1 in *out, or -1 when they cannot be ordered. */
int ddb_value_order(int *out, const json_t *a, const json_t *b);
/* Item size as DynamoDB bills and limits it: attribute name lengths plus
 * value sizes (numbers by significant digits, one byte per nested element…). */
size_t ddb_item_size(const json_t *item);
/* New {"N": text}. */
json_t *ddb_number_value(const char *text);

/* Key bytes: S as its UTF-8 bytes, B decoded, N in ddb_num_sortable form. */
typedef struct ddb_bytes {
  unsigned char *p; /* owned; NULL when len is 0 */
  size_t len;
} ddb_bytes;

/* The key bytes of AttributeValue v, which must be of type type ('S', 'N',
 * 'B'): -1 otherwise (no error recorded; the caller words it). */
int ddb_key_bytes(ddb_bytes *out, const json_t *v, char type);
int ddb_bytes_cmp(const ddb_bytes *a, const ddb_bytes *b);
/* 1 when b starts with prefix. */
int ddb_bytes_prefix(const ddb_bytes *b, const ddb_bytes *prefix);
void ddb_bytes_free(ddb_bytes *b);

/* ---- ordered storage (store.c) ---- */

/* One stored item. For a table k[0] is the sort key (empty without one); for
 * an index k[0] is the index's sort key and k[1], k[2] the table's hash and
 * sort key, which make entries unique and order ties. */
typedef struct ddb_entry {
  ddb_bytes k[3];
  json_t *item; /* reference held */
} ddb_entry;

/* All entries of one partition key, sorted by k[] (binary search). */
typedef struct ddb_part {
  ddb_bytes hk;
  ddb_entry **v;
  size_t n, cap;
} ddb_part;

/* Partitions sorted by partition key bytes (binary search); Scan walks them
 * in that order, which keeps pagination stable. */
typedef struct ddb_store {
  ddb_part **parts;
  size_t n, cap;
  size_t items;
} ddb_store;

/* The partition for hk: NULL when absent (and create is 0). */
ddb_part *ddb_store_part(ddb_store *s, const ddb_bytes *hk, int create);
/* Index of the partition >= hk. */
size_t ddb_store_part_lower(const ddb_store *s, const ddb_bytes *hk);
/* First entry position whose k[] >= key (compares nk components). */
size_t ddb_part_lower(const ddb_part *p, const ddb_bytes *key, int nk);
/* First entry position whose k[] > key. */
size_t ddb_part_upper(const ddb_part *p, const ddb_bytes *key, int nk);
/* Inserts or replaces the entry (hk, k): takes the bytes and a reference to
 * item. */
int ddb_store_put(ddb_store *s, ddb_bytes *hk, ddb_bytes k[3], json_t *item);
/* Removes the entry (hk, k) if there; 1 when removed. */
int ddb_store_remove(ddb_store *s, const ddb_bytes *hk, const ddb_bytes k[3]);
/* The item stored under (hk, k); borrowed, NULL when none. */
json_t *ddb_store_get(const ddb_store *s, const ddb_bytes *hk, const ddb_bytes k[3]);
void ddb_store_clear(ddb_store *s);

/* ---- tables and indexes (table.c) ---- */

typedef struct ddb_keydef {
  char *name; /* NULL: no such key */
  char type;  /* 'S', 'N', 'B' */
} ddb_keydef;

enum { DDB_PROJ_ALL, DDB_PROJ_KEYS_ONLY, DDB_PROJ_INCLUDE };

typedef struct ddb_index {
  char *name;
  int global;
  ddb_keydef hash, range;
  int projection;
  json_t *nonkey;     /* array of attribute names (INCLUDE) */
  json_t *throughput; /* ProvisionedThroughput as given (GSI) */
  ddb_store store;
} ddb_index;

typedef struct ddb_table {
  char *account, *region, *name, *arn;
  char id[37];
  double created;
  ddb_keydef hash, range;
  json_t *attr_defs; /* AttributeDefinitions as given */
  char billing[32];
  json_t *throughput;
  ddb_index **indexes;
  size_t nindexes;
  json_t *tags;        /* object: key → value */
  json_t *stream_spec; /* StreamSpecification or NULL */
  int deletion_protection;
  int pitr;                 /* point-in-time recovery setting (stored only) */
  int contributor_insights; /* stored only */
  char *ttl_attr;           /* TimeToLive attribute or NULL */
  ddb_store store;
  struct ddb_stream *stream; /* the enabled stream (borrowed from ddb_state) or NULL */
  char *stream_arn;          /* LatestStreamArn (kept after the stream is disabled) or NULL */
  char stream_label[32];     /* LatestStreamLabel */
} ddb_table;

typedef struct ddb_state {
  pthread_mutex_t lock;
  ddb_table **tables;
  size_t ntables;
  json_t *tokens; /* TransactWriteItems idempotency: token → {"at": ms, "body": s} */
  /* TTL sweep (ttl.c): the emulator and its timer, under lock. */
  void *emu;
  void *ttl_timer;
  uint64_t ttl_interval_ms; /* 0: no background sweep */
  int stopping;
  /* Streams (stream.c), enabled and disabled ones alike, until they expire. */
  struct ddb_stream **streams;
  size_t nstreams;
} ddb_state;

/* ---- streams (stream.c: records and retention; streams_api.c: the DynamoDB
 * Streams service, DynamoDBStreams_20120810.*) ---- */

#define DDB_STREAM_RETENTION_MS (24ull * 3600 * 1000) /* records and disabled streams */
#define DDB_STREAM_MAX_RECORDS 1000000          /* per stream; past it the oldest are trimmed */
#define DDB_ITERATOR_TTL_MS (15ull * 60 * 1000) /* shard iterators expire */

enum { DDB_EV_INSERT, DDB_EV_MODIFY, DDB_EV_REMOVE };

/* One change: the images are the stored items themselves (references), which
 * no write ever modifies in place (a write replaces them), so a record costs
 * two reference counts and a slot, whatever the view type; everything else
 * (Keys, SizeBytes, eventID) is derived when the record is read. */
typedef struct ddb_srec {
  uint64_t seq;
  uint64_t at_ms;
  json_t *old_img, *new_img; /* references; NULL when absent */
  unsigned char event;       /* DDB_EV_* */
  unsigned char by_service;  /* a TTL deletion */
} ddb_srec;

/* One stream with its single shard (DynamoDB rolls shards over every few
 * hours; within a 24-hour retention one shard per stream is what a consumer
 * sees between enabling and disabling). */
typedef struct ddb_stream {
  char *arn, *account, *region, *table;
  char label[32];                   /* "2026-12-02T12:58:36.123" */
  char shard_id[48];                /* "shardId-<20-digit ms>-<8 hex>" */
  char view[24];                    /* StreamViewType */
  char *hash, *range;               /* key attribute names (range NULL without one) */
  json_t *key_schema;               /* KeySchema as DescribeStream answers it */
  uint32_t salt;                    /* eventIDs: salt + sequence number */
  uint64_t created_ms, disabled_ms; /* disabled_ms 0 while enabled */
  uint64_t first_seq;               /* StartingSequenceNumber */
  uint64_t next_seq;                /* the number the next record gets */
  uint64_t trimmed_seq;             /* last sequence number trimmed (0: none) */
  ddb_srec *recs;                   /* recs[off .. off+n) are live */
  size_t off, n, cap;
} ddb_stream;

/* Checks a StreamSpecification (CreateTable, UpdateTable). */
int ddb_stream_spec_check(const json_t *spec, ddb_error *e);
/* Starts a new stream of view type view on t (t->stream, LatestStreamArn). */
int ddb_stream_enable(ddb_state *st, ddb_table *t, const char *view, uint64_t now_ms, ddb_error *e);
/* Disables t's stream (its shard closes; it stays readable for 24 hours). */
void ddb_stream_disable(ddb_table *t, uint64_t now_ms);
/* Records a change of one item (old and new: NULL when absent; a write that
 * changes nothing records nothing). Call before the store drops old. */
void ddb_stream_record(ddb_stream *s, const json_t *old_item, const json_t *new_item,
                       int by_service, uint64_t now_ms);
/* Drops records older than 24 hours and streams disabled longer than that. */
void ddb_streams_expire(ddb_state *st, uint64_t now_ms);
void ddb_streams_clear(ddb_state *st);
/* The stream with this ARN in the account and region; NULL when none. */
ddb_stream *ddb_stream_find(ddb_state *st, const char *account, const char *region,
                            const char *arn);
/* Position of the first live record whose sequence number is >= seq. */
size_t ddb_stream_lower(const ddb_stream *s, uint64_t seq);
/* Record i (0-based among the live ones) as GetRecords answers it. New. */
json_t *ddb_stream_record_json(const ddb_stream *s, size_t i, size_t *size_out);
/* The sequence number as text (21 digits). */
void ddb_stream_seq_text(char out[32], uint64_t seq);
/* Parses a sequence number as clients send it back (decimal digits that
 * fit 64 bits). */
int ddb_stream_seq_parse(uint64_t *out, const char *text);

/* Shard iterators are self-describing text, "<stream ARN>|1|<shard>|<next
 * sequence number>|<issued ms>": nothing is stored per iterator, and one
 * that is mangled parses as invalid. */
#define DDB_ITERATOR_MAX 2048
typedef struct ddb_iterator {
  char *arn;         /* owned: free(arn), which frees shard too */
  const char *shard; /* in arn's allocation */
  uint64_t pos, issued_ms;
} ddb_iterator;
/* A new iterator string for s at pos (NULL when it would not fit). */
json_t *ddb_stream_iterator(const ddb_stream *s, uint64_t pos, uint64_t now_ms);
/* -1 for anything that is not an iterator's shape; out filled on success. */
int ddb_stream_iterator_parse(ddb_iterator *out, const char *text);

/* ---- time to live (ttl.c) ---- */

/* Deletes, in every table with TTL enabled, the items whose TTL attribute
 * (a number of epoch seconds) is at or before now_s and not more than five
 * years old (DynamoDB leaves older ones alone). Call with the lock held.
 * Returns the number of items deleted. */
size_t ddb_ttl_sweep(ddb_state *st, uint64_t now_s);
/* DELETE /_aws/dynamodb/expired: sweeps now (aws_service.internal_endpoint). */
int ddb_internal_endpoint(void *state, http_request *req, const char *rest);
/* Sets up the background sweep (every AIRGAP_DYNAMODB_TTL_SWEEP_SECONDS,
 * default 60; 0 turns it off) on the emulator's timer thread; it runs once
 * ddb_ttl_arm finds a table with TTL enabled. */
void ddb_ttl_start(ddb_state *st, void *emu);
/* Schedules the next sweep unless one is scheduled, none is needed (no table
 * has TTL enabled) or the service stops. Call with the lock held. */
void ddb_ttl_arm(ddb_state *st);
/* Stops it; waits for a running sweep. Call without the lock. */
void ddb_ttl_stop(ddb_state *st);

/* The table named name in the caller's account and region, or NULL with
 * ResourceNotFoundException in e. */
ddb_table *ddb_table_find(ddb_state *st, const char *account, const char *region, const char *name,
                          ddb_error *e);
/* The same for the item operations (reads, writes, batches, transactions),
 * which DynamoDB answers with a plain "Requested resource not found". */
ddb_table *ddb_table_for_items(ddb_state *st, const char *account, const char *region,
                               const char *name, ddb_error *e);
ddb_index *ddb_table_index(const ddb_table *t, const char *name);
void ddb_table_free(ddb_table *t);
/* TableDescription as DescribeTable answers it. New reference. */
json_t *ddb_table_describe(const ddb_table *t, const char *status);
/* The key ({hash, range}) of item, checked against the table's schema: with
 * exact, item must hold the key attributes and nothing else (a Key
 * parameter). Fills hk/rk (owned) on success. */
int ddb_table_key(const ddb_table *t, const json_t *item, int exact, ddb_bytes *hk, ddb_bytes *rk,
                  ddb_error *e);
/* The stored item with key (hk, rk); borrowed, NULL when none. */
json_t *ddb_table_get(const ddb_table *t, const ddb_bytes *hk, const ddb_bytes *rk);
/* Checks a whole item about to be written (index key types, size). */
int ddb_table_check_item(const ddb_table *t, const json_t *item, ddb_error *e);
/* Replaces the item under (hk, rk) with item (NULL: deletes), keeping every
 * index in step. Takes the bytes; item's reference is not taken. */
int ddb_table_write(ddb_table *t, ddb_bytes *hk, ddb_bytes *rk, json_t *item);
/* The same for a deletion by the service itself (TTL), which its stream
 * records with the service's userIdentity. */
int ddb_table_write_by(ddb_table *t, ddb_bytes *hk, ddb_bytes *rk, json_t *item, int by_service);
/* Only the key attributes of item for the table (and index ix, if any). New. */
json_t *ddb_table_key_of(const ddb_table *t, const ddb_index *ix, const json_t *item);
/* item as index ix projects it. New reference. */
json_t *ddb_index_project(const ddb_table *t, const ddb_index *ix, const json_t *item);

/* ---- expressions (expr_parse.c, expr_eval.c) ---- */

typedef enum ddb_expr_kind {
  DDB_EXPR_CONDITION,
  DDB_EXPR_KEY_CONDITION,
  DDB_EXPR_FILTER,
  DDB_EXPR_PROJECTION,
  DDB_EXPR_UPDATE,
} ddb_expr_kind;

typedef enum ddb_node_kind {
  DN_PATH,
  DN_VALUE,
  DN_CMP,     /* op: DDB_EQ … */
  DN_BETWEEN, /* kid[0] BETWEEN kid[1] AND kid[2] */
  DN_IN,      /* kid[0] IN (kid[1..]) */
  DN_AND,
  DN_OR,
  DN_NOT,
  DN_FUNC,  /* op: DDB_F_* */
  DN_ARITH, /* op: '+' or '-' */
  DN_LIST,  /* projection: paths; update: actions */
  DN_SET,   /* kid[0] path, kid[1] value */
  DN_REMOVE,
  DN_ADD,
  DN_DELETE,
} ddb_node_kind;

enum { DDB_EQ, DDB_NE, DDB_LT, DDB_LE, DDB_GT, DDB_GE };
enum {
  DDB_F_ATTRIBUTE_EXISTS,
  DDB_F_ATTRIBUTE_NOT_EXISTS,
  DDB_F_ATTRIBUTE_TYPE,
  DDB_F_BEGINS_WITH,
  DDB_F_CONTAINS,
  DDB_F_SIZE,
  DDB_F_IF_NOT_EXISTS,
  DDB_F_LIST_APPEND,
};

typedef struct ddb_pelem {
  char *name; /* NULL for a list index */
  long index;
} ddb_pelem;

typedef struct ddb_node {
  ddb_node_kind kind;
  int op;
  struct ddb_node **kid;
  size_t n;
  ddb_pelem *path; /* DN_PATH */
  size_t plen;
  json_t *value; /* DN_VALUE: canonical copy of the placeholder's value (owned) */
  char *text;    /* DN_VALUE: placeholder name; DN_PATH: printable path */
} ddb_node;

/* Placeholders of one request, and which of them the expressions used. */
typedef struct ddb_expr_ctx {
  const json_t *names;  /* ExpressionAttributeNames (may be NULL) */
  const json_t *values; /* ExpressionAttributeValues (may be NULL) */
  json_t *canon;        /* the values, checked and canonical (owned) */
  json_t *used;         /* object: "#n"/":v" → true (owned) */
  int parsed;           /* expressions parsed so far */
} ddb_expr_ctx;

/* 1 when word is one of DynamoDB's reserved words (any case). */
int ddb_reserved_word(const char *word);

/* Checks the placeholder maps themselves (not empty, values valid). */
int ddb_expr_ctx_init(ddb_expr_ctx *ctx, const json_t *names, const json_t *values, ddb_error *e);
void ddb_expr_ctx_free(ddb_expr_ctx *ctx);
/* Parses text as an expression of kind. *out owned (ddb_node_free). name is
 * the parameter ("ConditionExpression") for messages. */
int ddb_expr_parse(ddb_node **out, ddb_expr_kind kind, const char *name, const char *text,
                   ddb_expr_ctx *ctx, ddb_error *e);
/* After every expression of the request is parsed: unused placeholders. */
int ddb_expr_check_unused(const ddb_expr_ctx *ctx, ddb_error *e);
void ddb_node_free(ddb_node *n);
/* A new node (NULL when out of memory); free with ddb_node_free. */
ddb_node *ddb_node_new(ddb_node_kind kind, int op);
/* Appends kid to n, taking it: on failure (n or kid NULL, out of memory) kid
 * is freed and -1 returned, so parsers can chain calls without leaks. */
int ddb_node_add(ddb_node *n, ddb_node *kid);

/* The value at path in item (an attribute map); borrowed, NULL when absent. */
json_t *ddb_path_get(const json_t *item, const ddb_pelem *path, size_t plen);
/* Evaluates a condition/filter against item (NULL: no item). */
int ddb_cond_eval(const ddb_node *n, const json_t *item, int *out, ddb_error *e);
/* Applies an UpdateExpression to item (modified in place). key_names: the
 * table's key attribute names, which may not be changed. */
int ddb_update_apply(const ddb_node *n, json_t *item, const char *const key_names[2], ddb_error *e);
/* The attributes of item that a ProjectionExpression selects. New reference. */
json_t *ddb_project(const ddb_node *n, const json_t *item);
/* The parts of item at the paths an update's actions name (ReturnValues
 * UPDATED_OLD / UPDATED_NEW). New reference. */
json_t *ddb_project_updated(const ddb_node *update, const json_t *item);

/* The entry key (partition bytes and k[]) in the table's or index's store
 * of a key (ExclusiveStartKey: the table's key plus the index's). */
int ddb_entry_key(const ddb_table *t, const ddb_index *ix, const json_t *key, ddb_bytes *hk,
                  ddb_bytes k[3], ddb_error *e);

/* ---- legacy parameters (legacy.c) ---- */

/* The condition of a legacy parameter (Expected, KeyConditions, QueryFilter,
 * ScanFilter; with ConditionalOperator) as a tree; *out NULL when absent. */
int ddb_legacy_condition(ddb_node **out, const json_t *in, const char *param, ddb_error *e);
/* AttributeUpdates as an update tree; *out NULL when absent. */
int ddb_legacy_update(ddb_node **out, const json_t *in, ddb_error *e);
/* Refuses a request that mixes any legacy parameter with any expression
 * parameter (NULL-terminated name lists), with AWS's message. */
int ddb_legacy_check_mix(const json_t *in, const char *const *legacy, const char *const *modern,
                         ddb_error *e);

/* ---- PartiQL (partiql.c, partiql_exec.c) ---- */

typedef enum { DDB_PQ_SELECT, DDB_PQ_INSERT, DDB_PQ_UPDATE, DDB_PQ_DELETE } ddb_pq_kind;

typedef struct ddb_pq_stmt {
  ddb_pq_kind kind;
  char *table, *index;
  ddb_node *where;  /* condition or NULL */
  ddb_node *proj;   /* SELECT paths (DN_LIST) or NULL for * */
  ddb_node *update; /* UPDATE actions (DN_LIST) */
  json_t *item;     /* INSERT attributes (checked values) */
} ddb_pq_stmt;

/* Parses one statement; ? placeholders take params (a list of
 * AttributeValues) in order. st is filled only on success. */
int ddb_pq_parse(ddb_pq_stmt *st, const char *text, const json_t *params, ddb_error *e);
void ddb_pq_free(ddb_pq_stmt *st);

/* ---- operations (item.c, query.c, batch.c, transact.c, table.c) ---- */

typedef struct ddb_request {
  ddb_state *st;
  const char *account, *region;
  const json_t *input;
} ddb_request;

/* Each answers 0 with a new reference in *out, or -1 with e filled. */
typedef int (*ddb_op_fn)(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_create_table(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_describe_table(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_list_tables(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_update_table(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_delete_table(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_tag_resource(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_untag_resource(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_list_tags(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_update_ttl(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_describe_ttl(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_describe_limits(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_describe_endpoints(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_describe_continuous_backups(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_update_continuous_backups(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_describe_kinesis_destination(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_describe_contributor_insights(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_update_contributor_insights(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_put_item(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_get_item(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_update_item(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_delete_item(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_query(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_scan(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_batch_get(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_batch_write(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_transact_write(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_transact_get(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_execute_statement(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_batch_execute_statement(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_execute_transaction(json_t **out, ddb_request *rq, ddb_error *e);
/* DynamoDB Streams (streams_api.c), over the same state. */
int ddb_op_list_streams(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_describe_stream(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_get_shard_iterator(json_t **out, ddb_request *rq, ddb_error *e);
int ddb_op_get_records(json_t **out, ddb_request *rq, ddb_error *e);

/* A single write as PutItem/UpdateItem/DeleteItem/ConditionCheck describe it
 * (item.c), split into check and apply so that transactions check every
 * action before applying any. */
typedef enum { DDB_W_PUT, DDB_W_UPDATE, DDB_W_DELETE, DDB_W_CHECK } ddb_write_kind;
typedef struct ddb_write {
  ddb_write_kind kind;
  ddb_table *table;
  ddb_bytes hk, rk;
  json_t *old;                       /* the item before (reference), NULL when none */
  json_t *new_item;                  /* the item after (owned), NULL for delete/check */
  json_t *updated_old, *updated_new; /* UpdateItem: the updated paths before/after */
  json_t *input;                     /* borrowed: the action's parameters */
} ddb_write;

/* Parses and checks one write against the current state; on a failing
 * condition answers ConditionalCheckFailedException (with Item when
 * ReturnValuesOnConditionCheckFailure asks). */
int ddb_write_prepare(ddb_write *w, ddb_request *rq, ddb_write_kind kind, const json_t *input,
                      ddb_error *e);
/* The same from parsed trees (PartiQL): given is the checked Item (put) or
 * Key (others); cond and upd may be NULL. input may be NULL. */
int ddb_write_prepare_tree(ddb_write *w, ddb_write_kind kind, ddb_table *t, const json_t *given,
                           const ddb_node *cond, const ddb_node *upd, const json_t *input,
                           ddb_error *e);
/* Applies a prepared write. */
int ddb_write_apply(ddb_write *w, ddb_error *e);
void ddb_write_free(ddb_write *w);
/* ProjectionExpression or AttributesToGet of a read as a projection (*out
 * NULL when neither is given). */
int ddb_read_projection(ddb_node **out, const json_t *in, ddb_expr_ctx *ctx, ddb_error *e);
/* The identity of the write's item as text (its key bytes in hex), for
 * "one item twice" checks. Owned (free()). */
char *ddb_key_text(const ddb_write *w);

#endif
