/*
 * invocations.c — how an invocation ends: the synchronous caller's answer
 * (StatusCode, X-Amz-Function-Error, X-Amz-Executed-Version, LogResult),
 * timeouts in AWS's words, and retries of asynchronous invocations (twice,
 * as AWS does by default).
 *
 * The log of every invocation that ran (CloudWatch Logs, LogType=Tail) is
 * written by logging.c; what an Event invocation leads to once it is over
 * (destinations, the dead-letter queue) by destinations.c.
 */
#include "common/clock.h"
#include "common/codec.h"
#include "common/dynbuf.h"
#include "emulator/lambda/lambda_runtime_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* An in-process RequestResponse caller (lambda.h) gets its result. */
static void done_once(lambda_inv *inv, const lambda_result *r) {
  lambda_done_fn fn = inv->done;
  inv->done = NULL;
  fn(r, inv->done_payload);
  lambda_inv_release(inv);
}

/* An asynchronous invocation that failed: again later (up to its
 * MaximumRetryAttempts, while younger than its MaximumEventAgeInSeconds),
 * or given up, its record to the failure destinations. */
static void async_failed(lambda_runtime *rt, lambda_inv *inv, const char *payload, size_t len,
                         const char *function_error) {
  json_int_t retries = json_integer_value(json_object_get(inv->async, "Retries"));
  json_int_t max_age = json_integer_value(json_object_get(inv->async, "MaxAge"));
  uint64_t delay = rt->retry_base_ms << (inv->attempts < 16 ? inv->attempts : 16);
  if (!inv->async)
    retries = 2;
  int too_old = max_age > 0 && clock_wall_ms() + delay > inv->created_ms + (uint64_t)max_age * 1000;
  if (inv->attempts < retries && !too_old && !rt->closing) {
    inv->attempts++;
    inv->delivered = 0;
    inv->env = NULL;
    lambda_runtime_retry_later(rt, inv, delay);
    return;
  }
  lambda_async_outcome(rt, inv,
                       too_old && inv->attempts < retries ? "EventAgeExceeded" : "RetriesExhausted",
                       payload, len, function_error);
  lambda_inv_release(inv);
}

