#!/usr/bin/python3
"""Lambda functions running in real containers, invoked with Debian's boto3
through `airgap emulator`: a Python function (image shaped like AWS's Python
base image, our own runtime client) and a provided.al2023-style function
whose bootstrap is a shell script. Results, errors, init errors, timeouts,
log tails, versions and aliases, updated code, reserved concurrency, a
function that uses SQS on localhost from inside, asynchronous invocations
with retries, and: no container left behind — after the emulator stops, and
after a kill -9 once the next emulator has started.

Needs a Docker engine and the images of tests/images/build (built here when
missing); skipped (77) without Docker."""

import base64
import concurrent.futures
import json
import os
import signal
import sys
import time
import unittest
import warnings

from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lambda_support import (MAPPING, ROLE, Emulator, build_images, client,  # noqa: E402
                            docker_available, lambda_containers, make_zip)

ENV = {"LAMBDA_RUNTIME_IMAGE_MAPPING": MAPPING, "LAMBDA_RETRY_BASE_DELAY_SECONDS": "1",
       "LAMBDA_KEEPALIVE_MS": "60000"}

PY = """
import json, os, time
import boto3

def handler(event, context):
    kind = event.get("kind")
    if kind == "env":
        keys = ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_REGION",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "LAMBDA_TASK_ROOT", "_HANDLER",
                "AWS_ENDPOINT_URL", "STAGE", "AWS_LAMBDA_LOG_GROUP_NAME"]
        return {k: os.environ.get(k) for k in keys} | {
            "arn": context.invoked_function_arn, "request": context.aws_request_id,
            "remaining": context.get_remaining_time_in_millis()}
    if kind == "fail":
        raise ValueError("asked to fail")
    if kind == "sleep":
        time.sleep(event["seconds"])
        return "slept"
    if kind == "print":
        print("hello from the function", flush=True)
        return "printed"
    if kind == "sqs":
        # Debian's boto3 predates AWS_ENDPOINT_URL: pass it, as functions
        # written for LocalStack do.
        sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
        url = sqs.create_queue(QueueName=event["queue"])["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=event["body"])
        return "sent"
    if kind == "record_then_fail":
        sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
        url = sqs.get_queue_url(QueueName=event["queue"])["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=context.aws_request_id)
        raise RuntimeError("fail after recording")
    return {"echo": event, "version": VERSION}

VERSION = "v1"
"""

BOOTSTRAP = """#!/bin/sh
# A provided.al2023-style function: the runtime loop in shell (busybox wget).
api="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  wget -q -S -O /tmp/event "$api/invocation/next" 2>/tmp/headers || exit 0
  id=$(sed -n 's/^ *Lambda-Runtime-Aws-Request-Id: *\\([^ ]*\\).*/\\1/p' /tmp/headers | tr -d '\\r')
  event=$(cat /tmp/event)
  case "$event" in
    *fail*) wget -q -O /dev/null --post-data='{"errorMessage":"shell says no","errorType":"ShellError"}' "$api/invocation/$id/error" ;;
    *) wget -q -O /dev/null --post-data="{\\"handler\\":\\"$_HANDLER\\",\\"event\\":$event}" "$api/invocation/$id/response" ;;
  esac
done
"""


