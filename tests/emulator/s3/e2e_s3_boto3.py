#!/usr/bin/python3
"""End-to-end S3 tests with Debian's boto3 (Content-MD5 path), curl and raw
HTTP against a real `airgap emulator` ($AIRGAP_BIN): buckets, objects,
listings, multipart, copy, ranges, conditionals, versioning, configurations,
checksums, aws-chunked bodies, presigned URLs, virtual hosts, CORS,
Expect: 100-continue, hostile keys and bodies, and the data files left
behind (none)."""

import base64
import datetime
import hashlib
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
import zlib

import boto3
import botocore
from botocore.config import Config

# The emulator launcher is shared with the SQS tests and lives next to them:
# tests/emulator/sqs/ (or tests/emulator/, where it was first written).
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, ".."))
from emulator_support import Emulator  # noqa: E402

EMU = None
DATA = None


def client(**kw):
    return boto3.client(
        "s3", endpoint_url=EMU.endpoint, region_name=kw.pop("region", "us-east-1"),
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, **kw))


def error_of(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except botocore.exceptions.ClientError as e:
        return e.response
    raise AssertionError("%s did not fail" % getattr(fn, "__name__", fn))


def raw(method, path, body=b"", headers=None, host=None):
    conn = http.client.HTTPConnection("127.0.0.1", EMU.port, timeout=30)
    hdrs = dict(headers or {})
    if host:
        hdrs["Host"] = host
    conn.request(method, path, body=body, headers=hdrs)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), data


def empty_bucket(s3, bucket):
    versions = s3.list_object_versions(Bucket=bucket)
    for v in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
        s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
    for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
    s3.delete_bucket(Bucket=bucket)


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def b64(raw_bytes):
    return base64.b64encode(raw_bytes).decode()


# ---- tests ----

