// e2e_lambda_core_js.mjs — the rest of Lambda's function life through the AWS
// SDK for JavaScript v3 against the real `airgap emulator`: code from S3,
// LoggingConfig (which Debian's boto3 cannot send), event invoke
// configurations with their validation, InvokeWithResponseStream's event
// stream (PayloadChunk, InvokeComplete) and the invocation's lines in
// CloudWatch Logs. Exits 77 (skipped) when the SDK is not installed; the
// invoke part needs Docker and the test images.
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
const S3 = require("@aws-sdk/client-s3");
const CWL = require("@aws-sdk/client-cloudwatch-logs");
const { startEmulator } = await import(`${source}/tests/js/emulator.mjs`);

let docker = true;
try {
  execFileSync("docker", ["info"], { stdio: "ignore" });
  execFileSync(`${source}/tests/images/build`, ["busybox", "python", "lambda-python"], { stdio: "ignore" });
} catch {
  docker = false;
}

// app.py in a zip, made by Python's zipfile (Node has no zip writer).
function pythonZip(code) {
  const py = `import io, sys, zipfile, base64
b = io.BytesIO()
with zipfile.ZipFile(b, "w") as z:
    z.writestr("app.py", sys.stdin.read())
sys.stdout.write(base64.b64encode(b.getvalue()).decode())`;
  return Buffer.from(execFileSync("/usr/bin/python3", ["-c", py], { input: code }).toString(), "base64");
}

const APP = `
def handler(event, context):
    if event.get("kind") == "fail":
        raise RuntimeError("js asked to fail")
    print("js says " + str(event.get("n")), flush=True)
    return {"got": event}
`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("Lambda's function life through the JS SDK v3", async () => {
  process.env.LAMBDA_RUNTIME_IMAGE_MAPPING = JSON.stringify({ "python3.12": "airgap-test/lambda-python" });
  const emu = await startEmulator();
  const opts = {
    endpoint: emu.endpoint, region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" }, maxAttempts: 1,
  };
  try {
    const lam = new L.LambdaClient(opts);
    const s3 = new S3.S3Client({ ...opts, forcePathStyle: true });
    const logs = new CWL.CloudWatchLogsClient(opts);
    await s3.send(new S3.CreateBucketCommand({ Bucket: "js-code" }));
    await s3.send(new S3.PutObjectCommand({ Bucket: "js-code", Key: "app.zip", Body: pythonZip(APP) }));
    await assert.rejects(
      lam.send(new L.CreateFunctionCommand({
        FunctionName: "js-core", Runtime: "python3.12", Handler: "app.handler", Role: "arn:aws:iam::000000000000:role/r",
        Code: { S3Bucket: "js-code", S3Key: "nope.zip" },
      })),
      (e) => e.name === "InvalidParameterValueException" && /S3 Error Code: NoSuchKey/.test(e.message));
    const created = await lam.send(new L.CreateFunctionCommand({
      FunctionName: "js-core", Runtime: "python3.12", Handler: "app.handler", Role: "arn:aws:iam::000000000000:role/r",
      Code: { S3Bucket: "js-code", S3Key: "app.zip" }, Timeout: 20,
      LoggingConfig: { LogFormat: "JSON", ApplicationLogLevel: "DEBUG" },
    }));
    assert.deepEqual(created.LoggingConfig,
      { LogFormat: "JSON", ApplicationLogLevel: "DEBUG", SystemLogLevel: "INFO", LogGroup: "/aws/lambda/js-core" });
    await L.waitUntilFunctionActiveV2({ client: lam, maxWaitTime: 60, minDelay: 1 }, { FunctionName: "js-core" });

    await assert.rejects(
      lam.send(new L.PutFunctionEventInvokeConfigCommand({ FunctionName: "js-core", MaximumRetryAttempts: 5 })),
      (e) => e.name === "ValidationException" && e.$metadata.httpStatusCode === 400);
    const eic = await lam.send(new L.PutFunctionEventInvokeConfigCommand({
      FunctionName: "js-core", MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 120,
    }));
    assert.equal(eic.MaximumRetryAttempts, 0);
    assert.ok(eic.LastModified instanceof Date);
    const listed = await lam.send(new L.ListFunctionEventInvokeConfigsCommand({ FunctionName: "js-core" }));
    assert.equal(listed.FunctionEventInvokeConfigs.length, 1);

    if (docker) {
      const r = await lam.send(new L.InvokeWithResponseStreamCommand({
        FunctionName: "js-core", Payload: Buffer.from('{"n": 7}'),
      }));
      assert.equal(r.StatusCode, 200);
      let body = "";
      let complete = null;
      for await (const ev of r.EventStream) {
        if (ev.PayloadChunk) body += Buffer.from(ev.PayloadChunk.Payload).toString();
        if (ev.InvokeComplete) complete = ev.InvokeComplete;
      }
      assert.deepEqual(JSON.parse(body), { got: { n: 7 } });
      assert.ok(complete && !complete.ErrorCode);
      const bad = await lam.send(new L.InvokeWithResponseStreamCommand({
        FunctionName: "js-core", Payload: Buffer.from('{"kind": "fail"}'),
      }));
      const events = [];
      for await (const ev of bad.EventStream) events.push(ev);
      assert.equal(events.length, 1);
      assert.equal(events[0].InvokeComplete.ErrorCode, "RuntimeError");
      assert.equal(events[0].InvokeComplete.ErrorDetails, "js asked to fail");
      // The invocation's lines in CloudWatch Logs (JSON format: platform records).
      let messages = [];
      for (let i = 0; i < 60 && !messages.some((m) => m.includes("platform.report")); i++) {
        await sleep(500);
        try {
          const got = await logs.send(new CWL.FilterLogEventsCommand({ logGroupName: "/aws/lambda/js-core" }));
          messages = got.events.map((e) => e.message);
        } catch {
          messages = [];
        }
      }
      assert.ok(messages.includes("js says 7\n"), JSON.stringify(messages));
      assert.ok(messages.some((m) => JSON.parse(m.startsWith("{") ? m : "{}").type === "platform.start"));
    }
    await lam.send(new L.DeleteFunctionCommand({ FunctionName: "js-core" }));
  } finally {
    await emu.stop();
  }
});
