// End-to-end SQS tests with the AWS SDK for JavaScript v3 (JSON protocol,
// X-Amz-Target: AmazonSQS.*) against a real `airgap emulator` ($AIRGAP_BIN).
// The SDK itself verifies MD5OfBody / MD5OfMessageBody; MD5OfMessageAttributes
// is checked here with AWS's documented algorithm.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { startEmulator } from "../../js/emulator.mjs";

// The SDK is installed under tests/js (npm ci there); resolve it from there,
// not from this folder.
const require = createRequire(new URL("../../js/package.json", import.meta.url));
const {
  SQSClient,
  CreateQueueCommand,
  GetQueueUrlCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  ListQueuesCommand,
  DeleteQueueCommand,
  SendMessageCommand,
  SendMessageBatchCommand,
  ReceiveMessageCommand,
  DeleteMessageCommand,
  DeleteMessageBatchCommand,
  ChangeMessageVisibilityCommand,
  ChangeMessageVisibilityBatchCommand,
  PurgeQueueCommand,
  TagQueueCommand,
  UntagQueueCommand,
  ListQueueTagsCommand,
  ListDeadLetterSourceQueuesCommand,
  StartMessageMoveTaskCommand,
  CancelMessageMoveTaskCommand,
  ListMessageMoveTasksCommand,
  QueueDoesNotExist,
  ResourceNotFoundException,
  InvalidMessageContents,
} = require("@aws-sdk/client-sqs");

let emu;
let sqs;

function client(endpoint, region = "us-east-1") {
  return new SQSClient({
    endpoint,
    region,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
}

beforeEach(async () => {
  emu = await startEmulator();
  sqs = client(emu.endpoint);
});

afterEach(async () => {
  sqs.destroy();
  await emu.stop();
});

function md5OfAttributes(attributes) {
  const parts = [];
  const lenBytes = (buf) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(buf.length);
    return Buffer.concat([b, buf]);
  };
  for (const name of Object.keys(attributes).sort()) {
    const v = attributes[name];
    parts.push(lenBytes(Buffer.from(name)), lenBytes(Buffer.from(v.DataType)));
    if (v.StringValue !== undefined) {
      parts.push(Buffer.from([1]), lenBytes(Buffer.from(v.StringValue)));
    } else {
      parts.push(Buffer.from([2]), lenBytes(Buffer.from(v.BinaryValue)));
    }
  }
  return createHash("md5").update(Buffer.concat(parts)).digest("hex");
}

async function errorOf(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail("the call succeeded; an error was expected");
}

test("queue life cycle, messages and attributes over the JSON protocol", async () => {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({
    QueueName: "js-q",
    Attributes: { VisibilityTimeout: "40" },
    tags: { owner: "js" },
  }));
  assert.equal(QueueUrl, `${emu.endpoint}/000000000000/js-q`);
  assert.equal((await sqs.send(new GetQueueUrlCommand({ QueueName: "js-q" }))).QueueUrl, QueueUrl);
  const listed = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: "js" }));
  assert.deepEqual(listed.QueueUrls, [QueueUrl]);
  const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }));
  assert.equal(attrs.Attributes.VisibilityTimeout, "40");
  assert.equal(attrs.Attributes.QueueArn, "arn:aws:sqs:us-east-1:000000000000:js-q");

  const MessageAttributes = {
    text: { DataType: "String", StringValue: "h\u00e9llo" },
    num: { DataType: "Number", StringValue: "3.5" },
    bin: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 2, 255]) },
  };
  const sent = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "js body \u2603", MessageAttributes }));
  assert.equal(sent.MD5OfMessageAttributes, md5OfAttributes(MessageAttributes));
  const got = await sqs.send(new ReceiveMessageCommand({
    QueueUrl,
    MessageSystemAttributeNames: ["All"],
    MessageAttributeNames: ["All"],
  }));
  assert.equal(got.Messages.length, 1);
  const m = got.Messages[0];
  assert.equal(m.Body, "js body \u2603");
  assert.equal(m.MessageId, sent.MessageId);
  assert.deepEqual(Array.from(m.MessageAttributes.bin.BinaryValue), [0, 1, 2, 255]);
  assert.equal(m.MD5OfMessageAttributes, md5OfAttributes(m.MessageAttributes));
  assert.equal(m.Attributes.ApproximateReceiveCount, "1");
  assert.ok(Number(m.Attributes.SentTimestamp) > 0);
  await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 }));
  const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl, AttributeNames: ["ApproximateReceiveCount"] }));
  assert.equal(again.Messages[0].Attributes.ApproximateReceiveCount, "2");
  await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: again.Messages[0].ReceiptHandle }));
  const empty = await sqs.send(new ReceiveMessageCommand({ QueueUrl }));
  assert.equal(empty.Messages, undefined);

  await sqs.send(new TagQueueCommand({ QueueUrl, Tags: { env: "ci" } }));
  await sqs.send(new UntagQueueCommand({ QueueUrl, TagKeys: ["owner"] }));
  assert.deepEqual((await sqs.send(new ListQueueTagsCommand({ QueueUrl }))).Tags, { env: "ci" });
  await sqs.send(new DeleteQueueCommand({ QueueUrl }));
  const err = await errorOf(sqs.send(new GetQueueUrlCommand({ QueueName: "js-q" })));
  assert.ok(err instanceof QueueDoesNotExist, `got ${err.name}: ${err.message}`);
});

