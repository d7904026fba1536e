#!/usr/bin/python3
"""End-to-end tests of SQS message move tasks (DLQ redrive:
StartMessageMoveTask, CancelMessageMoveTask, ListMessageMoveTasks) and of
characters outside SQS's set sent over the JSON protocol, against a real
`airgap emulator` ($AIRGAP_BIN).

Debian's botocore model predates the move tasks, so boto3 and the aws CLI
here load the model the emulator embeds (Debian's plus gen_models.py's
overlay) through AWS_DATA_PATH, as a newer botocore would ship it: boto3
speaks the query protocol, the JSON protocol is sent raw (and by the JS SDK
in e2e_sqs_js.mjs). Expected codes, statuses and messages are AWS's (its API
reference; responses recorded against AWS by LocalStack's validated tests)."""

import base64
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import uuid
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "emulator", "protocol", "models"))
import gen_models  # noqa: E402
from emulator_support import Emulator, aws_cli_env  # noqa: E402

DATA = tempfile.TemporaryDirectory()


def write_model():
    src = glob.glob("/usr/lib/python3/dist-packages/botocore/data/sqs/*/service-2.json")[0]
    with open(src, encoding="utf-8") as f:
        model = json.load(f)
    model = gen_models.overlay("sqs", model)
    # botocore speaks the query protocol with it; the JSON keys are for the emulator.
    model["metadata"].pop("awsQueryCompatible", None)
    out = os.path.join(DATA.name, "sqs", os.path.basename(os.path.dirname(src)))
    os.makedirs(out)
    with open(os.path.join(out, "service-2.json"), "w", encoding="utf-8") as f:
        json.dump(model, f)


write_model()
os.environ["AWS_DATA_PATH"] = DATA.name

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

AWS = "/usr/bin/aws"


