#!/usr/bin/python3
"""End-to-end EventBridge tests with Debian's boto3 against a real `airgap
emulator` ($AIRGAP_BIN): buses, rules with the pattern language
(TestEventPattern over every operator), PutEvents per-entry results, targets
SQS (Input, InputPath, InputTransformer), SNS and another bus, a rate(1
minute) schedule fired with the scheduler's clock sped up, archives and
replays, connections and API destinations, tags, and the errors."""

import json
import os
import sys
import time
import unittest
import urllib.request
import warnings

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator  # noqa: E402

EVENT = {
    "id": "7bf73129-1428-4cd3-a780-95db273d1602", "version": "0",
    "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
    "account": "123456789012", "time": "2015-11-11T21:29:54Z", "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-abcd1111", "state": "pending", "count": 5,
               "ip": "10.0.0.12", "tags": ["a", "b"], "nested": {"deep": {"flag": True}},
               "nothing": None},
}


def client(endpoint, service, region="us-east-1"):
    return boto3.client(
        service, endpoint_url=endpoint, region_name=region,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}))


class EventsCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.emu = Emulator()
        cls.events = client(cls.emu.endpoint, "events")
        cls.sqs = client(cls.emu.endpoint, "sqs")
        cls.sns = client(cls.emu.endpoint, "sns")

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def queue(self, name):
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        return url, arn

    def receive(self, url, count=1, timeout=10):
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            r = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for m in r.get("Messages", []):
                got.append(m["Body"])
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return got

    def matches(self, pattern, event=EVENT):
        return self.events.test_event_pattern(EventPattern=json.dumps(pattern),
                                              Event=json.dumps(event))["Result"]

    def test_pattern_language(self):
        cases = [
            ({"source": ["aws.ec2"]}, True),
            ({"source": ["aws.s3"]}, False),
            ({"detail": {"state": [{"prefix": "pend"}]}}, True),
            ({"detail": {"state": [{"suffix": "ing"}]}}, True),
            ({"detail": {"state": [{"anything-but": ["pending", "running"]}]}}, False),
            ({"detail": {"state": [{"anything-but": {"prefix": "run"}}]}}, True),
            ({"detail": {"count": [{"numeric": [">", 1, "<=", 5]}]}}, True),
            ({"detail": {"count": [{"numeric": ["<", 5]}]}}, False),
            ({"detail": {"missing": [{"exists": False}]}}, True),
            ({"detail": {"instance-id": [{"exists": True}]}}, True),
            ({"detail": {"state": [{"equals-ignore-case": "PENDING"}]}}, True),
            ({"detail": {"instance-id": [{"wildcard": "i-*11"}]}}, True),
            ({"detail": {"instance-id": [{"wildcard": "i-*22"}]}}, False),
            ({"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}, True),
            ({"detail": {"tags": ["b"]}}, True),
            ({"detail": {"nested": {"deep": {"flag": [True]}}}}, True),
            ({"detail": {"nothing": [None]}}, True),
            ({"$or": [{"source": ["nope"]}, {"detail": {"count": [5]}}]}, True),
            ({"$or": [{"source": ["nope"]}, {"detail": {"count": [6]}}]}, False),
            ({"source": ["aws.ec2"], "detail-type": [{"prefix": "S3"}]}, False),
        ]
        for pattern, want in cases:
            self.assertEqual(self.matches(pattern), want, pattern)

    def test_pattern_errors(self):
        for bad in ['{"source": "aws.ec2"}', '{"source": []}', "not json",
                    '{"a": [{"numeric": [">", "x"]}]}', '{"a": [{"unknown-op": 1}]}',
                    '{"a": [{"wildcard": "a**b"}]}']:
            with self.assertRaises(ClientError) as c:
                self.events.test_event_pattern(EventPattern=bad, Event=json.dumps(EVENT))
            self.assertEqual(c.exception.response["Error"]["Code"],
                             "InvalidEventPatternException", bad)
            self.assertTrue(c.exception.response["Error"]["Message"].startswith(
                "Event pattern is not valid. Reason: "))
        with self.assertRaises(ClientError) as c:
            self.events.test_event_pattern(EventPattern='{"source": ["x"]}', Event='{"a": 1}')
        self.assertEqual(c.exception.response["Error"]["Code"], "ValidationException")

    def test_rule_input_transformer_to_sqs(self):
        url, qarn = self.queue("transformed")
        plain_url, plain_arn = self.queue("plain")
        self.events.put_rule(Name="orders", EventPattern=json.dumps(
            {"source": ["shop"], "detail": {"total": [{"numeric": [">=", 100]}]}}))
        r = self.events.put_targets(Rule="orders", Targets=[
            {"Id": "t1", "Arn": qarn, "InputTransformer": {
                "InputPathsMap": {"id": "$.detail.order", "total": "$.detail.total"},
                "InputTemplate": '{"order": <id>, "text": "order <id> is <total>", '
                                 '"rule": "<aws.events.rule-name>"}'}},
            {"Id": "t2", "Arn": plain_arn, "InputPath": "$.detail"}])
        self.assertEqual(r["FailedEntryCount"], 0)
        r = self.events.put_events(Entries=[
            {"Source": "shop", "DetailType": "order", "Detail": json.dumps(
                {"order": "A-1", "total": 150})},
            {"Source": "shop", "DetailType": "order", "Detail": json.dumps(
                {"order": "A-2", "total": 50})},
            {"Source": "shop", "DetailType": "order", "Detail": "{not json"},
            {"Source": "shop", "Detail": "{}"}])
        self.assertEqual(r["FailedEntryCount"], 2)
        self.assertIn("EventId", r["Entries"][0])
        self.assertEqual(r["Entries"][2]["ErrorCode"], "MalformedDetail")
        self.assertEqual(r["Entries"][3]["ErrorCode"], "InvalidArgument")
        [body] = self.receive(url)
        self.assertEqual(json.loads(body), {"order": "A-1", "text": "order A-1 is 150",
                                            "rule": "orders"})
        [body] = self.receive(plain_url)
        self.assertEqual(json.loads(body), {"order": "A-1", "total": 150})
        self.assertEqual(self.receive(url, 1, timeout=1), [])
        targets = self.events.list_targets_by_rule(Rule="orders")["Targets"]
        self.assertEqual([t["Id"] for t in targets], ["t1", "t2"])
        self.assertEqual(self.events.list_rule_names_by_target(TargetArn=qarn)["RuleNames"],
                         ["orders"])
        with self.assertRaises(ClientError) as c:
            self.events.delete_rule(Name="orders")
        self.assertEqual(c.exception.response["Error"]["Code"], "ValidationException")
        self.events.remove_targets(Rule="orders", Ids=["t1", "t2"])
        self.events.delete_rule(Name="orders")
        with self.assertRaises(ClientError) as c:
            self.events.describe_rule(Name="orders")
        self.assertEqual(c.exception.response["Error"]["Code"], "ResourceNotFoundException")
        self.assertEqual(c.exception.response["Error"]["Message"],
                         "Rule orders does not exist on EventBus default.")

    def test_whole_event_and_custom_bus_and_sns(self):
        bus_arn = self.events.create_event_bus(Name="custom")["EventBusArn"]
        self.assertEqual(bus_arn, "arn:aws:events:us-east-1:000000000000:event-bus/custom")
        with self.assertRaises(ClientError) as c:
            self.events.create_event_bus(Name="custom")
        self.assertEqual(c.exception.response["Error"]["Code"], "ResourceAlreadyExistsException")
        url, qarn = self.queue("from-custom")
        topic = self.sns.create_topic(Name="from-events")["TopicArn"]
        turl, tqarn = self.queue("via-topic")
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=tqarn,
                           Attributes={"RawMessageDelivery": "true"})
        self.events.put_rule(Name="all", EventBusName="custom",
                             EventPattern='{"source": ["app"]}')
        self.events.put_targets(Rule="all", EventBusName="custom",
                                Targets=[{"Id": "q", "Arn": qarn}, {"Id": "t", "Arn": topic}])
        # The default bus forwards to the custom one.
        self.events.put_rule(Name="forward", EventPattern='{"source": ["app"]}')
        self.events.put_targets(Rule="forward", Targets=[{"Id": "bus", "Arn": bus_arn}])
        r = self.events.put_events(Entries=[{"Source": "app", "DetailType": "t",
                                             "Detail": '{"k": 1}',
                                             "Resources": ["arn:aws:s3:::b"]}])
        event_id = r["Entries"][0]["EventId"]
        [body] = self.receive(url)
        event = json.loads(body)
        self.assertEqual(event["id"], event_id)
        self.assertEqual(event["source"], "app")
        self.assertEqual(event["detail-type"], "t")
        self.assertEqual(event["detail"], {"k": 1})
        self.assertEqual(event["resources"], ["arn:aws:s3:::b"])
        self.assertEqual(event["account"], "000000000000")
        self.assertRegex(event["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        [body] = self.receive(turl)
        self.assertEqual(json.loads(body)["id"], event_id)
        names = [b["Name"] for b in self.events.list_event_buses()["EventBuses"]]
        self.assertEqual(sorted(names), ["custom", "default"])
        with self.assertRaises(ClientError) as c:
            self.events.put_rule(Name="sched", EventBusName="custom",
                                 ScheduleExpression="rate(1 minute)")
        self.assertEqual(c.exception.response["Error"]["Code"], "ValidationException")

    def test_rate_schedule_fires(self):
        url, qarn = self.queue("scheduled")
        for bad in ["rate(1 minutes)", "rate(0 minutes)", "rate(5 weeks)", "cron(0 12 * * * *)",
                    "cron(0 12 * * ?)", "every minute"]:
            with self.assertRaises(ClientError) as c:
                self.events.put_rule(Name="bad", ScheduleExpression=bad)
            self.assertEqual(c.exception.response["Error"]["Code"], "ValidationException", bad)
        self.events.put_rule(Name="cron-ok", ScheduleExpression="cron(0/15 8-17 ? * MON-FRI *)")
        names = [r["Name"] for r in self.events.list_rules()["Rules"]]
        self.assertEqual(names, sorted(names))
        self.events.put_rule(Name="minutely", ScheduleExpression="rate(1 minute)")
        self.events.put_targets(Rule="minutely", Targets=[{"Id": "q", "Arn": qarn}])
        # The test hook: the scheduler's clock runs 120 times faster.
        req = urllib.request.Request(self.emu.endpoint + "/_aws/events/clock",
                                     data=b'{"speed": 120}', method="POST")
        urllib.request.urlopen(req).read()
        try:
            bodies = self.receive(url, 2, timeout=15)
        finally:
            req = urllib.request.Request(self.emu.endpoint + "/_aws/events/clock",
                                         data=b'{"speed": 1}', method="POST")
            urllib.request.urlopen(req).read()
        self.assertGreaterEqual(len(bodies), 2)
        event = json.loads(bodies[0])
        self.assertEqual(event["source"], "aws.events")
        self.assertEqual(event["detail-type"], "Scheduled Event")
        self.assertEqual(event["resources"],
                         ["arn:aws:events:us-east-1:000000000000:rule/minutely"])
        self.assertEqual(event["detail"], {})
        rule = self.events.describe_rule(Name="minutely")
        self.assertEqual(rule["ScheduleExpression"], "rate(1 minute)")
        self.assertEqual(rule["State"], "ENABLED")
        self.assertEqual(rule["CreatedBy"], "000000000000")
        self.events.disable_rule(Name="minutely")
        self.assertEqual(self.events.describe_rule(Name="minutely")["State"], "DISABLED")

    def test_archive_and_replay(self):
        bus = "arn:aws:events:us-east-1:000000000000:event-bus/default"
        archive = self.events.create_archive(ArchiveName="arch", EventSourceArn=bus,
                                             EventPattern='{"source": ["replayed"]}')["ArchiveArn"]
        url, qarn = self.queue("replays")
        start = time.time() - 5
        self.events.put_events(Entries=[{"Source": "replayed", "DetailType": "x",
                                         "Detail": '{"n": 1}'}])
        self.events.put_events(Entries=[{"Source": "other", "DetailType": "x",
                                         "Detail": '{"n": 2}'}])
        desc = self.events.describe_archive(ArchiveName="arch")
        self.assertEqual(desc["EventCount"], 1)
        self.assertEqual(desc["State"], "ENABLED")
        self.events.put_rule(Name="on-replay", EventPattern='{"source": ["replayed"]}')
        self.events.put_targets(Rule="on-replay", Targets=[{"Id": "q", "Arn": qarn}])
        r = self.events.start_replay(ReplayName="rp", EventSourceArn=archive,
                                     EventStartTime=start, EventEndTime=time.time() + 5,
                                     Destination={"Arn": bus})
        self.assertEqual(r["State"], "STARTING")
        [body] = self.receive(url)
        event = json.loads(body)
        self.assertEqual(event["detail"], {"n": 1})
        self.assertEqual(event["replay-name"], "rp")
        self.assertEqual(self.events.describe_replay(ReplayName="rp")["State"], "COMPLETED")
        self.assertEqual([a["ArchiveName"] for a in self.events.list_archives()["Archives"]],
                         ["arch"])
        self.events.remove_targets(Rule="on-replay", Ids=["q"])
        self.events.delete_archive(ArchiveName="arch")

    def test_connections_destinations_tags(self):
        conn = self.events.create_connection(
            Name="conn", AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-key",
                                                     "ApiKeyValue": "secret"}})
        self.assertEqual(conn["ConnectionState"], "AUTHORIZED")
        desc = self.events.describe_connection(Name="conn")
        self.assertEqual(desc["AuthParameters"]["ApiKeyAuthParameters"], {"ApiKeyName": "x-key"})
        self.assertIn("secretsmanager", desc["SecretArn"])
        dest = self.events.create_api_destination(
            Name="dest", ConnectionArn=conn["ConnectionArn"],
            InvocationEndpoint="https://example.invalid/hook", HttpMethod="POST")
        self.assertEqual(dest["ApiDestinationState"], "ACTIVE")
        self.assertEqual(self.events.describe_api_destination(Name="dest")["HttpMethod"], "POST")
        with self.assertRaises(ClientError) as c:
            self.events.create_api_destination(
                Name="dest2", ConnectionArn=conn["ConnectionArn"],
                InvocationEndpoint="http://plain/hook", HttpMethod="POST")
        self.assertEqual(c.exception.response["Error"]["Code"], "ValidationException")
        self.events.delete_api_destination(Name="dest")
        self.events.delete_connection(Name="conn")
        rule_arn = self.events.put_rule(Name="tagged", EventPattern='{"source": ["x"]}',
                                        Tags=[{"Key": "a", "Value": "1"}])["RuleArn"]
        self.events.tag_resource(ResourceARN=rule_arn, Tags=[{"Key": "b", "Value": "2"}])
        tags = self.events.list_tags_for_resource(ResourceARN=rule_arn)["Tags"]
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in tags), [("a", "1"), ("b", "2")])
        self.events.untag_resource(ResourceARN=rule_arn, TagKeys=["a"])
        self.assertEqual(len(self.events.list_tags_for_resource(ResourceARN=rule_arn)["Tags"]), 1)
        with self.assertRaises(ClientError) as c:
            self.events.put_targets(Rule="missing", Targets=[{"Id": "x", "Arn": rule_arn}])
        self.assertEqual(c.exception.response["Error"]["Code"], "ResourceNotFoundException")


if __name__ == "__main__":
    unittest.main(verbosity=2)
