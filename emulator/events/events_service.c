/*
 * events_service.c — the EventBridge service (JSON protocol, AWSEvents.*):
 * state, the operation table, errors, tags on buses and rules, event buses
 * (the default bus of each account and Region exists from first use, as in
 * AWS) with their resource policies, and the /_aws/events/ test hook:
 *   POST /_aws/events/clock {"speed": 60}   run the scheduler's clock faster
 * (AIRGAP_EVENTS_CLOCK_SPEED sets the same at start), so that a test sees
 * rate(1 minute) fire within a second.
 *
 * Matching and fan-out are in events_put.c; deliveries go through the
 * emulator's delivery engine, whose DELIVERY_EVENTS target this service is.
 */
#include "emulator/events/events_int.h"

#include "common/clock.h"
#include "common/error.h"
#include "common/jsonutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

events_state *events_state_of(aws_call *call) { return aws_call_state(call); }

void events_fail_validation(aws_call *call, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  aws_call_fail(call, 400, "ValidationException", "%s", msg);
}

void events_fail_not_found(aws_call *call, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  aws_call_fail(call, 400, "ResourceNotFoundException", "%s", msg);
}

void events_time(char out[32], uint64_t ms) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int events_valid_name(const char *name, size_t max) {
  size_t n = name ? strlen(name) : 0;
  if (n == 0 || n > max)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '-' || c == '_'))
      return 0;
  }
  return 1;
}

static json_t *bus_new(const char *arn, const char *name, const char *account, const char *region) {
  return json_pack("{s:s,s:s,s:s,s:s,s:{},s:{},s:f}", "Name", name, "Arn", arn, "Account", account,
                   "Region", region, "Tags", "Rules", "CreationTime",
                   (double)clock_wall_ms() / 1000.0);
}

json_t *events_bus_by_arn(events_state *st, const char *arn) {
  json_t *bus = json_object_get(st->buses, arn);
  if (bus)
    return bus;
  char region[64], account[16];
  if (!arn ||
      sscanf(arn, "arn:aws:events:%63[^:]:%15[^:]:event-bus/default", region, account) != 2 ||
      strcmp(strrchr(arn, '/'), "/default"))
    return NULL;
  bus = bus_new(arn, "default", account, region);
  json_object_set_new(st->buses, arn, bus);
  return bus;
}

json_t *events_bus_get(events_state *st, aws_call *call, const char *name) {
  char arn[512];
  if (!name || !*name)
    name = "default";
  if (!strncmp(name, "arn:", 4)) {
    snprintf(arn, sizeof(arn), "%s", name);
    const char *slash = strrchr(name, '/');
    name = slash ? slash + 1 : name;
  } else {
    snprintf(arn, sizeof(arn), "arn:aws:events:%s:%s:event-bus/%s", aws_call_region(call),
             aws_call_account(call), name);
  }
  json_t *bus = events_bus_by_arn(st, arn);
  if (!bus)
    events_fail_not_found(call, "Event bus %.256s does not exist.", name);
  return bus;
}

int events_tags_merge(aws_call *call, json_t *tags, json_t *list) {
  json_t *merged = json_deep_copy(tags);
  size_t i;
  json_t *t;
  json_array_foreach(list, i, t) {
    const char *k = jsonutil_string(t, "Key");
    const char *v = jsonutil_string(t, "Value");
    if (!k || !*k || strlen(k) > 128 || !v || strlen(v) > 256) {
      json_decref(merged);
      events_fail_validation(call, "Tag keys must be 1-128 and values 0-256 characters.");
      return -1;
    }
    json_object_set_new(merged, k, json_string(v));
  }
  if (json_object_size(merged) > EVENTS_MAX_TAGS) {
    json_decref(merged);
    aws_call_fail(call, 400, "LimitExceededException",
                  "The request failed because it attempted to add more than %d tags.",
                  EVENTS_MAX_TAGS);
    return -1;
  }
  json_object_update(tags, merged);
  json_decref(merged);
  return 0;
}

/* ---- buses ---- */

