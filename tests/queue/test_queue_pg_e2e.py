#!/usr/bin/python3
"""End-to-end tests of `airgap queue --database postgres://…`: several queue
servers on one throwaway PostgreSQL (tests/lib/pg-up, removed at the end).

Two servers share the database: a lease parked on one is woken by a
submission through the other, and so are log followers; /metrics is right on
each; a `kill -9` of a server mid-run and a restart of PostgreSQL lose no
acknowledged submission (requests during the outage get 503 and are retried);
a schema newer than the binary is refused; retention removes exactly the
finished jobs past --retention. Exit 77 when PostgreSQL is not installed.
"""
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_queue_e2e as q  # noqa: E402  (helpers: Server, call, wait_for)

LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib")
PG_DIR = None
URL = None


def pg_bin(name):
    dirs = sorted(d for d in os.listdir("/usr/lib/postgresql"))
    return "/usr/lib/postgresql/%s/bin/%s" % (dirs[-1], name)


def as_postgres(argv):
    return (["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []) + argv


def psql(sql):
    out = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", URL, "-c", sql],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def reset_db():
    psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")


class PgCtx(q.Ctx):
    """A server on the shared database; tokens live in the database too."""

    def __init__(self, *extra, tokens=None):
        self.srv = q.Server("--database", URL, *extra)
        self.url = self.srv.url
        if tokens:
            self.client, self.agent = tokens
        else:
            self.client = self.token("client")
            self.agent = self.token("agent")

    def token(self, role):
        out = subprocess.run([q.BIN, "queue", "token", "create", "--role", role, "--database", URL],
                             capture_output=True, text=True, check=True)
        return out.stdout.strip()


def pair(*extra):
    a = PgCtx(*extra)
    b = PgCtx(*extra, tokens=(a.client, a.agent))
    return a, b


# --------------------------------------------------------------------- tests

def test_two_servers_wake_each_other():
    reset_db()
    a, b = pair()
    try:
        got = {}

        def parked():
            got["job"] = a.lease(wait=30, timeout=60)
            got["at"] = time.monotonic()

        t = threading.Thread(target=parked)
        t.start()
        q.wait_for(lambda: "airgap_queue_lease_waiters 1" in
                   q.call("GET", a.url + "/metrics")[2].decode(), "a parked lease on A")
        sent = time.monotonic()
        job = b.submit()
        t.join(20)
        assert not t.is_alive(), "the lease parked on A was not woken by a submit on B"
        assert got["job"]["id"] == job, got
        latency = got["at"] - sent
        print("    cross-server wake-up: %.1f ms" % (latency * 1000))
        assert latency < 5, latency  # woken, not timed out (the figure is the bench's)
        lease = got["job"]["lease"]

        # a follower on B sees what the agent appends through A
        streamed = []

        def follow():
            req = urllib.request.Request("%s/v1/jobs/%s/logs?offset=0&follow=1" % (b.url, job),
                                         headers={"Authorization": "Bearer " + b.client})
            with urllib.request.urlopen(req, timeout=60) as r:
                while True:
                    chunk = r.read1(65536)
                    if not chunk:
                        break
                    streamed.append(chunk)

        f = threading.Thread(target=follow)
        f.start()
        time.sleep(0.3)
        st, _, body = a.append(job, lease, 0, b"hello\n")
        assert st == 200, body
        q.wait_for(lambda: b"".join(streamed) == b"hello\n", "the follower on B to get the bytes")
        assert f.is_alive()
        st, _, _ = a.complete(job, lease)
        assert st == 200
        f.join(20)
        assert not f.is_alive(), "the follower on B did not end with the job"

        # /metrics: the job counts are the database's, the same on each server
        b.submit()
        for c in (a, b):
            text = q.call("GET", c.url + "/metrics")[2].decode()
            assert 'airgap_queue_jobs{state="passed"} 1' in text, text
            assert 'airgap_queue_jobs{state="queued"} 1' in text, text
    finally:
        a.close()
        b.close()


def submit_until(ctxs, stop, acked, errors):
    """Submits in a loop through ctxs in turn; records acknowledged ids."""
    i = 0
    while not stop.is_set():
        c = ctxs[i % len(ctxs)]
        i += 1
        try:
            st, _, body = q.call("POST", c.url + "/v1/jobs", c.client, q.SPEC, timeout=10)
        except Exception as e:  # a killed server: connection refused or reset
            errors.append(repr(e))
            time.sleep(0.01)
            continue
        if st == 201:
            acked.append(body["id"])
        else:
            errors.append(st if st == 503 else (st, body))  # 503: the database is away: retry
            time.sleep(0.02)


def all_present(c, ids):
    for job in ids:
        st, _, body = q.call("GET", c.url + "/v1/jobs/" + job, c.client)
        assert st == 200, (job, st, body)


def test_kill9_server_and_restart_postgres():
    reset_db()
    a, b = pair()
    try:
        stop = threading.Event()
        acked, errors = [], []
        t = threading.Thread(target=submit_until, args=([a, b], stop, acked, errors))
        t.start()
        time.sleep(1.0)
        a.srv.kill9()  # mid-run
        time.sleep(0.5)
        stop.set()
        t.join(30)
        assert acked, "nothing was submitted"
        all_present(b, acked)
        print("    kill -9: %d acknowledged, all present" % len(acked))

        # PostgreSQL restarts under B: 503 meanwhile, then everything works again
        stop = threading.Event()
        acked2, errors2 = [], []
        t = threading.Thread(target=submit_until, args=([b], stop, acked2, errors2))
        t.start()
        time.sleep(0.5)
        subprocess.run(as_postgres([pg_bin("pg_ctl"), "-D", PG_DIR + "/data", "-m", "fast", "-w",
                                    "restart", "-l", PG_DIR + "/server.log"]),
                       check=True, capture_output=True)
        n = len(acked2)
        q.wait_for(lambda: len(acked2) > n + 5, "submissions after the restart", timeout=30)
        stop.set()
        t.join(30)
        all_present(b, acked + acked2)
        # every refusal was a clear 503 (or, for the killed server, a dead socket)
        assert all(e == 503 or isinstance(e, str) for e in errors + errors2), errors + errors2
        print("    restart: %d acknowledged, %d refused meanwhile (503)" %
              (len(acked2), len([e for e in errors2 if e == 503])))
        # a lease and a final status through B after the outage
        job = b.lease()
        assert job, "no job to lease after the restart"
        st, _, _ = b.complete(job["id"], job["lease"])
        assert st == 200
        assert b.get(job["id"])["state"] == "passed"
    finally:
        a.srv.stop()
        b.close()


def test_newer_schema_refused():
    reset_db()
    a = PgCtx()
    a.close()
    psql("INSERT INTO schema_version (version) VALUES (99)")
    p = subprocess.run([q.BIN, "queue", "--listen", "127.0.0.1:0", "--database", URL],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "newer than this airgap" in p.stderr, p.stderr
    assert psql("SELECT count(*) FROM schema_version WHERE version = 1") == "1"


def test_retention():
    reset_db()
    a = PgCtx("--retention", "2")
    try:
        old = a.submit()
        job = a.lease()
        assert job["id"] == old
        st, _, _ = a.append(old, job["lease"], 0, b"bytes\n")
        assert st == 200
        st, _, _ = a.complete(old, job["lease"])
        assert st == 200
        waiting = a.submit()
        running = a.submit()
        r = a.lease()
        assert r["id"] == waiting
        # the finished job goes once it is older than 2 s (passes every 10 s);
        # queued and running jobs stay whatever their age
        q.wait_for(lambda: q.call("GET", a.url + "/v1/jobs/" + old, a.client)[0] == 404,
                   "retention to remove the finished job", timeout=30)
        assert psql("SELECT count(*) FROM logs WHERE job = '%s'" % old) == "0"
        assert a.get(waiting)["state"] == "running"
        assert a.get(running)["state"] == "queued"
    finally:
        a.close()


def main():
    global PG_DIR, URL
    PG_DIR = tempfile.mkdtemp(prefix="airgap-pg-e2e-")
    up = subprocess.run([os.path.join(LIB, "pg-up"), PG_DIR], capture_output=True, text=True)
    if up.returncode == 77:
        print("skipped: " + up.stderr.strip())
        os.rmdir(PG_DIR)
        return 77
    try:
        assert up.returncode == 0, up.stderr
        URL = up.stdout.strip()
        sys.argv = sys.argv[:1] + sys.argv[1:]
        tests = [(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")]
        failures = 0
        for name, fn in tests:
            if sys.argv[1:] and name not in sys.argv[1:]:
                continue
            t0 = time.monotonic()
            try:
                fn()
                print("ok   %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
            except Exception:
                failures += 1
                print("FAIL %s" % name, flush=True)
                q.traceback.print_exc()
        print("%d failure(s)" % failures)
        return 1 if failures else 0
    finally:
        subprocess.run([os.path.join(LIB, "pg-down"), PG_DIR])


if __name__ == "__main__":
    sys.exit(main())
