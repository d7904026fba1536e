/*
 * sns_subs.c — subscriptions: Subscribe (idempotent for the same topic,
 * protocol and endpoint), the confirmation flow (HTTP(S) endpoints get a
 * SubscriptionConfirmation and stay "pending confirmation" until
 * ConfirmSubscription gets their token; email too), Unsubscribe, the
 * attributes AWS reports and accepts (FilterPolicy checked by the shared
 * pattern language in the dialect of its FilterPolicyScope,
 * RawMessageDelivery where the protocol allows it, RedrivePolicy naming an
 * SQS queue), and the two lists.
 */
#include "emulator/sns/sns_int.h"

#include "common/codec.h"
#include "common/jsonutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SNS_LIST_PAGE 100

static const char *const protocols[] = {"http", "https",       "email",  "email-json", "sms",
                                        "sqs",  "application", "lambda", "firehose",   NULL};

static int needs_confirmation(const char *protocol) {
  return !strcmp(protocol, "http") || !strcmp(protocol, "https") || !strcmp(protocol, "email") ||
         !strcmp(protocol, "email-json");
}

static int raw_allowed(const char *protocol) {
  return !strcmp(protocol, "http") || !strcmp(protocol, "https") || !strcmp(protocol, "sqs") ||
         !strcmp(protocol, "firehose");
}

/* Checks an endpoint for its protocol; answers and returns -1 when refused. */
static int check_endpoint(aws_call *call, const char *protocol, const char *endpoint) {
  char region[64], account[16];
  const char *res;
  if (!endpoint || !*endpoint) {
    sns_fail_param(call, "Endpoint");
    return -1;
  }
  if (!strcmp(protocol, "http") || !strcmp(protocol, "https")) {
    size_t n = strlen(protocol);
    if (strncasecmp(endpoint, protocol, n) || strncmp(endpoint + n, "://", 3) || !endpoint[n + 3]) {
      sns_fail_param(call, "Endpoint must match the specified protocol");
      return -1;
    }
  } else if (!strcmp(protocol, "sqs")) {
    if (sns_arn_split(endpoint, "sqs", region, account, &res) < 0) {
      sns_fail_param(call, "SQS endpoint ARN");
      return -1;
    }
  } else if (!strcmp(protocol, "lambda")) {
    if (sns_arn_split(endpoint, "lambda", region, account, &res) < 0) {
      sns_fail_param(call, "Lambda endpoint ARN");
      return -1;
    }
  } else if (!strcmp(protocol, "firehose")) {
    if (sns_arn_split(endpoint, "firehose", region, account, &res) < 0) {
      sns_fail_param(call, "Firehose endpoint ARN");
      return -1;
    }
  } else if (!strcmp(protocol, "application")) {
    if (sns_arn_split(endpoint, "sns", region, account, &res) < 0 || strncmp(res, "endpoint/", 9)) {
      sns_fail_param(call, "Application endpoint ARN");
      return -1;
    }
  } else if (!strcmp(protocol, "email") || !strcmp(protocol, "email-json")) {
    const char *at = strchr(endpoint, '@');
    if (!at || at == endpoint || !strchr(at, '.')) {
      sns_fail_param(call, "Email address");
      return -1;
    }
  } else if (!strcmp(protocol, "sms")) {
    size_t digits = 0;
    for (const char *p = endpoint; *p; p++) {
      if (*p >= '0' && *p <= '9')
        digits++;
      else if (!strchr("+-() ", *p))
        digits = 100;
    }
    if (digits < 5 || digits > 15) {
      sns_fail_param(call, "Invalid SMS endpoint: %.64s", endpoint);
      return -1;
    }
  }
  return 0;
}

/* Checks one subscription attribute (given the sub's protocol and current
 * attributes); on success *filter gets the parsed FilterPolicy (new
 * reference, or NULL) when name is FilterPolicy or FilterPolicyScope. */
