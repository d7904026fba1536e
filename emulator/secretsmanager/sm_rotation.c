/*
 * sm_rotation.c — RotateSecret and CancelRotateSecret, with the rotation
 * function invoked through emulator/lambda/lambda.h.
 *
 * RotateSecret validates and stores the rotation configuration
 * (RotationEnabled, RotationLambdaARN, RotationRules), answers with the new
 * version's id (ClientRequestToken, made when not given) and then runs the
 * rotation off the request thread, as AWS does: the function is invoked,
 * one step after the other, with {"Step", "SecretId" (the ARN),
 * "ClientRequestToken"} for createSecret, setSecret, testSecret and
 * finishSecret (with RotateImmediately=false only testSecret, to test the
 * configuration). The function does the work itself, calling this emulator
 * back (PutSecretValue with AWSPENDING, UpdateSecretVersionStage moving
 * AWSCURRENT). A step that fails stops the rotation and leaves AWSPENDING
 * where it is, so the next RotateSecret answers that a previous rotation
 * is not complete; when finishSecret made the new version AWSCURRENT,
 * AWSPENDING is taken off it and LastRotatedDate set.
 *
 * A function that does not exist answers AccessDeniedException, AWS's
 * answer when it cannot invoke the function. Each rotation runs on a thread
 * of its own (rotations are rare and block on the function); the service's
 * shutdown waits for them.
 */
#include "common/codec.h"
#include "common/error.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "emulator/lambda/lambda.h"
#include "emulator/secretsmanager/sm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rotation {
  sm_state *st;
  char slot[700];
  char *arn, *function, *token;
  int immediately;
} rotation;

static void rotation_free(rotation *r) {
  free(r->arn);
  free(r->function);
  free(r->token);
  free(r);
}

/* One step; 0 when the function succeeded. */
static int step(rotation *r, const char *name) {
  json_t *p = json_pack("{s:s, s:s, s:s}", "Step", name, "SecretId", r->arn, "ClientRequestToken",
                        r->token);
  char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;
  json_decref(p);
  if (!text)
    return -1;
  lambda_outcome o;
  int rc = lambda_invoke_wait(&o, r->st->emu, r->function, text, strlen(text));
  free(text);
  if (rc == 0 && (o.error_code || o.function_error)) {
    log_warn("secretsmanager", "rotation of %s: %s failed: %.300s", r->arn, name,
             o.error_code ? o.message : o.payload);
    rc = -1;
  } else if (rc < 0) {
    log_warn("secretsmanager", "rotation of %s: %s: %s", r->arn, name, airgap_error_last());
  }
  lambda_outcome_clear(&o);
  return rc;
}

static void *rotation_main(void *arg) {
  rotation *r = arg;
  sm_state *st = r->st;
  static const char *const steps[] = {"createSecret", "setSecret", "testSecret", "finishSecret"};
  int ok = 1;
  if (r->immediately) {
    for (size_t i = 0; ok && i < 4; i++)
      ok = step(r, steps[i]) == 0;
  } else {
    ok = step(r, "testSecret") == 0;
  }
  pthread_mutex_lock(&st->lock);
  json_t *secret = json_object_get(st->secrets, r->slot);
  json_t *version = json_object_get(json_object_get(secret, "Versions"), r->token);
  int current = 0;
  size_t i;
  json_t *l;
  json_array_foreach(json_object_get(version, "VersionStages"), i, l) {
    if (strcmp(json_string_value(l), "AWSCURRENT") == 0)
      current = 1;
  }
  if (ok && r->immediately && current) {
    sm_stage_move(secret, "AWSPENDING", NULL);
    json_object_set_new(secret, "LastRotatedDate", json_real(sm_now()));
  } else if (ok && r->immediately) {
    log_warn("secretsmanager", "rotation of %s: finishSecret left version %s without AWSCURRENT",
             r->arn, r->token);
  }
  st->rotations--;
  pthread_cond_broadcast(&st->rotations_idle);
  pthread_mutex_unlock(&st->lock);
  rotation_free(r);
  return NULL;
}

