#!/usr/bin/python3
"""emulator_bench.py — `airgap emulator` side by side with moto's server.

Measures, for each emulator in the same run and with the same client load:
  start   time from process start to the first 200 on its readiness endpoint
          (airgap: GET /_localstack/health; moto: POST /moto-api/reset),
          the median of STARTS (7) cold starts
  rss     resident memory after start, idle (and its private, anonymous part:
          the rest is shared library text, shared with every other process)
  sqs     SendMessage+ReceiveMessage pairs per second over the query protocol,
          from CLIENTS processes with keep-alive connections for SECONDS each

moto is the peer when `python3 -m moto.server` works with the python3 first
on PATH (or $MOTO_PYTHON); otherwise its column says so and the run still
succeeds. Not a test: run it by hand on an optimised (non-sanitizer) build.

  AIRGAP_BIN=build/release/cli/airgap /usr/bin/python3 tests/bench/emulator_bench.py
Targets (issue 3): start <= 10 ms, idle RSS <= 8 MiB, throughput >= 20x moto.
"""
import http.client
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse

AIRGAP = os.environ.get("AIRGAP_BIN", "airgap")
CLIENTS = int(os.environ.get("CLIENTS", "2"))
SECONDS = float(os.environ.get("SECONDS_PER_RUN", "3"))
STARTS = int(os.environ.get("STARTS", "7"))
AUTH = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, "
        "SignedHeaders=host, Signature=00")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ready(port, method, path):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request(method, path, body=b"" if method == "POST" else None)
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


def rss_kib(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def sqs_call(conn, path, params):
    body = urllib.parse.urlencode(params)
    conn.request("POST", path, body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Authorization": AUTH})
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError("%s: %d %s" % (params["Action"], resp.status, data[:200]))
    return data


def client(port, path, seconds, out):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    pairs = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sqs_call(conn, path, {"Action": "SendMessage", "MessageBody": "hello %d" % pairs,
                              "Version": "2012-11-05"})
        sqs_call(conn, path, {"Action": "ReceiveMessage", "MaxNumberOfMessages": "1",
                              "Version": "2012-11-05"})
        pairs += 1
    out.put(pairs)


def start(argv, port, ready_method, ready_path, env=None):
    """Starts argv; returns (milliseconds to its first 200, the process)."""
    begin = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env)
    while not ready(port, ready_method, ready_path):
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %d" % (argv[0], proc.returncode))
        if time.perf_counter() - begin > 30:
            stop(proc)
            raise RuntimeError("%s not ready after 30 s" % argv[0])
        time.sleep(0.0005)
    return (time.perf_counter() - begin) * 1000, proc


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def measure(argv_for_port, ready_method, ready_path, env=None):
    # The start time is the median of STARTS cold starts: one start on a
    # shared 2-core machine is at the mercy of the scheduler.
    times = []
    for _ in range(STARTS - 1):
        port = free_port()
        ms, proc = start(argv_for_port(port), port, ready_method, ready_path, env)
        stop(proc)
        times.append(ms)
    port = free_port()
    ms, proc = start(argv_for_port(port), port, ready_method, ready_path, env)
    times.append(ms)
    start_ms = sorted(times)[len(times) // 2]
    try:
        time.sleep(0.5)
        rss = rss_kib(proc.pid)
        anon = rss_kib(proc.pid, "RssAnon")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        body = sqs_call(conn, "/", {"Action": "CreateQueue", "QueueName": "bench",
                                    "Version": "2012-11-05"})
        url = re.search(rb"<QueueUrl>([^<]+)</QueueUrl>", body).group(1).decode()
        path = urllib.parse.urlparse(url).path
        conn.close()
        q = multiprocessing.Queue()
        workers = [multiprocessing.Process(target=client, args=(port, path, SECONDS, q))
                   for _ in range(CLIENTS)]
        for w in workers:
            w.start()
        pairs = sum(q.get(timeout=SECONDS + 60) for _ in workers)
        for w in workers:
            w.join()
        return start_ms, rss, pairs / SECONDS, anon
    finally:
        stop(proc)


def moto_python():
    candidate = os.environ.get("MOTO_PYTHON") or shutil.which("python3")
    if not candidate:
        return None
    ok = subprocess.run([candidate, "-c", "import moto.server"], capture_output=True)
    return candidate if ok.returncode == 0 else None


def main():
    results = {}
    results["airgap"] = measure(lambda port: [AIRGAP, "emulator", "--listen",
                                              "127.0.0.1:%d" % port],
                                "GET", "/_localstack/health")
    py = moto_python()
    if py:
        results["moto"] = measure(lambda port: [py, "-m", "moto.server", "-p", str(port)],
                                  "POST", "/moto-api/reset")
    print("%-26s %14s %14s" % ("", "airgap", "moto"))
    rows = [("start to first 200 (ms)", 0, "%.1f"), ("idle RSS (MiB)", 1, "%.1f"),
            ("  of which private (MiB)", 3, "%.1f"), ("SQS send+receive pairs/s", 2, "%.0f")]
    for label, i, fmt in rows:
        scale = 1024 if i in (1, 3) else 1
        a = results["airgap"][i] / scale
        m = results.get("moto")
        mcol = fmt % (m[i] / scale) if m else "unavailable"
        print("%-26s %14s %14s" % (label, fmt % a, mcol))
    if "moto" in results:
        print("throughput ratio airgap/moto: %.1fx (client: %d processes, %.0f s each; "
              "start: median of %d)" % (results["airgap"][2] / max(results["moto"][2], 1e-9),
                                        CLIENTS, SECONDS, STARTS))
    else:
        print("moto: unavailable (no `python3 -m moto.server`; set MOTO_PYTHON); "
              "airgap figures only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
