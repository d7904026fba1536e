// End-to-end Kinesis tests with the AWS SDK for JavaScript v3 (JSON 1.1,
// X-Amz-Target: Kinesis_20131202.*) against a real `airgap emulator`
// ($AIRGAP_BIN): streams named by StreamARN as current SDKs prefer, records
// across shards by the MD5 of their partition keys, a split then a merge
// read through ChildShards, the SDK's waiter, and its error classes.
// The Kinesis client speaks HTTP/2 by default (for SubscribeToShard); the
// emulator serves HTTP/1.1, so the client is given the HTTP/1.1 handler, as
// the README tells users to do.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { startEmulator } from "../../js/emulator.mjs";

const require = createRequire(new URL("../../js/package.json", import.meta.url));
let sdk;
try {
  sdk = require("@aws-sdk/client-kinesis");
} catch {
  console.log("@aws-sdk/client-kinesis is not installed under tests/js: skipped");
  process.exit(77);
}
const {
  KinesisClient,
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  PutRecordCommand,
  PutRecordsCommand,
  GetShardIteratorCommand,
  GetRecordsCommand,
  SplitShardCommand,
  MergeShardsCommand,
  ListStreamsCommand,
  DeleteStreamCommand,
  RegisterStreamConsumerCommand,
  TagResourceCommand,
  UntagResourceCommand,
  ListTagsForResourceCommand,
  ResourceNotFoundException,
  InvalidArgumentException,
  waitUntilStreamExists,
} = sdk;

const { NodeHttpHandler } = require("@smithy/node-http-handler");

let emu;
let kin;

before(async () => {
  process.env.KINESIS_LATENCY = "200";
  emu = await startEmulator();
  kin = new KinesisClient({
    endpoint: emu.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler(),
  });
});

after(async () => {
  kin.destroy();
  await emu.stop();
});

const md5 = (key) => BigInt("0x" + createHash("md5").update(key).digest("hex"));
const holder = (shards, h) =>
  shards.find(
    (s) => BigInt(s.HashKeyRange.StartingHashKey) <= h && h <= BigInt(s.HashKeyRange.EndingHashKey),
  ).ShardId;

async function readShard(StreamARN, ShardId) {
  let { ShardIterator } = await kin.send(
    new GetShardIteratorCommand({ StreamARN, ShardId, ShardIteratorType: "TRIM_HORIZON" }),
  );
  const records = [];
  for (let i = 0; i < 50; i++) {
    const r = await kin.send(new GetRecordsCommand({ StreamARN, ShardIterator }));
    records.push(...r.Records);
    if (!r.NextShardIterator || r.Records.length === 0) return { records, last: r };
    ShardIterator = r.NextShardIterator;
  }
  throw new Error("shard never ended");
}

