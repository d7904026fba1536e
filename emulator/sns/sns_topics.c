/*
 * sns_topics.c — topics: CreateTopic (idempotent for the same attributes, as
 * AWS), DeleteTopic, ListTopics (pages of 100), topic attributes with the
 * defaults AWS reports (Policy, EffectiveDeliveryPolicy, subscription
 * counts), the data protection policy, and AddPermission/RemovePermission as
 * statements of the topic's Policy.
 */
#include "emulator/sns/sns.h"
#include "emulator/sns/sns_int.h"

#include "common/jsonutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SNS_LIST_PAGE 100

static const char *const settable[] = {"DeliveryPolicy",
                                       "DisplayName",
                                       "Policy",
                                       "SignatureVersion",
                                       "TracingConfig",
                                       "KmsMasterKeyId",
                                       "ContentBasedDeduplication",
                                       "ArchivePolicy",
                                       "FifoThroughputScope",
                                       "ApplicationSuccessFeedbackRoleArn",
                                       "ApplicationSuccessFeedbackSampleRate",
                                       "ApplicationFailureFeedbackRoleArn",
                                       "HTTPSuccessFeedbackRoleArn",
                                       "HTTPSuccessFeedbackSampleRate",
                                       "HTTPFailureFeedbackRoleArn",
                                       "LambdaSuccessFeedbackRoleArn",
                                       "LambdaSuccessFeedbackSampleRate",
                                       "LambdaFailureFeedbackRoleArn",
                                       "SQSSuccessFeedbackRoleArn",
                                       "SQSSuccessFeedbackSampleRate",
                                       "SQSFailureFeedbackRoleArn",
                                       "FirehoseSuccessFeedbackRoleArn",
                                       "FirehoseSuccessFeedbackSampleRate",
                                       "FirehoseFailureFeedbackRoleArn",
                                       NULL};

static int is_settable(const char *name) {
  for (size_t i = 0; settable[i]; i++)
    if (!strcmp(settable[i], name))
      return 1;
  return 0;
}

static json_t *default_policy(const char *arn, const char *account) {
  return json_pack("{s:s,s:s,s:[{s:s,s:s,s:{s:s},s:[s,s,s,s,s,s,s,s],s:s,s:{s:{s:s}}}]}", "Version",
                   "2008-10-17", "Id", "__default_policy_ID", "Statement", "Sid",
                   "__default_statement_ID", "Effect", "Allow", "Principal", "AWS", "*", "Action",
                   "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                   "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                   "SNS:ListSubscriptionsByTopic", "SNS:Publish", "Resource", arn, "Condition",
                   "StringEquals", "AWS:SourceOwner", account);
}

static const char default_delivery_policy[] =
    "{\"http\":{\"defaultHealthyRetryPolicy\":{\"minDelayTarget\":20,\"maxDelayTarget\":20,"
    "\"numRetries\":3,\"numMaxDelayRetries\":0,\"numNoDelayRetries\":0,"
    "\"numMinDelayRetries\":0,\"backoffFunction\":\"linear\"},"
    "\"disableSubscriptionOverrides\":false,\"defaultRequestPolicy\":{\"headerContentType\":"
    "\"text/plain; charset=UTF-8\"}}}";

const char *sns_topic_arn_param(aws_call *call, json_t *in, const char *member) {
  const char *arn = jsonutil_string(in, member);
  char region[64], account[16];
  const char *res;
  if (!arn || !*arn) {
    sns_fail_param(call, "%s", member);
    return NULL;
  }
  if (sns_arn_split(arn, "sns", region, account, &res) < 0 || strchr(res, ':')) {
    sns_fail_param(call, "%s", member);
    return NULL;
  }
  return arn;
}

json_t *sns_topic_get(sns_state *st, aws_call *call, const char *arn) {
  json_t *t = json_object_get(st->topics, arn);
  if (!t)
    sns_fail_not_found(call, "Topic");
  return t;
}

