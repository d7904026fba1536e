#!/usr/bin/python3
"""End-to-end tests of the S3 behaviour the second half of ceph's s3-tests
checks, as AWS documents it, against a real `airgap emulator` ($AIRGAP_BIN)
with boto3, requests and raw HTTP (written here, not copied from the suite).

Lifecycle rules reported on objects (x-amz-expiration on PUT, HEAD, GET,
copies and multipart completions: the first midnight UTC after creation plus
the rule's days, or its date; prefix, tag and And filters); encryption
headers refused on reads (400 InvalidArgument); x-amz-tagging-count on HEAD;
a versioning-suspended bucket's writes answered without a version id; POST
Object forms with SSE-C fields, and their signer judged by access control;
bucket policy conditions on s3:x-amz-copy-source,
s3:x-amz-metadata-directive and s3:x-amz-grant-*; principals checked
(MalformedPolicy); a NotPrincipal policy counted public; a path that is not
UTF-8 answered InvalidURI; ACL grantees checked (canonical ids, permissions,
e-mail grantees unresolvable, an Owner in a full ACL); a multipart
completion's part checksums compared with the parts'.

Where ceph's expectations differ from AWS (InvalidTag for over 10 object
tags, InvalidRetentionPeriod, 400 for a wrong SSE-C key, no
NoSuchBucketPolicy), the tests hold the emulator to AWS."""

import base64
import datetime
import email.utils
import hashlib
import hmac
import http.client
import json
import os
import re
import sys
import uuid

import boto3
import botocore
import requests
from botocore.config import Config

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, ".."))
from emulator_support import Emulator, run_tests  # noqa: E402

LAX = None
STRICT = None
OTHER = "123456789012"  # a 12-digit access key is its own account
SSEC = {"SSECustomerAlgorithm": "AES256",
        "SSECustomerKey": base64.b64decode("pO3upElrwuEXSoFwCfnZPdSsmt/xWeFa0N9KgDijwVs=")}
SSEC_HEADERS = {
    "x-amz-server-side-encryption-customer-algorithm": "AES256",
    "x-amz-server-side-encryption-customer-key": "pO3upElrwuEXSoFwCfnZPdSsmt/xWeFa0N9KgDijwVs=",
    "x-amz-server-side-encryption-customer-key-MD5": "DWygnHRtgiJ77HCm+1rvHw=="}


def client(emu, key="test"):
    return boto3.client(
        "s3", endpoint_url=emu.endpoint, region_name="us-east-1",
        aws_access_key_id=key, aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}))


def code_of(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except botocore.exceptions.ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"].get("Code")
    raise AssertionError("%s did not fail" % getattr(fn, "__name__", fn))


def with_headers(s3, operation, headers):
    def hook(request, **kw):
        for k, v in headers.items():
            request.headers[k] = v
    s3.meta.events.register("before-sign.s3.%s" % operation, hook)


def new_bucket(s3, **kw):
    name = "ceph-b-" + uuid.uuid4().hex[:16]
    s3.create_bucket(Bucket=name, **kw)
    return name


def header(resp, name):
    return resp["ResponseMetadata"]["HTTPHeaders"].get(name)


def lifecycle(s3, bucket, rules):
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})


def expiration(resp):
    """(expiry datetime, rule id) of x-amz-expiration, or None."""
    text = header(resp, "x-amz-expiration")
    if text is None:
        return None
    m = re.fullmatch(r'expiry-date="([^"]+)", rule-id="([^"]+)"', text)
    assert m, text
    return email.utils.parsedate_to_datetime(m.group(1)), m.group(2)


def midnight_after(t, days):
    """The first midnight UTC at or after t plus days (S3 rounds up)."""
    t = t + datetime.timedelta(days=days)
    day = datetime.datetime(t.year, t.month, t.day, tzinfo=datetime.timezone.utc)
    return day if day == t else day + datetime.timedelta(days=1)


# ---- lifecycle expiration on objects ----

