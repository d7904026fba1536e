/*
 * logs_lambda.c — Lambda's function logs in AWS's shapes, for the Lambda
 * service to call (logs.h): the per-environment stream name and the START,
 * output, END and REPORT events of one invocation, written through
 * logs_events_write. Output lines become one event each (newline kept), as
 * the Lambda runtime's log capture does; a line longer than the event limit
 * is cut there.
 */
#include "common/codec.h"
#include "common/error.h"
#include "emulator/logs/logs_int.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOGS_LAMBDA_MAX_LINES 10000 /* per invocation; the rest is dropped */

void logs_lambda_stream_name(char out[LOGS_LAMBDA_STREAM_MAX], int64_t now_ms,
                             const char *version) {
  unsigned char raw[16];
  char hex[33];
  if (RAND_bytes(raw, sizeof(raw)) != 1)
    memset(raw, 0, sizeof(raw));
  codec_hex_encode(hex, raw, sizeof(raw));
  time_t t = (time_t)(now_ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(out, LOGS_LAMBDA_STREAM_MAX, "%04d/%02d/%02d/[%.40s]%s", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, version ? version : "$LATEST", hex);
}

int logs_lambda_write(emulator *emu, const char *account, const char *region,
                      const logs_lambda_invocation *inv) {
  char group[600], start[300], end[200], report[600];
  if (!inv->function_name || !inv->stream || !inv->request_id)
    return airgap_error_set(AIRGAP_EINVALID, "a Lambda invocation needs its function, stream "
                                             "and request id");
  snprintf(group, sizeof(group), "/aws/lambda/%.500s", inv->function_name);
  snprintf(start, sizeof(start), "START RequestId: %.64s Version: %.40s\n", inv->request_id,
           inv->version ? inv->version : "$LATEST");
  snprintf(end, sizeof(end), "END RequestId: %.64s\n", inv->request_id);
  double duration = (double)(inv->end_ms - inv->start_ms);
  if (duration < 0)
    duration = 0;
  int n = snprintf(report, sizeof(report),
                   "REPORT RequestId: %.64s\tDuration: %.2f ms\tBilled Duration: %.0f ms\t"
                   "Memory Size: %d MB\tMax Memory Used: %d MB\t",
                   inv->request_id, duration, duration < 1 ? 1 : duration, /* whole ms */
                   inv->memory_mb, inv->max_memory_used_mb);
  if (inv->init_duration_ms >= 0 && n > 0 && (size_t)n < sizeof(report))
    n += snprintf(report + n, sizeof(report) - (size_t)n, "Init Duration: %.2f ms\t",
                  inv->init_duration_ms);
  if (n > 0 && (size_t)n < sizeof(report) - 1)
    snprintf(report + n, sizeof(report) - (size_t)n, "\n");

  /* START, one event per output line, END, REPORT. */
  size_t cap = 3, lines = 0;
  for (size_t i = 0; inv->output && i < inv->output_len; i++)
    cap += inv->output[i] == '\n';
  cap += 1;
  if (cap > LOGS_LAMBDA_MAX_LINES + 3)
    cap = LOGS_LAMBDA_MAX_LINES + 3;
  logs_event_in *ev = calloc(cap, sizeof(*ev));
  if (!ev)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  ev[lines++] = (logs_event_in){inv->start_ms, start, 0};
  const char *p = inv->output, *stop = inv->output ? inv->output + inv->output_len : NULL;
  while (p && p < stop && lines < cap - 2) {
    const char *nl = memchr(p, '\n', (size_t)(stop - p));
    size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(stop - p);
    ev[lines++] = (logs_event_in){inv->start_ms, p, len};
    p += len;
  }
  ev[lines++] = (logs_event_in){inv->end_ms, end, 0};
  ev[lines++] = (logs_event_in){inv->end_ms, report, 0};
  int rc = logs_events_write(emu, account, region, group, inv->stream, ev, lines);
  free(ev);
  return rc;
}
