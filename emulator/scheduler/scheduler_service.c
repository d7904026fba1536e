/*
 * scheduler_service.c — EventBridge Scheduler (rest-json): the service
 * table, its state and life cycle, errors, schedule groups (the "default"
 * group of each account and Region exists from the start and cannot be
 * deleted; deleting a group deletes its schedules, as AWS does), tags (on
 * groups: schedules take none), and the test hook POST
 * /_aws/scheduler/clock {"speed": N} that runs the scheduler's clock faster.
 *
 * Schedules live in scheduler_schedules.c, firing in scheduler_fire.c.
 */
#include "emulator/scheduler/scheduler_int.h"

#include "common/clock.h"
#include "common/error.h"
#include "common/jsonutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

scheduler_state *scheduler_state_of(aws_call *call) { return aws_call_state(call); }

void scheduler_fail_validation(aws_call *call, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  aws_call_fail(call, 400, "ValidationException", "%s", msg);
}

void scheduler_fail_constraint(aws_call *call, const char *value, const char *member,
                               const char *constraint) {
  scheduler_fail_validation(call,
                            "1 validation error detected: Value '%.256s' at '%s' failed to "
                            "satisfy constraint: Member must %s",
                            value ? value : "null", member, constraint);
}

int scheduler_check_name(aws_call *call, const char *name, const char *member) {
  size_t n = strlen(name);
  if (n < 1 || n > 64) {
    scheduler_fail_constraint(call, name, member,
                              n < 1 ? "have length greater than or equal to 1"
                                    : "have length less than or equal to 64");
    return -1;
  }
  if (strspn(name, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.") != n) {
    scheduler_fail_constraint(call, name, member,
                              "satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$");
    return -1;
  }
  return 0;
}

json_t *scheduler_now_json(void) { return json_real((double)clock_wall_ms() / 1000.0); }

static void group_arn(char *out, size_t size, aws_call *call, const char *name) {
  snprintf(out, size, "arn:%s:scheduler:%s:%s:schedule-group/%s", aws_call_partition(call),
           aws_call_region(call), aws_call_account(call), name);
}

static json_t *group_new(aws_call *call, const char *arn, const char *name) {
  json_t *now = scheduler_now_json();
  return json_pack("{s:s,s:s,s:s,s:O,s:o,s:{},s:s,s:s}", "Name", name, "Arn", arn, "State",
                   "ACTIVE", "CreationDate", now, "LastModificationDate", now, "Tags", "Account",
                   aws_call_account(call), "Region", aws_call_region(call));
}

json_t *scheduler_group_get(scheduler_state *st, aws_call *call, const char *name) {
  char arn[256];
  if (!name)
    name = "default";
  group_arn(arn, sizeof(arn), call, name);
  json_t *g = json_object_get(st->groups, arn);
  if (!g && !strcmp(name, "default")) {
    g = group_new(call, arn, name);
    json_object_set_new(st->groups, arn, g);
  }
  return g;
}

/* ---- schedule groups ---- */

static void create_group(aws_call *call, json_t *in) {
  scheduler_state *st = scheduler_state_of(call);
  const char *name = jsonutil_string(in, "Name");
  json_t *tags = json_object_get(in, "Tags");
  if (scheduler_check_name(call, name, "name") < 0)
    return;
  if (json_array_size(tags) > SCHEDULER_MAX_TAGS) {
    scheduler_fail_constraint(call, "[tags]", "tags", "have length less than or equal to 200");
    return;
  }
  json_t *map = json_object();
  size_t i;
  json_t *t;
  json_array_foreach(tags, i, t) {
    const char *k = jsonutil_string(t, "Key"), *v = jsonutil_string(t, "Value");
    if (strlen(k) < 1 || strlen(k) > 128 || strlen(v) < 1 || strlen(v) > 256) {
      json_decref(map);
      scheduler_fail_validation(call, "Tag keys must be 1-128 and values 1-256 characters.");
      return;
    }
    json_object_set_new(map, k, json_string(v));
  }
  char arn[256];
  group_arn(arn, sizeof(arn), call, name);
  pthread_mutex_lock(&st->lock);
  if (json_object_get(st->groups, arn) || !strcmp(name, "default")) {
    pthread_mutex_unlock(&st->lock);
    json_decref(map);
    aws_call_fail(call, 409, "ConflictException", "Schedule group %s already exists.", name);
    return;
  }
  json_t *g = group_new(call, arn, name);
  json_object_set_new(g, "Tags", map);
  json_object_set_new(st->groups, arn, g);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:s}", "ScheduleGroupArn", arn));
}

static json_t *group_summary(const json_t *g) {
  json_t *out = json_object();
  const char *keys[] = {"Arn", "CreationDate", "LastModificationDate", "Name", "State"};
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    json_object_set(out, keys[i], json_object_get(g, keys[i]));
  return out;
}

