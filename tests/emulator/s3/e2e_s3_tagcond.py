#!/usr/bin/python3
"""Object tags as bucket policy condition keys under --s3-enforce-access
(AIRGAP_S3_ENFORCE_ACCESS=1), with boto3 and the aws CLI:
s3:ExistingObjectTag/<key> on reads of the tagged object,
s3:RequestObjectTag/<key> on PutObject (x-amz-tagging) and PutObjectTagging,
s3:RequestObjectTagKeys with ForAllValues: and ForAnyValue:."""

import json
import os
import subprocess
import sys
import tempfile
import shutil

import boto3
import botocore
from botocore.config import Config

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from emulator_support import Emulator  # noqa: E402

ALICE, BOB = "111111111111", "222222222222"
EMU = None


def client(key):
    return boto3.client("s3", endpoint_url=EMU.endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}))


def status(fn, **kw):
    try:
        fn(**kw)
        return 200
    except botocore.exceptions.ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"]


def test_tag_condition_keys():
    alice, bob = client(ALICE), client(BOB)
    alice.create_bucket(Bucket="tags-b")
    alice.put_object(Bucket="tags-b", Key="pub", Body=b"p", Tagging="class=public&team=a")
    alice.put_object(Bucket="tags-b", Key="sec", Body=b"s", Tagging="class=secret")
    bob_p = {"AWS": "arn:aws:iam::%s:root" % BOB}
    alice.put_bucket_policy(Bucket="tags-b", Policy=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": bob_p, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::tags-b/*",
         "Condition": {"StringEquals": {"s3:ExistingObjectTag/class": "public"}}},
        {"Effect": "Allow", "Principal": bob_p, "Action": ["s3:PutObject", "s3:PutObjectTagging"],
         "Resource": "arn:aws:s3:::tags-b/*",
         "Condition": {"StringEquals": {"s3:RequestObjectTag/owner": "bob"},
                       "ForAllValues:StringEquals": {
                           "s3:RequestObjectTagKeys": ["owner", "class"]}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::tags-b/*",
         "Condition": {"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": "forbidden"}}}]}))
    assert bob.get_object(Bucket="tags-b", Key="pub")["Body"].read() == b"p"
    assert status(bob.get_object, Bucket="tags-b", Key="sec") == 403
    # tags change what the policy allows
    alice.put_object_tagging(Bucket="tags-b", Key="sec",
                             Tagging={"TagSet": [{"Key": "class", "Value": "public"}]})
    assert bob.get_object(Bucket="tags-b", Key="sec")["Body"].read() == b"s"
    # request tags: owner=bob required, only owner/class keys allowed
    assert status(bob.put_object, Bucket="tags-b", Key="b1", Body=b"1",
                  Tagging="owner=bob") == 200
    assert status(bob.put_object, Bucket="tags-b", Key="b2", Body=b"2",
                  Tagging="owner=eve") == 403
    assert status(bob.put_object, Bucket="tags-b", Key="b3", Body=b"3") == 403
    assert status(bob.put_object, Bucket="tags-b", Key="b4", Body=b"4",
                  Tagging="owner=bob&extra=1") == 403
    assert status(bob.put_object_tagging, Bucket="tags-b", Key="b1", Tagging={"TagSet": [
        {"Key": "owner", "Value": "bob"}, {"Key": "class", "Value": "x"}]}) == 200
    assert status(bob.put_object_tagging, Bucket="tags-b", Key="b1", Tagging={"TagSet": [
        {"Key": "owner", "Value": "carol"}]}) == 403
    # the Deny binds the owner too
    assert status(alice.put_object, Bucket="tags-b", Key="a1", Body=b"1",
                  Tagging="forbidden=1") == 403
    assert status(alice.put_object, Bucket="tags-b", Key="a1", Body=b"1", Tagging="ok=1") == 200


def test_aws_cli():
    env = dict(os.environ, AWS_ACCESS_KEY_ID=BOB, AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    base = ["aws", "--endpoint-url", EMU.endpoint, "s3api", "put-object", "--bucket", "tags-b",
            "--key", "cli"]
    r = subprocess.run(base + ["--tagging", "owner=bob"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r
    r = subprocess.run(base + ["--tagging", "owner=mallory"], capture_output=True, text=True,
                       env=env)
    assert r.returncode != 0 and "AccessDenied" in r.stderr, r


if __name__ == "__main__":
    data = tempfile.mkdtemp(prefix="airgap-s3-test-")
    EMU = Emulator({"DATA_DIR": data, "AIRGAP_S3_ENFORCE_ACCESS": "1"})
    failed = 0
    try:
        for t in (test_tag_condition_keys, test_aws_cli):
            try:
                t()
                print("ok", t.__name__)
            except Exception:
                import traceback
                failed += 1
                print("FAIL", t.__name__)
                traceback.print_exc()
    finally:
        EMU.stop()
        shutil.rmtree(data, ignore_errors=True)
    sys.exit(1 if failed else 0)
