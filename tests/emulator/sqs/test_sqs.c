/*
 * test_sqs.c — unit tests of the SQS engine (emulator/sqs/), driven
 * directly with JSON inputs shaped like the botocore model, a clock the test
 * turns by hand and timers the test fires, so visibility timeouts, delays,
 * deduplication windows and long polls are checked without sleeping.
 */
#include "sqs_test_support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- tests ---- */

static void test_sqs_md5_of_attributes_matches_aws(void **state) {
  (void)state;
  /* Expected digests computed independently with AWS's documented algorithm. */
  json_t *a = json_loads("{\"b\":{\"DataType\":\"Number\",\"StringValue\":\"42\"},"
                         "\"a\":{\"DataType\":\"String\",\"StringValue\":\"h\\u00e9llo\"},"
                         "\"c\":{\"DataType\":\"Binary\",\"BinaryValue\":\"AAH/\"}}",
                         0, NULL);
  char md5[33];
  assert_int_equal(sqs_md5_of_attributes(md5, a), 0);
  assert_string_equal(md5, "72aaccc99be4ee918e28ee99cd2f00d0");
  json_decref(a);
  a = json_loads("{\"AWSTraceHeader\":{\"DataType\":\"String\",\"StringValue\":"
                 "\"Root=1-5759e988-bd862e3fe1be46a994272793\"}}",
                 0, NULL);
  assert_int_equal(sqs_md5_of_attributes(md5, a), 0);
  assert_string_equal(md5, "62a56dd927315f2b2e12832b84617ea5");
  json_decref(a);
  a = json_loads("{\"x\":{\"DataType\":\"Binary\",\"BinaryValue\":\"!!!\"}}", 0, NULL);
  assert_int_not_equal(sqs_md5_of_attributes(md5, a), 0);
  json_decref(a);
}

/* JSON's \u0000: bodies and attribute values answer it with their own
 * checks; names and ids are refused before a truncated one is used. */
static void test_sqs_nul_inside_strings(void **state) {
  (void)state;
  fails("InvalidParameterValue", "CreateQueue", "{\"QueueName\":\"x\\u0000y\"}");
  fails("QueueDoesNotExist", "GetQueueUrl", "{\"QueueName\":\"x\"}");
  char *url = create("q", NULL);
  fails("InvalidMessageContents", "SendMessage",
        "{\"QueueUrl\":\"%s\",\"MessageBody\":\"a\\u0000b\"}", url);
  fails("InvalidParameterValue", "SendMessage",
        "{\"QueueUrl\":\"%s\",\"MessageBody\":\"a\",\"MessageSystemAttributes\":"
        "{\"AWSTraceHeader\":{\"DataType\":\"String\",\"StringValue\":\"t\\u0000\"}}}",
        url);
  fails("InvalidParameterValue", "ReceiveMessage",
        "{\"QueueUrl\":\"%s\",\"MessageAttributeNames\":[\"a\\u0000\"]}", url);
  char buf[32];
  assert_string_equal(queue_attr(url, "ApproximateNumberOfMessages", buf, sizeof(buf)), "0");
  free(url);
}

static void test_sqs_queue_life_cycle(void **state) {
  (void)state;
  char *url = create("jobs", NULL);
  assert_string_equal(url, "http://localhost:4566/000000000000/jobs");
  json_t *out = ok("GetQueueUrl", "{\"QueueName\":\"jobs\"}");
  assert_string_equal(json_string_value(json_object_get(out, "QueueUrl")), url);
  json_decref(out);
  /* Same name, same attributes: the same queue. Different: an error. */
  char *again = create("jobs", "{\"VisibilityTimeout\":\"30\"}");
  assert_string_equal(again, url);
  fails("QueueNameExists", "CreateQueue",
        "{\"QueueName\":\"jobs\",\"Attributes\":{\"VisibilityTimeout\":\"31\"}}");
  char buf[64];
  assert_string_equal(queue_attr(url, "QueueArn", buf, sizeof(buf)),
                      "arn:aws:sqs:us-east-1:000000000000:jobs");
  ok0("DeleteQueue", "{\"QueueUrl\":\"%s\"}", url);
  fails("QueueDoesNotExist", "GetQueueUrl", "{\"QueueName\":\"jobs\"}");
  fails("QueueDoesNotExist", "SendMessage", "{\"QueueUrl\":\"%s\",\"MessageBody\":\"x\"}", url);
  fails("QueueDoesNotExist", "DeleteQueue", "{\"QueueUrl\":\"%s\"}", url);
  free(url);
  free(again);
}

/* LocalStack's SQS_DELAY_RECENTLY_DELETED: a name deleted less than 60 s ago
 * cannot be created again (QueueDeletedRecently); without it, at once. */
static void test_sqs_queue_deleted_recently(void **state) {
  (void)state;
  char *url = create("gone", NULL);
  ok0("DeleteQueue", "{\"QueueUrl\":\"%s\"}", url);
  free(url);
  url = create("gone", NULL); /* the default: no wait */
  sqs_engine_free(engine);
  sqs_hooks hooks = {fake_now, fake_add, fake_cancel, NULL, 1};
  assert_int_equal(sqs_engine_new(&engine, &hooks), 0);
  free(url);
  url = create("gone", NULL);
  ok0("DeleteQueue", "{\"QueueUrl\":\"%s\"}", url);
  fails("QueueDeletedRecently", "CreateQueue", "{\"QueueName\":\"gone\"}");
  char *other = create("other", NULL); /* other names are free */
  clock_ms += 59000;
  fails("QueueDeletedRecently", "CreateQueue", "{\"QueueName\":\"gone\"}");
  clock_ms += 1000;
  free(url);
  url = create("gone", NULL);
  free(url);
  free(other);
}

static void test_sqs_queue_names_are_checked(void **state) {
  (void)state;
  fails("InvalidParameterValue", "CreateQueue", "{\"QueueName\":\"bad name\"}");
  fails("InvalidParameterValue", "CreateQueue", "{\"QueueName\":\"%s\"}",
        "a123456789a123456789a123456789a123456789a123456789a123456789a123456789a1234567890");
  fails("InvalidParameterValue", "CreateQueue", "{\"QueueName\":\"plain.fifo\"}");
  fails("InvalidParameterValue", "CreateQueue",
        "{\"QueueName\":\"nofifo\",\"Attributes\":{\"FifoQueue\":\"true\"}}");
  fails("MissingParameter", "CreateQueue", "{}");
  free(create("A-b_0", NULL));
  free(create("ok.fifo", "{\"FifoQueue\":\"true\"}"));
}