@unittest.skipUnless(docker_available(), "no Docker engine")
class Invoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        if not build_images():
            raise unittest.SkipTest("the Lambda test images could not be built")
        cls.emu = Emulator(extra_env=ENV)
        cls.lam = client(cls.emu.endpoint)
        cls.sqs = client(cls.emu.endpoint, "sqs")
        cls.lam.create_function(FunctionName="py", Runtime="python3.12", Role=ROLE,
                                Handler="app.handler", Timeout=20,
                                Environment={"Variables": {"STAGE": "test"}},
                                Code={"ZipFile": make_zip({"app.py": PY})})

    @classmethod
    def tearDownClass(cls):
        pid = cls.emu.proc.pid
        cls.emu.stop()
        left = lambda_containers(pid)
        if left:
            raise AssertionError("containers left behind: %s" % left)

    def invoke(self, name, event, **kw):
        r = self.lam.invoke(FunctionName=name, Payload=json.dumps(event).encode(), **kw)
        return r, json.loads(r["Payload"].read() or b"null")

    def test_result_and_environment(self):
        r, out = self.invoke("py", {"kind": "env"})
        self.assertEqual(r["StatusCode"], 200)
        self.assertNotIn("FunctionError", r)
        self.assertEqual(r["ExecutedVersion"], "$LATEST")
        self.assertEqual(out["AWS_LAMBDA_FUNCTION_NAME"], "py")
        self.assertEqual(out["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST")
        self.assertEqual(out["AWS_REGION"], "us-east-1")
        self.assertEqual(out["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128")
        self.assertEqual(out["LAMBDA_TASK_ROOT"], "/var/task")
        self.assertEqual(out["_HANDLER"], "app.handler")
        self.assertEqual(out["STAGE"], "test")
        self.assertEqual(out["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/py")
        self.assertEqual(out["AWS_ENDPOINT_URL"], "http://localhost:%d" % self.emu.port)
        self.assertEqual(out["arn"], "arn:aws:lambda:us-east-1:000000000000:function:py")
        self.assertTrue(0 < out["remaining"] <= 20000)
        # Warm: the next call is served by the same environment, quickly.
        start = time.monotonic()
        r, out = self.invoke("py", {"a": 1})
        self.assertEqual(out, {"echo": {"a": 1}, "version": "v1"})
        self.assertLess(time.monotonic() - start, 2.0)

    def test_function_error_and_tail(self):
        r, out = self.invoke("py", {"kind": "fail"})
        self.assertEqual(r["StatusCode"], 200)
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(out["errorType"], "ValueError")
        self.assertEqual(out["errorMessage"], "asked to fail")
        r, out = self.invoke("py", {"kind": "print"}, LogType="Tail")
        log = base64.b64decode(r["LogResult"]).decode()
        self.assertIn("START RequestId: ", log)
        self.assertIn("hello from the function", log)
        self.assertIn("REPORT RequestId: ", log)

    def test_timeout_replaces_the_environment(self):
        self.lam.create_function(FunctionName="slow", Runtime="python3.12", Role=ROLE,
                                 Handler="app.handler", Timeout=1,
                                 Code={"ZipFile": make_zip({"app.py": PY})})
        self.invoke("slow", {})  # warm, so the clock below is the function's
        start = time.monotonic()
        r, out = self.invoke("slow", {"kind": "sleep", "seconds": 5})
        self.assertLess(time.monotonic() - start, 3.5)
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(out["errorType"], "Sandbox.Timedout")
        self.assertRegex(out["errorMessage"], r"Task timed out after 1\.00 seconds$")
        r, out = self.invoke("slow", {"x": 1})
        self.assertEqual(out["echo"], {"x": 1})

    def test_init_error(self):
        self.lam.create_function(FunctionName="broken", Runtime="python3.12", Role=ROLE,
                                 Handler="missing.handler",
                                 Code={"ZipFile": make_zip({"app.py": PY})})
        r, out = self.invoke("broken", {})
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(out["errorType"], "Runtime.ImportModuleError")
        self.assertIn("Unable to import module 'missing'", out["errorMessage"])

    def test_update_versions_aliases(self):
        self.lam.create_function(FunctionName="vers", Runtime="python3.12", Role=ROLE,
                                 Handler="app.handler", Code={"ZipFile": make_zip({"app.py": PY})},
                                 Publish=True)
        self.invoke("vers", {})
        self.lam.update_function_code(FunctionName="vers",
                                      ZipFile=make_zip({"app.py": PY.replace('"v1"', '"v2"')}))
        self.lam.get_waiter("function_updated_v2").wait(FunctionName="vers",
                                                        WaiterConfig={"Delay": 1})
        r, out = self.invoke("vers", {})
        self.assertEqual(out["version"], "v2")
        r, out = self.invoke("vers", {}, Qualifier="1")
        self.assertEqual((out["version"], r["ExecutedVersion"]), ("v1", "1"))
        self.lam.publish_version(FunctionName="vers")
        self.lam.create_alias(FunctionName="vers", Name="prod", FunctionVersion="2")
        r, out = self.invoke("vers:prod", {})
        self.assertEqual((out["version"], r["ExecutedVersion"]), ("v2", "2"))

    def test_layers_in_opt(self):
        layer = self.lam.publish_layer_version(
            LayerName="helpers", Content={"ZipFile": make_zip({"python/helper.py": "WHO = 'layer'\n"})})
        code = make_zip({"app.py": "import helper\ndef handler(e, c):\n    return helper.WHO\n"})
        self.lam.create_function(FunctionName="layered", Runtime="python3.12", Role=ROLE,
                                 Handler="app.handler", Code={"ZipFile": code},
                                 Layers=[layer["LayerVersionArn"]])
        r, out = self.invoke("layered", {})
        self.assertEqual(out, "layer")

    def test_reserved_concurrency(self):
        self.lam.create_function(FunctionName="one", Runtime="python3.12", Role=ROLE,
                                 Handler="app.handler", Timeout=10,
                                 Code={"ZipFile": make_zip({"app.py": PY})})
        self.lam.put_function_concurrency(FunctionName="one", ReservedConcurrentExecutions=1)
        self.invoke("one", {})  # one warm environment

        def call(_):
            try:
                self.invoke("one", {"kind": "sleep", "seconds": 1.5})
                return "ok"
            except ClientError as e:
                return e.response["Error"]["Code"]

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            results = sorted(pool.map(call, range(2)))
        self.assertEqual(results, ["TooManyRequestsException", "ok"])
        self.lam.put_function_concurrency(FunctionName="one", ReservedConcurrentExecutions=0)
        with self.assertRaises(ClientError) as cm:
            self.invoke("one", {})
        self.assertEqual(cm.exception.response["Error"]["Code"], "TooManyRequestsException")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 429)

    def test_function_uses_sqs_on_localhost(self):
        r, out = self.invoke("py", {"kind": "sqs", "queue": "from-lambda", "body": "hi"})
        self.assertEqual(out, "sent")
        url = self.sqs.get_queue_url(QueueName="from-lambda")["QueueUrl"]
        msgs = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
        self.assertEqual(msgs[0]["Body"], "hi")

    def test_async_retries(self):
        url = self.sqs.create_queue(QueueName="attempts")["QueueUrl"]
        r = self.lam.invoke(FunctionName="py", InvocationType="Event",
                            Payload=json.dumps({"kind": "record_then_fail", "queue": "attempts"}))
        self.assertEqual(r["StatusCode"], 202)
        seen = []
        deadline = time.monotonic() + 30
        while len(seen) < 3 and time.monotonic() < deadline:
            for m in self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1,
                                              MaxNumberOfMessages=10).get("Messages", []):
                seen.append(m["Body"])
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        # The first attempt and two retries, all with the same request id.
        self.assertEqual(len(seen), 3, seen)
        self.assertEqual(len(set(seen)), 1)

    def test_dry_run_and_payload_limit(self):
        self.assertEqual(self.lam.invoke(FunctionName="py", InvocationType="DryRun")["StatusCode"],
                         204)
        with self.assertRaises(ClientError) as cm:
            self.lam.invoke(FunctionName="py", Payload=b'"' + b"x" * (6 * 1024 * 1024) + b'"')
        self.assertEqual(cm.exception.response["Error"]["Code"], "RequestEntityTooLargeException")

    def test_provided_shell_bootstrap(self):
        self.lam.create_function(FunctionName="sh", Runtime="provided.al2023", Role=ROLE,
                                 Handler="function.handler",
                                 Code={"ZipFile": make_zip({"bootstrap": (BOOTSTRAP, 0o100755)})})
        r, out = self.invoke("sh", {"n": 1})
        self.assertEqual(out, {"handler": "function.handler", "event": {"n": 1}})
        r, out = self.invoke("sh", {"x": "fail"})
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(out["errorType"], "ShellError")

    def test_missing_image_is_named(self):
        self.lam.create_function(FunctionName="java", Runtime="java21", Role=ROLE,
                                 Handler="a::b", Code={"ZipFile": make_zip({"a": "b"})})
        with self.assertRaises(ClientError) as cm:
            self.invoke("java", {})
        self.assertIn("public.ecr.aws/lambda/java:21", cm.exception.response["Error"]["Message"])


@unittest.skipUnless(docker_available(), "no Docker engine")
class Reaping(unittest.TestCase):
    def test_kill_9_then_restart_reaps(self):
        warnings.simplefilter("ignore", ResourceWarning)
        if not build_images():
            self.skipTest("the Lambda test images could not be built")
        emu = Emulator(extra_env=ENV)
        lam = client(emu.endpoint)
        lam.create_function(FunctionName="r", Runtime="python3.12", Role=ROLE,
                            Handler="app.handler", Code={"ZipFile": make_zip({"app.py": PY})})
        lam.invoke(FunctionName="r", Payload=b"{}")
        pid = emu.proc.pid
        self.assertEqual(len(lambda_containers(pid)), 2)  # the function and its sandbox
        emu.proc.send_signal(signal.SIGKILL)
        emu.proc.wait()
        emu.proc.stdout.close()
        self.assertEqual(len(lambda_containers(pid)), 2)  # left behind
        emu2 = Emulator(extra_env=ENV)
        try:
            lam2 = client(emu2.endpoint)
            lam2.create_function(FunctionName="r2", Runtime="python3.12", Role=ROLE,
                                 Handler="app.handler", Code={"ZipFile": make_zip({"app.py": PY})})
            lam2.invoke(FunctionName="r2", Payload=b"{}")
            deadline = time.monotonic() + 10
            while lambda_containers(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertEqual(lambda_containers(pid), [])
        finally:
            pid2 = emu2.proc.pid
            emu2.stop()
        self.assertEqual(lambda_containers(pid2), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
