#!/usr/bin/python3
"""sns_bench.py — SNS Publish → SQS on `airgap emulator` beside moto (server
mode), measured in the same run with the same clients.

Per server: a standard topic with one SQS subscription (raw delivery), then
  delivered/s   PUBLISHES messages published by CLIENTS processes as fast as
                they go, divided by the time from the first Publish until the
                queue holds them all (GetQueueAttributes polled); so it counts
                deliveries, not accepted Publish calls. Two load generators:
                light (one pre-serialised, SigV4-signed Publish sent again
                and again over a keep-alive http.client connection) and boto3
                (sns.publish, serialising and signing every call)
  publish/s     the same run's Publish calls per second
  latency       publish-to-receive: a ReceiveMessage long poll is waiting
                on a second keep-alive connection when the Publish is sent;
                one thread sends the Publish and select()s on both sockets,
                so the figure is the time from sending the Publish until the
                long poll's answer is read (no Python thread hand-over in
                it). SAMPLES runs: p50, p99, max; also when the Publish's own
                answer arrived, and a GetQueueUrl round trip after the same
                idle pause — what any request costs on this machine, the
                floor under both figures

Knobs: PUBLISHES (4000), PEER_PUBLISHES (400, moto's rounds), CLIENTS (4),
SAMPLES (200), ROUNDS (3; a server's figure is its median round), BOTO3 (1; 0
skips the boto3 generator), BOTO3_PUBLISHES (1000; moto: PEER_PUBLISHES).

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
import select
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse

import botocore.auth
import botocore.awsrequest
import botocore.credentials

AIRGAP = os.environ.get("AIRGAP_BIN", "build/rel/cli/airgap")
PUBLISHES = int(os.environ.get("PUBLISHES", "4000"))
# moto delivers a few dozen messages a second: its rounds publish fewer, so
# that a run takes minutes, not an hour (a rate does not depend on the count).
PEER_PUBLISHES = int(os.environ.get("PEER_PUBLISHES", "400"))
CLIENTS = int(os.environ.get("CLIENTS", "4"))
SAMPLES = int(os.environ.get("SAMPLES", "200"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
BOTO3 = os.environ.get("BOTO3", "1") != "0"
BOTO3_PUBLISHES = int(os.environ.get("BOTO3_PUBLISHES", "1000"))
CREDS = botocore.credentials.Credentials("test", "test")
FORM = "application/x-www-form-urlencoded"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def signed(port, service, params):
    """(body, headers) of a SigV4-signed query-protocol request. Signed once
    and sent as often as wanted: neither server checks signatures, but the
    bytes are a real client's."""
    body = urllib.parse.urlencode(params)
    req = botocore.awsrequest.AWSRequest(method="POST", url="http://127.0.0.1:%d/" % port,
                                         data=body, headers={"Content-Type": FORM})
    botocore.auth.SigV4Auth(CREDS, service, "us-east-1").add_auth(req)
    return body, dict(req.headers.items())


def raw_request(port, service, params):
    """The bytes of one signed HTTP/1.1 request, for the latency probe."""
    body, headers = signed(port, service, params)
    head = "POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: %d\r\n" % (port, len(body))
    head += "".join("%s: %s\r\n" % kv for kv in headers.items())
    return (head + "\r\n" + body).encode()


class Conn:
    """A keep-alive connection sending query-protocol forms."""

    def __init__(self, port):
        self.port = port
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def send(self, body, headers, what):
        for attempt in range(2):
            try:
                self.c.request("POST", "/", body, headers)
                r = self.c.getresponse()
                data = r.read().decode()
                if r.status != 200:
                    raise RuntimeError("%s: %d %s" % (what, r.status, data[:300]))
                return data
            except (http.client.HTTPException, ConnectionError):
                self.c.close()
                self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        return ""

    def call(self, service, params):
        body, headers = signed(self.port, service, params)
        return self.send(body, headers, "%s %s" % (service, params.get("Action")))


