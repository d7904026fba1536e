/*
 * fuzz_sqs.c — fuzzes the SQS engine with hostile operation inputs.
 *
 * An input is one byte choosing the operation, one byte of clock advance and
 * JSON text for the operation's input (what the protocol layer would hand
 * over, but with any types and values). One engine lives across inputs so
 * that sequences reach deep state: queues with redrive policies, FIFO
 * groups, long polls answered by later sends or by the clock. Every call must
 * be answered exactly once, and nothing may leak or trip the sanitizers.
 *
 * Built with clang -fsanitize=fuzzer it is a libFuzzer target; otherwise
 * (the registered test) main() runs the seeds and a fixed number of
 * deterministic mutations of each, so a failure reproduces.
 */
#include "emulator/sqs/sqs_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const OPERATIONS[] = {
    "CreateQueue",
    "SendMessage",
    "SendMessageBatch",
    "ReceiveMessage",
    "DeleteMessage",
    "DeleteMessageBatch",
    "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
    "GetQueueAttributes",
    "SetQueueAttributes",
    "GetQueueUrl",
    "ListQueues",
    "ListDeadLetterSourceQueues",
    "PurgeQueue",
    "DeleteQueue",
    "TagQueue",
    "UntagQueue",
    "ListQueueTags",
    "AddPermission",
    "RemovePermission",
    "StartMessageMoveTask",
    "CancelMessageMoveTask",
    "ListMessageMoveTasks",
};
#define OPERATION_COUNT (sizeof(OPERATIONS) / sizeof(OPERATIONS[0]))

typedef struct timer {
  struct timer *next;
  uint64_t at;
  void (*fn)(void *arg);
  void *arg;
} timer;

static uint64_t clock_ms = 1700000000000ULL;
static timer *timers;
static long answered, started;
static sqs_engine *engine;

static uint64_t now(void *payload) {
  (void)payload;
  return clock_ms;
}

static void *add(void *payload, uint64_t delay, void (*fn)(void *arg), void *arg) {
  (void)payload;
  timer *t = calloc(1, sizeof(*t));
  if (!t)
    return NULL;
  t->at = clock_ms + delay;
  t->fn = fn;
  t->arg = arg;
  t->next = timers;
  timers = t;
  return t;
}

static int cancel(void *payload, void *handle) {
  (void)payload;
  for (timer **p = &timers; *p; p = &(*p)->next) {
    if (*p == handle) {
      timer *t = *p;
      *p = t->next;
      free(t);
      return 1;
    }
  }
  return 0;
}

static void advance(uint64_t ms) {
  clock_ms += ms;
  for (;;) {
    timer **due = NULL;
    for (timer **p = &timers; *p; p = &(*p)->next)
      if ((*p)->at <= clock_ms)
        due = p;
    if (!due)
      return;
    timer *t = *due;
    *due = t->next;
    t->fn(t->arg);
    free(t);
  }
}

static void done(json_t *output, const sqs_error *error, void *payload) {
  (void)payload;
  if (error && (!error->code || !*error->code)) {
    fprintf(stderr, "an error without a code\n");
    abort();
  }
  json_decref(output);
  answered++;
}

static void engine_start(void) {
  sqs_hooks hooks = {now, add, cancel, NULL, 0};
  if (sqs_engine_new(&engine, &hooks) < 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!engine)
    engine_start();
  if (size < 2)
    return 0;
  const char *op = OPERATIONS[data[0] % OPERATION_COUNT];
  uint64_t step = (uint64_t)data[1] * 250;
  json_t *input = json_loadb((const char *)data + 2, size - 2, JSON_ALLOW_NUL, NULL);
  if (input) {
    sqs_context ctx = {"000000000000", "us-east-1", "http://localhost:4566"};
    started++;
    sqs_engine_call(engine, &ctx, op, input, done, NULL);
    json_decref(input);
  }
  advance(step);
  return 0;
}

#ifndef AIRGAP_LIBFUZZER

#define MUTATIONS_PER_SEED 2000

static void engine_stop(void) {
  sqs_engine_free(engine);
  engine = NULL;
  if (timers || answered != started) {
    fprintf(stderr, "calls started %ld, answered %ld; timers left: %s\n", started, answered,
            timers ? "yes" : "no");
    abort();
  }
}

/* Operation index, clock step, JSON. A queue "q", a FIFO "f.fifo" and a
 * redrive pair come first so that later seeds and mutations find them. */
