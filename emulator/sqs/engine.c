/*
 * sqs_engine.c — the SQS engine: queues, messages and every SQS operation.
 *
 * State lives in memory behind one mutex per engine: SQS calls are short (a
 * few list walks), so one lock keeps every invariant simple (FIFO group locks,
 * deduplication, redrive between queues) at a cost far below the HTTP work
 * around each call. Queues are found through a hash map keyed by
 * account/region/name; a queue keeps its messages in one list in send order
 * (standard queues deliver oldest-first too) plus a map from the message's
 * engine-wide sequence number, which receipt handles carry.
 *
 * Time is read through hooks (sqs_hooks) so the unit tests can turn the
 * clock by hand. Visibility timeouts, delays and retention are evaluated
 * lazily against "now" whenever a queue is looked at; nothing ticks.
 *
 * Long polls: a ReceiveMessage that finds nothing and may wait becomes a
 * waiter on its queue with one timer, armed for the earlier of its deadline
 * and the next moment a message of the queue becomes visible. Any call that
 * makes messages available (send, delete unlocking a FIFO group, visibility
 * change, redrive) hands them to waiting receivers at once. Answers are
 * always delivered after the engine lock is released; a waiter answered by
 * another thread has its timer canceled before it is freed (the cancel waits
 * for a firing timer, which then sees the waiter done and leaves it alone).
 *
 * Receipt handles are 64 hex digits: queue incarnation, message sequence
 * number, delivery number and a keyed check, so handles from another queue,
 * a deleted-and-recreated queue, an older delivery or plain garbage are told
 * apart without storing them.
 */
#include "emulator/sqs/sqs_int.h"

#include "common/codec.h"
#include "common/error.h"
#include "common/jsonutil.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <strings.h>

/* ---- limits (AWS's published quotas) ---- */

#define SQS_MAX_NAME 80
#define SQS_MAX_MESSAGE_SIZE 262144
#define SQS_MAX_BATCH 10
#define SQS_MAX_BATCH_ID 80
#define SQS_MAX_MESSAGE_ATTRIBUTES 10
#define SQS_MAX_ATTRIBUTE_NAME 256
#define SQS_MAX_DATA_TYPE 256
#define SQS_MAX_DEDUP_ID 128
#define SQS_MAX_TAGS 50
#define SQS_MAX_POLICY 20480
#define SQS_DEDUP_WINDOW_MS (5 * 60 * 1000)
#define SQS_PURGE_INTERVAL_MS (60 * 1000)
#define SQS_MAX_LIST_RESULTS 1000
#define SQS_MAX_VISIBILITY 43200

/* ---- a small string-keyed hash map ---- */

typedef struct map_entry {
  struct map_entry *next;
  char *key;
  void *value;
} map_entry;

typedef struct sqs_map {
  map_entry **buckets;
  size_t nbuckets;
  size_t count;
} sqs_map;

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return h;
}

static void *map_get(const sqs_map *m, const char *key) {
  if (m->nbuckets == 0)
    return NULL;
  for (map_entry *e = m->buckets[hash_str(key) & (m->nbuckets - 1)]; e; e = e->next)
    if (strcmp(e->key, key) == 0)
      return e->value;
  return NULL;
}

static int map_grow(sqs_map *m) {
  size_t n = m->nbuckets ? m->nbuckets * 2 : 16;
  map_entry **b = calloc(n, sizeof(*b));
  if (!b)
    return -1;
  for (size_t i = 0; i < m->nbuckets; i++) {
    map_entry *e = m->buckets[i];
    while (e) {
      map_entry *next = e->next;
      size_t j = hash_str(e->key) & (n - 1);
      e->next = b[j];
      b[j] = e;
      e = next;
    }
  }
  free(m->buckets);
  m->buckets = b;
  m->nbuckets = n;
  return 0;
}

/* Adds key (copied) → value; the key must not be present. */
static int map_put(sqs_map *m, const char *key, void *value) {
  if (m->count >= m->nbuckets && map_grow(m) < 0)
    return -1;
  map_entry *e = malloc(sizeof(*e));
  if (!e)
    return -1;
  e->key = strdup(key);
  if (!e->key) {
    free(e);
    return -1;
  }
  e->value = value;
  size_t i = hash_str(key) & (m->nbuckets - 1);
  e->next = m->buckets[i];
  m->buckets[i] = e;
  m->count++;
  return 0;
}

static void *map_del(sqs_map *m, const char *key) {
  if (m->nbuckets == 0)
    return NULL;
  map_entry **p = &m->buckets[hash_str(key) & (m->nbuckets - 1)];
  for (; *p; p = &(*p)->next) {
    if (strcmp((*p)->key, key) == 0) {
      map_entry *e = *p;
      void *value = e->value;
      *p = e->next;
      free(e->key);
      free(e);
      m->count--;
      return value;
    }
  }
  return NULL;
}

static void map_clear(sqs_map *m) {
  for (size_t i = 0; i < m->nbuckets; i++) {
    map_entry *e = m->buckets[i];
    while (e) {
      map_entry *next = e->next;
      free(e->key);
      free(e);
      e = next;
    }
  }
  free(m->buckets);
  memset(m, 0, sizeof(*m));
}

/* ---- entries that expire (FIFO deduplication ids, receive attempt ids) ----
 * Entries are added with a fixed window, so they expire in insertion order:
 * a list in that order plus a map to the live node. */

typedef struct ttl_node {
  struct ttl_node *next;
  char *key;
  uint64_t expires;
  char message_id[40];
  char sequence[24];
  json_t *messages; /* receive attempts: the answer given */
  size_t count;
  uint64_t seqs[SQS_MAX_BATCH];
  uint64_t deliveries[SQS_MAX_BATCH];
} ttl_node;

typedef struct ttl_map {
  sqs_map map;
  ttl_node *head, *tail;
} ttl_map;

static void ttl_node_free(ttl_node *n) {
  if (!n)
    return;
  free(n->key);
  json_decref(n->messages);
  free(n);
}

static void ttl_prune(ttl_map *t, uint64_t now) {
  while (t->head && t->head->expires <= now) {
    ttl_node *n = t->head;
    t->head = n->next;
    if (!t->head)
      t->tail = NULL;
    if (map_get(&t->map, n->key) == n)
      map_del(&t->map, n->key);
    ttl_node_free(n);
  }
}

static ttl_node *ttl_get(ttl_map *t, const char *key, uint64_t now) {
  ttl_prune(t, now);
  return map_get(&t->map, key);
}

/* Adds a node for key (replacing the live one); returns it or NULL. */
static ttl_node *ttl_add(ttl_map *t, const char *key, uint64_t expires) {
  ttl_node *n = calloc(1, sizeof(*n));
  if (!n)
    return NULL;
  n->key = strdup(key);
  if (!n->key || (map_del(&t->map, key), map_put(&t->map, key, n) < 0)) {
    ttl_node_free(n);
    return NULL;
  }
  n->expires = expires;
  if (t->tail)
    t->tail->next = n;
  else
    t->head = n;
  t->tail = n;
  return n;
}

/* Forgets key (the node stays in the list until it expires). */
static void ttl_forget(ttl_map *t, const char *key) { map_del(&t->map, key); }

static void ttl_clear(ttl_map *t) {
  while (t->head) {
    ttl_node *n = t->head;
    t->head = n->next;
    ttl_node_free(n);
  }
  t->tail = NULL;
  map_clear(&t->map);
}

/* ---- engine state ---- */

typedef struct sqs_queue sqs_queue;
typedef struct sqs_waiter sqs_waiter;

typedef struct sqs_msg {
  struct sqs_msg *prev, *next;
  uint64_t seq;      /* engine-wide; in receipt handles */
  uint64_t delivery; /* delivery number of the current receipt handle, 0: never */
  char id[40];
  char *body;
  size_t body_len;
  json_t *attributes; /* MessageAttributes object, or NULL */
  char md5_body[33];
  char md5_attributes[33];   /* "" when no attributes */
  char md5_system[33];       /* "" when no system attributes */
  char *trace_header;        /* AWSTraceHeader, or NULL */
  char *group_id, *dedup_id; /* or NULL */
  char *dlq_source_arn;      /* set once moved to a dead-letter queue */
  char sender[16];
  char sequence[24]; /* FIFO SequenceNumber, "" otherwise */
  uint64_t sent_ms;
  uint64_t retain_from_ms;
  uint64_t visible_at_ms;
  uint64_t first_receive_ms;
  uint64_t receive_count;
} sqs_msg;

typedef struct qattrs {
  int fifo;
  int64_t delay, max_size, retention, wait, visibility, kms_reuse;
  int content_dedup, dedup_scope_group, throughput_per_group, sse;
  char *policy, *redrive_policy, *redrive_allow, *kms_key;
  char *dlq_arn; /* parsed from redrive_policy */
  int64_t max_receive;
} qattrs;

struct sqs_queue {
  sqs_queue *prev, *next; /* all queues of the engine */
  char *key;              /* account/region/name */
  char account[16];
  char *region, *name, *arn;
  uint64_t uid;
  qattrs a;
  int64_t created_s, modified_s;
  uint64_t last_purge_ms;
  json_t *tags;
  sqs_msg *head, *tail;
  sqs_map messages; /* seq (hex) → sqs_msg */
  uint64_t next_sequence;
  ttl_map dedup;
  ttl_map attempts;
  sqs_waiter *waiters_head, *waiters_tail;
  /* Standard queues: no message from head through skip_after becomes
   * visible before skip_until, so receives start after skip_after. Keeps
   * receives O(batch) with many messages in flight. */
  sqs_msg *skip_after;
  uint64_t skip_until;
};

typedef struct recv_params {
  int64_t max;
  int64_t visibility; /* -1: the queue's */
  json_t *system_names;
  json_t *attribute_names;
  char *attempt_id;
} recv_params;

struct sqs_waiter {
  sqs_waiter *prev, *next;
  sqs_engine *engine;
  sqs_queue *queue;
  recv_params params;
  uint64_t deadline_ms;
  void *timer;
  int done;
  sqs_done_fn fn;
  void *payload;
};

struct sqs_engine {
  pthread_mutex_t lock;
  sqs_hooks hooks;
  sqs_map queues;
  sqs_queue *queues_head;
  uint64_t next_uid, next_seq, next_delivery;
  uint64_t key; /* receipt-handle check */
  int shutting_down;
};

/* A waiter answered under the lock, to be finished after it is released. */
typedef struct finished {
  struct finished *next;
  sqs_waiter *waiter;
  json_t *output;
} finished;

/* One operation in progress (under the engine lock). */
typedef struct sqs_op {
  sqs_engine *e;
  const sqs_context *ctx;
  uint64_t now;
  sqs_error err;
  json_t *output;
  int suspended;
  finished *done;
} sqs_op;

/* ---- small helpers ---- */

static int set_err(sqs_error *err, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int set_err(sqs_error *err, int status, const char *code, const char *fmt, ...) {
  err->status = status;
  err->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof(err->message), fmt, ap);
  va_end(ap);
  return -1;
}

static int oom(sqs_error *err) {
  return set_err(err, 500, "InternalFailure", "The emulator ran out of memory.");
}

static int missing(sqs_error *err, const char *name) {
  return set_err(err, 0, "MissingParameter", "The request must contain the parameter %s.", name);
}

/* Reads an optional integer member (the protocol layer makes integers; a
 * string of digits is accepted too). 0 absent, 1 present, -1 malformed. */
static int int_member(json_t *obj, const char *name, int64_t *out, sqs_error *err) {
  json_t *v = json_object_get(obj, name);
  if (!v || json_is_null(v))
    return 0;
  if (json_is_integer(v)) {
    *out = json_integer_value(v);
    return 1;
  }
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    char *end = NULL;
    long long n = strtoll(s, &end, 10);
    if (*s && end && *end == '\0') {
      *out = n;
      return 1;
    }
  }
  return set_err(err, 0, "InvalidParameterValue",
                 "Value for parameter %s is invalid. Reason: must be an integer.", name);
}

/* Parses a whole decimal attribute value in [lo, hi]. */
static int parse_int_range(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  if (!s || !*s || strlen(s) > 18)
    return -1;
  for (const char *p = s; *p; p++)
    if (*p < '0' || *p > '9')
      return -1;
  char *end = NULL;
  long long n = strtoll(s, &end, 10);
  if (*end || n < lo || n > hi)
    return -1;
  *out = n;
  return 0;
}

static int replace_str(char **slot, const char *value) {
  char *copy = NULL;
  if (value && !(copy = strdup(value)))
    return -1;
  free(*slot);
  *slot = copy;
  return 0;
}

static void md5_hex(char out[33], const void *data, size_t len) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data, len, d, &n, EVP_md5(), NULL);
  codec_hex_encode(out, d, 16);
}

static void sha256_hex(char out[65], const void *data, size_t len) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data, len, d, &n, EVP_sha256(), NULL);
  codec_hex_encode(out, d, 32);
}

/* Characters SQS accepts in bodies and attribute values: #x9 #xA #xD
 * #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF, as well-formed UTF-8. */
