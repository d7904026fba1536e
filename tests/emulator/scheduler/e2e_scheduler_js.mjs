// End-to-end EventBridge Scheduler tests with the AWS SDK for JavaScript v3
// (@aws-sdk/client-scheduler, REST-JSON) against a real `airgap emulator`
// ($AIRGAP_BIN): schedule groups and schedules, a cron() schedule evaluated
// in an IANA time zone and fired through the scheduler's test clock
// (POST /_aws/scheduler/clock), and the errors AWS answers.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { startEmulator } from "../../js/emulator.mjs";

// The SDK is installed under tests/js (npm ci there); resolve it from there.
const require = createRequire(new URL("../../js/package.json", import.meta.url));
const {
  SchedulerClient,
  CreateScheduleGroupCommand,
  GetScheduleGroupCommand,
  ListScheduleGroupsCommand,
  DeleteScheduleGroupCommand,
  CreateScheduleCommand,
  GetScheduleCommand,
  UpdateScheduleCommand,
  ListSchedulesCommand,
  DeleteScheduleCommand,
  ConflictException,
  ResourceNotFoundException,
  ValidationException,
} = require("@aws-sdk/client-scheduler");
const {
  SQSClient,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
} = require("@aws-sdk/client-sqs");
const {
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  DescribeEventBusCommand,
} = require("@aws-sdk/client-eventbridge");

const ROLE = "arn:aws:iam::000000000000:role/scheduler";
const OFF = { Mode: "OFF" };
const config = (endpoint) => ({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1,
});

let emu, sch, sqs, events;

beforeEach(async () => {
  emu = await startEmulator();
  sch = new SchedulerClient(config(emu.endpoint));
  sqs = new SQSClient(config(emu.endpoint));
  events = new EventBridgeClient(config(emu.endpoint));
});

afterEach(async () => {
  sch.destroy();
  sqs.destroy();
  events.destroy();
  await emu.stop();
});

async function queue(name) {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }),
  );
  return { url: QueueUrl, arn: Attributes.QueueArn };
}

async function speed(v) {
  const r = await fetch(`${emu.endpoint}/_aws/scheduler/clock`, {
    method: "POST",
    body: JSON.stringify({ speed: v }),
  });
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { speed: v });
}

async function receiveOne(url, seconds) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const r = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1, MaxNumberOfMessages: 1 }),
    );
    if (r.Messages?.length) return r.Messages[0];
  }
  return null;
}

test("schedule groups: create, get, list, conflict, delete", async () => {
  const created = await sch.send(
    new CreateScheduleGroupCommand({ Name: "team-a", Tags: [{ Key: "k", Value: "v" }] }),
  );
  assert.match(created.ScheduleGroupArn, /^arn:aws:scheduler:us-east-1:\d{12}:schedule-group\/team-a$/);
  const got = await sch.send(new GetScheduleGroupCommand({ Name: "team-a" }));
  assert.equal(got.State, "ACTIVE");
  assert.ok(got.CreationDate instanceof Date);
  const names = (await sch.send(new ListScheduleGroupsCommand({}))).ScheduleGroups.map((g) => g.Name);
  assert.deepEqual(names.sort(), ["default", "team-a"]);
  await assert.rejects(
    sch.send(new CreateScheduleGroupCommand({ Name: "team-a" })),
    (e) => e instanceof ConflictException && e.$metadata.httpStatusCode === 409,
  );
  await sch.send(new DeleteScheduleGroupCommand({ Name: "team-a" }));
  await assert.rejects(
    sch.send(new GetScheduleGroupCommand({ Name: "team-a" })),
    (e) => e instanceof ResourceNotFoundException && e.$metadata.httpStatusCode === 404,
  );
});

