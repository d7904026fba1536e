/*
 * targets.c — the engine's built-in targets.
 *
 * SQS is reached in process through the SQS engine's own SendMessage (the
 * same validation, digests, FIFO deduplication and long-poll wake-ups as a
 * client's call), found with emulator_service_state(); the queue is named by
 * its ARN, which carries the account and Region. HTTP(S) endpoints get a POST
 * through libcurl with a bounded answer and a timeout per attempt; only 2xx
 * counts as delivered, as for SNS.
 *
 * Lambda gets an Event invocation, as AWS's SNS, EventBridge and S3 invoke
 * functions: delivered once Lambda has queued it; a function that then fails
 * is retried by Lambda (twice, with its backoff), not by the engine.
 */
#include "emulator/delivery/delivery_int.h"
#include "emulator/lambda/lambda.h"
#include "emulator/sns/sns.h"
#include "emulator/sqs/sqs.h"

#include "common/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SNS gives an endpoint 15 s; here an attempt ends after 5 s, because the
 * emulator's shutdown joins the HTTP workers and libcurl offers no way to
 * cancel a transfer from outside: a hung subscriber must not hold a job's
 * teardown up for long. A slower endpoint is retried like a failed one. */

typedef struct send_result {
  int rc;
  char message[256];
} send_result;

static void send_done(json_t *output, const sqs_error *error, void *payload) {
  send_result *r = payload;
  if (error) {
    r->rc = error->code && !strcmp(error->code, "QueueDoesNotExist") ? AIRGAP_ENOTFOUND
                                                                     : AIRGAP_EINVALID;
    snprintf(r->message, sizeof(r->message), "%.60s: %.180s", error->code ? error->code : "error",
             error->message);
  }
  json_decref(output);
}

int delivery_sqs_send(emulator *emu, const char *queue_arn, const char *body, size_t body_len,
                      json_t *meta) {
  /* arn:aws:sqs:<region>:<account>:<name> */
  char region[64], account[16], name[128];
  if (sscanf(queue_arn, "arn:%*[^:]:sqs:%63[^:]:%15[^:]:%127s", region, account, name) != 3)
    return airgap_error_set(AIRGAP_EINVALID, "not an SQS queue ARN: %.200s", queue_arn);
  sqs_engine *engine = emulator_service_state(emu, "sqs");
  if (!engine)
    return airgap_error_set(AIRGAP_ENOTFOUND, "SQS is not served by this emulator");
  char url[256];
  snprintf(url, sizeof(url), "/%s/%s", account, name);
  json_t *in = json_object();
  if (!in)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  json_object_set_new(in, "QueueUrl", json_string(url));
  json_object_set_new(in, "MessageBody", json_stringn(body, body_len));
  static const char *const members[] = {"MessageAttributes", "MessageGroupId",
                                        "MessageDeduplicationId", "MessageSystemAttributes"};
  for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
    json_t *v = json_object_get(meta, members[i]);
    if (v && !(json_is_object(v) && json_object_size(v) == 0))
      json_object_set(in, members[i], v);
  }
  sqs_context ctx = {account, region, "http://localhost"};
  send_result r = {0, ""};
  sqs_engine_call(engine, &ctx, "SendMessage", in, send_done, &r);
  json_decref(in);
  if (r.rc < 0)
    return airgap_error_set(r.rc, "SQS refused the message for %s: %s", queue_arn, r.message);
  return 0;
}

static void exists_done(json_t *output, const sqs_error *error, void *payload) {
  *(int *)payload = error == NULL;
  json_decref(output);
}

int delivery_target_exists(emulator *emu, delivery_kind kind, const char *arn) {
  if (kind == DELIVERY_SNS)
    return sns_topic_exists(emu, arn);
  if (kind == DELIVERY_LAMBDA)
    return lambda_function_exists(emu, arn);
  char region[64], account[16], name[128];
  sqs_engine *engine = emulator_service_state(emu, "sqs");
  if (kind != DELIVERY_SQS || !engine ||
      sscanf(arn, "arn:%*[^:]:sqs:%63[^:]:%15[^:]:%127s", region, account, name) != 3)
    return 0;
  json_t *in = json_pack("{s:s, s:s}", "QueueName", name, "QueueOwnerAWSAccountId", account);
  if (!in)
    return 0;
  sqs_context ctx = {account, region, "http://localhost"};
  int found = 0;
  /* GetQueueUrl answers before it returns (only long polls answer later). */
  sqs_engine_call(engine, &ctx, "GetQueueUrl", in, exists_done, &found);
  json_decref(in);
  return found;
}

int delivery_lambda_invoke(emulator *emu, const char *function_arn, const char *body,
                           size_t body_len) {
  int rc = lambda_async_invoke(emu, function_arn, body, body_len);
  if (rc < 0) {
    char why[512];
    snprintf(why, sizeof(why), "%s", airgap_error_last());
    return airgap_error_set(rc, "Lambda refused the event for %.300s: %s", function_arn, why);
  }
  return 0;
}
