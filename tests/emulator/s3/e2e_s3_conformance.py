"""S3 departures that conformance suites (ceph's s3-tests, LocalStack's
snapshots of real AWS answers, moto's tests) check, with boto3, the aws CLI
and raw HTTP: the headers and error fields every answer carries, AWS's bucket
naming rules, version ids, copy directives, metadata and redirect limits,
checksum headers, composite multipart checksums, tag prefixes, canned ACLs
and lifecycle dates."""

import base64
import datetime
import hashlib
import http.client
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET

from s3_e2e_support import client, code_of, error_of, run
import s3_e2e_support as S


def raw(method, path, headers=None, body=None):
    c = http.client.HTTPConnection("127.0.0.1", S.EMU.port, timeout=30)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def error_xml(body):
    root = ET.fromstring(body)
    assert root.tag == "Error", body
    return {child.tag: child.text for child in root}


def test_headers_and_host_id():
    s3 = client()
    s3.create_bucket(Bucket="conf-headers")
    # success, error and HEAD answers all carry S3's request and host ids
    for method, path, status in (("PUT", "/conf-headers/k", 200), ("GET", "/conf-headers/k", 200),
                                 ("HEAD", "/conf-headers/nokey", 404),
                                 ("GET", "/conf-headers/nokey", 404), ("GET", "/", 200)):
        st, h, body = raw(method, path, body=b"x" if method == "PUT" else None)
        assert st == status, (method, path, st, body)
        assert h.get("server") == "AmazonS3", h
        # S3's own shape: 16 uppercase hex digits, not a UUID
        assert re.fullmatch(r"[0-9A-F]{16}", h.get("x-amz-request-id", "")), h
        host_id = h.get("x-amz-id-2")
        assert host_id and base64.b64decode(host_id), h
        if method == "GET" and st == 404:
            e = error_xml(body)
            assert e["Code"] == "NoSuchKey" and e["Key"] == "nokey", e
            assert e["RequestId"] == h["x-amz-request-id"], (e, h)
            assert e["HostId"] == host_id, (e, h)
            assert h["content-type"] == "application/xml", h
    # boto3 reads both into its response metadata
    md = s3.head_object(Bucket="conf-headers", Key="k")["ResponseMetadata"]
    assert md["HostId"] and md["RequestId"], md
    err = error_of(s3.get_object, Bucket="conf-headers", Key="nokey")
    assert err["ResponseMetadata"]["HostId"], err


def test_bucket_names():
    s3 = client()
    bad = ["ab", "a" * 64, "Upper-case", "under_score", ".dot-first", "dash-last-",
           "192.168.5.4", "two..dots", "dot.-dash", "dash-.dot", "xn--punycode",
           "sthree-reserved", "amzn-s3-demo-bucket", "alias-s3alias", "lambda--ol-s3",
           "directory--x-s3", "point.mrap", "table--table-s3"]
    for name in bad:
        st, code = code_of(s3.create_bucket, Bucket=name)
        assert (st, code) == (400, "InvalidBucketName"), (name, st, code)
    err = error_of(s3.create_bucket, Bucket="under_score")
    assert err["Error"]["BucketName"] == "under_score", err
    for name in ["abc", "a" * 63, "with.dots.ok", "with-dash-1", "1.2.3", "192.168.5.4.5",
                 "x-s3alias-not-last", "my-xn--bucket"]:
        s3.create_bucket(Bucket=name)
        s3.head_bucket(Bucket=name)
        s3.delete_bucket(Bucket=name)


