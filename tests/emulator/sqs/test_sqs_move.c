/*
 * test_sqs_move.c — unit tests of the SQS engine's message move tasks
 * (movetasks.c) with the hand-turned clock of sqs_test_support.h: the rate
 * a task moves at, its completion, cancellation and failure, and the errors
 * AWS answers. The end-to-end tests (e2e_sqs_move_tasks.py, e2e_sqs_js.mjs)
 * drive the same through real clients.
 */
#include "sqs_test_support.h"

#define DLQ_ARN "arn:aws:sqs:us-east-1:000000000000:dlq"
#define DEST_ARN "arn:aws:sqs:us-east-1:000000000000:dest"

/* A queue "src" redriving to "dlq" after one receive, n messages in "dlq". */
static void pipe_with(int n) {
  free(create("dlq", NULL));
  char *src = create("src", "{\"VisibilityTimeout\":\"0\",\"RedrivePolicy\":"
                            "\"{\\\"deadLetterTargetArn\\\":\\\"" DLQ_ARN
                            "\\\",\\\"maxReceiveCount\\\":1}\"}");
  for (int i = 0; i < n; i++) {
    char body[16];
    snprintf(body, sizeof(body), "m%d", i);
    send_body(src, body);
  }
  for (int i = 0; i < 2; i++)
    json_decref(ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":10}", src));
  free(src);
  char buf[32];
  assert_int_equal(atoi(queue_attr("dlq", "ApproximateNumberOfMessages", buf, sizeof(buf))), n);
}

/* The newest task of the DLQ (owned). */
static json_t *newest_task(void) {
  json_t *out = ok("ListMessageMoveTasks", "{\"SourceArn\":\"" DLQ_ARN "\"}");
  json_t *t = json_incref(json_array_get(json_object_get(out, "Results"), 0));
  json_decref(out);
  assert_non_null(t);
  return t;
}

static json_int_t task_int(json_t *t, const char *key) {
  return json_integer_value(json_object_get(t, key));
}

static int visible(const char *url) {
  char buf[32];
  return atoi(queue_attr(url, "ApproximateNumberOfMessages", buf, sizeof(buf)));
}

static void test_sqs_move_at_the_given_rate(void **state) {
  (void)state;
  pipe_with(3);
  free(create("dest", NULL));
  json_t *out =
      ok("StartMessageMoveTask", "{\"SourceArn\":\"" DLQ_ARN "\",\"DestinationArn\":\"" DEST_ARN
                                 "\",\"MaxNumberOfMessagesPerSecond\":2}");
  const char *handle = json_string_value(json_object_get(out, "TaskHandle"));
  assert_non_null(handle);
  advance(0); /* the first message moves at once */
  json_t *t = newest_task();
  assert_string_equal(json_string_value(json_object_get(t, "Status")), "RUNNING");
  assert_string_equal(json_string_value(json_object_get(t, "TaskHandle")), handle);
  assert_int_equal(task_int(t, "ApproximateNumberOfMessagesMoved"), 1);
  assert_int_equal(task_int(t, "ApproximateNumberOfMessagesToMove"), 3);
  assert_int_equal(task_int(t, "MaxNumberOfMessagesPerSecond"), 2);
  json_decref(t);
  advance(400); /* two a second: the next one after 500 ms */
  assert_int_equal(visible("dest"), 1);
  advance(100);
  assert_int_equal(visible("dest"), 2);
  advance(500);
  assert_int_equal(visible("dest"), 3);
  assert_int_equal(visible("dlq"), 0);
  t = newest_task();
  assert_string_equal(json_string_value(json_object_get(t, "Status")), "COMPLETED");
  assert_null(json_object_get(t, "TaskHandle"));
  assert_int_equal(task_int(t, "ApproximateNumberOfMessagesMoved"), 3);
  json_decref(t);
  assert_int_equal(pending_timers(), 0); /* nothing runs: no timer */
  fails("InvalidParameterValue", "CancelMessageMoveTask", "{\"TaskHandle\":\"%s\"}", handle);
  json_decref(out);
}

