#!/usr/bin/python3
"""End to end: the real `airgap queue` and `airgap agent` processes, real Docker
(network none), real overlayfs, real git repositories made here, the real
emulator inside each job's network namespace, boto3 inside the job container.
Jobs are submitted and watched over the queue's HTTP API on 127.0.0.1.

Needs root, a Docker engine and the images of tests/images/build
(airgap-test/busybox, airgap-test/python). After every test: no container
labelled airgap.job, no mount and no run directory under the work dir.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

AIRGAP = os.environ.get("AIRGAP_BIN", "")
BUSYBOX = "airgap-test/busybox"
PYTHON = "airgap-test/python"


def run(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def make_repo(root, files):
    repo = os.path.join(root, "repo")
    os.makedirs(repo)
    git = ["git", "-C", repo, "-c", "user.email=t@example.com", "-c", "user.name=t"]
    run(*git[:3], "init", "-q", "-b", "main")
    for name, text in files.items():
        with open(os.path.join(repo, name), "w") as f:
            f.write(text)
    run(*git, "add", "-A")
    run(*git, "commit", "-qm", "initial")
    return repo


def containers(label):
    out = run("docker", "ps", "-aq", "--filter", "label=" + label).stdout
    return [line for line in out.split() if line]


def mounts_under(path):
    with open("/proc/mounts") as f:
        return [line.split()[1] for line in f if line.split()[1].startswith(path)]


class Cluster:
    """A queue and an agent, each its own process, in a temporary directory."""

    def __init__(self, lease_ttl=30, slots=1, max_attempts=3, agent_args=(), allow_local=True):
        self.root = tempfile.mkdtemp(prefix="airgap-agent-e2e-")
        self.data = os.path.join(self.root, "queue")
        self.work = os.path.join(self.root, "work")
        self.cache = os.path.join(self.root, "cache")
        self.agent_id = "e2e-%d" % os.getpid()
        self.slots = slots
        # The test repositories are local: an agent reads them only when allowed to.
        self.agent_args = list(agent_args) + (["--allow-local-repos"] if allow_local else [])
        self.queue = subprocess.Popen(
            [AIRGAP, "queue", "--listen", "127.0.0.1:0", "--data", self.data,
             "--lease-ttl", str(lease_ttl), "--max-attempts", str(max_attempts),
             "--log-level", "warn"],
            stdout=subprocess.PIPE, text=True)
        line = self.queue.stdout.readline()
        if "listening on " not in line:
            raise RuntimeError("queue did not start: %r" % line)
        self.url = line.strip().split("listening on ")[1]
        self.agent_token = run(AIRGAP, "queue", "token", "create", "--role", "agent",
                               "--data", self.data).stdout.strip()
        self.token = run(AIRGAP, "queue", "token", "create", "--role", "client",
                         "--data", self.data).stdout.strip()
        self.agent = None
        self.start_agent()

    def start_agent(self, agent_id=None):
        self.agent = subprocess.Popen(
            [AIRGAP, "agent", "--queue", self.url, "--token", self.agent_token,
             "--id", agent_id or self.agent_id, "--slots", str(self.slots), "--network", "none",
             "--cache", self.cache, "--work", self.work, "--log-level", "warn",
             "--pull", "never"] + self.agent_args)

    def stop_agent(self, sig=signal.SIGTERM):
        if self.agent and self.agent.poll() is None:
            self.agent.send_signal(sig)
            self.agent.wait(timeout=60)
        code = self.agent.returncode if self.agent else 0
        self.agent = None
        return code

    def api(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
        return raw

    def submit(self, repo, script, image=BUSYBOX, **extra):
        spec = {"repo": repo, "image": image, "script": script}
        spec.update(extra)
        return json.loads(self.api("POST", "/v1/jobs", spec))["id"]

    def job(self, job_id):
        return json.loads(self.api("GET", "/v1/jobs/" + job_id))

    def log(self, job_id):
        return self.api("GET", "/v1/jobs/%s/logs?offset=0" % job_id).decode(errors="replace")

    def wait(self, job_id, timeout=90, states=("passed", "failed", "errored", "canceled")):
        deadline = time.time() + timeout
        while time.time() < deadline:
            job = self.job(job_id)
            if job["state"] in states:
                return job
            time.sleep(0.2)
        raise AssertionError("job %s still %s after %ss; log:\n%s"
                             % (job_id, job["state"], timeout, self.log(job_id)))

    def close(self):
        self.stop_agent()
        if self.queue.poll() is None:
            self.queue.terminate()
            self.queue.wait(timeout=30)
        self.queue.stdout.close()
        shutil.rmtree(self.root, ignore_errors=True)


class AgentTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="airgap-agent-repo-")
        self.repo = make_repo(self.tmp, {
            "README": "pristine\n",
            "sqs_job.py": SQS_JOB,
            "s3_job.py": S3_JOB,
        })
        self.cluster = None

    def tearDown(self):
        cluster = self.cluster
        if cluster:
            cluster.stop_agent()
            self.assertEqual(containers("airgap.agent=" + cluster.agent_id), [])
            self.assertEqual(mounts_under(cluster.root), [])
            self.assertEqual(os.listdir(cluster.work) if os.path.isdir(cluster.work) else [], [])
            cluster.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, **kw):
        self.cluster = Cluster(**kw)
        return self.cluster

    def wait_log(self, c, job_id, text, timeout=60):
        deadline = time.time() + timeout
        while text not in c.log(job_id):
            self.assertLess(time.time(), deadline, c.log(job_id))
            time.sleep(0.2)

    def test_passing_job_sees_its_workspace_and_environment(self):
        c = self.start()
        job_id = c.submit(self.repo, "pwd; cat README; echo job=$AIRGAP_JOB_ID ci=$CI "
                          "endpoint=$AWS_ENDPOINT_URL; test -d .git && echo has-git; "
                          # the mirror .git borrows objects from is there, read-only
                          "for d in $(cat .git/objects/info/alternates); do "
                          "test -d $d/pack && echo objects-ok; touch $d/x 2>/dev/null || echo objects-ro; "
                          "done",
                          env={"GREETING": "hello"})
        job = c.wait(job_id)
        log = c.log(job_id)
        self.assertEqual(job["state"], "passed", log)
        self.assertEqual(job["exit_code"], 0)
        self.assertIn("/workspace\npristine\n", log)
        self.assertIn("job=%s ci=true endpoint=http://localhost:4566" % job_id, log)
        self.assertIn("has-git", log)
        self.assertIn("objects-ok\nobjects-ro\n", log)
        self.assertIn("[airgap] preparing workspace", log)  # agent-side lines are marked
        # The job's output comes before the agent's closing lines.
        self.assertLess(log.index("has-git"), log.index("[airgap] container exited with code 0"))

    def test_a_warm_sandbox_waits_for_the_next_job(self):
        c = self.start()
        deadline = time.time() + 30
        while not containers("airgap.agent=" + c.agent_id) and time.time() < deadline:
            time.sleep(0.1)
        warm = containers("airgap.agent=" + c.agent_id)
        self.assertEqual(len(warm), 1)  # one sandbox, no job yet
        job_id = c.submit(self.repo, "echo on-warm")
        self.assertEqual(c.wait(job_id)["state"], "passed", c.log(job_id))
        # It was used (and removed with the job); a fresh one took its place.
        deadline = time.time() + 30
        while time.time() < deadline:
            now = containers("airgap.agent=" + c.agent_id)
            if len(now) == 1 and now != warm:
                break
            time.sleep(0.1)
        self.assertEqual(len(now), 1)
        self.assertNotEqual(now, warm)

    def test_cold_sandbox_when_warm_ones_are_off(self):
        c = self.start(agent_args=["--warm-sandbox", "no"])
        job_id = c.submit(self.repo, "python3 sqs_job.py cold", image=PYTHON)
        job = c.wait(job_id, timeout=120)
        self.assertEqual(job["state"], "passed", c.log(job_id))
        self.assertIn("received: cold\n", c.log(job_id))
        self.assertEqual(containers("airgap.agent=" + c.agent_id), [])

    def test_local_repositories_need_the_agents_consent(self):
        # A queue client must not make a remote agent read paths on its host.
        c = self.start(allow_local=False)
        job_id = c.submit(self.repo, "echo ran")
        job = c.wait(job_id)
        log = c.log(job_id)
        self.assertEqual(job["state"], "errored", log)
        self.assertIn("--allow-local-repos", log)
        self.assertNotIn("ran\n", log)

    def test_failing_job_reports_its_exit_code(self):
        c = self.start()
        job_id = c.submit(self.repo, "echo failing; exit 3")
        job = c.wait(job_id)
        self.assertEqual(job["state"], "failed")
        self.assertEqual(job["exit_code"], 3)
        self.assertIn("failing\n", c.log(job_id))

    def test_timeout_fails_the_job(self):
        c = self.start()
        job_id = c.submit(self.repo, "echo started; sleep 60", timeout=2)
        job = c.wait(job_id, timeout=60)
        self.assertEqual(job["state"], "failed")
        self.assertEqual(job["reason"], "timeout")
        self.assertIn("timed out after 2 s", c.log(job_id))

    def test_out_of_memory_fails_the_job(self):
        c = self.start()
        job_id = c.submit(self.repo, "echo filling; x=$(head -c 200000000 /dev/zero | tr '\\0' a); "
                          "echo survived", resources={"memory": "16m"})
        job = c.wait(job_id, timeout=90)
        log = c.log(job_id)
        self.assertEqual((job["state"], job["reason"]), ("failed", "oom"), log)
        self.assertNotIn("survived", log)

    def test_cancel_mid_run(self):
        c = self.start()
        job_id = c.submit(self.repo, "echo running; sleep 60")
        deadline = time.time() + 60
        while "running" not in c.log(job_id) and time.time() < deadline:
            time.sleep(0.2)
        started = time.time()
        c.api("POST", "/v1/jobs/%s/cancel" % job_id, {})
        job = c.wait(job_id, timeout=60)
        self.assertEqual(job["state"], "canceled")
        self.assertLess(time.time() - started, 20)

    def test_wrecked_workspace_is_pristine_on_the_next_run(self):
        c = self.start()
        wreck = c.submit(self.repo, "rm -rf .git sqs_job.py; echo wrecked > README; "
                         "mkdir junk; chmod 000 junk; cat README")
        self.assertEqual(c.wait(wreck)["state"], "passed", c.log(wreck))
        check = c.submit(self.repo, "cat README; ls -a; test -d .git && test -f sqs_job.py "
                         "&& test ! -e junk")
        job = c.wait(check)
        log = c.log(check)
        self.assertEqual(job["state"], "passed", log)
        self.assertIn("pristine\n", log)
        self.assertNotIn("wrecked", log)

    def test_secrets_are_masked(self):
        c = self.start()
        job_id = c.submit(self.repo, "echo token=$API_TOKEN; printf 'split: '; "
                          "printf '%s' \"$API_TOKEN\" | head -c 5; printf '%s\\n' "
                          "\"$(printf '%s' \"$API_TOKEN\" | tail -c +6)\"",
                          secrets={"API_TOKEN": "tok-9f8e7d6c5b"})
        job = c.wait(job_id)
        log = c.log(job_id)
        self.assertEqual(job["state"], "passed", log)
        self.assertNotIn("9f8e7d6c5b", log)
        self.assertIn("token=****", log)
        self.assertIn("split: ****", log)

    def test_boto3_reaches_the_jobs_own_sqs(self):
        c = self.start()
        job_id = c.submit(self.repo, "python3 sqs_job.py first", image=PYTHON,
                          services=["sqs"])
        job = c.wait(job_id, timeout=120)
        log = c.log(job_id)
        self.assertEqual(job["state"], "passed", log)
        self.assertIn("received: first\n", log)
        self.assertIn("queues before: []\n", log)

    def test_boto3_reaches_the_jobs_own_s3(self):
        c = self.start()
        job_id = c.submit(self.repo, "python3 s3_job.py", image=PYTHON, services=["s3"])
        job = c.wait(job_id, timeout=120)
        log = c.log(job_id)
        self.assertEqual(job["state"], "passed", log)
        self.assertIn("buckets before: []\n", log)
        self.assertIn("round trip ok: 3 objects, 2097152 bytes\n", log)

    def test_concurrent_jobs_have_their_own_emulators(self):
        c = self.start(slots=2)
        a = c.submit(self.repo, "python3 sqs_job.py alpha --hold", image=PYTHON)
        b = c.submit(self.repo, "python3 sqs_job.py beta --hold", image=PYTHON)
        for job_id, word in ((a, "alpha"), (b, "beta")):
            job = c.wait(job_id, timeout=120)
            log = c.log(job_id)
            self.assertEqual(job["state"], "passed", log)
            self.assertIn("received: %s\n" % word, log)
            self.assertIn("queues before: []\n", log)  # the other job's queue is not here
        # They ran at the same time, each with 127.0.0.1:4566 of its own.
        ja, jb = c.job(a), c.job(b)
        self.assertLess(ja["started_at"], jb["finished_at"])
        self.assertLess(jb["started_at"], ja["finished_at"])

    def test_agent_killed_mid_job_leaves_its_supervisor_to_finish(self):
        # Issue #12 item 5: the supervisor keeps the lease alive and finishes
        # the job; nothing runs twice and nothing is left behind.
        c = self.start(lease_ttl=3)
        job_id = c.submit(self.repo, "echo attempt; sleep 6; echo finished")
        self.wait_log(c, job_id, "attempt\n")
        supervisors = children_of(c.agent.pid)
        self.assertEqual(len(supervisors), 1)
        c.stop_agent(signal.SIGKILL)
        c.start_agent(agent_id=c.agent_id + "-next")  # another id on the same host
        job = c.wait(job_id, timeout=60)
        log = c.log(job_id)
        self.assertEqual(job["state"], "passed", log)
        self.assertEqual(job["attempts"], 1, log)
        self.assertEqual(log.count("attempt\n"), 1, log)
        self.assertIn("finished", log)
        wait_gone(supervisors[0])
        self.assertEqual(containers("airgap.job=" + job_id), [])

    def test_dead_agent_and_supervisor_are_reaped_and_the_lease_handed_back(self):
        # Both killed: a new agent with another id removes what they left and
        # hands the lease back at once (the lease would live 60 s).
        c = self.start(lease_ttl=60)
        job_id = c.submit(self.repo, "echo attempt $AIRGAP_JOB_ID; test -f /tmp/x || sleep 8; "
                          "echo finished")
        self.wait_log(c, job_id, "attempt ")
        supervisors = children_of(c.agent.pid)
        self.assertEqual(len(supervisors), 1)
        c.stop_agent(signal.SIGKILL)
        os.kill(supervisors[0], signal.SIGKILL)
        wait_gone(supervisors[0])
        self.assertTrue(containers("airgap.job=" + job_id))
        self.assertTrue(mounts_under(c.work))
        t0 = time.monotonic()
        c.start_agent(agent_id=c.agent_id + "-other")
        job = c.wait(job_id, timeout=50)
        log = c.log(job_id)
        self.assertEqual(job["state"], "passed", log)
        self.assertEqual(job["attempts"], 2, log)
        self.assertLess(time.monotonic() - t0, 40, log)
        self.assertNotIn("expired", log)
        self.assertIn("attempt 1 handed back by agent %s (agent_lost); job requeued" % c.agent_id,
                      log)
        self.assertIn("[airgap] ======== attempt 2: rerun after attempt 1", log)
        self.assertLess(log.index("(agent_lost)"), log.index("======== attempt 2"))
        self.assertEqual(log.count("finished"), 1, log)

    def test_ceilings_refuse_a_spec_that_asks_too_much(self):
        c = self.start(agent_args=("--max-memory", "1g", "--max-pids", "1000",
                                   "--max-cpus", "1"))
        memory = c.submit(self.repo, "true", resources={"memory": "1000g"})
        pids = c.submit(self.repo, "true", resources={"pids": 4194304})
        cpus = c.submit(self.repo, "true", resources={"cpus": 2})
        fits = c.submit(self.repo, "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes",
                        resources={"memory": "512m"})
        for job_id, reason, flag in ((memory, "memory_limit", "--max-memory"),
                                     (pids, "pids_limit", "--max-pids"),
                                     (cpus, "cpus_limit", "--max-cpus")):
            job = c.wait(job_id)
            self.assertEqual((job["state"], job["reason"]), ("errored", reason))
            self.assertIn(flag, c.log(job_id))
        job = c.wait(fits)
        log = c.log(fits)
        self.assertEqual(job["state"], "passed", log)
        self.assertIn("1000\n%d\n" % (512 << 20), log)  # the pids ceiling is also the default

    def test_default_memory_and_disk_cap(self):
        c = self.start(agent_args=("--default-memory", "300m", "--max-disk", "16m"))
        job_id = c.submit(self.repo, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; "
                          "dd if=/dev/zero of=big bs=1M count=64 2>&1; echo dd=$?")
        job = c.wait(job_id)
        log = c.log(job_id)
        self.assertEqual(job["state"], "passed", log)
        self.assertIn("%d\n" % (300 << 20), log)
        self.assertIn("No space left on device", log)
        self.assertIn("dd=1", log)

    def test_drain_lets_the_running_job_finish(self):
        c = self.start()
        job_id = c.submit(self.repo, "echo begun; sleep 2; echo done")
        deadline = time.time() + 60
        while "begun" not in c.log(job_id) and time.time() < deadline:
            time.sleep(0.2)
        queued = c.submit(self.repo, "echo never")
        self.assertEqual(c.stop_agent(signal.SIGTERM), 0)
        self.assertEqual(c.job(job_id)["state"], "passed")
        self.assertEqual(c.job(queued)["state"], "queued")
        c.api("POST", "/v1/jobs/%s/cancel" % queued, {})

    def test_infrastructure_failures_are_errored_with_a_reason(self):
        c = self.start()
        no_image = c.submit(self.repo, "true", image="airgap-test/absent-image")
        no_repo = c.submit(os.path.join(self.tmp, "missing"), "true")
        job = c.wait(no_image)
        self.assertEqual((job["state"], job["reason"]), ("errored", "image_pull"))
        self.assertIn("pull policy is never", c.log(no_image))
        job = c.wait(no_repo)
        self.assertEqual((job["state"], job["reason"]), ("errored", "git"))

    def test_failed_pull_is_errored_with_the_engines_reason(self):
        c = self.start(agent_args=("--pull", "if-not-present"))
        # The engine tries loopback port 1, which refuses at once: no registry
        # host is contacted.
        job_id = c.submit(self.repo, "true", image="localhost:1/airgap-test-none:latest")
        job = c.wait(job_id)
        log = c.log(job_id)
        self.assertEqual((job["state"], job["reason"]), ("errored", "image_pull"), log)
        self.assertIn("pulling image localhost:1/airgap-test-none:latest", log)
        self.assertIn("connection refused", log)

    def test_unreachable_remote_goes_back_to_the_queue(self):
        # A lease lives 60 s: only a hand-back (release) can requeue the job
        # within the time allowed below; waiting for expiry would take longer.
        c = self.start(lease_ttl=60, max_attempts=2)
        # Port 1 on loopback refuses connections: a transport error, maybe temporary.
        t0 = time.monotonic()
        job_id = c.submit("http://127.0.0.1:1/team/app.git", "true")
        job = c.wait(job_id, timeout=45)
        elapsed = time.monotonic() - t0
        log = c.log(job_id)
        # Both attempts were handed back; the last one ends the job with the
        # agent's reason for giving it back.
        self.assertEqual((job["state"], job["reason"]), ("errored", "git"), log)
        self.assertEqual(job["attempts"], 2)
        self.assertLess(elapsed, 45)
        self.assertEqual(log.count("the job goes back to the queue"), 2)
        self.assertIn("attempt 1 handed back by agent %s (git); job requeued" % c.agent_id, log)
        self.assertIn("attempt 2 handed back by agent %s (git); no attempts left" % c.agent_id,
                      log)
        self.assertNotIn("expired", log)

    def test_supervisor_crash_is_errored_and_reaped(self):
        c = self.start()
        job_id = c.submit(self.repo, "echo up; sleep 60")
        deadline = time.time() + 60
        while "up\n" not in c.log(job_id) and time.time() < deadline:
            time.sleep(0.2)
        supervisors = children_of(c.agent.pid)
        self.assertEqual(len(supervisors), 1)
        os.kill(supervisors[0], signal.SIGKILL)
        job = c.wait(job_id, timeout=60)
        self.assertEqual((job["state"], job["reason"]), ("errored", "supervisor_crashed"))
        self.assertIn("[airgap] the job supervisor was killed by signal 9", c.log(job_id))
        self.assertEqual(containers("airgap.job=" + job_id), [])
        self.assertEqual([d for d in os.listdir(c.work) if d.startswith(job_id)], [])

    def test_sigint_cancels_running_jobs_and_exits(self):
        c = self.start()
        job_id = c.submit(self.repo, "echo up; sleep 60")
        deadline = time.time() + 60
        while "up\n" not in c.log(job_id) and time.time() < deadline:
            time.sleep(0.2)
        started = time.time()
        self.assertEqual(c.stop_agent(signal.SIGINT), 0)
        self.assertLess(time.time() - started, 30)
        job = c.job(job_id)
        self.assertEqual(job["state"], "canceled")

    def test_second_sigterm_cancels(self):
        c = self.start()
        job_id = c.submit(self.repo, "echo up; sleep 60")
        deadline = time.time() + 60
        while "up\n" not in c.log(job_id) and time.time() < deadline:
            time.sleep(0.2)
        c.agent.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        self.assertIsNone(c.agent.poll())  # draining: the job keeps running
        self.assertEqual(c.job(job_id)["state"], "running")
        self.assertEqual(c.stop_agent(signal.SIGTERM), 0)
        self.assertEqual(c.job(job_id)["state"], "canceled")

    def test_shutdown_timeout_cancels_what_is_still_running(self):
        c = self.start(agent_args=["--shutdown-timeout", "1"])
        job_id = c.submit(self.repo, "echo up; sleep 60")
        deadline = time.time() + 60
        while "up\n" not in c.log(job_id) and time.time() < deadline:
            time.sleep(0.2)
        started = time.time()
        self.assertEqual(c.stop_agent(signal.SIGTERM), 0)
        self.assertLess(time.time() - started, 30)
        self.assertEqual(c.job(job_id)["state"], "canceled")

    def test_labels_select_jobs(self):
        c = self.start(agent_args=["--labels", "linux,docker"])
        other = c.submit(self.repo, "true", labels=["gpu"])
        mine = c.submit(self.repo, "true", labels=["linux"])
        self.assertEqual(c.wait(mine)["state"], "passed")
        self.assertEqual(c.job(other)["state"], "queued")
        c.api("POST", "/v1/jobs/%s/cancel" % other, {})

    def test_wrong_token_stops_the_agent_with_a_message(self):
        c = self.start()
        c.stop_agent()
        bad = subprocess.run(
            [AIRGAP, "agent", "--queue", c.url, "--token", "not-a-token", "--id", c.agent_id,
             "--network", "none", "--cache", c.cache, "--work", c.work],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("airgap agent: queue refused the token", bad.stderr)

    def test_host_cannot_reach_the_jobs_emulator(self):
        c = self.start()
        name = "private-%d" % os.getpid()
        job_id = c.submit(self.repo, "python3 sqs_job.py %s --name %s --hold 4" % ("x", name),
                          image=PYTHON)
        deadline = time.time() + 60
        while "queue created" not in c.log(job_id) and time.time() < deadline:
            time.sleep(0.2)
        # Whatever answers on the host's 127.0.0.1:4566 (maybe nothing, maybe
        # another emulator), it is not this job's: its queue is not there.
        probe = subprocess.run(
            ["/usr/bin/python3", "-c", HOST_PROBE, name], capture_output=True, text=True,
            timeout=60)
        self.assertIn(probe.stdout.strip(), ("unreachable", "absent"), probe.stderr)
        job = c.wait(job_id, timeout=120)
        self.assertEqual(job["state"], "passed", c.log(job_id))

    def test_run_exits_with_the_jobs_code(self):
        run_id = "run-e2e-%d" % os.getpid()
        base = [AIRGAP, "run", "--repo", self.repo, "--image", BUSYBOX, "--network", "none",
                "--pull", "never", "--id", run_id, "--secret", "PASSWORD=opensesame"]
        done = subprocess.run(base + ["--script", "cat README; echo $PASSWORD; exit 3"],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 3, done.stderr)
        self.assertIn("pristine\n", done.stdout)
        self.assertIn("****\n", done.stdout)
        self.assertNotIn("opensesame", done.stdout + done.stderr)
        done = subprocess.run(base + ["--", "true"], capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(containers("airgap.agent=" + run_id), [])

    def test_run_quotes_the_command_as_submit_does(self):
        run_id = "run-quote-%d" % os.getpid()
        base = [AIRGAP, "run", "--repo", self.repo, "--network", "none", "--pull", "never",
                "--id", run_id]
        # Each word after -- is one argument, as in `docker run IMAGE CMD ARGS`.
        done = subprocess.run(base + ["--image", BUSYBOX, "--", "sh", "-c", 'echo "a b"; exit 3'],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 3, done.stderr)
        self.assertIn("\na b\n", done.stdout)
        done = subprocess.run(base + ["--image", BUSYBOX, "--", "echo", "a   b", "$HOME", "*"],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("\na   b $HOME *\n", done.stdout)
        done = subprocess.run(base + ["--image", PYTHON, "--", "python3", "-c", "print(1)"],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("\n1\n", done.stdout)
        self.assertEqual(containers("airgap.agent=" + run_id), [])

    def test_run_work_and_label_are_used(self):
        run_id = "run-work-%d" % os.getpid()
        work = os.path.join(self.tmp, "work")
        # A relative --repo is the directory run was started in.
        done = subprocess.run(
            [AIRGAP, "run", "--repo", ".", "--image", BUSYBOX, "--network", "none",
             "--pull", "never", "--id", run_id, "--work", work, "--label", "gpu",
             "--script", "cat README; pwd"],
            capture_output=True, text=True, timeout=120, cwd=self.repo)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("pristine\n/workspace\n", done.stdout)
        # The run's folder was made in --work and is gone again; --work stays.
        self.assertIn("preparing workspace: %s at HEAD" % self.repo, done.stdout)
        self.assertTrue(os.path.isdir(work))
        self.assertEqual(os.listdir(work), [])
        self.assertEqual(mounts_under(work), [])

    def test_run_errors_name_no_internal_url(self):
        done = subprocess.run(
            [AIRGAP, "run", "--repo", self.repo, "--image", BUSYBOX, "--network", "none",
             "--pull", "never", "--memory", "lots", "--", "true"],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertIn("resources.memory", done.stderr)
        self.assertNotIn("http://127.0.0.1", done.stderr)

    def test_run_removes_its_sandbox_started_ahead_on_failure(self):
        # `airgap run` starts the job's sandbox before the job is queued. It
        # goes on every path: the agent failing before any lease (its cache
        # cannot be made), the job failing before its container exists (an
        # image that is not there) and the job's command failing.
        for what, args, code in (
                ("no lease", ["--cache", "/dev/null/cache", "--image", BUSYBOX, "--", "true"], 125),
                ("no image", ["--image", "airgap-test/absent-image", "--", "true"], 125),
                ("no command", ["--image", BUSYBOX, "--", "/absent/command"], 127)):
            run_id = "run-ahead-%d" % os.getpid()
            done = subprocess.run(
                [AIRGAP, "run", "--repo", self.repo, "--network", "none", "--pull", "never",
                 "--id", run_id, "--log-level", "debug"] + args,
                capture_output=True, text=True, timeout=120)
            self.assertEqual(done.returncode, code, "%s: %s" % (what, done.stderr))
            # The path under test was taken: the sandbox existed.
            self.assertIn("sandbox ahead created", done.stderr, what)
            if what != "no lease":
                self.assertNotIn("started ahead is not usable", done.stderr, what)
                self.assertIn("sandbox running at", done.stderr, what)
            self.assertEqual(containers("airgap.agent=" + run_id), [], what)

    def test_run_ctrl_c_cancels_the_job(self):
        run_id = "run-int-%d" % os.getpid()
        proc = subprocess.Popen(
            [AIRGAP, "run", "--repo", self.repo, "--image", BUSYBOX, "--network", "none",
             "--pull", "never", "--id", run_id, "--script", "echo up; sleep 60"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 60
            line = ""
            while line != "up\n" and time.time() < deadline:
                line = proc.stdout.readline()
            self.assertEqual(line, "up\n")
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 130, err)
        self.assertIn("canceled", err)
        self.assertEqual(containers("airgap.agent=" + run_id), [])

    def test_serve_runs_submitted_jobs(self):
        data = os.path.join(self.tmp, "serve")
        serve = subprocess.Popen(
            [AIRGAP, "serve", "--data", data, "--listen", "127.0.0.1:0", "--network", "none",
             "--pull", "never", "--id", "serve-%d" % os.getpid(), "--log-level", "warn",
             "--allow-local-repos"],
            stdout=subprocess.PIPE, text=True)
        try:
            first = serve.stdout.readline()
            token = serve.stdout.readline().split("client token: ")[1].strip()
            url = first.split("queue on ")[1].split(",")[0]
            req = urllib.request.Request(
                url + "/v1/jobs", method="POST",
                data=json.dumps({"repo": self.repo, "image": BUSYBOX,
                                 "script": "echo served"}).encode(),
                headers={"Authorization": "Bearer " + token,
                         "Content-Type": "application/json"})
            job_id = json.loads(urllib.request.urlopen(req, timeout=30).read())["id"]
            deadline = time.time() + 90
            state = "queued"
            while state not in ("passed", "failed", "errored", "canceled"):
                self.assertLess(time.time(), deadline)
                time.sleep(0.2)
                req = urllib.request.Request(url + "/v1/jobs/" + job_id,
                                             headers={"Authorization": "Bearer " + token})
                state = json.loads(urllib.request.urlopen(req, timeout=30).read())["state"]
            self.assertEqual(state, "passed")
        finally:
            serve.send_signal(signal.SIGTERM)
            self.assertEqual(serve.wait(timeout=60), 0)
            serve.stdout.close()
        self.assertEqual(mounts_under(data), [])
        self.assertEqual(os.listdir(os.path.join(data, "work")), [])
        # serve keeps its own tokens for restarts, readable by its user only;
        # the queue's database holds only their hashes (README, "serve").
        self.assertEqual(os.stat(os.path.join(data, "client-token")).st_mode & 0o777, 0o600)
        with open(os.path.join(data, "client-token")) as f:
            self.assertEqual(f.read().strip(), token)
        for name in os.listdir(os.path.join(data, "queue")):
            with open(os.path.join(data, "queue", name), "rb") as f:
                self.assertNotIn(token.split("_")[-1].encode(), f.read(), name)
        # A restart keeps the data and prints the same client token.
        again = subprocess.Popen(
            [AIRGAP, "serve", "--data", data, "--listen", "127.0.0.1:0", "--network", "none",
             "--id", "serve-%d" % os.getpid(), "--log-level", "warn", "--allow-local-repos"],
            stdout=subprocess.PIPE, text=True)
        try:
            again.stdout.readline()
            self.assertEqual(again.stdout.readline().split("client token: ")[1].strip(), token)
        finally:
            again.send_signal(signal.SIGTERM)
            self.assertEqual(again.wait(timeout=60), 0)
            again.stdout.close()


def wait_gone(pid, timeout=60):
    deadline = time.time() + timeout
    while os.path.exists("/proc/%d" % pid) and time.time() < deadline:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
        except OSError:
            break
        time.sleep(0.1)


def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry))
    return kids


HOST_PROBE = r'''
import socket, sys
import boto3
s = socket.socket()
s.settimeout(2)
try:
    s.connect(("127.0.0.1", 4566))
except OSError:
    print("unreachable")
    sys.exit(0)
s.close()
sqs = boto3.client("sqs", endpoint_url="http://127.0.0.1:4566", region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
try:
    urls = sqs.list_queues().get("QueueUrls", [])
except Exception:
    print("absent")
    sys.exit(0)
print("present" if any(u.endswith("/" + sys.argv[1]) for u in urls) else "absent")
'''

S3_JOB = r'''
import os
import boto3
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
print("buckets before:", [b["Name"] for b in s3.list_buckets()["Buckets"]])
s3.create_bucket(Bucket="artifacts")
big = os.urandom(2 * 1024 * 1024)  # past the emulator's in-memory body threshold
s3.put_object(Bucket="artifacts", Key="build/big.bin", Body=big)
s3.put_object(Bucket="artifacts", Key="build/log.txt", Body=b"ok")
s3.put_object(Bucket="artifacts", Key="report.json", Body=b"{}")
assert s3.get_object(Bucket="artifacts", Key="build/big.bin")["Body"].read() == big
keys = [o["Key"] for o in s3.list_objects_v2(Bucket="artifacts")["Contents"]]
assert keys == ["build/big.bin", "build/log.txt", "report.json"], keys
print("round trip ok: %d objects, %d bytes" % (len(keys), len(big)))
'''

SQS_JOB = r'''
import os, sys, time
import boto3
word = sys.argv[1]
name = sys.argv[sys.argv.index("--name") + 1] if "--name" in sys.argv else "jobs"
sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
print("queues before:", sqs.list_queues().get("QueueUrls", []))
url = sqs.create_queue(QueueName=name)["QueueUrl"]
sqs.send_message(QueueUrl=url, MessageBody=word)
print("queue created", flush=True)
if "--hold" in sys.argv:
    # long enough for another job (or the host) to look at the same time
    time.sleep(float(sys.argv[sys.argv.index("--hold") + 1]) if sys.argv[-1] != "--hold" else 3)
msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
print("received:", " ".join(m["Body"] for m in msgs))
'''

if __name__ == "__main__":
    if not AIRGAP:
        sys.exit("AIRGAP_BIN is not set")
    unittest.main(verbosity=2)
