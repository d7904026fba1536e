#!/usr/bin/python3
"""Objects and bucket configurations as S3 answers them, with Debian's boto3
against `airgap emulator`: GetObjectAttributes (ETag, size, storage class,
parts with pagination), partNumber on GET/HEAD (206, Content-Range,
InvalidPartNumber), tag limits and the tag count, GetBucketPolicyStatus,
and lifecycle, CORS, replication, logging, notification and accelerate
configurations validated (rule ids generated, duplicates, status values)."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3_e2e_support as sup  # noqa: E402
from s3_e2e_support import client, code_of  # noqa: E402

MB = 1024 * 1024


def multipart(s3, bucket, key, sizes):
    up = s3.create_multipart_upload(Bucket=bucket, Key=key)
    parts = []
    for i, n in enumerate(sizes, 1):
        p = s3.upload_part(Bucket=bucket, Key=key, UploadId=up["UploadId"], PartNumber=i,
                           Body=bytes([64 + i]) * n)
        parts.append({"PartNumber": i, "ETag": p["ETag"]})
    return s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up["UploadId"],
                                        MultipartUpload={"Parts": parts})


def test_part_number():
    s3 = client()
    s3.create_bucket(Bucket="fid-parts")
    multipart(s3, "fid-parts", "m", [5 * MB, 5 * MB, 100])
    g = s3.get_object(Bucket="fid-parts", Key="m", PartNumber=2)
    assert g["ResponseMetadata"]["HTTPStatusCode"] == 206, g["ResponseMetadata"]
    assert g["ContentRange"] == "bytes %d-%d/%d" % (5 * MB, 10 * MB - 1, 10 * MB + 100), g
    assert g["PartsCount"] == 3 and g["ContentLength"] == 5 * MB
    assert g["Body"].read() == b"B" * (5 * MB)
    h = s3.head_object(Bucket="fid-parts", Key="m", PartNumber=3)
    assert h["ContentLength"] == 100 and h["PartsCount"] == 3, h
    assert code_of(s3.get_object, Bucket="fid-parts", Key="m", PartNumber=4) == (
        416, "InvalidPartNumber")
    s3.put_object(Bucket="fid-parts", Key="single", Body=b"abc")
    g = s3.get_object(Bucket="fid-parts", Key="single", PartNumber=1)
    assert g["Body"].read() == b"abc"
    assert code_of(s3.get_object, Bucket="fid-parts", Key="single", PartNumber=2) == (
        416, "InvalidPartNumber")


def test_head_range_and_copy_range_validation():
    s3 = client()
    s3.create_bucket(Bucket="fid-range")
    s3.put_object(Bucket="fid-range", Key="o", Body=b"0123456789")
    h = s3.head_object(Bucket="fid-range", Key="o", Range="bytes=2-4")
    assert h["ResponseMetadata"]["HTTPStatusCode"] == 206, h["ResponseMetadata"]
    # botocore 1.29's HeadObject output has no ContentRange: read the header.
    assert h["ResponseMetadata"]["HTTPHeaders"]["content-range"] == "bytes 2-4/10", h
    assert h["ContentLength"] == 3, h
    assert code_of(s3.head_object, Bucket="fid-range", Key="o", Range="bytes=20-30")[0] == 416
    up = s3.create_multipart_upload(Bucket="fid-range", Key="m")
    kw = dict(Bucket="fid-range", Key="m", UploadId=up["UploadId"], CopySource="fid-range/o")
    err = sup.error_of(s3.upload_part_copy, PartNumber=1, CopySourceRange="bytes=3-", **kw)
    assert err["Error"]["Code"] == "InvalidArgument", err
    assert err["Error"]["ArgumentName"] == "x-amz-copy-source-range", err
    assert err["Error"]["ArgumentValue"] == "bytes=3-", err
    # A range ending past the source is an argument error (400), not a 416.
    assert code_of(s3.upload_part_copy, PartNumber=1, CopySourceRange="bytes=5-10", **kw) == (
        400, "InvalidArgument")
    r = s3.upload_part_copy(PartNumber=1, CopySourceRange="bytes=5-9", **kw)
    assert r["CopyPartResult"]["ETag"]
    err = sup.error_of(s3.upload_part, Bucket="fid-range", Key="m", UploadId=up["UploadId"],
                       PartNumber=10001, Body=b"x")
    assert err["Error"]["Code"] == "InvalidArgument", err
    assert err["Error"]["ArgumentName"] == "partNumber", err
    assert err["Error"]["ArgumentValue"] == "10001", err
    s3.abort_multipart_upload(Bucket="fid-range", Key="m", UploadId=up["UploadId"])


def crc64nvme(data):
    """Bitwise CRC-64/NVME, independent of the emulator's table."""
    crc = 0xFFFFFFFFFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x9A6C9329AC4BC9B5 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFFFFFFFFFF


