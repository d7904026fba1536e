#!/usr/bin/python3
"""kinesis_bench.py — Kinesis PutRecords on `airgap emulator` beside moto's
server in the same run, with the same clients.

Two load generators, each run against both servers:
  light   CLIENTS processes, each sending one pre-serialised, SigV4-signed
          PutRecords body (BATCH records of RECORD_BYTES, distinct partition
          keys, so every shard of a SHARDS-shard stream takes writes) again
          and again over one keep-alive HTTP/1.1 connection (http.client):
          the client costs little CPU beside the server under test
  boto3   CLIENTS processes calling boto3's put_records with the same
          records: what an application sees, serialising and signing 500
          records per call in Python included
for SECONDS_PER_RUN seconds each, each round into a new stream (moto slows
down as a stream fills; a fresh stream per round keeps the rounds alike).
Every answer's status is checked and the
first answer of each client is parsed (FailedRecordCount must be 0). The
servers take turns for ROUNDS rounds; a server's figure is its median round
(all rounds are printed), so load from elsewhere on the machine does not land
on one column only. Printed per generator: records/s, server CPU and client
CPU per 1,000 records (from /proc and the clients' own process times), the
latency of one PutRecords call (p50/p99/max), and airgap/moto ratios.

Knobs: SECONDS_PER_RUN (3), ROUNDS (3), CLIENTS (4), BATCH (500),
RECORD_BYTES (100), SHARDS (4), BOTO3 (1; 0 skips the boto3 generator).
moto runs when `python3 -m moto.server` works ($MOTO_PYTHON or the python3
first on PATH; Debian has no python3-moto, the pyenv python may have it);
when it does not, its column says so. Not a test: run it by hand on an
optimised (non-sanitizer) build:

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

import botocore.auth
import botocore.awsrequest
import botocore.credentials

AIRGAP = os.environ.get("AIRGAP_BIN", "airgap")
SECONDS = float(os.environ.get("SECONDS_PER_RUN", "3"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
CLIENTS = int(os.environ.get("CLIENTS", "4"))
BATCH = int(os.environ.get("BATCH", "500"))
RECORD_BYTES = int(os.environ.get("RECORD_BYTES", "100"))
SHARDS = int(os.environ.get("SHARDS", "4"))
BOTO3 = os.environ.get("BOTO3", "1") != "0"
CREDS = botocore.credentials.Credentials("test", "test")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def signed_headers(port, operation, data):
    """Headers of a SigV4-signed Kinesis request carrying data (signed once;
    neither server checks signatures, but the bytes are a real client's)."""
    req = botocore.awsrequest.AWSRequest(
        method="POST", url="http://127.0.0.1:%d/" % port, data=data,
        headers={"Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Target": "Kinesis_20131202." + operation})
    botocore.auth.SigV4Auth(CREDS, "kinesis", "us-east-1").add_auth(req)
    return dict(req.headers.items())


def call(conn, operation, body, headers=None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.request("POST", "/", data, headers or signed_headers(conn.port, operation, data))
    resp = conn.getresponse()
    payload = resp.read()
    if resp.status != 200:
        raise RuntimeError("%s answered %d: %r" % (operation, resp.status, payload[:300]))
    return payload


def light_client(port, stream, worker, seconds, out):
    data = base64.b64encode(b"x" * RECORD_BYTES).decode()
    body = json.dumps({"StreamName": stream, "Records": [
        {"Data": data, "PartitionKey": "w%d-k%d" % (worker, i)} for i in range(BATCH)]}).encode()
    headers = signed_headers(port, "PutRecords", body)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    first = json.loads(call(conn, "PutRecords", body, headers))
    if first.get("FailedRecordCount", 0) != 0 or len(first["Records"]) != BATCH:
        raise RuntimeError("PutRecords failed records: %r" % first.get("FailedRecordCount"))
    cpu0 = time.process_time()
    calls, lat = 0, []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        call(conn, "PutRecords", body, headers)
        lat.append(time.perf_counter() - t0)
        calls += 1
    conn.close()
    out.put((calls * BATCH, time.process_time() - cpu0, lat))


def boto3_client(port, stream, worker, seconds, out):
    import boto3
    import botocore.config
    client = boto3.client("kinesis", endpoint_url="http://127.0.0.1:%d" % port,
                          region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test",
                          config=botocore.config.Config(retries={"max_attempts": 0}))
    records = [{"Data": b"x" * RECORD_BYTES, "PartitionKey": "w%d-k%d" % (worker, i)}
               for i in range(BATCH)]
    first = client.put_records(StreamName=stream, Records=records)
    if first.get("FailedRecordCount", 0) != 0 or len(first["Records"]) != BATCH:
        raise RuntimeError("PutRecords failed records: %r" % first.get("FailedRecordCount"))
    cpu0 = time.process_time()
    calls, lat = 0, []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        client.put_records(StreamName=stream, Records=records)
        lat.append(time.perf_counter() - t0)
        calls += 1
    out.put((calls * BATCH, time.process_time() - cpu0, lat))


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
        if proc.poll() is not None or time.monotonic() - begin > 120:
            stop(proc)
            raise RuntimeError("%s did not start" % argv[0])
        time.sleep(0.05)
    return proc


def create_stream(port, stream):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    call(conn, "CreateStream", {"StreamName": stream, "ShardCount": SHARDS})
    for _ in range(100):
        desc = json.loads(call(conn, "DescribeStreamSummary", {"StreamName": stream}))
        if desc["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
            break
        time.sleep(0.1)
    conn.close()


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


def round_of(target, port, pid, stream):
    """One round into a new stream: (records/s, server CPU ms and client CPU
    ms per 1000 records, call latencies in seconds)."""
    create_stream(port, stream)
    cpu0 = cpu_seconds(pid)
    q = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=target, args=(port, stream, i, SECONDS, q))
               for i in range(CLIENTS)]
    for w in workers:
        w.start()
    got = [q.get(timeout=SECONDS + 300) for _ in workers]
    for w in workers:
        w.join()
    total = max(sum(g[0] for g in got), 1)
    lat = [x for g in got for x in g[2]]
    return (sum(g[0] for g in got) / SECONDS, (cpu_seconds(pid) - cpu0) * 1e6 / total,
            sum(g[1] for g in got) * 1e6 / total, lat)


def moto_python():
    candidate = os.environ.get("MOTO_PYTHON") or shutil.which("python3")
    if not candidate:
        return None
    try:
        ok = subprocess.run([candidate, "-c", "import moto.server"], capture_output=True)
    except OSError:
        return None
    return candidate if ok.returncode == 0 else None


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * q))] * 1000 if v else float("nan")


