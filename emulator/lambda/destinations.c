/*
 * destinations.c — what happens to an asynchronous invocation after it ran:
 * the function's event invoke configurations (Put/Get/Update/Delete/List
 * FunctionEventInvokeConfig, one per qualifier: $LATEST, a version or an
 * alias) and the records Lambda sends when an Event invocation succeeded
 * (DestinationConfig.OnSuccess) or was given up (after its last retry, or
 * once older than MaximumEventAgeInSeconds: OnFailure and the function's
 * DeadLetterConfig).
 *
 * The settings an invocation needs are copied into it when it is queued
 * (lambda_async_settings, under st->lock), so finishing it never takes
 * st->lock under rt->lock. Records go out through the emulator's delivery
 * engine (SQS, SNS, EventBridge: its in-process targets, retried there);
 * a Lambda destination is invoked asynchronously through the runtime's own
 * path (lambda_runtime_forward), not the engine's Lambda hook.
 *
 * Record shapes (AWS's "invocation record", version 1.0):
 *   {"version", "timestamp", "requestContext": {"requestId", "functionArn",
 *    "condition", "approximateInvokeCount"}, "requestPayload",
 *    "responseContext": {"statusCode", "executedVersion"[, "functionError"]},
 *    "responsePayload"}
 * EventBridge gets it as the detail of an event from source "lambda" with
 * detail-type "Lambda Function Invocation Result - Success|Failure". A
 * dead-letter queue or topic gets the original payload with the RequestID,
 * ErrorCode and ErrorMessage attributes.
 */
#include "common/clock.h"
#include "common/codec.h"
#include "common/error.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "emulator/delivery/delivery.h"
#include "emulator/lambda/lambda_runtime_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_RETRIES 2
#define DEFAULT_MAX_AGE 21600

/* ---- the API ---- */

/* The ARN an event invoke configuration shows: the function's, qualified
 * ($LATEST when unqualified). */
static void config_arn(char *out, size_t n, aws_call *call, json_t *f, const char *q) {
  lambda_function_arn(out, n, aws_call_region(call), aws_call_account(call),
                      json_string_value(json_object_get(f, "Name")), *q ? q : "$LATEST");
}

#define NO_FUNCTION "The function doesn't exist."
#define NO_CONFIG "The function %s doesn't have an EventInvokeConfig"

/* The qualifier's key in f's EventInvoke ("$LATEST" for none); -1 when the
 * version or alias does not exist (the caller answers). */
static int qualifier_key(char *out, size_t n, json_t *f, const char *q) {
  if (!*q || strcmp(q, "$LATEST") == 0) {
    snprintf(out, n, "$LATEST");
    return 0;
  }
  if (!json_object_get(json_object_get(f, "Aliases"), q) &&
      !json_object_get(json_object_get(f, "Versions"), q))
    return -1;
  snprintf(out, n, "%s", q);
  return 0;
}

/* The function an event invoke configuration belongs to, under st->lock;
 * NULL after answering: a function, version or alias that does not exist is
 * "The function doesn't exist." for Put, Update and List, and "… doesn't
 * have an EventInvokeConfig" (naming the qualified ARN) for Get and Delete,
 * as AWS answers them. */
