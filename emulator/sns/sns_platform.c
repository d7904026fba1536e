/*
 * sns_platform.c — mobile push and SMS: platform applications and their
 * endpoints are stored with their attributes (nothing can reach APNS or
 * FCM from a job, so messages to them are recorded for
 * /_aws/sns/platform-endpoint-messages), SMS settings per account and
 * Region, the opted-out list, and the record of SMS "sent"
 * (/_aws/sns/sms-messages). The records are bounded (SNS_MAX_RECORDED; the
 * oldest go first).
 */
#include "emulator/sns/sns_int.h"

#include "common/codec.h"
#include "common/jsonutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const platforms[] = {
    "ADM",   "APNS", "APNS_SANDBOX", "APNS_VOIP", "APNS_VOIP_SANDBOX",
    "BAIDU", "GCM",  "MPNS",         "WNS",       NULL};

static void record(json_t *list, json_t *rec) {
  if (json_array_size(list) >= SNS_MAX_RECORDED)
    json_array_remove(list, 0);
  json_array_append_new(list, rec);
}

void sns_sms_record(sns_state *st, json_t *rec) { record(st->sms, rec); }

int sns_platform_record(sns_state *st, aws_call *call, const char *endpoint_arn, json_t *rec) {
  json_t *ep = json_object_get(st->endpoints, endpoint_arn);
  const char *enabled = jsonutil_string(json_object_get(ep, "Attributes"), "Enabled");
  if (!ep || (enabled && !strcmp(enabled, "false"))) {
    json_decref(rec);
    if (call && !ep)
      sns_fail_not_found(call, "Endpoint");
    else if (call)
      aws_call_fail(call, 400, "EndpointDisabled", "Endpoint is disabled");
    return -1;
  }
  char region[64], account[16];
  const char *res;
  if (!json_object_get(rec, "Account") &&
      sns_arn_split(endpoint_arn, "sns", region, account, &res) == 0) {
    json_object_set_new(rec, "Account", json_string(account));
    json_object_set_new(rec, "Region", json_string(region));
  }
  record(st->platform, rec);
  return 0;
}

/* ---- applications ---- */

static const char *app_arn_param(aws_call *call, json_t *in) {
  const char *arn = jsonutil_string(in, "PlatformApplicationArn");
  char region[64], account[16];
  const char *res;
  if (!arn || sns_arn_split(arn, "sns", region, account, &res) < 0 || strncmp(res, "app/", 4)) {
    sns_fail_param(call, "PlatformApplicationArn");
    return NULL;
  }
  return arn;
}

void sns_create_platform_application(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *name = jsonutil_string(in, "Name");
  const char *platform = jsonutil_string(in, "Platform");
  json_t *attrs = json_object_get(in, "Attributes");
  size_t n = name ? strlen(name) : 0;
  int ok = n > 0 && n <= 256;
  for (size_t i = 0; ok && i < n; i++)
    ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
         (name[i] >= '0' && name[i] <= '9') || strchr("_-.", name[i]);
  if (!ok) {
    sns_fail_param(call, "Invalid platform application name");
    return;
  }
  int known = 0;
  for (size_t i = 0; platform && platforms[i]; i++)
    known |= !strcmp(platforms[i], platform);
  if (!known) {
    sns_fail_param(call, "Platform");
    return;
  }
  if (!jsonutil_string(attrs, "PlatformCredential")) {
    sns_fail_param(call, "Attributes Reason: PlatformCredential attribute is required");
    return;
  }
  char arn[512];
  snprintf(arn, sizeof(arn), "arn:aws:sns:%s:%s:app/%s/%s", aws_call_region(call),
           aws_call_account(call), platform, name);
  json_t *stored = json_object();
  const char *k;
  json_t *v;
  json_object_foreach(attrs, k, v) {
    /* Credentials are write-only, as in AWS. */
    if (strcmp(k, "PlatformCredential") && strcmp(k, "PlatformPrincipal"))
      json_object_set(stored, k, v);
  }
  json_object_set_new(stored, "Enabled", json_string("true"));
  pthread_mutex_lock(&st->lock);
  json_object_set_new(
      st->apps, arn,
      json_pack("{s:s,s:s,s:o}", "Name", name, "Platform", platform, "Attributes", stored));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:s}", "PlatformApplicationArn", arn));
}

