/*
 * sns_publish.c — Publish and PublishBatch: a message is checked whole
 * (attributes, size, MessageStructure, FIFO group and deduplication ids)
 * before anything is sent; then, under the SNS lock, each confirmed
 * subscription whose filter policy accepts it gets a delivery job in the
 * shape its protocol expects:
 *   sqs        the JSON envelope (Type, MessageId, TopicArn, Subject,
 *              Message, Timestamp, SignatureVersion, Signature,
 *              SigningCertURL, UnsubscribeURL, MessageAttributes), or with
 *              RawMessageDelivery the message itself and its attributes as
 *              SQS message attributes; FIFO topics pass group and
 *              deduplication ids on
 *   http(s)    the same envelope (or the raw message) POSTed with SNS's
 *              x-amz-sns-* headers, retried per the DeliveryPolicy
 *   lambda     the SNS event ({"Records": [{"EventSource": "aws:sns", …}]})
 *   sms, application   recorded for /_aws/sns/ (nothing to send them to)
 * Jobs are submitted under the lock, so two publishes to a FIFO topic reach
 * every queue in the order their sequence numbers say. Deduplication ids of
 * FIFO topics are remembered for five minutes, like SQS's.
 */
#include "emulator/sns/sns_int.h"

#include "common/codec.h"
#include "common/error.h"
#include "common/log.h"
#include "common/jsonutil.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct pub_err {
  int status;
  const char *code;
  char message[320];
} pub_err;

static int perr(pub_err *e, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(pub_err *e, const char *code, const char *fmt, ...) {
  e->status = !strcmp(code, "NotFound") ? 404 : 400;
  e->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof(e->message), fmt, ap);
  va_end(ap);
  return -1;
}

static void log_delivery_drop(const char *target) {
  log_warn("sns", "delivery to %s not queued: %s", target, airgap_error_last());
}

static int rc_for(const pub_err *e) {
  return airgap_error_set(strcmp(e->code, "NotFound") ? AIRGAP_EINVALID : AIRGAP_ENOTFOUND,
                          "%s: %s", e->code, e->message);
}

/* ---- checks ---- */

static int valid_number(const char *s) {
  char *end = NULL;
  if (!*s)
    return 0;
  strtod(s, &end);
  return end && *end == '\0';
}

/* Checks MessageAttributes; adds their size to *size. */
static int check_attributes(json_t *attrs, size_t *size, pub_err *e) {
  if (!attrs)
    return 0;
  if (json_object_size(attrs) > SNS_MAX_ATTRIBUTES)
    return perr(e, "InvalidParameterValue",
                "Number of message attributes [%zu] exceeds the allowed maximum [%d].",
                json_object_size(attrs), SNS_MAX_ATTRIBUTES);
  const char *name;
  json_t *v;
  json_object_foreach(attrs, name, v) {
    size_t n = strlen(name);
    int ok = n > 0 && n <= 256 && name[0] != '.' && name[n - 1] != '.' && !strstr(name, "..") &&
             strncasecmp(name, "aws.", 4) && strncasecmp(name, "amazon.", 7);
    for (size_t i = 0; ok && i < n; i++) {
      char c = name[i];
      ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
    }
    if (!ok)
      return perr(e, "ParameterValueInvalid", "Invalid attribute name: %.256s", name);
    const char *type = jsonutil_string(v, "DataType");
    if (!type || !*type)
      return perr(e, "ParameterValueInvalid",
                  "The message attribute '%.256s' must contain non-empty message attribute type.",
                  name);
    int binary = !strncmp(type, "Binary", 6), number = !strncmp(type, "Number", 6);
    int string = !strncmp(type, "String", 6);
    size_t base = 6;
    if ((!binary && !number && !string) || (type[base] && (type[base] != '.' || !type[base + 1])))
      return perr(e, "ParameterValueInvalid",
                  "The message attribute '%.256s' has an invalid message attribute type, the set "
                  "of supported type prefixes is Binary, Number, and String.",
                  name);
    const char *sv = jsonutil_string(v, binary ? "BinaryValue" : "StringValue");
    if (!sv || !*sv)
      return perr(e, "ParameterValueInvalid",
                  "The message attribute '%.256s' must contain non-empty message attribute value "
                  "for message attribute type '%s'.",
                  name,
                  binary   ? "Binary"
                  : number ? "Number"
                           : "String");
    if (number && !valid_number(sv))
      return perr(e, "ParameterValueInvalid",
                  "Could not cast message attribute '%.256s' value to number.", name);
    if (!strcmp(type, "String.Array")) {
      json_t *arr = json_loads(sv, JSON_DECODE_ANY, NULL);
      int is_arr = json_is_array(arr);
      json_decref(arr);
      if (!is_arr)
        return perr(e, "ParameterValueInvalid",
                    "The message attribute '%.256s' with type 'String.Array' has an invalid "
                    "value: it must be a JSON array.",
                    name);
    }
    *size += n + strlen(type) + strlen(sv);
  }
  return 0;
}