static json_t *lock_config_function(aws_call *call, json_t *input, char *q, size_t qn, char *key,
                                    size_t keyn, int no_config_words) {
  lambda_state *st = lambda_state_of(call);
  char arn[512];
  int missing = 0;
  json_t *f = lambda_function_find(st, call, input, q, qn, &missing, arn, sizeof(arn));
  if (missing) {
    if (!no_config_words) {
      aws_call_fail(call, 404, "ResourceNotFoundException", NO_FUNCTION);
      return NULL;
    }
    /* The ARN as the name gave it, qualified by the Qualifier or $LATEST. */
    const char *member = json_string_value(json_object_get(input, "Qualifier"));
    if (strstr(arn, ":function:") && !strchr(strstr(arn, ":function:") + 10, ':'))
      aws_call_fail(call, 404, "ResourceNotFoundException",
                    "The function %s:%s doesn't have an EventInvokeConfig", arn,
                    member && *member ? member : "$LATEST");
    else
      aws_call_fail(call, 404, "ResourceNotFoundException", NO_CONFIG, arn);
    return NULL;
  }
  if (!f)
    return NULL;
  if (key && qualifier_key(key, keyn, f, q) < 0) {
    char qarn[512];
    config_arn(qarn, sizeof(qarn), call, f, q);
    pthread_mutex_unlock(&st->lock);
    if (no_config_words)
      aws_call_fail(call, 404, "ResourceNotFoundException", NO_CONFIG, qarn);
    else
      aws_call_fail(call, 404, "ResourceNotFoundException", NO_FUNCTION);
    return NULL;
  }
  return f;
}

/* The model's pattern for a destination:
 * ^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\d{1})?:
 * (\d{12})?:(.*) — checked loosely: the partition, a service, a Region of
 * lower-case letters, digits and '-' ending in a digit (or none), an
 * account of 12 digits (or none). */
static int destination_pattern(const char *arn) {
  if (!*arn)
    return 1;
  if (strncmp(arn, "arn:aws", 7) != 0)
    return 0;
  const char *p = arn + 7;
  p += strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
  if (*p++ != ':')
    return 0;
  size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
  if (n == 0 || p[n] != ':')
    return 0;
  p += n + 1;
  n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-");
  if (p[n] != ':' || (n && (n < 6 || p[n - 1] < '0' || p[n - 1] > '9')))
    return 0;
  p += n + 1;
  n = strspn(p, "0123456789");
  return (n == 0 || n == 12) && p[n] == ':';
}

/* One destination ARN: SQS, SNS, EventBridge or Lambda (S3 buckets take
 * failures only). Answers and returns -1 when it is not one. */
static int destination_check(aws_call *call, const json_t *d, int failure) {
  if (!d)
    return 0;
  const char *arn = json_string_value(json_object_get(d, "Destination"));
  if (!arn || !*arn)
    return 0; /* an empty destination clears it, as in AWS */
  if (!destination_pattern(arn)) {
    lambda_fail_validation(call, arn,
                           failure ? "destinationConfig.onFailure.destination"
                                   : "destinationConfig.onSuccess.destination",
                           "Member must satisfy regular expression pattern: "
                           "^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}((-gov)|(-iso(b?"
                           ")))?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)");
    return -1;
  }
  char service[32] = "";
  if (strncmp(arn, "arn:", 4) == 0) {
    const char *p = strchr(arn + 4, ':');
    const char *e = p ? strchr(p + 1, ':') : NULL;
    if (e && e - p - 1 < (long)sizeof(service))
      snprintf(service, sizeof(service), "%.*s", (int)(e - p - 1), p + 1);
  }
  if (strcmp(service, "sqs") == 0 || strcmp(service, "sns") == 0 ||
      strcmp(service, "lambda") == 0 ||
      (strcmp(service, "events") == 0 && strstr(arn, ":event-bus/")) ||
      (failure && strcmp(service, "s3") == 0))
    return 0;
  /* Java's rendering of the request's DestinationConfig, as AWS prints it. */
  if (failure)
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "The provided destination config DestinationConfig(onSuccess=null, "
                  "onFailure=OnFailure(destination=%s)) is invalid.",
                  arn);
  else
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "The provided destination config DestinationConfig(onSuccess=OnSuccess("
                  "destination=%s), onFailure=null) is invalid.",
                  arn);
  return -1;
}

/* A Lambda destination must exist and not be the function itself (st->lock
 * held; f the configured function). Answers and returns -1. */
