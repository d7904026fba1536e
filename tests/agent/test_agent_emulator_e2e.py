#!/usr/bin/python3
"""End to end: each job's emulator is the sandbox container's own process,
confined at least as tightly as the job (issue #12 item 1). Real queue and
agent processes, real Docker (network none); the emulator process is looked at
from the host through /proc.

Needs root, a Docker engine and the images of tests/images/build. Uses the
queue/agent harness of test_agent_e2e.py; after every test nothing of the
agent is left (containers, mounts, run directories).
"""
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_agent_e2e as e2e  # noqa: E402

NOBODY = 65534


def sandbox_of(job_id, timeout=60):
    """The sandbox container of a running job (the one whose network namespace
    the job container joined: a warm sandbox carries no airgap.job label) and
    its host pid."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for cid in e2e.containers("airgap.job=" + job_id):
            info = json.loads(e2e.run("docker", "inspect", cid).stdout)[0]
            if info["Config"]["Labels"].get("airgap.role") != "job":
                continue
            mode = info["HostConfig"]["NetworkMode"]
            assert mode.startswith("container:"), mode
            sandbox = json.loads(e2e.run("docker", "inspect", mode.split(":", 1)[1]).stdout)[0]
            if sandbox["Config"]["Labels"].get("airgap.role") == "sandbox" and \
                    sandbox["State"]["Pid"]:
                return sandbox, sandbox["State"]["Pid"]
        time.sleep(0.1)
    raise AssertionError("job %s has no running sandbox" % job_id)


def proc_status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def try_writes(pid, paths):
    """Which of paths a process with the emulator's uid/gid can create, seen
    through the emulator's own mount namespace (/proc/<pid>/root)."""
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(r)
        result = {}
        try:
            os.chroot("/proc/%d/root" % pid)
            os.chdir("/")
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)  # also drops every capability
            for path in paths:
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    os.close(fd)
                    os.unlink(path)
                    result[path] = "written"
                except OSError as e:
                    result[path] = e.strerror
        except BaseException as e:  # report, never run the parent's code
            result["error"] = repr(e)
        os.write(w, json.dumps(result).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(child, 0)
    return json.loads(data)


class EmulatorConfinementTest(unittest.TestCase):
    def setUp(self):
        self.tmp = e2e.tempfile.mkdtemp(prefix="airgap-emu-repo-")
        self.repo = e2e.make_repo(self.tmp, {"README": "x\n", "job.py": JOB})
        self.cluster = None

    def tearDown(self):
        c = self.cluster
        if c:
            c.stop_agent()
            self.assertEqual(e2e.containers("airgap.agent=" + c.agent_id), [])
            self.assertEqual(e2e.mounts_under(c.root), [])
            self.assertEqual(os.listdir(c.work) if os.path.isdir(c.work) else [], [])
            c.close()
        e2e.shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, **kw):
        self.cluster = e2e.Cluster(**kw)
        return self.cluster

    def wait_log(self, job_id, text, timeout=60):
        deadline = time.time() + timeout
        while text not in self.cluster.log(job_id) and time.time() < deadline:
            time.sleep(0.2)
        self.assertIn(text, self.cluster.log(job_id))

    def check_confined(self, job_id):
        info, pid = sandbox_of(job_id)
        status = proc_status(pid)
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = f.read().split(b"\0")
        self.assertEqual(argv[1:4], [b"emulator", b"--listen", b"127.0.0.1:4566"], argv)
        self.assertEqual(status["Uid"].split(), [str(NOBODY)] * 4)
        self.assertEqual(status["Gid"].split(), [str(NOBODY)] * 4)
        self.assertIn(status["Groups"], ("", str(NOBODY)))  # no group but its own
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            self.assertEqual(int(status[cap], 16), 0, cap)
        self.assertEqual(status["NoNewPrivs"], "1")
        self.assertEqual(status["Seccomp"], "2")  # a filter: the engine's default profile
        # Its own mount and pid namespaces, not the host's (nor the agent's).
        for ns in ("mnt", "pid", "ipc", "uts", "net"):
            self.assertNotEqual(os.readlink("/proc/%d/ns/%s" % (pid, ns)),
                                os.readlink("/proc/self/ns/%s" % ns), ns)
        host = info["HostConfig"]
        # Network none without the engine's network setup (its prestart hook
        # re-runs dockerd on every start): a namespace with loopback only.
        self.assertTrue(info["Config"].get("NetworkDisabled"))
        with open("/proc/%d/net/dev" % pid) as f:
            self.assertEqual([line.split(":")[0].strip() for line in f.readlines()[2:]], ["lo"])
        self.assertTrue(host["ReadonlyRootfs"])
        self.assertFalse(host["Privileged"])
        self.assertEqual(host["Memory"], 1 << 30)
        self.assertGreater(host["PidsLimit"], 0)
        self.assertLessEqual(host["PidsLimit"], 1024)
        self.assertTrue(all(b.endswith(":ro") for b in host["Binds"]), host["Binds"])
        self.assertNotIn("/var/run/docker.sock", json.dumps(info["Mounts"]))
        # Only its data directory is writable.
        writes = try_writes(pid, ["/data/probe", "/probe", "/tmp/probe", "/usr/lib/probe",
                                  "/lib/probe", "/dev/shm/probe", "/dev/probe", "/etc/probe"])
        self.assertNotIn("error", writes)
        self.assertEqual(writes.pop("/data/probe"), "written")
        for path, outcome in writes.items():
            self.assertNotEqual(outcome, "written", path)
        return pid

    def test_emulator_runs_confined_in_its_own_container(self):
        c = self.start()
        job_id = c.submit(self.repo, "echo started; sleep 6; grep -w localhost /etc/hosts; "
                          "echo x 2>/dev/null >> /etc/hosts || echo hosts-read-only")
        self.wait_log(job_id, "started")
        self.check_confined(job_id)
        job = c.wait(job_id)
        log = c.log(job_id)
        self.assertEqual(job["state"], "passed", log)
        # The engine writes no /etc/hosts for such a namespace: the agent's
        # resolves localhost (AWS_ENDPOINT_URL) and the job cannot change it.
        self.assertIn("127.0.0.1\tlocalhost\n", log)
        self.assertIn("hosts-read-only\n", log)
        self.assertIn("emulator listening on localhost:4566 inside the job's network", log)

    def test_cold_sandbox_with_services_is_confined_too(self):
        c = self.start(agent_args=["--warm-sandbox", "no"])
        job_id = c.submit(self.repo, "python3 job.py hold", image=e2e.PYTHON, services=["sqs"])
        self.wait_log(job_id, "emulator answers")
        info, pid = sandbox_of(job_id)
        self.assertIn("SERVICES=sqs", info["Config"]["Env"])
        self.check_confined(job_id)
        job = c.wait(job_id, timeout=120)
        self.assertEqual(job["state"], "passed", c.log(job_id))

    def test_job_cannot_see_or_kill_its_emulator_and_floods_hurt_only_the_emulator(self):
        c = self.start()
        job_id = c.submit(self.repo, "python3 job.py attack", image=e2e.PYTHON)
        job = c.wait(job_id, timeout=180)
        log = c.log(job_id)
        self.assertEqual(job["state"], "passed", log)
        self.assertIn("emulator processes visible: 0\n", log)
        self.assertIn("killed everything visible\n", log)
        self.assertIn("flooded\n", log)
        # The agent (and so every supervisor's parent) lives on, and runs the next job.
        self.assertIsNone(c.agent.poll())
        job_id = c.submit(self.repo, "python3 job.py", image=e2e.PYTHON)
        job = c.wait(job_id, timeout=120)
        self.assertEqual(job["state"], "passed", c.log(job_id))
        self.assertIn("emulator answers", c.log(job_id))

    def test_emulator_dying_does_not_take_the_supervisor_down(self):
        c = self.start()
        job_id = c.submit(self.repo, "echo started; sleep 4; echo still-here")
        self.wait_log(job_id, "started")
        _, pid = sandbox_of(job_id)
        os.kill(pid, 9)  # what a memory bug in a parser would end as
        job = c.wait(job_id)
        log = c.log(job_id)
        self.assertEqual(job["state"], "passed", log)
        self.assertIn("still-here", log)
        self.assertIsNone(c.agent.poll())


JOB = r'''
import os, signal, socket, sys, time
import boto3

def answers():
    sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    sqs.list_queues()
    return True

print("emulator answers", answers(), flush=True)
mode = sys.argv[1] if len(sys.argv) > 1 else ""
if mode == "hold":
    time.sleep(5)
if mode == "attack":
    me = os.getpid()
    seen = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                if b"emulator" in f.read():
                    seen += 1
        except OSError:
            pass
    print("emulator processes visible:", seen)
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in (me, 1):
            try:
                os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass
    print("killed everything visible")
    # A flood: hundreds of connections left half-open, then junk and a large
    # body the emulator must refuse or spill.
    held = []
    for _ in range(300):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", 4566))
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            held.append(s)
        except OSError:
            s.close()
    for _ in range(20):
        s = socket.socket()
        s.settimeout(10)
        try:
            s.connect(("127.0.0.1", 4566))
            s.sendall(b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n")
            s.sendall(os.urandom(1 << 20) * 8)
        except OSError:
            pass
        s.close()
    for s in held:
        s.close()
    print("flooded", flush=True)
'''

if __name__ == "__main__":
    if not e2e.AIRGAP:
        sys.exit("AIRGAP_BIN is not set")
    unittest.main(verbosity=2)
