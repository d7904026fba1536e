#!/usr/bin/python3
"""End-to-end SQS tests with Debian's boto3 (query protocol) against a real
`airgap emulator` ($AIRGAP_BIN) on a free loopback port, one emulator per
test case. Digests are checked against AWS's algorithms computed here."""

import base64
import os
import sys
import threading
import time
import unittest
import warnings

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# emulator_support.py sits one folder up, shared with the S3 tests.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator, md5_hex, md5_of_attributes  # noqa: E402


def client(endpoint, region="us-east-1", key="test"):
    return boto3.client(
        "sqs", endpoint_url=endpoint, region_name=region,
        aws_access_key_id=key, aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=60,
                      connect_timeout=5))


class SqsCase(unittest.TestCase):
    def setUp(self):
        # boto3 keeps pooled connections open until exit; not what is tested.
        warnings.simplefilter("ignore", ResourceWarning)
        self.emu = Emulator()
        self.sqs = client(self.emu.endpoint)

    def tearDown(self):
        self.emu.stop()

    def error_code(self, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        return cm.exception.response["Error"]["Code"]

    def test_life_cycle(self):
        url = self.sqs.create_queue(QueueName="life")["QueueUrl"]
        self.assertEqual(url, self.emu.endpoint + "/000000000000/life")
        self.assertEqual(self.sqs.get_queue_url(QueueName="life")["QueueUrl"], url)
        self.sqs.create_queue(QueueName="life2")
        self.sqs.create_queue(QueueName="other")
        listed = self.sqs.list_queues(QueueNamePrefix="life")["QueueUrls"]
        self.assertEqual(sorted(listed), [url, url + "2"])
        page = self.sqs.list_queues(MaxResults=2)
        self.assertEqual(len(page["QueueUrls"]), 2)
        rest = self.sqs.list_queues(MaxResults=2, NextToken=page["NextToken"])
        self.assertEqual(len(rest["QueueUrls"]), 1)
        self.assertNotIn("NextToken", rest)
        # Same attributes: same queue; different ones: QueueAlreadyExists.
        self.assertEqual(self.sqs.create_queue(
            QueueName="life", Attributes={"VisibilityTimeout": "30"})["QueueUrl"], url)
        self.assertEqual(self.error_code(
            self.sqs.create_queue, QueueName="life",
            Attributes={"VisibilityTimeout": "5"}), "QueueAlreadyExists")
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        self.assertEqual(attrs["QueueArn"], "arn:aws:sqs:us-east-1:000000000000:life")
        self.assertEqual(attrs["VisibilityTimeout"], "30")
        self.assertEqual(attrs["ApproximateNumberOfMessages"], "0")
        self.sqs.delete_queue(QueueUrl=url)
        self.assertEqual(self.error_code(self.sqs.get_queue_url, QueueName="life"),
                         "AWS.SimpleQueueService.NonExistentQueue")
        with self.assertRaises(self.sqs.exceptions.QueueDoesNotExist):
            self.sqs.send_message(QueueUrl=url, MessageBody="x")

    def test_send_receive_with_attributes_and_md5(self):
        url = self.sqs.create_queue(QueueName="md5")["QueueUrl"]
        attributes = {
            "name": {"DataType": "String", "StringValue": "h\u00e9llo \U0001F600"},
            "count": {"DataType": "Number", "StringValue": "42"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xfe\xff"},
            "custom": {"DataType": "String.json", "StringValue": "{\"a\":1}"},
        }
        body = "body \u2603 with unicode"
        trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
        sent = self.sqs.send_message(
            QueueUrl=url, MessageBody=body, MessageAttributes=attributes,
            MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String",
                                                         "StringValue": trace}})
        self.assertEqual(sent["MD5OfMessageBody"], md5_hex(body.encode()))
        self.assertEqual(sent["MD5OfMessageAttributes"], md5_of_attributes(attributes))
        self.assertEqual(sent["MD5OfMessageSystemAttributes"], md5_of_attributes(
            {"AWSTraceHeader": {"DataType": "String", "StringValue": trace}}))
        got = self.sqs.receive_message(QueueUrl=url, AttributeNames=["All"],
                                       MessageAttributeNames=["All"])["Messages"]
        self.assertEqual(len(got), 1)
        m = got[0]
        self.assertEqual(m["MessageId"], sent["MessageId"])
        self.assertEqual(m["Body"], body)
        self.assertEqual(m["MD5OfBody"], md5_hex(body.encode()))
        self.assertEqual(m["MessageAttributes"]["blob"]["BinaryValue"], b"\x00\x01\xfe\xff")
        self.assertEqual(m["MessageAttributes"]["name"]["StringValue"], attributes["name"]["StringValue"])
        self.assertEqual(m["MD5OfMessageAttributes"], md5_of_attributes(m["MessageAttributes"]))
        self.assertEqual(m["MD5OfMessageAttributes"], sent["MD5OfMessageAttributes"])
        a = m["Attributes"]
        self.assertEqual(a["ApproximateReceiveCount"], "1")
        self.assertEqual(a["SenderId"], "000000000000")
        self.assertEqual(a["AWSTraceHeader"], trace)
        self.assertLess(abs(int(a["SentTimestamp"]) - time.time() * 1000), 60000)
        self.assertGreaterEqual(int(a["ApproximateFirstReceiveTimestamp"]), int(a["SentTimestamp"]))
        # Only the selected attributes come back, with a matching digest.
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"],
                                           VisibilityTimeout=0)
        m2 = self.sqs.receive_message(QueueUrl=url, MessageAttributeNames=["count", "na*"],
                                      AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
        self.assertEqual(set(m2["MessageAttributes"]), {"count"})
        self.assertEqual(m2["MD5OfMessageAttributes"], md5_of_attributes(m2["MessageAttributes"]))
        self.assertEqual(m2["Attributes"], {"ApproximateReceiveCount": "2"})
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m2["ReceiptHandle"])
        self.assertNotIn("Messages", self.sqs.receive_message(QueueUrl=url))

    def test_visibility_and_stale_handles(self):
        url = self.sqs.create_queue(QueueName="vis", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
        self.sqs.send_message(QueueUrl=url, MessageBody="m")
        first = self.sqs.receive_message(QueueUrl=url)["Messages"][0]
        self.assertNotIn("Messages", self.sqs.receive_message(QueueUrl=url))
        time.sleep(1.2)
        second = self.sqs.receive_message(QueueUrl=url, VisibilityTimeout=30,
                                          AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
        self.assertEqual(second["Attributes"]["ApproximateReceiveCount"], "2")
        self.assertNotEqual(first["ReceiptHandle"], second["ReceiptHandle"])
        # An older handle still controls the message in a standard queue, as in AWS.
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"],
                                           VisibilityTimeout=30)
        self.assertEqual(self.error_code(
            self.sqs.delete_message, QueueUrl=url, ReceiptHandle="not-a-handle"),
            "ReceiptHandleIsInvalid")
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"],
                                           VisibilityTimeout=0)
        # Not in flight any more: AWS answers OK and changes nothing.
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"],
                                           VisibilityTimeout=10)
        self.assertEqual(len(self.sqs.receive_message(QueueUrl=url)["Messages"]), 1)

    def test_delays(self):
        url = self.sqs.create_queue(QueueName="delay", Attributes={"DelaySeconds": "2"})["QueueUrl"]
        self.sqs.send_message(QueueUrl=url, MessageBody="queue-delay")
        self.sqs.send_message(QueueUrl=url, MessageBody="no-delay", DelaySeconds=0)
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed",
                                          "ApproximateNumberOfMessages"])["Attributes"]
        self.assertEqual(attrs, {"ApproximateNumberOfMessagesDelayed": "1",
                                 "ApproximateNumberOfMessages": "1"})
        got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        self.assertEqual([m["Body"] for m in got], ["no-delay"])
        start = time.monotonic()
        got = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"]
        self.assertEqual(got[0]["Body"], "queue-delay")
        # Answered when the delay ended, well before the 10 s wait.
        self.assertLess(time.monotonic() - start, 9)

    def test_fifo(self):
        self.assertEqual(self.error_code(self.sqs.create_queue, QueueName="nofifo.fifo"),
                         "InvalidParameterValue")
        url = self.sqs.create_queue(QueueName="jobs.fifo", Attributes={
            "FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
        for body, group in [("a1", "A"), ("b1", "B"), ("a2", "A"), ("a3", "A")]:
            r = self.sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
            self.assertIn("SequenceNumber", r)
        dup = self.sqs.send_message(QueueUrl=url, MessageBody="a1", MessageGroupId="A")
        self.assertEqual(self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"],
            {"ApproximateNumberOfMessages": "4"})
        self.assertTrue(dup["MessageId"])
        self.assertEqual(self.error_code(self.sqs.send_message, QueueUrl=url, MessageBody="x"),
                         "MissingParameter")
        first = self.sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
        self.assertEqual([m["Body"] for m in first], ["a1"])
        self.assertEqual(first[0]["Attributes"]["MessageGroupId"], "A")
        # Group A is locked while a1 is in flight.
        rest = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        self.assertEqual([m["Body"] for m in rest], ["b1"])
        self.assertNotIn("Messages", self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10))
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
        after = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        self.assertEqual([m["Body"] for m in after], ["a2", "a3"])
        # Explicit deduplication ids.
        url2 = self.sqs.create_queue(QueueName="dedup.fifo",
                                     Attributes={"FifoQueue": "true"})["QueueUrl"]
        self.assertEqual(self.error_code(self.sqs.send_message, QueueUrl=url2, MessageBody="x",
                                         MessageGroupId="g"), "InvalidParameterValue")
        r1 = self.sqs.send_message(QueueUrl=url2, MessageBody="x", MessageGroupId="g",
                                   MessageDeduplicationId="same")
        r2 = self.sqs.send_message(QueueUrl=url2, MessageBody="y", MessageGroupId="g",
                                   MessageDeduplicationId="same")
        self.assertEqual(r1["MessageId"], r2["MessageId"])
        self.assertEqual(len(self.sqs.receive_message(QueueUrl=url2, MaxNumberOfMessages=10)["Messages"]), 1)

    def test_batches_with_failures(self):
        url = self.sqs.create_queue(QueueName="batch")["QueueUrl"]
        r = self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "ok1", "MessageBody": "one",
             "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
            {"Id": "bad", "MessageBody": "two", "DelaySeconds": 1000},
            {"Id": "ok2", "MessageBody": "three"},
        ])
        self.assertEqual(sorted(e["Id"] for e in r["Successful"]), ["ok1", "ok2"])
        self.assertEqual(len(r["Failed"]), 1)
        self.assertEqual(r["Failed"][0]["Id"], "bad")
        self.assertEqual(r["Failed"][0]["Code"], "InvalidParameterValue")
        self.assertTrue(r["Failed"][0]["SenderFault"])
        ok1 = [e for e in r["Successful"] if e["Id"] == "ok1"][0]
        self.assertEqual(ok1["MD5OfMessageBody"], md5_hex(b"one"))
        self.assertEqual(ok1["MD5OfMessageAttributes"], md5_of_attributes(
            {"k": {"DataType": "String", "StringValue": "v"}}))
        self.assertEqual(self.error_code(self.sqs.send_message_batch, QueueUrl=url, Entries=[
            {"Id": "x", "MessageBody": "1"}, {"Id": "x", "MessageBody": "2"}]),
            "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")
        self.assertEqual(self.error_code(self.sqs.send_message_batch, QueueUrl=url, Entries=[
            {"Id": "e%d" % i, "MessageBody": "m"} for i in range(11)]),
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest")
        self.assertEqual(self.error_code(self.sqs.send_message_batch, QueueUrl=url, Entries=[
            {"Id": "e%d" % i, "MessageBody": "x" * 220000} for i in range(5)]),
            "AWS.SimpleQueueService.BatchRequestTooLong")
        msgs = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        self.assertEqual(len(msgs), 2)
        r = self.sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": "a", "ReceiptHandle": msgs[0]["ReceiptHandle"], "VisibilityTimeout": 60},
            {"Id": "b", "ReceiptHandle": "bogus", "VisibilityTimeout": 60}])
        self.assertEqual([e["Id"] for e in r["Successful"]], ["a"])
        self.assertEqual(r["Failed"][0]["Code"], "ReceiptHandleIsInvalid")
        r = self.sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": "a", "ReceiptHandle": msgs[0]["ReceiptHandle"]},
            {"Id": "b", "ReceiptHandle": msgs[1]["ReceiptHandle"]},
            {"Id": "c", "ReceiptHandle": "bogus"}])
        self.assertEqual(sorted(e["Id"] for e in r["Successful"]), ["a", "b"])
        self.assertEqual([e["Id"] for e in r["Failed"]], ["c"])
        self.assertEqual(self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                          "ApproximateNumberOfMessagesNotVisible"])["Attributes"],
            {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"})

    def test_long_poll_wakes_on_send(self):
        url = self.sqs.create_queue(QueueName="poll")["QueueUrl"]
        sender = client(self.emu.endpoint)

        def send_later():
            time.sleep(1)
            sender.send_message(QueueUrl=url, MessageBody="wake")

        t = threading.Thread(target=send_later)
        start = time.monotonic()
        t.start()
        got = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=15)
        elapsed = time.monotonic() - start
        t.join()
        self.assertEqual(got["Messages"][0]["Body"], "wake")
        self.assertGreater(elapsed, 0.8)
        self.assertLess(elapsed, 8)

    def test_long_poll_times_out(self):
        url = self.sqs.create_queue(QueueName="idle", Attributes={
            "ReceiveMessageWaitTimeSeconds": "2"})["QueueUrl"]
        start = time.monotonic()
        got = self.sqs.receive_message(QueueUrl=url)
        elapsed = time.monotonic() - start
        self.assertNotIn("Messages", got)
        self.assertGreater(elapsed, 1.8)
        self.assertLess(elapsed, 6)

    def test_many_concurrent_long_polls(self):
        url = self.sqs.create_queue(QueueName="fanout")["QueueUrl"]
        results = []
        lock = threading.Lock()

        def poll():
            c = client(self.emu.endpoint)
            r = c.receive_message(QueueUrl=url, WaitTimeSeconds=10)
            with lock:
                results.extend(m["Body"] for m in r.get("Messages", []))

        threads = [threading.Thread(target=poll) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        for i in range(8):
            self.sqs.send_message(QueueUrl=url, MessageBody="m%d" % i)
        for t in threads:
            t.join(timeout=20)
        self.assertEqual(sorted(results), sorted("m%d" % i for i in range(8)))

    def test_shutdown_answers_pending_long_poll(self):
        url = self.sqs.create_queue(QueueName="pending")["QueueUrl"]
        outcome = {}

        def poll():
            try:
                outcome["result"] = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)
            except Exception as e:  # the connection may close as the server stops
                outcome["error"] = e

        t = threading.Thread(target=poll)
        t.start()
        time.sleep(0.5)
        start = time.monotonic()
        self.emu.stop()
        t.join(timeout=10)
        self.assertFalse(t.is_alive())
        self.assertLess(time.monotonic() - start, 5)
        if "result" in outcome:
            self.assertNotIn("Messages", outcome["result"])
        self.emu = _Stopped()

    def test_dead_letter_queue(self):
        dlq = self.sqs.create_queue(QueueName="dead")["QueueUrl"]
        dlq_arn = self.sqs.get_queue_attributes(
            QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        policy = '{"deadLetterTargetArn":"%s","maxReceiveCount":2}' % dlq_arn
        src = self.sqs.create_queue(QueueName="src", Attributes={
            "RedrivePolicy": policy, "VisibilityTimeout": "0"})["QueueUrl"]
        self.assertEqual(self.sqs.get_queue_attributes(
            QueueUrl=src, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"], policy)
        self.assertEqual(self.sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"], [src])
        self.sqs.send_message(QueueUrl=src, MessageBody="poison")
        for _ in range(2):
            self.assertEqual(len(self.sqs.receive_message(QueueUrl=src)["Messages"]), 1)
        self.assertNotIn("Messages", self.sqs.receive_message(QueueUrl=src))
        moved = self.sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"])["Messages"]
        self.assertEqual(moved[0]["Body"], "poison")
        self.assertEqual(self.error_code(self.sqs.set_queue_attributes, QueueUrl=src, Attributes={
            "RedrivePolicy": '{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:none",'
                             '"maxReceiveCount":2}'}), "InvalidParameterValue")
        self.assertEqual(self.error_code(self.sqs.set_queue_attributes, QueueUrl=src, Attributes={
            "RedrivePolicy": '{"maxReceiveCount":2}'}), "InvalidParameterValue")

    def test_purge(self):
        url = self.sqs.create_queue(QueueName="purge")["QueueUrl"]
        for i in range(5):
            self.sqs.send_message(QueueUrl=url, MessageBody=str(i))
        self.sqs.purge_queue(QueueUrl=url)
        self.assertNotIn("Messages", self.sqs.receive_message(QueueUrl=url))
        self.assertEqual(self.error_code(self.sqs.purge_queue, QueueUrl=url),
                         "AWS.SimpleQueueService.PurgeQueueInProgress")

    def test_tags_on_create_and_untag(self):
        url = self.sqs.create_queue(QueueName="tagged", tags={"team": "ci", "env": "test"})["QueueUrl"]
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"], {"team": "ci", "env": "test"})
        self.sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"], {"env": "test"})

    def test_tag_queue(self):
        url = self.sqs.create_queue(QueueName="tagged")["QueueUrl"]
        self.assertNotIn("Tags", self.sqs.list_queue_tags(QueueUrl=url))
        self.sqs.tag_queue(QueueUrl=url, Tags={"env": "test", "team": "ci"})
        self.sqs.tag_queue(QueueUrl=url, Tags={"team": "build"})
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"], {"team": "build", "env": "test"})
        self.assertEqual(self.error_code(self.sqs.tag_queue, QueueUrl=url, Tags={"aws:x": "1"}),
                         "InvalidParameterValue")

    def test_permissions(self):
        url = self.sqs.create_queue(QueueName="shared")["QueueUrl"]
        self.sqs.add_permission(QueueUrl=url, Label="share", AWSAccountIds=["111122223333"],
                                Actions=["SendMessage", "ReceiveMessage"])
        self.assertEqual(self.error_code(
            self.sqs.add_permission, QueueUrl=url, Label="share", AWSAccountIds=["111122223333"],
            Actions=["SendMessage"]), "InvalidParameterValue")
        policy = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
        self.assertIn('"Sid":"share"', policy)
        self.assertIn("arn:aws:iam::111122223333:root", policy)
        self.sqs.remove_permission(QueueUrl=url, Label="share")
        self.assertNotIn("Attributes", self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]))

    def test_bad_input(self):
        url = self.sqs.create_queue(QueueName="bad")["QueueUrl"]
        self.assertEqual(self.error_code(self.sqs.create_queue, QueueName="has space"),
                         "InvalidParameterValue")
        self.assertEqual(self.error_code(self.sqs.create_queue, QueueName="x" * 81),
                         "InvalidParameterValue")
        self.assertEqual(self.error_code(self.sqs.set_queue_attributes, QueueUrl=url,
                                         Attributes={"VisibilityTimeout": "99999"}),
                         "InvalidAttributeValue")
        self.assertEqual(self.error_code(self.sqs.get_queue_attributes, QueueUrl=url,
                                         AttributeNames=["QueueArn", "Bogus"]), "InvalidAttributeName")
        self.assertEqual(self.error_code(self.sqs.receive_message, QueueUrl=url,
                                         MaxNumberOfMessages=11), "InvalidParameterValue")
        self.assertEqual(self.error_code(self.sqs.send_message, QueueUrl=url, MessageBody="a\x01b"),
                         "InvalidMessageContents")
        self.assertEqual(self.error_code(self.sqs.send_message, QueueUrl=url,
                                         MessageBody="x" * (1024 * 1024 + 1)), "InvalidParameterValue")
        self.sqs.send_message(QueueUrl=url, MessageBody="x" * (1024 * 1024))
        self.assertEqual(self.error_code(
            self.sqs.send_message, QueueUrl=url, MessageBody="x",
            MessageAttributes={"a%d" % i: {"DataType": "String", "StringValue": "v"} for i in range(11)}),
            "InvalidParameterValue")
        self.assertEqual(self.error_code(
            self.sqs.send_message, QueueUrl=url, MessageBody="x",
            MessageAttributes={"n": {"DataType": "Number", "StringValue": "12abc"}}),
            "InvalidParameterValue")

    def test_accounts_and_regions_are_isolated(self):
        self.sqs.create_queue(QueueName="mine")
        west = client(self.emu.endpoint, region="eu-west-1")
        self.assertNotIn("QueueUrls", west.list_queues())
        other = client(self.emu.endpoint, key="111111111111")
        self.assertNotIn("QueueUrls", other.list_queues())
        url = other.create_queue(QueueName="mine")["QueueUrl"]
        self.assertEqual(url, self.emu.endpoint + "/111111111111/mine")
        other.send_message(QueueUrl=url, MessageBody="for 111111111111")
        self.assertNotIn("Messages", self.sqs.receive_message(
            QueueUrl=self.emu.endpoint + "/000000000000/mine"))

    def test_concurrent_producers_and_consumers(self):
        url = self.sqs.create_queue(QueueName="busy")["QueueUrl"]
        per_producer = 40
        received = []
        lock = threading.Lock()
        errors = []

        def produce(n):
            try:
                c = client(self.emu.endpoint)
                for i in range(per_producer):
                    c.send_message(QueueUrl=url, MessageBody="p%d-%d" % (n, i))
            except Exception as e:
                errors.append(e)

        def consume():
            try:
                c = client(self.emu.endpoint)
                while True:
                    r = c.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
                    msgs = r.get("Messages", [])
                    if not msgs:
                        return
                    with lock:
                        received.extend(m["Body"] for m in msgs)
                    c.delete_message_batch(QueueUrl=url, Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])
            except Exception as e:
                errors.append(e)

        threads = [threading.Thread(target=produce, args=(n,)) for n in range(4)]
        threads += [threading.Thread(target=consume) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        self.assertEqual(errors, [])
        self.assertEqual(sorted(received),
                         sorted("p%d-%d" % (n, i) for n in range(4) for i in range(per_producer)))


class _Stopped:
    def stop(self):
        pass


if __name__ == "__main__":
    unittest.main(verbosity=2)