static void test_sqs_attributes_validated(void **state) {
  (void)state;
  fails("InvalidAttributeName", "CreateQueue",
        "{\"QueueName\":\"q\",\"Attributes\":{\"Bogus\":\"1\"}}");
  fails("InvalidAttributeValue", "CreateQueue",
        "{\"QueueName\":\"q\",\"Attributes\":{\"DelaySeconds\":\"901\"}}");
  fails("InvalidAttributeValue", "CreateQueue",
        "{\"QueueName\":\"q\",\"Attributes\":{\"VisibilityTimeout\":\"abc\"}}");
  fails("InvalidAttributeName", "CreateQueue",
        "{\"QueueName\":\"q\",\"Attributes\":{\"ContentBasedDeduplication\":\"true\"}}");
  char *url = create("q", "{\"DelaySeconds\":\"5\",\"MaximumMessageSize\":\"2048\"}");
  char buf[64];
  assert_string_equal(queue_attr(url, "DelaySeconds", buf, sizeof(buf)), "5");
  assert_string_equal(queue_attr(url, "MaximumMessageSize", buf, sizeof(buf)), "2048");
  assert_string_equal(queue_attr(url, "VisibilityTimeout", buf, sizeof(buf)), "30");
  assert_string_equal(queue_attr(url, "MessageRetentionPeriod", buf, sizeof(buf)), "345600");
  assert_string_equal(queue_attr(url, "FifoQueue", buf, sizeof(buf)), "(absent)");
  ok0("SetQueueAttributes", "{\"QueueUrl\":\"%s\",\"Attributes\":{\"VisibilityTimeout\":\"60\"}}",
      url);
  assert_string_equal(queue_attr(url, "VisibilityTimeout", buf, sizeof(buf)), "60");
  /* A failed update changes nothing. */
  fails("InvalidAttributeValue", "SetQueueAttributes",
        "{\"QueueUrl\":\"%s\",\"Attributes\":{\"VisibilityTimeout\":\"10\","
        "\"MessageRetentionPeriod\":\"5\"}}",
        url);
  assert_string_equal(queue_attr(url, "VisibilityTimeout", buf, sizeof(buf)), "60");
  fails("InvalidAttributeName", "SetQueueAttributes",
        "{\"QueueUrl\":\"%s\",\"Attributes\":{\"QueueArn\":\"x\"}}", url);
  fails("InvalidAttributeName", "SetQueueAttributes",
        "{\"QueueUrl\":\"%s\",\"Attributes\":{\"FifoQueue\":\"true\"}}", url);
  fails("InvalidAttributeName", "GetQueueAttributes",
        "{\"QueueUrl\":\"%s\",\"AttributeNames\":[\"Nope\"]}", url);
  fails("InvalidAttributeValue", "SetQueueAttributes",
        "{\"QueueUrl\":\"%s\",\"Attributes\":{\"Policy\":\"not json\"}}", url);
  /* AWS names the SSE conflict InvalidAttributeName. */
  fails("InvalidAttributeName", "SetQueueAttributes",
        "{\"QueueUrl\":\"%s\",\"Attributes\":{\"KmsMasterKeyId\":\"alias/k\","
        "\"SqsManagedSseEnabled\":\"true\"}}",
        url);
  assert_string_equal(queue_attr(url, "SqsManagedSseEnabled", buf, sizeof(buf)), "true");
  ok0("SetQueueAttributes", "{\"QueueUrl\":\"%s\",\"Attributes\":{\"KmsMasterKeyId\":\"alias/k\"}}",
      url);
  assert_string_equal(queue_attr(url, "SqsManagedSseEnabled", buf, sizeof(buf)), "false");
  assert_string_equal(queue_attr(url, "KmsDataKeyReusePeriodSeconds", buf, sizeof(buf)), "300");
  json_t *all = ok("GetQueueAttributes", "{\"QueueUrl\":\"%s\",\"AttributeNames\":[\"All\"]}", url);
  json_t *attrs = json_object_get(all, "Attributes");
  assert_non_null(json_object_get(attrs, "CreatedTimestamp"));
  assert_non_null(json_object_get(attrs, "ApproximateNumberOfMessages"));
  assert_null(json_object_get(attrs, "ContentBasedDeduplication"));
  json_decref(all);
  free(url);
  char *fifo = create("f.fifo", "{\"FifoQueue\":\"true\",\"ContentBasedDeduplication\":\"true\"}");
  assert_string_equal(queue_attr(fifo, "FifoQueue", buf, sizeof(buf)), "true");
  assert_string_equal(queue_attr(fifo, "ContentBasedDeduplication", buf, sizeof(buf)), "true");
  assert_string_equal(queue_attr(fifo, "DeduplicationScope", buf, sizeof(buf)), "queue");
  free(fifo);
}

static void test_sqs_send_receive_delete(void **state) {
  (void)state;
  char *url = create("q", NULL);
  json_t *sent = ok("SendMessage",
                    "{\"QueueUrl\":\"%s\",\"MessageBody\":\"hello\",\"MessageAttributes\":{"
                    "\"b\":{\"DataType\":\"Number\",\"StringValue\":\"42\"},"
                    "\"a\":{\"DataType\":\"String\",\"StringValue\":\"h\\u00e9llo\"},"
                    "\"c\":{\"DataType\":\"Binary\",\"BinaryValue\":\"AAH/\"}}}",
                    url);
  assert_string_equal(json_string_value(json_object_get(sent, "MD5OfMessageBody")),
                      "5d41402abc4b2a76b9719d911017c592");
  assert_string_equal(json_string_value(json_object_get(sent, "MD5OfMessageAttributes")),
                      "72aaccc99be4ee918e28ee99cd2f00d0");
  json_t *out = ok("ReceiveMessage",
                   "{\"QueueUrl\":\"%s\",\"AttributeNames\":[\"All\"],"
                   "\"MessageAttributeNames\":[\"All\"]}",
                   url);
  assert_int_equal(json_array_size(messages(out)), 1);
  assert_string_equal(msg_str(out, 0, "Body"), "hello");
  assert_string_equal(msg_str(out, 0, "MessageId"),
                      json_string_value(json_object_get(sent, "MessageId")));
  assert_string_equal(msg_str(out, 0, "MD5OfBody"), "5d41402abc4b2a76b9719d911017c592");
  assert_string_equal(msg_str(out, 0, "MD5OfMessageAttributes"),
                      "72aaccc99be4ee918e28ee99cd2f00d0");
  assert_string_equal(sys_attr(out, 0, "ApproximateReceiveCount"), "1");
  assert_string_equal(sys_attr(out, 0, "SenderId"), ACCOUNT);
  assert_string_equal(sys_attr(out, 0, "SentTimestamp"), "1700000000000");
  char handle[128];
  snprintf(handle, sizeof(handle), "%s", msg_str(out, 0, "ReceiptHandle"));
  json_decref(out);
  json_decref(sent);
  /* In flight: nothing else to receive. */
  out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\"}", url);
  assert_null(messages(out));
  json_decref(out);
  char buf[32];
  assert_string_equal(queue_attr(url, "ApproximateNumberOfMessagesNotVisible", buf, sizeof(buf)),
                      "1");
  fails("ReceiptHandleIsInvalid", "DeleteMessage",
        "{\"QueueUrl\":\"%s\",\"ReceiptHandle\":\"junk\"}", url);
  ok0("DeleteMessage", "{\"QueueUrl\":\"%s\",\"ReceiptHandle\":\"%s\"}", url, handle);
  /* Deleting again is fine (idempotent), and the queue is empty. */
  ok0("DeleteMessage", "{\"QueueUrl\":\"%s\",\"ReceiptHandle\":\"%s\"}", url, handle);
  assert_string_equal(queue_attr(url, "ApproximateNumberOfMessagesNotVisible", buf, sizeof(buf)),
                      "0");
  /* A handle of another queue is invalid there. */
  char *other = create("other", NULL);
  fails("ReceiptHandleIsInvalid", "DeleteMessage", "{\"QueueUrl\":\"%s\",\"ReceiptHandle\":\"%s\"}",
        other, handle);
  free(other);
  free(url);
}

