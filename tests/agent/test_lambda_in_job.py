#!/usr/bin/python3
"""End to end: Lambda inside a job (issue #13, "Where functions run"). Real
queue and agent processes, real Docker, the job's sandbox on network none.

  - the job's script (boto3 on localhost:4566) creates a function from a zip
    for the test image's runtime and invokes it; the function calls SQS and
    S3 on localhost:4566 from inside (it joined the job's namespace) and the
    job sees the effect. The function container was started by the
    supervisor (labels airgap.job, airgap.role=function; NetworkMode
    container:<the job's sandbox>);
  - the job itself cannot use the supervisor's container channel (it shares
    the namespace, not the emulator's process): a request it sends there is
    refused, and one that asks for a privileged container too;
  - after the job no function container remains: when it passes, when it is
    canceled, and when it times out;
  - what the supervisor's channel carries works as standalone: LogType=Tail
    (the function's output, read by the supervisor), MemorySize (the
    container's memory limit), ephemeral storage (the /tmp tmpfs's size), a
    timed-out environment replaced, and reserved concurrency.

The agent gets LAMBDA_RUNTIME_IMAGE_MAPPING (the operator's setting, passed on
to each job's emulator) mapping python3.12 to the locally built image. Needs
root, a Docker engine and the images of tests/images/build.
"""
import json
import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "emulator",
                                "lambda"))
import test_agent_e2e as e2e  # noqa: E402
from lambda_support import MAPPING, build_images, docker_available  # noqa: E402

FUNCTION = '''
import os
import boto3

def handler(event, context):
    url = os.environ["AWS_ENDPOINT_URL"]
    sqs = boto3.client("sqs", endpoint_url=url)
    q = sqs.get_queue_url(QueueName=event["queue"])["QueueUrl"]
    sqs.send_message(QueueUrl=q, MessageBody="from the function " + context.aws_request_id)
    boto3.client("s3", endpoint_url=url).put_object(Bucket=event["bucket"], Key="k",
                                                    Body=b"written inside")
    return {"endpoint": url}
'''

JOB = r'''
import io, json, sys, time, zipfile
import boto3

def client(name):
    return boto3.client(name, endpoint_url="http://localhost:4566", region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")

buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("app.py", open("function.py").read())
lam, sqs, s3 = client("lambda"), client("sqs"), client("s3")
q = sqs.create_queue(QueueName="seen")["QueueUrl"]
s3.create_bucket(Bucket="seen")
lam.create_function(FunctionName="fn", Runtime="python3.12", Handler="app.handler",
                    Role="arn:aws:iam::000000000000:role/r", Timeout=30,
                    Code={"ZipFile": buf.getvalue()})
r = lam.invoke(FunctionName="fn", Payload=json.dumps({"queue": "seen", "bucket": "seen"}))
print("function error:", r.get("FunctionError"))
print("answer:", r["Payload"].read().decode())
m = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=2)["Messages"][0]
print("queue got:", m["Body"].split(" ")[0:3])
print("bucket got:", s3.get_object(Bucket="seen", Key="k")["Body"].read().decode())
print("invoked", flush=True)
if len(sys.argv) > 1:
    time.sleep(int(sys.argv[1]))
'''

LIMITED = '''
import os
import time

def handler(event, context):
    print("tail marker", event.get("n"))
    time.sleep(event.get("sleep", 0))
    st = os.statvfs("/tmp")
    return {"tmp_mb": st.f_blocks * st.f_frsize // (1024 * 1024), "pid": os.getpid()}
'''

