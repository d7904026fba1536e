#!/usr/bin/python3
"""Lambda as the target of other services, with Debian's boto3 through
`airgap emulator` and functions in real containers: an SNS `lambda`
subscription (the SNS event), an EventBridge rule target (the event, and an
InputTransformer's output), an S3 notification (the S3 event record), each
an asynchronous invocation; and Secrets Manager rotation running the four
steps against a rotation function that calls Secrets Manager back on
localhost (versions and staging labels checked after), a failing rotation
that leaves AWSPENDING, and a function that does not exist.

The function writes each event it gets to a "record" queue that the test
reads. Skipped (77) without a Docker engine."""

import json
import os
import sys
import time
import unittest
import warnings

from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lambda_support import (MAPPING, ROLE, Emulator, build_images, client,  # noqa: E402
                            docker_available, lambda_containers, make_zip)

ENV = {"LAMBDA_RUNTIME_IMAGE_MAPPING": MAPPING, "LAMBDA_RETRY_BASE_DELAY_SECONDS": "1",
       "LAMBDA_KEEPALIVE_MS": "60000"}
ACCOUNT = "000000000000"

RECORDER = """
import json, os
import boto3

def handler(event, context):
    sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    url = sqs.get_queue_url(QueueName=os.environ["RECORD"])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    return "recorded"
"""

ROTATOR = """
import json, os
import boto3

def handler(event, context):
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    sm = boto3.client("secretsmanager", endpoint_url=endpoint)
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    url = sqs.get_queue_url(QueueName=os.environ["RECORD"])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    if step == os.environ.get("FAIL_AT"):
        raise RuntimeError("rotation step failed on purpose")
    if step == "createSecret":
        current = json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
                             ["SecretString"])
        current["password"] = sm.get_random_password(ExcludePunctuation=True)["RandomPassword"]
        sm.put_secret_value(SecretId=arn, ClientRequestToken=token,
                            SecretString=json.dumps(current), VersionStages=["AWSPENDING"])
    elif step == "testSecret":
        sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    elif step == "finishSecret":
        stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
        current = [v for v, s in stages.items() if "AWSCURRENT" in s][0]
        if current != token:
            sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT",
                                           MoveToVersionId=token, RemoveFromVersionId=current)
"""