/* Checks one message (a Publish request or a batch entry) of a topic
 * (fifo, content_dedup) or of no topic (topic_kind -1). */
static int check_message(json_t *in, int fifo, int content_dedup, pub_err *e) {
  const char *msg = jsonutil_string(in, "Message");
  if (!msg || !*msg)
    return perr(e, "InvalidParameter", "Invalid parameter: Empty message");
  size_t size = strlen(msg);
  const char *subject = jsonutil_string(in, "Subject");
  if (subject) {
    size_t n = strlen(subject);
    int ok = n > 0 && n <= SNS_MAX_SUBJECT;
    for (size_t i = 0; ok && i < n; i++)
      ok = (unsigned char)subject[i] >= 0x20 && subject[i] != 0x7f;
    if (!ok)
      return perr(e, "InvalidParameter", "Invalid parameter: Subject");
  }
  if (check_attributes(json_object_get(in, "MessageAttributes"), &size, e) < 0)
    return -1;
  if (size > SNS_MAX_MESSAGE)
    return perr(e, "InvalidParameter", "Invalid parameter: Message too long");
  const char *structure = jsonutil_string(in, "MessageStructure");
  if (structure) {
    if (strcmp(structure, "json"))
      return perr(e, "InvalidParameter",
                  "Invalid parameter: MessageStructure Reason: must be json");
    json_t *j = json_loads(msg, 0, NULL);
    int parsed = json_is_object(j), has_default = json_is_string(json_object_get(j, "default"));
    json_decref(j);
    if (!parsed)
      return perr(e, "InvalidParameter",
                  "Invalid parameter: Message Structure - JSON message body failed to parse");
    if (!has_default)
      return perr(e, "InvalidParameter",
                  "Invalid parameter: Message Structure - No default entry in JSON message body");
  }
  const char *group = jsonutil_string(in, "MessageGroupId");
  const char *dedup = jsonutil_string(in, "MessageDeduplicationId");
  if (fifo < 0)
    return 0;
  if (fifo) {
    if (!group || !*group)
      return perr(e, "InvalidParameter",
                  "Invalid parameter: The MessageGroupId parameter is required for FIFO topics");
    if (strlen(group) > 128)
      return perr(e, "InvalidParameter", "Invalid parameter: MessageGroupId");
    if (dedup && strlen(dedup) > 128)
      return perr(e, "InvalidParameter", "Invalid parameter: MessageDeduplicationId");
    if (!dedup && !content_dedup)
      return perr(e, "InvalidParameter",
                  "Invalid parameter: The topic should either have ContentBasedDeduplication "
                  "enabled or MessageDeduplicationId provided explicitly");
  } else {
    if (dedup)
      return perr(e, "InvalidParameter",
                  "Invalid parameter: MessageDeduplicationId Reason: The request includes "
                  "MessageDeduplicationId parameter that is not valid for this topic type");
    if (group)
      return perr(e, "InvalidParameter",
                  "Invalid parameter: MessageGroupId Reason: The request includes MessageGroupId "
                  "parameter that is not valid for this topic type");
  }
  return 0;
}

/* ---- envelopes ---- */