static int valid_message_chars(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  while (p < end) {
    uint32_t c;
    int n;
    if (*p < 0x80) {
      c = *p;
      n = 1;
    } else if ((*p & 0xe0) == 0xc0) {
      c = *p & 0x1f;
      n = 2;
    } else if ((*p & 0xf0) == 0xe0) {
      c = *p & 0x0f;
      n = 3;
    } else if ((*p & 0xf8) == 0xf0) {
      c = *p & 0x07;
      n = 4;
    } else {
      return 0;
    }
    if (end - p < n)
      return 0;
    for (int i = 1; i < n; i++) {
      if ((p[i] & 0xc0) != 0x80)
        return 0;
      c = (c << 6) | (p[i] & 0x3f);
    }
    p += n;
    if (c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
        (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff))
      continue;
    return 0;
  }
  return 1;
}

static int name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Queue names: 1-80 of [A-Za-z0-9_-], plus ".fifo" for FIFO queues. */
static int valid_queue_name(const char *name, int fifo) {
  size_t n = strlen(name);
  if (n == 0 || n > SQS_MAX_NAME)
    return 0;
  if (fifo) {
    if (!ends_with(name, ".fifo") || n == 5)
      return 0;
    n -= 5;
  }
  for (size_t i = 0; i < n; i++)
    if (!name_char(name[i]))
      return 0;
  return 1;
}

/* Group and deduplication ids: 1-128 printable ASCII (letters, digits, punctuation). */
static int valid_dedup_chars(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > SQS_MAX_DEDUP_ID)
    return 0;
  for (; *s; s++)
    if (*s < 0x21 || *s > 0x7e)
      return 0;
  return 1;
}

/* A decimal number as SQS's Number type accepts it. */
static int valid_number(const char *s) {
  const char *p = s;
  if (*p == '-' || *p == '+')
    p++;
  int digits = 0;
  while (*p >= '0' && *p <= '9') {
    p++;
    digits++;
  }
  if (*p == '.') {
    p++;
    while (*p >= '0' && *p <= '9') {
      p++;
      digits++;
    }
  }
  if (!digits)
    return 0;
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '-' || *p == '+')
      p++;
    if (*p < '0' || *p > '9')
      return 0;
    while (*p >= '0' && *p <= '9')
      p++;
  }
  return *p == '\0';
}

/* ---- MD5 of message attributes (AWS's algorithm) ---- */

static void md5_update_len_bytes(EVP_MD_CTX *md, const void *data, size_t len) {
  unsigned char be[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16),
                         (unsigned char)(len >> 8), (unsigned char)len};
  EVP_DigestUpdate(md, be, 4);
  EVP_DigestUpdate(md, data, len);
}

static int cmp_str_ptr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int md5_binary_value(EVP_MD_CTX *md, json_t *v) {
  if (!json_is_string(v))
    return -1;
  unsigned char *bytes = NULL;
  size_t n = 0;
  if (codec_base64_decode(&bytes, &n, json_string_value(v), json_string_length(v)) < 0)
    return -1;
  md5_update_len_bytes(md, bytes, n);
  free(bytes);
  return 0;
}

int sqs_md5_of_attributes(char out[33], json_t *attributes) {
  int rc = AIRGAP_EINVALID;
  const char **names = NULL;
  EVP_MD_CTX *md = NULL;
  size_t count = json_object_size(attributes), i = 0;
  if (!json_is_object(attributes))
    return airgap_error_set(AIRGAP_EINVALID, "message attributes are not a map");
  names = calloc(count ? count : 1, sizeof(*names));
  md = EVP_MD_CTX_new();
  if (!names || !md || EVP_DigestInit_ex(md, EVP_md5(), NULL) != 1) {
    rc = airgap_error_set(AIRGAP_ERROR, "cannot compute an MD5 digest: out of memory");
    goto cleanup;
  }
  const char *key;
  json_t *value;
  json_object_foreach(attributes, key, value) names[i++] = key;
  qsort(names, count, sizeof(*names), cmp_str_ptr);
  for (i = 0; i < count; i++) {
    json_t *v = json_object_get(attributes, names[i]);
    const char *type = jsonutil_string(v, "DataType");
    if (!type)
      goto invalid;
    md5_update_len_bytes(md, names[i], strlen(names[i]));
    md5_update_len_bytes(md, type, strlen(type));
    json_t *sv = json_object_get(v, "StringValue"), *bv = json_object_get(v, "BinaryValue");
    json_t *slv = json_object_get(v, "StringListValues"),
           *blv = json_object_get(v, "BinaryListValues");
    if (json_is_string(sv)) {
      EVP_DigestUpdate(md, "\x01", 1);
      md5_update_len_bytes(md, json_string_value(sv), json_string_length(sv));
    } else if (bv) {
      EVP_DigestUpdate(md, "\x02", 1);
      if (md5_binary_value(md, bv) < 0)
        goto invalid;
    } else if (json_is_array(slv) && json_array_size(slv) > 0) {
      EVP_DigestUpdate(md, "\x03", 1);
      size_t j;
      json_t *item;
      json_array_foreach(slv, j, item) {
        if (!json_is_string(item))
          goto invalid;
        md5_update_len_bytes(md, json_string_value(item), json_string_length(item));
      }
    } else if (json_is_array(blv) && json_array_size(blv) > 0) {
      EVP_DigestUpdate(md, "\x04", 1);
      size_t j;
      json_t *item;
      json_array_foreach(blv, j, item) if (md5_binary_value(md, item) < 0) goto invalid;
    } else {
      goto invalid;
    }
  }
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(md, d, &n);
  codec_hex_encode(out, d, 16);
  rc = 0;
  goto cleanup;
invalid:
  rc = airgap_error_set(AIRGAP_EINVALID, "message attribute without a valid value");
cleanup:
  EVP_MD_CTX_free(md);
  free(names);
  return rc;
}

/* ---- receipt handles ---- */

