#!/usr/bin/python3
"""s3_bench.py — S3 on `airgap emulator` side by side with moto and s3rver.

Measures, for each server in the same run and with the same client load
(CLIENTS processes, keep-alive HTTP/1.1, path-style, SigV2-signed requests):
  put 4K / get 4K     PutObject / GetObject of 4 KiB objects per second
  put 1M / get 1M     the same with 1 MiB objects
  rss 1G              resident memory of the server after it stored 1 GiB
                      (1024 objects of 1 MiB)

moto runs when `python3 -m moto.server` works ($MOTO_PYTHON or the python3
first on PATH); s3rver when `s3rver` is on PATH or $S3RVER_BIN names it (npm
install s3rver in any folder). A missing peer's column says so; the run still
succeeds. Not a test: run it by hand on an optimised (non-sanitizer) build:

  AIRGAP_BIN=build/release/agent/airgap /usr/bin/python3 tests/bench/s3_bench.py
Targets (issue 7): >= 20x moto's and >= 5x s3rver's throughput; RSS after
1 GiB stored <= 64 MiB.
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
import subprocess
import sys
import tempfile
import time

AIRGAP = os.environ.get("AIRGAP_BIN", "airgap")
CLIENTS = int(os.environ.get("CLIENTS", "2"))
SECONDS = float(os.environ.get("SECONDS_PER_RUN", "3"))
STORE_MIB = int(os.environ.get("STORE_MIB", "1024"))
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
    sts = "%s\n\n%s\n\nx-amz-date:%s\n%s" % (method, "application/octet-stream", date, path)
    sig = base64.b64encode(hmac.new(SECRET, sts.encode(), hashlib.sha1).digest()).decode()
    return {"x-amz-date": date, "Content-Type": "application/octet-stream",
            "Authorization": "AWS %s:%s" % (KEY.decode(), sig)}


def request(conn, method, path, body=None):
    conn.request(method, path, body=body, headers=signed(method, path))
    resp = conn.getresponse()
    data = resp.read()
    if resp.status >= 300:
        raise RuntimeError("%s %s: %d %r" % (method, path, resp.status, data[:200]))
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


def worker(port, op, size, seconds, wid, out):
    body = os.urandom(size)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    n = errors = 0
    key = "/bench/w%d-%d" % (wid, size)
    end = time.monotonic() + seconds
    try:
        if op == "get":
            request(conn, "PUT", key, body)
        while time.monotonic() < end:
            try:
                if op == "put":
                    request(conn, "PUT", "%s-%d" % (key, n % 64), body)
                else:
                    data = request(conn, "GET", key)
                    assert len(data) == size
                n += 1
            except (RuntimeError, AssertionError):
                errors += 1  # answered, but wrongly (moto's 500s under load)
    except (OSError, http.client.HTTPException):
        errors += 1
    conn.close()
    out.put((n, errors))


def rate(port, op, size):
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=worker, args=(port, op, size, SECONDS, i, q))
             for i in range(CLIENTS)]
    for p in procs:
        p.start()
    got = [q.get() for _ in procs]
    for p in procs:
        p.join()
    errors = sum(e for _, e in got)
    if errors:
        print("  %s %d-byte objects: %d failed requests (not counted)" % (op, size, errors))
    return sum(n for n, _ in got) / SECONDS


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


def measure(argv, port, env=None):
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, env=env)
    try:
        wait_ready(port, proc)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        request(conn, "PUT", "/bench")
        res = {}
        for size, name in ((4096, "4K"), (1 << 20, "1M")):
            res["put " + name] = rate(port, "put", size)
            res["get " + name] = rate(port, "get", size)
        conn.close()  # idle through the rate runs: servers may have closed it
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mib = os.urandom(1 << 20)
        res["stored"] = 0
        try:
            for i in range(STORE_MIB):
                request(conn, "PUT", "/bench/store-%d" % i, mib)
                res["stored"] = i + 1
        except (OSError, RuntimeError, http.client.HTTPException) as e:
            print("%s failed after storing %d MiB: %s" % (argv[0], res["stored"], str(e)[:100]))
        time.sleep(0.5)
        res["rss 1G"] = tree_rss_kib(proc.pid) / 1024.0
        conn.close()
        return res
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def moto_python():
    candidate = os.environ.get("MOTO_PYTHON") or shutil.which("python3")
    if not candidate:
        return None
    ok = subprocess.run([candidate, "-c", "import moto.server"], capture_output=True)
    return candidate if ok.returncode == 0 else None


def main():
    results, missing = {}, []
    data = tempfile.mkdtemp(prefix="s3-bench-")
    try:
        port = free_port()
        os.mkdir(os.path.join(data, "airgap"))
        results["airgap"] = measure([AIRGAP, "emulator", "--listen", "127.0.0.1:%d" % port,
                                     "--data-dir", os.path.join(data, "airgap")], port)
        py = moto_python()
        if py:
            port = free_port()
            results["moto"] = measure([py, "-m", "moto.server", "-p", str(port)], port)
        else:
            missing.append("moto: unavailable (no `python3 -m moto.server`; set MOTO_PYTHON)")
        s3rver = os.environ.get("S3RVER_BIN") or shutil.which("s3rver")
        if s3rver:
            port = free_port()
            os.mkdir(os.path.join(data, "s3rver"))
            results["s3rver"] = measure([s3rver, "--silent", "--port", str(port), "--address",
                                         "127.0.0.1", "--directory",
                                         os.path.join(data, "s3rver")], port)
        else:
            missing.append("s3rver: unavailable (npm install s3rver; set S3RVER_BIN)")
    finally:
        shutil.rmtree(data, ignore_errors=True)
    names = list(results)
    print("%-12s" % "" + "".join("%14s" % n for n in names))
    for metric in ("put 4K", "get 4K", "put 1M", "get 1M", "rss 1G"):
        unit = "MiB" if metric.startswith("rss") else "/s"
        print("%-12s" % metric + "".join("%10.1f %-3s" % (results[n][metric], unit)
                                         for n in names))
    for peer in names[1:]:
        ratios = ["%s %.1fx" % (m, results["airgap"][m] / max(results[peer][m], 1e-9))
                  for m in ("put 4K", "get 4K", "put 1M", "get 1M")]
        print("airgap/%s: %s" % (peer, ", ".join(ratios)))
    for line in missing:
        print(line)
    print("stored for rss: " + ", ".join("%s %d MiB" % (n, results[n]["stored"]) for n in names))
    print("(client: %d processes, %.0f s per figure; %d MiB asked to be stored for rss)"
          % (CLIENTS, SECONDS, STORE_MIB))


if __name__ == "__main__":
    sys.exit(main())
