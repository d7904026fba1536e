/*
 * events_rules.c — rules and their targets: PutRule (an event pattern
 * checked by the shared pattern language, or a rate()/cron() schedule on
 * the default bus), Describe/Enable/Disable/Delete/ListRules, PutTargets
 * and RemoveTargets (five targets per rule, one input option each),
 * ListTargetsByRule, ListRuleNamesByTarget, and TestEventPattern.
 */
#include "emulator/events/events_int.h"

#include "common/jsonutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int events_pattern_parse(aws_call *call, const char *text, json_t **out) {
  json_error_t jerr;
  if (strlen(text) > DELIVERY_PATTERN_MAX_TEXT) {
    aws_call_fail(call, 400, "InvalidEventPatternException",
                  "Event pattern is not valid. Reason: Pattern is too long");
    return -1;
  }
  json_t *p = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
  if (!p) {
    aws_call_fail(call, 400, "InvalidEventPatternException",
                  "Event pattern is not valid. Reason: %s at line: %d, column: %d", jerr.text,
                  jerr.line, jerr.column);
    return -1;
  }
  char reason[256];
  if (delivery_pattern_check(p, DELIVERY_EVENTBRIDGE, reason, sizeof(reason)) < 0) {
    json_decref(p);
    aws_call_fail(call, 400, "InvalidEventPatternException",
                  "Event pattern is not valid. Reason: %s", reason);
    return -1;
  }
  *out = p;
  return 0;
}

json_t *events_rule_by_arn(events_state *st, const char *arn) {
  /* arn:aws:events:<region>:<account>:rule/[<bus>/]<name> */
  const char *r = strstr(arn, ":rule/");
  if (!r)
    return NULL;
  const char *name = strrchr(r, '/') + 1;
  char bus_arn[600];
  const char *bus_name = "default";
  size_t bus_len = 7;
  if (name - 1 != r + 5) {
    bus_name = r + 6;
    bus_len = (size_t)(name - 1 - bus_name);
  }
  snprintf(bus_arn, sizeof(bus_arn), "%.*s:event-bus/%.*s", (int)(r - arn), arn, (int)bus_len,
           bus_name);
  json_t *bus = events_bus_by_arn(st, bus_arn);
  return json_object_get(json_object_get(bus, "Rules"), name);
}

/* The rule, under lock; answers ResourceNotFoundException and NULL. */
static json_t *rule_get(events_state *st, aws_call *call, json_t *in, const char *member,
                        json_t **bus_out) {
  const char *name = jsonutil_string(in, member);
  const char *bus_name = jsonutil_string(in, "EventBusName");
  json_t *bus = events_bus_get(st, call, bus_name);
  if (!bus)
    return NULL;
  json_t *rule = name ? json_object_get(json_object_get(bus, "Rules"), name) : NULL;
  if (!rule)
    events_fail_not_found(call, "Rule %.64s does not exist on EventBus %s.", name ? name : "",
                          jsonutil_string(bus, "Name"));
  if (bus_out)
    *bus_out = bus;
  return rule;
}

