/*
 * scheduler_schedules.c — schedules: CreateSchedule, UpdateSchedule (a full
 * replacement, as AWS's is), GetSchedule, DeleteSchedule and ListSchedules,
 * with AWS's checks of what the model alone does not check (names,
 * expressions, time zones, flexible windows, target ARNs, retry ranges,
 * dates). A schedule is stored as its input members plus what the service
 * adds; its next fire time is computed by scheduler_fire.c.
 */
#include "emulator/scheduler/scheduler_int.h"

#include "common/jsonutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void scheduler_token(char out[32], size_t pos) { snprintf(out, 32, "p%zu", pos); }

int scheduler_token_parse(const char *token, size_t *pos) {
  if (token[0] != 'p' || !token[1] || strlen(token) > 12 ||
      strspn(token + 1, "0123456789") != strlen(token + 1))
    return -1;
  *pos = (size_t)strtoull(token + 1, NULL, 10);
  return 0;
}

static void schedule_arn(char *out, size_t size, aws_call *call, const char *group,
                         const char *name) {
  snprintf(out, size, "arn:%s:scheduler:%s:%s:schedule/%s/%s", aws_call_partition(call),
           aws_call_region(call), aws_call_account(call), group, name);
}

/* A time zone name the tz database knows ("UTC", "Europe/Paris"). UTC is
 * known without the database. */
static int known_zone(const char *tz) {
  if (!strcmp(tz, "UTC") || !strcmp(tz, "Etc/UTC") || !strcmp(tz, "GMT"))
    return 1;
  return scheduler_tz_get(tz) != NULL;
}

static int arn_pattern(const char *arn, const char *service) {
  char prefix[48];
  snprintf(prefix, sizeof(prefix), ":%s:", service);
  return !strncmp(arn, "arn:aws", 7) && strstr(arn, prefix) != NULL;
}

