#!/usr/bin/python3
"""The rest of Lambda's function life with Debian's boto3 against a real
`airgap emulator`: deployment packages and layers from the emulator's own S3
(and AWS's GetObject errors), event invoke configurations (validation),
asynchronous invocations whose records reach their destinations (SQS, SNS,
EventBridge, another function) and the dead-letter queue, invocation logs in
CloudWatch Logs (default and custom groups, Text and JSON), images checked
at CreateFunction (a missing one fails the function) and image-package
functions with ImageConfig.

Functions run in real containers from the images of tests/images/build; the
tests that need them skip without a Docker engine."""

import json
import os
import sys
import time
import unittest
import urllib.error
import urllib.request
import warnings

from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lambda_support import (IMAGES, MAPPING, ROLE, Emulator, build_images,  # noqa: E402
                            client, docker_available, lambda_containers, make_zip)

ENV = {"LAMBDA_RUNTIME_IMAGE_MAPPING": MAPPING, "LAMBDA_RETRY_BASE_DELAY_SECONDS": "1",
       "LAMBDA_KEEPALIVE_MS": "60000"}

PY = """
import json

def handler(event, context):
    if isinstance(event, dict) and event.get("version") == "2.0":
        if event["rawPath"] == "/plain":
            return {"plain": True}
        if event["rawPath"] == "/fail":
            raise ValueError("url failure")
        return {"statusCode": 201, "headers": {"content-type": "application/json", "x-echo": "yes"},
                "cookies": ["a=1; Path=/", "b=2"], "body": json.dumps(event)}
    if isinstance(event, dict) and event.get("kind") == "fail":
        raise ValueError("asked to fail")
    if isinstance(event, dict) and event.get("kind") == "print":
        print("printed " + event.get("word", ""), flush=True)
    return {"echo": event, "source": SOURCE}

SOURCE = "zip"
"""

HAVE_DOCKER = docker_available()


def wait_for(fn, timeout=30, delay=0.3):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(delay)