void sns_delete_platform_application(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *arn = app_arn_param(call, in);
  if (!arn)
    return;
  pthread_mutex_lock(&st->lock);
  const char *k;
  json_t *v, *tmp;
  json_object_foreach_safe(st->endpoints, tmp, k, v) {
    if (!strcmp(jsonutil_string(v, "App"), arn))
      json_object_del(st->endpoints, k);
  }
  json_object_del(st->apps, arn);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

void sns_list_platform_applications(aws_call *call, json_t *in) {
  (void)in;
  sns_state *st = sns_state_of(call);
  json_t *list = json_array();
  char prefix[128];
  snprintf(prefix, sizeof(prefix), "arn:aws:sns:%s:%s:", aws_call_region(call),
           aws_call_account(call));
  pthread_mutex_lock(&st->lock);
  const char *k;
  json_t *v;
  json_object_foreach(st->apps, k, v) {
    if (!strncmp(k, prefix, strlen(prefix)))
      json_array_append_new(list, json_pack("{s:s,s:O}", "PlatformApplicationArn", k, "Attributes",
                                            json_object_get(v, "Attributes")));
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:o}", "PlatformApplications", list));
}

void sns_get_platform_application_attributes(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *arn = app_arn_param(call, in);
  if (!arn)
    return;
  pthread_mutex_lock(&st->lock);
  json_t *app = json_object_get(st->apps, arn);
  json_t *out = app ? json_pack("{s:O}", "Attributes", json_object_get(app, "Attributes")) : NULL;
  pthread_mutex_unlock(&st->lock);
  if (!out)
    sns_fail_not_found(call, "PlatformApplication");
  else
    aws_call_reply(call, out);
}

void sns_set_platform_application_attributes(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *arn = app_arn_param(call, in);
  if (!arn)
    return;
  pthread_mutex_lock(&st->lock);
  json_t *app = json_object_get(st->apps, arn);
  if (app) {
    json_t *attrs = json_object_get(app, "Attributes");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(in, "Attributes"), k, v) {
      if (strcmp(k, "PlatformCredential") && strcmp(k, "PlatformPrincipal"))
        json_object_set(attrs, k, v);
    }
  }
  pthread_mutex_unlock(&st->lock);
  if (!app)
    sns_fail_not_found(call, "PlatformApplication");
  else
    aws_call_reply(call, NULL);
}

/* ---- endpoints ---- */

static const char *endpoint_arn_param(aws_call *call, json_t *in) {
  const char *arn = jsonutil_string(in, "EndpointArn");
  char region[64], account[16];
  const char *res;
  if (!arn || sns_arn_split(arn, "sns", region, account, &res) < 0 ||
      strncmp(res, "endpoint/", 9)) {
    sns_fail_param(call, "EndpointArn");
    return NULL;
  }
  return arn;
}

void sns_create_platform_endpoint(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *app_arn = app_arn_param(call, in);
  if (!app_arn)
    return;
  const char *token = jsonutil_string(in, "Token");
  if (!token || !*token) {
    sns_fail_param(call, "Token");
    return;
  }
  const char *custom = jsonutil_string(in, "CustomUserData");
  json_t *attrs = json_pack("{s:s,s:s}", "Token", token, "Enabled", "true");
  if (custom)
    json_object_set_new(attrs, "CustomUserData", json_string(custom));
  json_object_update(attrs, json_object_get(in, "Attributes"));
  pthread_mutex_lock(&st->lock);
  json_t *app = json_object_get(st->apps, app_arn);
  if (!app) {
    pthread_mutex_unlock(&st->lock);
    json_decref(attrs);
    sns_fail_not_found(call, "PlatformApplication");
    return;
  }
  const char *k;
  json_t *v;
  json_object_foreach(st->endpoints, k, v) {
    json_t *a = json_object_get(v, "Attributes");
    if (strcmp(jsonutil_string(v, "App"), app_arn) || strcmp(jsonutil_string(a, "Token"), token))
      continue;
    int same = json_equal(a, attrs);
    char *arn = strdup(k);
    pthread_mutex_unlock(&st->lock);
    json_decref(attrs);
    if (!same)
      sns_fail_param(call,
                     "Token Reason: Endpoint %s already exists with the same Token, but "
                     "different attributes.",
                     arn ? arn : "");
    else
      aws_call_reply(call, json_pack("{s:s}", "EndpointArn", arn ? arn : ""));
    free(arn);
    return;
  }
  char uuid[37], arn[700];
  codec_uuid4(uuid);
  snprintf(arn, sizeof(arn), "arn:aws:sns:%s:%s:endpoint/%s/%s/%s", aws_call_region(call),
           aws_call_account(call), jsonutil_string(app, "Platform"), jsonutil_string(app, "Name"),
           uuid);
  json_object_set_new(st->endpoints, arn,
                      json_pack("{s:s,s:o}", "App", app_arn, "Attributes", attrs));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:s}", "EndpointArn", arn));
}