test("schedules: create, get, update, list, delete, and their errors", async () => {
  const { arn } = await queue("sched-js-crud");
  await sch.send(new CreateScheduleGroupCommand({ Name: "g1" }));
  const base = {
    Name: "nightly",
    GroupName: "g1",
    ScheduleExpression: "cron(30 2 * * ? *)",
    ScheduleExpressionTimezone: "America/New_York",
    FlexibleTimeWindow: OFF,
    Target: { Arn: arn, RoleArn: ROLE, Input: "{}" },
  };
  const { ScheduleArn } = await sch.send(new CreateScheduleCommand(base));
  assert.match(ScheduleArn, /:schedule\/g1\/nightly$/);
  let got = await sch.send(new GetScheduleCommand({ Name: "nightly", GroupName: "g1" }));
  assert.equal(got.ScheduleExpressionTimezone, "America/New_York");
  assert.equal(got.State, "ENABLED");
  assert.equal(got.Target.Arn, arn);

  await assert.rejects(
    sch.send(new CreateScheduleCommand(base)),
    (e) => e instanceof ConflictException && e.$metadata.httpStatusCode === 409,
  );
  await assert.rejects(
    sch.send(new GetScheduleCommand({ Name: "nightly" })), // the default group
    (e) => e instanceof ResourceNotFoundException,
  );
  await assert.rejects(
    sch.send(new CreateScheduleCommand({ ...base, GroupName: "ghost" })),
    (e) => e instanceof ResourceNotFoundException && e.$metadata.httpStatusCode === 404,
  );
  for (const bad of [
    { ScheduleExpressionTimezone: "Mars/Olympus" },
    { ScheduleExpressionTimezone: "../../etc/passwd" },
    { ScheduleExpression: "cron(0 12 * * * *)" },
    { ScheduleExpression: "at(2030-02-30T00:00:00)" },
    { FlexibleTimeWindow: { Mode: "FLEXIBLE" } },
  ]) {
    await assert.rejects(
      sch.send(new CreateScheduleCommand({ ...base, Name: "bad", ...bad })),
      (e) => e instanceof ValidationException && e.$metadata.httpStatusCode === 400,
      JSON.stringify(bad),
    );
  }
  await assert.rejects(
    sch.send(new CreateScheduleCommand({ ...base, Name: "bad", ScheduleExpressionTimezone: "Mars/Olympus" })),
    (e) => /Mars\/Olympus/.test(e.message),
  );

  await sch.send(
    new UpdateScheduleCommand({ ...base, ScheduleExpressionTimezone: "Australia/Lord_Howe", State: "DISABLED" }),
  );
  got = await sch.send(new GetScheduleCommand({ Name: "nightly", GroupName: "g1" }));
  assert.equal(got.ScheduleExpressionTimezone, "Australia/Lord_Howe");
  assert.equal(got.State, "DISABLED");
  const listed = await sch.send(new ListSchedulesCommand({ GroupName: "g1" }));
  assert.deepEqual(listed.Schedules.map((s) => s.Name), ["nightly"]);
  await sch.send(new DeleteScheduleCommand({ Name: "nightly", GroupName: "g1" }));
  await assert.rejects(
    sch.send(new DeleteScheduleCommand({ Name: "nightly", GroupName: "g1" })),
    (e) => e instanceof ResourceNotFoundException,
  );
});

// The wall-clock hour and minute that instant reads in zone.
function localHourMinute(instant, zone) {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(instant);
  const get = (t) => Number(parts.find((p) => p.type === t).value);
  return { hour: get("hour"), minute: get("minute") };
}

test("a cron() schedule fires at its wall-clock time in its time zone", async () => {
  // Asia/Kathmandu is UTC+5:45: a minute and hour read in UTC instead would
  // be 5 h 45 min off, far outside what the sped-up clock reaches here.
  const zone = "Asia/Kathmandu";
  const { url, arn } = await queue("sched-js-tz");
  await events.send(
    new PutRuleCommand({ Name: "from-scheduler", EventPattern: JSON.stringify({ source: ["tz.test"] }) }),
  );
  await events.send(new PutTargetsCommand({ Rule: "from-scheduler", Targets: [{ Id: "1", Arn: arn }] }));
  const bus = (await events.send(new DescribeEventBusCommand({}))).Arn;

  // Five virtual minutes ahead, on a whole minute (the clock starts with the
  // emulator, close to Date.now()).
  const due = new Date(Math.ceil((Date.now() + 5 * 60000) / 60000) * 60000);
  const { hour, minute } = localHourMinute(due, zone);
  await sch.send(
    new CreateScheduleCommand({
      Name: "kathmandu",
      ScheduleExpression: `cron(${minute} ${hour} * * ? *)`,
      ScheduleExpressionTimezone: zone,
      FlexibleTimeWindow: OFF,
      Target: {
        Arn: bus,
        RoleArn: ROLE,
        Input: '{"zone": "kathmandu"}',
        EventBridgeParameters: { Source: "tz.test", DetailType: "Tick" },
      },
    }),
  );
  await speed(60); // a virtual minute per second
  const msg = await receiveOne(url, 30);
  await speed(1);
  assert.ok(msg, "the schedule did not fire within 30 virtual minutes");
  const event = JSON.parse(msg.Body);
  assert.deepEqual(event.detail, { zone: "kathmandu" });
  // The event's time is the instant the schedule was due.
  assert.equal(event.time, due.toISOString().replace(/\.\d{3}Z$/, "Z"));
  assert.match(event.resources[0], /:schedule\/default\/kathmandu$/);
});

test("the clock hook refuses what it cannot use", async () => {
  let r = await fetch(`${emu.endpoint}/_aws/scheduler/clock`, { method: "GET" });
  assert.equal(r.status, 405);
  await r.arrayBuffer();
  for (const body of ['{"speed": 0}', '{"speed": "fast"}', "{", '{"speed": 100001}']) {
    r = await fetch(`${emu.endpoint}/_aws/scheduler/clock`, { method: "POST", body });
    assert.equal(r.status, 400, body);
    await r.arrayBuffer();
  }
  // EventBridge's clock is the same endpoint under its own name.
  r = await fetch(`${emu.endpoint}/_aws/events/clock`, { method: "POST", body: '{"speed": 2}' });
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { speed: 2 });
});
