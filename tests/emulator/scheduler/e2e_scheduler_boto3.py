#!/usr/bin/python3
"""End-to-end EventBridge Scheduler tests with Debian's boto3 against a real
`airgap emulator` ($AIRGAP_BIN): schedule groups (the default one, tags,
deletion taking its schedules), schedules with at(), rate() and cron(),
time zones, start and end dates, flexible windows, states, listing with
filters and pages, AWS's validation errors, and schedules firing into SQS
(FIFO with MessageGroupId), SNS and an EventBridge bus with the scheduler's
clock sped up through its test hook."""

import json
import os
import sys
import time
import unittest
import urllib.request
import warnings
from datetime import datetime, timedelta, timezone

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/scheduler-role"
OFF = {"Mode": "OFF"}


def client(endpoint, service, region="us-east-1"):
    return boto3.client(
        service, endpoint_url=endpoint, region_name=region,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}))


class SchedulerCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.emu = Emulator()
        cls.sch = client(cls.emu.endpoint, "scheduler")
        cls.sqs = client(cls.emu.endpoint, "sqs")
        cls.sns = client(cls.emu.endpoint, "sns")
        cls.events = client(cls.emu.endpoint, "events")

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def code(self, ctx):
        return ctx.exception.response["Error"]["Code"], \
            ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"]

    def queue(self, name, **attrs):
        url = self.sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        return url, arn

    def receive(self, url, count=1, timeout=15):
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            r = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                         AttributeNames=["All"])
            for m in r.get("Messages", []):
                got.append(m)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return got

    def speed(self, v):
        req = urllib.request.Request(self.emu.endpoint + "/_aws/scheduler/clock",
                                     data=json.dumps({"speed": v}).encode(), method="POST")
        with urllib.request.urlopen(req) as r:
            self.assertEqual(r.status, 200)

    def test_groups(self):
        g = self.sch.get_schedule_group(Name="default")
        self.assertEqual(g["State"], "ACTIVE")
        self.assertTrue(g["Arn"].endswith(":schedule-group/default"))
        arn = self.sch.create_schedule_group(
            Name="team-a", Tags=[{"Key": "env", "Value": "ci"}])["ScheduleGroupArn"]
        self.assertEqual(arn, "arn:aws:scheduler:us-east-1:000000000000:schedule-group/team-a")
        with self.assertRaises(ClientError) as ctx:
            self.sch.create_schedule_group(Name="team-a")
        self.assertEqual(self.code(ctx), ("ConflictException", 409))
        names = [x["Name"] for x in self.sch.list_schedule_groups()["ScheduleGroups"]]
        self.assertIn("default", names)
        self.assertIn("team-a", names)
        self.assertEqual([x["Name"] for x in self.sch.list_schedule_groups(
            NamePrefix="team")["ScheduleGroups"]], ["team-a"])
        self.sch.tag_resource(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "me"}])
        tags = {t["Key"]: t["Value"] for t in self.sch.list_tags_for_resource(
            ResourceArn=arn)["Tags"]}
        self.assertEqual(tags, {"env": "ci", "owner": "me"})
        self.sch.untag_resource(ResourceArn=arn, TagKeys=["env"])
        self.assertEqual(len(self.sch.list_tags_for_resource(ResourceArn=arn)["Tags"]), 1)
        self.sch.create_schedule(Name="in-a", GroupName="team-a", ScheduleExpression="rate(1 day)",
                                 FlexibleTimeWindow=OFF, Target={"Arn": "arn:aws:sqs:us-east-1:"
                                                                 "000000000000:q", "RoleArn": ROLE})
        self.sch.delete_schedule_group(Name="team-a")
        with self.assertRaises(ClientError) as ctx:
            self.sch.get_schedule_group(Name="team-a")
        self.assertEqual(self.code(ctx), ("ResourceNotFoundException", 404))
        with self.assertRaises(ClientError) as ctx:
            self.sch.get_schedule(Name="in-a", GroupName="team-a")
        self.assertEqual(self.code(ctx), ("ResourceNotFoundException", 404))
        with self.assertRaises(ClientError) as ctx:
            self.sch.delete_schedule_group(Name="default")
        self.assertEqual(self.code(ctx), ("ValidationException", 400))
        with self.assertRaises(ClientError) as ctx:
            self.sch.create_schedule_group(Name="bad name!")
        self.assertEqual(self.code(ctx), ("ValidationException", 400))
        self.assertIn("regular expression pattern", str(ctx.exception))

    def test_schedule_crud_and_list(self):
        target = {"Arn": "arn:aws:sqs:us-east-1:000000000000:crud", "RoleArn": ROLE,
                  "Input": '{"k": 1}', "RetryPolicy": {"MaximumRetryAttempts": 3,
                                                       "MaximumEventAgeInSeconds": 600},
                  "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:000000000000:dlq"},
                  "SqsParameters": {"MessageGroupId": "g1"}}
        start = datetime(2030, 1, 1, tzinfo=timezone.utc)
        end = datetime(2031, 1, 1, tzinfo=timezone.utc)
        arn = self.sch.create_schedule(
            Name="crud-1", ScheduleExpression="cron(0 12 * * ? *)",
            ScheduleExpressionTimezone="Europe/Paris", StartDate=start, EndDate=end,
            Description="noon", FlexibleTimeWindow={"Mode": "FLEXIBLE",
                                                   "MaximumWindowInMinutes": 15},
            Target=target, State="DISABLED")["ScheduleArn"]
        self.assertEqual(arn, "arn:aws:scheduler:us-east-1:000000000000:schedule/default/crud-1")
        got = self.sch.get_schedule(Name="crud-1")
        self.assertEqual(got["GroupName"], "default")
        self.assertEqual(got["State"], "DISABLED")
        self.assertEqual(got["ScheduleExpressionTimezone"], "Europe/Paris")
        self.assertEqual(got["StartDate"], start)
        self.assertEqual(got["EndDate"], end)
        self.assertEqual(got["FlexibleTimeWindow"]["MaximumWindowInMinutes"], 15)
        self.assertEqual(got["Target"]["RetryPolicy"]["MaximumRetryAttempts"], 3)
        self.assertEqual(got["Target"]["DeadLetterConfig"]["Arn"], target["DeadLetterConfig"]["Arn"])
        self.assertEqual(got["Target"]["SqsParameters"]["MessageGroupId"], "g1")
        self.assertIsInstance(got["CreationDate"], datetime)
        with self.assertRaises(ClientError) as ctx:
            self.sch.create_schedule(Name="crud-1", ScheduleExpression="rate(5 minutes)",
                                     FlexibleTimeWindow=OFF, Target=target)
        self.assertEqual(self.code(ctx), ("ConflictException", 409))
        self.sch.update_schedule(Name="crud-1", ScheduleExpression="rate(5 minutes)",
                                 FlexibleTimeWindow=OFF, Target={"Arn": target["Arn"],
                                                                 "RoleArn": ROLE})
        got = self.sch.get_schedule(Name="crud-1")
        self.assertEqual(got["ScheduleExpression"], "rate(5 minutes)")
        self.assertEqual(got["State"], "ENABLED")
        self.assertNotIn("Description", got)
        self.assertNotIn("RetryPolicy", got["Target"])
        with self.assertRaises(ClientError) as ctx:
            self.sch.update_schedule(Name="nope", ScheduleExpression="rate(5 minutes)",
                                     FlexibleTimeWindow=OFF, Target=target)
        self.assertEqual(self.code(ctx), ("ResourceNotFoundException", 404))
        for i in range(5):
            self.sch.create_schedule(Name="page-%d" % i, ScheduleExpression="rate(1 hour)",
                                     FlexibleTimeWindow=OFF, Target=target,
                                     State="DISABLED" if i % 2 else "ENABLED")
        page = self.sch.list_schedules(NamePrefix="page", MaxResults=2)
        self.assertEqual([s["Name"] for s in page["Schedules"]], ["page-0", "page-1"])
        page2 = self.sch.list_schedules(NamePrefix="page", MaxResults=2,
                                        NextToken=page["NextToken"])
        self.assertEqual([s["Name"] for s in page2["Schedules"]], ["page-2", "page-3"])
        self.assertEqual(page["Schedules"][0]["Target"]["Arn"], target["Arn"])
        disabled = self.sch.list_schedules(NamePrefix="page", State="DISABLED")["Schedules"]
        self.assertEqual([s["Name"] for s in disabled], ["page-1", "page-3"])
        with self.assertRaises(ClientError) as ctx:
            self.sch.list_schedules(GroupName="no-such-group")
        self.assertEqual(self.code(ctx), ("ResourceNotFoundException", 404))
        self.sch.delete_schedule(Name="crud-1")
        with self.assertRaises(ClientError) as ctx:
            self.sch.delete_schedule(Name="crud-1")
        self.assertEqual(self.code(ctx), ("ResourceNotFoundException", 404))
        self.assertIn("Schedule crud-1 does not exist", str(ctx.exception))

    def test_validation(self):
        target = {"Arn": "arn:aws:sqs:us-east-1:000000000000:v", "RoleArn": ROLE}
        bad = [
            dict(ScheduleExpression="rate(0 minutes)"),
            dict(ScheduleExpression="rate(1 minutes)"),
            dict(ScheduleExpression="cron(0 12 * * * *)"),
            dict(ScheduleExpression="at(2030-02-30T00:00:00)"),
            dict(ScheduleExpression="at(2030-01-01 00:00:00)"),
            dict(ScheduleExpression="every day"),
            dict(ScheduleExpressionTimezone="Mars/Olympus"),
            dict(FlexibleTimeWindow={"Mode": "FLEXIBLE"}),
            dict(FlexibleTimeWindow={"Mode": "OFF", "MaximumWindowInMinutes": 5}),
            dict(FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 1441}),
            dict(FlexibleTimeWindow={"Mode": "SOMETIMES"}),
            dict(Target={"Arn": "arn:aws:sqs:us-east-1:000000000000:v", "RoleArn": "role"}),
            dict(Target=dict(target, RetryPolicy={"MaximumRetryAttempts": 186})),
            dict(Target=dict(target, RetryPolicy={"MaximumEventAgeInSeconds": 86401})),
            dict(Target=dict(target, DeadLetterConfig={"Arn": "arn:aws:sns:us-east-1:1:t"})),
            dict(StartDate=datetime(2031, 1, 1), EndDate=datetime(2030, 1, 1)),
            dict(State="PAUSED"),
        ]
        for extra in bad:
            args = dict(Name="v", ScheduleExpression="rate(1 hour)", FlexibleTimeWindow=OFF,
                        Target=target)
            args.update(extra)
            with self.subTest(extra=extra):
                with self.assertRaises(ClientError) as ctx:
                    self.sch.create_schedule(**args)
                self.assertEqual(self.code(ctx), ("ValidationException", 400))
        with self.assertRaises(ClientError) as ctx:
            self.sch.create_schedule(Name="v", ScheduleExpression="rate(7 days)",
                                     FlexibleTimeWindow=OFF, Target=target, GroupName="ghost")
        self.assertEqual(self.code(ctx), ("ResourceNotFoundException", 404))
        self.assertIn("Invalid Schedule Expression", self._msg("rate(0 minutes)", target))
        with self.assertRaises(ClientError):
            self.sch.get_schedule(Name="v")

    def _msg(self, expr, target):
        try:
            self.sch.create_schedule(Name="v", ScheduleExpression=expr, FlexibleTimeWindow=OFF,
                                     Target=target)
        except ClientError as e:
            return e.response["Error"]["Message"]
        return ""

    def test_fires_into_sqs_sns_and_a_bus(self):
        url, arn = self.queue("sched-std")
        furl, farn = self.queue("sched.fifo", FifoQueue="true")
        turl, tarn = self.queue("sched-from-sns")
        topic = self.sns.create_topic(Name="sched-topic")["TopicArn"]
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=tarn,
                           Attributes={"RawMessageDelivery": "true"})
        burl, barn = self.queue("sched-from-bus")
        self.events.put_rule(Name="from-scheduler", EventPattern=json.dumps(
            {"source": ["my.app"], "detail-type": ["Tick"]}))
        self.events.put_targets(Rule="from-scheduler", Targets=[{"Id": "1", "Arn": barn}])
        bus = self.events.describe_event_bus()["Arn"]
        self.speed(600)  # 10 virtual minutes per second
        self.sch.create_schedule(Name="every-minute", ScheduleExpression="rate(1 minute)",
                                 FlexibleTimeWindow=OFF,
                                 Target={"Arn": arn, "RoleArn": ROLE, "Input": '{"n": 1}'})
        soon = (datetime.now(timezone.utc) + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S")
        self.sch.create_schedule(Name="once-fifo", ScheduleExpression="at(%s)" % soon,
                                 FlexibleTimeWindow=OFF,
                                 Target={"Arn": farn, "RoleArn": ROLE, "Input": "fifo-body",
                                         "SqsParameters": {"MessageGroupId": "grp"}})
        self.sch.create_schedule(Name="to-topic", ScheduleExpression="cron(* * * * ? *)",
                                 FlexibleTimeWindow=OFF,
                                 Target={"Arn": topic, "RoleArn": ROLE, "Input": "via-sns"})
        self.sch.create_schedule(Name="to-bus", ScheduleExpression="rate(1 minute)",
                                 FlexibleTimeWindow=OFF,
                                 Target={"Arn": bus, "RoleArn": ROLE, "Input": '{"x": 7}',
                                         "EventBridgeParameters": {"DetailType": "Tick",
                                                                   "Source": "my.app"}})
        self.sch.create_schedule(Name="paused", ScheduleExpression="rate(1 minute)",
                                 FlexibleTimeWindow=OFF, State="DISABLED",
                                 Target={"Arn": arn, "RoleArn": ROLE, "Input": "never"})
        got = self.receive(url, count=2)
        self.assertGreaterEqual(len(got), 2)
        self.assertTrue(all(m["Body"] == '{"n": 1}' for m in got))
        fifo = self.receive(furl)
        self.assertEqual(len(fifo), 1)
        self.assertEqual(fifo[0]["Body"], "fifo-body")
        self.assertEqual(fifo[0]["Attributes"]["MessageGroupId"], "grp")
        self.assertEqual(self.receive(turl)[0]["Body"], "via-sns")
        event = json.loads(self.receive(burl)[0]["Body"])
        self.assertEqual(event["detail"], {"x": 7})
        self.assertEqual(event["source"], "my.app")
        self.assertTrue(event["resources"][0].endswith(":schedule/default/to-bus"))
        for name in ["every-minute", "to-topic", "to-bus", "paused"]:
            self.sch.delete_schedule(Name=name)
        # A one-time schedule fires once: nothing more arrives.
        time.sleep(1.5)
        self.assertEqual(self.receive(furl, timeout=2), [])
        self.assertTrue(all(m["Body"] != "never" for m in self.receive(url, count=100, timeout=2)))
        self.speed(1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
