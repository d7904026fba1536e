// Starts `$AIRGAP_BIN emulator` on a free loopback port for one test and stops
// it with SIGTERM afterwards, failing when it does not exit cleanly (sanitizer
// reports, leaks at shutdown).
import { spawn } from "node:child_process";

export async function startEmulator() {
  const bin = process.env.AIRGAP_BIN;
  if (!bin) throw new Error("AIRGAP_BIN is not set: run through ctest");
  const env = { ...process.env };
  delete env.GATEWAY_LISTEN;
  delete env.SERVICES;
  delete env.LOCALSTACK_HOST;
  const proc = spawn(bin, ["emulator", "--listen", "127.0.0.1:0"], {
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise((resolve, reject) => {
    let out = "";
    let found = null;
    const timer = setTimeout(() => reject(new Error(`emulator not ready: ${out}`)), 20000);
    proc.stdout.on("data", (chunk) => {
      out += chunk.toString();
      const m = out.match(/^Listening on (\d+)$/m);
      if (m) found = Number(m[1]);
      if (found && /^Ready\.$/m.test(out)) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`emulator exited with ${code} before it was ready: ${out}`));
    });
  });
  const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 10000));
      const result = await Promise.race([exited, timeout]);
      if (!result) {
        proc.kill("SIGKILL");
        throw new Error("emulator did not stop within 10 s of SIGTERM");
      }
      if (result.code !== 0) throw new Error(`emulator exited with ${result.code ?? result.signal}`);
    },
  };
}