def test_version_ids():
    s3 = client()
    s3.create_bucket(Bucket="conf-versions")
    s3.put_bucket_versioning(Bucket="conf-versions",
                             VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket="conf-versions", Key="k", Body=b"1")["VersionId"]
    s3.put_object(Bucket="conf-versions", Key="k", Body=b"2")
    # malformed ids are refused before any lookup
    for fn in (s3.get_object, s3.delete_object):
        err = error_of(fn, Bucket="conf-versions", Key="k", VersionId="bogus")
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 400, err
        assert err["Error"]["Code"] == "InvalidArgument", err
        assert err["Error"]["Message"] == "Invalid version id specified", err
        assert err["Error"]["ArgumentName"] == "versionId", err
        assert err["Error"]["ArgumentValue"] == "bogus", err
    assert code_of(s3.head_object, Bucket="conf-versions", Key="k", VersionId="bogus")[0] == 400
    # well-formed but unknown: NoSuchVersion; the real one still reads
    st, code = code_of(s3.get_object, Bucket="conf-versions", Key="k", VersionId="B" * 32)
    assert (st, code) == (404, "NoSuchVersion"), (st, code)
    assert s3.get_object(Bucket="conf-versions", Key="k", VersionId=v1)["Body"].read() == b"1"
    # DeleteObjects reports a malformed id per key and deletes the rest
    out = s3.delete_objects(Bucket="conf-versions", Delete={"Objects": [
        {"Key": "k", "VersionId": "bogus"}, {"Key": "k", "VersionId": v1}]})
    assert out["Errors"] == [{"Key": "k", "VersionId": "bogus", "Code": "NoSuchVersion",
                              "Message": "The specified version does not exist."}], out
    assert out["Deleted"] == [{"Key": "k", "VersionId": v1}], out
    # ListObjectVersions' markers
    err = error_of(s3.list_object_versions, Bucket="conf-versions", VersionIdMarker="C" * 32)
    assert err["Error"]["Code"] == "InvalidArgument", err
    assert err["Error"]["Message"] == \
        "A version-id marker cannot be specified without a key marker.", err
    assert err["Error"]["ArgumentName"] == "version-id-marker", err
    for marker in ("bogus", "C" * 32):
        err = error_of(s3.list_object_versions, Bucket="conf-versions", KeyMarker="k",
                       VersionIdMarker=marker)
        assert err["Error"]["Code"] == "InvalidArgument", (marker, err)
        assert err["Error"]["Message"] == "Invalid version id specified", err
    v3 = s3.put_object(Bucket="conf-versions", Key="k", Body=b"3")["VersionId"]
    page = s3.list_object_versions(Bucket="conf-versions", MaxKeys=1)
    assert (page["NextKeyMarker"], page["NextVersionIdMarker"]) == ("k", v3), page
    rest = s3.list_object_versions(Bucket="conf-versions", KeyMarker=page["NextKeyMarker"],
                                   VersionIdMarker=page["NextVersionIdMarker"])
    assert [v["VersionId"] for v in rest["Versions"]] not in ([], [v3]), rest
    assert len(rest["Versions"]) == 1 and not rest["IsTruncated"], rest


def test_copy_directives_and_limits():
    s3 = client()
    s3.create_bucket(Bucket="conf-copy")
    s3.put_object(Bucket="conf-copy", Key="src", Body=b"body", Metadata={"a": "b"})
    for kw, header, what in (({"MetadataDirective": "MOVE"}, "x-amz-metadata-directive",
                              "metadata"),
                             ({"TaggingDirective": "KEEP"}, "x-amz-tagging-directive",
                              "tagging")):
        err = error_of(s3.copy_object, Bucket="conf-copy", Key="dst", CopySource="conf-copy/src",
                       **kw)
        assert err["Error"]["Code"] == "InvalidArgument", err
        assert err["Error"]["Message"] == "Unknown %s directive." % what, err
        assert err["Error"]["ArgumentName"] == header, err
        assert err["Error"]["ArgumentValue"] == list(kw.values())[0], err
    assert code_of(s3.head_object, Bucket="conf-copy", Key="dst") == (404, "404")
    # a self-copy is legal when it changes the website redirect
    s3.copy_object(Bucket="conf-copy", Key="src", CopySource="conf-copy/src",
                   WebsiteRedirectLocation="/elsewhere")
    assert s3.head_object(Bucket="conf-copy", Key="src")["WebsiteRedirectLocation"] == \
        "/elsewhere"
    # keys, metadata and redirects over S3's limits
    err = error_of(s3.put_object, Bucket="conf-copy", Key="k" * 1025, Body=b"")
    assert err["Error"]["Code"] == "KeyTooLongError", err
    assert (err["Error"]["Size"], err["Error"]["MaxSizeAllowed"]) == ("1025", "1024"), err
    big = {"a": "x" * 2047}  # 1 + 2047 bytes: exactly 2 KB fits
    s3.put_object(Bucket="conf-copy", Key="m", Body=b"", Metadata=big)
    for fn, kw in ((s3.put_object, {"Body": b""}), (s3.create_multipart_upload, {}),
                   (s3.copy_object, {"CopySource": "conf-copy/src",
                                     "MetadataDirective": "REPLACE"})):
        err = error_of(fn, Bucket="conf-copy", Key="m2", Metadata={"ab": "x" * 2047}, **kw)
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 400, err
        assert err["Error"]["Code"] == "MetadataTooLarge", err
        assert (err["Error"]["Size"], err["Error"]["MaxSizeAllowed"]) == ("2049", "2048"), err
    for good in ("/x", "http://example.com/", "https://example.com/"):
        s3.put_object(Bucket="conf-copy", Key="r", Body=b"", WebsiteRedirectLocation=good)
    err = error_of(s3.put_object, Bucket="conf-copy", Key="r", Body=b"",
                   WebsiteRedirectLocation="example.com")
    assert err["Error"]["Code"] == "InvalidRedirectLocation", err


