#!/usr/bin/python3
"""emulator_bench.py — `airgap emulator` side by side with moto's server.

Measures, for each emulator in the same run and with the same client load:
  start   time from process start to the first 200 on its readiness endpoint
          (airgap: GET /_localstack/health; moto: POST /moto-api/reset),
          p50/p99/max of STARTS (30) cold starts, polled every 0.2 ms with a
          bare socket; and, read when the first 200 came, the page faults and
          the CPU time the process had taken to get there (figures a loaded
          machine changes less than wall time)
  rss     resident memory after start, idle (and its private, anonymous part:
          the rest is shared library text, shared with every other process)
  sqs     SendMessage+ReceiveMessage pairs per second over the query protocol,
          from CLIENTS processes with keep-alive connections for SECONDS each
and beside airgap's starts, interleaved with them start for start so that
load from elsewhere lands on every column alike, the floors of this harness
on this machine:
  /bin/true       started and seen to exit (a dynamically linked program)
  static true     a trivial static C program (tests/bench/start_floor.c,
                  built with `cc -O2 -static`), started and seen to exit
  static server   the same program listening and answering every request
                  with an empty 200: the least any server started this way
                  takes to its first 200
airgap's start is reported as its ratio to each floor (p50 / p50). Then what
a start is made of on this machine (`start_floor costs`): a page fault on
mapped code and on fresh memory, a thread, a `cpuid`, and what the faults of
airgap's start and of the static server's come to at those costs.

moto is the peer when `python3 -m moto.server` works with the python3 first
on PATH (or $MOTO_PYTHON); otherwise its column says so and the run still
succeeds. Not a test: run it by hand on an optimised (non-sanitizer) build.
RT=1 (as root) runs the harness and what it starts under SCHED_FIFO, so that
other load on a shared machine does not queue the starts behind it (the
figures then measure the programs, not the machine's run queue).

  AIRGAP_BIN=build/release/cli/airgap /usr/bin/python3 tests/bench/emulator_bench.py
Targets (issue 20): start <= 5 ms, idle RSS <= 4 MiB; throughput >= 20x moto.
"""
import http.client
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

AIRGAP = os.environ.get("AIRGAP_BIN", "airgap")
CLIENTS = int(os.environ.get("CLIENTS", "2"))
SECONDS = float(os.environ.get("SECONDS_PER_RUN", "3"))
STARTS = int(os.environ.get("STARTS", "30"))
RT = os.environ.get("RT") == "1"
AUTH = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, "
        "SignedHeaders=host, Signature=00")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ready(port, method, path):
    """1 when the server answers 200; a bare socket, so that polling costs the
    harness little and the figure is the server's."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n"
                       "Connection: close\r\n\r\n" % (method, path)).encode())
            head = b""
            while b"\r\n" not in head:
                chunk = s.recv(256)
                if not chunk:
                    break
                head += chunk
            return head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200")
    except OSError:
        return False


def percentiles(values):
    """(p50, p99, max) of a list of numbers (nearest rank)."""
    v = sorted(values)
    def rank(p):
        return v[min(len(v) - 1, max(0, int(p * len(v) + 0.5) - 1))]
    return rank(0.50), rank(0.99), v[-1]


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


def faults_and_cpu(pid):
    """(minor + major page faults, CPU milliseconds) of pid's threads so far:
    faults from /proc/PID/stat (every thread, live or ended), CPU from each
    live thread's schedstat (nanoseconds; stat's ticks are 10 ms)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        faults = int(fields[7]) + int(fields[9])
        cpu_ns = 0
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                cpu_ns += int(f.read().split()[0])
        return faults, cpu_ns / 1e6
    except (OSError, ValueError, IndexError):
        return 0, 0.0


def start(argv, port, ready_method, ready_path, env=None):
    """Starts argv; returns (milliseconds to its first 200, the process,
    (page faults, CPU ms) it took to get there)."""
    begin = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env)
    while not ready(port, ready_method, ready_path):
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %d" % (argv[0], proc.returncode))
        if time.perf_counter() - begin > 30:
            stop(proc)
            raise RuntimeError("%s not ready after 30 s" % argv[0])
        time.sleep(0.0002)
    ms = (time.perf_counter() - begin) * 1000
    return ms, proc, faults_and_cpu(proc.pid)


def run_once(argv):
    """Milliseconds to start argv and see it exit."""
    begin = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - begin) * 1000


def build_floor(folder):
    """tests/bench/start_floor.c built static into folder; None without cc."""
    cc = shutil.which(os.environ.get("CC", "cc"))
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "start_floor.c")
    exe = os.path.join(folder, "start_floor")
    if not cc or subprocess.run([cc, "-O2", "-static", "-pthread", "-o", exe, src],
                                capture_output=True).returncode != 0:
        return None
    return exe


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def measure(argv_for_port, ready_method, ready_path, env=None, floors=None):
    # STARTS cold starts, reported as p50/p99/max: one start on a shared
    # 2-core machine is at the mercy of the scheduler. Each is preceded by one
    # start of every floor (name -> function returning milliseconds).
    times, faults, cpu = [], [], []
    floors = floors or {}
    floor_times = dict((name, []) for name in floors)
    proc = None
    for i in range(STARTS):
        for name, fn in floors.items():
            floor_times[name].append(fn())
        port = free_port()
        ms, proc, (nf, ncpu) = start(argv_for_port(port), port, ready_method, ready_path, env)
        times.append(ms)
        faults.append(nf)
        cpu.append(ncpu)
        if i < STARTS - 1:
            stop(proc)
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
        return {"start": percentiles(times), "faults": percentiles(faults),
                "cpu": percentiles(cpu), "rss": rss, "anon": anon, "sqs": pairs / SECONDS,
                "floors": dict((n, percentiles(t)) for n, t in floor_times.items())}
    finally:
        stop(proc)


