#!/usr/bin/python3
"""Conditional writes and deletes, copy-source conditions, completing a
multipart upload twice, and bucket re-creation and location constraints, with
Debian's boto3 against `airgap emulator`.

botocore 1.29's S3 model has no IfNoneMatch/IfMatch on PutObject,
CompleteMultipartUpload or DeleteObject: the tests send them as raw headers
through a before-sign event hook (s3_e2e_support.with_headers), as a newer
SDK sends them."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3_e2e_support as sup  # noqa: E402
from s3_e2e_support import client, code_of, with_headers  # noqa: E402


def test_put_if_none_match():
    s3 = client()
    s3.create_bucket(Bucket="cond-put")
    undo = with_headers(s3, "PutObject", {"If-None-Match": "*"})
    try:
        s3.put_object(Bucket="cond-put", Key="k", Body=b"first")
        err = sup.error_of(s3.put_object, Bucket="cond-put", Key="k", Body=b"second")
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 412, err
        assert err["Error"]["Code"] == "PreconditionFailed", err
        assert err["Error"].get("Condition") == "If-None-Match", err
    finally:
        undo()
    assert s3.get_object(Bucket="cond-put", Key="k")["Body"].read() == b"first"
    undo = with_headers(s3, "PutObject", {"If-None-Match": '"abc"'})
    try:
        assert code_of(s3.put_object, Bucket="cond-put", Key="k", Body=b"x") == (
            501, "NotImplemented")
    finally:
        undo()


def test_put_if_match():
    s3 = client()
    s3.create_bucket(Bucket="cond-match")
    etag = s3.put_object(Bucket="cond-match", Key="k", Body=b"one")["ETag"]
    undo = with_headers(s3, "PutObject", {"If-Match": '"0123"'})
    try:
        assert code_of(s3.put_object, Bucket="cond-match", Key="k", Body=b"x") == (
            412, "PreconditionFailed")
        assert code_of(s3.put_object, Bucket="cond-match", Key="missing", Body=b"x") == (
            404, "NoSuchKey")
    finally:
        undo()
    undo = with_headers(s3, "PutObject", {"If-Match": etag})
    try:
        s3.put_object(Bucket="cond-match", Key="k", Body=b"two")
    finally:
        undo()
    assert s3.get_object(Bucket="cond-match", Key="k")["Body"].read() == b"two"


def test_delete_if_match():
    s3 = client()
    s3.create_bucket(Bucket="cond-del")
    etag = s3.put_object(Bucket="cond-del", Key="k", Body=b"one")["ETag"]
    undo = with_headers(s3, "DeleteObject", {"If-Match": '"0123"'})
    try:
        assert code_of(s3.delete_object, Bucket="cond-del", Key="k") == (
            412, "PreconditionFailed")
        assert code_of(s3.delete_object, Bucket="cond-del", Key="missing") == (404, "NoSuchKey")
    finally:
        undo()
    s3.head_object(Bucket="cond-del", Key="k")
    undo = with_headers(s3, "DeleteObject", {"If-Match": etag})
    try:
        s3.delete_object(Bucket="cond-del", Key="k")
    finally:
        undo()
    assert code_of(s3.head_object, Bucket="cond-del", Key="k")[0] == 404


def test_complete_multipart_conditions_and_repeat():
    s3 = client()
    s3.create_bucket(Bucket="cond-mpu")
    s3.put_object(Bucket="cond-mpu", Key="k", Body=b"exists")
    up = s3.create_multipart_upload(Bucket="cond-mpu", Key="k")
    p = s3.upload_part(Bucket="cond-mpu", Key="k", UploadId=up["UploadId"], PartNumber=1,
                       Body=b"part")
    parts = {"Parts": [{"PartNumber": 1, "ETag": p["ETag"]}]}
    undo = with_headers(s3, "CompleteMultipartUpload", {"If-None-Match": "*"})
    try:
        assert code_of(s3.complete_multipart_upload, Bucket="cond-mpu", Key="k",
                       UploadId=up["UploadId"], MultipartUpload=parts) == (
            412, "PreconditionFailed")
    finally:
        undo()
    first = s3.complete_multipart_upload(Bucket="cond-mpu", Key="k", UploadId=up["UploadId"],
                                         MultipartUpload=parts)
    # Completing again after success answers the same.
    again = s3.complete_multipart_upload(Bucket="cond-mpu", Key="k", UploadId=up["UploadId"],
                                         MultipartUpload=parts)
    assert again["ETag"] == first["ETag"], (first, again)
    assert s3.get_object(Bucket="cond-mpu", Key="k")["Body"].read() == b"part"
    assert code_of(s3.complete_multipart_upload, Bucket="cond-mpu", Key="k",
                   UploadId="nope", MultipartUpload=parts) == (404, "NoSuchUpload")


def test_copy_source_conditions():
    s3 = client()
    s3.create_bucket(Bucket="cond-copy")
    etag = s3.put_object(Bucket="cond-copy", Key="src", Body=b"x")["ETag"]

    def cond(**kw):
        err = sup.error_of(s3.copy_object, Bucket="cond-copy", Key="dst",
                           CopySource="cond-copy/src", **kw)
        assert err["Error"]["Code"] == "PreconditionFailed", err
        return err["Error"].get("Condition")
    assert cond(CopySourceIfMatch='"0123"') == "x-amz-copy-source-If-Match"
    assert cond(CopySourceIfNoneMatch=etag) == "x-amz-copy-source-If-None-Match"
    import datetime
    past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    later = datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc)
    assert cond(CopySourceIfUnmodifiedSince=past) == "x-amz-copy-source-If-Unmodified-Since"
    assert cond(CopySourceIfModifiedSince=later) == "x-amz-copy-source-If-Modified-Since"
    # Conditional writes on the copy's destination.
    s3.copy_object(Bucket="cond-copy", Key="dst", CopySource="cond-copy/src")
    undo = with_headers(s3, "CopyObject", {"If-None-Match": "*"})
    try:
        assert code_of(s3.copy_object, Bucket="cond-copy", Key="dst",
                       CopySource="cond-copy/src") == (412, "PreconditionFailed")
        s3.copy_object(Bucket="cond-copy", Key="dst2", CopySource="cond-copy/src")
    finally:
        undo()


def test_bucket_recreate_and_constraints():
    s3 = client()
    s3.create_bucket(Bucket="cond-own")
    s3.create_bucket(Bucket="cond-own")  # us-east-1: 200 again
    eu = client(region="eu-west-1")
    cfg = {"LocationConstraint": "eu-west-1"}
    eu.create_bucket(Bucket="cond-eu", CreateBucketConfiguration=cfg)
    assert code_of(eu.create_bucket, Bucket="cond-eu", CreateBucketConfiguration=cfg) == (
        409, "BucketAlreadyOwnedByYou")
    assert code_of(s3.create_bucket, Bucket="cond-x",
                   CreateBucketConfiguration={"LocationConstraint": "eu-west-2"}) == (
        400, "IllegalLocationConstraintException")
    assert code_of(eu.create_bucket, Bucket="cond-y") == (
        400, "IllegalLocationConstraintException")
    s3.create_bucket(Bucket="cond-own2", ObjectOwnership="ObjectWriter")
    oc = s3.get_bucket_ownership_controls(Bucket="cond-own2")["OwnershipControls"]
    assert oc["Rules"][0]["ObjectOwnership"] == "ObjectWriter", oc


if __name__ == "__main__":
    sup.run([test_put_if_none_match, test_put_if_match, test_delete_if_match,
             test_complete_multipart_conditions_and_repeat, test_copy_source_conditions,
             test_bucket_recreate_and_constraints])