test("FIFO groups keep order and lock while in flight", async () => {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({
    QueueName: "js.fifo",
    Attributes: { FifoQueue: "true", ContentBasedDeduplication: "true" },
  }));
  for (const [body, group] of [["a1", "A"], ["b1", "B"], ["a2", "A"]]) {
    const r = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body, MessageGroupId: group }));
    assert.ok(r.SequenceNumber);
  }
  const dup = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "a1", MessageGroupId: "A" }));
  assert.ok(dup.MessageId);
  const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl }));
  assert.deepEqual(first.Messages.map((m) => m.Body), ["a1"]);
  const second = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
  assert.deepEqual(second.Messages.map((m) => m.Body), ["b1"]);
  await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: first.Messages[0].ReceiptHandle }));
  const third = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
  assert.deepEqual(third.Messages.map((m) => m.Body), ["a2"]);
});

test("batches report per-entry failures", async () => {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "js-batch" }));
  const r = await sqs.send(new SendMessageBatchCommand({
    QueueUrl,
    Entries: [
      { Id: "ok", MessageBody: "fine" },
      { Id: "bad", MessageBody: "late", DelaySeconds: 1000 },
    ],
  }));
  assert.deepEqual(r.Successful.map((e) => e.Id), ["ok"]);
  assert.equal(r.Failed[0].Id, "bad");
  assert.equal(r.Failed[0].SenderFault, true);
  const dupErr = await errorOf(sqs.send(new SendMessageBatchCommand({
    QueueUrl,
    Entries: [{ Id: "x", MessageBody: "1" }, { Id: "x", MessageBody: "2" }],
  })));
  assert.equal(dupErr.name, "BatchEntryIdsNotDistinct");
  const emptyErr = await errorOf(sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: [] })));
  assert.equal(emptyErr.name, "EmptyBatchRequest");
  const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
  const vis = await sqs.send(new ChangeMessageVisibilityBatchCommand({
    QueueUrl,
    Entries: [
      { Id: "v1", ReceiptHandle: got.Messages[0].ReceiptHandle, VisibilityTimeout: 100 },
      { Id: "v2", ReceiptHandle: "junk", VisibilityTimeout: 100 },
    ],
  }));
  assert.deepEqual(vis.Successful.map((e) => e.Id), ["v1"]);
  assert.equal(vis.Failed[0].Code, "ReceiptHandleIsInvalid");
  const del = await sqs.send(new DeleteMessageBatchCommand({
    QueueUrl,
    Entries: [
      { Id: "a", ReceiptHandle: got.Messages[0].ReceiptHandle },
      { Id: "b", ReceiptHandle: "bogus" },
    ],
  }));
  assert.deepEqual(del.Successful.map((e) => e.Id), ["a"]);
  assert.equal(del.Failed[0].Code, "ReceiptHandleIsInvalid");
});

