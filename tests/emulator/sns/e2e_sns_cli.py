#!/usr/bin/python3
"""SNS and EventBridge through Debian's aws CLI against a real `airgap
emulator`: a topic with an attribute-scope filter policy delivering to an
SQS queue, an EventBridge rule whose InputPath target is the same queue, and
the CLI's rendering of SNS's NotFound and EventBridge's pattern errors."""

import json
import os
import subprocess
import sys
import tempfile
import time

import boto3

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator  # noqa: E402


def main():
    emu = Emulator()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                       AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
                       AWS_SHARED_CREDENTIALS_FILE=os.devnull, HOME=tmp)

            def aws(service, *args, check=True):
                p = subprocess.run(["/usr/bin/aws", "--endpoint-url", emu.endpoint, service, *args],
                                   env=env, capture_output=True, text=True, timeout=60)
                if check and p.returncode != 0:
                    raise AssertionError("aws %s %s failed: %s" % (service, args[0], p.stderr))
                return json.loads(p.stdout) if check and p.stdout.strip() else p

            # SQS through boto3: the CLI is slow to start, and SQS has its own CLI test.
            sqs = boto3.client("sqs", endpoint_url=emu.endpoint, region_name="us-east-1",
                               aws_access_key_id="test", aws_secret_access_key="test")
            url = sqs.create_queue(QueueName="cli-q")["QueueUrl"]
            qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"]["QueueArn"]
            topic = aws("sns", "create-topic", "--name", "cli-topic")["TopicArn"]
            aws("sns", "subscribe", "--topic-arn", topic, "--protocol", "sqs",
                "--notification-endpoint", qarn, "--attributes", json.dumps({
                    "RawMessageDelivery": "true",
                    "FilterPolicy": json.dumps({"env": ["prod"]})}))
            for env_name in ["dev", "prod"]:
                aws("sns", "publish", "--topic-arn", topic, "--message", "to " + env_name,
                    "--message-attributes", json.dumps(
                        {"env": {"DataType": "String", "StringValue": env_name}}))
            aws("events", "put-rule", "--name", "cli-rule", "--event-pattern",
                json.dumps({"source": ["cli"]}))
            aws("events", "put-targets", "--rule", "cli-rule", "--targets", json.dumps(
                [{"Id": "q", "Arn": qarn, "InputPath": "$.detail.msg"}]))
            r = aws("events", "put-events", "--entries", json.dumps(
                [{"Source": "cli", "DetailType": "x", "Detail": json.dumps({"msg": "from events"})}]))
            assert r["FailedEntryCount"] == 0, r
            bodies = []
            deadline = time.monotonic() + 10
            while len(bodies) < 2 and time.monotonic() < deadline:
                for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                             WaitTimeSeconds=1).get("Messages", []):
                    bodies.append(m["Body"])
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            assert sorted(bodies) == ['"from events"', "to prod"], bodies
            missing = aws("sns", "publish", "--topic-arn", topic + "-none", "--message", "x",
                          check=False)
            assert missing.returncode != 0 and "NotFound" in missing.stderr, missing.stderr
            bad = aws("events", "put-rule", "--name", "bad", "--event-pattern", '{"a": "b"}',
                      check=False)
            assert bad.returncode != 0 and "InvalidEventPatternException" in bad.stderr, bad.stderr
    finally:
        emu.stop()
    print("ok")


if __name__ == "__main__":
    main()
