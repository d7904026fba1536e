#!/usr/bin/python3
"""Server-side encryption with Debian's boto3 against `airgap emulator`:
SSE-S3 (AES256) echoed on every write and read by default, a bucket's default
encryption (aws:kms with its key and bucket key) applied and echoed, the
encryption configuration validated, SSE-KMS keys checked against the
emulator's KMS as S3 checks them (KMS.NotFoundException, KMS.DisabledException,
KMS.KMSInvalidStateException with KMS's own message, a key of another Region
refused), and SSE-C: the key's algorithm, length and
MD5 checked, the key required on GET/HEAD/copy/UploadPart with S3's 400 and
403 answers, and SSE-C refused together with x-amz-server-side-encryption.
boto3 computes the SSE-C key MD5 itself; raw headers send wrong ones."""

import base64
import hashlib
import os
import sys

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3_e2e_support as sup  # noqa: E402
from s3_e2e_support import client, code_of, with_headers  # noqa: E402

KEY = "k" * 32
OTHER = "o" * 32


def hdr(r, name):
    return r["ResponseMetadata"]["HTTPHeaders"].get(name)


def test_sse_s3_default():
    s3 = client()
    s3.create_bucket(Bucket="sse-default")
    r = s3.put_object(Bucket="sse-default", Key="a", Body=b"hello")
    assert r["ServerSideEncryption"] == "AES256", r
    assert s3.get_object(Bucket="sse-default", Key="a")["ServerSideEncryption"] == "AES256"
    assert s3.head_object(Bucket="sse-default", Key="a")["ServerSideEncryption"] == "AES256"
    r = s3.copy_object(Bucket="sse-default", Key="b", CopySource="sse-default/a")
    assert r["ServerSideEncryption"] == "AES256", r
    up = s3.create_multipart_upload(Bucket="sse-default", Key="m")
    assert up["ServerSideEncryption"] == "AES256", up
    p = s3.upload_part(Bucket="sse-default", Key="m", UploadId=up["UploadId"], PartNumber=1,
                       Body=b"x")
    assert p["ServerSideEncryption"] == "AES256", p
    r = s3.complete_multipart_upload(
        Bucket="sse-default", Key="m", UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p["ETag"]}]})
    assert r["ServerSideEncryption"] == "AES256", r
    # Every bucket reports SSE-S3 as its default encryption.
    enc = s3.get_bucket_encryption(Bucket="sse-default")["ServerSideEncryptionConfiguration"]
    rule = enc["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", enc
    assert code_of(s3.put_object, Bucket="sse-default", Key="c", Body=b"x",
                   ServerSideEncryption="AES128") == (400, "InvalidArgument")


def kms_client(region="us-east-1"):
    return boto3.client("kms", endpoint_url=sup.EMU.endpoint, region_name=region,
                        aws_access_key_id="test", aws_secret_access_key="test")


def test_bucket_default_kms():
    s3 = client()
    s3.create_bucket(Bucket="sse-kms")
    key_id = kms_client().create_key()["KeyMetadata"]["KeyId"]
    cfg = {"Rules": [{"ApplyServerSideEncryptionByDefault": {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_id},
        "BucketKeyEnabled": True}]}
    s3.put_bucket_encryption(Bucket="sse-kms", ServerSideEncryptionConfiguration=cfg)
    r = s3.put_object(Bucket="sse-kms", Key="a", Body=b"hello")
    assert r["ServerSideEncryption"] == "aws:kms", r
    assert r["SSEKMSKeyId"] == "arn:aws:kms:us-east-1:000000000000:key/" + key_id, r
    assert r["BucketKeyEnabled"] is True, r
    h = s3.head_object(Bucket="sse-kms", Key="a")
    assert h["ServerSideEncryption"] == "aws:kms" and h["SSEKMSKeyId"] == r["SSEKMSKeyId"], h
    assert h["BucketKeyEnabled"] is True
    # An explicit request wins over the bucket's default.
    r = s3.put_object(Bucket="sse-kms", Key="b", Body=b"x", ServerSideEncryption="AES256")
    assert r["ServerSideEncryption"] == "AES256" and "SSEKMSKeyId" not in r, r
    # A KMS key without aws:kms is refused.
    assert code_of(s3.put_object, Bucket="sse-kms", Key="c", Body=b"x",
                   SSEKMSKeyId="abc") == (400, "InvalidArgument")
    # Invalid configurations.
    bad = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "DES"}}]}
    assert code_of(s3.put_bucket_encryption, Bucket="sse-kms",
                   ServerSideEncryptionConfiguration=bad) == (400, "MalformedXML")
    bad = {"Rules": [{"ApplyServerSideEncryptionByDefault": {
        "SSEAlgorithm": "AES256", "KMSMasterKeyID": "abc"}}]}
    assert code_of(s3.put_bucket_encryption, Bucket="sse-kms",
                   ServerSideEncryptionConfiguration=bad) == (400, "InvalidArgument")
    s3.delete_bucket_encryption(Bucket="sse-kms")
    r = s3.put_object(Bucket="sse-kms", Key="d", Body=b"x")
    assert r["ServerSideEncryption"] == "AES256", r


