/*
 * logging.c — an invocation's log, as Lambda writes it: START, what the
 * function printed while it ran, END and REPORT, into CloudWatch Logs (the
 * function's LoggingConfig: its LogGroup, default /aws/lambda/<name>, and
 * LogFormat Text or JSON) on the stream of its execution environment
 * (YYYY/MM/DD/[<version>]<hex>, the name AWS_LAMBDA_LOG_STREAM_NAME gives
 * the function), and the last 4 KB of it for LogType=Tail.
 *
 * What the function printed is read back from its container (a Docker call,
 * or through the supervisor's channel in a job: never made under rt->lock).
 * The engine
 * copies a container's output asynchronously, so a job waits a moment after
 * the invocation ended before reading it. A Tail answer runs on a thread of
 * its own (the caller is waiting); the rest go to one writer thread per
 * runtime, started at the first, so logging never delays an answer.
 *
 * Max Memory Used is not measured (no per-invocation memory figure comes
 * from the engine cheaply): the REPORT line says 0 MB.
 */
#include "common/clock.h"
#include "common/codec.h"
#include "common/dynbuf.h"
#include "common/error.h"
#include "common/log.h"
#include "emulator/lambda/lambda_runtime_int.h"
#include "emulator/logs/logs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TAIL_BYTES 4096
#define SETTLE_MS 30
#define OUTPUT_LIMIT (1u << 20)
#define MAX_QUEUED 10000

struct lambda_log_job {
  lambda_log_job *next;
  lambda_runtime *rt;
  aws_call *call; /* Tail: the caller to answer with out */
  json_t *out;
  char *container;
  char *function_name, *group, *account, *region;
  char stream[LOGS_LAMBDA_STREAM_MAX];
  int json_format;
  int streaming;  /* the Tail call is an InvokeWithResponseStream */
  int cloudwatch; /* write to CloudWatch Logs (Logs is served) */
  char id[37];
  char version[160];
  char *extra; /* a platform line after the output ("Task timed out ...") */
  uint64_t start_ms, end_ms;
  double init_ms;
  long long memory;
};

static void job_free(lambda_log_job *j) {
  if (!j)
    return;
  free(j->container);
  free(j->function_name);
  free(j->group);
  free(j->account);
  free(j->region);
  free(j->extra);
  json_decref(j->out);
  free(j);
}

static void iso(char *out, size_t n, uint64_t ms) {
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char day[32];
  strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, n, "%s.%03uZ", day, (unsigned)(ms % 1000));
}

/* The invocation's platform lines around output, as one text (Text) or as
 * events (json_format): START, the output lines, END, REPORT. */
static int write_cloudwatch(lambda_log_job *j, const char *output, size_t output_len) {
  emulator *emu = j->rt->emu;
  double duration = (double)(j->end_ms - j->start_ms);
  if (!j->json_format && strcmp(j->group + strlen("/aws/lambda/"), j->function_name) == 0 &&
      strncmp(j->group, "/aws/lambda/", 12) == 0) {
    logs_lambda_invocation li = {
        .function_name = j->function_name,
        .stream = j->stream,
        .request_id = j->id,
        .version = j->version,
        .start_ms = (int64_t)j->start_ms,
        .end_ms = (int64_t)j->end_ms,
        .memory_mb = (int)j->memory,
        .max_memory_used_mb = 0,
        .init_duration_ms = j->init_ms,
        .output = output,
        .output_len = output_len,
    };
    return logs_lambda_write(emu, j->account, j->region, &li);
  }
  /* A group of the function's own choosing, or JSON: the same events,
   * formatted here (JSON: AWS's platform.start / platform.report records). */
  char start[400], end[300], report[800], ts[40], te[40];
  iso(ts, sizeof(ts), j->start_ms);
  iso(te, sizeof(te), j->end_ms);
  double billed = duration < 1 ? 1 : duration; /* whole milliseconds already */
  if (j->json_format) {
    snprintf(start, sizeof(start),
             "{\"time\":\"%s\",\"type\":\"platform.start\",\"record\":{\"requestId\":\"%s\","
             "\"version\":\"%s\"}}",
             ts, j->id, j->version);
    end[0] = '\0';
    int n = snprintf(report, sizeof(report),
                     "{\"time\":\"%s\",\"type\":\"platform.report\",\"record\":{\"requestId\":"
                     "\"%s\",\"metrics\":{\"durationMs\":%.3f,\"billedDurationMs\":%.0f,"
                     "\"memorySizeMB\":%lld,\"maxMemoryUsedMB\":0",
                     te, j->id, duration, billed, j->memory);
    if (j->init_ms >= 0 && n > 0 && (size_t)n < sizeof(report))
      n += snprintf(report + n, sizeof(report) - (size_t)n, ",\"initDurationMs\":%.3f", j->init_ms);
    if (n > 0 && (size_t)n < sizeof(report))
      snprintf(report + n, sizeof(report) - (size_t)n, "},\"status\":\"%s\"}}",
               j->extra ? "timeout" : "success");
  } else {
    snprintf(start, sizeof(start), "START RequestId: %s Version: %s\n", j->id, j->version);
    snprintf(end, sizeof(end), "END RequestId: %s\n", j->id);
    int n = snprintf(report, sizeof(report),
                     "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %.0f ms\t"
                     "Memory Size: %lld MB\tMax Memory Used: 0 MB\t",
                     j->id, duration, billed, j->memory);
    if (j->init_ms >= 0 && n > 0 && (size_t)n < sizeof(report))
      n += snprintf(report + n, sizeof(report) - (size_t)n, "Init Duration: %.2f ms\t", j->init_ms);
    if (n > 0 && (size_t)n < sizeof(report) - 1)
      snprintf(report + n, sizeof(report) - (size_t)n, "\n");
  }
  size_t cap = 5;
  for (size_t i = 0; i < output_len; i++)
    cap += output[i] == '\n';
  logs_event_in *ev = calloc(cap, sizeof(*ev));
  if (!ev)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  size_t n = 0;
  ev[n++] = (logs_event_in){(int64_t)j->start_ms, start, 0};
  const char *p = output, *stop = output ? output + output_len : NULL;
  while (p && p < stop && n < cap - 3) {
    const char *nl = memchr(p, '\n', (size_t)(stop - p));
    size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(stop - p);
    ev[n++] = (logs_event_in){(int64_t)j->start_ms, p, len};
    p += len;
  }
  if (*end)
    ev[n++] = (logs_event_in){(int64_t)j->end_ms, end, 0};
  ev[n++] = (logs_event_in){(int64_t)j->end_ms, report, 0};
  int rc = logs_events_write(emu, j->account, j->region, j->group, j->stream, ev, n);
  free(ev);
  return rc;
}