def test_buckets():
    s3 = client()
    s3.create_bucket(Bucket="bkt-one")
    s3.create_bucket(Bucket="bkt-one")  # your own bucket again, in us-east-1: 200
    assert error_of(s3.create_bucket, Bucket="UPPER-case")["Error"]["Code"] == "InvalidBucketName"
    eu = client(region="eu-west-1")
    eu.create_bucket(Bucket="bkt-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert eu.get_bucket_location(Bucket="bkt-eu")["LocationConstraint"] == "eu-west-1"
    assert s3.get_bucket_location(Bucket="bkt-one").get("LocationConstraint") is None
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "bkt-one" in names and "bkt-eu" in names, names
    r = eu.head_bucket(Bucket="bkt-eu")
    assert r["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "eu-west-1"
    assert r["ResponseMetadata"]["HTTPHeaders"]["x-amz-access-point-alias"] == "false"
    s3.head_bucket(Bucket="bkt-one")
    err = error_of(s3.head_bucket, Bucket="bkt-missing")
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 404
    err = error_of(s3.list_objects_v2, Bucket="bkt-missing")
    assert err["Error"]["Code"] == "NoSuchBucket" and err["Error"]["BucketName"] == "bkt-missing"
    s3.put_object(Bucket="bkt-one", Key="k", Body=b"x")
    err = error_of(s3.delete_bucket, Bucket="bkt-one")
    assert err["Error"]["Code"] == "BucketNotEmpty", err
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 409
    s3.delete_object(Bucket="bkt-one", Key="k")
    s3.delete_bucket(Bucket="bkt-one")
    eu.delete_bucket(Bucket="bkt-eu")
    assert "bkt-one" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_objects():
    s3 = client()
    s3.create_bucket(Bucket="objs", ObjectOwnership="ObjectWriter")
    body = os.urandom(3000)
    r = s3.put_object(Bucket="objs", Key="dir/file.bin", Body=body, ContentType="application/x-test",
                      ContentEncoding="identity", ContentDisposition="attachment; filename=f.bin",
                      ContentLanguage="fr", CacheControl="max-age=60",
                      Expires=datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
                      Metadata={"colour": "blue", "Mixed-Case": "v"}, StorageClass="STANDARD_IA",
                      Tagging="a=1&b=two")
    etag = '"%s"' % hashlib.md5(body).hexdigest()
    assert r["ETag"] == etag, r
    g = s3.get_object(Bucket="objs", Key="dir/file.bin")
    assert g["Body"].read() == body
    assert g["ETag"] == etag and g["ContentLength"] == len(body)
    assert g["ContentType"] == "application/x-test"
    assert g["ContentEncoding"] == "identity"
    assert g["ContentDisposition"] == "attachment; filename=f.bin"
    assert g["ContentLanguage"] == "fr" and g["CacheControl"] == "max-age=60"
    assert g["Expires"].year == 2030
    assert g["Metadata"] == {"colour": "blue", "mixed-case": "v"}, g["Metadata"]
    assert g["StorageClass"] == "STANDARD_IA"
    assert g["TagCount"] == 2
    assert g["ResponseMetadata"]["HTTPHeaders"]["last-modified"].endswith("GMT")
    h = s3.head_object(Bucket="objs", Key="dir/file.bin")
    assert h["ContentLength"] == len(body) and h["ETag"] == etag
    tags = s3.get_object_tagging(Bucket="objs", Key="dir/file.bin")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", "1"), ("b", "two")]
    s3.put_object_tagging(Bucket="objs", Key="dir/file.bin",
                          Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert s3.get_object_tagging(Bucket="objs", Key="dir/file.bin")["TagSet"] == [
        {"Key": "k", "Value": "v"}]
    s3.delete_object_tagging(Bucket="objs", Key="dir/file.bin")
    assert s3.get_object_tagging(Bucket="objs", Key="dir/file.bin")["TagSet"] == []
    s3.put_object_acl(Bucket="objs", Key="dir/file.bin", ACL="public-read")
    grants = s3.get_object_acl(Bucket="objs", Key="dir/file.bin")["Grants"]
    assert any(g_["Permission"] == "READ" and g_["Grantee"].get("URI", "").endswith("AllUsers")
               for g_ in grants), grants
    # response-* overrides
    g = s3.get_object(Bucket="objs", Key="dir/file.bin", ResponseContentType="text/x-over")
    assert g["ContentType"] == "text/x-over"
    # errors carry their fields
    err = error_of(s3.get_object, Bucket="objs", Key="missing/key")
    assert err["Error"]["Code"] == "NoSuchKey" and err["Error"]["Key"] == "missing/key", err
    err = error_of(s3.get_object, Bucket="no-such-bkt", Key="k")
    assert err["Error"]["Code"] == "NoSuchBucket" and err["Error"]["BucketName"] == "no-such-bkt"
    # Content-MD5: boto3 sends it when given; a wrong one is BadDigest
    s3.put_object(Bucket="objs", Key="md5", Body=b"abc", ContentMD5=b64(hashlib.md5(b"abc").digest()))
    err = error_of(s3.put_object, Bucket="objs", Key="md5", Body=b"abc",
                   ContentMD5=b64(hashlib.md5(b"abd").digest()))
    assert err["Error"]["Code"] == "BadDigest", err
    err = error_of(s3.put_object, Bucket="objs", Key="md5", Body=b"abc", ContentMD5="notbase64!")
    assert err["Error"]["Code"] == "InvalidDigest", err
    assert s3.get_object(Bucket="objs", Key="md5")["Body"].read() == b"abc"
    # empty object
    s3.put_object(Bucket="objs", Key="empty", Body=b"")
    g = s3.get_object(Bucket="objs", Key="empty")
    assert g["Body"].read() == b"" and g["ContentLength"] == 0
    assert g["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
    # overwrite replaces
    s3.put_object(Bucket="objs", Key="empty", Body=b"now full")
    assert s3.get_object(Bucket="objs", Key="empty")["Body"].read() == b"now full"
    # a body over the spill threshold goes through a file both ways
    big = os.urandom(9 * 1024 * 1024 + 17)
    s3.put_object(Bucket="objs", Key="big", Body=big)
    assert s3.get_object(Bucket="objs", Key="big")["Body"].read() == big
    # DeleteObjects bodies are checked against Content-MD5 (boto3 sends it)
    xml = b"<Delete><Object><Key>dir/file.bin</Key></Object></Delete>"
    status, _, data = raw("POST", "/objs?delete", xml,
                          {"Content-MD5": b64(hashlib.md5(b"other").digest())})
    assert status == 400 and b"BadDigest" in data, data
    assert s3.head_object(Bucket="objs", Key="dir/file.bin")["ContentLength"] == len(body)
    r = s3.delete_objects(Bucket="objs", Delete={"Objects": [
        {"Key": "dir/file.bin"}, {"Key": "md5"}, {"Key": "empty"}, {"Key": "big"},
        {"Key": "never-existed"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == sorted(
        ["dir/file.bin", "md5", "empty", "big", "never-existed"]), r
    r = s3.delete_objects(Bucket="objs", Delete={"Objects": [{"Key": "x"}], "Quiet": True})
    assert not r.get("Deleted") and not r.get("Errors")
    assert s3.list_objects_v2(Bucket="objs")["KeyCount"] == 0
    s3.delete_bucket(Bucket="objs")


def test_listing():
    s3 = client()
    s3.create_bucket(Bucket="lists")
    keys = ["a.txt", "b/1", "b/2", "b/c/3", "c d/e", "d+e", "z%y", "\u00e9t\u00e9/\u65e5"]
    for k in keys:
        s3.put_object(Bucket="lists", Key=k, Body=k.encode())
    r = s3.list_objects_v2(Bucket="lists")
    assert [o["Key"] for o in r["Contents"]] == sorted(keys, key=lambda k: k.encode()), r
    r = s3.list_objects_v2(Bucket="lists", Delimiter="/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["b/", "c d/", "\u00e9t\u00e9/"], r
    assert [o["Key"] for o in r["Contents"]] == ["a.txt", "d+e", "z%y"]
    r = s3.list_objects_v2(Bucket="lists", Prefix="b/", Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == ["b/1", "b/2"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["b/c/"]
    # pagination: v2 continuation tokens, page by page
    seen, token, pages = [], None, 0
    while True:
        kw = {"ContinuationToken": token} if token else {}
        r = s3.list_objects_v2(Bucket="lists", MaxKeys=3, **kw)
        seen += [o["Key"] for o in r["Contents"]]
        pages += 1
        assert r["KeyCount"] == len(r["Contents"])
        if not r["IsTruncated"]:
            break
        token = r["NextContinuationToken"]
    assert seen == sorted(keys, key=lambda k: k.encode()) and pages == 3, (seen, pages)
    r = s3.list_objects_v2(Bucket="lists", StartAfter="b/2")
    assert r["Contents"][0]["Key"] == "b/c/3"
    # delimiter pagination counts common prefixes
    p = s3.get_paginator("list_objects_v2").paginate(Bucket="lists", Delimiter="/",
                                                     PaginationConfig={"PageSize": 2})
    got = []
    for page in p:
        got += [o["Key"] for o in page.get("Contents", [])]
        got += [c["Prefix"] for c in page.get("CommonPrefixes", [])]
    assert sorted(got) == sorted(["a.txt", "b/", "c d/", "d+e", "z%y", "\u00e9t\u00e9/"]), got
    # v1 markers
    r = s3.list_objects(Bucket="lists", MaxKeys=2)
    assert r["IsTruncated"] and [o["Key"] for o in r["Contents"]] == ["a.txt", "b/1"]
    r = s3.list_objects(Bucket="lists", Marker="b/1", MaxKeys=2)
    assert [o["Key"] for o in r["Contents"]] == ["b/2", "b/c/3"]
    r = s3.list_objects(Bucket="lists", Delimiter="/", MaxKeys=2)
    assert r["IsTruncated"] and r["NextMarker"] == "b/", r
    # encoding-type=url on the wire
    status, _, data = raw("GET", "/lists?list-type=2&encoding-type=url&prefix=c%20")
    assert status == 200 and b"<Key>c%20d/e</Key>" in data, data
    status, _, data = raw("GET", "/lists?list-type=2&encoding-type=bogus")
    assert status == 400 and b"InvalidArgument" in data
    status, _, data = raw("GET", "/lists?list-type=2&continuation-token=%21%21")
    assert status == 400 and b"InvalidArgument" in data, data
    s3.delete_objects(Bucket="lists", Delete={"Objects": [{"Key": k} for k in keys]})
    s3.delete_bucket(Bucket="lists")


def test_multipart():
    s3 = client()
    s3.create_bucket(Bucket="multi")
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(5 * 1024 * 1024), os.urandom(1234)]
    up = s3.create_multipart_upload(Bucket="multi", Key="mp", ContentType="text/x-mp",
                                    Metadata={"m": "1"})
    uid = up["UploadId"]
    etags = []
    for i, p in enumerate(parts, 1):
        etags.append(s3.upload_part(Bucket="multi", Key="mp", UploadId=uid, PartNumber=i,
                                    Body=p)["ETag"])
    assert etags[0] == '"%s"' % hashlib.md5(parts[0]).hexdigest()
    lp = s3.list_parts(Bucket="multi", Key="mp", UploadId=uid)
    assert [(p["PartNumber"], p["Size"]) for p in lp["Parts"]] == [
        (1, len(parts[0])), (2, len(parts[1])), (3, 1234)]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="multi")["Uploads"]] == [uid]
    err = error_of(s3.complete_multipart_upload, Bucket="multi", Key="mp", UploadId=uid,
                   MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": etags[1]},
                                              {"PartNumber": 1, "ETag": etags[0]}]})
    assert err["Error"]["Code"] == "InvalidPartOrder", err
    err = error_of(s3.complete_multipart_upload, Bucket="multi", Key="mp", UploadId=uid,
                   MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"0000"'}]})
    assert err["Error"]["Code"] == "InvalidPart", err
    err = error_of(s3.complete_multipart_upload, Bucket="multi", Key="mp", UploadId=uid,
                   MultipartUpload={"Parts": [{"PartNumber": 3, "ETag": etags[2]},
                                              {"PartNumber": 4, "ETag": etags[2]}]})
    assert err["Error"]["Code"] == "InvalidPart", err
    r = s3.complete_multipart_upload(
        Bucket="multi", Key="mp", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
    md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    want = '"%s-3"' % hashlib.md5(md5s).hexdigest()
    assert r["ETag"] == want, (r["ETag"], want)
    g = s3.get_object(Bucket="multi", Key="mp")
    assert g["Body"].read() == b"".join(parts) and g["ETag"] == want
    assert g["ContentType"] == "text/x-mp" and g["Metadata"] == {"m": "1"}
    assert s3.head_object(Bucket="multi", Key="mp", PartNumber=1)["PartsCount"] == 3
    err = error_of(s3.list_parts, Bucket="multi", Key="mp", UploadId=uid)
    assert err["Error"]["Code"] == "NoSuchUpload", err
    # small non-last part
    up = s3.create_multipart_upload(Bucket="multi", Key="small")
    e1 = s3.upload_part(Bucket="multi", Key="small", UploadId=up["UploadId"], PartNumber=1,
                        Body=b"tiny")["ETag"]
    e2 = s3.upload_part(Bucket="multi", Key="small", UploadId=up["UploadId"], PartNumber=2,
                        Body=b"tail")["ETag"]
    err = error_of(s3.complete_multipart_upload, Bucket="multi", Key="small",
                   UploadId=up["UploadId"],
                   MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                              {"PartNumber": 2, "ETag": e2}]})
    assert err["Error"]["Code"] == "EntityTooSmall", err
    err = error_of(s3.upload_part, Bucket="multi", Key="small", UploadId=up["UploadId"],
                   PartNumber=10001, Body=b"x")
    assert err["Error"]["Code"] == "InvalidArgument", err
    # upload part copy with a range
    r = s3.upload_part_copy(Bucket="multi", Key="small", UploadId=up["UploadId"], PartNumber=3,
                            CopySource={"Bucket": "multi", "Key": "mp"},
                            CopySourceRange="bytes=10-19")
    assert r["CopyPartResult"]["ETag"] == '"%s"' % hashlib.md5(parts[0][10:20]).hexdigest()
    s3.abort_multipart_upload(Bucket="multi", Key="small", UploadId=up["UploadId"])
    err = error_of(s3.abort_multipart_upload, Bucket="multi", Key="small", UploadId=up["UploadId"])
    assert err["Error"]["Code"] == "NoSuchUpload"
    assert not s3.list_multipart_uploads(Bucket="multi").get("Uploads")
    s3.delete_object(Bucket="multi", Key="mp")
    s3.delete_bucket(Bucket="multi")


def test_copy():
    s3 = client()
    s3.create_bucket(Bucket="copies")
    s3.put_object(Bucket="copies", Key="src", Body=b"source data", ContentType="text/plain",
                  Metadata={"a": "1"})
    etag = s3.head_object(Bucket="copies", Key="src")["ETag"]
    r = s3.copy_object(Bucket="copies", Key="dst", CopySource={"Bucket": "copies", "Key": "src"})
    assert r["CopyObjectResult"]["ETag"] == etag
    h = s3.head_object(Bucket="copies", Key="dst")
    assert h["Metadata"] == {"a": "1"} and h["ContentType"] == "text/plain"
    s3.copy_object(Bucket="copies", Key="dst2", CopySource="copies/src",
                   MetadataDirective="REPLACE", Metadata={"b": "2"}, ContentType="text/x-new")
    h = s3.head_object(Bucket="copies", Key="dst2")
    assert h["Metadata"] == {"b": "2"} and h["ContentType"] == "text/x-new"
    assert s3.get_object(Bucket="copies", Key="dst2")["Body"].read() == b"source data"
    err = error_of(s3.copy_object, Bucket="copies", Key="src", CopySource="copies/src")
    assert err["Error"]["Code"] == "InvalidRequest", err
    s3.copy_object(Bucket="copies", Key="src", CopySource="copies/src",
                   MetadataDirective="REPLACE", Metadata={"c": "3"})
    assert s3.head_object(Bucket="copies", Key="src")["Metadata"] == {"c": "3"}
    err = error_of(s3.copy_object, Bucket="copies", Key="d3", CopySource="copies/src",
                   CopySourceIfMatch='"nope"')
    assert err["Error"]["Code"] == "PreconditionFailed", err
    err = error_of(s3.copy_object, Bucket="copies", Key="d3", CopySource="copies/src",
                   CopySourceIfNoneMatch=etag)
    assert err["Error"]["Code"] == "PreconditionFailed", err
    s3.copy_object(Bucket="copies", Key="d3", CopySource="copies/src", CopySourceIfMatch=etag)
    err = error_of(s3.copy_object, Bucket="copies", Key="d4", CopySource="copies/missing")
    assert err["Error"]["Code"] == "NoSuchKey", err
    # the copy keeps its data after the source is deleted
    s3.delete_object(Bucket="copies", Key="src")
    assert s3.get_object(Bucket="copies", Key="dst")["Body"].read() == b"source data"
    s3.delete_objects(Bucket="copies", Delete={"Objects": [{"Key": k} for k in
                                                           ("dst", "dst2", "d3")]})
    s3.delete_bucket(Bucket="copies")


def test_ranges_and_conditions():
    s3 = client()
    s3.create_bucket(Bucket="ranges")
    body = bytes(range(256)) * 4
    etag = s3.put_object(Bucket="ranges", Key="r", Body=body)["ETag"]
    g = s3.get_object(Bucket="ranges", Key="r", Range="bytes=10-19")
    assert g["Body"].read() == body[10:20] and g["ContentRange"] == "bytes 10-19/1024"
    assert g["ResponseMetadata"]["HTTPStatusCode"] == 206 and g["ContentLength"] == 10
    assert s3.get_object(Bucket="ranges", Key="r", Range="bytes=-5")["Body"].read() == body[-5:]
    assert s3.get_object(Bucket="ranges", Key="r", Range="bytes=1000-")["Body"].read() == body[1000:]
    assert s3.get_object(Bucket="ranges", Key="r", Range="bytes=1000-5000")["Body"].read() == body[1000:]
    err = error_of(s3.get_object, Bucket="ranges", Key="r", Range="bytes=2000-3000")
    assert err["Error"]["Code"] == "InvalidRange", err
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 416
    status, hdrs, data = raw("GET", "/ranges/r", headers={"If-None-Match": etag})
    assert status == 304 and data == b"" and hdrs["etag"] == etag, (status, hdrs)
    status, _, _ = raw("GET", "/ranges/r", headers={"If-Match": '"other"'})
    assert status == 412
    status, _, data = raw("GET", "/ranges/r", headers={"If-Match": etag})
    assert status == 200 and data == body
    future = "Tue, 01 Jan 2036 00:00:00 GMT"
    past = "Sat, 01 Jan 2000 00:00:00 GMT"
    status, _, _ = raw("GET", "/ranges/r", headers={"If-Modified-Since": future})
    assert status == 304
    status, _, _ = raw("GET", "/ranges/r", headers={"If-Modified-Since": past})
    assert status == 200
    status, _, _ = raw("GET", "/ranges/r", headers={"If-Unmodified-Since": past})
    assert status == 412
    status, hdrs, data = raw("HEAD", "/ranges/r")
    assert status == 200 and hdrs["content-length"] == "1024" and data == b"", hdrs
    status, _, _ = raw("HEAD", "/ranges/r", headers={"If-None-Match": etag})
    assert status == 304
    err = error_of(s3.get_object, Bucket="ranges", Key="r", IfMatch='"x"')
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 412
    s3.delete_object(Bucket="ranges", Key="r")
    s3.delete_bucket(Bucket="ranges")


def test_versioning():
    s3 = client()
    s3.create_bucket(Bucket="versions")
    assert "Status" not in s3.get_bucket_versioning(Bucket="versions")
    s3.put_object(Bucket="versions", Key="k", Body=b"before")  # the "null" version
    s3.put_bucket_versioning(Bucket="versions", VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket="versions")["Status"] == "Enabled"
    v1 = s3.put_object(Bucket="versions", Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket="versions", Key="k", Body=b"two")["VersionId"]
    assert v1 != v2 and v1 != "null"
    assert s3.get_object(Bucket="versions", Key="k")["Body"].read() == b"two"
    assert s3.get_object(Bucket="versions", Key="k", VersionId=v1)["Body"].read() == b"one"
    assert s3.get_object(Bucket="versions", Key="k", VersionId="null")["Body"].read() == b"before"
    d = s3.delete_object(Bucket="versions", Key="k")
    assert d["DeleteMarker"] is True and d["VersionId"]
    err = error_of(s3.get_object, Bucket="versions", Key="k")
    assert err["Error"]["Code"] == "NoSuchKey"
    hdrs = err["ResponseMetadata"]["HTTPHeaders"]
    assert hdrs["x-amz-delete-marker"] == "true" and hdrs["x-amz-version-id"] == d["VersionId"]
    assert "Contents" not in s3.list_objects_v2(Bucket="versions")
    lv = s3.list_object_versions(Bucket="versions")
    assert [v["VersionId"] for v in lv["Versions"]] == [v2, v1, "null"], lv["Versions"]
    assert [m["VersionId"] for m in lv["DeleteMarkers"]] == [d["VersionId"]]
    assert lv["DeleteMarkers"][0]["IsLatest"] and not lv["Versions"][0]["IsLatest"]
    page = s3.list_object_versions(Bucket="versions", MaxKeys=2)
    assert page["IsTruncated"] and page["NextKeyMarker"] == "k"
    rest = s3.list_object_versions(Bucket="versions", KeyMarker="k",
                                   VersionIdMarker=page["NextVersionIdMarker"])
    assert len(rest.get("Versions", [])) + len(rest.get("DeleteMarkers", [])) == 2
    err = error_of(s3.get_object, Bucket="versions", Key="k", VersionId=d["VersionId"])
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 405
    err = error_of(s3.get_object, Bucket="versions", Key="k", VersionId="A" * 32)
    assert err["Error"]["Code"] == "NoSuchVersion", err
    # an id not shaped as S3's is refused, not looked up
    err = error_of(s3.get_object, Bucket="versions", Key="k", VersionId="nosuchversion")
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400, err
    assert err["Error"]["Code"] == "InvalidArgument", err
    # removing the delete marker brings the object back
    s3.delete_object(Bucket="versions", Key="k", VersionId=d["VersionId"])
    assert s3.get_object(Bucket="versions", Key="k")["Body"].read() == b"two"
    s3.delete_object(Bucket="versions", Key="k", VersionId=v2)
    assert s3.get_object(Bucket="versions", Key="k")["Body"].read() == b"one"
    # copy a specific version
    r = s3.copy_object(Bucket="versions", Key="c", CopySource={"Bucket": "versions", "Key": "k",
                                                               "VersionId": "null"})
    assert r["CopySourceVersionId"] == "null"
    assert s3.get_object(Bucket="versions", Key="c")["Body"].read() == b"before"
    s3.put_bucket_versioning(Bucket="versions", VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket="versions")["Status"] == "Suspended"
    # A suspended bucket's write is its "null" version, which S3's answer does
    # not name (reads do).
    assert "VersionId" not in s3.put_object(Bucket="versions", Key="k", Body=b"s")
    assert s3.head_object(Bucket="versions", Key="k")["VersionId"] == "null"
    vs = [v["VersionId"] for v in s3.list_object_versions(Bucket="versions", Prefix="k")["Versions"]]
    assert vs.count("null") == 1 and v1 in vs, vs
    empty_bucket(s3, "versions")


def test_configurations():
    s3 = client()
    s3.create_bucket(Bucket="configs", ObjectOwnership="BucketOwnerPreferred")
    policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",' \
             '"Action":"s3:GetObject","Resource":"arn:aws:s3:::configs/*"}]}'
    assert error_of(s3.get_bucket_policy, Bucket="configs")["Error"]["Code"] == "NoSuchBucketPolicy"
    s3.put_bucket_policy(Bucket="configs", Policy=policy)
    assert s3.get_bucket_policy(Bucket="configs")["Policy"] == policy
    assert error_of(s3.put_bucket_policy, Bucket="configs",
                    Policy="not json")["Error"]["Code"] == "MalformedPolicy"
    s3.delete_bucket_policy(Bucket="configs")
    assert error_of(s3.get_bucket_policy, Bucket="configs")["Error"]["Code"] == "NoSuchBucketPolicy"
    cors = {"CORSRules": [{"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["https://x.example"],
                           "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 30}]}
    assert error_of(s3.get_bucket_cors, Bucket="configs")["Error"]["Code"] == "NoSuchCORSConfiguration"
    s3.put_bucket_cors(Bucket="configs", CORSConfiguration=cors)
    assert s3.get_bucket_cors(Bucket="configs")["CORSRules"] == cors["CORSRules"]
    s3.delete_bucket_cors(Bucket="configs")
    lifecycle = {"Rules": [{"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
                            "Expiration": {"Days": 7}}]}
    s3.put_bucket_lifecycle_configuration(Bucket="configs", LifecycleConfiguration=lifecycle)
    got = s3.get_bucket_lifecycle_configuration(Bucket="configs")["Rules"]
    assert got == lifecycle["Rules"], got
    s3.delete_bucket_lifecycle(Bucket="configs")
    assert error_of(s3.get_bucket_lifecycle_configuration,
                    Bucket="configs")["Error"]["Code"] == "NoSuchLifecycleConfiguration"
    enc = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    s3.put_bucket_encryption(Bucket="configs", ServerSideEncryptionConfiguration=enc)
    assert s3.get_bucket_encryption(Bucket="configs")["ServerSideEncryptionConfiguration"] == enc
    s3.delete_bucket_encryption(Bucket="configs")
    notif = {"QueueConfigurations": [{"Id": "q", "QueueArn": "arn:aws:sqs:us-east-1:000000000000:q",
                                      "Events": ["s3:ObjectCreated:*"]}]}
    got = s3.get_bucket_notification_configuration(Bucket="configs")
    assert "QueueConfigurations" not in got
    s3.put_bucket_notification_configuration(Bucket="configs", NotificationConfiguration=notif,
                                             SkipDestinationValidation=True)
    got = s3.get_bucket_notification_configuration(Bucket="configs")
    assert got["QueueConfigurations"] == notif["QueueConfigurations"], got
    assert error_of(s3.get_bucket_tagging, Bucket="configs")["Error"]["Code"] == "NoSuchTagSet"
    s3.put_bucket_tagging(Bucket="configs", Tagging={"TagSet": [{"Key": "team", "Value": "ci"}]})
    assert s3.get_bucket_tagging(Bucket="configs")["TagSet"] == [{"Key": "team", "Value": "ci"}]
    s3.delete_bucket_tagging(Bucket="configs")
    acl = s3.get_bucket_acl(Bucket="configs")
    assert acl["Grants"][0]["Permission"] == "FULL_CONTROL" and acl["Owner"]["ID"]
    s3.put_bucket_acl(Bucket="configs", ACL="public-read")
    assert len(s3.get_bucket_acl(Bucket="configs")["Grants"]) == 2
    s3.delete_bucket(Bucket="configs")


def test_checksums():
    s3 = client()
    s3.create_bucket(Bucket="sums")
    data = b"checksum me" * 100
    crc = b64(zlib.crc32(data).to_bytes(4, "big"))
    r = s3.put_object(Bucket="sums", Key="c", Body=data, ChecksumCRC32=crc)
    assert r["ChecksumCRC32"] == crc, r
    h = s3.head_object(Bucket="sums", Key="c", ChecksumMode="ENABLED")
    assert h["ChecksumCRC32"] == crc
    err = error_of(s3.put_object, Bucket="sums", Key="c", Body=data, ChecksumCRC32="AAAAAA==")
    assert err["Error"]["Code"] == "BadDigest", err
    sha = b64(hashlib.sha256(data).digest())
    r = s3.put_object(Bucket="sums", Key="s", Body=data, ChecksumSHA256=sha)
    assert r["ChecksumSHA256"] == sha
    sha1 = b64(hashlib.sha1(data).digest())
    assert s3.put_object(Bucket="sums", Key="s1", Body=data, ChecksumSHA1=sha1)["ChecksumSHA1"] == sha1
    c32c = b64(crc32c(data).to_bytes(4, "big"))
    assert s3.put_object(Bucket="sums", Key="cc", Body=data,
                         ChecksumCRC32C=c32c)["ChecksumCRC32C"] == c32c
    g = s3.get_object(Bucket="sums", Key="cc", ChecksumMode="ENABLED")
    assert g["ChecksumCRC32C"] == c32c and g["Body"].read() == data
    # aws-chunked, signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)
    payload = os.urandom(70000)
    body = b""
    for i in range(0, len(payload), 65536):
        chunk = payload[i:i + 65536]
        body += b"%x;chunk-signature=%s\r\n" % (len(chunk), b"0" * 64) + chunk + b"\r\n"
    body += b"0;chunk-signature=" + b"0" * 64 + b"\r\n\r\n"
    status, hdrs, resp = raw("PUT", "/sums/signed", body, {
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(payload)),
        "Content-Type": "application/x-chunked-test"})
    assert status == 200, resp
    g = s3.get_object(Bucket="sums", Key="signed")
    assert g["Body"].read() == payload and g["ETag"] == '"%s"' % hashlib.md5(payload).hexdigest()
    assert "ContentEncoding" not in g, g.get("ContentEncoding")
    # aws-chunked, unsigned with a trailing checksum
    for algo, value in (("crc32", b64(zlib.crc32(payload).to_bytes(4, "big"))),
                        ("crc32c", b64(crc32c(payload).to_bytes(4, "big")))):
        body = b"%x\r\n" % len(payload) + payload + b"\r\n0\r\n"
        body += b"x-amz-checksum-%s:%s\r\n\r\n" % (algo.encode(), value.encode())
        hdrs = {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                "Content-Encoding": "aws-chunked", "x-amz-trailer": "x-amz-checksum-" + algo,
                "x-amz-decoded-content-length": str(len(payload))}
        status, rh, resp = raw("PUT", "/sums/trailer-" + algo, body, hdrs)
        assert status == 200 and rh["x-amz-checksum-" + algo] == value, (status, rh, resp)
        bad = body.replace(value.encode(), b"AAAAAA==")
        status, _, resp = raw("PUT", "/sums/trailer-" + algo, bad, hdrs)
        assert status == 400 and b"BadDigest" in resp, resp
    # malformed framing is refused and stores nothing
    for bad in (b"zz\r\nabc\r\n0\r\n\r\n", b"5\r\nabc\r\n0\r\n\r\n", b"3\r\nabc\r\n",
                b"ffffffffffffffffff\r\n", b"3\r\nabcXX0\r\n\r\n"):
        status, _, resp = raw("PUT", "/sums/malformed", bad, {
            "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "Content-Encoding": "aws-chunked"})
        assert status == 400, (bad, status, resp)
    assert error_of(s3.head_object, Bucket="sums", Key="malformed")[
        "ResponseMetadata"]["HTTPStatusCode"] == 404
    status, _, resp = raw("PUT", "/sums/short", body, {
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": "5"})
    assert status == 400 and b"IncompleteBody" in resp, resp
    empty_bucket(s3, "sums")


def test_presigned_and_addressing():
    s3 = client()
    s3.create_bucket(Bucket="presign")
    s3.put_object(Bucket="presign", Key="dir/a b.txt", Body=b"presigned body")
    v4 = client(signature_version="s3v4")
    # SigV4 query auth, and the SigV2 form botocore presigns with by default
    url = v4.generate_presigned_url("get_object", Params={"Bucket": "presign", "Key": "dir/a b.txt"},
                                    ExpiresIn=300)
    assert "X-Amz-Signature=" in url and "X-Amz-Credential=" in url, url
    out = subprocess.run(["curl", "-sS", "--fail", url], capture_output=True, check=True)
    assert out.stdout == b"presigned body", out
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "presign", "Key": "dir/a b.txt"},
                                    ExpiresIn=300)
    out = subprocess.run(["curl", "-sS", "--fail", url], capture_output=True, check=True)
    assert out.stdout == b"presigned body", (url, out)
    put_url = v4.generate_presigned_url("put_object", Params={"Bucket": "presign", "Key": "up"},
                                        ExpiresIn=300)
    with tempfile.NamedTemporaryFile() as f:
        f.write(os.urandom(3 * 1024 * 1024))
        f.flush()
        # curl sends Expect: 100-continue for a body this size; force it anyway
        subprocess.run(["curl", "-sS", "--fail", "-X", "PUT", "-H", "Expect: 100-continue",
                        "--data-binary", "@" + f.name, put_url], check=True, capture_output=True)
        f.seek(0)
        assert s3.get_object(Bucket="presign", Key="up")["Body"].read() == f.read()
    # virtual-host style, both host forms
    for host in ("presign.s3.localhost.localstack.cloud:%d" % EMU.port,
                 "presign.localhost:%d" % EMU.port):
        status, _, data = raw("GET", "/dir/a%20b.txt", host=host)
        assert status == 200 and data == b"presigned body", (host, status, data)
        status, _, data = raw("GET", "/?list-type=2", host=host)
        assert status == 200 and b"<Name>presign</Name>" in data, data
    # CORS preflight, answered from the bucket's rules (more in e2e_s3_cors.py)
    s3.put_bucket_cors(Bucket="presign", CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET", "PUT"],
        "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"]}]})
    status, hdrs, _ = raw("OPTIONS", "/presign/dir/x", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type,x-amz-meta-a"})
    assert status == 200 and hdrs["access-control-allow-origin"] == "https://app.example", hdrs
    assert "PUT" in hdrs["access-control-allow-methods"]
    assert "x-amz-meta-a" in hdrs["access-control-allow-headers"]
    status, hdrs, _ = raw("GET", "/presign/up", headers={"Origin": "https://app.example"})
    assert hdrs.get("access-control-allow-origin") == "https://app.example"
    assert "ETag" in hdrs.get("access-control-expose-headers", "")
    s3.delete_objects(Bucket="presign", Delete={"Objects": [{"Key": "dir/a b.txt"}, {"Key": "up"}]})
    s3.delete_bucket(Bucket="presign")


def test_hostile_keys():
    s3 = client()
    s3.create_bucket(Bucket="hostile")
    keys = ["../escape", "a/../../b", "./.", "..", "\u043a\u043b\u044e\u0447/\u65e5\u672c\u8a9e \u2713",
            "spaces and +plus+ and %percent", "q?x=1&y#frag", "k" * 1024, "trailing/", "//double",
            "emoji \U0001F600", "<xml>&amp;</xml>"]
    for k in keys:
        s3.put_object(Bucket="hostile", Key=k, Body=k.encode())
        assert s3.get_object(Bucket="hostile", Key=k)["Body"].read() == k.encode(), k
    listed = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="hostile"):
        listed += [o["Key"] for o in page["Contents"]]
    assert sorted(listed) == sorted(keys), listed
    err = error_of(s3.put_object, Bucket="hostile", Key="k" * 1025, Body=b"x")
    assert err["Error"]["Code"] == "KeyTooLongError", err
    status, _, _ = raw("PUT", "/hostile/nul%00byte", b"x")
    assert status == 400, status
    status, _, _ = raw("GET", "/hostile/bad%zzescape")
    assert status == 400, status
    # a form-typed body (curl -d) is an object body, not query-protocol parameters
    form = b"Action=SendMessage&a=%zz&\x00"
    status, _, data = raw("PUT", "/hostile/form", form,
                          {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, (status, data)
    assert s3.get_object(Bucket="hostile", Key="form")["Body"].read() == form
    s3.delete_object(Bucket="hostile", Key="form")
    # nothing escaped the data directory
    for root, dirs, files in os.walk(DATA):
        for f in files:
            assert os.path.basename(root).startswith("airgap-s3-"), (root, f)
    s3.delete_objects(Bucket="hostile", Delete={"Objects": [{"Key": k} for k in keys]})
    s3.delete_bucket(Bucket="hostile")


INLINE_MAX = 64 * 1024  # emulator/s3/s3_int.h's S3_INLINE_MAX: bodies up to this stay in memory
INLINE_BUDGET = 32 * 1024 * 1024  # S3_INLINE_BUDGET: ... while they total less than this


def data_files():
    """The emulator's S3 data files (one per object body kept on disk)."""
    found = []
    for root, dirs, files in os.walk(DATA):
        found += [os.path.join(root, f) for f in files]
    return sorted(found)


def test_inline_objects():
    """Small bodies live in memory, larger ones in data files; every path that
    reads or copies a body works on both, and switching an object between the
    two leaves no file behind."""
    s3 = client()
    s3.create_bucket(Bucket="inline")
    base = data_files()
    at = os.urandom(INLINE_MAX)
    over = os.urandom(INLINE_MAX + 1)
    r = s3.put_object(Bucket="inline", Key="at", Body=at)
    assert r["ETag"] == '"%s"' % hashlib.md5(at).hexdigest(), r
    assert data_files() == base, "a %d-byte body went to a file" % len(at)
    s3.put_object(Bucket="inline", Key="over", Body=over)
    assert len(data_files()) == len(base) + 1, "a %d-byte body is not in a file" % len(over)
    for key, body in (("at", at), ("over", over)):
        g = s3.get_object(Bucket="inline", Key=key)
        assert g["Body"].read() == body and g["ContentLength"] == len(body), key
        assert g["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
        h = s3.head_object(Bucket="inline", Key=key)
        assert h["ContentLength"] == len(body), (key, h["ContentLength"])
        g = s3.get_object(Bucket="inline", Key=key, Range="bytes=100-199")
        assert g["Body"].read() == body[100:200] and g["ContentLength"] == 100
        assert g["ContentRange"] == "bytes 100-199/%d" % len(body), g["ContentRange"]
        assert s3.get_object(Bucket="inline", Key=key,
                             Range="bytes=-7")["Body"].read() == body[-7:]
        assert s3.get_object(Bucket="inline", Key=key,
                             Range="bytes=%d-" % (len(body) - 3))["Body"].read() == body[-3:]
        err = error_of(s3.get_object, Bucket="inline", Key=key, Range="bytes=%d-" % len(body))
        assert err["Error"]["Code"] == "InvalidRange", err
        status, _, data = raw("GET", "/inline/" + key,
                              headers={"If-None-Match": '"%s"' % hashlib.md5(body).hexdigest()})
        assert status == 304 and data == b"", (status, data[:100])
    # one byte and an empty body
    s3.put_object(Bucket="inline", Key="one", Body=b"1")
    s3.put_object(Bucket="inline", Key="empty", Body=b"")
    assert s3.get_object(Bucket="inline", Key="one")["Body"].read() == b"1"
    g = s3.get_object(Bucket="inline", Key="empty")
    assert g["Body"].read() == b"" and g["ContentLength"] == 0
    assert g["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"', g["ETag"]
    # overwrite small -> large -> small: the large body's file goes with it
    files = data_files()
    s3.put_object(Bucket="inline", Key="at", Body=over)
    assert s3.get_object(Bucket="inline", Key="at")["Body"].read() == over
    assert len(data_files()) == len(files) + 1
    s3.put_object(Bucket="inline", Key="at", Body=b"small again")
    assert s3.get_object(Bucket="inline", Key="at")["Body"].read() == b"small again"
    assert data_files() == files, "overwriting a large object with a small one left its file"
    s3.put_object(Bucket="inline", Key="at", Body=at)
    # aws-chunked bodies: under the threshold in memory, over it spilled mid-stream
    for size, in_file in ((1000, False), (INLINE_MAX, False), (INLINE_MAX + 4000, True)):
        payload = os.urandom(size)
        body = b""
        for i in range(0, size, 3000):  # many small chunks: the buffer grows
            chunk = payload[i:i + 3000]
            body += b"%x\r\n" % len(chunk) + chunk + b"\r\n"
        body += b"0\r\n\r\n"
        before = data_files()
        status, _, resp = raw("PUT", "/inline/chunked-%d" % size, body, {
            "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(size)})
        assert status == 200, (size, status, resp)
        assert len(data_files()) == len(before) + in_file, (size, in_file)
        g = s3.get_object(Bucket="inline", Key="chunked-%d" % size)
        assert g["Body"].read() == payload, size
        assert g["ETag"] == '"%s"' % hashlib.md5(payload).hexdigest(), size
    # a refused body (bad Content-MD5) changes nothing and leaves nothing
    before = data_files()
    for body in (b"x" * 100, over):
        err = error_of(s3.put_object, Bucket="inline", Key="at", Body=body,
                       ContentMD5=b64(hashlib.md5(b"other").digest()))
        assert err["Error"]["Code"] == "BadDigest", err
    assert data_files() == before
    assert s3.get_object(Bucket="inline", Key="at")["Body"].read() == at
    # copies: from memory stays in memory, from a file shares the file
    files = data_files()
    r = s3.copy_object(Bucket="inline", Key="at-copy", CopySource="inline/at")
    assert r["CopyObjectResult"]["ETag"] == '"%s"' % hashlib.md5(at).hexdigest()
    assert data_files() == files
    s3.copy_object(Bucket="inline", Key="over-copy", CopySource="inline/over",
                   MetadataDirective="REPLACE", Metadata={"k": "v"})
    assert len(data_files()) == len(files) + 1
    s3.delete_objects(Bucket="inline", Delete={"Objects": [{"Key": "at"}, {"Key": "over"}]})
    assert s3.get_object(Bucket="inline", Key="at-copy")["Body"].read() == at
    g = s3.get_object(Bucket="inline", Key="over-copy")
    assert g["Body"].read() == over and g["Metadata"] == {"k": "v"}
    # multipart: parts copied from an in-memory source (whole and ranged)
    first = os.urandom(5 * 1024 * 1024)
    up = s3.create_multipart_upload(Bucket="inline", Key="mp")
    uid = up["UploadId"]
    e1 = s3.upload_part(Bucket="inline", Key="mp", UploadId=uid, PartNumber=1, Body=first)["ETag"]
    e2 = s3.upload_part_copy(Bucket="inline", Key="mp", UploadId=uid, PartNumber=2,
                             CopySource="inline/one")["CopyPartResult"]["ETag"]
    assert e2 == '"%s"' % hashlib.md5(b"1").hexdigest(), e2
    # part 2 again (replaces the first copy), now a range: a part may be small when last
    r2 = s3.upload_part_copy(Bucket="inline", Key="mp", UploadId=uid, PartNumber=2,
                             CopySource={"Bucket": "inline", "Key": "at-copy"},
                             CopySourceRange="bytes=1000-1999")
    e2 = r2["CopyPartResult"]["ETag"]
    assert e2 == '"%s"' % hashlib.md5(at[1000:2000]).hexdigest(), e2
    parts = s3.list_parts(Bucket="inline", Key="mp", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, len(first)), (2, 1000)], parts
    r = s3.complete_multipart_upload(
        Bucket="inline", Key="mp", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    md5s = hashlib.md5(first).digest() + hashlib.md5(at[1000:2000]).digest()
    assert r["ETag"] == '"%s-2"' % hashlib.md5(md5s).hexdigest(), r["ETag"]
    assert s3.get_object(Bucket="inline", Key="mp")["Body"].read() == first + at[1000:2000]
    assert s3.get_object(Bucket="inline", Key="mp",
                         Range="bytes=5242880-5243879")["Body"].read() == at[1000:2000]
    # versioned small objects: each version keeps its own bytes
    s3.put_bucket_versioning(Bucket="inline", VersioningConfiguration={"Status": "Enabled"})
    bodies = [b"v1", os.urandom(INLINE_MAX + 10), b"v3"]
    ids = [s3.put_object(Bucket="inline", Key="ver", Body=b)["VersionId"] for b in bodies]
    for vid, body in zip(ids, bodies):
        assert s3.get_object(Bucket="inline", Key="ver", VersionId=vid)["Body"].read() == body
    assert s3.get_object(Bucket="inline", Key="ver")["Body"].read() == b"v3"
    r = s3.copy_object(Bucket="inline", Key="ver-copy",
                       CopySource={"Bucket": "inline", "Key": "ver", "VersionId": ids[0]})
    assert s3.get_object(Bucket="inline", Key="ver-copy")["Body"].read() == b"v1"
    s3.delete_object(Bucket="inline", Key="ver", VersionId=ids[2])
    assert s3.get_object(Bucket="inline", Key="ver")["Body"].read() == bodies[1]
    s3.delete_object(Bucket="inline", Key="ver")  # a delete marker over the versions
    assert s3.get_object(Bucket="inline", Key="ver", VersionId=ids[0])["Body"].read() == b"v1"
    empty_bucket(s3, "inline")
    assert data_files() == base, "deleting every object left files: %r" % data_files()


def test_inline_budget():
    """In-memory bodies together stay under a budget: past it small bodies go
    to files, and deleting objects gives the budget back."""
    s3 = client()
    s3.create_bucket(Bucket="budget")
    base = data_files()
    size = 60000
    count = INLINE_BUDGET // size + 40  # 40 more than fit
    body = bytearray(os.urandom(size))
    conn = http.client.HTTPConnection("127.0.0.1", EMU.port, timeout=30)
    for i in range(count):
        body[:4] = i.to_bytes(4, "big")  # every object its own bytes
        conn.request("PUT", "/budget/o%d" % i, body=bytes(body))
        resp = conn.getresponse()
        assert resp.status == 200, (i, resp.status, resp.read()[:200])
        resp.read()
    conn.close()
    spilled = len(data_files()) - len(base)
    assert 40 <= spilled < 60, "%d of %d small objects in files" % (spilled, count)
    for i in (0, count // 2, count - 1):
        got = s3.get_object(Bucket="budget", Key="o%d" % i)["Body"].read()
        assert len(got) == size and got[:4] == i.to_bytes(4, "big") and got[4:] == body[4:], i
    keys = ["o%d" % i for i in range(count)]
    for i in range(0, count, 1000):
        batch = [{"Key": k} for k in keys[i:i + 1000]]
        s3.delete_objects(Bucket="budget", Delete={"Objects": batch})
    assert data_files() == base
    s3.put_object(Bucket="budget", Key="again", Body=b"x" * size)
    assert data_files() == base, "the budget was not given back on delete"
    s3.delete_object(Bucket="budget", Key="again")
    s3.delete_bucket(Bucket="budget")


def test_spilled_bodies():
    """Bodies over the HTTP server's 2 MiB spill threshold arrive in a file;
    a plain one becomes the data file itself, an aws-chunked one is decoded
    into a new file. Either way: the right bytes, one file per object, and
    nothing left by a refused upload."""
    s3 = client()
    s3.create_bucket(Bucket="spilled")
    base = data_files()
    big = os.urandom(3 * 1024 * 1024 + 5)
    r = s3.put_object(Bucket="spilled", Key="plain", Body=big,
                      ContentMD5=b64(hashlib.md5(big).digest()))
    assert r["ETag"] == '"%s"' % hashlib.md5(big).hexdigest(), r
    assert len(data_files()) == len(base) + 1, data_files()
    assert s3.get_object(Bucket="spilled", Key="plain")["Body"].read() == big
    assert s3.get_object(Bucket="spilled", Key="plain",
                         Range="bytes=3145728-")["Body"].read() == big[3145728:]
    body = b""
    for i in range(0, len(big), 1 << 20):
        chunk = big[i:i + (1 << 20)]
        body += b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    body += b"0\r\n\r\n"
    status, _, resp = raw("PUT", "/spilled/chunked", body, {
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(big))})
    assert status == 200, (status, resp)
    assert len(data_files()) == len(base) + 2, data_files()
    g = s3.get_object(Bucket="spilled", Key="chunked")
    assert g["Body"].read() == big and g["ETag"] == '"%s"' % hashlib.md5(big).hexdigest()
    # refused: a wrong Content-MD5 or checksum stores nothing and keeps the old object
    err = error_of(s3.put_object, Bucket="spilled", Key="plain", Body=big[::-1],
                   ContentMD5=b64(hashlib.md5(big).digest()))
    assert err["Error"]["Code"] == "BadDigest", err
    err = error_of(s3.put_object, Bucket="spilled", Key="plain", Body=big[::-1],
                   ChecksumSHA256=b64(hashlib.sha256(big).digest()))
    assert err["Error"]["Code"] == "BadDigest", err
    assert len(data_files()) == len(base) + 2, data_files()
    assert s3.get_object(Bucket="spilled", Key="plain")["Body"].read() == big
    # overwritten by a small body, copied: the files follow
    c = s3.copy_object(Bucket="spilled", Key="copy", CopySource="spilled/plain")
    assert c["CopyObjectResult"]["ETag"] == r["ETag"]
    s3.put_object(Bucket="spilled", Key="plain", Body=b"small")
    assert s3.get_object(Bucket="spilled", Key="copy")["Body"].read() == big
    assert len(data_files()) == len(base) + 2, data_files()
    empty_bucket(s3, "spilled")
    assert data_files() == base, data_files()


def test_reset_frees_objects():
    """A state reset drops every object, in memory or in files. (That it frees
    the in-memory bodies, LeakSanitizer checks: the emulator must exit 0.)"""
    s3 = client()
    s3.create_bucket(Bucket="resetme")
    base = data_files()
    for i in range(50):
        s3.put_object(Bucket="resetme", Key="small-%d" % i, Body=os.urandom(1000 + i))
    s3.put_object(Bucket="resetme", Key="large", Body=os.urandom(INLINE_MAX * 2))
    assert len(data_files()) == len(base) + 1
    status, _, data = raw("POST", "/_localstack/state/reset")
    assert status == 200, (status, data)
    err = error_of(s3.list_objects_v2, Bucket="resetme")
    assert err["Error"]["Code"] == "NoSuchBucket", err
    assert data_files() == [], data_files()
    s3.create_bucket(Bucket="resetme")
    err = error_of(s3.get_object, Bucket="resetme", Key="small-1")
    assert err["Error"]["Code"] == "NoSuchKey", err
    s3.delete_bucket(Bucket="resetme")


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS for %d" % pid)


def test_large_body_memory():
    """A 96 MiB upload and download go through files: the emulator's memory
    does not grow by anything near the body's size."""
    s3 = client()
    s3.create_bucket(Bucket="large")
    size = 96 * 1024 * 1024
    with tempfile.TemporaryFile() as f:
        chunk = os.urandom(1 << 20)
        md5 = hashlib.md5()
        for _ in range(size >> 20):
            f.write(chunk)
            md5.update(chunk)
        before = rss_mib(EMU.proc.pid)
        f.seek(0)
        conn = http.client.HTTPConnection("127.0.0.1", EMU.port, timeout=120)
        conn.request("PUT", "/large/big", body=f, headers={"Content-Length": str(size)})
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("ETag") == '"%s"' % md5.hexdigest(), \
            (resp.status, resp.read()[:300])
        resp.read()
        conn.request("GET", "/large/big")
        resp = conn.getresponse()
        got = hashlib.md5()
        while True:
            piece = resp.read(1 << 20)
            if not piece:
                break
            got.update(piece)
        conn.close()
        assert got.hexdigest() == md5.hexdigest()
    grown = rss_mib(EMU.proc.pid) - before
    print("  rss grew by %.1f MiB" % grown)
    assert grown < 32, "RSS grew by %.1f MiB for a %d MiB object" % (grown, size >> 20)
    s3.delete_object(Bucket="large", Key="big")
    s3.delete_bucket(Bucket="large")


def test_no_files_left():
    leftover = []
    for root, dirs, files in os.walk(DATA):
        leftover += [os.path.join(root, f) for f in files]
    assert not leftover, leftover


def main():
    global EMU, DATA
    DATA = tempfile.mkdtemp(prefix="airgap-s3-test-")
    EMU = Emulator({"DATA_DIR": DATA})
    failed = 0
    tests = [v for k, v in sorted(globals().items()) if k.startswith("test_")]
    tests.sort(key=lambda t: t.__name__ == "test_no_files_left")
    try:
        for t in tests:
            try:
                t()
                print("ok", t.__name__)
            except Exception:
                failed += 1
                print("FAIL", t.__name__)
                traceback.print_exc()
    finally:
        EMU.stop()
        left = os.listdir(DATA)
        shutil.rmtree(DATA, ignore_errors=True)
    assert not left, "the emulator left %r in its data directory" % left
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