def test_checksum_headers():
    s3 = client()
    s3.create_bucket(Bucket="conf-checksums")
    crc = base64.b64encode(b"\0\0\0\0").decode()
    sha1 = base64.b64encode(hashlib.sha1(b"hi").digest()).decode()
    cases = [
        ({"x-amz-checksum-crc32": crc, "x-amz-checksum-sha1": sha1},
         "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."),
        ({"x-amz-checksum-crc32": "not-base64"},
         "Value for x-amz-checksum-crc32 header is invalid."),
        ({"x-amz-checksum-sha256": sha1},  # 20 bytes where SHA256 has 32
         "Value for x-amz-checksum-sha256 header is invalid."),
        ({"x-amz-sdk-checksum-algorithm": "MD4", "x-amz-checksum-crc32": crc},
         "Value for x-amz-sdk-checksum-algorithm header is invalid."),
        ({"x-amz-sdk-checksum-algorithm": "CRC32"},
         "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or "
         "x-amz-trailer headers were found."),
    ]
    for headers, message in cases:
        st, h, body = raw("PUT", "/conf-checksums/k", headers, b"hi")
        e = error_xml(body)
        assert (st, e["Code"], e["Message"]) == (400, "InvalidRequest", message), (headers, e)
    st, _, body = raw("HEAD", "/conf-checksums/k")
    assert st == 404, "a refused checksum stored the object"
    # a right one passes; a wrong but well-formed one is BadDigest
    good = base64.b64encode(hashlib.sha1(b"hi").digest()).decode()
    st, h, _ = raw("PUT", "/conf-checksums/k",
                   {"x-amz-sdk-checksum-algorithm": "SHA1", "x-amz-checksum-sha1": good}, b"hi")
    assert st == 200 and h["x-amz-checksum-sha1"] == good, h
    st, _, body = raw("PUT", "/conf-checksums/k", {"x-amz-checksum-crc32": crc}, b"hi")
    assert (st, error_xml(body)["Code"]) == (400, "BadDigest"), body
    # boto3's own checksums still work, DeleteObjects' included
    s3.put_object(Bucket="conf-checksums", Key="b", Body=b"x", ChecksumAlgorithm="CRC32C")
    s3.delete_objects(Bucket="conf-checksums", Delete={"Objects": [{"Key": "b"}]},
                      ChecksumAlgorithm="CRC32")