static uint64_t mix64(uint64_t x) { /* splitmix64 finalizer */
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

static uint64_t handle_check(const sqs_engine *e, uint64_t uid, uint64_t seq, uint64_t delivery) {
  return mix64(e->key ^ mix64(uid ^ mix64(seq ^ mix64(delivery))));
}

static void handle_make(char out[65], const sqs_engine *e, const sqs_queue *q, const sqs_msg *m) {
  snprintf(out, 65, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, q->uid, m->seq,
           m->delivery, handle_check(e, q->uid, m->seq, m->delivery));
}

static int handle_parse(const sqs_engine *e, const char *h, uint64_t *uid, uint64_t *seq,
                        uint64_t *delivery) {
  if (!h || strlen(h) != 64)
    return -1;
  uint64_t v[4];
  for (int i = 0; i < 4; i++) {
    char part[17];
    memcpy(part, h + 16 * i, 16);
    part[16] = '\0';
    for (int j = 0; j < 16; j++)
      if (!((part[j] >= '0' && part[j] <= '9') || (part[j] >= 'a' && part[j] <= 'f')))
        return -1;
    v[i] = strtoull(part, NULL, 16);
  }
  if (handle_check(e, v[0], v[1], v[2]) != v[3])
    return -1;
  *uid = v[0];
  *seq = v[1];
  *delivery = v[2];
  return 0;
}

static int invalid_handle(sqs_error *err, const char *h) {
  return set_err(err, 0, "ReceiptHandleIsInvalid",
                 "The input receipt handle \"%.200s\" is not a valid receipt handle.", h ? h : "");
}

/* ---- queue attributes ---- */

static const char *const ALL_ATTRIBUTES[] = {
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "DelaySeconds",
    "LastModifiedTimestamp",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "Policy",
    "QueueArn",
    "ReceiveMessageWaitTimeSeconds",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "VisibilityTimeout",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
};
#define ALL_ATTRIBUTE_COUNT (sizeof(ALL_ATTRIBUTES) / sizeof(ALL_ATTRIBUTES[0]))

static int is_fifo_only_attribute(const char *name) {
  return !strcmp(name, "ContentBasedDeduplication") || !strcmp(name, "DeduplicationScope") ||
         !strcmp(name, "FifoThroughputLimit");
}

static int is_known_attribute(const char *name) {
  for (size_t i = 0; i < ALL_ATTRIBUTE_COUNT; i++)
    if (!strcmp(ALL_ATTRIBUTES[i], name))
      return 1;
  return 0;
}

static void qattrs_defaults(qattrs *a, int fifo) {
  memset(a, 0, sizeof(*a));
  a->fifo = fifo;
  a->delay = 0;
  a->max_size = SQS_MAX_MESSAGE_SIZE;
  a->retention = 345600;
  a->wait = 0;
  a->visibility = 30;
  a->kms_reuse = 300;
  a->sse = 1;
}

static void qattrs_free(qattrs *a) {
  free(a->policy);
  free(a->redrive_policy);
  free(a->redrive_allow);
  free(a->kms_key);
  free(a->dlq_arn);
  memset(a, 0, sizeof(*a));
}

static int qattrs_copy(qattrs *out, const qattrs *a) {
  *out = *a;
  out->policy = out->redrive_policy = out->redrive_allow = out->kms_key = out->dlq_arn = NULL;
  if ((a->policy && !(out->policy = strdup(a->policy))) ||
      (a->redrive_policy && !(out->redrive_policy = strdup(a->redrive_policy))) ||
      (a->redrive_allow && !(out->redrive_allow = strdup(a->redrive_allow))) ||
      (a->kms_key && !(out->kms_key = strdup(a->kms_key))) ||
      (a->dlq_arn && !(out->dlq_arn = strdup(a->dlq_arn)))) {
    qattrs_free(out);
    return -1;
  }
  return 0;
}

static int bad_value(sqs_error *err, const char *name) {
  return set_err(err, 0, "InvalidAttributeValue", "Invalid value for the parameter %s.", name);
}

static int bad_redrive(sqs_error *err, const char *value, const char *reason) {
  return set_err(err, 0, "InvalidParameterValue",
                 "Value %.200s for parameter RedrivePolicy is invalid. Reason: %s", value, reason);
}

/* Splits "arn:aws:sqs:<region>:<account>:<name>". */
static int parse_queue_arn(const char *arn, char *region, size_t region_len, char *account,
                           size_t account_len, char *name, size_t name_len) {
  const char *prefix = "arn:aws:sqs:";
  if (strncmp(arn, prefix, strlen(prefix)) != 0)
    return -1;
  const char *r = arn + strlen(prefix), *c1 = strchr(r, ':');
  if (!c1)
    return -1;
  const char *c2 = strchr(c1 + 1, ':');
  if (!c2 || strchr(c2 + 1, ':'))
    return -1;
  size_t rl = (size_t)(c1 - r), al = (size_t)(c2 - c1 - 1), nl = strlen(c2 + 1);
  if (rl == 0 || rl >= region_len || al == 0 || al >= account_len || nl == 0 || nl >= name_len)
    return -1;
  memcpy(region, r, rl);
  region[rl] = '\0';
  memcpy(account, c1 + 1, al);
  account[al] = '\0';
  memcpy(name, c2 + 1, nl);
  name[nl] = '\0';
  return 0;
}

static int set_redrive_policy(qattrs *a, const char *value, sqs_error *err) {
  if (!*value) {
    free(a->redrive_policy);
    free(a->dlq_arn);
    a->redrive_policy = a->dlq_arn = NULL;
    a->max_receive = 0;
    return 0;
  }
  if (strlen(value) > SQS_MAX_POLICY)
    return bad_redrive(err, value, "Redrive policy is too long.");
  json_t *j = json_loads(value, JSON_REJECT_DUPLICATES, NULL);
  int rc = -1;
  if (!json_is_object(j)) {
    bad_redrive(err, value, "Redrive policy is not a valid JSON map.");
    goto cleanup;
  }
  const char *key;
  json_t *v;
  json_object_foreach(j, key, v) {
    if (strcmp(key, "deadLetterTargetArn") && strcmp(key, "maxReceiveCount")) {
      bad_redrive(err, value,
                  "Only following attributes are supported: [deadLetterTargetArn, "
                  "maxReceiveCount].");
      goto cleanup;
    }
  }
  const char *arn = jsonutil_string(j, "deadLetterTargetArn");
  json_t *count = json_object_get(j, "maxReceiveCount");
  if (!arn) {
    bad_redrive(err, value,
                "Redrive policy does not contain mandatory attribute: "
                "deadLetterTargetArn.");
    goto cleanup;
  }
  if (!count) {
    bad_redrive(err, value,
                "Redrive policy does not contain mandatory attribute: "
                "maxReceiveCount.");
    goto cleanup;
  }
  int64_t n = 0;
  if (json_is_integer(count))
    n = json_integer_value(count);
  else if (!json_is_string(count) || parse_int_range(json_string_value(count), 1, 1000, &n) < 0)
    n = -1;
  if (n < 1 || n > 1000) {
    bad_redrive(err, value,
                "Invalid value for maxReceiveCount: must be an integer from 1 to "
                "1000.");
    goto cleanup;
  }
  char region[64], account[32], name[128];
  if (parse_queue_arn(arn, region, sizeof(region), account, sizeof(account), name, sizeof(name)) <
      0) {
    bad_redrive(err, value, "Invalid value for deadLetterTargetArn.");
    goto cleanup;
  }
  json_t *norm =
      json_pack("{s:s, s:I}", "deadLetterTargetArn", arn, "maxReceiveCount", (json_int_t)n);
  char *dump = norm ? json_dumps(norm, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(norm);
  if (!dump || replace_str(&a->dlq_arn, arn) < 0) {
    free(dump);
    oom(err);
    goto cleanup;
  }
  free(a->redrive_policy);
  a->redrive_policy = dump;
  a->max_receive = n;
  rc = 0;
cleanup:
  json_decref(j);
  return rc;
}

static int set_redrive_allow(qattrs *a, const char *value, sqs_error *err) {
  if (!*value)
    return replace_str(&a->redrive_allow, NULL);
  json_t *j =
      strlen(value) <= SQS_MAX_POLICY ? json_loads(value, JSON_REJECT_DUPLICATES, NULL) : NULL;
  int rc = -1;
  const char *perm = jsonutil_string(j, "redrivePermission");
  json_t *arns = json_object_get(j, "sourceQueueArns");
  const char *reason = NULL;
  if (!json_is_object(j))
    reason = "Redrive allow policy is not a valid JSON map.";
  else if (!perm ||
           (strcmp(perm, "allowAll") && strcmp(perm, "denyAll") && strcmp(perm, "byQueue")))
    reason = "Invalid value for redrivePermission: must be allowAll, denyAll or byQueue.";
  else if (!strcmp(perm, "byQueue") &&
           (!json_is_array(arns) || json_array_size(arns) < 1 || json_array_size(arns) > 10))
    reason = "byQueue requires sourceQueueArns with 1 to 10 queue ARNs.";
  else if (strcmp(perm, "byQueue") && arns)
    reason = "sourceQueueArns is only allowed with redrivePermission byQueue.";
  if (reason) {
    set_err(err, 0, "InvalidParameterValue",
            "Value %.200s for parameter RedriveAllowPolicy is invalid. Reason: %s", value, reason);
    goto cleanup;
  }
  char *dump = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (!dump) {
    oom(err);
    goto cleanup;
  }
  free(a->redrive_allow);
  a->redrive_allow = dump;
  rc = 0;
cleanup:
  json_decref(j);
  return rc;
}

/* Applies one attribute to a; validation errors leave a partly changed, so
 * callers work on a copy. FifoQueue is handled by CreateQueue itself. */
static int qattrs_set(qattrs *a, const char *name, json_t *jv, sqs_error *err) {
  char numbuf[32];
  const char *v;
  if (json_is_string(jv)) {
    v = json_string_value(jv);
  } else if (json_is_integer(jv)) {
    snprintf(numbuf, sizeof(numbuf), "%" JSON_INTEGER_FORMAT, json_integer_value(jv));
    v = numbuf;
  } else if (json_is_boolean(jv)) {
    v = json_is_true(jv) ? "true" : "false";
  } else {
    return bad_value(err, name);
  }
  if (!a->fifo && is_fifo_only_attribute(name))
    return set_err(err, 0, "InvalidAttributeName", "Unknown Attribute %s.", name);
  if (!strcmp(name, "DelaySeconds"))
    return parse_int_range(v, 0, 900, &a->delay) < 0 ? bad_value(err, name) : 0;
  if (!strcmp(name, "MaximumMessageSize"))
    return parse_int_range(v, 1024, SQS_MAX_MESSAGE_SIZE, &a->max_size) < 0 ? bad_value(err, name)
                                                                            : 0;
  if (!strcmp(name, "MessageRetentionPeriod"))
    return parse_int_range(v, 60, 1209600, &a->retention) < 0 ? bad_value(err, name) : 0;
  if (!strcmp(name, "ReceiveMessageWaitTimeSeconds"))
    return parse_int_range(v, 0, 20, &a->wait) < 0 ? bad_value(err, name) : 0;
  if (!strcmp(name, "VisibilityTimeout"))
    return parse_int_range(v, 0, SQS_MAX_VISIBILITY, &a->visibility) < 0 ? bad_value(err, name) : 0;
  if (!strcmp(name, "KmsDataKeyReusePeriodSeconds"))
    return parse_int_range(v, 60, 86400, &a->kms_reuse) < 0 ? bad_value(err, name) : 0;
  if (!strcmp(name, "Policy")) {
    if (*v) {
      json_t *p = strlen(v) <= SQS_MAX_POLICY ? json_loads(v, 0, NULL) : NULL;
      int ok = json_is_object(p);
      json_decref(p);
      if (!ok)
        return set_err(err, 0, "InvalidAttributeValue",
                       "Invalid value for the parameter Policy: not a JSON policy document.");
    }
    return replace_str(&a->policy, *v ? v : NULL) < 0 ? oom(err) : 0;
  }
  if (!strcmp(name, "RedrivePolicy"))
    return set_redrive_policy(a, v, err);
  if (!strcmp(name, "RedriveAllowPolicy"))
    return set_redrive_allow(a, v, err);
  if (!strcmp(name, "KmsMasterKeyId")) {
    if (strlen(v) > 2048)
      return bad_value(err, name);
    return replace_str(&a->kms_key, *v ? v : NULL) < 0 ? oom(err) : 0;
  }
  if (!strcmp(name, "SqsManagedSseEnabled") || !strcmp(name, "ContentBasedDeduplication")) {
    int on;
    if (!strcmp(v, "true"))
      on = 1;
    else if (!strcmp(v, "false"))
      on = 0;
    else
      return bad_value(err, name);
    if (name[0] == 'S')
      a->sse = on;
    else
      a->content_dedup = on;
    return 0;
  }
  if (!strcmp(name, "DeduplicationScope")) {
    if (strcmp(v, "messageGroup") && strcmp(v, "queue"))
      return bad_value(err, name);
    a->dedup_scope_group = !strcmp(v, "messageGroup");
    return 0;
  }
  if (!strcmp(name, "FifoThroughputLimit")) {
    if (strcmp(v, "perQueue") && strcmp(v, "perMessageGroupId"))
      return bad_value(err, name);
    a->throughput_per_group = !strcmp(v, "perMessageGroupId");
    return 0;
  }
  return set_err(err, 0, "InvalidAttributeName", "Unknown Attribute %s.", name);
}

/* ---- queues ---- */

static void msg_free(sqs_msg *m) {
  if (!m)
    return;
  free(m->body);
  json_decref(m->attributes);
  free(m->trace_header);
  free(m->group_id);
  free(m->dedup_id);
  free(m->dlq_source_arn);
  free(m);
}

static void seq_key(char out[24], uint64_t seq) { snprintf(out, 24, "%" PRIx64, seq); }

static void msg_unlink(sqs_queue *q, sqs_msg *m) {
  if (q->skip_after == m)
    q->skip_after = m->prev;
  if (m->prev)
    m->prev->next = m->next;
  else
    q->head = m->next;
  if (m->next)
    m->next->prev = m->prev;
  else
    q->tail = m->prev;
  m->prev = m->next = NULL;
  char key[24];
  seq_key(key, m->seq);
  map_del(&q->messages, key);
}

static int msg_append(sqs_queue *q, sqs_msg *m) {
  char key[24];
  seq_key(key, m->seq);
  if (map_put(&q->messages, key, m) < 0)
    return -1;
  m->next = NULL;
  m->prev = q->tail;
  if (q->tail)
    q->tail->next = m;
  else
    q->head = m;
  q->tail = m;
  return 0;
}

static void msg_delete(sqs_queue *q, sqs_msg *m) {
  msg_unlink(q, m);
  msg_free(m);
}

static sqs_msg *msg_find(sqs_queue *q, uint64_t seq) {
  char key[24];
  seq_key(key, seq);
  return map_get(&q->messages, key);
}

static void queue_free(sqs_queue *q) {
  if (!q)
    return;
  while (q->head)
    msg_delete(q, q->head);
  map_clear(&q->messages);
  ttl_clear(&q->dedup);
  ttl_clear(&q->attempts);
  qattrs_free(&q->a);
  json_decref(q->tags);
  free(q->key);
  free(q->region);
  free(q->name);
  free(q->arn);
  free(q);
}

static char *queue_key(const char *account, const char *region, const char *name) {
  size_t n = strlen(account) + strlen(region) + strlen(name) + 3;
  char *k = malloc(n);
  if (k)
    snprintf(k, n, "%s/%s/%s", account, region, name);
  return k;
}

static sqs_queue *queue_get(sqs_engine *e, const char *account, const char *region,
                            const char *name) {
  char *k = queue_key(account, region, name);
  sqs_queue *q = k ? map_get(&e->queues, k) : NULL;
  free(k);
  return q;
}

static sqs_queue *queue_by_arn(sqs_engine *e, const char *arn) {
  char region[64], account[32], name[128];
  if (!arn || parse_queue_arn(arn, region, sizeof(region), account, sizeof(account), name,
                              sizeof(name)) < 0)
    return NULL;
  return queue_get(e, account, region, name);
}

static char *queue_url(const sqs_op *op, const sqs_queue *q) {
  const char *ep = op->ctx->endpoint ? op->ctx->endpoint : "http://localhost:4566";
  size_t n = strlen(ep) + strlen(q->account) + strlen(q->name) + 3;
  char *u = malloc(n);
  if (u)
    snprintf(u, n, "%s/%s/%s", ep, q->account, q->name);
  return u;
}

static int is_account(const char *s, size_t n) {
  if (n != 12)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return 0;
  return 1;
}

/* Finds the queue a QueueUrl names: "<scheme>://<host>/<account>/<name>" (the
 * path's last two segments; a bare name works too). The region is the
 * caller's unless the host spells one the way AWS and LocalStack do
 * ("sqs.<region>.…" or "<region>.queue.…"). */
static int queue_from_url(sqs_op *op, json_t *in, sqs_queue **out) {
  const char *url = jsonutil_string(in, "QueueUrl");
  if (!url || !*url)
    return missing(&op->err, "QueueUrl");
  char region[64];
  snprintf(region, sizeof(region), "%s", op->ctx->region);
  const char *path = url;
  const char *scheme = strstr(url, "://");
  if (scheme) {
    const char *host = scheme + 3;
    const char *slash = strchr(host, '/');
    size_t host_len = slash ? (size_t)(slash - host) : strlen(host);
    const char *r = NULL;
    size_t rl = 0;
    if (host_len > 4 && !strncmp(host, "sqs.", 4)) {
      r = host + 4;
      const char *dot = memchr(r, '.', host_len - 4);
      rl = dot ? (size_t)(dot - r) : 0;
    } else {
      const char *dot = memchr(host, '.', host_len);
      if (dot && (size_t)(host + host_len - dot) > 7 && !strncmp(dot, ".queue.", 7)) {
        r = host;
        rl = (size_t)(dot - host);
      }
    }
    /* Only region-shaped names ("us-east-1"), not "localhost". */
    if (r && rl > 0 && rl < sizeof(region) && memchr(r, '-', rl)) {
      memcpy(region, r, rl);
      region[rl] = '\0';
    }
    path = slash ? slash : "";
  }
  /* The last non-empty segments: ".../<account>/<name>", or LocalStack's
   * path style ".../queue/<region>/<account>/<name>". */
  const char *segs[4] = {NULL, NULL, NULL, NULL};
  size_t lens[4] = {0, 0, 0, 0};
  const char *p = path;
  while (*p) {
    while (*p == '/')
      p++;
    if (!*p || *p == '?')
      break;
    const char *s = p;
    while (*p && *p != '/' && *p != '?')
      p++;
    memmove(segs, segs + 1, 3 * sizeof(*segs));
    memmove(lens, lens + 1, 3 * sizeof(*lens));
    segs[3] = s;
    lens[3] = (size_t)(p - s);
  }
  char name[SQS_MAX_NAME + 1], account[16];
  snprintf(account, sizeof(account), "%s", op->ctx->account);
  if (!segs[3] || lens[3] > SQS_MAX_NAME)
    goto not_found;
  memcpy(name, segs[3], lens[3]);
  name[lens[3]] = '\0';
  if (segs[2] && is_account(segs[2], lens[2])) {
    memcpy(account, segs[2], 12);
    account[12] = '\0';
    if (segs[0] && lens[0] == 5 && !memcmp(segs[0], "queue", 5) && lens[1] > 0 &&
        lens[1] < sizeof(region)) {
      memcpy(region, segs[1], lens[1]);
      region[lens[1]] = '\0';
    }
  }
  sqs_queue *q = queue_get(op->e, account, region, name);
  if (!q)
    goto not_found;
  *out = q;
  return 0;
not_found:
  return set_err(&op->err, 0, "QueueDoesNotExist", "The specified queue does not exist.");
}

/* ---- waiters ---- */

static void recv_params_free(recv_params *p) {
  json_decref(p->system_names);
  json_decref(p->attribute_names);
  free(p->attempt_id);
  memset(p, 0, sizeof(*p));
}

static void waiter_unlink(sqs_waiter *w) {
  sqs_queue *q = w->queue;
  if (w->prev)
    w->prev->next = w->next;
  else
    q->waiters_head = w->next;
  if (w->next)
    w->next->prev = w->prev;
  else
    q->waiters_tail = w->prev;
  w->prev = w->next = NULL;
}

/* Marks w answered with output (under the lock); finish_all delivers it. */
static void waiter_finish(sqs_op *op, sqs_waiter *w, json_t *output) {
  finished *f = calloc(1, sizeof(*f));
  waiter_unlink(w);
  w->done = 1;
  w->queue = NULL;
  if (!f) {
    /* Out of memory: answer now, under the lock; better than a hung call. */
    w->fn(output, NULL, w->payload);
    w->fn = NULL;
    return;
  }
  f->waiter = w;
  f->output = output;
  f->next = op->done;
  op->done = f;
}

static void waiter_free(sqs_waiter *w) {
  recv_params_free(&w->params);
  free(w);
}

/* Delivers the answers collected under the lock; call without the lock. */
static void finish_all(sqs_engine *e, finished *list) {
  while (list) {
    finished *f = list;
    list = f->next;
    sqs_waiter *w = f->waiter;
    if (w->timer)
      e->hooks.timer_cancel(e->hooks.payload, w->timer);
    if (w->fn)
      w->fn(f->output, NULL, w->payload);
    else
      json_decref(f->output);
    waiter_free(w);
    free(f);
  }
}

static json_t *empty_receive(void) { return json_object(); }

/* ---- delivery ---- */

static int name_selected(json_t *names, const char *name) {
  size_t i;
  json_t *v;
  json_array_foreach(names, i, v) {
    const char *s = json_string_value(v);
    if (s && (!strcmp(s, "All") || !strcmp(s, name)))
      return 1;
  }
  return 0;
}

static int attribute_selected(json_t *names, const char *name) {
  size_t i;
  json_t *v;
  json_array_foreach(names, i, v) {
    const char *s = json_string_value(v);
    if (!s)
      continue;
    size_t n = strlen(s);
    if (!strcmp(s, "All") || !strcmp(s, ".*") || !strcmp(s, name))
      return 1;
    if (n >= 2 && !strcmp(s + n - 2, ".*") && !strncmp(s, name, n - 1))
      return 1;
  }
  return 0;
}

static int put_u64(json_t *obj, const char *key, uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof(buf), "%" PRIu64, v);
  return json_object_set_new(obj, key, json_string(buf));
}

static json_t *render_message(sqs_op *op, sqs_queue *q, sqs_msg *m, const recv_params *p) {
  char handle[65];
  handle_make(handle, op->e, q, m);
  json_t *out = json_object();
  json_t *sys = json_object();
  if (!out || !sys)
    goto fail;
  json_object_set_new(out, "MessageId", json_string(m->id));
  json_object_set_new(out, "ReceiptHandle", json_string(handle));
  json_object_set_new(out, "MD5OfBody", json_string(m->md5_body));
  json_object_set_new(out, "Body", json_stringn(m->body, m->body_len));
  json_t *names = p->system_names;
  if (name_selected(names, "SenderId"))
    json_object_set_new(sys, "SenderId", json_string(m->sender));
  if (name_selected(names, "SentTimestamp"))
    put_u64(sys, "SentTimestamp", m->sent_ms);
  if (name_selected(names, "ApproximateReceiveCount"))
    put_u64(sys, "ApproximateReceiveCount", m->receive_count);
  if (name_selected(names, "ApproximateFirstReceiveTimestamp"))
    put_u64(sys, "ApproximateFirstReceiveTimestamp", m->first_receive_ms);
  if (m->sequence[0] && name_selected(names, "SequenceNumber"))
    json_object_set_new(sys, "SequenceNumber", json_string(m->sequence));
  if (m->dedup_id && name_selected(names, "MessageDeduplicationId"))
    json_object_set_new(sys, "MessageDeduplicationId", json_string(m->dedup_id));
  if (m->group_id && name_selected(names, "MessageGroupId"))
    json_object_set_new(sys, "MessageGroupId", json_string(m->group_id));
  if (m->trace_header && name_selected(names, "AWSTraceHeader"))
    json_object_set_new(sys, "AWSTraceHeader", json_string(m->trace_header));
  if (m->dlq_source_arn && name_selected(names, "DeadLetterQueueSourceArn"))
    json_object_set_new(sys, "DeadLetterQueueSourceArn", json_string(m->dlq_source_arn));
  if (json_object_size(sys))
    json_object_set(out, "Attributes", sys);
  json_decref(sys);
  sys = NULL;
  if (m->attributes && p->attribute_names) {
    json_t *sel = json_object();
    const char *k;
    json_t *v;
    if (!sel)
      goto fail;
    json_object_foreach(m->attributes, k, v) {
      if (attribute_selected(p->attribute_names, k))
        json_object_set(sel, k, v);
    }
    char md5[33];
    if (json_object_size(sel) && sqs_md5_of_attributes(md5, sel) == 0) {
      json_object_set_new(out, "MD5OfMessageAttributes", json_string(md5));
      json_object_set_new(out, "MessageAttributes", sel);
    } else {
      json_decref(sel);
    }
  }
  return out;
fail:
  json_decref(out);
  json_decref(sys);
  return NULL;
}

static int queue_expired(const sqs_queue *q, const sqs_msg *m, uint64_t now) {
  return m->retain_from_ms + (uint64_t)q->a.retention * 1000 <= now;
}

static void serve_waiters(sqs_op *op, sqs_queue *q);

/* Moves m from q to its dead-letter queue (when that still exists). */
static int redrive(sqs_op *op, sqs_queue *q, sqs_msg *m) {
  sqs_queue *dlq = queue_by_arn(op->e, q->a.dlq_arn);
  if (!dlq || dlq == q || dlq->a.fifo != q->a.fifo)
    return -1;
  msg_unlink(q, m);
  m->receive_count = 0;
  m->first_receive_ms = 0;
  m->delivery = 0;
  m->visible_at_ms = op->now;
  if (dlq->a.fifo) {
    m->retain_from_ms = op->now;
    snprintf(m->sequence, sizeof(m->sequence), "%020" PRIu64, ++dlq->next_sequence);
  }
  if (!m->dlq_source_arn)
    m->dlq_source_arn = strdup(q->arn);
  m->seq = ++op->e->next_seq;
  if (msg_append(dlq, m) < 0) {
    msg_free(m);
    return 0;
  }
  serve_waiters(op, dlq);
  return 0;
}

/* Hands up to p->max deliverable messages of q to the caller (appending to
 * msgs); FIFO groups with a message in flight or delayed are skipped whole. */
static size_t deliver(sqs_op *op, sqs_queue *q, const recv_params *p, json_t *msgs) {
  sqs_map blocked = {0};
  size_t n = 0;
  int64_t vis = p->visibility >= 0 ? p->visibility : q->a.visibility;
  sqs_msg *m = q->head, *clean = NULL;
  uint64_t until = UINT64_MAX;
  if (!q->a.fifo && q->skip_after && op->now < q->skip_until) {
    clean = q->skip_after;
    until = q->skip_until;
    m = clean->next;
  }
  while (m && (int64_t)n < p->max) {
    sqs_msg *next = m->next;
    if (queue_expired(q, m, op->now)) {
      msg_delete(q, m);
      m = next;
      continue;
    }
    if (q->a.fifo && map_get(&blocked, m->group_id)) {
      m = next;
      continue;
    }
    if (m->visible_at_ms > op->now) {
      if (q->a.fifo)
        map_put(&blocked, m->group_id, m);
      clean = m;
      if (m->visible_at_ms < until)
        until = m->visible_at_ms;
      m = next;
      continue;
    }
    if (q->a.max_receive > 0 && m->receive_count >= (uint64_t)q->a.max_receive &&
        redrive(op, q, m) == 0) {
      m = next;
      continue;
    }
    json_t *rendered;
    m->receive_count++;
    if (!m->first_receive_ms)
      m->first_receive_ms = op->now;
    m->delivery = ++op->e->next_delivery;
    m->visible_at_ms = op->now + (uint64_t)vis * 1000;
    rendered = render_message(op, q, m, p);
    if (rendered)
      json_array_append_new(msgs, rendered);
    n++;
    clean = m;
    if (m->visible_at_ms < until)
      until = m->visible_at_ms;
    m = next;
  }
  map_clear(&blocked);
  /* Everything examined up to clean is invisible until `until`. */
  if (!q->a.fifo) {
    q->skip_after = clean;
    q->skip_until = until;
  }
  return n;
}

/* The earliest moment after now when a message of q becomes visible. */
static uint64_t next_visible(const sqs_queue *q, uint64_t now) {
  uint64_t t = UINT64_MAX;
  for (const sqs_msg *m = q->head; m; m = m->next)
    if (m->visible_at_ms > now && m->visible_at_ms < t)
      t = m->visible_at_ms;
  return t;
}

static json_t *receive_output(json_t *msgs) {
  json_t *out = json_object();
  if (out && json_array_size(msgs))
    json_object_set(out, "Messages", msgs);
  return out;
}

/* Gives waiting receivers of q whatever has become deliverable. */
static void attempt_record(sqs_op *op, sqs_queue *q, const char *attempt_id, json_t *msgs);

static void serve_waiters(sqs_op *op, sqs_queue *q) {
  while (q->waiters_head) {
    sqs_waiter *w = q->waiters_head;
    json_t *msgs = json_array();
    if (!msgs)
      return;
    size_t n = deliver(op, q, &w->params, msgs);
    if (n == 0) {
      json_decref(msgs);
      return;
    }
    if (w->params.attempt_id)
      attempt_record(op, q, w->params.attempt_id, msgs);
    waiter_finish(op, w, receive_output(msgs));
    json_decref(msgs);
  }
}

static void waiter_fired(void *arg);

/* Arms w's timer for the earlier of its deadline and the next visibility
 * change of its queue. */
static int waiter_arm(sqs_op *op, sqs_waiter *w) {
  uint64_t at = next_visible(w->queue, op->now);
  if (at > w->deadline_ms)
    at = w->deadline_ms;
  uint64_t delay = at > op->now ? at - op->now : 1;
  w->timer = op->e->hooks.timer_add(op->e->hooks.payload, delay, waiter_fired, w);
  return w->timer ? 0 : -1;
}

static void waiter_fired(void *arg) {
  sqs_waiter *w = arg;
  sqs_engine *e = w->engine;
  sqs_context ctx = {"000000000000", "us-east-1", NULL};
  sqs_op op = {.e = e, .ctx = &ctx};
  json_t *answer = NULL;
  pthread_mutex_lock(&e->lock);
  if (w->done) {
    /* Answered elsewhere; that thread cancels this timer and frees w. */
    pthread_mutex_unlock(&e->lock);
    return;
  }
  op.now = e->hooks.now_ms(e->hooks.payload);
  w->timer = NULL;
  json_t *msgs = json_array();
  size_t n = msgs ? deliver(&op, w->queue, &w->params, msgs) : 0;
  if (n > 0 || !msgs || op.now >= w->deadline_ms || e->shutting_down || waiter_arm(&op, w) < 0) {
    waiter_unlink(w);
    w->done = 1;
    if (n > 0 && w->params.attempt_id)
      attempt_record(&op, w->queue, w->params.attempt_id, msgs);
    answer = receive_output(msgs);
  }
  json_decref(msgs);
  pthread_mutex_unlock(&e->lock);
  finish_all(e, op.done);
  if (answer) {
    w->fn(answer, NULL, w->payload);
    waiter_free(w);
  }
}

/* ---- message validation ---- */

/* Validates a MessageAttributes map; adds its size (names, types, values) to *size. */
static int check_message_attributes(json_t *attrs, size_t *size, sqs_error *err) {
  if (!json_is_object(attrs))
    return set_err(err, 0, "InvalidParameterValue", "MessageAttributes must be a map.");
  if (json_object_size(attrs) > SQS_MAX_MESSAGE_ATTRIBUTES)
    return set_err(err, 0, "InvalidParameterValue",
                   "Number of message attributes [%zu] exceeds the allowed maximum [%d].",
                   json_object_size(attrs), SQS_MAX_MESSAGE_ATTRIBUTES);
  const char *name;
  json_t *v;
  json_object_foreach(attrs, name, v) {
    size_t n = strlen(name);
    int ok = n > 0 && n <= SQS_MAX_ATTRIBUTE_NAME && name[0] != '.' && name[n - 1] != '.' &&
             !strstr(name, "..") && strncasecmp(name, "aws.", 4) && strncasecmp(name, "amazon.", 7);
    for (size_t i = 0; ok && i < n; i++)
      ok = name_char(name[i]) || name[i] == '.';
    if (!ok)
      return set_err(err, 0, "InvalidParameterValue",
                     "Message (user) attribute name '%.256s' is invalid. Names can contain "
                     "alphanumeric characters, '_', '-' and '.', up to 256 characters, must not "
                     "start or end with '.', contain '..' or start with 'AWS.' or 'Amazon.'.",
                     name);
    const char *type = jsonutil_string(v, "DataType");
    if (!type || !*type)
      return set_err(err, 0, "InvalidParameterValue",
                     "The message attribute '%.256s' must contain a non-empty message attribute "
                     "type.",
                     name);
    size_t tl = strlen(type);
    const char *base = !strncmp(type, "String", 6)   ? "String"
                       : !strncmp(type, "Number", 6) ? "Number"
                       : !strncmp(type, "Binary", 6) ? "Binary"
                                                     : NULL;
    if (!base || tl > SQS_MAX_DATA_TYPE || (type[6] != '\0' && (type[6] != '.' || !type[7])))
      return set_err(err, 0, "InvalidParameterValue",
                     "The type of message (user) attribute '%.256s' is invalid. You must use only "
                     "the following supported type prefixes: Binary, Number, String.",
                     name);
    if (json_object_get(v, "StringListValues") || json_object_get(v, "BinaryListValues")) {
      json_t *sl = json_object_get(v, "StringListValues"),
             *bl = json_object_get(v, "BinaryListValues");
      if (json_array_size(sl) || json_array_size(bl))
        return set_err(err, 0, "InvalidParameterValue",
                       "Message attribute list values in SendMessage operation are not "
                       "supported.");
    }
    json_t *sv = json_object_get(v, "StringValue"), *bv = json_object_get(v, "BinaryValue");
    if (!strcmp(base, "Binary")) {
      unsigned char *bytes = NULL;
      size_t bn = 0;
      if (!json_is_string(bv) || json_string_length(bv) == 0)
        return set_err(err, 0, "InvalidParameterValue",
                       "The message attribute '%.256s' must contain non-empty message attribute "
                       "value for message attribute type '%s'.",
                       name, base);
      if (codec_base64_decode(&bytes, &bn, json_string_value(bv), json_string_length(bv)) < 0)
        return set_err(err, 0, "InvalidParameterValue",
                       "The message attribute '%.256s' has a BinaryValue that is not valid "
                       "base64.",
                       name);
      free(bytes);
      *size += bn;
    } else {
      if (!json_is_string(sv) || json_string_length(sv) == 0)
        return set_err(err, 0, "InvalidParameterValue",
                       "The message attribute '%.256s' must contain non-empty message attribute "
                       "value for message attribute type '%s'.",
                       name, base);
      if (!valid_message_chars(json_string_value(sv), json_string_length(sv)))
        return set_err(err, 0, "InvalidParameterValue",
                       "Message (user) attribute '%.256s' value contains invalid characters.",
                       name);
      if (!strcmp(base, "Number") &&
          (json_string_length(sv) > 64 || !valid_number(json_string_value(sv))))
        return set_err(err, 0, "InvalidParameterValue",
                       "Can't cast the value of message (user) attribute '%.256s' to a number.",
                       name);
      *size += json_string_length(sv);
    }
    *size += n + tl;
  }
  return 0;
}

static int check_system_attributes(json_t *attrs, const char **trace, sqs_error *err) {
  if (!json_is_object(attrs))
    return set_err(err, 0, "InvalidParameterValue", "MessageSystemAttributes must be a map.");
  const char *name;
  json_t *v;
  json_object_foreach(attrs, name, v) {
    if (strcmp(name, "AWSTraceHeader"))
      return set_err(err, 0, "InvalidParameterValue",
                     "Message system attribute name '%.256s' is invalid.", name);
    const char *type = jsonutil_string(v, "DataType");
    const char *sv = jsonutil_string(v, "StringValue");
    if (!type || strcmp(type, "String"))
      return set_err(err, 0, "InvalidParameterValue",
                     "The message system attribute 'AWSTraceHeader' must have data type "
                     "'String'.");
    if (!sv || !*sv || !valid_message_chars(sv, strlen(sv)))
      return set_err(err, 0, "InvalidParameterValue",
                     "The message system attribute 'AWSTraceHeader' must contain a non-empty "
                     "valid value.");
    *trace = sv;
  }
  return 0;
}

/* Sends one message (a SendMessage request or a batch entry) to q. On
 * success *out is the result object (MessageId, MD5s, SequenceNumber). */
static int send_one(sqs_op *op, sqs_queue *q, json_t *in, json_t **out, sqs_error *err) {
  sqs_msg *m = NULL;
  json_t *body_j = json_object_get(in, "MessageBody");
  if (!json_is_string(body_j) || json_string_length(body_j) == 0)
    return missing(err, "MessageBody");
  const char *body = json_string_value(body_j);
  size_t body_len = json_string_length(body_j);
  if (!valid_message_chars(body, body_len))
    return set_err(err, 0, "InvalidMessageContents",
                   "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 "
                   "to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF");
  int64_t delay = -1;
  int has_delay = int_member(in, "DelaySeconds", &delay, err);
  if (has_delay < 0)
    return -1;
  if (has_delay && (delay < 0 || delay > 900))
    return set_err(err, 0, "InvalidParameterValue",
                   "Value %" PRId64 " for parameter DelaySeconds is invalid. Reason: must be "
                   "between 0 and 900, if provided.",
                   delay);
  if (has_delay && delay > 0 && q->a.fifo)
    return set_err(err, 0, "InvalidParameterValue",
                   "Value %" PRId64 " for parameter DelaySeconds is invalid. Reason: The request "
                   "include parameter that is not valid for this queue type.",
                   delay);
  size_t size = body_len;
  json_t *attrs = json_object_get(in, "MessageAttributes");
  if (attrs && json_object_size(attrs) == 0)
    attrs = NULL;
  if (attrs && check_message_attributes(attrs, &size, err) < 0)
    return -1;
  json_t *sys = json_object_get(in, "MessageSystemAttributes");
  if (sys && json_object_size(sys) == 0)
    sys = NULL;
  const char *trace = NULL;
  if (sys && check_system_attributes(sys, &trace, err) < 0)
    return -1;
  if (size > (size_t)q->a.max_size)
    return set_err(err, 0, "InvalidParameterValue",
                   "One or more parameters are invalid. Reason: Message must be shorter than "
                   "%" PRId64 " bytes.",
                   q->a.max_size);
  const char *group = jsonutil_string(in, "MessageGroupId");
  const char *dedup = jsonutil_string(in, "MessageDeduplicationId");
  char content_hash[65];
  if (group && !valid_dedup_chars(group))
    return set_err(err, 0, "InvalidParameterValue",
                   "Value %.200s for parameter MessageGroupId is invalid. Reason: it must be 1 to "
                   "128 characters of letters, digits and punctuation.",
                   group);
  if (dedup && !valid_dedup_chars(dedup))
    return set_err(err, 0, "InvalidParameterValue",
                   "Value %.200s for parameter MessageDeduplicationId is invalid. Reason: it must "
                   "be 1 to 128 characters of letters, digits and punctuation.",
                   dedup);
  if (q->a.fifo) {
    if (!group)
      return missing(err, "MessageGroupId");
    if (!dedup) {
      if (!q->a.content_dedup)
        return set_err(err, 0, "InvalidParameterValue",
                       "The queue should either have ContentBasedDeduplication enabled or "
                       "MessageDeduplicationId provided explicitly");
      sha256_hex(content_hash, body, body_len);
      dedup = content_hash;
    }
  } else if (dedup) {
    return set_err(err, 0, "InvalidParameterValue",
                   "The request include parameter MessageDeduplicationId that is not valid for "
                   "this queue type");
  }

  json_t *result = json_object();
  if (!result)
    return oom(err);
  char md5[33];
  md5_hex(md5, body, body_len);
  json_object_set_new(result, "MD5OfMessageBody", json_string(md5));
  char md5_attrs[33] = "", md5_sys[33] = "";
  if (attrs && sqs_md5_of_attributes(md5_attrs, attrs) == 0)
    json_object_set_new(result, "MD5OfMessageAttributes", json_string(md5_attrs));
  if (sys && sqs_md5_of_attributes(md5_sys, sys) == 0)
    json_object_set_new(result, "MD5OfMessageSystemAttributes", json_string(md5_sys));

  char dedup_key[2 * SQS_MAX_DEDUP_ID + 2] = "";
  if (q->a.fifo) {
    snprintf(dedup_key, sizeof(dedup_key), "%s%s%s", q->a.dedup_scope_group ? group : "",
             q->a.dedup_scope_group ? "\x1f" : "", dedup);
    ttl_node *seen = ttl_get(&q->dedup, dedup_key, op->now);
    if (seen) {
      /* A duplicate within the window: accepted, not enqueued again. */
      json_object_set_new(result, "MessageId", json_string(seen->message_id));
      json_object_set_new(result, "SequenceNumber", json_string(seen->sequence));
      *out = result;
      return 0;
    }
  }

  m = calloc(1, sizeof(*m));
  if (!m || !(m->body = malloc(body_len + 1)))
    goto nomem;
  codec_uuid4(m->id);
  memcpy(m->body, body, body_len);
  m->body[body_len] = '\0';
  m->body_len = body_len;
  if (attrs && !(m->attributes = json_deep_copy(attrs)))
    goto nomem;
  if ((trace && !(m->trace_header = strdup(trace))) || (group && !(m->group_id = strdup(group))) ||
      (q->a.fifo && !(m->dedup_id = strdup(dedup))))
    goto nomem;
  memcpy(m->md5_body, md5, sizeof(md5));
  memcpy(m->md5_attributes, md5_attrs, sizeof(md5_attrs));
  memcpy(m->md5_system, md5_sys, sizeof(md5_sys));
  snprintf(m->sender, sizeof(m->sender), "%s", op->ctx->account);
  m->sent_ms = m->retain_from_ms = op->now;
  m->visible_at_ms = op->now + (uint64_t)(has_delay ? delay : q->a.delay) * 1000;
  m->seq = ++op->e->next_seq;
  if (q->a.fifo)
    snprintf(m->sequence, sizeof(m->sequence), "%020" PRIu64, ++q->next_sequence);
  if (msg_append(q, m) < 0)
    goto nomem;
  json_object_set_new(result, "MessageId", json_string(m->id));
  if (q->a.fifo) {
    json_object_set_new(result, "SequenceNumber", json_string(m->sequence));
    ttl_node *node = ttl_add(&q->dedup, dedup_key, op->now + SQS_DEDUP_WINDOW_MS);
    if (node) {
      snprintf(node->message_id, sizeof(node->message_id), "%s", m->id);
      snprintf(node->sequence, sizeof(node->sequence), "%s", m->sequence);
    }
  }
  *out = result;
  return 0;
nomem:
  msg_free(m);
  json_decref(result);
  return oom(err);
}

/* ---- batch plumbing ---- */

static int check_batch(sqs_op *op, json_t *entries, const char *entry_name) {
  if (!entries || (json_is_array(entries) && json_array_size(entries) == 0))
    return set_err(&op->err, 0, "EmptyBatchRequest",
                   "There should be at least one %s in the request.", entry_name);
  if (!json_is_array(entries))
    return set_err(&op->err, 0, "InvalidParameterValue", "Entries must be a list.");
  if (json_array_size(entries) > SQS_MAX_BATCH)
    return set_err(&op->err, 0, "TooManyEntriesInBatchRequest",
                   "Maximum number of entries per request are %d. You have sent %zu.",
                   SQS_MAX_BATCH, json_array_size(entries));
  size_t i, j;
  json_t *e;
  json_array_foreach(entries, i, e) {
    const char *id = jsonutil_string(e, "Id");
    int ok = id && *id && strlen(id) <= SQS_MAX_BATCH_ID;
    for (const char *p = id; ok && *p; p++)
      ok = name_char(*p);
    if (!ok)
      return set_err(&op->err, 0, "InvalidBatchEntryId",
                     "A batch entry id can only contain alphanumeric characters, hyphens and "
                     "underscores. It can be at most %d letters long.",
                     SQS_MAX_BATCH_ID);
    for (j = 0; j < i; j++)
      if (!strcmp(id, jsonutil_string(json_array_get(entries, j), "Id")))
        return set_err(&op->err, 0, "BatchEntryIdsNotDistinct", "Id %s repeated.", id);
  }
  return 0;
}

static void batch_fail(json_t *failed, const char *id, const sqs_error *err) {
  json_array_append_new(failed,
                        json_pack("{s:s, s:b, s:s, s:s}", "Id", id, "SenderFault",
                                  err->status < 500, "Code", err->code, "Message", err->message));
}

static json_t *batch_output(json_t *ok, json_t *failed) {
  return json_pack("{s:o, s:o}", "Successful", ok, "Failed", failed);
}

/* ---- operations ---- */

typedef int (*op_fn)(sqs_op *op, json_t *in);

static int op_send_message(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (queue_from_url(op, in, &q) < 0 || send_one(op, q, in, &op->output, &op->err) < 0)
    return -1;
  serve_waiters(op, q);
  return 0;
}

static size_t entry_size(json_t *entry) {
  size_t n = json_string_length(json_object_get(entry, "MessageBody"));
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(entry, "MessageAttributes"), k, v) {
    n += strlen(k) + json_string_length(json_object_get(v, "DataType")) +
         json_string_length(json_object_get(v, "StringValue")) +
         json_string_length(json_object_get(v, "BinaryValue")) * 3 / 4;
  }
  return n;
}