LIMITS_JOB = r'''
import base64, io, json, sys, threading, time, zipfile
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

def client(name):
    # No retries: a throttled call must be seen, not retried until it passes.
    return boto3.client(name, endpoint_url="http://localhost:4566", region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 0}))

buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("app.py", open("limited.py").read())
lam = client("lambda")
lam.create_function(FunctionName="lim", Runtime="python3.12", Handler="app.handler",
                    Role="arn:aws:iam::000000000000:role/r", Timeout=3, MemorySize=256,
                    EphemeralStorage={"Size": 600}, Code={"ZipFile": buf.getvalue()})
lam.get_waiter("function_active_v2").wait(FunctionName="lim", WaiterConfig={"Delay": 1})

def invoke(event, **kw):
    r = lam.invoke(FunctionName="lim", Payload=json.dumps(event).encode(), **kw)
    return r, json.loads(r["Payload"].read())

r, out = invoke({"n": 1}, LogType="Tail")
print("tail:", "tail marker 1" in base64.b64decode(r["LogResult"]).decode())
print("tmp_mb:", out["tmp_mb"])
first_pid = out["pid"]
r, out = invoke({"n": 2, "sleep": 10})
print("timeout:", r.get("FunctionError"), out.get("errorMessage"))
r, out = invoke({"n": 3}, LogType="Tail")
print("after timeout:", r.get("FunctionError"), "tail marker 3" in
      base64.b64decode(r["LogResult"]).decode())
lam.put_function_concurrency(FunctionName="lim", ReservedConcurrentExecutions=1)
invoke({"n": 4})  # one warm environment, the only one allowed
errors = []

def slow():
    try:
        invoke({"n": 5, "sleep": 2.5})
    except ClientError as e:
        errors.append(e.response["Error"]["Code"])

t = threading.Thread(target=slow)
t.start()
time.sleep(1)
try:
    invoke({"n": 6})
    print("throttled: no")
except ClientError as e:
    print("throttled:", e.response["Error"]["Code"])
t.join()
print("slow one:", errors or "ok")
print("limits done", flush=True)
time.sleep(600)
'''

# The job tries the supervisor's channel itself.
INTRUDER = r'''
import json, socket

def ask(request):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("\0airgap-containers")
    s.sendall(json.dumps(request).encode())
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return json.loads(data)

print("plain:", ask({"op": "create", "image": "airgap-test/busybox"}).get("error"))
print("privileged:", ask({"op": "create", "image": "airgap-test/busybox", "privileged": True})
      .get("error"))
'''


def function_containers(job_id):
    return [c for c in e2e.containers("airgap.job=" + job_id)
            if json.loads(e2e.run("docker", "inspect", c).stdout)[0]["Config"]["Labels"]
            .get("airgap.role") == "function"]


