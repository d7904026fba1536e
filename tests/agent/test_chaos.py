#!/usr/bin/python3
"""Chaos (issue #12 item 9): the real `airgap queue` and `airgap agent`, real
Docker (network none), real overlayfs and a local git repository. While jobs
run, the agent, a job supervisor or the queue is killed with SIGKILL at
seeded random points and started again (the agent under a new id each time,
as another agent on the same host). The seed is printed; AIRGAP_CHAOS_SEED
replays a run.

Asserts, once everything settled:
- every job the queue acknowledged exists and ended final;
- no job ran twice at once: a sampler watches the job containers (at most
  one running per job), and each run's script writes START/END lines to the
  job's log through the queue, which must never show an END without the
  START before it (two runs interleaved);
- nothing leaked: no container of the test's agents, no mount under the
  test's directory, nothing in the work directory, no process holding a
  file under it.
"""
import json
import os
import random
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

CHAOS_SECONDS = 45
SETTLE_SECONDS = 240
FINAL = ("passed", "failed", "errored", "canceled")
SCRIPT = ('read t x < /proc/uptime; echo "START $t"; sleep 2; '
          'read t x < /proc/uptime; echo "END $t"')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def holders_under(path):
    """Processes with an open file under path (supervisors hold the life lock)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            for fd in os.listdir("/proc/%s/fd" % entry):
                try:
                    if os.readlink("/proc/%s/fd/%s" % (entry, fd)).startswith(path + "/"):
                        pids.append(int(entry))
                        break
                except OSError:
                    pass
        except OSError:
            pass
    return pids


class Chaos:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.root = tempfile.mkdtemp(prefix="airgap-chaos-")
        self.data = os.path.join(self.root, "queue")
        self.work = os.path.join(self.root, "work")
        self.cache = os.path.join(self.root, "cache")
        self.repo = make_repo(self.root, {"README": "chaos\n"})
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.queue = None
        self.agent = None
        self.agent_ids = []
        self.jobs = []
        self.overlaps = []
        self.sampling = True
        # The repository is a local path: agents that refuse those unless
        # told (issue #12 item 2) are told.
        agent_help = subprocess.run([AIRGAP, "agent", "--help"], capture_output=True,
                                    text=True).stdout
        self.local_repos = ["--allow-local-repos"] if "--allow-local-repos" in agent_help else []
        self.start_queue()
        self.agent_token = run(AIRGAP, "queue", "token", "create", "--role", "agent",
                               "--data", self.data).stdout.strip()
        self.token = run(AIRGAP, "queue", "token", "create", "--role", "client",
                         "--data", self.data).stdout.strip()
        self.start_agent()

    def log(self, what):
        print("chaos +%.1fs: %s" % (time.monotonic() - self.t0, what), flush=True)

    def start_queue(self):
        self.queue = subprocess.Popen(
            [AIRGAP, "queue", "--listen", "127.0.0.1:%d" % self.port, "--data", self.data,
             "--lease-ttl", "4", "--max-attempts", "20", "--log-level", "error"],
            stdout=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the queue did not come back on port %d" % self.port)

    def start_agent(self):
        agent_id = "chaos-%d-%d" % (os.getpid(), len(self.agent_ids))
        self.agent_ids.append(agent_id)
        self.agent = subprocess.Popen(
            [AIRGAP, "agent", "--queue", self.url, "--token", self.agent_token,
             "--id", agent_id, "--slots", "2", "--network", "none", "--cache", self.cache,
             "--work", self.work, "--log-level", "error", "--pull", "never"]
            + self.local_repos)

    def api(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.read()

    def submit(self):
        spec = {"repo": self.repo, "image": BUSYBOX, "script": SCRIPT, "timeout": 120}
        try:
            job_id = json.loads(self.api("POST", "/v1/jobs", spec))["id"]
        except (OSError, urllib.error.URLError):
            return  # not acknowledged: the queue is down
        self.jobs.append(job_id)

    def sample(self):
        """Running job containers per job, every 0.3 s: never two."""
        mine = set()
        while self.sampling:
            out = subprocess.run(
                ["docker", "ps", "--filter", "label=airgap.role=job", "--format",
                 '{{.Label "airgap.job"}}'], capture_output=True, text=True).stdout.split()
            mine = set(self.jobs)
            seen = {}
            for job_id in out:
                if job_id in mine:
                    seen[job_id] = seen.get(job_id, 0) + 1
            for job_id, n in seen.items():
                if n > 1:
                    self.overlaps.append((job_id, n))
            time.sleep(0.3)

    def supervisors(self):
        agent = self.agent.pid if self.agent else -1
        return [pid for pid in holders_under(self.work) if pid != agent]

    def strike(self):
        target = self.rng.choice(("agent", "supervisor", "queue"))
        if target == "agent":
            self.log("kill -9 agent %s" % self.agent_ids[-1])
            self.agent.kill()
            self.agent.wait()
            time.sleep(self.rng.uniform(0.2, 2.0))
            self.start_agent()
        elif target == "supervisor":
            victims = sorted(self.supervisors())
            if not victims:
                return
            victim = self.rng.choice(victims)
            self.log("kill -9 supervisor %d" % victim)
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            self.log("kill -9 queue")
            self.queue.kill()
            self.queue.wait()
            time.sleep(self.rng.uniform(0.5, 3.0))
            self.start_queue()

    def run(self):
        self.t0 = time.monotonic()
        sampler = threading.Thread(target=self.sample, daemon=True)
        sampler.start()
        for _ in range(6):
            self.submit()
        next_submit = time.monotonic() + 3
        while time.monotonic() - self.t0 < CHAOS_SECONDS:
            time.sleep(self.rng.uniform(1.5, 4.0))
            if time.monotonic() >= next_submit:
                self.submit()
                next_submit = time.monotonic() + 3
            self.strike()
        self.log("settling: %d job(s) acknowledged" % len(self.jobs))
        states = self.settle()
        self.sampling = False
        sampler.join()
        return states

    def settle(self):
        deadline = time.monotonic() + SETTLE_SECONDS
        states = {}
        while time.monotonic() < deadline:
            try:
                states = {j: json.loads(self.api("GET", "/v1/jobs/" + j)) for j in self.jobs}
            except urllib.error.HTTPError as e:
                raise AssertionError("an acknowledged job is gone: %s" % e)
            if all(job["state"] in FINAL for job in states.values()):
                return states
            time.sleep(1)
        raise AssertionError("jobs not final after %d s: %s" % (
            SETTLE_SECONDS, {j: s["state"] for j, s in states.items()
                             if s["state"] not in FINAL}))

    def stop(self):
        # Supervisors of killed agents finish their teardown on their own.
        deadline = time.time() + 60
        while self.supervisors() and time.time() < deadline:
            time.sleep(0.5)
        if self.agent and self.agent.poll() is None:
            self.agent.send_signal(signal.SIGTERM)
            self.agent.wait(timeout=120)
        self.queue.terminate()
        self.queue.wait(timeout=30)


def interleaved(log):
    """An END with no START before it since the last END: two runs at once."""
    open_run = False
    for line in log.splitlines():
        if line.startswith("START "):
            open_run = True
        elif line.startswith("END "):
            if not open_run:
                return True
            open_run = False
    return False


def main():
    seed = int(os.environ.get("AIRGAP_CHAOS_SEED") or time.time_ns() % 1000000)
    print("chaos seed %d (AIRGAP_CHAOS_SEED=%d replays it)" % (seed, seed), flush=True)
    chaos = Chaos(seed)
    failures = []
    try:
        states = chaos.run()
        for job_id, job in states.items():
            log = chaos.api("GET", "/v1/jobs/%s/logs?offset=0" % job_id).decode(
                errors="replace")
            if interleaved(log):
                failures.append("job %s: two runs interleaved in its log:\n%s" % (job_id, log))
            if job["state"] == "passed" and "END " not in log:
                failures.append("job %s passed without its END line:\n%s" % (job_id, log))
        counts = {}
        for job in states.values():
            key = job["state"] + ("/" + job["reason"] if job.get("reason") else "")
            counts[key] = counts.get(key, 0) + 1
        print("chaos: %d job(s): %s" % (len(states), counts), flush=True)
        if not any(job["state"] == "passed" for job in states.values()):
            failures.append("no job passed")
        if chaos.overlaps:
            failures.append("job containers running twice at once: %s" % chaos.overlaps)
    finally:
        chaos.stop()
    for agent_id in chaos.agent_ids:
        left = containers("airgap.agent=" + agent_id)
        if left:
            failures.append("containers of agent %s left: %s" % (agent_id, left))
    if mounts_under(chaos.root):
        failures.append("mounts left: %s" % mounts_under(chaos.root))
    if os.path.isdir(chaos.work) and os.listdir(chaos.work):
        failures.append("work directory not empty: %s" % os.listdir(chaos.work))
    if holders_under(chaos.root):
        failures.append("processes left holding files under %s: %s"
                        % (chaos.root, holders_under(chaos.root)))
    if not failures:
        shutil.rmtree(chaos.root, ignore_errors=True)
    for failure in failures:
        print("FAIL: " + failure, flush=True)
    print("%d passed, %d failed" % (1 if not failures else 0, 1 if failures else 0))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