static int op_send_message_batch(sqs_op *op, json_t *in) {
  sqs_queue *q;
  json_t *entries = json_object_get(in, "Entries");
  if (queue_from_url(op, in, &q) < 0 ||
      check_batch(op, entries, "SendMessageBatchRequestEntry") < 0)
    return -1;
  size_t total = 0, i;
  json_t *e;
  json_array_foreach(entries, i, e) total += entry_size(e);
  if (total > SQS_MAX_MESSAGE_SIZE)
    return set_err(&op->err, 0, "BatchRequestTooLong",
                   "Batch requests cannot be longer than %d bytes. You have sent %zu bytes.",
                   SQS_MAX_MESSAGE_SIZE, total);
  json_t *ok = json_array(), *failed = json_array();
  json_array_foreach(entries, i, e) {
    json_t *result = NULL;
    sqs_error err;
    const char *id = jsonutil_string(e, "Id");
    if (send_one(op, q, e, &result, &err) < 0) {
      batch_fail(failed, id, &err);
      continue;
    }
    json_object_set_new(result, "Id", json_string(id));
    json_array_append_new(ok, result);
  }
  op->output = batch_output(ok, failed);
  serve_waiters(op, q);
  return op->output ? 0 : oom(&op->err);
}

static int parse_recv(sqs_op *op, sqs_queue *q, json_t *in, recv_params *p, int64_t *wait) {
  int64_t v = 0;
  int rc;
  memset(p, 0, sizeof(*p));
  p->max = 1;
  p->visibility = -1;
  if ((rc = int_member(in, "MaxNumberOfMessages", &v, &op->err)) < 0)
    return -1;
  if (rc && (v < 1 || v > SQS_MAX_BATCH))
    return set_err(&op->err, 0, "InvalidParameterValue",
                   "Value %" PRId64 " for parameter MaxNumberOfMessages is invalid. Reason: Must "
                   "be between 1 and 10, if provided.",
                   v);
  if (rc)
    p->max = v;
  if ((rc = int_member(in, "VisibilityTimeout", &v, &op->err)) < 0)
    return -1;
  if (rc && (v < 0 || v > SQS_MAX_VISIBILITY))
    return set_err(&op->err, 0, "InvalidParameterValue",
                   "Value %" PRId64 " for parameter VisibilityTimeout is invalid. Reason: Must be "
                   "between 0 and 43200, if provided.",
                   v);
  if (rc)
    p->visibility = v;
  *wait = q->a.wait;
  if ((rc = int_member(in, "WaitTimeSeconds", &v, &op->err)) < 0)
    return -1;
  if (rc && (v < 0 || v > 20))
    return set_err(&op->err, 0, "InvalidParameterValue",
                   "Value %" PRId64 " for parameter WaitTimeSeconds is invalid. Reason: Must be "
                   ">= 0 and <= 20, if provided.",
                   v);
  if (rc)
    *wait = v;
  /* AttributeNames (older models) and MessageSystemAttributeNames (newer) both
   * select system attributes. */
  json_t *sys = json_array();
  json_t *names[2] = {json_object_get(in, "AttributeNames"),
                      json_object_get(in, "MessageSystemAttributeNames")};
  for (int k = 0; k < 2; k++) {
    size_t i;
    json_t *s;
    json_array_foreach(names[k], i, s) if (json_is_string(s)) json_array_append(sys, s);
  }
  p->system_names = sys;
  json_t *an = json_object_get(in, "MessageAttributeNames");
  if (json_is_array(an))
    p->attribute_names = json_deep_copy(an);
  const char *attempt = jsonutil_string(in, "ReceiveRequestAttemptId");
  if (attempt && q->a.fifo) {
    if (!valid_dedup_chars(attempt)) {
      recv_params_free(p);
      return set_err(&op->err, 0, "InvalidParameterValue",
                     "Value %.200s for parameter ReceiveRequestAttemptId is invalid.", attempt);
    }
    p->attempt_id = strdup(attempt);
  }
  return 0;
}

