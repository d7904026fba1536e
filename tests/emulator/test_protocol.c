/*
 * test_protocol.c — unit tests of the emulator's model-driven protocol layer
 * (emulator/protocol/) against the real embedded botocore models: request
 * parsing for query, json, rest-json and rest-xml, response and error
 * serialization (also without a model, for services this build does not
 * serve), timestamps and blobs, and hostile input (bad XML/JSON, wrong
 * types, missing members, huge numbers, deep nesting, DTDs) — each must give
 * the protocol's error, never a crash or a partial result.
 */
#include "emulator/protocol/model.h"
#include "emulator/protocol/protocol.h"
#include "common/codec.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

/* ---- a request described in memory ---- */

typedef struct fake_req {
  const char *headers[16]; /* name, value, name, value, …, NULL */
} fake_req;

static const char *fake_header(void *ctx, const char *name) {
  fake_req *r = ctx;
  for (size_t i = 0; r->headers[i]; i += 2)
    if (strcasecmp(r->headers[i], name) == 0)
      return r->headers[i + 1];
  return NULL;
}

static void fake_foreach(void *ctx, aws_header_fn fn, void *payload) {
  fake_req *r = ctx;
  for (size_t i = 0; r->headers[i]; i += 2)
    if (fn(r->headers[i], r->headers[i + 1], payload))
      return;
}

static aws_http_in make_in(fake_req *r, const char *method, const char *path, const char *query,
                           const char *body) {
  aws_http_in in = {.method = method,
                    .path = path,
                    .query = query ? query : "",
                    .header = fake_header,
                    .headers_foreach = fake_foreach,
                    .ctx = r,
                    .body = body,
                    .body_len = body ? strlen(body) : 0};
  return in;
}

static const aws_model *model(const char *name) {
  const aws_model *m = NULL;
  assert_int_equal(aws_model_get(&m, name), 0);
  return m;
}

/* Resolves the operation and parses; returns the parse result code. */
static int parse(json_t **out, aws_error *err, const char *svc, const aws_http_in *in,
                 const char **op_out) {
  const aws_model *m = model(svc);
  aws_protocol p = aws_protocol_detect(m, in);
  const char *op = NULL;
  int rc = aws_protocol_operation(&op, err, m, p, in);
  if (rc < 0)
    return rc;
  if (op_out)
    *op_out = op;
  return aws_protocol_parse(out, err, m, p, op, in);
}

static const char *form[] = {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8",
                             NULL};

/* ---- models ---- */

/* The JSON protocol's in-place parse and direct writer (value_json.c): the
 * neutral form and the bytes value.c's tree path gave. */
static void test_emulator_json_in_place(void **state) {
  (void)state;
  fake_req r = {{"Content-Type", "application/x-amz-json-1.1", "X-Amz-Target",
                 "Kinesis_20131202.PutRecords", NULL}};
  aws_http_in in = make_in(&r, "POST", "/", NULL,
                           "{\"StreamName\":\"s\",\"Unknown\":[1],\"StreamARN\":null,"
                           "\"Records\":[{\"Data\":\"eA==\",\"PartitionKey\":\"k\",\"x\":1}]}");
  json_t *out = NULL;
  aws_error err = {0};
  assert_int_equal(parse(&out, &err, "kinesis", &in, NULL), 0);
  char *text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
  assert_string_equal(
      text, "{\"Records\":[{\"Data\":\"eA==\",\"PartitionKey\":\"k\"}],\"StreamName\":\"s\"}");
  free(text);
  json_decref(out);
  /* Errors name the member, as before. */
  in = make_in(&r, "POST", "/", NULL,
               "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"!!\",\"PartitionKey\":\"k\"}]}");
  assert_int_not_equal(parse(&out, &err, "kinesis", &in, NULL), 0);
  assert_string_equal(err.code, "SerializationException");
  assert_non_null(strstr(err.message, "Data"));
  aws_error_clear(&err);
  in = make_in(&r, "POST", "/", NULL, "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"eA==\"}]}");
  assert_int_not_equal(parse(&out, &err, "kinesis", &in, NULL), 0);
  assert_string_equal(err.code, "ValidationException");
  aws_error_clear(&err);
  /* Timestamps and doubles become numbers in place. */
  fake_req r2 = {{"Content-Type", "application/x-amz-json-1.1", "X-Amz-Target",
                  "Kinesis_20131202.GetShardIterator", NULL}};
  in = make_in(&r2, "POST", "/", NULL,
               "{\"StreamName\":\"s\",\"ShardId\":\"a\",\"ShardIteratorType\":\"AT_TIMESTAMP\","
               "\"Timestamp\":\"2020-01-01T00:00:01.5Z\"}");
  assert_int_equal(parse(&out, &err, "kinesis", &in, NULL), 0);
  assert_true(json_is_real(json_object_get(out, "Timestamp")));
  assert_true(json_real_value(json_object_get(out, "Timestamp")) == 1577836801.5);
  json_decref(out);
  /* Output: model order, escapes as jansson's, ill-typed members left out. */
  json_t *o =
      json_pack("{s:s,s:[{s:s,s:s},{s:s,s:s}],s:i,s:i}", "EncryptionType", "NONE", "Records",
                "SequenceNumber", "1", "ShardId", "s", "ErrorCode", "E", "ErrorMessage",
                "q\"\\/\n\t\x01\xc3\xa9", "FailedRecordCount", 1, "Extra", 2);
  aws_http_out h;
  assert_int_equal(
      aws_protocol_serialize(&h, model("kinesis"), AWS_PROTOCOL_JSON, "PutRecords", o, NULL), 0);
  assert_string_equal(h.body, "{\"FailedRecordCount\":1,\"Records\":[{\"SequenceNumber\":\"1\","
                              "\"ShardId\":\"s\"},{\"ErrorCode\":\"E\",\"ErrorMessage\":"
                              "\"q\\\"\\\\/\\n\\t\\u0001\xc3\xa9\"}],\"EncryptionType\":\"NONE\"}");
  assert_int_equal(h.body_len, strlen(h.body));
  aws_http_out_free(&h);
  json_object_set_new(o, "FailedRecordCount", json_string("one"));
  assert_int_equal(
      aws_protocol_serialize(&h, model("kinesis"), AWS_PROTOCOL_JSON, "PutRecords", o, NULL), 0);
  assert_null(strstr(h.body, "FailedRecordCount"));
  assert_int_equal(h.body[0], '{');
  assert_int_equal(h.body[1], '"');
  aws_http_out_free(&h);
  json_decref(o);
  o = json_pack("{s:{s:s,s:f,s:i}}", "StreamDescriptionSummary", "StreamName", "s",
                "StreamCreationTimestamp", 1.5, "OpenShardCount", 2);
  assert_int_equal(aws_protocol_serialize(&h, model("kinesis"), AWS_PROTOCOL_JSON,
                                          "DescribeStreamSummary", o, NULL),
                   0);
  assert_non_null(strstr(h.body, "\"StreamCreationTimestamp\":1.5"));
  assert_non_null(strstr(h.body, "\"OpenShardCount\":2"));
  aws_http_out_free(&h);
  json_decref(o);
}