void events_put_rule(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  const char *name = jsonutil_string(in, "Name");
  const char *pattern_text = jsonutil_string(in, "EventPattern");
  const char *schedule = jsonutil_string(in, "ScheduleExpression");
  const char *state = jsonutil_string(in, "State");
  if (!events_valid_name(name, 64)) {
    events_fail_validation(call,
                           "1 validation error detected: Value '%.64s' at 'name' failed to "
                           "satisfy constraint: Member must satisfy regular expression "
                           "pattern: [\\.\\-_A-Za-z0-9]+",
                           name ? name : "");
    return;
  }
  if (!pattern_text && !schedule) {
    events_fail_validation(call, "Parameter(s) EventPattern or ScheduleExpression must be "
                                 "specified.");
    return;
  }
  if (schedule && events_schedule_check(schedule) < 0) {
    events_fail_validation(call, "Parameter ScheduleExpression is not valid.");
    return;
  }
  if (state && strcmp(state, "ENABLED") && strcmp(state, "DISABLED")) {
    events_fail_validation(call,
                           "1 validation error detected: Value '%.32s' at 'state' failed "
                           "to satisfy constraint: Member must satisfy enum value set: "
                           "[ENABLED, DISABLED]",
                           state);
    return;
  }
  json_t *pattern = NULL;
  if (pattern_text && events_pattern_parse(call, pattern_text, &pattern) < 0)
    return;
  pthread_mutex_lock(&st->lock);
  json_t *bus = events_bus_get(st, call, jsonutil_string(in, "EventBusName"));
  if (!bus) {
    pthread_mutex_unlock(&st->lock);
    json_decref(pattern);
    return;
  }
  const char *bus_name = jsonutil_string(bus, "Name");
  if (schedule && strcmp(bus_name, "default")) {
    pthread_mutex_unlock(&st->lock);
    json_decref(pattern);
    events_fail_validation(call, "ScheduleExpression is supported only on the default event bus.");
    return;
  }
  char arn[700];
  if (!strcmp(bus_name, "default"))
    snprintf(arn, sizeof(arn), "arn:aws:events:%s:%s:rule/%s", jsonutil_string(bus, "Region"),
             jsonutil_string(bus, "Account"), name);
  else
    snprintf(arn, sizeof(arn), "arn:aws:events:%s:%s:rule/%s/%s", jsonutil_string(bus, "Region"),
             jsonutil_string(bus, "Account"), bus_name, name);
  json_t *rules = json_object_get(bus, "Rules");
  json_t *rule = json_object_get(rules, name);
  json_t *fresh = NULL;
  if (!rule) {
    fresh = rule = json_pack("{s:s,s:s,s:s,s:[],s:{}}", "Name", name, "Arn", arn, "EventBusName",
                             bus_name, "Targets", "Tags");
  }
  if (events_tags_merge(call, json_object_get(rule, "Tags"), json_object_get(in, "Tags")) < 0) {
    pthread_mutex_unlock(&st->lock);
    json_decref(fresh);
    json_decref(pattern);
    return;
  }
  json_object_set_new(rule, "State", json_string(state ? state : "ENABLED"));
  static const char *const members[] = {"Description", "RoleArn", NULL};
  for (size_t i = 0; members[i]; i++) {
    json_t *v = json_object_get(in, members[i]);
    if (v)
      json_object_set(rule, members[i], v);
  }
  json_object_del(rule, "EventPattern");
  json_object_del(rule, "Pattern");
  json_object_del(rule, "ScheduleExpression");
  json_object_del(rule, "NextFire");
  if (pattern) {
    json_object_set_new(rule, "EventPattern", json_string(pattern_text));
    json_object_set_new(rule, "Pattern", pattern);
  }
  if (schedule) {
    json_object_set_new(rule, "ScheduleExpression", json_string(schedule));
    uint64_t next = events_schedule_next(schedule, events_clock_now(st));
    json_object_set_new(rule, "NextFire", json_integer((json_int_t)next));
  }
  if (fresh)
    json_object_set_new(rules, name, fresh);
  if (schedule)
    events_scheduler_arm(st);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:s}", "RuleArn", arn));
}

void events_delete_rule(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  const char *name = jsonutil_string(in, "Name");
  pthread_mutex_lock(&st->lock);
  json_t *bus = events_bus_get(st, call, jsonutil_string(in, "EventBusName"));
  json_t *rules = json_object_get(bus, "Rules");
  json_t *rule = name ? json_object_get(rules, name) : NULL;
  if (rule && json_array_size(json_object_get(rule, "Targets"))) {
    pthread_mutex_unlock(&st->lock);
    events_fail_validation(call, "Rule can't be deleted since it has targets.");
    return;
  }
  if (rule)
    json_object_del(rules, name);
  pthread_mutex_unlock(&st->lock);
  if (bus)
    aws_call_reply(call, NULL);
}