void sm_rotation_wait(sm_state *st) {
  pthread_mutex_lock(&st->lock);
  while (st->rotations > 0)
    pthread_cond_wait(&st->rotations_idle, &st->lock);
  pthread_mutex_unlock(&st->lock);
}

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

/* Whether a version other than AWSCURRENT's holds AWSPENDING. */
static int pending_rotation(json_t *secret) {
  const char *vid;
  json_t *v;
  json_object_foreach(json_object_get(secret, "Versions"), vid, v) {
    int pending = 0, current = 0;
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(v, "VersionStages"), i, l) {
      pending |= strcmp(json_string_value(l), "AWSPENDING") == 0;
      current |= strcmp(json_string_value(l), "AWSCURRENT") == 0;
    }
    if (pending && !current)
      return 1;
  }
  return 0;
}

void sm_rotate_secret(aws_call *call, json_t *input) {
  const char *lambda = jsonutil_string(input, "RotationLambdaARN");
  const char *token = jsonutil_string(input, "ClientRequestToken");
  json_t *rules = json_object_get(input, "RotationRules");
  if (sm_token_arg(call, token) < 0 || !rules_ok(call, rules))
    return;
  sm_state *st = sm_state_of(call);
  json_t *secret = sm_lock_secret(st, call, input, 1);
  if (!secret)
    return;
  if (!lambda)
    lambda = jsonutil_string(secret, "RotationLambdaARN");
  if (!lambda) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "InvalidRequestException",
                  "No Lambda rotation function ARN is associated with this secret.");
    return;
  }
  if (pending_rotation(secret)) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "InvalidRequestException",
                  "A previous rotation isn't complete. That rotation will be reattempted.");
    return;
  }
  /* lambda may be the stored string this replaces: keep the new one first. */
  json_t *fn = json_string(lambda);
  json_object_set_new(secret, "RotationLambdaARN", fn);
  lambda = json_string_value(fn);
  if (rules)
    json_object_set(secret, "RotationRules", rules);
  json_object_set_new(secret, "RotationEnabled", json_true());
  rotation *r = calloc(1, sizeof(*r));
  char made[37];
  if (!token) {
    codec_uuid4(made);
    token = made;
  }
  if (r) {
    r->st = st;
    sm_slot(r->slot, sizeof(r->slot), jsonutil_string(secret, "Account"),
            jsonutil_string(secret, "Region"), jsonutil_string(secret, "Name"));
    r->arn = strdup(jsonutil_string(secret, "ARN"));
    r->function = strdup(lambda);
    r->token = strdup(token);
    r->immediately = !json_is_false(json_object_get(input, "RotateImmediately"));
  }
  json_t *out = json_pack("{s:O, s:O, s:s}", "ARN", json_object_get(secret, "ARN"), "Name",
                          json_object_get(secret, "Name"), "VersionId", token);
  pthread_mutex_unlock(&st->lock);
  /* Lambda's lock is taken without Secrets Manager's. */
  if (!r || !r->arn || !r->function || !r->token || !lambda_function_exists(st->emu, r->function)) {
    if (r)
      rotation_free(r);
    json_decref(out);
    aws_call_fail(call, 400, "AccessDeniedException",
                  "Secrets Manager cannot invoke the specified Lambda function. Ensure that the "
                  "function policy grants access to the principal secretsmanager.amazonaws.com.");
    return;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t th;
  pthread_mutex_lock(&st->lock);
  st->rotations++;
  int rc = pthread_create(&th, &attr, rotation_main, r);
  if (rc != 0)
    st->rotations--;
  pthread_mutex_unlock(&st->lock);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    rotation_free(r);
    json_decref(out);
    aws_call_fail(call, 500, "InternalServiceError", "cannot start the rotation");
    return;
  }
  aws_call_reply(call, out);
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
