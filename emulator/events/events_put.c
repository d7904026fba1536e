/*
 * events_put.c — PutEvents and fan-out: each entry is checked and becomes
 * an event ({version, id, detail-type, source, account, time, region,
 * resources, detail}); every enabled rule of its bus whose pattern matches
 * sends it to each of its targets, shaped by the target's input option:
 *   (none)            the event as JSON
 *   Input             that JSON text as is
 *   InputPath         the part of the event the JSON path names
 *   InputTransformer  InputPathsMap values substituted into InputTemplate:
 *                     strings without quotes inside a JSON string, as JSON
 *                     strings elsewhere; <aws.events.*> predefined names
 * Targets by ARN: SQS queues (SqsParameters.MessageGroupId for FIFO), SNS
 * topics, event buses (the event itself), Lambda functions (through the
 * delivery engine's Lambda hook) and API destinations (HTTP); the rule's
 * DeadLetterConfig and RetryPolicy set the job's dead letters and attempts.
 */
#include "emulator/events/events_int.h"

#include "common/clock.h"
#include "common/codec.h"
#include "common/dynbuf.h"
#include "common/jsonutil.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON paths ($, $.a.b, $.a[0].b) ---- */

static json_t *path_get(json_t *doc, const char *path) {
  if (!path || path[0] != '$')
    return NULL;
  const char *p = path + 1;
  json_t *cur = doc;
  while (*p && cur) {
    if (*p == '.') {
      p++;
      size_t n = strcspn(p, ".[");
      char key[256];
      if (n == 0 || n >= sizeof(key))
        return NULL;
      memcpy(key, p, n);
      key[n] = '\0';
      cur = json_object_get(cur, key);
      p += n;
    } else if (*p == '[') {
      char *end = NULL;
      long idx = strtol(p + 1, &end, 10);
      if (!end || *end != ']' || idx < 0)
        return NULL;
      cur = json_array_get(cur, (size_t)idx);
      p = end + 1;
    } else {
      return NULL;
    }
  }
  return cur;
}

/* ---- input transformer ---- */

static void append_json(dynbuf *b, json_t *v, int in_string) {
  if (in_string && json_is_string(v)) {
    /* The string's JSON encoding without its quotes. */
    char *s = json_dumps(v, JSON_ENCODE_ANY);
    if (s) {
      size_t n = strlen(s);
      if (n >= 2)
        dynbuf_append(b, s + 1, n - 2);
      free(s);
    }
    return;
  }
  if (!v) {
    dynbuf_puts(b, in_string ? "" : "null");
    return;
  }
  char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  if (s) {
    if (in_string && !json_is_string(v)) {
      /* A number or object inside quotes: its text, escaped. */
      json_t *str = json_string(s);
      append_json(b, str, 1);
      json_decref(str);
    } else {
      dynbuf_puts(b, s);
    }
    free(s);
  }
}

static char *transform(json_t *tr, json_t *event, json_t *rule) {
  const char *tpl = jsonutil_string(tr, "InputTemplate");
  json_t *paths = json_object_get(tr, "InputPathsMap");
  dynbuf b;
  dynbuf_init(&b, EVENTS_MAX_ENTRY_SIZE * 2);
  int in_string = 0;
  for (const char *p = tpl; p && *p; p++) {
    if (*p == '"' && (p == tpl || p[-1] != '\\'))
      in_string = !in_string;
    if (*p == '<') {
      const char *end = strchr(p + 1, '>');
      size_t n = end ? (size_t)(end - p - 1) : 0;
      char name[128];
      if (end && n > 0 && n < sizeof(name)) {
        memcpy(name, p + 1, n);
        name[n] = '\0';
        json_t *value = NULL;
        int known = 1;
        if (json_object_get(paths, name)) {
          value = path_get(event, json_string_value(json_object_get(paths, name)));
        } else if (!strcmp(name, "aws.events.rule-arn")) {
          value = json_object_get(rule, "Arn");
        } else if (!strcmp(name, "aws.events.rule-name")) {
          value = json_object_get(rule, "Name");
        } else if (!strcmp(name, "aws.events.event.ingestion-time")) {
          value = json_object_get(event, "time");
        } else if (!strcmp(name, "aws.events.event") || !strcmp(name, "aws.events.event.json")) {
          value = event;
        } else {
          known = 0;
        }
        if (known) {
          append_json(&b, value, in_string);
          p = end;
          continue;
        }
      }
    }
    dynbuf_append(&b, p, 1);
  }
  return dynbuf_take(&b, NULL);
}