static void test_emulator_models_embedded(void **state) {
  (void)state;
  const char *names[] = {"sts", "sqs", "s3", "lambda", "dynamodb"};
  for (size_t i = 0; i < 5; i++) {
    const aws_model *m = model(names[i]);
    assert_non_null(aws_model_operations(m));
    /* Documentation is stripped by the build step. */
    const json_t *op = aws_model_operation(
        m, json_object_iter_key(json_object_iter((json_t *)aws_model_operations(m))));
    assert_null(json_object_get(op, "documentation"));
  }
  const aws_model *m = NULL;
  assert_int_equal(aws_model_get(&m, "nosuchservice"), -2);
  assert_true(aws_model_query_compatible(model("sqs")));
  assert_string_equal(aws_model_meta(model("sqs"), "targetPrefix"), "AmazonSQS");
}

/* ---- query ---- */

static void test_emulator_query_parse_sts(void **state) {
  (void)state;
  fake_req r = {{form[0], form[1], NULL}};
  aws_http_in in = make_in(&r, "POST", "/", "",
                           "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
                           "123456789012%3Arole%2Fdemo&RoleSessionName=s1&DurationSeconds=900"
                           "&Tags.member.1.Key=team&Tags.member.1.Value=ci"
                           "&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FX");
  json_t *input = NULL;
  aws_error err = {0};
  const char *op = NULL;
  assert_int_equal(parse(&input, &err, "sts", &in, &op), 0);
  assert_string_equal(op, "AssumeRole");
  assert_string_equal(json_string_value(json_object_get(input, "RoleArn")),
                      "arn:aws:iam::123456789012:role/demo");
  assert_int_equal(json_integer_value(json_object_get(input, "DurationSeconds")), 900);
  json_t *tags = json_object_get(input, "Tags");
  assert_int_equal(json_array_size(tags), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(tags, 0), "Value")), "ci");
  assert_string_equal(json_string_value(json_object_get(
                          json_array_get(json_object_get(input, "PolicyArns"), 0), "arn")),
                      "arn:aws:iam::aws:policy/X");
  json_decref(input);
  aws_error_clear(&err);
}

static void expect_query_error(const char *svc, const char *body, const char *code) {
  fake_req r = {{form[0], form[1], NULL}};
  aws_http_in in = make_in(&r, "POST", "/", "", body);
  json_t *input = NULL;
  aws_error err = {0};
  assert_true(parse(&input, &err, svc, &in, NULL) < 0);
  assert_null(input);
  assert_non_null(err.code);
  if (strcmp(err.code, code) != 0)
    fail_msg("expected %s, got %s (%s)", code, err.code, err.message);
  aws_error_clear(&err);
}

/* As expect_query_error, and the message too. */
static void expect_query_message(const char *svc, const char *body, const char *code,
                                 const char *message) {
  fake_req r = {{form[0], form[1], NULL}};
  aws_http_in in = make_in(&r, "POST", "/", "", body);
  json_t *input = NULL;
  aws_error err = {0};
  assert_true(parse(&input, &err, svc, &in, NULL) < 0);
  assert_null(input);
  int same = err.code && err.message && !strcmp(err.code, code) && !strcmp(err.message, message);
  if (!same)
    print_error("expected %s (%s), got %s (%s)\n", code, message, err.code, err.message);
  aws_error_clear(&err);
  assert_true(same);
}

static void test_emulator_query_errors(void **state) {
  (void)state;
  expect_query_error("sts", "Action=AssumeRole&Version=2011-06-15&RoleSessionName=x",
                     "ValidationError");
  /* STS reads numbers as 32-bit decimal integers: anything else is
   * MalformedInput, with no message unless the value is empty. */
  expect_query_message("sts",
                       "Action=AssumeRole&Version=2011-06-15&RoleArn=a&RoleSessionName=x"
                       "&DurationSeconds=abc",
                       "MalformedInput", "");
  expect_query_message("sts",
                       "Action=AssumeRole&Version=2011-06-15&RoleArn=a&RoleSessionName=x"
                       "&DurationSeconds=",
                       "MalformedInput", "missing value for decimal type");
  expect_query_error("sts",
                     "Action=AssumeRole&Version=2011-06-15&RoleArn=a&RoleSessionName=x"
                     "&DurationSeconds=99999999999999999999999999",
                     "MalformedInput");
  /* integer, not long: 2^31 does not fit */
  expect_query_error("sts",
                     "Action=AssumeRole&Version=2011-06-15&RoleArn=a&RoleSessionName=x"
                     "&DurationSeconds=2147483648",
                     "MalformedInput");
  /* Other query services keep their type error. */
  expect_query_error("sqs", "Action=ReceiveMessage&QueueUrl=q&MaxNumberOfMessages=abc",
                     "InvalidParameterValue");
  /* STS's and IAM's framework: unknown actions and (STS) versions. */
  expect_query_message("sts", "Action=NoSuchThing&Version=2011-06-15", "InvalidAction",
                       "Could not find operation NoSuchThing for version 2011-06-15");
  expect_query_message("sts", "Action=GetCallerIdentity", "InvalidAction",
                       "Could not find operation GetCallerIdentity for version "
                       "NO_VERSION_SPECIFIED");
  expect_query_message("sts", "Action=GetCallerIdentity&Version=2012-01-01", "InvalidAction",
                       "Could not find operation GetCallerIdentity for version 2012-01-01");
  expect_query_message("iam", "Action=NoSuchThing&Version=2010-05-08", "InvalidAction",
                       "Could not find operation NoSuchThing for version 2010-05-08");
  expect_query_message("sns", "Action=NoSuchThing&Version=2010-03-31", "InvalidAction",
                       "The action NoSuchThing is not valid for this web service.");
  expect_query_error("sts", "Version=2011-06-15", "MissingAction");
  expect_query_error("sts", "Action=GetCallerIdentity&Version=2011-06-15&bad=%zz",
                     "MalformedQueryString");
  expect_query_error("sqs", "Action=SendMessage&QueueUrl=q&MessageBody=%FF%FE",
                     "MalformedQueryString");
  expect_query_error("sqs",
                     "Action=SendMessage&QueueUrl=q&MessageBody=b&MessageAttribute.1.Name=a"
                     "&MessageAttribute.1.Value.BinaryValue=not*base64",
                     "InvalidParameterValue");
  /* Parameter names with very many dots are refused, not expanded. */
  dynbuf b;
  dynbuf_init(&b, 16 << 20);
  dynbuf_puts(&b, "Action=GetCallerIdentity&Version=2011-06-15");
  for (int i = 0; i < 1000; i++) {
    dynbuf_printf(&b, "&p%d", i);
    for (int j = 0; j < 120; j++)
      dynbuf_puts(&b, ".a");
    dynbuf_puts(&b, "=v");
  }
  expect_query_error("sts", b.data, "MalformedQueryString");
  dynbuf_free(&b);
  /* A map entry with a key but no value. */
  expect_query_error("sqs", "Action=CreateQueue&QueueName=q&Attribute.1.Name=DelaySeconds",
                     "MissingParameter");
}