/* A FIFO retry with the same ReceiveRequestAttemptId gets the same answer
 * while none of its messages was deleted or handed out again. */
static json_t *attempt_replay(sqs_op *op, sqs_queue *q, const char *attempt_id) {
  ttl_node *n = ttl_get(&q->attempts, attempt_id, op->now);
  if (!n)
    return NULL;
  for (size_t i = 0; i < n->count; i++) {
    sqs_msg *m = msg_find(q, n->seqs[i]);
    if (!m || m->delivery != n->deliveries[i] || m->visible_at_ms <= op->now) {
      ttl_forget(&q->attempts, attempt_id);
      return NULL;
    }
  }
  return json_deep_copy(n->messages);
}

static void attempt_record(sqs_op *op, sqs_queue *q, const char *attempt_id, json_t *msgs) {
  ttl_node *n = ttl_add(&q->attempts, attempt_id, op->now + SQS_DEDUP_WINDOW_MS);
  if (!n)
    return;
  n->messages = json_deep_copy(msgs);
  size_t i;
  json_t *m;
  json_array_foreach(msgs, i, m) {
    uint64_t uid, seq, delivery;
    if (i < SQS_MAX_BATCH &&
        handle_parse(op->e, jsonutil_string(m, "ReceiptHandle"), &uid, &seq, &delivery) == 0) {
      n->seqs[n->count] = seq;
      n->deliveries[n->count] = delivery;
      n->count++;
    }
  }
}