static int destination_function(aws_call *call, lambda_state *st, json_t *f, const json_t *d) {
  const char *arn = json_string_value(json_object_get(d, "Destination"));
  if (!arn || !strstr(arn, ":lambda:") || !strstr(arn, ":function:"))
    return 0;
  char region[64] = "", account[16] = "", name[80] = "";
  if (sscanf(arn, "arn:%*[^:]:lambda:%63[^:]:%15[^:]:function:%79[^:]", region, account, name) < 3)
    return 0;
  if (strcmp(name, json_string_value(json_object_get(f, "Name"))) == 0 &&
      strcmp(region, json_string_value(json_object_get(f, "Region"))) == 0 &&
      strcmp(account, json_string_value(json_object_get(f, "Account"))) == 0) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "You can't specify the function as a destination for itself.");
    return -1;
  }
  char key[256];
  snprintf(key, sizeof(key), "%s/%s/%s", account, region, name);
  if (!json_object_get(st->functions, key)) {
    aws_call_fail(call, 400, "InvalidParameterValueException", "The destination ARN %s is invalid.",
                  arn);
    return -1;
  }
  return 0;
}

/* Checks the members of a Put or Update. Answers and returns -1. */
static int settings_check(aws_call *call, const json_t *input) {
  json_t *r = json_object_get(input, "MaximumRetryAttempts");
  if (r && (!json_is_integer(r) || json_integer_value(r) < 0 || json_integer_value(r) > 2)) {
    char v[32];
    snprintf(v, sizeof(v), "%lld", (long long)json_integer_value(r));
    lambda_fail_validation(call, v, "maximumRetryAttempts",
                           json_integer_value(r) < 0
                               ? "Member must have value greater than or equal to 0"
                               : "Member must have value less than or equal to 2");
    return -1;
  }
  json_t *a = json_object_get(input, "MaximumEventAgeInSeconds");
  if (a && (!json_is_integer(a) || json_integer_value(a) < 60 || json_integer_value(a) > 21600)) {
    char v[32];
    snprintf(v, sizeof(v), "%lld", (long long)json_integer_value(a));
    lambda_fail_validation(call, v, "maximumEventAgeInSeconds",
                           json_integer_value(a) < 60
                               ? "Member must have value greater than or equal to 60"
                               : "Member must have value less than or equal to 21600");
    return -1;
  }
  json_t *dc = json_object_get(input, "DestinationConfig");
  if (destination_check(call, json_object_get(dc, "OnSuccess"), 0) < 0 ||
      destination_check(call, json_object_get(dc, "OnFailure"), 1) < 0)
    return -1;
  return 0;
}

/* The stored configuration as the API shows it. */
static json_t *config_out(const json_t *c) {
  json_t *out = json_deep_copy(c);
  json_t *dc = json_object_get(out, "DestinationConfig");
  /* AWS always shows both sides of DestinationConfig, also when unset. */
  if (!dc) {
    dc = json_object();
    json_object_set_new(out, "DestinationConfig", dc);
  }
  if (dc) {
    if (!json_object_get(dc, "OnSuccess"))
      json_object_set_new(dc, "OnSuccess", json_object());
    if (!json_object_get(dc, "OnFailure"))
      json_object_set_new(dc, "OnFailure", json_object());
  }
  return out;
}