static void test_emulator_query_parse_sqs_shapes(void **state) {
  (void)state;
  fake_req r = {{form[0], form[1], NULL}};
  aws_http_in in = make_in(
      &r, "POST", "/", "",
      "Action=SendMessageBatch&QueueUrl=http%3A%2F%2Flocalhost%3A4566%2F000000000000%2Fq"
      "&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=one"
      "&SendMessageBatchRequestEntry.1.DelaySeconds=5"
      "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=color"
      "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=String"
      "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=red"
      "&SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=two");
  json_t *input = NULL;
  aws_error err = {0};
  assert_int_equal(parse(&input, &err, "sqs", &in, NULL), 0);
  json_t *entries = json_object_get(input, "Entries");
  assert_int_equal(json_array_size(entries), 2);
  json_t *first = json_array_get(entries, 0);
  assert_int_equal(json_integer_value(json_object_get(first, "DelaySeconds")), 5);
  json_t *color = json_object_get(json_object_get(first, "MessageAttributes"), "color");
  assert_string_equal(json_string_value(json_object_get(color, "StringValue")), "red");
  assert_string_equal(json_string_value(json_object_get(json_array_get(entries, 1), "Id")), "b");
  json_decref(input);

  in = make_in(&r, "POST", "/", "",
               "Action=ReceiveMessage&QueueUrl=q&AttributeName.1=All&AttributeName.2=SentTimestamp"
               "&MessageAttributeName.1=All&MaxNumberOfMessages=10&WaitTimeSeconds=0");
  assert_int_equal(parse(&input, &err, "sqs", &in, NULL), 0);
  assert_int_equal(json_array_size(json_object_get(input, "AttributeNames")), 2);
  assert_int_equal(json_integer_value(json_object_get(input, "MaxNumberOfMessages")), 10);
  json_decref(input);

  in = make_in(&r, "POST", "/", "",
               "Action=CreateQueue&QueueName=q.fifo&Attribute.1.Name=FifoQueue"
               "&Attribute.1.Value=true&Attribute.2.Name=VisibilityTimeout&Attribute.2.Value=30"
               "&Tag.1.Key=k&Tag.1.Value=v");
  assert_int_equal(parse(&input, &err, "sqs", &in, NULL), 0);
  json_t *attrs = json_object_get(input, "Attributes");
  assert_string_equal(json_string_value(json_object_get(attrs, "FifoQueue")), "true");
  assert_string_equal(json_string_value(json_object_get(attrs, "VisibilityTimeout")), "30");
  assert_string_equal(json_string_value(json_object_get(json_object_get(input, "tags"), "k")), "v");
  json_decref(input);

  /* An empty list is sent as "Name=" by botocore. */
  in = make_in(&r, "POST", "/", "", "Action=ListQueues");
  assert_int_equal(parse(&input, &err, "sqs", &in, NULL), 0);
  assert_int_equal(json_object_size(input), 0);
  json_decref(input);
  aws_error_clear(&err);
}

static void test_emulator_query_serialize(void **state) {
  (void)state;
  const aws_model *m = model("sqs");
  json_t *out = json_pack("{s:[{s:s, s:s, s:s, s:{s:s, s:s}, s:{s:{s:s, s:s}}}]}", "Messages",
                          "MessageId", "m-1", "ReceiptHandle", "r<&>", "Body", "hello <world>",
                          "Attributes", "SenderId", "AIDA", "ApproximateReceiveCount", "1",
                          "MessageAttributes", "color", "DataType", "String", "StringValue", "red");
  aws_http_out o;
  assert_int_equal(aws_protocol_serialize(&o, m, AWS_PROTOCOL_QUERY, "ReceiveMessage", out, "rid"),
                   0);
  assert_int_equal(o.status, 200);
  assert_non_null(strstr(o.body, "<ReceiveMessageResponse xmlns=\"http://queue.amazonaws.com/doc/"
                                 "2012-11-05/\"><ReceiveMessageResult><Message><MessageId>m-1"));
  assert_non_null(strstr(o.body, "<ReceiptHandle>r&lt;&amp;&gt;</ReceiptHandle>"));
  assert_non_null(strstr(o.body, "<Body>hello &lt;world&gt;</Body>"));
  assert_non_null(
      strstr(o.body, "<Attribute><Name>SenderId</Name><Value>AIDA</Value></Attribute>"));
  assert_non_null(strstr(o.body, "<MessageAttribute><Name>color</Name><Value><StringValue>red"
                                 "</StringValue><DataType>String</DataType></Value>"));
  assert_non_null(strstr(o.body, "<RequestId>rid</RequestId>"));
  assert_string_equal(json_string_value(json_object_get(o.headers, "x-amzn-RequestId")), "rid");
  aws_http_out_free(&o);
  json_decref(out);

  /* Control characters XML cannot carry become U+FFFD; CR survives as a reference. */
  out = json_pack("{s:s}", "MessageId",
                  "a\x01"
                  "b\rc");
  assert_int_equal(aws_protocol_serialize(&o, m, AWS_PROTOCOL_QUERY, "SendMessage", out, "rid"), 0);
  assert_non_null(strstr(o.body, "<MessageId>a\xEF\xBF\xBD"
                                 "b&#xD;c</MessageId>"));
  aws_http_out_free(&o);
  json_decref(out);

  /* Timestamps are ISO 8601 in XML. */
  out =
      json_pack("{s:{s:s, s:s, s:s, s:I}}", "Credentials", "AccessKeyId", "ASIA", "SecretAccessKey",
                "s", "SessionToken", "t", "Expiration", (json_int_t)1700000000);
  assert_int_equal(
      aws_protocol_serialize(&o, model("sts"), AWS_PROTOCOL_QUERY, "GetSessionToken", out, "x"), 0);
  assert_non_null(strstr(o.body, "<GetSessionTokenResult><Credentials>"));
  assert_non_null(strstr(o.body, "<Expiration>2023-11-14T22:13:20Z</Expiration>"));
  aws_http_out_free(&o);
  json_decref(out);
}