/* The checks CreateSchedule and UpdateSchedule share. 0, or answered (-1). */
static int check_input(aws_call *call, json_t *in) {
  const char *expr = jsonutil_string(in, "ScheduleExpression");
  const char *tz = jsonutil_string(in, "ScheduleExpressionTimezone");
  const char *desc = jsonutil_string(in, "Description");
  const char *state = jsonutil_string(in, "State");
  const char *group = jsonutil_string(in, "GroupName");
  json_t *window = json_object_get(in, "FlexibleTimeWindow");
  json_t *target = json_object_get(in, "Target");
  if (scheduler_check_name(call, jsonutil_string(in, "Name"), "name") < 0 ||
      (group && scheduler_check_name(call, group, "groupName") < 0))
    return -1;
  if (strlen(expr) < 1 || strlen(expr) > 256) {
    scheduler_fail_constraint(call, expr, "scheduleExpression",
                              strlen(expr) < 1 ? "have length greater than or equal to 1"
                                               : "have length less than or equal to 256");
    return -1;
  }
  if (scheduler_expression_check(expr) < 0) {
    scheduler_fail_validation(call, "Invalid Schedule Expression %.256s.", expr);
    return -1;
  }
  if (tz && !known_zone(tz)) {
    scheduler_fail_validation(call, "Invalid ScheduleExpressionTimezone %.64s.", tz);
    return -1;
  }
  if (desc && strlen(desc) > 512) {
    scheduler_fail_constraint(call, desc, "description", "have length less than or equal to 512");
    return -1;
  }
  if (state && strcmp(state, "ENABLED") && strcmp(state, "DISABLED")) {
    scheduler_fail_constraint(call, state, "state", "satisfy enum value set: [ENABLED, DISABLED]");
    return -1;
  }
  const char *mode = jsonutil_string(window, "Mode");
  json_t *minutes = json_object_get(window, "MaximumWindowInMinutes");
  if (strcmp(mode, "OFF") && strcmp(mode, "FLEXIBLE")) {
    scheduler_fail_constraint(call, mode, "flexibleTimeWindow.mode",
                              "satisfy enum value set: [OFF, FLEXIBLE]");
    return -1;
  }
  if (!strcmp(mode, "FLEXIBLE") && !minutes) {
    scheduler_fail_validation(call,
                              "MaximumWindowInMinutes must be provided when Mode is FLEXIBLE.");
    return -1;
  }
  if (!strcmp(mode, "OFF") && minutes) {
    scheduler_fail_validation(call,
                              "MaximumWindowInMinutes must not be provided when Mode is OFF.");
    return -1;
  }
  if (minutes && (json_integer_value(minutes) < 1 || json_integer_value(minutes) > 1440)) {
    char v[32];
    snprintf(v, sizeof(v), "%lld", (long long)json_integer_value(minutes));
    scheduler_fail_constraint(call, v, "flexibleTimeWindow.maximumWindowInMinutes",
                              json_integer_value(minutes) < 1
                                  ? "have value greater than or equal to 1"
                                  : "have value less than or equal to 1440");
    return -1;
  }
  const char *tarn = jsonutil_string(target, "Arn");
  const char *role = jsonutil_string(target, "RoleArn");
  if (strlen(tarn) < 1 || strlen(tarn) > 1600 || strncmp(tarn, "arn:", 4)) {
    scheduler_fail_validation(call, "Invalid target arn %.256s.", tarn);
    return -1;
  }
  if (strlen(role) > 1600 || !arn_pattern(role, "iam") || !strstr(role, ":role/")) {
    scheduler_fail_constraint(
        call, role, "target.roleArn",
        "satisfy regular expression pattern: "
        "^arn:aws(-[a-z]+)?:iam::\\d{12}:role\\/(service-role\\/){0,1}[a-zA-Z0-9\\+=,\\.@\\-_]+$");
    return -1;
  }
  const char *input = jsonutil_string(target, "Input");
  if (input && !*input) {
    scheduler_fail_constraint(call, input, "target.input",
                              "have length greater than or equal to 1");
    return -1;
  }
  json_t *retry = json_object_get(target, "RetryPolicy");
  json_t *attempts = json_object_get(retry, "MaximumRetryAttempts");
  json_t *age = json_object_get(retry, "MaximumEventAgeInSeconds");
  if (attempts && (json_integer_value(attempts) < 0 || json_integer_value(attempts) > 185)) {
    char v[32];
    snprintf(v, sizeof(v), "%lld", (long long)json_integer_value(attempts));
    scheduler_fail_constraint(call, v, "target.retryPolicy.maximumRetryAttempts",
                              json_integer_value(attempts) < 0
                                  ? "have value greater than or equal to 0"
                                  : "have value less than or equal to 185");
    return -1;
  }
  if (age && (json_integer_value(age) < 60 || json_integer_value(age) > 86400)) {
    char v[32];
    snprintf(v, sizeof(v), "%lld", (long long)json_integer_value(age));
    scheduler_fail_constraint(call, v, "target.retryPolicy.maximumEventAgeInSeconds",
                              json_integer_value(age) < 60
                                  ? "have value greater than or equal to 60"
                                  : "have value less than or equal to 86400");
    return -1;
  }
  const char *dlq = jsonutil_string(json_object_get(target, "DeadLetterConfig"), "Arn");
  if (dlq && !arn_pattern(dlq, "sqs")) {
    scheduler_fail_constraint(call, dlq, "target.deadLetterConfig.arn",
                              "satisfy regular expression pattern: "
                              "^arn:aws(-[a-z]+)?:sqs:[a-z0-9\\-]+:\\d{12}:[a-zA-Z0-9\\-_]+$");
    return -1;
  }
  const char *group_id =
      jsonutil_string(json_object_get(target, "SqsParameters"), "MessageGroupId");
  if (group_id && (strlen(group_id) < 1 || strlen(group_id) > 128)) {
    scheduler_fail_constraint(call, group_id, "target.sqsParameters.messageGroupId",
                              "have length less than or equal to 128");
    return -1;
  }
  json_t *eb = json_object_get(target, "EventBridgeParameters");
  const char *source = jsonutil_string(eb, "Source");
  if (source && !strncmp(source, "aws.", 4)) {
    scheduler_fail_validation(call, "Source must not start with the reserved prefix aws.");
    return -1;
  }
  json_t *start = json_object_get(in, "StartDate"), *end = json_object_get(in, "EndDate");
  if (start && end && json_number_value(end) <= json_number_value(start)) {
    scheduler_fail_validation(call, "The EndDate must be after the StartDate.");
    return -1;
  }
  return 0;
}

/* The stored form: the input's members, without ClientToken. */
static json_t *stored_from(json_t *in) {
  json_t *s = json_deep_copy(in);
  json_object_del(s, "ClientToken");
  if (!json_object_get(s, "State"))
    json_object_set_new(s, "State", json_string("ENABLED"));
  if (!json_object_get(s, "GroupName"))
    json_object_set_new(s, "GroupName", json_string("default"));
  return s;
}

static void put_schedule(aws_call *call, json_t *in, int update) {
  scheduler_state *st = scheduler_state_of(call);
  if (check_input(call, in) < 0)
    return;
  const char *name = jsonutil_string(in, "Name");
  const char *group = jsonutil_string(in, "GroupName");
  if (!group)
    group = "default";
  char arn[512];
  schedule_arn(arn, sizeof(arn), call, group, name);
  pthread_mutex_lock(&st->lock);
  if (!scheduler_group_get(st, call, group)) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 404, "ResourceNotFoundException", "Schedule group %s does not exist.",
                  group);
    return;
  }
  json_t *old = json_object_get(st->schedules, arn);
  if (!update && old) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 409, "ConflictException", "Schedule %s already exists.", name);
    return;
  }
  if (update && !old) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 404, "ResourceNotFoundException", "Schedule %s does not exist.", name);
    return;
  }
  json_t *s = stored_from(in);
  json_t *now = scheduler_now_json();
  json_object_set_new(s, "Arn", json_string(arn));
  json_object_set(s, "CreationDate", old ? json_object_get(old, "CreationDate") : now);
  json_object_set(s, "LastModificationDate", now);
  json_decref(now);
  json_object_set_new(s, "Account", json_string(aws_call_account(call)));
  json_object_set_new(s, "Region", json_string(aws_call_region(call)));
  json_object_set_new(st->schedules, arn, s);
  scheduler_schedule_arm(st, s);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_pack("{s:s}", "ScheduleArn", arn));
}