def test_composite_multipart_checksum_needs_parts():
    s3 = client()
    s3.create_bucket(Bucket="conf-mpck")
    up = s3.create_multipart_upload(Bucket="conf-mpck", Key="k", ChecksumAlgorithm="SHA256")
    uid = up["UploadId"]
    p1 = s3.upload_part(Bucket="conf-mpck", Key="k", UploadId=uid, PartNumber=1,
                        Body=b"a" * (5 << 20), ChecksumAlgorithm="SHA256")
    p2 = s3.upload_part(Bucket="conf-mpck", Key="k", UploadId=uid, PartNumber=2, Body=b"b",
                        ChecksumAlgorithm="SHA256")
    err = error_of(s3.complete_multipart_upload, Bucket="conf-mpck", Key="k", UploadId=uid,
                   MultipartUpload={"Parts": [
                       {"PartNumber": 1, "ETag": p1["ETag"], "ChecksumSHA256": p1["ChecksumSHA256"]},
                       {"PartNumber": 2, "ETag": p2["ETag"]}]})
    assert err["Error"]["Code"] == "InvalidRequest", err
    assert err["Error"]["Message"] == (
        "The upload was created using a sha256 checksum. The complete request must include the "
        "checksum for each part. It was missing for part 2 in the request."), err
    done = s3.complete_multipart_upload(
        Bucket="conf-mpck", Key="k", UploadId=uid, MultipartUpload={"Parts": [
            {"PartNumber": n, "ETag": p["ETag"], "ChecksumSHA256": p["ChecksumSHA256"]}
            for n, p in ((1, p1), (2, p2))]})
    digest = hashlib.sha256(base64.b64decode(p1["ChecksumSHA256"]) +
                            base64.b64decode(p2["ChecksumSHA256"])).digest()
    assert done["ChecksumSHA256"] == base64.b64encode(digest).decode() + "-2", done
    # a part's checksum must be of the upload's algorithm, and nothing of a
    # refused part is kept
    up = s3.create_multipart_upload(Bucket="conf-mpck", Key="mixed", ChecksumAlgorithm="SHA256")
    for algo, lower in (("CRC32", "crc32"), ("SHA1", "sha1"), ("CRC32C", "crc32c")):
        err = error_of(s3.upload_part, Bucket="conf-mpck", Key="mixed", UploadId=up["UploadId"],
                       PartNumber=1, Body=b"m", ChecksumAlgorithm=algo)
        assert (err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"],
                err["Error"]["Message"]) == (
            400, "InvalidRequest", "Checksum Type mismatch occurred, expected checksum Type: "
            "sha256, actual checksum Type: %s" % lower), err
    assert s3.list_parts(Bucket="conf-mpck", Key="mixed",
                         UploadId=up["UploadId"]).get("Parts", []) == []
    s3.upload_part(Bucket="conf-mpck", Key="mixed", UploadId=up["UploadId"], PartNumber=1,
                   Body=b"m", ChecksumAlgorithm="SHA256")
    s3.abort_multipart_upload(Bucket="conf-mpck", Key="mixed", UploadId=up["UploadId"])
    # without an algorithm, parts need no checksums, and may carry any
    up = s3.create_multipart_upload(Bucket="conf-mpck", Key="plain")
    s3.upload_part(Bucket="conf-mpck", Key="plain", UploadId=up["UploadId"], PartNumber=2,
                   Body=b"y", ChecksumAlgorithm="CRC32")
    p = s3.upload_part(Bucket="conf-mpck", Key="plain", UploadId=up["UploadId"], PartNumber=1,
                       Body=b"z")
    s3.complete_multipart_upload(Bucket="conf-mpck", Key="plain", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p["ETag"]}]})


def test_list_multipart_uploads_paged():
    s3 = client()
    s3.create_bucket(Bucket="conf-uploads")
    ids = {}
    for key in ["b", "a", "dir/x", "dir/y", "a", "c d"]:
        ids.setdefault(key, []).append(
            s3.create_multipart_upload(Bucket="conf-uploads", Key=key)["UploadId"])
    want = [(k, i) for k in sorted(ids) for i in ids[k]]  # by key, then oldest first
    got, kw = [], {}
    while True:
        page = s3.list_multipart_uploads(Bucket="conf-uploads", MaxUploads=2, **kw)
        got += [(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])]
        if not page["IsTruncated"]:
            break
        kw = {"KeyMarker": page["NextKeyMarker"], "UploadIdMarker": page["NextUploadIdMarker"]}
    assert got == want, (got, want)
    # boto3's paginator walks the same pages
    pages = s3.get_paginator("list_multipart_uploads").paginate(
        Bucket="conf-uploads", PaginationConfig={"PageSize": 4})
    assert [(u["Key"], u["UploadId"]) for p in pages for u in p.get("Uploads", [])] == want
    # a delimiter folds keys into common prefixes; encoding-type=url encodes keys
    page = s3.list_multipart_uploads(Bucket="conf-uploads", Delimiter="/")
    assert page["CommonPrefixes"] == [{"Prefix": "dir/"}], page
    assert [u["Key"] for u in page["Uploads"]] == ["a", "a", "b", "c d"], page
    st, _, body = raw("GET", "/conf-uploads?uploads&encoding-type=url&prefix=c")
    root = ET.fromstring(body)
    ns = {"s": "http://s3.amazonaws.com/doc/2006-03-01/"}
    assert st == 200 and root.find("s:Upload/s:Key", ns).text == "c%20d", body
    assert root.find("s:EncodingType", ns).text == "url", body
    page = s3.list_multipart_uploads(Bucket="conf-uploads", KeyMarker="b")
    assert [u["Key"] for u in page["Uploads"]] == ["c d", "dir/x", "dir/y"], page
    assert page["KeyMarker"] == "b", page


