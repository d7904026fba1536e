// End-to-end DynamoDB and DynamoDB Streams tests with the AWS SDK for
// JavaScript v3 (client-dynamodb, the lib-dynamodb document client and
// client-dynamodb-streams) against a real `airgap emulator` ($AIRGAP_BIN).
// One emulator serves the file; each test uses its own tables.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { startEmulator } from "../../js/emulator.mjs";

// The SDK is installed under tests/js (npm ci there).
const require = createRequire(new URL("../../js/package.json", import.meta.url));
const {
  DynamoDBClient,
  CreateTableCommand,
  DescribeTableCommand,
  UpdateTableCommand,
  DeleteTableCommand,
  ConditionalCheckFailedException,
  TransactionCanceledException,
  ResourceNotFoundException,
  ResourceInUseException,
} = require("@aws-sdk/client-dynamodb");
const {
  DynamoDBDocumentClient,
  PutCommand,
  GetCommand,
  UpdateCommand,
  DeleteCommand,
  QueryCommand,
  ScanCommand,
  BatchWriteCommand,
  BatchGetCommand,
  TransactWriteCommand,
  TransactGetCommand,
  ExecuteStatementCommand,
  paginateQuery,
  NumberValue,
} = require("@aws-sdk/lib-dynamodb");
const {
  DynamoDBStreamsClient,
  ListStreamsCommand,
  DescribeStreamCommand,
  GetShardIteratorCommand,
  GetRecordsCommand,
  ExpiredIteratorException,
} = require("@aws-sdk/client-dynamodb-streams");

let emu, ddb, doc, streams;

before(async () => {
  emu = await startEmulator();
  const config = {
    endpoint: emu.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  };
  ddb = new DynamoDBClient(config);
  doc = DynamoDBDocumentClient.from(ddb, {
    marshallOptions: { removeUndefinedValues: true },
    unmarshallOptions: { wrapNumbers: true },
  });
  streams = new DynamoDBStreamsClient(config);
});

after(async () => {
  ddb.destroy();
  streams.destroy();
  await emu.stop();
});

async function table(name, extra = {}) {
  return (
    await ddb.send(
      new CreateTableCommand({
        TableName: name,
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "N" },
        ],
        BillingMode: "PAY_PER_REQUEST",
        ...extra,
      }),
    )
  ).TableDescription;
}

const num = (v) => (v instanceof NumberValue ? v.toString() : String(v));

test("deletion protection is kept and refuses DeleteTable until turned off", async () => {
  const created = await table("guarded", { DeletionProtectionEnabled: true });
  assert.equal(created.DeletionProtectionEnabled, true);
  await assert.rejects(ddb.send(new DeleteTableCommand({ TableName: "guarded" })), (err) => {
    assert.equal(err.name, "ValidationException");
    assert.match(err.message, /deletion protection/i);
    return true;
  });
  const updated = await ddb.send(
    new UpdateTableCommand({ TableName: "guarded", DeletionProtectionEnabled: false }),
  );
  assert.equal(updated.TableDescription.DeletionProtectionEnabled, false);
  await ddb.send(new DeleteTableCommand({ TableName: "guarded" }));
});