void scheduler_create_schedule(aws_call *call, json_t *in) { put_schedule(call, in, 0); }
void scheduler_update_schedule(aws_call *call, json_t *in) { put_schedule(call, in, 1); }

/* The schedule named by in's Name and GroupName (borrowed, under lock), or
 * NULL after unlocking and answering. */
static json_t *find(scheduler_state *st, aws_call *call, json_t *in) {
  const char *name = jsonutil_string(in, "Name");
  const char *group = jsonutil_string(in, "GroupName");
  if (scheduler_check_name(call, name, "name") < 0 ||
      (group && scheduler_check_name(call, group, "groupName") < 0))
    return NULL;
  char arn[512];
  schedule_arn(arn, sizeof(arn), call, group ? group : "default", name);
  pthread_mutex_lock(&st->lock);
  json_t *s = json_object_get(st->schedules, arn);
  if (!s) {
    int group_exists = scheduler_group_get(st, call, group) != NULL;
    pthread_mutex_unlock(&st->lock);
    if (group_exists)
      aws_call_fail(call, 404, "ResourceNotFoundException", "Schedule %s does not exist.", name);
    else
      aws_call_fail(call, 404, "ResourceNotFoundException", "Schedule group %s does not exist.",
                    group);
  }
  return s;
}

void scheduler_get_schedule(aws_call *call, json_t *in) {
  scheduler_state *st = scheduler_state_of(call);
  json_t *s = find(st, call, in);
  if (!s)
    return;
  json_t *out = json_deep_copy(s);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}

void scheduler_delete_schedule(aws_call *call, json_t *in) {
  scheduler_state *st = scheduler_state_of(call);
  json_t *s = find(st, call, in);
  if (!s)
    return;
  json_object_del(st->schedules, jsonutil_string(s, "Arn"));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, json_object());
}

static int by_name(const void *a, const void *b) {
  return strcmp(jsonutil_string(*(json_t *const *)a, "Name"),
                jsonutil_string(*(json_t *const *)b, "Name"));
}

void scheduler_list_schedules(aws_call *call, json_t *in) {
  scheduler_state *st = scheduler_state_of(call);
  const char *group = jsonutil_string(in, "GroupName");
  const char *prefix = jsonutil_string(in, "NamePrefix");
  const char *state = jsonutil_string(in, "State");
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
  if (state && strcmp(state, "ENABLED") && strcmp(state, "DISABLED")) {
    scheduler_fail_constraint(call, state, "state", "satisfy enum value set: [ENABLED, DISABLED]");
    return;
  }
  if (token && scheduler_token_parse(token, &start) < 0) {
    scheduler_fail_validation(call, "Invalid NextToken.");
    return;
  }
  pthread_mutex_lock(&st->lock);
  if (group && !scheduler_group_get(st, call, group)) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 404, "ResourceNotFoundException", "Schedule group %s does not exist.",
                  group);
    return;
  }
  size_t n = 0, cap = json_object_size(st->schedules);
  json_t **all = calloc(cap ? cap : 1, sizeof(*all));
  const char *key;
  json_t *s;
  json_object_foreach(st->schedules, key, s) {
    if (!all || strcmp(jsonutil_string(s, "Account"), aws_call_account(call)) ||
        strcmp(jsonutil_string(s, "Region"), aws_call_region(call)) ||
        (group && strcmp(jsonutil_string(s, "GroupName"), group)) ||
        (prefix && strncmp(jsonutil_string(s, "Name"), prefix, strlen(prefix))) ||
        (state && strcmp(jsonutil_string(s, "State"), state)))
      continue;
    all[n++] = s;
  }
  qsort(all, n, sizeof(*all), by_name);
  json_t *list = json_array();
  for (size_t i = start; i < n && i < start + limit; i++) {
    json_t *x = all[i];
    json_array_append_new(
        list, json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:{s:O}}", "Arn", json_object_get(x, "Arn"),
                        "CreationDate", json_object_get(x, "CreationDate"), "GroupName",
                        json_object_get(x, "GroupName"), "LastModificationDate",
                        json_object_get(x, "LastModificationDate"), "Name",
                        json_object_get(x, "Name"), "State", json_object_get(x, "State"), "Target",
                        "Arn", json_object_get(json_object_get(x, "Target"), "Arn")));
  }
  json_t *out = json_pack("{s:o}", "Schedules", list);
  if (start + limit < n) {
    char next[32];
    scheduler_token(next, start + limit);
    json_object_set_new(out, "NextToken", json_string(next));
  }
  pthread_mutex_unlock(&st->lock);
  free(all);
  aws_call_reply(call, out);
}