/* ---- targets ---- */

static char *target_input(json_t *target, json_t *event, json_t *rule) {
  const char *input = jsonutil_string(target, "Input");
  if (input)
    return strdup(input);
  const char *path = jsonutil_string(target, "InputPath");
  if (path) {
    json_t *v = path_get(event, path);
    return v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : strdup("null");
  }
  json_t *tr = json_object_get(target, "InputTransformer");
  if (tr)
    return transform(tr, event, rule);
  return json_dumps(event, JSON_COMPACT);
}

static void send_target(events_state *st, json_t *rule, json_t *target, json_t *event) {
  const char *arn = jsonutil_string(target, "Arn");
  delivery_job job = {.target = arn};
  json_t *meta = json_object();
  char *body = NULL;
  if (!strncmp(arn, "arn:aws:sqs:", 12)) {
    job.kind = DELIVERY_SQS;
    const char *group = jsonutil_string(json_object_get(target, "SqsParameters"), "MessageGroupId");
    if (group) {
      json_object_set_new(meta, "MessageGroupId", json_string(group));
      json_object_set(meta, "MessageDeduplicationId", json_object_get(event, "id"));
    }
  } else if (!strncmp(arn, "arn:aws:sns:", 12)) {
    job.kind = DELIVERY_SNS;
  } else if (!strncmp(arn, "arn:aws:lambda:", 15)) {
    job.kind = DELIVERY_LAMBDA;
  } else if (!strncmp(arn, "arn:aws:events:", 15) && strstr(arn, ":event-bus/")) {
    job.kind = DELIVERY_EVENTS;
    body = json_dumps(event, JSON_COMPACT);
  } else if (!strncmp(arn, "arn:aws:events:", 15) && strstr(arn, ":api-destination/")) {
    json_t *dest = json_object_get(st->destinations, arn);
    const char *url = jsonutil_string(dest, "InvocationEndpoint");
    if (!url) {
      json_decref(meta);
      log_warn("events", "rule %s: API destination %s does not exist", jsonutil_string(rule, "Arn"),
               arn);
      return;
    }
    job.kind = DELIVERY_HTTP;
    job.target = url;
    json_object_set_new(meta, "headers",
                        json_pack("{s:s}", "Content-Type", "application/json; charset=utf-8"));
  } else {
    json_decref(meta);
    log_warn("events", "rule %s: target %s is not a kind this emulator delivers to",
             jsonutil_string(rule, "Arn"), arn);
    return;
  }
  if (!body)
    body = target_input(target, event, rule);
  json_t *retry = json_object_get(target, "RetryPolicy");
  json_t *attempts = json_object_get(retry, "MaximumRetryAttempts");
  if (json_is_integer(attempts) && json_integer_value(attempts) >= 0 &&
      json_integer_value(attempts) <= 185)
    job.max_attempts = (int)json_integer_value(attempts) + 1;
  job.dlq_arn = jsonutil_string(json_object_get(target, "DeadLetterConfig"), "Arn");
  job.meta = meta;
  if (body) {
    job.body = body;
    job.body_len = strlen(body);
    if (delivery_submit(st->delivery, &job) < 0)
      log_warn("events", "delivery to %s not queued", arn);
  }
  free(body);
  json_decref(meta);
}

void events_rule_fire(events_state *st, json_t *rule, json_t *event) {
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(rule, "Targets"), i, t) send_target(st, rule, t, event);
}

void events_dispatch(events_state *st, json_t *bus, json_t *event, const char *replay,
                     json_t *only_rules) {
  if (replay)
    json_object_set_new(event, "replay-name", json_string(replay));
  else
    events_archive_record(st, jsonutil_string(bus, "Arn"), event);
  const char *name;
  json_t *rule;
  json_object_foreach(json_object_get(bus, "Rules"), name, rule) {
    json_t *pattern = json_object_get(rule, "Pattern");
    if (!pattern || strcmp(jsonutil_string(rule, "State"), "ENABLED"))
      continue;
    if (only_rules && json_array_size(only_rules)) {
      int listed = 0;
      size_t i;
      json_t *a;
      json_array_foreach(only_rules, i, a) listed |=
          json_is_string(a) && !strcmp(json_string_value(a), jsonutil_string(rule, "Arn"));
      if (!listed)
        continue;
    }
    if (delivery_pattern_match(pattern, event))
      events_rule_fire(st, rule, event);
  }
}

