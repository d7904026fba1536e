// End-to-end SNS and EventBridge tests with the AWS SDK for JavaScript v3
// against a real `airgap emulator` ($AIRGAP_BIN): SNS (query protocol) to SQS
// (JSON protocol) enveloped and raw, a filter policy on the body, a FIFO topic
// into a FIFO queue in order; EventBridge (JSON protocol) with a pattern and
// an input transformer into SQS, and PutEvents per-entry results.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { startEmulator } from "../../js/emulator.mjs";

const require = createRequire(new URL("../../js/package.json", import.meta.url));
const sns = require("@aws-sdk/client-sns");
const sqs = require("@aws-sdk/client-sqs");
const eb = require("@aws-sdk/client-eventbridge");

let emu;
let snsClient;
let sqsClient;
let ebClient;

function opts(endpoint) {
  return {
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  };
}

before(async () => {
  emu = await startEmulator();
  snsClient = new sns.SNSClient(opts(emu.endpoint));
  sqsClient = new sqs.SQSClient(opts(emu.endpoint));
  ebClient = new eb.EventBridgeClient(opts(emu.endpoint));
});

after(async () => {
  snsClient.destroy();
  sqsClient.destroy();
  ebClient.destroy();
  await emu.stop();
});

async function queue(name, fifo = false) {
  const { QueueUrl } = await sqsClient.send(
    new sqs.CreateQueueCommand({
      QueueName: name,
      Attributes: fifo ? { FifoQueue: "true" } : {},
    }),
  );
  const { Attributes } = await sqsClient.send(
    new sqs.GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }),
  );
  return { url: QueueUrl, arn: Attributes.QueueArn };
}

async function receive(url, count, timeoutMs = 10000) {
  const got = [];
  const deadline = Date.now() + timeoutMs;
  while (got.length < count && Date.now() < deadline) {
    const r = await sqsClient.send(
      new sqs.ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ["All"],
      }),
    );
    for (const m of r.Messages ?? []) {
      got.push(m);
      await sqsClient.send(
        new sqs.DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }),
      );
    }
  }
  return got;
}

test("SNS to SQS: envelope, raw delivery and a body filter", async () => {
  const { TopicArn } = await snsClient.send(new sns.CreateTopicCommand({ Name: "js-topic" }));
  const env = await queue("js-env");
  const raw = await queue("js-raw");
  await snsClient.send(
    new sns.SubscribeCommand({ TopicArn, Protocol: "sqs", Endpoint: env.arn }),
  );
  await snsClient.send(
    new sns.SubscribeCommand({
      TopicArn,
      Protocol: "sqs",
      Endpoint: raw.arn,
      Attributes: {
        RawMessageDelivery: "true",
        FilterPolicyScope: "MessageBody",
        FilterPolicy: JSON.stringify({ kind: [{ prefix: "ord" }] }),
      },
    }),
  );
  const { MessageId } = await snsClient.send(
    new sns.PublishCommand({
      TopicArn,
      Message: JSON.stringify({ kind: "order" }),
      MessageAttributes: { a: { DataType: "String", StringValue: "1" } },
    }),
  );
  await snsClient.send(
    new sns.PublishCommand({ TopicArn, Message: JSON.stringify({ kind: "refund" }) }),
  );
  const envelopes = (await receive(env.url, 2)).map((m) => JSON.parse(m.Body));
  assert.equal(envelopes.length, 2);
  const first = envelopes.find((e) => e.MessageId === MessageId);
  assert.equal(first.Type, "Notification");
  assert.equal(first.TopicArn, TopicArn);
  assert.deepEqual(first.MessageAttributes.a, { Type: "String", Value: "1" });
  assert.ok(first.Signature.length > 0);
  assert.match(first.SigningCertURL, /\/_aws\/sns\/SimpleNotificationService-[0-9a-f]+\.pem$/);
  const raws = await receive(raw.url, 2, 3000);
  assert.deepEqual(
    raws.map((m) => m.Body),
    [JSON.stringify({ kind: "order" })],
  );
  await assert.rejects(
    snsClient.send(new sns.PublishCommand({ TopicArn: TopicArn + "x", Message: "m" })),
    (err) => err.name === "NotFoundException" && err.message === "Topic does not exist",
  );
});

test("FIFO topic to FIFO queue keeps the order", async () => {
  const { TopicArn } = await snsClient.send(
    new sns.CreateTopicCommand({
      Name: "js-fifo.fifo",
      Attributes: { FifoTopic: "true", ContentBasedDeduplication: "true" },
    }),
  );
  const q = await queue("js-fifo-q.fifo", true);
  await snsClient.send(
    new sns.SubscribeCommand({
      TopicArn,
      Protocol: "sqs",
      Endpoint: q.arn,
      Attributes: { RawMessageDelivery: "true" },
    }),
  );
  const entries = [];
  for (let i = 0; i < 10; i++)
    entries.push({ Id: `e${i}`, Message: `m${i}`, MessageGroupId: "g" });
  const r = await snsClient.send(
    new sns.PublishBatchCommand({ TopicArn, PublishBatchRequestEntries: entries }),
  );
  assert.equal(r.Successful.length, 10);
  const bodies = (await receive(q.url, 10)).map((m) => m.Body);
  assert.deepEqual(
    bodies,
    entries.map((e) => e.Message),
  );
});

test("EventBridge rule with pattern and input transformer into SQS", async () => {
  const q = await queue("js-events");
  await ebClient.send(
    new eb.PutRuleCommand({
      Name: "js-rule",
      EventPattern: JSON.stringify({
        source: ["js.app"],
        detail: { level: [{ "anything-but": "debug" }] },
      }),
    }),
  );
  const put = await ebClient.send(
    new eb.PutTargetsCommand({
      Rule: "js-rule",
      Targets: [
        {
          Id: "q",
          Arn: q.arn,
          InputTransformer: {
            InputPathsMap: { level: "$.detail.level", src: "$.source" },
            InputTemplate: '"<src> logged <level>"',
          },
        },
      ],
    }),
  );
  assert.equal(put.FailedEntryCount, 0);
  const r = await ebClient.send(
    new eb.PutEventsCommand({
      Entries: [
        { Source: "js.app", DetailType: "log", Detail: JSON.stringify({ level: "error" }) },
        { Source: "js.app", DetailType: "log", Detail: JSON.stringify({ level: "debug" }) },
        { Source: "js.app", DetailType: "log", Detail: "[1" },
      ],
    }),
  );
  assert.equal(r.FailedEntryCount, 1);
  assert.equal(r.Entries[2].ErrorCode, "MalformedDetail");
  const bodies = (await receive(q.url, 2, 3000)).map((m) => m.Body);
  assert.deepEqual(bodies, ['"js.app logged error"']);
  const t = await ebClient.send(
    new eb.TestEventPatternCommand({
      EventPattern: JSON.stringify({ detail: { n: [{ numeric: [">=", 2] }] } }),
      Event: JSON.stringify({
        id: "1",
        account: "000000000000",
        source: "s",
        time: "2024-01-01T00:00:00Z",
        region: "us-east-1",
        "detail-type": "d",
        detail: { n: 3 },
      }),
    }),
  );
  assert.equal(t.Result, true);
  await assert.rejects(
    ebClient.send(new eb.DescribeRuleCommand({ Name: "nope" })),
    (err) => err.name === "ResourceNotFoundException",
  );
});