static void test_sqs_message_validation(void **state) {
  (void)state;
  char *url = create("q", "{\"MaximumMessageSize\":\"1024\"}");
  fails("MissingParameter", "SendMessage", "{\"QueueUrl\":\"%s\",\"MessageBody\":\"\"}", url);
  fails("InvalidMessageContents", "SendMessage",
        "{\"QueueUrl\":\"%s\",\"MessageBody\":\"a\\u0001\"}", url);
  char big[1100];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  fails("InvalidParameterValue", "SendMessage", "{\"QueueUrl\":\"%s\",\"MessageBody\":\"%s\"}", url,
        big);
  fails("InvalidParameterValue", "SendMessage",
        "{\"QueueUrl\":\"%s\",\"MessageBody\":\"x\",\"DelaySeconds\":901}", url);
  fails("InvalidParameterValue", "SendMessage",
        "{\"QueueUrl\":\"%s\",\"MessageBody\":\"x\",\"MessageAttributes\":{\"AWS.x\":"
        "{\"DataType\":\"String\",\"StringValue\":\"v\"}}}",
        url);
  fails("InvalidParameterValue", "SendMessage",
        "{\"QueueUrl\":\"%s\",\"MessageBody\":\"x\",\"MessageAttributes\":{\"n\":"
        "{\"DataType\":\"Number\",\"StringValue\":\"abc\"}}}",
        url);
  fails("InvalidParameterValue", "SendMessage",
        "{\"QueueUrl\":\"%s\",\"MessageBody\":\"x\",\"MessageAttributes\":{\"n\":"
        "{\"DataType\":\"Float\",\"StringValue\":\"1\"}}}",
        url);
  fails("InvalidParameterValue", "SendMessage",
        "{\"QueueUrl\":\"%s\",\"MessageBody\":\"x\",\"MessageDeduplicationId\":\"d\"}", url);
  fails("InvalidParameterValue", "ReceiveMessage",
        "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":11}", url);
  fails("InvalidParameterValue", "ReceiveMessage", "{\"QueueUrl\":\"%s\",\"WaitTimeSeconds\":21}",
        url);
  ok0("SendMessage",
      "{\"QueueUrl\":\"%s\",\"MessageBody\":\"x\",\"MessageAttributes\":{\"n.custom\":"
      "{\"DataType\":\"Number.int\",\"StringValue\":\"-1.5e3\"}}}",
      url);
  free(url);
}

static void test_sqs_visibility_timeout(void **state) {
  (void)state;
  char *url = create("q", "{\"VisibilityTimeout\":\"10\"}");
  send_body(url, "m");
  json_t *out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\"}", url);
  char first[128];
  snprintf(first, sizeof(first), "%s", msg_str(out, 0, "ReceiptHandle"));
  json_decref(out);
  advance(9999);
  out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\"}", url);
  assert_null(messages(out));
  json_decref(out);
  advance(1);
  out = ok("ReceiveMessage",
           "{\"QueueUrl\":\"%s\",\"AttributeNames\":[\"ApproximateReceiveCount\"],"
           "\"VisibilityTimeout\":100}",
           url);
  assert_int_equal(json_array_size(messages(out)), 1);
  assert_string_equal(sys_attr(out, 0, "ApproximateReceiveCount"), "2");
  char second[128];
  snprintf(second, sizeof(second), "%s", msg_str(out, 0, "ReceiptHandle"));
  json_decref(out);
  assert_string_not_equal(first, second);
  /* A standard queue takes the older handle too, as AWS does: it makes the
   * message visible at once here. */
  ok0("ChangeMessageVisibility",
      "{\"QueueUrl\":\"%s\",\"ReceiptHandle\":\"%s\",\"VisibilityTimeout\":0}", url, first);
  /* The message is visible again: AWS answers OK and leaves it visible. */
  ok0("ChangeMessageVisibility",
      "{\"QueueUrl\":\"%s\",\"ReceiptHandle\":\"%s\",\"VisibilityTimeout\":5}", url, second);
  fails("InvalidParameterValue", "ChangeMessageVisibility",
        "{\"QueueUrl\":\"%s\",\"ReceiptHandle\":\"%s\",\"VisibilityTimeout\":43201}", url, second);
  out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\"}", url);
  assert_int_equal(json_array_size(messages(out)), 1);
  json_decref(out);
  /* And the first handle still deletes it, in flight under a third one. */
  ok0("DeleteMessage", "{\"QueueUrl\":\"%s\",\"ReceiptHandle\":\"%s\"}", url, first);
  char buf[32];
  assert_string_equal(queue_attr(url, "ApproximateNumberOfMessagesNotVisible", buf, sizeof(buf)),
                      "0");
  assert_string_equal(queue_attr(url, "ApproximateNumberOfMessages", buf, sizeof(buf)), "0");
  free(url);
}

/* Receives skip the in-flight prefix of a standard queue; whatever makes a
 * message of that prefix visible again must still be seen. */
static void test_sqs_in_flight_prefix_is_rescanned(void **state) {
  (void)state;
  char *url = create("q", "{\"VisibilityTimeout\":\"100\"}");
  char handles[30][128];
  for (int i = 0; i < 30; i++) {
    char body[16];
    snprintf(body, sizeof(body), "m%02d", i);
    send_body(url, body);
  }
  for (int r = 0; r < 3; r++) {
    json_t *out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":10}", url);
    assert_int_equal(json_array_size(messages(out)), 10);
    for (int i = 0; i < 10; i++) {
      char want[16];
      snprintf(want, sizeof(want), "m%02d", r * 10 + i);
      assert_string_equal(msg_str(out, (size_t)i, "Body"), want);
      snprintf(handles[r * 10 + i], sizeof(handles[0]), "%s",
               msg_str(out, (size_t)i, "ReceiptHandle"));
    }
    json_decref(out);
  }
  /* Delete the last received (the scan's bookmark), then add one: found. */
  ok0("DeleteMessage", "{\"QueueUrl\":\"%s\",\"ReceiptHandle\":\"%s\"}", url, handles[29]);
  send_body(url, "new");
  json_t *out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":10}", url);
  assert_int_equal(json_array_size(messages(out)), 1);
  assert_string_equal(msg_str(out, 0, "Body"), "new");
  json_decref(out);
  /* A message early in the prefix made visible again is delivered. */
  ok0("ChangeMessageVisibility",
      "{\"QueueUrl\":\"%s\",\"ReceiptHandle\":\"%s\",\"VisibilityTimeout\":0}", url, handles[3]);
  out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":10}", url);
  assert_int_equal(json_array_size(messages(out)), 1);
  assert_string_equal(msg_str(out, 0, "Body"), "m03");
  json_decref(out);
  /* And when the timeouts run out, all of them come back, in order. */
  advance(100 * 1000);
  out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":10}", url);
  assert_int_equal(json_array_size(messages(out)), 10);
  assert_string_equal(msg_str(out, 0, "Body"), "m00");
  json_decref(out);
  char buf[32];
  assert_string_equal(queue_attr(url, "ApproximateNumberOfMessages", buf, sizeof(buf)), "20");
  free(url);
}

static void test_sqs_delays(void **state) {
  (void)state;
  char *url = create("q", "{\"DelaySeconds\":\"3\"}");
  send_body(url, "queue-delay");
  ok0("SendMessage", "{\"QueueUrl\":\"%s\",\"MessageBody\":\"msg-delay\",\"DelaySeconds\":0}", url);
  char buf[32];
  assert_string_equal(queue_attr(url, "ApproximateNumberOfMessagesDelayed", buf, sizeof(buf)), "1");
  json_t *out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":10}", url);
  assert_int_equal(json_array_size(messages(out)), 1);
  assert_string_equal(msg_str(out, 0, "Body"), "msg-delay");
  json_decref(out);
  advance(3000);
  out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":10}", url);
  assert_int_equal(json_array_size(messages(out)), 1);
  assert_string_equal(msg_str(out, 0, "Body"), "queue-delay");
  json_decref(out);
  free(url);
}