static void create_event_bus(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  const char *name = jsonutil_string(in, "Name");
  if (!events_valid_name(name, 256) && !(name && !strncmp(name, "aws.partner/", 12))) {
    events_fail_validation(call,
                           "1 validation error detected: Value '%.256s' at 'name' failed "
                           "to satisfy constraint: Member must satisfy regular expression "
                           "pattern: [/\\.\\-_A-Za-z0-9]+",
                           name ? name : "");
    return;
  }
  if (!strcmp(name, "default")) {
    events_fail_validation(call, "The event bus name 'default' is reserved.");
    return;
  }
  char arn[512];
  snprintf(arn, sizeof(arn), "arn:aws:events:%s:%s:event-bus/%s", aws_call_region(call),
           aws_call_account(call), name);
  pthread_mutex_lock(&st->lock);
  if (json_object_get(st->buses, arn)) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ResourceAlreadyExistsException", "Event bus %s already exists.",
                  name);
    return;
  }
  json_t *bus = bus_new(arn, name, aws_call_account(call), aws_call_region(call));
  if (events_tags_merge(call, json_object_get(bus, "Tags"), json_object_get(in, "Tags")) < 0) {
    pthread_mutex_unlock(&st->lock);
    json_decref(bus);
    return;
  }
  json_object_set_new(st->buses, arn, bus);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:s}", "EventBusArn", arn));
}