def tag(xml, name):
    m = re.search(r"<%s>(.*?)</%s>" % (name, name), xml, re.S)
    return m.group(1) if m else None


class Server:
    def __init__(self, name, argv, port):
        self.name, self.port = name, port
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 120  # moto takes seconds, more on a loaded machine
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


def light_publisher(port, topic, count, go, out):
    conn = Conn(port)
    body, headers = signed(port, "sns", {"Action": "Publish", "TopicArn": topic,
                                         "Message": "bench message"})
    out.put("ready")
    go.wait()
    for _ in range(count):
        conn.send(body, headers, "Publish")
    out.put(time.time())


def boto3_publisher(port, topic, count, go, out):
    import boto3
    client = boto3.client("sns", endpoint_url="http://127.0.0.1:%d" % port,
                          region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    out.put("ready")
    go.wait()
    for i in range(count):
        client.publish(TopicArn=topic, Message="bench message %d" % i)
    out.put(time.time())


def depth(conn, url):
    xml = conn.call("sqs", {"Action": "GetQueueAttributes", "QueueUrl": url,
                            "AttributeName.1": "ApproximateNumberOfMessages"})
    return int(tag(xml, "Value") or 0)


def throughput(server, round_no, publisher, publishes):
    conn = Conn(server.port)
    url, topic = setup(conn, "tp%d%s" % (round_no, publisher.__name__[:5]))
    out, go = multiprocessing.Queue(), multiprocessing.Event()
    per = publishes // CLIENTS
    procs = [multiprocessing.Process(target=publisher, args=(server.port, topic, per, go, out))
             for _ in range(CLIENTS)]
    for p in procs:
        p.start()
    # The clock starts once every client is set up (boto3's import is slow).
    for _ in procs:
        if out.get(timeout=300) != "ready":
            raise RuntimeError("a publisher did not start")
    start_at = time.time()
    go.set()
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


class Raw:
    """A keep-alive socket read by hand, so one thread can wait on two. A
    server that closes the connection after an answer (`Connection: close`,
    or HTTP/1.0 without keep-alive) gets a new one before the next request
    (reopen), outside the timed span."""

    def __init__(self, port):
        self.port = port
        self.reopen(force=True)

    def reopen(self, force=False):
        if not force and not self.closing:
            return
        if not force:
            self.s.close()
        self.s = socket.create_connection(("127.0.0.1", self.port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.closing = False

    def response(self):
        """A whole buffered response's body, else None."""
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", self.buf[:end])
        if not m:
            raise RuntimeError("answer without Content-Length: %r" % self.buf[:200])
        size = end + 4 + int(m.group(1))
        if len(self.buf) < size:
            return None
        status = self.buf[9:12]
        head = self.buf[:end].lower()
        self.closing = (b"\r\nconnection: close" in head or
                        (head.startswith(b"http/1.0") and b"keep-alive" not in head))
        body, self.buf = self.buf[end + 4:size], self.buf[size:]
        if status != b"200":
            raise RuntimeError("answer %s: %r" % (status, body[:300]))
        return body.decode()

    def fill(self):
        data = self.s.recv(65536)
        if not data:
            raise RuntimeError("connection closed")
        self.buf += data

    def call(self, request):
        self.reopen()
        self.s.sendall(request)
        while True:
            body = self.response()
            if body is not None:
                return body
            self.fill()


def latency(server):
    """Publish-to-receive, Publish answered, and an idle GetQueueUrl round
    trip: lists of seconds."""
    conn = Conn(server.port)
    url, topic = setup(conn, "lat")
    pub, waiter = Raw(server.port), Raw(server.port)
    publish = raw_request(server.port, "sns", {"Action": "Publish", "TopicArn": topic,
                                               "Message": "latency probe"})
    receive = raw_request(server.port, "sqs", {"Action": "ReceiveMessage", "QueueUrl": url,
                                               "WaitTimeSeconds": "5"})
    floor_req = raw_request(server.port, "sqs", {"Action": "GetQueueUrl",
                                                 "QueueName": "bench-lat"})
    delivered, answered, floor = [], [], []
    for _ in range(SAMPLES):
        pub.reopen()
        waiter.reopen()
        waiter.s.sendall(receive)
        time.sleep(0.02)  # the long poll is waiting
        t0 = time.perf_counter()
        pub.s.sendall(publish)
        got = {}
        while len(got) < 2:
            ready, _, _ = select.select([c.s for c in (pub, waiter) if c not in got], [], [], 10)
            if not ready:
                raise RuntimeError("no answer within 10 s")
            for c in (pub, waiter):
                if c.s in ready and c not in got:
                    c.fill()
                    body = c.response()
                    if body is not None:
                        got[c] = (time.perf_counter(), body)
        handle = tag(got[waiter][1], "ReceiptHandle")
        if not handle:
            raise RuntimeError("the long poll returned no message")
        delivered.append(got[waiter][0] - t0)
        answered.append(got[pub][0] - t0)
        conn.call("sqs", {"Action": "DeleteMessage", "QueueUrl": url, "ReceiptHandle": handle})
        time.sleep(0.02)
        t0 = time.perf_counter()
        pub.call(floor_req)
        floor.append(time.perf_counter() - t0)
    return delivered, answered, floor


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
    return v[min(len(v) - 1, int(len(v) * q))] * 1000


def main():
    servers, missing = [], []
    res = {}
    generators = [("light", light_publisher, PUBLISHES)]
    if BOTO3:
        generators.append(("boto3", boto3_publisher, BOTO3_PUBLISHES))
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
        rounds = {(s.name, g): [] for s in servers for g, _, _ in generators}
        for r in range(ROUNDS):
            for g, publisher, count in generators:
                for s in servers:
                    n = count if s.name == "airgap" else min(count, PEER_PUBLISHES)
                    rounds[(s.name, g)].append(throughput(s, r, publisher, n))
        for s in servers:
            for g, _, _ in generators:
                ranked = sorted(rounds[(s.name, g)])
                mid = ranked[len(ranked) // 2]
                res[s.name]["%s delivered/s" % g] = mid[0]
                res[s.name]["%s publish/s" % g] = mid[1]
            delivered, answered, floor = latency(s)
            for label, values in (("to queue", delivered), ("answered", answered),
                                  ("floor", floor)):
                for q, name in ((0.5, "p50"), (0.99, "p99"), (1.0, "max")):
                    res[s.name]["%s %s ms" % (label, name)] = pct(values, q)
    finally:
        for s in servers:
            s.stop()
    names = list(res)
    print("SNS Publish -> SQS (raw delivery): light %d publishes (moto %d), boto3 %d (moto %d), "
          "by %d clients; median of %d rounds; %d latency samples"
          % (PUBLISHES // CLIENTS * CLIENTS, min(PUBLISHES, PEER_PUBLISHES) // CLIENTS * CLIENTS,
             BOTO3_PUBLISHES // CLIENTS * CLIENTS,
             min(BOTO3_PUBLISHES, PEER_PUBLISHES) // CLIENTS * CLIENTS, CLIENTS, ROUNDS, SAMPLES))
    print("latency: 'to queue' = Publish sent -> long poll's answer read; 'answered' = Publish's "
          "own answer; 'floor' = GetQueueUrl after the same idle pause")
    print("%-22s" % "" + "".join("%14s" % n for n in names) +
          ("%14s" % "airgap/moto" if "moto" in res else ""))
    metrics = [m for g, _, _ in generators for m in ("%s delivered/s" % g, "%s publish/s" % g)]
    metrics += ["%s %s ms" % (label, q) for label in ("to queue", "answered", "floor")
                for q in ("p50", "p99", "max")]
    for metric in metrics:
        row = "%-22s" % metric
        for n in names:
            v = res[n][metric]
            row += "%14s" % ("%.3f" % v if "ms" in metric else "%.0f" % v)
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