def report(title, rounds):
    names = list(rounds)
    median = {n: sorted(r, key=lambda x: x[0])[len(r) // 2] for n, r in rounds.items()}
    lat = {n: [x for r in rounds[n] for x in r[3]] for n in names}
    print(title)
    print("%-34s %14s %14s %12s" % ("", "airgap", "moto", "airgap/moto"))

    def row(label, fn, fmt, better_high):
        vals = {n: fn(n) for n in names}
        cells = [fmt % vals[n] if n in vals else "unavailable" for n in ("airgap", "moto")]
        ratio = ""
        if "moto" in vals and vals["airgap"] and vals["moto"]:
            r = vals["airgap"] / vals["moto"] if better_high else vals["moto"] / vals["airgap"]
            ratio = "%.1fx" % r
        print("%-34s %14s %14s %12s" % (label, cells[0], cells[1], ratio))
    row("records/s (median round)", lambda n: median[n][0], "%.0f", True)
    row("server CPU ms / 1000 records", lambda n: median[n][1], "%.1f", False)
    row("client CPU ms / 1000 records", lambda n: median[n][2], "%.1f", False)
    row("PutRecords p50 ms", lambda n: pct(lat[n], 0.5), "%.2f", False)
    row("PutRecords p99 ms", lambda n: pct(lat[n], 0.99), "%.2f", False)
    row("PutRecords max ms", lambda n: pct(lat[n], 1.0), "%.2f", False)
    print("%-34s %14s %14s" % ("rounds (records/s)",
                               " ".join("%.0f" % r[0] for r in rounds["airgap"]),
                               " ".join("%.0f" % r[0] for r in rounds.get("moto", []))))


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
    generators = [("light", light_client)] + ([("boto3", boto3_client)] if BOTO3 else [])
    rounds = {g: {name: [] for name in servers} for g, _ in generators}
    try:
        for r in range(ROUNDS):
            for g, target in generators:
                for name, (port, proc) in servers.items():
                    rounds[g][name].append(round_of(target, port, proc.pid,
                                                    "bench-%s-%d" % (g, r)))
    finally:
        for _, proc in servers.values():
            stop(proc)
    print("Kinesis PutRecords: %d clients, %d records of %d bytes per call, %d shards, "
          "%.0f s x %d rounds per generator and server"
          % (CLIENTS, BATCH, RECORD_BYTES, SHARDS, SECONDS, ROUNDS))
    report("light client (pre-serialised, signed once, http.client keep-alive):", rounds["light"])
    if BOTO3:
        report("boto3 client (put_records, serialising and signing every call):",
               rounds["boto3"])
    if "moto" not in servers:
        print("moto: unavailable (no `python3 -m moto.server`; set MOTO_PYTHON); "
              "airgap figures only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
