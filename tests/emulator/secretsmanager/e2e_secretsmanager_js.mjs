// e2e_secretsmanager_js.mjs — Secrets Manager through the AWS SDK for
// JavaScript v3 (tests/js) against the real `airgap emulator`:
// BatchGetSecretValue (newer than Debian's botocore, so only current SDKs can
// send it) by ids and by filters with pagination, binary secrets, versions and
// staging labels, deletion and restore, and the SDK's error classes.
// Exits 77 (skipped) when the SDK is not installed.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import assert from "node:assert/strict";

const source = process.env.AIRGAP_SOURCE_DIR;
if (!existsSync(`${source}/tests/js/node_modules/@aws-sdk/client-secrets-manager`)) {
  console.log("skipped: @aws-sdk/client-secrets-manager is not installed under tests/js");
  process.exit(77);
}
const require = createRequire(`${source}/tests/js/package.json`);
const sm = require("@aws-sdk/client-secrets-manager");
const { startEmulator } = await import(`${source}/tests/js/emulator.mjs`);

function client(endpoint) {
  return new sm.SecretsManagerClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
}

test("BatchGetSecretValue by ids and by filters", async () => {
  const emu = await startEmulator();
  try {
    const c = client(emu.endpoint);
    const arns = {};
    for (const [name, env] of [["app/a", "ci"], ["app/b", "ci"], ["app/c", "prod"], ["other", "ci"]]) {
      arns[name] = (await c.send(new sm.CreateSecretCommand({
        Name: name, SecretString: `value-${name}`, Tags: [{ Key: "env", Value: env }] }))).ARN;
    }
    await c.send(new sm.PutSecretValueCommand({ SecretId: "app/a", SecretString: "value-a2" }));
    await c.send(new sm.DeleteSecretCommand({ SecretId: "other" }));

    const byIds = await c.send(new sm.BatchGetSecretValueCommand({
      SecretIdList: ["app/a", arns["app/b"], "missing", "other"] }));
    assert.deepEqual(byIds.SecretValues.map((v) => [v.Name, v.SecretString]),
      [["app/a", "value-a2"], ["app/b", "value-app/b"]]);
    assert.deepEqual(byIds.SecretValues[0].VersionStages, ["AWSCURRENT"]);
    assert.ok(byIds.SecretValues[0].CreatedDate instanceof Date);
    assert.equal(byIds.SecretValues[1].ARN, arns["app/b"]);
    assert.deepEqual(byIds.Errors.map((e) => [e.SecretId, e.ErrorCode]),
      [["missing", "ResourceNotFoundException"], ["other", "InvalidRequestException"]]);

    const names = [];
    let NextToken;
    let pages = 0;
    do {
      const page = await c.send(new sm.BatchGetSecretValueCommand({
        Filters: [{ Key: "tag-value", Values: ["ci"] }], MaxResults: 1, NextToken }));
      names.push(...page.SecretValues.map((v) => v.Name));
      NextToken = page.NextToken;
      pages++;
    } while (NextToken);
    assert.deepEqual(names, ["app/a", "app/b"]);
    assert.equal(pages, 2);

    await assert.rejects(
      c.send(new sm.BatchGetSecretValueCommand({
        SecretIdList: ["app/a"], Filters: [{ Key: "name", Values: ["app"] }] })),
      (e) => e instanceof sm.InvalidParameterException && e.$metadata.httpStatusCode === 400);
    await assert.rejects(
      c.send(new sm.BatchGetSecretValueCommand({})),
      (e) => e instanceof sm.InvalidParameterException);
    await assert.rejects(
      c.send(new sm.BatchGetSecretValueCommand({
        Filters: [{ Key: "name", Values: ["app"] }], NextToken: "bogus" })),
      (e) => e instanceof sm.InvalidNextTokenException);
  } finally {
    await emu.stop();
  }
});

test("binary secrets, staging labels, delete and restore", async () => {
  const emu = await startEmulator();
  try {
    const c = client(emu.endpoint);
    const bytes = Uint8Array.from([0, 1, 2, 250, 255]);
    await c.send(new sm.CreateSecretCommand({ Name: "bin", SecretBinary: bytes }));
    const got = await c.send(new sm.GetSecretValueCommand({ SecretId: "bin" }));
    assert.deepEqual(Array.from(got.SecretBinary), Array.from(bytes));
    assert.equal(got.SecretString, undefined);

    const v1 = got.VersionId;
    const v2 = (await c.send(new sm.PutSecretValueCommand({
      SecretId: "bin", SecretString: "text" }))).VersionId;
    const desc = await c.send(new sm.DescribeSecretCommand({ SecretId: "bin" }));
    assert.deepEqual(desc.VersionIdsToStages, { [v1]: ["AWSPREVIOUS"], [v2]: ["AWSCURRENT"] });
    const prev = await c.send(new sm.GetSecretValueCommand({
      SecretId: "bin", VersionStage: "AWSPREVIOUS" }));
    assert.deepEqual(Array.from(prev.SecretBinary), Array.from(bytes));

    await c.send(new sm.DeleteSecretCommand({ SecretId: "bin", RecoveryWindowInDays: 7 }));
    await assert.rejects(c.send(new sm.GetSecretValueCommand({ SecretId: "bin" })),
      (e) => e instanceof sm.InvalidRequestException);
    await c.send(new sm.RestoreSecretCommand({ SecretId: "bin" }));
    assert.equal((await c.send(new sm.GetSecretValueCommand({ SecretId: "bin" }))).SecretString,
      "text");
    await assert.rejects(c.send(new sm.GetSecretValueCommand({ SecretId: "nope" })),
      (e) => e instanceof sm.ResourceNotFoundException &&
        e.message === "Secrets Manager can't find the specified secret.");
    const pw = await c.send(new sm.GetRandomPasswordCommand({
      PasswordLength: 24, ExcludePunctuation: true }));
    assert.match(pw.RandomPassword, /^[A-Za-z0-9]{24}$/);
  } finally {
    await emu.stop();
  }
});

test("BatchGetSecretValue by filters keeps creation order within a millisecond", async () => {
  const emu = await startEmulator();
  try {
    const c = client(emu.endpoint);
    // Names run backwards, so an order that broke CreatedDate ties by name would show.
    const made = Array.from({ length: 30 }, (_, i) => `tie/${String(29 - i).padStart(2, "0")}`);
    for (const name of made) {
      await c.send(new sm.CreateSecretCommand({ Name: name, SecretString: "v" }));
    }
    const got = [];
    let NextToken;
    do {
      const page = await c.send(new sm.BatchGetSecretValueCommand({
        Filters: [{ Key: "name", Values: ["tie/"] }], MaxResults: 20, NextToken }));
      got.push(...page.SecretValues.map((v) => v.Name));
      NextToken = page.NextToken;
    } while (NextToken);
    assert.deepEqual(got, made);
  } finally {
    await emu.stop();
  }
});