typedef struct pub_msg {
  const char *topic_arn;
  const char *message_id;
  const char *sequence; /* FIFO, else NULL */
  const char *subject;
  const char *message;  /* the default message */
  json_t *per_protocol; /* MessageStructure json: the parsed object, else NULL */
  json_t *attributes;   /* MessageAttributes or NULL */
  const char *group, *dedup;
  char timestamp[32];
} pub_msg;

static const char *message_for(const pub_msg *m, const char *protocol) {
  const char *s = jsonutil_string(m->per_protocol, protocol);
  if (!s)
    s = jsonutil_string(m->per_protocol, "default");
  return s ? s : m->message;
}

/* {"name": {"Type", "Value"}} as envelopes carry attributes. */
static json_t *envelope_attributes(json_t *attrs) {
  json_t *out = json_object();
  const char *name;
  json_t *v;
  json_object_foreach(attrs, name, v) {
    const char *type = jsonutil_string(v, "DataType");
    const char *value =
        jsonutil_string(v, !strncmp(type, "Binary", 6) ? "BinaryValue" : "StringValue");
    json_object_set_new(out, name, json_pack("{s:s,s:s}", "Type", type, "Value", value));
  }
  return out;
}

static int signature_version(sns_state *st, const char *topic_arn) {
  json_t *topic = json_object_get(st->topics, topic_arn);
  const char *v = jsonutil_string(json_object_get(topic, "Attributes"), "SignatureVersion");
  return v && !strcmp(v, "2") ? 2 : 1;
}

static json_t *notification(sns_state *st, const pub_msg *m, const char *protocol,
                            const char *sub_arn) {
  int version = signature_version(st, m->topic_arn);
  json_t *env = json_pack("{s:s,s:s}", "Type", "Notification", "MessageId", m->message_id);
  if (m->sequence)
    json_object_set_new(env, "SequenceNumber", json_string(m->sequence));
  json_object_set_new(env, "TopicArn", json_string(m->topic_arn));
  if (m->subject)
    json_object_set_new(env, "Subject", json_string(m->subject));
  json_object_set_new(env, "Message", json_string(message_for(m, protocol)));
  json_object_set_new(env, "Timestamp", json_string(m->timestamp));
  json_object_set_new(env, "SignatureVersion", json_string(version == 2 ? "2" : "1"));
  json_object_set_new(env, "Signature", json_string(""));
  char url[1024];
  snprintf(url, sizeof(url), "%s/_aws/sns/%s", st->endpoint, sns_signer_cert_name(st->signer));
  json_object_set_new(env, "SigningCertURL", json_string(url));
  snprintf(url, sizeof(url), "%s/?Action=Unsubscribe&SubscriptionArn=%s", st->endpoint, sub_arn);
  json_object_set_new(env, "UnsubscribeURL", json_string(url));
  if (json_object_size(m->attributes))
    json_object_set_new(env, "MessageAttributes", envelope_attributes(m->attributes));
  sns_sign(st->signer, env, version);
  return env;
}

static json_t *http_headers(const char *type, const char *message_id, const char *topic_arn,
                            const char *sub_arn, int raw) {
  json_t *h =
      json_pack("{s:s,s:s,s:s,s:s,s:s}", "Content-Type", "text/plain; charset=UTF-8", "User-Agent",
                "Amazon Simple Notification Service Agent", "x-amz-sns-message-type", type,
                "x-amz-sns-message-id", message_id, "x-amz-sns-topic-arn", topic_arn);
  if (sub_arn)
    json_object_set_new(h, "x-amz-sns-subscription-arn", json_string(sub_arn));
  if (raw)
    json_object_set_new(h, "x-amz-sns-rawdelivery", json_string("true"));
  return h;
}

/* The retry schedule of an HTTP(S) sub: its DeliveryPolicy, else its
 * topic's, else SNS's default (3 retries, 20 s apart). */