int sns_topic_exists(emulator *emu, const char *topic_arn) {
  sns_state *st = emu && topic_arn ? emulator_service_state(emu, "sns") : NULL;
  if (!st)
    return 0;
  pthread_mutex_lock(&st->lock);
  int found = json_object_get(st->topics, topic_arn) != NULL;
  pthread_mutex_unlock(&st->lock);
  return found;
}

static int valid_name(const char *name, int fifo) {
  size_t n = strlen(name);
  size_t base = n;
  if (fifo) {
    if (n < 5 || strcmp(name + n - 5, ".fifo"))
      return 0;
    base = n - 5;
  }
  if (base == 0 || n > 256)
    return 0;
  for (size_t i = 0; i < base; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_'))
      return 0;
  }
  return 1;
}

/* Checks one attribute for a topic; answers and returns -1 when refused. */
static int check_attribute(aws_call *call, const char *name, const char *value, int fifo) {
  if (!is_settable(name)) {
    sns_fail_param(call, "AttributeName");
    return -1;
  }
  if ((!strcmp(name, "Policy") || !strcmp(name, "DeliveryPolicy") ||
       !strcmp(name, "ArchivePolicy")) &&
      *value) {
    json_t *j = json_loads(value, 0, NULL);
    int ok = json_is_object(j);
    json_decref(j);
    if (!ok) {
      sns_fail_param(call, "Attributes Reason: %s: failed to parse JSON", name);
      return -1;
    }
  }
  if (!strcmp(name, "ContentBasedDeduplication")) {
    if (!fifo) {
      sns_fail_param(call, "Attributes Reason: Content based deduplication can only be set for "
                           "FIFO topics");
      return -1;
    }
    if (strcasecmp(value, "true") && strcasecmp(value, "false")) {
      sns_fail_param(call, "Attributes Reason: ContentBasedDeduplication must be true or false");
      return -1;
    }
  }
  if (!strcmp(name, "SignatureVersion") && strcmp(value, "1") && strcmp(value, "2")) {
    sns_fail_param(call, "Attributes Reason: SignatureVersion must be 1 or 2");
    return -1;
  }
  if (!strcmp(name, "DisplayName") && strlen(value) > 100) {
    sns_fail_param(call, "DisplayName");
    return -1;
  }
  return 0;
}

