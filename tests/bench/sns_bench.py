#!/usr/bin/python3
"""sns_bench.py — SNS Publish → SQS on `airgap emulator` beside moto (server
mode), measured in the same run with the same client.

Per server: a standard topic with one SQS subscription (raw delivery), then
  delivered/s   PUBLISHES messages published by CLIENTS processes as fast as
                they go, divided by the time from the first Publish until the
                queue holds them all (GetQueueAttributes polled); so it counts
                deliveries, not accepted Publish calls
  publish/s     the same run's Publish calls per second
  p50 / p99     publish-to-receive latency: a ReceiveMessage long poll is
                waiting when the Publish is sent; the time from sending the
                Publish until the long poll returns the message (SAMPLES runs)

The client is plain http.client with keep-alive and hand-made query-protocol
forms (neither server checks signatures), the same for both servers, so that
a heavy SDK does not cap the faster server. Knobs: PUBLISHES (4000),
PEER_PUBLISHES (400, moto's rounds), CLIENTS (4), SAMPLES (200), ROUNDS (3; a
server's figure is its median round).

moto runs when `python3 -m moto.server` works ($MOTO_PYTHON or the python3
first on PATH); otherwise its column says so and the run still succeeds. Not
a test: run it by hand on an optimised (non-sanitizer) build:

  AIRGAP_BIN=build/rel/cli/airgap /usr/bin/python3 tests/bench/sns_bench.py

Target (issue 17): >= 30x moto's delivered/s; publish-to-queue p50 <= 1 ms.
"""
import http.client
import multiprocessing
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

AIRGAP = os.environ.get("AIRGAP_BIN", "build/rel/cli/airgap")
PUBLISHES = int(os.environ.get("PUBLISHES", "4000"))
# moto delivers a few dozen messages a second: its rounds publish fewer, so
# that a run takes minutes, not an hour (a rate does not depend on the count).
PEER_PUBLISHES = int(os.environ.get("PEER_PUBLISHES", "400"))
CLIENTS = int(os.environ.get("CLIENTS", "4"))
SAMPLES = int(os.environ.get("SAMPLES", "200"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
AUTH = ("AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/%s/aws4_request, "
        "SignedHeaders=host, Signature=0")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Conn:
    """A keep-alive connection sending query-protocol forms."""

    def __init__(self, port):
        self.port = port
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, service, params):
        body = urllib.parse.urlencode(params)
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "Authorization": AUTH % service}
        for attempt in range(2):
            try:
                self.c.request("POST", "/", body, headers)
                r = self.c.getresponse()
                data = r.read().decode()
                if r.status != 200:
                    raise RuntimeError("%s %s: %d %s" % (service, params.get("Action"),
                                                         r.status, data[:300]))
                return data
            except (http.client.HTTPException, ConnectionError):
                self.c.close()
                self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        return ""


def tag(xml, name):
    m = re.search(r"<%s>(.*?)</%s>" % (name, name), xml, re.S)
    return m.group(1) if m else None


class Server:
    def __init__(self, name, argv, port):
        self.name, self.port = name, port
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("%s did not start" % name)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def setup(conn, suffix):
    url = tag(conn.call("sqs", {"Action": "CreateQueue", "QueueName": "bench-" + suffix}),
              "QueueUrl")
    arn = tag(conn.call("sqs", {"Action": "GetQueueAttributes", "QueueUrl": url,
                                "AttributeName.1": "QueueArn"}), "Value")
    topic = tag(conn.call("sns", {"Action": "CreateTopic", "Name": "bench-" + suffix}),
                "TopicArn")
    conn.call("sns", {"Action": "Subscribe", "TopicArn": topic, "Protocol": "sqs",
                      "Endpoint": arn, "Attributes.entry.1.key": "RawMessageDelivery",
                      "Attributes.entry.1.value": "true"})
    return url, topic


def publisher(port, topic, count, start_at, out):
    conn = Conn(port)
    while time.time() < start_at:
        time.sleep(0.001)
    for i in range(count):
        conn.call("sns", {"Action": "Publish", "TopicArn": topic, "Message": "m%d" % i})
    out.put(time.time())


def depth(conn, url):
    xml = conn.call("sqs", {"Action": "GetQueueAttributes", "QueueUrl": url,
                            "AttributeName.1": "ApproximateNumberOfMessages"})
    return int(tag(xml, "Value") or 0)