static void delete_event_bus(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  const char *name = jsonutil_string(in, "Name");
  if (!name || !*name) {
    events_fail_validation(call, "Name is required.");
    return;
  }
  if (!strcmp(name, "default")) {
    events_fail_validation(call, "Cannot delete event bus default.");
    return;
  }
  char arn[512];
  snprintf(arn, sizeof(arn), "arn:aws:events:%s:%s:event-bus/%s", aws_call_region(call),
           aws_call_account(call), name);
  pthread_mutex_lock(&st->lock);
  json_object_del(st->buses, arn);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

static json_t *bus_description(json_t *bus) {
  json_t *out =
      json_pack("{s:O,s:O,s:O}", "Name", json_object_get(bus, "Name"), "Arn",
                json_object_get(bus, "Arn"), "CreationTime", json_object_get(bus, "CreationTime"));
  if (json_object_get(bus, "Policy"))
    json_object_set(out, "Policy", json_object_get(bus, "Policy"));
  return out;
}

static void describe_event_bus(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *bus = events_bus_get(st, call, jsonutil_string(in, "Name"));
  json_t *out = bus ? bus_description(bus) : NULL;
  pthread_mutex_unlock(&st->lock);
  if (out)
    aws_call_reply(call, out);
}

static void list_event_buses(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  const char *prefix = jsonutil_string(in, "NamePrefix");
  json_t *list = json_array();
  pthread_mutex_lock(&st->lock);
  events_bus_get(st, call, "default");
  const char *arn;
  json_t *bus;
  json_object_foreach(st->buses, arn, bus) {
    if (strcmp(jsonutil_string(bus, "Account"), aws_call_account(call)) ||
        strcmp(jsonutil_string(bus, "Region"), aws_call_region(call)))
      continue;
    const char *name = jsonutil_string(bus, "Name");
    if (prefix && strncmp(name, prefix, strlen(prefix)))
      continue;
    json_array_append_new(list, bus_description(bus));
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:o}", "EventBuses", list));
}

static void put_permission(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  const char *policy_text = jsonutil_string(in, "Policy");
  const char *sid = jsonutil_string(in, "StatementId");
  json_t *policy = NULL;
  if (policy_text) {
    policy = json_loads(policy_text, 0, NULL);
    if (!json_is_object(policy)) {
      json_decref(policy);
      aws_call_fail(call, 400, "InvalidParameterValueException", "Policy is not valid JSON.");
      return;
    }
  } else if (!sid || !jsonutil_string(in, "Principal") || !jsonutil_string(in, "Action")) {
    events_fail_validation(call, "One of Policy or StatementId, Principal and Action is "
                                 "required.");
    return;
  }
  pthread_mutex_lock(&st->lock);
  json_t *bus = events_bus_get(st, call, jsonutil_string(in, "EventBusName"));
  if (!bus) {
    pthread_mutex_unlock(&st->lock);
    json_decref(policy);
    return;
  }
  if (!policy) {
    const char *cur = jsonutil_string(bus, "Policy");
    policy = cur ? json_loads(cur, 0, NULL) : NULL;
    if (!json_is_object(policy)) {
      json_decref(policy);
      policy = json_pack("{s:s,s:[]}", "Version", "2012-10-17", "Statement");
    }
    char principal[64], resource[600];
    snprintf(principal, sizeof(principal), "arn:aws:iam::%s:root",
             jsonutil_string(in, "Principal"));
    snprintf(resource, sizeof(resource), "%s", jsonutil_string(bus, "Arn"));
    json_array_append_new(json_object_get(policy, "Statement"),
                          json_pack("{s:s,s:s,s:{s:s},s:s,s:s}", "Sid", sid, "Effect", "Allow",
                                    "Principal", "AWS", principal, "Action",
                                    jsonutil_string(in, "Action"), "Resource", resource));
  }
  char *text = json_dumps(policy, JSON_COMPACT);
  json_decref(policy);
  json_object_set_new(bus, "Policy", json_string(text ? text : "{}"));
  free(text);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

static void remove_permission(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  const char *sid = jsonutil_string(in, "StatementId");
  int all = json_is_true(json_object_get(in, "RemoveAllPermissions"));
  pthread_mutex_lock(&st->lock);
  json_t *bus = events_bus_get(st, call, jsonutil_string(in, "EventBusName"));
  if (!bus) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  const char *cur = jsonutil_string(bus, "Policy");
  json_t *policy = cur ? json_loads(cur, 0, NULL) : NULL;
  json_t *stmts = json_object_get(policy, "Statement");
  int found = 0;
  for (size_t i = json_array_size(stmts); i-- > 0;) {
    const char *have = jsonutil_string(json_array_get(stmts, i), "Sid");
    if (all || (sid && have && !strcmp(have, sid))) {
      json_array_remove(stmts, i);
      found = 1;
    }
  }
  if (!found && !all) {
    pthread_mutex_unlock(&st->lock);
    json_decref(policy);
    events_fail_not_found(call, "Statement with the provided id does not exist.");
    return;
  }
  if (all || json_array_size(stmts) == 0) {
    json_object_del(bus, "Policy");
  } else {
    char *text = json_dumps(policy, JSON_COMPACT);
    json_object_set_new(bus, "Policy", json_string(text ? text : "{}"));
    free(text);
  }
  json_decref(policy);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

/* ---- tags ---- */

static json_t *tags_of(events_state *st, aws_call *call, const char *arn) {
  json_t *res = arn ? json_object_get(st->buses, arn) : NULL;
  if (!res && arn)
    res = events_rule_by_arn(st, arn);
  if (!res && arn && strstr(arn, ":event-bus/default"))
    res = events_bus_by_arn(st, arn);
  if (!res) {
    const char *slash = arn ? strrchr(arn, '/') : NULL;
    events_fail_not_found(call, "%s %.256s does not exist.",
                          arn && strstr(arn, ":rule/") ? "Rule" : "Event bus",
                          slash ? slash + 1 : (arn ? arn : ""));
    return NULL;
  }
  return json_object_get(res, "Tags");
}

static void tag_resource(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *tags = tags_of(st, call, jsonutil_string(in, "ResourceARN"));
  int rc = tags ? events_tags_merge(call, tags, json_object_get(in, "Tags")) : -1;
  pthread_mutex_unlock(&st->lock);
  if (rc == 0)
    aws_call_reply(call, NULL);
}

static void untag_resource(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *tags = tags_of(st, call, jsonutil_string(in, "ResourceARN"));
  size_t i;
  json_t *k;
  json_array_foreach(json_object_get(in, "TagKeys"), i, k) {
    if (tags && json_is_string(k))
      json_object_del(tags, json_string_value(k));
  }
  pthread_mutex_unlock(&st->lock);
  if (tags)
    aws_call_reply(call, NULL);
}

static void list_tags(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *tags = tags_of(st, call, jsonutil_string(in, "ResourceARN"));
  json_t *list = tags ? json_array() : NULL;
  const char *k;
  json_t *v;
  json_object_foreach(tags, k, v)
      json_array_append_new(list, json_pack("{s:s,s:O}", "Key", k, "Value", v));
  pthread_mutex_unlock(&st->lock);
  if (list)
    aws_call_reply(call, json_pack("{s:o}", "Tags", list));
}

/* ---- /_aws/events/ ---- */

static void set_speed(double speed, void *payload) {
  events_state *st = payload;
  pthread_mutex_lock(&st->lock);
  events_clock_set_speed(st, speed);
  pthread_mutex_unlock(&st->lock);
}

static int events_internal(void *state, http_request *req, const char *rest) {
  return emulator_clock_endpoint(req, "events", rest, set_speed, state);
}

/* ---- life cycle ---- */

static void destroy(void *state) {
  events_state *st = state;
  if (!st)
    return;
  if (st->delivery) {
    delivery_handler_set(st->delivery, DELIVERY_EVENTS, NULL, NULL);
    delivery_release(st->delivery);
  }
  json_decref(st->buses);
  json_decref(st->archives);
  json_decref(st->replays);
  json_decref(st->connections);
  json_decref(st->destinations);
  pthread_mutex_destroy(&st->lock);
  free(st);
}

static int create(void **out, emulator *emu) {
  events_state *st = calloc(1, sizeof(*st));
  if (!st)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  pthread_mutex_init(&st->lock, NULL);
  st->emu = emu;
  st->buses = json_object();
  st->archives = json_object();
  st->replays = json_object();
  st->connections = json_object();
  st->destinations = json_object();
  emulator_clock_init(&st->clock, "AIRGAP_EVENTS_CLOCK_SPEED");
  if (!st->buses || !st->archives || !st->replays || !st->connections || !st->destinations ||
      !(st->delivery = delivery_acquire(emu))) {
    destroy(st);
    return airgap_error_set(AIRGAP_ERROR, "cannot create EventBridge's state");
  }
  delivery_handler_set(st->delivery, DELIVERY_EVENTS, events_deliver_internal, st);
  *out = st;
  return 0;
}

static void reset(void *state) {
  events_state *st = state;
  pthread_mutex_lock(&st->lock);
  json_object_clear(st->buses);
  json_object_clear(st->archives);
  json_object_clear(st->replays);
  json_object_clear(st->connections);
  json_object_clear(st->destinations);
  pthread_mutex_unlock(&st->lock);
}

static void shutdown_events(void *state) {
  events_state *st = state;
  pthread_mutex_lock(&st->lock);
  st->stopping = 1;
  emulator_timer *t = st->timer;
  st->timer = NULL;
  pthread_mutex_unlock(&st->lock);
  if (t)
    emulator_timer_cancel(t);
  delivery_stop(st->delivery);
}

static const aws_operation operations[] = {
    {"CancelReplay", events_cancel_replay},
    {"CreateApiDestination", events_create_api_destination},
    {"CreateArchive", events_create_archive},
    {"CreateConnection", events_create_connection},
    {"CreateEventBus", create_event_bus},
    {"DeauthorizeConnection", events_deauthorize_connection},
    {"DeleteApiDestination", events_delete_api_destination},
    {"DeleteArchive", events_delete_archive},
    {"DeleteConnection", events_delete_connection},
    {"DeleteEventBus", delete_event_bus},
    {"DeleteRule", events_delete_rule},
    {"DescribeApiDestination", events_describe_api_destination},
    {"DescribeArchive", events_describe_archive},
    {"DescribeConnection", events_describe_connection},
    {"DescribeEventBus", describe_event_bus},
    {"DescribeReplay", events_describe_replay},
    {"DescribeRule", events_describe_rule},
    {"DisableRule", events_disable_rule},
    {"EnableRule", events_enable_rule},
    {"ListApiDestinations", events_list_api_destinations},
    {"ListArchives", events_list_archives},
    {"ListConnections", events_list_connections},
    {"ListEventBuses", list_event_buses},
    {"ListReplays", events_list_replays},
    {"ListRuleNamesByTarget", events_list_rule_names_by_target},
    {"ListRules", events_list_rules},
    {"ListTagsForResource", list_tags},
    {"ListTargetsByRule", events_list_targets_by_rule},
    {"PutEvents", events_put_events},
    {"PutPermission", put_permission},
    {"PutRule", events_put_rule},
    {"PutTargets", events_put_targets},
    {"RemovePermission", remove_permission},
    {"RemoveTargets", events_remove_targets},
    {"StartReplay", events_start_replay},
    {"TagResource", tag_resource},
    {"TestEventPattern", events_test_event_pattern},
    {"UntagResource", untag_resource},
    {"UpdateApiDestination", events_update_api_destination},
    {"UpdateArchive", events_update_archive},
    {"UpdateConnection", events_update_connection},
};

const aws_service aws_service_events = {
    .name = "events",
    .model_name = "events",
    .operations = operations,
    .operation_count = sizeof(operations) / sizeof(operations[0]),
    .create = create,
    .reset = reset,
    .shutdown = shutdown_events,
    .destroy = destroy,
    .internal_endpoint = events_internal,
};
