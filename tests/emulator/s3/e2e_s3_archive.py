#!/usr/bin/python3
"""The archive storage classes and RestoreObject, with Debian's boto3 and the
aws CLI against `airgap emulator`: GET and copy of an unrestored GLACIER or
DEEP_ARCHIVE object refused (403 InvalidObjectState), HEAD answering its
class, RestoreObject's 202 then 200, x-amz-restore with the expiry rounded
to midnight UTC, restore refused for other classes, its argument checks, and
unknown storage classes refused."""

import email.utils
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3_e2e_support as sup  # noqa: E402
from s3_e2e_support import client, code_of, error_of  # noqa: E402


def test_glacier_object_needs_a_restore():
    s3 = client()
    s3.create_bucket(Bucket="arch")
    s3.put_object(Bucket="arch", Key="cold", Body=b"frozen", StorageClass="GLACIER")
    h = s3.head_object(Bucket="arch", Key="cold")
    assert h["StorageClass"] == "GLACIER" and "Restore" not in h, h
    r = error_of(s3.get_object, Bucket="arch", Key="cold")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 403, r
    assert r["Error"]["Code"] == "InvalidObjectState", r
    assert r["Error"]["Message"] == "The operation is not valid for the object's storage class"
    assert r["Error"]["StorageClass"] == "GLACIER", r
    r = error_of(s3.copy_object, Bucket="arch", Key="copy", CopySource="arch/cold")
    assert r["Error"]["Code"] == "InvalidObjectState", r
    assert "source object" in r["Error"]["Message"], r
    # the restore: 202 first, the copy readable, then 200 on a repeat
    out = s3.restore_object(Bucket="arch", Key="cold",
                            RestoreRequest={"Days": 2, "GlacierJobParameters": {"Tier": "Bulk"}})
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 202, out
    h = s3.head_object(Bucket="arch", Key="cold")
    assert h["Restore"].startswith('ongoing-request="false", expiry-date="'), h
    expiry = email.utils.parsedate_to_datetime(h["Restore"].split('expiry-date="')[1][:-1])
    assert expiry.hour == 0 and expiry.minute == 0 and expiry.second == 0, expiry
    days = (expiry.timestamp() - time.time()) / 86400
    assert 2 <= days <= 3, days
    g = s3.get_object(Bucket="arch", Key="cold")
    assert g["Body"].read() == b"frozen" and g["Restore"] == h["Restore"], g
    assert s3.copy_object(Bucket="arch", Key="copy", CopySource="arch/cold")
    assert s3.get_object(Bucket="arch", Key="copy")["Body"].read() == b"frozen"
    # a copy is STANDARD unless the request names a class
    assert "StorageClass" not in s3.head_object(Bucket="arch", Key="copy")
    s3.copy_object(Bucket="arch", Key="copy2", CopySource="arch/cold", StorageClass="GLACIER")
    assert s3.head_object(Bucket="arch", Key="copy2")["StorageClass"] == "GLACIER"
    assert code_of(s3.get_object, Bucket="arch", Key="copy2") == (403, "InvalidObjectState")
    again = s3.restore_object(Bucket="arch", Key="cold", RestoreRequest={"Days": 5})
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200, again
    h2 = s3.head_object(Bucket="arch", Key="cold")
    assert h2["Restore"] != h["Restore"], (h, h2)


def test_restore_refusals():
    s3 = client()
    s3.create_bucket(Bucket="arch-bad")
    s3.put_object(Bucket="arch-bad", Key="hot", Body=b"x")
    r = error_of(s3.restore_object, Bucket="arch-bad", Key="hot", RestoreRequest={"Days": 1})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 403, r
    assert r["Error"]["Code"] == "InvalidObjectState", r
    assert r["Error"]["Message"] == "Restore is not allowed for the object's current storage class"
    assert code_of(s3.restore_object, Bucket="arch-bad", Key="missing",
                   RestoreRequest={"Days": 1}) == (404, "NoSuchKey")
    s3.put_object(Bucket="arch-bad", Key="deep", Body=b"x", StorageClass="DEEP_ARCHIVE")
    assert code_of(s3.get_object, Bucket="arch-bad", Key="deep") == (403, "InvalidObjectState")
    assert code_of(s3.restore_object, Bucket="arch-bad", Key="deep", RestoreRequest={
        "Days": 1, "GlacierJobParameters": {"Tier": "Expedited"}}) == (400, "InvalidArgument")
    assert code_of(s3.restore_object, Bucket="arch-bad", Key="deep",
                   RestoreRequest={"Days": 0}) == (400, "InvalidArgument")
    # an unknown storage class is refused on every write
    assert code_of(s3.put_object, Bucket="arch-bad", Key="k", Body=b"x",
                   StorageClass="FROZEN") == (400, "InvalidStorageClass")
    assert code_of(s3.create_multipart_upload, Bucket="arch-bad", Key="k",
                   StorageClass="FROZEN") == (400, "InvalidStorageClass")
    # GLACIER_IR is instant: no restore needed
    s3.put_object(Bucket="arch-bad", Key="ir", Body=b"y", StorageClass="GLACIER_IR")
    assert s3.get_object(Bucket="arch-bad", Key="ir")["Body"].read() == b"y"


def test_restore_with_the_cli():
    s3 = client()
    s3.create_bucket(Bucket="arch-cli")
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="")
    cli = ["aws", "--endpoint-url", sup.EMU.endpoint, "s3api"]
    subprocess.run(cli + ["put-object", "--bucket", "arch-cli", "--key", "k", "--storage-class",
                          "DEEP_ARCHIVE"], check=True, capture_output=True, env=env)
    bad = subprocess.run(cli + ["get-object", "--bucket", "arch-cli", "--key", "k", "/dev/null"],
                         capture_output=True, env=env)
    assert bad.returncode != 0 and b"InvalidObjectState" in bad.stderr, bad
    subprocess.run(cli + ["restore-object", "--bucket", "arch-cli", "--key", "k",
                          "--restore-request", "Days=1"], check=True, capture_output=True, env=env)
    out = subprocess.run(cli + ["head-object", "--bucket", "arch-cli", "--key", "k"],
                         check=True, capture_output=True, env=env)
    head = json.loads(out.stdout)
    assert head["StorageClass"] == "DEEP_ARCHIVE" and "ongoing-request=\"false\"" in head["Restore"]


if __name__ == "__main__":
    sup.run([test_glacier_object_needs_a_restore, test_restore_refusals, test_restore_with_the_cli])