static json_t *rule_view(json_t *rule, int describe) {
  json_t *out = json_object();
  static const char *const members[] = {"Name",    "Arn",          "EventPattern",
                                        "State",   "Description",  "ScheduleExpression",
                                        "RoleArn", "EventBusName", NULL};
  for (size_t i = 0; members[i]; i++) {
    json_t *v = json_object_get(rule, members[i]);
    if (v)
      json_object_set(out, members[i], v);
  }
  if (describe) {
    /* The account that made the rule: the one in its ARN. */
    const char *arn = json_string_value(json_object_get(rule, "Arn"));
    char account[16];
    if (arn && sscanf(arn, "arn:aws:events:%*[^:]:%15[^:]:", account) == 1)
      json_object_set_new(out, "CreatedBy", json_string(account));
  }
  return out;
}

void events_describe_rule(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *rule = rule_get(st, call, in, "Name", NULL);
  json_t *out = rule ? rule_view(rule, 1) : NULL;
  pthread_mutex_unlock(&st->lock);
  if (out)
    aws_call_reply(call, out);
}

static void set_state(aws_call *call, json_t *in, const char *state) {
  events_state *st = events_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *rule = rule_get(st, call, in, "Name", NULL);
  if (rule) {
    json_object_set_new(rule, "State", json_string(state));
    const char *schedule = jsonutil_string(rule, "ScheduleExpression");
    if (schedule && !strcmp(state, "ENABLED")) {
      uint64_t next = events_schedule_next(schedule, events_clock_now(st));
      json_object_set_new(rule, "NextFire", json_integer((json_int_t)next));
      events_scheduler_arm(st);
    }
  }
  pthread_mutex_unlock(&st->lock);
  if (rule)
    aws_call_reply(call, NULL);
}

void events_enable_rule(aws_call *call, json_t *in) { set_state(call, in, "ENABLED"); }
void events_disable_rule(aws_call *call, json_t *in) { set_state(call, in, "DISABLED"); }

/* Page tokens: the index of the next item. Limit: 1-100. */
static int page_params(aws_call *call, json_t *in, size_t *start, size_t *limit) {
  const char *token = jsonutil_string(in, "NextToken");
  json_t *lim = json_object_get(in, "Limit");
  *start = 0;
  *limit = 100;
  if (token) {
    char *end = NULL;
    *start = (size_t)strtoull(token, &end, 10);
    if (!end || *end) {
      events_fail_validation(call, "The NextToken provided is invalid.");
      return -1;
    }
  }
  if (lim) {
    json_int_t l = json_integer_value(lim);
    if (l < 1 || l > 100) {
      events_fail_validation(call,
                             "1 validation error detected: Value '%lld' at 'limit' failed "
                             "to satisfy constraint: Member must have value between 1 and "
                             "100",
                             (long long)l);
      return -1;
    }
    *limit = (size_t)l;
  }
  return 0;
}

static void paged_reply(aws_call *call, const char *member, json_t *all, size_t start,
                        size_t limit) {
  json_t *page = json_array();
  for (size_t i = start; i < json_array_size(all) && i < start + limit; i++)
    json_array_append(page, json_array_get(all, i));
  json_t *out = json_pack("{s:o}", member, page);
  if (start + limit < json_array_size(all)) {
    char tok[32];
    snprintf(tok, sizeof(tok), "%zu", start + limit);
    json_object_set_new(out, "NextToken", json_string(tok));
  }
  json_decref(all);
  aws_call_reply(call, out);
}

static int by_name(const void *a, const void *b) {
  const char *x = json_string_value(json_object_get(*(json_t *const *)a, "Name"));
  const char *y = json_string_value(json_object_get(*(json_t *const *)b, "Name"));
  return strcmp(x ? x : "", y ? y : "");
}

/* AWS lists rules by name. */
static void sort_by_name(json_t *list) {
  size_t n = json_array_size(list);
  json_t **items = n ? malloc(n * sizeof(*items)) : NULL;
  if (!items)
    return;
  for (size_t i = 0; i < n; i++)
    items[i] = json_incref(json_array_get(list, i));
  qsort(items, n, sizeof(*items), by_name);
  json_array_clear(list);
  for (size_t i = 0; i < n; i++)
    json_array_append_new(list, items[i]);
  free(items);
}

