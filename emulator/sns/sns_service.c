/*
 * sns_service.c — the SNS service (query protocol): state, the operation
 * table, SNS's error wording, tags, and LocalStack's /_aws/sns/ endpoints
 * that tests use to see what SNS "sent" where nothing can receive it:
 *   GET/DELETE /_aws/sns/sms-messages                recorded SMS
 *   GET/DELETE /_aws/sns/platform-endpoint-messages  recorded push messages
 *   GET /_aws/sns/subscription-tokens/<sub arn>      a pending confirmation's token
 *   GET /_aws/sns/SimpleNotificationService-<h>.pem  the signing certificate
 * (the GETs take LocalStack's accountId and region query parameters).
 *
 * Deliveries leave through the emulator's delivery engine
 * (emulator/delivery/), which SNS also serves as the DELIVERY_SNS target of
 * EventBridge rules.
 */
#include "emulator/sns/sns_int.h"

#include "common/error.h"
#include "common/jsonutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

sns_state *sns_state_of(aws_call *call) { return aws_call_state(call); }

void sns_fail_param(aws_call *call, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  aws_call_fail(call, 400, "InvalidParameter", "Invalid parameter: %s", msg);
}

void sns_fail_not_found(aws_call *call, const char *what) {
  aws_call_fail(call, 404, "NotFound", "%s does not exist", what);
}

int sns_arn_split(const char *arn, const char *service, char region[64], char account[16],
                  const char **resource) {
  if (!arn || strncmp(arn, "arn:", 4))
    return -1;
  const char *p = strchr(arn + 4, ':'); /* after partition */
  if (!p)
    return -1;
  size_t sl = strlen(service);
  if (strncmp(p + 1, service, sl) || p[1 + sl] != ':')
    return -1;
  p += 2 + sl;
  const char *q = strchr(p, ':');
  if (!q || (size_t)(q - p) >= 64)
    return -1;
  memcpy(region, p, (size_t)(q - p));
  region[q - p] = '\0';
  p = q + 1;
  q = strchr(p, ':');
  if (!q || q - p != 12)
    return -1;
  memcpy(account, p, 12);
  account[12] = '\0';
  for (int i = 0; i < 12; i++)
    if (account[i] < '0' || account[i] > '9')
      return -1;
  if (!q[1])
    return -1;
  *resource = q + 1;
  return 0;
}

void sns_timestamp(char out[32]) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char base[24];
  strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, 32, "%s.%03dZ", base, (int)(tv.tv_usec / 1000));
}

void sns_note_endpoint(sns_state *st, aws_call *call) {
  const char *ep = aws_call_endpoint(call);
  if (ep && strlen(ep) < sizeof(st->endpoint) && strcmp(ep, st->endpoint))
    snprintf(st->endpoint, sizeof(st->endpoint), "%s", ep);
}

/* ---- tags ---- */

int sns_tags_merge(aws_call *call, json_t *tags, json_t *list) {
  size_t i;
  json_t *t;
  json_t *merged = json_deep_copy(tags);
  if (!merged) {
    aws_call_fail(call, 500, "InternalError", "out of memory");
    return -1;
  }
  json_array_foreach(list, i, t) {
    const char *k = json_string_value(json_object_get(t, "Key"));
    const char *v = json_string_value(json_object_get(t, "Value"));
    if (!k || !*k || strlen(k) > 128 || !v || strlen(v) > 256) {
      json_decref(merged);
      aws_call_fail(call, 400, "InvalidParameter",
                    "Invalid parameter: Tags Reason: tag keys must be 1-128 and values 0-256 "
                    "characters");
      return -1;
    }
    json_object_set_new(merged, k, json_string(v));
  }
  if (json_object_size(merged) > SNS_MAX_TAGS) {
    json_decref(merged);
    aws_call_fail(call, 400, "TagLimitExceeded",
                  "Could not complete request: tag quota of per resource exceeded");
    return -1;
  }
  json_object_update(tags, merged);
  json_decref(merged);
  return 0;
}

static json_t *tagged(sns_state *st, aws_call *call, json_t *in) {
  const char *arn = json_string_value(json_object_get(in, "ResourceArn"));
  json_t *topic = arn ? json_object_get(st->topics, arn) : NULL;
  if (!topic) {
    aws_call_fail(call, 404, "ResourceNotFound", "Resource does not exist");
    return NULL;
  }
  return json_object_get(topic, "Tags");
}

void sns_tag_resource(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *tags = tagged(st, call, in);
  int rc = tags ? sns_tags_merge(call, tags, json_object_get(in, "Tags")) : -1;
  pthread_mutex_unlock(&st->lock);
  if (rc == 0)
    aws_call_reply(call, NULL);
}

void sns_untag_resource(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *tags = tagged(st, call, in);
  if (tags) {
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(in, "TagKeys"), i, k) {
      if (json_is_string(k))
        json_object_del(tags, json_string_value(k));
    }
  }
  pthread_mutex_unlock(&st->lock);
  if (tags)
    aws_call_reply(call, NULL);
}