static void test_emulator_query_error_render(void **state) {
  (void)state;
  aws_error err = {0};
  aws_error_set(&err, 0, "QueueDoesNotExist", "The specified queue does not exist.");
  aws_http_out o;
  aws_protocol_serialize_error(&o, model("sqs"), AWS_PROTOCOL_QUERY, &err, "rid");
  assert_int_equal(o.status, 400);
  assert_non_null(strstr(o.body, "<Type>Sender</Type><Code>AWS.SimpleQueueService."
                                 "NonExistentQueue</Code><Message>The specified queue"));
  aws_http_out_free(&o);

  aws_protocol_serialize_error(&o, model("sqs"), AWS_PROTOCOL_JSON, &err, "rid");
  assert_int_equal(o.status, 400);
  json_t *body = json_loadb(o.body, o.body_len, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(body, "__type")),
                      "com.amazonaws.sqs#QueueDoesNotExist");
  assert_string_equal(json_string_value(json_object_get(o.headers, "x-amzn-query-error")),
                      "AWS.SimpleQueueService.NonExistentQueue;Sender");
  json_decref(body);
  aws_http_out_free(&o);
  /* A handler may name the error by its query code too. */
  aws_error_set(&err, 0, "AWS.SimpleQueueService.NonExistentQueue", "gone");
  aws_protocol_serialize_error(&o, model("sqs"), AWS_PROTOCOL_JSON, &err, "rid");
  assert_non_null(strstr(o.body, "com.amazonaws.sqs#QueueDoesNotExist"));
  aws_http_out_free(&o);
  aws_error_clear(&err);
}

/* A query request preferring JSON (Accept) is answered in JSON, as AWS's
 * query services answer it: the XML document's structure, timestamps as
 * epoch seconds, errors as {"Error": {…}, "RequestId"}. */
static void test_emulator_query_json_answers(void **state) {
  (void)state;
  const char *accepts[][2] = {{"application/json", "1"},
                              {"application/json, text/plain, */*", "1"},
                              {"Application/JSON; q=1", "1"},
                              {"text/xml, application/json", "0"},
                              {"application/xml", "0"},
                              {"*/*", "0"},
                              {"", "0"}};
  for (size_t i = 0; i < sizeof(accepts) / sizeof(accepts[0]); i++) {
    fake_req r = {{form[0], form[1], "Accept", accepts[i][0], NULL}};
    aws_http_in in = make_in(&r, "POST", "/", "", "Action=GetCallerIdentity&Version=2011-06-15");
    assert_int_equal(aws_protocol_detect(model("sts"), &in),
                     accepts[i][1][0] == '1' ? AWS_PROTOCOL_QUERY_JSON : AWS_PROTOCOL_QUERY);
    assert_string_equal(aws_protocol_name(aws_protocol_detect(model("sts"), &in)), "query");
  }
  /* Parsed as query. */
  fake_req r = {{form[0], form[1], "Accept", "application/json", NULL}};
  aws_http_in in =
      make_in(&r, "POST", "/", "", "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=900");
  json_t *input = NULL;
  aws_error err = {0};
  const char *op = NULL;
  assert_int_equal(parse(&input, &err, "sts", &in, &op), 0);
  assert_string_equal(op, "GetSessionToken");
  assert_int_equal(json_integer_value(json_object_get(input, "DurationSeconds")), 900);
  json_decref(input);

  json_t *out =
      json_pack("{s:{s:s, s:s, s:s, s:I}}", "Credentials", "AccessKeyId", "ASIA", "SecretAccessKey",
                "s", "SessionToken", "t", "Expiration", (json_int_t)1700000000);
  aws_http_out o;
  assert_int_equal(aws_protocol_serialize(&o, model("sts"), AWS_PROTOCOL_QUERY_JSON,
                                          "GetSessionToken", out, "rid"),
                   0);
  assert_int_equal(o.status, 200);
  assert_string_equal(o.content_type, "application/json");
  json_t *body = json_loadb(o.body, o.body_len, 0, NULL);
  json_t *expected =
      json_pack("{s:{s:{s:{s:s, s:s, s:s, s:I}}, s:{s:s}}}", "GetSessionTokenResponse",
                "GetSessionTokenResult", "Credentials", "AccessKeyId", "ASIA", "SecretAccessKey",
                "s", "SessionToken", "t", "Expiration", (json_int_t)1700000000, "ResponseMetadata",
                "RequestId", "rid");
  assert_true(json_equal(body, expected));
  assert_string_equal(json_string_value(json_object_get(o.headers, "x-amzn-RequestId")), "rid");
  json_decref(body);
  json_decref(expected);
  json_decref(out);
  aws_http_out_free(&o);

  /* An operation without output members still gets its Result. */
  assert_int_equal(
      aws_protocol_serialize(&o, model("sqs"), AWS_PROTOCOL_QUERY_JSON, "DeleteQueue", NULL, "r2"),
      0);
  body = json_loadb(o.body, o.body_len, 0, NULL);
  assert_string_equal(
      json_string_value(json_object_get(
          json_object_get(json_object_get(body, "DeleteQueueResponse"), "ResponseMetadata"),
          "RequestId")),
      "r2");
  json_decref(body);
  aws_http_out_free(&o);

  aws_error_set(&err, 0, "QueueDoesNotExist", "The specified queue does not exist.");
  aws_protocol_serialize_error(&o, model("sqs"), AWS_PROTOCOL_QUERY_JSON, &err, "rid");
  assert_int_equal(o.status, 400);
  assert_string_equal(o.content_type, "application/json");
  body = json_loadb(o.body, o.body_len, 0, NULL);
  expected = json_pack("{s:{s:s, s:s, s:s}, s:s}", "Error", "Code",
                       "AWS.SimpleQueueService.NonExistentQueue", "Message",
                       "The specified queue does not exist.", "Type", "Sender", "RequestId", "rid");
  assert_true(json_equal(body, expected));
  json_decref(body);
  json_decref(expected);
  aws_http_out_free(&o);
  aws_error_set(&err, 500, "InternalFailure", "boom");
  aws_protocol_serialize_error(&o, model("sts"), AWS_PROTOCOL_QUERY_JSON, &err, "rid");
  assert_int_equal(o.status, 500);
  assert_non_null(strstr(o.body, "\"Type\":\"Receiver\""));
  aws_http_out_free(&o);
  aws_error_clear(&err);
}

