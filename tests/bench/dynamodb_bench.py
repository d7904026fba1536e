#!/usr/bin/python3
"""dynamodb_bench.py — DynamoDB on `airgap emulator` side by side with moto
(server mode) and dynalite.

Measures, for each server in the same run and with the same client load
(CLIENTS processes, one keep-alive HTTP/1.1 connection each, JSON 1.0):
  start           ms from spawn until the server answers ListTables
  PutItem         items written per second (a new key each)
  PutItem+stream  the same into a table with a NEW_AND_OLD_IMAGES stream
  GetItem         reads of existing items per second
  Query 100       Query calls per second, each answering 100 items of 40 B
  Transact 4      TransactWriteItems of 4 Puts per second
and the server's own CPU time per call for each (user + system, from /proc:
what the figure costs the server whatever else loads the machine), and, for
the stream cost LocalStack #10411 reported (3,000 writes with
streams on went from 1.4 s to 27 s), the time of 3,000 sequential PutItems
into each table by one client.

The client is deliberately light and the same for every server: a raw socket,
prebuilt request heads (a fixed, well-formed SigV4 Authorization header: none
of the three verifies signatures), bodies formatted from a template, every
answer's status checked. On two cores a heavyweight client (boto3 costs more
CPU per call than the server under test) would cap the fast server and
measure Python instead.

Each figure is measured ROUNDS times (default 3) for every server in turn and
the median round is printed, so load from elsewhere on the machine does not
land on one column only. Knobs: SECONDS_PER_RUN (2), ROUNDS (3), CLIENTS (4).

moto: `python -m moto.server` from $MOTO_PYTHON, else Debian's python3 when it
has moto (python3-moto), else pyenv's python when it has moto. dynalite:
`npm ci` in tests/bench/dynalite (pinned by its lockfile; in-memory store, no
native module needed), or $DYNALITE_BIN. A missing peer's column says why;
dynalite has no TransactWriteItems (its column says so). Not a test: run it by
hand on an optimised (non-sanitizer) build:

  AIRGAP_BIN=build/rel/cli/airgap /usr/bin/python3 tests/bench/dynamodb_bench.py

Targets (issue 15): >= 30x moto, >= 10x dynalite; writes with streams on
>= 0.8x writes with streams off.
"""
import glob
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
AIRGAP = os.environ.get("AIRGAP_BIN", "airgap")
CLIENTS = int(os.environ.get("CLIENTS", "4"))
SECONDS = float(os.environ.get("SECONDS_PER_RUN", "2"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
AUTH = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Client:
    """One keep-alive connection; reconnects when a server closes it."""

    def __init__(self, port):
        self.port = port
        self.sock = None
        self.buf = bytearray(1 << 20)
        self.view = memoryview(self.buf)

    def connect(self):
        if self.sock:
            self.sock.close()
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def head(self, target, length):
        return ("POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                "Content-Type: application/x-amz-json-1.0\r\n"
                "X-Amz-Target: %s\r\nX-Amz-Date: 20260101T000000Z\r\n"
                "Authorization: %s\r\nContent-Length: %d\r\n\r\n"
                % (self.port, target, AUTH, length)).encode()

    def call(self, op, body):
        """Sends one call; returns (status, body bytes)."""
        data = body.encode() if isinstance(body, str) else body
        req = self.head(("DynamoDBStreams_20120810." if op in STREAM_OPS else
                         "DynamoDB_20120810.") + op, len(data)) + data
        for attempt in (0, 1):
            try:
                if self.sock is None:
                    self.connect()
                self.sock.sendall(req)
                status, payload, keep = self.read()
                if not keep:
                    self.sock.close()
                    self.sock = None
                return status, payload
            except (ConnectionError, OSError):
                self.sock = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def read(self):
        have = 0
        while True:
            end = self.buf.find(b"\r\n\r\n", 0, have)
            if end >= 0:
                break
            n = self.sock.recv_into(self.view[have:])
            if n == 0:
                raise ConnectionError("closed")
            have += n
        head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        version, status = head[0].split(" ", 2)[:2]
        fields = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            fields[k.strip().lower()] = v.strip()
        conn = fields.get("connection", "").lower()
        keep = conn != "close" and (version == "HTTP/1.1" or conn == "keep-alive")
        start = end + 4
        if "content-length" in fields:
            stop = start + int(fields["content-length"])
            if stop > len(self.buf):
                self.buf.extend(bytearray(stop - len(self.buf)))
                self.view = memoryview(self.buf)
            while have < stop:
                n = self.sock.recv_into(self.view[have:stop])
                if n == 0:
                    raise ConnectionError("closed")
                have += n
            return int(status), bytes(self.buf[start:stop]), keep
        # No length (HTTP/1.0 servers): the body runs to the end.
        chunks = [bytes(self.buf[start:have])]
        while True:
            b = self.sock.recv(65536)
            if not b:
                break
            chunks.append(b)
        return int(status), b"".join(chunks), False


STREAM_OPS = {"ListStreams", "DescribeStream", "GetShardIterator", "GetRecords"}


def checked(client, op, body):
    status, payload = client.call(op, body)
    if status != 200:
        raise RuntimeError("%s answered %d: %s" % (op, status, payload[:300]))
    return payload


def table_body(name, stream):
    t = {"TableName": name, "BillingMode": "PAY_PER_REQUEST",
         "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
         "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "N"}]}
    if stream:
        t["StreamSpecification"] = {"StreamEnabled": True,
                                    "StreamViewType": "NEW_AND_OLD_IMAGES"}
    return json.dumps(t)


PUT = ('{"TableName":"%s","Item":{"pk":{"S":"w%d-%d"},"sk":{"N":"%d"},'
       '"payload":{"S":"0123456789abcdef0123456789abcdef"},"n":{"N":"%d"}}}')
GET = '{"TableName":"plain","Key":{"pk":{"S":"q"},"sk":{"N":"%d"}}}'
QUERY = ('{"TableName":"plain","KeyConditionExpression":"pk = :p",'
         '"ExpressionAttributeValues":{":p":{"S":"q"}}}')
TRANSACT_ITEM = ('{"Put":{"TableName":"plain","Item":{"pk":{"S":"t%d-%d"},"sk":{"N":"%d"},'
                 '"v":{"S":"x"}}}}')


def request(kind, worker, i):
    if kind == "put":
        return "PutItem", PUT % ("plain", worker, i, i, i)
    if kind == "put_stream":
        return "PutItem", PUT % ("streamed", worker, i, i, i)
    if kind == "get":
        return "GetItem", GET % (i % 100)
    if kind == "query":
        return "Query", QUERY
    if kind == "transact":
        items = ",".join(TRANSACT_ITEM % (worker, i, k) for k in range(4))
        return "TransactWriteItems", '{"TransactItems":[%s]}' % items
    raise ValueError(kind)


def worker(port, kind, wid, seconds, out):
    """Puts (answered, failed, first failure) on out: a server that fails
    calls under load (moto's transactions answer 500 to concurrent callers)
    has its successful calls counted and its failures reported."""
    c = Client(port)
    n = failed = 0
    first = None
    # A worker's keys never collide with another's or another round's.
    base = int(time.time() * 1000) % 1000000 * 1000
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            op, body = request(kind, wid, base + n + failed)
            status, payload = c.call(op, body)
            if status != 200:
                failed += 1
                first = first or "%s %d %s" % (op, status, payload[:120])
                continue
            if kind == "query" and n == 0 and payload.count(b'"pk"') != 100:
                raise RuntimeError("Query answered %d items" % payload.count(b'"pk"'))
            n += 1
    except Exception as e:  # noqa: BLE001 - reported with the figures
        first = first or repr(e)
        failed += 1
    out.put((n, failed, first))


def rate(port, kind):
    """(successful calls per second, failed calls, first failure)."""
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=worker, args=(port, kind, w, SECONDS, q))
             for w in range(CLIENTS)]
    for p in procs:
        p.start()
    results = [q.get(timeout=SECONDS + 120) for _ in procs]
    for p in procs:
        p.join()
    first = next((r[2] for r in results if r[2]), None)
    return sum(r[0] for r in results) / SECONDS, sum(r[1] for r in results), first


def sequential_writes(port, table, count=3000):
    c = Client(port)
    t = time.monotonic()
    for i in range(count):
        checked(c, "PutItem", PUT % (table, 99, i, i, i))
    return time.monotonic() - t


class Server:
    def __init__(self, name, argv_for_port, env=None, cwd=None):
        self.name = name
        self.port = free_port()
        t0 = time.monotonic()
        self.proc = subprocess.Popen(argv_for_port(self.port), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                     env=env, cwd=cwd, start_new_session=True)
        c = Client(self.port)
        deadline = t0 + 60
        while True:
            try:
                status, _ = c.call("ListTables", "{}")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("%s did not start" % name)
            time.sleep(0.002)
        self.start_ms = (time.monotonic() - t0) * 1000
        checked(c, "CreateTable", table_body("plain", False))
        checked(c, "CreateTable", table_body("streamed", True))
        for i in range(100):
            checked(c, "PutItem", '{"TableName":"plain","Item":{"pk":{"S":"q"},"sk":{"N":"%d"},'
                    '"payload":{"S":"0123456789abcdef"}}}' % i)
        self.transactions = True
        status, payload = c.call("TransactWriteItems", '{"TransactItems":[%s]}'
                                 % (TRANSACT_ITEM % (0, 0, 0)))
        if status != 200:
            self.transactions = False

    def cpu_seconds(self):
        """User + system CPU the server process has used so far."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def moto_python():
    candidates = [os.environ.get("MOTO_PYTHON"), "/usr/bin/python3"]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/*/bin/python3")))
    for c in candidates:
        if c and os.path.exists(c) and subprocess.run(
                [c, "-c", "import moto.server"], capture_output=True).returncode == 0:
            return c
    return None


def dynalite_argv():
    explicit = os.environ.get("DYNALITE_BIN")
    if explicit:
        return lambda port: [explicit, "--port", str(port), "--createTableMs", "0"]
    cli = os.path.join(HERE, "dynalite", "node_modules", "dynalite", "cli.js")
    node = shutil.which("node")
    if node and os.path.exists(cli):
        return lambda port: [node, cli, "--port", str(port), "--createTableMs", "0"]
    return None


def main():
    servers = {}
    notes = []
    servers["airgap"] = lambda: Server(
        "airgap", lambda port: [AIRGAP, "emulator", "--listen", "127.0.0.1:%d" % port],
        env=dict(os.environ, SERVICES="dynamodb,dynamodbstreams"))
    py = moto_python()
    if py:
        servers["moto"] = lambda: Server("moto", lambda port: [py, "-m", "moto.server", "-p",
                                                                str(port)])
    else:
        notes.append("moto: unavailable (no python with moto: set MOTO_PYTHON)")
    dl = dynalite_argv()
    if dl:
        servers["dynalite"] = lambda: Server("dynalite", dl)
    else:
        notes.append("dynalite: unavailable (run `npm ci` in tests/bench/dynalite, or set "
                     "DYNALITE_BIN)")

    live = {}
    starts = {}
    for name, make in servers.items():
        try:
            live[name] = make()
            starts[name] = live[name].start_ms
        except RuntimeError as e:
            notes.append("%s: %s" % (name, e))
    kinds = [("PutItem", "put"), ("PutItem+stream", "put_stream"), ("GetItem", "get"),
             ("Query 100", "query"), ("Transact 4", "transact")]
    rounds = {(n, k): [] for n in live for _, k in kinds}
    seq = {(n, t): [] for n in live for t in ("plain", "streamed")}
    failures = {}
    cpu = {(n, k): [] for n in live for _, k in kinds}
    try:
        for _ in range(ROUNDS):
            for _, kind in kinds:
                for name, srv in live.items():
                    if kind == "transact" and not srv.transactions:
                        continue
                    cpu0 = srv.cpu_seconds()
                    r, failed, first = rate(srv.port, kind)
                    rounds[(name, kind)].append(r)
                    if r:
                        cpu[(name, kind)].append((srv.cpu_seconds() - cpu0) / (r * SECONDS))
                    if failed:
                        failures.setdefault((name, kind), [0, first])[0] += failed
            for name, srv in live.items():
                for table in ("plain", "streamed"):
                    seq[(name, table)].append(sequential_writes(srv.port, table))
    finally:
        for srv in live.values():
            srv.stop()

    names = list(live)
    print("DynamoDB: %d client processes, %.0f s per figure, median of %d rounds"
          % (CLIENTS, SECONDS, ROUNDS))
    print("%-22s" % "" + "".join("%14s" % n for n in names))
    print("%-22s" % "start (ms)" + "".join("%14.0f" % starts[n] for n in names))
    med = {}
    for label, kind in kinds:
        row = "%-22s" % (label + " /s")
        for n in names:
            r = rounds[(n, kind)]
            if r:
                med[(n, kind)] = statistics.median(r)
                row += "%14.0f" % med[(n, kind)]
            else:
                row += "%14s" % "n/a"
        print(row)
    for label, kind in kinds:
        print("%-22s" % (label + " CPU us") + "".join(
            "%14.0f" % (statistics.median(cpu[(n, kind)]) * 1e6) if cpu[(n, kind)] else
            "%14s" % "n/a" for n in names))
    for table in ("plain", "streamed"):
        print("%-22s" % ("3000 puts %s (s)" % ("stream" if table == "streamed" else "plain"))
              + "".join("%14.2f" % statistics.median(seq[(n, table)]) for n in names))
    print()
    for peer, target in (("moto", 30), ("dynalite", 10)):
        if peer not in live:
            continue
        ratios, cpu_ratios = [], []
        for label, kind in kinds:
            if (peer, kind) in med and ("airgap", kind) in med:
                ratios.append("%s %.0fx" % (label, med[("airgap", kind)] / max(med[(peer, kind)],
                                                                                 1e-9)))
                if cpu[(peer, kind)] and cpu[("airgap", kind)]:
                    cpu_ratios.append("%s %.0fx" % (label, statistics.median(cpu[(peer, kind)]) /
                                                    max(statistics.median(cpu[("airgap", kind)]),
                                                        1e-9)))
            else:
                ratios.append("%s n/a (%s has none)" % (label, peer))
        print("airgap/%s calls per second (target >= %dx): %s" % (peer, target,
                                                                  ", ".join(ratios)))
        print("  server CPU per call, %s/airgap: %s" % (peer, ", ".join(cpu_ratios)))
    if ("airgap", "put") in med:
        print("airgap writes with a stream / without (target >= 0.8): %.2f; 3,000 sequential "
              "puts %.2f s with, %.2f s without"
              % (med[("airgap", "put_stream")] / med[("airgap", "put")],
                 statistics.median(seq[("airgap", "streamed")]),
                 statistics.median(seq[("airgap", "plain")])))
    for (name, kind), (count, first) in sorted(failures.items()):
        print("%s %s: %d calls failed (not counted), first: %s" % (name, kind, count, first))
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