static int op_receive_message(sqs_op *op, json_t *in, sqs_done_fn fn, void *payload) {
  sqs_queue *q;
  recv_params p;
  int64_t wait = 0;
  if (queue_from_url(op, in, &q) < 0 || parse_recv(op, q, in, &p, &wait) < 0)
    return -1;
  json_t *msgs = NULL;
  if (p.attempt_id && (msgs = attempt_replay(op, q, p.attempt_id))) {
    op->output = receive_output(msgs);
    json_decref(msgs);
    recv_params_free(&p);
    return 0;
  }
  msgs = json_array();
  if (!msgs) {
    recv_params_free(&p);
    return oom(&op->err);
  }
  size_t n = deliver(op, q, &p, msgs);
  if (n > 0 || wait == 0 || op->e->shutting_down) {
    if (n > 0 && p.attempt_id)
      attempt_record(op, q, p.attempt_id, msgs);
    op->output = receive_output(msgs);
    json_decref(msgs);
    recv_params_free(&p);
    return 0;
  }
  json_decref(msgs);
  sqs_waiter *w = calloc(1, sizeof(*w));
  if (!w) {
    recv_params_free(&p);
    return oom(&op->err);
  }
  w->engine = op->e;
  w->queue = q;
  w->params = p;
  w->deadline_ms = op->now + (uint64_t)wait * 1000;
  w->fn = fn;
  w->payload = payload;
  if (waiter_arm(op, w) < 0) {
    waiter_free(w);
    op->output = empty_receive();
    return 0;
  }
  w->prev = q->waiters_tail;
  if (q->waiters_tail)
    q->waiters_tail->next = w;
  else
    q->waiters_head = w;
  q->waiters_tail = w;
  op->suspended = 1;
  return 0;
}

static int delete_one(sqs_op *op, sqs_queue *q, const char *handle, sqs_error *err) {
  uint64_t uid, seq, delivery;
  if (!handle || !*handle)
    return missing(err, "ReceiptHandle");
  if (handle_parse(op->e, handle, &uid, &seq, &delivery) < 0 || uid != q->uid || delivery == 0)
    return invalid_handle(err, handle);
  sqs_msg *m = msg_find(q, seq);
  if (!m)
    return 0; /* already deleted: DeleteMessage is idempotent */
  if (m->delivery != delivery || (q->a.fifo && m->visible_at_ms <= op->now)) {
    if (q->a.fifo)
      return set_err(err, 0, "InvalidParameterValue",
                     "Value %.200s for parameter ReceiptHandle is invalid. Reason: The receipt "
                     "handle has expired.",
                     handle);
    return 0; /* AWS: an older handle "succeeds" without deleting */
  }
  msg_delete(q, m);
  return 0;
}

static int op_delete_message(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (queue_from_url(op, in, &q) < 0 ||
      delete_one(op, q, jsonutil_string(in, "ReceiptHandle"), &op->err) < 0)
    return -1;
  serve_waiters(op, q);
  return 0;
}

typedef int (*batch_entry_fn)(sqs_op *op, sqs_queue *q, json_t *entry, sqs_error *err);

/* Runs fn on every entry of a batch request (DeleteMessageBatch,
 * ChangeMessageVisibilityBatch), answering per entry. */
static int run_batch(sqs_op *op, json_t *in, const char *entry_name, batch_entry_fn fn) {
  sqs_queue *q;
  json_t *entries = json_object_get(in, "Entries");
  if (queue_from_url(op, in, &q) < 0 || check_batch(op, entries, entry_name) < 0)
    return -1;
  json_t *ok = json_array(), *failed = json_array();
  size_t i;
  json_t *e;
  json_array_foreach(entries, i, e) {
    sqs_error err;
    const char *id = jsonutil_string(e, "Id");
    if (fn(op, q, e, &err) < 0)
      batch_fail(failed, id, &err);
    else
      json_array_append_new(ok, json_pack("{s:s}", "Id", id));
  }
  op->output = batch_output(ok, failed);
  serve_waiters(op, q);
  return op->output ? 0 : oom(&op->err);
}

static int delete_entry(sqs_op *op, sqs_queue *q, json_t *entry, sqs_error *err) {
  return delete_one(op, q, jsonutil_string(entry, "ReceiptHandle"), err);
}

static int op_delete_message_batch(sqs_op *op, json_t *in) {
  return run_batch(op, in, "DeleteMessageBatchRequestEntry", delete_entry);
}

static int change_one(sqs_op *op, sqs_queue *q, json_t *in, sqs_error *err) {
  const char *handle = jsonutil_string(in, "ReceiptHandle");
  int64_t vis = 0;
  int rc = int_member(in, "VisibilityTimeout", &vis, err);
  uint64_t uid, seq, delivery;
  if (rc < 0)
    return -1;
  if (rc == 0)
    return missing(err, "VisibilityTimeout");
  if (!handle || !*handle)
    return missing(err, "ReceiptHandle");
  if (vis < 0 || vis > SQS_MAX_VISIBILITY)
    return set_err(err, 0, "InvalidParameterValue",
                   "Value %" PRId64 " for parameter VisibilityTimeout is invalid. Reason: Must be "
                   "between 0 and 43200.",
                   vis);
  if (handle_parse(op->e, handle, &uid, &seq, &delivery) < 0 || uid != q->uid || delivery == 0)
    return invalid_handle(err, handle);
  sqs_msg *m = msg_find(q, seq);
  if (!m || m->delivery != delivery)
    return set_err(err, 0, "InvalidParameterValue",
                   "Value %.200s for parameter ReceiptHandle is invalid. Reason: Message does not "
                   "exist or is not available for visibility timeout change.",
                   handle);
  if (m->visible_at_ms <= op->now)
    return set_err(err, 0, "MessageNotInflight", "The message referred to is not in flight.");
  uint64_t until = op->now + (uint64_t)vis * 1000;
  if (until > m->first_receive_ms + (uint64_t)SQS_MAX_VISIBILITY * 1000)
    return set_err(err, 0, "InvalidParameterValue",
                   "Value %" PRId64 " for parameter VisibilityTimeout is invalid. Reason: Total "
                   "VisibilityTimeout for the message is beyond the limit [43200 seconds]",
                   vis);
  m->visible_at_ms = until;
  if (until < q->skip_until)
    q->skip_until = until;
  return 0;
}

static int op_change_message_visibility(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (queue_from_url(op, in, &q) < 0 || change_one(op, q, in, &op->err) < 0)
    return -1;
  serve_waiters(op, q);
  return 0;
}

static int op_change_message_visibility_batch(sqs_op *op, json_t *in) {
  return run_batch(op, in, "ChangeMessageVisibilityBatchRequestEntry", change_one);
}

/* Renders one attribute of q into buf (or returns a stored string); NULL when
 * the queue has no value for it. */
static const char *attribute_value(const sqs_queue *q, const char *name, uint64_t now, char *buf,
                                   size_t len) {
  const qattrs *a = &q->a;
#define NUM(v) (snprintf(buf, len, "%" PRId64, (int64_t)(v)), buf)
  if (!strcmp(name, "ApproximateNumberOfMessages") ||
      !strcmp(name, "ApproximateNumberOfMessagesNotVisible") ||
      !strcmp(name, "ApproximateNumberOfMessagesDelayed")) {
    uint64_t visible = 0, inflight = 0, delayed = 0;
    for (const sqs_msg *m = q->head; m; m = m->next) {
      if (queue_expired(q, m, now))
        continue;
      if (m->visible_at_ms <= now)
        visible++;
      else if (m->receive_count > 0)
        inflight++;
      else
        delayed++;
    }
    return NUM(name[27] == '\0' ? visible : !strcmp(name + 27, "NotVisible") ? inflight : delayed);
  }
  if (!strcmp(name, "CreatedTimestamp"))
    return NUM(q->created_s);
  if (!strcmp(name, "LastModifiedTimestamp"))
    return NUM(q->modified_s);
  if (!strcmp(name, "DelaySeconds"))
    return NUM(a->delay);
  if (!strcmp(name, "MaximumMessageSize"))
    return NUM(a->max_size);
  if (!strcmp(name, "MessageRetentionPeriod"))
    return NUM(a->retention);
  if (!strcmp(name, "ReceiveMessageWaitTimeSeconds"))
    return NUM(a->wait);
  if (!strcmp(name, "VisibilityTimeout"))
    return NUM(a->visibility);
  if (!strcmp(name, "QueueArn"))
    return q->arn;
  if (!strcmp(name, "Policy"))
    return a->policy;
  if (!strcmp(name, "RedrivePolicy"))
    return a->redrive_policy;
  if (!strcmp(name, "RedriveAllowPolicy"))
    return a->redrive_allow;
  if (!strcmp(name, "KmsMasterKeyId"))
    return a->kms_key;
  if (!strcmp(name, "KmsDataKeyReusePeriodSeconds"))
    return a->kms_key ? NUM(a->kms_reuse) : NULL;
  if (!strcmp(name, "SqsManagedSseEnabled"))
    return a->sse && !a->kms_key ? "true" : "false";
  if (!strcmp(name, "FifoQueue"))
    return a->fifo ? "true" : NULL;
  if (!a->fifo)
    return NULL;
  if (!strcmp(name, "ContentBasedDeduplication"))
    return a->content_dedup ? "true" : "false";
  if (!strcmp(name, "DeduplicationScope"))
    return a->dedup_scope_group ? "messageGroup" : "queue";
  if (!strcmp(name, "FifoThroughputLimit"))
    return a->throughput_per_group ? "perMessageGroupId" : "perQueue";
#undef NUM
  return NULL;
}

/* SSE-KMS and SSE-SQS exclude each other when a request asks for both. */
static int check_encryption(json_t *attrs, sqs_error *err) {
  const char *kms = jsonutil_string(attrs, "KmsMasterKeyId");
  const char *sse = jsonutil_string(attrs, "SqsManagedSseEnabled");
  if (kms && *kms && sse && !strcmp(sse, "true"))
    return set_err(err, 0, "InvalidAttributeValue",
                   "You can use one type of server-side encryption (SSE) at one time. You can "
                   "either enable KMS SSE or SQS SSE.");
  return 0;
}