/* ---- json ---- */

static const char *sqs_json[] = {"Content-Type", "application/x-amz-json-1.0", "X-Amz-Target",
                                 "AmazonSQS.SendMessage", NULL};

static void test_emulator_json_parse(void **state) {
  (void)state;
  fake_req r = {{sqs_json[0], sqs_json[1], sqs_json[2], sqs_json[3], NULL}};
  aws_http_in in = make_in(&r, "POST", "/", "",
                           "{\"QueueUrl\":\"http://x/000000000000/q\",\"MessageBody\":\"hi\","
                           "\"DelaySeconds\":3,\"Unknown\":{\"deep\":1},"
                           "\"MessageAttributes\":{\"b\":{\"DataType\":\"Binary\","
                           "\"BinaryValue\":\"AAEC\"}}}");
  assert_int_equal(aws_protocol_detect(model("sqs"), &in), AWS_PROTOCOL_JSON);
  json_t *input = NULL;
  aws_error err = {0};
  const char *op = NULL;
  assert_int_equal(parse(&input, &err, "sqs", &in, &op), 0);
  assert_string_equal(op, "SendMessage");
  assert_int_equal(json_integer_value(json_object_get(input, "DelaySeconds")), 3);
  assert_null(json_object_get(input, "Unknown"));
  assert_string_equal(
      json_string_value(json_object_get(
          json_object_get(json_object_get(input, "MessageAttributes"), "b"), "BinaryValue")),
      "AAEC");
  json_decref(input);
  aws_error_clear(&err);
}

static void expect_json_error(const char *target, const char *body, const char *code) {
  fake_req r = {{"Content-Type", "application/x-amz-json-1.0", "X-Amz-Target", target, NULL}};
  aws_http_in in = make_in(&r, "POST", "/", "", body);
  json_t *input = NULL;
  aws_error err = {0};
  assert_true(parse(&input, &err, "sqs", &in, NULL) < 0);
  assert_null(input);
  if (strcmp(err.code, code) != 0)
    fail_msg("expected %s, got %s (%s)", code, err.code, err.message);
  aws_error_clear(&err);
}

static void test_emulator_json_errors(void **state) {
  (void)state;
  expect_json_error("AmazonSQS.SendMessage", "{\"QueueUrl\":", "SerializationException");
  expect_json_error("AmazonSQS.SendMessage", "[1,2]", "InvalidParameterValue");
  expect_json_error("AmazonSQS.SendMessage", "{\"QueueUrl\":\"q\"}", "MissingParameter");
  expect_json_error("AmazonSQS.SendMessage",
                    "{\"QueueUrl\":\"q\",\"MessageBody\":\"b\",\"DelaySeconds\":\"5\"}",
                    "InvalidParameterValue");
  expect_json_error("AmazonSQS.SendMessage",
                    "{\"QueueUrl\":\"q\",\"MessageBody\":\"b\",\"DelaySeconds\":1e400}",
                    "SerializationException");
  expect_json_error("AmazonSQS.SendMessage",
                    "{\"QueueUrl\":\"q\",\"MessageBody\":\"b\",\"DelaySeconds\":"
                    "123456789012345678901234567890}",
                    "SerializationException");
  expect_json_error("AmazonSQS.SendMessage",
                    "{\"QueueUrl\":\"q\",\"MessageBody\":\"b\",\"DelaySeconds\":4294967296}",
                    "InvalidParameterValue");
  expect_json_error("AmazonSQS.SendMessage", "{\"QueueUrl\":\"q\",\"QueueUrl\":\"r\"}",
                    "SerializationException");
  expect_json_error("AmazonSQS.NoSuchOp", "{}", "UnknownOperationException");
  expect_json_error("OtherService.SendMessage", "{}", "UnknownOperationException");
  /* Deep nesting: rejected by jansson or by our depth limit, never a crash. */
  size_t depth = 100000;
  char *deep = malloc(depth * 2 + 64);
  assert_non_null(deep);
  size_t n = 0;
  const char *head = "{\"QueueUrl\":\"q\",\"MessageBody\":\"b\",\"X\":";
  memcpy(deep, head, strlen(head));
  n += strlen(head);
  for (size_t i = 0; i < depth; i++)
    deep[n++] = '[';
  for (size_t i = 0; i < depth; i++)
    deep[n++] = ']';
  deep[n++] = '}';
  deep[n] = '\0';
  expect_json_error("AmazonSQS.SendMessage", deep, "SerializationException");
  free(deep);
}

static void test_emulator_json_deep_shape(void **state) {
  (void)state;
  /* DynamoDB's AttributeValue is recursive: depth is bounded by our walker. */
  const aws_model *m = model("dynamodb");
  dynbuf b;
  dynbuf_init(&b, 1 << 20);
  dynbuf_puts(&b, "{\"TableName\":\"t\",\"Item\":{\"a\":");
  for (int i = 0; i < 200; i++)
    dynbuf_puts(&b, "{\"L\":[");
  dynbuf_puts(&b, "{\"S\":\"x\"}");
  for (int i = 0; i < 200; i++)
    dynbuf_puts(&b, "]}");
  dynbuf_puts(&b, "}}");
  fake_req r = {{"Content-Type", "application/x-amz-json-1.0", "X-Amz-Target",
                 "DynamoDB_20120810.PutItem", NULL}};
  aws_http_in in = make_in(&r, "POST", "/", "", b.data);
  aws_protocol p = aws_protocol_detect(m, &in);
  assert_int_equal(p, AWS_PROTOCOL_JSON);
  json_t *input = NULL;
  aws_error err = {0};
  assert_true(aws_protocol_parse(&input, &err, m, p, "PutItem", &in) < 0);
  assert_string_equal(err.code, "SerializationException");
  assert_null(input);
  dynbuf_free(&b);
  aws_error_clear(&err);
}

static void test_emulator_json_serialize(void **state) {
  (void)state;
  json_t *out = json_pack("{s:[s,s], s:s}", "QueueUrls", "http://a", "http://b", "Bogus", "x");
  aws_http_out o;
  assert_int_equal(
      aws_protocol_serialize(&o, model("sqs"), AWS_PROTOCOL_JSON, "ListQueues", out, "rid"), 0);
  assert_string_equal(o.content_type, "application/x-amz-json-1.0");
  /* Member names, not the query model's XML locationNames; unknown members dropped. */
  assert_string_equal(o.body, "{\"QueueUrls\":[\"http://a\",\"http://b\"]}");
  aws_http_out_free(&o);
  json_decref(out);
}

/* ---- rest-json ---- */

