/*
 * attributes.c — queue attributes: their defaults and limits, the redrive
 * policies, how each one is rendered, GetQueueAttributes and
 * SetQueueAttributes.
 *
 * Attributes are kept parsed (qattrs: numbers as numbers, policies as their
 * normalised JSON text) and rendered as strings on the way out, the form AWS
 * answers in. A request's attributes are applied to a copy that replaces the
 * queue's only when every one of them is valid: a refused request changes
 * nothing. The dead-letter target of a RedrivePolicy is kept as its ARN and
 * looked up when a message is moved: while the target does not exist,
 * messages stay where they are.
 */
#include "emulator/sqs/sqs_engine_int.h"

#include "common/jsonutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parsing helpers ---- */

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

/* ---- the attributes ---- */

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

void sqs_qattrs_defaults(qattrs *a, int fifo) {
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

void sqs_qattrs_free(qattrs *a) {
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
    sqs_qattrs_free(out);
    return -1;
  }
  return 0;
}

static int bad_value(sqs_error *err, const char *name) {
  return sqs_err_set(err, 0, "InvalidAttributeValue", "Invalid value for the parameter %s.", name);
}

static int bad_redrive(sqs_error *err, const char *value, const char *reason) {
  return sqs_err_set(err, 0, "InvalidParameterValue",
                     "Value %.2000s for parameter RedrivePolicy is invalid. Reason: %s", value,
                     reason);
}