static void put_or_update(aws_call *call, json_t *input, int update) {
  lambda_state *st = lambda_state_of(call);
  if (settings_check(call, input) < 0)
    return;
  char q[160], key[160], arn[512];
  json_t *f = lock_config_function(call, input, q, sizeof(q), key, sizeof(key), 0);
  if (!f)
    return;
  json_t *dc = json_object_get(input, "DestinationConfig");
  if (!update && !json_object_get(input, "MaximumRetryAttempts") &&
      !json_object_get(input, "MaximumEventAgeInSeconds") && !dc) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "You must specify at least one of error handling or destination setting.");
    return;
  }
  if (destination_function(call, st, f, json_object_get(dc, "OnSuccess")) < 0 ||
      destination_function(call, st, f, json_object_get(dc, "OnFailure")) < 0) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  config_arn(arn, sizeof(arn), call, f, q);
  json_t *all = json_object_get(f, "EventInvoke");
  if (!all) {
    all = json_object();
    json_object_set_new(f, "EventInvoke", all);
  }
  json_t *c = json_object_get(all, key);
  if (update && !c) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 404, "ResourceNotFoundException",
                  "The function %s doesn't have an EventInvokeConfig", arn);
    return;
  }
  if (!update || !c) {
    c = json_object();
    json_object_set_new(all, key, c);
  }
  static const char *const MEMBERS[] = {"MaximumRetryAttempts", "MaximumEventAgeInSeconds",
                                        "DestinationConfig"};
  for (size_t i = 0; i < sizeof(MEMBERS) / sizeof(MEMBERS[0]); i++) {
    json_t *v = json_object_get(input, MEMBERS[i]);
    if (v)
      json_object_set(c, MEMBERS[i], v);
    else if (!update)
      json_object_del(c, MEMBERS[i]);
  }
  json_object_set_new(c, "FunctionArn", json_string(arn));
  json_object_set_new(c, "LastModified", json_real(lambda_now()));
  json_t *out = config_out(c);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

void lambda_put_function_event_invoke_config(aws_call *call, json_t *input) {
  put_or_update(call, input, 0);
}

void lambda_update_function_event_invoke_config(aws_call *call, json_t *input) {
  put_or_update(call, input, 1);
}

static void get_or_delete(aws_call *call, json_t *input, int del) {
  lambda_state *st = lambda_state_of(call);
  char q[160], key[160], arn[512];
  json_t *f = lock_config_function(call, input, q, sizeof(q), key, sizeof(key), 1);
  if (!f)
    return;
  json_t *c = json_object_get(json_object_get(f, "EventInvoke"), key);
  if (!c) {
    config_arn(arn, sizeof(arn), call, f, q);
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 404, "ResourceNotFoundException",
                  "The function %s doesn't have an EventInvokeConfig", arn);
    return;
  }
  json_t *out = del ? NULL : config_out(c);
  if (del)
    json_object_del(json_object_get(f, "EventInvoke"), key);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

void lambda_get_function_event_invoke_config(aws_call *call, json_t *input) {
  get_or_delete(call, input, 0);
}

void lambda_delete_function_event_invoke_config(aws_call *call, json_t *input) {
  get_or_delete(call, input, 1);
}

void lambda_list_function_event_invoke_configs(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  json_t *max = json_object_get(input, "MaxItems");
  json_int_t limit = max ? json_integer_value(max) : 50;
  if (max && (limit < 1 || limit > 50)) {
    char v[32];
    snprintf(v, sizeof(v), "%lld", (long long)limit);
    lambda_fail_validation(call, v, "maxItems",
                           limit < 1 ? "Member must have value greater than or equal to 1"
                                     : "Member must have value less than or equal to 50");
    return;
  }
  const char *marker = json_string_value(json_object_get(input, "Marker"));
  char q[160];
  json_t *f = lock_config_function(call, input, q, sizeof(q), NULL, 0, 0);
  if (!f)
    return;
  json_t *list = json_array(), *out = json_object();
  /* Stable order: by qualifier; the marker is the last one shown. */
  json_t *all = json_object_get(f, "EventInvoke");
  size_t n = 0;
  const char **keys = jsonutil_keys_sorted(all, &n);
  json_int_t shown = 0;
  for (size_t i = 0; i < n; i++) {
    if (marker && strcmp(keys[i], marker) <= 0)
      continue;
    if (shown == limit) {
      json_object_set_new(out, "NextMarker", json_string(keys[i - 1]));
      break;
    }
    json_array_append_new(list, config_out(json_object_get(all, keys[i])));
    shown++;
  }
  free(keys);
  pthread_mutex_unlock(&st->lock);
  json_object_set_new(out, "FunctionEventInvokeConfigs", list);
  aws_call_reply(call, out);
}

/* ---- what an invocation carries ---- */

