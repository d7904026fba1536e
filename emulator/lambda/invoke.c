/*
 * invoke.c — the Invoke operation: the invocation type, payload limits,
 * qualifier and alias routing (an alias with a weighted additional version
 * picks one per call), DryRun, then handing the call to the runtime
 * (runtime.c), which answers it when the function responds.
 */
#include "common/codec.h"
#include "common/error.h"
#include "common/log.h"
#include "emulator/lambda/lambda_int.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The alias's version for this call: its weighted additional version with
 * that probability, else its primary one. */
static const char *route(json_t *alias) {
  json_t *weights =
      json_object_get(json_object_get(alias, "RoutingConfig"), "AdditionalVersionWeights");
  const char *v;
  json_t *w;
  json_object_foreach(weights, v, w) {
    unsigned r = 0;
    RAND_bytes((unsigned char *)&r, sizeof(r));
    if ((double)r / 4294967296.0 < json_number_value(w))
      return v;
  }
  return json_string_value(json_object_get(alias, "FunctionVersion"));
}

void lambda_invoke(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  const char *type = json_string_value(json_object_get(input, "InvocationType"));
  const char *log_type = json_string_value(json_object_get(input, "LogType"));
  const char *payload64 = json_string_value(json_object_get(input, "Payload"));
  int stream = strcmp(aws_call_operation(call), "InvokeWithResponseStream") == 0;
  if (!type)
    type = "RequestResponse";
  if (strcmp(type, "RequestResponse") != 0 && (stream || strcmp(type, "Event") != 0) &&
      strcmp(type, "DryRun") != 0) {
    lambda_fail_validation(call, type, "invocationType",
                           stream ? "Member must satisfy enum value set: [RequestResponse, DryRun]"
                                  : "Member must satisfy enum value set: [Event, RequestResponse, "
                                    "DryRun]");
    return;
  }
  if (log_type && strcmp(log_type, "None") != 0 && strcmp(log_type, "Tail") != 0) {
    lambda_fail_validation(call, log_type, "logType",
                           "Member must satisfy enum value set: [None, Tail]");
    return;
  }
  int event = strcmp(type, "Event") == 0;
  unsigned char *payload = NULL;
  size_t len = 0;
  if (payload64 && codec_base64_decode(&payload, &len, payload64, strlen(payload64)) < 0) {
    aws_call_fail(call, 400, "InvalidRequestContentException", "Could not parse request body.");
    return;
  }
  size_t limit = event ? LAMBDA_MAX_ASYNC_PAYLOAD : LAMBDA_MAX_SYNC_PAYLOAD;
  if (len > limit) {
    free(payload);
    aws_call_fail(call, 413, "RequestEntityTooLargeException",
                  "%zu byte payload is too large for the %s invocation type (limit %zu bytes)", len,
                  event ? "Event" : "RequestResponse", limit);
    return;
  }
  if (len) {
    /* The payload must be JSON, as AWS requires. */
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)payload, len, JSON_DECODE_ANY, &jerr);
    if (!doc) {
      free(payload);
      aws_call_fail(call, 400, "InvalidRequestContentException",
                    "Could not parse request body into json: Could not parse payload into json: "
                    "%s",
                    jerr.text);
      return;
    }
    json_decref(doc);
  }
  char q[160];
  json_t *f = lambda_function_lock(st, call, input, q, sizeof(q));
  if (!f) {
    free(payload);
    return;
  }
  const char *version_q = q;
  json_t *alias = *q ? json_object_get(json_object_get(f, "Aliases"), q) : NULL;
  if (alias)
    version_q = route(alias);
  json_t *code = NULL;
  char version[160];
  json_t *config = lambda_function_version_to_run(f, version_q, &code, version, sizeof(version));
  if (!config) {
    char arn[512];
    lambda_function_arn(arn, sizeof(arn), aws_call_region(call), aws_call_account(call),
                        json_string_value(json_object_get(f, "Name")), q);
    pthread_mutex_unlock(&st->lock);
    free(payload);
    aws_call_fail(call, 404, "ResourceNotFoundException", "Function not found: %s", arn);
    return;
  }
  const char *state = json_string_value(json_object_get(config, "State"));
  if (state && strcmp(state, "Failed") == 0) {
    /* AWS's answer for a function that is not Active, with the StateReason
     * GetFunction shows (which names a missing image), so the cause is not
     * one more call away. */
    const char *reason = json_string_value(json_object_get(config, "StateReason"));
    char why[1024];
    snprintf(why, sizeof(why), "%s", reason ? reason : "");
    pthread_mutex_unlock(&st->lock);
    free(payload);
    aws_call_fail(call, 409, "ResourceConflictException",
                  "The operation cannot be performed at this time. The function is currently in "
                  "the following state: Failed%s%s",
                  *why ? ". " : "", why);
    return;
  }
  json_t *reserved = json_object_get(f, "Concurrency");
  if (reserved && json_integer_value(reserved) == 0) {
    pthread_mutex_unlock(&st->lock);
    free(payload);
    aws_call_fail_fields(
        call, 429, "TooManyRequestsException",
        json_pack("{s:s}", "Reason", "ReservedFunctionConcurrentInvocationLimitExceeded"),
        "Rate Exceeded.");
    return;
  }
  if (strcmp(type, "DryRun") == 0) {
    pthread_mutex_unlock(&st->lock);
    free(payload);
    aws_call_reply(call, json_pack("{s:i}", "StatusCode", 204));
    return;
  }
  /* Copies of what the runtime needs, taken under the lock. */
  json_t *config_copy = json_deep_copy(config), *code_copy = json_deep_copy(code);
  char function_arn[512], invoked_arn[512];
  lambda_function_arn(function_arn, sizeof(function_arn), aws_call_region(call),
                      aws_call_account(call), json_string_value(json_object_get(f, "Name")), NULL);
  lambda_function_arn(invoked_arn, sizeof(invoked_arn), aws_call_region(call),
                      aws_call_account(call), json_string_value(json_object_get(f, "Name")), q);
  int reserved_n = reserved ? (int)json_integer_value(reserved) : -1;
  json_t *async = event ? lambda_async_settings(f, q, config) : NULL;
  pthread_mutex_unlock(&st->lock);

  lambda_runtime *rt = lambda_runtime_get(st, call);
  if (rt) {
    lambda_invocation_spec spec = {
        .function_arn = function_arn,
        .invoked_arn = invoked_arn,
        .version = version,
        .config = config_copy,
        .code = code_copy,
        .reserved = reserved_n,
        .payload = payload,
        .payload_len = len,
        .client_context = json_string_value(json_object_get(input, "ClientContext")),
        .tail = log_type && strcmp(log_type, "Tail") == 0,
        .event = event,
        .stream = stream,
        .async = async,
    };
    lambda_runtime_invoke(rt, call, &spec);
  }
  json_decref(async);
  json_decref(config_copy);
  json_decref(code_copy);
  free(payload);
}