void sns_list_tags(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *tags = tagged(st, call, in);
  json_t *list = tags ? json_array() : NULL;
  const char *k;
  json_t *v;
  json_object_foreach(tags, k, v)
      json_array_append_new(list, json_pack("{s:s,s:O}", "Key", k, "Value", v));
  pthread_mutex_unlock(&st->lock);
  if (list)
    aws_call_reply(call, json_pack("{s:o}", "Tags", list));
}

/* ---- /_aws/sns/ ---- */

static const char *str_of(const json_t *obj, const char *key) {
  const char *s = jsonutil_string(obj, key);
  return s ? s : "";
}

static void query_param(http_request *req, const char *name, char *out, size_t n,
                        const char *dflt) {
  snprintf(out, n, "%s", dflt);
  const char *q = http_request_query(req);
  http_query_pair *pairs = NULL;
  size_t count = 0;
  if (q && http_query_parse(&pairs, &count, q, strlen(q), 64) == 0) {
    const char *v = http_query_get(pairs, count, name);
    if (v && strlen(v) < n)
      snprintf(out, n, "%s", v);
    http_query_free(pairs, count);
  }
}

/* The recorded messages of account/region, grouped by key. */
static int recorded(sns_state *st, http_request *req, json_t *list, const char *key,
                    const char *member) {
  char account[16], region[64];
  query_param(req, "accountId", account, sizeof(account), "000000000000");
  query_param(req, "region", region, sizeof(region), "us-east-1");
  const char *method = http_request_method(req);
  if (!strcmp(method, "DELETE")) {
    pthread_mutex_lock(&st->lock);
    for (size_t i = json_array_size(list); i-- > 0;) {
      json_t *r = json_array_get(list, i);
      if (!strcmp(str_of(r, "Account"), account) && !strcmp(str_of(r, "Region"), region))
        json_array_remove(list, i);
    }
    pthread_mutex_unlock(&st->lock);
    http_request_respond(req, http_response_new(204, "text/plain", "", 0));
    return 1;
  }
  if (strcmp(method, "GET")) {
    http_request_respond_error(req, 405, "use GET or DELETE");
    return 1;
  }
  json_t *grouped = json_object();
  pthread_mutex_lock(&st->lock);
  size_t i;
  json_t *r;
  json_array_foreach(list, i, r) {
    if (strcmp(str_of(r, "Account"), account) || strcmp(str_of(r, "Region"), region))
      continue;
    const char *k = str_of(r, key);
    json_t *arr = json_object_get(grouped, k);
    if (!arr) {
      arr = json_array();
      json_object_set_new(grouped, k, arr);
    }
    json_t *copy = json_deep_copy(r);
    json_object_del(copy, "Account");
    json_object_del(copy, "Region");
    json_array_append_new(arr, copy);
  }
  pthread_mutex_unlock(&st->lock);
  http_request_respond(
      req, http_response_new_json(200, json_pack("{s:s,s:o}", "region", region, member, grouped)));
  return 1;
}

static int sns_internal(void *state, http_request *req, const char *rest) {
  sns_state *st = state;
  if (!strcmp(rest, "sms-messages"))
    return recorded(st, req, st->sms, "PhoneNumber", "sms_messages");
  if (!strcmp(rest, "platform-endpoint-messages"))
    return recorded(st, req, st->platform, "EndpointArn", "platform_endpoint_messages");
  if (!strncmp(rest, "subscription-tokens/", 20)) {
    char *arn = http_percent_decode(rest + 20, strlen(rest + 20), 0, 1, NULL);
    pthread_mutex_lock(&st->lock);
    json_t *sub = arn ? json_object_get(st->subs, arn) : NULL;
    const char *token = jsonutil_string(sub, "Token");
    json_t *body =
        token ? json_pack("{s:s,s:s}", "subscription_token", token, "subscription_arn", arn) : NULL;
    pthread_mutex_unlock(&st->lock);
    if (body)
      http_request_respond(req, http_response_new_json(200, body));
    else
      http_request_respond(
          req, http_response_new_json(404, json_pack("{s:s,s:s}", "error",
                                                     "The SubscriptionArn was not found", "arn",
                                                     arn ? arn : "")));
    free(arn);
    return 1;
  }
  if (!strcmp(rest, sns_signer_cert_name(st->signer))) {
    const char *pem = sns_signer_cert_pem(st->signer);
    http_request_respond(req,
                         http_response_new(200, "application/x-x509-ca-cert", pem, strlen(pem)));
    return 1;
  }
  return 0;
}

/* ---- life cycle ---- */

static void clear(sns_state *st) {
  json_object_clear(st->topics);
  json_object_clear(st->subs);
  json_object_clear(st->apps);
  json_object_clear(st->endpoints);
  json_array_clear(st->sms);
  json_array_clear(st->platform);
  json_object_clear(st->sms_attrs);
  json_object_clear(st->opted_out);
}