static void test_sqs_fifo_group_order_and_locking(void **state) {
  (void)state;
  char *url = create("f.fifo", "{\"FifoQueue\":\"true\",\"ContentBasedDeduplication\":\"true\"}");
  send_group(url, "a1", "A");
  send_group(url, "b1", "B");
  send_group(url, "a2", "A");
  send_group(url, "b2", "B");
  fails("MissingParameter", "SendMessage", "{\"QueueUrl\":\"%s\",\"MessageBody\":\"x\"}", url);
  fails("InvalidParameterValue", "SendMessage",
        "{\"QueueUrl\":\"%s\",\"MessageBody\":\"x\",\"MessageGroupId\":\"A\",\"DelaySeconds\":5}",
        url);
  /* One message: a1. Group A is now locked, so the next receive gets b1. */
  json_t *out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"AttributeNames\":[\"All\"]}", url);
  assert_string_equal(msg_str(out, 0, "Body"), "a1");
  assert_string_equal(sys_attr(out, 0, "MessageGroupId"), "A");
  assert_non_null(sys_attr(out, 0, "SequenceNumber"));
  assert_non_null(sys_attr(out, 0, "MessageDeduplicationId"));
  char a1[128];
  snprintf(a1, sizeof(a1), "%s", msg_str(out, 0, "ReceiptHandle"));
  json_decref(out);
  out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":10}", url);
  assert_int_equal(json_array_size(messages(out)), 2);
  assert_string_equal(msg_str(out, 0, "Body"), "b1");
  assert_string_equal(msg_str(out, 1, "Body"), "b2");
  json_decref(out);
  out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":10}", url);
  assert_null(messages(out));
  json_decref(out);
  ok0("DeleteMessage", "{\"QueueUrl\":\"%s\",\"ReceiptHandle\":\"%s\"}", url, a1);
  out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":10}", url);
  assert_int_equal(json_array_size(messages(out)), 1);
  assert_string_equal(msg_str(out, 0, "Body"), "a2");
  json_decref(out);
  free(url);
}

/* A receive takes as many messages of one group as it can before the next
 * group (AWS: [g1-m1, g2-m1, g1-m2, g1-m3] comes back g1-m1..m3, g2-m1), up
 * to the group's first message in flight. */
static void test_sqs_fifo_group_batches(void **state) {
  (void)state;
  char *url = create("gb.fifo", "{\"FifoQueue\":\"true\",\"ContentBasedDeduplication\":\"true\"}");
  send_group(url, "a1", "A");
  send_group(url, "b1", "B");
  send_group(url, "a2", "A");
  send_group(url, "a3", "A");
  send_group(url, "c1", "C");
  json_t *out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":2}", url);
  assert_int_equal(json_array_size(messages(out)), 2);
  assert_string_equal(msg_str(out, 0, "Body"), "a1");
  assert_string_equal(msg_str(out, 1, "Body"), "a2");
  char a1[128];
  snprintf(a1, sizeof(a1), "%s", msg_str(out, 0, "ReceiptHandle"));
  json_decref(out);
  /* a1 visible again, a2 still in flight: only a1 of group A can go, after
   * the groups never received (AWS answers g2-m1 before g1-m1 here). */
  ok0("ChangeMessageVisibility",
      "{\"QueueUrl\":\"%s\",\"ReceiptHandle\":\"%s\",\"VisibilityTimeout\":0}", url, a1);
  out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":10}", url);
  assert_int_equal(json_array_size(messages(out)), 3);
  assert_string_equal(msg_str(out, 0, "Body"), "b1");
  assert_string_equal(msg_str(out, 1, "Body"), "c1");
  assert_string_equal(msg_str(out, 2, "Body"), "a1");
  json_decref(out);
  free(url);
}

/* The order of groups: never received first, in sending order; then those
 * received before, the longest ago first (AWS's recorded answer for groups
 * 1, 2, 3 after 1 and 2 were received with VisibilityTimeout 0). */
static void test_sqs_fifo_group_order_across_receives(void **state) {
  (void)state;
  char *url = create("go.fifo", "{\"FifoQueue\":\"true\",\"ContentBasedDeduplication\":\"true\"}");
  send_group(url, "g1-m1", "1");
  send_group(url, "g2-m1", "2");
  send_group(url, "g2-m2", "2");
  send_group(url, "g3-m1", "3");
  send_group(url, "g1-m2", "1");
  json_t *out = ok("ReceiveMessage",
                   "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":3,\"VisibilityTimeout\":0}", url);
  assert_int_equal(json_array_size(messages(out)), 3);
  assert_string_equal(msg_str(out, 0, "Body"), "g1-m1");
  assert_string_equal(msg_str(out, 1, "Body"), "g1-m2");
  assert_string_equal(msg_str(out, 2, "Body"), "g2-m1");
  json_decref(out);
  out = ok("ReceiveMessage",
           "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":10,\"VisibilityTimeout\":0}", url);
  const char *want[] = {"g3-m1", "g1-m1", "g1-m2", "g2-m1", "g2-m2"};
  assert_int_equal(json_array_size(messages(out)), 5);
  for (size_t i = 0; i < 5; i++)
    assert_string_equal(msg_str(out, i, "Body"), want[i]);
  json_decref(out);
  free(url);
}

/* PurgeQueue forgets deduplication ids: the same id is delivered again. */
static void test_sqs_fifo_purge_forgets_deduplication(void **state) {
  (void)state;
  char *url = create("pd.fifo", "{\"FifoQueue\":\"true\"}");
  const char *send = "{\"QueueUrl\":\"%s\",\"MessageBody\":\"x\",\"MessageGroupId\":\"g\","
                     "\"MessageDeduplicationId\":\"d1\"}";
  ok0("SendMessage", send, url);
  ok0("PurgeQueue", "{\"QueueUrl\":\"%s\"}", url);
  ok0("SendMessage", send, url);
  char buf[32];
  assert_string_equal(queue_attr(url, "ApproximateNumberOfMessages", buf, sizeof(buf)), "1");
  free(url);
}

static void test_sqs_fifo_deduplication(void **state) {
  (void)state;
  char *url = create("d.fifo", "{\"FifoQueue\":\"true\"}");
  fails("InvalidParameterValue", "SendMessage",
        "{\"QueueUrl\":\"%s\",\"MessageBody\":\"x\",\"MessageGroupId\":\"g\"}", url);
  json_t *first = ok("SendMessage",
                     "{\"QueueUrl\":\"%s\",\"MessageBody\":\"x\",\"MessageGroupId\":\"g\","
                     "\"MessageDeduplicationId\":\"d1\"}",
                     url);
  json_t *dup = ok("SendMessage",
                   "{\"QueueUrl\":\"%s\",\"MessageBody\":\"y\",\"MessageGroupId\":\"g\","
                   "\"MessageDeduplicationId\":\"d1\"}",
                   url);
  assert_string_equal(json_string_value(json_object_get(first, "MessageId")),
                      json_string_value(json_object_get(dup, "MessageId")));
  json_decref(first);
  json_decref(dup);
  char buf[32];
  assert_string_equal(queue_attr(url, "ApproximateNumberOfMessages", buf, sizeof(buf)), "1");
  advance(5 * 60 * 1000);
  ok0("SendMessage",
      "{\"QueueUrl\":\"%s\",\"MessageBody\":\"z\",\"MessageGroupId\":\"g\","
      "\"MessageDeduplicationId\":\"d1\"}",
      url);
  assert_string_equal(queue_attr(url, "ApproximateNumberOfMessages", buf, sizeof(buf)), "2");
  /* Content-based: same body, deduplicated. */
  ok0("SetQueueAttributes",
      "{\"QueueUrl\":\"%s\",\"Attributes\":{\"ContentBasedDeduplication\":\"true\"}}", url);
  send_group(url, "same", "g");
  send_group(url, "same", "h");
  assert_string_equal(queue_attr(url, "ApproximateNumberOfMessages", buf, sizeof(buf)), "3");
  /* Scope messageGroup: the same id in another group is a new message. */
  ok0("SetQueueAttributes",
      "{\"QueueUrl\":\"%s\",\"Attributes\":{\"DeduplicationScope\":\"messageGroup\"}}", url);
  send_group(url, "other", "g");
  send_group(url, "other", "h");
  assert_string_equal(queue_attr(url, "ApproximateNumberOfMessages", buf, sizeof(buf)), "5");
  free(url);
}

