#!/usr/bin/python3
"""Where a standalone emulator's functions run (issue #13, "Where functions
run"), with real Docker and Debian's boto3:

  - by default `airgap emulator` starts a sandbox of its own (the static
    airgap-pause program in a locally imported image), listens on its port
    inside it too, and functions join it (NetworkMode container:<sandbox>):
    a function uses SQS and S3 on localhost:<port> with no host networking
    (the sandbox's network is none here: nothing else is reachable);
  - nothing of it exists before the first function is created; the sandbox
    goes at shutdown;
  - LAMBDA_DOCKER_NETWORK=host overrides it (no sandbox);
  - an idle environment goes LAMBDA_KEEPALIVE_MS after its last use;
  - kill -9 of the emulator with a warm function leaves the sandbox and the
    container; the next emulator reaps both as it starts, with no Lambda call;
  - the emulator image (deploy/emulator-image) run with the Docker socket:
    functions join the emulator container's own namespace.

Needs root, a Docker engine and the images of tests/images/build (built when
missing); skipped (77) without Docker."""

import json
import os
import signal
import subprocess
import sys
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lambda_support import (MAPPING, ROLE, SOURCE, Emulator, build_images,  # noqa: E402
                            client, docker_available, lambda_containers, make_zip)

ENV = {"LAMBDA_RUNTIME_IMAGE_MAPPING": MAPPING, "AIRGAP_LAMBDA_SANDBOX_NETWORK": "none",
       "LAMBDA_KEEPALIVE_MS": "60000"}

PY = """
import os, socket
import boto3

def handler(event, context):
    url = os.environ["AWS_ENDPOINT_URL"]
    if event.get("kind") == "sqs":
        sqs = boto3.client("sqs", endpoint_url=url)
        q = sqs.create_queue(QueueName=event["queue"])["QueueUrl"]
        sqs.send_message(QueueUrl=q, MessageBody=event["body"])
    if event.get("kind") == "s3":
        s3 = boto3.client("s3", endpoint_url=url)
        s3.put_object(Bucket=event["bucket"], Key="from-lambda", Body=event["body"].encode())
    return {"endpoint": url, "hostname": socket.gethostname()}
"""


def inspect(cid):
    return json.loads(subprocess.run(["docker", "inspect", cid], capture_output=True, text=True,
                                     check=True).stdout)[0]


def labelled(owner_pid, role):
    """Containers of emulator owner_pid carrying airgap.role=role."""
    found = []
    for c in lambda_containers(owner_pid):
        info = inspect_or_none(c)  # it may go between the list and the inspect
        if info and info["Config"]["Labels"].get("airgap.role") == role:
            found.append(c)
    return found


