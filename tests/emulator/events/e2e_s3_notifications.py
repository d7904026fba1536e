#!/usr/bin/python3
"""S3 event notifications end to end with Debian's boto3 against a real
`airgap emulator`: PutBucketNotificationConfiguration with queue and topic
configurations (event types, prefix/suffix rules), uploads, copies,
multipart completions and deletes arriving as S3 event records in SQS
(directly and through SNS), and EventBridge notifications matched by a rule."""

import json
import os
import sys
import time
import unittest
import warnings

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator  # noqa: E402


def client(endpoint, service):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(retries={"total_max_attempts": 1},
                                      s3={"addressing_style": "path"}))


class S3NotificationsCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.emu = Emulator()
        cls.s3 = client(cls.emu.endpoint, "s3")
        cls.sqs = client(cls.emu.endpoint, "sqs")
        cls.sns = client(cls.emu.endpoint, "sns")
        cls.events = client(cls.emu.endpoint, "events")

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def queue(self, name):
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        return url, arn

    def receive(self, url, count, timeout=10):
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            for m in self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                              WaitTimeSeconds=1).get("Messages", []):
                got.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return got

    def test_queue_and_topic_notifications(self):
        self.s3.create_bucket(Bucket="notified")
        url, qarn = self.queue("s3-events")
        turl, tqarn = self.queue("s3-via-sns")
        topic = self.sns.create_topic(Name="s3-topic")["TopicArn"]
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=tqarn,
                           Attributes={"RawMessageDelivery": "true"})
        self.s3.put_bucket_notification_configuration(
            Bucket="notified", NotificationConfiguration={
                "QueueConfigurations": [{
                    "Id": "images", "QueueArn": qarn,
                    "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "img/"},
                                                       {"Name": "suffix", "Value": ".png"}]}}}],
                "TopicConfigurations": [{
                    "Id": "copies", "TopicArn": topic, "Events": ["s3:ObjectCreated:Copy"]}]})
        # The accepted configuration's test event reaches the queue, and the
        # topic's subscriber through SNS.
        for where in (url, turl):
            [test] = self.receive(where, 1)
            self.assertEqual((test["Event"], test["Bucket"]), ("s3:TestEvent", "notified"))
        self.s3.put_object(Bucket="notified", Key="img/a b.png", Body=b"12345")
        self.s3.put_object(Bucket="notified", Key="img/skip.jpg", Body=b"x")
        self.s3.put_object(Bucket="notified", Key="doc/skip.png", Body=b"x")
        self.s3.copy_object(Bucket="notified", Key="img/copy.png",
                            CopySource={"Bucket": "notified", "Key": "img/a b.png"})
        mp = self.s3.create_multipart_upload(Bucket="notified", Key="img/big.png")
        part = self.s3.upload_part(Bucket="notified", Key="img/big.png", PartNumber=1,
                                   UploadId=mp["UploadId"], Body=b"p" * 10)
        self.s3.complete_multipart_upload(
            Bucket="notified", Key="img/big.png", UploadId=mp["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        self.s3.delete_object(Bucket="notified", Key="img/a b.png")
        records = [r["Records"][0] for r in self.receive(url, 4)]
        self.assertEqual([r["eventName"] for r in records],
                         ["ObjectCreated:Put", "ObjectCreated:Copy",
                          "ObjectCreated:CompleteMultipartUpload", "ObjectRemoved:Delete"])
        first = records[0]
        self.assertEqual(first["eventSource"], "aws:s3")
        self.assertEqual(first["eventVersion"], "2.1")
        self.assertEqual(first["awsRegion"], "us-east-1")
        self.assertEqual(first["s3"]["configurationId"], "images")
        self.assertEqual(first["s3"]["bucket"]["name"], "notified")
        self.assertEqual(first["s3"]["bucket"]["arn"], "arn:aws:s3:::notified")
        self.assertEqual(first["s3"]["object"]["key"], "img/a+b.png")
        self.assertEqual(first["s3"]["object"]["size"], 5)
        self.assertEqual(first["s3"]["object"]["eTag"], "827ccb0eea8a706c4c34a16891f84e7b")
        self.assertEqual(self.receive(url, 1, timeout=1), [])
        [via_sns] = self.receive(turl, 1)
        self.assertEqual(via_sns["Records"][0]["eventName"], "ObjectCreated:Copy")
        self.assertEqual(via_sns["Records"][0]["s3"]["configurationId"], "copies")

    def test_eventbridge_notifications(self):
        self.s3.create_bucket(Bucket="bridged")
        url, qarn = self.queue("s3-bridge")
        self.s3.put_bucket_notification_configuration(
            Bucket="bridged", NotificationConfiguration={"EventBridgeConfiguration": {}})
        self.events.put_rule(Name="s3-created", EventPattern=json.dumps({
            "source": ["aws.s3"], "detail-type": ["Object Created"],
            "detail": {"bucket": {"name": ["bridged"]}}}))
        self.events.put_targets(Rule="s3-created", Targets=[{"Id": "q", "Arn": qarn}])
        self.s3.put_object(Bucket="bridged", Key="k.txt", Body=b"abc")
        self.s3.delete_object(Bucket="bridged", Key="k.txt")
        [event] = self.receive(url, 1)
        self.assertEqual(event["source"], "aws.s3")
        self.assertEqual(event["detail-type"], "Object Created")
        self.assertEqual(event["resources"], ["arn:aws:s3:::bridged"])
        self.assertEqual(event["detail"]["object"]["key"], "k.txt")
        self.assertEqual(event["detail"]["object"]["size"], 3)
        self.assertEqual(event["detail"]["reason"], "PutObject")
        self.assertEqual(self.receive(url, 1, timeout=1), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