test("long polling wakes on send and times out", async () => {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "js-poll" }));
  const other = client(emu.endpoint);
  const start = Date.now();
  const waiting = sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 15 }));
  await new Promise((resolve) => setTimeout(resolve, 800));
  await other.send(new SendMessageCommand({ QueueUrl, MessageBody: "wake up" }));
  const got = await waiting;
  assert.equal(got.Messages[0].Body, "wake up");
  assert.ok(Date.now() - start < 8000);
  const t0 = Date.now();
  const none = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
  assert.equal(none.Messages, undefined);
  assert.ok(Date.now() - t0 >= 900, `returned after ${Date.now() - t0} ms`);
  other.destroy();
});

test("dead-letter queue redrive, purge and errors", async () => {
  const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: "js-dlq" }))).QueueUrl;
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ["QueueArn"] }))).Attributes.QueueArn;
  const src = (await sqs.send(new CreateQueueCommand({
    QueueName: "js-src",
    Attributes: { VisibilityTimeout: "0", RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 1 }) },
  }))).QueueUrl;
  assert.deepEqual((await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq }))).queueUrls, [src]);
  await sqs.send(new SendMessageCommand({ QueueUrl: src, MessageBody: "poison" }));
  assert.equal((await sqs.send(new ReceiveMessageCommand({ QueueUrl: src }))).Messages.length, 1);
  assert.equal((await sqs.send(new ReceiveMessageCommand({ QueueUrl: src }))).Messages, undefined);
  const moved = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq }));
  assert.equal(moved.Messages[0].Body, "poison");

  await sqs.send(new PurgeQueueCommand({ QueueUrl: dlq }));
  const purgeErr = await errorOf(sqs.send(new PurgeQueueCommand({ QueueUrl: dlq })));
  assert.equal(purgeErr.name, "PurgeQueueInProgress");
  const attrErr = await errorOf(sqs.send(new SetQueueAttributesCommand({ QueueUrl: src, Attributes: { Bogus: "1" } })));
  assert.equal(attrErr.name, "InvalidAttributeName");
  const handleErr = await errorOf(sqs.send(new DeleteMessageCommand({ QueueUrl: src, ReceiptHandle: "junk" })));
  assert.equal(handleErr.name, "ReceiptHandleIsInvalid");
  const missingErr = await errorOf(sqs.send(new SendMessageCommand({ QueueUrl: `${emu.endpoint}/000000000000/nope`, MessageBody: "x" })));
  assert.ok(missingErr instanceof QueueDoesNotExist, `got ${missingErr.name}`);
  const valueErr = await errorOf(sqs.send(new SetQueueAttributesCommand({ QueueUrl: src, Attributes: { DelaySeconds: "901" } })));
  assert.equal(valueErr.name, "InvalidAttributeValue");
  const trace = "Root=1-5759e988-bd862e3fe1be46a994272793";
  const withTrace = await sqs.send(new SendMessageCommand({
    QueueUrl: src,
    MessageBody: "traced",
    MessageSystemAttributes: { AWSTraceHeader: { DataType: "String", StringValue: trace } },
  }));
  assert.equal(withTrace.MD5OfMessageSystemAttributes, md5OfAttributes({ AWSTraceHeader: { DataType: "String", StringValue: trace } }));
  const rangeErr = await errorOf(sqs.send(new ReceiveMessageCommand({ QueueUrl: src, MaxNumberOfMessages: 11 })));
  assert.equal(rangeErr.name, "InvalidParameterValue");
});

// Issue 14 over the JSON protocol: a 1 MiB message (escaped JSON, not
// percent-encoded form), older receipt handles, FIFO batches refused whole.
test("1 MiB messages, older receipt handles and FIFO batches over JSON", async () => {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: "big", Attributes: { VisibilityTimeout: "1" } }));
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["MaximumMessageSize"] }));
  assert.equal(attrs.Attributes.MaximumMessageSize, String(1024 * 1024));
  // Quotes and line breaks: each escaped in the JSON body.
  const body = "\"\n".repeat(512 * 1024);
  await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
  const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl }));
  assert.equal(got.Messages[0].Body, body);
  const e = await errorOf(sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body + "x" })));
  assert.equal(e.name, "InvalidParameterValue");
  // The first handle deletes the message after its visibility timeout passed.
  await new Promise((r) => setTimeout(r, 1200));
  await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: got.Messages[0].ReceiptHandle }));
  const left = await sqs.send(new GetQueueAttributesCommand({
    QueueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
  }));
  assert.deepEqual(left.Attributes,
                   { ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" });
  const fifo = (await sqs.send(new CreateQueueCommand({
    QueueName: "whole.fifo", Attributes: { FifoQueue: "true" },
  }))).QueueUrl;
  const refused = await errorOf(sqs.send(new SendMessageBatchCommand({
    QueueUrl: fifo,
    Entries: [{ Id: "1", MessageBody: "a", MessageGroupId: "g", MessageDeduplicationId: "d" },
              { Id: "2", MessageBody: "b", MessageDeduplicationId: "e" }],
  })));
  // AWS answers a batch so with InvalidParameterValue (JSON type
  // InvalidParameterValueException), a single SendMessage with MissingParameter.
  assert.equal(refused.name, "InvalidParameterValue");
  assert.equal(refused.message, "The request must contain the parameter MessageGroupId.");
  assert.equal(refused.$metadata.httpStatusCode, 400);
});