def test_tags_acls_lifecycle():
    s3 = client()
    s3.create_bucket(Bucket="conf-misc")
    s3.put_object(Bucket="conf-misc", Key="k", Body=b"x")
    err = error_of(s3.put_bucket_tagging, Bucket="conf-misc",
                   Tagging={"TagSet": [{"Key": "aws:cloudformation:stack", "Value": "v"}]})
    assert err["Error"]["Code"] == "InvalidTag", err
    assert err["Error"]["Message"] == "System tags cannot be added/updated by requester", err
    for fn, kw in ((s3.put_object_tagging, {"Tagging": {"TagSet": [{"Key": "aws:x",
                                                                   "Value": "v"}]}}),
                   (s3.put_object, {"Body": b"", "Tagging": "aws%3Ax=v"})):
        err = error_of(fn, Bucket="conf-misc", Key="k", **kw)
        assert err["Error"]["Code"] == "InvalidTag", err
        assert err["Error"]["Message"] == "Your TagKey cannot be prefixed with aws:", err
    s3.put_object_tagging(Bucket="conf-misc", Key="k",
                          Tagging={"TagSet": [{"Key": "awsx", "Value": "v"}]})
    # log-delivery-write grants the log delivery group WRITE and READ_ACP
    s3.create_bucket(Bucket="conf-logs", ObjectOwnership="ObjectWriter")
    s3.put_bucket_acl(Bucket="conf-logs", ACL="log-delivery-write")
    grants = s3.get_bucket_acl(Bucket="conf-logs")["Grants"]
    logs = "http://acs.amazonaws.com/groups/s3/LogDelivery"
    assert sorted(g["Permission"] for g in grants if g["Grantee"].get("URI") == logs) == \
        ["READ_ACP", "WRITE"], grants
    # dated lifecycle actions fall at midnight UTC
    rule = {"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}}
    for action in ({"Expiration": {"Date": datetime.datetime(2030, 1, 1, 5)}},
                   {"Transitions": [{"Date": datetime.datetime(2030, 1, 1, 0, 0, 1),
                                     "StorageClass": "GLACIER"}]}):
        err = error_of(s3.put_bucket_lifecycle_configuration, Bucket="conf-misc",
                       LifecycleConfiguration={"Rules": [dict(rule, **action)]})
        assert err["Error"]["Code"] == "InvalidArgument", err
        assert err["Error"]["Message"] == "'Date' must be at midnight GMT", err
    s3.put_bucket_lifecycle_configuration(
        Bucket="conf-misc", LifecycleConfiguration={"Rules": [dict(
            rule, Expiration={"Date": datetime.datetime(2030, 1, 1,
                                                        tzinfo=datetime.timezone.utc)})]})


def test_cli():
    """The aws CLI shows S3's error codes and fields as boto3 does."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=S.EMU.endpoint)
    def cli(*args):
        return subprocess.run(["aws", "s3api", *args], env=env, capture_output=True, text=True,
                              timeout=120)
    r = cli("create-bucket", "--bucket", "cli_underscore")
    assert r.returncode != 0 and "InvalidBucketName" in r.stderr, r
    assert cli("create-bucket", "--bucket", "conf-cli").returncode == 0
    r = cli("get-object", "--bucket", "conf-cli", "--key", "k", "--version-id", "bogus",
            os.devnull)
    assert r.returncode != 0 and "InvalidArgument" in r.stderr, r
    assert "Invalid version id specified" in r.stderr, r
    r = cli("list-object-versions", "--bucket", "conf-cli", "--version-id-marker", "A" * 32)
    assert r.returncode != 0 and "cannot be specified without a key marker" in r.stderr, r
    r = cli("head-bucket", "--bucket", "conf-cli", "--debug")
    assert "'Server': 'AmazonS3'" in r.stderr and "x-amz-id-2" in r.stderr, r.stderr[-2000:]


if __name__ == "__main__":
    run([test_headers_and_host_id, test_bucket_names, test_version_ids,
         test_copy_directives_and_limits, test_checksum_headers,
         test_composite_multipart_checksum_needs_parts, test_list_multipart_uploads_paged,
         test_tags_acls_lifecycle, test_cli])