test("document client: put, get, update, delete with exact numbers", async () => {
  await table("doc");
  const big = NumberValue.from("12345678901234567890123456789012345678");
  await doc.send(
    new PutCommand({
      TableName: "doc",
      Item: { pk: "a", sk: 1, big, tags: new Set(["x", "y"]), nested: { vals: [1, "two", null] } },
    }),
  );
  const got = (await doc.send(new GetCommand({ TableName: "doc", Key: { pk: "a", sk: 1 } }))).Item;
  assert.equal(num(got.big), "12345678901234567890123456789012345678");
  assert.deepEqual([...got.tags].sort(), ["x", "y"]);
  assert.equal(got.nested.vals[1], "two");
  assert.equal(got.nested.vals[2], null);

  const upd = await doc.send(
    new UpdateCommand({
      TableName: "doc",
      Key: { pk: "a", sk: 1 },
      UpdateExpression: "SET #c = if_not_exists(#c, :zero) + :inc, nested.vals[0] = :v ADD tags :t",
      ExpressionAttributeNames: { "#c": "count" },
      ExpressionAttributeValues: { ":zero": 0, ":inc": 0.1, ":v": "first", ":t": new Set(["z"]) },
      ReturnValues: "UPDATED_NEW",
    }),
  );
  assert.equal(num(upd.Attributes.count), "0.1");
  assert.equal(upd.Attributes.nested.vals[0], "first");
  assert.deepEqual([...upd.Attributes.tags].sort(), ["x", "y", "z"]);

  // A failing condition leaves the item as it was, and hands back the item
  // with ReturnValuesOnConditionCheckFailure (which the embedded model gains
  // through gen_models.py's overlay: Debian 12's botocore predates it).
  await assert.rejects(
    doc.send(
      new PutCommand({
        TableName: "doc",
        Item: { pk: "a", sk: 1, replaced: true },
        ConditionExpression: "attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    ),
    (err) => {
      assert.ok(err instanceof ConditionalCheckFailedException);
      assert.equal(err.message, "The conditional request failed");
      assert.equal(err.$metadata.httpStatusCode, 400);
      assert.equal(err.Item?.pk?.S, "a", JSON.stringify(err.Item));
      assert.equal(err.Item?.replaced, undefined);
      return true;
    },
  );
  const still = (await doc.send(new GetCommand({ TableName: "doc", Key: { pk: "a", sk: 1 } }))).Item;
  assert.equal(still.replaced, undefined);

  const del = await doc.send(
    new DeleteCommand({ TableName: "doc", Key: { pk: "a", sk: 1 }, ReturnValues: "ALL_OLD" }),
  );
  assert.equal(del.Attributes.pk, "a");
  assert.equal((await doc.send(new GetCommand({ TableName: "doc", Key: { pk: "a", sk: 1 } }))).Item, undefined);
});

test("document client: query pages in sort order, scan with a filter, batches", async () => {
  await table("docq");
  const items = [];
  for (let i = 0; i < 30; i++) items.push({ PutRequest: { Item: { pk: "p", sk: i, even: i % 2 === 0 } } });
  for (let i = 0; i < items.length; i += 25)
    await doc.send(new BatchWriteCommand({ RequestItems: { docq: items.slice(i, i + 25) } }));
  const seen = [];
  for await (const page of paginateQuery(
    { client: doc, pageSize: 7 },
    {
      TableName: "docq",
      KeyConditionExpression: "pk = :p AND sk BETWEEN :lo AND :hi",
      ExpressionAttributeValues: { ":p": "p", ":lo": 3, ":hi": 25 },
      ScanIndexForward: false,
    },
  )) {
    assert.ok(page.Items.length <= 7);
    seen.push(...page.Items.map((it) => Number(num(it.sk))));
  }
  assert.deepEqual(seen, Array.from({ length: 23 }, (_, i) => 25 - i));
  const scan = await doc.send(
    new ScanCommand({ TableName: "docq", FilterExpression: "even = :t", ExpressionAttributeValues: { ":t": true } }),
  );
  assert.equal(scan.Count, 15);
  assert.equal(scan.ScannedCount, 30);
  const got = await doc.send(
    new BatchGetCommand({
      RequestItems: { docq: { Keys: [{ pk: "p", sk: 1 }, { pk: "p", sk: 2 }, { pk: "nope", sk: 1 }] } },
    }),
  );
  assert.equal(got.Responses.docq.length, 2);
  assert.deepEqual(got.UnprocessedKeys, {});
  const count = await doc.send(
    new QueryCommand({
      TableName: "docq",
      KeyConditionExpression: "pk = :p",
      ExpressionAttributeValues: { ":p": "p" },
      Select: "COUNT",
    }),
  );
  assert.equal(count.Count, 30);
  assert.equal(count.Items, undefined);
});

test("document client: transactions commit together or cancel with reasons", async () => {
  await table("doct");
  await doc.send(
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: "doct", Item: { pk: "acct", sk: 1, balance: 100 } } },
        { Put: { TableName: "doct", Item: { pk: "acct", sk: 2, balance: 0 } } },
      ],
    }),
  );
  await assert.rejects(
    doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: "doct",
              Key: { pk: "acct", sk: 1 },
              UpdateExpression: "SET balance = balance - :n",
              ConditionExpression: "balance >= :n",
              ExpressionAttributeValues: { ":n": 500 },
            },
          },
          {
            Update: {
              TableName: "doct",
              Key: { pk: "acct", sk: 2 },
              UpdateExpression: "SET balance = balance + :n",
              ExpressionAttributeValues: { ":n": 500 },
            },
          },
        ],
      }),
    ),
    (err) => {
      assert.ok(err instanceof TransactionCanceledException);
      assert.deepEqual(
        err.CancellationReasons.map((r) => r.Code),
        ["ConditionalCheckFailed", "None"],
      );
      assert.match(err.message, /^Transaction cancelled, please refer cancellation reasons for specific reasons \[ConditionalCheckFailed, None\]$/);
      return true;
    },
  );
  const both = await doc.send(
    new TransactGetCommand({
      TransactItems: [
        { Get: { TableName: "doct", Key: { pk: "acct", sk: 1 } } },
        { Get: { TableName: "doct", Key: { pk: "acct", sk: 2 } } },
      ],
    }),
  );
  assert.deepEqual(
    both.Responses.map((r) => num(r.Item.balance)),
    ["100", "0"],
  );
  const pq = await doc.send(
    new ExecuteStatementCommand({ Statement: 'SELECT balance FROM "doct" WHERE pk = ? AND sk = ?', Parameters: ["acct", 1] }),
  );
  assert.equal(num(pq.Items[0].balance), "100");
});