/* The function answered or failed; extra: a platform line for its log. */
static void finish(lambda_runtime *rt, lambda_inv *inv, const char *payload, size_t len,
                   const char *function_error, const char *extra) {
  if (inv->done) {
    if (inv->delivered)
      lambda_log_invocation(rt, inv, NULL, NULL, extra);
    lambda_result r = {NULL, NULL, payload ? payload : "", payload ? len : 0, function_error};
    done_once(inv, &r);
    return;
  }
  if (!inv->call) {
    if (inv->delivered)
      lambda_log_invocation(rt, inv, NULL, NULL, extra);
    if (function_error) {
      async_failed(rt, inv, payload, len, function_error);
    } else {
      lambda_async_outcome(rt, inv, "Success", payload, len, NULL);
      lambda_inv_release(inv);
    }
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
  /* A Tail answer waits for the log; any other is sent now, its log after. */
  if (out && inv->tail && inv->delivered && lambda_log_invocation(rt, inv, call, out, extra) == 0) {
    lambda_inv_release(inv);
    return;
  }
  if (inv->delivered)
    lambda_log_invocation(rt, inv, NULL, NULL, extra);
  int stream = inv->streaming;
  /* Until the hand-off to the runtime, and from its answer to here. */
  uint64_t before = inv->delivered && inv->t_back_ns ? inv->t_handed_ns - inv->t_arrive_ns : 0;
  uint64_t back = inv->t_back_ns;
  lambda_inv_release(inv);
  if (out && stream)
    lambda_stream_reply(call, out, payload, len, function_error, NULL);
  else if (out)
    aws_call_reply(call, out);
  else
    aws_call_fail(call, 500, "ServiceException", "out of memory");
  if (before) {
    lambda_timings *t = &rt->timings;
    t->to_runtime_ns[t->count % LAMBDA_TIMINGS] = before;
    t->own_ns[t->count++ % LAMBDA_TIMINGS] = before + (lambda_clock_ns() - back);
  }
}

uint64_t lambda_clock_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void lambda_inv_finish(lambda_runtime *rt, lambda_inv *inv, const char *payload, size_t len,
                       const char *function_error) {
  finish(rt, inv, payload, len, function_error, NULL);
}

void lambda_inv_timed_out(lambda_runtime *rt, lambda_inv *inv) {
  char body[256];
  snprintf(body, sizeof(body),
           "{\"errorType\":\"Sandbox.Timedout\",\"errorMessage\":\"RequestId: %s Error: Task "
           "timed out after %.2f seconds\"}",
           inv->id, inv->timeout_ms / 1000.0);
  char line[160];
  char ts[40];
  uint64_t ms = clock_wall_ms();
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(line, sizeof(line), "%s.%03uZ %s Task timed out after %.2f seconds\n", ts,
           (unsigned)(ms % 1000), inv->id, inv->timeout_ms / 1000.0);
  finish(rt, inv, body, strlen(body), "Unhandled", line);
}

void lambda_inv_fail(lambda_runtime *rt, lambda_inv *inv, int status, const char *code,
                     const char *message) {
  if (inv->done) {
    lambda_result r = {code, message, NULL, 0, NULL};
    done_once(inv, &r);
    return;
  }
  if (!inv->call) {
    json_t *err = json_pack("{s:s, s:s}", "errorMessage", message, "errorType", code);
    char *body = err ? json_dumps(err, JSON_COMPACT) : NULL;
    json_decref(err);
    async_failed(rt, inv, body, body ? strlen(body) : 0, "Unhandled");
    free(body);
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

/* ---- the emulator's own share (GET /_aws/lambda/timings) ---- */

static int by_value(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* p50, p99 and max of the first n of v (sorted here), in microseconds. */
static void percentiles(char *out, size_t size, uint64_t *v, size_t n) {
  qsort(v, n, sizeof(*v), by_value);
  size_t p99 = n * 99 / 100 < n ? n * 99 / 100 : n - 1;
  snprintf(out, size, "{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f}", n ? v[n / 2] / 1000.0 : 0.0,
           n ? v[p99] / 1000.0 : 0.0, n ? v[n - 1] / 1000.0 : 0.0);
}

void lambda_timings_handle(lambda_state *st, http_request *req) {
  const char *method = http_request_method(req);
  if (strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0) {
    http_request_respond_error(req, 405, "GET or DELETE only");
    return;
  }
  pthread_mutex_lock(&st->lock);
  lambda_runtime *rt = st->runtime;
  pthread_mutex_unlock(&st->lock);
  lambda_timings *copy = malloc(sizeof(*copy));
  if (!copy) {
    http_request_respond_error(req, 500, "out of memory");
    return;
  }
  copy->count = 0;
  if (rt) {
    pthread_mutex_lock(&rt->lock);
    memcpy(copy, &rt->timings, sizeof(*copy));
    if (strcmp(method, "DELETE") == 0)
      rt->timings.count = 0;
    pthread_mutex_unlock(&rt->lock);
  }
  size_t n = copy->count < LAMBDA_TIMINGS ? (size_t)copy->count : LAMBDA_TIMINGS;
  char own[128], to_runtime[128], body[384];
  percentiles(own, sizeof(own), copy->own_ns, n);
  percentiles(to_runtime, sizeof(to_runtime), copy->to_runtime_ns, n);
  snprintf(body, sizeof(body), "{\"invocations\":%llu,\"own_us\":%s,\"to_runtime_us\":%s}",
           (unsigned long long)copy->count, own, to_runtime);
  free(copy);
  http_request_respond(req, http_response_new(200, "application/json", body, strlen(body)));
}
