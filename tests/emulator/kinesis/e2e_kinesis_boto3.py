#!/usr/bin/python3
"""End-to-end Kinesis Data Streams tests with Debian's boto3 against a real
`airgap emulator` ($AIRGAP_BIN): shards and their hash-key ranges, records
routed by the MD5 of their partition key (computed here independently),
sequence numbers, every iterator type, GetRecords paging, a reshard (split
then merge) with its lineage, UpdateShardCount, ListShards filters and
NextTokens, retention, tags, encryption, consumers, and the errors the
Kinesis API reference lists. A second emulator runs with LocalStack's
KINESIS_LATENCY and KINESIS_ERROR_PROBABILITY and a short iterator lifetime
to check status transitions, the waiters, per-record failures and expiry."""

import base64
import hashlib
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

MAX_KEY = 2 ** 128 - 1


def client(endpoint, validate=True):
    return boto3.client(
        "kinesis", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, parameter_validation=validate))


def hash_of(key):
    return int(hashlib.md5(key.encode()).hexdigest(), 16)


def shard_for(shards, h):
    for s in shards:
        r = s["HashKeyRange"]
        if int(r["StartingHashKey"]) <= h <= int(r["EndingHashKey"]):
            return s["ShardId"]
    raise AssertionError("no shard holds %d" % h)


def open_shards(kin, name):
    shards = kin.list_shards(StreamName=name, ShardFilter={"Type": "AT_LATEST"})["Shards"]
    return [s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]]


def read_all(kin, name, shard_id, kind="TRIM_HORIZON", **kw):
    it = kin.get_shard_iterator(StreamName=name, ShardId=shard_id, ShardIteratorType=kind,
                                **kw)["ShardIterator"]
    out = []
    for _ in range(100):
        r = kin.get_records(ShardIterator=it, Limit=1000)
        out += r["Records"]
        it = r.get("NextShardIterator")
        if not it or not r["Records"]:
            return out, r
    raise AssertionError("shard never ended")


class KinesisCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.emu = Emulator(extra_env={"KINESIS_LATENCY": "0"})
        cls.kin = client(cls.emu.endpoint)
        cls.raw = client(cls.emu.endpoint, validate=False)

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def code(self, fn, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(**kw)
        return cm.exception.response["Error"]["Code"], cm.exception.response["Error"]["Message"]

    def test_shards_split_the_hash_space_evenly(self):
        self.kin.create_stream(StreamName="even", ShardCount=3)
        d = self.kin.describe_stream(StreamName="even")["StreamDescription"]
        self.assertEqual(d["StreamStatus"], "ACTIVE")
        self.assertEqual(d["StreamARN"], "arn:aws:kinesis:us-east-1:000000000000:stream/even")
        self.assertEqual(d["RetentionPeriodHours"], 24)
        self.assertFalse(d["HasMoreShards"])
        self.assertEqual(d["StreamModeDetails"], {"StreamMode": "PROVISIONED"})
        width = 2 ** 128 // 3
        ranges = [(int(s["HashKeyRange"]["StartingHashKey"]),
                   int(s["HashKeyRange"]["EndingHashKey"])) for s in d["Shards"]]
        self.assertEqual(ranges, [(0, width - 1), (width, 2 * width - 1), (2 * width, MAX_KEY)])
        self.assertEqual([s["ShardId"] for s in d["Shards"]],
                         ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"])
        page = self.kin.describe_stream(StreamName="even", Limit=2)["StreamDescription"]
        self.assertTrue(page["HasMoreShards"])
        rest = self.kin.describe_stream(StreamName="even", ExclusiveStartShardId=page["Shards"][-1][
            "ShardId"])["StreamDescription"]
        self.assertEqual([s["ShardId"] for s in rest["Shards"]], ["shardId-000000000002"])
        summary = self.kin.describe_stream_summary(StreamName="even")["StreamDescriptionSummary"]
        self.assertEqual((summary["OpenShardCount"], summary["ConsumerCount"]), (3, 0))

    def test_records_go_to_the_md5_shard_in_order(self):
        self.kin.create_stream(StreamName="route", ShardCount=4)
        shards = self.kin.list_shards(StreamName="route")["Shards"]
        keys = ["key-%d" % i for i in range(200)]
        res = self.kin.put_records(StreamName="route", Records=[
            {"Data": ("v%d" % i).encode(), "PartitionKey": k} for i, k in enumerate(keys)])
        self.assertEqual(res["FailedRecordCount"], 0)
        self.assertEqual(res["EncryptionType"], "NONE")
        per_shard = {}
        for i, (k, r) in enumerate(zip(keys, res["Records"])):
            self.assertEqual(r["ShardId"], shard_for(shards, hash_of(k)), k)
            self.assertEqual(len(r["SequenceNumber"]), 56)
            per_shard.setdefault(r["ShardId"], []).append((int(r["SequenceNumber"]), b"v%d" % i))
        self.assertEqual(len(per_shard), 4)
        one = self.kin.put_record(StreamName="route", Data=b"single", PartitionKey="key-0")
        self.assertEqual(one["ShardId"], shard_for(shards, hash_of("key-0")))
        per_shard[one["ShardId"]].append((int(one["SequenceNumber"]), b"single"))
        for shard_id, expected in per_shard.items():
            seqs = [s for s, _ in expected]
            self.assertEqual(seqs, sorted(seqs))
            records, last = read_all(self.kin, "route", shard_id)
            self.assertEqual([(int(r["SequenceNumber"]), r["Data"]) for r in records], expected)
            self.assertEqual(last["MillisBehindLatest"], 0)
            self.assertIn("NextShardIterator", last)
        # ExplicitHashKey overrides the partition key.
        top = self.kin.put_record(StreamName="route", Data=b"x", PartitionKey="key-0",
                                  ExplicitHashKey=str(MAX_KEY))
        self.assertEqual(top["ShardId"], shards[-1]["ShardId"])
        bottom = self.kin.put_records(StreamName="route", Records=[
            {"Data": b"x", "PartitionKey": "a", "ExplicitHashKey": "0"}])
        self.assertEqual(bottom["Records"][0]["ShardId"], shards[0]["ShardId"])
        code, msg = self.code(self.kin.put_record, StreamName="route", Data=b"x", PartitionKey="k",
                              ExplicitHashKey=str(MAX_KEY + 1))
        self.assertEqual(code, "InvalidArgumentException")
        self.assertIn("ExplicitHashKey", msg)

    def test_iterator_types(self):
        self.kin.create_stream(StreamName="iters", ShardCount=1)
        sid = "shardId-000000000000"
        seqs = []
        for i in range(5):
            seqs.append(self.kin.put_record(StreamName="iters", Data=b"%d" % i,
                                            PartitionKey="p")["SequenceNumber"])
        # botocore sends whole seconds: start the later records in a new second.
        middle = int(time.time()) + 1
        time.sleep(middle - time.time() + 0.02)
        for i in range(5, 8):
            seqs.append(self.kin.put_record(StreamName="iters", Data=b"%d" % i,
                                            PartitionKey="p")["SequenceNumber"])

        def data(kind, **kw):
            records, _ = read_all(self.kin, "iters", sid, kind, **kw)
            return [r["Data"] for r in records]

        self.assertEqual(data("TRIM_HORIZON"), [b"%d" % i for i in range(8)])
        start = self.kin.list_shards(StreamName="iters")["Shards"][0]["SequenceNumberRange"][
            "StartingSequenceNumber"]
        self.assertEqual(data("AT_SEQUENCE_NUMBER", StartingSequenceNumber=start),
                         [b"%d" % i for i in range(8)])
        self.assertEqual(data("AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=start),
                         [b"%d" % i for i in range(8)])
        self.assertEqual(data("AT_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[3]),
                         [b"3", b"4", b"5", b"6", b"7"])
        self.assertEqual(data("AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[3]),
                         [b"4", b"5", b"6", b"7"])
        self.assertEqual(data("AT_TIMESTAMP", Timestamp=middle), [b"5", b"6", b"7"])
        self.assertEqual(data("AT_TIMESTAMP", Timestamp=time.time() + 60), [])
        latest = self.kin.get_shard_iterator(StreamName="iters", ShardId=sid,
                                             ShardIteratorType="LATEST")["ShardIterator"]
        self.assertEqual(self.kin.get_records(ShardIterator=latest)["Records"], [])
        self.kin.put_record(StreamName="iters", Data=b"new", PartitionKey="p")
        got = self.kin.get_records(ShardIterator=latest)
        self.assertEqual([r["Data"] for r in got["Records"]], [b"new"])
        self.assertEqual(got["Records"][0]["PartitionKey"], "p")
        # Limit pages, and MillisBehindLatest says how far the reader is behind.
        it = self.kin.get_shard_iterator(StreamName="iters", ShardId=sid,
                                         ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        first = self.kin.get_records(ShardIterator=it, Limit=2)
        self.assertEqual([r["Data"] for r in first["Records"]], [b"0", b"1"])
        self.assertGreater(first["MillisBehindLatest"], 0)
        second = self.kin.get_records(ShardIterator=first["NextShardIterator"], Limit=2)
        self.assertEqual([r["Data"] for r in second["Records"]], [b"2", b"3"])
        # The shard id may be given as its bare number.
        bare = self.kin.get_shard_iterator(StreamName="iters", ShardId="0",
                                           ShardIteratorType="TRIM_HORIZON")
        self.assertIn("ShardIterator", bare)

    def test_iterator_errors(self):
        self.kin.create_stream(StreamName="iterr", ShardCount=2)
        s0 = self.kin.put_record(StreamName="iterr", Data=b"x", PartitionKey="a",
                                 ExplicitHashKey="0")
        code, msg = self.code(self.kin.get_shard_iterator, StreamName="iterr",
                              ShardId="shardId-000000000001",
                              ShardIteratorType="AT_SEQUENCE_NUMBER",
                              StartingSequenceNumber=s0["SequenceNumber"])
        self.assertEqual(code, "InvalidArgumentException")
        self.assertIn("encodes shardId-000000000000", msg)
        code, _ = self.code(self.kin.get_shard_iterator, StreamName="iterr",
                            ShardId="shardId-000000000000",
                            ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber="12")
        self.assertEqual(code, "InvalidArgumentException")
        code, _ = self.code(self.kin.get_shard_iterator, StreamName="iterr",
                            ShardId="shardId-000000000000", ShardIteratorType="AT_TIMESTAMP")
        self.assertEqual(code, "InvalidArgumentException")
        code, msg = self.code(self.kin.get_shard_iterator, StreamName="iterr",
                              ShardId="shardId-000000000009", ShardIteratorType="LATEST")
        self.assertEqual(code, "ResourceNotFoundException")
        self.assertIn("shardId-000000000009", msg)
        code, _ = self.code(self.raw.get_shard_iterator, StreamName="iterr",
                            ShardId="shardId-000000000000", ShardIteratorType="SOMEWHERE")
        self.assertEqual(code, "ValidationException")
        it = self.kin.get_shard_iterator(StreamName="iterr", ShardId="shardId-000000000000",
                                         ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        raw = base64.b64decode(it)
        forged = base64.b64encode(raw[:-1] + (b"1" if raw[-1:] == b"0" else b"0")).decode()
        code, _ = self.code(self.kin.get_records, ShardIterator=forged)
        self.assertEqual(code, "InvalidArgumentException")
        code, _ = self.code(self.kin.get_records, ShardIterator="not-an-iterator")
        self.assertEqual(code, "InvalidArgumentException")
        # An iterator of a deleted and re-created stream names nothing.
        self.kin.delete_stream(StreamName="iterr")
        self.kin.create_stream(StreamName="iterr", ShardCount=2)
        code, _ = self.code(self.kin.get_records, ShardIterator=it)
        self.assertEqual(code, "ResourceNotFoundException")

    def test_split_then_merge_keeps_lineage(self):
        self.kin.create_stream(StreamName="reshard", ShardCount=2)
        before = self.kin.put_record(StreamName="reshard", Data=b"before", PartitionKey="x",
                                     ExplicitHashKey="1")
        self.assertEqual(before["ShardId"], "shardId-000000000000")
        middle = 2 ** 126
        self.kin.split_shard(StreamName="reshard", ShardToSplit="shardId-000000000000",
                             NewStartingHashKey=str(middle))
        shards = {s["ShardId"]: s for s in self.kin.list_shards(StreamName="reshard")["Shards"]}
        self.assertEqual(sorted(shards), ["shardId-00000000000%d" % i for i in range(4)])
        parent = shards["shardId-000000000000"]
        self.assertIn("EndingSequenceNumber", parent["SequenceNumberRange"])
        a, b = shards["shardId-000000000002"], shards["shardId-000000000003"]
        self.assertEqual((a["ParentShardId"], b["ParentShardId"]),
                         ("shardId-000000000000", "shardId-000000000000"))
        self.assertEqual(a["HashKeyRange"], {"StartingHashKey": "0",
                                             "EndingHashKey": str(middle - 1)})
        self.assertEqual(b["HashKeyRange"]["StartingHashKey"], str(middle))
        self.assertEqual(b["HashKeyRange"]["EndingHashKey"],
                         parent["HashKeyRange"]["EndingHashKey"])
        self.assertGreater(int(a["SequenceNumberRange"]["StartingSequenceNumber"]),
                           int(parent["SequenceNumberRange"]["EndingSequenceNumber"]))
        after = self.kin.put_record(StreamName="reshard", Data=b"after", PartitionKey="x",
                                    ExplicitHashKey="1")
        self.assertEqual(after["ShardId"], "shardId-000000000002")
        self.assertGreater(int(after["SequenceNumber"]), int(before["SequenceNumber"]))
        records, last = read_all(self.kin, "reshard", "shardId-000000000000")
        self.assertEqual([r["Data"] for r in records], [b"before"])
        self.assertNotIn("NextShardIterator", last)
        self.assertEqual(sorted(c["ShardId"] for c in last["ChildShards"]),
                         ["shardId-000000000002", "shardId-000000000003"])
        self.assertEqual(last["ChildShards"][0]["ParentShards"], ["shardId-000000000000"])
        # Splitting a closed shard, and at a key outside the shard, fail.
        code, _ = self.code(self.kin.split_shard, StreamName="reshard",
                            ShardToSplit="shardId-000000000000", NewStartingHashKey="5")
        self.assertEqual(code, "InvalidArgumentException")
        code, _ = self.code(self.kin.split_shard, StreamName="reshard",
                            ShardToSplit="shardId-000000000002", NewStartingHashKey=str(middle))
        self.assertEqual(code, "InvalidArgumentException")
        # Merging shards that are not adjacent fails; merging the children works.
        code, _ = self.code(self.kin.merge_shards, StreamName="reshard",
                            ShardToMerge="shardId-000000000002",
                            AdjacentShardToMerge="shardId-000000000001")
        self.assertEqual(code, "InvalidArgumentException")
        self.kin.merge_shards(StreamName="reshard", ShardToMerge="shardId-000000000002",
                              AdjacentShardToMerge="shardId-000000000003")
        merged = [s for s in self.kin.list_shards(StreamName="reshard")["Shards"]
                  if s["ShardId"] == "shardId-000000000004"][0]
        self.assertEqual((merged["ParentShardId"], merged["AdjacentParentShardId"]),
                         ("shardId-000000000002", "shardId-000000000003"))
        self.assertEqual(merged["HashKeyRange"], parent["HashKeyRange"])
        _, last = read_all(self.kin, "reshard", "shardId-000000000003")
        self.assertEqual(last["ChildShards"], [{
            "ShardId": "shardId-000000000004",
            "ParentShards": ["shardId-000000000002", "shardId-000000000003"],
            "HashKeyRange": merged["HashKeyRange"]}])
        self.assertEqual([s["ShardId"] for s in open_shards(self.kin, "reshard")],
                         ["shardId-000000000001", "shardId-000000000004"])
        code, _ = self.code(self.kin.merge_shards, StreamName="reshard",
                            ShardToMerge="shardId-000000000002",
                            AdjacentShardToMerge="shardId-000000000001")
        self.assertEqual(code, "InvalidArgumentException")

    def test_update_shard_count(self):
        self.kin.create_stream(StreamName="scale", ShardCount=2)
        out = self.kin.update_shard_count(StreamName="scale", TargetShardCount=4,
                                          ScalingType="UNIFORM_SCALING")
        self.assertEqual((out["CurrentShardCount"], out["TargetShardCount"]), (2, 4))
        opened = open_shards(self.kin, "scale")
        self.assertEqual(len(opened), 4)
        self.assertEqual(opened[0]["HashKeyRange"]["StartingHashKey"], "0")
        self.assertEqual(opened[-1]["HashKeyRange"]["EndingHashKey"], str(MAX_KEY))
        self.assertEqual([s["ParentShardId"] for s in opened],
                         ["shardId-000000000000", "shardId-000000000000",
                          "shardId-000000000001", "shardId-000000000001"])
        code, _ = self.code(self.kin.update_shard_count, StreamName="scale", TargetShardCount=9,
                            ScalingType="UNIFORM_SCALING")
        self.assertEqual(code, "InvalidArgumentException")
        code, _ = self.code(self.kin.update_shard_count, StreamName="scale", TargetShardCount=1,
                            ScalingType="UNIFORM_SCALING")
        self.assertEqual(code, "InvalidArgumentException")

    def test_list_shards_filters_and_tokens(self):
        self.kin.create_stream(StreamName="listing", ShardCount=5)
        page = self.kin.list_shards(StreamName="listing", MaxResults=2)
        ids = [s["ShardId"] for s in page["Shards"]]
        while "NextToken" in page:
            page = self.kin.list_shards(NextToken=page["NextToken"], MaxResults=2)
            ids += [s["ShardId"] for s in page["Shards"]]
        self.assertEqual(ids, ["shardId-00000000000%d" % i for i in range(5)])
        first = self.kin.list_shards(StreamName="listing", MaxResults=1)
        code, _ = self.code(self.kin.list_shards, StreamName="listing",
                            NextToken=first["NextToken"])
        self.assertEqual(code, "InvalidArgumentException")
        code, _ = self.code(self.kin.list_shards, NextToken="Zm9v")
        self.assertEqual(code, "InvalidArgumentException")
        after = self.kin.list_shards(StreamName="listing", ExclusiveStartShardId="shardId-000000000002")
        self.assertEqual([s["ShardId"] for s in after["Shards"]],
                         ["shardId-000000000003", "shardId-000000000004"])
        filtered = self.kin.list_shards(StreamName="listing", ShardFilter={
            "Type": "AFTER_SHARD_ID", "ShardId": "shardId-000000000003"})
        self.assertEqual([s["ShardId"] for s in filtered["Shards"]], ["shardId-000000000004"])
        code, _ = self.code(self.kin.list_shards, StreamName="listing",
                            ShardFilter={"Type": "AFTER_SHARD_ID"})
        self.assertEqual(code, "InvalidArgumentException")
        self.kin.split_shard(StreamName="listing", ShardToSplit="shardId-000000000000",
                             NewStartingHashKey="100")
        latest = self.kin.list_shards(StreamName="listing", ShardFilter={"Type": "AT_LATEST"})
        self.assertEqual(len(latest["Shards"]), 6)
        horizon = self.kin.list_shards(StreamName="listing",
                                       ShardFilter={"Type": "AT_TRIM_HORIZON"})
        self.assertEqual(len(horizon["Shards"]), 7)
        code, _ = self.code(self.kin.list_shards, StreamName="missing")
        self.assertEqual(code, "ResourceNotFoundException")

    def test_list_streams_pages(self):
        for n in ("page-a", "page-b", "page-c"):
            self.kin.create_stream(StreamName=n, ShardCount=1)
        names = self.kin.list_streams()["StreamNames"]
        self.assertEqual(names, sorted(names))
        one = self.kin.list_streams(Limit=1, ExclusiveStartStreamName="page-a")
        self.assertEqual(one["StreamNames"], ["page-b"])
        self.assertTrue(one["HasMoreStreams"])

    def test_retention(self):
        self.kin.create_stream(StreamName="keep", ShardCount=1)
        self.kin.increase_stream_retention_period(StreamName="keep", RetentionPeriodHours=48)
        self.assertEqual(self.kin.describe_stream_summary(StreamName="keep")[
            "StreamDescriptionSummary"]["RetentionPeriodHours"], 48)
        for fn, hours in ((self.kin.increase_stream_retention_period, 8761),
                          (self.kin.decrease_stream_retention_period, 23),
                          (self.kin.increase_stream_retention_period, 30),
                          (self.kin.decrease_stream_retention_period, 72)):
            code, msg = self.code(fn, StreamName="keep", RetentionPeriodHours=hours)
            self.assertEqual(code, "InvalidArgumentException", (hours, msg))
        self.kin.decrease_stream_retention_period(StreamName="keep", RetentionPeriodHours=24)
        self.kin.increase_stream_retention_period(StreamName="keep", RetentionPeriodHours=8760)

    def test_tags(self):
        self.kin.create_stream(StreamName="tagged", ShardCount=1)
        self.kin.add_tags_to_stream(StreamName="tagged", Tags={"b": "2", "a": "1", "c": ""})
        tags = self.kin.list_tags_for_stream(StreamName="tagged")
        self.assertEqual(tags["Tags"], [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"},
                                        {"Key": "c", "Value": ""}])
        self.assertFalse(tags["HasMoreTags"])
        page = self.kin.list_tags_for_stream(StreamName="tagged", Limit=1,
                                             ExclusiveStartTagKey="a")
        self.assertEqual((page["Tags"], page["HasMoreTags"]), ([{"Key": "b", "Value": "2"}], True))
        self.kin.remove_tags_from_stream(StreamName="tagged", TagKeys=["a", "zz"])
        self.assertEqual([t["Key"] for t in self.kin.list_tags_for_stream(
            StreamName="tagged")["Tags"]], ["b", "c"])
        code, _ = self.code(self.kin.add_tags_to_stream, StreamName="tagged",
                            Tags={"k%d" % i: "v" for i in range(49)})
        self.assertEqual(code, "InvalidArgumentException")

    def test_encryption_and_monitoring(self):
        self.kin.create_stream(StreamName="secret", ShardCount=1)
        self.kin.start_stream_encryption(StreamName="secret", EncryptionType="KMS",
                                         KeyId="alias/aws/kinesis")
        d = self.kin.describe_stream_summary(StreamName="secret")["StreamDescriptionSummary"]
        self.assertEqual((d["EncryptionType"], d["KeyId"]), ("KMS", "alias/aws/kinesis"))
        put = self.kin.put_record(StreamName="secret", Data=b"x", PartitionKey="k")
        self.assertEqual(put["EncryptionType"], "KMS")
        records, _ = read_all(self.kin, "secret", "shardId-000000000000")
        self.assertEqual(records[0]["EncryptionType"], "KMS")
        code, _ = self.code(self.kin.start_stream_encryption, StreamName="secret",
                            EncryptionType="KMS", KeyId="alias/does-not-exist")
        self.assertEqual(code, "KMSNotFoundException")
        self.kin.stop_stream_encryption(StreamName="secret", EncryptionType="KMS",
                                        KeyId="alias/aws/kinesis")
        d = self.kin.describe_stream_summary(StreamName="secret")["StreamDescriptionSummary"]
        self.assertEqual(d["EncryptionType"], "NONE")
        on = self.kin.enable_enhanced_monitoring(StreamName="secret",
                                                 ShardLevelMetrics=["IncomingBytes"])
        self.assertEqual((on["CurrentShardLevelMetrics"], on["DesiredShardLevelMetrics"]),
                         ([], ["IncomingBytes"]))
        off = self.kin.disable_enhanced_monitoring(StreamName="secret", ShardLevelMetrics=["ALL"])
        self.assertEqual(off["DesiredShardLevelMetrics"], [])

    def test_consumers(self):
        self.kin.create_stream(StreamName="fanout", ShardCount=1)
        arn = self.kin.describe_stream_summary(StreamName="fanout")[
            "StreamDescriptionSummary"]["StreamARN"]
        c = self.kin.register_stream_consumer(StreamARN=arn, ConsumerName="app")["Consumer"]
        self.assertTrue(c["ConsumerARN"].startswith(arn + "/consumer/app:"))
        self.assertEqual(c["ConsumerStatus"], "ACTIVE")
        code, _ = self.code(self.kin.register_stream_consumer, StreamARN=arn, ConsumerName="app")
        self.assertEqual(code, "ResourceInUseException")
        by_arn = self.kin.describe_stream_consumer(ConsumerARN=c["ConsumerARN"])
        self.assertEqual(by_arn["ConsumerDescription"]["StreamARN"], arn)
        by_name = self.kin.describe_stream_consumer(StreamARN=arn, ConsumerName="app")
        self.assertEqual(by_name["ConsumerDescription"]["ConsumerARN"], c["ConsumerARN"])
        self.kin.register_stream_consumer(StreamARN=arn, ConsumerName="other")
        listed = self.kin.list_stream_consumers(StreamARN=arn, MaxResults=1)
        self.assertEqual(len(listed["Consumers"]), 1)
        rest = self.kin.list_stream_consumers(StreamARN=arn, NextToken=listed["NextToken"])
        self.assertEqual([x["ConsumerName"] for x in listed["Consumers"] + rest["Consumers"]],
                         ["app", "other"])
        self.assertEqual(self.kin.describe_stream_summary(StreamName="fanout")[
            "StreamDescriptionSummary"]["ConsumerCount"], 2)
        self.kin.deregister_stream_consumer(StreamARN=arn, ConsumerName="other")
        code, _ = self.code(self.kin.describe_stream_consumer, StreamARN=arn,
                            ConsumerName="other")
        self.assertEqual(code, "ResourceNotFoundException")
        code, _ = self.code(self.kin.delete_stream, StreamName="fanout")
        self.assertEqual(code, "ResourceInUseException")
        self.kin.delete_stream(StreamName="fanout", EnforceConsumerDeletion=True)
        code, _ = self.code(self.kin.describe_stream_consumer, ConsumerARN=c["ConsumerARN"])
        self.assertEqual(code, "ResourceNotFoundException")

    def test_limits_and_validation(self):
        self.kin.create_stream(StreamName="limits", ShardCount=1)
        code, msg = self.code(self.kin.create_stream, StreamName="limits", ShardCount=1)
        self.assertEqual(code, "ResourceInUseException")
        self.assertIn("already exists", msg)
        code, msg = self.code(self.kin.describe_stream, StreamName="nope")
        self.assertEqual(code, "ResourceNotFoundException")
        self.assertEqual(msg, "Stream nope under account 000000000000 not found.")
        code, _ = self.code(self.raw.create_stream, StreamName="bad name!", ShardCount=1)
        self.assertEqual(code, "ValidationException")
        code, _ = self.code(self.raw.create_stream, StreamName="zero", ShardCount=0)
        self.assertEqual(code, "ValidationException")
        code, _ = self.code(self.kin.create_stream, StreamName="huge", ShardCount=501)
        self.assertEqual(code, "LimitExceededException")
        code, msg = self.code(self.raw.put_records, StreamName="limits", Records=[
            {"Data": b"x", "PartitionKey": "k"}] * 501)
        self.assertEqual(code, "ValidationException")
        self.assertIn("less than or equal to 500", msg)
        code, msg = self.code(self.raw.put_record, StreamName="limits",
                              Data=b"x" * (1024 * 1024 + 1), PartitionKey="k")
        self.assertEqual(code, "ValidationException")
        self.assertIn("1048576", msg)
        code, _ = self.code(self.raw.put_record, StreamName="limits", Data=b"x",
                            PartitionKey="k" * 257)
        self.assertEqual(code, "ValidationException")
        code, msg = self.code(self.kin.put_records, StreamName="limits", Records=[
            {"Data": b"x" * (1024 * 1024 - 10), "PartitionKey": "k"}] * 5 + [
            {"Data": b"y" * 100000, "PartitionKey": "k"}])
        self.assertEqual(code, "InvalidArgumentException")
        self.assertIn("5 MB", msg)
        ok = self.kin.put_record(StreamName="limits", Data=b"z" * (1024 * 1024 - 1),
                                 PartitionKey="k")
        self.assertEqual(ok["ShardId"], "shardId-000000000000")
        limits = self.kin.describe_limits()
        self.assertEqual(limits["ShardLimit"], 500)
        self.assertGreaterEqual(limits["OpenShardCount"], 1)

    def test_on_demand(self):
        self.kin.create_stream(StreamName="ondemand",
                               StreamModeDetails={"StreamMode": "ON_DEMAND"})
        d = self.kin.describe_stream_summary(StreamName="ondemand")["StreamDescriptionSummary"]
        self.assertEqual(d["StreamModeDetails"], {"StreamMode": "ON_DEMAND"})
        self.assertEqual(d["OpenShardCount"], 4)
        code, _ = self.code(self.kin.create_stream, StreamName="ondemand2", ShardCount=2,
                            StreamModeDetails={"StreamMode": "ON_DEMAND"})
        self.assertEqual(code, "InvalidArgumentException")
        self.kin.update_stream_mode(StreamARN=d["StreamARN"],
                                    StreamModeDetails={"StreamMode": "PROVISIONED"})
        d = self.kin.describe_stream_summary(StreamName="ondemand")["StreamDescriptionSummary"]
        self.assertEqual(d["StreamModeDetails"], {"StreamMode": "PROVISIONED"})


class TransitionsCase(unittest.TestCase):
    """KINESIS_LATENCY=400: streams are CREATING, UPDATING and DELETING for a
    while; KINESIS_ERROR_PROBABILITY=1 fails every write and read with
    ProvisionedThroughputExceededException; iterators live 300 ms."""

    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.emu = Emulator(extra_env={"KINESIS_LATENCY": "400", "KINESIS_ERROR_PROBABILITY": "1",
                                      "AIRGAP_KINESIS_ITERATOR_TTL_MS": "300"})
        cls.kin = client(cls.emu.endpoint)

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def code(self, fn, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(**kw)
        return cm.exception.response["Error"]["Code"]

    def test_status_waiters_failures_and_expiry(self):
        kin = self.kin
        kin.create_stream(StreamName="slow", ShardCount=2)
        self.assertEqual(kin.describe_stream(StreamName="slow")["StreamDescription"][
            "StreamStatus"], "CREATING")
        self.assertEqual(self.code(kin.put_record, StreamName="slow", Data=b"x",
                                   PartitionKey="k"), "ResourceNotFoundException")
        kin.get_waiter("stream_exists").wait(StreamName="slow",
                                             WaiterConfig={"Delay": 1, "MaxAttempts": 10})
        self.assertEqual(kin.describe_stream(StreamName="slow")["StreamDescription"][
            "StreamStatus"], "ACTIVE")
        res = kin.put_records(StreamName="slow", Records=[
            {"Data": b"x", "PartitionKey": "k%d" % i} for i in range(3)])
        self.assertEqual(res["FailedRecordCount"], 3)
        self.assertEqual({r["ErrorCode"] for r in res["Records"]},
                         {"ProvisionedThroughputExceededException"})
        self.assertTrue(all("Rate exceeded" in r["ErrorMessage"] for r in res["Records"]))
        self.assertEqual(self.code(kin.put_record, StreamName="slow", Data=b"x",
                                   PartitionKey="k"), "ProvisionedThroughputExceededException")
        it = kin.get_shard_iterator(StreamName="slow", ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        time.sleep(0.4)
        with self.assertRaises(ClientError) as cm:
            kin.get_records(ShardIterator=it)
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], "ExpiredIteratorException")
        self.assertIn("Iterator expired", err["Message"])
        kin.split_shard(StreamName="slow", ShardToSplit="shardId-000000000000",
                        NewStartingHashKey="1000")
        self.assertEqual(kin.describe_stream_summary(StreamName="slow")[
            "StreamDescriptionSummary"]["StreamStatus"], "UPDATING")
        self.assertEqual(self.code(kin.split_shard, StreamName="slow",
                                   ShardToSplit="shardId-000000000001",
                                   NewStartingHashKey=str(2 ** 127 + 5)),
                         "ResourceInUseException")
        kin.get_waiter("stream_exists").wait(StreamName="slow",
                                             WaiterConfig={"Delay": 1, "MaxAttempts": 10})
        kin.delete_stream(StreamName="slow")
        self.assertEqual(kin.describe_stream(StreamName="slow")["StreamDescription"][
            "StreamStatus"], "DELETING")
        kin.get_waiter("stream_not_exists").wait(StreamName="slow",
                                                 WaiterConfig={"Delay": 1, "MaxAttempts": 10})
        self.assertEqual(self.code(kin.describe_stream, StreamName="slow"),
                         "ResourceNotFoundException")
        # SubscribeToShard of a consumer that does not exist (the event
        # stream itself: e2e_kinesis_subscribe.py).
        with self.assertRaises(ClientError) as cm:
            kin.subscribe_to_shard(
                ConsumerARN="arn:aws:kinesis:us-east-1:000000000000:stream/x/consumer/c:1",
                ShardId="shardId-000000000000", StartingPosition={"Type": "LATEST"})
        self.assertEqual(cm.exception.response["Error"]["Code"], "ResourceNotFoundException")
        # The reset endpoints clear every stream.
        kin.create_stream(StreamName="reset-me", ShardCount=1)
        req = urllib.request.Request(self.emu.endpoint + "/_localstack/state/reset", method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            self.assertEqual(resp.status, 200)
        self.assertEqual(kin.list_streams()["StreamNames"], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
