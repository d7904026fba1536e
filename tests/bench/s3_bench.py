#!/usr/bin/python3
"""s3_bench.py — S3 on `airgap emulator` side by side with moto and s3rver.

Measures, for each server in the same run and with the same client load
(CLIENTS processes, keep-alive HTTP/1.1, path-style, SigV2-signed requests):
  put 4K / get 4K     PutObject / GetObject of 4 KiB objects per second
  put 1M / get 1M     the same with 1 MiB objects
  rss 1G              resident memory of the server after it stored 1 GiB
                      (1024 objects of 1 MiB)
and, per figure, the CPU time the server and the clients spent per request
(so a figure limited by the client rather than the server shows as such) and
the latency of its requests, p50/p99/max, as each client saw it; then
  tail                PutObject / GetObject of 4 KiB at 1, 16 and 64
                      connections (TAIL_CONNECTIONS), one client process per
                      connection: requests per second (median round) and
                      latency p50/p99/max (every request of every round)

The client is deliberately light, and the same for every server: a plain
socket per process (TCP_NODELAY, keep-alive, reconnecting when a server
closes), request headers built and signed once per path and second, bodies
preallocated and sent with one sendmsg, responses read into a preallocated
buffer (Content-Length or chunked framing, every status checked, every GET's
length checked). On two cores a heavyweight client (http.client costs about
as much CPU per request as the server under test) would cap the fast server
and measure Python instead.

The three servers run side by side for the whole run and take turns: each
figure is measured ROUNDS times (default 3) for every server in turn, and a
server's figure is its median round (all rounds are printed too), so load
from elsewhere on the machine does not land on one column only.
Knobs: SECONDS_PER_RUN (3), ROUNDS (3), CLIENTS (4), STORE_MIB (1024),
TAIL_CONNECTIONS (1,16,64; empty skips the tail), RT=1 (as root: the harness,
the clients and the servers under SCHED_RR, so that other load on a shared
machine does not land in the latencies; the kernel still stops real-time
tasks for 50 ms of every second they saturate the CPUs, sched_rt_runtime_us,
which then shows in the max).

moto runs when `python3 -m moto.server` works ($MOTO_PYTHON or the python3
first on PATH); s3rver when `s3rver` is on PATH or $S3RVER_BIN names it (npm
install s3rver in any folder). A missing peer's column says so; the run still
succeeds. Not a test: run it by hand on an optimised (non-sanitizer) build:

  AIRGAP_BIN=build/release/cli/airgap /usr/bin/python3 tests/bench/s3_bench.py
Targets (issue 7): >= 20x moto's and >= 5x s3rver's throughput; RSS after
1 GiB stored <= 64 MiB. Issue 20: 4 KiB PUT/GET p99 <= 5 ms at 16 connections.
"""
import base64
import email.utils
import hashlib
import hmac
import http.client
import multiprocessing
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