def test_expiration_header_put_head_get():
    s3 = client(LAX)
    b = new_bucket(s3)
    lifecycle(s3, b, [{"ID": "short one", "Filter": {"Prefix": "logs/"}, "Status": "Enabled",
                       "Expiration": {"Days": 3}},
                      {"ID": "off", "Filter": {"Prefix": ""}, "Status": "Disabled",
                       "Expiration": {"Days": 1}}])
    put = s3.put_object(Bucket=b, Key="logs/a", Body=b"x")
    head = s3.head_object(Bucket=b, Key="logs/a")
    want = midnight_after(head["LastModified"], 3)
    # The rule id is URL-encoded in the header.
    assert expiration(put) == (want, "short%20one"), header(put, "x-amz-expiration")
    assert expiration(head) == (want, "short%20one")
    assert expiration(s3.get_object(Bucket=b, Key="logs/a")) == (want, "short%20one")
    # Outside the prefix, or under a disabled rule only: no header.
    assert expiration(s3.put_object(Bucket=b, Key="data/a", Body=b"x")) is None
    assert expiration(s3.head_object(Bucket=b, Key="data/a")) is None


def test_expiration_header_date_and_earliest_rule():
    s3 = client(LAX)
    b = new_bucket(s3)
    lifecycle(s3, b, [{"ID": "late", "Filter": {}, "Status": "Enabled",
                       "Expiration": {"Date": datetime.datetime(2031, 5, 1, tzinfo=datetime.timezone.utc)}},
                      {"ID": "soon", "Prefix": "tmp/", "Status": "Enabled",
                       "Expiration": {"Days": 2}},
                      {"ID": "markers", "Filter": {}, "Status": "Enabled",
                       "Expiration": {"ExpiredObjectDeleteMarker": True}}])
    r = s3.put_object(Bucket=b, Key="keep", Body=b"x")
    assert expiration(r) == (datetime.datetime(2031, 5, 1, tzinfo=datetime.timezone.utc), "late")
    r = s3.put_object(Bucket=b, Key="tmp/x", Body=b"x")
    assert expiration(r)[1] == "soon"


def test_expiration_header_tag_filters():
    s3 = client(LAX)
    b = new_bucket(s3)
    lifecycle(s3, b, [{"ID": "tagged", "Filter": {"Tag": {"Key": "k1", "Value": "v1"}},
                       "Status": "Enabled", "Expiration": {"Days": 1}}])
    s3.put_object(Bucket=b, Key="o", Body=b"x")
    assert expiration(s3.head_object(Bucket=b, Key="o")) is None
    s3.put_object_tagging(Bucket=b, Key="o", Tagging={"TagSet": [
        {"Key": "k1", "Value": "v1"}, {"Key": "k5", "Value": "v5"}]})
    assert expiration(s3.head_object(Bucket=b, Key="o"))[1] == "tagged"
    # An And filter needs every tag (and the prefix).
    lifecycle(s3, b, [{"ID": "both", "Filter": {"And": {"Prefix": "o", "Tags": [
        {"Key": "k1", "Value": "v1"}, {"Key": "k5", "Value": "other"}]}},
        "Status": "Enabled", "Expiration": {"Days": 1}}])
    assert expiration(s3.head_object(Bucket=b, Key="o")) is None
    lifecycle(s3, b, [{"ID": "both", "Filter": {"And": {"Prefix": "o", "Tags": [
        {"Key": "k1", "Value": "v1"}, {"Key": "k5", "Value": "v5"}]}},
        "Status": "Enabled", "Expiration": {"Days": 1}}])
    assert expiration(s3.head_object(Bucket=b, Key="o"))[1] == "both"
    # Tags given with the upload count too.
    r = s3.put_object(Bucket=b, Key="o2", Body=b"x", Tagging="k1=v1&k5=v5")
    assert expiration(r)[1] == "both"


def test_expiration_header_copy_and_multipart():
    s3 = client(LAX)
    b = new_bucket(s3)
    lifecycle(s3, b, [{"ID": "r", "Filter": {"Prefix": "e/"}, "Status": "Enabled",
                       "Expiration": {"Days": 10}}])
    s3.put_object(Bucket=b, Key="src", Body=b"x")
    r = s3.copy_object(Bucket=b, Key="e/copy", CopySource={"Bucket": b, "Key": "src"})
    assert expiration(r)[1] == "r"
    up = s3.create_multipart_upload(Bucket=b, Key="e/mp")["UploadId"]
    etag = s3.upload_part(Bucket=b, Key="e/mp", UploadId=up, PartNumber=1, Body=b"p")["ETag"]
    r = s3.complete_multipart_upload(Bucket=b, Key="e/mp", UploadId=up, MultipartUpload={
        "Parts": [{"ETag": etag, "PartNumber": 1}]})
    assert expiration(r)[1] == "r"


