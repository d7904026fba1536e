// e2e_logs_js.mjs — CloudWatch Logs through the AWS SDK for JavaScript v3
// (tests/js), against the real `airgap emulator`: log group classes and ARNs
// (newer than Debian's botocore), events put, read back with tokens, filtered
// with patterns and paginated, Insights queries, and the SDK's error classes.
// Exits 77 (skipped) when the SDK is not installed.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import assert from "node:assert/strict";

const source = process.env.AIRGAP_SOURCE_DIR;
if (!existsSync(`${source}/tests/js/node_modules/@aws-sdk/client-cloudwatch-logs`)) {
  console.log("skipped: @aws-sdk/client-cloudwatch-logs is not installed under tests/js");
  process.exit(77);
}
const require = createRequire(`${source}/tests/js/package.json`);
const logs = require("@aws-sdk/client-cloudwatch-logs");
const { startEmulator } = await import(`${source}/tests/js/emulator.mjs`);

function client(endpoint) {
  return new logs.CloudWatchLogsClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
}

test("log groups, events, filters and queries from the JS SDK", async () => {
  const emu = await startEmulator();
  try {
    const cw = client(emu.endpoint);
    await cw.send(new logs.CreateLogGroupCommand({
      logGroupName: "/js/app", logGroupClass: "INFREQUENT_ACCESS", tags: { team: "js" } }));
    await cw.send(new logs.CreateLogGroupCommand({ logGroupName: "/js/std" }));
    const groups = (await cw.send(new logs.DescribeLogGroupsCommand({ logGroupNamePrefix: "/js/" })))
      .logGroups;
    assert.deepEqual(groups.map((g) => [g.logGroupName, g.logGroupClass]),
      [["/js/app", "INFREQUENT_ACCESS"], ["/js/std", "STANDARD"]]);
    assert.equal(groups[0].logGroupArn, "arn:aws:logs:us-east-1:000000000000:log-group:/js/app");
    const only = await cw.send(new logs.DescribeLogGroupsCommand({ logGroupClass: "STANDARD" }));
    assert.deepEqual(only.logGroups.map((g) => g.logGroupName), ["/js/std"]);
    await assert.rejects(
      cw.send(new logs.CreateLogGroupCommand({ logGroupName: "/js/app" })),
      (e) => e instanceof logs.ResourceAlreadyExistsException && e.$metadata.httpStatusCode === 400);

    await cw.send(new logs.CreateLogStreamCommand({ logGroupName: "/js/app", logStreamName: "s" }));
    const t = Date.now() - 10000;
    const put = await cw.send(new logs.PutLogEventsCommand({
      logGroupName: "/js/app", logStreamName: "s",
      logEvents: Array.from({ length: 6 }, (_, i) => ({
        timestamp: t + i,
        message: JSON.stringify({ n: i, level: i % 2 ? "warn" : "error" }),
      })),
    }));
    assert.equal(put.rejectedLogEventsInfo, undefined);

    const first = await cw.send(new logs.GetLogEventsCommand({
      logGroupName: "/js/app", logStreamName: "s", startFromHead: true, limit: 4 }));
    assert.equal(first.events.length, 4);
    const second = await cw.send(new logs.GetLogEventsCommand({
      logGroupName: "/js/app", logStreamName: "s", nextToken: first.nextForwardToken }));
    assert.deepEqual(second.events.map((e) => JSON.parse(e.message).n), [4, 5]);

    const seen = [];
    for await (const page of logs.paginateFilterLogEvents({ client: cw, pageSize: 2 }, {
      logGroupName: "/js/app", filterPattern: '{ $.level = "error" }' })) {
      seen.push(...page.events.map((e) => JSON.parse(e.message).n));
    }
    assert.deepEqual(seen, [0, 2, 4]);

    const { queryId } = await cw.send(new logs.StartQueryCommand({
      logGroupName: "/js/app", startTime: Math.floor(t / 1000) - 60,
      endTime: Math.floor(Date.now() / 1000) + 60,
      queryString: "stats count(*) as n by level | sort level" }));
    const res = await cw.send(new logs.GetQueryResultsCommand({ queryId }));
    assert.equal(res.status, "Complete");
    assert.deepEqual(res.results.map((r) => Object.fromEntries(r.map((c) => [c.field, c.value]))),
      [{ level: "error", n: "3" }, { level: "warn", n: "3" }]);
    await assert.rejects(
      cw.send(new logs.StartQueryCommand({
        logGroupName: "/js/app", startTime: 0, endTime: 1, queryString: "fields | nope" })),
      (e) => e instanceof logs.MalformedQueryException);

    await assert.rejects(
      cw.send(new logs.GetLogEventsCommand({ logGroupName: "/js/none", logStreamName: "s" })),
      (e) => e instanceof logs.ResourceNotFoundException &&
        e.message === "The specified log group does not exist.");
    await assert.rejects(
      cw.send(new logs.PutLogEventsCommand({
        logGroupName: "/js/app", logStreamName: "s",
        logEvents: [{ timestamp: t + 5, message: "b" }, { timestamp: t, message: "a" }] })),
      (e) => e instanceof logs.InvalidParameterException);
    const tags = await cw.send(new logs.ListTagsForResourceCommand({
      resourceArn: groups[0].logGroupArn }));
    assert.deepEqual(tags.tags, { team: "js" });
  } finally {
    await emu.stop();
  }
});
