#!/usr/bin/python3
"""Lambda's costs, beside the container engine's own in the same run:

  cold    CreateFunction → first Invoke answered, next to
          `docker run --rm IMAGE true` (the floor: a container start)
  warm    sequential invokes of an echo function through boto3 (p50, p99),
          beside the emulator's own share of them measured inside it (from
          the call to the hand-off to the runtime, plus from the runtime's
          answer to the reply: GET /_aws/lambda/timings), then over one
          kept-alive HTTP connection without boto3, with the emulator's own
          CPU time per invoke (its share, load-independent)
  8x      eight concurrent invokers (one warm environment each; p50, p99,
          invokes per second)
  idle    `airgap emulator` start to Ready. and its RSS, Lambda served but
          unused (nothing of it runs before the first Invoke)

    AIRGAP_BIN=build/rel/cli/airgap /usr/bin/python3 tests/bench/lambda_bench.py [WARM_CALLS]

Needs Docker and the test images (tests/images/build lambda-python). Use a
release build: a sanitizer build measures the sanitizer.
"""
import concurrent.futures
import http.client
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "emulator",
                                "lambda"))
from lambda_support import MAPPING, ROLE, Emulator, client, make_zip  # noqa: E402

IMAGE = "airgap-test/lambda-python"
ECHO = make_zip({"app.py": "def handler(event, context):\n    return event\n"})


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def cpu_seconds(pid):
    """User and system CPU time of a process and its threads."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timings(port, method):
    """The emulator's own share of the invokes since the last DELETE
    (GET /_aws/lambda/timings, measured inside it)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, "/_aws/lambda/timings")
    body = conn.getresponse().read()
    conn.close()
    return json.loads(body)


def ms(seconds):
    return "%.2f ms" % (seconds * 1000)


def docker_floor(runs=3):
    times = []
    for _ in range(runs):
        t = time.monotonic()
        subprocess.run(["docker", "run", "--rm", "--entrypoint", "true", IMAGE], check=True,
                       capture_output=True)
        times.append(time.monotonic() - t)
    return statistics.median(times)


def idle():
    starts, rss = [], []
    for _ in range(5):
        t = time.monotonic()
        emu = Emulator()
        starts.append(time.monotonic() - t)
        with open("/proc/%d/status" % emu.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss.append(int(line.split()[1]) / 1024)
        emu.stop()
    return statistics.median(starts), statistics.median(rss)


def main():
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    start, rss = idle()
    print("idle: start to Ready. %s, RSS %.1f MiB (median of 5)" % (ms(start), rss))
    floor = docker_floor()
    # Eight containers starting at once queue in the engine: give them time.
    emu = Emulator(extra_env={"LAMBDA_RUNTIME_IMAGE_MAPPING": MAPPING,
                              "AIRGAP_LAMBDA_SANDBOX_NETWORK": "none",
                              "LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT": "180"})
    try:
        lam = client(emu.endpoint)
        colds = []
        for i in range(3):
            t = time.monotonic()
            lam.create_function(FunctionName="cold%d" % i, Runtime="python3.12", Role=ROLE,
                                Handler="app.handler", Code={"ZipFile": ECHO})
            lam.invoke(FunctionName="cold%d" % i, Payload=b"{}")
            colds.append(time.monotonic() - t)
        cold = statistics.median(colds)
        print("cold: CreateFunction + first Invoke %s; docker run --rm %s true %s "
              "(difference %s)" % (ms(cold), IMAGE, ms(floor), ms(cold - floor)))
        lam.create_function(FunctionName="echo", Runtime="python3.12", Role=ROLE,
                            Handler="app.handler", Code={"ZipFile": ECHO})
        lam.invoke(FunctionName="echo", Payload=b"{}")
        timings(emu.port, "DELETE")
        warm = []
        for _ in range(calls):
            t = time.monotonic()
            lam.invoke(FunctionName="echo", Payload=b'{"a":1}')["Payload"].read()
            warm.append(time.monotonic() - t)
        got = timings(emu.port, "GET")
        own, to_runtime = got["own_us"], got["to_runtime_us"]
        print("warm: %d invokes, p50 %s, p99 %s; the emulator's own share (server-side, "
              "call to hand-off + runtime's answer to reply): p50 %.3f ms, p99 %.3f ms "
              "(call to hand-off alone: p50 %.3f ms)"
              % (calls, ms(pct(warm, 50)), ms(pct(warm, 99)), own["p50"] / 1000,
                 own["p99"] / 1000, to_runtime["p50"] / 1000))
        # The same without boto3 (one kept-alive HTTP connection), and the
        # emulator's own CPU per invoke (its share, whatever the machine's load).
        conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=60)
        raw = []
        cpu0 = cpu_seconds(emu.proc.pid)
        for _ in range(calls):
            t = time.monotonic()
            conn.request("POST", "/2015-03-31/functions/echo/invocations", body=b'{"a":1}',
                         headers={"Content-Type": "application/json"})
            conn.getresponse().read()
            raw.append(time.monotonic() - t)
        cpu = (cpu_seconds(emu.proc.pid) - cpu0) / calls
        conn.close()
        print("warm, raw HTTP: %d invokes, p50 %s, p99 %s; emulator CPU %s per invoke" %
              (calls, ms(pct(raw, 50)), ms(pct(raw, 99)), ms(cpu)))

        clients = [client(emu.endpoint, read_timeout=300) for _ in range(8)]
        per = max(10, calls // 8)

        def worker(c):
            out = []
            for _ in range(per):
                t = time.monotonic()
                c.invoke(FunctionName="echo", Payload=b"{}")["Payload"].read()
                out.append(time.monotonic() - t)
            return out

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(worker, clients))  # warm-up: up to 8 environments start
            t = time.monotonic()
            lat = [x for r in pool.map(worker, clients) for x in r]
            wall = time.monotonic() - t
        print("8 concurrent invokers: %d invokes, p50 %s, p99 %s, %.0f invokes/s" %
              (len(lat), ms(pct(lat, 50)), ms(pct(lat, 99)), len(lat) / wall))
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