int lambda_invoke_internal(lambda_state *st, const char *function_arn, const char *payload,
                           size_t len, lambda_done_fn done, void *done_payload) {
  return lambda_invoke_internal_stream(st, function_arn, payload, len, NULL, done, done_payload);
}

int lambda_invoke_internal_stream(lambda_state *st, const char *function_arn, const char *payload,
                                  size_t len, lambda_chunk_fn chunk, lambda_done_fn done,
                                  void *done_payload) {
  /* arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>] */
  char buf[512], region[64], account[32], name[128], q[160] = "";
  if (!function_arn || strlen(function_arn) >= sizeof(buf)) {
    log_warn("lambda", "cannot invoke %s: not a function ARN", function_arn ? function_arn : "");
    return -1;
  }
  snprintf(buf, sizeof(buf), "%s", function_arn);
  char *parts[8];
  size_t count = 0;
  for (char *p = buf; p && count < 8;) {
    parts[count++] = p;
    p = strchr(p, ':');
    if (p)
      *p++ = '\0';
  }
  if (count < 7 || strcmp(parts[0], "arn") != 0 || strcmp(parts[2], "lambda") != 0 ||
      strcmp(parts[5], "function") != 0 || strlen(parts[3]) >= sizeof(region) ||
      strlen(parts[4]) >= sizeof(account) || strlen(parts[6]) >= sizeof(name) ||
      (count == 8 && strlen(parts[7]) >= sizeof(q))) {
    log_warn("lambda", "cannot invoke %s: not a function ARN", function_arn);
    return -1;
  }
  snprintf(region, sizeof(region), "%s", parts[3]);
  snprintf(account, sizeof(account), "%s", parts[4]);
  snprintf(name, sizeof(name), "%s", parts[6]);
  if (count == 8)
    snprintf(q, sizeof(q), "%s", parts[7]);
  char key[256], arn[512], version[160];
  snprintf(key, sizeof(key), "%s/%s/%s", account, region, name);
  pthread_mutex_lock(&st->lock);
  json_t *f = json_object_get(st->functions, key);
  if (f)
    lambda_function_settle(f);
  const char *version_q = q;
  json_t *alias = f && *q ? json_object_get(json_object_get(f, "Aliases"), q) : NULL;
  if (alias)
    version_q = route(alias);
  json_t *code = NULL;
  json_t *config =
      f ? lambda_function_version_to_run(f, version_q, &code, version, sizeof(version)) : NULL;
  if (!config) {
    pthread_mutex_unlock(&st->lock);
    log_warn("lambda", "cannot invoke %s: no such function", function_arn);
    return -1;
  }
  json_t *config_copy = json_deep_copy(config), *code_copy = json_deep_copy(code);
  json_t *async = done ? json_object() : lambda_async_settings(f, q, config);
  json_t *reserved = json_object_get(f, "Concurrency");
  int reserved_n = reserved ? (int)json_integer_value(reserved) : -1;
  lambda_function_arn(arn, sizeof(arn), region, account, name, NULL);
  pthread_mutex_unlock(&st->lock);
  lambda_runtime *rt = lambda_runtime_get(st, NULL);
  int error = -1;
  if (rt && config_copy && code_copy && async) {
    lambda_invocation_spec spec = {
        .function_arn = arn,
        .invoked_arn = function_arn,
        .version = version,
        .config = config_copy,
        .code = code_copy,
        .reserved = reserved_n,
        .payload = (const unsigned char *)payload,
        .payload_len = len,
        .event = done == NULL,
        .async = done ? NULL : async,
        .done = done,
        .done_payload = done_payload,
        .chunk = chunk,
    };
    error = lambda_runtime_invoke(rt, NULL, &spec);
  }
  json_decref(async);
  json_decref(config_copy);
  json_decref(code_copy);
  return error;
}