static int check_attribute(aws_call *call, const char *protocol, json_t *current, const char *name,
                           const char *value, json_t **filter) {
  *filter = NULL;
  if (!strcmp(name, "RawMessageDelivery")) {
    if (strcasecmp(value, "true") && strcasecmp(value, "false")) {
      sns_fail_param(call, "RawMessageDelivery: Invalid value [%.64s]. Must be true or false.",
                     value);
      return -1;
    }
    if (!raw_allowed(protocol) && !strcasecmp(value, "true")) {
      sns_fail_param(call, "Delivery protocol [%s] does not support raw message delivery.",
                     protocol);
      return -1;
    }
    return 0;
  }
  if (!strcmp(name, "FilterPolicy") || !strcmp(name, "FilterPolicyScope")) {
    const char *scope =
        !strcmp(name, "FilterPolicyScope") ? value : jsonutil_string(current, "FilterPolicyScope");
    const char *policy =
        !strcmp(name, "FilterPolicy") ? value : jsonutil_string(current, "FilterPolicy");
    if (!scope || !*scope)
      scope = "MessageAttributes";
    if (strcmp(scope, "MessageAttributes") && strcmp(scope, "MessageBody")) {
      sns_fail_param(call, "FilterPolicyScope: Invalid filter policy scope, please specify "
                           "MessageAttributes or MessageBody");
      return -1;
    }
    if (!policy || !*policy)
      return 0;
    if (strlen(policy) > DELIVERY_PATTERN_MAX_TEXT) {
      sns_fail_param(call, "FilterPolicy: Filter policy is too long");
      return -1;
    }
    json_error_t jerr;
    json_t *p = json_loads(policy, JSON_REJECT_DUPLICATES, &jerr);
    if (!p) {
      sns_fail_param(call, "FilterPolicy: failed to parse JSON. %s", jerr.text);
      return -1;
    }
    char reason[256];
    if (delivery_pattern_check(
            p, !strcmp(scope, "MessageBody") ? DELIVERY_SNS_BODY : DELIVERY_SNS_ATTRIBUTES, reason,
            sizeof(reason)) < 0) {
      json_decref(p);
      sns_fail_param(call, "FilterPolicy: %s", reason);
      return -1;
    }
    *filter = p;
    return 0;
  }
  if (!strcmp(name, "RedrivePolicy")) {
    if (!*value)
      return 0;
    json_t *p = json_loads(value, 0, NULL);
    const char *dlq = jsonutil_string(p, "deadLetterTargetArn");
    char region[64], account[16];
    const char *res;
    int ok = dlq && sns_arn_split(dlq, "sqs", region, account, &res) == 0;
    json_decref(p);
    if (!ok) {
      sns_fail_param(call, "RedrivePolicy: deadLetterTargetArn is invalid");
      return -1;
    }
    return 0;
  }
  if (!strcmp(name, "DeliveryPolicy") || !strcmp(name, "ReplayPolicy")) {
    if (!*value)
      return 0;
    json_t *p = json_loads(value, 0, NULL);
    int ok = json_is_object(p);
    json_decref(p);
    if (!ok) {
      sns_fail_param(call, "%s: failed to parse JSON", name);
      return -1;
    }
    return 0;
  }
  if (!strcmp(name, "SubscriptionRoleArn"))
    return 0;
  sns_fail_param(call, "AttributeName");
  return -1;
}

/* Applies a checked attribute to sub. */
static void apply_attribute(json_t *sub, const char *name, const char *value, json_t *filter) {
  json_t *attrs = json_object_get(sub, "Attributes");
  if (!*value && strcmp(name, "RawMessageDelivery"))
    json_object_del(attrs, name);
  else
    json_object_set_new(attrs, name, json_string(value));
  if (!strcmp(name, "FilterPolicy") || !strcmp(name, "FilterPolicyScope")) {
    if (filter)
      json_object_set(sub, "Filter", filter);
    else if (!jsonutil_string(attrs, "FilterPolicy"))
      json_object_del(sub, "Filter");
    if (jsonutil_string(attrs, "FilterPolicy") && !jsonutil_string(attrs, "FilterPolicyScope"))
      json_object_set_new(attrs, "FilterPolicyScope", json_string("MessageAttributes"));
  }
}

