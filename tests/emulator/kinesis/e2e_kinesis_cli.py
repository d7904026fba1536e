#!/usr/bin/python3
"""Kinesis through the aws CLI against a real `airgap emulator`: create a
stream and wait for it, put a record, read it back with an iterator, split
a shard and list the shards with a filter, and the CLI's rendering of an
error. Few calls: each CLI start costs seconds on a loaded machine."""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator  # noqa: E402


def main():
    emu = Emulator(extra_env={"KINESIS_LATENCY": "0"})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                       AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
                       AWS_SHARED_CREDENTIALS_FILE=os.devnull, HOME=tmp, AWS_PAGER="")

            def aws(*args, check=True):
                p = subprocess.run(["aws", "--endpoint-url", emu.endpoint, "kinesis", *args],
                                   env=env, capture_output=True, text=True, timeout=60)
                if check and p.returncode != 0:
                    raise AssertionError("aws kinesis %s failed: %s" % (args[0], p.stderr))
                return p

            def out(*args):
                return json.loads(aws(*args).stdout or "{}")

            aws("create-stream", "--stream-name", "cli", "--shard-count", "2")
            aws("wait", "stream-exists", "--stream-name", "cli")
            # Data is a blob: fileb:// hands the CLI raw bytes in v1 and v2 alike.
            blob = os.path.join(tmp, "data.bin")
            with open(blob, "wb") as f:
                f.write(b"hello cli")
            put = out("put-record", "--stream-name", "cli", "--partition-key", "p1",
                      "--data", "fileb://" + blob)
            assert len(put["SequenceNumber"]) == 56, put
            it = out("get-shard-iterator", "--stream-name", "cli", "--shard-id", put["ShardId"],
                     "--shard-iterator-type", "AT_SEQUENCE_NUMBER",
                     "--starting-sequence-number", put["SequenceNumber"])["ShardIterator"]
            got = out("get-records", "--shard-iterator", it)
            # The CLI prints blobs as base64.
            assert [r["Data"] for r in got["Records"]] == ["aGVsbG8gY2xp"], got
            assert got["MillisBehindLatest"] == 0, got
            aws("split-shard", "--stream-name", "cli", "--shard-to-split",
                "shardId-000000000000", "--new-starting-hash-key", "1000")
            latest = out("list-shards", "--stream-name", "cli", "--shard-filter",
                         "Type=AT_LATEST")["Shards"]
            assert [s["ShardId"] for s in latest] == [
                "shardId-000000000001", "shardId-000000000002", "shardId-000000000003"], latest
            bad = aws("describe-stream", "--stream-name", "nowhere", check=False)
            assert bad.returncode != 0 and "ResourceNotFoundException" in bad.stderr, bad.stderr
            aws("delete-stream", "--stream-name", "cli")
    finally:
        emu.stop()
    print("ok")


if __name__ == "__main__":
    main()