def kms_error(fn, **kw):
    r = sup.error_of(fn, **kw)
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"], r["Error"]["Message"]


def test_kms_keys_checked():
    s3, kms = client(), kms_client()
    s3.create_bucket(Bucket="sse-kms-check")
    meta = kms.create_key()["KeyMetadata"]
    arn = meta["Arn"]
    kms.create_alias(AliasName="alias/s3-test", TargetKeyId=meta["KeyId"])
    # Every name of an enabled key works: id, ARN, alias, alias ARN; the
    # AWS-managed alias/aws/s3 is made on first use.
    for name in (meta["KeyId"], arn, "alias/s3-test",
                 "arn:aws:kms:us-east-1:000000000000:alias/s3-test", "alias/aws/s3"):
        r = s3.put_object(Bucket="sse-kms-check", Key="ok", Body=b"x",
                          ServerSideEncryption="aws:kms", SSEKMSKeyId=name)
        assert r["ServerSideEncryption"] == "aws:kms", (name, r)
    put = dict(Bucket="sse-kms-check", Key="k", Body=b"x", ServerSideEncryption="aws:kms")
    missing = "11111111-2222-3333-4444-555555555555"
    assert kms_error(s3.put_object, SSEKMSKeyId=missing, **put) == (
        400, "KMS.NotFoundException",
        "Key 'arn:aws:kms:us-east-1:000000000000:key/%s' does not exist" % missing)
    assert kms_error(s3.put_object, SSEKMSKeyId="aws/s3", **put) == (
        400, "KMS.NotFoundException", "Invalid keyId aws/s3")
    assert kms_error(s3.put_object, SSEKMSKeyId="alias/nope", **put) == (
        400, "KMS.NotFoundException",
        "Alias arn:aws:kms:us-east-1:000000000000:alias/nope is not found.")
    # A key of another Region is refused, though it exists there.
    west = kms_client("us-west-2").create_key()["KeyMetadata"]["Arn"]
    assert kms_error(s3.put_object, SSEKMSKeyId=west, **put) == (
        400, "KMS.NotFoundException", "Invalid arn us-east-1")
    # Copies, multipart uploads and the bucket's default are checked too,
    # and nothing is written by a refused request.
    s3.put_object(Bucket="sse-kms-check", Key="src", Body=b"x")
    assert kms_error(s3.copy_object, Bucket="sse-kms-check", Key="k", CopySource="sse-kms-check/src",
                     ServerSideEncryption="aws:kms", SSEKMSKeyId=missing)[:2] == (
        400, "KMS.NotFoundException")
    assert kms_error(s3.create_multipart_upload, Bucket="sse-kms-check", Key="k",
                     ServerSideEncryption="aws:kms", SSEKMSKeyId=missing)[:2] == (
        400, "KMS.NotFoundException")
    assert s3.list_multipart_uploads(Bucket="sse-kms-check").get("Uploads", []) == []
    kms.disable_key(KeyId=meta["KeyId"])
    assert kms_error(s3.put_object, SSEKMSKeyId=meta["KeyId"], **put) == (
        400, "KMS.DisabledException", "%s is disabled." % arn)
    s3.put_bucket_encryption(Bucket="sse-kms-check", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": meta["KeyId"]}}]})
    assert kms_error(s3.put_object, Bucket="sse-kms-check", Key="k", Body=b"x")[:2] == (
        400, "KMS.DisabledException")
    kms.enable_key(KeyId=meta["KeyId"])
    kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
    assert kms_error(s3.put_object, Bucket="sse-kms-check", Key="k", Body=b"x") == (
        400, "KMS.KMSInvalidStateException", "%s is pending deletion." % arn)
    assert code_of(s3.head_object, Bucket="sse-kms-check", Key="k")[0] == 404
    # SSE-S3 and SSE-C writes do not touch the default's key.
    r = s3.put_object(Bucket="sse-kms-check", Key="k", Body=b"x", ServerSideEncryption="AES256")
    assert r["ServerSideEncryption"] == "AES256", r
    r = s3.put_object(Bucket="sse-kms-check", Key="c", Body=b"x", SSECustomerAlgorithm="AES256",
                      SSECustomerKey=KEY)
    assert r["SSECustomerAlgorithm"] == "AES256", r


def test_sse_c():
    s3 = client()
    s3.create_bucket(Bucket="sse-c")
    md5 = base64.b64encode(hashlib.md5(KEY.encode()).digest()).decode()
    r = s3.put_object(Bucket="sse-c", Key="a", Body=b"secret", SSECustomerAlgorithm="AES256",
                      SSECustomerKey=KEY)
    assert r["SSECustomerAlgorithm"] == "AES256" and r["SSECustomerKeyMD5"] == md5, r
    assert "ServerSideEncryption" not in r, r
    g = s3.get_object(Bucket="sse-c", Key="a", SSECustomerAlgorithm="AES256", SSECustomerKey=KEY)
    assert g["Body"].read() == b"secret"
    assert g["SSECustomerKeyMD5"] == md5, g
    h = s3.head_object(Bucket="sse-c", Key="a", SSECustomerAlgorithm="AES256", SSECustomerKey=KEY)
    assert h["SSECustomerAlgorithm"] == "AES256", h
    # Without the key: 400; with another key: 403.
    assert code_of(s3.get_object, Bucket="sse-c", Key="a") == (400, "InvalidRequest")
    assert code_of(s3.head_object, Bucket="sse-c", Key="a")[0] == 400
    assert code_of(s3.get_object, Bucket="sse-c", Key="a", SSECustomerAlgorithm="AES256",
                   SSECustomerKey=OTHER) == (403, "AccessDenied")
    assert code_of(s3.head_object, Bucket="sse-c", Key="a", SSECustomerAlgorithm="AES256",
                   SSECustomerKey=OTHER)[0] == 403
    # A key on an object that has none.
    s3.put_object(Bucket="sse-c", Key="plain", Body=b"x")
    assert code_of(s3.get_object, Bucket="sse-c", Key="plain", SSECustomerAlgorithm="AES256",
                   SSECustomerKey=KEY) == (400, "InvalidRequest")
    # Copies need the source's key.
    assert code_of(s3.copy_object, Bucket="sse-c", Key="b",
                   CopySource="sse-c/a") == (400, "InvalidRequest")
    r = s3.copy_object(Bucket="sse-c", Key="b", CopySource="sse-c/a",
                       CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=KEY)
    assert r["ServerSideEncryption"] == "AES256", r  # the copy is SSE-S3
    assert s3.get_object(Bucket="sse-c", Key="b")["Body"].read() == b"secret"
    # Key validation: length, algorithm, MD5, and SSE-C with SSE-S3.
    assert code_of(s3.put_object, Bucket="sse-c", Key="x", Body=b"x",
                   SSECustomerAlgorithm="AES256", SSECustomerKey="short") == (400, "InvalidArgument")
    assert code_of(s3.put_object, Bucket="sse-c", Key="x", Body=b"x",
                   SSECustomerAlgorithm="AES128",
                   SSECustomerKey=KEY) == (400, "InvalidEncryptionAlgorithmError")
    assert code_of(s3.put_object, Bucket="sse-c", Key="x", Body=b"x",
                   SSECustomerAlgorithm="AES256", SSECustomerKey=KEY,
                   ServerSideEncryption="AES256") == (400, "InvalidArgument")
    undo = with_headers(s3, "PutObject", {
        "x-amz-server-side-encryption-customer-key-MD5":
            base64.b64encode(hashlib.md5(OTHER.encode()).digest()).decode()})
    try:
        err = sup.error_of(s3.put_object, Bucket="sse-c", Key="x", Body=b"x",
                           SSECustomerAlgorithm="AES256", SSECustomerKey=KEY)
        assert err["Error"]["Code"] == "InvalidArgument", err
        assert "MD5" in err["Error"]["Message"], err
    finally:
        undo()
    # Multipart with SSE-C: parts need the same key.
    up = s3.create_multipart_upload(Bucket="sse-c", Key="m", SSECustomerAlgorithm="AES256",
                                    SSECustomerKey=KEY)
    assert up["SSECustomerKeyMD5"] == md5, up
    assert code_of(s3.upload_part, Bucket="sse-c", Key="m", UploadId=up["UploadId"],
                   PartNumber=1, Body=b"x") == (400, "InvalidRequest")
    p = s3.upload_part(Bucket="sse-c", Key="m", UploadId=up["UploadId"], PartNumber=1,
                       Body=b"x", SSECustomerAlgorithm="AES256", SSECustomerKey=KEY)
    assert p["SSECustomerKeyMD5"] == md5, p
    # UploadPartCopy into it needs the upload's key too (and the source's).
    kw = dict(Bucket="sse-c", Key="m", UploadId=up["UploadId"], PartNumber=2,
              CopySource="sse-c/plain")
    assert code_of(s3.upload_part_copy, **kw) == (400, "InvalidRequest")
    s3.upload_part_copy(SSECustomerAlgorithm="AES256", SSECustomerKey=KEY, **kw)
    s3.complete_multipart_upload(
        Bucket="sse-c", Key="m", UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p["ETag"]}]},
        SSECustomerAlgorithm="AES256", SSECustomerKey=KEY)
    assert code_of(s3.get_object, Bucket="sse-c", Key="m") == (400, "InvalidRequest")


