#!/usr/bin/python3
"""End-to-end SubscribeToShard with Debian's boto3 against a real `airgap
emulator` ($AIRGAP_BIN): the event stream over HTTP/1.1 (initial response,
then SubscribeToShardEvents), records put while subscribed arriving as they
are put, every starting position, ContinuationSequenceNumber and resuming
from it, ChildShards at the end of a closed shard, the end of a subscription
after its (shortened) lifetime, AWS's errors (unknown consumer or shard, a
consumer not ACTIVE, a resubscription within 5 seconds, a takeover after
them), and a client that walks away mid-stream."""

import os
import sys
import threading
import time
import unittest
import warnings

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator  # noqa: E402

LIFETIME_MS = 2500  # AIRGAP_KINESIS_SUBSCRIPTION_MS of LifetimeCase's emulator


def client(endpoint):
    return boto3.client(
        "kinesis", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=20))


class SubscribeCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.emu = Emulator(extra_env={"KINESIS_LATENCY": "0"})
        cls.kin = client(cls.emu.endpoint)

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def stream(self, name, shards=1):
        self.kin.create_stream(StreamName=name, ShardCount=shards)
        arn = self.kin.describe_stream_summary(StreamName=name)[
            "StreamDescriptionSummary"]["StreamARN"]
        consumer = self.kin.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]
        return arn, consumer["ConsumerARN"]

    def events(self, consumer, shard="shardId-000000000000", **position):
        resp = self.kin.subscribe_to_shard(ConsumerARN=consumer, ShardId=shard,
                                           StartingPosition=position)
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], 200)
        return resp["EventStream"]

    def test_records_put_while_subscribed_arrive(self):
        _, consumer = self.stream("live")
        before = self.kin.put_record(StreamName="live", Data=b"before", PartitionKey="k")
        stream = self.events(consumer, Type="TRIM_HORIZON")
        it = iter(stream)
        first = next(it)["SubscribeToShardEvent"]
        self.assertEqual([r["Data"] for r in first["Records"]], [b"before"])
        self.assertEqual(first["Records"][0]["SequenceNumber"], before["SequenceNumber"])
        self.assertEqual(first["Records"][0]["PartitionKey"], "k")
        self.assertIn("ApproximateArrivalTimestamp", first["Records"][0])
        self.assertEqual(first["ContinuationSequenceNumber"], before["SequenceNumber"])
        self.assertIsInstance(first["MillisBehindLatest"], int)
        # Put while subscribed, from another thread, after the stream is open.
        sent = []

        def put_later():
            time.sleep(0.5)
            for i in range(3):
                sent.append(client(self.emu.endpoint).put_record(
                    StreamName="live", Data=b"live-%d" % i, PartitionKey="k")["SequenceNumber"])

        putter = threading.Thread(target=put_later)
        putter.start()
        got, continuation = [], None
        start = time.monotonic()
        for event in it:
            e = event["SubscribeToShardEvent"]
            got += [r["Data"] for r in e["Records"]]
            continuation = e["ContinuationSequenceNumber"]
            if len(got) >= 3:
                break
        putter.join()
        self.assertLess(time.monotonic() - start, 10)
        self.assertEqual(got, [b"live-0", b"live-1", b"live-2"])
        self.assertEqual(continuation, sent[-1])
        stream.close()
        # AFTER_SEQUENCE_NUMBER from the continuation, after the 5 s window:
        # the takeover is allowed, nothing old comes back.
        time.sleep(5.2)
        self.kin.put_record(StreamName="live", Data=b"after", PartitionKey="k")
        e = next(iter(self.events(consumer, Type="AFTER_SEQUENCE_NUMBER",
                                  SequenceNumber=continuation)))["SubscribeToShardEvent"]
        self.assertEqual([r["Data"] for r in e["Records"]], [b"after"])

    def test_starting_positions(self):
        arn, consumer = self.stream("positions", shards=2)
        puts = [self.kin.put_record(StreamName="positions", Data=b"r%d" % i, PartitionKey="p",
                                    ExplicitHashKey="0") for i in range(3)]
        # boto3 sends whole seconds: start the next second before stamping.
        time.sleep(1.05 - time.time() % 1)
        stamp = int(time.time())
        late = self.kin.put_record(StreamName="positions", Data=b"late", PartitionKey="p",
                                   ExplicitHashKey="0")
        shard = puts[0]["ShardId"]

        names = iter(range(10))

        def first_records(**position):
            # A consumer each: the same one could subscribe again only 5 s on.
            c = self.kin.register_stream_consumer(
                StreamARN=arn, ConsumerName="p%d" % next(names))["Consumer"]["ConsumerARN"]
            stream = self.events(c, shard=shard, **position)
            try:
                return [r["Data"] for r in
                        next(iter(stream))["SubscribeToShardEvent"]["Records"]]
            finally:
                stream.close()

        self.assertEqual(first_records(Type="AT_SEQUENCE_NUMBER",
                                       SequenceNumber=puts[1]["SequenceNumber"]),
                         [b"r1", b"r2", b"late"])
        self.assertEqual(first_records(Type="AFTER_SEQUENCE_NUMBER",
                                       SequenceNumber=puts[1]["SequenceNumber"]),
                         [b"r2", b"late"])
        self.assertEqual(first_records(Type="AT_TIMESTAMP", Timestamp=stamp), [b"late"])
        self.assertEqual(first_records(Type="LATEST"), [])
        self.assertEqual(late["ShardId"], shard)
        self.assertEqual(first_records(Type="TRIM_HORIZON"), [b"r0", b"r1", b"r2", b"late"])
        # A sequence number of another shard is refused.
        other = "shardId-000000000001"
        with self.assertRaises(ClientError) as cm:
            self.kin.subscribe_to_shard(ConsumerARN=consumer, ShardId=other, StartingPosition={
                "Type": "AT_SEQUENCE_NUMBER", "SequenceNumber": puts[0]["SequenceNumber"]})
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgumentException")
        with self.assertRaises(ClientError) as cm:
            self.kin.subscribe_to_shard(ConsumerARN=consumer, ShardId=other,
                                        StartingPosition={"Type": "AT_SEQUENCE_NUMBER"})
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgumentException")
        self.assertTrue(arn)

    def test_errors(self):
        arn, consumer = self.stream("errors")

        def code(**kw):
            with self.assertRaises(ClientError) as cm:
                self.kin.subscribe_to_shard(**kw)
            return cm.exception.response["Error"]["Code"]

        self.assertEqual(code(ConsumerARN=arn + "/consumer/nobody:1",
                              ShardId="shardId-000000000000",
                              StartingPosition={"Type": "LATEST"}), "ResourceNotFoundException")
        self.assertEqual(code(ConsumerARN=consumer, ShardId="shardId-000000000007",
                              StartingPosition={"Type": "LATEST"}), "ResourceNotFoundException")
        self.assertEqual(code(ConsumerARN="not-an-arn", ShardId="shardId-000000000000",
                              StartingPosition={"Type": "LATEST"}), "ValidationException")
        # A second subscription of the same consumer and shard within 5 s.
        first = self.events(consumer, Type="LATEST")
        it = iter(first)
        next(it)
        self.assertEqual(code(ConsumerARN=consumer, ShardId="shardId-000000000000",
                              StartingPosition={"Type": "LATEST"}), "ResourceInUseException")
        # Another shard of the same consumer is another subscription: fine,
        # but this stream has one shard; another consumer on the same shard is.
        other = self.kin.register_stream_consumer(StreamARN=arn, ConsumerName="d")["Consumer"]
        self.events(other["ConsumerARN"], Type="LATEST").close()
        # 5 s on, a new subscription takes over: the first stream ends with
        # ResourceInUseException.
        time.sleep(5.2)
        second = self.events(consumer, Type="LATEST")
        with self.assertRaises(EventStreamError) as cm:
            for _ in it:
                pass
        self.assertEqual(cm.exception.response["Error"]["Code"], "ResourceInUseException")
        second.close()
        # A deregistered consumer ends its streams with ResourceNotFoundException.
        time.sleep(5.2)
        third = iter(self.events(consumer, Type="LATEST"))
        next(third)
        self.kin.deregister_stream_consumer(ConsumerARN=consumer)
        with self.assertRaises(EventStreamError) as cm:
            for _ in third:
                pass
        self.assertEqual(cm.exception.response["Error"]["Code"], "ResourceNotFoundException")

    def test_closed_shard_ends_with_child_shards(self):
        _, consumer = self.stream("closing")
        self.kin.put_record(StreamName="closing", Data=b"x", PartitionKey="k")
        self.kin.split_shard(StreamName="closing", ShardToSplit="shardId-000000000000",
                             NewStartingHashKey=str(2 ** 127))
        events = [e["SubscribeToShardEvent"]
                  for e in self.events(consumer, Type="TRIM_HORIZON")]
        self.assertEqual(sum(len(e["Records"]) for e in events), 1)
        last = events[-1]
        self.assertNotIn("ContinuationSequenceNumber", last)
        self.assertEqual(sorted(c["ShardId"] for c in last["ChildShards"]),
                         ["shardId-000000000001", "shardId-000000000002"])

    def test_client_that_walks_away(self):
        _, consumer = self.stream("walk")
        stream = self.events(consumer, Type="LATEST")
        next(iter(stream))
        stream.close()
        # The emulator notices at its next heartbeats (one a second) and
        # forgets the subscription: subscribing again within AWS's 5 s then
        # succeeds, where a live subscription would answer ResourceInUse.
        time.sleep(4)
        again = self.events(consumer, Type="LATEST")
        self.assertIn("SubscribeToShardEvent", next(iter(again)))
        again.close()


