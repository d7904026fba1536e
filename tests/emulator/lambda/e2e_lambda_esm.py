#!/usr/bin/python3
"""Event source mappings with Debian's boto3 (and the aws CLI) through `airgap
emulator`: the control plane (validation, State transitions, List filters and paging,
conflicts) without Docker, then SQS queues and Kinesis streams triggering a
Python function in a real container: the event shapes, messages deleted on
success and left for the redrive policy on failure, ReportBatchItemFailures,
FilterCriteria, FIFO order, a batch size with a batching window; Kinesis
TRIM_HORIZON and LATEST, retries with MaximumRetryAttempts then the
OnFailure queue with AWS's record, and partial batch failures by sequence
number. The function writes every event it gets to a "record" queue, which
the test reads.

The Docker part is skipped without a Docker engine (the control plane still
runs)."""

import base64
import json
import os
import subprocess
import sys
import time
import unittest
import warnings

from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lambda_support import (MAPPING, ROLE, Emulator, build_images, client,  # noqa: E402
                            docker_available, lambda_containers, make_zip)

ENV = {"LAMBDA_RUNTIME_IMAGE_MAPPING": MAPPING, "LAMBDA_RETRY_BASE_DELAY_SECONDS": "1",
       "LAMBDA_KEEPALIVE_MS": "60000", "KINESIS_LATENCY": "0"}
ACCOUNT = "000000000000"

PY = """
import base64, json, os
import boto3

def handler(event, context):
    sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    url = sqs.get_queue_url(QueueName=os.environ["RECORD"])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    records = event.get("Records", [])
    def text(r):
        if "body" in r:
            return r["body"]
        if "dynamodb" in r:
            return json.dumps(r["dynamodb"].get("NewImage", {}))
        return base64.b64decode(r["kinesis"]["data"]).decode()
    def ident(r):
        if "dynamodb" in r:
            return r["dynamodb"]["SequenceNumber"]
        return r["messageId"] if "messageId" in r else r["kinesis"]["sequenceNumber"]
    bad = [r for r in records if "fail" in text(r)]
    mode = os.environ.get("MODE", "raise")
    if mode == "partial":
        return {"batchItemFailures": [{"itemIdentifier": ident(r)} for r in bad]}
    if bad:
        raise RuntimeError("asked to fail")
    return {"ok": len(records)}
"""


