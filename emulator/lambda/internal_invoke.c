/*
 * internal_invoke.c — lambda.h: invocations from other services in process
 * (the delivery engine's Lambda target, Secrets Manager's rotation, event
 * source mappings).
 *
 * The function is found by its ARN the way Invoke finds it (an alias stands
 * for its primary version), its configuration and code copied under the
 * service's lock, and the invocation handed to the same runtime a client's
 * Invoke uses, with no aws_call: an Event invocation gets Lambda's own
 * retries; a RequestResponse one reports to the caller's callback, which the
 * runtime calls exactly once (also when the invocation is dropped at
 * shutdown).
 */
#include "common/error.h"
#include "emulator/lambda/lambda_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the runtime needs, copied from the store under its lock. */
typedef struct target {
  char function_arn[512], invoked_arn[512], version[160];
  json_t *config, *code;
  int reserved;
} target;

/* Splits arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]. */
static int arn_split(const char *arn, char *region, char *account, char *name, char *qualifier) {
  char r[64] = "", a[16] = "", n[80] = "", q[160] = "";
  int got =
      arn ? sscanf(arn, "arn:%*[a-z-]:lambda:%63[^:]:%15[^:]:function:%79[^:]:%159s", r, a, n, q)
          : 0;
  if (got < 3 || strlen(a) != 12 || !*n)
    return airgap_error_set(AIRGAP_EINVALID, "not a Lambda function ARN: %.200s",
                            arn ? arn : "(null)");
  memcpy(region, r, sizeof(r));
  memcpy(account, a, sizeof(a));
  memcpy(name, n, sizeof(n));
  memcpy(qualifier, q, sizeof(q));
  return 0;
}

/* Finds the function (and version) arn names; *out filled on success. */
static int target_find(target *out, lambda_state *st, const char *arn) {
  char region[64], account[16], name[80], q[160], key[256];
  int error = arn_split(arn, region, account, name, q);
  if (error < 0)
    return error;
  snprintf(key, sizeof(key), "%s/%s/%s", account, region, name);
  pthread_mutex_lock(&st->lock);
  if (st->closing) {
    /* Shutting down: no new runtime may be made behind its back. */
    pthread_mutex_unlock(&st->lock);
    return airgap_error_set(AIRGAP_EBUSY, "Lambda is shutting down");
  }
  json_t *f = json_object_get(st->functions, key);
  json_t *code = NULL, *config = NULL;
  if (f) {
    lambda_function_settle(f);
    config = lambda_function_version_to_run(f, q, &code, out->version, sizeof(out->version));
  }
  if (!config) {
    pthread_mutex_unlock(&st->lock);
    return airgap_error_set(AIRGAP_ENOTFOUND, "Function not found: %.300s", arn);
  }
  const char *state = json_string_value(json_object_get(config, "State"));
  if (state && strcmp(state, "Failed") == 0) {
    pthread_mutex_unlock(&st->lock);
    return airgap_error_set(AIRGAP_ERROR, "the function %.200s failed to be created", arn);
  }
  json_t *reserved = json_object_get(f, "Concurrency");
  out->reserved = reserved ? (int)json_integer_value(reserved) : -1;
  out->config = json_deep_copy(config);
  out->code = json_deep_copy(code);
  lambda_function_arn(out->function_arn, sizeof(out->function_arn), region, account, name, NULL);
  lambda_function_arn(out->invoked_arn, sizeof(out->invoked_arn), region, account, name, q);
  pthread_mutex_unlock(&st->lock);
  if (!out->config || !out->code) {
    json_decref(out->config);
    json_decref(out->code);
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  }
  return 0;
}

int lambda_function_exists(emulator *emu, const char *function_arn) {
  lambda_state *st = emu ? emulator_service_state(emu, "lambda") : NULL;
  target t = {0};
  if (!st || target_find(&t, st, function_arn) < 0)
    return 0;
  json_decref(t.config);
  json_decref(t.code);
  return 1;
}

