// e2e_lambda_stream_js.mjs — InvokeWithResponseStream through the AWS SDK for
// JavaScript v3 against the real `airgap emulator`: a function whose runtime
// streams (the test image's runtime client streams generator handlers) is
// read chunk by chunk, the first PayloadChunk arriving while the function
// still runs, then InvokeComplete; an error mid-stream ends it with
// ErrorCode/ErrorDetails. Exits 77 (skipped) without the SDK, Docker or the
// test images.
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
try {
  execFileSync("docker", ["info"], { stdio: "ignore" });
  execFileSync(`${source}/tests/images/build`, ["busybox", "python", "lambda-python-stream"], { stdio: "ignore" });
} catch {
  console.log("skipped: no Docker engine or test images");
  process.exit(77);
}
const require = createRequire(`${source}/tests/js/package.json`);
const L = require("@aws-sdk/client-lambda");
const { startEmulator } = await import(`${source}/tests/js/emulator.mjs`);

function pythonZip(code) {
  const py = `import io, sys, zipfile, base64
b = io.BytesIO()
with zipfile.ZipFile(b, "w") as z:
    z.writestr("app.py", sys.stdin.read())
sys.stdout.write(base64.b64encode(b.getvalue()).decode())`;
  return Buffer.from(execFileSync("/usr/bin/python3", ["-c", py], { input: code }).toString(), "base64");
}

const APP = `
import time

def stream(event, context):
    yield b"one;"
    time.sleep(event.get("pause", 2))
    yield b"two"
    if event.get("fail"):
        raise KeyError("js broke it")
`;

// [ms since start, event] pairs; a chunk's bytes are copied as it comes (the
// SDK may reuse the buffer they are read into).
async function collect(r, start) {
  const seen = [];
  for await (const ev of r.EventStream) {
    if (ev.PayloadChunk) ev.PayloadChunk.Payload = Buffer.from(ev.PayloadChunk.Payload);
    seen.push([Date.now() - start, ev]);
  }
  return seen;
}

test("InvokeWithResponseStream streams through the JS SDK v3", async () => {
  // An image of its own (tests/images/lambda-python-stream.recipe).
  process.env.LAMBDA_RUNTIME_IMAGE_MAPPING = JSON.stringify({ "python3.12": "airgap-test/lambda-python-stream" });
  const emu = await startEmulator();
  const lam = new L.LambdaClient({
    endpoint: emu.endpoint, region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" }, maxAttempts: 1,
  });
  try {
    await lam.send(new L.CreateFunctionCommand({
      FunctionName: "js-stream", Runtime: "python3.12", Handler: "app.stream", Timeout: 20,
      Role: "arn:aws:iam::000000000000:role/lambda-role", Code: { ZipFile: pythonZip(APP) },
    }));
    const invoke = (event) => lam.send(new L.InvokeWithResponseStreamCommand({
      FunctionName: "js-stream", Payload: Buffer.from(JSON.stringify(event)),
    }));
    await collect(await invoke({ pause: 0 }), Date.now()); // warm: no start in the timing
    const start = Date.now();
    const r = await invoke({ pause: 2 });
    assert.equal(r.StatusCode, 200);
    assert.equal(r.ExecutedVersion, "$LATEST");
    const seen = await collect(r, start);
    const chunks = seen.filter(([, e]) => e.PayloadChunk);
    assert.equal(Buffer.concat(chunks.map(([, e]) => e.PayloadChunk.Payload)).toString(), "one;two");
    const [firstAt] = chunks[0];
    const [endAt, end] = seen[seen.length - 1];
    assert.ok(firstAt + 1000 < endAt, `first chunk at ${firstAt} ms, end at ${endAt} ms`);
    assert.ok(end.InvokeComplete && !end.InvokeComplete.ErrorCode, JSON.stringify(end));
    const bad = await collect(await invoke({ pause: 0, fail: true }), Date.now());
    const done = bad[bad.length - 1][1].InvokeComplete;
    assert.equal(done.ErrorCode, "KeyError");
    assert.equal(done.ErrorDetails, "'js broke it'");
    assert.equal(bad.filter(([, e]) => e.PayloadChunk).length, 2);
  } finally {
    lam.destroy();
    await emu.stop();
  }
});
