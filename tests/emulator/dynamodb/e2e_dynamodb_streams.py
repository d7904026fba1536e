#!/usr/bin/python3
"""End-to-end DynamoDB Streams tests with Debian's boto3 against a real
`airgap emulator` ($AIRGAP_BIN): StreamSpecification on CreateTable and
UpdateTable (all four view types), LatestStreamArn/Label, ListStreams,
DescribeStream, GetShardIterator of every type, GetRecords (INSERT, MODIFY,
REMOVE in order, images per view type, TTL deletions as service removals),
closed shards after disabling, and the error answers."""

import json
import os
import re
import sys
import time
import urllib.request
import unittest
import warnings

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from emulator_support import Emulator  # noqa: E402


def keyed(name, range_key=False):
    ks = [{"AttributeName": "pk", "KeyType": "HASH"}]
    defs = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        ks.append({"AttributeName": "sk", "KeyType": "RANGE"})
        defs.append({"AttributeName": "sk", "AttributeType": "N"})
    return dict(TableName=name, KeySchema=ks, AttributeDefinitions=defs,
                BillingMode="PAY_PER_REQUEST")


class StreamsCase(unittest.TestCase):
    emu = None

    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.emu = Emulator(extra_env={"AIRGAP_DYNAMODB_TTL_SWEEP_SECONDS": "0"})
        kwargs = dict(endpoint_url=cls.emu.endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test",
                      config=Config(retries={"total_max_attempts": 1}))
        cls.ddb = boto3.client("dynamodb", **kwargs)
        cls.streams = boto3.client("dynamodbstreams", **kwargs)

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def error(self, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        return cm.exception.response

    def shard_of(self, arn):
        desc = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]
        self.assertEqual(len(desc["Shards"]), 1)
        return desc["Shards"][0]

    def read_all(self, arn, kind="TRIM_HORIZON", **extra):
        shard = self.shard_of(arn)
        it = self.streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                             ShardIteratorType=kind, **extra)["ShardIterator"]
        out = []
        for _ in range(50):
            res = self.streams.get_records(ShardIterator=it)
            out += res["Records"]
            it = res.get("NextShardIterator")
            if not it or not res["Records"]:
                break
        return out

    def test_create_with_stream_and_read_changes_in_order(self):
        desc = self.ddb.create_table(**keyed("orders", True), StreamSpecification={
            "StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})["TableDescription"]
        arn, label = desc["LatestStreamArn"], desc["LatestStreamLabel"]
        self.assertEqual(desc["StreamSpecification"],
                         {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        self.assertRegex(label, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$")
        self.assertEqual(arn, desc["TableArn"] + "/stream/" + label)
        self.assertEqual(self.ddb.describe_table(TableName="orders")["Table"]["LatestStreamArn"],
                         arn)

        t0 = int(time.time())
        self.ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "sk": {"N": "1"},
                                                    "v": {"S": "one"}})
        self.ddb.update_item(TableName="orders", Key={"pk": {"S": "a"}, "sk": {"N": "1"}},
                             UpdateExpression="SET v = :v, n = :n",
                             ExpressionAttributeValues={":v": {"S": "two"}, ":n": {"N": "1.50"}})
        # A write that changes nothing writes no record (DynamoDB's rule).
        self.ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "sk": {"N": "1"},
                                                    "v": {"S": "two"}, "n": {"N": "1.5"}})
        self.ddb.delete_item(TableName="orders", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})
        self.ddb.delete_item(TableName="orders", Key={"pk": {"S": "nothing"}, "sk": {"N": "1"}})
        self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "orders", "Item": {"pk": {"S": "b"}, "sk": {"N": "2"}}}},
            {"Put": {"TableName": "orders", "Item": {"pk": {"S": "c"}, "sk": {"N": "3"}}}}])
        self.ddb.batch_write_item(RequestItems={"orders": [
            {"DeleteRequest": {"Key": {"pk": {"S": "b"}, "sk": {"N": "2"}}}}]})
        self.ddb.execute_statement(Statement="UPDATE orders SET x = 1 WHERE pk = 'c' AND sk = 3")

        recs = self.read_all(arn)
        self.assertEqual([r["eventName"] for r in recs],
                         ["INSERT", "MODIFY", "REMOVE", "INSERT", "INSERT", "REMOVE", "MODIFY"])
        seqs = [r["dynamodb"]["SequenceNumber"] for r in recs]
        self.assertEqual(seqs, sorted(seqs, key=int))
        self.assertEqual(len(set(seqs)), len(seqs))
        self.assertEqual(len({r["eventID"] for r in recs}), len(recs))
        first, modify, remove = recs[0], recs[1], recs[2]
        for r in recs:
            self.assertEqual((r["eventVersion"], r["eventSource"], r["awsRegion"]),
                             ("1.1", "aws:dynamodb", "us-east-1"))
            self.assertNotIn("userIdentity", r)
            d = r["dynamodb"]
            self.assertEqual(d["StreamViewType"], "NEW_AND_OLD_IMAGES")
            self.assertGreater(d["SizeBytes"], 0)
            created = d["ApproximateCreationDateTime"].timestamp()
            self.assertEqual(created, int(created))  # whole seconds, as DynamoDB rounds down
            self.assertTrue(t0 - 1 <= created <= time.time() + 1)
        self.assertEqual(first["dynamodb"]["Keys"], {"pk": {"S": "a"}, "sk": {"N": "1"}})
        self.assertEqual(first["dynamodb"]["NewImage"]["v"], {"S": "one"})
        self.assertNotIn("OldImage", first["dynamodb"])
        self.assertEqual(modify["dynamodb"]["OldImage"]["v"], {"S": "one"})
        self.assertEqual(modify["dynamodb"]["NewImage"]["n"], {"N": "1.5"})
        self.assertNotIn("NewImage", remove["dynamodb"])
        self.assertEqual(remove["dynamodb"]["OldImage"]["v"], {"S": "two"})
        # SizeBytes: keys plus the images, sized as DynamoDB sizes items
        # (pk "a" 3 B, sk 1 → 2 + 2 B, v "one" 1 + 3 B).
        self.assertEqual(first["dynamodb"]["SizeBytes"], (3 + 4) + (3 + 4 + 4))

        # The same records again from AT_SEQUENCE_NUMBER / AFTER_SEQUENCE_NUMBER.
        again = self.read_all(arn, "AT_SEQUENCE_NUMBER", SequenceNumber=seqs[3])
        self.assertEqual([r["dynamodb"]["SequenceNumber"] for r in again], seqs[3:])
        after = self.read_all(arn, "AFTER_SEQUENCE_NUMBER", SequenceNumber=seqs[3])
        self.assertEqual([r["dynamodb"]["SequenceNumber"] for r in after], seqs[4:])
        self.assertEqual(again[0], recs[3])  # a record reads the same every time

    def test_view_types(self):
        images = {"KEYS_ONLY": (False, False), "NEW_IMAGE": (True, False),
                  "OLD_IMAGE": (False, True), "NEW_AND_OLD_IMAGES": (True, True)}
        for view, (new, old) in images.items():
            name = "view-" + view.lower().replace("_", "-")
            arn = self.ddb.create_table(**keyed(name), StreamSpecification={
                "StreamEnabled": True, "StreamViewType": view})["TableDescription"][
                    "LatestStreamArn"]
            self.ddb.put_item(TableName=name, Item={"pk": {"S": "k"}, "a": {"N": "1"}})
            self.ddb.put_item(TableName=name, Item={"pk": {"S": "k"}, "a": {"N": "2"}})
            recs = self.read_all(arn)
            self.assertEqual(len(recs), 2, view)
            modify = recs[1]["dynamodb"]
            self.assertEqual(modify["Keys"], {"pk": {"S": "k"}})
            self.assertEqual(modify["StreamViewType"], view)
            self.assertEqual("NewImage" in modify, new, view)
            self.assertEqual("OldImage" in modify, old, view)
            if new:
                self.assertEqual(modify["NewImage"], {"pk": {"S": "k"}, "a": {"N": "2"}})
            if old:
                self.assertEqual(modify["OldImage"], {"pk": {"S": "k"}, "a": {"N": "1"}})
            desc = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]
            self.assertEqual(desc["StreamViewType"], view)

    def test_enable_disable_and_list(self):
        self.ddb.create_table(**keyed("later"))
        self.assertNotIn("LatestStreamArn", self.ddb.describe_table(TableName="later")["Table"])
        r = self.error(self.ddb.update_table, TableName="later",
                       StreamSpecification={"StreamEnabled": False})
        self.assertEqual(r["Error"]["Code"], "ValidationException")
        desc = self.ddb.update_table(TableName="later", StreamSpecification={
            "StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})["TableDescription"]
        arn1 = desc["LatestStreamArn"]
        self.assertEqual(desc["StreamSpecification"]["StreamViewType"], "KEYS_ONLY")
        r = self.error(self.ddb.update_table, TableName="later", StreamSpecification={
            "StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        self.assertEqual(r["Error"]["Code"], "ValidationException")
        self.assertEqual(r["Error"]["Message"],
                         "Table already has an enabled stream: TableName: later")
        self.ddb.put_item(TableName="later", Item={"pk": {"S": "x"}})

        listed = self.streams.list_streams(TableName="later")["Streams"]
        self.assertEqual(listed, [{"StreamArn": arn1, "TableName": "later",
                                   "StreamLabel": desc["LatestStreamLabel"]}])
        d = self.streams.describe_stream(StreamArn=arn1)["StreamDescription"]
        self.assertEqual((d["StreamStatus"], d["TableName"]), ("ENABLED", "later"))
        self.assertEqual(d["KeySchema"], [{"AttributeName": "pk", "KeyType": "HASH"}])
        self.assertRegex(d["Shards"][0]["ShardId"], r"^shardId-\d{20}-[0-9a-f]{8}$")
        self.assertNotIn("EndingSequenceNumber", d["Shards"][0]["SequenceNumberRange"])
        it = self.streams.get_shard_iterator(StreamArn=arn1, ShardId=d["Shards"][0]["ShardId"],
                                             ShardIteratorType="LATEST")["ShardIterator"]
        self.assertEqual(self.streams.get_records(ShardIterator=it)["Records"], [])

        # Disabling closes the shard; the stream stays readable and listed,
        # DescribeTable still names it, and no new records arrive.
        desc = self.ddb.update_table(TableName="later",
                                     StreamSpecification={"StreamEnabled": False})
        self.ddb.put_item(TableName="later", Item={"pk": {"S": "y"}})
        table = self.ddb.describe_table(TableName="later")["Table"]
        self.assertEqual(table["LatestStreamArn"], arn1)
        self.assertNotIn("StreamSpecification", table)
        d = self.streams.describe_stream(StreamArn=arn1)["StreamDescription"]
        self.assertEqual(d["StreamStatus"], "DISABLED")
        rng = d["Shards"][0]["SequenceNumberRange"]
        self.assertIn("EndingSequenceNumber", rng)
        recs = self.read_all(arn1)
        self.assertEqual([r["dynamodb"]["Keys"] for r in recs], [{"pk": {"S": "x"}}])
        self.assertEqual(rng["EndingSequenceNumber"], recs[-1]["dynamodb"]["SequenceNumber"])
        self.assertNotIn("NewImage", recs[0]["dynamodb"])  # KEYS_ONLY
        # A closed shard read to its end has no next iterator.
        res = self.streams.get_records(ShardIterator=self.streams.get_shard_iterator(
            StreamArn=arn1, ShardId=d["Shards"][0]["ShardId"],
            ShardIteratorType="TRIM_HORIZON")["ShardIterator"])
        self.assertEqual(len(res["Records"]), 1)
        self.assertNotIn("NextShardIterator", res)

        # Enabling again makes a new stream with its own ARN and shard.
        time.sleep(0.01)
        arn2 = self.ddb.update_table(TableName="later", StreamSpecification={
            "StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})["TableDescription"][
                "LatestStreamArn"]
        self.assertNotEqual(arn1, arn2)
        self.ddb.put_item(TableName="later", Item={"pk": {"S": "z"}})
        self.assertEqual([r["dynamodb"]["Keys"]["pk"]["S"] for r in self.read_all(arn2)], ["z"])
        listed = [s["StreamArn"] for s in self.streams.list_streams(TableName="later")["Streams"]]
        self.assertEqual(listed, [arn1, arn2])

        # Pagination of ListStreams.
        page = self.streams.list_streams(TableName="later", Limit=1)
        self.assertEqual([s["StreamArn"] for s in page["Streams"]], [arn1])
        self.assertEqual(page["LastEvaluatedStreamArn"], arn1)
        page = self.streams.list_streams(TableName="later", Limit=1,
                                         ExclusiveStartStreamArn=arn1)
        self.assertEqual([s["StreamArn"] for s in page["Streams"]], [arn2])
        self.assertNotIn("LastEvaluatedStreamArn", page)
        everything = [s["StreamArn"] for s in self.streams.list_streams()["Streams"]]
        self.assertIn(arn2, everything)

        # A deleted table's stream stays readable (closed).
        self.ddb.delete_table(TableName="later")
        d = self.streams.describe_stream(StreamArn=arn2)["StreamDescription"]
        self.assertEqual(d["StreamStatus"], "DISABLED")
        self.assertEqual(len(self.read_all(arn2)), 1)

    def test_ttl_deletions_are_service_removals(self):
        arn = self.ddb.create_table(**keyed("ttl"), StreamSpecification={
            "StreamEnabled": True, "StreamViewType": "OLD_IMAGE"})["TableDescription"][
                "LatestStreamArn"]
        self.ddb.update_time_to_live(TableName="ttl", TimeToLiveSpecification={
            "Enabled": True, "AttributeName": "exp"})
        past = str(int(time.time()) - 10)
        self.ddb.put_item(TableName="ttl", Item={"pk": {"S": "old"}, "exp": {"N": past}})
        self.ddb.put_item(TableName="ttl", Item={"pk": {"S": "gone"}})
        self.ddb.delete_item(TableName="ttl", Key={"pk": {"S": "gone"}})
        req = urllib.request.Request(self.emu.endpoint + "/_aws/dynamodb/expired",
                                     method="DELETE")
        with urllib.request.urlopen(req, timeout=10) as resp:
            self.assertEqual(json.loads(resp.read()), {"ExpiredItems": 1})
        recs = self.read_all(arn)
        self.assertEqual([r["eventName"] for r in recs], ["INSERT", "INSERT", "REMOVE", "REMOVE"])
        self.assertNotIn("userIdentity", recs[2])  # the client's own delete
        self.assertEqual(recs[3]["userIdentity"],
                         {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"})
        self.assertEqual(recs[3]["dynamodb"]["OldImage"]["exp"], {"N": past})

    def test_get_records_limit_and_paging(self):
        arn = self.ddb.create_table(**keyed("many"), StreamSpecification={
            "StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})["TableDescription"][
                "LatestStreamArn"]
        for i in range(25):
            self.ddb.put_item(TableName="many", Item={"pk": {"S": "k%02d" % i}})
        shard = self.shard_of(arn)
        it = self.streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                             ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        got = []
        while True:
            res = self.streams.get_records(ShardIterator=it, Limit=10)
            self.assertLessEqual(len(res["Records"]), 10)
            got += [r["dynamodb"]["Keys"]["pk"]["S"] for r in res["Records"]]
            it = res["NextShardIterator"]  # an open shard always has one
            if not res["Records"]:
                break
        self.assertEqual(got, ["k%02d" % i for i in range(25)])
        # The iterator at the end sees later writes.
        self.ddb.put_item(TableName="many", Item={"pk": {"S": "late"}})
        res = self.streams.get_records(ShardIterator=it)
        self.assertEqual([r["dynamodb"]["Keys"]["pk"]["S"] for r in res["Records"]], ["late"])
        self.assertEqual(shard["SequenceNumberRange"]["StartingSequenceNumber"],
                         self.read_all(arn)[0]["dynamodb"]["SequenceNumber"])
        raw = boto3.client("dynamodbstreams", endpoint_url=self.emu.endpoint,
                           region_name="us-east-1", aws_access_key_id="test",
                           aws_secret_access_key="test",
                           config=Config(parameter_validation=False))
        for bad in (0, 1001):
            r = self.error(raw.get_records, ShardIterator=it, Limit=bad)
            self.assertEqual(r["Error"]["Code"], "ValidationException")
            self.assertIn("at 'limit' failed to satisfy constraint", r["Error"]["Message"])

    def test_errors(self):
        arn = self.ddb.create_table(**keyed("errs"), StreamSpecification={
            "StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})["TableDescription"][
                "LatestStreamArn"]
        self.ddb.put_item(TableName="errs", Item={"pk": {"S": "k"}})
        shard = self.shard_of(arn)["ShardId"]
        missing = arn.replace("errs", "nosuch")
        for fn, kwargs in ((self.streams.describe_stream, {"StreamArn": missing}),
                           (self.streams.get_shard_iterator,
                            {"StreamArn": missing, "ShardId": shard,
                             "ShardIteratorType": "LATEST"}),
                           (self.streams.list_streams, {"TableName": "nosuch"})):
            r = self.error(fn, **kwargs)
            self.assertEqual(r["Error"]["Code"], "ResourceNotFoundException")
            self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 400)
        r = self.error(self.streams.get_shard_iterator, StreamArn=arn,
                       ShardId="shardId-00000000000000000000-00000000",
                       ShardIteratorType="LATEST")
        self.assertEqual(r["Error"]["Code"], "ResourceNotFoundException")
        r = self.error(self.streams.get_shard_iterator, StreamArn=arn, ShardId=shard,
                       ShardIteratorType="AT_SEQUENCE_NUMBER")
        self.assertEqual(r["Error"]["Code"], "ValidationException")
        for seq in ("9" * 21, "0" * 21, "1" * 40):
            r = self.error(self.streams.get_shard_iterator, StreamArn=arn, ShardId=shard,
                           ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=seq)
            self.assertEqual(r["Error"]["Code"], "ValidationException", seq)
        for bad in ("x", "garbage|1|x|y|z", arn + "|1|" + shard + "|1|1",
                    arn + "|2|" + shard + "|1|1", "|" * 2000):
            r = self.error(self.streams.get_records, ShardIterator=bad)
            self.assertEqual(r["Error"]["Code"], "ValidationException", bad)
            self.assertEqual(r["Error"]["Message"], "Invalid ShardIterator")
        # An iterator older than 15 minutes has expired.
        it = self.streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                             ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        parts = it.split("|")
        parts[-1] = str(int(parts[-1]) - 16 * 60 * 1000)
        r = self.error(self.streams.get_records, ShardIterator="|".join(parts))
        self.assertEqual(r["Error"]["Code"], "ExpiredIteratorException")
        # Stream specifications that DynamoDB refuses.
        for spec in ({"StreamEnabled": True}, {"StreamEnabled": False,
                                               "StreamViewType": "KEYS_ONLY"},
                     {"StreamEnabled": True, "StreamViewType": "EVERYTHING"}):
            r = self.error(self.ddb.create_table, **keyed("badspec"), StreamSpecification=spec)
            self.assertEqual(r["Error"]["Code"], "ValidationException", spec)
        self.assertNotIn("badspec", self.ddb.list_tables()["TableNames"])
        # Another account sees none of these streams.
        other = boto3.client("dynamodbstreams", endpoint_url=self.emu.endpoint,
                             region_name="us-east-1", aws_access_key_id="111122223333",
                             aws_secret_access_key="test")
        self.assertEqual(other.list_streams()["Streams"], [])
        r = self.error(other.describe_stream, StreamArn=arn)
        self.assertEqual(r["Error"]["Code"], "ResourceNotFoundException")

    def test_routing_by_target(self):
        # Signed as "dynamodb" (what the SDKs do) or not signed at all, the
        # target alone tells DynamoDB Streams from DynamoDB.
        for auth in (None, "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/"
                           "aws4_request, SignedHeaders=host, Signature=" + "0" * 64):
            headers = {"Content-Type": "application/x-amz-json-1.0",
                       "X-Amz-Target": "DynamoDBStreams_20120810.ListStreams"}
            if auth:
                headers["Authorization"] = auth
            req = urllib.request.Request(self.emu.endpoint + "/", data=b"{}", headers=headers,
                                         method="POST")
            with urllib.request.urlopen(req, timeout=10) as resp:
                self.assertEqual(resp.status, 200)
                self.assertIn("Streams", json.loads(resp.read()))

    def test_reset_clears_streams(self):
        emu = Emulator()
        try:
            kw = dict(endpoint_url=emu.endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
            ddb, streams = boto3.client("dynamodb", **kw), boto3.client("dynamodbstreams", **kw)
            ddb.create_table(**keyed("rst"), StreamSpecification={
                "StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
            ddb.put_item(TableName="rst", Item={"pk": {"S": "k"}})
            self.assertEqual(len(streams.list_streams()["Streams"]), 1)
            urllib.request.urlopen(urllib.request.Request(
                emu.endpoint + "/_localstack/state/reset", method="POST"), timeout=10).read()
            self.assertEqual(streams.list_streams()["Streams"], [])
            health = json.loads(urllib.request.urlopen(emu.endpoint + "/_localstack/health",
                                                       timeout=10).read())
            self.assertIn("dynamodbstreams", health["services"])
        finally:
            emu.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
