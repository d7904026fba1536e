/*
 * fuzz_protocol.c — fuzz target for the emulator's request parsers (query,
 * json, rest-json, rest-xml) and, on inputs that parse, the serializers fed
 * with the parsed value.
 *
 * Input layout: byte 0 picks the service (and so the protocol), the rest is
 * "METHOD\nPATH\nQUERY\nName: value\n...\n\nBODY". Built as a libFuzzer
 * target with clang (-fsanitize=fuzzer, AIRGAP_LIBFUZZER defined); otherwise
 * fuzz_driver.c drives it over the seeds at the end of this file and
 * deterministic mutations so that every test run fuzzes briefly.
 *
 * Inputs whose first byte has bit 3 set are parsed into the thread's jansson
 * arena, as the gateway parses the operations that opt into it
 * (common/json_arena.h), and the arena is reset at the end: under ASan a
 * read of arena memory after the reset is reported.
 */
#include "common/json_arena.h"
#include "emulator/protocol/model.h"
#include "emulator/protocol/protocol.h"
#include "tests/fuzz/fuzz_driver.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FUZZ_MAX_HEADERS 32

typedef struct fuzz_req {
  char *names[FUZZ_MAX_HEADERS];
  char *values[FUZZ_MAX_HEADERS];
  size_t count;
} fuzz_req;

static const char *fuzz_header(void *ctx, const char *name) {
  fuzz_req *r = ctx;
  for (size_t i = 0; i < r->count; i++)
    if (strcasecmp(r->names[i], name) == 0)
      return r->values[i];
  return NULL;
}

static void fuzz_foreach(void *ctx, aws_header_fn fn, void *payload) {
  fuzz_req *r = ctx;
  for (size_t i = 0; i < r->count; i++)
    if (fn(r->names[i], r->values[i], payload))
      return;
}

/* Takes the next '\n'-terminated line of [*p, end) as a new string. */
static char *take_line(const char **p, const char *end) {
  const char *nl = memchr(*p, '\n', (size_t)(end - *p));
  const char *stop = nl ? nl : end;
  char *line = strndup(*p, (size_t)(stop - *p));
  *p = nl ? nl + 1 : end;
  return line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *services[] = {"sqs", "sts", "lambda", "s3", "dynamodb"};
  if (size < 1)
    return 0;
  const aws_model *m = NULL;
  if (aws_model_get(&m, services[data[0] % 5]) < 0)
    abort();
  const char *p = (const char *)data + 1, *end = (const char *)data + size;
  char *method = take_line(&p, end);
  char *path = take_line(&p, end);
  char *query = take_line(&p, end);
  fuzz_req r = {0};
  while (p < end && *p != '\n' && r.count < FUZZ_MAX_HEADERS) {
    char *line = take_line(&p, end);
    char *colon = line ? strchr(line, ':') : NULL;
    if (colon) {
      *colon = '\0';
      r.names[r.count] = strdup(line);
      const char *v = colon + 1;
      while (*v == ' ')
        v++;
      r.values[r.count] = strdup(v);
      r.count++;
    }
    free(line);
  }
  if (p < end && *p == '\n')
    p++;
  /* The body is its own allocation so that ASan sees reads past its end. */
  size_t body_len = (size_t)(end - p);
  char *body = malloc(body_len + 1);
  memcpy(body, p, body_len);
  body[body_len] = '\0';
  aws_http_in in = {.method = method,
                    .path = path,
                    .query = query,
                    .header = fuzz_header,
                    .headers_foreach = fuzz_foreach,
                    .ctx = &r,
                    .body = body,
                    .body_len = body_len};
  aws_protocol proto = aws_protocol_detect(m, &in);
  aws_error err = {0};
  const char *op = NULL;
  json_t *input = NULL;
  aws_http_out out;
  int arena = (data[0] & 8) != 0;
  json_arena_init();
  int parsed = -1;
  if (aws_protocol_operation(&op, &err, m, proto, &in) == 0) {
    if (arena)
      json_arena_enter();
    parsed = aws_protocol_parse(&input, &err, m, proto, op, &in);
    json_arena_leave();
  }
  if (parsed == 0) {
    /* Feed the parsed input to the output serializer: shapes differ, which
     * exercises its "value does not fit" paths. */
    if (aws_protocol_serialize(&out, m, proto, op, input, "fuzz") == 0)
      aws_http_out_free(&out);
    json_decref(input);
  }
  if (!err.code)
    aws_error_set(&err, 0, op ? op : "InternalFailure", "fuzz");
  aws_protocol_serialize_error(&out, m, proto, &err, "fuzz");
  aws_http_out_free(&out);
  /* As for a service without a model: the protocol guessed from the request,
   * the error rendered without a model (the message quotes the input). */
  aws_error_set(&err, 501, "NotImplemented", "%.*s", (int)(body_len < 200 ? body_len : 200),
                body ? body : "");
  aws_protocol_serialize_error(&out, NULL, aws_protocol_guess(&in, path), &err, "fuzz");
  aws_http_out_free(&out);
  aws_error_clear(&err);
  if (arena)
    json_arena_reset();
  for (size_t i = 0; i < r.count; i++) {
    free(r.names[i]);
    free(r.values[i]);
  }
  free(method);
  free(path);
  free(query);
  free(body);
  return 0;
}

const char fuzz_target_name[] = "fuzz_protocol";
const fuzz_seed fuzz_alphabet = FUZZ_LITERAL("<>&;=.%{}[]\":,\n\\0123456789-");
const int fuzz_mutations_per_seed = 3000;

