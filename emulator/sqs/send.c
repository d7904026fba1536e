/*
 * send.c — sending messages: SendMessage and SendMessageBatch, the checks a
 * message must pass, and its MD5 digests.
 *
 * A message is validated whole (body characters, attributes, size against
 * the queue's MaximumMessageSize, FIFO group and deduplication ids) before
 * anything is stored, so a refused message leaves the queue unchanged. FIFO
 * queues remember deduplication ids for five minutes (map.c's ttl_map): a
 * duplicate is accepted and answered with the first message's id, not stored
 * again. The digests follow AWS's documented algorithms, which clients such
 * as boto3 verify on every answer.
 */
#include "emulator/sqs/sqs_engine_int.h"

#include "common/codec.h"
#include "common/error.h"
#include "common/jsonutil.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- digests and character checks ---- */

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

/* ---- message validation ---- */

/* Validates a MessageAttributes map; adds its size (names, types, values) to *size. */
static int check_message_attributes(json_t *attrs, size_t *size, sqs_error *err) {
  if (!json_is_object(attrs))
    return sqs_err_set(err, 0, "InvalidParameterValue", "MessageAttributes must be a map.");
  if (json_object_size(attrs) > SQS_MAX_MESSAGE_ATTRIBUTES)
    return sqs_err_set(err, 0, "InvalidParameterValue",
                       "Number of message attributes [%zu] exceeds the allowed maximum [%d].",
                       json_object_size(attrs), SQS_MAX_MESSAGE_ATTRIBUTES);
  const char *name;
  json_t *v;
  json_object_foreach(attrs, name, v) {
    size_t n = strlen(name);
    if (!sqs_valid_attribute_name(name))
      return sqs_err_set(
          err, 0, "InvalidParameterValue",
          "Message (user) attribute name '%.2000s' is invalid. Names can contain "
          "alphanumeric characters, '_', '-' and '.', up to 256 characters, must not "
          "start or end with '.', contain '..' or start with 'AWS.' or 'Amazon.'.",
          name);
    const char *type = jsonutil_string(v, "DataType");
    if (!type || !*type)
      return sqs_err_set(
          err, 0, "InvalidParameterValue",
          "The message attribute '%.2000s' must contain a non-empty message attribute "
          "type.",
          name);
    size_t tl = strlen(type);
    const char *base = !strncmp(type, "String", 6)   ? "String"
                       : !strncmp(type, "Number", 6) ? "Number"
                       : !strncmp(type, "Binary", 6) ? "Binary"
                                                     : NULL;
    if (!base || tl > SQS_MAX_DATA_TYPE || (type[6] != '\0' && (type[6] != '.' || !type[7])))
      return sqs_err_set(
          err, 0, "InvalidParameterValue",
          "The type of message (user) attribute '%.2000s' is invalid. You must use only "
          "the following supported type prefixes: Binary, Number, String.",
          name);
    if (json_object_get(v, "StringListValues") || json_object_get(v, "BinaryListValues")) {
      json_t *sl = json_object_get(v, "StringListValues"),
             *bl = json_object_get(v, "BinaryListValues");
      if (json_array_size(sl) || json_array_size(bl))
        return sqs_err_set(err, 0, "InvalidParameterValue",
                           "Message attribute list values in SendMessage operation are not "
                           "supported.");
    }
    int binary = !strcmp(base, "Binary");
    json_t *sv = json_object_get(v, binary ? "BinaryValue" : "StringValue");
    if (!json_is_string(sv) || json_string_length(sv) == 0)
      return sqs_err_set(err, 0, "InvalidParameterValue",
                         "Message (user) attribute '%.2000s' must contain a non-empty value of "
                         "type '%s'.",
                         name, base);
    if (binary) {
      unsigned char *bytes = NULL;
      size_t bn = 0;
      if (codec_base64_decode(&bytes, &bn, json_string_value(sv), json_string_length(sv)) < 0)
        return sqs_err_set(err, 0, "InvalidParameterValue",
                           "The message attribute '%.2000s' has a BinaryValue that is not valid "
                           "base64.",
                           name);
      free(bytes);
      *size += bn;
    } else {
      if (!valid_message_chars(json_string_value(sv), json_string_length(sv)))
        return sqs_err_set(err, 0, "InvalidParameterValue",
                           "Message (user) attribute '%.2000s' value contains invalid characters.",
                           name);
      if (!strcmp(base, "Number") &&
          (json_string_length(sv) > 64 || !valid_number(json_string_value(sv))))
        return sqs_err_set(
            err, 0, "InvalidParameterValue",
            "Can't cast the value of message (user) attribute '%.2000s' to a number.", name);
      *size += json_string_length(sv);
    }
    *size += n + tl;
  }
  return 0;
}

