// e2e_sts_js.mjs — STS and the gateway's error shapes through the AWS SDK for
// JavaScript v3 (the modules installed under tests/js), against the real
// `airgap emulator`. Exits 77 (skipped) when the SDK is not installed.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import assert from "node:assert/strict";

const source = process.env.AIRGAP_SOURCE_DIR;
const pkg = `${source}/tests/js/package.json`;
if (!existsSync(`${source}/tests/js/node_modules/@aws-sdk/client-sts`)) {
  console.log("skipped: @aws-sdk/client-sts is not installed under tests/js");
  process.exit(77);
}
const require = createRequire(pkg);
const { STSClient, GetCallerIdentityCommand, AssumeRoleCommand, GetSessionTokenCommand } =
  require("@aws-sdk/client-sts");

async function start(args = []) {
  const proc = spawn(process.env.AIRGAP_BIN, ["emulator", "--listen", "127.0.0.1:0", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`not ready: ${out}`)), 20000);
    proc.stdout.on("data", (chunk) => {
      out += chunk.toString();
      const m = out.match(/^Listening on (\d+)$/m);
      if (m && /^Ready\.$/m.test(out)) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.on("exit", (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
  const exited = new Promise((resolve) => proc.on("exit", (code) => resolve(code)));
  return {
    client: (accessKeyId = "test") =>
      new STSClient({
        endpoint: `http://127.0.0.1:${port}`,
        region: "eu-central-1",
        credentials: { accessKeyId, secretAccessKey: "test" },
        maxAttempts: 1,
      }),
    async stop() {
      proc.kill("SIGTERM");
      assert.equal(await exited, 0, "emulator must exit cleanly");
    },
  };
}

test("STS over the query protocol from the JS SDK", async () => {
  const emu = await start();
  try {
    const sts = emu.client();
    const me = await sts.send(new GetCallerIdentityCommand({}));
    assert.equal(me.Account, "000000000000");
    assert.equal(me.Arn, "arn:aws:iam::000000000000:root");
    assert.equal((await emu.client("444455556666").send(new GetCallerIdentityCommand({}))).Account,
                 "444455556666");
    const role = await sts.send(new AssumeRoleCommand({
      RoleArn: "arn:aws:iam::123456789012:role/app", RoleSessionName: "js-run",
    }));
    assert.equal(role.AssumedRoleUser.Arn, "arn:aws:sts::123456789012:assumed-role/app/js-run");
    assert.ok(role.Credentials.Expiration instanceof Date);
    const left = (role.Credentials.Expiration.getTime() - Date.now()) / 1000;
    assert.ok(left > 3500 && left <= 3605, `expires in ${left} s`);
    const session = await sts.send(new GetSessionTokenCommand({ DurationSeconds: 900 }));
    assert.match(session.Credentials.AccessKeyId, /^ASIA[A-Z2-7]{16}$/);
    await assert.rejects(
      sts.send(new AssumeRoleCommand({
        RoleArn: "arn:aws:iam::123456789012:role/app", RoleSessionName: "js", DurationSeconds: 60,
      })),
      (e) => e.name === "ValidationError" && e.$metadata.httpStatusCode === 400);
  } finally {
    await emu.stop();
  }
});

test("a disabled service answers a clear error", async () => {
  const emu = await start(["--services", "sqs"]);
  try {
    await assert.rejects(emu.client().send(new GetCallerIdentityCommand({})),
                         (e) => /not enabled/.test(e.message) && e.$metadata.httpStatusCode === 501);
  } finally {
    await emu.stop();
  }
});