static void test_sqs_long_poll_wakes_on_send(void **state) {
  (void)state;
  char *url = create("q", NULL);
  result r;
  start(&r, "ReceiveMessage", "{\"QueueUrl\":\"%s\",\"WaitTimeSeconds\":5}", url);
  assert_int_equal(r.done, 0);
  assert_int_equal(pending_timers(), 1);
  advance(1000);
  assert_int_equal(r.done, 0);
  send_body(url, "wake");
  assert_int_equal(r.done, 1);
  assert_false(r.failed);
  assert_string_equal(msg_str(r.output, 0, "Body"), "wake");
  assert_int_equal(pending_timers(), 0);
  json_decref(r.output);
  free(url);
}

static void test_sqs_long_poll_times_out(void **state) {
  (void)state;
  char *url = create("q", "{\"ReceiveMessageWaitTimeSeconds\":\"2\"}");
  result r;
  start(&r, "ReceiveMessage", "{\"QueueUrl\":\"%s\"}", url);
  assert_int_equal(r.done, 0);
  advance(1999);
  assert_int_equal(r.done, 0);
  advance(1);
  assert_int_equal(r.done, 1);
  assert_null(messages(r.output));
  json_decref(r.output);
  /* WaitTimeSeconds 0 overrides the queue's wait. */
  start(&r, "ReceiveMessage", "{\"QueueUrl\":\"%s\",\"WaitTimeSeconds\":0}", url);
  assert_int_equal(r.done, 1);
  json_decref(r.output);
  free(url);
}

static void test_sqs_long_poll_wakes_when_delay_ends(void **state) {
  (void)state;
  char *url = create("q", NULL);
  ok0("SendMessage", "{\"QueueUrl\":\"%s\",\"MessageBody\":\"later\",\"DelaySeconds\":3}", url);
  result r;
  start(&r, "ReceiveMessage", "{\"QueueUrl\":\"%s\",\"WaitTimeSeconds\":10}", url);
  assert_int_equal(r.done, 0);
  advance(2999);
  assert_int_equal(r.done, 0);
  advance(1);
  assert_int_equal(r.done, 1);
  assert_string_equal(msg_str(r.output, 0, "Body"), "later");
  json_decref(r.output);
  free(url);
}

static void test_sqs_long_poll_fifo_unlock_wakes(void **state) {
  (void)state;
  char *url = create("f.fifo", "{\"FifoQueue\":\"true\",\"ContentBasedDeduplication\":\"true\"}");
  send_group(url, "one", "g");
  send_group(url, "two", "g");
  json_t *out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\"}", url);
  char handle[128];
  snprintf(handle, sizeof(handle), "%s", msg_str(out, 0, "ReceiptHandle"));
  json_decref(out);
  result r;
  start(&r, "ReceiveMessage", "{\"QueueUrl\":\"%s\",\"WaitTimeSeconds\":20}", url);
  assert_int_equal(r.done, 0);
  ok0("DeleteMessage", "{\"QueueUrl\":\"%s\",\"ReceiptHandle\":\"%s\"}", url, handle);
  assert_int_equal(r.done, 1);
  assert_string_equal(msg_str(r.output, 0, "Body"), "two");
  json_decref(r.output);
  free(url);
}

static void test_sqs_shutdown_answers_waiters(void **state) {
  (void)state;
  char *url = create("q", NULL);
  result r1, r2;
  start(&r1, "ReceiveMessage", "{\"QueueUrl\":\"%s\",\"WaitTimeSeconds\":20}", url);
  start(&r2, "ReceiveMessage", "{\"QueueUrl\":\"%s\",\"WaitTimeSeconds\":20}", url);
  assert_int_equal(r1.done + r2.done, 0);
  sqs_engine_shutdown(engine);
  assert_int_equal(r1.done, 1);
  assert_int_equal(r2.done, 1);
  assert_int_equal(pending_timers(), 0);
  json_decref(r1.output);
  json_decref(r2.output);
  /* After shutdown, long polls answer at once. */
  start(&r1, "ReceiveMessage", "{\"QueueUrl\":\"%s\",\"WaitTimeSeconds\":20}", url);
  assert_int_equal(r1.done, 1);
  json_decref(r1.output);
  free(url);
}

static void test_sqs_delete_queue_answers_waiters(void **state) {
  (void)state;
  char *url = create("q", NULL);
  result r;
  start(&r, "ReceiveMessage", "{\"QueueUrl\":\"%s\",\"WaitTimeSeconds\":20}", url);
  ok0("DeleteQueue", "{\"QueueUrl\":\"%s\"}", url);
  assert_int_equal(r.done, 1);
  json_decref(r.output);
  /* A waiter left pending is answered when the engine is freed (teardown). */
  free(url);
  url = create("q2", NULL);
  start(&r, "ReceiveMessage", "{\"QueueUrl\":\"%s\",\"WaitTimeSeconds\":20}", url);
  sqs_engine_reset(engine);
  assert_int_equal(r.done, 1);
  json_decref(r.output);
  fails("QueueDoesNotExist", "GetQueueUrl", "{\"QueueName\":\"q2\"}");
  free(url);
}

static void test_sqs_redrive_to_dead_letter_queue(void **state) {
  (void)state;
  char *dlq = create("dlq", NULL);
  fails("InvalidParameterValue", "CreateQueue",
        "{\"QueueName\":\"src\",\"Attributes\":{\"RedrivePolicy\":"
        "\"{\\\"deadLetterTargetArn\\\":\\\"arn:aws:sqs:us-east-1:000000000000:nope\\\","
        "\\\"maxReceiveCount\\\":2}\"}}");
  fails("InvalidParameterValue", "CreateQueue",
        "{\"QueueName\":\"src\",\"Attributes\":{\"RedrivePolicy\":\"{not json\"}}");
  char *src = create("src", "{\"VisibilityTimeout\":\"1\",\"RedrivePolicy\":"
                            "\"{\\\"deadLetterTargetArn\\\":\\\"arn:aws:sqs:us-east-1:"
                            "000000000000:dlq\\\",\\\"maxReceiveCount\\\":\\\"2\\\"}\"}");
  char buf[256];
  assert_string_equal(
      queue_attr(src, "RedrivePolicy", buf, sizeof(buf)),
      "{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:dlq\",\"maxReceiveCount\":2}");
  send_body(src, "poison");
  for (int i = 0; i < 2; i++) {
    json_t *out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\"}", src);
    assert_int_equal(json_array_size(messages(out)), 1);
    json_decref(out);
    advance(1000);
  }
  json_t *out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\"}", src);
  assert_null(messages(out));
  json_decref(out);
  out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"AttributeNames\":[\"All\"]}", dlq);
  assert_int_equal(json_array_size(messages(out)), 1);
  assert_string_equal(msg_str(out, 0, "Body"), "poison");
  assert_string_equal(sys_attr(out, 0, "ApproximateReceiveCount"), "1");
  json_decref(out);
  out = ok("ListDeadLetterSourceQueues", "{\"QueueUrl\":\"%s\"}", dlq);
  json_t *urls = json_object_get(out, "queueUrls");
  assert_int_equal(json_array_size(urls), 1);
  assert_string_equal(json_string_value(json_array_get(urls, 0)), src);
  json_decref(out);
  /* A FIFO queue cannot use a standard DLQ; a denying DLQ refuses sources. */
  fails("InvalidParameterValue", "CreateQueue",
        "{\"QueueName\":\"f.fifo\",\"Attributes\":{\"FifoQueue\":\"true\",\"RedrivePolicy\":"
        "\"{\\\"deadLetterTargetArn\\\":\\\"arn:aws:sqs:us-east-1:000000000000:dlq\\\","
        "\\\"maxReceiveCount\\\":2}\"}}");
  ok0("SetQueueAttributes",
      "{\"QueueUrl\":\"%s\",\"Attributes\":{\"RedriveAllowPolicy\":"
      "\"{\\\"redrivePermission\\\":\\\"denyAll\\\"}\"}}",
      dlq);
  fails("InvalidParameterValue", "CreateQueue",
        "{\"QueueName\":\"src2\",\"Attributes\":{\"RedrivePolicy\":"
        "\"{\\\"deadLetterTargetArn\\\":\\\"arn:aws:sqs:us-east-1:000000000000:dlq\\\","
        "\\\"maxReceiveCount\\\":2}\"}}");
  free(dlq);
  free(src);
}

