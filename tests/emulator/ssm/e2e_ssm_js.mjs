// e2e_ssm_js.mjs — SSM Parameter Store through the AWS SDK for JavaScript v3
// (tests/js) against the real `airgap emulator`: String, StringList and
// SecureString parameters (decrypted through the emulator's KMS), paths with
// the SDK's paginator, history, labels and selectors, public AMI parameters,
// and the SDK's error classes. Exits 77 (skipped) when the SDK is not
// installed.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import assert from "node:assert/strict";

const source = process.env.AIRGAP_SOURCE_DIR;
if (!existsSync(`${source}/tests/js/node_modules/@aws-sdk/client-ssm`)) {
  console.log("skipped: @aws-sdk/client-ssm is not installed under tests/js");
  process.exit(77);
}
const require = createRequire(`${source}/tests/js/package.json`);
const ssm = require("@aws-sdk/client-ssm");
const { startEmulator } = await import(`${source}/tests/js/emulator.mjs`);

test("Parameter Store from the JS SDK", async () => {
  const emu = await startEmulator();
  try {
    const c = new ssm.SSMClient({
      endpoint: emu.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1,
    });
    await c.send(new ssm.PutParameterCommand({ Name: "/app/db/host", Value: "db", Type: "String" }));
    await c.send(new ssm.PutParameterCommand({
      Name: "/app/db/password", Value: "s3cret", Type: "SecureString" }));
    await c.send(new ssm.PutParameterCommand({
      Name: "/app/hosts", Value: "a,b", Type: "StringList" }));
    for (let i = 0; i < 5; i++)
      await c.send(new ssm.PutParameterCommand({
        Name: `/app/flags/f${i}`, Value: `${i}`, Type: "String" }));

    const enc = await c.send(new ssm.GetParameterCommand({ Name: "/app/db/password" }));
    assert.notEqual(enc.Parameter.Value, "s3cret");
    const dec = await c.send(new ssm.GetParameterCommand({
      Name: "/app/db/password", WithDecryption: true }));
    assert.equal(dec.Parameter.Value, "s3cret");
    assert.equal(dec.Parameter.Type, "SecureString");
    assert.equal(dec.Parameter.ARN, "arn:aws:ssm:us-east-1:000000000000:parameter/app/db/password");

    const names = [];
    for await (const page of ssm.paginateGetParametersByPath({ client: c, pageSize: 2 }, {
      Path: "/app", Recursive: true, WithDecryption: true })) {
      names.push(...page.Parameters.map((p) => `${p.Name}=${p.Value}`));
    }
    assert.deepEqual(names.sort(), ["/app/db/host=db", "/app/db/password=s3cret",
      "/app/flags/f0=0", "/app/flags/f1=1", "/app/flags/f2=2", "/app/flags/f3=3",
      "/app/flags/f4=4", "/app/hosts=a,b"]);
    const shallow = await c.send(new ssm.GetParametersByPathCommand({ Path: "/app" }));
    assert.deepEqual(shallow.Parameters.map((p) => p.Name), ["/app/hosts"]);

    await assert.rejects(
      c.send(new ssm.PutParameterCommand({ Name: "/app/db/host", Value: "x", Type: "String" })),
      (e) => e instanceof ssm.ParameterAlreadyExists);
    const v2 = await c.send(new ssm.PutParameterCommand({
      Name: "/app/db/host", Value: "db2", Overwrite: true }));
    assert.equal(v2.Version, 2);
    await c.send(new ssm.LabelParameterVersionCommand({
      Name: "/app/db/host", ParameterVersion: 1, Labels: ["stable"] }));
    assert.equal((await c.send(new ssm.GetParameterCommand({ Name: "/app/db/host:stable" })))
      .Parameter.Value, "db");
    assert.equal((await c.send(new ssm.GetParameterCommand({ Name: "/app/db/host:2" })))
      .Parameter.Value, "db2");
    const hist = await c.send(new ssm.GetParameterHistoryCommand({ Name: "/app/db/host" }));
    assert.deepEqual(hist.Parameters.map((p) => [p.Version, p.Value, p.Labels]),
      [[1, "db", ["stable"]], [2, "db2", []]]);

    const both = await c.send(new ssm.GetParametersCommand({
      Names: ["/app/hosts", "/app/none"] }));
    assert.deepEqual(both.Parameters.map((p) => p.Name), ["/app/hosts"]);
    assert.deepEqual(both.InvalidParameters, ["/app/none"]);
    await assert.rejects(c.send(new ssm.GetParameterCommand({ Name: "/app/none" })),
      (e) => e instanceof ssm.ParameterNotFound && e.$metadata.httpStatusCode === 400);

    const ami = await c.send(new ssm.GetParameterCommand({
      Name: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64" }));
    assert.match(ami.Parameter.Value, /^ami-[0-9a-f]{17}$/);

    const del = await c.send(new ssm.DeleteParametersCommand({
      Names: ["/app/hosts", "/app/none"] }));
    assert.deepEqual(del.DeletedParameters, ["/app/hosts"]);
    assert.deepEqual(del.InvalidParameters, ["/app/none"]);
    const described = await c.send(new ssm.DescribeParametersCommand({
      ParameterFilters: [{ Key: "Type", Values: ["SecureString"] }] }));
    assert.deepEqual(described.Parameters.map((p) => p.Name), ["/app/db/password"]);
  } finally {
    await emu.stop();
  }
});
