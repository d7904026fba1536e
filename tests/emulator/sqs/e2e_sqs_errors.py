#!/usr/bin/python3
"""End-to-end tests of SQS errors as AWS answers them, over both protocols
SQS speaks, against a real `airgap emulator` ($AIRGAP_BIN): the query
protocol of Debian's boto3 and aws CLI, and the JSON protocol of current SDKs
(Debian's botocore given the JSON form of its own model: its JSON serializer
and its x-amzn-query-error handling are the ones current botocore has).

What is checked is what AWS's recorded answers show and the emulator once
answered otherwise: the JSON error types of the generic query errors, the
query protocol's wording for a missing queue, the code of the SSE conflict,
empty message attribute values, RemovePermission without a policy, the
policy AddPermission writes, a FIFO batch without a group id, and
ChangeMessageVisibility on a message no longer in flight."""

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
import warnings

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# emulator_support.py sits one folder up, shared with the other services' tests.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator, aws_cli_env  # noqa: E402

AWS = "/usr/bin/aws"
AUTH = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, "
        "SignedHeaders=host, Signature=0")


def json_model_dir():
    """Debian's SQS model rewritten as the JSON protocol model AWS publishes
    now: protocol json 1.0, target prefix AmazonSQS, awsQueryCompatible, and
    no XML location names (JSON keys are member names)."""
    src = glob.glob("/usr/lib/python3/dist-packages/botocore/data/sqs/*/service-2.json")[0]
    with open(src, encoding="utf-8") as f:
        model = json.load(f)
    model["metadata"].update({"protocol": "json", "jsonVersion": "1.0",
                              "targetPrefix": "AmazonSQS", "awsQueryCompatible": {}})
    for shape in model["shapes"].values():
        shape.pop("flattened", None)
        shape.pop("locationName", None)
        for key in ("member", "key", "value"):
            if isinstance(shape.get(key), dict):
                shape[key].pop("locationName", None)
        for member in shape.get("members", {}).values():
            member.pop("locationName", None)
            member.pop("flattened", None)
    out = tempfile.mkdtemp(prefix="sqs-json-model-")
    version = os.path.basename(os.path.dirname(src))
    os.makedirs(os.path.join(out, "sqs", version))
    with open(os.path.join(out, "sqs", version, "service-2.json"), "w", encoding="utf-8") as f:
        json.dump(model, f)
    return out


class BothProtocols(unittest.TestCase):
    """An emulator for the class, and per test a boto3 SQS client for each
    protocol SQS speaks (self.clients["query"], self.clients["json"])."""

    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator()
        cls.models = json_model_dir()

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()
        subprocess.run(["rm", "-rf", cls.models], check=True)

    def setUp(self):
        warnings.simplefilter("ignore", ResourceWarning)
        self.clients = {"query": self.client("query"), "json": self.client("json")}

    def client(self, protocol):
        session = boto3.session.Session()
        if protocol == "json":
            session._session.get_component("data_loader").search_paths.insert(0, self.models)
        return session.client(
            "sqs", endpoint_url=self.emu.endpoint, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
            config=Config(retries={"total_max_attempts": 1}, parameter_validation=False))

    def name(self, protocol, suffix=""):
        return "%s-%s%s" % (self.id().rsplit(".", 1)[-1].replace("_", "-")[:50], protocol, suffix)