AIRGAP = os.environ.get("AIRGAP_BIN", "airgap")
# Four requests in flight: enough to hide the round trips of a ping-pong
# client on two cores (a lone client waits on every answer), still fewer than
# real tools keep (aws s3 cp/sync: 10). Every server gets the same four.
CLIENTS = int(os.environ.get("CLIENTS", "4"))
SECONDS = float(os.environ.get("SECONDS_PER_RUN", "3"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
STORE_MIB = int(os.environ.get("STORE_MIB", "1024"))
TAIL_CONNECTIONS = [int(n) for n in os.environ.get("TAIL_CONNECTIONS", "1,16,64").split(",") if n]
RT = os.environ.get("RT") == "1"
# SigV2 with s3rver's default keys (s3rver checks signatures; airgap and moto
# accept any): cheap to compute, so the client's cost stays small.
KEY, SECRET = b"S3RVER", b"S3RVER"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def signed(method, path):
    date = email.utils.formatdate(usegmt=True)
    # moto 5.2 splits the Authorization header on '/' looking for a SigV4
    # credential scope: a SigV2 signature with exactly four '/' in its base64
    # passes for one and the request fails with a 500. Another Content-Type
    # (part of what is signed) gives another signature.
    for ctype in ("application/octet-stream", "binary/octet-stream", "application/x-bench"):
        sts = "%s\n\n%s\n\nx-amz-date:%s\n%s" % (method, ctype, date, path)
        sig = base64.b64encode(hmac.new(SECRET, sts.encode(), hashlib.sha1).digest()).decode()
        if sig.count("/") != 4:
            break
    return {"x-amz-date": date, "Content-Type": ctype,
            "Authorization": "AWS %s:%s" % (KEY.decode(), sig)}


class Client:
    """One keep-alive connection with prebuilt, SigV2-signed request heads.

    A head is signed once per (method, path, body length) and second: the
    signature covers x-amz-date, which has a resolution of one second, so a
    head reused within its second is exactly what signed() would build."""

    def __init__(self, port, max_body):
        self.port = port
        self.sock = None
        self.heads = {}
        self.second = 0
        # One response buffer for the life of the client: headers + body.
        self.buf = bytearray(max_body + 65536)
        self.view = memoryview(self.buf)

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def connect(self):
        self.close()
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        # Blocking with kernel timeouts: Python's own timeout mode would add a
        # poll() before every send and receive.
        self.sock.settimeout(None)
        limit = struct.pack("ll", 60, 0)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def head(self, method, path, length):
        now = int(time.time())
        if now != self.second:
            self.heads.clear()
            self.second = now
        key = (method, path, length)
        h = self.heads.get(key)
        if h is None:
            hdrs = signed(method, path)
            lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1:%d" % self.port]
            lines += ["%s: %s" % kv for kv in hdrs.items()]
            if method in ("PUT", "POST"):
                lines.append("Content-Length: %d" % length)
            h = self.heads[key] = ("\r\n".join(lines) + "\r\n\r\n").encode()
        return h

    def send(self, parts):
        sent = self.sock.sendmsg(parts)
        for p in parts:  # a partial send: finish from where it stopped
            if sent >= len(p):
                sent -= len(p)
                continue
            self.sock.sendall(memoryview(p)[sent:])
            sent = 0

    def recv_more(self, have, want=0):
        """Receives at least one byte after have; with want, waits for all of
        buf[have:want] in one call (MSG_WAITALL: one wake-up per body)."""
        if want > have:
            n = self.sock.recv_into(self.view[have:want], want - have, socket.MSG_WAITALL)
        else:
            n = self.sock.recv_into(self.view[have:])
        if n == 0:
            raise ConnectionError("server closed the connection")
        return have + n

    def read_response(self):
        """Returns (status, body memoryview, keep_alive)."""
        have = 0
        while True:
            end = self.buf.find(b"\r\n\r\n", 0, have)
            if end >= 0:
                break
            if have >= 65536:
                raise RuntimeError("response head too long")
            have = self.recv_more(have)
        head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        version, status = head[0].split(" ", 2)[:2]
        status = int(status)
        fields = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        conn = fields.get("connection", "").lower()
        keep = conn != "close" and (version == "HTTP/1.1" or conn == "keep-alive")
        start = end + 4
        if "content-length" in fields:
            stop = start + int(fields["content-length"])
            if stop > len(self.buf):
                raise RuntimeError("response body larger than expected")
            while have < stop:
                have = self.recv_more(have, stop)
            return status, self.view[start:stop], keep
        if "chunked" in fields.get("transfer-encoding", "").lower():
            body = bytearray()
            pos = start
            while True:
                nl = self.buf.find(b"\r\n", pos, have)
                while nl < 0:
                    have = self.recv_more(have)
                    nl = self.buf.find(b"\r\n", pos, have)
                size = int(bytes(self.buf[pos:nl]).split(b";")[0], 16)
                pos = nl + 2
                while have < pos + size + 2:
                    have = self.recv_more(have)
                body += self.buf[pos:pos + size]
                pos += size + 2
                if size == 0:  # no trailers from these servers: the final CRLF
                    return status, memoryview(body), keep
        # Neither: the body runs to the end of the connection.
        try:
            while True:
                have = self.recv_more(have)
        except ConnectionError:
            pass
        return status, self.view[start:have], False

    def request(self, method, path, body=b""):
        for attempt in (0, 1):
            fresh = self.sock is None
            if fresh:
                self.connect()
            try:
                head = self.head(method, path, len(body))
                self.send([head, body] if body else [head])
                status, data, keep = self.read_response()
                break
            except (ConnectionError, BrokenPipeError):
                # A kept-alive connection the server had closed: retry once anew.
                self.close()
                if fresh or attempt:
                    raise
        if not keep:
            self.close()
        if status >= 300:
            raise RuntimeError("%s %s: %d %r" % (method, path, status, bytes(data[:200])))
        return data


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kib(pid):
    """RSS of pid and its children (s3rver and moto may fork)."""
    total = rss_kib(pid)
    try:
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        for k in kids.split():
            total += tree_rss_kib(int(k))
    except OSError:
        pass
    return total


def worker(port, op, size, seconds, wid, start, out):
    body = os.urandom(size)
    client = Client(port, size)
    n = errors = 0
    key = "/bench/w%d-%d" % (wid, size)
    paths = ["%s-%d" % (key, i) for i in range(64)]
    try:
        if op == "get":
            client.request("PUT", key, body)
    except (OSError, RuntimeError):
        errors += 1
    start.wait()  # every client starts together, after its set-up
    t0 = time.process_time()
    latencies = []  # milliseconds, every answered request
    clock = time.perf_counter
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            began = clock()
            try:
                if op == "put":
                    client.request("PUT", paths[n % 64], body)
                else:
                    data = client.request("GET", key)
                    if len(data) != size:
                        raise RuntimeError("GET %s: %d bytes, not %d" % (key, len(data), size))
                latencies.append((clock() - began) * 1000)
                n += 1
            except RuntimeError:
                errors += 1  # answered, but wrongly (moto's 500s under load)
    except OSError:
        errors += 1  # the connection broke twice in a row: this client stops
    cpu = time.process_time() - t0
    client.close()
    out.put((n, errors, cpu, latencies))


def percentiles(values):
    """(p50, p99, max) of a list of numbers (nearest rank); zeros when empty."""
    if not values:
        return 0.0, 0.0, 0.0
    v = sorted(values)
    def rank(p):
        return v[min(len(v) - 1, max(0, int(p * len(v) + 0.5) - 1))]
    return rank(0.50), rank(0.99), v[-1]


def cpu_seconds(pid):
    """User + system CPU time of pid and its children (s3rver and moto may fork)."""
    total = 0.0
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        for k in kids.split():
            total += cpu_seconds(int(k))
    except (OSError, IndexError, ValueError):
        pass
    return total


def rate(port, op, size, server_pid, clients=None):
    """Requests per second, the server's and the clients' CPU microseconds per
    request, and every request's latency (ms)."""
    clients = clients or CLIENTS
    q = multiprocessing.Queue()
    start = multiprocessing.Event()
    procs = [multiprocessing.Process(target=worker, args=(port, op, size, SECONDS, i, start, q))
             for i in range(clients)]
    for p in procs:
        p.start()
    time.sleep(0.3 + 0.02 * clients)  # let the workers connect (and, for GETs, store their object)
    cpu0 = cpu_seconds(server_pid)
    start.set()
    got = [q.get() for _ in procs]
    cpu1 = cpu_seconds(server_pid)
    for p in procs:
        p.join()
    errors = sum(g[1] for g in got)
    if errors:
        print("  %s %d-byte objects: %d failed requests (not counted)" % (op, size, errors))
    answered = sum(g[0] for g in got)
    done = max(answered, 1)
    client_cpu = sum(g[2] for g in got)
    latencies = [ms for g in got for ms in g[3]]
    return (answered / SECONDS, (cpu1 - cpu0) / done * 1e6, client_cpu / done * 1e6, latencies)


def wait_ready(port, proc):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %d" % proc.returncode)
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/", headers=signed("GET", "/"))
            c.getresponse().read()
            c.close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server not ready on port %d" % port)


class Server:
    """A server under test, started once and kept for the whole run."""

    def __init__(self, name, argv, port):
        self.name, self.argv, self.port = name, argv, port
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL)
        self.res = {}
        try:
            wait_ready(port, self.proc)
            client = Client(port, 0)
            client.request("PUT", "/bench")
            client.close()
        except BaseException:
            self.stop()
            raise

    def store(self):
        """Stores STORE_MIB objects of 1 MiB, then reads the server's RSS."""
        client = Client(self.port, 0)
        mib = os.urandom(1 << 20)
        self.res["stored"] = 0
        try:
            for i in range(STORE_MIB):
                client.request("PUT", "/bench/store-%d" % i, mib)
                self.res["stored"] = i + 1
        except (OSError, RuntimeError) as e:
            print("%s failed after storing %d MiB: %s" % (self.name, self.res["stored"],
                                                          str(e)[:100]))
        client.close()
        time.sleep(0.5)
        self.res["rss 1G"] = tree_rss_kib(self.proc.pid) / 1024.0

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def measure(servers):
    """Every figure, ROUNDS times, the servers taking turns within each round;
    each server's median round is its figure. Other load on the machine then
    hits every server alike instead of whichever happened to run at the time."""
    for size, label in ((4096, "4K"), (1 << 20, "1M")):
        for op in ("put", "get"):
            metric = op + " " + label
            samples = dict((s.name, []) for s in servers)
            for _ in range(ROUNDS):
                for s in servers:
                    samples[s.name].append(rate(s.port, op, size, s.proc.pid))
            for s in servers:
                ranked = sorted(samples[s.name], key=lambda r: r[0])
                s.res[metric], s.res["cpu " + metric], s.res["client " + metric] = \
                    ranked[len(ranked) // 2][:3]
                s.res["all " + metric] = [r[0] for r in samples[s.name]]
                s.res["lat " + metric] = percentiles([ms for r in samples[s.name] for ms in r[3]])
    for conns in TAIL_CONNECTIONS:
        for op in ("put", "get"):
            runs = dict((s.name, []) for s in servers)
            for _ in range(ROUNDS):
                for s in servers:
                    runs[s.name].append(rate(s.port, op, 4096, s.proc.pid, conns))
            for s in servers:
                # Rate: the median round; latencies: every request of every round.
                rates = sorted(r[0] for r in runs[s.name])
                s.res["tail %s %d" % (op, conns)] = (
                    rates[len(rates) // 2], percentiles([ms for r in runs[s.name] for ms in r[3]]))
    for s in servers:
        s.store()


def table(names, rows):
    """Prints rows of (label, one cell per server) under a header of server
    names, every column as wide as its widest cell and two spaces apart."""
    widths = [max([len(n)] + [len(cells[i]) for _, cells in rows]) + 2
              for i, n in enumerate(names)]
    print("%-12s" % "" + "".join(n.rjust(w) for n, w in zip(names, widths)))
    for label, cells in rows:
        print("%-12s" % label + "".join(c.rjust(w) for c, w in zip(cells, widths)))


def moto_python():
    candidate = os.environ.get("MOTO_PYTHON") or shutil.which("python3")
    if not candidate:
        return None
    ok = subprocess.run([candidate, "-c", "import moto.server"], capture_output=True)
    return candidate if ok.returncode == 0 else None


def main():
    if RT:
        # Round-robin, not FIFO: clients and servers share the two cores in
        # turns, as under the normal scheduler.
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(50))
    missing, servers = [], []
    data = tempfile.mkdtemp(prefix="s3-bench-")
    try:
        port = free_port()
        os.mkdir(os.path.join(data, "airgap"))
        servers.append(Server("airgap", [AIRGAP, "emulator", "--listen", "127.0.0.1:%d" % port,
                                         "--data-dir", os.path.join(data, "airgap")], port))
        py = moto_python()
        if py:
            port = free_port()
            servers.append(Server("moto", [py, "-m", "moto.server", "-p", str(port)], port))
        else:
            missing.append("moto: unavailable (no `python3 -m moto.server`; set MOTO_PYTHON)")
        s3rver = os.environ.get("S3RVER_BIN") or shutil.which("s3rver")
        if s3rver:
            port = free_port()
            os.mkdir(os.path.join(data, "s3rver"))
            servers.append(Server("s3rver", [s3rver, "--silent", "--port", str(port), "--address",
                                             "127.0.0.1", "--directory",
                                             os.path.join(data, "s3rver")], port))
        else:
            missing.append("s3rver: unavailable (npm install s3rver; set S3RVER_BIN)")
        measure(servers)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(data, ignore_errors=True)
    results = dict((s.name, s.res) for s in servers)
    names = list(results)
    print("%-12s" % "" + "".join("%14s" % n for n in names))
    for metric in ("put 4K", "get 4K", "put 1M", "get 1M", "rss 1G"):
        unit = "MiB" if metric.startswith("rss") else "/s"
        print("%-12s" % metric + "".join("%10.1f %-3s" % (results[n][metric], unit)
                                         for n in names))
    print("CPU per request, server | client (microseconds; CPU time, not wall time):")
    for metric in ("put 4K", "get 4K", "put 1M", "get 1M"):
        print("%-12s" % metric + "".join(
            "%14s" % ("%.0f | %.0f" % (results[n]["cpu " + metric], results[n]["client " + metric]))
            for n in names))
    for peer in names[1:]:
        ratios = ["%s %.1fx" % (m, results["airgap"][m] / max(results[peer][m], 1e-9))
                  for m in ("put 4K", "get 4K", "put 1M", "get 1M")]
        print("airgap/%s: %s" % (peer, ", ".join(ratios)))
    for line in missing:
        print(line)
    print("stored for rss: " + ", ".join("%s %d MiB" % (n, results[n]["stored"]) for n in names))
    print("latency as the clients saw it, p50 / p99 / max (ms):")
    table(names, [(m, ["%.2f / %.2f / %.1f" % results[n]["lat " + m] for n in names])
                  for m in ("put 4K", "get 4K", "put 1M", "get 1M")])
    if TAIL_CONNECTIONS:
        print("tail, 4 KiB, one client process per connection: req/s, latency p50 / p99 / max (ms):")
        rows = []
        for op in ("put", "get"):
            for conns in TAIL_CONNECTIONS:
                key = "tail %s %d" % (op, conns)
                rows.append(("%s x%d" % (op, conns),
                             ["%.0f/s  %.2f / %.2f / %.1f" % ((results[n][key][0],)
                                                              + results[n][key][1])
                              for n in names]))
        table(names, rows)
    print("every round (req/s):")
    table(names, [(m, ["/".join("%.0f" % r for r in results[n]["all " + m]) for n in names])
                  for m in ("put 4K", "get 4K", "put 1M", "get 1M")])
    print("(client: %d processes, each one keep-alive socket with TCP_NODELAY, prebuilt SigV2 "
          "heads, preallocated bodies and response buffer; figures are the median of %d rounds "
          "of %.0f s, the servers taking turns; %d MiB asked to be stored for rss%s)"
          % (CLIENTS, ROUNDS, SECONDS, STORE_MIB, "; SCHED_RR" if RT else ""))


if __name__ == "__main__":
    sys.exit(main())