def b64(raw):
    import base64
    return base64.b64encode(raw).decode()


def test_checksum_types():
    """CRC64NVME and x-amz-checksum-type are newer than botocore 1.29: sent
    and read as raw headers."""
    import zlib
    s3 = client()
    s3.create_bucket(Bucket="fid-ck")
    body = b"123456789"
    good = b64(crc64nvme(body).to_bytes(8, "big"))
    assert good == "rosUhgp5mIg="
    undo = sup.with_headers(s3, "PutObject", {"x-amz-checksum-crc64nvme": good})
    try:
        r = s3.put_object(Bucket="fid-ck", Key="c", Body=body)
    finally:
        undo()
    hdrs = r["ResponseMetadata"]["HTTPHeaders"]
    assert hdrs.get("x-amz-checksum-crc64nvme") == good, hdrs
    assert hdrs.get("x-amz-checksum-type") == "FULL_OBJECT", hdrs
    undo = sup.with_headers(s3, "PutObject", {"x-amz-checksum-crc64nvme": "AAAAAAAAAAA="})
    try:
        assert code_of(s3.put_object, Bucket="fid-ck", Key="c", Body=body)[0] == 400
    finally:
        undo()
    h = s3.head_object(Bucket="fid-ck", Key="c", ChecksumMode="ENABLED")
    assert h["ResponseMetadata"]["HTTPHeaders"].get("x-amz-checksum-crc64nvme") == good, h
    # Multipart, FULL_OBJECT CRC64NVME: the checksum of the whole object.
    undo = sup.with_headers(s3, "CreateMultipartUpload", {
        "x-amz-checksum-algorithm": "CRC64NVME", "x-amz-checksum-type": "FULL_OBJECT"})
    try:
        up = s3.create_multipart_upload(Bucket="fid-ck", Key="m")
    finally:
        undo()
    hdrs = up["ResponseMetadata"]["HTTPHeaders"]
    assert hdrs.get("x-amz-checksum-algorithm") == "CRC64NVME", hdrs
    assert hdrs.get("x-amz-checksum-type") == "FULL_OBJECT", hdrs
    p1, p2 = b"a" * (5 * MB), b"b" * 10
    e1 = s3.upload_part(Bucket="fid-ck", Key="m", UploadId=up["UploadId"], PartNumber=1,
                        Body=p1)["ETag"]
    e2 = s3.upload_part(Bucket="fid-ck", Key="m", UploadId=up["UploadId"], PartNumber=2,
                        Body=p2)["ETag"]
    r = s3.complete_multipart_upload(
        Bucket="fid-ck", Key="m", UploadId=up["UploadId"], MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    want = b64(crc64nvme(p1 + p2).to_bytes(8, "big"))
    hdrs = r["ResponseMetadata"]["HTTPHeaders"]
    assert hdrs.get("x-amz-checksum-crc64nvme") == want, hdrs
    # Multipart, COMPOSITE CRC32 (the default type for CRC32): the CRC32 of
    # the parts' CRC32s, with "-N".
    up = s3.create_multipart_upload(Bucket="fid-ck", Key="n", ChecksumAlgorithm="CRC32")
    assert up["ResponseMetadata"]["HTTPHeaders"].get("x-amz-checksum-type") == "COMPOSITE"
    parts = []
    for i, data in enumerate((p1, p2), 1):
        e = s3.upload_part(Bucket="fid-ck", Key="n", UploadId=up["UploadId"], PartNumber=i,
                           Body=data, ChecksumAlgorithm="CRC32")
        parts.append({"PartNumber": i, "ETag": e["ETag"], "ChecksumCRC32": e["ChecksumCRC32"]})
    r = s3.complete_multipart_upload(Bucket="fid-ck", Key="n", UploadId=up["UploadId"],
                                     MultipartUpload={"Parts": parts})
    inner = b"".join(zlib.crc32(d).to_bytes(4, "big") for d in (p1, p2))
    assert r["ChecksumCRC32"] == b64(zlib.crc32(inner).to_bytes(4, "big")) + "-2", r
    # Combinations S3 refuses.
    for algo, kind in (("SHA256", "FULL_OBJECT"), ("CRC64NVME", "COMPOSITE"), ("CRC32", "BOTH")):
        undo = sup.with_headers(s3, "CreateMultipartUpload", {
            "x-amz-checksum-algorithm": algo, "x-amz-checksum-type": kind})
        try:
            assert code_of(s3.create_multipart_upload, Bucket="fid-ck", Key="x") == (
                400, "InvalidRequest"), (algo, kind)
        finally:
            undo()


def test_object_attributes():
    s3 = client()
    s3.create_bucket(Bucket="fid-attrs")
    etag = s3.put_object(Bucket="fid-attrs", Key="a", Body=b"hello")["ETag"]
    r = s3.get_object_attributes(Bucket="fid-attrs", Key="a",
                                 ObjectAttributes=["ETag", "ObjectSize", "StorageClass"])
    assert r["ETag"] == etag.strip('"') and r["ObjectSize"] == 5, r
    assert r["StorageClass"] == "STANDARD", r
    assert "LastModified" in r
    multipart(s3, "fid-attrs", "m", [5 * MB, 5 * MB, 7])
    r = s3.get_object_attributes(Bucket="fid-attrs", Key="m", ObjectAttributes=["ObjectParts"],
                                 MaxParts=2)
    op = r["ObjectParts"]
    assert op["TotalPartsCount"] == 3 and op["IsTruncated"] is True, op
    assert [p["Size"] for p in op["Parts"]] == [5 * MB, 5 * MB], op
    r = s3.get_object_attributes(Bucket="fid-attrs", Key="m", ObjectAttributes=["ObjectParts"],
                                 PartNumberMarker=2)
    assert [p["PartNumber"] for p in r["ObjectParts"]["Parts"]] == [3], r
    assert code_of(s3.get_object_attributes, Bucket="fid-attrs", Key="nope",
                   ObjectAttributes=["ETag"]) == (404, "NoSuchKey")


def test_tags():
    s3 = client()
    s3.create_bucket(Bucket="fid-tags")
    r = s3.put_object(Bucket="fid-tags", Key="t", Body=b"x", Tagging="a=1&b=2")
    assert s3.get_object(Bucket="fid-tags", Key="t")["TagCount"] == 2
    eleven = "&".join("k%d=v" % i for i in range(11))
    assert code_of(s3.put_object, Bucket="fid-tags", Key="t", Body=b"x",
                   Tagging=eleven) == (400, "BadRequest")
    tags = [{"Key": "k%d" % i, "Value": "v"} for i in range(11)]
    assert code_of(s3.put_object_tagging, Bucket="fid-tags", Key="t",
                   Tagging={"TagSet": tags}) == (400, "BadRequest")
    dup = [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]
    assert code_of(s3.put_object_tagging, Bucket="fid-tags", Key="t",
                   Tagging={"TagSet": dup}) == (400, "InvalidTag")
    assert code_of(s3.put_object_tagging, Bucket="fid-tags", Key="t",
                   Tagging={"TagSet": [{"Key": "k" * 129, "Value": "v"}]}) == (400, "InvalidTag")
    assert code_of(s3.put_bucket_tagging, Bucket="fid-tags",
                   Tagging={"TagSet": dup}) == (400, "InvalidTag")


def test_policy_status():
    s3 = client()
    s3.create_bucket(Bucket="fid-policy")
    assert code_of(s3.get_bucket_policy_status, Bucket="fid-policy") == (
        404, "NoSuchBucketPolicy")
    private = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::fid-policy/*"}]}
    s3.put_bucket_policy(Bucket="fid-policy", Policy=json.dumps(private))
    assert s3.get_bucket_policy_status(Bucket="fid-policy")["PolicyStatus"]["IsPublic"] is False
    public = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::fid-policy/*"}]}
    s3.put_bucket_policy(Bucket="fid-policy", Policy=json.dumps(public))
    assert s3.get_bucket_policy_status(Bucket="fid-policy")["PolicyStatus"]["IsPublic"] is True


def test_configurations_validated():
    s3 = client()
    s3.create_bucket(Bucket="fid-cfg")
    rule = {"Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 3}}
    s3.put_bucket_lifecycle_configuration(Bucket="fid-cfg",
                                          LifecycleConfiguration={"Rules": [rule]})
    got = s3.get_bucket_lifecycle_configuration(Bucket="fid-cfg")["Rules"][0]
    assert got.get("ID"), got  # generated
    assert code_of(s3.put_bucket_lifecycle_configuration, Bucket="fid-cfg",
                   LifecycleConfiguration={"Rules": [dict(rule, Status="On")]}) == (
        400, "MalformedXML")
    assert code_of(s3.put_bucket_lifecycle_configuration, Bucket="fid-cfg",
                   LifecycleConfiguration={"Rules": [dict(rule, ID="x"), dict(rule, ID="x")]}) == (
        400, "InvalidArgument")
    assert code_of(s3.put_bucket_lifecycle_configuration, Bucket="fid-cfg",
                   LifecycleConfiguration={"Rules": [dict(rule, Expiration={"Days": 0})]}) == (
        400, "InvalidArgument")
    no_action = {"Status": "Enabled", "Filter": {"Prefix": ""}}
    assert code_of(s3.put_bucket_lifecycle_configuration, Bucket="fid-cfg",
                   LifecycleConfiguration={"Rules": [no_action]}) == (400, "InvalidRequest")
    cors = {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}
    s3.put_bucket_cors(Bucket="fid-cfg", CORSConfiguration={"CORSRules": [cors]})
    assert code_of(s3.put_bucket_cors, Bucket="fid-cfg", CORSConfiguration={
        "CORSRules": [dict(cors, AllowedMethods=["PATCH"])]}) == (400, "InvalidRequest")
    assert code_of(s3.put_bucket_accelerate_configuration, Bucket="fid-cfg",
                   AccelerateConfiguration={"Status": "On"}) == (400, "MalformedXML")
    s3.put_bucket_accelerate_configuration(Bucket="fid-cfg",
                                           AccelerateConfiguration={"Status": "Enabled"})
    repl = {"Role": "arn:aws:iam::000000000000:role/r", "Rules": [{
        "Status": "Enabled", "Prefix": "", "Destination": {"Bucket": "arn:aws:s3:::dst"}}]}
    assert code_of(s3.put_bucket_replication, Bucket="fid-cfg",
                   ReplicationConfiguration=repl) == (400, "InvalidRequest")  # no versioning
    s3.put_bucket_versioning(Bucket="fid-cfg", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_replication(Bucket="fid-cfg", ReplicationConfiguration=repl)
    got = s3.get_bucket_replication(Bucket="fid-cfg")["ReplicationConfiguration"]["Rules"][0]
    assert got.get("ID"), got
    assert code_of(s3.put_bucket_logging, Bucket="fid-cfg", BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": "fid-missing", "TargetPrefix": "l/"}}) == (
        400, "InvalidTargetBucketForLogging")
    s3.put_bucket_logging(Bucket="fid-cfg", BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": "fid-cfg", "TargetPrefix": "l/"}})
    qc = {"QueueArn": "arn:aws:sqs:us-east-1:000000000000:q", "Events": ["s3:ObjectCreated:*"]}
    # No such queue here: S3 stores it when asked not to check its destinations.
    s3.put_bucket_notification_configuration(
        Bucket="fid-cfg", NotificationConfiguration={"QueueConfigurations": [qc]},
        SkipDestinationValidation=True)
    got = s3.get_bucket_notification_configuration(Bucket="fid-cfg")["QueueConfigurations"][0]
    assert got.get("Id"), got
    assert code_of(s3.put_bucket_notification_configuration, Bucket="fid-cfg",
                   NotificationConfiguration={"QueueConfigurations": [
                       dict(qc, Events=["s3:Nothing"])]}) == (400, "InvalidArgument")


def test_list_buckets_paged():
    """Prefix, max-buckets, continuation-token and bucket-region are newer
    than botocore 1.29: sent as a raw query, the answer read as XML."""
    import http.client
    import xml.etree.ElementTree as ET
    s3 = client()
    for n in ("lb-a", "lb-b", "lb-c"):
        s3.create_bucket(Bucket=n)
    client(region="eu-west-1").create_bucket(
        Bucket="lb-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"

    def get(query):
        conn = http.client.HTTPConnection("127.0.0.1", sup.EMU.port, timeout=30)
        conn.request("GET", "/?" + query)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        return resp.status, body

    status, body = get("prefix=lb-&max-buckets=2")
    assert status == 200, body
    root = ET.fromstring(body)
    names = [b.find(ns + "Name").text for b in root.iter(ns + "Bucket")]
    assert names == ["lb-a", "lb-b"], names
    assert root.find(ns + "Prefix").text == "lb-"
    token = root.find(ns + "ContinuationToken").text
    status, body = get("prefix=lb-&max-buckets=2&continuation-token=" + token)
    root = ET.fromstring(body)
    names = [b.find(ns + "Name").text for b in root.iter(ns + "Bucket")]
    assert names == ["lb-c", "lb-eu"], names
    assert root.find(ns + "ContinuationToken") is None
    status, body = get("prefix=lb-&bucket-region=eu-west-1")
    root = ET.fromstring(body)
    got = [(b.find(ns + "Name").text, b.find(ns + "BucketRegion").text)
           for b in root.iter(ns + "Bucket")]
    assert got == [("lb-eu", "eu-west-1")], got
    status, body = get("max-buckets=0")
    assert status == 400 and b"InvalidArgument" in body, body
    # Plain ListBuckets, as every SDK sends it, still parses.
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "lb-a" in names and "lb-eu" in names


def test_more_configurations_validated():
    s3 = client()
    s3.create_bucket(Bucket="fid-more")
    # bucket policies: the statement's fields, actions and resources
    def policy(**stmt):
        base = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::fid-more/*"}
        base.update(stmt)
        return json.dumps({"Version": "2012-10-17", "Statement": [
            {k: v for k, v in base.items() if v is not None}]})
    s3.put_bucket_policy(Bucket="fid-more", Policy=policy())
    for bad, message in ((json.dumps({"Version": "2012-10-17"}), "Missing required field Statement"),
                         (policy(Principal=None), "Missing required field Principal"),
                         (policy(Effect="Maybe"), "Invalid effect: Maybe"),
                         (policy(Action="ec2:RunInstances"), "Policy has invalid action"),
                         (policy(Resource="arn:aws:s3:::other-bucket/*"),
                          "Policy has invalid resource")):
        r = sup.error_of(s3.put_bucket_policy, Bucket="fid-more", Policy=bad)
        assert (r["Error"]["Code"], r["Error"]["Message"]) == ("MalformedPolicy", message), r
    # website, ownership controls, request payment
    r = sup.error_of(s3.put_bucket_website, Bucket="fid-more", WebsiteConfiguration={})
    assert r["Error"]["Code"] == "InvalidArgument" and "IndexDocument Suffix" in r["Error"][
        "Message"], r
    assert code_of(s3.put_bucket_website, Bucket="fid-more", WebsiteConfiguration={
        "IndexDocument": {"Suffix": "a/index.html"}}) == (400, "InvalidArgument")
    s3.put_bucket_website(Bucket="fid-more", WebsiteConfiguration={
        "IndexDocument": {"Suffix": "index.html"}})
    assert code_of(s3.put_bucket_ownership_controls, Bucket="fid-more", OwnershipControls={
        "Rules": [{"ObjectOwnership": "Nobody"}]}) == (400, "MalformedXML")
    assert code_of(s3.put_bucket_request_payment, Bucket="fid-more",
                   RequestPaymentConfiguration={"Payer": "Someone"}) == (400, "MalformedXML")
    # negative page sizes
    r = sup.error_of(s3.list_objects_v2, Bucket="fid-more", MaxKeys=-1)
    assert r["Error"]["Code"] == "InvalidArgument" and r["Error"]["ArgumentName"] == "maxKeys", r
    assert code_of(s3.list_multipart_uploads, Bucket="fid-more", MaxUploads=-5) == (
        400, "InvalidArgument")


if __name__ == "__main__":
    sup.run([test_checksum_types, test_list_buckets_paged, test_head_range_and_copy_range_validation, test_part_number, test_object_attributes, test_tags, test_policy_status,
             test_configurations_validated, test_more_configurations_validated])