static void retry_policy(sns_state *st, json_t *sub, delivery_job *job) {
  job->max_attempts = 4;
  job->min_delay_ms = job->max_delay_ms = 20000;
  const char *p = jsonutil_string(json_object_get(sub, "Attributes"), "DeliveryPolicy");
  json_t *policy = p ? json_loads(p, 0, NULL) : NULL;
  json_t *retry = json_object_get(policy, "healthyRetryPolicy");
  if (!retry) {
    json_t *topic = json_object_get(st->topics, jsonutil_string(sub, "TopicArn"));
    const char *tp = jsonutil_string(json_object_get(topic, "Attributes"), "DeliveryPolicy");
    json_decref(policy);
    policy = tp ? json_loads(tp, 0, NULL) : NULL;
    retry = json_object_get(json_object_get(policy, "http"), "defaultHealthyRetryPolicy");
  }
  if (json_is_object(retry)) {
    json_int_t n = json_integer_value(json_object_get(retry, "numRetries"));
    json_int_t lo = json_integer_value(json_object_get(retry, "minDelayTarget"));
    json_int_t hi = json_integer_value(json_object_get(retry, "maxDelayTarget"));
    json_int_t nd = json_integer_value(json_object_get(retry, "numNoDelayRetries"));
    if (json_object_get(retry, "numRetries") && n >= 0 && n <= 100)
      job->max_attempts = (int)n + 1;
    if (lo > 0 && lo <= 3600)
      job->min_delay_ms = (uint32_t)lo * 1000;
    if (hi > 0 && hi <= 3600)
      job->max_delay_ms = (uint32_t)hi * 1000;
    if (nd > 0 && nd <= 100)
      job->no_delay_retries = (int)nd;
  }
  json_decref(policy);
}

/* SNS attributes as SQS message attributes (raw delivery). */
static json_t *sqs_attributes(json_t *attrs) {
  json_t *out = json_object();
  const char *name;
  json_t *v;
  json_object_foreach(attrs, name, v) {
    const char *type = jsonutil_string(v, "DataType");
    int binary = !strncmp(type, "Binary", 6);
    const char *value = jsonutil_string(v, binary ? "BinaryValue" : "StringValue");
    json_object_set_new(
        out, name,
        json_pack("{s:s,s:s}", "DataType", type, binary ? "BinaryValue" : "StringValue", value));
  }
  return out;
}

static json_t *lambda_event(sns_state *st, const pub_msg *m, const char *sub_arn) {
  json_t *env = notification(st, m, "lambda", sub_arn);
  json_t *sns = json_pack(
      "{s:O,s:O,s:O,s:O,s:O,s:O,s:o,s:s,s:O,s:O,s:o}", "SignatureVersion",
      json_object_get(env, "SignatureVersion"), "Timestamp", json_object_get(env, "Timestamp"),
      "Signature", json_object_get(env, "Signature"), "SigningCertUrl",
      json_object_get(env, "SigningCertURL"), "MessageId", json_object_get(env, "MessageId"),
      "Message", json_object_get(env, "Message"), "MessageAttributes",
      envelope_attributes(m->attributes), "Type", "Notification", "UnsubscribeUrl",
      json_object_get(env, "UnsubscribeURL"), "TopicArn", json_object_get(env, "TopicArn"),
      "Subject", m->subject ? json_string(m->subject) : json_null());
  json_decref(env);
  return json_pack("{s:[{s:s,s:s,s:s,s:o}]}", "Records", "EventVersion", "1.0",
                   "EventSubscriptionArn", sub_arn, "EventSource", "aws:sns", "Sns", sns);
}

static void submit_json(sns_state *st, delivery_job *job, json_t *body) {
  char *text = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  if (!text)
    return;
  job->body = text;
  job->body_len = strlen(text);
  if (delivery_submit(st->delivery, job) < 0)
    log_delivery_drop(job->target);
  free(text);
}