/* Checks a RedrivePolicy against its target queue: it exists, is not the
 * source itself, has the same type and allows the source. */
static int check_redrive_target(sqs_op *op, const char *source_arn, int fifo, const qattrs *a,
                                sqs_error *err) {
  if (!a->dlq_arn)
    return 0;
  sqs_queue *dlq = queue_by_arn(op->e, a->dlq_arn);
  if (!dlq)
    return bad_redrive(err, a->redrive_policy, "Dead-letter target does not exist.");
  if (!strcmp(dlq->arn, source_arn))
    return bad_redrive(err, a->redrive_policy, "A queue cannot be its own dead-letter queue.");
  if (dlq->a.fifo != fifo)
    return bad_redrive(err, a->redrive_policy,
                       "Dead-letter queue must be the same type of queue as the source queue.");
  if (dlq->a.redrive_allow) {
    json_t *allow = json_loads(dlq->a.redrive_allow, 0, NULL);
    const char *perm = jsonutil_string(allow, "redrivePermission");
    int allowed = !perm || !strcmp(perm, "allowAll");
    if (perm && !strcmp(perm, "byQueue")) {
      size_t i;
      json_t *v;
      json_array_foreach(json_object_get(allow, "sourceQueueArns"), i, v) {
        if (json_is_string(v) && !strcmp(json_string_value(v), source_arn))
          allowed = 1;
      }
    }
    json_decref(allow);
    if (!allowed)
      return bad_redrive(err, a->redrive_policy,
                         "The dead-letter queue's RedriveAllowPolicy does not allow this queue.");
  }
  return 0;
}

static int check_tags(json_t *tags, size_t existing, sqs_error *err) {
  if (!json_is_object(tags))
    return set_err(err, 0, "InvalidParameterValue", "Tags must be a map.");
  const char *k;
  json_t *v;
  json_object_foreach(tags, k, v) {
    size_t n = strlen(k);
    if (n == 0 || n > 128 || !strncasecmp(k, "aws:", 4))
      return set_err(err, 0, "InvalidParameterValue",
                     "Tag key '%.128s' is invalid: 1 to 128 characters, not starting with 'aws:'.",
                     k);
    if (!json_is_string(v) || json_string_length(v) > 256)
      return set_err(err, 0, "InvalidParameterValue",
                     "Tag value for key '%.128s' is invalid: at most 256 characters.", k);
  }
  if (existing + json_object_size(tags) > SQS_MAX_TAGS)
    return set_err(err, 0, "InvalidParameterValue", "Too many tags added for queue: at most %d.",
                   SQS_MAX_TAGS);
  return 0;
}

static int64_t now_seconds(const sqs_op *op) { return (int64_t)(op->now / 1000); }

static int op_create_queue(sqs_op *op, json_t *in) {
  const char *name = jsonutil_string(in, "QueueName");
  json_t *attrs = json_object_get(in, "Attributes");
  json_t *tags = json_object_get(in, "tags");
  if (!tags)
    tags = json_object_get(in, "Tags");
  if (!name || !*name)
    return missing(&op->err, "QueueName");
  if (attrs && !json_is_object(attrs))
    return set_err(&op->err, 0, "InvalidParameterValue", "Attributes must be a map.");
  const char *fifo_s = jsonutil_string(attrs, "FifoQueue");
  json_t *fifo_j = json_object_get(attrs, "FifoQueue");
  int fifo = 0;
  if (fifo_j) {
    if (json_is_true(fifo_j) || (fifo_s && !strcmp(fifo_s, "true")))
      fifo = 1;
    else if (!(json_is_false(fifo_j) || (fifo_s && !strcmp(fifo_s, "false"))))
      return bad_value(&op->err, "FifoQueue");
  }
  if (!valid_queue_name(name, fifo)) {
    if (fifo)
      return set_err(&op->err, 0, "InvalidParameterValue",
                     "The name of a FIFO queue can only include alphanumeric characters, hyphens, "
                     "or underscores, must end with .fifo suffix and be 1 to 80 in length.");
    return set_err(&op->err, 0, "InvalidParameterValue",
                   "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in "
                   "length");
  }
  qattrs a;
  qattrs_defaults(&a, fifo);
  const char *k;
  json_t *v;
  json_object_foreach(attrs, k, v) {
    if (!strcmp(k, "FifoQueue"))
      continue;
    if (!is_known_attribute(k) || !strcmp(k, "QueueArn") || !strncmp(k, "Approximate", 11) ||
        !strcmp(k, "CreatedTimestamp") || !strcmp(k, "LastModifiedTimestamp")) {
      qattrs_free(&a);
      return set_err(&op->err, 0, "InvalidAttributeName", "Unknown Attribute %s.", k);
    }
    if (qattrs_set(&a, k, v, &op->err) < 0) {
      qattrs_free(&a);
      return -1;
    }
  }
  if ((tags && check_tags(tags, 0, &op->err) < 0) || check_encryption(attrs, &op->err) < 0) {
    qattrs_free(&a);
    return -1;
  }
  const char *account = op->ctx->account, *region = op->ctx->region;
  sqs_queue *q = queue_get(op->e, account, region, name);
  if (q) {
    /* Same name: fine when every attribute given matches the queue's. */
    json_object_foreach(attrs, k, v) {
      char b1[32], b2[32];
      const char *want =
          attribute_value(&(sqs_queue){.a = a, .arn = q->arn}, k, op->now, b1, sizeof(b1));
      const char *have = attribute_value(q, k, op->now, b2, sizeof(b2));
      if ((want || have) && (!want || !have || strcmp(want, have))) {
        qattrs_free(&a);
        return set_err(&op->err, 0, "QueueNameExists",
                       "A queue already exists with the same name and a different value for "
                       "attribute %s",
                       k);
      }
    }
    qattrs_free(&a);
    char *url = queue_url(op, q);
    op->output = url ? json_pack("{s:s}", "QueueUrl", url) : NULL;
    free(url);
    return op->output ? 0 : oom(&op->err);
  }
  size_t arn_len = strlen(region) + strlen(account) + strlen(name) + 16;
  char *arn = malloc(arn_len);
  if (!arn) {
    qattrs_free(&a);
    return oom(&op->err);
  }
  snprintf(arn, arn_len, "arn:aws:sqs:%s:%s:%s", region, account, name);
  if (check_redrive_target(op, arn, fifo, &a, &op->err) < 0) {
    free(arn);
    qattrs_free(&a);
    return -1;
  }
  q = calloc(1, sizeof(*q));
  if (!q) {
    free(arn);
    qattrs_free(&a);
    return oom(&op->err);
  }
  q->a = a;
  q->arn = arn;
  snprintf(q->account, sizeof(q->account), "%s", account);
  q->key = queue_key(account, region, name);
  q->region = strdup(region);
  q->name = strdup(name);
  q->tags = tags ? json_deep_copy(tags) : json_object();
  q->uid = ++op->e->next_uid;
  q->created_s = q->modified_s = now_seconds(op);
  if (!q->key || !q->region || !q->name || !q->tags || map_put(&op->e->queues, q->key, q) < 0) {
    queue_free(q);
    return oom(&op->err);
  }
  q->next = op->e->queues_head;
  if (q->next)
    q->next->prev = q;
  op->e->queues_head = q;
  char *url = queue_url(op, q);
  op->output = url ? json_pack("{s:s}", "QueueUrl", url) : NULL;
  free(url);
  return op->output ? 0 : oom(&op->err);
}

/* Answers q's waiters with no messages (queue deleted, reset, shutdown). */
static void release_waiters(sqs_op *op, sqs_queue *q) {
  while (q->waiters_head)
    waiter_finish(op, q->waiters_head, empty_receive());
}

static void queue_remove(sqs_op *op, sqs_queue *q) {
  release_waiters(op, q);
  map_del(&op->e->queues, q->key);
  if (q->prev)
    q->prev->next = q->next;
  else
    op->e->queues_head = q->next;
  if (q->next)
    q->next->prev = q->prev;
  queue_free(q);
}

static int op_delete_queue(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (queue_from_url(op, in, &q) < 0)
    return -1;
  queue_remove(op, q);
  return 0;
}

static int op_get_queue_url(sqs_op *op, json_t *in) {
  const char *name = jsonutil_string(in, "QueueName");
  const char *owner = jsonutil_string(in, "QueueOwnerAWSAccountId");
  if (!name || !*name)
    return missing(&op->err, "QueueName");
  sqs_queue *q =
      queue_get(op->e, owner && *owner ? owner : op->ctx->account, op->ctx->region, name);
  if (!q)
    return set_err(&op->err, 0, "QueueDoesNotExist", "The specified queue does not exist.");
  char *url = queue_url(op, q);
  op->output = url ? json_pack("{s:s}", "QueueUrl", url) : NULL;
  free(url);
  return op->output ? 0 : oom(&op->err);
}

static int op_get_queue_attributes(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (queue_from_url(op, in, &q) < 0)
    return -1;
  json_t *names = json_object_get(in, "AttributeNames");
  size_t i;
  json_t *v;
  int all = 0;
  json_array_foreach(names, i, v) {
    const char *s = json_string_value(v);
    if (s && !strcmp(s, "All"))
      all = 1;
    else if (!s || !is_known_attribute(s))
      return set_err(&op->err, 0, "InvalidAttributeName", "Unknown Attribute %s.",
                     s ? s : "(not a string)");
  }
  json_t *out = json_object();
  for (size_t k = 0; out && k < ALL_ATTRIBUTE_COUNT; k++) {
    if (!all && !name_selected(names, ALL_ATTRIBUTES[k]))
      continue;
    char buf[32];
    const char *value = attribute_value(q, ALL_ATTRIBUTES[k], op->now, buf, sizeof(buf));
    if (value)
      json_object_set_new(out, ALL_ATTRIBUTES[k], json_string(value));
  }
  op->output = json_object();
  if (!out || !op->output) {
    json_decref(out);
    return oom(&op->err);
  }
  if (json_object_size(out))
    json_object_set(op->output, "Attributes", out);
  json_decref(out);
  return 0;
}

static int op_set_queue_attributes(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (queue_from_url(op, in, &q) < 0)
    return -1;
  json_t *attrs = json_object_get(in, "Attributes");
  if (!json_is_object(attrs))
    return missing(&op->err, "Attributes");
  qattrs a;
  if (qattrs_copy(&a, &q->a) < 0)
    return oom(&op->err);
  const char *k;
  json_t *v;
  json_object_foreach(attrs, k, v) {
    if (!is_known_attribute(k) || !strcmp(k, "FifoQueue") || !strcmp(k, "QueueArn") ||
        !strncmp(k, "Approximate", 11) || !strcmp(k, "CreatedTimestamp") ||
        !strcmp(k, "LastModifiedTimestamp")) {
      qattrs_free(&a);
      return set_err(&op->err, 0, "InvalidAttributeName", "Unknown Attribute %s.", k);
    }
    if (qattrs_set(&a, k, v, &op->err) < 0) {
      qattrs_free(&a);
      return -1;
    }
  }
  if (check_encryption(attrs, &op->err) < 0 ||
      check_redrive_target(op, q->arn, q->a.fifo, &a, &op->err) < 0) {
    qattrs_free(&a);
    return -1;
  }
  qattrs_free(&q->a);
  q->a = a;
  q->modified_s = now_seconds(op);
  serve_waiters(op, q); /* a shorter retention or a new DLQ may free messages */
  return 0;
}

static int op_purge_queue(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (queue_from_url(op, in, &q) < 0)
    return -1;
  if (q->last_purge_ms && op->now < q->last_purge_ms + SQS_PURGE_INTERVAL_MS)
    return set_err(&op->err, 0, "PurgeQueueInProgress",
                   "Only one PurgeQueue operation on %s is allowed every 60 seconds.", q->name);
  while (q->head)
    msg_delete(q, q->head);
  ttl_clear(&q->attempts);
  q->last_purge_ms = op->now;
  return 0;
}

static int cmp_queue_name(const void *a, const void *b) {
  return strcmp((*(sqs_queue *const *)a)->name, (*(sqs_queue *const *)b)->name);
}

/* Pagination shared by ListQueues and ListDeadLetterSourceQueues: tokens
 * are the base64 of the last name returned. */
