#!/usr/bin/python3
"""Agents that fail over (issue #18): two `airgap queue` servers on one
throwaway PostgreSQL (tests/lib/pg-up), two real agents given both servers
(`--queue A,B` and `--queue B,A`), real Docker (network none), real overlayfs.

While jobs run, queue server A is killed with SIGKILL and stays dead,
PostgreSQL restarts, and one agent is killed and replaced by one that names A
first. Asserts,
once everything settled:
- every job the queue acknowledged ended passed (a job's supervisor outlives
  its agent, and its heartbeats and log go on through the other server);
- each job's log is complete and in order: START, lines 1..N, END, with no
  line lost or repeated across the switch between servers;
- no job ran twice at once (no START after a START without its END);
- nothing leaked: no container of the test's agents, no mount under the
  test's directory.
Exit 77 when PostgreSQL is not installed.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_agent_e2e import AIRGAP, BUSYBOX, containers, make_repo, mounts_under, run  # noqa: E402

LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib")
JOBS = 24
LINES = 40
# Each line is written a little apart, so the log is mid-upload when a server dies.
SCRIPT = ('echo START; i=1; while [ $i -le %d ]; do echo "line $i"; i=$((i+1)); '
          'sleep 0.1; done; echo END' % LINES)
FINAL = ("passed", "failed", "errored", "canceled")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin(name):
    dirs = sorted(os.listdir("/usr/lib/postgresql"))
    return "/usr/lib/postgresql/%s/bin/%s" % (dirs[-1], name)


def as_postgres(argv):
    return (["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []) + argv


class Failover:
    def __init__(self, pg_dir, database):
        self.pg_dir = pg_dir
        self.database = database
        self.root = tempfile.mkdtemp(prefix="airgap-failover-")
        self.ports = [free_port(), free_port()]
        self.urls = ["http://127.0.0.1:%d" % p for p in self.ports]
        self.servers = [None, None]
        self.agents = {}
        self.seq = 0
        for i in (0, 1):
            self.start_server(i)
        self.agent_token = run(AIRGAP, "queue", "token", "create", "--role", "agent",
                               "--database", database).stdout.strip()
        self.token = run(AIRGAP, "queue", "token", "create", "--role", "client",
                         "--database", database).stdout.strip()

    def start_server(self, i):
        self.servers[i] = subprocess.Popen(
            [AIRGAP, "queue", "--listen", "127.0.0.1:%d" % self.ports[i], "--database",
             self.database, "--lease-ttl", "20", "--log-level", "warn"],
            stdout=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.urls[i] + "/healthz", timeout=2).read()
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise AssertionError("queue server %d did not start" % i)

    def kill_server(self, i):
        self.servers[i].kill()
        self.servers[i].wait()

    def start_agent(self, order):
        self.seq += 1
        agent_id = "failover-%d-%d" % (os.getpid(), self.seq)
        queue = ",".join(self.urls[i] for i in order)
        self.agents[agent_id] = subprocess.Popen(
            [AIRGAP, "agent", "--queue", queue, "--token", self.agent_token, "--id", agent_id,
             "--slots", "2", "--network", "none", "--cache", os.path.join(self.root, "cache"),
             "--work", os.path.join(self.root, "work"), "--log-level", "warn", "--pull", "never",
             "--allow-local-repos"])
        return agent_id

    def api(self, method, path, body=None):
        """Through whichever server answers, as a client given both would."""
        data = json.dumps(body).encode() if body is not None else None
        last = None
        for _ in range(100):
            for url in self.urls:
                req = urllib.request.Request(url + path, data=data, method=method)
                req.add_header("Authorization", "Bearer " + self.token)
                if data is not None:
                    req.add_header("Content-Type", "application/json")
                try:
                    with urllib.request.urlopen(req, timeout=30) as resp:
                        return resp.read()
                except urllib.error.HTTPError as e:
                    if e.code < 500:
                        raise
                    last = e
                except (urllib.error.URLError, OSError) as e:
                    last = e
            time.sleep(0.2)
        raise AssertionError("no queue server answered %s %s: %s" % (method, path, last))

    def close(self):
        for p in self.agents.values():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in self.agents.values():
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for s in self.servers:
            if s and s.poll() is None:
                s.terminate()
                s.wait(timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)


def check_log(job_id, log):
    lines = [line for line in log.splitlines() if not line.startswith("[airgap]")]
    starts = [i for i, line in enumerate(lines) if line == "START"]
    assert starts, "job %s: no START in its log:\n%s" % (job_id, log)
    body = lines[starts[-1]:]  # the last attempt's run
    expected = ["START"] + ["line %d" % i for i in range(1, LINES + 1)] + ["END"]
    assert body == expected, "job %s: log incomplete or out of order:\n%s" % (job_id, log)
    for s in starts[:-1]:  # an earlier attempt may have been cut short, never interleaved
        rest = lines[s + 1:]
        nxt = rest.index("START") if "START" in rest else len(rest)
        assert "START" not in rest[:nxt], job_id


def scenario(f, repo):
    agents = [f.start_agent((0, 1)), f.start_agent((1, 0))]
    jobs = []
    for n in range(JOBS):
        spec = {"repo": repo, "image": BUSYBOX, "script": SCRIPT, "timeout": 300}
        jobs.append(json.loads(f.api("POST", "/v1/jobs", spec))["id"])
        if n == 6:
            time.sleep(2)
            f.kill_server(0)  # A dies mid-run; agent 1 must go on through B
    time.sleep(3)
    subprocess.run(as_postgres([pg_bin("pg_ctl"), "-D", f.pg_dir + "/data", "-m", "fast", "-w",
                                "restart", "-l", f.pg_dir + "/server.log"]),
                   check=True, capture_output=True)
    time.sleep(2)
    # One agent dies; its supervisors finish its jobs, and its replacement is
    # told A first, which stays dead to the end: everything goes through B.
    f.agents[agents[1]].kill()
    f.agents[agents[1]].wait()
    f.start_agent((0, 1))

    deadline = time.time() + 300
    states = {}
    while time.time() < deadline:
        states = {j: json.loads(f.api("GET", "/v1/jobs/" + j))["state"] for j in jobs}
        if all(s in FINAL for s in states.values()):
            break
        time.sleep(1)
    assert all(s in FINAL for s in states.values()), states
    for j in jobs:
        log = f.api("GET", "/v1/jobs/%s/logs?offset=0" % j).decode(errors="replace")
        assert states[j] == "passed", "job %s ended %s:\n%s" % (j, states[j], log)
        check_log(j, log)


def main():
    pg_dir = tempfile.mkdtemp(prefix="airgap-failover-pg-")
    up = subprocess.run([os.path.join(LIB, "pg-up"), pg_dir], capture_output=True, text=True)
    if up.returncode == 77:
        print("skipped: " + up.stderr.strip())
        os.rmdir(pg_dir)
        return 77
    f = None
    repos = tempfile.mkdtemp(prefix="airgap-failover-repo-")
    try:
        assert up.returncode == 0, up.stderr
        f = Failover(pg_dir, up.stdout.strip())
        repo = make_repo(repos, {"README": "failover\n"})
        scenario(f, repo)
        print("ok: %d jobs passed across a kill -9 of a queue server, a PostgreSQL restart "
              "and a kill -9 of an agent" % JOBS)
    finally:
        if f:
            f.close()
            leftovers = [c for a in f.agents for c in containers("airgap.agent=" + a)]
            assert not leftovers, leftovers
            assert not mounts_under(f.root), mounts_under(f.root)
        subprocess.run([os.path.join(LIB, "pg-down"), pg_dir])
        shutil.rmtree(repos, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
