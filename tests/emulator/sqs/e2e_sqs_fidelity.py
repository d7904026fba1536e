#!/usr/bin/python3
"""End-to-end tests of SQS behaviours checked against AWS's documentation
(issue 14), with Debian's boto3 (query protocol) and the aws CLI v2 against a
real `airgap emulator` ($AIRGAP_BIN): the 1 MiB message size, older receipt
handles, MessageAttributeNames wildcards, AddPermission and tag validation,
and FIFO batches refused as a whole. One emulator serves the whole file; each
test uses its own queues."""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import warnings

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# emulator_support.py sits one folder up, shared with the S3 tests.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator, aws_cli_env, md5_hex, md5_of_attributes  # noqa: E402

AWS = "/usr/bin/aws"
MIB = 1024 * 1024


class Fidelity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator()
        cls.home = tempfile.TemporaryDirectory()
        cls.env = aws_cli_env(cls.home.name)

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()
        cls.home.cleanup()

    def setUp(self):
        # boto3 keeps pooled connections open until exit; not what is tested.
        warnings.simplefilter("ignore", ResourceWarning)
        self.sqs = boto3.client(
            "sqs", endpoint_url=self.emu.endpoint, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
            config=Config(retries={"total_max_attempts": 1}, read_timeout=60))

    def queue(self, suffix="", **attributes):
        name = self.id().rsplit(".", 1)[-1].replace("_", "-")[:70] + suffix
        return self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]

    def error(self, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        return cm.exception.response

    def aws(self, *args, ok=True):
        p = subprocess.run([AWS, "--endpoint-url", self.emu.endpoint, "--output", "json", "sqs"]
                           + list(args), env=self.env, capture_output=True, text=True, timeout=60)
        if ok:
            self.assertEqual(p.returncode, 0, "aws sqs %s: %s" % (" ".join(args[:3]), p.stderr))
            return json.loads(p.stdout) if p.stdout.strip() else {}
        self.assertNotEqual(p.returncode, 0, "aws sqs %s should fail" % " ".join(args[:3]))
        return p.stderr

    def count(self, url):
        a = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                          "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])

    # ---- 1 MiB messages ----

    def test_max_message_size_is_1_mib(self):
        url = self.queue()
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        self.assertEqual(attrs["MaximumMessageSize"], str(MIB))
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"MaximumMessageSize": str(MIB)})
        r = self.error(self.sqs.set_queue_attributes, QueueUrl=url,
                       Attributes={"MaximumMessageSize": str(MIB + 1)})
        self.assertEqual(r["Error"]["Code"], "InvalidAttributeValue")
        # Exactly 1 MiB of non-ASCII text: 3x larger once percent-encoded.
        body = "é" * (MIB // 2)
        self.assertEqual(len(body.encode()), MIB)
        sent = self.sqs.send_message(QueueUrl=url, MessageBody=body)
        self.assertEqual(sent["MD5OfMessageBody"], md5_hex(body.encode()))
        got = self.sqs.receive_message(QueueUrl=url)["Messages"][0]
        self.assertEqual(got["Body"], body)
        r = self.error(self.sqs.send_message, QueueUrl=url, MessageBody=body + "x")
        self.assertEqual(r["Error"]["Code"], "InvalidParameterValue")

    def test_binary_attribute_fills_1_mib(self):
        url = self.queue()
        blob = bytes(range(256)) * ((MIB - 4096) // 256)
        attrs = {"blob": {"DataType": "Binary", "BinaryValue": blob}}
        sent = self.sqs.send_message(QueueUrl=url, MessageBody="b", MessageAttributes=attrs)
        self.assertEqual(sent["MD5OfMessageAttributes"], md5_of_attributes(attrs))
        got = self.sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
        self.assertEqual(got["MessageAttributes"]["blob"]["BinaryValue"], blob)

    def test_batch_up_to_1_mib(self):
        url = self.queue()
        entries = [{"Id": str(i), "MessageBody": "x" * (MIB // 10 - 16)} for i in range(10)]
        r = self.sqs.send_message_batch(QueueUrl=url, Entries=entries)
        self.assertEqual(len(r["Successful"]), 10)
        entries[0]["MessageBody"] = "x" * (MIB // 2)
        r = self.error(self.sqs.send_message_batch, QueueUrl=url, Entries=entries)
        self.assertEqual(r["Error"]["Code"], "AWS.SimpleQueueService.BatchRequestTooLong")

    def test_cli_sends_1_mib(self):
        url = self.queue()
        with tempfile.NamedTemporaryFile("w", suffix=".txt", dir=self.home.name) as f:
            f.write("ü" * (MIB // 2))
            f.flush()
            sent = self.aws("send-message", "--queue-url", url, "--message-body",
                            "file://" + f.name)
        self.assertEqual(sent["MD5OfMessageBody"], md5_hex(("ü" * (MIB // 2)).encode()))
        self.assertEqual(self.aws("get-queue-attributes", "--queue-url", url, "--attribute-names",
                                  "MaximumMessageSize")["Attributes"]["MaximumMessageSize"],
                         str(MIB))

    # ---- older receipt handles ----

    def test_older_receipt_handle_deletes(self):
        url = self.queue(VisibilityTimeout="1")
        self.sqs.send_message(QueueUrl=url, MessageBody="m")
        first = self.sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
        time.sleep(1.2)
        # The visibility timeout passed: the handle still deletes the message.
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=first)
        self.assertEqual(self.count(url), 0)
        # Received twice: the first handle deletes it while the second holds it.
        self.sqs.send_message(QueueUrl=url, MessageBody="n")
        first = self.sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
        time.sleep(1.2)
        second = self.sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)["Messages"][0]
        self.assertNotEqual(second["ReceiptHandle"], first)
        r = self.sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "a", "ReceiptHandle": first}])
        self.assertEqual([e["Id"] for e in r["Successful"]], ["a"])
        self.assertEqual(self.count(url), 0)

    def test_older_receipt_handle_changes_visibility(self):
        url = self.queue(VisibilityTimeout="1")
        self.sqs.send_message(QueueUrl=url, MessageBody="m")
        first = self.sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
        time.sleep(1.2)
        self.sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)
        r = self.sqs.change_message_visibility_batch(
            QueueUrl=url, Entries=[{"Id": "a", "ReceiptHandle": first, "VisibilityTimeout": 0}])
        self.assertEqual([e["Id"] for e in r["Successful"]], ["a"], r)
        self.assertEqual(len(self.sqs.receive_message(QueueUrl=url)["Messages"]), 1)
        # Still refused: a handle that is not one.
        r = self.error(self.sqs.change_message_visibility, QueueUrl=url,
                       ReceiptHandle="garbage", VisibilityTimeout=0)
        self.assertEqual(r["Error"]["Code"], "ReceiptHandleIsInvalid")

    def test_cli_older_receipt_handle(self):
        url = self.queue(VisibilityTimeout="1")
        self.aws("send-message", "--queue-url", url, "--message-body", "m")
        first = self.aws("receive-message", "--queue-url", url)["Messages"][0]["ReceiptHandle"]
        time.sleep(1.2)
        self.aws("receive-message", "--queue-url", url, "--visibility-timeout", "60")
        self.aws("change-message-visibility", "--queue-url", url, "--receipt-handle", first,
                 "--visibility-timeout", "30")
        self.aws("delete-message", "--queue-url", url, "--receipt-handle", first)
        self.assertEqual(self.count(url), 0)

    # ---- MessageAttributeNames ----

    def test_message_attribute_name_wildcards(self):
        url = self.queue()
        attrs = {n: {"DataType": "String", "StringValue": n}
                 for n in ("order.id", "order.total", "orderly", "trace")}
        self.sqs.send_message(QueueUrl=url, MessageBody="m", MessageAttributes=attrs)
        # "prefix.*" matches the prefix before ".*" as plain text: AWS answers
        # "Hel.*" with Hello and Help.Me, so "order.*" takes "orderly" too.
        cases = [(["All"], set(attrs)), ([".*"], set(attrs)), (["*"], set(attrs)),
                 (["order.*"], {"order.id", "order.total", "orderly"}),
                 (["order..*"], {"order.id", "order.total"}),
                 (["trace", "order.id"], {"trace", "order.id"}), (["nothing"], set())]
        for names, want in cases:
            got = self.sqs.receive_message(QueueUrl=url, MessageAttributeNames=names,
                                           VisibilityTimeout=0)["Messages"][0]
            self.assertEqual(set(got.get("MessageAttributes", {})), want, names)
            if want:
                self.assertEqual(got["MD5OfMessageAttributes"],
                                 md5_of_attributes({k: attrs[k] for k in want}))
        got = self.aws("receive-message", "--queue-url", url, "--visibility-timeout", "0",
                       "--message-attribute-names", "order.*")["Messages"][0]
        self.assertEqual(set(got["MessageAttributes"]), {"order.id", "order.total", "orderly"})

    # ---- AddPermission ----

    def test_add_permission_validation(self):
        url = self.queue()
        self.sqs.add_permission(QueueUrl=url, Label="p1", AWSAccountIds=["111122223333"],
                                Actions=["SendMessage", "ReceiveMessage"])
        r = self.error(self.sqs.add_permission, QueueUrl=url, Label="p1",
                       AWSAccountIds=["111122223333"], Actions=["SendMessage"])
        self.assertEqual(r["Error"]["Code"], "InvalidParameterValue")
        self.assertIn("Already exists", r["Error"]["Message"])
        r = self.error(self.sqs.add_permission, QueueUrl=url, Label="p2",
                       AWSAccountIds=["111122223333"], Actions=["SetQueueAttributes"])
        self.assertEqual(r["Error"]["Code"], "InvalidParameterValue")
        self.assertEqual(r["Error"]["Message"],
                         "Value SQS:SetQueueAttributes for parameter ActionName is invalid. "
                         "Reason: Only the queue owner is allowed to invoke this action.")
        r = self.error(self.sqs.add_permission, QueueUrl=url, Label="p2",
                       AWSAccountIds=["111122223333"], Actions=["NoSuchAction"])
        self.assertEqual(r["Error"]["Message"],
                         "Value SQS:NoSuchAction for parameter ActionName is invalid. "
                         "Reason: Please refer to the appropriate WSDL for a list of valid "
                         "actions.")
        r = self.error(self.sqs.add_permission, QueueUrl=url, Label="p3",
                       AWSAccountIds=["111122223333"],
                       Actions=["SendMessage", "ReceiveMessage", "DeleteMessage",
                                "ChangeMessageVisibility", "GetQueueAttributes", "GetQueueUrl",
                                "PurgeQueue", "ListDeadLetterSourceQueues"])
        self.assertEqual(r["Error"]["Code"], "OverLimit")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 403)
        r = self.error(self.sqs.add_permission, QueueUrl=url, Label="p4", AWSAccountIds=[],
                       Actions=["SendMessage"])
        self.assertEqual(r["Error"]["Code"], "InvalidParameterValue")
        policy = json.loads(self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
        self.assertEqual([s["Sid"] for s in policy["Statement"]], ["p1"])
        err = self.aws("add-permission", "--queue-url", url, "--label", "p5", "--aws-account-ids",
                       "111122223333", "--actions", "DeleteQueue", ok=False)
        self.assertIn("Only the queue owner is allowed to invoke this action", err)

    # ---- tags ----

    def test_tag_validation(self):
        url = self.queue()
        self.sqs.tag_queue(QueueUrl=url, Tags={"env": "ci", "path": "a/b:c=d+e-f@g h."})
        many = {"k%d" % i: "v" for i in range(49)}
        r = self.error(self.sqs.tag_queue, QueueUrl=url, Tags=many)
        self.assertEqual(r["Error"]["Code"], "InvalidParameterValue")
        self.assertIn("Too many tags", r["Error"]["Message"])
        del many["k48"]
        self.sqs.tag_queue(QueueUrl=url, Tags=many)  # 50 in all
        self.assertEqual(len(self.sqs.list_queue_tags(QueueUrl=url)["Tags"]), 50)
        self.sqs.tag_queue(QueueUrl=url, Tags={"env": "prod"})  # replacing is no new tag
        for bad in ({"k" * 129: "v"}, {"aws:x": "v"}, {"a": "v" * 257}, {"a#b": "v"},
                    {"a": "v;"}):
            r = self.error(self.sqs.tag_queue,
                           QueueUrl=url, Tags=bad)
            self.assertEqual(r["Error"]["Code"], "InvalidParameterValue", bad)
        r = self.error(self.sqs.tag_queue, QueueUrl=url, Tags={})
        self.assertEqual(r["Error"]["Code"], "MissingParameter")
        r = self.error(self.sqs.untag_queue, QueueUrl=url, TagKeys=[])
        self.assertEqual(r["Error"]["Code"], "InvalidParameterValue")
        self.sqs.untag_queue(QueueUrl=url, TagKeys=["env", "absent"])
        self.assertNotIn("env", self.sqs.list_queue_tags(QueueUrl=url)["Tags"])
        err = self.aws("tag-queue", "--queue-url", url, "--tags", "aws:reserved=1", ok=False)
        self.assertIn("InvalidParameterValue", err)
        err = self.aws("create-queue", "--queue-name", "tagged-bad", "--tags", "a#b=1", ok=False)
        self.assertIn("InvalidParameterValue", err)

    # ---- FIFO batches ----

    def test_fifo_batch_refused_whole(self):
        url = self.queue(".fifo", FifoQueue="true")
        entries = [{"Id": "1", "MessageBody": "a", "MessageGroupId": "g",
                    "MessageDeduplicationId": "d1"},
                   {"Id": "2", "MessageBody": "b", "MessageDeduplicationId": "d2"}]
        r = self.error(self.sqs.send_message_batch, QueueUrl=url, Entries=entries)
        # A batch answers InvalidParameterValue here (SendMessage: MissingParameter).
        self.assertEqual(r["Error"]["Code"], "InvalidParameterValue")
        self.assertEqual(r["Error"]["Message"],
                         "The request must contain the parameter MessageGroupId.")
        entries[1]["MessageGroupId"] = "g"
        del entries[1]["MessageDeduplicationId"]
        r = self.error(self.sqs.send_message_batch, QueueUrl=url, Entries=entries)
        self.assertEqual(r["Error"]["Code"], "InvalidParameterValue")
        self.assertEqual(self.count(url), 0)  # nothing of either batch was sent
        err = self.aws("send-message-batch", "--queue-url", url, "--entries",
                       json.dumps([{"Id": "1", "MessageBody": "a", "MessageGroupId": "g",
                                    "MessageDeduplicationId": "d1"},
                                   {"Id": "2", "MessageBody": "b"}]), ok=False)
        self.assertIn("InvalidParameterValue", err)
        self.assertEqual(self.count(url), 0)
        # With content-based deduplication the ids may be left out.
        url = self.queue("-cbd.fifo", FifoQueue="true", ContentBasedDeduplication="true")
        r = self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "1", "MessageBody": "a", "MessageGroupId": "g"},
            {"Id": "2", "MessageBody": "b", "MessageGroupId": "g"}])
        self.assertEqual(len(r["Successful"]), 2)

    # ---- QueueDeletedRecently, opt-in ----

    def test_recreate_at_once_by_default(self):
        url = self.queue()
        self.sqs.delete_queue(QueueUrl=url)
        self.assertEqual(self.queue(), url)

    def test_queue_deleted_recently_with_localstack_switch(self):
        emu = Emulator({"SQS_DELAY_RECENTLY_DELETED": "1"})
        try:
            sqs = boto3.client("sqs", endpoint_url=emu.endpoint, region_name="us-east-1",
                               aws_access_key_id="test", aws_secret_access_key="test",
                               config=Config(retries={"total_max_attempts": 1}))
            url = sqs.create_queue(QueueName="recent")["QueueUrl"]
            sqs.delete_queue(QueueUrl=url)
            with self.assertRaises(ClientError) as cm:
                sqs.create_queue(QueueName="recent")
            r = cm.exception.response
            self.assertEqual(r["Error"]["Code"], "AWS.SimpleQueueService.QueueDeletedRecently")
            self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 400)
            self.assertIn("wait 60 seconds", r["Error"]["Message"])
            sqs.create_queue(QueueName="recent-other")
        finally:
            emu.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