test("streams by ARN: put across shards, reshard, read the lineage", async () => {
  await kin.send(new CreateStreamCommand({ StreamName: "js-stream", ShardCount: 2 }));
  await waitUntilStreamExists(
    { client: kin, minDelay: 1, maxDelay: 1, maxWaitTime: 20 },
    { StreamName: "js-stream" },
  );
  const summary = await kin.send(new DescribeStreamSummaryCommand({ StreamName: "js-stream" }));
  const StreamARN = summary.StreamDescriptionSummary.StreamARN;
  assert.equal(summary.StreamDescriptionSummary.StreamStatus, "ACTIVE");
  assert.equal(StreamARN, "arn:aws:kinesis:us-east-1:000000000000:stream/js-stream");

  const { Shards } = await kin.send(new ListShardsCommand({ StreamARN }));
  assert.equal(Shards.length, 2);
  const keys = Array.from({ length: 40 }, (_, i) => `user-${i}`);
  const put = await kin.send(
    new PutRecordsCommand({
      StreamARN,
      Records: keys.map((k) => ({ PartitionKey: k, Data: new TextEncoder().encode(k) })),
    }),
  );
  assert.equal(put.FailedRecordCount, 0);
  put.Records.forEach((r, i) => assert.equal(r.ShardId, holder(Shards, md5(keys[i]))));

  const one = await kin.send(
    new PutRecordCommand({ StreamARN, PartitionKey: "solo", Data: new Uint8Array([0, 1, 255]) }),
  );
  assert.equal(one.ShardId, holder(Shards, md5("solo")));
  assert.match(one.SequenceNumber, /^\d{56}$/);

  const { records } = await readShard(StreamARN, one.ShardId);
  const last = records[records.length - 1];
  assert.deepEqual([...last.Data], [0, 1, 255]);
  assert.equal(last.PartitionKey, "solo");
  assert.ok(last.ApproximateArrivalTimestamp instanceof Date);

  await kin.send(
    new SplitShardCommand({
      StreamARN,
      ShardToSplit: "shardId-000000000001",
      NewStartingHashKey: (2n ** 127n + 2n ** 126n).toString(),
    }),
  );
  await waitUntilStreamExists({ client: kin, minDelay: 1, maxDelay: 1, maxWaitTime: 20 }, { StreamARN });
  await kin.send(
    new MergeShardsCommand({
      StreamARN,
      ShardToMerge: "shardId-000000000002",
      AdjacentShardToMerge: "shardId-000000000003",
    }),
  );
  await waitUntilStreamExists({ client: kin, minDelay: 1, maxDelay: 1, maxWaitTime: 20 }, { StreamARN });
  const parent = await readShard(StreamARN, "shardId-000000000001");
  assert.equal(parent.last.NextShardIterator, undefined);
  assert.deepEqual(
    parent.last.ChildShards.map((c) => c.ShardId),
    ["shardId-000000000002", "shardId-000000000003"],
  );
  const child = await readShard(StreamARN, "shardId-000000000002");
  assert.deepEqual(child.last.ChildShards, [
    {
      ShardId: "shardId-000000000004",
      ParentShards: ["shardId-000000000002", "shardId-000000000003"],
      HashKeyRange: {
        StartingHashKey: (2n ** 127n).toString(),
        EndingHashKey: (2n ** 128n - 1n).toString(),
      },
    },
  ]);
  const moved = await kin.send(
    new PutRecordCommand({ StreamARN, PartitionKey: "x", ExplicitHashKey: (2n ** 128n - 1n).toString(), Data: new Uint8Array([7]) }),
  );
  assert.equal(moved.ShardId, "shardId-000000000004");

  const listed = await kin.send(new ListStreamsCommand({}));
  assert.ok(listed.StreamNames.includes("js-stream"));
});

test("errors come as the SDK's exception classes", async () => {
  await assert.rejects(
    kin.send(new DescribeStreamSummaryCommand({ StreamName: "js-missing" })),
    (e) => e instanceof ResourceNotFoundException && /js-missing/.test(e.message),
  );
  await assert.rejects(
    kin.send(
      new PutRecordCommand({
        StreamARN: "arn:aws:kinesis:us-east-1:000000000000:stream/js-missing",
        PartitionKey: "k",
        Data: new Uint8Array([1]),
      }),
    ),
    (e) => e instanceof ResourceNotFoundException,
  );
  await assert.rejects(
    kin.send(new GetRecordsCommand({ ShardIterator: "bm90IGFuIGl0ZXJhdG9y" })),
    (e) => e instanceof InvalidArgumentException,
  );
  await assert.rejects(
    kin.send(
      new PutRecordCommand({
        StreamName: "js-stream",
        StreamARN: "arn:aws:kinesis:us-east-1:000000000000:stream/other",
        PartitionKey: "k",
        Data: new Uint8Array([1]),
      }),
    ),
    (e) => e instanceof InvalidArgumentException,
  );
  await kin.send(new DeleteStreamCommand({ StreamName: "js-stream", EnforceConsumerDeletion: true }));
});