/* ---- PutEvents ---- */

static json_t *entry_error(const char *code, const char *msg) {
  return json_pack("{s:s,s:s}", "ErrorCode", code, "ErrorMessage", msg);
}

void events_put_events(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  json_t *entries = json_object_get(in, "Entries");
  size_t n = json_array_size(entries);
  if (n < 1 || n > EVENTS_MAX_ENTRIES) {
    events_fail_validation(call,
                           "1 validation error detected: Value '%s' at 'entries' failed to "
                           "satisfy constraint: Member must have length %s",
                           n ? "[...]" : "[]",
                           n ? "less than or equal to 10" : "greater than or equal to 1");
    return;
  }
  json_t *results = json_array();
  size_t failed = 0;
  uint64_t now = clock_wall_ms();
  pthread_mutex_lock(&st->lock);
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(entries, i);
    const char *source = jsonutil_string(e, "Source");
    const char *type = jsonutil_string(e, "DetailType");
    const char *detail = jsonutil_string(e, "Detail");
    json_t *result = NULL, *detail_j = NULL;
    if (!source || !*source)
      result = entry_error("InvalidArgument",
                           "Parameter Source is not valid. Reason: Source is a required argument.");
    else if (!type || !*type)
      result = entry_error("InvalidArgument", "Parameter DetailType is not valid. Reason: "
                                              "DetailType is a required argument.");
    else if (!detail || !*detail)
      result = entry_error("InvalidArgument",
                           "Parameter Detail is not valid. Reason: Detail is a required argument.");
    else if (strlen(detail) + strlen(source) + strlen(type) > EVENTS_MAX_ENTRY_SIZE)
      result = entry_error("InvalidArgument", "Total size of the entries in the request is over "
                                              "the limit.");
    else if ((detail_j = json_loads(detail, 0, NULL)) == NULL || !json_is_object(detail_j))
      result = entry_error("MalformedDetail", "Detail is malformed.");
    json_t *bus = NULL;
    if (!result) {
      const char *bus_name = jsonutil_string(e, "EventBusName");
      char arn[512];
      if (bus_name && !strncmp(bus_name, "arn:", 4))
        snprintf(arn, sizeof(arn), "%s", bus_name);
      else
        snprintf(arn, sizeof(arn), "arn:aws:events:%s:%s:event-bus/%s", aws_call_region(call),
                 aws_call_account(call), bus_name && *bus_name ? bus_name : "default");
      bus = events_bus_by_arn(st, arn);
      if (!bus)
        result = entry_error("ResourceNotFoundException", "Event bus does not exist.");
    }
    if (result) {
      json_decref(detail_j);
      json_array_append_new(results, result);
      failed++;
      continue;
    }
    char id[37], ts[32];
    codec_uuid4(id);
    json_t *time_j = json_object_get(e, "Time");
    events_time(ts, json_is_number(time_j) ? (uint64_t)(json_number_value(time_j) * 1000) : now);
    json_t *resources = json_object_get(e, "Resources");
    json_t *event =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "version", "0", "id", id, "detail-type",
                  type, "source", source, "account", jsonutil_string(bus, "Account"), "time", ts,
                  "region", jsonutil_string(bus, "Region"), "resources",
                  resources ? json_incref(resources) : json_array(), "detail", detail_j);
    events_dispatch(st, bus, event, NULL, NULL);
    json_decref(event);
    json_array_append_new(results, json_pack("{s:s}", "EventId", id));
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(
      call, json_pack("{s:I,s:o}", "FailedEntryCount", (json_int_t)failed, "Entries", results));
}

int events_deliver_internal(const delivery_item *item, void *payload) {
  events_state *st = payload;
  json_t *event = json_loadb(item->body, item->body_len, 0, NULL);
  if (!json_is_object(event)) {
    json_decref(event);
    return -1;
  }
  pthread_mutex_lock(&st->lock);
  json_t *bus = events_bus_by_arn(st, item->target);
  if (bus) {
    /* Another account's or Region's bus sees the event as its own. */
    json_object_set(event, "account", json_object_get(bus, "Account"));
    json_object_set(event, "region", json_object_get(bus, "Region"));
    events_dispatch(st, bus, event, NULL, NULL);
  }
  pthread_mutex_unlock(&st->lock);
  json_decref(event);
  return bus ? 0 : -2;
}