def throughput(server, round_no):
    conn = Conn(server.port)
    url, topic = setup(conn, "tp%d" % round_no)
    out = multiprocessing.Queue()
    start_at = time.time() + 0.5
    per = (PUBLISHES if server.name == "airgap" else min(PUBLISHES, PEER_PUBLISHES)) // CLIENTS
    procs = [multiprocessing.Process(target=publisher,
                                     args=(server.port, topic, per, start_at, out))
             for _ in range(CLIENTS)]
    for p in procs:
        p.start()
    total = per * CLIENTS
    deadline = start_at + 600
    while depth(conn, url) < total and time.time() < deadline:
        time.sleep(0.005)
    done = time.time()
    ends = [out.get() for _ in procs]
    for p in procs:
        p.join()
    conn.call("sqs", {"Action": "PurgeQueue", "QueueUrl": url})
    return total / (done - start_at), total / (max(ends) - start_at)


def latency(server):
    conn, waiter = Conn(server.port), Conn(server.port)
    url, topic = setup(conn, "lat")
    samples = []
    for i in range(SAMPLES):
        got = {}

        def receive():
            xml = waiter.call("sqs", {"Action": "ReceiveMessage", "QueueUrl": url,
                                      "WaitTimeSeconds": "5"})
            got["t"] = time.perf_counter()
            got["handle"] = tag(xml, "ReceiptHandle")

        t = threading.Thread(target=receive)
        t.start()
        time.sleep(0.02)  # the long poll is waiting
        t0 = time.perf_counter()
        conn.call("sns", {"Action": "Publish", "TopicArn": topic, "Message": "lat%d" % i})
        t.join()
        if got.get("handle"):
            samples.append(got["t"] - t0)
            conn.call("sqs", {"Action": "DeleteMessage", "QueueUrl": url,
                              "ReceiptHandle": got["handle"]})
    samples.sort()
    if not samples:
        return None, None
    return samples[len(samples) // 2], samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def moto_python():
    candidate = os.environ.get("MOTO_PYTHON") or shutil.which("python3")
    if not candidate:
        return None
    ok = subprocess.run([candidate, "-c", "import moto.server"], capture_output=True)
    return candidate if ok.returncode == 0 else None


def main():
    servers, missing = [], []
    try:
        port = free_port()
        servers.append(Server("airgap", [AIRGAP, "emulator", "--listen",
                                         "127.0.0.1:%d" % port], port))
        py = moto_python()
        if py:
            port = free_port()
            servers.append(Server("moto", [py, "-m", "moto.server", "-p", str(port)], port))
        else:
            missing.append("moto: unavailable (no `python3 -m moto.server`; set MOTO_PYTHON)")
        res = {s.name: {} for s in servers}
        rounds = {s.name: [] for s in servers}
        for r in range(ROUNDS):
            for s in servers:
                rounds[s.name].append(throughput(s, r))
        for s in servers:
            ranked = sorted(rounds[s.name])
            res[s.name]["delivered/s"], res[s.name]["publish/s"] = ranked[len(ranked) // 2]
            res[s.name]["p50 ms"], res[s.name]["p99 ms"] = [
                v * 1000 if v is not None else None for v in latency(s)]
    finally:
        for s in servers:
            s.stop()
    names = list(res)
    print("SNS Publish -> SQS (raw delivery), %d publishes (peers %d) by %d clients, "
          "%d latency samples, median of %d rounds"
          % (PUBLISHES // CLIENTS * CLIENTS, min(PUBLISHES, PEER_PUBLISHES) // CLIENTS * CLIENTS,
             CLIENTS, SAMPLES, ROUNDS))
    print("%-14s" % "" + "".join("%14s" % n for n in names) +
          ("%14s" % "airgap/moto" if "moto" in res else ""))
    for metric in ["delivered/s", "publish/s", "p50 ms", "p99 ms"]:
        row = "%-14s" % metric
        for n in names:
            v = res[n][metric]
            row += "%14s" % ("-" if v is None else ("%.3f" % v if "ms" in metric else "%.0f" % v))
        if "moto" in res and res["moto"][metric] and res["airgap"][metric]:
            ratio = (res["airgap"][metric] / res["moto"][metric] if "/s" in metric
                     else res["moto"][metric] / res["airgap"][metric])
            row += "%13.1fx" % ratio
        print(row)
    for m in missing:
        print(m)
    return 0


if __name__ == "__main__":
    sys.exit(main())
