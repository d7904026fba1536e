#!/usr/bin/python3
"""End-to-end SQS test with the aws CLI v2 (/usr/bin/aws, query protocol)
against a real `airgap emulator` ($AIRGAP_BIN) on a free loopback port."""

import json
import os
import subprocess
import sys
import tempfile
import unittest
import warnings

# emulator_support.py sits one folder up, shared with the S3 tests.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator, aws_cli_env, md5_hex, md5_of_attributes  # noqa: E402

AWS = "/usr/bin/aws"


class CliCase(unittest.TestCase):
    def setUp(self):
        # boto3 keeps pooled connections open until exit; not what is tested.
        warnings.simplefilter("ignore", ResourceWarning)
        self.emu = Emulator()
        self.home = tempfile.TemporaryDirectory()
        self.env = aws_cli_env(self.home.name)

    def tearDown(self):
        self.emu.stop()
        self.home.cleanup()

    def aws(self, *args, ok=True):
        p = subprocess.run([AWS, "--endpoint-url", self.emu.endpoint, "--output", "json", "sqs"]
                           + list(args), env=self.env, capture_output=True, text=True, timeout=60)
        if ok:
            self.assertEqual(p.returncode, 0, "aws sqs %s: %s" % (" ".join(args), p.stderr))
            return json.loads(p.stdout) if p.stdout.strip() else {}
        self.assertNotEqual(p.returncode, 0, "aws sqs %s should fail" % " ".join(args))
        return p.stderr

    def test_cli_life_cycle(self):
        url = self.aws("create-queue", "--queue-name", "cli-q",
                       "--attributes", "VisibilityTimeout=45")["QueueUrl"]
        self.assertEqual(url, self.emu.endpoint + "/000000000000/cli-q")
        self.assertEqual(self.aws("get-queue-url", "--queue-name", "cli-q")["QueueUrl"], url)
        self.assertEqual(self.aws("list-queues", "--queue-name-prefix", "cli")["QueueUrls"], [url])
        attrs = self.aws("get-queue-attributes", "--queue-url", url,
                         "--attribute-names", "All")["Attributes"]
        self.assertEqual(attrs["VisibilityTimeout"], "45")
        message_attributes = {"kind": {"DataType": "String", "StringValue": "cli"},
                              "n": {"DataType": "Number", "StringValue": "7"}}
        sent = self.aws("send-message", "--queue-url", url, "--message-body", "from the cli",
                        "--message-attributes", json.dumps(message_attributes))
        self.assertEqual(sent["MD5OfMessageBody"], md5_hex(b"from the cli"))
        self.assertEqual(sent["MD5OfMessageAttributes"], md5_of_attributes(message_attributes))
        got = self.aws("receive-message", "--queue-url", url, "--attribute-names", "All",
                       "--message-attribute-names", "All", "--wait-time-seconds", "1")["Messages"]
        self.assertEqual(got[0]["Body"], "from the cli")
        self.assertEqual(got[0]["MessageAttributes"], message_attributes)
        self.assertEqual(got[0]["MD5OfMessageAttributes"], md5_of_attributes(message_attributes))
        self.aws("delete-message", "--queue-url", url, "--receipt-handle", got[0]["ReceiptHandle"])
        batch = self.aws("send-message-batch", "--queue-url", url, "--entries", json.dumps([
            {"Id": "a", "MessageBody": "one"}, {"Id": "b", "MessageBody": "two", "DelaySeconds": 901}]))
        self.assertEqual([e["Id"] for e in batch["Successful"]], ["a"])
        self.assertEqual(batch["Failed"][0]["Id"], "b")
        self.aws("purge-queue", "--queue-url", url)
        self.aws("delete-queue", "--queue-url", url)
        err = self.aws("get-queue-url", "--queue-name", "cli-q", ok=False)
        self.assertIn("NonExistentQueue", err)

    def test_cli_tags(self):
        url = self.aws("create-queue", "--queue-name", "cli-tags")["QueueUrl"]
        self.aws("tag-queue", "--queue-url", url, "--tags", "owner=cli,env=test")
        self.aws("untag-queue", "--queue-url", url, "--tag-keys", "env")
        self.assertEqual(self.aws("list-queue-tags", "--queue-url", url)["Tags"], {"owner": "cli"})

    def test_cli_fifo(self):
        url = self.aws("create-queue", "--queue-name", "cli.fifo", "--attributes",
                       "FifoQueue=true,ContentBasedDeduplication=true")["QueueUrl"]
        for body in ("1", "2", "3"):
            r = self.aws("send-message", "--queue-url", url, "--message-body", body,
                         "--message-group-id", "g")
            self.assertIn("SequenceNumber", r)
        got = self.aws("receive-message", "--queue-url", url, "--max-number-of-messages", "10")
        self.assertEqual([m["Body"] for m in got["Messages"]], ["1", "2", "3"])
        err = self.aws("send-message", "--queue-url", url, "--message-body", "x", ok=False)
        self.assertIn("MissingParameter", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