static const struct {
  unsigned op, step;
  const char *json;
} SEEDS[] = {
    {0, 0, "{\"QueueName\":\"q\",\"Attributes\":{\"VisibilityTimeout\":\"1\"}}"},
    {0, 0,
     "{\"QueueName\":\"f.fifo\",\"Attributes\":{\"FifoQueue\":\"true\","
     "\"ContentBasedDeduplication\":\"true\"}}"},
    {0, 0, "{\"QueueName\":\"dlq\"}"},
    {0, 0,
     "{\"QueueName\":\"src\",\"Attributes\":{\"VisibilityTimeout\":\"0\",\"RedrivePolicy\":"
     "\"{\\\"deadLetterTargetArn\\\":\\\"arn:aws:sqs:us-east-1:000000000000:dlq\\\","
     "\\\"maxReceiveCount\\\":1}\"},\"tags\":{\"a\":\"b\"}}"},
    {1, 0,
     "{\"QueueUrl\":\"http://localhost:4566/000000000000/q\",\"MessageBody\":\"hello\","
     "\"MessageAttributes\":{\"a\":{\"DataType\":\"Binary\",\"BinaryValue\":\"AAH/\"},"
     "\"n\":{\"DataType\":\"Number\",\"StringValue\":\"1e3\"}}}"},
    {1, 0, "{\"QueueUrl\":\"f.fifo\",\"MessageBody\":\"x\",\"MessageGroupId\":\"g\"}"},
    {1, 0, "{\"QueueUrl\":\"f.fifo\",\"MessageBody\":\"y\",\"MessageGroupId\":\"h\"}"},
    {1, 0,
     "{\"QueueUrl\":\"q\",\"MessageBody\":\"u\",\"MessageAttributes\":{\"attr.1\u00f8\u00df\":"
     "{\"DataType\":\"String\",\"StringValue\":\"v\"},\"Hel\u4e2d\":{\"DataType\":\"String\","
     "\"StringValue\":\"w\"}}}"},
    {3, 0,
     "{\"QueueUrl\":\"f.fifo\",\"MaxNumberOfMessages\":10,\"MessageAttributeNames\":"
     "[\"Hel.*\",\"*\",\"..x\"]}"},
    {1, 0, "{\"QueueUrl\":\"src\",\"MessageBody\":\"poison\",\"DelaySeconds\":1}"},
    {2, 0,
     "{\"QueueUrl\":\"q\",\"Entries\":[{\"Id\":\"a\",\"MessageBody\":\"1\"},{\"Id\":\"b\","
     "\"MessageBody\":\"2\",\"MessageSystemAttributes\":{\"AWSTraceHeader\":{\"DataType\":"
     "\"String\",\"StringValue\":\"t\"}}}]}"},
    {3, 2,
     "{\"QueueUrl\":\"q\",\"MaxNumberOfMessages\":10,\"AttributeNames\":[\"All\"],"
     "\"MessageAttributeNames\":[\"All\"],\"WaitTimeSeconds\":2}"},
    {3, 8, "{\"QueueUrl\":\"src\",\"WaitTimeSeconds\":20,\"VisibilityTimeout\":0}"},
    {3, 0, "{\"QueueUrl\":\"f.fifo\",\"ReceiveRequestAttemptId\":\"r1\"}"},
    {4, 0,
     "{\"QueueUrl\":\"q\",\"ReceiptHandle\":\"00000000000000010000000000000001000000000000"
     "00010000000000000000\"}"},
    {5, 0, "{\"QueueUrl\":\"q\",\"Entries\":[{\"Id\":\"a\",\"ReceiptHandle\":\"x\"}]}"},
    {6, 0, "{\"QueueUrl\":\"q\",\"ReceiptHandle\":\"x\",\"VisibilityTimeout\":5}"},
    {7, 0,
     "{\"QueueUrl\":\"q\",\"Entries\":[{\"Id\":\"a\",\"ReceiptHandle\":\"x\","
     "\"VisibilityTimeout\":1}]}"},
    {8, 0, "{\"QueueUrl\":\"q\",\"AttributeNames\":[\"All\"]}"},
    {9, 0,
     "{\"QueueUrl\":\"q\",\"Attributes\":{\"RedriveAllowPolicy\":\"{\\\"redrivePermission"
     "\\\":\\\"byQueue\\\",\\\"sourceQueueArns\\\":[\\\"a\\\"]}\",\"Policy\":\"{}\"}}"},
    {10, 0, "{\"QueueName\":\"q\",\"QueueOwnerAWSAccountId\":\"000000000000\"}"},
    {11, 0, "{\"QueueNamePrefix\":\"\",\"MaxResults\":1,\"NextToken\":\"cTpx\"}"},
    {12, 0, "{\"QueueUrl\":\"dlq\",\"MaxResults\":5}"},
    {13, 0, "{\"QueueUrl\":\"q\"}"},
    {15, 0, "{\"QueueUrl\":\"q\",\"Tags\":{\"k\":\"v\"}}"},
    {16, 0, "{\"QueueUrl\":\"q\",\"TagKeys\":[\"k\",1]}"},
    {17, 0, "{\"QueueUrl\":\"q\"}"},
    {18, 0,
     "{\"QueueUrl\":\"q\",\"Label\":\"l\",\"AWSAccountIds\":[\"111122223333\"],"
     "\"Actions\":[\"*\"]}"},
    {19, 0, "{\"QueueUrl\":\"q\",\"Label\":\"l\"}"},
    {20, 4,
     "{\"SourceArn\":\"arn:aws:sqs:us-east-1:000000000000:dlq\",\"DestinationArn\":"
     "\"arn:aws:sqs:us-east-1:000000000000:q\",\"MaxNumberOfMessagesPerSecond\":1}"},
    {22, 0, "{\"SourceArn\":\"arn:aws:sqs:us-east-1:000000000000:dlq\",\"MaxResults\":10}"},
    {21, 1,
     "{\"TaskHandle\":"
     "\"eyJ0YXNrSWQiOiJ4Iiwic291cmNlQXJuIjoiYXJuOmF3czpzcXM6dXMtZWFzdC0xOjAwMDAwMDAwMDAwMDpkbHEifQ="
     "=\"}"},
    {20, 0, "{\"SourceArn\":\"arn:aws:sqs:us-east-1:000000000000:dlq\"}"},
    {14, 0, "{\"QueueUrl\":\"dlq\"}"},
};