class LifetimeCase(unittest.TestCase):
    def test_subscription_ends_after_its_lifetime(self):
        emu = Emulator(extra_env={"KINESIS_LATENCY": "0",
                                  "AIRGAP_KINESIS_SUBSCRIPTION_MS": str(LIFETIME_MS)})
        try:
            kin = client(emu.endpoint)
            kin.create_stream(StreamName="lifetime", ShardCount=1)
            arn = kin.describe_stream_summary(StreamName="lifetime")[
                "StreamDescriptionSummary"]["StreamARN"]
            consumer = kin.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]
            start = time.monotonic()
            events = list(kin.subscribe_to_shard(ConsumerARN=consumer["ConsumerARN"],
                                                 ShardId="shardId-000000000000",
                                                 StartingPosition={"Type": "LATEST"})[
                                                     "EventStream"])
            elapsed = time.monotonic() - start
            self.assertGreaterEqual(elapsed, LIFETIME_MS / 1000.0 - 0.1)
            # Quiet shards still get events (a heartbeat each second).
            self.assertGreaterEqual(len(events), 2)
            for e in events:
                self.assertEqual(e["SubscribeToShardEvent"]["Records"], [])
        finally:
            emu.stop()


class NotActiveCase(unittest.TestCase):
    def test_consumer_still_creating(self):
        emu = Emulator(extra_env={"KINESIS_LATENCY": "3000"})
        try:
            kin = client(emu.endpoint)
            kin.create_stream(StreamName="slow", ShardCount=1)
            kin.get_waiter("stream_exists").wait(StreamName="slow",
                                                 WaiterConfig={"Delay": 1, "MaxAttempts": 10})
            arn = kin.describe_stream_summary(StreamName="slow")[
                "StreamDescriptionSummary"]["StreamARN"]
            consumer = kin.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]
            with self.assertRaises(ClientError) as cm:
                kin.subscribe_to_shard(ConsumerARN=consumer["ConsumerARN"],
                                       ShardId="shardId-000000000000",
                                       StartingPosition={"Type": "LATEST"})
            self.assertEqual(cm.exception.response["Error"]["Code"], "ResourceInUseException")
            # A subscription still open when the emulator stops ends cleanly.
            time.sleep(3.2)
            it = iter(kin.subscribe_to_shard(ConsumerARN=consumer["ConsumerARN"],
                                             ShardId="shardId-000000000000",
                                             StartingPosition={"Type": "LATEST"})["EventStream"])
            next(it)
        finally:
            emu.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