static void test_sqs_move_back_to_source_cancel_and_fail(void **state) {
  (void)state;
  pipe_with(4);
  json_t *out = ok("StartMessageMoveTask",
                   "{\"SourceArn\":\"" DLQ_ARN "\",\"MaxNumberOfMessagesPerSecond\":1}");
  char *handle = strdup(json_string_value(json_object_get(out, "TaskHandle")));
  json_decref(out);
  fails("InvalidParameterValue", "StartMessageMoveTask", "{\"SourceArn\":\"" DLQ_ARN "\"}");
  advance(1000); /* at once, then one more after a second */
  out = ok("CancelMessageMoveTask", "{\"TaskHandle\":\"%s\"}", handle);
  assert_int_equal(task_int(out, "ApproximateNumberOfMessagesMoved"), 2);
  json_decref(out);
  advance(5000);
  assert_int_equal(visible("src"), 2); /* back where they came from, no more */
  assert_int_equal(visible("dlq"), 2);
  free(handle);
  /* A task whose queue goes away fails; the timer stops with it. */
  free(create("dest", NULL));
  json_decref(ok("StartMessageMoveTask",
                 "{\"SourceArn\":\"" DLQ_ARN "\",\"DestinationArn\":\"" DEST_ARN
                 "\",\"MaxNumberOfMessagesPerSecond\":1}"));
  advance(0);
  ok0("DeleteQueue", "{\"QueueUrl\":\"dest\"}");
  advance(1000);
  json_t *t = newest_task();
  assert_string_equal(json_string_value(json_object_get(t, "Status")), "FAILED");
  assert_string_equal(json_string_value(json_object_get(t, "FailureReason")),
                      "AWS.SimpleQueueService.NonExistentQueue");
  assert_int_equal(task_int(t, "ApproximateNumberOfMessagesMoved"), 1);
  json_decref(t);
  out = ok("ListMessageMoveTasks", "{\"SourceArn\":\"" DLQ_ARN "\",\"MaxResults\":10}");
  assert_int_equal(json_array_size(json_object_get(out, "Results")), 2);
  json_decref(out);
  assert_int_equal(pending_timers(), 0);
}

static void test_sqs_move_running_at_free(void **state) {
  (void)state;
  pipe_with(2);
  json_decref(ok("StartMessageMoveTask",
                 "{\"SourceArn\":\"" DLQ_ARN "\",\"MaxNumberOfMessagesPerSecond\":1}"));
  advance(0);
  assert_int_equal(pending_timers(), 1); /* teardown: freeing the engine cancels it */
}

static void test_sqs_move_errors(void **state) {
  (void)state;
  pipe_with(1);
  free(create("plain", NULL));
  fails("MissingParameter", "StartMessageMoveTask", "{}");
  fails("InvalidParameterValue", "StartMessageMoveTask", "{\"SourceArn\":\"dlq\"}");
  fails("InvalidParameterValue", "StartMessageMoveTask",
        "{\"SourceArn\":\"arn:aws:sqs:us-east-1:000000000000:plain\"}");
  fails("ResourceNotFoundException", "StartMessageMoveTask",
        "{\"SourceArn\":\"arn:aws:sqs:us-east-1:000000000000:nope\"}");
  fails("ResourceNotFoundException", "StartMessageMoveTask",
        "{\"SourceArn\":\"" DLQ_ARN "\",\"DestinationArn\":\"" DEST_ARN "\"}");
  fails("InvalidParameterValue", "StartMessageMoveTask",
        "{\"SourceArn\":\"" DLQ_ARN "\",\"DestinationArn\":\"" DLQ_ARN "\"}");
  fails("InvalidParameterValue", "StartMessageMoveTask",
        "{\"SourceArn\":\"" DLQ_ARN "\",\"MaxNumberOfMessagesPerSecond\":501}");
  /* Another account sees no such queue. */
  result r;
  call_in(&r, "111122223333", "StartMessageMoveTask", "{\"SourceArn\":\"" DLQ_ARN "\"}");
  assert_true(r.failed);
  assert_string_equal(r.err.code, "ResourceNotFoundException");
  assert_int_equal(r.err.status, 404);
  fails("InvalidParameterValue", "CancelMessageMoveTask", "{\"TaskHandle\":\"foobared\"}");
  fails("InvalidParameterValue", "CancelMessageMoveTask", "{\"TaskHandle\":\"e30=\"}");
  /* {"taskId":"x","sourceArn":DLQ_ARN}: no such task. */
  fails("ResourceNotFoundException", "CancelMessageMoveTask",
        "{\"TaskHandle\":\"eyJ0YXNrSWQiOiJ4Iiwic291cmNlQXJuIjoiYXJuOmF3czpzcXM6dXMtZWFzdC0xOjAwMDAw"
        "MDAwMDAwMDpkbHEifQ==\"}");
  fails("InvalidParameterValue", "ListMessageMoveTasks",
        "{\"SourceArn\":\"" DLQ_ARN "\",\"MaxResults\":0}");
  json_t *out = ok("ListMessageMoveTasks", "{\"SourceArn\":\"" DLQ_ARN "\"}");
  assert_int_equal(json_array_size(json_object_get(out, "Results")), 0);
  json_decref(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_sqs_move_at_the_given_rate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sqs_move_back_to_source_cancel_and_fail, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_sqs_move_running_at_free, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sqs_move_errors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
