/*
 * service.c — the SQS service: binds the SQS engine (engine.c and the files
 * next to it) to the emulator's handler interface (emulator/service.h).
 *
 * Every operation of the model goes through one handler, which hands the
 * parsed input to the engine with the caller's account, region and endpoint
 * (queue URLs are built from the Host the client used) and answers the call
 * from the engine's completion — at once, or later for a long poll, from the
 * emulator's timer thread or from the thread of the call that sent the
 * message. The engine's clock is the wall clock, its timers the emulator's.
 */
#include "emulator/service.h"
#include "emulator/sqs/sqs_int.h"

#include "common/clock.h"
#include "common/http_server.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static uint64_t wall_ms(void *payload) {
  (void)payload;
  return clock_wall_ms();
}

static void *timer_add(void *payload, uint64_t delay_ms, void (*fn)(void *arg), void *arg) {
  return emulator_timer_add(payload, delay_ms, fn, arg);
}

static int timer_cancel(void *payload, void *timer) {
  (void)payload;
  return emulator_timer_cancel(timer);
}

/* AWS words a missing queue differently per protocol: the query protocol
 * (older SDKs) still says "… for this wsdl version.", JSON does not. */
static const char *protocol_message(aws_call *call, const sqs_error *error) {
  if (!strcmp(error->code, "QueueDoesNotExist") &&
      !strcmp(error->message, "The specified queue does not exist.") &&
      !strcmp(aws_call_protocol(call), "query"))
    return "The specified queue does not exist for this wsdl version.";
  return error->message;
}

static void answer(json_t *output, const sqs_error *error, void *payload) {
  aws_call *call = payload;
  if (error)
    aws_call_fail(call, error->status, error->code, "%s", protocol_message(call, error));
  else
    aws_call_reply(call, output);
}

/* 1 when a query-protocol call came to a queue's URL (/<account>/<name>)
 * rather than the service endpoint. */
static int on_queue_url(aws_call *call) {
  if (strcmp(aws_call_protocol(call), "query"))
    return 0;
  http_request *req = aws_call_http(call);
  const char *path = req ? http_request_path(req) : NULL;
  const char *slash = path && path[0] == '/' ? strchr(path + 1, '/') : NULL;
  return slash && slash[1];
}

static void sqs_handle(aws_call *call, json_t *input) {
  const char *operation = aws_call_operation(call);
  /* The operations that name no queue are refused on a queue's URL, as AWS
   * refuses them. */
  if ((!strcmp(operation, "CreateQueue") || !strcmp(operation, "ListQueues")) &&
      on_queue_url(call)) {
    aws_call_fail(call, 400, "InvalidAction", "The action %s is not valid for this endpoint.",
                  operation);
    return;
  }
  sqs_context ctx = {aws_call_account(call), aws_call_region(call), aws_call_endpoint(call)};
  sqs_engine_call(aws_call_state(call), &ctx, aws_call_operation(call), input, answer, call);
}

static int sqs_create(void **state, emulator *emu) {
  const char *delay = getenv("SQS_DELAY_RECENTLY_DELETED");
  sqs_hooks hooks = {wall_ms, timer_add, timer_cancel, emu,
                     delay && (strcmp(delay, "1") == 0 || strcasecmp(delay, "true") == 0)};
  sqs_engine *engine = NULL;
  int rc = sqs_engine_new(&engine, &hooks);
  if (rc < 0)
    return rc;
  *state = engine;
  return 0;
}

static void sqs_reset(void *state) { sqs_engine_reset(state); }
static void sqs_shutdown(void *state) { sqs_engine_shutdown(state); }
static void sqs_destroy(void *state) { sqs_engine_free(state); }

/* Every operation goes through sqs_handle; the engine dispatches. */
#define OPERATION(name, fn) {#name, sqs_handle},
static const aws_operation sqs_operations[] = {SQS_OPERATIONS(OPERATION)};
#undef OPERATION

const aws_service aws_service_sqs = {
    .name = "sqs",
    .model_name = "sqs",
    .operations = sqs_operations,
    .operation_count = sizeof(sqs_operations) / sizeof(sqs_operations[0]),
    .create = sqs_create,
    .reset = sqs_reset,
    .shutdown = sqs_shutdown,
    .destroy = sqs_destroy,
};
