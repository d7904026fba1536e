/*
 * sm_rotation.c — RotateSecret and CancelRotateSecret without Lambda.
 *
 * RotateSecret validates and stores the rotation configuration
 * (RotationEnabled, RotationLambdaARN, RotationRules) and then, because this
 * emulator cannot invoke a rotation function yet, answers as AWS does when
 * the function cannot be invoked: AccessDeniedException "Secrets Manager
 * cannot invoke the specified Lambda function…". AWS invokes the function
 * both to rotate at once and, with RotateImmediately=false, to test the
 * configuration (testSecret), so both answer the same. The stored
 * configuration shows in DescribeSecret and ListSecrets, as it does in AWS
 * after such a failure. When Lambda lands, the four rotation steps
 * (createSecret, setSecret, testSecret, finishSecret) run here.
 */
#include "common/jsonutil.h"
#include "emulator/secretsmanager/sm_int.h"

#include <string.h>

static int rules_ok(aws_call *call, json_t *rules) {
  json_t *days = json_object_get(rules, "AutomaticallyAfterDays");
  const char *expr = jsonutil_string(rules, "ScheduleExpression");
  const char *duration = jsonutil_string(rules, "Duration");
  if (days && expr) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "You can't specify both AutomaticallyAfterDays and ScheduleExpression.");
    return 0;
  }
  if (days && (json_integer_value(days) < 1 || json_integer_value(days) > 1000)) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "AutomaticallyAfterDays must be between 1 and 1000.");
    return 0;
  }
  if (expr && strncmp(expr, "rate(", 5) != 0 && strncmp(expr, "cron(", 5) != 0) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "ScheduleExpression must be a rate() or cron() expression.");
    return 0;
  }
  if (duration && (strlen(duration) < 2 || duration[strlen(duration) - 1] != 'h')) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "Duration must be a number of hours such as 3h.");
    return 0;
  }
  return 1;
}

void sm_rotate_secret(aws_call *call, json_t *input) {
  const char *lambda = jsonutil_string(input, "RotationLambdaARN");
  json_t *rules = json_object_get(input, "RotationRules");
  if (sm_token_arg(call, jsonutil_string(input, "ClientRequestToken")) < 0 ||
      !rules_ok(call, rules))
    return;
  sm_state *st = sm_state_of(call);
  json_t *secret = sm_lock_secret(st, call, input, 1);
  if (!secret)
    return;
  if (!lambda && !json_object_get(secret, "RotationLambdaARN")) {
    aws_call_fail(call, 400, "InvalidRequestException",
                  "No Lambda rotation function ARN is associated with this secret.");
  } else {
    if (lambda)
      json_object_set_new(secret, "RotationLambdaARN", json_string(lambda));
    if (rules)
      json_object_set(secret, "RotationRules", rules);
    json_object_set_new(secret, "RotationEnabled", json_true());
    aws_call_fail(call, 400, "AccessDeniedException",
                  "Secrets Manager cannot invoke the specified Lambda function. Ensure that the "
                  "function policy grants access to the principal secretsmanager.amazonaws.com.");
  }
  pthread_mutex_unlock(&st->lock);
}

void sm_cancel_rotate_secret(aws_call *call, json_t *input) {
  sm_state *st = sm_state_of(call);
  json_t *secret = sm_lock_secret(st, call, input, 1);
  if (!secret)
    return;
  json_t *out = json_pack("{s:O, s:O}", "ARN", json_object_get(secret, "ARN"), "Name",
                          json_object_get(secret, "Name"));
  /* The version a rotation was preparing loses AWSPENDING. */
  json_t *stages = sm_version_stages(secret);
  const char *vid;
  json_t *labels;
  json_object_foreach(stages, vid, labels) {
    size_t i;
    json_t *l;
    json_array_foreach(labels, i, l) {
      if (strcmp(json_string_value(l), "AWSPENDING") == 0)
        json_object_set_new(out, "VersionId", json_string(vid));
    }
  }
  json_decref(stages);
  sm_stage_move(secret, "AWSPENDING", NULL);
  json_object_set_new(secret, "RotationEnabled", json_false());
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, out);
}