/* One subscription's delivery of m (under lock). */
static void deliver(sns_state *st, const pub_msg *m, const char *sub_arn, json_t *sub,
                    const char *account, const char *region) {
  const char *protocol = jsonutil_string(sub, "Protocol");
  const char *endpoint = jsonutil_string(sub, "Endpoint");
  json_t *attrs = json_object_get(sub, "Attributes");
  const char *raw_s = jsonutil_string(attrs, "RawMessageDelivery");
  int raw = raw_s && !strcasecmp(raw_s, "true");
  const char *redrive = jsonutil_string(attrs, "RedrivePolicy");
  json_t *redrive_j = redrive ? json_loads(redrive, 0, NULL) : NULL;
  delivery_job job = {.target = endpoint,
                      .dlq_arn = jsonutil_string(redrive_j, "deadLetterTargetArn")};
  const char *text = message_for(m, protocol);
  if (!strcmp(protocol, "sqs")) {
    job.kind = DELIVERY_SQS;
    json_t *meta = json_object();
    if (m->group)
      json_object_set_new(meta, "MessageGroupId", json_string(m->group));
    if (m->dedup)
      json_object_set_new(meta, "MessageDeduplicationId", json_string(m->dedup));
    job.meta = meta;
    if (raw) {
      if (json_object_size(m->attributes))
        json_object_set_new(meta, "MessageAttributes", sqs_attributes(m->attributes));
      job.body = text;
      job.body_len = strlen(text);
      if (delivery_submit(st->delivery, &job) < 0)
        log_delivery_drop(endpoint);
    } else {
      submit_json(st, &job, notification(st, m, protocol, sub_arn));
    }
    json_decref(meta);
  } else if (!strcmp(protocol, "http") || !strcmp(protocol, "https")) {
    job.kind = DELIVERY_HTTP;
    retry_policy(st, sub, &job);
    json_t *meta =
        json_pack("{s:o}", "headers",
                  http_headers("Notification", m->message_id, m->topic_arn, sub_arn, raw));
    job.meta = meta;
    if (raw) {
      job.body = text;
      job.body_len = strlen(text);
      if (delivery_submit(st->delivery, &job) < 0)
        log_delivery_drop(endpoint);
    } else {
      submit_json(st, &job, notification(st, m, protocol, sub_arn));
    }
    json_decref(meta);
  } else if (!strcmp(protocol, "lambda")) {
    job.kind = DELIVERY_LAMBDA;
    submit_json(st, &job, lambda_event(st, m, sub_arn));
  } else if (!strcmp(protocol, "sms")) {
    sns_sms_record(st,
                   json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "PhoneNumber", endpoint, "TopicArn",
                             m->topic_arn, "SubscriptionArn", sub_arn, "MessageId", m->message_id,
                             "Message", text, "Account", account, "Region", region));
  } else if (!strcmp(protocol, "application")) {
    json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "TargetArn", endpoint, "TopicArn",
                            m->topic_arn, "SubscriptionArn", sub_arn, "MessageId", m->message_id,
                            "Message", text, "EndpointArn", endpoint);
    sns_platform_record(st, NULL, endpoint, rec);
  }
  json_decref(redrive_j);
}

/* ---- publishing ---- */

static void sha256_hex(char out[65], const char *s) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s, strlen(s), d, &n, EVP_sha256(), NULL);
  codec_hex_encode(out, d, 32);
}

/* Publishes one checked-as-far-as-possible message to a topic; *result gets
 * {MessageId[, SequenceNumber]}. */
