// e2e_lambda_js.mjs — Lambda through the AWS SDK for JavaScript v3
// (@aws-sdk/client-lambda under tests/js) against the real `airgap emulator`:
// create, the waiter, invoke a provided.al2023-style function (shell
// bootstrap) in a real container, a function error, update then invoke the
// new code, versions and aliases, errors, delete. Exits 77 (skipped) when the
// SDK is not installed; the invoke part needs Docker and the test images.
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
const { startEmulator } = await import(`${source}/tests/js/emulator.mjs`);

let docker = true;
try {
  execFileSync("docker", ["info"], { stdio: "ignore" });
  execFileSync(`${source}/tests/images/build`, ["busybox", "lambda-provided"], { stdio: "ignore" });
} catch {
  docker = false;
}

// A zip holding an executable bootstrap, made by Python's zipfile (Node has no zip writer).
function bootstrapZip(reply) {
  const script = `#!/bin/sh
api="http://\${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  wget -q -S -O /tmp/event "$api/invocation/next" 2>/tmp/headers || exit 0
  id=$(sed -n 's/^ *Lambda-Runtime-Aws-Request-Id: *\\([^ ]*\\).*/\\1/p' /tmp/headers | tr -d '\\r')
  case "$(cat /tmp/event)" in
    *fail*) wget -q -O /dev/null --post-data='{"errorMessage":"no","errorType":"JsTestError"}' "$api/invocation/$id/error" ;;
    *) wget -q -O /dev/null --post-data='{"reply":"${reply}"}' "$api/invocation/$id/response" ;;
  esac
done
`;
  const py = `import io, sys, zipfile, base64
b = io.BytesIO()
with zipfile.ZipFile(b, "w") as z:
    i = zipfile.ZipInfo("bootstrap"); i.create_system = 3; i.external_attr = 0o100755 << 16
    z.writestr(i, sys.stdin.read())
sys.stdout.write(base64.b64encode(b.getvalue()).decode())`;
  return Buffer.from(execFileSync("/usr/bin/python3", ["-c", py], { input: script }).toString(), "base64");
}

test("Lambda through the JS SDK v3", async () => {
  process.env.LAMBDA_RUNTIME_IMAGE_MAPPING = JSON.stringify({ "provided.al2023": "airgap-test/lambda-provided" });
  const emu = await startEmulator();
  try {
    const lam = new L.LambdaClient({
      endpoint: emu.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1,
    });
    const created = await lam.send(new L.CreateFunctionCommand({
      FunctionName: "js-fn", Runtime: "provided.al2023", Handler: "fn.handler",
      Role: "arn:aws:iam::000000000000:role/r", Code: { ZipFile: bootstrapZip("one") },
    }));
    assert.equal(created.State, "Pending");
    await L.waitUntilFunctionActiveV2({ client: lam, maxWaitTime: 30, minDelay: 1 }, { FunctionName: "js-fn" });
    await assert.rejects(
      lam.send(new L.CreateFunctionCommand({
        FunctionName: "js-fn", Runtime: "provided.al2023", Handler: "h",
        Role: "arn:aws:iam::000000000000:role/r", Code: { ZipFile: bootstrapZip("x") },
      })),
      (e) => e.name === "ResourceConflictException" && e.$metadata.httpStatusCode === 409);
    await assert.rejects(lam.send(new L.GetFunctionCommand({ FunctionName: "nope" })),
      (e) => e.name === "ResourceNotFoundException");
    const v1 = await lam.send(new L.PublishVersionCommand({ FunctionName: "js-fn" }));
    assert.equal(v1.Version, "1");
    await lam.send(new L.CreateAliasCommand({ FunctionName: "js-fn", Name: "live", FunctionVersion: "1" }));
    if (docker) {
      const dec = (r) => JSON.parse(Buffer.from(r.Payload).toString());
      let r = await lam.send(new L.InvokeCommand({ FunctionName: "js-fn", Payload: Buffer.from("{}") }));
      assert.equal(r.StatusCode, 200);
      assert.deepEqual(dec(r), { reply: "one" });
      r = await lam.send(new L.InvokeCommand({ FunctionName: "js-fn", Payload: Buffer.from('{"x":"fail"}') }));
      assert.equal(r.FunctionError, "Unhandled");
      assert.equal(dec(r).errorType, "JsTestError");
      await lam.send(new L.UpdateFunctionCodeCommand({ FunctionName: "js-fn", ZipFile: bootstrapZip("two") }));
      await L.waitUntilFunctionUpdatedV2({ client: lam, maxWaitTime: 30, minDelay: 1 }, { FunctionName: "js-fn" });
      r = await lam.send(new L.InvokeCommand({ FunctionName: "js-fn", Payload: Buffer.from("{}") }));
      assert.deepEqual(dec(r), { reply: "two" });
      r = await lam.send(new L.InvokeCommand({ FunctionName: "js-fn", Qualifier: "live", Payload: Buffer.from("{}") }));
      assert.deepEqual(dec(r), { reply: "one" });
      assert.equal(r.ExecutedVersion, "1");
    }
    await lam.send(new L.DeleteFunctionCommand({ FunctionName: "js-fn" }));
    const list = await lam.send(new L.ListFunctionsCommand({}));
    assert.equal(list.Functions.length, 0);
  } finally {
    await emu.stop();
  }
  if (docker) {
    // This test's function containers (other tests may run functions meanwhile).
    const ids = execFileSync("docker", ["ps", "-aq", "--filter", "label=airgap.lambda"]).toString().split(/\s+/).filter(Boolean);
    const mine = ids.filter((id) => {
      try {
        return execFileSync("docker", ["inspect", "-f", "{{ .Config.Env }}", id]).toString().includes("AWS_LAMBDA_FUNCTION_NAME=js-fn");
      } catch {
        return false; // removed meanwhile
      }
    });
    assert.deepEqual(mine, [], "no function container may remain");
  }
});