static int list_page(sqs_op *op, json_t *in, sqs_queue **qs, size_t n, const char *list_key) {
  int64_t max = 0;
  int has_max = int_member(in, "MaxResults", &max, &op->err);
  if (has_max < 0)
    return -1;
  if (has_max && (max < 1 || max > SQS_MAX_LIST_RESULTS))
    return set_err(&op->err, 0, "InvalidParameterValue",
                   "Value %" PRId64 " for parameter MaxResults is invalid. Reason: MaxResults "
                   "must be an integer between 1 and 1000.",
                   max);
  const char *token = jsonutil_string(in, "NextToken");
  char after[SQS_MAX_NAME + 1] = "";
  if (token && *token) {
    unsigned char *raw = NULL;
    size_t len = 0;
    if (strlen(token) > 200 || codec_base64_decode(&raw, &len, token, strlen(token)) < 0 ||
        len < 3 || len > SQS_MAX_NAME + 2 || memcmp(raw, "q:", 2)) {
      free(raw);
      return set_err(&op->err, 0, "InvalidParameterValue", "Invalid NextToken value.");
    }
    memcpy(after, raw + 2, len - 2);
    after[len - 2] = '\0';
    free(raw);
  }
  qsort(qs, n, sizeof(*qs), cmp_queue_name);
  size_t limit = has_max ? (size_t)max : SQS_MAX_LIST_RESULTS, count = 0, i = 0;
  json_t *urls = json_array();
  op->output = json_object();
  if (!urls || !op->output) {
    json_decref(urls);
    return oom(&op->err);
  }
  if (after[0])
    while (i < n && strcmp(qs[i]->name, after) <= 0)
      i++;
  for (; i < n && count < limit; i++, count++) {
    char *url = queue_url(op, qs[i]);
    json_array_append_new(urls, json_string(url ? url : ""));
    free(url);
  }
  if (json_array_size(urls) || !strcmp(list_key, "queueUrls"))
    json_object_set(op->output, list_key, urls);
  json_decref(urls);
  if (has_max && i < n && count > 0) {
    char raw[SQS_MAX_NAME + 3];
    snprintf(raw, sizeof(raw), "q:%s", qs[i - 1]->name);
    char *tok = codec_base64_encode(raw, strlen(raw));
    if (tok)
      json_object_set_new(op->output, "NextToken", json_string(tok));
    free(tok);
  }
  return 0;
}

static int op_list_queues(sqs_op *op, json_t *in) {
  const char *prefix = jsonutil_string(in, "QueueNamePrefix");
  size_t n = 0, cap = op->e->queues.count + 1;
  sqs_queue **qs = malloc(cap * sizeof(*qs));
  if (!qs)
    return oom(&op->err);
  for (sqs_queue *q = op->e->queues_head; q; q = q->next)
    if (!strcmp(q->account, op->ctx->account) && !strcmp(q->region, op->ctx->region) &&
        (!prefix || !strncmp(q->name, prefix, strlen(prefix))))
      qs[n++] = q;
  int rc = list_page(op, in, qs, n, "QueueUrls");
  free(qs);
  return rc;
}

static int op_list_dead_letter_source_queues(sqs_op *op, json_t *in) {
  sqs_queue *dlq;
  if (queue_from_url(op, in, &dlq) < 0)
    return -1;
  size_t n = 0, cap = op->e->queues.count + 1;
  sqs_queue **qs = malloc(cap * sizeof(*qs));
  if (!qs)
    return oom(&op->err);
  for (sqs_queue *q = op->e->queues_head; q; q = q->next)
    if (q->a.dlq_arn && !strcmp(q->a.dlq_arn, dlq->arn))
      qs[n++] = q;
  int rc = list_page(op, in, qs, n, "queueUrls");
  free(qs);
  return rc;
}

static int op_tag_queue(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (queue_from_url(op, in, &q) < 0)
    return -1;
  json_t *tags = json_object_get(in, "Tags");
  if (!tags)
    return missing(&op->err, "Tags");
  size_t fresh = 0;
  const char *k;
  json_t *v;
  json_object_foreach(tags, k, v) if (!json_object_get(q->tags, k)) fresh++;
  if (check_tags(tags, json_object_size(q->tags) + fresh - json_object_size(tags), &op->err) < 0)
    return -1;
  json_object_update(q->tags, tags);
  return 0;
}

static int op_untag_queue(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (queue_from_url(op, in, &q) < 0)
    return -1;
  json_t *keys = json_object_get(in, "TagKeys");
  if (!json_is_array(keys))
    return missing(&op->err, "TagKeys");
  size_t i;
  json_t *v;
  json_array_foreach(keys, i, v) if (json_is_string(v))
      json_object_del(q->tags, json_string_value(v));
  return 0;
}

static int op_list_queue_tags(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (queue_from_url(op, in, &q) < 0)
    return -1;
  op->output = json_object();
  if (!op->output)
    return oom(&op->err);
  if (json_object_size(q->tags))
    json_object_set_new(op->output, "Tags", json_deep_copy(q->tags));
  return 0;
}

static int valid_label(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > 80)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!name_char(s[i]))
      return 0;
  return 1;
}

static int op_add_permission(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (queue_from_url(op, in, &q) < 0)
    return -1;
  const char *label = jsonutil_string(in, "Label");
  json_t *accounts = json_object_get(in, "AWSAccountIds"),
         *actions = json_object_get(in, "Actions");
  if (!label)
    return missing(&op->err, "Label");
  if (!valid_label(label))
    return set_err(&op->err, 0, "InvalidParameterValue",
                   "Value %.100s for parameter Label is invalid. Reason: Must be 1 to 80 of "
                   "alphanumeric characters, hyphens or underscores.",
                   label);
  if (!json_array_size(accounts))
    return missing(&op->err, "AWSAccountIds");
  if (!json_array_size(actions))
    return missing(&op->err, "Actions");
  json_t *principals = json_array(), *acts = json_array();
  size_t i;
  json_t *v;
  int bad = 0;
  json_array_foreach(accounts, i, v) {
    const char *s = json_string_value(v);
    char arn[64];
    if (!s || !is_account(s, strlen(s))) {
      bad = 1;
      break;
    }
    snprintf(arn, sizeof(arn), "arn:aws:iam::%s:root", s);
    json_array_append_new(principals, json_string(arn));
  }
  json_array_foreach(actions, i, v) {
    const char *s = json_string_value(v);
    char act[80];
    int ok = s && *s && strlen(s) < 64;
    for (const char *p = s; ok && *p; p++)
      ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '*';
    if (!ok) {
      bad = 2;
      break;
    }
    snprintf(act, sizeof(act), "SQS:%s", s);
    json_array_append_new(acts, json_string(act));
  }
  json_t *policy = NULL;
  int rc = -1;
  if (bad) {
    set_err(&op->err, 0, "InvalidParameterValue", "Value for parameter %s is invalid.",
            bad == 1 ? "AWSAccountIds" : "Actions");
    goto cleanup;
  }
  policy = q->a.policy ? json_loads(q->a.policy, 0, NULL) : NULL;
  if (!json_is_object(policy)) {
    json_decref(policy);
    char id[512];
    snprintf(id, sizeof(id), "%s/SQSDefaultPolicy", q->arn);
    policy = json_pack("{s:s, s:s, s:[]}", "Version", "2012-10-17", "Id", id, "Statement");
  }
  json_t *stmts = json_object_get(policy, "Statement");
  if (!json_is_array(stmts)) {
    json_object_set_new(policy, "Statement", json_array());
    stmts = json_object_get(policy, "Statement");
  }
  json_array_foreach(stmts, i, v) {
    const char *sid = jsonutil_string(v, "Sid");
    if (sid && !strcmp(sid, label)) {
      set_err(&op->err, 0, "InvalidParameterValue",
              "Value %s for parameter Label is invalid. Reason: Already exists.", label);
      goto cleanup;
    }
  }
  json_array_append_new(
      stmts,
      json_pack(
          "{s:s, s:s, s:{s:O}, s:O, s:s}", "Sid", label, "Effect", "Allow", "Principal", "AWS",
          json_array_size(principals) == 1 ? json_array_get(principals, 0) : principals, "Action",
          json_array_size(acts) == 1 ? json_array_get(acts, 0) : acts, "Resource", q->arn));
  char *dump = json_dumps(policy, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (!dump) {
    oom(&op->err);
    goto cleanup;
  }
  free(q->a.policy);
  q->a.policy = dump;
  q->modified_s = now_seconds(op);
  rc = 0;
cleanup:
  json_decref(policy);
  json_decref(principals);
  json_decref(acts);
  return rc;
}

static int op_remove_permission(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (queue_from_url(op, in, &q) < 0)
    return -1;
  const char *label = jsonutil_string(in, "Label");
  if (!label)
    return missing(&op->err, "Label");
  json_t *policy = q->a.policy ? json_loads(q->a.policy, 0, NULL) : NULL;
  json_t *stmts = json_object_get(policy, "Statement");
  size_t i;
  json_t *v;
  int found = -1;
  json_array_foreach(stmts, i, v) {
    const char *sid = jsonutil_string(v, "Sid");
    if (sid && !strcmp(sid, label))
      found = (int)i;
  }
  if (found < 0) {
    json_decref(policy);
    return set_err(&op->err, 0, "InvalidParameterValue",
                   "Value %.100s for parameter Label is invalid. Reason: can't find label on "
                   "existing policy.",
                   label);
  }
  json_array_remove(stmts, (size_t)found);
  char *dump =
      json_array_size(stmts) ? json_dumps(policy, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(policy);
  free(q->a.policy);
  q->a.policy = dump;
  q->modified_s = now_seconds(op);
  return 0;
}

static const struct {
  const char *name;
  op_fn fn;
} OPERATIONS[] = {
    {"AddPermission", op_add_permission},
    {"ChangeMessageVisibility", op_change_message_visibility},
    {"ChangeMessageVisibilityBatch", op_change_message_visibility_batch},
    {"CreateQueue", op_create_queue},
    {"DeleteMessage", op_delete_message},
    {"DeleteMessageBatch", op_delete_message_batch},
    {"DeleteQueue", op_delete_queue},
    {"GetQueueAttributes", op_get_queue_attributes},
    {"GetQueueUrl", op_get_queue_url},
    {"ListDeadLetterSourceQueues", op_list_dead_letter_source_queues},
    {"ListQueueTags", op_list_queue_tags},
    {"ListQueues", op_list_queues},
    {"PurgeQueue", op_purge_queue},
    {"ReceiveMessage", NULL}, /* needs the completion; see sqs_engine_call */
    {"RemovePermission", op_remove_permission},
    {"SendMessage", op_send_message},
    {"SendMessageBatch", op_send_message_batch},
    {"SetQueueAttributes", op_set_queue_attributes},
    {"TagQueue", op_tag_queue},
    {"UntagQueue", op_untag_queue},
};
#define OPERATION_COUNT (sizeof(OPERATIONS) / sizeof(OPERATIONS[0]))

int sqs_engine_has_operation(const char *operation) {
  for (size_t i = 0; i < OPERATION_COUNT; i++)
    if (!strcmp(OPERATIONS[i].name, operation))
      return 1;
  return 0;
}

void sqs_engine_call(sqs_engine *e, const sqs_context *ctx, const char *operation, json_t *input,
                     sqs_done_fn done, void *payload) {
  sqs_op op = {.e = e, .ctx = ctx};
  json_t *empty = NULL;
  int rc = -1;
  size_t i;
  if (!input)
    input = empty = json_object();
  for (i = 0; i < OPERATION_COUNT; i++)
    if (!strcmp(OPERATIONS[i].name, operation))
      break;
  if (i == OPERATION_COUNT || !json_is_object(input)) {
    set_err(&op.err, 400, i == OPERATION_COUNT ? "InvalidAction" : "InvalidParameterValue",
            i == OPERATION_COUNT ? "The action %.100s is not valid for this endpoint."
                                 : "The input of %.100s is not a structure.",
            operation);
    done(NULL, &op.err, payload);
    json_decref(empty);
    return;
  }
  pthread_mutex_lock(&e->lock);
  op.now = e->hooks.now_ms(e->hooks.payload);
  if (OPERATIONS[i].fn)
    rc = OPERATIONS[i].fn(&op, input);
  else
    rc = op_receive_message(&op, input, done, payload);
  pthread_mutex_unlock(&e->lock);
  finish_all(e, op.done);
  json_decref(empty);
  if (rc < 0) {
    json_decref(op.output);
    done(NULL, &op.err, payload);
  } else if (!op.suspended) {
    done(op.output, NULL, payload);
  }
}

int sqs_engine_new(sqs_engine **out, const sqs_hooks *hooks) {
  sqs_engine *e = calloc(1, sizeof(*e));
  if (!e)
    return airgap_error_set(AIRGAP_ERROR, "cannot create the SQS engine: out of memory");
  e->hooks = *hooks;
  /* getrandom, not RAND_bytes: initialising OpenSSL here would cost the
   * emulator ~3 ms and ~3 MiB of resident pages at every start. */
  if (getrandom(&e->key, sizeof(e->key), 0) != (ssize_t)sizeof(e->key)) {
    free(e);
    return airgap_error_set(AIRGAP_ERROR, "cannot create the SQS engine: no random bytes");
  }
  pthread_mutex_init(&e->lock, NULL);
  *out = e;
  return 0;
}

/* Answers all waiters; with drop_queues also deletes every queue. */
static void engine_clear(sqs_engine *e, int drop_queues, int shutting_down) {
  sqs_context ctx = {"000000000000", "us-east-1", NULL};
  sqs_op op = {.e = e, .ctx = &ctx};
  pthread_mutex_lock(&e->lock);
  if (shutting_down)
    e->shutting_down = 1;
  for (sqs_queue *q = e->queues_head; q; q = q->next)
    release_waiters(&op, q);
  if (drop_queues)
    while (e->queues_head)
      queue_remove(&op, e->queues_head);
  pthread_mutex_unlock(&e->lock);
  finish_all(e, op.done);
}

void sqs_engine_reset(sqs_engine *e) { engine_clear(e, 1, 0); }

void sqs_engine_shutdown(sqs_engine *e) { engine_clear(e, 0, 1); }

void sqs_engine_free(sqs_engine *e) {
  if (!e)
    return;
  engine_clear(e, 1, 1);
  map_clear(&e->queues);
  pthread_mutex_destroy(&e->lock);
  free(e);
}