// Message move tasks over JSON (the SDK's own model has them), and
// characters outside SQS's set sent as JSON escapes.
test("message move tasks and \\u0000 over JSON", async () => {
  const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: "mt-dlq" }))).QueueUrl;
  const dlqArn = "arn:aws:sqs:us-east-1:000000000000:mt-dlq";
  const src = (await sqs.send(new CreateQueueCommand({
    QueueName: "mt-src",
    Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }) },
  }))).QueueUrl;
  for (const body of ["one", "two", "three"]) {
    await sqs.send(new SendMessageCommand({ QueueUrl: src, MessageBody: body }));
  }
  for (let i = 0; i < 2; i++) {
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: src, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }));
  }
  const dest = (await sqs.send(new CreateQueueCommand({ QueueName: "mt-dest" }))).QueueUrl;
  const destArn = "arn:aws:sqs:us-east-1:000000000000:mt-dest";
  const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({
    SourceArn: dlqArn, DestinationArn: destArn, MaxNumberOfMessagesPerSecond: 1,
  }));
  const doc = JSON.parse(Buffer.from(TaskHandle, "base64").toString());
  assert.equal(doc.sourceArn, dlqArn);
  const running = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn, MaxResults: 10 }));
  assert.equal(running.Results.length, 1);
  assert.equal(running.Results[0].Status, "RUNNING");
  assert.equal(running.Results[0].TaskHandle, TaskHandle);
  assert.equal(running.Results[0].ApproximateNumberOfMessagesToMove, 3);
  assert.equal(running.Results[0].MaxNumberOfMessagesPerSecond, 1);
  const cancelled = await sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }));
  assert.ok(cancelled.ApproximateNumberOfMessagesMoved >= 0 && cancelled.ApproximateNumberOfMessagesMoved < 3);
  const after = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }));
  assert.equal(after.Results[0].Status, "CANCELLED");
  assert.equal(after.Results[0].TaskHandle, undefined);
  // Back to the source queue, as fast as it goes.
  await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn }));
  let done;
  for (let i = 0; i < 50; i++) {
    done = (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }))).Results[0];
    if (done.Status === "COMPLETED") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(done.Status, "COMPLETED");
  assert.equal(done.ApproximateNumberOfMessagesMoved, 3 - cancelled.ApproximateNumberOfMessagesMoved);
  const missing = await errorOf(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn + "-gone" })));
  assert.ok(missing instanceof ResourceNotFoundException);
  assert.equal(missing.$metadata.httpStatusCode, 404);
  const notDlq = await errorOf(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: destArn })));
  assert.equal(notDlq.name, "InvalidParameterValue");
  assert.equal(notDlq.message, "Source queue must be configured as a Dead Letter Queue.");
  // JSON.stringify sends \u0000 as is: SQS's own answer, not a serialization error.
  const nul = await errorOf(sqs.send(new SendMessageCommand({ QueueUrl: dest, MessageBody: "a\u0000b" })));
  assert.ok(nul instanceof InvalidMessageContents, nul.name);
  assert.equal(nul.$metadata.httpStatusCode, 400);
  const attrNul = await errorOf(sqs.send(new SendMessageCommand({
    QueueUrl: dest, MessageBody: "ok", MessageAttributes: { a: { DataType: "String", StringValue: "\u0000" } },
  })));
  assert.equal(attrNul.name, "InvalidParameterValue");
  await sqs.send(new DeleteQueueCommand({ QueueUrl: dlq }));
});