# ---- reads and the encryption they may not choose ----

def test_read_refuses_encryption_headers():
    s3 = client(LAX)
    b = new_bucket(s3)
    s3.put_object(Bucket=b, Key="k", Body=b"x", ServerSideEncryption="AES256")
    for hdrs in ({"x-amz-server-side-encryption": "AES256"},
                 {"x-amz-server-side-encryption": "aws:kms",
                  "x-amz-server-side-encryption-aws-kms-key-id": "k-1"}):
        c = client(LAX)
        with_headers(c, "GetObject", hdrs)
        with_headers(c, "HeadObject", hdrs)
        assert code_of(c.get_object, Bucket=b, Key="k") == (400, "InvalidArgument")
        assert code_of(c.head_object, Bucket=b, Key="k")[0] == 400
    # Reading is otherwise untouched: SSE-C keys still go with their reads.
    s3.put_object(Bucket=b, Key="c", Body=b"secret", **SSEC)
    assert s3.get_object(Bucket=b, Key="c", **SSEC)["Body"].read() == b"secret"
    assert s3.head_object(Bucket=b, Key="k")["ServerSideEncryption"] == "AES256"


def test_head_reports_tag_count():
    s3 = client(LAX)
    b = new_bucket(s3)
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    assert header(s3.head_object(Bucket=b, Key="k"), "x-amz-tagging-count") is None
    s3.put_object_tagging(Bucket=b, Key="k", Tagging={"TagSet": [
        {"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]})
    assert header(s3.head_object(Bucket=b, Key="k"), "x-amz-tagging-count") == "2"
    assert s3.get_object(Bucket=b, Key="k")["TagCount"] == 2


# ---- versioning ----

def test_suspended_writes_name_no_version():
    s3 = client(LAX)
    enabled, suspended, never = new_bucket(s3), new_bucket(s3), new_bucket(s3)
    s3.put_bucket_versioning(Bucket=enabled, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_versioning(Bucket=suspended, VersioningConfiguration={"Status": "Suspended"})
    vid = s3.put_object(Bucket=enabled, Key="k", Body=b"x")["VersionId"]
    assert [v["VersionId"] for v in s3.list_object_versions(Bucket=enabled)["Versions"]] == [vid]
    for b in (suspended, never):
        assert "VersionId" not in s3.put_object(Bucket=b, Key="k", Body=b"x")
        assert "VersionId" not in s3.copy_object(Bucket=b, Key="c",
                                                 CopySource={"Bucket": b, "Key": "k"})
        up = s3.create_multipart_upload(Bucket=b, Key="m")["UploadId"]
        etag = s3.upload_part(Bucket=b, Key="m", UploadId=up, PartNumber=1, Body=b"p")["ETag"]
        r = s3.complete_multipart_upload(Bucket=b, Key="m", UploadId=up, MultipartUpload={
            "Parts": [{"ETag": etag, "PartNumber": 1}]})
        assert "VersionId" not in r
    # Reads of the suspended bucket's object name its "null" version.
    assert s3.head_object(Bucket=suspended, Key="k")["VersionId"] == "null"
    assert "VersionId" not in s3.head_object(Bucket=never, Key="k")
    assert s3.list_object_versions(Bucket=suspended)["Versions"][0]["VersionId"] == "null"


# ---- POST Object ----

def post(emu, bucket, fields, conditions=None, access_key="test"):
    """A browser form: signed (SigV2 policy) when conditions are given."""
    form = []
    if conditions is not None:
        exp = (datetime.datetime.utcnow() + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        policy = base64.b64encode(json.dumps({"expiration": exp, "conditions": conditions}).encode())
        sig = base64.b64encode(hmac.new(b"test", policy, hashlib.sha1).digest())
        form = [("key", fields.pop("key")), ("AWSAccessKeyId", access_key), ("policy", policy),
                ("signature", sig)]
    form += list(fields.items())
    return requests.post("%s/%s" % (emu.endpoint, bucket),
                         files=[(k, (None, v)) for k, v in form] + [("file", ("f", b"bar"))],
                         timeout=30)


def test_post_form_sse_c_fields():
    s3 = client(LAX)
    b = new_bucket(s3)
    conds = [{"bucket": b}, ["starts-with", "$key", "foo"]] + [
        ["starts-with", "$" + k, ""] for k in SSEC_HEADERS]
    fields = {"key": "foo.txt"}
    fields.update(SSEC_HEADERS)
    r = post(LAX, b, fields, conds)
    assert r.status_code == 204, r.text
    assert code_of(s3.get_object, Bucket=b, Key="foo.txt") == (400, "InvalidRequest")
    assert s3.get_object(Bucket=b, Key="foo.txt", **SSEC)["Body"].read() == b"bar"
    # A bad key MD5 in the form is refused as the header is.
    fields = {"key": "foo2.txt"}
    fields.update(SSEC_HEADERS)
    fields["x-amz-server-side-encryption-customer-key-MD5"] = "AAAAAAAAAAAAAAAAAAAAAA=="
    r = post(LAX, b, fields, conds)
    assert r.status_code == 400 and "<Code>InvalidArgument</Code>" in r.text, r.text


def test_post_form_signer_judged_by_access_control():
    owner = client(STRICT)
    b = new_bucket(owner)
    conds = [{"bucket": b}, ["starts-with", "$key", ""]]
    # The owner's signed form writes to its private bucket...
    r = post(STRICT, b, {"key": "mine"}, conds)
    assert r.status_code == 204, r.text
    # ... another account's and an unsigned one do not.
    r = post(STRICT, b, {"key": "theirs"}, conds, access_key=OTHER)
    assert r.status_code == 403 and "<Code>AccessDenied</Code>" in r.text, r.text
    r = post(STRICT, b, {"key": "anon"})
    assert r.status_code == 403, r.text
    # A policy that lets the other account write lets its form in.
    owner.put_bucket_policy(Bucket=b, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::%s/*" % b}]}))
    r = post(STRICT, b, {"key": "theirs"}, conds, access_key=OTHER)
    assert r.status_code == 204, r.text


# ---- bucket policy conditions on copies and grants ----

def allow(bucket, action, condition=None):
    st = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": action,
          "Resource": "arn:aws:s3:::%s/*" % bucket}
    if condition:
        st["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [st]})


def test_policy_copy_source_condition():
    owner, other = client(STRICT), client(STRICT, OTHER)
    src, dst = new_bucket(owner), new_bucket(owner)
    for b in (src, dst):  # on by default: no public policy otherwise
        owner.delete_public_access_block(Bucket=b)
    for k in ("public/a", "public/b c", "private/a"):
        owner.put_object(Bucket=src, Key=k, Body=k.encode())
    owner.put_bucket_policy(Bucket=src, Policy=allow(src, "s3:GetObject"))
    owner.put_bucket_policy(Bucket=dst, Policy=allow(
        dst, "s3:PutObject", {"StringLike": {"s3:x-amz-copy-source": src + "/public/*"}}))
    other.copy_object(Bucket=dst, Key="n1", CopySource={"Bucket": src, "Key": "public/a"})
    # The header is percent-encoded (boto3 quotes the string) and may start
    # with a slash: neither matters to the condition.
    other.copy_object(Bucket=dst, Key="n2", CopySource="/%s/public/b c" % src)
    assert owner.get_object(Bucket=dst, Key="n2")["Body"].read() == b"public/b c"
    assert code_of(other.copy_object, Bucket=dst, Key="n3",
                   CopySource={"Bucket": src, "Key": "private/a"}) == (403, "AccessDenied")
    # A plain PutObject carries no copy source: the condition does not hold.
    assert code_of(other.put_object, Bucket=dst, Key="n4", Body=b"x") == (403, "AccessDenied")


def test_policy_metadata_directive_condition():
    owner = client(STRICT)
    src, dst = new_bucket(owner), new_bucket(owner)
    for b in (src, dst):
        owner.delete_public_access_block(Bucket=b)
    owner.put_object(Bucket=src, Key="k", Body=b"x")
    owner.put_bucket_policy(Bucket=src, Policy=allow(src, "s3:GetObject"))
    owner.put_bucket_policy(Bucket=dst, Policy=allow(
        dst, "s3:PutObject", {"StringEquals": {"s3:x-amz-metadata-directive": "COPY"}}))
    other = client(STRICT, OTHER)
    other.copy_object(Bucket=dst, Key="a", CopySource={"Bucket": src, "Key": "k"},
                      MetadataDirective="COPY")
    assert code_of(other.copy_object, Bucket=dst, Key="b", CopySource={"Bucket": src, "Key": "k"},
                   MetadataDirective="REPLACE", Metadata={"m": "1"}) == (403, "AccessDenied")
    assert code_of(other.copy_object, Bucket=dst, Key="c",
                   CopySource={"Bucket": src, "Key": "k"}) == (403, "AccessDenied")


def test_policy_grant_condition():
    owner = client(STRICT)
    b = new_bucket(owner, ObjectOwnership="ObjectWriter")
    owner.delete_public_access_block(Bucket=b)
    owner_id = owner.get_bucket_acl(Bucket=b)["Owner"]["ID"]
    owner.put_bucket_policy(Bucket=b, Policy=allow(
        b, "s3:PutObject", {"StringEquals": {"s3:x-amz-grant-full-control": "id=" + owner_id}}))
    other = client(STRICT, OTHER)
    other.put_object(Bucket=b, Key="k", Body=b"x", GrantFullControl="id=" + owner_id)
    assert code_of(other.put_object, Bucket=b, Key="k2", Body=b"x") == (403, "AccessDenied")
    assert code_of(other.put_object, Bucket=b, Key="k3", Body=b"x",
                   GrantFullControl="id=" + "0" * 64) == (403, "AccessDenied")


def test_policy_status_not_principal():
    s3 = client(LAX)
    b = new_bucket(s3)
    res = ["arn:aws:s3:::" + b, "arn:aws:s3:::%s/*" % b]
    s3.put_bucket_policy(Bucket=b, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "s3:ListBucket", "Resource": res}]}))
    assert s3.get_bucket_policy_status(Bucket=b)["PolicyStatus"]["IsPublic"] is True
    s3.put_bucket_policy(Bucket=b, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:ListBucket", "Resource": res,
        "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/32"}}}]}))
    assert s3.get_bucket_policy_status(Bucket=b)["PolicyStatus"]["IsPublic"] is False
    # As AWS: no policy, no status.
    s3.delete_bucket_policy(Bucket=b)
    assert code_of(s3.get_bucket_policy_status, Bucket=b) == (404, "NoSuchBucketPolicy")


def test_policy_principal_checked():
    s3 = client(LAX)
    b = new_bucket(s3)

    def doc(principal):
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": principal, "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::%s/*" % b}]})

    for bad in ({"AWS": "not-an-arn"}, "someone", {"Someone": "*"}, {"AWS": []},
                {"CanonicalUser": "abc"}):
        try:
            s3.put_bucket_policy(Bucket=b, Policy=doc(bad))
        except botocore.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] == "MalformedPolicy", e.response
            assert e.response["Error"]["Message"] == "Invalid principal in policy", e.response
        else:
            raise AssertionError("accepted %r" % (bad,))
    for good in ("*", {"AWS": "*"}, {"AWS": ["123456789012", "arn:aws:iam::123456789012:root"]},
                 {"Service": "logging.s3.amazonaws.com"}, {"CanonicalUser": "a" * 64}):
        s3.put_bucket_policy(Bucket=b, Policy=doc(good))


# ---- ACL grants and multipart checksums checked ----

def test_acl_grantees_checked():
    s3 = client(LAX)
    b = new_bucket(s3, ObjectOwnership="ObjectWriter")
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    owner = s3.get_object_acl(Bucket=b, Key="k")["Owner"]

    def fields_of(fn, **kw):
        try:
            fn(**kw)
        except botocore.exceptions.ClientError as e:
            return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]
        raise AssertionError("did not fail: %r" % kw)

    # A header's grantee is named by its key (AWS's recorded answer), a
    # body's by CanonicalUser/ID.
    status, e = fields_of(s3.put_object_acl, Bucket=b, Key="k", GrantRead='id="not-a-canonical-id"')
    assert (status, e["Code"], e["Message"], e["ArgumentName"], e["ArgumentValue"]) == (
        400, "InvalidArgument", "Invalid id", "id", "not-a-canonical-id"), e
    status, e = fields_of(s3.put_bucket_acl, Bucket=b, GrantWrite='emailAddress="x@example.com"')
    assert (status, e["Code"], e["EmailAddress"]) == (
        400, "UnresolvableGrantByEmailAddress", "x@example.com"), e
    acp = {"Owner": owner, "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "A" * 64},
                                       "Permission": "READ"}]}
    assert fields_of(s3.put_object_acl, Bucket=b, Key="k", AccessControlPolicy=acp)[1]["Code"] == \
        "InvalidArgument"
    acp["Grants"][0]["Grantee"]["ID"] = "a" * 64
    acp["Grants"][0]["Permission"] = "READ_ALL"
    assert fields_of(s3.put_object_acl, Bucket=b, Key="k", AccessControlPolicy=acp) == (
        400, {"Code": "MalformedACLError", "Message": "The XML you provided was not well-formed "
              "or did not validate against our published schema"})
    assert code_of(s3.put_bucket_acl, Bucket=b, AccessControlPolicy={"Grants": []}) == (
        400, "MalformedACLError")
    # What is well formed is stored.
    acp["Grants"][0]["Permission"] = "READ"
    s3.put_object_acl(Bucket=b, Key="k", AccessControlPolicy=acp)
    assert acp["Grants"][0] in s3.get_object_acl(Bucket=b, Key="k")["Grants"]


def test_multipart_part_checksums_compared():
    s3 = client(LAX)
    b = new_bucket(s3)
    up = s3.create_multipart_upload(Bucket=b, Key="m", ChecksumAlgorithm="SHA256")["UploadId"]
    part = s3.upload_part(Bucket=b, Key="m", UploadId=up, PartNumber=1, Body=b"hello",
                          ChecksumAlgorithm="SHA256")
    assert part["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(b"hello").digest()).decode()
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    assert code_of(s3.complete_multipart_upload, Bucket=b, Key="m", UploadId=up, MultipartUpload={
        "Parts": [{"ETag": part["ETag"], "PartNumber": 1, "ChecksumSHA256": wrong}]}) == (
        400, "InvalidPart")
    r = s3.complete_multipart_upload(Bucket=b, Key="m", UploadId=up, MultipartUpload={
        "Parts": [{"ETag": part["ETag"], "PartNumber": 1, "ChecksumSHA256": part["ChecksumSHA256"]}]})
    assert r["ChecksumSHA256"].endswith("-1"), r


# ---- where AWS and ceph disagree, AWS's answers ----

def test_aws_answers_over_ceph_expectations():
    s3 = client(LAX)
    b = new_bucket(s3)
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    tags = {"TagSet": [{"Key": str(i), "Value": str(i)} for i in range(11)]}
    assert code_of(s3.put_object_tagging, Bucket=b, Key="k", Tagging=tags) == (400, "BadRequest")
    tags = {"TagSet": [{"Key": "k" * 129, "Value": "v"}]}
    assert code_of(s3.put_object_tagging, Bucket=b, Key="k", Tagging=tags) == (400, "InvalidTag")
    lb = "ceph-b-lock-" + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=lb, ObjectLockEnabledForBucket=True)
    conf = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 0}}}
    assert code_of(s3.put_object_lock_configuration, Bucket=lb,
                   ObjectLockConfiguration=conf) == (400, "InvalidArgument")


def test_path_not_utf8_is_invalid_uri():
    s3 = client(LAX)
    b = new_bucket(s3)
    conn = http.client.HTTPConnection(LAX.endpoint.split("//")[1], timeout=30)
    try:
        conn.request("GET", "/%s/%%AE%%8A-" % b)
        resp = conn.getresponse()
        body = resp.read().decode()
    finally:
        conn.close()
    assert resp.status == 400 and "<Code>InvalidURI</Code>" in body, body
    # A key that is UTF-8 (boto3 sends U+00AE U+008A that way) is only missing.
    assert code_of(s3.get_object, Bucket=b, Key="\xae\x8a-") == (404, "NoSuchKey")


def main():
    return run_tests(globals(), [("LAX", None), ("STRICT", {"AIRGAP_S3_ENFORCE_ACCESS": "1"})])


if __name__ == "__main__":
    sys.exit(main())