@unittest.skipUnless(docker_available(), "no Docker engine")
class Targets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        if not build_images():
            raise unittest.SkipTest("the Lambda test images could not be built")
        cls.emu = Emulator(extra_env=ENV)
        cls.lam = client(cls.emu.endpoint)
        cls.sqs = client(cls.emu.endpoint, "sqs")

    @classmethod
    def tearDownClass(cls):
        pid = cls.emu.proc.pid
        cls.emu.stop()
        left = lambda_containers(pid)
        if left:
            raise AssertionError("containers left behind: %s" % left)

    def function(self, name, code=RECORDER, **env):
        record = self.sqs.create_queue(QueueName="rec-" + name)["QueueUrl"]
        fn = self.lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE,
                                      Handler="app.handler", Timeout=30,
                                      Environment={"Variables": dict(RECORD="rec-" + name,
                                                                     **env)},
                                      Code={"ZipFile": make_zip({"app.py": code})})
        return fn["FunctionArn"], record

    def events(self, record, count, timeout=60):
        out = []
        end = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < end:
            r = self.sqs.receive_message(QueueUrl=record, MaxNumberOfMessages=10,
                                         WaitTimeSeconds=1)
            for m in r.get("Messages", []):
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=record, ReceiptHandle=m["ReceiptHandle"])
        self.assertEqual(len(out), count, out)
        return out

    def test_sns_subscription(self):
        arn, record = self.function("fromsns")
        sns = client(self.emu.endpoint, "sns")
        topic = sns.create_topic(Name="t")["TopicArn"]
        sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)["SubscriptionArn"]
        sns.publish(TopicArn=topic, Message="hi", Subject="subj", MessageAttributes={
            "a": {"DataType": "String", "StringValue": "b"}})
        (event,) = self.events(record, 1)
        (rec,) = event["Records"]
        self.assertEqual((rec["EventSource"], rec["EventVersion"], rec["EventSubscriptionArn"]),
                         ("aws:sns", "1.0", sub))
        self.assertEqual(rec["Sns"]["Message"], "hi")
        self.assertEqual(rec["Sns"]["Subject"], "subj")
        self.assertEqual(rec["Sns"]["TopicArn"], topic)
        self.assertEqual(rec["Sns"]["Type"], "Notification")
        self.assertEqual(rec["Sns"]["MessageAttributes"]["a"], {"Type": "String", "Value": "b"})

    def test_eventbridge_rule(self):
        arn, record = self.function("fromevents")
        ev = client(self.emu.endpoint, "events")
        ev.put_rule(Name="r", EventPattern=json.dumps({"source": ["app"]}))
        ev.put_targets(Rule="r", Targets=[
            {"Id": "whole", "Arn": arn},
            {"Id": "shaped", "Arn": arn, "InputTransformer": {
                "InputPathsMap": {"k": "$.detail.k"}, "InputTemplate": '{"got": <k>}'}}])
        ev.put_events(Entries=[{"Source": "app", "DetailType": "t",
                                "Detail": json.dumps({"k": 7})}])
        ev.put_events(Entries=[{"Source": "other", "DetailType": "t", "Detail": "{}"}])
        events = self.events(record, 2)
        whole = [e for e in events if "detail" in e][0]
        self.assertEqual((whole["source"], whole["detail-type"], whole["detail"]),
                         ("app", "t", {"k": 7}))
        self.assertEqual(whole["account"], ACCOUNT)
        self.assertIn({"got": 7}, events)

    def test_s3_notification(self):
        arn, record = self.function("froms3")
        s3 = client(self.emu.endpoint, "s3")
        s3.create_bucket(Bucket="notify")
        s3.put_bucket_notification_configuration(Bucket="notify", NotificationConfiguration={
            "LambdaFunctionConfigurations": [{
                "Id": "n", "LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".txt"}]}}}]})
        s3.put_object(Bucket="notify", Key="skip.bin", Body=b"x")
        s3.put_object(Bucket="notify", Key="dir/a.txt", Body=b"hello")
        (event,) = self.events(record, 1)
        (rec,) = event["Records"]
        self.assertEqual((rec["eventSource"], rec["eventName"]), ("aws:s3", "ObjectCreated:Put"))
        self.assertEqual(rec["s3"]["bucket"]["name"], "notify")
        self.assertEqual(rec["s3"]["object"]["key"], "dir/a.txt")
        self.assertEqual(rec["s3"]["object"]["size"], 5)
        self.assertEqual(rec["s3"]["configurationId"], "n")

    def test_secrets_manager_rotation(self):
        arn, record = self.function("rotator", ROTATOR)
        sm = client(self.emu.endpoint, "secretsmanager")
        secret = sm.create_secret(Name="db", SecretString=json.dumps(
            {"user": "app", "password": "old"}))
        first = secret["VersionId"]
        r = sm.rotate_secret(SecretId="db", RotationLambdaARN=arn,
                             RotationRules={"AutomaticallyAfterDays": 30})
        token = r["VersionId"]
        self.assertNotEqual(token, first)
        steps = self.events(record, 4)
        self.assertEqual([s["Step"] for s in steps],
                         ["createSecret", "setSecret", "testSecret", "finishSecret"])
        for s in steps:
            self.assertEqual(s, {"Step": s["Step"], "SecretId": secret["ARN"],
                                 "ClientRequestToken": token})

        def settled():
            d = sm.describe_secret(SecretId="db")
            return d if "LastRotatedDate" in d else None
        d = _wait(settled)
        self.assertTrue(d["RotationEnabled"])
        self.assertEqual(d["RotationLambdaARN"], arn)
        self.assertEqual(d["RotationRules"]["AutomaticallyAfterDays"], 30)
        self.assertEqual(d["VersionIdsToStages"], {token: ["AWSCURRENT"],
                                                   first: ["AWSPREVIOUS"]})
        value = json.loads(sm.get_secret_value(SecretId="db")["SecretString"])
        self.assertEqual(value["user"], "app")
        self.assertNotEqual(value["password"], "old")
        # The configuration stays: a second rotation without the ARN.
        token2 = sm.rotate_secret(SecretId="db", ClientRequestToken="t" * 32)["VersionId"]
        self.assertEqual(token2, "t" * 32)
        self.events(record, 4)
        _wait(lambda: sm.describe_secret(SecretId="db")["VersionIdsToStages"].get(token2) ==
              ["AWSCURRENT"])

    def test_rotation_failure_leaves_pending(self):
        arn, record = self.function("badrotator", ROTATOR, FAIL_AT="setSecret")
        sm = client(self.emu.endpoint, "secretsmanager")
        sm.create_secret(Name="db2", SecretString=json.dumps({"password": "old"}))
        token = sm.rotate_secret(SecretId="db2", RotationLambdaARN=arn)["VersionId"]
        steps = self.events(record, 2)
        self.assertEqual([s["Step"] for s in steps], ["createSecret", "setSecret"])
        stages = sm.describe_secret(SecretId="db2")["VersionIdsToStages"]
        self.assertEqual(stages[token], ["AWSPENDING"])
        with self.assertRaises(ClientError) as cm:
            sm.rotate_secret(SecretId="db2")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidRequestException")
        self.assertIn("previous rotation isn't complete", cm.exception.response["Error"]["Message"])
        # CancelRotateSecret takes AWSPENDING off; the old value is still current.
        sm.cancel_rotate_secret(SecretId="db2")
        self.assertNotIn(token, {v: s for v, s in sm.describe_secret(SecretId="db2")
                                 ["VersionIdsToStages"].items() if s})
        self.assertEqual(json.loads(sm.get_secret_value(SecretId="db2")["SecretString"]),
                         {"password": "old"})

    def test_rotation_without_function(self):
        sm = client(self.emu.endpoint, "secretsmanager")
        sm.create_secret(Name="db3", SecretString="x")
        with self.assertRaises(ClientError) as cm:
            sm.rotate_secret(SecretId="db3", RotationLambdaARN="arn:aws:lambda:us-east-1:%s:"
                             "function:missing" % ACCOUNT)
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")
        with self.assertRaises(ClientError) as cm:
            sm.rotate_secret(SecretId="db3")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")


def _wait(predicate, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = predicate()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


if __name__ == "__main__":
    unittest.main(verbosity=2)