static void get_group(aws_call *call, json_t *in) {
  scheduler_state *st = scheduler_state_of(call);
  const char *name = jsonutil_string(in, "Name");
  if (scheduler_check_name(call, name, "name") < 0)
    return;
  pthread_mutex_lock(&st->lock);
  json_t *g = scheduler_group_get(st, call, name);
  json_t *out = g ? group_summary(g) : NULL;
  pthread_mutex_unlock(&st->lock);
  if (!out) {
    aws_call_fail(call, 404, "ResourceNotFoundException", "Schedule group %s does not exist.",
                  name);
    return;
  }
  aws_call_reply(call, out);
}

static void delete_group(aws_call *call, json_t *in) {
  scheduler_state *st = scheduler_state_of(call);
  const char *name = jsonutil_string(in, "Name");
  if (scheduler_check_name(call, name, "name") < 0)
    return;
  if (!strcmp(name, "default")) {
    scheduler_fail_validation(call, "You cannot delete the default group.");
    return;
  }
  char arn[256];
  group_arn(arn, sizeof(arn), call, name);
  pthread_mutex_lock(&st->lock);
  json_t *g = json_object_get(st->groups, arn);
  if (!g) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 404, "ResourceNotFoundException", "Schedule group %s does not exist.",
                  name);
    return;
  }
  /* The group's schedules go with it. */
  const char *key;
  json_t *s;
  void *tmp;
  json_object_foreach_safe(st->schedules, tmp, key, s) {
    if (!strcmp(jsonutil_string(s, "GroupName"), name) &&
        !strcmp(jsonutil_string(s, "Account"), aws_call_account(call)) &&
        !strcmp(jsonutil_string(s, "Region"), aws_call_region(call)))
      json_object_del(st->schedules, key);
  }
  json_object_del(st->groups, arn);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_object());
}

static int by_name(const void *a, const void *b) {
  return strcmp(jsonutil_string(*(json_t *const *)a, "Name"),
                jsonutil_string(*(json_t *const *)b, "Name"));
}

static void list_groups(aws_call *call, json_t *in) {
  scheduler_state *st = scheduler_state_of(call);
  const char *prefix = jsonutil_string(in, "NamePrefix");
  const char *token = jsonutil_string(in, "NextToken");
  json_t *max = json_object_get(in, "MaxResults");
  size_t limit = SCHEDULER_MAX_RESULTS, start = 0;
  if (max && (json_integer_value(max) < 1 || json_integer_value(max) > SCHEDULER_MAX_RESULTS)) {
    char v[32];
    snprintf(v, sizeof(v), "%lld", (long long)json_integer_value(max));
    scheduler_fail_constraint(call, v, "maxResults",
                              json_integer_value(max) < 1 ? "have value greater than or equal to 1"
                                                          : "have value less than or equal to 100");
    return;
  }
  if (max)
    limit = (size_t)json_integer_value(max);
  if (token && scheduler_token_parse(token, &start) < 0) {
    scheduler_fail_validation(call, "Invalid NextToken.");
    return;
  }
  pthread_mutex_lock(&st->lock);
  scheduler_group_get(st, call, NULL);
  size_t n = 0, cap = json_object_size(st->groups);
  json_t **all = calloc(cap ? cap : 1, sizeof(*all));
  const char *key;
  json_t *g;
  json_object_foreach(st->groups, key, g) {
    if (strcmp(jsonutil_string(g, "Account"), aws_call_account(call)) ||
        strcmp(jsonutil_string(g, "Region"), aws_call_region(call)))
      continue;
    if (prefix && strncmp(jsonutil_string(g, "Name"), prefix, strlen(prefix)))
      continue;
    if (all)
      all[n++] = g;
  }
  qsort(all, n, sizeof(*all), by_name);
  json_t *list = json_array();
  for (size_t i = start; i < n && i < start + limit; i++)
    json_array_append_new(list, group_summary(all[i]));
  json_t *out = json_pack("{s:o}", "ScheduleGroups", list);
  if (start + limit < n) {
    char next[32];
    scheduler_token(next, start + limit);
    json_object_set_new(out, "NextToken", json_string(next));
  }
  pthread_mutex_unlock(&st->lock);
  free(all);
  aws_call_reply(call, out);
}

/* ---- tags (schedule groups only) ---- */

/* The group an ARN names (borrowed, under lock), or NULL after answering. */
static json_t *tagged_group(scheduler_state *st, aws_call *call, const char *arn) {
  json_t *g = json_object_get(st->groups, arn);
  if (!g) {
    char def[256];
    group_arn(def, sizeof(def), call, "default");
    if (!strcmp(arn, def))
      g = scheduler_group_get(st, call, NULL);
  }
  if (!g) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 404, "ResourceNotFoundException", "Schedule group %.128s does not exist.",
                  strrchr(arn, '/') ? strrchr(arn, '/') + 1 : arn);
  }
  return g;
}