static int invoke(emulator *emu, const char *arn, const char *payload, size_t len, int event,
                  lambda_done_fn done, void *done_payload) {
  lambda_state *st = emu ? emulator_service_state(emu, "lambda") : NULL;
  if (!st)
    return airgap_error_set(AIRGAP_ENOTFOUND, "Lambda is not served by this emulator");
  size_t limit = event ? LAMBDA_MAX_ASYNC_PAYLOAD : LAMBDA_MAX_SYNC_PAYLOAD;
  if (len > limit)
    return airgap_error_set(AIRGAP_EINVALID,
                            "%zu byte payload is too large for the %s invocation type (limit %zu "
                            "bytes)",
                            len, event ? "Event" : "RequestResponse", (size_t)limit);
  json_t *doc = len ? json_loadb(payload, len, JSON_DECODE_ANY, NULL) : NULL;
  if (len && !doc)
    return airgap_error_set(AIRGAP_EINVALID, "the payload is not JSON");
  json_decref(doc);
  target t = {0};
  int error = target_find(&t, st, arn);
  if (error < 0)
    return error;
  if (t.reserved == 0) {
    /* Throttled for good: AWS keeps retrying an asynchronous event for up
     * to six hours; a poller keeps its batch. Both end the same here. */
    json_decref(t.config);
    json_decref(t.code);
    return airgap_error_set(AIRGAP_EBUSY, "%.300s: reserved concurrency is 0", arn);
  }
  lambda_runtime *rt = lambda_runtime_get(st, NULL);
  if (!rt) {
    json_decref(t.config);
    json_decref(t.code);
    return -1;
  }
  lambda_invocation_spec spec = {
      .function_arn = t.function_arn,
      .invoked_arn = t.invoked_arn,
      .version = t.version,
      .config = t.config,
      .code = t.code,
      .reserved = t.reserved,
      .payload = (const unsigned char *)payload,
      .payload_len = len,
      .event = event,
      .done = done,
      .done_payload = done_payload,
  };
  error = lambda_runtime_invoke(rt, NULL, &spec);
  json_decref(t.config);
  json_decref(t.code);
  if (error < 0)
    return airgap_error_set(AIRGAP_ERROR, "cannot queue the invocation of %.300s", arn);
  return 0;
}

int lambda_async_invoke(emulator *emu, const char *function_arn, const char *payload, size_t len) {
  lambda_state *st = emu ? emulator_service_state(emu, "lambda") : NULL;
  if (!st)
    return airgap_error_set(AIRGAP_ENOTFOUND, "Lambda is not served by this emulator");
  if (len > LAMBDA_MAX_ASYNC_PAYLOAD)
    return airgap_error_set(AIRGAP_EINVALID,
                            "%zu byte payload is too large for the Event invocation type (limit "
                            "%u bytes)",
                            len, LAMBDA_MAX_ASYNC_PAYLOAD);
  json_t *doc = len ? json_loadb(payload, len, JSON_DECODE_ANY, NULL) : NULL;
  if (len && !doc)
    return airgap_error_set(AIRGAP_EINVALID, "the payload is not JSON");
  json_decref(doc);
  target t = {0};
  int error = target_find(&t, st, function_arn);
  if (error < 0)
    return error;
  json_decref(t.config);
  json_decref(t.code);
  /* Lambda's own Event path (invoke.c): the function's event invoke config
   * (retries, maximum age, destinations) applies. */
  if (lambda_invoke_internal(st, function_arn, payload, len, NULL, NULL) < 0)
    return airgap_error_set(AIRGAP_ERROR, "cannot invoke %.300s (see the log)", function_arn);
  return 0;
}

int lambda_invoke_request(emulator *emu, const char *function_arn, const char *payload, size_t len,
                          lambda_done_fn done, void *done_payload) {
  if (!done)
    return airgap_error_set(AIRGAP_EINVALID, "lambda_invoke_request needs a callback");
  return invoke(emu, function_arn, payload, len, 0, done, done_payload);
}

/* ---- blocking ---- */

typedef struct waiter {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int done;
  lambda_outcome *out;
} waiter;

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void wait_done(const lambda_result *r, void *payload) {
  waiter *w = payload;
  lambda_outcome *o = w->out;
  o->error_code = dup_or_null(r->error_code);
  o->message = dup_or_null(r->message);
  o->function_error = dup_or_null(r->function_error);
  o->payload = malloc(r->len + 1);
  if (o->payload) {
    memcpy(o->payload, r->payload ? r->payload : "", r->len);
    o->payload[r->len] = '\0';
    o->len = r->len;
  }
  pthread_mutex_lock(&w->lock);
  w->done = 1;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->lock);
}

int lambda_invoke_wait(lambda_outcome *out, emulator *emu, const char *function_arn,
                       const char *payload, size_t len) {
  memset(out, 0, sizeof(*out));
  waiter w = {.done = 0, .out = out};
  pthread_mutex_init(&w.lock, NULL);
  pthread_cond_init(&w.cond, NULL);
  int error = lambda_invoke_request(emu, function_arn, payload, len, wait_done, &w);
  if (error == 0) {
    /* The runtime answers every invocation (its timeout, or shutdown). */
    pthread_mutex_lock(&w.lock);
    while (!w.done)
      pthread_cond_wait(&w.cond, &w.lock);
    pthread_mutex_unlock(&w.lock);
  }
  pthread_mutex_destroy(&w.lock);
  pthread_cond_destroy(&w.cond);
  return error;
}

void lambda_outcome_clear(lambda_outcome *o) {
  if (!o)
    return;
  free(o->error_code);
  free(o->message);
  free(o->payload);
  free(o->function_error);
  memset(o, 0, sizeof(*o));
}