void sns_delete_endpoint(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *arn = endpoint_arn_param(call, in);
  if (!arn)
    return;
  pthread_mutex_lock(&st->lock);
  json_object_del(st->endpoints, arn);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

void sns_get_endpoint_attributes(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *arn = endpoint_arn_param(call, in);
  if (!arn)
    return;
  pthread_mutex_lock(&st->lock);
  json_t *ep = json_object_get(st->endpoints, arn);
  json_t *out = ep ? json_pack("{s:O}", "Attributes", json_object_get(ep, "Attributes")) : NULL;
  pthread_mutex_unlock(&st->lock);
  if (!out)
    sns_fail_not_found(call, "Endpoint");
  else
    aws_call_reply(call, out);
}

void sns_set_endpoint_attributes(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *arn = endpoint_arn_param(call, in);
  if (!arn)
    return;
  pthread_mutex_lock(&st->lock);
  json_t *ep = json_object_get(st->endpoints, arn);
  if (ep)
    json_object_update(json_object_get(ep, "Attributes"), json_object_get(in, "Attributes"));
  pthread_mutex_unlock(&st->lock);
  if (!ep)
    sns_fail_not_found(call, "Endpoint");
  else
    aws_call_reply(call, NULL);
}

void sns_list_endpoints_by_platform_application(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *app_arn = app_arn_param(call, in);
  if (!app_arn)
    return;
  pthread_mutex_lock(&st->lock);
  if (!json_object_get(st->apps, app_arn)) {
    pthread_mutex_unlock(&st->lock);
    sns_fail_not_found(call, "PlatformApplication");
    return;
  }
  json_t *list = json_array();
  const char *k;
  json_t *v;
  json_object_foreach(st->endpoints, k, v) {
    if (!strcmp(jsonutil_string(v, "App"), app_arn))
      json_array_append_new(list, json_pack("{s:s,s:O}", "EndpointArn", k, "Attributes",
                                            json_object_get(v, "Attributes")));
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:o}", "Endpoints", list));
}

/* ---- SMS ---- */

static json_t *sms_attrs_of(sns_state *st, aws_call *call) {
  char key[96];
  snprintf(key, sizeof(key), "%s/%s", aws_call_account(call), aws_call_region(call));
  json_t *a = json_object_get(st->sms_attrs, key);
  if (!a) {
    a = json_object();
    json_object_set_new(st->sms_attrs, key, a);
  }
  return a;
}

void sns_get_sms_attributes(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  json_t *names = json_object_get(in, "attributes");
  json_t *out = json_object();
  pthread_mutex_lock(&st->lock);
  json_t *a = sms_attrs_of(st, call);
  if (json_array_size(names)) {
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) {
      json_t *v = json_is_string(n) ? json_object_get(a, json_string_value(n)) : NULL;
      if (v)
        json_object_set(out, json_string_value(n), v);
    }
  } else {
    json_object_update(out, a);
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:o}", "attributes", out));
}

void sns_set_sms_attributes(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  static const char *const known[] = {"MonthlySpendLimit",
                                      "DeliveryStatusIAMRole",
                                      "DeliveryStatusSuccessSamplingRate",
                                      "DefaultSenderID",
                                      "DefaultSMSType",
                                      "UsageReportS3Bucket",
                                      NULL};
  json_t *attrs = json_object_get(in, "attributes");
  const char *k;
  json_t *v;
  json_object_foreach(attrs, k, v) {
    int ok = 0;
    for (size_t i = 0; known[i]; i++)
      ok |= !strcmp(known[i], k);
    if (!ok) {
      sns_fail_param(call, "%.64s", k);
      return;
    }
    if (!strcmp(k, "DefaultSMSType") && strcmp(json_string_value(v), "Promotional") &&
        strcmp(json_string_value(v), "Transactional")) {
      sns_fail_param(call, "DefaultSMSType");
      return;
    }
  }
  pthread_mutex_lock(&st->lock);
  json_object_update(sms_attrs_of(st, call), attrs);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

void sns_check_if_phone_number_is_opted_out(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *phone = jsonutil_string(in, "phoneNumber");
  if (!phone || !*phone) {
    sns_fail_param(call, "phoneNumber");
    return;
  }
  pthread_mutex_lock(&st->lock);
  int out = json_object_get(st->opted_out, phone) != NULL;
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:b}", "isOptedOut", out));
}

void sns_list_phone_numbers_opted_out(aws_call *call, json_t *in) {
  (void)in;
  sns_state *st = sns_state_of(call);
  json_t *list = json_array();
  pthread_mutex_lock(&st->lock);
  const char *k;
  json_t *v;
  json_object_foreach(st->opted_out, k, v) json_array_append_new(list, json_string(k));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:o}", "phoneNumbers", list));
}

void sns_opt_in_phone_number(aws_call *call, json_t *in) {
  sns_state *st = sns_state_of(call);
  const char *phone = jsonutil_string(in, "phoneNumber");
  if (!phone || !*phone) {
    sns_fail_param(call, "phoneNumber");
    return;
  }
  pthread_mutex_lock(&st->lock);
  json_object_del(st->opted_out, phone);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}
