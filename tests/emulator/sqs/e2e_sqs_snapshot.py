#!/usr/bin/python3
"""End-to-end checks of SQS against answers AWS itself gave, as recorded in
public conformance suites' snapshots (status, error code, exact message text,
attributes, response fields, ordering), over both protocols SQS speaks: the
query protocol of Debian's boto3 and the JSON protocol of current SDKs
(Debian's botocore given the JSON form of its own model, as in
e2e_sqs_errors.py). Limits follow today's AWS (1 MiB messages since 2025),
where the recordings predate the change they show 256 KiB in the same words.

Every check names the behaviour it pins; the emulator once answered several
of them otherwise."""

import json
import os
import sys
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
from emulator_support import md5_of_attributes  # noqa: E402
from e2e_sqs_errors import AUTH, BothProtocols  # noqa: E402

MAX = 1048576


class Snapshot(BothProtocols):

    def queue(self, sqs, protocol, suffix="", **attrs):
        fifo = attrs.get("FifoQueue") == "true"
        return sqs.create_queue(QueueName=self.name(protocol, suffix + (".fifo" if fifo else "")),
                                Attributes=attrs)["QueueUrl"]

    def error(self, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        e = cm.exception.response
        return e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Code"], e["Error"]["Message"]

    def query(self, url, params, method="GET"):
        """A raw query-protocol request to url (a queue URL or the endpoint)."""
        data = None
        if method == "GET":
            url = url + ("?" + urllib.parse.urlencode(params) if params else "")
        else:
            data = urllib.parse.urlencode(params).encode()
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Authorization": AUTH})
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def raw_json(self, operation, body):
        req = urllib.request.Request(
            self.emu.endpoint + "/", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/x-amz-json-1.0",
                     "X-Amz-Target": "AmazonSQS." + operation, "Authorization": AUTH})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    # ---- sizes ----

    def test_oversized_message_counts_attributes(self):
        attrs = {"k": {"DataType": "String", "StringValue": "x"}}
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol)
                self.assertEqual(
                    self.error(sqs.send_message, QueueUrl=url, MessageBody="a" * (MAX - 8 + 1),
                               MessageAttributes=attrs),
                    (400, "InvalidParameterValue", "One or more parameters are invalid. Reason: "
                     "Message must be shorter than %d bytes." % MAX))
                sqs.set_queue_attributes(QueueUrl=url, Attributes={"MaximumMessageSize": "1024"})
                sqs.send_message(QueueUrl=url, MessageBody="a" * 1024)
                self.assertEqual(
                    self.error(sqs.send_message, QueueUrl=url, MessageBody="a" * (1024 - 8 + 1),
                               MessageAttributes=attrs),
                    (400, "InvalidParameterValue", "One or more parameters are invalid. Reason: "
                     "Message must be shorter than 1024 bytes."))

    def test_batch_too_long(self):
        attrs = {"k": {"DataType": "String", "StringValue": "x"}}
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol)
                self.assertEqual(
                    self.error(sqs.send_message_batch, QueueUrl=url, Entries=[
                        {"Id": "1", "MessageBody": "a" * (MAX - 8), "MessageAttributes": attrs},
                        {"Id": "2", "MessageBody": "a"}]),
                    (400, "AWS.SimpleQueueService.BatchRequestTooLong",
                     "Batch requests cannot be longer than %d bytes. You have sent %d bytes."
                     % (MAX, MAX + 1)))
                # Nothing of a refused batch was sent.
                got = sqs.get_queue_attributes(QueueUrl=url,
                                               AttributeNames=["ApproximateNumberOfMessages"])
                self.assertEqual(got["Attributes"]["ApproximateNumberOfMessages"], "0")

    def test_batch_within_queue_maximum(self):
        attrs = {"k": {"DataType": "String", "StringValue": "x"}}
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol, MaximumMessageSize="2048")
                out = sqs.send_message_batch(QueueUrl=url, Entries=[
                    {"Id": "1", "MessageBody": "a" * (2048 - 8), "MessageAttributes": attrs},
                    {"Id": "2", "MessageBody": "a"}])
                self.assertEqual(out.get("Failed", []), [])
                ok = sorted(out["Successful"], key=lambda e: e["Id"])
                self.assertEqual(ok[0]["MD5OfMessageAttributes"], "a45daa70926828a2f0a1db3418e6feb4")
                self.assertEqual(ok[0]["MD5OfMessageBody"], "f44facf5a7ee0af446ecf3e0f854441e")
                self.assertEqual(ok[1]["MD5OfMessageBody"], "0cc175b9c0f1b6a831c399e269772661")
                self.assertNotIn("MD5OfMessageAttributes", ok[1])
        # The JSON protocol lists an empty Failed.
        url = self.queue(self.clients["json"], "json", "-raw")
        status, doc = self.raw_json("SendMessageBatch", {"QueueUrl": url, "Entries": [
            {"Id": "1", "MessageBody": "a"}]})
        self.assertEqual(status, 200)
        self.assertEqual(doc["Failed"], [])

    # ---- batches ----

    def test_batch_entry_id_and_count_errors(self):
        id_msg = ("A batch entry id can only contain alphanumeric characters, hyphens and "
                  "underscores. It can be at most 80 letters long.")
        for protocol, sqs in self.clients.items():
            url = self.queue(sqs, protocol)
            for bad in ("", "testLongId" * 10, "invalid:id"):
                with self.subTest(protocol=protocol, id=bad):
                    self.assertEqual(
                        self.error(sqs.delete_message_batch, QueueUrl=url,
                                   Entries=[{"Id": bad, "ReceiptHandle": "testHandle1"}]),
                        (400, "AWS.SimpleQueueService.InvalidBatchEntryId", id_msg))
            self.assertEqual(
                self.error(sqs.send_message_batch, QueueUrl=url,
                           Entries=[{"Id": "message:abc", "MessageBody": "x"}]),
                (400, "AWS.SimpleQueueService.InvalidBatchEntryId", id_msg))
            many = "Maximum number of entries per request are 10. You have sent 20."
            with self.subTest(protocol=protocol, case="too many"):
                self.assertEqual(
                    self.error(sqs.send_message_batch, QueueUrl=url, Entries=[
                        {"Id": "m-%d" % i, "MessageBody": "b"} for i in range(20)]),
                    (400, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", many))
                self.assertEqual(
                    self.error(sqs.delete_message_batch, QueueUrl=url, Entries=[
                        {"Id": str(i), "ReceiptHandle": "h"} for i in range(20)]),
                    (400, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", many))
                self.assertEqual(
                    self.error(sqs.change_message_visibility_batch, QueueUrl=url, Entries=[
                        {"Id": str(i), "ReceiptHandle": "h", "VisibilityTimeout": 123}
                        for i in range(20)]),
                    (400, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", many))
            with self.subTest(protocol=protocol, case="empty"):
                status, code, _ = self.error(sqs.send_message_batch, QueueUrl=url, Entries=[])
                self.assertEqual((status, code), (400, "AWS.SimpleQueueService.EmptyBatchRequest"))

    def test_batch_with_invalid_body_fails_that_entry(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol)
                entries = [{"Id": str(i), "MessageBody": str(i)} for i in range(9)]
                entries.append({"Id": "9", "MessageBody": "\x01"})
                out = sqs.send_message_batch(QueueUrl=url, Entries=entries)
                self.assertEqual(len(out["Successful"]), 9)
                self.assertEqual([(f["Id"], f["Code"], f["SenderFault"]) for f in out["Failed"]],
                                 [("9", "InvalidMessageContents", True)])

    def test_fifo_batch_missing_ids_refused_whole(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol, FifoQueue="true",
                                 ContentBasedDeduplication="false")
                self.assertEqual(
                    self.error(sqs.send_message_batch, QueueUrl=url, Entries=[
                        {"Id": "a", "MessageBody": "m", "MessageGroupId": "g",
                         "MessageDeduplicationId": "d1"},
                        {"Id": "b", "MessageBody": "m", "MessageGroupId": "g"}]),
                    (400, "InvalidParameterValue", "The queue should either have "
                     "ContentBasedDeduplication enabled or MessageDeduplicationId provided "
                     "explicitly"))
                self.assertEqual(
                    self.error(sqs.send_message_batch, QueueUrl=url, Entries=[
                        {"Id": "a", "MessageBody": "m", "MessageGroupId": "g",
                         "MessageDeduplicationId": "d1"},
                        {"Id": "b", "MessageBody": "m", "MessageDeduplicationId": "d2"}]),
                    (400, "InvalidParameterValue",
                     "The request must contain the parameter MessageGroupId."))
                got = sqs.get_queue_attributes(QueueUrl=url,
                                               AttributeNames=["ApproximateNumberOfMessages"])
                self.assertEqual(got["Attributes"]["ApproximateNumberOfMessages"], "0")

    # ---- FIFO sends ----

    def test_fifo_send_errors(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol, FifoQueue="true")
                self.assertEqual(
                    self.error(sqs.send_message, QueueUrl=url, MessageBody="x",
                               MessageGroupId="g"),
                    (400, "InvalidParameterValue", "The queue should either have "
                     "ContentBasedDeduplication enabled or MessageDeduplicationId provided "
                     "explicitly"))
                self.assertEqual(
                    self.error(sqs.send_message, QueueUrl=url, MessageBody="x",
                               MessageDeduplicationId="d"),
                    (400, "MissingParameter",
                     "The request must contain the parameter MessageGroupId."))
                self.assertEqual(
                    self.error(sqs.send_message, QueueUrl=url, MessageBody="x",
                               MessageGroupId="g", MessageDeduplicationId="d", DelaySeconds=2),
                    (400, "InvalidParameterValue", "Value 2 for parameter DelaySeconds is "
                     "invalid. Reason: The request include parameter that is not valid for "
                     "this queue type."))
                sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g",
                                 MessageDeduplicationId="d", DelaySeconds=0)

    def test_fifo_message_attributes_all(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol, FifoQueue="true", ContentBasedDeduplication="true",
                                 VisibilityTimeout="0", DeduplicationScope="messageGroup",
                                 FifoThroughputLimit="perMessageGroupId")
                sent = sqs.send_message(QueueUrl=url, MessageBody="message-body-1",
                                        MessageGroupId="group-1", MessageDeduplicationId="dedup-1")
                self.assertEqual(sent["MD5OfMessageBody"], "19c9e282d65f9733bc6b35d50062c7ee")
                for count in ("1", "2"):
                    m = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"][0]
                    self.assertEqual(sorted(m["Attributes"]), [
                        "ApproximateFirstReceiveTimestamp", "ApproximateReceiveCount",
                        "MessageDeduplicationId", "MessageGroupId", "SenderId", "SentTimestamp",
                        "SequenceNumber"])
                    self.assertEqual(m["Attributes"]["ApproximateReceiveCount"], count)
                    self.assertEqual(m["Attributes"]["SequenceNumber"], sent["SequenceNumber"])
                    self.assertEqual(m["Attributes"]["MessageDeduplicationId"], "dedup-1")

    def test_fifo_expired_receipt_handle(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol, FifoQueue="true", VisibilityTimeout="1",
                                 ContentBasedDeduplication="true")
                sqs.send_message(QueueUrl=url, MessageBody="g1-m1", MessageGroupId="1")
                handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
                time.sleep(2)
                self.assertEqual(
                    self.error(sqs.delete_message, QueueUrl=url, ReceiptHandle=handle),
                    (400, "InvalidParameterValue", "Value %s for parameter ReceiptHandle is "
                     "invalid. Reason: The receipt handle has expired." % handle))
                # The message is still there.
                self.assertEqual(len(sqs.receive_message(QueueUrl=url)["Messages"]), 1)

    def test_fifo_group_ordering(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol, FifoQueue="true", ContentBasedDeduplication="true")
                for body, group in (("g1-m1", "1"), ("g2-m1", "2"), ("g1-m2", "1"),
                                    ("g1-m3", "1")):
                    sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
                self.assertEqual([m["Body"] for m in got], ["g1-m1", "g1-m2", "g1-m3", "g2-m1"])

    def test_fifo_group_visibility(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol, FifoQueue="true", ContentBasedDeduplication="true",
                                 VisibilityTimeout="30")
                for body, group in (("g1-m1", "1"), ("g1-m2", "1"), ("g2-m1", "2")):
                    sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
                self.assertEqual([m["Body"] for m in got], ["g1-m1", "g1-m2"])
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"],
                                              VisibilityTimeout=0)
                # AWS answers the group never received first.
                again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3)["Messages"]
                self.assertEqual([m["Body"] for m in again], ["g2-m1", "g1-m1"])

    def test_fifo_partial_delete_keeps_group_in_flight(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol, FifoQueue="true", ContentBasedDeduplication="true")
                for body, group in (("g1-m1", "1"), ("g2-m1", "2"), ("g1-m2", "1"),
                                    ("g2-m2", "2"), ("g1-m2b", "1"), ("g1-m3", "1"),
                                    ("g3-m1", "3")):
                    sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
                self.assertEqual([m["Body"] for m in got], ["g1-m1", "g1-m2"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
                rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
                self.assertEqual([m["Body"] for m in rest], ["g2-m1", "g2-m2", "g3-m1"])

    def test_fifo_counts_and_order_after_timeout(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol, FifoQueue="true", ContentBasedDeduplication="true",
                                 VisibilityTimeout="1")
                for body, group in (("g1-m1", "1"), ("g1-m2", "1"), ("g1-m3", "1"),
                                    ("g2-m1", "2"), ("g3-m1", "3")):
                    sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
                count = lambda: sqs.get_queue_attributes(  # noqa: E731
                    QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
                        "Attributes"]["ApproximateNumberOfMessages"]
                self.assertEqual(count(), "5")
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=4)["Messages"]
                self.assertEqual([m["Body"] for m in got], ["g1-m1", "g1-m2", "g1-m3", "g2-m1"])
                self.assertEqual(count(), "1")
                time.sleep(2)
                # Never-received groups first, then those received, longest ago first.
                again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
                self.assertEqual([m["Body"] for m in again],
                                 ["g3-m1", "g1-m1", "g1-m2", "g1-m3", "g2-m1"])

    def test_fifo_dead_letter_queue(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                dlq = self.queue(sqs, protocol, "-dlq", FifoQueue="true",
                                 ContentBasedDeduplication="true",
                                 MessageRetentionPeriod="1209600")
                arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
                    "Attributes"]["QueueArn"]
                url = self.queue(sqs, protocol, FifoQueue="true", ContentBasedDeduplication="true",
                                 VisibilityTimeout="60", RedrivePolicy=json.dumps(
                                     {"deadLetterTargetArn": arn, "maxReceiveCount": 2}))
                sent = sqs.send_message(QueueUrl=url, MessageBody="foobar", MessageGroupId="1")
                for _ in range(2):
                    self.assertEqual(len(sqs.receive_message(QueueUrl=url,
                                                             VisibilityTimeout=0)["Messages"]), 1)
                self.assertNotIn("Messages", sqs.receive_message(QueueUrl=url,
                                                                 VisibilityTimeout=0))
                got = sqs.receive_message(QueueUrl=dlq)["Messages"]
                self.assertEqual([(m["MessageId"], m["Body"]) for m in got],
                                 [(sent["MessageId"], "foobar")])
                # The policy comes back with maxReceiveCount a number, whatever was sent.
                pol = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                    "RedrivePolicy"])["Attributes"]["RedrivePolicy"])
                self.assertEqual(pol, {"deadLetterTargetArn": arn, "maxReceiveCount": 2})
                sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": arn, "maxReceiveCount": "10"})})
                pol = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                    "RedrivePolicy"])["Attributes"]["RedrivePolicy"])
                self.assertEqual(pol["maxReceiveCount"], 10)

    def test_standard_dead_letter_after_one_receive(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                dlq = self.queue(sqs, protocol, "-dlq", VisibilityTimeout="0")
                arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
                    "Attributes"]["QueueArn"]
                url = self.queue(sqs, protocol, VisibilityTimeout="0", RedrivePolicy=json.dumps(
                    {"deadLetterTargetArn": arn, "maxReceiveCount": 1}))
                sent = sqs.send_message(QueueUrl=url, MessageBody="test")
                first = sqs.receive_message(QueueUrl=url).get("Messages")
                second = sqs.receive_message(QueueUrl=url).get("Messages")
                self.assertTrue((first is None) != (second is None))
                got = sqs.receive_message(QueueUrl=dlq)["Messages"]
                self.assertEqual(got[0]["MessageId"], sent["MessageId"])

    def test_older_handle_terminates_visibility(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol)
                sqs.send_message(QueueUrl=url, MessageBody="test")
                first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]
                self.assertEqual(len(sqs.receive_message(QueueUrl=url,
                                                         VisibilityTimeout=3)["Messages"]), 1)
                self.assertNotIn("Messages", sqs.receive_message(QueueUrl=url))
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"],
                                              VisibilityTimeout=0)
                self.assertEqual(len(sqs.receive_message(QueueUrl=url)["Messages"]), 1)

    def test_fifo_group_order_with_zero_visibility(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol, FifoQueue="true", ContentBasedDeduplication="true")
                for body, group in (("g1-m1", "1"), ("g2-m1", "2"), ("g2-m2", "2"),
                                    ("g3-m1", "3"), ("g1-m2", "1")):
                    sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3,
                                          VisibilityTimeout=0)["Messages"]
                self.assertEqual([m["Body"] for m in got], ["g1-m1", "g1-m2", "g2-m1"])
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                          VisibilityTimeout=0)["Messages"]
                self.assertEqual([m["Body"] for m in got],
                                 ["g3-m1", "g1-m1", "g1-m2", "g2-m1", "g2-m2"])

    def test_fifo_group_order_after_delete(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol, FifoQueue="true", ContentBasedDeduplication="true")
                for body, group in (("g1-m1", "1"), ("g2-m1", "2"), ("g1-m2", "1"),
                                    ("g2-m2", "2"), ("g1-m2", "1"), ("g1-m3", "1"),
                                    ("g1-m4", "1"), ("g3-m1", "3")):
                    sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
                self.assertEqual([m["Body"] for m in got], ["g1-m1", "g1-m2"])
                for m in got:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
                self.assertEqual([m["Body"] for m in rest],
                                 ["g2-m1", "g2-m2", "g1-m3", "g1-m4", "g3-m1"])

    def test_fifo_dedup_survives_delete_but_not_purge(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol, FifoQueue="true", ContentBasedDeduplication="true")
                sqs.send_message(QueueUrl=url, MessageBody='{"foo": "bar"}', MessageGroupId="g")
                m = sqs.receive_message(QueueUrl=url)["Messages"][0]
                self.assertEqual(m["MD5OfBody"], "94232c5b8fc9272f6f73a1e36eb68fcf")
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                sqs.send_message(QueueUrl=url, MessageBody='{"foo": "bar"}', MessageGroupId="g2")
                self.assertEqual(sqs.receive_message(QueueUrl=url).get("Messages", []), [])
                sqs.purge_queue(QueueUrl=url)
                sqs.send_message(QueueUrl=url, MessageBody='{"foo": "bar"}', MessageGroupId="g")
                self.assertEqual(len(sqs.receive_message(QueueUrl=url)["Messages"]), 1)

    def test_sequence_numbers(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol, FifoQueue="true")
                seqs = [int(sqs.send_message(QueueUrl=url, MessageBody="m%d" % i,
                                             MessageGroupId="g",
                                             MessageDeduplicationId="m%d" % i)["SequenceNumber"])
                        for i in range(3)]
                self.assertEqual(seqs, sorted(set(seqs)))
                std = self.queue(sqs, protocol, "-std")
                self.assertNotIn("SequenceNumber", sqs.send_message(QueueUrl=std, MessageBody="x"))

    # ---- receiving ----

    def test_message_attribute_name_filters(self):
        attrs = {"Help.Me": {"DataType": "String", "StringValue": "Me"},
                 "Hello": {"DataType": "String", "StringValue": "There"},
                 "General": {"DataType": "String", "StringValue": "Kenobi"}}
        cases = [
            (["All"], ["General", "Hello", "Help.Me"], "4c360f3fdafd970e05fae2f149d997f5"),
            (["*"], ["General", "Hello", "Help.Me"], "4c360f3fdafd970e05fae2f149d997f5"),
            ([".*"], ["General", "Hello", "Help.Me"], "4c360f3fdafd970e05fae2f149d997f5"),
            (["Hello", "General"], ["General", "Hello"], "fca026605781cb4126a1e9044df24232"),
            (["Foo", "Hello"], ["Hello"], "a311262e065454b75da111d535b8dacd"),
            (["Hel.*"], ["Hello", "Help.Me"], "83fee93c1bcd8b9a5a923ffacdc636c7"),
        ]
        for protocol, sqs in self.clients.items():
            url = self.queue(sqs, protocol, VisibilityTimeout="0")
            sent = sqs.send_message(QueueUrl=url, MessageBody="msg", MessageAttributes=attrs)
            self.assertEqual(sent["MD5OfMessageAttributes"], "4c360f3fdafd970e05fae2f149d997f5")
            for names, want, md5 in cases:
                with self.subTest(protocol=protocol, names=names):
                    m = sqs.receive_message(QueueUrl=url,
                                            MessageAttributeNames=names)["Messages"][0]
                    self.assertEqual(sorted(m["MessageAttributes"]), want)
                    self.assertEqual(m["MD5OfMessageAttributes"], md5)
            for names in ([], ["AWS."], ["..foo"]):
                with self.subTest(protocol=protocol, names=names):
                    m = sqs.receive_message(QueueUrl=url,
                                            MessageAttributeNames=names)["Messages"][0]
                    self.assertNotIn("MessageAttributes", m)
                    self.assertNotIn("MD5OfMessageAttributes", m)
            with self.subTest(protocol=protocol, names="none match"):
                m = sqs.receive_message(QueueUrl=url,
                                        MessageAttributeNames=["Foo", "Help"])["Messages"][0]
                self.assertNotIn("MD5OfMessageAttributes", m)
                self.assertNotIn("MessageAttributes", m)

    def test_system_attribute_name_filters(self):
        for protocol, sqs in self.clients.items():
            url = self.queue(sqs, protocol, VisibilityTimeout="0")
            sqs.send_message(QueueUrl=url, MessageBody="msg",
                             MessageAttributes={"Foo": {"DataType": "String",
                                                        "StringValue": "Bar"}})
            with self.subTest(protocol=protocol, names="All"):
                m = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"][0]
                self.assertEqual(sorted(m["Attributes"]), [
                    "ApproximateFirstReceiveTimestamp", "ApproximateReceiveCount", "SenderId",
                    "SentTimestamp"])
                self.assertNotIn("MessageAttributes", m)
                self.assertTrue(float(m["Attributes"]["SentTimestamp"]).is_integer())
            with self.subTest(protocol=protocol, names="All+All"):
                m = sqs.receive_message(QueueUrl=url, AttributeNames=["All"],
                                        MessageAttributeNames=["All"])["Messages"][0]
                self.assertEqual(m["Attributes"]["ApproximateReceiveCount"], "2")
                self.assertEqual(m["MD5OfMessageAttributes"], "ae7155c6026991b6d54b11589678bf9c")
            for names in (["SenderId"], ["SenderId", "SequenceNumber"]):
                with self.subTest(protocol=protocol, names=names):
                    m = sqs.receive_message(QueueUrl=url, AttributeNames=names)["Messages"][0]
                    self.assertEqual(list(m["Attributes"]), ["SenderId"])
        # The newer MessageSystemAttributeNames (Debian's model predates it) selects
        # the same way.
        status, doc = self.raw_json("ReceiveMessage", {
            "QueueUrl": url, "MessageSystemAttributeNames": ["SentTimestamp", "SenderId"]})
        self.assertEqual(status, 200)
        self.assertEqual(sorted(doc["Messages"][0]["Attributes"]), ["SenderId", "SentTimestamp"])
        status, doc = self.raw_json("ReceiveMessage", {
            "QueueUrl": url, "MessageSystemAttributeNames": ["All"]})
        self.assertIn("ApproximateFirstReceiveTimestamp", doc["Messages"][0]["Attributes"])

    def test_system_attributes_md5(self):
        trace = {"AWSTraceHeader": {
            "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;"
                           "Sampled=1", "DataType": "String"}}
        user = {"timestamp": {"StringValue": "1493147359900", "DataType": "Number"}}
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol)
                a = sqs.send_message(QueueUrl=url, MessageBody="test", MessageAttributes=user)
                b = sqs.send_message(QueueUrl=url, MessageBody="test", MessageAttributes=user,
                                     MessageSystemAttributes=trace)
                self.assertEqual(a["MD5OfMessageAttributes"], b["MD5OfMessageAttributes"])
                self.assertEqual(a["MD5OfMessageAttributes"], md5_of_attributes(user))
                self.assertNotIn("MD5OfMessageSystemAttributes", a)
                self.assertEqual(b["MD5OfMessageSystemAttributes"],
                                 "5ae4d5d7636402d80f4eb6d213245a88")

    def test_binary_attribute_round_trip(self):
        value = b"traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01"
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol)
                sqs.send_message(QueueUrl=url, MessageBody="test", MessageAttributes={
                    "attr1": {"BinaryValue": value, "DataType": "Binary"}})
                m = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
                self.assertEqual(m["MD5OfMessageAttributes"], "8cbe4db156db8a94db8b801b7addb984")
                self.assertEqual(m["MessageAttributes"]["attr1"]["BinaryValue"], value)

    def test_empty_receive(self):
        # No Messages member when nothing came, over both protocols: AWS's JSON
        # answer sent an empty list for a while after SQS gained JSON (2023
        # recordings); SDK conformance runs since see it left out.
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol)
                self.assertNotIn("Messages", sqs.receive_message(QueueUrl=url))
        url = self.queue(self.clients["json"], "json", "-raw")
        status, doc = self.raw_json("ReceiveMessage", {"QueueUrl": url})
        self.assertEqual((status, doc), (200, {}))
        status, body = self.query(url, {"Action": "ReceiveMessage"})
        self.assertEqual(status, 200)
        # AWS writes <ReceiveMessageResult/>; an empty element pair is the same XML.
        self.assertRegex(body, r"<ReceiveMessageResult(/>|></ReceiveMessageResult>)")

    def test_max_number_of_messages(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol)
                self.assertEqual(
                    self.error(sqs.receive_message, QueueUrl=url, MaxNumberOfMessages=11),
                    (400, "InvalidParameterValue", "Value 11 for parameter MaxNumberOfMessages "
                     "is invalid. Reason: Must be between 1 and 10, if provided."))

    # ---- receipt handles ----

    def test_receipt_handle_errors(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol)
                # 404 as AWS's current model gives ReceiptHandleIsInvalid.
                self.assertEqual(
                    self.error(sqs.delete_message, QueueUrl=url, ReceiptHandle="garbage"),
                    (404, "ReceiptHandleIsInvalid",
                     'The input receipt handle "garbage" is not a valid receipt handle.'))
                # A long one is quoted whole, as AWS quotes it.
                long_handle = "h" * 1500
                self.assertEqual(
                    self.error(sqs.delete_message, QueueUrl=url, ReceiptHandle=long_handle),
                    (404, "ReceiptHandleIsInvalid",
                     'The input receipt handle "%s" is not a valid receipt handle.' % long_handle))
                status, code, _ = self.error(sqs.change_message_visibility, QueueUrl=url,
                                             ReceiptHandle="INVALID", VisibilityTimeout=60)
                self.assertEqual((status, code), (404, "ReceiptHandleIsInvalid"))
                sqs.send_message(QueueUrl=url, MessageBody="foo")
                handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle,
                                              VisibilityTimeout=42)
                for _ in range(3):
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
                self.assertEqual(
                    self.error(sqs.change_message_visibility, QueueUrl=url,
                               ReceiptHandle=handle, VisibilityTimeout=42),
                    (400, "InvalidParameterValue", "Value %s for parameter ReceiptHandle is "
                     "invalid. Reason: Message does not exist or is not available for "
                     "visibility timeout change." % handle))

    def test_stale_handle_deletes_standard_message(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol)
                sqs.send_message(QueueUrl=url, MessageBody="test")
                handle = sqs.receive_message(QueueUrl=url,
                                             VisibilityTimeout=1)["Messages"][0]["ReceiptHandle"]
                time.sleep(2)
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle,
                                              VisibilityTimeout=30)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
                got = sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                  "ApproximateNumberOfMessagesNotVisible"])
                self.assertEqual(got["Attributes"], {"ApproximateNumberOfMessages": "0",
                                                     "ApproximateNumberOfMessagesNotVisible": "0"})

    # ---- queues and their attributes ----

    def test_default_attributes(self):
        std = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed",
               "ApproximateNumberOfMessagesNotVisible", "CreatedTimestamp", "DelaySeconds",
               "LastModifiedTimestamp", "MaximumMessageSize", "MessageRetentionPeriod",
               "QueueArn", "ReceiveMessageWaitTimeSeconds", "SqsManagedSseEnabled",
               "VisibilityTimeout"]
        fifo = sorted(std + ["ContentBasedDeduplication", "DeduplicationScope", "FifoQueue",
                             "FifoThroughputLimit"])
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol, MessageRetentionPeriod="604800",
                                 ReceiveMessageWaitTimeSeconds="10", VisibilityTimeout="20")
                got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
                self.assertEqual(sorted(got), std)
                self.assertEqual(got["MaximumMessageSize"], str(MAX))
                self.assertEqual(got["SqsManagedSseEnabled"], "true")
                sqs.set_queue_attributes(QueueUrl=url, Attributes={
                    "MaximumMessageSize": "2048", "VisibilityTimeout": "69",
                    "DelaySeconds": "420"})
                got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
                self.assertEqual((got["MaximumMessageSize"], got["VisibilityTimeout"],
                                  got["DelaySeconds"]), ("2048", "69", "420"))
                furl = self.queue(sqs, protocol, FifoQueue="true", SqsManagedSseEnabled="true",
                                  ContentBasedDeduplication="true")
                got = sqs.get_queue_attributes(QueueUrl=furl,
                                               AttributeNames=["All"])["Attributes"]
                self.assertEqual(sorted(got), fifo)
                self.assertEqual((got["DeduplicationScope"], got["FifoThroughputLimit"],
                                  got["MessageRetentionPeriod"]), ("queue", "perQueue", "345600"))

    def test_sse_attributes(self):
        names = ["KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled"]
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol)
                sqs.set_queue_attributes(QueueUrl=url, Attributes={
                    "KmsMasterKeyId": "testKeyId", "KmsDataKeyReusePeriodSeconds": "6000",
                    "SqsManagedSseEnabled": "false"})
                got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)
                self.assertEqual(got["Attributes"], {"KmsMasterKeyId": "testKeyId",
                                                     "KmsDataKeyReusePeriodSeconds": "6000",
                                                     "SqsManagedSseEnabled": "false"})
                url2 = self.queue(sqs, protocol, "-2")
                sqs.set_queue_attributes(QueueUrl=url2, Attributes={"SqsManagedSseEnabled":
                                                                    "true"})
                got = sqs.get_queue_attributes(QueueUrl=url2, AttributeNames=names)
                self.assertEqual(got["Attributes"], {"SqsManagedSseEnabled": "true"})

    def test_create_queue_idempotence(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                name = self.name(protocol)
                url = sqs.create_queue(QueueName=name, Attributes={
                    "ReceiveMessageWaitTimeSeconds": "1", "DelaySeconds": "1"})["QueueUrl"]
                self.assertEqual(sqs.create_queue(QueueName=name)["QueueUrl"], url)
                self.assertEqual(sqs.create_queue(QueueName=name, Attributes={
                    "DelaySeconds": "1"})["QueueUrl"], url)
                msg = ("A queue already exists with the same name and a different value for "
                       "attribute DelaySeconds")
                self.assertEqual(self.error(sqs.create_queue, QueueName=name, Attributes={
                    "ReceiveMessageWaitTimeSeconds": "1", "DelaySeconds": "2"}),
                    (400, "QueueAlreadyExists", msg))
                sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "2"})
                self.assertEqual(sqs.create_queue(QueueName=name, Attributes={
                    "ReceiveMessageWaitTimeSeconds": "1", "DelaySeconds": "2"})["QueueUrl"], url)
                self.assertEqual(self.error(sqs.create_queue, QueueName=name, Attributes={
                    "ReceiveMessageWaitTimeSeconds": "1", "DelaySeconds": "1"}),
                    (400, "QueueAlreadyExists", msg))
                # Messages in the queue do not change what counts as the same attributes.
                sqs.send_message(QueueUrl=url, MessageBody="x")
                self.assertEqual(sqs.create_queue(QueueName=name)["QueueUrl"], url)
                fname = self.name(protocol, ".fifo")
                sqs.create_queue(QueueName=fname, Attributes={"FifoQueue": "true",
                                                              "ContentBasedDeduplication": "true"})
                self.assertEqual(self.error(sqs.create_queue, QueueName=fname, Attributes={
                    "FifoQueue": "true", "ContentBasedDeduplication": "false"}),
                    (400, "QueueAlreadyExists", "A queue already exists with the same name and "
                     "a different value for attribute ContentBasedDeduplication"))

    def test_queue_name_rules(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                for name, attrs in (("invalid-" + protocol, {"FifoQueue": "true"}),
                                    (self.name(protocol, ".fifo"), {}),
                                    ("queue/%s/" % protocol, {})):
                    status, code, _ = self.error(sqs.create_queue, QueueName=name,
                                                 Attributes=attrs)
                    self.assertEqual((status, code), (400, "InvalidParameterValue"))

    def test_fifo_queue_attribute_on_set(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol)
                self.assertEqual(self.error(sqs.set_queue_attributes, QueueUrl=url,
                                            Attributes={"FifoQueue": "true"}),
                                 (400, "InvalidAttributeName", "Unknown Attribute FifoQueue."))
                furl = self.queue(sqs, protocol, FifoQueue="true")
                sqs.set_queue_attributes(QueueUrl=furl, Attributes={"FifoQueue": "true"})
                self.assertEqual(self.error(sqs.set_queue_attributes, QueueUrl=furl,
                                            Attributes={"FifoQueue": "false"}),
                                 (400, "InvalidAttributeValue", "Invalid value for the parameter "
                                  "FifoQueue. Reason: Modifying queue type is not supported."))

    def test_unknown_attribute_name(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol)
                self.assertEqual(self.error(sqs.get_queue_attributes, QueueUrl=url,
                                            AttributeNames=["Foobar"]),
                                 (400, "InvalidAttributeName", "Unknown Attribute Foobar."))

    def test_redrive_policy_validity(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                dlq = self.queue(sqs, protocol, "-dlq")
                arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
                    "Attributes"]["QueueArn"]
                url = self.queue(sqs, protocol)
                for policy in ({"deadLetterTargetArn": arn}, {"maxReceiveCount": "42"},
                               {"deadLetterTargetArn": arn, "maxReceiveCount": "invalid"}):
                    status, code, _ = self.error(sqs.set_queue_attributes, QueueUrl=url,
                                                 Attributes={"RedrivePolicy": json.dumps(policy)})
                    self.assertEqual((status, code), (400, "InvalidParameterValue"))
                sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": arn, "maxReceiveCount": "42"})})
                self.assertEqual(self.error(sqs.create_queue, QueueName=self.name(protocol, "-d"),
                                            Attributes={"RedrivePolicy": json.dumps(
                                                {"deadLetterTargetArn": "dummy",
                                                 "maxReceiveCount": 42})}),
                                 (400, "InvalidParameterValue",
                                  'Value {"deadLetterTargetArn": "dummy", "maxReceiveCount": 42} '
                                  "for parameter RedrivePolicy is invalid. Reason: Invalid value "
                                  "for deadLetterTargetArn."))
                srcs = sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"]
                self.assertEqual(srcs, [url])

    def test_queue_policy_set_and_cleared(self):
        policy = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sqs:SendMessage",
            "Resource": "*"}]})
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol)
                sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
                got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
                self.assertNotIn("Policy", got)
                sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
                got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
                self.assertEqual(json.loads(got["Attributes"]["Policy"])["Statement"][0]["Action"],
                                 "sqs:SendMessage")
                sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
                got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
                self.assertEqual(got.get("Attributes", {}), {})

    def test_permission_lifecycle(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol)
                name = url.rsplit("/", 1)[1]
                arn = "arn:aws:sqs:us-east-1:000000000000:" + name
                sqs.add_permission(QueueUrl=url, AWSAccountIds=["000000000000", "668614515564"],
                                   Actions=["ReceiveMessage"], Label="crossaccountpermission")
                pol = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                    "Policy"])["Attributes"]["Policy"])
                self.assertEqual(pol["Version"], "2008-10-17")
                self.assertEqual(pol["Id"], arn + "/SQSDefaultPolicy")
                st = pol["Statement"]
                self.assertEqual(len(st), 1)
                self.assertEqual(sorted(st[0]["Principal"]["AWS"]), [
                    "arn:aws:iam::000000000000:root", "arn:aws:iam::668614515564:root"])
                self.assertEqual((st[0]["Sid"], st[0]["Effect"], st[0]["Action"],
                                  st[0]["Resource"]),
                                 ("crossaccountpermission", "Allow", "SQS:ReceiveMessage", arn))
                sqs.remove_permission(QueueUrl=url, Label="crossaccountpermission")
                got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
                self.assertEqual(got.get("Attributes", {}), {})
                sqs.add_permission(QueueUrl=url, AWSAccountIds=["000000000000"],
                                   Actions=["ReceiveMessage"], Label="crossaccountpermission")
                self.assertEqual(
                    self.error(sqs.add_permission, QueueUrl=url, AWSAccountIds=["668614515564"],
                               Actions=["ReceiveMessage"], Label="crossaccountpermission"),
                    (400, "InvalidParameterValue", "Value crossaccountpermission for parameter "
                     "Label is invalid. Reason: Already exists."))
                sqs.add_permission(QueueUrl=url, AWSAccountIds=["000000000000"],
                                   Actions=["ReceiveMessage"], Label="crossaccountpermission2")
                pol = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                    "Policy"])["Attributes"]["Policy"])
                self.assertEqual([s["Sid"] for s in pol["Statement"]],
                                 ["crossaccountpermission", "crossaccountpermission2"])
                self.assertEqual(pol["Statement"][0]["Principal"]["AWS"],
                                 "arn:aws:iam::000000000000:root")
                sqs.remove_permission(QueueUrl=url, Label="crossaccountpermission")
                sqs.remove_permission(QueueUrl=url, Label="crossaccountpermission2")
                self.assertEqual(
                    self.error(sqs.remove_permission, QueueUrl=url,
                               Label="crossaccountpermission2"),
                    (400, "InvalidParameterValue", "Value crossaccountpermission2 for parameter "
                     "Label is invalid. Reason: can't find label."))

    def test_tags(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol)
                self.assertEqual(sqs.list_queue_tags(QueueUrl=url).get("Tags", {}), {})
                tags = {"tag1": "value1", "tag2": "value2", "tag3": "", "MyTag": "a",
                        "mytag": "b"}
                sqs.tag_queue(QueueUrl=url, Tags=tags)
                self.assertEqual(sqs.list_queue_tags(QueueUrl=url)["Tags"], tags)
                sqs.tag_queue(QueueUrl=url, Tags={"tag1": "VALUE1"})
                sqs.untag_queue(QueueUrl=url, TagKeys=["tag3", "MyTag", "mytag", "nope"])
                self.assertEqual(sqs.list_queue_tags(QueueUrl=url)["Tags"],
                                 {"tag1": "VALUE1", "tag2": "value2"})
                sqs.untag_queue(QueueUrl=url, TagKeys=["tag1", "tag2"])
                self.assertEqual(sqs.list_queue_tags(QueueUrl=url).get("Tags", {}), {})
        url = self.queue(self.clients["json"], "json", "-raw")
        self.assertEqual(self.raw_json("ListQueueTags", {"QueueUrl": url}), (200, {}))

    def test_message_contents_and_attribute_rules(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol)
                sqs.send_message(QueueUrl=url, MessageBody="test", MessageAttributes={
                    "attr.1øßä": {"StringValue": "Valida", "DataType": "String"}})
                m = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
                self.assertEqual(list(m["MessageAttributes"]), ["attr.1øßä"])
                status, code, _ = self.error(sqs.send_message, QueueUrl=url, MessageBody=(
                    "Invalid-\x00-\x08-\x13-\uffff"))
                self.assertEqual((status, code), (400, "InvalidMessageContents"))
                bad = [{"attr1": {"StringValue": "Invalid-\x08,\x0b", "DataType": "String"}}]
                for n in ("aWs.-Invalid-attr", "AMAZON.-Invalid-attr", ".-Invalid-attr",
                          "Invalid-!-attr", 'Invalid-"-attr', "Invalid-§-attr", "Invalid-(-attr",
                          "Invalid-?-attr", "L" * 257, "Invalid.", "Invalid..Name"):
                    bad.append({n: {"StringValue": "Valid", "DataType": "String"}})
                for t in ("Invalid", "Number." + "L" * 256):
                    bad.append({"Attribute_name": {"StringValue": "Valid", "DataType": t}})
                for attrs in bad:
                    with self.subTest(protocol=protocol, attrs=list(attrs)[0][:20]):
                        status, code, _ = self.error(sqs.send_message, QueueUrl=url,
                                                     MessageBody="test", MessageAttributes=attrs)
                        self.assertEqual((status, code), (400, "InvalidParameterValue"))

    def test_successive_purge(self):
        for protocol, sqs in self.clients.items():
            with self.subTest(protocol=protocol):
                url = self.queue(sqs, protocol)
                sqs.purge_queue(QueueUrl=url)
                self.assertEqual(self.error(sqs.purge_queue, QueueUrl=url),
                                 (403, "AWS.SimpleQueueService.PurgeQueueInProgress",
                                  "Only one PurgeQueue operation on %s is allowed every 60 "
                                  "seconds." % url.rsplit("/", 1)[1]))

    def test_json_request_to_queue_url(self):
        url = self.queue(self.clients["json"], "json")
        req = urllib.request.Request(
            url, data=json.dumps({"QueueUrl": url, "VisibilityTimeout": 0}).encode(),
            method="POST", headers={"Content-Type": "application/x-amz-json-1.0",
                                    "X-Amz-Target": "AmazonSQS.ReceiveMessage",
                                    "Authorization": AUTH})
        with urllib.request.urlopen(req, timeout=30) as r:
            self.assertEqual((r.status, json.loads(r.read())), (200, {}))

    # ---- the query protocol on queue URLs ----

    def test_query_api_on_queue_urls(self):
        sqs = self.clients["query"]
        url = self.queue(sqs, "query")
        other = self.queue(sqs, "query", "-2")
        status, body = self.query(url, {"Action": "GetQueueAttributes", "AttributeName.1": "All"})
        self.assertEqual(status, 200)
        self.assertIn("<Attribute><Name>VisibilityTimeout</Name><Value>30</Value></Attribute>",
                      body)
        status, body = self.query(url, {"Action": "GetQueueAttributes",
                                        "AttributeName.1": "QueueArn", "QueueUrl": other})
        self.assertIn(other.rsplit("/", 1)[1] + "</Value>", body)
        status, body = self.query(url, {"Action": "FooBar", "Version": "2012-11-05"})
        self.assertEqual(status, 400)
        self.assertIn("<Code>InvalidAction</Code>", body)
        self.assertIn("<Type>Sender</Type>", body)
        self.assertIn("<Message>The action FooBar is not valid for this endpoint.</Message>", body)
        status, body = self.query(url, {"Action": "SendMessage"})
        self.assertEqual(status, 400)
        self.assertIn("<Message>The request must contain the parameter MessageBody.</Message>",
                      body)
        for action in ("CreateQueue", "ListQueues"):
            status, body = self.query(url, {"Action": action, "QueueName": "x"})
            self.assertEqual(status, 400, action)
            self.assertIn("<Code>InvalidAction</Code>", body)
            self.assertIn("<Message>The action %s is not valid for this endpoint" % action, body)
        status, body = self.query(url, {"Action": "GetQueueUrl",
                                        "QueueName": other.rsplit("/", 1)[1]})
        self.assertEqual(status, 200)
        self.assertIn("<QueueUrl>%s</QueueUrl>" % other, body)
        status, body = self.query(self.emu.endpoint + "/", {"Action": "ListQueues",
                                                            "Version": "2012-11-05"})
        self.assertEqual(status, 200)
        self.assertIn("<ListQueuesResponse", body)
        sqs.delete_queue(QueueUrl=other)
        status, body = self.query(other, {"Action": "GetQueueAttributes",
                                          "AttributeName.1": "QueueArn"})
        self.assertEqual(status, 400)
        self.assertIn("<Code>AWS.SimpleQueueService.NonExistentQueue</Code>", body)


    def test_get_of_a_queue_url_without_action(self):
        # LocalStack's AWS-validated test_get_queue_without_action_returns_
        # unknown_operation: a plain GET of a queue's URL is 404 with the bare
        # body <UnknownOperationException/> (as AWS's framework sends it:
        # a newline after, no Content-Type), signed or not.
        url = self.queue(self.clients["query"], "plain-get")
        for headers in ({}, {"Authorization": AUTH}):
            req = urllib.request.Request(url, headers=headers)
            with self.assertRaises(urllib.error.HTTPError) as cm:
                urllib.request.urlopen(req, timeout=30)
            self.assertEqual(cm.exception.code, 404, headers)
            self.assertEqual(cm.exception.read(), b"<UnknownOperationException/>\n")
            self.assertIsNone(cm.exception.headers.get("Content-Type"))
        # Other GETs are untouched: an Action on the queue URL, and the
        # endpoint itself without one (no queue named).
        status, body = self.query(url, {"Action": "GetQueueAttributes",
                                        "AttributeName.1": "QueueArn"})
        self.assertEqual(status, 200, body)
        status, body = self.query(url, {"Action": "GetQueueAttributes",
                                        "AttributeName.1": "QueueArn"}, method="POST")
        self.assertEqual(status, 200, body)
        status, body = self.query(url, {}, method="POST")
        self.assertEqual(status, 400)
        self.assertIn("<Code>MissingAction</Code>", body)


if __name__ == "__main__":
    unittest.main(verbosity=2)
