#!/usr/bin/python3
"""DynamoDB and DynamoDB Streams through Debian's aws CLI against a real
`airgap emulator`: a table with a stream (the CLI's shorthand), items written in
a batch, an exact decimal update, a query, a conditional write that fails,
the `table-exists` waiter, the streams commands (list-streams, describe-stream,
get-shard-iterator, get-records), a table deleted, and the CLI's rendering of
errors (a failing exit status: 255 from the CLI v1, 254 from v2; code and
message on stderr)."""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator  # noqa: E402

# Debian's awscli (v2); any other `aws` on PATH when it is not installed.
AWS = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else "aws"


def main():
    emu = Emulator()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                       AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
                       AWS_SHARED_CREDENTIALS_FILE=os.devnull, HOME=tmp,
                       AWS_MAX_ATTEMPTS="1")

            def aws(service, *args, check=True):
                p = subprocess.run([AWS, "--endpoint-url", emu.endpoint, service, *args],
                                   env=env, capture_output=True, text=True, timeout=60)
                if check and p.returncode != 0:
                    raise AssertionError("aws %s %s failed: %s" % (service, args[0], p.stderr))
                return json.loads(p.stdout) if check and p.stdout.strip() else p

            desc = aws("dynamodb", "create-table", "--table-name", "cli",
                       "--attribute-definitions", "AttributeName=pk,AttributeType=S",
                       "AttributeName=sk,AttributeType=N",
                       "--key-schema", "AttributeName=pk,KeyType=HASH",
                       "AttributeName=sk,KeyType=RANGE",
                       "--billing-mode", "PAY_PER_REQUEST",
                       "--stream-specification",
                       "StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES")["TableDescription"]
            arn = desc["LatestStreamArn"]
            assert desc["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES", desc
            p = aws("dynamodb", "wait", "table-exists", "--table-name", "cli", check=False)
            assert p.returncode == 0, p.stderr

            # Each aws command costs a second or more of Python start-up:
            # the test keeps to one command per behaviour.
            puts = [{"PutRequest": {"Item": {"pk": {"S": "p"}, "sk": {"N": str(i)},
                                             "price": {"N": "%d.10" % i}}}} for i in range(5)]
            out = aws("dynamodb", "batch-write-item", "--request-items",
                      json.dumps({"cli": puts}))
            assert out["UnprocessedItems"] == {}, out
            out = aws("dynamodb", "update-item", "--table-name", "cli", "--key",
                      '{"pk": {"S": "p"}, "sk": {"N": "2"}}', "--update-expression",
                      "SET price = price + :d", "--expression-attribute-values",
                      '{":d": {"N": "0.000000000000000000000000000000000001"}}',
                      "--return-values", "UPDATED_NEW")
            assert out["Attributes"]["price"] == {"N": "2.100000000000000000000000000000000001"}, \
                out
            q = aws("dynamodb", "query", "--table-name", "cli", "--key-condition-expression",
                    "pk = :p AND sk >= :s", "--expression-attribute-values",
                    '{":p": {"S": "p"}, ":s": {"N": "3"}}', "--no-scan-index-forward")
            assert [i["sk"]["N"] for i in q["Items"]] == ["4", "3"], q

            failed = aws("dynamodb", "put-item", "--table-name", "cli", "--item",
                         '{"pk": {"S": "p"}, "sk": {"N": "0"}}', "--condition-expression",
                         "attribute_not_exists(pk)", check=False)
            assert failed.returncode in (254, 255), (failed.returncode, failed.stderr)
            assert "(ConditionalCheckFailedException)" in failed.stderr, failed.stderr
            assert "The conditional request failed" in failed.stderr, failed.stderr

            # Streams, through the CLI's dynamodbstreams commands.
            listed = aws("dynamodbstreams", "list-streams", "--table-name", "cli")["Streams"]
            assert [x["StreamArn"] for x in listed] == [arn], listed
            sd = aws("dynamodbstreams", "describe-stream", "--stream-arn", arn)[
                "StreamDescription"]
            assert sd["StreamStatus"] == "ENABLED" and sd["TableName"] == "cli", sd
            shard = sd["Shards"][0]["ShardId"]
            it = aws("dynamodbstreams", "get-shard-iterator", "--stream-arn", arn, "--shard-id",
                     shard, "--shard-iterator-type", "TRIM_HORIZON")["ShardIterator"]
            recs = aws("dynamodbstreams", "get-records", "--shard-iterator", it)["Records"]
            assert [r["eventName"] for r in recs] == ["INSERT"] * 5 + ["MODIFY"], recs
            assert recs[5]["dynamodb"]["OldImage"]["price"] == {"N": "2.1"}, recs[5]
            bad_type = aws("dynamodbstreams", "get-shard-iterator", "--stream-arn", arn,
                           "--shard-id", shard, "--shard-iterator-type", "AT_SEQUENCE_NUMBER",
                           check=False)
            assert bad_type.returncode in (254, 255), bad_type.stderr
            assert "(ValidationException)" in bad_type.stderr, bad_type.stderr

            aws("dynamodb", "delete-table", "--table-name", "cli")
            gone = aws("dynamodb", "describe-table", "--table-name", "cli", check=False)
            assert gone.returncode in (254, 255) and "(ResourceNotFoundException)" in gone.stderr, \
                gone.stderr
            # The deleted table's stream is kept, closed, for 24 hours.
            sd = aws("dynamodbstreams", "describe-stream", "--stream-arn", arn)[
                "StreamDescription"]
            assert sd["StreamStatus"] == "DISABLED", sd
    finally:
        emu.stop()
    print("ok")


if __name__ == "__main__":
    main()