static int publish_topic(sns_state *st, const char *topic_arn, json_t *in, json_t **result,
                         pub_err *e) {
  pthread_mutex_lock(&st->lock);
  json_t *topic = json_object_get(st->topics, topic_arn);
  if (!topic) {
    pthread_mutex_unlock(&st->lock);
    return perr(e, "NotFound", "Topic does not exist");
  }
  int fifo = json_is_true(json_object_get(topic, "Fifo"));
  const char *cbd =
      jsonutil_string(json_object_get(topic, "Attributes"), "ContentBasedDeduplication");
  if (check_message(in, fifo, cbd && !strcasecmp(cbd, "true"), e) < 0) {
    pthread_mutex_unlock(&st->lock);
    return -1;
  }
  char message_id[37], sequence[24], dedup_hash[65];
  codec_uuid4(message_id);
  pub_msg m = {.topic_arn = topic_arn,
               .message_id = message_id,
               .subject = jsonutil_string(in, "Subject"),
               .message = jsonutil_string(in, "Message"),
               .attributes = json_object_get(in, "MessageAttributes"),
               .group = jsonutil_string(in, "MessageGroupId"),
               .dedup = jsonutil_string(in, "MessageDeduplicationId")};
  sns_timestamp(m.timestamp);
  if (fifo) {
    if (!m.dedup) {
      sha256_hex(dedup_hash, m.message);
      m.dedup = dedup_hash;
    }
    /* A duplicate within five minutes: the first message's answer, no delivery. */
    json_t *dedup = json_object_get(topic, "Dedup");
    json_int_t now = (json_int_t)time(NULL);
    const char *k;
    json_t *v, *tmp;
    /* Expired ids go at most once a second: a sweep is O(ids). */
    if (json_integer_value(json_object_get(topic, "DedupSwept")) != now) {
      json_object_set_new(topic, "DedupSwept", json_integer(now));
      json_object_foreach_safe(dedup, tmp, k, v) {
        if (json_integer_value(json_object_get(v, "Expires")) <= now)
          json_object_del(dedup, k);
      }
    }
    json_t *seen = json_object_get(dedup, m.dedup);
    if (seen && json_integer_value(json_object_get(seen, "Expires")) > now) {
      *result = json_pack("{s:O,s:O}", "MessageId", json_object_get(seen, "MessageId"),
                          "SequenceNumber", json_object_get(seen, "SequenceNumber"));
      pthread_mutex_unlock(&st->lock);
      return 0;
    }
    json_int_t seq = json_integer_value(json_object_get(topic, "Seq")) + 1;
    json_object_set_new(topic, "Seq", json_integer(seq));
    snprintf(sequence, sizeof(sequence), "%020" PRId64, (int64_t)seq);
    m.sequence = sequence;
    json_object_set_new(dedup, m.dedup,
                        json_pack("{s:s,s:s,s:I}", "MessageId", message_id, "SequenceNumber",
                                  sequence, "Expires", now + SNS_DEDUP_WINDOW_S));
  }
  json_t *parsed = NULL;
  if (jsonutil_string(in, "MessageStructure")) {
    parsed = json_loads(m.message, 0, NULL);
    m.per_protocol = parsed;
  }
  const char *account = jsonutil_string(topic, "Account");
  const char *region = jsonutil_string(topic, "Region");
  json_t *subs = json_incref(json_object_get(topic, "Subs"));
  size_t i;
  json_t *s;
  json_array_foreach(subs, i, s) {
    json_t *sub = json_object_get(st->subs, json_string_value(s));
    if (!sub || !json_is_true(json_object_get(sub, "Confirmed")))
      continue;
    const char *protocol = jsonutil_string(sub, "Protocol");
    if (!sns_sub_accepts(sub, message_for(&m, protocol), m.attributes))
      continue;
    deliver(st, &m, json_string_value(s), sub, account, region);
  }
  json_decref(subs);
  json_decref(parsed);
  *result = json_pack("{s:s}", "MessageId", message_id);
  if (fifo)
    json_object_set_new(*result, "SequenceNumber", json_string(sequence));
  pthread_mutex_unlock(&st->lock);
  return 0;
}

/* Publish to a phone number or a platform endpoint: recorded. */
static int publish_direct(sns_state *st, aws_call *call, json_t *in, json_t **result, pub_err *e) {
  if (check_message(in, -1, 0, e) < 0)
    return -1;
  char message_id[37];
  codec_uuid4(message_id);
  const char *phone = jsonutil_string(in, "PhoneNumber");
  const char *target = jsonutil_string(in, "TargetArn");
  pub_msg m = {.message = jsonutil_string(in, "Message")};
  json_t *parsed = jsonutil_string(in, "MessageStructure") ? json_loads(m.message, 0, NULL) : NULL;
  m.per_protocol = parsed;
  json_t *rec = json_pack("{s:s,s:s,s:s,s:s}", "MessageId", message_id, "Message",
                          message_for(&m, phone ? "sms" : "default"), "Account",
                          aws_call_account(call), "Region", aws_call_region(call));
  json_decref(parsed);
  if (jsonutil_string(in, "Subject"))
    json_object_set(rec, "Subject", json_object_get(in, "Subject"));
  if (json_object_get(in, "MessageAttributes"))
    json_object_set(rec, "MessageAttributes", json_object_get(in, "MessageAttributes"));
  int rc = 0;
  pthread_mutex_lock(&st->lock);
  if (phone) {
    json_object_set_new(rec, "PhoneNumber", json_string(phone));
    sns_sms_record(st, rec);
  } else {
    json_object_set_new(rec, "TargetArn", json_string(target));
    json_object_set_new(rec, "EndpointArn", json_string(target));
    rc = sns_platform_record(st, call, target, rec);
  }
  pthread_mutex_unlock(&st->lock);
  if (rc < 0)
    return rc; /* answered */
  *result = json_pack("{s:s}", "MessageId", message_id);
  return 0;
}