test("errors carry DynamoDB's codes and messages", async () => {
  await assert.rejects(
    ddb.send(new DescribeTableCommand({ TableName: "missing" })),
    (err) => {
      assert.ok(err instanceof ResourceNotFoundException);
      assert.equal(err.$metadata.httpStatusCode, 400);
      return true;
    },
  );
  await table("dup");
  await assert.rejects(table("dup"), (err) => err instanceof ResourceInUseException);
  await assert.rejects(
    doc.send(
      new UpdateCommand({
        TableName: "dup",
        Key: { pk: "a", sk: 1 },
        UpdateExpression: "SET #name = :v",
        ExpressionAttributeValues: { ":v": 1 },
      }),
    ),
    (err) => {
      assert.equal(err.name, "ValidationException");
      assert.match(err.message, /An expression attribute name used in the document path is not defined; attribute name: #name/);
      return true;
    },
  );
  await assert.rejects(
    doc.send(new GetCommand({ TableName: "dup", Key: { pk: "a", sk: 1 }, ProjectionExpression: "size" })),
    (err) => {
      assert.equal(err.name, "ValidationException");
      assert.match(err.message, /reserved keyword; reserved keyword: size/);
      return true;
    },
  );
});

test("streams: records of every write, read back in order", async () => {
  const desc = await table("jstream", {
    StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" },
  });
  const arn = desc.LatestStreamArn;
  assert.match(arn, /^arn:aws:dynamodb:us-east-1:000000000000:table\/jstream\/stream\/\d{4}-/);
  await doc.send(new PutCommand({ TableName: "jstream", Item: { pk: "k", sk: 1, v: "a" } }));
  await doc.send(
    new UpdateCommand({
      TableName: "jstream",
      Key: { pk: "k", sk: 1 },
      UpdateExpression: "SET v = :v",
      ExpressionAttributeValues: { ":v": "b" },
    }),
  );
  await doc.send(new DeleteCommand({ TableName: "jstream", Key: { pk: "k", sk: 1 } }));

  const listed = await streams.send(new ListStreamsCommand({ TableName: "jstream" }));
  assert.deepEqual(listed.Streams.map((s) => s.StreamArn), [arn]);
  const sd = (await streams.send(new DescribeStreamCommand({ StreamArn: arn }))).StreamDescription;
  assert.equal(sd.StreamStatus, "ENABLED");
  assert.ok(sd.CreationRequestDateTime instanceof Date);
  const shardId = sd.Shards[0].ShardId;
  let it = (
    await streams.send(new GetShardIteratorCommand({ StreamArn: arn, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" }))
  ).ShardIterator;
  const res = await streams.send(new GetRecordsCommand({ ShardIterator: it, Limit: 2 }));
  assert.deepEqual(res.Records.map((r) => r.eventName), ["INSERT", "MODIFY"]);
  assert.ok(res.Records[0].dynamodb.ApproximateCreationDateTime instanceof Date);
  assert.deepEqual(res.Records[1].dynamodb.OldImage.v, { S: "a" });
  assert.deepEqual(res.Records[1].dynamodb.NewImage.v, { S: "b" });
  const rest = await streams.send(new GetRecordsCommand({ ShardIterator: res.NextShardIterator }));
  assert.deepEqual(rest.Records.map((r) => r.eventName), ["REMOVE"]);
  assert.deepEqual(rest.Records[0].dynamodb.Keys, { pk: { S: "k" }, sk: { N: "1" } });
  assert.ok(BigInt(rest.Records[0].dynamodb.SequenceNumber) > BigInt(res.Records[1].dynamodb.SequenceNumber));

  // Disabling closes the shard; an old iterator expires after 15 minutes.
  await ddb.send(new UpdateTableCommand({ TableName: "jstream", StreamSpecification: { StreamEnabled: false } }));
  const closed = (await streams.send(new DescribeStreamCommand({ StreamArn: arn }))).StreamDescription;
  assert.equal(closed.StreamStatus, "DISABLED");
  assert.equal(closed.Shards[0].SequenceNumberRange.EndingSequenceNumber, rest.Records[0].dynamodb.SequenceNumber);
  const parts = it.split("|");
  parts[parts.length - 1] = String(Number(parts[parts.length - 1]) - 20 * 60 * 1000);
  await assert.rejects(
    streams.send(new GetRecordsCommand({ ShardIterator: parts.join("|") })),
    (err) => err instanceof ExpiredIteratorException,
  );
});
