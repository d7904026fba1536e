#!/usr/bin/python3
"""End-to-end tests of `airgap queue` over real HTTP on 127.0.0.1, and of the
client commands (submit, jobs, show, logs, cancel, wait) against it.

Every server runs from $AIRGAP_BIN with its own temporary data directory and a
port it picked itself (port 0), and is stopped with SIGTERM at the end of its
test; a clean exit (status 0, so no sanitizer report) is part of each test.
"""
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

BIN = os.environ.get("AIRGAP_BIN")
if not BIN:
    sys.exit("AIRGAP_BIN is not set")

SPEC = {"repo": "https://git.example/app.git", "image": "debian:bookworm", "script": "make test"}


class Server:
    def __init__(self, *extra, data=None):
        self.own_dir = data is None
        self.data = data or tempfile.mkdtemp(prefix="airgap-queue-e2e-")
        self.extra = extra
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [BIN, "queue", "--listen", "127.0.0.1:0", "--data", self.data, *self.extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening on " not in line:
            self.proc.kill()
            raise AssertionError("queue did not start: %r %s" % (line, self.proc.stderr.read()))
        self.url = line.strip().split("listening on ")[1]
        # drain stderr so the server never blocks on a full pipe
        self.errors = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stderr:
            self.errors.append(line)

    def token(self, role):
        out = subprocess.run([BIN, "queue", "token", "create", "--role", role, "--data", self.data],
                             capture_output=True, text=True, check=True)
        return out.stdout.strip()

    def stop(self, remove=True):
        """SIGTERM; asserts a clean exit (sanitizers report through the status)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise AssertionError("queue did not stop on SIGTERM")
            time.sleep(0.1)
            assert rc == 0, "queue exited %d: %s" % (rc, "".join(self.errors[-30:]))
        if remove and self.own_dir:
            shutil.rmtree(self.data, ignore_errors=True)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def wait_for(predicate, what, timeout=20):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.05)


def call(method, url, token=None, body=None, headers=None, timeout=30):
    """Returns (status, headers, parsed JSON or raw bytes)."""
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        if isinstance(body, (bytes, bytearray)):
            data = bytes(body)
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, hdrs, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, e.headers, e.read()
    ctype = hdrs.get("Content-Type", "") or ""
    if raw and ctype.startswith("application/json"):
        return status, hdrs, json.loads(raw)
    return status, hdrs, raw


def oversize_status(url, path, token, length, headers=None):
    """Announces a body of `length` bytes and reads the answer without sending
    it: a server must refuse before reading (urllib would hit a broken pipe)."""
    host, port = url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.putrequest("POST", path)
        conn.putheader("Authorization", "Bearer " + token)
        conn.putheader("Content-Length", str(length))
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


class Ctx:
    """A running server with one client and one agent token."""

    def __init__(self, *extra):
        self.srv = Server(*extra)
        self.url = self.srv.url
        self.client = self.srv.token("client")
        self.agent = self.srv.token("agent")

    def submit(self, spec=None, expect=201):
        st, _, body = call("POST", self.url + "/v1/jobs", self.client, spec or SPEC)
        assert st == expect, (st, body)
        return body["id"] if st == 201 else body

    def get(self, job):
        st, _, body = call("GET", self.url + "/v1/jobs/" + job, self.client)
        assert st == 200, (st, body)
        return body

    def lease(self, agent="agent-1", labels=(), wait=0, timeout=60):
        st, _, body = call("POST", self.url + "/v1/leases", self.agent,
                           {"agent": agent, "labels": list(labels), "wait": wait}, timeout=timeout)
        if st == 204:
            return None
        assert st == 200, (st, body)
        return body

    def heartbeat(self, job, lease):
        return call("POST", "%s/v1/jobs/%s/heartbeat" % (self.url, job), self.agent,
                    {"lease": lease})

    def complete(self, job, lease, status="passed", exit_code=0, reason=None):
        body = {"lease": lease, "status": status, "exit_code": exit_code}
        if reason:
            body["reason"] = reason
        return call("POST", "%s/v1/jobs/%s/complete" % (self.url, job), self.agent, body)

    def release(self, job, lease, reason):
        return call("POST", "%s/v1/jobs/%s/release" % (self.url, job), self.agent,
                    {"lease": lease, "reason": reason})

    def append(self, job, lease, offset, data):
        return call("POST", "%s/v1/jobs/%s/logs?offset=%d" % (self.url, job, offset), self.agent,
                    data, headers={"X-Airgap-Lease": lease,
                                   "Content-Type": "application/octet-stream"})

    def log(self, job, offset=0):
        st, _, body = call("GET", "%s/v1/jobs/%s/logs?offset=%d" % (self.url, job, offset),
                           self.client)
        assert st == 200, (st, body)
        return body

    def close(self):
        self.srv.stop()


# --------------------------------------------------------------------- tests

def test_health_and_metrics():
    c = Ctx()
    try:
        st, _, body = call("GET", c.url + "/healthz")
        assert st == 200 and body["status"] == "ok", (st, body)
        c.submit()
        st, hdrs, text = call("GET", c.url + "/metrics")
        assert st == 200
        assert hdrs["Content-Type"].startswith("text/plain")
        text = text.decode()
        assert 'airgap_queue_jobs{state="queued"} 1' in text, text
        assert "# TYPE airgap_queue_wait_seconds histogram" in text
        assert "airgap_queue_jobs_submitted_total 1" in text
    finally:
        c.close()


def test_auth():
    c = Ctx()
    try:
        st, hdrs, _ = call("POST", c.url + "/v1/jobs", None, SPEC)
        assert st == 401 and "Bearer" in hdrs.get("WWW-Authenticate", ""), st
        st, _, _ = call("GET", c.url + "/v1/jobs", "aq_0000000000000000_" + "0" * 64)
        assert st == 401, st
        forged = c.client[:-1] + ("1" if c.client[-1] == "0" else "0")
        st, _, _ = call("GET", c.url + "/v1/jobs", forged)
        assert st == 401, st
        st, _, _ = call("GET", c.url + "/v1/jobs", None, headers={"Authorization": "Basic eDp5"})
        assert st == 401, st
        st, _, _ = call("GET", c.url + "/v1/jobs", "x" * 5000)
        assert st in (401, 431), st
        # right token, wrong role
        st, _, _ = call("POST", c.url + "/v1/jobs", c.agent, SPEC)
        assert st == 403, st
        st, _, _ = call("POST", c.url + "/v1/leases", c.client, {"agent": "a", "wait": 0})
        assert st == 403, st
        job = c.submit()
        st, _, _ = call("GET", c.url + "/v1/jobs/" + job, c.agent)
        assert st == 403, st
        st, _, _ = call("GET", c.url + "/v1/jobs/" + job, c.client)
        assert st == 200
        # tokens are not stored in the clear
        with open(os.path.join(c.srv.data, "queue.db"), "rb") as f:
            db = f.read()
        secret = c.client.split("_")[2].encode()
        assert secret not in db
    finally:
        c.close()


def test_job_lifecycle():
    c = Ctx()
    try:
        spec = dict(SPEC, secrets={"TOKEN": "hunter2"}, env={"A": "1"}, labels=["linux"])
        job = c.submit(spec)
        j = c.get(job)
        assert j["state"] == "queued" and j["attempts"] == 0
        assert j["spec"]["secrets"] == {"TOKEN": "***"}, j["spec"]
        assert j["spec"]["ref"] == "HEAD" and j["spec"]["timeout"] == 3600
        assert c.lease(labels=[]) is None  # labels must match
        got = c.lease(agent="agent-7", labels=["linux", "x86"])
        assert got["id"] == job and got["state"] == "running"
        assert got["spec"]["secrets"] == {"TOKEN": "hunter2"}  # the agent sees them
        lease = got["lease"]
        assert got["lease_ttl"] > 0
        st, _, hb = c.heartbeat(job, lease)
        assert st == 200 and hb["cancel"] is False, (st, hb)
        st, _, _ = c.heartbeat(job, "0" * 32)
        assert st == 409
        st, _, body = c.complete(job, lease, "failed", 3, "exit")
        assert st == 200 and body["state"] == "failed" and body["exit_code"] == 3, body
        st, _, body = c.complete(job, lease, "failed", 3, "exit")  # idempotent
        assert st == 200 and body["state"] == "failed"
        st, _, _ = c.complete(job, lease, "passed", 0)
        assert st == 409
        st, _, _ = c.heartbeat(job, lease)
        assert st == 409
        j = c.get(job)
        assert j["state"] == "failed" and j["agent"] == "agent-7" and j["attempts"] == 1
        assert j["finished_at"] >= j["started_at"] >= j["created_at"] > 0
        # listing: newest first, filter, pagination
        ids = [c.submit() for _ in range(5)]
        st, _, page = call("GET", c.url + "/v1/jobs?limit=2", c.client)
        assert st == 200 and [x["id"] for x in page["jobs"]] == ids[::-1][:2], page
        st, _, page2 = call("GET", c.url + "/v1/jobs?limit=2&before=%d" % page["next"], c.client)
        assert [x["id"] for x in page2["jobs"]] == ids[::-1][2:4]
        st, _, failed = call("GET", c.url + "/v1/jobs?state=failed", c.client)
        assert [x["id"] for x in failed["jobs"]] == [job] and failed["next"] is None
        st, _, _ = call("GET", c.url + "/v1/jobs?state=bogus", c.client)
        assert st == 400
        st, _, _ = call("GET", c.url + "/v1/jobs?limit=0", c.client)
        assert st == 400
        st, _, _ = call("GET", c.url + "/v1/jobs/0123456789abcdef", c.client)
        assert st == 404
    finally:
        c.close()


def test_hostile_input():
    c = Ctx()
    try:
        cases = [
            ({"image": "x", "script": "y"}, "repo"),
            (dict(SPEC, timeout=0), "timeout"),
            (dict(SPEC, timeout="600"), "timeout"),
            (dict(SPEC, env={"BAD-NAME": "v"}), "env.BAD-NAME"),
            (dict(SPEC, labels=["ok", "not ok"]), "labels[1]"),
            (dict(SPEC, ref="--upload-pack=x"), "ref"),
            (dict(SPEC, mountpoint="/a/../../etc"), "mountpoint"),
            (dict(SPEC, surprise=True), "surprise"),
            (dict(SPEC, script="x" * 70000), "script"),
        ]
        for spec, field in cases:
            body = c.submit(spec, expect=400)
            assert body["field"] == field and body["reason"], (field, body)
            assert field in body["error"]
        for raw in [b"", b"{", b"[1,2]", b"null", b'{"repo":"a","repo":"b"}', b"\xff\xfe",
                    b"[" * 100000 + b"]" * 100000, b'{"repo":"a\\u0000"}']:
            st, _, body = call("POST", c.url + "/v1/jobs", c.client, raw,
                               headers={"Content-Type": "application/json"})
            assert st == 400 and body["field"] == "spec", (raw[:20], st, body)
        assert oversize_status(c.url, "/v1/jobs", c.client, 2 << 20) == 413
        for bad in [{"agent": ""}, {"agent": "a b"}, {"agent": "a", "labels": "x"},
                    {"agent": "a", "wait": -1}, {"agent": "a", "wait": "5"},
                    {"agent": "a", "labels": [1]}, {"agent": "a" * 200}]:
            st, _, _ = call("POST", c.url + "/v1/leases", c.agent, bad)
            assert st == 400, (bad, st)
        st, _, _ = call("POST", c.url + "/v1/leases", c.agent, b"not json")
        assert st == 400
        for path in ["/v1/jobs/../../etc/passwd", "/v1/jobs/%2e%2e", "/v1/jobs/ABCDEF0123456789",
                     "/v1/jobs/" + "a" * 300, "/v1/nothing"]:
            st, _, _ = call("GET", c.url + path, c.client)
            assert st == 404, (path, st)
        st, _, _ = call("DELETE", c.url + "/v1/jobs", c.client)
        assert st == 405
        job = c.submit()
        got = c.lease()
        for q in ["offset=-1", "offset=abc", "offset=", "", "offset=99999999999999999999999"]:
            st, _, _ = call("POST", "%s/v1/jobs/%s/logs?%s" % (c.url, job, q), c.agent, b"x",
                            headers={"X-Airgap-Lease": got["lease"]})
            assert st == 400, (q, st)
        st, _, _ = call("POST", "%s/v1/jobs/%s/complete" % (c.url, job), c.agent,
                        {"lease": got["lease"], "status": "done"})
        assert st == 400
        st, _, _ = call("POST", "%s/v1/jobs/%s/complete" % (c.url, job), c.agent,
                        {"lease": got["lease"], "status": "passed", "exit_code": 99999})
        assert st == 400
        assert c.get(job)["state"] == "running"  # refusals changed nothing
        st, _, body = call("GET", c.url + "/healthz")
        assert st == 200
    finally:
        c.close()


def test_long_poll_lease():
    c = Ctx()
    try:
        # nothing arrives: answered 204 when the wait ends
        t0 = time.monotonic()
        assert c.lease(wait=1) is None
        assert time.monotonic() - t0 >= 0.9
        # a job arriving while the agent waits is handed over at once
        result = {}

        def waiter(name, labels):
            try:
                result[name] = c.lease(agent=name, labels=labels, wait=30)
            except Exception as e:  # the server stopping under a parked lease
                result[name] = e
            result[name + "_t"] = time.monotonic()

        tg = threading.Thread(target=waiter, args=("gpu-agent", ["gpu"]))
        tp = threading.Thread(target=waiter, args=("plain-agent", []))
        tg.start()
        tp.start()
        wait_for(lambda: "airgap_queue_lease_waiters 2" in
                 call("GET", c.url + "/metrics")[2].decode(), "two parked lease requests")
        t_submit = time.monotonic()
        gpu_job = c.submit(dict(SPEC, labels=["gpu"]))
        tg.join(15)
        assert not tg.is_alive(), "waiting lease was not answered"
        assert result["gpu-agent"]["id"] == gpu_job
        assert result["gpu-agent_t"] - t_submit < 10  # far less than the 30 s wait
        assert tp.is_alive()  # the unlabelled agent cannot take a gpu job
        plain = c.submit()
        tp.join(15)
        assert not tp.is_alive()
        assert result["plain-agent"]["id"] == plain
        # stopping the server answers parked leases (503) and exits cleanly
        tw = threading.Thread(target=waiter, args=("late", []))
        tw.start()
        wait_for(lambda: "airgap_queue_lease_waiters 1" in
                 call("GET", c.url + "/metrics")[2].decode(), "a parked lease request")
    finally:
        c.close()
    tw.join(15)
    assert not tw.is_alive()


def test_racing_agents():
    c = Ctx()
    try:
        jobs = [c.submit() for _ in range(60)]
        got = []
        lock = threading.Lock()
        errors = []
        all_submitted = threading.Event()

        def agent(n):
            try:
                while True:
                    j = c.lease(agent="racer-%d" % n, wait=1)
                    if j is None:
                        if all_submitted.is_set():
                            return
                        continue
                    with lock:
                        got.append(j["id"])
                    st, _, _ = c.complete(j["id"], j["lease"])
                    assert st == 200
            except Exception as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=agent, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        more = [c.submit() for _ in range(40)]  # submissions while agents race
        all_submitted.set()
        for t in threads:
            t.join(120)
        assert not errors, errors
        assert sorted(got) == sorted(jobs + more), "a job was leased twice or never"
        assert len(set(got)) == len(got)
        for j in jobs + more:
            assert c.get(j)["state"] == "passed"
    finally:
        c.close()


def test_lease_expiry():
    c = Ctx("--lease-ttl", "2", "--max-attempts", "2")
    try:
        job = c.submit()
        first = c.lease(agent="dies-1")
        assert first["attempts"] == 1
        # no heartbeat: the lease expires and the job is queued again
        deadline = time.monotonic() + 10
        while c.get(job)["state"] != "queued":
            assert time.monotonic() < deadline, "lease never expired"
            time.sleep(0.2)
        st, _, _ = c.heartbeat(job, first["lease"])
        assert st == 409  # the first agent learns it lost the job
        st, _, _ = c.append(job, first["lease"], 0, b"late")
        assert st == 409
        second = c.lease(agent="dies-2", wait=5)
        assert second["id"] == job and second["attempts"] == 2
        # heartbeats keep it alive past the ttl
        for _ in range(8):
            time.sleep(0.4)
            st, _, hb = c.heartbeat(job, second["lease"])
            assert st == 200, st
        assert c.get(job)["state"] == "running"
        # then it dies too: max attempts reached → errored/agent_lost
        deadline = time.monotonic() + 10
        while c.get(job)["state"] == "running":
            assert time.monotonic() < deadline, "second lease never expired"
            time.sleep(0.2)
        j = c.get(job)
        assert j["state"] == "errored" and j["reason"] == "agent_lost", j
        assert b"agent_lost" in c.log(job)
        st, _, text = call("GET", c.url + "/metrics")
        assert "airgap_queue_jobs_agent_lost_total 1" in text.decode()
        # a requeued job reaches a waiting agent without polling
        job2 = c.submit()
        c.lease(agent="dies-3")
        t0 = time.monotonic()
        again = c.lease(agent="survivor", wait=20)
        assert again and again["id"] == job2 and time.monotonic() - t0 < 10
        st, _, _ = c.complete(job2, again["lease"])
        assert st == 200
    finally:
        c.close()


def test_outage_longer_than_the_lease():
    """Issue #12 item 4: the queue is down longer than the lease TTL; the work
    finished meanwhile is accepted when the agent reports it after the restart."""
    c = Ctx("--lease-ttl", "2", "--max-attempts", "3")
    try:
        job = c.submit()
        leased = c.lease(agent="survivor")
        c.srv.stop(remove=False)
        time.sleep(4)  # twice the TTL without the queue
        c.srv.start()
        c.url = c.srv.url
        # Without a start-up grace the lease expires within a second of the
        # restart; the agent reports after its next retry, ~1.5 s later.
        time.sleep(1.5)
        j = c.get(job)
        assert j["state"] == "running" and j["attempts"] == 1, j
        st, _, hb = c.heartbeat(job, leased["lease"])
        assert st == 200, (st, hb)
        st, _, body = c.complete(job, leased["lease"])
        assert st == 200 and body["state"] == "passed", (st, body)
        assert c.get(job)["attempts"] == 1  # it never ran twice

        # After the grace a silent lease expires; its result still counts as
        # long as nobody leased the job again.
        late = c.submit()
        first = c.lease(agent="slow")
        wait_for(lambda: c.get(late)["state"] == "queued", "the lease to expire", timeout=15)
        st, _, body = c.complete(late, first["lease"], status="failed", exit_code=3)
        assert st == 200 and body["state"] == "failed" and body["exit_code"] == 3, (st, body)
        assert b"after its lease expired; accepted" in c.log(late)
        assert c.lease(agent="other") is None  # nothing left to run again

        # Once another agent holds it, the expired lease's result is refused.
        again = c.submit()
        old = c.lease(agent="slow")
        wait_for(lambda: c.get(again)["state"] == "queued", "the lease to expire", timeout=15)
        new = c.lease(agent="other", wait=5)
        assert new["id"] == again and new["attempts"] == 2, new
        st, _, _ = c.complete(again, old["lease"])
        assert st == 409, st
        st, _, body = c.complete(again, new["lease"])
        assert st == 200 and body["state"] == "passed", (st, body)
    finally:
        c.close()


def test_release():
    # A long ttl: whatever happens here happens because of the release, not expiry.
    c = Ctx("--lease-ttl", "30", "--max-attempts", "2")
    try:
        job = c.submit()
        first = c.lease(agent="agent-a")
        st, _, _ = c.append(job, first["lease"], 0, b"cloning...\n")
        assert st == 200
        result = {}

        def waiter():
            result["job"] = c.lease(agent="agent-b", wait=30)
            result["t"] = time.monotonic()

        t = threading.Thread(target=waiter)
        t.start()
        wait_for(lambda: "airgap_queue_lease_waiters 1" in
                 call("GET", c.url + "/metrics")[2].decode(), "a parked lease request")
        # handed back: queued again, and the parked request gets it at once
        t0 = time.monotonic()
        st, _, body = c.release(job, first["lease"], "git")
        assert st == 200, (st, body)
        assert body["id"] == job and body["attempts"] == 1, body
        t.join(15)
        assert not t.is_alive(), "the parked lease was not answered"
        second = result["job"]
        assert second["id"] == job and second["attempts"] == 2, second
        assert result["t"] - t0 < 5, "the requeued job waited for something"
        # the first lease is dead now: its release, heartbeat and log are refused
        st, _, _ = c.release(job, first["lease"], "git")
        assert st == 409, st
        st, _, _ = c.heartbeat(job, first["lease"])
        assert st == 409, st
        # the last attempt handed back: errored with the agent's reason
        st, _, body = c.release(job, second["lease"], "docker")
        assert st == 200, (st, body)
        assert (body["state"], body["reason"], body["attempts"]) == ("errored", "docker", 2), body
        st, _, body = c.release(job, second["lease"], "docker")  # idempotent
        assert st == 200 and body["state"] == "errored", (st, body)
        j = c.get(job)
        assert (j["state"], j["reason"]) == ("errored", "docker"), j
        log = c.log(job)
        assert b"cloning...\n" in log
        assert b"attempt 1 handed back by agent agent-a (git); job requeued" in log, log
        assert b"attempt 2 handed back by agent agent-b (docker); no attempts left" in log, log

        # repeated release of a requeued job: same answer; the lease stays dead
        job2 = c.submit()
        l2 = c.lease(agent="agent-c")
        assert l2["id"] == job2
        for _ in range(2):
            st, _, body = c.release(job2, l2["lease"], "git")
            assert st == 200 and body["state"] == "queued", (st, body)
        st, _, _ = c.complete(job2, l2["lease"])
        assert st == 409, st
        assert c.get(job2)["state"] == "queued"

        # cancel requested while running: the release ends it canceled
        l3 = c.lease(agent="agent-d")
        assert l3["id"] == job2
        st, _, _ = call("POST", "%s/v1/jobs/%s/cancel" % (c.url, job2), c.client, {})
        assert st == 200
        st, _, body = c.release(job2, l3["lease"], "git")
        assert st == 200 and body["state"] == "canceled", (st, body)

        # hostile and wrong requests
        job3 = c.submit()
        l4 = c.lease(agent="agent-e")
        url = "%s/v1/jobs/%s/release" % (c.url, job3)
        for bad in ({"lease": l4["lease"]}, {"lease": l4["lease"], "reason": "no spaces"},
                    {"lease": l4["lease"], "reason": "x" * 65}, {"lease": l4["lease"], "reason": 7},
                    {"lease": "short", "reason": "git"}, {"reason": "git"}):
            st, _, _ = call("POST", url, c.agent, bad)
            assert st == 400, (bad, st)
        st, _, _ = call("POST", url, c.agent, "{not json")
        assert st == 400, st
        st, _, _ = call("POST", url, c.client, {"lease": l4["lease"], "reason": "git"})
        assert st == 403, st
        st, _, _ = c.release("0123456789abcdef", l4["lease"], "git")
        assert st == 404, st
        assert c.get(job3)["state"] == "running"  # none of that changed anything
        st, _, _ = c.complete(job3, l4["lease"])
        assert st == 200
        text = call("GET", c.url + "/metrics")[2].decode()
        assert "airgap_queue_releases_total 6" in text, text  # repeats are answered too
    finally:
        c.close()


def test_cancel():
    c = Ctx()
    try:
        queued = c.submit()
        st, _, body = call("POST", "%s/v1/jobs/%s/cancel" % (c.url, queued), c.client)
        assert st == 200 and body["state"] == "canceled", body
        st, _, _ = call("POST", "%s/v1/jobs/%s/cancel" % (c.url, queued), c.client)
        assert st == 409
        assert c.lease() is None  # a canceled job is never leased
        running = c.submit()
        got = c.lease()
        st, _, hb = c.heartbeat(running, got["lease"])
        assert hb["cancel"] is False
        st, _, body = call("POST", "%s/v1/jobs/%s/cancel" % (c.url, running), c.client)
        assert st == 200 and body["state"] == "running" and body["cancel_requested"] is True
        st, _, hb = c.heartbeat(running, got["lease"])
        assert st == 200 and hb["cancel"] is True  # the agent hears about it
        st, _, body = c.complete(running, got["lease"], "canceled", 143, "canceled")
        assert st == 200 and c.get(running)["state"] == "canceled"
    finally:
        c.close()


def test_logs():
    c = Ctx("--log-cap", "4096")
    try:
        job = c.submit()
        got = c.lease()
        lease = got["lease"]
        st, _, body = c.append(job, lease, 0, b"hello ")
        assert st == 200 and body["offset"] == 6
        st, _, body = c.append(job, lease, 0, b"hello ")  # a retry
        assert st == 200 and body["offset"] == 6
        st, _, body = c.append(job, lease, 20, b"gap")  # ahead: resync
        assert st == 409 and body["offset"] == 6, body
        st, _, body = c.append(job, lease, 6, b"world\n")
        assert st == 200 and body["offset"] == 12
        st, _, _ = c.append(job, "f" * 32, 12, b"intruder")
        assert st == 409
        assert c.log(job) == b"hello world\n"
        assert c.log(job, 6) == b"world\n"
        assert c.log(job, 100) == b""

        # follow: a reader streams bytes as they are appended, ends with the job
        streamed = []

        def follow():
            req = urllib.request.Request("%s/v1/jobs/%s/logs?offset=6&follow=1" % (c.url, job),
                                         headers={"Authorization": "Bearer " + c.client})
            with urllib.request.urlopen(req, timeout=60) as r:
                while True:
                    chunk = r.read1(65536)
                    if not chunk:
                        break
                    streamed.append((time.monotonic(), chunk))

        t = threading.Thread(target=follow)
        t.start()
        time.sleep(0.5)
        offset = 12
        sent_at = {}
        for i in range(3):
            line = b"line %d\n" % i
            sent_at[i] = time.monotonic()
            st, _, body = c.append(job, lease, offset, line)
            assert st == 200
            offset = body["offset"]
            time.sleep(0.3)
        assert t.is_alive()  # still following a running job
        st, _, _ = c.complete(job, lease)
        assert st == 200
        t.join(20)
        assert not t.is_alive(), "follow did not end with the job"
        data = b"".join(ch for _, ch in streamed)
        assert data == b"world\nline 0\nline 1\nline 2\n", data
        # bytes arrived while the job ran, not all at the end
        seen, first_line_at = b"", None
        for at, chunk in streamed:
            seen += chunk
            if first_line_at is None and b"line 0" in seen:
                first_line_at = at
        assert first_line_at < sent_at[2], "follow did not stream live"

        # the cap: the log ends with a marker; offsets keep counting
        job2 = c.submit()
        got = c.lease()
        st, _, body = c.append(job2, got["lease"], 0, b"x" * 3000)
        st, _, body = c.append(job2, got["lease"], 3000, b"y" * 3000)
        assert st == 200 and body["offset"] == 6000
        st, _, body = c.append(job2, got["lease"], 6000, b"z" * 10)
        assert st == 200 and body["offset"] == 6010
        text = c.log(job2)
        assert text.startswith(b"x" * 3000 + b"y" * 1096)
        assert b"[airgap: log truncated at 4096 bytes]" in text and b"z" not in text
        assert oversize_status(c.url, "/v1/jobs/%s/logs?offset=6010" % job2, c.agent,
                               1024 * 1024 + 1, {"X-Airgap-Lease": got["lease"]}) == 413
        c.complete(job2, got["lease"])
    finally:
        c.close()


def test_kill9_loses_no_acknowledged_job():
    srv = Server()
    token = srv.token("client")
    acked = []
    lock = threading.Lock()
    stop = threading.Event()

    def submitter(n):
        i = 0
        while not stop.is_set():
            i += 1
            try:
                st, _, body = call("POST", srv.url + "/v1/jobs", token,
                                   dict(SPEC, env={"N": "%d-%d" % (n, i)}), timeout=5)
            except Exception:
                return  # the server died under us: that request was not acknowledged
            if st == 201:
                with lock:
                    acked.append((body["id"], "%d-%d" % (n, i)))

    threads = [threading.Thread(target=submitter, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    srv.kill9()
    stop.set()
    for t in threads:
        t.join(10)
    assert len(acked) > 20, "too few submissions before the kill: %d" % len(acked)
    srv.start()  # same data directory
    try:
        for job, n in acked:
            st, _, body = call("GET", srv.url + "/v1/jobs/" + job, token)
            assert st == 200, "acknowledged job %s lost after kill -9" % job
            assert body["state"] == "queued" and body["spec"]["env"]["N"] == n
        st, _, body = call("GET", srv.url + "/v1/jobs?limit=500", token)
        assert st == 200
    finally:
        srv.stop()


def run_cli(*args, env=None, input=None, timeout=60):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([BIN, *args], capture_output=True, text=True, env=e, input=input,
                          timeout=timeout)


def test_cli():
    c = Ctx()
    env = {"AIRGAP_QUEUE": c.url, "AIRGAP_TOKEN": c.client}
    spec_dir = tempfile.mkdtemp(prefix="airgap-cli-e2e-")
    try:
        r = run_cli("submit", "--repo", "https://git.example/a.git", "--ref", "main", "--image",
                    "debian", "--env", "A=1", "--secret", "S=hidden", "--timeout", "60",
                    "--services", "s3,sqs", "--label", "linux", "--", "echo", "it's", "ok",
                    env=env)
        assert r.returncode == 0, r.stderr
        job = r.stdout.strip()
        j = c.get(job)
        assert j["spec"]["script"] == "echo 'it'\\''s' ok", j["spec"]["script"]
        assert j["spec"]["services"] == ["s3", "sqs"] and j["spec"]["labels"] == ["linux"]
        assert j["spec"]["env"] == {"A": "1"} and j["spec"]["timeout"] == 60
        r = run_cli("show", job, env=env)
        assert r.returncode == 0 and "state:     queued" in r.stdout, r.stdout
        assert "hidden" not in r.stdout and "secret:    S=***" in r.stdout
        r = run_cli("jobs", "--state", "queued", env=env)
        assert r.returncode == 0 and job in r.stdout
        # pages: the cursor printed on stderr leads to the next page
        r = run_cli("jobs", "--limit", "1", env=env)
        assert r.returncode == 0 and job in r.stdout and "more: --before " in r.stderr, r
        cursor = r.stderr.split("more: --before ")[1].split()[0]
        r = run_cli("jobs", "--limit", "1", "--before", cursor, env=env)
        assert r.returncode == 0 and job not in r.stdout and "ID" in r.stdout, r.stdout
        # flags instead of the environment
        r = run_cli("jobs", "--queue", c.url, "--token", c.client)
        assert r.returncode == 0 and job in r.stdout
        r = run_cli("jobs", env={"AIRGAP_QUEUE": c.url, "AIRGAP_TOKEN": c.agent})
        assert r.returncode == 1 and "token" in r.stderr, r.stderr
        # a bad flag value is a usage error (2), named before anything is sent
        r = run_cli("submit", "--repo", "https://git.invalid/r.git", "--image", "i", "--timeout",
                    "999999999", "--", "true", env=env)
        assert r.returncode == 2 and "timeout" in r.stderr, r.stderr
        # a spec the queue refuses (1), with the field named
        bad = os.path.join(spec_dir, "bad.json")
        with open(bad, "w") as f:
            json.dump(dict(SPEC, timeout=999999999), f)
        r = run_cli("submit", "--spec", bad, env=env)
        assert r.returncode == 1 and "timeout" in r.stderr, (r.returncode, r.stderr)
        r = run_cli("submit", "--repo", "r", "--", "true", env=env)
        assert r.returncode == 2
        path = os.path.join(spec_dir, "spec.json")
        with open(path, "w") as f:
            json.dump(SPEC, f)
        r = run_cli("submit", "--spec", path, env=env)
        assert r.returncode == 0, r.stderr
        spec_job = r.stdout.strip()
        assert c.get(spec_job)["spec"]["script"] == "make test"

        # run the first job as an agent would; follow its log; wait for it
        got = c.lease(labels=["linux"])
        assert got["id"] == job
        follower = subprocess.Popen([BIN, "logs", "-f", job], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=dict(os.environ, **env))
        waiter = subprocess.Popen([BIN, "wait", job], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=dict(os.environ, **env))
        time.sleep(0.5)
        c.append(job, got["lease"], 0, b"building\n")
        time.sleep(0.3)
        c.append(job, got["lease"], 9, b"done\n")
        c.complete(job, got["lease"], "failed", 2)
        out, err = follower.communicate(timeout=30)
        assert follower.returncode == 0 and out == b"building\ndone\n", (out, err)
        waiter.communicate(timeout=30)
        assert waiter.returncode == 1, waiter.returncode  # failed
        r = run_cli("logs", job, env=env)
        assert r.returncode == 0 and r.stdout == "building\ndone\n"
        r = run_cli("logs", "--offset", "9", job, env=env)
        assert r.stdout == "done\n"

        # wait's exit status follows the job: passed 0, errored 2, canceled 3
        got = c.lease()
        assert got["id"] == spec_job
        c.complete(spec_job, got["lease"], "passed", 0)
        assert run_cli("wait", spec_job, env=env).returncode == 0
        errored = c.submit()
        got = c.lease()
        c.complete(errored, got["lease"], "errored", -1, "image_pull")
        r = run_cli("wait", errored, env=env)
        assert r.returncode == 2 and "image_pull" in r.stdout, (r.returncode, r.stdout)
        queued = c.submit()
        r = run_cli("cancel", queued, env=env)
        assert r.returncode == 0 and "canceled" in r.stdout
        assert run_cli("wait", queued, env=env).returncode == 3
        r = run_cli("cancel", queued, env=env)
        assert r.returncode == 1
        r = run_cli("wait", "--timeout", "1", c.submit(), env=env)
        assert r.returncode == 4
        r = run_cli("show", "0000000000000000", env=env)
        assert r.returncode == 1 and "no job" in r.stderr.lower() or "404" in r.stderr, r.stderr
        r = run_cli("show", env=env)
        assert r.returncode == 2
        r = run_cli("queue", "token", "create", "--role", "admin", "--data", c.srv.data)
        assert r.returncode == 2
    finally:
        shutil.rmtree(spec_dir, ignore_errors=True)
        c.close()


def main():
    tests = [(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")]
    only = sys.argv[1:]
    failures = 0
    for name, fn in tests:
        if only and name not in only:
            continue
        t0 = time.monotonic()
        try:
            fn()
            print("ok   %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
        except Exception:
            failures += 1
            print("FAIL %s" % name, flush=True)
            traceback.print_exc()
    print("%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