static void test_sqs_batches(void **state) {
  (void)state;
  char *url = create("q", NULL);
  fails("EmptyBatchRequest", "SendMessageBatch", "{\"QueueUrl\":\"%s\",\"Entries\":[]}", url);
  fails("BatchEntryIdsNotDistinct", "SendMessageBatch",
        "{\"QueueUrl\":\"%s\",\"Entries\":[{\"Id\":\"a\",\"MessageBody\":\"1\"},"
        "{\"Id\":\"a\",\"MessageBody\":\"2\"}]}",
        url);
  fails("InvalidBatchEntryId", "SendMessageBatch",
        "{\"QueueUrl\":\"%s\",\"Entries\":[{\"Id\":\"a b\",\"MessageBody\":\"1\"}]}", url);
  char entries[4096] = "";
  size_t len = 0;
  for (int i = 0; i < 11; i++)
    len += (size_t)snprintf(entries + len, sizeof(entries) - len,
                            "%s{\"Id\":\"e%d\",\"MessageBody\":\"m\"}", i ? "," : "", i);
  fails("TooManyEntriesInBatchRequest", "SendMessageBatch",
        "{\"QueueUrl\":\"%s\",\"Entries\":[%s]}", url, entries);
  json_t *out = ok("SendMessageBatch",
                   "{\"QueueUrl\":\"%s\",\"Entries\":[{\"Id\":\"ok1\",\"MessageBody\":\"one\"},"
                   "{\"Id\":\"bad\",\"MessageBody\":\"\"},"
                   "{\"Id\":\"ok2\",\"MessageBody\":\"two\",\"DelaySeconds\":0}]}",
                   url);
  json_t *okl = json_object_get(out, "Successful"), *failed = json_object_get(out, "Failed");
  assert_int_equal(json_array_size(okl), 2);
  assert_int_equal(json_array_size(failed), 1);
  json_t *f = json_array_get(failed, 0);
  assert_string_equal(json_string_value(json_object_get(f, "Id")), "bad");
  assert_true(json_is_true(json_object_get(f, "SenderFault")));
  assert_string_equal(json_string_value(json_object_get(f, "Code")), "MissingParameter");
  json_decref(out);
  out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":10}", url);
  assert_int_equal(json_array_size(messages(out)), 2);
  char h0[128], h1[128];
  snprintf(h0, sizeof(h0), "%s", msg_str(out, 0, "ReceiptHandle"));
  snprintf(h1, sizeof(h1), "%s", msg_str(out, 1, "ReceiptHandle"));
  json_decref(out);
  out = ok("ChangeMessageVisibilityBatch",
           "{\"QueueUrl\":\"%s\",\"Entries\":[{\"Id\":\"x\",\"ReceiptHandle\":\"%s\","
           "\"VisibilityTimeout\":0},{\"Id\":\"y\",\"ReceiptHandle\":\"garbage\","
           "\"VisibilityTimeout\":0}]}",
           url, h0);
  assert_int_equal(json_array_size(json_object_get(out, "Successful")), 1);
  f = json_array_get(json_object_get(out, "Failed"), 0);
  assert_string_equal(json_string_value(json_object_get(f, "Code")), "ReceiptHandleIsInvalid");
  json_decref(out);
  out = ok("DeleteMessageBatch",
           "{\"QueueUrl\":\"%s\",\"Entries\":[{\"Id\":\"x\",\"ReceiptHandle\":\"%s\"},"
           "{\"Id\":\"y\",\"ReceiptHandle\":\"zzz\"}]}",
           url, h1);
  assert_int_equal(json_array_size(json_object_get(out, "Successful")), 1);
  assert_int_equal(json_array_size(json_object_get(out, "Failed")), 1);
  json_decref(out);
  char buf[32];
  assert_string_equal(queue_attr(url, "ApproximateNumberOfMessages", buf, sizeof(buf)), "1");
  free(url);
}

static void test_sqs_batch_too_long(void **state) {
  (void)state;
  char *url = create("q", NULL);
  size_t n = 110000; /* ten of them: past 1 MiB */
  char *body = malloc(n + 1);
  assert_non_null(body);
  memset(body, 'b', n);
  body[n] = '\0';
  json_t *in = json_pack("{s:s, s:[]}", "QueueUrl", url, "Entries");
  for (int i = 0; i < 10; i++) {
    char id[16];
    snprintf(id, sizeof(id), "e%d", i);
    json_array_append_new(json_object_get(in, "Entries"),
                          json_pack("{s:s, s:s}", "Id", id, "MessageBody", body));
  }
  result r = {0};
  sqs_context ctx = {ACCOUNT, REGION, "http://localhost:4566"};
  sqs_engine_call(engine, &ctx, "SendMessageBatch", in, on_done, &r);
  assert_int_equal(r.done, 1);
  assert_true(r.failed);
  assert_string_equal(r.err.code, "BatchRequestTooLong");
  json_decref(in);
  free(body);
  free(url);
}

static void test_sqs_purge(void **state) {
  (void)state;
  char *url = create("q", NULL);
  send_body(url, "1");
  send_body(url, "2");
  ok0("PurgeQueue", "{\"QueueUrl\":\"%s\"}", url);
  char buf[32];
  assert_string_equal(queue_attr(url, "ApproximateNumberOfMessages", buf, sizeof(buf)), "0");
  fails("PurgeQueueInProgress", "PurgeQueue", "{\"QueueUrl\":\"%s\"}", url);
  advance(60000);
  ok0("PurgeQueue", "{\"QueueUrl\":\"%s\"}", url);
  free(url);
}

static void test_sqs_tags(void **state) {
  (void)state;
  json_t *out = ok("CreateQueue", "{\"QueueName\":\"t\",\"tags\":{\"team\":\"ci\"}}");
  char *url = strdup(json_string_value(json_object_get(out, "QueueUrl")));
  json_decref(out);
  ok0("TagQueue", "{\"QueueUrl\":\"%s\",\"Tags\":{\"env\":\"test\",\"team\":\"build\"}}", url);
  out = ok("ListQueueTags", "{\"QueueUrl\":\"%s\"}", url);
  json_t *tags = json_object_get(out, "Tags");
  assert_int_equal(json_object_size(tags), 2);
  assert_string_equal(json_string_value(json_object_get(tags, "team")), "build");
  json_decref(out);
  ok0("UntagQueue", "{\"QueueUrl\":\"%s\",\"TagKeys\":[\"team\",\"absent\"]}", url);
  out = ok("ListQueueTags", "{\"QueueUrl\":\"%s\"}", url);
  assert_int_equal(json_object_size(json_object_get(out, "Tags")), 1);
  json_decref(out);
  fails("InvalidParameterValue", "TagQueue", "{\"QueueUrl\":\"%s\",\"Tags\":{\"aws:x\":\"1\"}}",
        url);
  free(url);
}