def floor_server(exe):
    """One start of the static server floor: milliseconds to its first 200 (its
    page faults and CPU time go to floor_server.faults and .cpu)."""
    port = free_port()
    ms, proc, (nf, ncpu) = start([exe, "serve", str(port)], port, "GET", "/")
    stop(proc)
    floor_server.faults.append(nf)
    floor_server.cpu.append(ncpu)
    return ms


floor_server.faults, floor_server.cpu = [], []


def moto_python():
    candidate = os.environ.get("MOTO_PYTHON") or shutil.which("python3")
    if not candidate:
        return None
    ok = subprocess.run([candidate, "-c", "import moto.server"], capture_output=True)
    return candidate if ok.returncode == 0 else None


def main():
    if RT:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
    results = {}
    machine_costs = None
    scratch = tempfile.mkdtemp(prefix="emulator-bench-")
    try:
        exe = build_floor(scratch)
        floors = {"/bin/true": lambda: run_once(["/bin/true"])}
        if exe:
            floors["static true"] = lambda: run_once([exe])
            floors["static server"] = lambda: floor_server(exe)
        results["airgap"] = measure(lambda port: [AIRGAP, "emulator", "--listen",
                                                  "127.0.0.1:%d" % port, "--init-dir", ""],
                                    "GET", "/_localstack/health", floors=floors)
        if exe:
            out = subprocess.run([exe, "costs", AIRGAP], capture_output=True, text=True)
            if out.returncode == 0:
                machine_costs = [float(v) for v in out.stdout.split()]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    py = moto_python()
    if py:
        results["moto"] = measure(lambda port: [py, "-m", "moto.server", "-p", str(port)],
                                  "POST", "/moto-api/reset")
    m = results.get("moto")
    print("%-30s %14s %14s" % ("", "airgap", "moto"))
    rows = [("start to first 200, p50 (ms)", lambda r: r["start"][0], "%.1f"),
            ("                   p99 (ms)", lambda r: r["start"][1], "%.1f"),
            ("                   max (ms)", lambda r: r["start"][2], "%.1f"),
            ("page faults to it, p50", lambda r: r["faults"][0], "%.0f"),
            ("CPU to it, p50 (ms)", lambda r: r["cpu"][0], "%.2f"),
            ("idle RSS (MiB)", lambda r: r["rss"] / 1024, "%.2f"),
            ("  of which private (MiB)", lambda r: r["anon"] / 1024, "%.2f"),
            ("SQS send+receive pairs/s", lambda r: r["sqs"], "%.0f")]
    for label, get, fmt in rows:
        print("%-30s %14s %14s" % (label, fmt % get(results["airgap"]),
                                   fmt % get(m) if m else "unavailable"))
    a = results["airgap"]["start"]
    print("floors, started in turn with airgap's starts (p50 / p99 / max ms); airgap's start p50 "
          "as a ratio to each and the difference:")
    for name, f in results["airgap"]["floors"].items():
        print("  %-14s %6.2f / %6.2f / %6.2f   airgap %.2fx, %+.2f ms"
              % (name, f[0], f[1], f[2], a[0] / max(f[0], 1e-9), a[0] - f[0]))
    if floor_server.faults:
        print("  static server to its first 200: page faults p50 %.0f, CPU p50 %.2f ms "
              "(airgap: %.0f, %.2f ms)"
              % (percentiles(floor_server.faults)[0], percentiles(floor_server.cpu)[0],
                 results["airgap"]["faults"][0], results["airgap"]["cpu"][0]))
        if machine_costs:
            fault_file, fault_anon, thread, cpuid = machine_costs
            nf = results["airgap"]["faults"][0]
            sf = percentiles(floor_server.faults)[0]
            print("this machine (start_floor costs, median of 9 rounds): a page fault %.1f us on "
                  "mapped code, %.1f us on fresh memory; a thread made and joined %.0f us; a "
                  "cpuid %.1f us" % (fault_file, fault_anon, thread, cpuid))
            print("  at these costs airgap's %.0f faults are %.1f-%.1f ms of its start, the static "
                  "server's %.0f %.1f-%.1f ms" % (nf, nf * fault_anon / 1000, nf * fault_file / 1000,
                                                 sf, sf * fault_anon / 1000, sf * fault_file / 1000))
    else:
        print("  (no static floors: `cc -O2 -static` failed; install gcc and libc6-dev)")
    if m:
        print("airgap/moto: throughput %.1fx, start p50 %.0fx faster, RSS %.1fx smaller "
              "(client: %d processes, %.0f s each; %d starts each%s)"
              % (results["airgap"]["sqs"] / max(m["sqs"], 1e-9), m["start"][0] / max(a[0], 1e-9),
                 m["rss"] / max(results["airgap"]["rss"], 1), CLIENTS, SECONDS, STARTS,
                 "; SCHED_FIFO" if RT else ""))
    else:
        print("moto: unavailable (no `python3 -m moto.server`; set MOTO_PYTHON); "
              "airgap figures only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
