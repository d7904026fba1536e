/*
 * sm_batch.c — BatchGetSecretValue: the AWSCURRENT values of up to 20
 * secrets named in SecretIdList, or of the secrets ListSecrets' Filters
 * select (paginated, MaxResults 1..20). A secret that cannot be read does not
 * fail the call: it is reported in Errors with the code GetSecretValue would
 * have answered (ResourceNotFoundException, InvalidRequestException for a
 * secret scheduled for deletion, DecryptionFailure), as AWS does.
 */
#include "common/jsonutil.h"
#include "emulator/secretsmanager/sm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SM_BATCH_MAX 20

static json_t *api_error(const char *id, const char *code, const char *message) {
  return json_pack("{s:s, s:s, s:s}", "SecretId", id, "ErrorCode", code, "Message", message);
}

/* Values of the secrets in ids (validated), errors for the rest. */
static void by_ids(sm_state *st, aws_call *call, json_t *ids, json_t *values, json_t *errors) {
  size_t i;
  json_t *v;
  json_array_foreach(ids, i, v) {
    const char *id = json_string_value(v);
    const char *code = NULL, *message = NULL;
    json_t *secret = sm_find_secret(st, call, id);
    json_t *out = NULL;
    if (!secret) {
      code = "ResourceNotFoundException";
      message = "Secrets Manager can't find the specified secret.";
    } else if (json_object_get(secret, "DeletedDate")) {
      code = "InvalidRequestException";
      message = "You can't perform this operation on the secret because it was marked for "
                "deletion.";
    } else {
      out = sm_current_value(st, secret, &code, &message);
    }
    if (out)
      json_array_append_new(values, out);
    else
      json_array_append_new(errors, api_error(id, code, message));
  }
}

void sm_batch_get_secret_value(aws_call *call, json_t *input) {
  json_t *ids = json_object_get(input, "SecretIdList");
  json_t *filters = json_object_get(input, "Filters");
  json_t *max = json_object_get(input, "MaxResults");
  size_t limit = SM_BATCH_MAX, offset = 0;
  if (!ids == !filters) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "Either 'SecretIdList' or 'Filters' must be provided, but not both.");
    return;
  }
  if (ids) {
    size_t i;
    json_t *v;
    if (json_array_size(ids) < 1 || json_array_size(ids) > SM_BATCH_MAX) {
      aws_call_fail(call, 400, "InvalidParameterException",
                    "SecretIdList must name 1 to %d secrets.", SM_BATCH_MAX);
      return;
    }
    if (max || json_object_get(input, "NextToken")) {
      aws_call_fail(call, 400, "InvalidParameterException",
                    "MaxResults and NextToken can only be used with Filters.");
      return;
    }
    json_array_foreach(ids, i, v) {
      size_t n = json_string_length(v);
      if (!json_is_string(v) || n < 1 || n > 2048) {
        aws_call_fail(call, 400, "InvalidParameterException",
                      "Invalid SecretId: it must be 1 to 2048 characters.");
        return;
      }
    }
  } else {
    if (max && (json_integer_value(max) < 1 || json_integer_value(max) > SM_BATCH_MAX)) {
      aws_call_fail(call, 400, "InvalidParameterException", "MaxResults must be between 1 and %d.",
                    SM_BATCH_MAX);
      return;
    }
    if (sm_page_args(call, input, &limit, &offset) < 0 || !sm_filters_arg(call, filters))
      return;
    if (!max)
      limit = SM_BATCH_MAX;
  }
  sm_state *st = sm_state_of(call);
  json_t *values = json_array(), *errors = json_array();
  json_t *reply = json_object();
  pthread_mutex_lock(&st->lock);
  if (ids) {
    by_ids(st, call, ids, values, errors);
  } else {
    char prefix[128];
    int plen =
        snprintf(prefix, sizeof(prefix), "%s/%s/", aws_call_account(call), aws_call_region(call));
    sm_purge(st);
    size_t n = 0;
    json_t **found = calloc(json_object_size(st->secrets) + 1, sizeof(*found));
    const char *slot;
    json_t *secret;
    json_object_foreach(st->secrets, slot, secret) {
      if (found && strncmp(slot, prefix, (size_t)plen) == 0 &&
          !json_object_get(secret, "DeletedDate") && sm_filters_match(secret, filters))
        found[n++] = secret;
    }
    if (!found || sm_sort_by_created(found, n) < 0) {
      pthread_mutex_unlock(&st->lock);
      free(found);
      json_decref(values);
      json_decref(errors);
      json_decref(reply);
      aws_call_fail(call, 500, "InternalServiceError", "out of memory");
      return;
    }
    for (size_t i = offset; i < n && i < offset + limit; i++) {
      const char *code = NULL, *message = NULL;
      json_t *out = sm_current_value(st, found[i], &code, &message);
      if (out)
        json_array_append_new(values, out);
      else
        json_array_append_new(errors, api_error(jsonutil_string(found[i], "Name"), code, message));
    }
    if (offset + limit < n) {
      char tok[32];
      snprintf(tok, sizeof(tok), "%zu", offset + limit);
      json_object_set_new(reply, "NextToken", json_string(tok));
    }
    free(found);
  }
  pthread_mutex_unlock(&st->lock);
  json_object_set_new(reply, "SecretValues", values);
  json_object_set_new(reply, "Errors", errors);
  aws_call_reply(call, reply);
}
