#!/usr/bin/python3
"""A NUL character (%00) in a query-protocol value, against a real `airgap
emulator` ($AIRGAP_BIN): raw form posts and Debian's botocore, whose SQS
model speaks the query protocol.

SQS answers a NUL in a message body with InvalidMessageContents (its own
character check, as for the JSON protocol) and in any other parameter with
InvalidParameterValue; services that read values as text (STS, IAM, SNS)
answer MalformedQueryString. Never is the value cut short at the NUL and
the request served as if it had ended there."""
import os
import sys
import unittest
import urllib.error
import urllib.request

import boto3
import botocore.config
import botocore.exceptions

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emulator_support import Emulator  # noqa: E402

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class QueryNul(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator()
        cfg = dict(endpoint_url=cls.emu.endpoint, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test",
                   config=botocore.config.Config(retries={"max_attempts": 1}))
        cls.sqs = boto3.client("sqs", **cfg)
        cls.sns = boto3.client("sns", **cfg)
        cls.sts = boto3.client("sts", **cfg)
        cls.url = cls.sqs.create_queue(QueueName="nul")["QueueUrl"]

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def post(self, body):
        req = urllib.request.Request(self.emu.endpoint + "/", data=body.encode(), headers=FORM,
                                     method="POST")
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def code(self, call):
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            call()
        return ctx.exception.response["Error"]["Code"], ctx.exception.response["Error"]["Message"]

    def queue_empty(self):
        r = self.sqs.receive_message(QueueUrl=self.url, WaitTimeSeconds=0)
        self.assertEqual(r.get("Messages", []), [])

    def test_sqs_body_with_nul_is_invalid_contents(self):
        # botocore percent-encodes the NUL as %00 in the form body.
        self.assertEqual(self.sqs.meta.service_model.protocol, "query")
        code, msg = self.code(lambda: self.sqs.send_message(QueueUrl=self.url,
                                                             MessageBody="before\x00after"))
        self.assertEqual(code, "InvalidMessageContents")
        self.assertIn("#x9 | #xA | #xD", msg)
        status, body = self.post("Action=SendMessage&QueueUrl=%s&MessageBody=ok%%00cut"
                                 % urllib.request.quote(self.url, safe=""))
        self.assertEqual(status, 400)
        self.assertIn(b"InvalidMessageContents", body)
        # A batch reports a bad entry as failed (or the request as invalid).
        try:
            r = self.sqs.send_message_batch(QueueUrl=self.url,
                                            Entries=[{"Id": "1", "MessageBody": "x\x00"}])
            self.assertEqual(r.get("Successful", []), [])
            self.assertEqual(r["Failed"][0]["Code"], "InvalidMessageContents")
        except botocore.exceptions.ClientError as e:
            self.assertEqual(e.response["Error"]["Code"], "InvalidMessageContents")
        self.queue_empty()
        # The same body without the NUL goes through whole.
        self.sqs.send_message(QueueUrl=self.url, MessageBody="before after")
        got = self.sqs.receive_message(QueueUrl=self.url)["Messages"][0]
        self.assertEqual(got["Body"], "before after")
        self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=got["ReceiptHandle"])

    def test_sqs_other_parameters_with_nul(self):
        code, _ = self.code(lambda: self.sqs.get_queue_url(QueueName="nul\x00other"))
        self.assertEqual(code, "InvalidParameterValue")
        status, body = self.post("Action=SendMessage&QueueUrl=%s&MessageBody=x&DelaySeconds=1%%00"
                                 % urllib.request.quote(self.url, safe=""))
        self.assertEqual(status, 400)
        self.assertIn(b"InvalidParameterValue", body)
        self.queue_empty()

    def test_text_services_answer_malformed_query_string(self):
        code, msg = self.code(lambda: self.sts.assume_role(
            RoleArn="arn:aws:iam::000000000000:role/r", RoleSessionName="s\x00x"))
        self.assertEqual(code, "MalformedQueryString")
        self.assertIn("RoleSessionName", msg)
        topic = self.sns.create_topic(Name="nul-topic")["TopicArn"]
        code, _ = self.code(lambda: self.sns.publish(TopicArn=topic, Message="a\x00b"))
        self.assertEqual(code, "MalformedQueryString")
        # A NUL in a name is malformed everywhere; in Action it names no action.
        status, body = self.post("Action=GetCallerIdentity&Na%00me=x")
        self.assertEqual(status, 400)
        self.assertIn(b"MalformedQueryString", body)
        self.assertIn(b"NUL", body)
        status, body = self.post("Action=GetCallerIdentity%00x")
        self.assertEqual(status, 400)
        self.assertIn(b"InvalidAction", body)
        # A NUL in a parameter the operation does not have is ignored, as
        # AWS ignores unknown parameters.
        status, body = self.post("Action=GetCallerIdentity&Version=2011-06-15&Unknown=a%00b")
        self.assertEqual(status, 200)
        self.assertIn(b"GetCallerIdentityResult", body)


if __name__ == "__main__":
    unittest.main(verbosity=2)