static void destroy(void *state) {
  sns_state *st = state;
  if (!st)
    return;
  if (st->delivery) {
    delivery_handler_set(st->delivery, DELIVERY_SNS, NULL, NULL);
    delivery_release(st->delivery);
  }
  sns_signer_free(st->signer);
  json_decref(st->topics);
  json_decref(st->subs);
  json_decref(st->apps);
  json_decref(st->endpoints);
  json_decref(st->sms);
  json_decref(st->platform);
  json_decref(st->sms_attrs);
  json_decref(st->opted_out);
  pthread_mutex_destroy(&st->lock);
  free(st);
}

static int create(void **out, emulator *emu) {
  sns_state *st = calloc(1, sizeof(*st));
  if (!st)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  pthread_mutex_init(&st->lock, NULL);
  st->emu = emu;
  snprintf(st->endpoint, sizeof(st->endpoint), "http://localhost:4566");
  st->topics = json_object();
  st->subs = json_object();
  st->apps = json_object();
  st->endpoints = json_object();
  st->sms = json_array();
  st->platform = json_array();
  st->sms_attrs = json_object();
  st->opted_out = json_object();
  int rc = sns_signer_new(&st->signer);
  if (rc == 0 && (!st->topics || !st->subs || !st->apps || !st->endpoints || !st->sms ||
                  !st->platform || !st->sms_attrs || !st->opted_out))
    rc = airgap_error_set(AIRGAP_ERROR, "out of memory");
  if (rc == 0 && !(st->delivery = delivery_acquire(emu)))
    rc = -1;
  if (rc < 0) {
    destroy(st);
    return rc;
  }
  delivery_handler_set(st->delivery, DELIVERY_SNS, sns_publish_internal, st);
  *out = st;
  return 0;
}

static void reset(void *state) {
  sns_state *st = state;
  pthread_mutex_lock(&st->lock);
  clear(st);
  pthread_mutex_unlock(&st->lock);
}

static void shutdown_sns(void *state) {
  sns_state *st = state;
  delivery_stop(st->delivery);
}

static const aws_operation operations[] = {
    {"AddPermission", sns_add_permission},
    {"CheckIfPhoneNumberIsOptedOut", sns_check_if_phone_number_is_opted_out},
    {"ConfirmSubscription", sns_confirm_subscription},
    {"CreatePlatformApplication", sns_create_platform_application},
    {"CreatePlatformEndpoint", sns_create_platform_endpoint},
    {"CreateTopic", sns_create_topic},
    {"DeleteEndpoint", sns_delete_endpoint},
    {"DeletePlatformApplication", sns_delete_platform_application},
    {"DeleteTopic", sns_delete_topic},
    {"GetDataProtectionPolicy", sns_get_data_protection_policy},
    {"GetEndpointAttributes", sns_get_endpoint_attributes},
    {"GetPlatformApplicationAttributes", sns_get_platform_application_attributes},
    {"GetSMSAttributes", sns_get_sms_attributes},
    {"GetSubscriptionAttributes", sns_get_subscription_attributes},
    {"GetTopicAttributes", sns_get_topic_attributes},
    {"ListEndpointsByPlatformApplication", sns_list_endpoints_by_platform_application},
    {"ListPhoneNumbersOptedOut", sns_list_phone_numbers_opted_out},
    {"ListPlatformApplications", sns_list_platform_applications},
    {"ListSubscriptions", sns_list_subscriptions},
    {"ListSubscriptionsByTopic", sns_list_subscriptions_by_topic},
    {"ListTagsForResource", sns_list_tags},
    {"ListTopics", sns_list_topics},
    {"OptInPhoneNumber", sns_opt_in_phone_number},
    {"Publish", sns_publish},
    {"PublishBatch", sns_publish_batch},
    {"PutDataProtectionPolicy", sns_put_data_protection_policy},
    {"RemovePermission", sns_remove_permission},
    {"SetEndpointAttributes", sns_set_endpoint_attributes},
    {"SetPlatformApplicationAttributes", sns_set_platform_application_attributes},
    {"SetSMSAttributes", sns_set_sms_attributes},
    {"SetSubscriptionAttributes", sns_set_subscription_attributes},
    {"SetTopicAttributes", sns_set_topic_attributes},
    {"Subscribe", sns_subscribe},
    {"TagResource", sns_tag_resource},
    {"Unsubscribe", sns_unsubscribe},
    {"UntagResource", sns_untag_resource},
};

const aws_service aws_service_sns = {
    .name = "sns",
    .model_name = "sns",
    .operations = operations,
    .operation_count = sizeof(operations) / sizeof(operations[0]),
    .create = create,
    .reset = reset,
    .shutdown = shutdown_sns,
    .destroy = destroy,
    .internal_endpoint = sns_internal,
};