/* AddPermission as AWS validates it; SendMessageBatch on a FIFO queue refused
 * whole when an entry lacks its group or deduplication id; tag checks. */
static void test_sqs_permission_tag_and_fifo_batch_checks(void **state) {
  (void)state;
  char *url = create("p", NULL);
  ok0("AddPermission",
      "{\"QueueUrl\":\"%s\",\"Label\":\"l1\",\"AWSAccountIds\":[\"111122223333\"],"
      "\"Actions\":[\"SendMessage\",\"*\"]}",
      url);
  fails("InvalidParameterValue", "AddPermission",
        "{\"QueueUrl\":\"%s\",\"Label\":\"l2\",\"AWSAccountIds\":[\"111122223333\"],"
        "\"Actions\":[\"TagQueue\"]}",
        url);
  fails("OverLimit", "AddPermission",
        "{\"QueueUrl\":\"%s\",\"Label\":\"l3\",\"AWSAccountIds\":[\"111122223333\"],"
        "\"Actions\":[\"*\",\"*\",\"*\",\"*\",\"*\",\"*\",\"*\",\"*\"]}",
        url);
  fails("InvalidParameterValue", "AddPermission",
        "{\"QueueUrl\":\"%s\",\"Label\":\"l4\",\"AWSAccountIds\":[],"
        "\"Actions\":[\"SendMessage\"]}",
        url);
  fails("InvalidParameterValue", "TagQueue", "{\"QueueUrl\":\"%s\",\"Tags\":{\"a#b\":\"1\"}}", url);
  fails("MissingParameter", "TagQueue", "{\"QueueUrl\":\"%s\",\"Tags\":{}}", url);
  fails("InvalidParameterValue", "UntagQueue", "{\"QueueUrl\":\"%s\",\"TagKeys\":[]}", url);
  free(url);
  url = create("f.fifo", "{\"FifoQueue\":\"true\"}");
  /* AWS: InvalidParameterValue for the batch (MissingParameter for SendMessage). */
  fails("InvalidParameterValue", "SendMessageBatch",
        "{\"QueueUrl\":\"%s\",\"Entries\":[{\"Id\":\"a\",\"MessageBody\":\"1\","
        "\"MessageGroupId\":\"g\",\"MessageDeduplicationId\":\"d\"},"
        "{\"Id\":\"b\",\"MessageBody\":\"2\",\"MessageDeduplicationId\":\"e\"}]}",
        url);
  fails("InvalidParameterValue", "SendMessageBatch",
        "{\"QueueUrl\":\"%s\",\"Entries\":[{\"Id\":\"a\",\"MessageBody\":\"1\","
        "\"MessageGroupId\":\"g\"}]}",
        url);
  char buf[32];
  assert_string_equal(queue_attr(url, "ApproximateNumberOfMessages", buf, sizeof(buf)), "0");
  free(url);
}

static void test_sqs_list_queues_pagination_and_isolation(void **state) {
  (void)state;
  const char *names[] = {"alpha", "beta", "alpha2", "gamma"};
  for (int i = 0; i < 4; i++)
    free(create(names[i], NULL));
  json_t *out = ok("ListQueues", "{\"QueueNamePrefix\":\"alpha\"}");
  assert_int_equal(json_array_size(json_object_get(out, "QueueUrls")), 2);
  assert_null(json_object_get(out, "NextToken"));
  json_decref(out);
  out = ok("ListQueues", "{\"MaxResults\":3}");
  assert_int_equal(json_array_size(json_object_get(out, "QueueUrls")), 3);
  const char *token = json_string_value(json_object_get(out, "NextToken"));
  assert_non_null(token);
  json_t *page2 = ok("ListQueues", "{\"MaxResults\":3,\"NextToken\":\"%s\"}", token);
  json_t *urls = json_object_get(page2, "QueueUrls");
  assert_int_equal(json_array_size(urls), 1);
  assert_string_equal(json_string_value(json_array_get(urls, 0)),
                      "http://localhost:4566/000000000000/gamma");
  assert_null(json_object_get(page2, "NextToken"));
  json_decref(page2);
  json_decref(out);
  fails("InvalidParameterValue", "ListQueues", "{\"NextToken\":\"!!\"}");
  fails("InvalidParameterValue", "ListQueues", "{\"MaxResults\":0}");
  /* Another account and another region see none of these. */
  result r;
  sqs_context ctx = {"111111111111", REGION, "http://localhost:4566"};
  json_t *in = json_object();
  memset(&r, 0, sizeof(r));
  sqs_engine_call(engine, &ctx, "ListQueues", in, on_done, &r);
  assert_null(json_object_get(r.output, "QueueUrls"));
  json_decref(r.output);
  sqs_context ctx2 = {ACCOUNT, "eu-west-1", "http://localhost:4566"};
  memset(&r, 0, sizeof(r));
  sqs_engine_call(engine, &ctx2, "ListQueues", in, on_done, &r);
  assert_null(json_object_get(r.output, "QueueUrls"));
  json_decref(r.output);
  json_decref(in);
}

static void test_sqs_retention(void **state) {
  (void)state;
  char *url = create("q", "{\"MessageRetentionPeriod\":\"60\"}");
  send_body(url, "old");
  advance(60000);
  json_t *out = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\"}", url);
  assert_null(messages(out));
  json_decref(out);
  free(url);
}

static void test_sqs_permissions(void **state) {
  (void)state;
  char *url = create("q", NULL);
  ok0("AddPermission",
      "{\"QueueUrl\":\"%s\",\"Label\":\"l1\",\"AWSAccountIds\":[\"111122223333\"],"
      "\"Actions\":[\"SendMessage\"]}",
      url);
  fails("InvalidParameterValue", "AddPermission",
        "{\"QueueUrl\":\"%s\",\"Label\":\"l1\",\"AWSAccountIds\":[\"111122223333\"],"
        "\"Actions\":[\"SendMessage\"]}",
        url);
  char buf[1024];
  const char *policy = queue_attr(url, "Policy", buf, sizeof(buf));
  assert_non_null(strstr(policy, "\"Sid\":\"l1\""));
  assert_non_null(strstr(policy, "SQS:SendMessage"));
  ok0("RemovePermission", "{\"QueueUrl\":\"%s\",\"Label\":\"l1\"}", url);
  assert_string_equal(queue_attr(url, "Policy", buf, sizeof(buf)), "(absent)");
  fails("InvalidParameterValue", "RemovePermission", "{\"QueueUrl\":\"%s\",\"Label\":\"l1\"}", url);
  free(url);
}

