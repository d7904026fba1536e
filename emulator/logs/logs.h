/*
 * logs.h — CloudWatch Logs for the emulator's other services: Lambda writes
 * a function's output to /aws/lambda/<name> the way AWS does (a stream per
 * container, "START RequestId: …", the function's lines, "END RequestId: …",
 * "REPORT RequestId: … Duration: … ms …"), through this call rather than
 * over HTTP.
 *
 * Example (a Lambda invocation's lines):
 *
 *   logs_event_in ev[] = {{now_ms, "START RequestId: r Version: $LATEST", 0}, …};
 *   logs_events_write(emu, account, region, "/aws/lambda/fn",
 *                     "2024/01/01/[$LATEST]0123abcd…", ev, 3);
 *
 * The group and the stream are created when absent (as the Lambda service
 * does in AWS); events are stored in the order given with the same rules as
 * PutLogEvents apart from the batch limits (no 24-hour span check; events
 * too old for the group's retention are dropped). Thread-safe.
 */
#ifndef AIRGAP_EMULATOR_LOGS_H
#define AIRGAP_EMULATOR_LOGS_H

#include <stddef.h>
#include <stdint.h>

typedef struct emulator emulator;

typedef struct logs_event_in {
  int64_t timestamp_ms; /* milliseconds since the epoch */
  const char *message;  /* borrowed; copied by the call */
  size_t len;           /* 0: strlen(message) */
} logs_event_in;

/* 1 when this emulator serves CloudWatch Logs (SERVICES includes "logs"). */
int logs_available(emulator *emu);

/* Writes n events to group/stream of account/region (both created when
 * absent). Returns the number of events stored (>= 0), AIRGAP_ENOTFOUND when
 * Logs is not served, AIRGAP_EINVALID for an invalid group or stream name,
 * or -1 when the store is full; message in airgap_error_last(). */
int logs_events_write(emulator *emu, const char *account, const char *region, const char *group,
                      const char *stream, const logs_event_in *events, size_t n);

/* ---- Lambda's function logs ---- */

#define LOGS_LAMBDA_STREAM_MAX 128

/* The stream name Lambda gives a new execution environment,
 * "YYYY/MM/DD/[<version>]<32 hex digits>" (UTC date of now_ms, random hex). */
void logs_lambda_stream_name(char out[LOGS_LAMBDA_STREAM_MAX], int64_t now_ms, const char *version);

typedef struct logs_lambda_invocation {
  const char *function_name; /* the group is /aws/lambda/<function_name> */
  const char *stream;        /* from logs_lambda_stream_name, per environment */
  const char *request_id;
  const char *version;      /* "$LATEST" or a number */
  int64_t start_ms, end_ms; /* wall clock of the invocation */
  int memory_mb, max_memory_used_mb;
  double init_duration_ms; /* < 0: a warm start (no Init Duration) */
  const char *output;      /* what the function wrote (may be NULL) */
  size_t output_len;
} logs_lambda_invocation;

/* Writes one invocation as AWS does: "START RequestId: <id> Version: <v>",
 * the output one event per line, "END RequestId: <id>" and "REPORT
 * RequestId: <id>\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128
 * MB\tMax Memory Used: 40 MB\t[Init Duration: 100.00 ms\t]" (every message
 * ends with a newline, as AWS's do). Returns what logs_events_write returns. */
int logs_lambda_write(emulator *emu, const char *account, const char *region,
                      const logs_lambda_invocation *inv);

#endif
