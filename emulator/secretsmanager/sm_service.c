/*
 * sm_service.c — the Secrets Manager service's aws_service: state, the
 * operation table, and finding a secret by any of the names AWS accepts
 * (name, full ARN, ARN without the random suffix).
 *
 * BatchGetSecretValue postdates Debian's botocore model: the model generator
 * adds it (emulator/protocol/models/gen_models.py). Replication (ReplicateSecretToRegions…) answers
 * the protocol layer's "not implemented".
 */
#include "common/clock.h"
#include "common/error.h"
#include "emulator/secretsmanager/sm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sm_state *sm_state_of(aws_call *call) { return aws_call_state(call); }

double sm_now(void) { return (double)clock_wall_ms() / 1000.0; }

void sm_slot(char *out, size_t n, const char *account, const char *region, const char *name) {
  snprintf(out, n, "%s/%s/%s", account, region, name);
}

void sm_purge(sm_state *st) {
  double now = sm_now();
  const char *k;
  json_t *s, *tmp;
  json_object_foreach_safe(st->secrets, tmp, k, s) {
    json_t *d = json_object_get(s, "DeletedDate");
    if (d && json_number_value(d) <= now)
      json_object_del(st->secrets, k);
  }
}

/* The secret whose ARN is arn, or arn plus the "-XXXXXX" suffix. */
static json_t *by_arn(sm_state *st, const char *arn) {
  size_t n = strlen(arn);
  const char *k;
  json_t *s;
  json_object_foreach(st->secrets, k, s) {
    const char *have = json_string_value(json_object_get(s, "ARN"));
    size_t hn = strlen(have);
    if (strcmp(have, arn) == 0 || (hn == n + 7 && strncmp(have, arn, n) == 0 && have[n] == '-'))
      return s;
  }
  return NULL;
}

json_t *sm_find_secret(sm_state *st, aws_call *call, const char *id) {
  sm_purge(st);
  if (strncmp(id, "arn:", 4) == 0)
    return by_arn(st, id);
  char slot[2200];
  sm_slot(slot, sizeof(slot), aws_call_account(call), aws_call_region(call), id);
  return json_object_get(st->secrets, slot);
}

json_t *sm_lock_secret(sm_state *st, aws_call *call, json_t *input, int live) {
  const char *id = json_string_value(json_object_get(input, "SecretId"));
  if (!id || !*id || strlen(id) > 2048) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "Invalid SecretId: it must be 1 to 2048 characters.");
    return NULL;
  }
  pthread_mutex_lock(&st->lock);
  json_t *secret = sm_find_secret(st, call, id);
  if (!secret) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ResourceNotFoundException",
                  "Secrets Manager can't find the specified secret.");
    return NULL;
  }
  if (live && json_object_get(secret, "DeletedDate")) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "InvalidRequestException",
                  "You can't perform this operation on the secret because it was marked for "
                  "deletion.");
    return NULL;
  }
  return secret;
}

static int sm_create(void **state, emulator *emu) {
  sm_state *st = calloc(1, sizeof(*st));
  if (!st)
    return airgap_error_set(AIRGAP_ERROR, "Secrets Manager: out of memory");
  st->secrets = json_object();
  st->emu = emu;
  if (!st->secrets || pthread_mutex_init(&st->lock, NULL) != 0 ||
      pthread_cond_init(&st->rotations_idle, NULL) != 0) {
    json_decref(st->secrets);
    free(st);
    return airgap_error_set(AIRGAP_ERROR, "Secrets Manager: cannot create the secret store");
  }
  *state = st;
  return 0;
}

static void sm_reset(void *state) {
  sm_state *st = state;
  pthread_mutex_lock(&st->lock);
  json_object_clear(st->secrets);
  pthread_mutex_unlock(&st->lock);
}

static void sm_destroy(void *state) {
  sm_state *st = state;
  if (!st)
    return;
  json_decref(st->secrets);
  pthread_mutex_destroy(&st->lock);
  pthread_cond_destroy(&st->rotations_idle);
  free(st);
}

static void sm_shutdown(void *state) { sm_rotation_wait(state); }

static const aws_operation sm_operations[] = {
    {"BatchGetSecretValue", sm_batch_get_secret_value},
    {"CancelRotateSecret", sm_cancel_rotate_secret},
    {"CreateSecret", sm_create_secret},
    {"DeleteResourcePolicy", sm_delete_resource_policy},
    {"DeleteSecret", sm_delete_secret},
    {"DescribeSecret", sm_describe_secret},
    {"GetRandomPassword", sm_get_random_password},
    {"GetResourcePolicy", sm_get_resource_policy},
    {"GetSecretValue", sm_get_secret_value},
    {"ListSecretVersionIds", sm_list_secret_version_ids},
    {"ListSecrets", sm_list_secrets},
    {"PutResourcePolicy", sm_put_resource_policy},
    {"PutSecretValue", sm_put_secret_value},
    {"RestoreSecret", sm_restore_secret},
    {"RotateSecret", sm_rotate_secret},
    {"TagResource", sm_tag_resource},
    {"UntagResource", sm_untag_resource},
    {"UpdateSecret", sm_update_secret},
    {"UpdateSecretVersionStage", sm_update_secret_version_stage},
    {"ValidateResourcePolicy", sm_validate_resource_policy},
};

const aws_service aws_service_secretsmanager = {
    .name = "secretsmanager",
    .model_name = "secretsmanager",
    .operations = sm_operations,
    .operation_count = sizeof(sm_operations) / sizeof(sm_operations[0]),
    .create = sm_create,
    .reset = sm_reset,
    .shutdown = sm_shutdown,
    .destroy = sm_destroy,
};