static uint32_t rng = 0x9e3779b9u;

static uint32_t next_random(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

/* Mutates a copy of src (bounded length) in place of buf. */
static size_t mutate(uint8_t *buf, size_t cap, const uint8_t *src, size_t len) {
  static const char *const tokens[] = {"null",       "true", "-1",          "99999999999",
                                       "\"\"",       "[]",   "{}",          "\"All\"",
                                       "\"f.fifo\"", "0.5",  "\"\\u0000\"", "\"=\""};
  memcpy(buf, src, len);
  unsigned edits = 1 + next_random() % 4;
  for (unsigned e = 0; e < edits && len > 0; e++) {
    size_t at = next_random() % len;
    switch (next_random() % 5) {
    case 0: buf[at] ^= (uint8_t)(1u << (next_random() % 8)); break;
    case 1: buf[at] = (uint8_t)next_random(); break;
    case 2: len = at + 1; break;
    case 3: {
      const char *t = tokens[next_random() % (sizeof(tokens) / sizeof(tokens[0]))];
      size_t tl = strlen(t);
      if (len + tl < cap) {
        memmove(buf + at + tl, buf + at, len - at);
        memcpy(buf + at, t, tl);
        len += tl;
      }
      break;
    }
    default: {
      size_t n = 1 + next_random() % 16;
      if (at + n <= len && len + n < cap) {
        memmove(buf + at + n, buf + at, len - at);
        len += n;
      }
    }
    }
  }
  return len;
}

int main(int argc, char **argv) {
  (void)argc;
  (void)argv;
  static uint8_t seed[8192], buf[16384];
  size_t count = sizeof(SEEDS) / sizeof(SEEDS[0]);
  for (int round = 0; round < 2; round++) {
    for (size_t i = 0; i < count; i++) {
      size_t len = strlen(SEEDS[i].json);
      seed[0] = (uint8_t)SEEDS[i].op;
      seed[1] = (uint8_t)SEEDS[i].step;
      memcpy(seed + 2, SEEDS[i].json, len);
      LLVMFuzzerTestOneInput(seed, len + 2);
      for (int m = 0; m < MUTATIONS_PER_SEED; m++) {
        size_t n = mutate(buf, sizeof(buf), seed, len + 2);
        LLVMFuzzerTestOneInput(buf, n);
      }
    }
    /* Between rounds, a fresh engine: reset paths and a clean start. */
    sqs_engine_reset(engine);
  }
  engine_stop();
  printf("fuzz_sqs: %ld calls, all answered\n", started);
  return 0;
}

#endif