void events_list_rules(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  size_t start, limit;
  if (page_params(call, in, &start, &limit) < 0)
    return;
  const char *prefix = jsonutil_string(in, "NamePrefix");
  pthread_mutex_lock(&st->lock);
  json_t *bus = events_bus_get(st, call, jsonutil_string(in, "EventBusName"));
  if (!bus) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  json_t *all = json_array();
  const char *name;
  json_t *rule;
  json_object_foreach(json_object_get(bus, "Rules"), name, rule) {
    if (!prefix || !strncmp(name, prefix, strlen(prefix)))
      json_array_append_new(all, rule_view(rule, 0));
  }
  pthread_mutex_unlock(&st->lock);
  sort_by_name(all);
  paged_reply(call, "Rules", all, start, limit);
}

void events_list_rule_names_by_target(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  size_t start, limit;
  if (page_params(call, in, &start, &limit) < 0)
    return;
  const char *target = jsonutil_string(in, "TargetArn");
  if (!target || !*target) {
    events_fail_validation(call, "TargetArn is required.");
    return;
  }
  pthread_mutex_lock(&st->lock);
  json_t *bus = events_bus_get(st, call, jsonutil_string(in, "EventBusName"));
  if (!bus) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  json_t *all = json_array();
  const char *name;
  json_t *rule;
  json_object_foreach(json_object_get(bus, "Rules"), name, rule) {
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(rule, "Targets"), i, t) {
      if (!strcmp(jsonutil_string(t, "Arn"), target)) {
        json_array_append_new(all, json_string(name));
        break;
      }
    }
  }
  pthread_mutex_unlock(&st->lock);
  paged_reply(call, "RuleNames", all, start, limit);
}

/* Checks one target; *why gets the failure for FailedEntries. */
static int check_target(json_t *t, const char **code, char *why, size_t n) {
  const char *id = jsonutil_string(t, "Id");
  const char *arn = jsonutil_string(t, "Arn");
  *code = "ValidationException";
  if (!events_valid_name(id, 64)) {
    snprintf(why, n, "Target Id is not valid.");
    return -1;
  }
  if (!arn || strncmp(arn, "arn:", 4)) {
    snprintf(why, n, "Parameter %s is not valid.", arn ? arn : "Arn");
    return -1;
  }
  int inputs = (json_object_get(t, "Input") != NULL) + (json_object_get(t, "InputPath") != NULL) +
               (json_object_get(t, "InputTransformer") != NULL);
  if (inputs > 1) {
    snprintf(why, n, "Only one of Input, InputPath, or InputTransformer must be provided.");
    return -1;
  }
  const char *input = jsonutil_string(t, "Input");
  if (input) {
    json_t *j = json_loads(input, JSON_DECODE_ANY, NULL);
    int ok = j != NULL;
    json_decref(j);
    if (!ok) {
      snprintf(why, n, "Input is not valid JSON text.");
      return -1;
    }
  }
  const char *path = jsonutil_string(t, "InputPath");
  if (path && strncmp(path, "$", 1)) {
    snprintf(why, n, "InputPath is not a valid JSON path.");
    return -1;
  }
  json_t *tr = json_object_get(t, "InputTransformer");
  if (tr) {
    if (!jsonutil_string(tr, "InputTemplate")) {
      snprintf(why, n, "InputTemplate is required.");
      return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(tr, "InputPathsMap"), k, v) {
      const char *p = json_string_value(v);
      if (!p || strncmp(p, "$", 1) || !strncmp(k, "aws.", 4)) {
        snprintf(why, n, "InputPathsMap has an invalid entry: %.64s", k);
        return -1;
      }
    }
  }
  return 0;
}