void sns_publish(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *topic_arn = jsonutil_string(in, "TopicArn");
  const char *target = jsonutil_string(in, "TargetArn");
  const char *phone = jsonutil_string(in, "PhoneNumber");
  pub_err e = {0, NULL, ""};
  json_t *result = NULL;
  if (!topic_arn && !target && !phone) {
    sns_fail_param(call, "TopicArn or TargetArn Reason: no value for required parameter");
    return;
  }
  pthread_mutex_lock(&st->lock);
  sns_note_endpoint(st, call);
  pthread_mutex_unlock(&st->lock);
  const char *arn = topic_arn ? topic_arn : target;
  char region[64], account[16];
  const char *res = NULL;
  if (!phone && sns_arn_split(arn, "sns", region, account, &res) < 0) {
    sns_fail_param(call, "%s", topic_arn ? "TopicArn" : "TargetArn");
    return;
  }
  if (phone) {
    /* E.164: a '+', then 1 to 15 digits. */
    size_t n = strlen(phone), digits = strspn(phone + (phone[0] == '+'), "0123456789");
    if (phone[0] != '+' || n < 2 || n > 16 || digits != n - 1) {
      sns_fail_param(call, "PhoneNumber Reason: %.64s is not valid to publish to", phone);
      return;
    }
  }
  int rc;
  if (phone || (res && !strncmp(res, "endpoint/", 9))) {
    rc = publish_direct(st, call, in, &result, &e);
    if (rc < 0 && !e.code)
      return; /* answered */
  } else {
    rc = publish_topic(st, arn, in, &result, &e);
  }
  if (rc < 0)
    aws_call_fail(call, e.status, e.code, "%s", e.message);
  else
    aws_call_reply(call, result);
}

static int valid_batch_id(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n > 80)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_'))
      return 0;
  }
  return 1;
}

void sns_publish_batch(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *topic_arn = sns_topic_arn_param(call, in, "TopicArn");
  if (!topic_arn)
    return;
  json_t *entries = json_object_get(in, "PublishBatchRequestEntries");
  size_t n = json_array_size(entries);
  if (n == 0) {
    aws_call_fail(call, 400, "EmptyBatchRequest", "The batch request doesn't contain any entries");
    return;
  }
  if (n > SNS_MAX_BATCH) {
    aws_call_fail(call, 400, "TooManyEntriesInBatchRequest",
                  "The batch request contains more entries than permissible.");
    return;
  }
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *entry = json_array_get(entries, i);
    const char *id = jsonutil_string(entry, "Id");
    if (!id || !valid_batch_id(id)) {
      aws_call_fail(call, 400, "InvalidBatchEntryId",
                    "The Id of a batch entry in a batch request doesn't abide by the "
                    "specification.");
      return;
    }
    for (size_t j = 0; j < i; j++)
      if (!strcmp(id, jsonutil_string(json_array_get(entries, j), "Id"))) {
        aws_call_fail(call, 400, "BatchEntryIdsNotDistinct",
                      "Two or more batch entries in the request have the same Id.");
        return;
      }
    const char *msg = jsonutil_string(entry, "Message");
    total += msg ? strlen(msg) : 0;
  }
  if (total > SNS_MAX_MESSAGE) {
    aws_call_fail(call, 400, "BatchRequestTooLong",
                  "The length of all the messages put together is more than the limit.");
    return;
  }
  pthread_mutex_lock(&st->lock);
  sns_note_endpoint(st, call);
  json_t *topic = sns_topic_get(st, call, topic_arn);
  int fifo = topic && json_is_true(json_object_get(topic, "Fifo"));
  pthread_mutex_unlock(&st->lock);
  if (!topic)
    return;
  if (fifo)
    for (size_t i = 0; i < n; i++)
      if (!jsonutil_string(json_array_get(entries, i), "MessageGroupId")) {
        sns_fail_param(call, "The MessageGroupId parameter is required for FIFO topics");
        return;
      }
  json_t *ok = json_array(), *failed = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *entry = json_array_get(entries, i);
    json_t *result = NULL;
    pub_err e = {0, NULL, ""};
    if (publish_topic(st, topic_arn, entry, &result, &e) < 0) {
      if (!strcmp(e.code, "NotFound")) {
        json_decref(ok);
        json_decref(failed);
        sns_fail_not_found(call, "Topic");
        return;
      }
      json_array_append_new(failed,
                            json_pack("{s:O,s:s,s:s,s:b}", "Id", json_object_get(entry, "Id"),
                                      "Code", e.code, "Message", e.message, "SenderFault", 1));
      continue;
    }
    json_object_set(result, "Id", json_object_get(entry, "Id"));
    json_array_append_new(ok, result);
  }
  aws_call_reply(call, json_pack("{s:o,s:o}", "Successful", ok, "Failed", failed));
}

