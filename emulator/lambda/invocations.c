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

#define TAIL_BYTES 4096

static char *log_tail(lambda_runtime *rt, lambda_inv *inv, const char *container) {
  double ms = (double)(clock_monotonic_ms() - inv->started_ms);
  long long memory = json_integer_value(json_object_get(inv->config, "MemorySize"));
  dynbuf b;
  dynbuf_init(&b, 1 << 20);
  dynbuf_printf(&b, "START RequestId: %s Version: %s\n", inv->id, inv->version);
  char *out = NULL;
  size_t len = 0;
  if (container && rt->direct &&
      emulator_containers_logs(&out, &len, rt->containers, container, inv->log_since_ms, 1 << 20) ==
          0)
    dynbuf_append(&b, out, len);
  free(out);
  dynbuf_printf(&b, "END RequestId: %s\n", inv->id);
  dynbuf_printf(&b,
                "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %.0f ms\tMemory "
                "Size: %lld MB\t\n",
                inv->id, ms, ms < 1 ? 1 : ms + 0.5, memory);
  size_t n = 0;
  char *text = dynbuf_take(&b, &n);
  if (!text)
    return NULL;
  size_t from = n > TAIL_BYTES ? n - TAIL_BYTES : 0;
  char *b64 = codec_base64_encode(text + from, n - from);
  free(text);
  return b64;
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
  if (out && inv->tail) {
    /* The container id is still known while the invocation is being
     * finished: look it up by the environment that ran it. */
    char *tail = log_tail(rt, inv, inv->container);
    if (tail)
      json_object_set_new(out, "LogResult", json_string(tail));
    free(tail);
  }
  aws_call *call = inv->call;
  inv->call = NULL;
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