void events_put_targets(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  json_t *targets = json_object_get(in, "Targets");
  if (!json_array_size(targets)) {
    events_fail_validation(call, "1 validation error detected: Value '[]' at 'targets' failed to "
                                 "satisfy constraint: Member must have length greater than or "
                                 "equal to 1");
    return;
  }
  pthread_mutex_lock(&st->lock);
  json_t *rule = rule_get(st, call, in, "Rule", NULL);
  if (!rule) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  json_t *have = json_object_get(rule, "Targets");
  json_t *failed = json_array();
  size_t i;
  json_t *t;
  size_t added = 0;
  json_array_foreach(targets, i, t) {
    const char *id = jsonutil_string(t, "Id");
    int exists = 0;
    for (size_t j = 0; id && j < json_array_size(have); j++)
      exists |= !strcmp(jsonutil_string(json_array_get(have, j), "Id"), id);
    added += !exists;
  }
  if (json_array_size(have) + added > EVENTS_MAX_TARGETS) {
    pthread_mutex_unlock(&st->lock);
    json_decref(failed);
    aws_call_fail(call, 400, "LimitExceededException",
                  "The requested resource exceeds the maximum number allowed.");
    return;
  }
  json_array_foreach(targets, i, t) {
    const char *code;
    char why[256];
    if (check_target(t, &code, why, sizeof(why)) < 0) {
      json_array_append_new(failed,
                            json_pack("{s:s?,s:s,s:s}", "TargetId", jsonutil_string(t, "Id"),
                                      "ErrorCode", code, "ErrorMessage", why));
      continue;
    }
    const char *id = jsonutil_string(t, "Id");
    size_t j;
    for (j = 0; j < json_array_size(have); j++)
      if (!strcmp(jsonutil_string(json_array_get(have, j), "Id"), id))
        break;
    if (j < json_array_size(have))
      json_array_set(have, j, t);
    else
      json_array_append(have, t);
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:I,s:o}", "FailedEntryCount",
                                 (json_int_t)json_array_size(failed), "FailedEntries", failed));
}

void events_remove_targets(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  json_t *ids = json_object_get(in, "Ids");
  pthread_mutex_lock(&st->lock);
  json_t *rule = rule_get(st, call, in, "Rule", NULL);
  if (!rule) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  json_t *have = json_object_get(rule, "Targets");
  size_t i;
  json_t *id;
  json_array_foreach(ids, i, id) {
    for (size_t j = json_array_size(have); j-- > 0;)
      if (json_is_string(id) &&
          !strcmp(jsonutil_string(json_array_get(have, j), "Id"), json_string_value(id)))
        json_array_remove(have, j);
  }
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:i,s:[]}", "FailedEntryCount", 0, "FailedEntries"));
}

void events_list_targets_by_rule(aws_call *call, json_t *in) {
  events_state *st = events_state_of(call);
  size_t start, limit;
  if (page_params(call, in, &start, &limit) < 0)
    return;
  pthread_mutex_lock(&st->lock);
  json_t *rule = rule_get(st, call, in, "Rule", NULL);
  json_t *all = rule ? json_deep_copy(json_object_get(rule, "Targets")) : NULL;
  pthread_mutex_unlock(&st->lock);
  if (all)
    paged_reply(call, "Targets", all, start, limit);
}

void events_test_event_pattern(aws_call *call, json_t *in) {
  const char *pattern_text = jsonutil_string(in, "EventPattern");
  const char *event_text = jsonutil_string(in, "Event");
  json_t *pattern = NULL;
  if (!pattern_text || events_pattern_parse(call, pattern_text, &pattern) < 0) {
    if (!pattern_text)
      events_fail_validation(call, "EventPattern is required.");
    return;
  }
  json_t *event = event_text ? json_loads(event_text, 0, NULL) : NULL;
  static const char *const required[] = {"id",     "account",     "source", "time",
                                         "region", "detail-type", NULL};
  int ok = json_is_object(event);
  for (size_t i = 0; ok && required[i]; i++)
    ok = json_object_get(event, required[i]) != NULL;
  if (!ok) {
    json_decref(pattern);
    json_decref(event);
    events_fail_validation(call, "Parameter Event is not valid.");
    return;
  }
  int result = delivery_pattern_match(pattern, event);
  json_decref(pattern);
  json_decref(event);
  aws_call_reply(call, json_pack("{s:b}", "Result", result));
}