static void test_sqs_system_attributes_and_selection(void **state) {
  (void)state;
  char *url = create("q", NULL);
  json_t *sent = ok("SendMessage",
                    "{\"QueueUrl\":\"%s\",\"MessageBody\":\"b\",\"MessageSystemAttributes\":{"
                    "\"AWSTraceHeader\":{\"DataType\":\"String\",\"StringValue\":"
                    "\"Root=1-5759e988-bd862e3fe1be46a994272793\"}},\"MessageAttributes\":{"
                    "\"keep.one\":{\"DataType\":\"String\",\"StringValue\":\"1\"},"
                    "\"drop\":{\"DataType\":\"String\",\"StringValue\":\"2\"}}}",
                    url);
  assert_string_equal(json_string_value(json_object_get(sent, "MD5OfMessageSystemAttributes")),
                      "62a56dd927315f2b2e12832b84617ea5");
  json_decref(sent);
  json_t *out = ok("ReceiveMessage",
                   "{\"QueueUrl\":\"%s\",\"MessageSystemAttributeNames\":[\"AWSTraceHeader\"],"
                   "\"MessageAttributeNames\":[\"keep.*\"]}",
                   url);
  assert_string_equal(sys_attr(out, 0, "AWSTraceHeader"),
                      "Root=1-5759e988-bd862e3fe1be46a994272793");
  assert_null(sys_attr(out, 0, "SentTimestamp"));
  json_t *attrs = json_object_get(json_array_get(messages(out), 0), "MessageAttributes");
  assert_int_equal(json_object_size(attrs), 1);
  assert_non_null(json_object_get(attrs, "keep.one"));
  char md5[33];
  assert_int_equal(sqs_md5_of_attributes(md5, attrs), 0);
  assert_string_equal(msg_str(out, 0, "MD5OfMessageAttributes"), md5);
  json_decref(out);
  free(url);
}

static void test_sqs_fifo_receive_attempt_replays(void **state) {
  (void)state;
  char *url = create("r.fifo", "{\"FifoQueue\":\"true\",\"ContentBasedDeduplication\":\"true\"}");
  send_group(url, "m1", "g");
  json_t *a =
      ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"ReceiveRequestAttemptId\":\"try1\"}", url);
  json_t *b =
      ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"ReceiveRequestAttemptId\":\"try1\"}", url);
  assert_int_equal(json_array_size(messages(b)), 1);
  assert_string_equal(msg_str(a, 0, "ReceiptHandle"), msg_str(b, 0, "ReceiptHandle"));
  json_decref(a);
  json_decref(b);
  /* A long poll answered by a later send is remembered the same way. */
  result r;
  start(&r, "ReceiveMessage",
        "{\"QueueUrl\":\"%s\",\"ReceiveRequestAttemptId\":\"try2\",\"WaitTimeSeconds\":5}", url);
  assert_int_equal(r.done, 0);
  send_group(url, "m2", "h");
  assert_int_equal(r.done, 1);
  b = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"ReceiveRequestAttemptId\":\"try2\"}", url);
  assert_string_equal(msg_str(r.output, 0, "ReceiptHandle"), msg_str(b, 0, "ReceiptHandle"));
  json_decref(b);
  json_decref(r.output);
  /* Once the messages are deleted, the attempt id no longer replays. */
  a = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"ReceiveRequestAttemptId\":\"try1\"}", url);
  ok0("DeleteMessage", "{\"QueueUrl\":\"%s\",\"ReceiptHandle\":\"%s\"}", url,
      msg_str(a, 0, "ReceiptHandle"));
  json_decref(a);
  a = ok("ReceiveMessage", "{\"QueueUrl\":\"%s\",\"ReceiveRequestAttemptId\":\"try1\"}", url);
  assert_null(messages(a));
  json_decref(a);
  free(url);
}

static void test_sqs_queue_url_forms(void **state) {
  (void)state;
  result r;
  sqs_context west = {ACCOUNT, "eu-west-1", "http://localhost:4566"};
  json_t *in = json_pack("{s:s}", "QueueName", "w");
  memset(&r, 0, sizeof(r));
  sqs_engine_call(engine, &west, "CreateQueue", in, on_done, &r);
  assert_false(r.failed);
  json_decref(r.output);
  json_decref(in);
  /* The caller's region is us-east-1; these URLs name eu-west-1. */
  ok0("SendMessage",
      "{\"QueueUrl\":\"http://sqs.eu-west-1.localhost.localstack.cloud:4566/000000000000/w\","
      "\"MessageBody\":\"1\"}");
  ok0("SendMessage", "{\"QueueUrl\":\"http://eu-west-1.queue.localhost.localstack.cloud:4566/"
                     "000000000000/w\",\"MessageBody\":\"2\"}");
  ok0("SendMessage", "{\"QueueUrl\":\"http://localhost:4566/queue/eu-west-1/000000000000/"
                     "w\",\"MessageBody\":\"3\"}");
  fails("QueueDoesNotExist", "SendMessage",
        "{\"QueueUrl\":\"http://localhost:4566/000000000000/w\",\"MessageBody\":\"x\"}");
  free(create("e", NULL));
  ok0("SendMessage", "{\"QueueUrl\":\"e\",\"MessageBody\":\"bare name\"}");
  ok0("SendMessage",
      "{\"QueueUrl\":\"http://localhost:4566/000000000000/e?x=1\",\"MessageBody\":\"q\"}");
  fails("QueueDoesNotExist", "SendMessage",
        "{\"QueueUrl\":\"http://localhost:4566/\",\"MessageBody\":\"x\"}");
  fails("MissingParameter", "SendMessage", "{\"MessageBody\":\"x\"}");
  sqs_context east_other = {"222222222222", REGION, "http://localhost:4566"};
  in = json_pack("{s:s}", "QueueUrl", "http://localhost:4566/000000000000/e");
  memset(&r, 0, sizeof(r));
  sqs_engine_call(engine, &east_other, "GetQueueAttributes", in, on_done, &r);
  assert_false(r.failed); /* the URL's account wins, as in AWS cross-account access */
  json_decref(r.output);
  json_decref(in);
}

static void test_sqs_unknown_operation(void **state) {
  (void)state;
  fails("InvalidAction", "Frobnicate", "{}");
  assert_true(sqs_engine_has_operation("SendMessage"));
  assert_false(sqs_engine_has_operation("Frobnicate"));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_sqs_md5_of_attributes_matches_aws),
      T(test_sqs_nul_inside_strings),
      T(test_sqs_queue_life_cycle),
      T(test_sqs_queue_names_are_checked),
      T(test_sqs_queue_deleted_recently),
      T(test_sqs_attributes_validated),
      T(test_sqs_send_receive_delete),
      T(test_sqs_message_validation),
      T(test_sqs_visibility_timeout),
      T(test_sqs_in_flight_prefix_is_rescanned),
      T(test_sqs_delays),
      T(test_sqs_fifo_group_order_and_locking),
      T(test_sqs_fifo_deduplication),
      T(test_sqs_fifo_group_batches),
      T(test_sqs_fifo_group_order_across_receives),
      T(test_sqs_fifo_purge_forgets_deduplication),
      T(test_sqs_long_poll_wakes_on_send),
      T(test_sqs_long_poll_times_out),
      T(test_sqs_long_poll_wakes_when_delay_ends),
      T(test_sqs_long_poll_fifo_unlock_wakes),
      T(test_sqs_shutdown_answers_waiters),
      T(test_sqs_delete_queue_answers_waiters),
      T(test_sqs_redrive_to_dead_letter_queue),
      T(test_sqs_batches),
      T(test_sqs_batch_too_long),
      T(test_sqs_purge),
      T(test_sqs_tags),
      T(test_sqs_permission_tag_and_fifo_batch_checks),
      T(test_sqs_list_queues_pagination_and_isolation),
      T(test_sqs_retention),
      T(test_sqs_permissions),
      T(test_sqs_system_attributes_and_selection),
      T(test_sqs_fifo_receive_attempt_replays),
      T(test_sqs_queue_url_forms),
      T(test_sqs_unknown_operation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