/* ---- in-process sources and confirmations ---- */

int sns_publish_internal(const delivery_item *item, void *payload) {
  sns_state *st = payload;
  json_t *in = json_deep_copy(item->meta);
  if (!in)
    return -1;
  json_object_set_new(in, "Message", json_stringn(item->body, item->body_len));
  json_t *result = NULL;
  pub_err e = {0, NULL, ""};
  int rc = publish_topic(st, item->target, in, &result, &e);
  json_decref(in);
  json_decref(result);
  if (rc < 0)
    return rc_for(&e);
  return 0;
}

void sns_send_confirmation(sns_state *st, const char *sub_arn, json_t *sub, int unsubscribe) {
  const char *topic_arn = jsonutil_string(sub, "TopicArn");
  const char *token = jsonutil_string(sub, "Token");
  char message_id[37], ts[32], text[1024], url[2048], fresh[65];
  if (!token) {
    /* Confirmed without one (never pending): a token to subscribe again with. */
    char uuid[37];
    codec_uuid4(uuid);
    codec_hex_encode(fresh, uuid, 32);
    token = fresh;
  }
  codec_uuid4(message_id);
  sns_timestamp(ts);
  if (unsubscribe)
    snprintf(text, sizeof(text),
             "You have chosen to deactivate subscription %s.\nTo cancel this operation and "
             "restore the subscription, visit the SubscribeURL included in this message.",
             sub_arn);
  else
    snprintf(text, sizeof(text),
             "You have chosen to subscribe to the topic %s.\nTo confirm the subscription, visit "
             "the SubscribeURL included in this message.",
             topic_arn);
  snprintf(url, sizeof(url), "%s/?Action=ConfirmSubscription&TopicArn=%s&Token=%s", st->endpoint,
           topic_arn, token);
  const char *type = unsubscribe ? "UnsubscribeConfirmation" : "SubscriptionConfirmation";
  int version = signature_version(st, topic_arn);
  json_t *msg =
      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Type", type, "MessageId", message_id,
                "Token", token, "TopicArn", topic_arn, "Message", text, "SubscribeURL", url,
                "Timestamp", ts, "SignatureVersion", version == 2 ? "2" : "1", "Signature", "");
  snprintf(url, sizeof(url), "%s/_aws/sns/%s", st->endpoint, sns_signer_cert_name(st->signer));
  json_object_set_new(msg, "SigningCertURL", json_string(url));
  sns_sign(st->signer, msg, version);
  json_t *meta =
      json_pack("{s:o}", "headers",
                http_headers(type, message_id, topic_arn, unsubscribe ? sub_arn : NULL, 0));
  delivery_job job = {
      .kind = DELIVERY_HTTP, .target = jsonutil_string(sub, "Endpoint"), .meta = meta};
  retry_policy(st, sub, &job);
  submit_json(st, &job, msg);
  json_decref(meta);
}