void sns_subscribe(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *topic_arn = sns_topic_arn_param(call, in, "TopicArn");
  if (!topic_arn)
    return;
  const char *protocol = jsonutil_string(in, "Protocol");
  const char *endpoint = jsonutil_string(in, "Endpoint");
  if (!protocol || !*protocol) {
    sns_fail_param(call, "Protocol");
    return;
  }
  int known = 0;
  for (size_t i = 0; protocols[i]; i++)
    known |= !strcmp(protocols[i], protocol);
  if (!known) {
    sns_fail_param(call, "Amazon SNS does not support this protocol string: %.64s", protocol);
    return;
  }
  if (check_endpoint(call, protocol, endpoint) < 0)
    return;
  json_t *attrs = json_object_get(in, "Attributes");
  json_t *filter = NULL;
  json_t *sub = json_pack("{s:s,s:s,s:s,s:s,s:{},s:b}", "TopicArn", topic_arn, "Protocol", protocol,
                          "Endpoint", endpoint, "Owner", aws_call_account(call), "Attributes",
                          "Confirmed", !needs_confirmation(protocol));
  const char *k;
  json_t *v;
  /* The scope first: it decides how FilterPolicy is read. */
  for (int pass = 0; pass < 2; pass++) {
    json_object_foreach(attrs, k, v) {
      if ((pass == 0) != !strcmp(k, "FilterPolicyScope"))
        continue;
      const char *value = json_string_value(v) ? json_string_value(v) : "";
      if (check_attribute(call, protocol, json_object_get(sub, "Attributes"), k, value, &filter) <
          0) {
        json_decref(sub);
        return;
      }
      apply_attribute(sub, k, value, filter);
      json_decref(filter);
    }
  }
  if (!strcmp(protocol, "firehose") &&
      !jsonutil_string(json_object_get(sub, "Attributes"), "SubscriptionRoleArn")) {
    json_decref(sub);
    sns_fail_param(call, "Attributes Reason: SubscriptionRoleArn is required for the firehose "
                         "protocol");
    return;
  }
  pthread_mutex_lock(&st->lock);
  sns_note_endpoint(st, call);
  json_t *topic = sns_topic_get(st, call, topic_arn);
  if (!topic) {
    pthread_mutex_unlock(&st->lock);
    json_decref(sub);
    return;
  }
  if (json_is_true(json_object_get(topic, "Fifo")) && strcmp(protocol, "sqs")) {
    pthread_mutex_unlock(&st->lock);
    json_decref(sub);
    sns_fail_param(call, "Invalid protocol type: %s", protocol);
    return;
  }
  /* The same endpoint again: the existing subscription. */
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(topic, "Subs"), i, s) {
    json_t *old = json_object_get(st->subs, json_string_value(s));
    if (old && !strcmp(jsonutil_string(old, "Protocol"), protocol) &&
        !strcmp(jsonutil_string(old, "Endpoint"), endpoint)) {
      json_t *oa = json_object_get(old, "Attributes");
      int same = 1;
      json_object_foreach(attrs, k, v) {
        const char *cur = jsonutil_string(oa, k);
        same &= cur && json_string_value(v) && !strcmp(cur, json_string_value(v));
      }
      int confirmed = json_is_true(json_object_get(old, "Confirmed"));
      char *arn = strdup(json_string_value(s));
      pthread_mutex_unlock(&st->lock);
      json_decref(sub);
      if (!same)
        sns_fail_param(call, "Attributes Reason: Subscription already exists with different "
                             "attributes");
      else
        aws_call_reply(
            call, json_pack("{s:s}", "SubscriptionArn",
                            confirmed || json_is_true(json_object_get(in, "ReturnSubscriptionArn"))
                                ? arn
                                : "pending confirmation"));
      free(arn);
      return;
    }
  }
  char uuid[37], arn[600];
  codec_uuid4(uuid);
  snprintf(arn, sizeof(arn), "%s:%s", topic_arn, uuid);
  if (needs_confirmation(protocol)) {
    char token[65];
    unsigned char rnd[32];
    codec_uuid4(uuid);
    memcpy(rnd, uuid, 32);
    codec_hex_encode(token, rnd, 32);
    json_object_set_new(sub, "Token", json_string(token));
  }
  json_object_set_new(st->subs, arn, sub);
  json_array_append_new(json_object_get(topic, "Subs"), json_string(arn));
  if (!strcmp(protocol, "http") || !strcmp(protocol, "https"))
    sns_send_confirmation(st, arn, sub, 0);
  int confirmed = json_is_true(json_object_get(sub, "Confirmed"));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call,
                 json_pack("{s:s}", "SubscriptionArn",
                           confirmed || json_is_true(json_object_get(in, "ReturnSubscriptionArn"))
                               ? arn
                               : "pending confirmation"));
}