void sns_create_topic(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *name = jsonutil_string(in, "Name");
  json_t *attrs = json_object_get(in, "Attributes");
  const char *fifo_s = jsonutil_string(attrs, "FifoTopic");
  int fifo = fifo_s && !strcasecmp(fifo_s, "true");
  if (!name || !valid_name(name, fifo)) {
    if (fifo)
      sns_fail_param(call, "Fifo Topic names must end with .fifo and must be made up of only "
                           "uppercase and lowercase ASCII letters, numbers, underscores, and "
                           "hyphens, and must be between 1 and 256 characters long.");
    else
      sns_fail_param(call, "Topic Name");
    return;
  }
  const char *k;
  json_t *v;
  json_object_foreach(attrs, k, v) {
    if (!strcmp(k, "FifoTopic")) {
      if (strcasecmp(json_string_value(v) ? json_string_value(v) : "", "true") &&
          strcasecmp(json_string_value(v) ? json_string_value(v) : "", "false")) {
        sns_fail_param(call, "Attributes Reason: FifoTopic must be true or false");
        return;
      }
      continue;
    }
    if (check_attribute(call, k, json_string_value(v) ? json_string_value(v) : "", fifo) < 0)
      return;
  }
  const char *dpp = jsonutil_string(in, "DataProtectionPolicy");
  if (dpp && *dpp) {
    json_t *j = json_loads(dpp, 0, NULL);
    int ok = json_is_object(j);
    json_decref(j);
    if (!ok) {
      sns_fail_param(call, "DataProtectionPolicy Reason: failed to parse JSON");
      return;
    }
  }
  char arn[512];
  snprintf(arn, sizeof(arn), "arn:aws:sns:%s:%s:%s", aws_call_region(call), aws_call_account(call),
           name);
  pthread_mutex_lock(&st->lock);
  sns_note_endpoint(st, call);
  json_t *topic = json_object_get(st->topics, arn);
  if (topic) {
    /* Same name: the same topic, unless the attributes asked for differ. */
    json_t *have = json_object_get(topic, "Attributes");
    json_object_foreach(attrs, k, v) {
      if (!strcmp(k, "FifoTopic"))
        continue;
      const char *cur = jsonutil_string(have, k);
      if (!cur || strcmp(cur, json_string_value(v))) {
        pthread_mutex_unlock(&st->lock);
        sns_fail_param(call, "Attributes Reason: Topic already exists with different attributes");
        return;
      }
    }
    /* Tags given again must be the ones it has. */
    json_t *have_tags = json_object_get(topic, "Tags");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(in, "Tags"), i, t) {
      const char *tk = jsonutil_string(t, "Key"), *tv = jsonutil_string(t, "Value");
      const char *cur = tk ? jsonutil_string(have_tags, tk) : NULL;
      if (!cur || !tv || strcmp(cur, tv)) {
        pthread_mutex_unlock(&st->lock);
        sns_fail_param(call, "Tags Reason: Topic already exists with different tags");
        return;
      }
    }
    pthread_mutex_unlock(&st->lock);
    aws_call_reply(call, json_pack("{s:s}", "TopicArn", arn));
    return;
  }
  topic = json_pack("{s:s,s:s,s:s,s:{},s:{},s:[],s:I,s:{},s:b}", "Name", name, "Account",
                    aws_call_account(call), "Region", aws_call_region(call), "Attributes", "Tags",
                    "Subs", "Seq", (json_int_t)0, "Dedup", "Fifo", fifo);
  if (!topic) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 500, "InternalError", "out of memory");
    return;
  }
  json_t *tattrs = json_object_get(topic, "Attributes");
  json_object_foreach(attrs, k, v) if (strcmp(k, "FifoTopic")) json_object_set(tattrs, k, v);
  if (sns_tags_merge(call, json_object_get(topic, "Tags"), json_object_get(in, "Tags")) < 0) {
    pthread_mutex_unlock(&st->lock);
    json_decref(topic);
    return;
  }
  if (dpp)
    json_object_set_new(topic, "DataProtectionPolicy", json_string(dpp));
  json_object_set_new(st->topics, arn, topic);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:s}", "TopicArn", arn));
}

