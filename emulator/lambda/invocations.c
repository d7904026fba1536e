/*
 * invocations.c — how an invocation ends: the synchronous caller's answer
 * (StatusCode, X-Amz-Function-Error, X-Amz-Executed-Version, LogResult),
 * timeouts in AWS's words, and retries of asynchronous invocations (twice,
 * as AWS does by default).
 *
 * LogType=Tail returns the last 4 KB of the invocation's log as Lambda
 * writes it: the START, END and REPORT lines around what the function
 * printed while it ran (read back from its container when the engine is
 * reachable directly; through the supervisor's channel only the platform's
 * lines are known).
 */
#include "common/clock.h"
#include "common/codec.h"
#include "common/dynbuf.h"
#include "emulator/lambda/lambda_runtime_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAIL_BYTES 4096
#define TAIL_SETTLE_US 30000

/* A synchronous answer waiting for its log tail, finished on a thread of
 * its own: reading the container's output is a Docker call (not to be made
 * under rt->lock), and the engine copies a container's output
 * asynchronously, so what the function printed just before answering
 * needs a moment to be readable. */
typedef struct tail_job {
  lambda_runtime *rt;
  aws_call *call;
  json_t *out;
  char *container;
  char id[37];
  char version[160];
  uint64_t since_ms;
  double duration_ms;
  long long memory;
} tail_job;

static void *tail_main(void *arg) {
  tail_job *t = arg;
  lambda_runtime *rt = t->rt;
  usleep(TAIL_SETTLE_US);
  dynbuf b;
  dynbuf_init(&b, 1 << 20);
  dynbuf_printf(&b, "START RequestId: %s Version: %s\n", t->id, t->version);
  char *text = NULL;
  size_t len = 0;
  if (t->container && rt->direct &&
      emulator_containers_logs(&text, &len, rt->containers, t->container, t->since_ms, 1 << 20) ==
          0)
    dynbuf_append(&b, text, len);
  free(text);
  dynbuf_printf(&b, "END RequestId: %s\n", t->id);
  dynbuf_printf(&b,
                "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %.0f ms\tMemory "
                "Size: %lld MB\t\n",
                t->id, t->duration_ms, t->duration_ms < 1 ? 1 : t->duration_ms + 0.5, t->memory);
  size_t n = 0;
  char *log = dynbuf_take(&b, &n);
  if (log) {
    size_t from = n > TAIL_BYTES ? n - TAIL_BYTES : 0;
    char *b64 = codec_base64_encode(log + from, n - from);
    if (b64)
      json_object_set_new(t->out, "LogResult", json_string(b64));
    free(b64);
    free(log);
  }
  aws_call_reply(t->call, t->out);
  free(t->container);
  free(t);
  pthread_mutex_lock(&rt->lock);
  rt->threads--;
  pthread_cond_broadcast(&rt->cond);
  pthread_mutex_unlock(&rt->lock);
  return NULL;
}

/* Answers with out after adding the log tail; 0, or -1 when no thread
 * could be started (the caller answers without it). Caller holds rt->lock. */
static int reply_with_tail(lambda_runtime *rt, lambda_inv *inv, aws_call *call, json_t *out) {
  tail_job *t = calloc(1, sizeof(*t));
  if (!t)
    return -1;
  t->rt = rt;
  t->call = call;
  t->out = out;
  t->container = inv->container ? strdup(inv->container) : NULL;
  snprintf(t->id, sizeof(t->id), "%s", inv->id);
  snprintf(t->version, sizeof(t->version), "%s", inv->version);
  t->since_ms = inv->log_since_ms;
  t->duration_ms = (double)(clock_monotonic_ms() - inv->started_ms);
  t->memory = json_integer_value(json_object_get(inv->config, "MemorySize"));
  pthread_t th;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  rt->threads++;
  int rc = pthread_create(&th, &attr, tail_main, t);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    rt->threads--;
    free(t->container);
    free(t);
    return -1;
  }
  return 0;
}

/* An in-process RequestResponse caller (lambda.h) gets its result. */
static void done_once(lambda_inv *inv, const lambda_result *r) {
  lambda_done_fn fn = inv->done;
  inv->done = NULL;
  fn(r, inv->done_payload);
  lambda_inv_release(inv);
}

/* An asynchronous invocation that failed: again later, or given up. */
static void async_failed(lambda_runtime *rt, lambda_inv *inv) {
  if (inv->attempts < 2 && !rt->closing) {
    uint64_t delay = rt->retry_base_ms << inv->attempts;
    inv->attempts++;
    inv->delivered = 0;
    inv->env = NULL;
    lambda_runtime_retry_later(rt, inv, delay);
    return;
  }
  lambda_inv_release(inv);
}

void lambda_inv_finish(lambda_runtime *rt, lambda_inv *inv, const char *payload, size_t len,
                       const char *function_error) {
  if (inv->done) {
    lambda_result r = {NULL, NULL, payload ? payload : "", payload ? len : 0, function_error};
    done_once(inv, &r);
    return;
  }
  if (!inv->call) {
    if (function_error)
      async_failed(rt, inv);
    else
      lambda_inv_release(inv);
    return;
  }
  char *b64 = codec_base64_encode(payload ? payload : "", payload ? len : 0);
  json_t *out = json_pack("{s:i, s:s, s:s}", "StatusCode", 200, "Payload", b64 ? b64 : "",
                          "ExecutedVersion", inv->version);
  free(b64);
  if (out && function_error)
    json_object_set_new(out, "FunctionError", json_string(function_error));
  aws_call *call = inv->call;
  inv->call = NULL;
  if (out && inv->tail && reply_with_tail(rt, inv, call, out) == 0) {
    lambda_inv_release(inv);
    return;
  }
  lambda_inv_release(inv);
  if (out)
    aws_call_reply(call, out);
  else
    aws_call_fail(call, 500, "ServiceException", "out of memory");
}

void lambda_inv_timed_out(lambda_runtime *rt, lambda_inv *inv) {
  char body[256];
  snprintf(body, sizeof(body),
           "{\"errorType\":\"Sandbox.Timedout\",\"errorMessage\":\"RequestId: %s Error: Task "
           "timed out after %.2f seconds\"}",
           inv->id, inv->timeout_ms / 1000.0);
  lambda_inv_finish(rt, inv, body, strlen(body), "Unhandled");
}

void lambda_inv_fail(lambda_runtime *rt, lambda_inv *inv, int status, const char *code,
                     const char *message) {
  if (inv->done) {
    lambda_result r = {code, message, NULL, 0, NULL};
    done_once(inv, &r);
    return;
  }
  if (!inv->call) {
    async_failed(rt, inv);
    return;
  }
  aws_call *call = inv->call;
  inv->call = NULL;
  lambda_inv_release(inv);
  if (strcmp(code, "TooManyRequestsException") == 0)
    aws_call_fail_fields(
        call, status, code,
        json_pack("{s:s}", "Reason", "ReservedFunctionConcurrentInvocationLimitExceeded"), "%s",
        message);
  else
    aws_call_fail(call, status, code, "%s", message);
}