def wait_for(predicate, timeout=30, step=0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out waiting")


class Control(unittest.TestCase):
    """The control plane: no container runs."""

    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.emu = Emulator(extra_env=ENV)
        cls.lam = client(cls.emu.endpoint)
        cls.raw = client(cls.emu.endpoint, validate=False)
        cls.sqs = client(cls.emu.endpoint, "sqs")
        cls.kin = client(cls.emu.endpoint, "kinesis")
        for name in ("f", "g", "h"):
            cls.lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE,
                                    Handler="app.handler",
                                    Code={"ZipFile": make_zip({"app.py": PY})})
        cls.fn_arn = "arn:aws:lambda:us-east-1:%s:function:f" % ACCOUNT
        cls.sqs.create_queue(QueueName="src")
        cls.sqs.create_queue(QueueName="src.fifo", Attributes={"FifoQueue": "true"})
        cls.q = "arn:aws:sqs:us-east-1:%s:src" % ACCOUNT
        cls.kin.create_stream(StreamName="s", ShardCount=1)
        cls.stream = cls.kin.describe_stream(StreamName="s")["StreamDescription"]["StreamARN"]

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def gone(self, uuid):
        try:
            self.lam.get_event_source_mapping(UUID=uuid)
            return False
        except ClientError:
            return True

    def error(self, fn, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(**kw)
        return cm.exception.response

    def test_create_get_update_delete(self):
        m = self.lam.create_event_source_mapping(EventSourceArn=self.q, FunctionName="f",
                                                 BatchSize=5)
        self.assertEqual(m["ResponseMetadata"]["HTTPStatusCode"], 202)
        self.assertEqual(m["State"], "Creating")
        self.assertEqual(m["StateTransitionReason"], "USER_INITIATED")
        self.assertEqual(m["FunctionArn"], self.fn_arn)
        self.assertEqual(m["BatchSize"], 5)
        self.assertEqual(m["MaximumBatchingWindowInSeconds"], 0)
        self.assertEqual(m["LastProcessingResult"], "No records processed")
        self.assertRegex(m["UUID"], r"^[0-9a-f-]{36}$")
        uuid = m["UUID"]
        got = wait_for(lambda: (lambda g: g if g["State"] == "Enabled" else None)(
            self.lam.get_event_source_mapping(UUID=uuid)))
        self.assertEqual(got["EventSourceArn"], self.q)
        self.assertIn("LastModified", got)
        # The same source and function again: a conflict naming the mapping.
        r = self.error(self.lam.create_event_source_mapping, EventSourceArn=self.q,
                       FunctionName="f")
        self.assertEqual(r["Error"]["Code"], "ResourceConflictException")
        self.assertIn(uuid, r["Error"]["Message"])
        up = self.lam.update_event_source_mapping(UUID=uuid, Enabled=False)
        self.assertEqual(up["State"], "Disabling")
        wait_for(lambda: self.lam.get_event_source_mapping(UUID=uuid)["State"] == "Disabled")
        up = self.lam.update_event_source_mapping(UUID=uuid, BatchSize=7)
        self.assertEqual((up["State"], up["BatchSize"]), ("Updating", 7))
        wait_for(lambda: self.lam.get_event_source_mapping(UUID=uuid)["State"] == "Disabled")
        up = self.lam.update_event_source_mapping(UUID=uuid, Enabled=True)
        self.assertEqual(up["State"], "Enabling")
        wait_for(lambda: self.lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled")
        d = self.lam.delete_event_source_mapping(UUID=uuid)
        self.assertEqual(d["State"], "Deleting")
        wait_for(lambda: self.gone(uuid))
        r = self.error(self.lam.get_event_source_mapping, UUID=uuid)
        self.assertEqual(r["Error"]["Code"], "ResourceNotFoundException")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 404)
        r = self.error(self.lam.delete_event_source_mapping, UUID=uuid)
        self.assertEqual(r["Error"]["Code"], "ResourceNotFoundException")

    def test_validation(self):
        cases = [
            (dict(EventSourceArn=self.q, FunctionName="g", BatchSize=20),
             "InvalidParameterValueException", "Maximum batch window in seconds must be greater "
             "than 0 if maximum batch size is greater than 10"),
            (dict(EventSourceArn=self.q, FunctionName="g", StartingPosition="LATEST"),
             "InvalidParameterValueException", "StartingPosition"),
            (dict(EventSourceArn=self.q + ".fifo", FunctionName="g", BatchSize=11,
                  MaximumBatchingWindowInSeconds=1), "InvalidParameterValueException", "FIFO"),
            (dict(EventSourceArn=self.q + "-missing", FunctionName="g"),
             "InvalidParameterValueException", "NonExistentQueue"),
            (dict(EventSourceArn=self.q, FunctionName="nope"), "ResourceNotFoundException",
             "Function not found"),
            (dict(EventSourceArn=self.stream, FunctionName="g"),
             "InvalidParameterValueException", "StartingPosition"),
            (dict(EventSourceArn=self.stream, FunctionName="g", StartingPosition="AT_TIMESTAMP"),
             "InvalidParameterValueException", "StartingPositionTimestamp"),
            (dict(EventSourceArn=self.stream + "x", FunctionName="g",
                  StartingPosition="LATEST"), "InvalidParameterValueException", "Stream not found"),
            (dict(EventSourceArn=self.q, FunctionName="g",
                  FilterCriteria={"Filters": [{"Pattern": "{\"body\": 5}"}]}),
             "InvalidParameterValueException", "filter pattern"),
            (dict(EventSourceArn="arn:aws:s3:::bucket", FunctionName="g"),
             "InvalidParameterValueException", "Unsupported event source"),
        ]
        for kw, code, text in cases:
            with self.subTest(kw=kw):
                r = self.error(self.lam.create_event_source_mapping, **kw)
                self.assertEqual(r["Error"]["Code"], code)
                self.assertIn(text, r["Error"]["Message"])
        # Model ranges, as the service checks them (client validation off).
        r = self.error(self.raw.create_event_source_mapping, EventSourceArn=self.q,
                       FunctionName="g", BatchSize=10001, MaximumBatchingWindowInSeconds=1)
        self.assertEqual(r["Error"]["Code"], "ValidationException")
        self.assertIn("less than or equal to 10000", r["Error"]["Message"])
        r = self.error(self.raw.create_event_source_mapping, EventSourceArn=self.q,
                       FunctionName="g", FunctionResponseTypes=["Everything"])
        self.assertEqual(r["Error"]["Code"], "ValidationException")
        self.assertEqual(self.lam.list_event_source_mappings(FunctionName="g")
                         ["EventSourceMappings"], [])

    def test_aws_cli(self):
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                   AWS_DEFAULT_REGION="us-east-1")

        def aws(*args, check=True):
            p = subprocess.run(["aws", "--endpoint-url", self.emu.endpoint, "lambda", *args],
                               capture_output=True, text=True, env=env, timeout=60)
            if check and p.returncode != 0:
                raise AssertionError("aws lambda %s: %s" % (args[0], p.stderr))
            return p
        self.sqs.create_queue(QueueName="cli-src")
        q = "arn:aws:sqs:us-east-1:%s:cli-src" % ACCOUNT
        made = json.loads(aws("create-event-source-mapping", "--function-name", "g",
                              "--event-source-arn", q, "--batch-size", "3").stdout)
        self.assertEqual((made["State"], made["BatchSize"]), ("Creating", 3))
        listed = json.loads(aws("list-event-source-mappings", "--event-source-arn", q).stdout)
        self.assertEqual([m["UUID"] for m in listed["EventSourceMappings"]], [made["UUID"]])
        bad = aws("create-event-source-mapping", "--function-name", "g", "--event-source-arn", q,
                  check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("ResourceConflictException", bad.stderr)
        gone = json.loads(aws("delete-event-source-mapping", "--uuid", made["UUID"]).stdout)
        self.assertEqual(gone["State"], "Deleting")

    def test_list_filters_and_pages(self):
        uuids = []
        for i in range(3):
            self.sqs.create_queue(QueueName="list%d" % i)
            arn = "arn:aws:sqs:us-east-1:%s:list%d" % (ACCOUNT, i)
            uuids.append(self.lam.create_event_source_mapping(
                EventSourceArn=arn, FunctionName=self.fn_arn[:-1] + "h", Enabled=False)["UUID"])
        k = self.lam.create_event_source_mapping(EventSourceArn=self.stream, FunctionName="h",
                                                 StartingPosition="TRIM_HORIZON", BatchSize=50)
        self.assertEqual((k["StartingPosition"], k["BatchSize"], k["MaximumRetryAttempts"],
                          k["MaximumRecordAgeInSeconds"], k["BisectBatchOnFunctionError"]),
                         ("TRIM_HORIZON", 50, -1, -1, False))
        uuids.append(k["UUID"])
        seen, marker = [], None
        while True:
            kw = {"FunctionName": "h", "MaxItems": 2}
            if marker:
                kw["Marker"] = marker
            page = self.lam.list_event_source_mappings(**kw)
            self.assertLessEqual(len(page["EventSourceMappings"]), 2)
            seen += [m["UUID"] for m in page["EventSourceMappings"]]
            marker = page.get("NextMarker")
            if not marker:
                break
        self.assertEqual(sorted(seen), sorted(uuids))
        only = self.lam.list_event_source_mappings(EventSourceArn=self.stream)
        self.assertEqual([m["UUID"] for m in only["EventSourceMappings"]], [k["UUID"]])
        both = self.lam.list_event_source_mappings(EventSourceArn=self.stream, FunctionName="f")
        self.assertEqual(both["EventSourceMappings"], [])
        for u in uuids:
            self.lam.delete_event_source_mapping(UUID=u)


@unittest.skipUnless(docker_available(), "no Docker engine")
class Triggers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        if not build_images():
            raise unittest.SkipTest("the Lambda test images could not be built")
        cls.emu = Emulator(extra_env=ENV)
        cls.lam = client(cls.emu.endpoint)
        cls.sqs = client(cls.emu.endpoint, "sqs")
        cls.kin = client(cls.emu.endpoint, "kinesis")

    @classmethod
    def tearDownClass(cls):
        pid = cls.emu.proc.pid
        cls.emu.stop()
        left = lambda_containers(pid)
        if left:
            raise AssertionError("containers left behind: %s" % left)

    def function(self, name, mode="raise"):
        record = self.sqs.create_queue(QueueName="rec-" + name)["QueueUrl"]
        self.lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE,
                                 Handler="app.handler", Timeout=20,
                                 Environment={"Variables": {"RECORD": "rec-" + name,
                                                            "MODE": mode}},
                                 Code={"ZipFile": make_zip({"app.py": PY})})
        return record

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

    def queue(self, name, **attrs):
        url = self.sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        return url, arn

    def depth(self, url):
        a = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(a["ApproximateNumberOfMessages"]) + int(
            a["ApproximateNumberOfMessagesNotVisible"])

    def test_sqs_event_and_delete_on_success(self):
        record = self.function("sqsok")
        url, arn = self.queue("in-ok")
        self.sqs.send_message(QueueUrl=url, MessageBody="hello", MessageAttributes={
            "k": {"DataType": "String", "StringValue": "v"}})
        m = self.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="sqsok",
                                                 BatchSize=10)
        (event,) = self.events(record, 1)
        (rec,) = event["Records"]
        self.assertEqual(rec["body"], "hello")
        self.assertEqual(rec["eventSource"], "aws:sqs")
        self.assertEqual(rec["eventSourceARN"], arn)
        self.assertEqual(rec["awsRegion"], "us-east-1")
        self.assertEqual(rec["messageAttributes"]["k"], {
            "stringValue": "v", "stringListValues": [], "binaryListValues": [],
            "dataType": "String"})
        for key in ("ApproximateReceiveCount", "SentTimestamp", "SenderId",
                    "ApproximateFirstReceiveTimestamp"):
            self.assertIn(key, rec["attributes"])
        self.assertIn("md5OfBody", rec)
        self.assertIn("receiptHandle", rec)
        wait_for(lambda: self.depth(url) == 0)
        wait_for(lambda: self.lam.get_event_source_mapping(UUID=m["UUID"])[
            "LastProcessingResult"] == "OK")
        self.lam.delete_event_source_mapping(UUID=m["UUID"])

    def test_sqs_failure_leaves_messages_for_redrive(self):
        record = self.function("sqsfail")
        dlq_url, dlq_arn = self.queue("in-fail-dlq")
        url, arn = self.queue("in-fail", VisibilityTimeout="1", RedrivePolicy=json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}))
        self.sqs.send_message(QueueUrl=url, MessageBody="please fail")
        m = self.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="sqsfail")
        events = self.events(record, 2)
        self.assertEqual([e["Records"][0]["attributes"]["ApproximateReceiveCount"]
                          for e in events], ["1", "2"])
        moved = wait_for(lambda: self.sqs.receive_message(QueueUrl=dlq_url).get("Messages"))
        self.assertEqual(moved[0]["Body"], "please fail")
        self.lam.delete_event_source_mapping(UUID=m["UUID"])

    def test_sqs_report_batch_item_failures_and_filters(self):
        record = self.function("sqspart", mode="partial")
        url, arn = self.queue("in-part", VisibilityTimeout="30")
        for body in ["one", "two fail", "three", json.dumps({"skip": True})]:
            self.sqs.send_message(QueueUrl=url, MessageBody=body)
        m = self.lam.create_event_source_mapping(
            EventSourceArn=arn, FunctionName="sqspart", BatchSize=20,
            MaximumBatchingWindowInSeconds=1, FunctionResponseTypes=["ReportBatchItemFailures"],
            FilterCriteria={"Filters": [{"Pattern": json.dumps(
                {"body": [{"anything-but": {"prefix": "{"}}]})},
                {"Pattern": json.dumps({"body": {"other": [1]}})}]})
        self.assertEqual(m["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        (event,) = self.events(record, 1)
        self.assertEqual(sorted(r["body"] for r in event["Records"]),
                         ["one", "three", "two fail"])
        # The reported message stays (invisible for 30 s); the others and the
        # filtered one are gone.
        wait_for(lambda: self.depth(url) == 1)
        self.lam.delete_event_source_mapping(UUID=m["UUID"])

    def test_fifo_in_group_order(self):
        record = self.function("fifo")
        url, arn = self.queue("in.fifo", FifoQueue="true", ContentBasedDeduplication="true")
        for i in range(6):
            self.sqs.send_message(QueueUrl=url, MessageBody="m%d" % i, MessageGroupId="g")
        self.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="fifo",
                                             BatchSize=2)
        events = self.events(record, 3)
        bodies = [r["body"] for e in events for r in e["Records"]]
        self.assertEqual(bodies, ["m%d" % i for i in range(6)])
        self.assertEqual(events[0]["Records"][0]["attributes"]["MessageGroupId"], "g")

    def put(self, stream, *texts):
        for t in texts:
            self.kin.put_record(StreamName=stream, Data=t.encode(), PartitionKey="pk")

    def test_kinesis_positions_and_shape(self):
        record = self.function("kin")
        self.kin.create_stream(StreamName="ks", ShardCount=1)
        arn = self.kin.describe_stream(StreamName="ks")["StreamDescription"]["StreamARN"]
        self.put("ks", "before")
        self.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="kin",
                                             StartingPosition="TRIM_HORIZON", BatchSize=10)
        self.lam.create_function(FunctionName="kin2", Runtime="python3.12", Role=ROLE,
                                 Handler="app.handler", Timeout=20,
                                 Environment={"Variables": {"RECORD": "rec-kin"}},
                                 Code={"ZipFile": make_zip({"app.py": PY})})
        (first,) = self.events(record, 1)
        m2 = self.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="kin2",
                                                  StartingPosition="LATEST")
        wait_for(lambda: self.lam.get_event_source_mapping(UUID=m2["UUID"])["State"] ==
                 "Enabled")
        time.sleep(0.5)
        self.put("ks", "after")
        later = self.events(record, 2)
        (rec,) = first["Records"]
        self.assertEqual(base64.b64decode(rec["kinesis"]["data"]), b"before")
        self.assertEqual(rec["kinesis"]["partitionKey"], "pk")
        self.assertEqual(rec["kinesis"]["kinesisSchemaVersion"], "1.0")
        self.assertEqual(rec["eventSource"], "aws:kinesis")
        self.assertEqual(rec["eventName"], "aws:kinesis:record")
        self.assertEqual(rec["eventSourceARN"], arn)
        self.assertEqual(rec["eventID"], "shardId-000000000000:" + rec["kinesis"]["sequenceNumber"])
        # Both mappings see "after"; the LATEST one never saw "before".
        self.assertEqual(sorted(base64.b64decode(e["Records"][0]["kinesis"]["data"])
                                for e in later), [b"after", b"after"])

    def test_kinesis_retries_then_on_failure(self):
        record = self.function("kinfail")
        dest_url, dest_arn = self.queue("kin-failures")
        self.kin.create_stream(StreamName="kf", ShardCount=1)
        arn = self.kin.describe_stream(StreamName="kf")["StreamDescription"]["StreamARN"]
        self.put("kf", "a fail", "b")
        self.lam.create_event_source_mapping(
            EventSourceArn=arn, FunctionName="kinfail", StartingPosition="TRIM_HORIZON",
            MaximumRetryAttempts=1, DestinationConfig={"OnFailure": {"Destination": dest_arn}})
        events = self.events(record, 2)  # the first attempt and one retry
        for e in events:
            self.assertEqual(len(e["Records"]), 2)
        msg = wait_for(lambda: self.sqs.receive_message(QueueUrl=dest_url).get("Messages"))
        doc = json.loads(msg[0]["Body"])
        info = doc["KinesisBatchInfo"]
        self.assertEqual(info["shardId"], "shardId-000000000000")
        self.assertEqual(info["batchSize"], 2)
        self.assertEqual(info["streamArn"], arn)
        self.assertEqual(info["startSequenceNumber"],
                         events[0]["Records"][0]["kinesis"]["sequenceNumber"])
        self.assertEqual(info["endSequenceNumber"],
                         events[0]["Records"][1]["kinesis"]["sequenceNumber"])
        self.assertEqual(doc["requestContext"]["condition"], "RetryAttemptsExhausted")
        self.assertEqual(doc["requestContext"]["approximateInvokeCount"], 2)
        self.assertEqual(doc["responseContext"]["functionError"], "Unhandled")
        # Past the batch: a new record is delivered on its own.
        self.put("kf", "c")
        (e,) = self.events(record, 1)
        self.assertEqual(base64.b64decode(e["Records"][0]["kinesis"]["data"]), b"c")

    def test_kinesis_partial_failure_by_sequence_number(self):
        record = self.function("kinpart", mode="partial")
        self.kin.create_stream(StreamName="kp", ShardCount=1)
        arn = self.kin.describe_stream(StreamName="kp")["StreamDescription"]["StreamARN"]
        self.put("kp", "a", "b fail", "c")
        self.lam.create_event_source_mapping(
            EventSourceArn=arn, FunctionName="kinpart", StartingPosition="TRIM_HORIZON",
            MaximumRetryAttempts=1, FunctionResponseTypes=["ReportBatchItemFailures"])
        first, second = self.events(record, 2)
        data = [[base64.b64decode(r["kinesis"]["data"]) for r in e["Records"]]
                for e in (first, second)]
        # Retried from the reported record on (then given up: no retries left).
        self.assertEqual(data, [[b"a", b"b fail", b"c"], [b"b fail", b"c"]])

    def test_dynamodb_stream(self):
        record = self.function("ddb")
        dest_url, dest_arn = self.queue("ddb-failures")
        ddb = client(self.emu.endpoint, "dynamodb")
        t = ddb.create_table(TableName="items", BillingMode="PAY_PER_REQUEST",
                             AttributeDefinitions=[{"AttributeName": "id",
                                                    "AttributeType": "S"}],
                             KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                             StreamSpecification={"StreamEnabled": True,
                                                  "StreamViewType": "NEW_AND_OLD_IMAGES"})
        arn = t["TableDescription"]["LatestStreamArn"]
        with self.assertRaises(ClientError) as cm:
            self.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="ddb",
                                                 StartingPosition="AT_TIMESTAMP",
                                                 StartingPositionTimestamp=time.time())
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidParameterValueException")
        ddb.put_item(TableName="items", Item={"id": {"S": "a"}, "v": {"N": "1"}})
        self.lam.create_event_source_mapping(
            EventSourceArn=arn, FunctionName="ddb", StartingPosition="TRIM_HORIZON",
            MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": dest_arn}})
        (first,) = self.events(record, 1)
        (rec,) = first["Records"]
        self.assertEqual((rec["eventName"], rec["eventSource"], rec["eventSourceARN"]),
                         ("INSERT", "aws:dynamodb", arn))
        self.assertEqual(rec["dynamodb"]["Keys"], {"id": {"S": "a"}})
        self.assertEqual(rec["dynamodb"]["NewImage"], {"id": {"S": "a"}, "v": {"N": "1"}})
        self.assertEqual(rec["dynamodb"]["StreamViewType"], "NEW_AND_OLD_IMAGES")
        ddb.put_item(TableName="items", Item={"id": {"S": "a"}, "v": {"N": "2"},
                                              "note": {"S": "fail"}})
        (second,) = self.events(record, 1)
        (rec,) = second["Records"]
        self.assertEqual(rec["eventName"], "MODIFY")
        self.assertEqual(rec["dynamodb"]["OldImage"]["v"], {"N": "1"})
        # The function fails on it (its body has "fail"), no retries: OnFailure.
        msg = wait_for(lambda: self.sqs.receive_message(QueueUrl=dest_url).get("Messages"))
        info = json.loads(msg[0]["Body"])["DDBStreamBatchInfo"]
        self.assertEqual((info["streamArn"], info["batchSize"]), (arn, 1))
        self.assertEqual(info["startSequenceNumber"], rec["dynamodb"]["SequenceNumber"])
        ddb.delete_item(TableName="items", Key={"id": {"S": "a"}})
        (third,) = self.events(record, 1)
        self.assertEqual(third["Records"][0]["eventName"], "REMOVE")


if __name__ == "__main__":
    unittest.main(verbosity=2)
