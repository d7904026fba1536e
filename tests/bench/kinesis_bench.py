#!/usr/bin/python3
"""kinesis_bench.py — Kinesis PutRecords on `airgap emulator` beside moto's
server in the same run.

Measures records written per second: CLIENTS processes each send PutRecords
of BATCH records (RECORD_BYTES of data, distinct partition keys, so every
shard of a SHARDS-shard stream takes writes) over one keep-alive HTTP/1.1
connection, for SECONDS_PER_RUN seconds. Every answer's status is checked and
the first answer of each client is parsed (FailedRecordCount must be 0). The
request body is built once per client, so the client costs little CPU beside
the server under test. The servers take turns for ROUNDS rounds; a server's
figure is its median round (all rounds are printed), so load from elsewhere
on the machine does not land on one column only.

Knobs: SECONDS_PER_RUN (3), ROUNDS (3), CLIENTS (4), BATCH (500),
RECORD_BYTES (100), SHARDS (4). moto runs when `python3 -m moto.server` works
($MOTO_PYTHON or the python3 first on PATH; Debian has no python3-moto, the
pyenv python may have it); when it does not, its column says so. Not a test:
run it by hand on an optimised (non-sanitizer) build:

  AIRGAP_BIN=build/rel/cli/airgap /usr/bin/python3 tests/bench/kinesis_bench.py

Target (issue 17): >= 30x moto.
"""
import base64
import http.client
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import time

AIRGAP = os.environ.get("AIRGAP_BIN", "airgap")
SECONDS = float(os.environ.get("SECONDS_PER_RUN", "3"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
CLIENTS = int(os.environ.get("CLIENTS", "4"))
BATCH = int(os.environ.get("BATCH", "500"))
RECORD_BYTES = int(os.environ.get("RECORD_BYTES", "100"))
SHARDS = int(os.environ.get("SHARDS", "4"))
STREAM = "bench"
AUTH = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, "
        "SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + "0" * 64)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def call(conn, operation, body):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.request("POST", "/", data, {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "Kinesis_20131202." + operation,
        "X-Amz-Date": "20260101T000000Z", "Authorization": AUTH})
    resp = conn.getresponse()
    payload = resp.read()
    if resp.status != 200:
        raise RuntimeError("%s answered %d: %r" % (operation, resp.status, payload[:300]))
    return payload


def client(port, worker, seconds, out):
    data = base64.b64encode(b"x" * RECORD_BYTES).decode()
    body = json.dumps({"StreamName": STREAM, "Records": [
        {"Data": data, "PartitionKey": "w%d-k%d" % (worker, i)} for i in range(BATCH)]}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    first = json.loads(call(conn, "PutRecords", body))
    if first.get("FailedRecordCount", 0) != 0 or len(first["Records"]) != BATCH:
        raise RuntimeError("PutRecords failed records: %r" % first.get("FailedRecordCount"))
    calls = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        call(conn, "PutRecords", body)
        calls += 1
    conn.close()
    out.put(calls * BATCH)


def ready(port, method, path):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request(method, path)
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def start(argv, port, method, path, env):
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    begin = time.monotonic()
    while not ready(port, method, path):
        if proc.poll() is not None or time.monotonic() - begin > 60:
            stop(proc)
            raise RuntimeError("%s did not start" % argv[0])
        time.sleep(0.05)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    call(conn, "CreateStream", {"StreamName": STREAM, "ShardCount": SHARDS})
    for _ in range(100):
        desc = json.loads(call(conn, "DescribeStreamSummary", {"StreamName": STREAM}))
        if desc["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
            break
        time.sleep(0.1)
    conn.close()
    return proc


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cpu_seconds(pid):
    """User plus system CPU time of a process (and its threads) so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def round_of(port, pid):
    """(records/s, server CPU ms per 1000 records) of one round."""
    cpu0 = cpu_seconds(pid)
    q = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=client, args=(port, i, SECONDS, q))
               for i in range(CLIENTS)]
    for w in workers:
        w.start()
    total = sum(q.get(timeout=SECONDS + 120) for _ in workers)
    for w in workers:
        w.join()
    return total / SECONDS, (cpu_seconds(pid) - cpu0) * 1e6 / max(total, 1)


def moto_python():
    candidate = os.environ.get("MOTO_PYTHON") or shutil.which("python3")
    if not candidate:
        return None
    ok = subprocess.run([candidate, "-c", "import moto.server"], capture_output=True)
    return candidate if ok.returncode == 0 else None


def main():
    servers = {}
    env = dict(os.environ, KINESIS_LATENCY="0")
    for name in ("GATEWAY_LISTEN", "SERVICES"):
        env.pop(name, None)
    port = free_port()
    servers["airgap"] = (port, start([AIRGAP, "emulator", "--listen", "127.0.0.1:%d" % port],
                                     port, "GET", "/_localstack/health", env))
    py = moto_python()
    if py:
        port = free_port()
        servers["moto"] = (port, start([py, "-m", "moto.server", "-p", str(port)], port, "POST",
                                       "/moto-api/reset", None))
    rounds = {name: [] for name in servers}
    try:
        for _ in range(ROUNDS):
            for name, (port, proc) in servers.items():
                rounds[name].append(round_of(port, proc.pid))
    finally:
        for _, proc in servers.values():
            stop(proc)
    median = {n: sorted(r)[len(r) // 2] for n, r in rounds.items()}
    print("Kinesis PutRecords: %d clients, %d records of %d bytes per call, %d shards, "
          "%.0f s x %d rounds" % (CLIENTS, BATCH, RECORD_BYTES, SHARDS, SECONDS, ROUNDS))
    print("%-30s %16s %16s" % ("", "airgap", "moto"))

    def col(name, i, fmt):
        return fmt % median[name][i] if name in median else "unavailable"
    print("%-30s %16s %16s" % ("records/s (median round)", col("airgap", 0, "%.0f"),
                               col("moto", 0, "%.0f")))
    print("%-30s %16s %16s" % ("server CPU ms per 1000 records", col("airgap", 1, "%.1f"),
                               col("moto", 1, "%.1f")))
    print("%-30s %16s %16s" % ("rounds (records/s)",
                               " ".join("%.0f" % r[0] for r in rounds["airgap"]),
                               " ".join("%.0f" % r[0] for r in rounds.get("moto", []))))
    if "moto" in median:
        print("ratio airgap/moto: %.1fx records/s, %.1fx less server CPU per record"
              % (median["airgap"][0] / max(median["moto"][0], 1e-9),
                 median["moto"][1] / max(median["airgap"][1], 1e-9)))
    else:
        print("moto: unavailable (no `python3 -m moto.server`; set MOTO_PYTHON); "
              "airgap figures only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
