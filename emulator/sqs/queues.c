/*
 * queues.c — queues and the messages in them: storage, lookup by name, URL
 * and ARN, and the queue operations (CreateQueue, DeleteQueue, GetQueueUrl,
 * ListQueues, ListDeadLetterSourceQueues, PurgeQueue, tags).
 *
 * A queue belongs to an account and a region and is found by
 * "account/region/name" in the engine's map. Queue URLs are built from the
 * endpoint the client used, and parsed back leniently: any scheme and host,
 * the path's last two segments (LocalStack's "/queue/<region>/…" style too),
 * a region from AWS-style host names. Messages sit in one list in send order
 * plus a map by sequence number, the part of a receipt handle that finds
 * them.
 */
#include "emulator/sqs/sqs_engine_int.h"

#include "common/codec.h"
#include "common/jsonutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- names ---- */

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
    if (!sqs_name_char(name[i]))
      return 0;
  return 1;
}

/* ---- messages of a queue ---- */

void sqs_msg_free(sqs_msg *m) {
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

void sqs_msg_unlink(sqs_queue *q, sqs_msg *m) {
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
  sqs_map_del(&q->messages, key);
}

int sqs_msg_append(sqs_queue *q, sqs_msg *m) {
  char key[24];
  seq_key(key, m->seq);
  if (sqs_map_put(&q->messages, key, m) < 0)
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

void sqs_msg_delete(sqs_queue *q, sqs_msg *m) {
  sqs_msg_unlink(q, m);
  sqs_msg_free(m);
}

sqs_msg *sqs_msg_find(sqs_queue *q, uint64_t seq) {
  char key[24];
  seq_key(key, seq);
  return sqs_map_get(&q->messages, key);
}

/* ---- storage and lookup ---- */

static void queue_free(sqs_queue *q) {
  if (!q)
    return;
  while (q->head)
    sqs_msg_delete(q, q->head);
  sqs_map_clear(&q->messages);
  sqs_ttl_clear(&q->dedup);
  sqs_ttl_clear(&q->attempts);
  sqs_qattrs_free(&q->a);
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
  sqs_queue *q = k ? sqs_map_get(&e->queues, k) : NULL;
  free(k);
  return q;
}

sqs_queue *sqs_queue_by_arn(sqs_engine *e, const char *arn) {
  char region[64], account[32], name[128];
  if (!arn || sqs_parse_queue_arn(arn, region, sizeof(region), account, sizeof(account), name,
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

int sqs_is_account(const char *s, size_t n) {
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
int sqs_queue_from_url(sqs_op *op, json_t *in, sqs_queue **out) {
  const char *url = jsonutil_string(in, "QueueUrl");
  if (!url || !*url)
    return sqs_err_missing(&op->err, "QueueUrl");
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
  if (segs[2] && sqs_is_account(segs[2], lens[2])) {
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
  return sqs_err_set(&op->err, 0, "QueueDoesNotExist", "The specified queue does not exist.");
}

/* Tag keys and values: letters, digits, white space and _ . : / = + - @ (AWS's
 * tag character set); bytes of multi-byte UTF-8 sequences count as letters. */
static int valid_tag_text(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (!(*p >= 0x80 || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || strchr(" \t\n\r_.:/=+-@", *p)))
      return 0;
  return 1;
}

/* Checks tags for queue name, which holds `existing` tags whose keys tags
 * does not repeat: 1-128 character keys not starting with "aws:", values of
 * at most 256, at most 50 tags in all. */
static int check_tags(json_t *tags, size_t existing, const char *name, sqs_error *err) {
  if (!json_is_object(tags))
    return sqs_err_set(err, 0, "InvalidParameterValue", "Tags must be a map.");
  const char *k;
  json_t *v;
  if (existing + json_object_size(tags) > SQS_MAX_TAGS)
    return sqs_err_set(err, 0, "InvalidParameterValue", "Too many tags added for queue %s.", name);
  json_object_foreach(tags, k, v) {
    size_t n = strlen(k);
    if (n == 0 || n > 128)
      return sqs_err_set(err, 0, "InvalidParameterValue",
                         "Tag keys must be between 1 and 128 characters in length.");
    if (!strncasecmp(k, "aws:", 4))
      return sqs_err_set(err, 0, "InvalidParameterValue",
                         "Tag key %.2000s is invalid. Reason: the prefix aws: is reserved for AWS "
                         "use.",
                         k);
    if (!valid_tag_text(k))
      return sqs_err_set(err, 0, "InvalidParameterValue",
                         "Tag key %.2000s is invalid. Reason: it can only contain letters, digits, "
                         "white space and _ . : / = + - @.",
                         k);
    if (!json_is_string(v) || json_string_length(v) > 256)
      return sqs_err_set(err, 0, "InvalidParameterValue",
                         "Tag values may only be up to 256 characters in length.");
    if (!valid_tag_text(json_string_value(v)))
      return sqs_err_set(err, 0, "InvalidParameterValue",
                         "Tag value for key %.2000s is invalid. Reason: it can only contain "
                         "letters, digits, white space and _ . : / = + - @.",
                         k);
  }
  return 0;
}

/* The answer of CreateQueue and GetQueueUrl. */
static int reply_queue_url(sqs_op *op, const sqs_queue *q) {
  char *url = queue_url(op, q);
  op->output = url ? json_pack("{s:s}", "QueueUrl", url) : NULL;
  free(url);
  return op->output ? 0 : sqs_err_oom(&op->err);
}

/* ---- operations ---- */

int sqs_op_create_queue(sqs_op *op, json_t *in) {
  const char *name = jsonutil_string(in, "QueueName");
  json_t *attrs = json_object_get(in, "Attributes");
  json_t *tags = json_object_get(in, "tags");
  if (!tags)
    tags = json_object_get(in, "Tags");
  if (!name || !*name)
    return sqs_err_missing(&op->err, "QueueName");
  if (attrs && !json_is_object(attrs))
    return sqs_err_set(&op->err, 0, "InvalidParameterValue", "Attributes must be a map.");
  int fifo = 0;
  if (sqs_qattrs_fifo(attrs, &fifo, &op->err) < 0)
    return -1;
  if (!valid_queue_name(name, fifo)) {
    if (fifo)
      return sqs_err_set(
          &op->err, 0, "InvalidParameterValue",
          "The name of a FIFO queue can only include alphanumeric characters, hyphens, "
          "or underscores, must end with .fifo suffix and be 1 to 80 in length.");
    return sqs_err_set(
        &op->err, 0, "InvalidParameterValue",
        "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in "
        "length");
  }
  qattrs a;
  sqs_qattrs_defaults(&a, fifo);
  if (sqs_qattrs_apply(&a, attrs, 1, &op->err) < 0 ||
      (tags && check_tags(tags, 0, name, &op->err) < 0) ||
      sqs_check_encryption(attrs, &op->err) < 0) {
    sqs_qattrs_free(&a);
    return -1;
  }
  const char *account = op->ctx->account, *region = op->ctx->region;
  if (op->e->hooks.delay_recently_deleted) {
    char *k = queue_key(account, region, name);
    json_t *when = k ? json_object_get(op->e->deleted, k) : NULL;
    free(k);
    if (when && (uint64_t)json_integer_value(when) + SQS_DELETED_WAIT_MS > op->now) {
      sqs_qattrs_free(&a);
      return sqs_err_set(&op->err, 0, "QueueDeletedRecently",
                         "You must wait 60 seconds after deleting a queue before you can create "
                         "another with the same name.");
    }
  }
  sqs_queue *q = queue_get(op->e, account, region, name);
  if (q) {
    /* Same name: fine when every attribute given matches the queue's. */
    const char *k;
    json_t *v;
    json_object_foreach(attrs, k, v) {
      char b1[32], b2[32];
      const char *want =
          sqs_attribute_value(&(sqs_queue){.a = a, .arn = q->arn}, k, op->now, b1, sizeof(b1));
      const char *have = sqs_attribute_value(q, k, op->now, b2, sizeof(b2));
      if ((want || have) && (!want || !have || strcmp(want, have))) {
        sqs_qattrs_free(&a);
        return sqs_err_set(&op->err, 0, "QueueNameExists",
                           "A queue already exists with the same name and a different value for "
                           "attribute %s",
                           k);
      }
    }
    sqs_qattrs_free(&a);
    return reply_queue_url(op, q);
  }
  size_t arn_len = strlen(region) + strlen(account) + strlen(name) + 16;
  char *arn = malloc(arn_len);
  if (!arn) {
    sqs_qattrs_free(&a);
    return sqs_err_oom(&op->err);
  }
  snprintf(arn, arn_len, "arn:aws:sqs:%s:%s:%s", region, account, name);
  if (sqs_check_redrive_target(op, arn, fifo, &a, attrs, &op->err) < 0) {
    free(arn);
    sqs_qattrs_free(&a);
    return -1;
  }
  q = calloc(1, sizeof(*q));
  if (!q) {
    free(arn);
    sqs_qattrs_free(&a);
    return sqs_err_oom(&op->err);
  }
  q->a = a;
  q->arn = arn;
  snprintf(q->account, sizeof(q->account), "%s", account);
  q->key = queue_key(account, region, name);
  q->region = strdup(region);
  q->name = strdup(name);
  q->tags = tags ? json_deep_copy(tags) : json_object();
  q->uid = ++op->e->next_uid;
  q->created_s = q->modified_s = sqs_now_s(op);
  if (!q->key || !q->region || !q->name || !q->tags || sqs_map_put(&op->e->queues, q->key, q) < 0) {
    queue_free(q);
    return sqs_err_oom(&op->err);
  }
  q->next = op->e->queues_head;
  if (q->next)
    q->next->prev = q;
  op->e->queues_head = q;
  return reply_queue_url(op, q);
}

void sqs_queue_remove(sqs_op *op, sqs_queue *q) {
  sqs_release_waiters(op, q);
  sqs_move_tasks_queue_gone(op->e, q->arn);
  sqs_map_del(&op->e->queues, q->key);
  if (q->prev)
    q->prev->next = q->next;
  else
    op->e->queues_head = q->next;
  if (q->next)
    q->next->prev = q->prev;
  queue_free(q);
}

int sqs_op_delete_queue(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (sqs_queue_from_url(op, in, &q) < 0)
    return -1;
  if (op->e->hooks.delay_recently_deleted) {
    /* Remember when, forgetting what no longer matters. */
    const char *k;
    json_t *v, *tmp;
    json_object_foreach_safe(op->e->deleted, tmp, k, v) {
      if ((uint64_t)json_integer_value(v) + SQS_DELETED_WAIT_MS <= op->now)
        json_object_del(op->e->deleted, k);
    }
    if (json_object_size(op->e->deleted) < SQS_DELETED_MAX)
      json_object_set_new(op->e->deleted, q->key, json_integer((json_int_t)op->now));
  }
  sqs_queue_remove(op, q);
  return 0;
}

int sqs_op_get_queue_url(sqs_op *op, json_t *in) {
  const char *name = jsonutil_string(in, "QueueName");
  const char *owner = jsonutil_string(in, "QueueOwnerAWSAccountId");
  if (!name || !*name)
    return sqs_err_missing(&op->err, "QueueName");
  sqs_queue *q =
      queue_get(op->e, owner && *owner ? owner : op->ctx->account, op->ctx->region, name);
  if (!q)
    return sqs_err_set(&op->err, 0, "QueueDoesNotExist", "The specified queue does not exist.");
  return reply_queue_url(op, q);
}

int sqs_op_purge_queue(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (sqs_queue_from_url(op, in, &q) < 0)
    return -1;
  if (q->last_purge_ms && op->now < q->last_purge_ms + SQS_PURGE_INTERVAL_MS)
    return sqs_err_set(&op->err, 0, "PurgeQueueInProgress",
                       "Only one PurgeQueue operation on %s is allowed every 60 seconds.", q->name);
  while (q->head)
    sqs_msg_delete(q, q->head);
  /* A purge also forgets FIFO deduplication ids: the same id sent again is
   * delivered (AWS does; LocalStack's AWS-validated suite records it). */
  sqs_ttl_clear(&q->dedup);
  sqs_ttl_clear(&q->attempts);
  q->last_purge_ms = op->now;
  return 0;
}

static int cmp_queue_name(const void *a, const void *b) {
  return strcmp((*(sqs_queue *const *)a)->name, (*(sqs_queue *const *)b)->name);
}

typedef int (*queue_match_fn)(const sqs_op *op, const sqs_queue *q, const void *arg);

/* ListQueues and ListDeadLetterSourceQueues: the queues match accepts, by
 * name, a page at a time; tokens are the base64 of the last name returned. */
static int list_page(sqs_op *op, json_t *in, queue_match_fn match, const void *arg,
                     const char *list_key) {
  int64_t max = 0;
  int has_max =
      sqs_int_member_range(in, "MaxResults", 1, SQS_MAX_LIST_RESULTS,
                           "MaxResults must be an integer between 1 and 1000.", &max, &op->err);
  if (has_max < 0)
    return -1;
  const char *token = jsonutil_string(in, "NextToken");
  char after[SQS_MAX_NAME + 1] = "";
  if (token && *token) {
    unsigned char *raw = NULL;
    size_t len = 0;
    if (strlen(token) > 200 || codec_base64_decode(&raw, &len, token, strlen(token)) < 0 ||
        len < 3 || len > SQS_MAX_NAME + 2 || memcmp(raw, "q:", 2)) {
      free(raw);
      return sqs_err_set(&op->err, 0, "InvalidParameterValue", "Invalid NextToken value.");
    }
    memcpy(after, raw + 2, len - 2);
    after[len - 2] = '\0';
    free(raw);
  }
  size_t n = 0;
  sqs_queue **qs = malloc((op->e->queues.count + 1) * sizeof(*qs));
  json_t *urls = json_array();
  op->output = json_object();
  if (!qs || !urls || !op->output) {
    free(qs);
    json_decref(urls);
    return sqs_err_oom(&op->err);
  }
  for (sqs_queue *q = op->e->queues_head; q; q = q->next)
    if (match(op, q, arg))
      qs[n++] = q;
  qsort(qs, n, sizeof(*qs), cmp_queue_name);
  size_t limit = has_max ? (size_t)max : SQS_MAX_LIST_RESULTS, count = 0, i = 0;
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
  free(qs);
  return 0;
}

/* The caller's account and region, and the name prefix arg (or NULL). */
static int in_account_with_prefix(const sqs_op *op, const sqs_queue *q, const void *arg) {
  const char *prefix = arg;
  return !strcmp(q->account, op->ctx->account) && !strcmp(q->region, op->ctx->region) &&
         (!prefix || !strncmp(q->name, prefix, strlen(prefix)));
}

int sqs_op_list_queues(sqs_op *op, json_t *in) {
  return list_page(op, in, in_account_with_prefix, jsonutil_string(in, "QueueNamePrefix"),
                   "QueueUrls");
}

/* Queues whose RedrivePolicy names the dead-letter queue ARN arg. */
static int redrives_to(const sqs_op *op, const sqs_queue *q, const void *arg) {
  return q->a.dlq_arn && !strcmp(q->a.dlq_arn, arg);
}

int sqs_op_list_dead_letter_source_queues(sqs_op *op, json_t *in) {
  sqs_queue *dlq;
  if (sqs_queue_from_url(op, in, &dlq) < 0)
    return -1;
  return list_page(op, in, redrives_to, dlq->arn, "queueUrls");
}

int sqs_op_tag_queue(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (sqs_queue_from_url(op, in, &q) < 0)
    return -1;
  json_t *tags = json_object_get(in, "Tags");
  if (!json_object_size(tags))
    return sqs_err_missing(&op->err, "Tags");
  size_t fresh = 0;
  const char *k;
  json_t *v;
  json_object_foreach(tags, k, v) if (!json_object_get(q->tags, k)) fresh++;
  if (check_tags(tags, json_object_size(q->tags) + fresh - json_object_size(tags), q->name,
                 &op->err) < 0)
    return -1;
  json_object_update(q->tags, tags);
  return 0;
}

int sqs_op_untag_queue(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (sqs_queue_from_url(op, in, &q) < 0)
    return -1;
  json_t *keys = json_object_get(in, "TagKeys");
  size_t i;
  json_t *v;
  if (!json_array_size(keys))
    return sqs_err_set(&op->err, 0, "InvalidParameterValue",
                       "Tag keys must be between 1 and 128 characters in length.");
  json_array_foreach(keys, i, v) {
    size_t n = json_string_length(v);
    if (!json_is_string(v) || n == 0 || n > 128)
      return sqs_err_set(&op->err, 0, "InvalidParameterValue",
                         "Tag keys must be between 1 and 128 characters in length.");
  }
  json_array_foreach(keys, i, v) if (json_is_string(v))
      json_object_del(q->tags, json_string_value(v));
  return 0;
}

int sqs_op_list_queue_tags(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (sqs_queue_from_url(op, in, &q) < 0)
    return -1;
  op->output = json_object();
  if (!op->output)
    return sqs_err_oom(&op->err);
  if (json_object_size(q->tags))
    json_object_set_new(op->output, "Tags", json_deep_copy(q->tags));
  return 0;
}