class Core(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.docker = HAVE_DOCKER and build_images()
        env = dict(ENV)
        if not cls.docker:
            env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
        cls.emu = Emulator(extra_env=env)
        cls.lam = client(cls.emu.endpoint)
        cls.raw = client(cls.emu.endpoint, validate=False)
        cls.s3 = client(cls.emu.endpoint, "s3")
        cls.sqs = client(cls.emu.endpoint, "sqs")
        cls.sns = client(cls.emu.endpoint, "sns")
        cls.events = client(cls.emu.endpoint, "events")
        cls.logs = client(cls.emu.endpoint, "logs")
        cls.s3.create_bucket(Bucket="code")

    @classmethod
    def tearDownClass(cls):
        pid = cls.emu.proc.pid
        cls.emu.stop()
        if cls.docker:
            left = lambda_containers(pid)
            if left:
                raise AssertionError("containers left behind: %s" % left)

    def need_docker(self):
        if not self.docker:
            self.skipTest("no Docker engine or test images")

    def err(self, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        e = cm.exception.response
        return (e["Error"]["Code"], e["Error"].get("Message", ""),
                e["ResponseMetadata"]["HTTPStatusCode"])

    def create(self, name, **kw):
        args = dict(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                    Timeout=20, Code={"ZipFile": make_zip({"app.py": PY})})
        args.update(kw)
        out = self.lam.create_function(**args)
        self.lam.get_waiter("function_active_v2").wait(FunctionName=name,
                                                       WaiterConfig={"Delay": 1})
        return out

    def invoke(self, name, event, **kw):
        r = self.lam.invoke(FunctionName=name, Payload=json.dumps(event).encode(), **kw)
        return r, json.loads(r["Payload"].read() or b"null")

    def queue(self, name):
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        return url, arn

    def receive(self, url, count=1, timeout=40):
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            r = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                         MessageAttributeNames=["All"])
            for m in r.get("Messages", []):
                got.append(m)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return got

    # ---- code from S3 ----

    def test_code_from_s3_errors(self):
        code, msg, status = self.err(self.lam.create_function, FunctionName="s3-nokey",
                                     Runtime="python3.12", Role=ROLE, Handler="app.handler",
                                     Code={"S3Bucket": "code", "S3Key": "missing.zip"})
        self.assertEqual((code, status), ("InvalidParameterValueException", 400))
        self.assertEqual(msg, "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error "
                              "Message: The specified key does not exist.")
        code, msg, _ = self.err(self.lam.create_function, FunctionName="s3-nobucket",
                                Runtime="python3.12", Role=ROLE, Handler="app.handler",
                                Code={"S3Bucket": "no-such-bucket-here", "S3Key": "a.zip"})
        self.assertEqual(code, "InvalidParameterValueException")
        self.assertIn("S3 Error Code: NoSuchBucket", msg)
        self.s3.put_object(Bucket="code", Key="bad.zip", Body=b"not a zip")
        code, msg, _ = self.err(self.lam.create_function, FunctionName="s3-bad",
                                Runtime="python3.12", Role=ROLE, Handler="app.handler",
                                Code={"S3Bucket": "code", "S3Key": "bad.zip"})
        self.assertEqual(code, "InvalidParameterValueException")
        self.assertIn("Could not unzip uploaded file", msg)
        code, msg, _ = self.err(self.raw.create_function, FunctionName="s3-both",
                                Runtime="python3.12", Role=ROLE, Handler="app.handler",
                                Code={"S3Bucket": "code", "S3Key": "bad.zip", "ZipFile": b"x"})
        self.assertEqual(code, "InvalidParameterValueException")
        code, _, _ = self.err(self.raw.create_function, FunctionName="s3-half",
                              Runtime="python3.12", Role=ROLE, Handler="app.handler",
                              Code={"S3Bucket": "code"})
        self.assertEqual(code, "InvalidParameterValueException")
        # Nothing was created by any of them.
        names = [f["FunctionName"] for f in self.lam.list_functions()["Functions"]]
        self.assertFalse([n for n in names if n.startswith("s3-")])

    def test_code_from_s3(self):
        self.s3.put_bucket_versioning(Bucket="code",
                                      VersioningConfiguration={"Status": "Enabled"})
        v1 = self.s3.put_object(Bucket="code", Key="fn.zip",
                                Body=make_zip({"app.py": PY}))["VersionId"]
        self.s3.put_object(Bucket="code", Key="fn.zip",
                           Body=make_zip({"app.py": PY.replace('"zip"', '"s3-v2"')}))
        # A package bigger than a ZipFile upload could carry (8 MiB request).
        big = make_zip({"app.py": PY.replace('"zip"', '"big"'),
                        "blob.bin": os.urandom(9 * 1024 * 1024)})
        self.s3.put_object(Bucket="code", Key="big.zip", Body=big)
        out = self.create("from-s3", Code={"S3Bucket": "code", "S3Key": "fn.zip",
                                           "S3ObjectVersion": v1})
        self.assertGreater(out["CodeSize"], 0)
        big_fn = self.create("from-s3-big", Code={"S3Bucket": "code", "S3Key": "big.zip"})
        self.assertEqual(big_fn["CodeSize"], len(big))
        layer = self.lam.publish_layer_version(
            LayerName="s3-layer",
            Content={"S3Bucket": "code", "S3Key": "fn.zip", "S3ObjectVersion": v1})
        self.assertGreater(layer["Content"]["CodeSize"], 0)
        code, msg, _ = self.err(self.lam.publish_layer_version, LayerName="s3-layer",
                                Content={"S3Bucket": "code", "S3Key": "fn.zip",
                                         "S3ObjectVersion": "nope"})
        self.assertIn("S3 Error Code: NoSuchVersion", msg)
        if not self.docker:
            return
        _, out = self.invoke("from-s3", {"a": 1})
        self.assertEqual(out, {"echo": {"a": 1}, "source": "zip"})
        self.lam.update_function_code(FunctionName="from-s3", S3Bucket="code", S3Key="fn.zip")
        self.lam.get_waiter("function_updated_v2").wait(FunctionName="from-s3",
                                                        WaiterConfig={"Delay": 1})
        _, out = self.invoke("from-s3", {})
        self.assertEqual(out["source"], "s3-v2")
        _, out = self.invoke("from-s3-big", {})
        self.assertEqual(out["source"], "big")

    # ---- event invoke configurations ----

    def test_event_invoke_config_api(self):
        self.create("eic", Publish=True)
        code, msg, status = self.err(self.raw.put_function_event_invoke_config,
                                     FunctionName="eic", MaximumRetryAttempts=3)
        self.assertEqual((code, status), ("ValidationException", 400))
        self.assertIn("'maximumRetryAttempts' failed to satisfy constraint: Member must have "
                      "value less than or equal to 2", msg)
        code, msg, _ = self.err(self.raw.put_function_event_invoke_config, FunctionName="eic",
                                MaximumEventAgeInSeconds=59)
        self.assertEqual(code, "ValidationException")
        self.assertIn("greater than or equal to 60", msg)
        code, _, _ = self.err(self.raw.put_function_event_invoke_config, FunctionName="eic",
                              MaximumEventAgeInSeconds=21601)
        self.assertEqual(code, "ValidationException")
        code, _, _ = self.err(self.lam.put_function_event_invoke_config, FunctionName="eic",
                              DestinationConfig={"OnSuccess": {
                                  "Destination": "arn:aws:s3:::bucket"}})
        self.assertEqual(code, "InvalidParameterValueException")
        code, msg, status = self.err(self.lam.get_function_event_invoke_config, FunctionName="eic")
        self.assertEqual((code, status), ("ResourceNotFoundException", 404))
        self.assertIn("doesn't have an EventInvokeConfig", msg)
        code, _, _ = self.err(self.lam.update_function_event_invoke_config, FunctionName="eic",
                              MaximumRetryAttempts=1)
        self.assertEqual(code, "ResourceNotFoundException")
        code, _, _ = self.err(self.lam.put_function_event_invoke_config, FunctionName="nope",
                              MaximumRetryAttempts=1)
        self.assertEqual(code, "ResourceNotFoundException")
        code, _, _ = self.err(self.lam.put_function_event_invoke_config, FunctionName="eic",
                              Qualifier="9", MaximumRetryAttempts=1)
        self.assertEqual(code, "ResourceNotFoundException")

        _, qarn = self.queue("eic-dest")
        out = self.lam.put_function_event_invoke_config(
            FunctionName="eic", MaximumRetryAttempts=1, MaximumEventAgeInSeconds=600,
            DestinationConfig={"OnFailure": {"Destination": qarn}})
        self.assertEqual(out["FunctionArn"],
                         "arn:aws:lambda:us-east-1:000000000000:function:eic:$LATEST")
        self.assertEqual((out["MaximumRetryAttempts"], out["MaximumEventAgeInSeconds"]), (1, 600))
        self.assertEqual(out["DestinationConfig"]["OnFailure"]["Destination"], qarn)
        # Update merges; Put replaces.
        out = self.lam.update_function_event_invoke_config(FunctionName="eic",
                                                           MaximumRetryAttempts=0)
        self.assertEqual((out["MaximumRetryAttempts"], out["MaximumEventAgeInSeconds"]), (0, 600))
        out = self.lam.put_function_event_invoke_config(FunctionName="eic", MaximumRetryAttempts=2)
        self.assertNotIn("MaximumEventAgeInSeconds", out)
        self.lam.put_function_event_invoke_config(FunctionName="eic", Qualifier="1",
                                                  MaximumRetryAttempts=1)
        listed = self.lam.list_function_event_invoke_configs(FunctionName="eic")
        self.assertEqual(sorted(c["FunctionArn"].rsplit(":", 1)[1]
                                for c in listed["FunctionEventInvokeConfigs"]), ["$LATEST", "1"])
        page = self.lam.list_function_event_invoke_configs(FunctionName="eic", MaxItems=1)
        self.assertEqual(len(page["FunctionEventInvokeConfigs"]), 1)
        rest = self.lam.list_function_event_invoke_configs(FunctionName="eic",
                                                           Marker=page["NextMarker"])
        self.assertEqual(len(rest["FunctionEventInvokeConfigs"]), 1)
        self.assertNotIn("NextMarker", rest)
        self.lam.delete_function_event_invoke_config(FunctionName="eic", Qualifier="1")
        self.assertEqual(len(self.lam.list_function_event_invoke_configs(
            FunctionName="eic")["FunctionEventInvokeConfigs"]), 1)

    # ---- destinations ----

    def test_async_destinations_sqs_and_dlq(self):
        self.need_docker()
        ok_url, ok_arn = self.queue("dest-ok")
        bad_url, bad_arn = self.queue("dest-bad")
        dlq_url, dlq_arn = self.queue("dest-dlq")
        self.create("dest", DeadLetterConfig={"TargetArn": dlq_arn})
        self.lam.put_function_event_invoke_config(
            FunctionName="dest", MaximumRetryAttempts=1,
            DestinationConfig={"OnSuccess": {"Destination": ok_arn},
                               "OnFailure": {"Destination": bad_arn}})
        r = self.lam.invoke(FunctionName="dest", InvocationType="Event",
                            Payload=json.dumps({"n": 1}).encode())
        self.assertEqual(r["StatusCode"], 202)
        [m] = self.receive(ok_url)
        rec = json.loads(m["Body"])
        self.assertEqual(rec["version"], "1.0")
        self.assertEqual(rec["requestContext"]["condition"], "Success")
        self.assertEqual(rec["requestContext"]["functionArn"],
                         "arn:aws:lambda:us-east-1:000000000000:function:dest:$LATEST")
        self.assertEqual(rec["requestContext"]["approximateInvokeCount"], 1)
        self.assertEqual(rec["requestPayload"], {"n": 1})
        self.assertEqual(rec["responseContext"], {"statusCode": 200,
                                                  "executedVersion": "$LATEST"})
        self.assertEqual(rec["responsePayload"], {"echo": {"n": 1}, "source": "zip"})
        self.assertRegex(rec["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

        self.lam.invoke(FunctionName="dest", InvocationType="Event",
                        Payload=json.dumps({"kind": "fail"}).encode())
        [m] = self.receive(bad_url)
        rec = json.loads(m["Body"])
        self.assertEqual(rec["requestContext"]["condition"], "RetriesExhausted")
        self.assertEqual(rec["requestContext"]["approximateInvokeCount"], 2)
        self.assertEqual(rec["requestPayload"], {"kind": "fail"})
        self.assertEqual(rec["responseContext"]["functionError"], "Unhandled")
        self.assertEqual(rec["responsePayload"]["errorType"], "ValueError")
        [d] = self.receive(dlq_url)
        self.assertEqual(json.loads(d["Body"]), {"kind": "fail"})
        attrs = d["MessageAttributes"]
        self.assertEqual(attrs["ErrorCode"]["StringValue"], "200")
        self.assertEqual(attrs["ErrorMessage"]["StringValue"], "asked to fail")
        self.assertEqual(attrs["RequestID"]["StringValue"],
                         rec["requestContext"]["requestId"])
        # Nothing more arrives (one success, one failure after its retry).
        self.assertEqual(self.receive(ok_url, timeout=2) + self.receive(bad_url, timeout=1), [])

    def test_async_destinations_sns_events_lambda(self):
        self.need_docker()
        url, qarn = self.queue("dest-fanout")
        topic = self.sns.create_topic(Name="dest-topic")["TopicArn"]
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn,
                           Attributes={"RawMessageDelivery": "true"})
        self.events.put_rule(Name="lambda-results",
                             EventPattern=json.dumps({"source": ["lambda"]}))
        self.events.put_targets(Rule="lambda-results", Targets=[{"Id": "q", "Arn": qarn}])
        self.create("dest-sink")
        self.create("dest-fan")
        self.lam.put_function_event_invoke_config(
            FunctionName="dest-fan", MaximumRetryAttempts=0,
            DestinationConfig={"OnSuccess": {"Destination": topic},
                               "OnFailure": {"Destination":
                                             "arn:aws:events:us-east-1:000000000000:"
                                             "event-bus/default"}})
        self.lam.invoke(FunctionName="dest-fan", InvocationType="Event", Payload=b'{"via":"sns"}')
        self.lam.invoke(FunctionName="dest-fan", InvocationType="Event",
                        Payload=b'{"kind":"fail"}')
        got = [json.loads(m["Body"]) for m in self.receive(url, count=2)]
        by_kind = {("event" if "detail-type" in g else "record"): g for g in got}
        self.assertEqual(by_kind["record"]["requestContext"]["condition"], "Success")
        self.assertEqual(by_kind["record"]["requestPayload"], {"via": "sns"})
        ev = by_kind["event"]
        self.assertEqual(ev["source"], "lambda")
        self.assertEqual(ev["detail-type"], "Lambda Function Invocation Result - Failure")
        self.assertEqual(ev["detail"]["requestContext"]["condition"], "RetriesExhausted")
        self.assertEqual(ev["resources"],
                         ["arn:aws:lambda:us-east-1:000000000000:function:dest-fan"])
        # A function as the destination: it runs with the record as its event.
        sink = "arn:aws:lambda:us-east-1:000000000000:function:dest-sink"
        self.lam.put_function_event_invoke_config(
            FunctionName="dest-fan", DestinationConfig={"OnSuccess": {"Destination": sink}})
        self.lam.invoke(FunctionName="dest-fan", InvocationType="Event",
                        Payload=b'{"kind":"print","word":"to-sink"}')

        def sink_ran():
            try:
                ev = self.logs.filter_log_events(logGroupName="/aws/lambda/dest-sink",
                                                 filterPattern="START")["events"]
            except ClientError:
                return False
            return ev
        self.assertTrue(wait_for(sink_ran), "the destination function never ran")

    # ---- logs ----

    def test_invocation_logs_in_cloudwatch(self):
        self.need_docker()
        self.create("logged")
        r, _ = self.invoke("logged", {"kind": "print", "word": "alpha"})
        request_id = r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]

        def lines():
            try:
                return self.logs.filter_log_events(logGroupName="/aws/lambda/logged")["events"]
            except ClientError:
                return []
        events = wait_for(lambda: [e for e in lines() if e["message"].startswith("REPORT")] and
                          lines())
        messages = [e["message"] for e in events]
        self.assertTrue(any(m.startswith("START RequestId: ") and "Version: $LATEST" in m
                            for m in messages), messages)
        self.assertIn("printed alpha\n", messages)
        self.assertTrue(any(m.startswith("END RequestId: ") for m in messages))
        report = [m for m in messages if m.startswith("REPORT")][0]
        self.assertRegex(report, r"Duration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: "
                                 r"128 MB\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms")
        self.assertTrue(request_id)
        streams = self.logs.describe_log_streams(logGroupName="/aws/lambda/logged")["logStreams"]
        self.assertEqual(len(streams), 1)
        self.assertRegex(streams[0]["logStreamName"], r"^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$")
        # Warm: the same stream, no Init Duration this time.
        self.invoke("logged", {"kind": "print", "word": "beta"})
        got = wait_for(lambda: [e for e in self.logs.get_log_events(
            logGroupName="/aws/lambda/logged", logStreamName=streams[0]["logStreamName"])["events"]
            if e["message"] == "printed beta\n"])
        self.assertTrue(got)
        reports = wait_for(lambda: len([e for e in lines()
                                        if e["message"].startswith("REPORT")]) == 2 and lines())
        self.assertNotIn("Init Duration", [e["message"] for e in reports
                                           if e["message"].startswith("REPORT")][1])

    def test_logging_config_group_and_json(self):
        self.need_docker()
        self.create("logged-json")
        # Debian's boto3 predates LoggingConfig: the request as a current SDK
        # sends it (UpdateFunctionConfiguration, rest-json).
        req = urllib.request.Request(
            self.emu.endpoint + "/2015-03-31/functions/logged-json/configuration", method="PUT",
            data=json.dumps({"LoggingConfig": {"LogFormat": "JSON",
                                               "LogGroup": "/custom/group"}}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as resp:
            lc = json.loads(resp.read())["LoggingConfig"]
        self.assertEqual(lc, {"LogFormat": "JSON", "LogGroup": "/custom/group",
                              "ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO"})
        self.lam.get_waiter("function_updated_v2").wait(FunctionName="logged-json",
                                                        WaiterConfig={"Delay": 1})
        self.invoke("logged-json", {"kind": "print", "word": "gamma"})

        def lines():
            try:
                return [e["message"] for e in self.logs.filter_log_events(
                    logGroupName="/custom/group")["events"]]
            except ClientError:
                return []
        got = wait_for(lambda: [m for m in lines() if "platform.report" in m] and lines())
        start = json.loads([m for m in got if "platform.start" in m][0])
        self.assertEqual(start["type"], "platform.start")
        self.assertEqual(start["record"]["version"], "$LATEST")
        report = json.loads([m for m in got if "platform.report" in m][0])
        self.assertEqual(report["record"]["metrics"]["memorySizeMB"], 128)
        self.assertEqual(report["record"]["status"], "success")
        self.assertIn("printed gamma\n", got)
        groups = [g["logGroupName"] for g in self.logs.describe_log_groups(
            logGroupNamePrefix="/aws/lambda/logged-json")["logGroups"]]
        self.assertEqual(groups, [])

    # ---- InvokeWithResponseStream ----

    def test_invoke_with_response_stream(self):
        self.need_docker()
        if not hasattr(self.lam, "invoke_with_response_stream"):
            self.skipTest("this boto3 predates InvokeWithResponseStream (e2e_lambda_core_js "
                          "tests it)")
        self.create("streamer")
        big = "x" * 200000
        r = self.lam.invoke_with_response_stream(FunctionName="streamer",
                                                 Payload=json.dumps({"big": big}).encode())
        self.assertEqual(r["StatusCode"], 200)
        self.assertEqual(r["ExecutedVersion"], "$LATEST")
        events = list(r["EventStream"])
        chunks = [e["PayloadChunk"]["Payload"] for e in events if "PayloadChunk" in e]
        self.assertGreater(len(chunks), 1)
        self.assertEqual(json.loads(b"".join(chunks)), {"echo": {"big": big}, "source": "zip"})
        self.assertIn("InvokeComplete", events[-1])
        self.assertNotIn("ErrorCode", events[-1]["InvokeComplete"])
        r = self.lam.invoke_with_response_stream(FunctionName="streamer", LogType="Tail",
                                                 Payload=b'{"kind": "fail"}')
        events = list(r["EventStream"])
        self.assertEqual([list(e) for e in events], [["InvokeComplete"]])
        done = events[0]["InvokeComplete"]
        self.assertEqual((done["ErrorCode"], done["ErrorDetails"]), ("ValueError", "asked to fail"))
        import base64
        self.assertIn("START RequestId:", base64.b64decode(done["LogResult"]).decode())
        code, msg, _ = self.err(self.raw.invoke_with_response_stream, FunctionName="streamer",
                                InvocationType="Event", Payload=b"{}")
        self.assertEqual(code, "ValidationException")
        r = self.lam.invoke_with_response_stream(FunctionName="streamer", InvocationType="DryRun")
        self.assertEqual(r["StatusCode"], 204)

    # ---- function URLs ----

    def url_request(self, url, path="/", method="GET", body=None, headers=None):
        host = url.split("//", 1)[1].rstrip("/")
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.emu.port, path),
                                     data=body, method=method,
                                     headers=dict(headers or {}, Host=host))
        try:
            with urllib.request.urlopen(req) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def test_function_urls(self):
        self.need_docker()
        self.create("url-fn")
        url = self.lam.create_function_url_config(FunctionName="url-fn",
                                                  AuthType="NONE")["FunctionUrl"]
        self.assertRegex(url, r"^http://[a-z0-9]{32}\.lambda-url\.us-east-1\.localhost:%d/$"
                         % self.emu.port)
        status, headers, body = self.url_request(
            url, "/some/path?b=2&a=1&a=3", "POST", b'{"hello":"world"}',
            {"Content-Type": "application/json", "Cookie": "c1=v1; c2=v2", "X-Custom": "x"})
        self.assertEqual(status, 201)
        self.assertEqual(headers["x-echo"], "yes")
        self.assertEqual(headers.get_all("Set-Cookie"), ["a=1; Path=/", "b=2"])
        ev = json.loads(body)
        self.assertEqual(ev["version"], "2.0")
        self.assertEqual(ev["routeKey"], "$default")
        self.assertEqual(ev["rawPath"], "/some/path")
        self.assertEqual(ev["rawQueryString"], "b=2&a=1&a=3")
        self.assertEqual(ev["queryStringParameters"], {"a": "1,3", "b": "2"})
        self.assertEqual(ev["cookies"], ["c1=v1", "c2=v2"])
        self.assertEqual(ev["headers"]["x-custom"], "x")
        self.assertNotIn("cookie", ev["headers"])
        self.assertEqual(ev["requestContext"]["http"]["method"], "POST")
        self.assertEqual(ev["requestContext"]["http"]["path"], "/some/path")
        self.assertEqual(ev["requestContext"]["domainPrefix"], url.split("//")[1].split(".")[0])
        self.assertEqual(ev["body"], '{"hello":"world"}')
        self.assertFalse(ev["isBase64Encoded"])
        # A binary body reaches the function base64-encoded.
        status, _, body = self.url_request(url, "/bin", "PUT", b"\x00\xff",
                                           {"Content-Type": "application/octet-stream"})
        ev = json.loads(body)
        self.assertTrue(ev["isBase64Encoded"])
        self.assertEqual(ev["body"], "AP8=")
        # A result without statusCode is a 200 JSON body.
        status, headers, body = self.url_request(url, "/plain")
        self.assertEqual((status, headers["Content-Type"]), (200, "application/json"))
        self.assertEqual(json.loads(body), {"plain": True})
        status, _, body = self.url_request(url, "/fail")
        self.assertEqual(status, 502)
        # AWS_IAM: unsigned requests are refused.
        self.lam.update_function_url_config(FunctionName="url-fn", AuthType="AWS_IAM")
        status, _, body = self.url_request(url, "/plain")
        self.assertEqual((status, json.loads(body)), (403, {"Message": "Forbidden"}))
        status, _, _ = self.url_request(
            url, "/plain", headers={"Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/"
                                    "us-east-1/lambda/aws4_request, SignedHeaders=host, "
                                    "Signature=00"})
        self.assertEqual(status, 200)
        # Unknown URL ids are 404; the rest of the emulator is unaffected.
        status, _, _ = self.url_request("http://%s.lambda-url.us-east-1.localhost:%d/"
                                        % ("0" * 32, self.emu.port), "/")
        self.assertEqual(status, 404)
        self.lam.delete_function_url_config(FunctionName="url-fn")
        status, _, _ = self.url_request(url, "/plain")
        self.assertEqual(status, 404)

    # ---- images ----

    def test_missing_image_fails_the_function(self):
        self.need_docker()
        self.lam.create_function(FunctionName="img-missing", PackageType="Image", Role=ROLE,
                                 Code={"ImageUri": "airgap-test/no-such-image:1"})
        cfg = wait_for(lambda: (lambda c: c if c["State"] != "Pending" else None)(
            self.lam.get_function_configuration(FunctionName="img-missing")))
        self.assertEqual(cfg["State"], "Failed")
        self.assertEqual(cfg["StateReasonCode"], "ImageAccessDenied")
        self.assertIn("airgap-test/no-such-image:1", cfg["StateReason"])
        code, msg, status = self.err(self.lam.invoke, FunctionName="img-missing", Payload=b"{}")
        self.assertEqual((code, status), ("ResourceConflictException", 409))
        self.assertIn("following state: Failed", msg)
        # The waiter sees the failure instead of timing out.
        with self.assertRaises(Exception):
            self.lam.get_waiter("function_active_v2").wait(
                FunctionName="img-missing", WaiterConfig={"Delay": 1, "MaxAttempts": 3})
        # A zip function whose runtime maps to no image fails the same way.
        self.lam.create_function(FunctionName="img-runtime", Runtime="nodejs22.x", Role=ROLE,
                                 Handler="index.handler",
                                 Code={"ZipFile": make_zip({"index.js": "exports.handler=1"})})
        cfg = wait_for(lambda: (lambda c: c if c["State"] != "Pending" else None)(
            self.lam.get_function_configuration(FunctionName="img-runtime")))
        self.assertEqual(cfg["State"], "Failed")
        self.assertIn("public.ecr.aws/lambda/nodejs:22", cfg["StateReason"])

    def test_image_package_function(self):
        self.need_docker()
        image = IMAGES["python3.12"]
        self.lam.create_function(FunctionName="img-fn", PackageType="Image", Role=ROLE,
                                 Code={"ImageUri": image},
                                 ImageConfig={"Command": ["builtins.print"]})
        self.lam.get_waiter("function_active_v2").wait(FunctionName="img-fn",
                                                       WaiterConfig={"Delay": 1})
        got = self.lam.get_function(FunctionName="img-fn")
        self.assertEqual(got["Code"]["ImageUri"], image)
        self.assertEqual(got["Configuration"]["ImageConfigResponse"]["ImageConfig"]["Command"],
                         ["builtins.print"])
        r, out = self.invoke("img-fn", {"from": "image"}, LogType="Tail")
        self.assertNotIn("FunctionError", r)
        self.assertIsNone(out)  # print returns None
        import base64
        self.assertIn("{'from': 'image'}", base64.b64decode(r["LogResult"]).decode())

    def test_image_config_entry_point_command_and_working_directory(self):
        self.need_docker()
        import base64
        image = IMAGES["python3.12"]
        # The entry point writes a handler that answers where it ran and what
        # it got (the Command), then starts the image's own runtime client.
        entry = ["/bin/sh", "-c",
                 'printf \'def handler(e, c):\\n    return {"entry": "cwd=%s args=%s"}\\n\' '
                 '"$(pwd)" "$*" > /var/task/probe.py; exec /lambda-entrypoint.sh probe.handler',
                 "sh"]
        config = {"EntryPoint": entry, "Command": ["builtins.print"], "WorkingDirectory": "/tmp"}
        self.lam.create_function(FunctionName="img-cfg", PackageType="Image", Role=ROLE,
                                 Code={"ImageUri": image}, ImageConfig=config)
        self.lam.get_waiter("function_active_v2").wait(FunctionName="img-cfg",
                                                       WaiterConfig={"Delay": 1})
        for got in (self.lam.get_function(FunctionName="img-cfg")["Configuration"],
                    self.lam.get_function_configuration(FunctionName="img-cfg")):
            self.assertEqual(got["ImageConfigResponse"], {"ImageConfig": config})
        r, out = self.invoke("img-cfg", {"n": 1})
        self.assertNotIn("FunctionError", r)
        self.assertEqual(out, {"entry": "cwd=/tmp args=builtins.print"})
        # Changed: the next invoke runs in a new container with the new ones.
        config = {"EntryPoint": entry, "Command": ["builtins.print"], "WorkingDirectory": "/var"}
        out = self.lam.update_function_configuration(FunctionName="img-cfg", ImageConfig=config)
        self.assertEqual(out["ImageConfigResponse"], {"ImageConfig": config})
        self.lam.get_waiter("function_updated_v2").wait(FunctionName="img-cfg",
                                                        WaiterConfig={"Delay": 1})
        r, out = self.invoke("img-cfg", {"n": 2})
        self.assertEqual(out, {"entry": "cwd=/var args=builtins.print"})
        # The emulator's own share of those invokes, measured inside it
        # (airgap's /_aws/lambda/timings, what tests/bench/lambda_bench.py prints).
        import urllib.request
        url = self.emu.endpoint + "/_aws/lambda/timings"
        got = json.loads(urllib.request.urlopen(url, timeout=30).read())
        self.assertGreaterEqual(got["invocations"], 2)
        self.assertGreater(got["own_us"]["p50"], 0)
        self.assertLessEqual(got["own_us"]["p50"], got["own_us"]["max"])
        urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=30).read()
        self.assertEqual(json.loads(urllib.request.urlopen(url, timeout=30).read())["invocations"],
                         0)
        # Only the Command: the image's own entry point and working directory.
        out = self.lam.update_function_configuration(
            FunctionName="img-cfg", ImageConfig={"Command": ["builtins.print"]})
        self.assertEqual(out["ImageConfigResponse"],
                         {"ImageConfig": {"Command": ["builtins.print"]}})
        self.lam.get_waiter("function_updated_v2").wait(FunctionName="img-cfg",
                                                        WaiterConfig={"Delay": 1})
        r, out = self.invoke("img-cfg", {"n": 3}, LogType="Tail")
        self.assertNotIn("FunctionError", r)
        self.assertIsNone(out)
        self.assertIn("{'n': 3}", base64.b64decode(r["LogResult"]).decode())
        # An empty ImageConfig clears it: AWS then shows none.
        out = self.lam.update_function_configuration(FunctionName="img-cfg", ImageConfig={})
        self.assertNotIn("ImageConfigResponse", out)
        self.assertNotIn("ImageConfigResponse",
                         self.lam.get_function_configuration(FunctionName="img-cfg"))

    def test_image_config_that_cannot_be_applied(self):
        # A relative WorkingDirectory: no container can be made with it, so
        # the function fails with the error in ImageConfigResponse.Error.
        self.need_docker()
        image = IMAGES["python3.12"]

        def settled(name, member, pending):
            return wait_for(lambda: (lambda c: c if c.get(member) != pending else None)(
                self.lam.get_function_configuration(FunctionName=name)))

        self.lam.create_function(FunctionName="img-rel", PackageType="Image", Role=ROLE,
                                 Code={"ImageUri": image},
                                 ImageConfig={"WorkingDirectory": "app"})
        got = settled("img-rel", "State", "Pending")
        self.assertEqual(got["State"], "Failed")
        self.assertEqual(got["StateReasonCode"], "InvalidImage")
        error = got["ImageConfigResponse"]["Error"]
        self.assertEqual(error["ErrorCode"], "InvalidImage")
        self.assertIn("WorkingDirectory 'app' is not an absolute path", error["Message"])
        self.assertEqual(got["StateReason"], error["Message"])
        self.assertEqual(got["ImageConfigResponse"]["ImageConfig"], {"WorkingDirectory": "app"})
        self.assertEqual(self.lam.get_function(FunctionName="img-rel")["Configuration"][
            "ImageConfigResponse"]["Error"], error)
        code, msg, status = self.err(self.lam.invoke, FunctionName="img-rel", Payload=b"{}")
        self.assertEqual((code, status), ("ResourceConflictException", 409))
        # A config that applies brings it back. (The entry point answers the
        # directory the function runs in.)
        entry = ["/bin/sh", "-c",
                 'printf \'def handler(e, c):\\n    return {"cwd": "%s"}\\n\' "$(pwd)" '
                 '> /var/task/probe.py; exec /lambda-entrypoint.sh probe.handler', "sh"]
        self.lam.update_function_configuration(
            FunctionName="img-rel", ImageConfig={"EntryPoint": entry, "WorkingDirectory": "/tmp"})
        got = settled("img-rel", "LastUpdateStatus", "InProgress")
        self.assertEqual((got["State"], got["LastUpdateStatus"]), ("Active", "Successful"))
        self.assertNotIn("Error", got["ImageConfigResponse"])
        self.assertEqual(self.invoke("img-rel", {})[1], {"cwd": "/tmp"})
        # An update to one that does not: the update fails, the function stays,
        # and goes on running with the configuration before the update, as AWS
        # aborts a failed update.
        self.lam.update_function_configuration(
            FunctionName="img-rel", ImageConfig={"EntryPoint": entry, "WorkingDirectory": "var/task"})
        got = settled("img-rel", "LastUpdateStatus", "InProgress")
        self.assertEqual((got["State"], got["LastUpdateStatus"]), ("Active", "Failed"))
        self.assertEqual(got["LastUpdateStatusReasonCode"], "InvalidImage")
        self.assertEqual(got["ImageConfigResponse"]["Error"]["ErrorCode"], "InvalidImage")
        r, out = self.invoke("img-rel", {})
        self.assertNotIn("FunctionError", r)
        self.assertEqual(out, {"cwd": "/tmp"})
        # Another failed one keeps the last configuration that applied.
        self.lam.update_function_configuration(
            FunctionName="img-rel", ImageConfig={"EntryPoint": entry, "WorkingDirectory": "x"})
        settled("img-rel", "LastUpdateStatus", "InProgress")
        self.assertEqual(self.invoke("img-rel", {})[1], {"cwd": "/tmp"})
        # An update that applies is what runs next.
        self.lam.update_function_configuration(
            FunctionName="img-rel", ImageConfig={"EntryPoint": entry, "WorkingDirectory": "/var"})
        got = settled("img-rel", "LastUpdateStatus", "InProgress")
        self.assertEqual(got["LastUpdateStatus"], "Successful")
        self.assertEqual(self.invoke("img-rel", {})[1], {"cwd": "/var"})

    def test_image_config_limits_and_zip_functions(self):
        # The model's limits, before anything is created.
        code, msg, status = self.err(
            self.lam.create_function, FunctionName="img-long", PackageType="Image", Role=ROLE,
            Code={"ImageUri": "airgap-test/any:1"},
            ImageConfig={"WorkingDirectory": "/" + "d" * 1000})
        self.assertEqual((code, status), ("ValidationException", 400))
        self.assertIn("at 'imageConfig.workingDirectory' failed to satisfy constraint: Member "
                      "must have length less than or equal to 1000", msg)
        code, msg, status = self.err(
            self.lam.create_function, FunctionName="img-long", PackageType="Image", Role=ROLE,
            Code={"ImageUri": "airgap-test/any:1"}, ImageConfig={"EntryPoint": ["x"] * 1501})
        self.assertEqual((code, status), ("ValidationException", 400))
        self.assertIn("Value '[x, x, x", msg)
        self.assertIn("at 'imageConfig.entryPoint' failed to satisfy constraint: Member must "
                      "have length less than or equal to 1500", msg)
        code, msg, status = self.err(
            self.lam.create_function, FunctionName="img-long", PackageType="Image", Role=ROLE,
            Code={"ImageUri": "airgap-test/any:1"}, ImageConfig={"Command": ["x"] * 1501})
        self.assertIn("at 'imageConfig.command'", msg)
        self.assertEqual(self.err(self.lam.get_function, FunctionName="img-long")[0],
                         "ResourceNotFoundException")
        # At the limits: taken.
        self.lam.create_function(FunctionName="img-edge", PackageType="Image", Role=ROLE,
                                 Code={"ImageUri": "airgap-test/any:1"},
                                 ImageConfig={"WorkingDirectory": "/" + "d" * 999,
                                              "EntryPoint": ["x"] * 1500})
        got = self.lam.get_function_configuration(FunctionName="img-edge")
        self.assertEqual(len(got["ImageConfigResponse"]["ImageConfig"]["EntryPoint"]), 1500)
        # A zip function has no ImageConfig, at creation or later.
        code, msg, status = self.err(
            self.lam.create_function, FunctionName="zip-cfg", Runtime="python3.12",
            Handler="app.handler", Role=ROLE, Code={"ZipFile": make_zip({"app.py": "x=1"})},
            ImageConfig={"Command": ["app.handler"]})
        self.assertEqual((code, status), ("InvalidParameterValueException", 400))
        self.assertIn("ImageConfig", msg)
        self.lam.create_function(FunctionName="zip-cfg", Runtime="python3.12",
                                 Handler="app.handler", Role=ROLE,
                                 Code={"ZipFile": make_zip({"app.py": "x=1"})})
        code, msg, status = self.err(self.lam.update_function_configuration,
                                     FunctionName="zip-cfg",
                                     ImageConfig={"WorkingDirectory": "/tmp"})
        self.assertEqual((code, status), ("InvalidParameterValueException", 400))
        self.assertNotIn("ImageConfigResponse",
                         self.lam.get_function_configuration(FunctionName="zip-cfg"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