@unittest.skipUnless(docker_available(), "no Docker engine")
class LambdaInJobTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not build_images():
            raise unittest.SkipTest("the Lambda test images could not be built")
        # The operator's mapping: the agent passes it on to each job's emulator.
        os.environ["LAMBDA_RUNTIME_IMAGE_MAPPING"] = MAPPING

    @classmethod
    def tearDownClass(cls):
        os.environ.pop("LAMBDA_RUNTIME_IMAGE_MAPPING", None)

    def setUp(self):
        self.tmp = e2e.tempfile.mkdtemp(prefix="airgap-lambda-job-")
        self.repo = e2e.make_repo(self.tmp, {"job.py": JOB, "function.py": FUNCTION,
                                             "intruder.py": INTRUDER, "limits.py": LIMITS_JOB,
                                             "limited.py": LIMITED})
        self.cluster = e2e.Cluster()

    def tearDown(self):
        c = self.cluster
        c.stop_agent()
        self.assertEqual(e2e.containers("airgap.agent=" + c.agent_id), [])
        self.assertEqual(e2e.mounts_under(c.root), [])
        c.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def wait_log(self, job_id, text, timeout=120):
        deadline = time.time() + timeout
        while text not in self.cluster.log(job_id):
            self.assertLess(time.time(), deadline, self.cluster.log(job_id))
            time.sleep(0.2)

    def test_function_in_the_jobs_namespace_uses_its_emulator(self):
        c = self.cluster
        job_id = c.submit(self.repo, "python3 job.py 600", image=e2e.PYTHON, timeout=300)
        self.wait_log(job_id, "invoked")
        log = c.log(job_id)
        self.assertIn("function error: None", log)
        self.assertIn('"endpoint": "http://localhost:4566"', log)
        self.assertIn("queue got: ['from', 'the', 'function']", log)
        self.assertIn("bucket got: written inside", log)
        # The supervisor started it, in the job's sandbox namespace.
        [fn] = function_containers(job_id)
        info = json.loads(e2e.run("docker", "inspect", fn).stdout)[0]
        labels = info["Config"]["Labels"]
        self.assertEqual(labels["airgap.agent"], c.agent_id)
        mode = info["HostConfig"]["NetworkMode"]
        self.assertTrue(mode.startswith("container:"), mode)
        sandbox = json.loads(e2e.run("docker", "inspect", mode.split(":", 1)[1]).stdout)[0]
        self.assertEqual(sandbox["Config"]["Labels"]["airgap.role"], "sandbox")
        self.assertFalse(info["HostConfig"]["Privileged"])
        # Nothing of the host but the run's hosts file, read-only: the sandbox
        # (network none, NetworkDisabled) has no /etc/hosts to share.
        binds = info["HostConfig"]["Binds"] or []
        self.assertEqual([b.split(":")[1:] for b in binds], [["/etc/hosts", "ro"]], binds)
        self.assertTrue(binds[0].endswith("/hosts:/etc/hosts:ro"), binds)
        # Canceled mid-run: the function container goes with the job.
        c.api("POST", "/v1/jobs/%s/cancel" % job_id, {})
        self.assertEqual(c.wait(job_id, timeout=60)["state"], "canceled")
        self.assertEqual(e2e.containers("airgap.job=" + job_id), [])

    def test_passed_and_timed_out_jobs_leave_no_function(self):
        c = self.cluster
        passed = c.submit(self.repo, "python3 job.py", image=e2e.PYTHON, timeout=300)
        job = c.wait(passed, timeout=300)
        self.assertEqual(job["state"], "passed", c.log(passed))
        self.assertIn("bucket got: written inside", c.log(passed))
        self.assertEqual(e2e.containers("airgap.job=" + passed), [])
        timed = c.submit(self.repo, "python3 job.py 600", image=e2e.PYTHON, timeout=60)
        job = c.wait(timed, timeout=300)
        self.assertEqual((job["state"], job["reason"]), ("failed", "timeout"), c.log(timed))
        self.assertIn("invoked", c.log(timed))
        self.assertEqual(e2e.containers("airgap.job=" + timed), [])

    def test_tail_memory_storage_timeout_and_concurrency_in_a_job(self):
        c = self.cluster
        job_id = c.submit(self.repo, "python3 limits.py", image=e2e.PYTHON, timeout=300)
        self.wait_log(job_id, "limits done", timeout=240)
        log = c.log(job_id)
        self.assertIn("tail: True\n", log)  # the function's own output, through the channel
        self.assertIn("tmp_mb: 600\n", log)
        self.assertRegex(log, r"timeout: Unhandled RequestId: [0-9a-f-]{36} Error: Task timed out "
                              r"after 3\.00 seconds\n")
        self.assertIn("after timeout: None True\n", log)
        self.assertIn("throttled: TooManyRequestsException\n", log)
        self.assertIn("slow one: ok\n", log)
        # The container the timeout left is gone; the one that runs has the
        # function's MemorySize and ephemeral storage, in the job's namespace.
        [fn] = function_containers(job_id)
        host = json.loads(e2e.run("docker", "inspect", fn).stdout)[0]["HostConfig"]
        self.assertEqual(host["Memory"], 256 << 20)
        self.assertEqual(host["Tmpfs"], {"/tmp": "rw,exec,size=600m"})
        self.assertTrue(host["NetworkMode"].startswith("container:"), host["NetworkMode"])
        c.api("POST", "/v1/jobs/%s/cancel" % job_id, {})
        self.assertEqual(c.wait(job_id, timeout=60)["state"], "canceled")
        self.assertEqual(e2e.containers("airgap.job=" + job_id), [])

    def test_the_job_cannot_use_the_container_channel(self):
        c = self.cluster
        job_id = c.submit(self.repo, "python3 intruder.py", image=e2e.PYTHON, timeout=120)
        job = c.wait(job_id, timeout=180)
        log = c.log(job_id)
        self.assertEqual(job["state"], "passed", log)
        self.assertIn("plain: only the job's emulator may use this channel\n", log)
        self.assertIn("privileged: only the job's emulator may use this channel\n", log)
        self.assertEqual(e2e.containers("airgap.job=" + job_id), [])


if __name__ == "__main__":
    unittest.main()
