// e2e_lambda_esm_js.mjs — event source mappings through the AWS SDK for
// JavaScript v3 (@aws-sdk/client-lambda, client-sqs under tests/js) against
// the real `airgap emulator`: create (202, Creating), the Enabled state, get,
// list by function with paging, update (Disabling → Disabled), the SDK's
// error classes for a conflict, a missing mapping and a batch window rule,
// delete. No function runs (no Docker needed). Exits 77 (skipped) when the
// SDK is not installed.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import assert from "node:assert/strict";

const source = process.env.AIRGAP_SOURCE_DIR;
if (!existsSync(`${source}/tests/js/node_modules/@aws-sdk/client-lambda`)) {
  console.log("skipped: @aws-sdk/client-lambda is not installed under tests/js");
  process.exit(77);
}
const require = createRequire(`${source}/tests/js/package.json`);
const L = require("@aws-sdk/client-lambda");
const Q = require("@aws-sdk/client-sqs");
const { startEmulator } = await import(`${source}/tests/js/emulator.mjs`);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("event source mappings through the JS SDK v3", async () => {
  const emu = await startEmulator();
  try {
    const opts = {
      endpoint: emu.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1,
    };
    const lam = new L.LambdaClient(opts);
    const sqs = new Q.SQSClient(opts);
    const zip = execFileSync("/usr/bin/python3", [
      "-c",
      "import io, zipfile, base64, sys\nb = io.BytesIO()\nwith zipfile.ZipFile(b, 'w') as z:\n    z.writestr('app.py', 'def handler(e, c):\\n    return e\\n')\nsys.stdout.write(base64.b64encode(b.getvalue()).decode())",
    ]).toString();
    await lam.send(
      new L.CreateFunctionCommand({
        FunctionName: "js-esm",
        Runtime: "python3.12",
        Role: "arn:aws:iam::000000000000:role/r",
        Handler: "app.handler",
        Code: { ZipFile: Buffer.from(zip, "base64") },
      }),
    );
    const arns = [];
    for (const name of ["js-a", "js-b", "js-c"]) {
      await sqs.send(new Q.CreateQueueCommand({ QueueName: name }));
      arns.push(`arn:aws:sqs:us-east-1:000000000000:${name}`);
    }
    const made = await lam.send(
      new L.CreateEventSourceMappingCommand({
        EventSourceArn: arns[0],
        FunctionName: "js-esm",
        BatchSize: 100,
        MaximumBatchingWindowInSeconds: 5,
      }),
    );
    assert.equal(made.$metadata.httpStatusCode, 202);
    assert.equal(made.State, "Creating");
    assert.equal(made.BatchSize, 100);
    assert.ok(made.LastModified instanceof Date);
    let state = "";
    for (let i = 0; i < 50 && state !== "Enabled"; i++) {
      await sleep(100);
      state = (await lam.send(new L.GetEventSourceMappingCommand({ UUID: made.UUID }))).State;
    }
    assert.equal(state, "Enabled");
    await assert.rejects(
      lam.send(new L.CreateEventSourceMappingCommand({ EventSourceArn: arns[0], FunctionName: "js-esm" })),
      (e) => e instanceof L.ResourceConflictException && e.message.includes(made.UUID),
    );
    await assert.rejects(
      lam.send(
        new L.CreateEventSourceMappingCommand({ EventSourceArn: arns[1], FunctionName: "js-esm", BatchSize: 50 }),
      ),
      (e) => e instanceof L.InvalidParameterValueException && /batch window/.test(e.message),
    );
    for (const arn of arns.slice(1))
      await lam.send(
        new L.CreateEventSourceMappingCommand({ EventSourceArn: arn, FunctionName: "js-esm", Enabled: false }),
      );
    const seen = [];
    let Marker;
    do {
      const page = await lam.send(
        new L.ListEventSourceMappingsCommand({ FunctionName: "js-esm", MaxItems: 2, Marker }),
      );
      seen.push(...page.EventSourceMappings.map((m) => m.EventSourceArn));
      Marker = page.NextMarker;
    } while (Marker);
    assert.deepEqual(seen.sort(), [...arns].sort());
    const off = await lam.send(new L.UpdateEventSourceMappingCommand({ UUID: made.UUID, Enabled: false }));
    assert.equal(off.State, "Disabling");
    const gone = await lam.send(new L.DeleteEventSourceMappingCommand({ UUID: made.UUID }));
    assert.equal(gone.State, "Deleting");
    await sleep(500);
    await assert.rejects(
      lam.send(new L.GetEventSourceMappingCommand({ UUID: made.UUID })),
      (e) => e instanceof L.ResourceNotFoundException && e.$metadata.httpStatusCode === 404,
    );
  } finally {
    await emu.stop();
  }
});