static void tag_resource(aws_call *call, json_t *in) {
  scheduler_state *st = scheduler_state_of(call);
  json_t *tags = json_object_get(in, "Tags");
  pthread_mutex_lock(&st->lock);
  json_t *g = tagged_group(st, call, jsonutil_string(in, "ResourceArn"));
  if (!g)
    return;
  json_t *map = json_object_get(g, "Tags");
  json_t *merged = json_deep_copy(map);
  size_t i;
  json_t *t;
  json_array_foreach(tags, i, t) {
    const char *k = jsonutil_string(t, "Key"), *v = jsonutil_string(t, "Value");
    if (strlen(k) < 1 || strlen(k) > 128 || strlen(v) < 1 || strlen(v) > 256) {
      pthread_mutex_unlock(&st->lock);
      json_decref(merged);
      scheduler_fail_validation(call, "Tag keys must be 1-128 and values 1-256 characters.");
      return;
    }
    json_object_set_new(merged, k, json_string(v));
  }
  if (json_object_size(merged) > SCHEDULER_MAX_TAGS) {
    pthread_mutex_unlock(&st->lock);
    json_decref(merged);
    scheduler_fail_validation(call, "A resource can have at most 200 tags.");
    return;
  }
  json_object_set_new(g, "Tags", merged);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_object());
}

static void untag_resource(aws_call *call, json_t *in) {
  scheduler_state *st = scheduler_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *g = tagged_group(st, call, jsonutil_string(in, "ResourceArn"));
  if (!g)
    return;
  size_t i;
  json_t *k;
  json_array_foreach(json_object_get(in, "TagKeys"), i, k)
      json_object_del(json_object_get(g, "Tags"), json_string_value(k));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_object());
}

static void list_tags(aws_call *call, json_t *in) {
  scheduler_state *st = scheduler_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *g = tagged_group(st, call, jsonutil_string(in, "ResourceArn"));
  if (!g)
    return;
  json_t *list = json_array();
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(g, "Tags"), k, v)
      json_array_append_new(list, json_pack("{s:s,s:O}", "Key", k, "Value", v));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:o}", "Tags", list));
}

/* ---- /_aws/scheduler/ ---- */

static void set_speed(double speed, void *payload) {
  scheduler_state *st = payload;
  pthread_mutex_lock(&st->lock);
  scheduler_clock_set_speed(st, speed);
  pthread_mutex_unlock(&st->lock);
}

static int scheduler_internal(void *state, http_request *req, const char *rest) {
  return emulator_clock_endpoint(req, "scheduler", rest, set_speed, state);
}

/* ---- life cycle ---- */

static void destroy(void *state) {
  scheduler_state *st = state;
  if (!st)
    return;
  if (st->delivery)
    delivery_release(st->delivery);
  json_decref(st->groups);
  json_decref(st->schedules);
  pthread_mutex_destroy(&st->lock);
  free(st);
}

static int create(void **out, emulator *emu) {
  scheduler_state *st = calloc(1, sizeof(*st));
  if (!st)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  pthread_mutex_init(&st->lock, NULL);
  st->emu = emu;
  st->groups = json_object();
  st->schedules = json_object();
  emulator_clock_init(&st->clock, "AIRGAP_SCHEDULER_CLOCK_SPEED");
  if (!st->groups || !st->schedules || !(st->delivery = delivery_acquire(emu))) {
    destroy(st);
    return airgap_error_set(AIRGAP_ERROR, "cannot create EventBridge Scheduler's state");
  }
  *out = st;
  return 0;
}

static void reset(void *state) {
  scheduler_state *st = state;
  pthread_mutex_lock(&st->lock);
  json_object_clear(st->groups);
  json_object_clear(st->schedules);
  pthread_mutex_unlock(&st->lock);
}

static void shutdown_scheduler(void *state) {
  scheduler_state *st = state;
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
    {"CreateSchedule", scheduler_create_schedule},
    {"CreateScheduleGroup", create_group},
    {"DeleteSchedule", scheduler_delete_schedule},
    {"DeleteScheduleGroup", delete_group},
    {"GetSchedule", scheduler_get_schedule},
    {"GetScheduleGroup", get_group},
    {"ListScheduleGroups", list_groups},
    {"ListSchedules", scheduler_list_schedules},
    {"ListTagsForResource", list_tags},
    {"TagResource", tag_resource},
    {"UntagResource", untag_resource},
    {"UpdateSchedule", scheduler_update_schedule},
};

const aws_service aws_service_scheduler = {
    .name = "scheduler",
    .model_name = "scheduler",
    .operations = operations,
    .operation_count = sizeof(operations) / sizeof(operations[0]),
    .create = create,
    .reset = reset,
    .shutdown = shutdown_scheduler,
    .destroy = destroy,
    .internal_endpoint = scheduler_internal,
};