class Errors(BothProtocols):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.home = tempfile.TemporaryDirectory()
        cls.env = aws_cli_env(cls.home.name)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.home.cleanup()

    def error(self, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        e = cm.exception.response
        return e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Code"], e["Error"]["Message"]

    def raw_json(self, operation, body):
        req = urllib.request.Request(
            self.emu.endpoint + "/", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/x-amz-json-1.0",
                     "X-Amz-Target": "AmazonSQS." + operation, "Authorization": AUTH})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers), json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), json.loads(e.read() or b"{}")

    # ---- the JSON protocol's error types ----

    def test_json_error_types_of_generic_query_errors(self):
        url = self.clients["json"].create_queue(QueueName=self.name("json"))["QueueUrl"]
        cases = [
            ("SendMessage", {"QueueUrl": url}, "MissingRequiredParameterException",
             "MissingParameter", "The request must contain the parameter MessageBody."),
            ("SendMessage", {"QueueUrl": url, "MessageBody": "x", "DelaySeconds": 901},
             "InvalidParameterValueException", "InvalidParameterValue",
             "Value 901 for parameter DelaySeconds is invalid. Reason: must be between 0 and "
             "900, if provided."),
            ("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 11},
             "InvalidParameterValueException", "InvalidParameterValue",
             "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 "
             "and 10, if provided."),
            # Modelled errors keep their own types.
            ("GetQueueUrl", {"QueueName": "no-such-queue"}, "QueueDoesNotExist",
             "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist."),
            ("CreateQueue", {"QueueName": self.name("json"), "Attributes": {"DelaySeconds": "7"}},
             "QueueNameExists", "QueueAlreadyExists",
             "A queue already exists with the same name and a different value for attribute "
             "DelaySeconds"),
        ]
        for operation, body, json_type, query_code, message in cases:
            with self.subTest(operation=operation, type=json_type):
                status, headers, doc = self.raw_json(operation, body)
                self.assertEqual(status, 400)
                self.assertEqual(doc["__type"], "com.amazonaws.sqs#" + json_type)
                self.assertEqual(doc["message"], message)
                self.assertEqual(headers.get("x-amzn-query-error"), query_code + ";Sender")
        # An SDK reads the query code from the header, over either protocol.
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                self.assertEqual(self.error(sqs.send_message, QueueUrl=url)[:2],
                                 (400, "MissingParameter"))
                self.assertEqual(
                    self.error(sqs.send_message, QueueUrl=url, MessageBody="x",
                               DelaySeconds=901)[:2], (400, "InvalidParameterValue"))

    # ---- a missing queue, worded per protocol ----

    def test_missing_queue_wording_per_protocol(self):
        wording = {"query": "The specified queue does not exist for this wsdl version.",
                   "json": "The specified queue does not exist."}
        for protocol, sqs in self.clients.items():
            url = sqs.create_queue(QueueName=self.name(protocol))["QueueUrl"]
            for fn, kwargs in ((sqs.get_queue_url, dict(QueueName="no-such-queue")),
                               (sqs.send_message, dict(QueueUrl=url + "-gone", MessageBody="x")),
                               (sqs.get_queue_attributes, dict(QueueUrl=url + "-gone")),
                               (sqs.delete_queue, dict(QueueUrl=url + "-gone"))):
                with self.subTest(protocol=protocol, operation=fn.__name__):
                    self.assertEqual(self.error(fn, **kwargs),
                                     (400, "AWS.SimpleQueueService.NonExistentQueue",
                                      wording[protocol]))
        p = subprocess.run([AWS, "--endpoint-url", self.emu.endpoint, "sqs", "get-queue-url",
                            "--queue-name", "no-such-queue"], env=self.env, capture_output=True,
                           text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("NonExistentQueue", p.stderr)
        self.assertIn(wording["query"], p.stderr)

    # ---- attributes ----

    def test_sse_conflict_is_invalid_attribute_name(self):
        msg = ("You can use one type of server-side encryption (SSE) at one time. You can "
               "either enable KMS SSE or SQS SSE.")
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = sqs.create_queue(QueueName=self.name(protocol))["QueueUrl"]
                attrs = {"KmsMasterKeyId": "testKeyId", "SqsManagedSseEnabled": "true"}
                self.assertEqual(self.error(sqs.set_queue_attributes, QueueUrl=url,
                                            Attributes=attrs),
                                 (400, "InvalidAttributeName", msg))
                self.assertEqual(self.error(sqs.create_queue,
                                            QueueName=self.name(protocol, "-2"),
                                            Attributes=attrs),
                                 (400, "InvalidAttributeName", msg))
                # Nothing changed; either kind alone is accepted.
                got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
                self.assertEqual(got["SqsManagedSseEnabled"], "true")
                self.assertNotIn("KmsMasterKeyId", got)
                sqs.set_queue_attributes(QueueUrl=url, Attributes={
                    "KmsMasterKeyId": "testKeyId", "KmsDataKeyReusePeriodSeconds": "6000"})
                got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                    "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds",
                    "SqsManagedSseEnabled"])["Attributes"]
                self.assertEqual(got, {"KmsMasterKeyId": "testKeyId",
                                       "KmsDataKeyReusePeriodSeconds": "6000",
                                       "SqsManagedSseEnabled": "false"})

    def test_redrive_policy_quoted_as_sent(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = sqs.create_queue(QueueName=self.name(protocol))["QueueUrl"]
                for arn, reason in (
                        ("dummy", "Invalid value for deadLetterTargetArn."),
                        ("arn:aws:sqs:us-east-1:000000000000:no-such-dlq",
                         "Dead letter target does not exist.")):
                    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 42})
                    self.assertEqual(
                        self.error(sqs.set_queue_attributes, QueueUrl=url,
                                   Attributes={"RedrivePolicy": policy}),
                        (400, "InvalidParameterValue",
                         "Value %s for parameter RedrivePolicy is invalid. Reason: %s"
                         % (policy, reason)))
                self.assertNotIn("Attributes", sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=["RedrivePolicy"]))

    def test_fifo_queue_attribute_cannot_be_set(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = sqs.create_queue(QueueName=self.name(protocol))["QueueUrl"]
                self.assertEqual(
                    self.error(sqs.set_queue_attributes, QueueUrl=url,
                               Attributes={"FifoQueue": "true"}),
                    (400, "InvalidAttributeName", "Unknown Attribute FifoQueue."))
                fifo = sqs.create_queue(QueueName=self.name(protocol, ".fifo"),
                                        Attributes={"FifoQueue": "true"})["QueueUrl"]
                # "true" again changes nothing and is accepted (AWS's recorded answer).
                sqs.set_queue_attributes(QueueUrl=fifo, Attributes={"FifoQueue": "true"})
                self.assertEqual(
                    self.error(sqs.set_queue_attributes, QueueUrl=fifo,
                               Attributes={"FifoQueue": "false"}),
                    (400, "InvalidAttributeValue",
                     "Invalid value for the parameter FifoQueue. Reason: Modifying queue "
                     "type is not supported."))
                self.assertEqual(sqs.get_queue_attributes(
                    QueueUrl=fifo, AttributeNames=["FifoQueue"])["Attributes"],
                    {"FifoQueue": "true"})

    # ---- message attributes ----

    def test_empty_message_attribute_value(self):
        for protocol, sqs in self.clients.items():
            url = sqs.create_queue(QueueName=self.name(protocol))["QueueUrl"]
            for data_type, value in (("String", {"StringValue": ""}), ("Number", {}),
                                     ("Binary", {"StringValue": "text"})):
                with self.subTest(protocol=protocol, data_type=data_type):
                    attrs = {"ErrorDetails": dict(DataType=data_type, **value)}
                    self.assertEqual(
                        self.error(sqs.send_message, QueueUrl=url, MessageBody="x",
                                   MessageAttributes=attrs),
                        (400, "InvalidParameterValue",
                         "Message (user) attribute 'ErrorDetails' must contain a non-empty value "
                         "of type '%s'." % data_type))
            self.assertNotIn("Messages", sqs.receive_message(QueueUrl=url))

    # ---- permissions ----

    def test_permission_policy_and_label_errors(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = sqs.create_queue(QueueName=self.name(protocol))["QueueUrl"]
                arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                    "Attributes"]["QueueArn"]
                # No policy at all: the label cannot be found.
                self.assertEqual(
                    self.error(sqs.remove_permission, QueueUrl=url, Label="crossaccount"),
                    (400, "InvalidParameterValue",
                     "Value crossaccount for parameter Label is invalid. Reason: can't find "
                     "label."))
                sqs.add_permission(QueueUrl=url, Label="crossaccount",
                                   AWSAccountIds=["111111111111"], Actions=["ReceiveMessage"])
                policy = json.loads(sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
                self.assertEqual(policy["Version"], "2008-10-17")
                self.assertEqual(policy["Id"], arn + "/SQSDefaultPolicy")
                self.assertEqual(policy["Statement"], [{
                    "Sid": "crossaccount", "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                    "Action": "SQS:ReceiveMessage", "Resource": arn}])
                self.assertEqual(
                    self.error(sqs.remove_permission, QueueUrl=url, Label="other"),
                    (400, "InvalidParameterValue",
                     "Value other for parameter Label is invalid. Reason: can't find label on "
                     "existing policy."))
                sqs.remove_permission(QueueUrl=url, Label="crossaccount")
                self.assertNotIn("Attributes", sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=["Policy"]))

    # ---- ChangeMessageVisibility once the timeout has passed ----

    def test_change_visibility_after_timeout_expired(self):
        # AWS answers OK and changes nothing (the message stays visible).
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = sqs.create_queue(QueueName=self.name(protocol))["QueueUrl"]
                sqs.send_message(QueueUrl=url, MessageBody="m")
                handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"][0][
                    "ReceiptHandle"]
                time.sleep(1.5)
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle,
                                              VisibilityTimeout=60)
                out = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
                    {"Id": "a", "ReceiptHandle": handle, "VisibilityTimeout": 60}])
                self.assertEqual([e["Id"] for e in out["Successful"]], ["a"])
                self.assertFalse(out.get("Failed"))
                got = sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"]
                self.assertEqual(got[0]["Body"], "m")
                # In flight, the same call takes effect.
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"],
                                              VisibilityTimeout=60)
                time.sleep(1.5)
                self.assertNotIn("Messages", sqs.receive_message(QueueUrl=url))

    # ---- FIFO batches ----

    def test_fifo_batch_without_group_id(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = sqs.create_queue(QueueName=self.name(protocol, ".fifo"),
                                       Attributes={"FifoQueue": "true",
                                                   "ContentBasedDeduplication": "true"})[
                    "QueueUrl"]
                self.assertEqual(
                    self.error(sqs.send_message_batch, QueueUrl=url, Entries=[
                        {"Id": "a", "MessageBody": "x", "MessageGroupId": "g"},
                        {"Id": "b", "MessageBody": "y"}]),
                    (400, "InvalidParameterValue",
                     "The request must contain the parameter MessageGroupId."))
                # SendMessage alone says MissingParameter, as AWS does.
                self.assertEqual(
                    self.error(sqs.send_message, QueueUrl=url, MessageBody="x"),
                    (400, "MissingParameter",
                     "The request must contain the parameter MessageGroupId."))
                self.assertNotIn("Messages", sqs.receive_message(QueueUrl=url))


if __name__ == "__main__":
    unittest.main(verbosity=2)