/* Byte 0 picks the service (see the layout above). */
const fuzz_seed fuzz_seeds[] = {
    /* Bit 3 of the first byte: parsed into the arena (0x0a: SQS, 0x09: DynamoDB). */
    FUZZ_LITERAL(
        "\x0aPOST\n/\n\nContent-Type: application/x-amz-json-1.0\nX-Amz-Target: "
        "AmazonSQS.SendMessageBatch\n\n{\"QueueUrl\":\"q\",\"Entries\":[{\"Id\":\"a\","
        "\"MessageBody\":\"b\",\"MessageAttributes\":{\"n\":{\"DataType\":\"Binary\","
        "\"BinaryValue\":\"AAEC\"}}},{\"Id\":\"c\",\"MessageBody\":\"d\",\"DelaySeconds\":1}]}"),
    FUZZ_LITERAL(
        "\x09POST\n/\n\nContent-Type: application/x-amz-json-1.0\nX-Amz-Target: "
        "DynamoDB_20120810.BatchWriteItem\n\n{\"RequestItems\":{\"t\":[{\"PutRequest\":{\"Item\":"
        "{\"k\":{\"S\":\"a\"},\"b\":{\"B\":\"AAEC\"},\"n\":{\"N\":\"1.5\"},\"l\":{\"L\":[{"
        "\"NULL\":true}]}}}}]}}"),
    FUZZ_LITERAL(
        "\x00POST\n/\n\nContent-Type: application/x-www-form-urlencoded\n\nAction=SendMessageBatch&"
        "QueueUrl=q&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody="
        "b&"
        "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=n&SendMessageBatchRequestEntry.1."
        "MessageAttribute.1.Value.DataType=Binary&SendMessageBatchRequestEntry.1.MessageAttribute."
        "1."
        "Value.BinaryValue=AAEC"),
    FUZZ_LITERAL(
        "\x00POST\n/\n\nContent-Type: application/x-amz-json-1.0\nX-Amz-Target: "
        "AmazonSQS.SendMessage\n\n{\"QueueUrl\":\"q\",\"MessageBody\":\"b\",\"DelaySeconds\":1,"
        "\"MessageAttributes\":{\"a\":{\"DataType\":\"String\",\"StringValue\":\"v\"}}}"),
    FUZZ_LITERAL(
        "\x00POST\n/\n\nContent-Type: application/x-www-form-urlencoded\n\nAction=CreateQueue&"
        "QueueName=q&Attribute.1.Name=DelaySeconds&Attribute.1.Value=5&Tag.1.Key=k&Tag.1.Value=v"),
    /* %00 kept inside query values (SQS reads them by length). */
    FUZZ_LITERAL(
        "\x00POST\n/\n\nContent-Type: application/x-www-form-urlencoded\n\nAction=SendMessage&"
        "QueueUrl=q%00&MessageBody=a%00b&DelaySeconds=1%00&MessageAttribute.1.Name=n&"
        "MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=%00"),
    FUZZ_LITERAL(
        "\x01POST\n/\n\nContent-Type: application/x-www-form-urlencoded\n\nAction=AssumeRole&"
        "Version=2011-06-15&RoleArn=a%00&RoleSessionName=s%00&DurationSeconds=900%00"),
    FUZZ_LITERAL(
        "\x01POST\n/\n\nContent-Type: "
        "application/x-www-form-urlencoded\n\nAction=AssumeRole&Version=2011-06-15&RoleArn="
        "arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fx&RoleSessionName=s&Tags.member.1.Key=k&"
        "Tags.member.1.Value=v&DurationSeconds=900"),
    FUZZ_LITERAL(
        "\x01POST\n/\n\nContent-Type: application/x-www-form-urlencoded\n\nAction=AssumeRole&"
        "Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fx&"
        "RoleSessionName=s&DurationSeconds=9e9"),
    FUZZ_LITERAL(
        "\x02POST\n/2015-03-31/functions/f/invocations\nQualifier=1\nX-Amz-Invocation-Type: "
        "Event\n\n{\"a\":[1,2,{\"b\":null}]}"),
    FUZZ_LITERAL(
        "\x02POST\n/2015-03-31/functions\n\nContent-Type: "
        "application/json\n\n{\"FunctionName\":\"f\","
        "\"Role\":\"r\",\"Code\":{\"ZipFile\":\"UEsDBA==\"},\"Environment\":{\"Variables\":{\"A\":"
        "\"B\"}},\"Timeout\":3,\"Tags\":{\"t\":\"v\"}}"),
    FUZZ_LITERAL(
        "\x03PUT\n/bucket\ntagging\n\n<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag>"
        "</TagSet></Tagging>"),
    FUZZ_LITERAL(
        "\x03POST\n/bucket\ndelete\n\n<Delete><Object><Key>a</Key></Object><Quiet>true</Quiet>"
        "</Delete>"),
    FUZZ_LITERAL(
        "\x03PUT\n/bucket/a/b%20c\n\nx-amz-meta-color: blue\nContent-Type: text/plain\nExpires: "
        "Tue, 14 Nov 2023 22:13:20 GMT\n\nhello"),
    FUZZ_LITERAL("\x03GET\n/bucket\nlist-type=2&prefix=a&max-keys=10\n\n"),
    FUZZ_LITERAL(
        "\x03PUT\n/bucket\n\n\n<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
        "2006-03-01/\"><LocationConstraint>eu-west-1</LocationConstraint></"
        "CreateBucketConfiguration>"),
    FUZZ_LITERAL(
        "\x04POST\n/\n\nContent-Type: application/x-amz-json-1.0\nX-Amz-Target: "
        "DynamoDB_20120810.PutItem\n\n{\"TableName\":\"t\",\"Item\":{\"a\":{\"M\":{\"b\":{\"L\":[{"
        "\"N\":\"1\"},{\"B\":\"AA==\"}]}}}}}"),
};
const size_t fuzz_seed_count = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);