static void test_emulator_rest_json(void **state) {
  (void)state;
  fake_req r = {{"Content-Type", "application/json", "X-Amz-Invocation-Type", "Event", NULL}};
  aws_http_in in = make_in(&r, "POST", "/2015-03-31/functions/my%2Dfn/invocations",
                           "Qualifier=live", "{\"k\":1}");
  json_t *input = NULL;
  aws_error err = {0};
  const char *op = NULL;
  assert_int_equal(parse(&input, &err, "lambda", &in, &op), 0);
  assert_string_equal(op, "Invoke");
  assert_string_equal(json_string_value(json_object_get(input, "FunctionName")), "my-fn");
  assert_string_equal(json_string_value(json_object_get(input, "Qualifier")), "live");
  assert_string_equal(json_string_value(json_object_get(input, "InvocationType")), "Event");
  assert_string_equal(json_string_value(json_object_get(input, "Payload")), "eyJrIjoxfQ==");
  json_decref(input);

  /* The model's "/2015-03-31/functions/" matches with or without the slash. */
  in = make_in(&r, "GET", "/2015-03-31/functions", "", NULL);
  assert_int_equal(parse(&input, &err, "lambda", &in, &op), 0);
  assert_string_equal(op, "ListFunctions");
  json_decref(input);

  in = make_in(&r, "GET", "/2015-03-31/functions/f1", "", NULL);
  assert_int_equal(parse(&input, &err, "lambda", &in, &op), 0);
  assert_string_equal(op, "GetFunction");
  json_decref(input);

  in = make_in(&r, "POST", "/2015-03-31/functions", "",
               "{\"FunctionName\":\"f\",\"Role\":\"r\",\"Code\":{\"ZipFile\":\"UEsDBA==\"},"
               "\"Timeout\":\"x\"}");
  assert_true(parse(&input, &err, "lambda", &in, &op) < 0);
  assert_string_equal(op, "CreateFunction");
  assert_string_equal(err.code, "SerializationException");

  in = make_in(&r, "GET", "/2015-03-31/nothing/here", "", NULL);
  assert_true(parse(&input, &err, "lambda", &in, &op) < 0);
  assert_int_equal(err.status, 404);

  json_t *out = json_pack("{s:i, s:s, s:s}", "StatusCode", 200, "Payload",
                          "eyJvayI6dHJ1ZX0=", "ExecutedVersion", "$LATEST");
  aws_http_out o;
  assert_int_equal(
      aws_protocol_serialize(&o, model("lambda"), AWS_PROTOCOL_REST_JSON, "Invoke", out, "rid"), 0);
  assert_int_equal(o.status, 200);
  assert_int_equal(o.body_len, 11);
  assert_memory_equal(o.body, "{\"ok\":true}", 11);
  assert_string_equal(json_string_value(json_object_get(o.headers, "X-Amz-Executed-Version")),
                      "$LATEST");
  aws_http_out_free(&o);
  json_decref(out);

  aws_error_set(&err, 0, "ResourceNotFoundException", "Function not found: f");
  aws_protocol_serialize_error(&o, model("lambda"), AWS_PROTOCOL_REST_JSON, &err, "rid");
  assert_int_equal(o.status, 404);
  assert_string_equal(json_string_value(json_object_get(o.headers, "x-amzn-ErrorType")),
                      "ResourceNotFoundException");
  aws_http_out_free(&o);
  aws_error_clear(&err);
}

/* ---- rest-xml ---- */

static void test_emulator_rest_xml_routing(void **state) {
  (void)state;
  fake_req r = {
      {"x-amz-meta-Color", "blue", "Content-Type", "text/plain", "x-amz-tagging", "a=b", NULL}};
  const char *op = NULL;
  json_t *input = NULL;
  aws_error err = {0};
  aws_http_in in = make_in(&r, "PUT", "/bucket/dir/a%20b.txt", "x-id=PutObject", "hello");
  assert_int_equal(parse(&input, &err, "s3", &in, &op), 0);
  assert_string_equal(op, "PutObject");
  assert_string_equal(json_string_value(json_object_get(input, "Bucket")), "bucket");
  assert_string_equal(json_string_value(json_object_get(input, "Key")), "dir/a b.txt");
  /* The streaming Body is left in the request for the handler (not base64'd). */
  assert_null(json_object_get(input, "Body"));
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(input, "Metadata"), "color")), "blue");
  json_decref(input);

  struct {
    const char *method, *path, *query, *op;
  } cases[] = {
      {"GET", "/", "", "ListBuckets"},
      {"GET", "/bucket", "list-type=2&prefix=a", "ListObjectsV2"},
      {"GET", "/bucket/", "", "ListObjects"},
      {"PUT", "/bucket", "", "CreateBucket"},
      {"HEAD", "/bucket/key", "", "HeadObject"},
      {"POST", "/bucket/key", "uploads", "CreateMultipartUpload"},
      {"PUT", "/bucket/key", "partNumber=1&uploadId=u", "UploadPart"},
      {"GET", "/bucket", "tagging", "GetBucketTagging"},
      {"DELETE", "/bucket/a/b/c", "", "DeleteObject"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    fake_req empty = {{NULL}};
    in = make_in(&empty, cases[i].method, cases[i].path, cases[i].query, NULL);
    const aws_model *m = model("s3");
    assert_int_equal(aws_protocol_operation(&op, &err, m, AWS_PROTOCOL_REST_XML, &in), 0);
    if (strcmp(op, cases[i].op) != 0)
      fail_msg("%s %s?%s: expected %s, got %s", cases[i].method, cases[i].path, cases[i].query,
               cases[i].op, op);
  }
  aws_error_clear(&err);
}