int sqs_parse_queue_arn(const char *arn, char *region, size_t region_len, char *account,
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
  if (sqs_parse_queue_arn(arn, region, sizeof(region), account, sizeof(account), name,
                          sizeof(name)) < 0) {
    bad_redrive(err, value, "Invalid value for deadLetterTargetArn.");
    goto cleanup;
  }
  json_t *norm =
      json_pack("{s:s, s:I}", "deadLetterTargetArn", arn, "maxReceiveCount", (json_int_t)n);
  char *dump = norm ? json_dumps(norm, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(norm);
  if (!dump || replace_str(&a->dlq_arn, arn) < 0) {
    free(dump);
    sqs_err_oom(err);
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
    sqs_err_set(err, 0, "InvalidParameterValue",
                "Value %.2000s for parameter RedriveAllowPolicy is invalid. Reason: %s", value,
                reason);
    goto cleanup;
  }
  char *dump = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (!dump) {
    sqs_err_oom(err);
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
    return sqs_err_set(err, 0, "InvalidAttributeName", "Unknown Attribute %s.", name);
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
        return sqs_err_set(err, 0, "InvalidAttributeValue",
                           "Invalid value for the parameter Policy: not a JSON policy document.");
    }
    return replace_str(&a->policy, *v ? v : NULL) < 0 ? sqs_err_oom(err) : 0;
  }
  if (!strcmp(name, "RedrivePolicy"))
    return set_redrive_policy(a, v, err);
  if (!strcmp(name, "RedriveAllowPolicy"))
    return set_redrive_allow(a, v, err);
  if (!strcmp(name, "KmsMasterKeyId")) {
    if (strlen(v) > 2048)
      return bad_value(err, name);
    return replace_str(&a->kms_key, *v ? v : NULL) < 0 ? sqs_err_oom(err) : 0;
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
  return sqs_err_set(err, 0, "InvalidAttributeName", "Unknown Attribute %s.", name);
}

int sqs_qattrs_fifo(json_t *attrs, int *out, sqs_error *err) {
  const char *fifo_s = jsonutil_string(attrs, "FifoQueue");
  json_t *fifo_j = json_object_get(attrs, "FifoQueue");
  int fifo = 0;
  if (fifo_j) {
    if (json_is_true(fifo_j) || (fifo_s && !strcmp(fifo_s, "true")))
      fifo = 1;
    else if (!(json_is_false(fifo_j) || (fifo_s && !strcmp(fifo_s, "false"))))
      return bad_value(err, "FifoQueue");
  }
  *out = fifo;
  return 0;
}

int sqs_qattrs_apply(qattrs *a, json_t *attrs, int creating, sqs_error *err) {
  const char *k;
  json_t *v;
  json_object_foreach(attrs, k, v) {
    if (creating && !strcmp(k, "FifoQueue"))
      continue;
    /* A FIFO queue knows the attribute: "true" again changes nothing, any
     * other value is refused; a standard queue does not know it (below), as
     * AWS answers all three. */
    if (!strcmp(k, "FifoQueue") && a->fifo) {
      int fifo = 0;
      sqs_error ignored;
      if (sqs_qattrs_fifo(attrs, &fifo, &ignored) == 0 && fifo)
        continue;
      return sqs_err_set(err, 0, "InvalidAttributeValue",
                         "Invalid value for the parameter FifoQueue. Reason: Modifying queue type "
                         "is not supported.");
    }
    /* FifoQueue is fixed at creation; the rest are read-only. */
    if (!is_known_attribute(k) || !strcmp(k, "FifoQueue") || !strcmp(k, "QueueArn") ||
        !strncmp(k, "Approximate", 11) || !strcmp(k, "CreatedTimestamp") ||
        !strcmp(k, "LastModifiedTimestamp"))
      return sqs_err_set(err, 0, "InvalidAttributeName", "Unknown Attribute %s.", k);
    if (qattrs_set(a, k, v, err) < 0)
      return -1;
  }
  return 0;
}

const char *sqs_attribute_value(const sqs_queue *q, const char *name, uint64_t now, char *buf,
                                size_t len) {
  const qattrs *a = &q->a;
#define NUM(v) (snprintf(buf, len, "%" PRId64, (int64_t)(v)), buf)
  if (!strcmp(name, "ApproximateNumberOfMessages") ||
      !strcmp(name, "ApproximateNumberOfMessagesNotVisible") ||
      !strcmp(name, "ApproximateNumberOfMessagesDelayed")) {
    uint64_t visible = 0, inflight = 0, delayed = 0;
    for (const sqs_msg *m = q->head; m; m = m->next) {
      if (sqs_msg_expired(q, m, now))
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

int sqs_check_encryption(json_t *attrs, sqs_error *err) {
  const char *kms = jsonutil_string(attrs, "KmsMasterKeyId");
  const char *sse = jsonutil_string(attrs, "SqsManagedSseEnabled");
  /* AWS answers this conflict with InvalidAttributeName, not …Value. */
  if (kms && *kms && sse && !strcmp(sse, "true"))
    return sqs_err_set(err, 0, "InvalidAttributeName",
                       "You can use one type of server-side encryption (SSE) at one time. You can "
                       "either enable KMS SSE or SQS SSE.");
  return 0;
}

int sqs_check_redrive_target(sqs_op *op, const char *source_arn, int fifo, const qattrs *a,
                             json_t *attrs, sqs_error *err) {
  if (!a->dlq_arn)
    return 0;
  /* The error quotes the policy as the request sent it, as AWS does. */
  const char *shown = jsonutil_string(attrs, "RedrivePolicy");
  if (!shown || !*shown)
    shown = a->redrive_policy;
  sqs_queue *dlq = sqs_queue_by_arn(op->e, a->dlq_arn);
  if (!dlq)
    return bad_redrive(err, shown, "Dead letter target does not exist.");
  if (!strcmp(dlq->arn, source_arn))
    return bad_redrive(err, shown, "A queue cannot be its own dead-letter queue.");
  if (dlq->a.fifo != fifo)
    return bad_redrive(err, shown,
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
      return bad_redrive(err, shown,
                         "The dead-letter queue's RedriveAllowPolicy does not allow this queue.");
  }
  return 0;
}

/* ---- operations ---- */

int sqs_op_get_queue_attributes(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (sqs_queue_from_url(op, in, &q) < 0)
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
      return sqs_err_set(&op->err, 0, "InvalidAttributeName", "Unknown Attribute %s.",
                         s ? s : "(not a string)");
  }
  json_t *out = json_object();
  for (size_t k = 0; out && k < ALL_ATTRIBUTE_COUNT; k++) {
    if (!all && !sqs_name_selected(names, ALL_ATTRIBUTES[k]))
      continue;
    char buf[32];
    const char *value = sqs_attribute_value(q, ALL_ATTRIBUTES[k], op->now, buf, sizeof(buf));
    if (value)
      json_object_set_new(out, ALL_ATTRIBUTES[k], json_string(value));
  }
  op->output = json_object();
  if (!out || !op->output) {
    json_decref(out);
    return sqs_err_oom(&op->err);
  }
  if (json_object_size(out))
    json_object_set(op->output, "Attributes", out);
  json_decref(out);
  return 0;
}

int sqs_op_set_queue_attributes(sqs_op *op, json_t *in) {
  sqs_queue *q;
  if (sqs_queue_from_url(op, in, &q) < 0)
    return -1;
  json_t *attrs = json_object_get(in, "Attributes");
  if (!json_is_object(attrs))
    return sqs_err_missing(&op->err, "Attributes");
  qattrs a;
  if (qattrs_copy(&a, &q->a) < 0)
    return sqs_err_oom(&op->err);
  if (sqs_qattrs_apply(&a, attrs, 0, &op->err) < 0 || sqs_check_encryption(attrs, &op->err) < 0 ||
      sqs_check_redrive_target(op, q->arn, q->a.fifo, &a, attrs, &op->err) < 0) {
    sqs_qattrs_free(&a);
    return -1;
  }
  sqs_qattrs_free(&q->a);
  q->a = a;
  q->modified_s = sqs_now_s(op);
  sqs_serve_waiters(op, q); /* a shorter retention or a new DLQ may free messages */
  return 0;
}