test("resource tags on a stream and on a consumer", async () => {
  await kin.send(new CreateStreamCommand({ StreamName: "js-tags", ShardCount: 1, Tags: { team: "ci" } }));
  await waitUntilStreamExists({ client: kin, minDelay: 1, maxDelay: 1, maxWaitTime: 20 }, { StreamName: "js-tags" });
  const StreamARN = "arn:aws:kinesis:us-east-1:000000000000:stream/js-tags";
  await kin.send(new TagResourceCommand({ ResourceARN: StreamARN, Tags: { env: "test" } }));
  let tags = await kin.send(new ListTagsForResourceCommand({ ResourceARN: StreamARN }));
  assert.deepEqual(tags.Tags, [
    { Key: "env", Value: "test" },
    { Key: "team", Value: "ci" },
  ]);
  await kin.send(new UntagResourceCommand({ ResourceARN: StreamARN, TagKeys: ["team"] }));
  tags = await kin.send(new ListTagsForResourceCommand({ ResourceARN: StreamARN }));
  assert.deepEqual(tags.Tags, [{ Key: "env", Value: "test" }]);
  const { Consumer } = await kin.send(new RegisterStreamConsumerCommand({ StreamARN, ConsumerName: "reader" }));
  await kin.send(new TagResourceCommand({ ResourceARN: Consumer.ConsumerARN, Tags: { role: "reader" } }));
  tags = await kin.send(new ListTagsForResourceCommand({ ResourceARN: Consumer.ConsumerARN }));
  assert.deepEqual(tags.Tags, [{ Key: "role", Value: "reader" }]);
  await assert.rejects(
    kin.send(new ListTagsForResourceCommand({ ResourceARN: StreamARN + "-missing" })),
    (e) => e instanceof ResourceNotFoundException,
  );
  await kin.send(new DeleteStreamCommand({ StreamARN, EnforceConsumerDeletion: true }));
});

// SubscribeToShard's event stream over HTTP/1.1: the SDK's default HTTP/2
// handler cannot reach the emulator (it speaks HTTP/1.1 only), the
// NodeHttpHandler given above reads the stream as it comes.
test("SubscribeToShard delivers records put while subscribed", async () => {
  await kin.send(new CreateStreamCommand({ StreamName: "js-sub", ShardCount: 1 }));
  await waitUntilStreamExists({ client: kin, minDelay: 1, maxDelay: 1, maxWaitTime: 20 }, { StreamName: "js-sub" });
  const StreamARN = "arn:aws:kinesis:us-east-1:000000000000:stream/js-sub";
  const { Consumer } = await kin.send(new RegisterStreamConsumerCommand({ StreamARN, ConsumerName: "pusher" }));
  for (let i = 0; i < 50; i++) {
    const d = await kin.send(new sdk.DescribeStreamConsumerCommand({ ConsumerARN: Consumer.ConsumerARN }));
    if (d.ConsumerDescription.ConsumerStatus === "ACTIVE") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await kin.send(new PutRecordCommand({ StreamName: "js-sub", Data: Buffer.from("before"), PartitionKey: "k" }));
  const r = await kin.send(
    new sdk.SubscribeToShardCommand({
      ConsumerARN: Consumer.ConsumerARN,
      ShardId: "shardId-000000000000",
      StartingPosition: { Type: "TRIM_HORIZON" },
    }),
  );
  const got = [];
  let put = null;
  for await (const ev of r.EventStream) {
    const e = ev.SubscribeToShardEvent;
    assert.ok(e, JSON.stringify(Object.keys(ev)));
    assert.equal(typeof e.MillisBehindLatest, "number");
    for (const rec of e.Records) {
      got.push(Buffer.from(rec.Data).toString());
      assert.ok(rec.ApproximateArrivalTimestamp instanceof Date);
    }
    if (!put) put = kin.send(new PutRecordCommand({ StreamName: "js-sub", Data: Buffer.from("during"), PartitionKey: "k" }));
    if (got.length >= 2) {
      assert.equal(e.ContinuationSequenceNumber, (await put).SequenceNumber);
      break;
    }
  }
  assert.deepEqual(got, ["before", "during"]);
  await assert.rejects(
    kin.send(
      new sdk.SubscribeToShardCommand({
        ConsumerARN: Consumer.ConsumerARN + "-missing",
        ShardId: "shardId-000000000000",
        StartingPosition: { Type: "LATEST" },
      }),
    ),
    (e) => e instanceof ResourceNotFoundException,
  );
  await kin.send(new DeleteStreamCommand({ StreamARN, EnforceConsumerDeletion: true }));
});