static int check_system_attributes(json_t *attrs, const char **trace, sqs_error *err) {
  if (!json_is_object(attrs))
    return sqs_err_set(err, 0, "InvalidParameterValue", "MessageSystemAttributes must be a map.");
  const char *name;
  json_t *v;
  json_object_foreach(attrs, name, v) {
    if (strcmp(name, "AWSTraceHeader"))
      return sqs_err_set(err, 0, "InvalidParameterValue",
                         "Message system attribute name '%.2000s' is invalid.", name);
    const char *type = jsonutil_string(v, "DataType");
    const char *sv = jsonutil_string(v, "StringValue");
    if (!type || strcmp(type, "String"))
      return sqs_err_set(err, 0, "InvalidParameterValue",
                         "The message system attribute 'AWSTraceHeader' must have data type "
                         "'String'.");
    json_t *svj = json_object_get(v, "StringValue");
    if (!sv || !*sv || !valid_message_chars(sv, json_string_length(svj)))
      return sqs_err_set(err, 0, "InvalidParameterValue",
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
    return sqs_err_missing(err, "MessageBody");
  const char *body = json_string_value(body_j);
  size_t body_len = json_string_length(body_j);
  if (!valid_message_chars(body, body_len))
    return sqs_err_set(
        err, 0, "InvalidMessageContents",
        "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 "
        "to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF");
  int64_t delay = -1;
  int has_delay = sqs_int_member_range(in, "DelaySeconds", 0, 900,
                                       "must be between 0 and 900, if provided.", &delay, err);
  if (has_delay < 0)
    return -1;
  if (has_delay && delay > 0 && q->a.fifo)
    return sqs_err_set(err, 0, "InvalidParameterValue",
                       "Value %" PRId64
                       " for parameter DelaySeconds is invalid. Reason: The request "
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
    return sqs_err_set(err, 0, "InvalidParameterValue",
                       "One or more parameters are invalid. Reason: Message must be shorter than "
                       "%" PRId64 " bytes.",
                       q->a.max_size);
  const char *group = jsonutil_string(in, "MessageGroupId");
  const char *dedup = jsonutil_string(in, "MessageDeduplicationId");
  char content_hash[65];
  if (group && !sqs_valid_dedup_id(group))
    return sqs_err_set(
        err, 0, "InvalidParameterValue",
        "Value %.2000s for parameter MessageGroupId is invalid. Reason: it must be 1 to "
        "128 characters of letters, digits and punctuation.",
        group);
  if (dedup && !sqs_valid_dedup_id(dedup))
    return sqs_err_set(
        err, 0, "InvalidParameterValue",
        "Value %.2000s for parameter MessageDeduplicationId is invalid. Reason: it must "
        "be 1 to 128 characters of letters, digits and punctuation.",
        dedup);
  if (q->a.fifo) {
    if (!group)
      return sqs_err_missing(err, "MessageGroupId");
    if (!dedup) {
      if (!q->a.content_dedup)
        return sqs_err_set(err, 0, "InvalidParameterValue",
                           "The queue should either have ContentBasedDeduplication enabled or "
                           "MessageDeduplicationId provided explicitly");
      sha256_hex(content_hash, body, body_len);
      dedup = content_hash;
    }
  } else if (dedup) {
    return sqs_err_set(err, 0, "InvalidParameterValue",
                       "The request include parameter MessageDeduplicationId that is not valid for "
                       "this queue type");
  }

  json_t *result = json_object();
  if (!result)
    return sqs_err_oom(err);
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
    ttl_node *seen = sqs_ttl_get(&q->dedup, dedup_key, op->now);
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
  if (sqs_msg_append(q, m) < 0)
    goto nomem;
  json_object_set_new(result, "MessageId", json_string(m->id));
  if (q->a.fifo) {
    json_object_set_new(result, "SequenceNumber", json_string(m->sequence));
    ttl_node *node = sqs_ttl_add(&q->dedup, dedup_key, op->now + SQS_DEDUP_WINDOW_MS);
    if (node) {
      snprintf(node->message_id, sizeof(node->message_id), "%s", m->id);
      snprintf(node->sequence, sizeof(node->sequence), "%s", m->sequence);
    }
  }
  *out = result;
  return 0;
nomem:
  sqs_msg_free(m);
  json_decref(result);
  return sqs_err_oom(err);
}

/* ---- operations ---- */

int sqs_op_send_message(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (sqs_queue_from_url(op, in, &q) < 0 || send_one(op, q, in, &op->output, &op->err) < 0)
    return -1;
  sqs_serve_waiters(op, q);
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

int sqs_op_send_message_batch(sqs_op *op, json_t *in) {
  sqs_queue *q;
  json_t *entries = json_object_get(in, "Entries");
  if (sqs_queue_from_url(op, in, &q) < 0 ||
      sqs_batch_check(op, entries, "SendMessageBatchRequestEntry") < 0)
    return -1;
  size_t total = 0, i;
  json_t *e;
  json_array_foreach(entries, i, e) total += entry_size(e);
  if (total > SQS_MAX_MESSAGE_SIZE)
    return sqs_err_set(&op->err, 0, "BatchRequestTooLong",
                       "Batch requests cannot be longer than %d bytes. You have sent %zu bytes.",
                       SQS_MAX_MESSAGE_SIZE, total);
  /* A FIFO entry without a group id, or without a deduplication id when the
   * queue does not derive one from the content, fails the whole request
   * (AWS answers so, rather than failing the entry; the missing group id
   * with InvalidParameterValue, where a single SendMessage says
   * MissingParameter). */
  json_array_foreach(entries, i, e) {
    if (!q->a.fifo)
      break;
    if (!jsonutil_string(e, "MessageGroupId"))
      return sqs_err_set(&op->err, 0, "InvalidParameterValue",
                         "The request must contain the parameter MessageGroupId.");
    if (!q->a.content_dedup && !jsonutil_string(e, "MessageDeduplicationId"))
      return sqs_err_set(&op->err, 0, "InvalidParameterValue",
                         "The queue should either have ContentBasedDeduplication enabled or "
                         "MessageDeduplicationId provided explicitly");
  }
  return sqs_batch_run(op, q, entries, send_one);
}