class MoveTasks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator()
        cls.home = tempfile.TemporaryDirectory()
        cls.env = aws_cli_env(cls.home.name, AWS_DATA_PATH=DATA.name)

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()
        cls.home.cleanup()

    def setUp(self):
        warnings.simplefilter("ignore", ResourceWarning)
        self.sqs = boto3.client(
            "sqs", endpoint_url=self.emu.endpoint, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
            config=Config(retries={"total_max_attempts": 1}, read_timeout=60))

    def name(self, suffix):
        return self.id().rsplit(".", 1)[-1].replace("_", "-")[:60] + "-" + suffix

    def arn(self, url):
        return self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def pipe(self, count=2, sources=1):
        """Source queue(s) redriving to a DLQ after one receive, holding
        `count` dead-lettered messages from each source."""
        dlq = self.sqs.create_queue(QueueName=self.name("dlq"))["QueueUrl"]
        dlq_arn = self.arn(dlq)
        policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
        srcs = []
        for s in range(sources):
            url = self.sqs.create_queue(QueueName=self.name("src%d" % s),
                                        Attributes={"RedrivePolicy": policy})["QueueUrl"]
            for i in range(count):
                self.sqs.send_message(QueueUrl=url, MessageBody="m-%d-%d" % (s, i))
            # Receive each once (visible again at once), then once more: redriven.
            for _ in range(2 * count):
                self.sqs.receive_message(QueueUrl=url, VisibilityTimeout=0,
                                         MaxNumberOfMessages=10)
            srcs.append(url)
        self.assertEqual(self.visible(dlq), count * sources)
        return srcs, dlq, dlq_arn

    def visible(self, url):
        return int(self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            ["Attributes"]["ApproximateNumberOfMessages"])

    def bodies(self, url, n):
        got = []
        deadline = time.time() + 10
        while len(got) < n and time.time() < deadline:
            r = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for m in r.get("Messages", []):
                got.append(m["Body"])
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return sorted(got)

    def wait_status(self, arn, status, timeout=10):
        deadline = time.time() + timeout
        while True:
            r = self.sqs.list_message_move_tasks(SourceArn=arn)["Results"]
            if r and r[0]["Status"] == status or time.time() > deadline:
                return r
            time.sleep(0.1)

    def error(self, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        r = cm.exception.response
        return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]

    # ---- redrive ----

    def test_redrive_back_to_each_source(self):
        (src1, src2), dlq, dlq_arn = self.pipe(count=2, sources=2)
        handle = self.sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
        doc = json.loads(base64.b64decode(handle))
        self.assertEqual(doc["sourceArn"], dlq_arn)
        uuid.UUID(doc["taskId"])
        results = self.wait_status(dlq_arn, "COMPLETED")
        self.assertEqual(len(results), 1)
        task = results[0]
        self.assertEqual(task["Status"], "COMPLETED")
        self.assertEqual(task["SourceArn"], dlq_arn)
        self.assertEqual(task["ApproximateNumberOfMessagesMoved"], 4)
        self.assertEqual(task["ApproximateNumberOfMessagesToMove"], 4)
        self.assertNotIn("TaskHandle", task)  # only running tasks show it
        self.assertNotIn("DestinationArn", task)
        self.assertAlmostEqual(task["StartedTimestamp"] / 1000, time.time(), delta=60)
        self.assertEqual(self.bodies(src1, 2), ["m-0-0", "m-0-1"])
        self.assertEqual(self.bodies(src2, 2), ["m-1-0", "m-1-1"])
        self.assertEqual(self.visible(dlq), 0)

    def test_redrive_to_destination_at_a_rate_then_cancel(self):
        _, dlq, dlq_arn = self.pipe(count=6)
        dest = self.sqs.create_queue(QueueName=self.name("dest"))["QueueUrl"]
        dest_arn = self.arn(dest)
        handle = self.sqs.start_message_move_task(
            SourceArn=dlq_arn, DestinationArn=dest_arn,
            MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
        # One running task per source queue.
        code, status, msg = self.error(self.sqs.start_message_move_task, SourceArn=dlq_arn)
        self.assertEqual((code, status), ("InvalidParameterValue", 400))
        self.assertEqual(msg, "There is already a task running. Only one active task is allowed "
                              "for a source queue arn at a given time.")
        task = self.sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"][0]
        self.assertEqual(task["Status"], "RUNNING")
        self.assertEqual(task["TaskHandle"], handle)
        self.assertEqual(task["DestinationArn"], dest_arn)
        self.assertEqual(task["MaxNumberOfMessagesPerSecond"], 1)
        self.assertEqual(task["ApproximateNumberOfMessagesToMove"], 6)
        time.sleep(1.5)  # the first at once, one a second after: 2 moved
        moved = self.sqs.cancel_message_move_task(TaskHandle=handle)
        n = moved["ApproximateNumberOfMessagesMoved"]
        self.assertGreaterEqual(n, 1)
        self.assertLess(n, 6)
        task = self.sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
        self.assertEqual(task["Status"], "CANCELLED")
        self.assertNotIn("TaskHandle", task)
        time.sleep(1.2)
        self.assertEqual(self.visible(dest), n)  # nothing moves once cancelled
        self.assertEqual(self.visible(dlq), 6 - n)
        code, status, _ = self.error(self.sqs.cancel_message_move_task, TaskHandle=handle)
        self.assertEqual((code, status), ("InvalidParameterValue", 400))
        # A new task may start now; the list shows the newest first.
        self.sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=dest_arn)
        results = self.wait_status(dlq_arn, "COMPLETED")
        self.assertEqual(results[0]["ApproximateNumberOfMessagesMoved"], 6 - n)
        both = self.sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]
        self.assertEqual([t["Status"] for t in both], ["COMPLETED", "CANCELLED"])
        self.assertEqual(self.visible(dest), 6)

    def test_destination_deleted_while_running_fails_the_task(self):
        _, dlq, dlq_arn = self.pipe(count=5)
        dest = self.sqs.create_queue(QueueName=self.name("dest"))["QueueUrl"]
        self.sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=self.arn(dest),
                                         MaxNumberOfMessagesPerSecond=1)
        time.sleep(0.3)
        self.sqs.delete_queue(QueueUrl=dest)
        task = self.wait_status(dlq_arn, "FAILED")[0]
        self.assertEqual(task["Status"], "FAILED")
        self.assertEqual(task["FailureReason"], "AWS.SimpleQueueService.NonExistentQueue")
        self.assertLess(task["ApproximateNumberOfMessagesMoved"], 5)

    # ---- AWS's errors ----

    def test_errors(self):
        plain = self.sqs.create_queue(QueueName=self.name("plain"))["QueueUrl"]
        plain_arn = self.arn(plain)
        _, dlq, dlq_arn = self.pipe(count=1)
        missing = plain_arn + "-missing"
        cases = [
            (dict(SourceArn=plain_arn), "InvalidParameterValue", 400,
             "Source queue must be configured as a Dead Letter Queue."),
            (dict(SourceArn=missing), "ResourceNotFoundException", 404,
             "The resource that you specified for the SourceArn parameter doesn't exist."),
            (dict(SourceArn=dlq_arn, DestinationArn=missing), "ResourceNotFoundException", 404,
             "The resource that you specified for the DestinationArn parameter doesn't exist."),
            (dict(SourceArn=dlq_arn, DestinationArn=dlq_arn), "InvalidParameterValue", 400,
             "Source queue arn and destination queue arn cannot be the same."),
            (dict(SourceArn="not-an-arn"), "InvalidParameterValue", 400,
             "You must use this format to specify the SourceArn: "
             "arn:<partition>:<service>:<region>:<account-id>:<resource-id>"),
        ]
        for kwargs, code, status, message in cases:
            with self.subTest(**kwargs):
                self.assertEqual(self.error(self.sqs.start_message_move_task, **kwargs),
                                 (code, status, message))
        for rate in (0, 501):
            code, status, _ = self.error(self.sqs.start_message_move_task, SourceArn=dlq_arn,
                                         MaxNumberOfMessagesPerSecond=rate)
            self.assertEqual((code, status), ("InvalidParameterValue", 400))
        self.assertEqual(self.error(self.sqs.cancel_message_move_task, TaskHandle="foobared"),
                         ("InvalidParameterValue", 400,
                          "Value for parameter TaskHandle is invalid."))
        unknown = base64.b64encode(json.dumps(
            {"taskId": str(uuid.uuid4()), "sourceArn": dlq_arn}).encode()).decode()
        self.assertEqual(self.error(self.sqs.cancel_message_move_task, TaskHandle=unknown),
                         ("ResourceNotFoundException", 404, "Task does not exist."))
        gone = base64.b64encode(json.dumps(
            {"taskId": str(uuid.uuid4()), "sourceArn": missing}).encode()).decode()
        self.assertEqual(self.error(self.sqs.cancel_message_move_task, TaskHandle=gone)[:2],
                         ("ResourceNotFoundException", 404))
        self.assertEqual(self.error(self.sqs.list_message_move_tasks, SourceArn=missing)[:2],
                         ("ResourceNotFoundException", 404))
        code, status, _ = self.error(self.sqs.list_message_move_tasks, SourceArn=dlq_arn,
                                     MaxResults=11)
        self.assertEqual((code, status), ("InvalidParameterValue", 400))
        self.assertEqual(self.sqs.list_message_move_tasks(SourceArn=dlq_arn).get("Results", []), [])

    def test_cli(self):
        _, dlq, dlq_arn = self.pipe(count=2)
        dest = self.sqs.create_queue(QueueName=self.name("dest"))["QueueUrl"]

        def aws(*args):
            p = subprocess.run([AWS, "--endpoint-url", self.emu.endpoint, "--output", "json",
                                "sqs"] + list(args), env=self.env, capture_output=True,
                               text=True, timeout=60)
            return p.returncode, json.loads(p.stdout) if p.stdout.strip() else {}, p.stderr

        rc, out, err = aws("start-message-move-task", "--source-arn", dlq_arn,
                           "--destination-arn", self.arn(dest))
        self.assertEqual(rc, 0, err)
        self.assertIn("TaskHandle", out)
        self.wait_status(dlq_arn, "COMPLETED")
        rc, out, err = aws("list-message-move-tasks", "--source-arn", dlq_arn)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["Results"][0]["Status"], "COMPLETED")
        self.assertEqual(out["Results"][0]["ApproximateNumberOfMessagesMoved"], 2)
        rc, _, err = aws("cancel-message-move-task", "--task-handle", "foobared")
        self.assertNotEqual(rc, 0)
        self.assertIn("InvalidParameterValue", err)

    # ---- characters outside SQS's set, over the JSON protocol ----

    def json_call(self, op, body):
        req = urllib.request.Request(
            self.emu.endpoint + "/", data=body.encode(), method="POST",
            headers={"Content-Type": "application/x-amz-json-1.0",
                     "X-Amz-Target": "AmazonSQS." + op,
                     "Authorization": "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/sqs/"
                                      "aws4_request, SignedHeaders=host, Signature=x"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers), json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), json.loads(e.read() or b"{}")

    def test_json_protocol_nul_is_invalid_message_contents(self):
        url = self.sqs.create_queue(QueueName=self.name("q"))["QueueUrl"]
        for body in ('"a\\u0000b"', '"\\u0001"', '"\\uffff"'):
            with self.subTest(body=body):
                status, headers, doc = self.json_call(
                    "SendMessage", '{"QueueUrl": "%s", "MessageBody": %s}' % (url, body))
                self.assertEqual(status, 400)
                self.assertEqual(doc["__type"], "com.amazonaws.sqs#InvalidMessageContents")
                self.assertTrue(doc["message"].startswith("Invalid characters found."))
                self.assertEqual(headers.get("x-amzn-query-error"),
                                 "InvalidMessageContents;Sender")
        status, _, doc = self.json_call(
            "SendMessage", '{"QueueUrl": "%s", "MessageBody": "x", "MessageAttributes": '
            '{"a": {"DataType": "String", "StringValue": "v\\u0000"}}}' % url)
        self.assertEqual(status, 400)
        self.assertEqual(doc["__type"], "com.amazonaws.sqs#InvalidParameterValueException")
        self.assertIn("invalid characters", doc["message"])
        # Where a name is read, a NUL is refused before a truncated one is used.
        status, _, doc = self.json_call("CreateQueue", '{"QueueName": "nul\\u0000name"}')
        self.assertEqual(status, 400)
        self.assertEqual(doc["__type"], "com.amazonaws.sqs#InvalidParameterValueException")
        self.assertNotIn("QueueUrls", self.sqs.list_queues(QueueNamePrefix="nul"))
        status, _, doc = self.json_call(
            "SendMessageBatch", '{"QueueUrl": "%s", "Entries": [{"Id": "a", "MessageBody": '
            '"ok"}, {"Id": "b", "MessageBody": "bad\\u0000"}]}' % url)
        self.assertEqual(status, 200)
        self.assertEqual([e["Id"] for e in doc["Successful"]], ["a"])
        self.assertEqual(doc["Failed"][0]["Code"], "InvalidMessageContents")
        self.assertEqual(self.visible(url), 1)


if __name__ == "__main__":
    try:
        unittest.main()
    finally:
        DATA.cleanup()