json_t *lambda_async_settings(json_t *f, const char *qualifier, const json_t *config) {
  json_t *all = json_object_get(f, "EventInvoke");
  json_t *c = json_object_get(all, qualifier && *qualifier ? qualifier : "$LATEST");
  json_t *r = json_object_get(c, "MaximumRetryAttempts");
  json_t *a = json_object_get(c, "MaximumEventAgeInSeconds");
  json_t *dc = json_object_get(c, "DestinationConfig");
  json_t *out =
      json_pack("{s:I, s:I}", "Retries", r ? json_integer_value(r) : (json_int_t)DEFAULT_RETRIES,
                "MaxAge", a ? json_integer_value(a) : (json_int_t)DEFAULT_MAX_AGE);
  const char *ok =
      json_string_value(json_object_get(json_object_get(dc, "OnSuccess"), "Destination"));
  const char *bad =
      json_string_value(json_object_get(json_object_get(dc, "OnFailure"), "Destination"));
  const char *dlq =
      json_string_value(json_object_get(json_object_get(config, "DeadLetterConfig"), "TargetArn"));
  if (out && ok && *ok)
    json_object_set_new(out, "OnSuccess", json_string(ok));
  if (out && bad && *bad)
    json_object_set_new(out, "OnFailure", json_string(bad));
  if (out && dlq && *dlq)
    json_object_set_new(out, "DeadLetter", json_string(dlq));
  return out;
}

/* ---- sending records ---- */

/* "sqs", "sns", "events", "lambda", ... of an ARN (into out). */
static void arn_service(char *out, size_t n, const char *arn) {
  out[0] = '\0';
  const char *p = strchr(arn, ':');
  p = p ? strchr(p + 1, ':') : NULL;
  const char *e = p ? strchr(p + 1, ':') : NULL;
  if (e && (size_t)(e - p - 1) < n)
    snprintf(out, n, "%.*s", (int)(e - p - 1), p + 1);
}

static void iso_now(char *out, size_t n) {
  uint64_t ms = clock_wall_ms();
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char day[32];
  strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, n, "%s.%03uZ", day, (unsigned)(ms % 1000));
}

/* A payload as the record holds it: the JSON it is, else a string. */
static json_t *payload_json(const char *p, size_t len) {
  if (!p || !len)
    return json_null();
  json_t *j = json_loadb(p, len, JSON_DECODE_ANY, NULL);
  return j ? j : json_stringn(p, len);
}

static delivery *engine(lambda_runtime *rt) {
  if (!rt->delivery)
    rt->delivery = delivery_acquire(rt->emu);
  return rt->delivery;
}

static void submit(lambda_runtime *rt, delivery_kind kind, const char *target, const char *body,
                   json_t *meta) {
  delivery *d = engine(rt);
  delivery_job job = {
      .kind = kind, .target = target, .body = body, .body_len = strlen(body), .meta = meta};
  if (!d || delivery_submit(d, &job) < 0)
    log_warn("lambda", "cannot send an invocation record to %s: %s", target, airgap_error_last());
}

/* Sends text (a record) to one destination ARN. */
static void send_record(lambda_runtime *rt, const char *arn, const json_t *record, int success,
                        const char *function_arn) {
  char service[32];
  arn_service(service, sizeof(service), arn);
  char *text = json_dumps(record, JSON_COMPACT);
  if (!text)
    return;
  if (strcmp(service, "sqs") == 0) {
    submit(rt, DELIVERY_SQS, arn, text, NULL);
  } else if (strcmp(service, "sns") == 0) {
    submit(rt, DELIVERY_SNS, arn, text, NULL);
  } else if (strcmp(service, "events") == 0) {
    /* account and region are the bus's: the engine's handler sets them. */
    char id[37], ts[40];
    codec_uuid4(id);
    iso_now(ts, sizeof(ts));
    ts[19] = 'Z';
    ts[20] = '\0';
    json_t *event = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:O}", "version", "0",
                              "id", id, "detail-type",
                              success ? "Lambda Function Invocation Result - Success"
                                      : "Lambda Function Invocation Result - Failure",
                              "source", "lambda", "account", "", "time", ts, "region", "",
                              "resources", function_arn, "detail", record);
    char *etext = event ? json_dumps(event, JSON_COMPACT) : NULL;
    if (etext)
      submit(rt, DELIVERY_EVENTS, arn, etext, NULL);
    free(etext);
    json_decref(event);
  } else if (strcmp(service, "lambda") == 0) {
    lambda_runtime_forward(rt, arn, text, strlen(text));
  } else {
    log_warn("lambda",
             "invocation records to %s are not sent (only SQS, SNS, EventBridge and "
             "Lambda destinations are)",
             arn);
  }
  free(text);
}