void sns_confirm_subscription(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *topic_arn = sns_topic_arn_param(call, in, "TopicArn");
  if (!topic_arn)
    return;
  const char *token = jsonutil_string(in, "Token");
  if (!token || !*token) {
    sns_fail_param(call, "Token");
    return;
  }
  pthread_mutex_lock(&st->lock);
  json_t *topic = sns_topic_get(st, call, topic_arn);
  if (!topic) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(topic, "Subs"), i, s) {
    json_t *sub = json_object_get(st->subs, json_string_value(s));
    const char *have = jsonutil_string(sub, "Token");
    if (have && !strcmp(have, token)) {
      json_object_set_new(sub, "Confirmed", json_true());
      json_t *out = json_pack("{s:O}", "SubscriptionArn", s);
      pthread_mutex_unlock(&st->lock);
      aws_call_reply(call, out);
      return;
    }
  }
  pthread_mutex_unlock(&st->lock);
  sns_fail_param(call, "Token");
}

void sns_sub_remove(sns_state *st, const char *arn) {
  json_t *sub = json_object_get(st->subs, arn);
  if (!sub)
    return;
  json_t *topic = json_object_get(st->topics, jsonutil_string(sub, "TopicArn"));
  json_t *list = json_object_get(topic, "Subs");
  for (size_t i = json_array_size(list); i-- > 0;)
    if (!strcmp(json_string_value(json_array_get(list, i)), arn))
      json_array_remove(list, i);
  json_object_del(st->subs, arn);
}

static const char *sub_arn_param(aws_call *call, json_t *in) {
  const char *arn = jsonutil_string(in, "SubscriptionArn");
  char region[64], account[16];
  const char *res;
  if (!arn || sns_arn_split(arn, "sns", region, account, &res) < 0 || !strchr(res, ':')) {
    sns_fail_param(call, "SubscriptionArn");
    return NULL;
  }
  return arn;
}

void sns_unsubscribe(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *arn = sub_arn_param(call, in);
  if (!arn)
    return;
  pthread_mutex_lock(&st->lock);
  json_t *sub = json_object_get(st->subs, arn);
  int found = sub != NULL;
  const char *protocol = jsonutil_string(sub, "Protocol");
  /* HTTP(S) endpoints hear of it, with a token to subscribe again. */
  if (protocol && (!strcmp(protocol, "http") || !strcmp(protocol, "https")) &&
      json_is_true(json_object_get(sub, "Confirmed")))
    sns_send_confirmation(st, arn, sub, 1);
  sns_sub_remove(st, arn);
  pthread_mutex_unlock(&st->lock);
  if (!found)
    sns_fail_not_found(call, "Subscription");
  else
    aws_call_reply(call, NULL);
}

void sns_get_subscription_attributes(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *arn = sub_arn_param(call, in);
  if (!arn)
    return;
  pthread_mutex_lock(&st->lock);
  json_t *sub = json_object_get(st->subs, arn);
  if (!sub) {
    pthread_mutex_unlock(&st->lock);
    sns_fail_not_found(call, "Subscription");
    return;
  }
  int confirmed = json_is_true(json_object_get(sub, "Confirmed"));
  const char *protocol = jsonutil_string(sub, "Protocol");
  json_t *a =
      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ConfirmationWasAuthenticated",
                confirmed ? "true" : "false", "Owner", jsonutil_string(sub, "Owner"),
                "PendingConfirmation", confirmed ? "false" : "true", "Protocol", protocol,
                "RawMessageDelivery", "false", "SubscriptionArn", arn, "TopicArn",
                jsonutil_string(sub, "TopicArn"), "Endpoint", jsonutil_string(sub, "Endpoint"));
  char principal[64];
  snprintf(principal, sizeof(principal), "arn:aws:iam::%s:root", jsonutil_string(sub, "Owner"));
  json_object_set_new(a, "SubscriptionPrincipal", json_string(principal));
  json_object_update(a, json_object_get(sub, "Attributes"));
  json_t *raw = json_object_get(a, "RawMessageDelivery");
  if (json_is_string(raw))
    json_object_set_new(a, "RawMessageDelivery",
                        json_string(strcasecmp(json_string_value(raw), "true") ? "false" : "true"));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:o}", "Attributes", a));
}