/* Reads the output, writes the log, answers a Tail call. */
static void job_run(lambda_log_job *j) {
  lambda_runtime *rt = j->rt;
  uint64_t now = clock_wall_ms();
  if (now < j->end_ms + SETTLE_MS)
    usleep((useconds_t)((j->end_ms + SETTLE_MS - now) * 1000));
  dynbuf out;
  dynbuf_init(&out, OUTPUT_LIMIT + 4096);
  char *text = NULL;
  size_t len = 0;
  /* At shutdown the containers are going: what is left is written
   * without their output rather than hold the emulator's exit up. */
  if (j->container && !__atomic_load_n(&rt->closing, __ATOMIC_RELAXED) &&
      emulator_containers_logs(&text, &len, rt->containers, j->container, j->start_ms,
                               OUTPUT_LIMIT) == 0)
    dynbuf_append(&out, text, len);
  free(text);
  if (j->extra)
    dynbuf_append(&out, j->extra, strlen(j->extra));
  size_t olen = 0;
  char *output = dynbuf_take(&out, &olen);
  if (j->cloudwatch && write_cloudwatch(j, output, olen) < 0)
    log_warn("lambda", "cannot write the log of %s to %s: %s", j->id, j->group,
             airgap_error_last());
  if (j->call) {
    dynbuf b;
    dynbuf_init(&b, OUTPUT_LIMIT + 8192);
    dynbuf_printf(&b, "START RequestId: %s Version: %s\n", j->id, j->version);
    if (output)
      dynbuf_append(&b, output, olen);
    dynbuf_printf(&b, "END RequestId: %s\n", j->id);
    double duration = (double)(j->end_ms - j->start_ms);
    dynbuf_printf(&b,
                  "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %.0f ms\tMemory "
                  "Size: %lld MB\tMax Memory Used: 0 MB\t\n",
                  j->id, duration, duration < 1 ? 1 : duration, j->memory);
    size_t n = 0;
    char *log = dynbuf_take(&b, &n);
    char *b64 = NULL;
    if (log) {
      size_t from = n > TAIL_BYTES ? n - TAIL_BYTES : 0;
      b64 = codec_base64_encode(log + from, n - from);
      free(log);
    }
    if (j->streaming) {
      const char *p64 = json_string_value(json_object_get(j->out, "Payload"));
      unsigned char *payload = NULL;
      size_t plen = 0;
      if (p64)
        codec_base64_decode(&payload, &plen, p64, strlen(p64));
      char fe[64] = "";
      const char *f = json_string_value(json_object_get(j->out, "FunctionError"));
      if (f)
        snprintf(fe, sizeof(fe), "%s", f);
      lambda_stream_reply(j->call, j->out, (const char *)payload, plen, *fe ? fe : NULL, b64);
      free(payload);
    } else {
      if (b64)
        json_object_set_new(j->out, "LogResult", json_string(b64));
      aws_call_reply(j->call, j->out);
    }
    free(b64);
    j->out = NULL;
    j->call = NULL;
  }
  free(output);
}

static void thread_done(lambda_runtime *rt) {
  pthread_mutex_lock(&rt->lock);
  rt->threads--;
  pthread_cond_broadcast(&rt->cond);
  pthread_mutex_unlock(&rt->lock);
}