static void test_emulator_rest_xml_body(void **state) {
  (void)state;
  fake_req r = {{NULL}};
  json_t *input = NULL;
  aws_error err = {0};
  aws_http_in in = make_in(&r, "PUT", "/bucket", "tagging",
                           "<?xml version=\"1.0\"?><Tagging xmlns=\"http://s3.amazonaws.com/doc/"
                           "2006-03-01/\"><TagSet><Tag><Key>a</Key><Value>1</Value></Tag>"
                           "<Tag><Key>b</Key><Value>2</Value></Tag></TagSet></Tagging>");
  const char *op = NULL;
  assert_int_equal(parse(&input, &err, "s3", &in, &op), 0);
  assert_string_equal(op, "PutBucketTagging");
  json_t *tags = json_object_get(json_object_get(input, "Tagging"), "TagSet");
  assert_int_equal(json_array_size(tags), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(tags, 1), "Value")), "2");
  json_decref(input);

  /* DeleteObjects: flattened list of structures. */
  in = make_in(&r, "POST", "/bucket", "delete",
               "<Delete><Object><Key>a</Key></Object><Object><Key>b</Key><VersionId>v"
               "</VersionId></Object><Quiet>true</Quiet></Delete>");
  assert_int_equal(parse(&input, &err, "s3", &in, &op), 0);
  assert_string_equal(op, "DeleteObjects");
  json_t *del = json_object_get(input, "Delete");
  assert_int_equal(json_array_size(json_object_get(del, "Objects")), 2);
  assert_true(json_is_true(json_object_get(del, "Quiet")));
  json_decref(input);

  const char *bad[] = {
      "<Tagging><TagSet>",
      "not xml at all",
      "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">]><Tagging>&lol;</Tagging>",
      "<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>", /* Value is required */
      "<Tagging></Tagging><Tagging></Tagging>",
  };
  const char *codes[] = {"MalformedXML", "MalformedXML", "MalformedXML", "InvalidArgument",
                         "MalformedXML"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    in = make_in(&r, "PUT", "/bucket", "tagging", bad[i]);
    input = NULL;
    assert_true(parse(&input, &err, "s3", &in, NULL) < 0);
    assert_null(input);
    if (strcmp(err.code, codes[i]) != 0)
      fail_msg("case %zu: expected %s, got %s (%s)", i, codes[i], err.code, err.message);
  }
  /* Deep nesting is refused. */
  dynbuf b;
  dynbuf_init(&b, 1 << 20);
  dynbuf_puts(&b, "<Tagging>");
  for (int i = 0; i < 5000; i++)
    dynbuf_puts(&b, "<a>");
  for (int i = 0; i < 5000; i++)
    dynbuf_puts(&b, "</a>");
  dynbuf_puts(&b, "</Tagging>");
  in = make_in(&r, "PUT", "/bucket", "tagging", b.data);
  assert_true(parse(&input, &err, "s3", &in, NULL) < 0);
  assert_string_equal(err.code, "MalformedXML");
  dynbuf_free(&b);
  aws_error_clear(&err);
}

static void test_emulator_rest_xml_serialize(void **state) {
  (void)state;
  json_t *out = json_pack("{s:s, s:b, s:i, s:[{s:s, s:I, s:i, s:s}], s:[{s:s}]}", "Name", "bkt",
                          "IsTruncated", 0, "KeyCount", 1, "Contents", "Key", "a&b", "LastModified",
                          (json_int_t)1700000000, "Size", 5, "StorageClass", "STANDARD",
                          "CommonPrefixes", "Prefix", "dir/");
  aws_http_out o;
  assert_int_equal(
      aws_protocol_serialize(&o, model("s3"), AWS_PROTOCOL_REST_XML, "ListObjectsV2", out, "rid"),
      0);
  assert_non_null(
      strstr(o.body, "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"));
  assert_non_null(strstr(o.body, "<Contents><Key>a&amp;b</Key><LastModified>2023-11-14T22:13:20Z"
                                 "</LastModified>"));
  assert_non_null(strstr(o.body, "<CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes>"));
  assert_string_equal(json_string_value(json_object_get(o.headers, "x-amz-request-id")), "rid");
  aws_http_out_free(&o);
  json_decref(out);

  /* Headers, header maps and a blob payload. */
  out = json_pack("{s:s, s:s, s:I, s:{s:s}, s:s}", "Body", "aGVsbG8=", "ContentType", "text/plain",
                  "LastModified", (json_int_t)1700000000, "Metadata", "color", "blue", "ETag",
                  "\"e\"");
  assert_int_equal(
      aws_protocol_serialize(&o, model("s3"), AWS_PROTOCOL_REST_XML, "GetObject", out, "rid"), 0);
  assert_int_equal(o.body_len, 5);
  assert_memory_equal(o.body, "hello", 5);
  assert_string_equal(json_string_value(json_object_get(o.headers, "Content-Type")), "text/plain");
  assert_string_equal(json_string_value(json_object_get(o.headers, "Last-Modified")),
                      "Tue, 14 Nov 2023 22:13:20 GMT");
  assert_string_equal(json_string_value(json_object_get(o.headers, "x-amz-meta-color")), "blue");
  aws_http_out_free(&o);
  json_decref(out);

  aws_error err = {0};
  aws_error_set(&err, 404, "NoSuchKey", "The specified key does not exist.");
  err.fields = json_pack("{s:s}", "Key", "a<b");
  aws_protocol_serialize_error(&o, model("s3"), AWS_PROTOCOL_REST_XML, &err, "rid");
  assert_int_equal(o.status, 404);
  assert_non_null(strstr(o.body, "<Error><Code>NoSuchKey</Code><Message>The specified key does "
                                 "not exist.</Message><Key>a&lt;b</Key><RequestId>rid"));
  aws_http_out_free(&o);
  aws_error_clear(&err);
}

static void test_emulator_s3_vhost(void **state) {
  (void)state;
  char *p = aws_s3_vhost_path("bkt.s3.localhost.localstack.cloud:4566", "/a/b.txt");
  assert_string_equal(p, "/bkt/a/b.txt");
  free(p);
  p = aws_s3_vhost_path("my.bucket.s3.us-east-1.amazonaws.com", "/");
  assert_string_equal(p, "/my.bucket");
  free(p);
  p = aws_s3_vhost_path("bkt.s3-eu-west-1.amazonaws.com", "/k");
  assert_string_equal(p, "/bkt/k");
  free(p);
  assert_null(aws_s3_vhost_path("s3.amazonaws.com", "/bkt/k"));
  assert_null(aws_s3_vhost_path("localhost:4566", "/bkt/k"));
  assert_null(aws_s3_vhost_path(NULL, "/"));
  /* The routed path then finds the operation. */
  p = aws_s3_vhost_path("bkt.s3.localhost", "/");
  fake_req r = {{NULL}};
  aws_http_in in = make_in(&r, "GET", p, "list-type=2", NULL);
  const char *op = NULL;
  aws_error err = {0};
  assert_int_equal(aws_protocol_operation(&op, &err, model("s3"), AWS_PROTOCOL_REST_XML, &in), 0);
  assert_string_equal(op, "ListObjectsV2");
  free(p);
}

/* ---- timestamps and base64 ---- */

