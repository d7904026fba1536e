#!/usr/bin/python3
"""End-to-end SNS tests with Debian's boto3 against a real `airgap emulator`
($AIRGAP_BIN): topics and attributes, subscriptions, Publish and
PublishBatch to SQS (the envelope, its signature checked against the served
certificate, raw delivery with attributes), filter policies on attributes
and on the body with every operator, FIFO topic to FIFO queue ordering and
deduplication, an HTTP subscriber run here on loopback (confirmation,
delivery, retries), the redrive policy to a dead-letter queue, SMS and
platform endpoints recorded at /_aws/sns/, and the validation errors."""

import base64
import http.server
import json
import os
import sys
import threading
import time
import unittest
import urllib.request
import warnings

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator  # noqa: E402


def client(endpoint, service, region="us-east-1"):
    return boto3.client(
        service, endpoint_url=endpoint, region_name=region,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}))


class Subscriber:
    """An HTTP endpoint on loopback: records every POST; fails the first
    `fail_first` notifications with a 500."""

    def __init__(self, fail_first=0):
        self.received = []
        self.fail_left = fail_first
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n).decode()
                with outer.lock:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    kind = headers.get("x-amz-sns-message-type")
                    status = 200
                    if kind == "Notification" and outer.fail_left > 0:
                        outer.fail_left -= 1
                        status = 500
                    outer.received.append((headers, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, pred, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                hits = [r for r in self.received if pred(r)]
            if hits:
                return hits
            time.sleep(0.05)
        raise AssertionError("nothing matching arrived at the subscriber: %r" % self.received)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class SnsCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.emu = Emulator()
        cls.sns = client(cls.emu.endpoint, "sns")
        cls.sqs = client(cls.emu.endpoint, "sqs")

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def queue(self, name, fifo=False):
        attrs = {"FifoQueue": "true"} if fifo else {}
        url = self.sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        return url, arn

    def receive(self, url, count=1, timeout=10):
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            r = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                         MessageAttributeNames=["All"])
            for m in r.get("Messages", []):
                got.append(m)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return got

    def assertCode(self, ctx, code, status=400):
        err = ctx.exception.response
        self.assertEqual(err["Error"]["Code"], code, err)
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], status)
        return err["Error"]["Message"]

    # ---- topics ----

    def test_topic_lifecycle_and_attributes(self):
        arn = self.sns.create_topic(Name="life", Attributes={"DisplayName": "Life"},
                                    Tags=[{"Key": "team", "Value": "a"}])["TopicArn"]
        self.assertEqual(arn, "arn:aws:sns:us-east-1:000000000000:life")
        # Idempotent with the same attributes, refused with different ones.
        self.assertEqual(self.sns.create_topic(Name="life", Attributes={"DisplayName": "Life"})[
            "TopicArn"], arn)
        with self.assertRaises(ClientError) as c:
            self.sns.create_topic(Name="life", Attributes={"DisplayName": "Other"})
        self.assertCode(c, "InvalidParameter")
        with self.assertRaises(ClientError) as c:
            self.sns.create_topic(Name="life", Tags=[{"Key": "team", "Value": "b"}])
        self.assertEqual(self.assertCode(c, "InvalidParameter"),
                         "Invalid parameter: Tags Reason: Topic already exists with different tags")
        a = self.sns.get_topic_attributes(TopicArn=arn)["Attributes"]
        self.assertEqual(a["DisplayName"], "Life")
        self.assertEqual(a["TopicArn"], arn)
        self.assertEqual(a["Owner"], "000000000000")
        self.assertEqual(json.loads(a["Policy"])["Statement"][0]["Resource"], arn)
        self.assertIn("EffectiveDeliveryPolicy", a)
        self.sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName",
                                      AttributeValue="New")
        self.assertEqual(self.sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"],
                         "New")
        with self.assertRaises(ClientError) as c:
            self.sns.set_topic_attributes(TopicArn=arn, AttributeName="Bogus", AttributeValue="x")
        self.assertEqual(self.assertCode(c, "InvalidParameter"),
                         "Invalid parameter: AttributeName")
        self.assertIn(arn, [t["TopicArn"] for t in self.sns.list_topics()["Topics"]])
        self.sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "ci"}])
        tags = {t["Key"]: t["Value"] for t in self.sns.list_tags_for_resource(ResourceArn=arn)[
            "Tags"]}
        self.assertEqual(tags, {"team": "a", "env": "ci"})
        self.sns.untag_resource(ResourceArn=arn, TagKeys=["team"])
        self.assertEqual(len(self.sns.list_tags_for_resource(ResourceArn=arn)["Tags"]), 1)
        policy = json.dumps({"Name": "p", "Version": "2021-06-01", "Statement": []})
        self.sns.put_data_protection_policy(ResourceArn=arn, DataProtectionPolicy=policy)
        self.assertEqual(self.sns.get_data_protection_policy(ResourceArn=arn)[
            "DataProtectionPolicy"], policy)
        self.sns.add_permission(TopicArn=arn, Label="pub", AWSAccountId=["111122223333"],
                                ActionName=["Publish"])
        stmts = json.loads(self.sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])[
            "Statement"]
        self.assertIn("pub", [s["Sid"] for s in stmts])
        self.sns.remove_permission(TopicArn=arn, Label="pub")
        self.sns.delete_topic(TopicArn=arn)
        with self.assertRaises(ClientError) as c:
            self.sns.get_topic_attributes(TopicArn=arn)
        self.assertEqual(self.assertCode(c, "NotFound", 404), "Topic does not exist")

    def test_topic_name_errors(self):
        for name in ["", "bad name", "x" * 257]:
            with self.assertRaises(ClientError) as c:
                self.sns.create_topic(Name=name)
            self.assertEqual(self.assertCode(c, "InvalidParameter"),
                             "Invalid parameter: Topic Name")
        with self.assertRaises(ClientError) as c:
            self.sns.create_topic(Name="nofifo", Attributes={"FifoTopic": "true"})
        self.assertCode(c, "InvalidParameter")

    # ---- SQS delivery ----

    def test_publish_to_sqs_envelope_signed(self):
        topic = self.sns.create_topic(Name="env")["TopicArn"]
        url, qarn = self.queue("env-q")
        sub = self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)["SubscriptionArn"]
        self.assertTrue(sub.startswith(topic + ":"))
        mid = self.sns.publish(TopicArn=topic, Message="hello", Subject="greeting",
                               MessageAttributes={
                                   "color": {"DataType": "String", "StringValue": "red"},
                                   "n": {"DataType": "Number", "StringValue": "5"},
                                   "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})[
            "MessageId"]
        [m] = self.receive(url)
        env = json.loads(m["Body"])
        self.assertEqual(list(env)[:2], ["Type", "MessageId"])
        self.assertEqual(env["Type"], "Notification")
        self.assertEqual(env["MessageId"], mid)
        self.assertEqual(env["TopicArn"], topic)
        self.assertEqual(env["Subject"], "greeting")
        self.assertEqual(env["Message"], "hello")
        self.assertEqual(env["SignatureVersion"], "1")
        self.assertRegex(env["Timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertIn("Action=Unsubscribe&SubscriptionArn=" + sub, env["UnsubscribeURL"])
        self.assertEqual(env["MessageAttributes"]["color"], {"Type": "String", "Value": "red"})
        self.assertEqual(env["MessageAttributes"]["n"], {"Type": "Number", "Value": "5"})
        self.assertEqual(env["MessageAttributes"]["b"]["Value"],
                         base64.b64encode(b"\x00\x01").decode())
        # The signature verifies against the certificate SigningCertURL serves.
        pem = urllib.request.urlopen(env["SigningCertURL"]).read()
        self.assertIn(b"BEGIN CERTIFICATE", pem)
        self.verify_signature(env, pem)

    def verify_signature(self, env, pem):
        try:
            from cryptography import x509
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import padding
        except ImportError:  # python3-cryptography comes with boto3's deps on Debian
            return
        fields = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        text = "".join("%s\n%s\n" % (f, env[f]) for f in fields if f in env)
        cert = x509.load_pem_x509_certificate(pem)
        cert.public_key().verify(base64.b64decode(env["Signature"]), text.encode(),
                                 padding.PKCS1v15(), hashes.SHA1())

    def test_raw_delivery_with_attributes(self):
        topic = self.sns.create_topic(Name="raw")["TopicArn"]
        url, qarn = self.queue("raw-q")
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn,
                           Attributes={"RawMessageDelivery": "true"})
        self.sns.publish(TopicArn=topic, Message="plain body",
                         MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
        [m] = self.receive(url)
        self.assertEqual(m["Body"], "plain body")
        self.assertEqual(m["MessageAttributes"]["k"]["StringValue"], "v")

    def test_message_structure_json(self):
        topic = self.sns.create_topic(Name="structured")["TopicArn"]
        url, qarn = self.queue("structured-q")
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn,
                           Attributes={"RawMessageDelivery": "true"})
        self.sns.publish(TopicArn=topic, MessageStructure="json",
                         Message=json.dumps({"default": "d", "sqs": "for sqs"}))
        self.assertEqual(self.receive(url)[0]["Body"], "for sqs")
        with self.assertRaises(ClientError) as c:
            self.sns.publish(TopicArn=topic, MessageStructure="json", Message='{"sqs": "x"}')
        self.assertEqual(self.assertCode(c, "InvalidParameter"),
                         "Invalid parameter: Message Structure - No default entry in JSON "
                         "message body")
        with self.assertRaises(ClientError) as c:
            self.sns.publish(TopicArn=topic, MessageStructure="json", Message="not json")
        self.assertCode(c, "InvalidParameter")

    def test_publish_errors(self):
        topic = self.sns.create_topic(Name="errs")["TopicArn"]
        with self.assertRaises(ClientError) as c:
            self.sns.publish(TopicArn=topic + "-missing", Message="x")
        self.assertEqual(self.assertCode(c, "NotFound", 404), "Topic does not exist")
        with self.assertRaises(ClientError) as c:
            self.sns.publish(TopicArn=topic, Message="")
        self.assertEqual(self.assertCode(c, "InvalidParameter"), "Invalid parameter: Empty message")
        with self.assertRaises(ClientError) as c:
            self.sns.publish(TopicArn=topic, Message="x" * (256 * 1024 + 1))
        self.assertEqual(self.assertCode(c, "InvalidParameter"),
                         "Invalid parameter: Message too long")
        with self.assertRaises(ClientError) as c:
            self.sns.publish(TopicArn=topic, Message="x", MessageAttributes={
                "n": {"DataType": "Number", "StringValue": "abc"}})
        self.assertCode(c, "ParameterValueInvalid")
        with self.assertRaises(ClientError) as c:
            self.sns.publish(TopicArn=topic, Message="x", MessageGroupId="g")
        self.assertCode(c, "InvalidParameter")

    def test_publish_batch(self):
        topic = self.sns.create_topic(Name="batch")["TopicArn"]
        url, qarn = self.queue("batch-q")
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn,
                           Attributes={"RawMessageDelivery": "true"})
        r = self.sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
            {"Id": "a", "Message": "one"}, {"Id": "b", "Message": "two"},
            {"Id": "c", "Message": ""}])
        self.assertEqual(sorted(s["Id"] for s in r["Successful"]), ["a", "b"])
        self.assertEqual(r["Failed"][0]["Id"], "c")
        self.assertEqual(r["Failed"][0]["Code"], "InvalidParameter")
        self.assertTrue(r["Failed"][0]["SenderFault"])
        self.assertEqual(sorted(m["Body"] for m in self.receive(url, 2)), ["one", "two"])
        with self.assertRaises(ClientError) as c:
            self.sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
                {"Id": "a", "Message": "1"}, {"Id": "a", "Message": "2"}])
        self.assertCode(c, "BatchEntryIdsNotDistinct")
        with self.assertRaises(ClientError) as c:
            self.sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
                {"Id": str(i), "Message": "m"} for i in range(11)])
        self.assertCode(c, "TooManyEntriesInBatchRequest")

    # ---- filter policies ----

    def filtered(self, name, policy, scope=None):
        topic = self.sns.create_topic(Name=name)["TopicArn"]
        url, qarn = self.queue(name + "-q")
        attrs = {"RawMessageDelivery": "true", "FilterPolicy": json.dumps(policy)}
        if scope:
            attrs["FilterPolicyScope"] = scope
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes=attrs)
        return topic, url

    def test_filter_policy_attributes_every_operator(self):
        topic, url = self.filtered("fattr", {
            "color": ["red", {"prefix": "bl"}, {"suffix": "een"}],
            "size": [{"numeric": [">", 10, "<=", 20]}],
            "region": [{"anything-but": ["us-west-1", "eu-west-1"]}],
            "$or": [{"tier": [{"exists": True}]}, {"vip": ["yes"]}],
        })

        def attrs(**kw):
            out = {}
            for k, v in kw.items():
                if isinstance(v, (int, float)):
                    out[k] = {"DataType": "Number", "StringValue": str(v)}
                elif isinstance(v, list):
                    out[k] = {"DataType": "String.Array", "StringValue": json.dumps(v)}
                else:
                    out[k] = {"DataType": "String", "StringValue": v}
            return out

        cases = [
            ("m1", attrs(color="red", size=15, region="us-east-1", tier="gold"), True),
            ("m2", attrs(color="blue", size=20, region="ap-south-1", vip="yes"), True),
            ("m3", attrs(color="green", size=11, region="us-east-2", tier="x"), True),
            ("m4", attrs(color="purple", size=15, region="us-east-1", tier="x"), False),
            ("m5", attrs(color="red", size=25, region="us-east-1", tier="x"), False),
            ("m6", attrs(color="red", size=15, region="us-west-1", tier="x"), False),
            ("m7", attrs(color="red", size=15, region="us-east-1"), False),
            ("m8", attrs(color=["pink", "red"], size=12, region="x", vip="yes"), True),
        ]
        for body, a, _ in cases:
            self.sns.publish(TopicArn=topic, Message=body, MessageAttributes=a)
        want = sorted(b for b, _, ok in cases if ok)
        got = sorted(m["Body"] for m in self.receive(url, len(want)))
        self.assertEqual(got, want)
        self.assertEqual(self.receive(url, 1, timeout=1), [])

    def test_filter_policy_body_scope(self):
        topic, url = self.filtered("fbody", {
            "order": {"status": [{"equals-ignore-case": "SHIPPED"}],
                      "total": [{"numeric": [">=", 100]}]},
            "source": [{"anything-but": {"prefix": "test-"}}],
            "ip": [{"cidr": "10.0.0.0/24"}],
        }, scope="MessageBody")
        good = {"order": {"status": "shipped", "total": 150}, "source": "shop", "ip": "10.0.0.7"}
        bad1 = dict(good, source="test-shop")
        bad2 = dict(good, ip="10.0.1.7")
        bad3 = {"order": {"status": "pending", "total": 150}, "source": "shop", "ip": "10.0.0.7"}
        for doc in [good, bad1, bad2, bad3]:
            self.sns.publish(TopicArn=topic, Message=json.dumps(doc))
        self.sns.publish(TopicArn=topic, Message="not json at all")
        [m] = self.receive(url)
        self.assertEqual(json.loads(m["Body"]), good)
        self.assertEqual(self.receive(url, 1, timeout=1), [])

    def test_filter_policy_errors(self):
        topic = self.sns.create_topic(Name="ferr")["TopicArn"]
        _, qarn = self.queue("ferr-q")
        sub = self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)["SubscriptionArn"]
        for policy in ['{"a": "notalist"}', '{"a": [{"numeric": [">", "x"]}]}',
                       '{"a": [{"bogus": 1}]}', "not json", '{"a": {"b": ["c"]}}',
                       json.dumps({k: ["v"] for k in "abcdef"})]:
            with self.assertRaises(ClientError) as c:
                self.sns.set_subscription_attributes(SubscriptionArn=sub,
                                                     AttributeName="FilterPolicy",
                                                     AttributeValue=policy)
            self.assertTrue(self.assertCode(c, "InvalidParameter").startswith(
                "Invalid parameter: FilterPolicy"), policy)
        # Nested policies are fine in the body scope.
        self.sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicyScope",
                                             AttributeValue="MessageBody")
        self.sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy",
                                             AttributeValue='{"a": {"b": ["c"]}}')
        a = self.sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
        self.assertEqual(a["FilterPolicyScope"], "MessageBody")
        self.assertEqual(json.loads(a["FilterPolicy"]), {"a": {"b": ["c"]}})
        self.assertEqual(a["PendingConfirmation"], "false")
        self.assertEqual(a["Protocol"], "sqs")

    # ---- FIFO ----

    def test_fifo_topic_to_fifo_queue_order_and_dedup(self):
        topic = self.sns.create_topic(Name="orders.fifo", Attributes={
            "FifoTopic": "true", "ContentBasedDeduplication": "true"})["TopicArn"]
        url, qarn = self.queue("orders-q.fifo", fifo=True)
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn,
                           Attributes={"RawMessageDelivery": "true"})
        seqs = []
        for i in range(20):
            r = self.sns.publish(TopicArn=topic, Message="m%02d" % i, MessageGroupId="g")
            seqs.append(int(r["SequenceNumber"]))
        self.assertEqual(seqs, sorted(seqs))
        dup = self.sns.publish(TopicArn=topic, Message="m00", MessageGroupId="g")
        self.assertEqual(int(dup["SequenceNumber"]), seqs[0])
        got = [m["Body"] for m in self.receive(url, 20)]
        self.assertEqual(got, ["m%02d" % i for i in range(20)])
        self.assertEqual(self.receive(url, 1, timeout=1), [])
        with self.assertRaises(ClientError) as c:
            self.sns.publish(TopicArn=topic, Message="x")
        self.assertIn("MessageGroupId", self.assertCode(c, "InvalidParameter"))

    # ---- HTTP ----

    def test_http_subscriber_confirm_deliver_retry(self):
        hook = Subscriber(fail_first=2)
        try:
            topic = self.sns.create_topic(Name="web")["TopicArn"]
            r = self.sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=hook.url, Attributes={
                "DeliveryPolicy": json.dumps({"healthyRetryPolicy": {
                    "numRetries": 3, "minDelayTarget": 1, "maxDelayTarget": 1}})})
            self.assertEqual(r["SubscriptionArn"], "pending confirmation")
            [(headers, body, _)] = hook.wait(
                lambda r: r[0].get("x-amz-sns-message-type") == "SubscriptionConfirmation")
            conf = json.loads(body)
            self.assertEqual(conf["Type"], "SubscriptionConfirmation")
            self.assertEqual(conf["TopicArn"], topic)
            self.assertEqual(headers["x-amz-sns-topic-arn"], topic)
            # Nothing is delivered before confirmation.
            self.sns.publish(TopicArn=topic, Message="early")
            # Confirming through the SubscribeURL, as a real endpoint would.
            urllib.request.urlopen(conf["SubscribeURL"]).read()
            subs = self.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
            self.assertTrue(subs[0]["SubscriptionArn"].startswith(topic + ":"))
            self.sns.publish(TopicArn=topic, Message="late")
            hits = hook.wait(lambda r: r[2] == 200 and
                             r[0].get("x-amz-sns-message-type") == "Notification")
            self.assertEqual(json.loads(hits[0][1])["Message"], "late")
            notes = [r for r in hook.received
                     if r[0].get("x-amz-sns-message-type") == "Notification"]
            self.assertEqual([r[2] for r in notes], [500, 500, 200])
            self.assertNotIn("early", [json.loads(r[1])["Message"] for r in notes])
            self.assertEqual(notes[0][0]["x-amz-sns-subscription-arn"], subs[0]["SubscriptionArn"])
            # Unsubscribing tells the endpoint.
            self.sns.unsubscribe(SubscriptionArn=subs[0]["SubscriptionArn"])
            [(headers, body, _)] = hook.wait(
                lambda r: r[0].get("x-amz-sns-message-type") == "UnsubscribeConfirmation")
            self.assertEqual(json.loads(body)["TopicArn"], topic)
            with self.assertRaises(ClientError) as c:
                self.sns.get_subscription_attributes(SubscriptionArn=subs[0]["SubscriptionArn"])
            self.assertEqual(self.assertCode(c, "NotFound", 404), "Subscription does not exist")
        finally:
            hook.close()

    def test_confirm_subscription_errors(self):
        topic = self.sns.create_topic(Name="confirm-errs")["TopicArn"]
        with self.assertRaises(ClientError) as c:
            self.sns.confirm_subscription(TopicArn=topic, Token="nope")
        self.assertEqual(self.assertCode(c, "InvalidParameter"), "Invalid parameter: Token")
        with self.assertRaises(ClientError) as c:
            self.sns.subscribe(TopicArn=topic, Protocol="carrier-pigeon", Endpoint="x")
        self.assertCode(c, "InvalidParameter")
        with self.assertRaises(ClientError) as c:
            self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint="not-an-arn")
        self.assertCode(c, "InvalidParameter")

    # ---- dead letters ----

    def test_redrive_policy_to_dlq(self):
        topic = self.sns.create_topic(Name="redrive")["TopicArn"]
        dlq_url, dlq_arn = self.queue("redrive-dlq")
        missing = "arn:aws:sqs:us-east-1:000000000000:does-not-exist"
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=missing, Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})})
        self.sns.publish(TopicArn=topic, Message="lost")
        [m] = self.receive(dlq_url, timeout=20)
        self.assertEqual(json.loads(m["Body"])["Message"], "lost")

    def test_failed_sqs_delivery_is_retried(self):
        # The first attempt fails (no such queue yet); SNS retries, so a queue
        # created before the retry gets the message, once, and in order with
        # the next message published after it.
        topic = self.sns.create_topic(Name="retry-later")["TopicArn"]
        arn = "arn:aws:sqs:us-east-1:000000000000:created-later"
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                           Attributes={"RawMessageDelivery": "true"})
        self.sns.publish(TopicArn=topic, Message="early")
        url, _ = self.queue("created-later")
        got = self.receive(url, timeout=15)
        self.assertEqual([m["Body"] for m in got], ["early"])
        self.sns.publish(TopicArn=topic, Message="next")
        got = self.receive(url, timeout=10)
        self.assertEqual([m["Body"] for m in got], ["next"])
        self.assertEqual(self.receive(url, timeout=2), [])

    # ---- SMS and platform endpoints ----

    def test_sms_and_platform_recorded(self):
        self.sns.publish(PhoneNumber="+15551230000", Message="code 1234")
        with self.assertRaises(ClientError) as c:
            self.sns.publish(PhoneNumber="555-abc", Message="x")
        self.assertCode(c, "InvalidParameter")
        data = json.load(urllib.request.urlopen(self.emu.endpoint + "/_aws/sns/sms-messages"))
        msgs = data["sms_messages"]["+15551230000"]
        self.assertEqual(msgs[-1]["Message"], "code 1234")
        app = self.sns.create_platform_application(
            Name="app", Platform="GCM", Attributes={"PlatformCredential": "key"})[
            "PlatformApplicationArn"]
        ep = self.sns.create_platform_endpoint(PlatformApplicationArn=app, Token="tok")[
            "EndpointArn"]
        self.assertEqual(self.sns.create_platform_endpoint(PlatformApplicationArn=app,
                                                           Token="tok")["EndpointArn"], ep)
        self.assertEqual(self.sns.get_endpoint_attributes(EndpointArn=ep)["Attributes"]["Token"],
                         "tok")
        self.sns.publish(TargetArn=ep, Message="push")
        data = json.load(urllib.request.urlopen(
            self.emu.endpoint + "/_aws/sns/platform-endpoint-messages"))
        self.assertEqual(data["platform_endpoint_messages"][ep][-1]["Message"], "push")
        self.sns.set_endpoint_attributes(EndpointArn=ep, Attributes={"Enabled": "false"})
        with self.assertRaises(ClientError) as c:
            self.sns.publish(TargetArn=ep, Message="push")
        self.assertCode(c, "EndpointDisabled")
        self.assertEqual(len(self.sns.list_endpoints_by_platform_application(
            PlatformApplicationArn=app)["Endpoints"]), 1)
        req = urllib.request.Request(self.emu.endpoint + "/_aws/sns/sms-messages",
                                     method="DELETE")
        urllib.request.urlopen(req).read()
        data = json.load(urllib.request.urlopen(self.emu.endpoint + "/_aws/sns/sms-messages"))
        self.assertEqual(data["sms_messages"], {})
        self.sns.delete_platform_application(PlatformApplicationArn=app)


if __name__ == "__main__":
    unittest.main(verbosity=2)