static void *tail_main(void *arg) {
  lambda_log_job *j = arg;
  lambda_runtime *rt = j->rt;
  job_run(j);
  job_free(j);
  thread_done(rt);
  return NULL;
}

static void *writer_main(void *arg) {
  lambda_runtime *rt = arg;
  pthread_mutex_lock(&rt->lock);
  for (;;) {
    while (!rt->log_queue && !rt->closing)
      pthread_cond_wait(&rt->log_cond, &rt->lock);
    lambda_log_job *j = rt->log_queue;
    if (!j)
      break; /* closing, nothing left */
    rt->log_queue = j->next;
    rt->log_queued--;
    pthread_mutex_unlock(&rt->lock);
    job_run(j);
    job_free(j);
    pthread_mutex_lock(&rt->lock);
  }
  rt->log_writer = 0;
  rt->threads--;
  pthread_cond_broadcast(&rt->cond);
  pthread_mutex_unlock(&rt->lock);
  return NULL;
}

static int start_thread(lambda_runtime *rt, void *(*fn)(void *), void *arg) {
  pthread_t th;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  rt->threads++;
  int rc = pthread_create(&th, &attr, fn, arg);
  pthread_attr_destroy(&attr);
  if (rc != 0)
    rt->threads--;
  return rc == 0 ? 0 : -1;
}

/* "arn:aws:lambda:<region>:<account>:function:<name>" → its parts. */
static int arn_parts(const char *arn, char *region, size_t rn, char *account, size_t an) {
  const char *p[5];
  const char *s = arn;
  for (int i = 0; i < 5; i++) {
    s = s ? strchr(s, ':') : NULL;
    p[i] = s;
    if (s)
      s++;
  }
  if (!p[2] || !p[3] || !p[4] || (size_t)(p[3] - p[2] - 1) >= rn || (size_t)(p[4] - p[3] - 1) >= an)
    return -1;
  snprintf(region, rn, "%.*s", (int)(p[3] - p[2] - 1), p[2] + 1);
  snprintf(account, an, "%.*s", (int)(p[4] - p[3] - 1), p[3] + 1);
  return 0;
}

int lambda_log_invocation(lambda_runtime *rt, lambda_inv *inv, aws_call *call, json_t *out,
                          const char *extra) {
  int cloudwatch = logs_available(rt->emu);
  if (!call && !cloudwatch)
    return -1;
  if (!call && rt->log_queued >= MAX_QUEUED)
    return -1; /* the writer is far behind: this log is dropped */
  lambda_log_job *j = calloc(1, sizeof(*j));
  if (!j)
    return -1;
  const json_t *lc = json_object_get(inv->config, "LoggingConfig");
  const char *name = json_string_value(json_object_get(inv->config, "FunctionName"));
  const char *group = json_string_value(json_object_get(lc, "LogGroup"));
  const char *format = json_string_value(json_object_get(lc, "LogFormat"));
  char region[64], account[32], fallback[200];
  if (arn_parts(inv->function_arn, region, sizeof(region), account, sizeof(account)) < 0) {
    free(j);
    return -1;
  }
  snprintf(fallback, sizeof(fallback), "/aws/lambda/%s", name ? name : "");
  j->rt = rt;
  j->call = call;
  j->out = out;
  j->cloudwatch = cloudwatch;
  j->container = inv->container ? strdup(inv->container) : NULL;
  j->function_name = strdup(name ? name : "");
  j->group = strdup(group && *group ? group : fallback);
  j->account = strdup(account);
  j->region = strdup(region);
  j->extra = extra ? strdup(extra) : NULL;
  j->json_format = format && strcmp(format, "JSON") == 0;
  j->streaming = inv->streaming;
  snprintf(j->stream, sizeof(j->stream), "%s", inv->stream);
  snprintf(j->id, sizeof(j->id), "%s", inv->id);
  snprintf(j->version, sizeof(j->version), "%s", inv->version);
  j->end_ms = clock_wall_ms();
  j->start_ms = inv->log_since_ms ? inv->log_since_ms : j->end_ms;
  j->init_ms = inv->init_ms;
  j->memory = json_integer_value(json_object_get(inv->config, "MemorySize"));
  if (!j->memory)
    j->memory = LAMBDA_DEFAULT_MEMORY;
  if (!j->function_name || !j->group || !j->account || !j->region || (extra && !j->extra)) {
    j->out = NULL;
    job_free(j);
    return -1;
  }
  if (call) {
    if (start_thread(rt, tail_main, j) < 0) {
      j->out = NULL;
      job_free(j);
      return -1;
    }
    return 0;
  }
  if (!rt->log_writer) {
    if (start_thread(rt, writer_main, rt) < 0) {
      job_free(j);
      return -1;
    }
    rt->log_writer = 1;
  }
  if (!rt->log_queue)
    rt->log_last = NULL;
  *(rt->log_last ? &rt->log_last->next : &rt->log_queue) = j;
  rt->log_last = j;
  rt->log_queued++;
  pthread_cond_signal(&rt->log_cond);
  return 0;
}