def test_cli_sse_c():
    """The aws CLI sends SSE-C through its own code path (fileb:// keys)."""
    import subprocess
    import tempfile
    d = tempfile.mkdtemp()
    keyfile = os.path.join(d, "key")
    with open(keyfile, "wb") as f:
        f.write(KEY.encode())
    src = os.path.join(d, "src")
    with open(src, "wb") as f:
        f.write(b"cli secret")
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="")
    base = ["aws", "--endpoint-url", sup.EMU.endpoint, "s3api"]
    client().create_bucket(Bucket="sse-cli")
    subprocess.run(base + ["put-object", "--bucket", "sse-cli", "--key", "k", "--body", src,
                           "--sse-customer-algorithm", "AES256",
                           "--sse-customer-key", "fileb://" + keyfile],
                   check=True, env=env, capture_output=True)
    r = subprocess.run(base + ["head-object", "--bucket", "sse-cli", "--key", "k"],
                       env=env, capture_output=True, text=True)
    assert r.returncode != 0 and "400" in r.stderr, r.stderr
    r = subprocess.run(base + ["get-object", "--bucket", "sse-cli", "--key", "k",
                               "--sse-customer-algorithm", "AES256",
                               "--sse-customer-key", "fileb://" + keyfile,
                               os.path.join(d, "out")],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(d, "out"), "rb") as f:
        assert f.read() == b"cli secret"


if __name__ == "__main__":
    sup.run([test_sse_s3_default, test_bucket_default_kms, test_kms_keys_checked, test_sse_c,
             test_cli_sse_c])