void sns_delete_topic(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *arn = sns_topic_arn_param(call, in, "TopicArn");
  if (!arn)
    return;
  pthread_mutex_lock(&st->lock);
  json_t *topic = json_object_get(st->topics, arn);
  if (topic) {
    json_t *subs = json_incref(json_object_get(topic, "Subs"));
    size_t i;
    json_t *s;
    json_array_foreach(subs, i, s) json_object_del(st->subs, json_string_value(s));
    json_decref(subs);
    json_object_del(st->topics, arn);
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

/* Page tokens are the index of the next item, as text. */
static size_t page_start(const char *token) {
  if (!token)
    return 0;
  char *end = NULL;
  unsigned long long v = strtoull(token, &end, 10);
  return end && *end == '\0' ? (size_t)v : (size_t)-1;
}

void sns_list_topics(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  size_t start = page_start(jsonutil_string(in, "NextToken"));
  if (start == (size_t)-1) {
    sns_fail_param(call, "NextToken");
    return;
  }
  json_t *list = json_array();
  size_t index = 0;
  int more = 0;
  pthread_mutex_lock(&st->lock);
  const char *arn;
  json_t *t;
  json_object_foreach(st->topics, arn, t) {
    if (strcmp(jsonutil_string(t, "Account"), aws_call_account(call)) ||
        strcmp(jsonutil_string(t, "Region"), aws_call_region(call)))
      continue;
    if (index++ < start)
      continue;
    if (json_array_size(list) == SNS_LIST_PAGE) {
      more = 1;
      break;
    }
    json_array_append_new(list, json_pack("{s:s}", "TopicArn", arn));
  }
  pthread_mutex_unlock(&st->lock);
  json_t *out = json_pack("{s:o}", "Topics", list);
  if (more) {
    char tok[32];
    snprintf(tok, sizeof(tok), "%zu", start + SNS_LIST_PAGE);
    json_object_set_new(out, "NextToken", json_string(tok));
  }
  aws_call_reply(call, out);
}

void sns_get_topic_attributes(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *arn = sns_topic_arn_param(call, in, "TopicArn");
  if (!arn)
    return;
  pthread_mutex_lock(&st->lock);
  json_t *topic = sns_topic_get(st, call, arn);
  if (!topic) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  const char *account = jsonutil_string(topic, "Account");
  json_t *a = json_object();
  json_t *policy = default_policy(arn, account);
  char *policy_s = json_dumps(policy, JSON_COMPACT);
  json_decref(policy);
  json_object_set_new(a, "Policy", json_string(policy_s ? policy_s : ""));
  free(policy_s);
  json_object_set_new(a, "Owner", json_string(account));
  size_t confirmed = 0, pending = 0, i;
  json_t *s;
  json_array_foreach(json_object_get(topic, "Subs"), i, s) {
    json_t *sub = json_object_get(st->subs, json_string_value(s));
    if (json_is_true(json_object_get(sub, "Confirmed")))
      confirmed++;
    else
      pending++;
  }
  char n[32];
  snprintf(n, sizeof(n), "%zu", pending);
  json_object_set_new(a, "SubscriptionsPending", json_string(n));
  json_object_set_new(a, "TopicArn", json_string(arn));
  json_object_set_new(a, "EffectiveDeliveryPolicy", json_string(default_delivery_policy));
  snprintf(n, sizeof(n), "%zu", confirmed);
  json_object_set_new(a, "SubscriptionsConfirmed", json_string(n));
  json_object_set_new(a, "DisplayName", json_string(""));
  json_object_set_new(a, "SubscriptionsDeleted", json_string("0"));
  if (json_is_true(json_object_get(topic, "Fifo"))) {
    json_object_set_new(a, "FifoTopic", json_string("true"));
    json_object_set_new(a, "ContentBasedDeduplication", json_string("false"));
  }
  json_object_update(a, json_object_get(topic, "Attributes"));
  const char *dp = jsonutil_string(json_object_get(topic, "Attributes"), "DeliveryPolicy");
  if (dp && *dp)
    json_object_set_new(a, "EffectiveDeliveryPolicy", json_string(dp));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:o}", "Attributes", a));
}

void sns_set_topic_attributes(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *arn = sns_topic_arn_param(call, in, "TopicArn");
  if (!arn)
    return;
  const char *name = jsonutil_string(in, "AttributeName");
  const char *value = jsonutil_string(in, "AttributeValue");
  if (!name || !*name) {
    sns_fail_param(call, "AttributeName");
    return;
  }
  pthread_mutex_lock(&st->lock);
  json_t *topic = sns_topic_get(st, call, arn);
  if (!topic) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  if (!strcmp(name, "FifoTopic")) {
    pthread_mutex_unlock(&st->lock);
    sns_fail_param(call, "AttributeName: FifoTopic can only be set when the topic is created");
    return;
  }
  if (check_attribute(call, name, value ? value : "",
                      json_is_true(json_object_get(topic, "Fifo"))) < 0) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  json_object_set_new(json_object_get(topic, "Attributes"), name, json_string(value ? value : ""));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

void sns_put_data_protection_policy(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *arn = sns_topic_arn_param(call, in, "ResourceArn");
  if (!arn)
    return;
  const char *policy = jsonutil_string(in, "DataProtectionPolicy");
  json_t *j = policy ? json_loads(policy, 0, NULL) : NULL;
  int ok = json_is_object(j);
  json_decref(j);
  if (!ok) {
    sns_fail_param(call, "DataProtectionPolicy Reason: failed to parse JSON");
    return;
  }
  pthread_mutex_lock(&st->lock);
  json_t *topic = sns_topic_get(st, call, arn);
  if (topic)
    json_object_set_new(topic, "DataProtectionPolicy", json_string(policy));
  pthread_mutex_unlock(&st->lock);
  if (topic)
    aws_call_reply(call, NULL);
}

void sns_get_data_protection_policy(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *arn = sns_topic_arn_param(call, in, "ResourceArn");
  if (!arn)
    return;
  pthread_mutex_lock(&st->lock);
  json_t *topic = sns_topic_get(st, call, arn);
  json_t *out = NULL;
  if (topic) {
    const char *p = jsonutil_string(topic, "DataProtectionPolicy");
    out = p ? json_pack("{s:s}", "DataProtectionPolicy", p) : json_object();
  }
  pthread_mutex_unlock(&st->lock);
  if (topic)
    aws_call_reply(call, out);
}

/* The topic's Policy as an object (new reference). */
static json_t *topic_policy(json_t *topic, const char *arn) {
  const char *p = jsonutil_string(json_object_get(topic, "Attributes"), "Policy");
  json_t *j = p && *p ? json_loads(p, 0, NULL) : NULL;
  if (!json_is_object(j)) {
    json_decref(j);
    j = default_policy(arn, jsonutil_string(topic, "Account"));
  }
  if (!json_is_array(json_object_get(j, "Statement")))
    json_object_set_new(j, "Statement", json_array());
  return j;
}

static void store_policy(json_t *topic, json_t *policy) {
  char *s = json_dumps(policy, JSON_COMPACT);
  if (s)
    json_object_set_new(json_object_get(topic, "Attributes"), "Policy", json_string(s));
  free(s);
}

void sns_add_permission(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *arn = sns_topic_arn_param(call, in, "TopicArn");
  if (!arn)
    return;
  const char *label = jsonutil_string(in, "Label");
  json_t *accounts = json_object_get(in, "AWSAccountId");
  json_t *actions = json_object_get(in, "ActionName");
  if (!label || !*label) {
    sns_fail_param(call, "Label");
    return;
  }
  if (!json_array_size(accounts) || !json_array_size(actions)) {
    sns_fail_param(call, "%s", json_array_size(accounts) ? "ActionName" : "AWSAccountId");
    return;
  }
  pthread_mutex_lock(&st->lock);
  json_t *topic = sns_topic_get(st, call, arn);
  if (!topic) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  json_t *policy = topic_policy(topic, arn);
  json_t *stmts = json_object_get(policy, "Statement");
  size_t i;
  json_t *s;
  json_array_foreach(stmts, i, s) {
    if (!strcmp(jsonutil_string(s, "Sid") ? jsonutil_string(s, "Sid") : "", label)) {
      pthread_mutex_unlock(&st->lock);
      json_decref(policy);
      sns_fail_param(call, "Statement already exists");
      return;
    }
  }
  json_t *principals = json_array(), *acts = json_array();
  json_t *v;
  json_array_foreach(accounts, i, v) {
    char p[64];
    snprintf(p, sizeof(p), "arn:aws:iam::%s:root", json_string_value(v));
    json_array_append_new(principals, json_string(p));
  }
  json_array_foreach(actions, i, v) {
    char a[128];
    snprintf(a, sizeof(a), "SNS:%s", json_string_value(v));
    json_array_append_new(acts, json_string(a));
  }
  json_array_append_new(stmts,
                        json_pack("{s:s,s:s,s:{s:o},s:o,s:s}", "Sid", label, "Effect", "Allow",
                                  "Principal", "AWS", principals, "Action", acts, "Resource", arn));
  store_policy(topic, policy);
  json_decref(policy);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

void sns_remove_permission(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *arn = sns_topic_arn_param(call, in, "TopicArn");
  if (!arn)
    return;
  const char *label = jsonutil_string(in, "Label");
  if (!label || !*label) {
    sns_fail_param(call, "Label");
    return;
  }
  pthread_mutex_lock(&st->lock);
  json_t *topic = sns_topic_get(st, call, arn);
  if (!topic) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  json_t *policy = topic_policy(topic, arn);
  json_t *stmts = json_object_get(policy, "Statement");
  for (size_t i = json_array_size(stmts); i-- > 0;) {
    const char *sid = jsonutil_string(json_array_get(stmts, i), "Sid");
    if (sid && !strcmp(sid, label))
      json_array_remove(stmts, i);
  }
  store_policy(topic, policy);
  json_decref(policy);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}