static void test_emulator_timestamps(void **state) {
  (void)state;
  double t = 0;
  assert_int_equal(aws_timestamp_parse(&t, "2023-11-14T22:13:20Z"), 0);
  assert_true(t == 1700000000.0);
  assert_int_equal(aws_timestamp_parse(&t, "2023-11-14T22:13:20.500Z"), 0);
  assert_true(t == 1700000000.5);
  assert_int_equal(aws_timestamp_parse(&t, "2023-11-15T00:13:20+02:00"), 0);
  assert_true(t == 1700000000.0);
  assert_int_equal(aws_timestamp_parse(&t, "Tue, 14 Nov 2023 22:13:20 GMT"), 0);
  assert_true(t == 1700000000.0);
  assert_int_equal(aws_timestamp_parse(&t, "1700000000"), 0);
  assert_true(t == 1700000000.0);
  assert_true(aws_timestamp_parse(&t, "2023-13-14T22:13:20Z") < 0);
  assert_true(aws_timestamp_parse(&t, "yesterday") < 0);
  assert_true(aws_timestamp_parse(&t, "") < 0);
  char buf[64];
  aws_timestamp_format(buf, sizeof(buf), 1700000000.25, "iso8601");
  assert_string_equal(buf, "2023-11-14T22:13:20.250Z");
  aws_timestamp_format(buf, sizeof(buf), 1700000000, "rfc822");
  assert_string_equal(buf, "Tue, 14 Nov 2023 22:13:20 GMT");
  aws_timestamp_format(buf, sizeof(buf), 1700000000, "unixTimestamp");
  assert_string_equal(buf, "1700000000");

  unsigned char *data = NULL;
  size_t len = 0;
  assert_int_equal(codec_base64_decode(&data, &len, "aGk=", 4), 0);
  assert_int_equal(len, 2);
  assert_memory_equal(data, "hi", 2);
  free(data);
  assert_true(codec_base64_decode(&data, &len, "a=Gk", 4) < 0);
  assert_true(codec_base64_decode(&data, &len, "abc", 3) < 0);
  char *enc = codec_base64_encode((const unsigned char *)"hi", 2);
  assert_string_equal(enc, "aGk=");
  free(enc);
}

/* Services without an embedded model: the protocol from the request alone,
 * and each protocol's error envelope without a model. */
static void test_emulator_protocol_guess(void **state) {
  (void)state;
  fake_req json11 = {{"Content-Type", "application/x-amz-json-1.1", "X-Amz-Target",
                      "Kinesis_20131202.ListStreams", NULL}};
  fake_req target_only = {{"X-Amz-Target", "Kinesis_20131202.ListStreams", NULL}};
  fake_req none = {{NULL}};
  fake_req rest_json = {{"Content-Type", "application/json", NULL}};
  fake_req xml = {{"Content-Type", "application/xml", NULL}};
  fake_req form_req = {{form[0], form[1], NULL}};
  aws_http_in in = make_in(&json11, "POST", "/", "", "{}");
  assert_int_equal(aws_protocol_guess(&in, "kinesis"), AWS_PROTOCOL_JSON);
  in = make_in(&target_only, "POST", "/", "", "{}");
  assert_int_equal(aws_protocol_guess(&in, "kinesis"), AWS_PROTOCOL_REST_JSON);
  in = make_in(&form_req, "POST", "/", "", "Version=2010-03-31&Action=ListTopics");
  assert_int_equal(aws_protocol_guess(&in, "sns"), AWS_PROTOCOL_QUERY);
  in = make_in(&none, "GET", "/", "Action=ListStacks&Version=2010-05-15", NULL);
  assert_int_equal(aws_protocol_guess(&in, "cloudformation"), AWS_PROTOCOL_QUERY);
  /* "Action" only as a whole parameter name. */
  in = make_in(&none, "GET", "/", "NoAction=x&XAction=y", NULL);
  assert_int_equal(aws_protocol_guess(&in, "apigateway"), AWS_PROTOCOL_REST_JSON);
  in = make_in(&none, "GET", "/2013-04-01/hostedzone", "", NULL);
  assert_int_equal(aws_protocol_guess(&in, "route53"), AWS_PROTOCOL_REST_XML);
  in = make_in(&xml, "POST", "/x", "", "<a/>");
  assert_int_equal(aws_protocol_guess(&in, NULL), AWS_PROTOCOL_REST_XML);
  in = make_in(&rest_json, "POST", "/2015-03-31/functions", "", "{}");
  assert_int_equal(aws_protocol_guess(&in, "lambda"), AWS_PROTOCOL_REST_JSON);

  aws_error err = {0};
  aws_error_set(&err, 501, "NotImplemented", "no %s here", "sns");
  aws_http_out out;
  aws_protocol_serialize_error(&out, NULL, AWS_PROTOCOL_QUERY, &err, "rid");
  assert_int_equal(out.status, 501);
  assert_non_null(strstr(out.body, "<ErrorResponse><Error><Type>Receiver</Type>"
                                   "<Code>NotImplemented</Code><Message>no sns here</Message>"));
  assert_non_null(strstr(out.body, "</Error><RequestId>rid</RequestId></ErrorResponse>"));
  aws_http_out_free(&out);
  aws_protocol_serialize_error(&out, NULL, AWS_PROTOCOL_JSON, &err, "rid");
  json_t *doc = json_loadb(out.body, out.body_len, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(doc, "__type")), "NotImplemented");
  assert_string_equal(json_string_value(json_object_get(doc, "message")), "no sns here");
  json_decref(doc);
  aws_http_out_free(&out);
  aws_protocol_serialize_error(&out, NULL, AWS_PROTOCOL_REST_JSON, &err, "rid");
  assert_string_equal(json_string_value(json_object_get(out.headers, "x-amzn-ErrorType")),
                      "NotImplemented");
  aws_http_out_free(&out);
  aws_error_clear(&err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_emulator_models_embedded),
      cmocka_unit_test(test_emulator_query_parse_sts),
      cmocka_unit_test(test_emulator_query_errors),
      cmocka_unit_test(test_emulator_query_parse_sqs_shapes),
      cmocka_unit_test(test_emulator_query_serialize),
      cmocka_unit_test(test_emulator_query_error_render),
      cmocka_unit_test(test_emulator_json_parse),
      cmocka_unit_test(test_emulator_json_errors),
      cmocka_unit_test(test_emulator_json_deep_shape),
      cmocka_unit_test(test_emulator_json_serialize),
      cmocka_unit_test(test_emulator_rest_json),
      cmocka_unit_test(test_emulator_rest_xml_routing),
      cmocka_unit_test(test_emulator_rest_xml_body),
      cmocka_unit_test(test_emulator_rest_xml_serialize),
      cmocka_unit_test(test_emulator_s3_vhost),
      cmocka_unit_test(test_emulator_timestamps),
      cmocka_unit_test(test_emulator_protocol_guess),
      cmocka_unit_test(test_emulator_json_in_place),
      cmocka_unit_test(test_emulator_query_json_answers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