void sns_set_subscription_attributes(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *arn = sub_arn_param(call, in);
  if (!arn)
    return;
  const char *name = jsonutil_string(in, "AttributeName");
  const char *value = jsonutil_string(in, "AttributeValue");
  if (!name || !*name) {
    sns_fail_param(call, "AttributeName");
    return;
  }
  if (!value)
    value = "";
  pthread_mutex_lock(&st->lock);
  json_t *sub = json_object_get(st->subs, arn);
  if (!sub) {
    pthread_mutex_unlock(&st->lock);
    sns_fail_not_found(call, "Subscription");
    return;
  }
  json_t *filter = NULL;
  if (check_attribute(call, jsonutil_string(sub, "Protocol"), json_object_get(sub, "Attributes"),
                      name, value, &filter) < 0) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  apply_attribute(sub, name, value, filter);
  json_decref(filter);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

static json_t *sub_entry(const char *arn, json_t *sub) {
  int confirmed = json_is_true(json_object_get(sub, "Confirmed"));
  return json_pack("{s:s,s:s,s:s,s:s,s:s}", "SubscriptionArn",
                   confirmed ? arn : "PendingConfirmation", "Owner", jsonutil_string(sub, "Owner"),
                   "Protocol", jsonutil_string(sub, "Protocol"), "Endpoint",
                   jsonutil_string(sub, "Endpoint"), "TopicArn", jsonutil_string(sub, "TopicArn"));
}

static void list_subs(aws_call *call, json_t *in, const char *topic_arn) {
  sns_state *st = sns_state_of(call);
  const char *token = jsonutil_string(in, "NextToken");
  char *end = NULL;
  size_t start = token ? (size_t)strtoull(token, &end, 10) : 0;
  if (token && (!end || *end)) {
    sns_fail_param(call, "NextToken");
    return;
  }
  char prefix[128];
  snprintf(prefix, sizeof(prefix), "arn:aws:sns:%s:%s:", aws_call_region(call),
           aws_call_account(call));
  json_t *list = json_array();
  size_t index = 0;
  int more = 0;
  pthread_mutex_lock(&st->lock);
  if (topic_arn && !sns_topic_get(st, call, topic_arn)) {
    pthread_mutex_unlock(&st->lock);
    json_decref(list);
    return;
  }
  const char *arn;
  json_t *sub;
  json_object_foreach(st->subs, arn, sub) {
    if (topic_arn ? strcmp(jsonutil_string(sub, "TopicArn"), topic_arn)
                  : strncmp(arn, prefix, strlen(prefix)))
      continue;
    if (index++ < start)
      continue;
    if (json_array_size(list) == SNS_LIST_PAGE) {
      more = 1;
      break;
    }
    json_array_append_new(list, sub_entry(arn, sub));
  }
  pthread_mutex_unlock(&st->lock);
  json_t *out = json_pack("{s:o}", "Subscriptions", list);
  if (more) {
    char tok[32];
    snprintf(tok, sizeof(tok), "%zu", start + SNS_LIST_PAGE);
    json_object_set_new(out, "NextToken", json_string(tok));
  }
  aws_call_reply(call, out);
}

void sns_list_subscriptions(aws_call *call, json_t *in) { list_subs(call, in, NULL); }

void sns_list_subscriptions_by_topic(aws_call *call, json_t *in) {
  const char *arn = sns_topic_arn_param(call, in, "TopicArn");
  if (arn)
    list_subs(call, in, arn);
}

/* The document a filter policy of the attribute scope sees: String as
 * string, Number as number, String.Array as its array; Binary is not
 * matchable. */
static json_t *attribute_document(json_t *attributes) {
  json_t *doc = json_object();
  const char *name;
  json_t *v;
  json_object_foreach(attributes, name, v) {
    const char *type = jsonutil_string(v, "DataType");
    const char *s = jsonutil_string(v, "StringValue");
    if (!type || !s)
      continue;
    if (!strncmp(type, "Number", 6)) {
      char *end = NULL;
      double d = strtod(s, &end);
      if (end && !*end)
        json_object_set_new(doc, name, json_real(d));
    } else if (!strcmp(type, "String.Array")) {
      json_t *arr = json_loads(s, JSON_DECODE_ANY, NULL);
      json_object_set_new(doc, name, json_is_array(arr) ? arr : json_string(s));
      if (!json_is_array(arr))
        json_decref(arr);
    } else if (!strncmp(type, "String", 6)) {
      json_object_set_new(doc, name, json_string(s));
    }
  }
  return doc;
}

int sns_sub_accepts(json_t *sub, const char *message, json_t *attributes) {
  json_t *filter = json_object_get(sub, "Filter");
  if (!filter)
    return 1;
  const char *scope = jsonutil_string(json_object_get(sub, "Attributes"), "FilterPolicyScope");
  json_t *doc = scope && !strcmp(scope, "MessageBody") ? json_loads(message, 0, NULL)
                                                       : attribute_document(attributes);
  int ok = json_is_object(doc) && delivery_pattern_match(filter, doc);
  json_decref(doc);
  return ok;
}