@unittest.skipUnless(docker_available(), "no Docker engine")
class Placement(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        if not build_images():
            raise unittest.SkipTest("the Lambda test images could not be built")

    def create(self, lam, name):
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE,
                            Handler="app.handler", Timeout=30,
                            Code={"ZipFile": make_zip({"app.py": PY})})

    def invoke(self, lam, name, event):
        r = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
        body = r["Payload"].read()
        self.assertNotIn("FunctionError", r, body)
        return json.loads(body)

    def test_own_sandbox_shared_by_functions(self):
        emu = Emulator(extra_env=ENV)
        pid = emu.proc.pid
        try:
            lam = client(emu.endpoint)
            sqs = client(emu.endpoint, "sqs")
            s3 = client(emu.endpoint, "s3")
            # Nothing of Lambda's placement before the first function.
            lam.list_functions()
            self.assertEqual(lambda_containers(pid), [])
            self.create(lam, "placed")
            out = self.invoke(lam, "placed", {"kind": "sqs", "queue": "placed-q", "body": "hi"})
            self.assertEqual(out["endpoint"], "http://localhost:%d" % emu.port)
            q = sqs.get_queue_url(QueueName="placed-q")["QueueUrl"]
            msgs = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=2)["Messages"]
            self.assertEqual(msgs[0]["Body"], "hi")
            s3.create_bucket(Bucket="placed-b")
            self.invoke(lam, "placed", {"kind": "s3", "bucket": "placed-b", "body": "written"})
            self.assertEqual(s3.get_object(Bucket="placed-b", Key="from-lambda")["Body"].read(),
                             b"written")

            sandboxes = labelled(pid, "lambda-sandbox")
            functions = labelled(pid, "function")
            self.assertEqual(len(sandboxes), 1, lambda_containers(pid))
            self.assertEqual(len(functions), 1)
            sandbox, function = inspect(sandboxes[0]), inspect(functions[0])
            self.assertEqual(function["HostConfig"]["NetworkMode"], "container:" + sandbox["Id"])
            self.assertEqual(sandbox["HostConfig"]["NetworkMode"], "none")
            self.assertEqual(sandbox["Config"]["Entrypoint"], ["/airgap-pause"])
            self.assertTrue(sandbox["Config"]["Image"].startswith("airgap/lambda-sandbox:"))
            self.assertTrue(sandbox["HostConfig"]["ReadonlyRootfs"])
            self.assertEqual(sandbox["HostConfig"]["CapDrop"], ["ALL"])
            # The function shares the sandbox's namespace (its hostname too).
            self.assertEqual(out["hostname"], sandbox["Config"]["Hostname"])

            # A second function joins the same sandbox.
            self.create(lam, "placed2")
            self.invoke(lam, "placed2", {})
            self.assertEqual(len(labelled(pid, "lambda-sandbox")), 1)
            for c in labelled(pid, "function"):
                self.assertEqual(inspect(c)["HostConfig"]["NetworkMode"],
                                 "container:" + sandbox["Id"])
        finally:
            emu.stop()
        self.assertEqual(lambda_containers(pid), [])

    def test_docker_network_overrides(self):
        emu = Emulator(extra_env=dict(ENV, LAMBDA_DOCKER_NETWORK="host"))
        pid = emu.proc.pid
        try:
            lam = client(emu.endpoint)
            sqs = client(emu.endpoint, "sqs")
            self.create(lam, "hosted")
            self.invoke(lam, "hosted", {"kind": "sqs", "queue": "hosted-q", "body": "h"})
            q = sqs.get_queue_url(QueueName="hosted-q")["QueueUrl"]
            self.assertEqual(sqs.receive_message(QueueUrl=q, WaitTimeSeconds=2)["Messages"][0]
                             ["Body"], "h")
            self.assertEqual(labelled(pid, "lambda-sandbox"), [])
            [function] = labelled(pid, "function")
            self.assertEqual(inspect(function)["HostConfig"]["NetworkMode"], "host")
        finally:
            emu.stop()
        self.assertEqual(lambda_containers(pid), [])

    def test_idle_environment_goes_after_the_keepalive_counted_from_its_last_use(self):
        emu = Emulator(extra_env=dict(ENV, LAMBDA_KEEPALIVE_MS="8000"))
        pid = emu.proc.pid
        try:
            lam = client(emu.endpoint)
            self.create(lam, "kept")
            first = self.invoke(lam, "kept", {})["hostname"]
            time.sleep(4)
            # The same environment, idle again from here.
            self.assertEqual(self.invoke(lam, "kept", {})["hostname"], first)
            time.sleep(5)  # 9 s after the first use, 5 s after the last
            self.assertEqual(len(labelled(pid, "function")), 1)
            self.assertEqual(self.invoke(lam, "kept", {})["hostname"], first)
            deadline = time.monotonic() + 30
            while labelled(pid, "function") and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertEqual(labelled(pid, "function"), [])
            self.invoke(lam, "kept", {})  # a new environment
            self.assertEqual(len(labelled(pid, "function")), 1)
        finally:
            emu.stop()
        self.assertEqual(lambda_containers(pid), [])

    def test_kill_9_then_restart_reaps_sandbox_and_functions(self):
        emu = Emulator(extra_env=ENV)
        pid = emu.proc.pid
        try:
            lam = client(emu.endpoint)
            self.create(lam, "warm")
            self.invoke(lam, "warm", {})
            self.assertEqual(len(labelled(pid, "lambda-sandbox")), 1)
            self.assertEqual(len(labelled(pid, "function")), 1)
        finally:
            emu.proc.send_signal(signal.SIGKILL)
            emu.proc.wait()
            emu.proc.stdout.close()
        self.assertEqual(len(lambda_containers(pid)), 2)  # left behind
        emu2 = Emulator(extra_env=ENV)
        try:
            # Reaped at start, with no Lambda call at all, and nothing of the
            # new emulator's own made for it.
            deadline = time.monotonic() + 20
            while lambda_containers(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertEqual(lambda_containers(pid), [])
            self.assertEqual(lambda_containers(emu2.proc.pid), [])
            lam2 = client(emu2.endpoint)
            self.create(lam2, "after")
            self.invoke(lam2, "after", {})
        finally:
            pid2 = emu2.proc.pid
            emu2.stop()
        self.assertEqual(lambda_containers(pid2), [])


def nsenter_python(pid, code):
    """Runs Python code inside the network namespace of process pid."""
    return subprocess.run(["nsenter", "-t", str(pid), "-n", "/usr/bin/python3", "-c", code],
                          capture_output=True, text=True, timeout=120)


@unittest.skipUnless(docker_available(), "no Docker engine")
class InEmulatorImage(unittest.TestCase):
    def test_functions_join_the_emulator_container(self):
        warnings.simplefilter("ignore", ResourceWarning)
        if not build_images():
            self.skipTest("the Lambda test images could not be built")
        tag = "airgap-test/emulator-lambda:%d" % os.getpid()
        subprocess.run([os.path.join(SOURCE, "deploy", "emulator-image"), "--airgap",
                        os.environ["AIRGAP_BIN"], "--tag", tag], check=True,
                       capture_output=True)
        cid = None
        try:
            cid = subprocess.run(
                ["docker", "run", "-d", "--network", "none",
                 "-v", "/var/run/docker.sock:/var/run/docker.sock",
                 "-e", "ASAN_OPTIONS=detect_leaks=0", "-e", "LAMBDA_RUNTIME_IMAGE_MAPPING=" + MAPPING,
                 tag], capture_output=True, text=True, check=True).stdout.strip()
            info = inspect(cid)
            code = r"""
import json, sys, time, io, zipfile
sys.path.insert(0, %r)
from lambda_support import client, make_zip
ep = "http://127.0.0.1:4566"
deadline = time.time() + 30
while True:
    try:
        client(ep, "sqs").list_queues()
        break
    except Exception:
        if time.time() > deadline:
            raise
        time.sleep(0.2)
lam = client(ep)
lam.create_function(FunctionName="inimage", Runtime="python3.12", Role=%r,
                    Handler="app.handler", Timeout=30, Code={"ZipFile": make_zip({"app.py": %r})})
r = lam.invoke(FunctionName="inimage", Payload=json.dumps(
    {"kind": "sqs", "queue": "img-q", "body": "from the image"}).encode())
print(r.get("FunctionError"), r["Payload"].read().decode())
sqs = client(ep, "sqs")
q = sqs.get_queue_url(QueueName="img-q")["QueueUrl"]
print(sqs.receive_message(QueueUrl=q, WaitTimeSeconds=2)["Messages"][0]["Body"])
""" % (os.path.dirname(os.path.abspath(__file__)), ROLE, PY)
            out = nsenter_python(info["State"]["Pid"], code)
            self.assertEqual(out.returncode, 0, out.stderr + subprocess.run(
                ["docker", "logs", cid], capture_output=True, text=True).stderr)
            self.assertIn("from the image", out.stdout)
            self.assertTrue(out.stdout.startswith("None "), out.stdout)
            functions = []
            for c in lambda_containers():  # every emulator's: another's may go meanwhile
                c_info = inspect_or_none(c)
                if c_info and c_info["HostConfig"]["NetworkMode"] == "container:" + info["Id"]:
                    functions.append(c)
            self.assertEqual(len(functions), 1)
            subprocess.run(["docker", "stop", "-t", "10", cid], check=True, capture_output=True)
            deadline = time.monotonic() + 10
            while any(inspect_or_none(c) for c in functions) and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertFalse(any(inspect_or_none(c) for c in functions))
        finally:
            if cid:
                # A stop, not a kill, first: the emulator removes its functions
                # (a failed assertion above would otherwise leave one behind).
                subprocess.run(["docker", "stop", "-t", "10", cid], capture_output=True)
                subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
            subprocess.run(["docker", "image", "rm", tag], capture_output=True)


def inspect_or_none(cid):
    out = subprocess.run(["docker", "inspect", cid], capture_output=True, text=True)
    return json.loads(out.stdout)[0] if out.returncode == 0 else None


if __name__ == "__main__":
    unittest.main()