/* The original event to a dead-letter queue or topic, with the attributes
 * Lambda adds. */
static void send_dead_letter(lambda_runtime *rt, const char *arn, lambda_inv *inv,
                             const char *error_message) {
  char service[32];
  arn_service(service, sizeof(service), arn);
  json_t *attrs = json_pack("{s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}}", "RequestID", "DataType",
                            "String", "StringValue", inv->id, "ErrorCode", "DataType", "Number",
                            "StringValue", "200", "ErrorMessage", "DataType", "String",
                            "StringValue", error_message && *error_message ? error_message : "-");
  json_t *meta = json_pack("{s:o}", "MessageAttributes", attrs);
  char *body = malloc(inv->len + 3);
  if (body) {
    if (inv->payload && inv->len)
      memcpy(body, inv->payload, inv->len), body[inv->len] = '\0';
    else
      memcpy(body, "{}", 3);
    if (strcmp(service, "sqs") == 0)
      submit(rt, DELIVERY_SQS, arn, body, meta);
    else if (strcmp(service, "sns") == 0)
      submit(rt, DELIVERY_SNS, arn, body, meta);
    else
      log_warn("lambda", "the dead-letter target %s is neither a queue nor a topic", arn);
  }
  free(body);
  json_decref(meta);
}

void lambda_async_outcome(lambda_runtime *rt, lambda_inv *inv, const char *condition,
                          const char *payload, size_t len, const char *function_error) {
  int success = strcmp(condition, "Success") == 0;
  const char *dest =
      json_string_value(json_object_get(inv->async, success ? "OnSuccess" : "OnFailure"));
  const char *dlq = success ? NULL : json_string_value(json_object_get(inv->async, "DeadLetter"));
  if (!dest && !dlq)
    return;
  if (dest) {
    char ts[40], qualified[600];
    iso_now(ts, sizeof(ts));
    snprintf(qualified, sizeof(qualified), "%s:%s", inv->function_arn, inv->version);
    json_t *record = json_pack(
        "{s:s, s:s, s:{s:s, s:s, s:s, s:i}, s:o}", "version", "1.0", "timestamp", ts,
        "requestContext", "requestId", inv->id, "functionArn", qualified, "condition", condition,
        "approximateInvokeCount", inv->attempts + (success || inv->delivered ? 1 : 0),
        "requestPayload", payload_json(inv->payload, inv->len));
    if (record && strcmp(condition, "EventAgeExceeded") != 0) {
      json_t *ctx = json_pack("{s:i, s:s}", "statusCode", 200, "executedVersion", inv->version);
      if (ctx && function_error)
        json_object_set_new(ctx, "functionError", json_string(function_error));
      json_object_set_new(record, "responseContext", ctx);
      if (payload)
        json_object_set_new(record, "responsePayload", payload_json(payload, len));
    }
    if (record)
      send_record(rt, dest, record, success, inv->function_arn);
    json_decref(record);
  }
  if (dlq) {
    json_t *err = payload ? json_loadb(payload, len, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(err, "errorMessage"));
    send_dead_letter(rt, dlq, inv, msg ? msg : condition);
    json_decref(err);
  }
}
