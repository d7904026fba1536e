#!/usr/bin/python3
"""End-to-end tests of S3's answers against what real AWS answered, as the
public snapshot recordings of LocalStack's S3 suite show them (the requests
and assertions are written here; only AWS's recorded answers are compared):
the whole error envelope (Code, Message and every extra field such as
BucketName, Key, ArgumentName, ArgumentValue, Condition, Method,
ResourceType, TagKey, ActualObjectSize, RangeRequested) and the status code,
for the common object, bucket, tagging, versioning, multipart and
conditional-write operations.

Each check compares the error's fields exactly (RequestId and HostId
excepted); a test reports every difference it found, not only the first."""

import uuid

from s3_e2e_support import client, error_of, run, with_headers

NOT_VERSIONED_VID = "HPniJFCxqTsMuIH9KX8K8wEjNUgmABCD"
MALFORMED_XML = ("The XML you provided was not well-formed or did not validate "
                 "against our published schema")
RANGE_FORM = ("The x-amz-copy-source-range value must be of the form "
              "bytes=first-last where first and last are the zero-based offsets "
              "of the first and last bytes to copy")
PRECOND = "At least one of the pre-conditions you specified did not hold"
NOT_IMPL = "A header you provided implies functionality that is not implemented"
TAG_HEADER = ("The header 'x-amz-tagging' shall be encoded as UTF-8 then "
              "URLEncoded URL query parameters without tag name duplicates.")


def bucket(s3, versioned=False):
    name = "snap-" + uuid.uuid4().hex[:20]
    s3.create_bucket(Bucket=name)
    if versioned:
        s3.put_bucket_versioning(Bucket=name,
                                 VersioningConfiguration={"Status": "Enabled"})
    return name


COMPARED = [0]


class Checks:
    """Collects the differences of several expectations, then fails once
    with all of them."""

    def __init__(self):
        self.diffs = []

    def error(self, label, status, expected, fn, *args, **kw):
        COMPARED[0] += 1
        try:
            r = error_of(fn, *args, **kw)
        except AssertionError:
            self.diffs.append("%s: expected %d %r, but the call succeeded" % (label, status,
                                                                          expected))
            return
        got = {k: v for k, v in r["Error"].items() if k not in ("RequestId", "HostId")}
        got_status = r["ResponseMetadata"]["HTTPStatusCode"]
        if got != expected or got_status != status:
            self.diffs.append("%s: expected %d %r, got %d %r" % (label, status, expected,
                                                                 got_status, got))

    def equal(self, label, expected, got):
        COMPARED[0] += 1
        if expected != got:
            self.diffs.append("%s: expected %r, got %r" % (label, expected, got))

    def done(self):
        print("  %d differences" % len(self.diffs))
        assert not self.diffs, "\n  " + "\n  ".join(self.diffs)


def no_bucket(name):
    return {"Code": "NoSuchBucket", "Message": "The specified bucket does not exist",
            "BucketName": name}


def test_missing_bucket_answers():
    s3, c = client(), Checks()
    name = "snap-missing-" + uuid.uuid4().hex[:12]
    for label, fn, kw in [
            ("GetBucketVersioning", s3.get_bucket_versioning, {}),
            ("PutBucketVersioning", s3.put_bucket_versioning,
             {"VersioningConfiguration": {"Status": "Enabled"}}),
            ("GetBucketEncryption", s3.get_bucket_encryption, {}),
            ("DeleteBucketEncryption", s3.delete_bucket_encryption, {}),
            ("GetBucketTagging", s3.get_bucket_tagging, {}),
            ("DeleteBucketTagging", s3.delete_bucket_tagging, {}),
            ("PutBucketTagging", s3.put_bucket_tagging,
             {"Tagging": {"TagSet": [{"Key": "a", "Value": "b"}]}}),
            ("GetObjectLockConfiguration", s3.get_object_lock_configuration, {})]:
        c.error(label, 404, no_bucket(name), fn, Bucket=name, **kw)
    for label, fn, kw in [
            ("GetObjectTagging", s3.get_object_tagging, {}),
            ("DeleteObjectTagging", s3.delete_object_tagging, {}),
            ("PutObjectTagging", s3.put_object_tagging,
             {"Tagging": {"TagSet": [{"Key": "a", "Value": "b"}]}})]:
        c.error(label, 404, no_bucket(name), fn, Bucket=name, Key="k", **kw)
    c.done()


def test_delete_bucket_not_empty():
    s3, c = client(), Checks()
    b = bucket(s3)
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    c.error("unversioned", 409, {"Code": "BucketNotEmpty", "BucketName": b,
                                 "Message": "The bucket you tried to delete is not empty"},
            s3.delete_bucket, Bucket=b)
    v = bucket(s3, versioned=True)
    s3.put_object(Bucket=v, Key="k", Body=b"x")
    s3.delete_object(Bucket=v, Key="k")
    c.error("versioned", 409, {
        "Code": "BucketNotEmpty", "BucketName": v,
        "Message": "The bucket you tried to delete is not empty. "
                   "You must delete all versions in the bucket."},
        s3.delete_bucket, Bucket=v)
    c.done()


def test_version_ids():
    s3, c = client(), Checks()
    b = bucket(s3)
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    bad = {"Code": "InvalidArgument", "Message": "Invalid version id specified",
           "ArgumentName": "versionId", "ArgumentValue": NOT_VERSIONED_VID}
    c.error("GetObject", 400, bad, s3.get_object, Bucket=b, Key="k",
            VersionId=NOT_VERSIONED_VID)
    c.error("DeleteObject", 400, bad, s3.delete_object, Bucket=b, Key="missing",
            VersionId=NOT_VERSIONED_VID)
    r = s3.delete_objects(Bucket=b, Delete={"Objects": [
        {"Key": "k", "VersionId": NOT_VERSIONED_VID}]})
    c.equal("DeleteObjects", [{"Code": "NoSuchVersion", "Key": "k",
                               "Message": "The specified version does not exist.",
                               "VersionId": NOT_VERSIONED_VID}], r.get("Errors"))
    v = bucket(s3, versioned=True)
    vid = s3.put_object(Bucket=v, Key="k", Body=b"x")["VersionId"]
    s3.delete_object(Bucket=v, Key="k", VersionId=vid)
    c.error("GetObject deleted version", 404, {
        "Code": "NoSuchVersion", "Message": "The specified version does not exist.",
        "Key": "k", "VersionId": vid}, s3.get_object, Bucket=v, Key="k", VersionId=vid)
    c.error("GetObject missing key", 404, {
        "Code": "NoSuchKey", "Message": "The specified key does not exist.", "Key": "k"},
        s3.get_object, Bucket=v, Key="k")
    c.done()


def test_delete_markers():
    s3, c = client(), Checks()
    b = bucket(s3, versioned=True)
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    dm = s3.delete_object(Bucket=b, Key="k")["VersionId"]

    def not_allowed(method):
        return {"Code": "MethodNotAllowed",
                "Message": "The specified method is not allowed against this resource.",
                "Method": method, "ResourceType": "DeleteMarker"}
    c.error("GetObject marker", 405, not_allowed("GET"), s3.get_object, Bucket=b,
            Key="k", VersionId=dm)
    tags = {"TagSet": [{"Key": "a", "Value": "b"}]}
    for suffix, extra in (("by id", {"VersionId": dm}), ("latest", {})):
        c.error("PutObjectTagging " + suffix, 405, not_allowed("PUT"),
                s3.put_object_tagging, Bucket=b, Key="k", Tagging=tags, **extra)
        c.error("GetObjectTagging " + suffix, 405, not_allowed("GET"),
                s3.get_object_tagging, Bucket=b, Key="k", **extra)
        c.error("DeleteObjectTagging " + suffix, 405, not_allowed("DELETE"),
                s3.delete_object_tagging, Bucket=b, Key="k", **extra)
    c.done()


def test_versioning_configuration():
    s3, c = client(), Checks()
    b = bucket(s3)
    for label, status in (("lowercase", "enabled"), ("Disabled", "Disabled")):
        c.error(label, 400, {"Code": "MalformedXML", "Message": MALFORMED_XML},
                s3.put_bucket_versioning, Bucket=b,
                VersioningConfiguration={"Status": status})
    c.error("empty", 400, {"Code": "IllegalVersioningConfigurationException",
                           "Message": "The Versioning element must be specified"},
            s3.put_bucket_versioning, Bucket=b, VersioningConfiguration={})
    c.done()


def test_tagging_errors():
    s3, c = client(), Checks()
    b = bucket(s3)
    c.error("GetBucketTagging none", 404, {"Code": "NoSuchTagSet", "BucketName": b,
                                            "Message": "The TagSet does not exist"},
            s3.get_bucket_tagging, Bucket=b)
    c.error("GetObjectTagging no key", 404, {
        "Code": "NoSuchKey", "Message": "The specified key does not exist.",
        "Key": b + "/fake-key"}, s3.get_object_tagging, Bucket=b, Key="fake-key")
    for label, fn, kw in (("DeleteObjectTagging", s3.delete_object_tagging, {}),
                          ("PutObjectTagging", s3.put_object_tagging,
                           {"Tagging": {"TagSet": [{"Key": "a", "Value": "b"}]}})):
        c.error(label + " no key", 404, {
            "Code": "NoSuchKey", "Message": "The specified key does not exist.",
            "Key": "fake-key"}, fn, Bucket=b, Key="fake-key", **kw)
    for value in ("key1=val1&key1=val2", "key1=val1,key2=val2"):
        c.error("x-amz-tagging " + value, 400, {
            "Code": "InvalidArgument", "Message": TAG_HEADER,
            "ArgumentName": "x-amz-tagging", "ArgumentValue": value},
            s3.put_object, Bucket=b, Key="t", Body=b"x", Tagging=value)
    s3.put_object(Bucket=b, Key="t", Body=b"x")
    dup = {"TagSet": [{"Key": "Key1", "Value": "a"}, {"Key": "Key1", "Value": "b"}]}
    badkey = {"TagSet": [{"Key": "Key1,Key2", "Value": "a"}]}
    badval = {"TagSet": [{"Key": "Key1", "Value": "Val1,Val2"}]}
    system = {"TagSet": [{"Key": "aws:prefixed", "Value": "a"}]}
    dup_err = {"Code": "InvalidTag", "TagKey": "Key1",
               "Message": "Cannot provide multiple Tags with the same key"}
    key_err = {"Code": "InvalidTag", "TagKey": "Key1,Key2",
               "Message": "The TagKey you have provided is invalid"}
    c.error("bucket duplicate", 400, dup_err, s3.put_bucket_tagging, Bucket=b, Tagging=dup)
    c.error("bucket bad key", 400, key_err, s3.put_bucket_tagging, Bucket=b, Tagging=badkey)
    c.error("bucket bad value", 400, {
        "Code": "InvalidTag", "TagKey": "Key1", "TagValue": "Val1,Val2",
        "Message": "The TagValue you have provided is invalid"},
        s3.put_bucket_tagging, Bucket=b, Tagging=badval)
    c.error("bucket aws:", 400, {
        "Code": "InvalidTag", "TagKey": "aws:prefixed",
        "Message": "System tags cannot be added/updated by requester"},
        s3.put_bucket_tagging, Bucket=b, Tagging=system)
    c.error("object duplicate", 400, dup_err, s3.put_object_tagging, Bucket=b, Key="t",
            Tagging=dup)
    c.error("object bad key", 400, key_err, s3.put_object_tagging, Bucket=b, Key="t",
            Tagging=badkey)
    c.error("object aws:", 400, {
        "Code": "InvalidTag", "TagKey": "aws:prefixed",
        "Message": "Your TagKey cannot be prefixed with aws:"},
        s3.put_object_tagging, Bucket=b, Key="t", Tagging=system)
    c.done()


def test_ranges():
    s3, c = client(), Checks()
    b = bucket(s3)
    s3.put_object(Bucket=b, Key="r", Body=b"0123456789")
    for rng in ("bytes=-0", "bytes=100-200"):
        c.error("GetObject " + rng, 416, {
            "Code": "InvalidRange", "Message": "The requested range is not satisfiable",
            "ActualObjectSize": "10", "RangeRequested": rng},
            s3.get_object, Bucket=b, Key="r", Range=rng)
    up = s3.create_multipart_upload(Bucket=b, Key="m")["UploadId"]
    for rng in ("0-8", "bytes=1-0", "bytes=-1-", "bytes=0--1", "bytes=0-1,3-4,7-9",
                "bytes=-", "bytes=-0", "bytes=1-", "bytes=-2", "bytes=-15"):
        c.error("UploadPartCopy " + rng, 400, {
            "Code": "InvalidArgument", "Message": RANGE_FORM,
            "ArgumentName": "x-amz-copy-source-range", "ArgumentValue": rng},
            s3.upload_part_copy, Bucket=b, Key="m", UploadId=up, PartNumber=1,
            CopySource={"Bucket": b, "Key": "r"}, CopySourceRange=rng)
    c.error("UploadPartCopy past end", 400, {
        "Code": "InvalidArgument",
        "Message": "Range specified is not valid for source object of size: 10",
        "ArgumentName": "x-amz-copy-source-range", "ArgumentValue": "bytes=0-100"},
        s3.upload_part_copy, Bucket=b, Key="m", UploadId=up, PartNumber=1,
        CopySource={"Bucket": b, "Key": "r"}, CopySourceRange="bytes=0-100")
    c.error("UploadPartCopy beyond", 400, {
        "Code": "InvalidRequest",
        "Message": "The specified copy range is invalid for the source object size"},
        s3.upload_part_copy, Bucket=b, Key="m", UploadId=up, PartNumber=1,
        CopySource={"Bucket": b, "Key": "r"}, CopySourceRange="bytes=100-200")
    s3.abort_multipart_upload(Bucket=b, Key="m", UploadId=up)
    c.done()


def test_conditional_writes():
    s3, c = client(), Checks()
    b = bucket(s3)
    s3.put_object(Bucket=b, Key="p", Body=b"test")

    def put_with(headers, key="p"):
        unhook = with_headers(s3, "PutObject", headers)
        try:
            return error_of(s3.put_object, Bucket=b, Key=key, Body=b"")
        except AssertionError:
            return None
        finally:
            unhook()

    for label, status, expected, headers, key in [
            ("If-None-Match *", 412, {"Code": "PreconditionFailed", "Message": PRECOND,
                                      "Condition": "If-None-Match"},
             {"If-None-Match": "*"}, "p"),
            ("If-Match wrong", 412, {"Code": "PreconditionFailed", "Message": PRECOND,
                                     "Condition": "If-Match"},
             {"If-Match": '"0000"'}, "p"),
            ("If-Match missing key", 404, {"Code": "NoSuchKey", "Key": "nokey",
                                           "Message": "The specified key does not exist."},
             {"If-Match": '"0000"'}, "nokey"),
            ("If-None-Match bad", 501, {
                "Code": "NotImplemented", "Message": NOT_IMPL, "Header": "If-None-Match",
                "additionalMessage":
                    "We don't accept the provided value of If-None-Match header for this API"},
             {"If-None-Match": "abcd"}, "p"),
            ("If-Match *", 501, {
                "Code": "NotImplemented", "Message": NOT_IMPL, "Header": "If-Match",
                "additionalMessage":
                    "We don't accept the provided value of If-Match header for this API"},
             {"If-Match": "*"}, "p"),
            ("both", 501, {
                "Code": "NotImplemented", "Message": NOT_IMPL,
                "Header": "If-Match,If-None-Match",
                "additionalMessage": "Multiple conditional request headers present in the request"},
             {"If-Match": '"0000"', "If-None-Match": "*"}, "p")]:
        COMPARED[0] += 1
        r = put_with(headers, key)
        if r is None:
            c.diffs.append("%s: expected %d, but the call succeeded" % (label, status))
            continue
        got = {k: v for k, v in r["Error"].items() if k not in ("RequestId", "HostId")}
        got_status = r["ResponseMetadata"]["HTTPStatusCode"]
        if got != expected or got_status != status:
            c.diffs.append("%s: expected %d %r, got %d %r" % (label, status, expected,
                                                              got_status, got))
    c.done()


def test_bucket_configuration_errors():
    s3, c = client(), Checks()
    b = bucket(s3)
    c.error("GetObjectLockConfiguration none", 404, {
        "Code": "ObjectLockConfigurationNotFoundError", "BucketName": b,
        "Message": "Object Lock configuration does not exist for this bucket"},
        s3.get_object_lock_configuration, Bucket=b)
    c.error("PutObjectLockConfiguration unversioned", 409, {
        "Code": "InvalidBucketState",
        "Message": "Versioning must be 'Enabled' on the bucket to apply a Object Lock "
                   "configuration"},
        s3.put_object_lock_configuration, Bucket=b,
        ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    c.error("GetBucketPolicy none", 404, {
        "Code": "NoSuchBucketPolicy", "BucketName": b,
        "Message": "The bucket policy does not exist"}, s3.get_bucket_policy, Bucket=b)
    c.error("PutBucketPolicy not JSON", 400, {
        "Code": "MalformedPolicy",
        "Message": "Policies must be valid JSON and the first byte must be '{'"},
        s3.put_bucket_policy, Bucket=b, Policy="randomstring")
    c.error("PutBucketPolicy {}", 400, {
        "Code": "MalformedPolicy", "Message": "Missing required field Statement"},
        s3.put_bucket_policy, Bucket=b, Policy="{}")
    c.error("PutBucketEncryption KMS key with AES256", 400, {
        "Code": "InvalidArgument", "ArgumentName": "ApplyServerSideEncryptionByDefault",
        "Message": "a KMSMasterKeyID is not applicable if the default sse algorithm is "
                   "not aws:kms or aws:kms:dsse"},
        s3.put_bucket_encryption, Bucket=b, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256",
                                                    "KMSMasterKeyID": "some-key"}}]})
    c.error("DeleteObject bypass unlocked", 400, {
        "Code": "InvalidArgument", "ArgumentName": "x-amz-bypass-governance-retention",
        "Message": "x-amz-bypass-governance-retention is only applicable to Object Lock "
                   "enabled buckets."},
        s3.delete_object, Bucket=b, Key="k", BypassGovernanceRetention=True)
    c.error("GetBucketMetricsConfiguration none", 404, {
        "Code": "NoSuchConfiguration", "Message": "The specified configuration does not exist."},
        s3.get_bucket_metrics_configuration, Bucket=b, Id="nope")
    c.done()


def test_object_and_bucket_errors():
    s3, c = client(), Checks()
    b = bucket(s3)
    s3.put_object(Bucket=b, Key="o", Body=b"abcdefgh")
    c.error("GetObject If-Match", 412, {"Code": "PreconditionFailed", "Message": PRECOND,
                                        "Condition": "If-Match"},
            s3.get_object, Bucket=b, Key="o", IfMatch='"0000"')
    c.error("GetObject wrong case", 404, {
        "Code": "NoSuchKey", "Message": "The specified key does not exist.", "Key": "O"},
        s3.get_object, Bucket=b, Key="O")
    for md5 in ("__invalid__", "000", "MTIz"):
        c.error("Content-MD5 " + md5, 400, {
            "Code": "InvalidDigest", "Message": "The Content-MD5 you specified was invalid.",
            "Content-MD5": md5}, s3.put_object, Bucket=b, Key="d", Body=b"x", ContentMD5=md5)
    c.error("x-amz-checksum-crc32", 400, {
        "Code": "InvalidRequest", "Message": "Value for x-amz-checksum-crc32 header is invalid."},
        s3.put_object, Bucket=b, Key="c", Body=b"test data..", ChecksumCRC32="cZWHwQ==x")
    c.error("GetBucketLifecycleConfiguration none", 404, {
        "Code": "NoSuchLifecycleConfiguration", "BucketName": b,
        "Message": "The lifecycle configuration does not exist"},
        s3.get_bucket_lifecycle_configuration, Bucket=b)
    c.error("PutBucketRequestPayment bad payer", 400, {
        "Code": "MalformedXML", "Message": MALFORMED_XML},
        s3.put_bucket_request_payment, Bucket=b,
        RequestPaymentConfiguration={"Payer": "Random"})
    missing = "snap-missing-" + uuid.uuid4().hex[:12]
    c.error("DeleteObjects no bucket", 404, no_bucket(missing), s3.delete_objects,
            Bucket=missing, Delete={"Objects": [{"Key": "a"}]})
    c.error("GetBucketLocation no bucket", 404, no_bucket(missing),
            s3.get_bucket_location, Bucket=missing)
    c.error("CreateBucket no constraint outside us-east-1", 400, {
        "Code": "IllegalLocationConstraintException",
        "Message": "The unspecified location constraint is incompatible for the region "
                   "specific endpoint this request was sent to."},
        client(region="us-east-2").create_bucket, Bucket="snap-" + uuid.uuid4().hex[:20])
    c.done()


def test_names_archive_and_acl_errors():
    s3, c = client(), Checks()
    upper = "Snap-" + uuid.uuid4().hex[:12]
    c.error("CreateBucket uppercase", 400, {
        "Code": "InvalidBucketName", "Message": "The specified bucket is not valid.",
        "BucketName": upper}, s3.create_bucket, Bucket=upper)
    b = bucket(s3)
    s3.put_object(Bucket=b, Key="cold", Body=b"x", StorageClass="DEEP_ARCHIVE")
    c.error("GetObject DEEP_ARCHIVE", 403, {
        "Code": "InvalidObjectState", "StorageClass": "DEEP_ARCHIVE",
        "Message": "The operation is not valid for the object's storage class"},
        s3.get_object, Bucket=b, Key="cold")
    s3.put_bucket_ownership_controls(Bucket=b, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]})
    c.error("PutBucketAcl fake group", 400, {
        "Code": "InvalidArgument", "Message": "Invalid group uri", "ArgumentName": "uri",
        "ArgumentValue": "http://acs.amazonaws.com/groups/s3/FakeGroup"},
        s3.put_bucket_acl, Bucket=b,
        GrantWrite='uri="http://acs.amazonaws.com/groups/s3/FakeGroup"')
    c.error("PutBucketAcl unknown grantee form", 400, {
        "Code": "InvalidArgument", "Message": "Argument format not recognized",
        "ArgumentName": "x-amz-grant-write", "ArgumentValue": 'fakekey="1234"'},
        s3.put_bucket_acl, Bucket=b, GrantWrite='fakekey="1234"')
    c.error("PutBucketAcl bad id", 400, {
        "Code": "InvalidArgument", "Message": "Invalid id", "ArgumentName": "id",
        "ArgumentValue": "wrong-id"}, s3.put_bucket_acl, Bucket=b, GrantWrite='id="wrong-id"')
    owner = s3.get_bucket_acl(Bucket=b)["Owner"]
    c.error("PutBucketAcl body bad group", 400, {
        "Code": "InvalidArgument", "Message": "Invalid group uri", "ArgumentName": "Group/URI",
        "ArgumentValue": "http://acs.amazonaws.com/groups/s3/FakeGroup"},
        s3.put_bucket_acl, Bucket=b, AccessControlPolicy={"Owner": owner, "Grants": [
            {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/s3/FakeGroup"},
             "Permission": "READ"}]})
    c.error("PutBucketAcl body bad id", 400, {
        "Code": "InvalidArgument", "Message": "Invalid id", "ArgumentName": "CanonicalUser/ID",
        "ArgumentValue": "wrong-id"},
        s3.put_bucket_acl, Bucket=b, AccessControlPolicy={"Owner": owner, "Grants": [
            {"Grantee": {"Type": "CanonicalUser", "ID": "wrong-id"}, "Permission": "READ"}]})
    c.error("PutBucketAcl nothing", 400, {
        "Code": "MissingSecurityHeader", "Message": "Your request was missing a required header",
        "MissingHeaderName": "x-amz-acl"}, s3.put_bucket_acl, Bucket=b)
    c.error("PutBucketAcl canned and grants", 400, {
        "Code": "InvalidRequest",
        "Message": "Specifying both Canned ACLs and Header Grants is not allowed"},
        s3.put_bucket_acl, Bucket=b, ACL="private", GrantRead='uri="%s"' % (
            "http://acs.amazonaws.com/groups/s3/LogDelivery"))
    c.error("PutBucketAcl canned with body", 400, {
        "Code": "UnexpectedContent", "Message": "This request does not support content"},
        s3.put_bucket_acl, Bucket=b, ACL="private",
        AccessControlPolicy={"Owner": owner, "Grants": []})
    c.done()


def test_configuration_and_multipart_errors():
    s3, c = client(), Checks()
    b = bucket(s3)
    c.error("GetBucketWebsite none", 404, {
        "Code": "NoSuchWebsiteConfiguration", "BucketName": b,
        "Message": "The specified bucket does not have a website configuration"},
        s3.get_bucket_website, Bucket=b)
    c.error("PutBucketWebsite index with slash", 400, {
        "Code": "InvalidArgument", "Message": "The IndexDocument Suffix is not well formed",
        "ArgumentName": "IndexDocument", "ArgumentValue": "/index.html"},
        s3.put_bucket_website, Bucket=b,
        WebsiteConfiguration={"IndexDocument": {"Suffix": "/index.html"}})
    c.error("PutBucketWebsite redirect and rules", 400, {
        "Code": "InvalidArgument", "ArgumentName": "RedirectAllRequestsTo",
        "ArgumentValue": "not null",
        "Message": "RedirectAllRequestsTo cannot be provided in conjunction with other Routing "
                   "Rules."},
        s3.put_bucket_website, Bucket=b, WebsiteConfiguration={
            "RedirectAllRequestsTo": {"HostName": "example.com"},
            "IndexDocument": {"Suffix": "index.html"}})
    c.error("PutBucketWebsite bad protocol", 400, {
        "Code": "InvalidRequest",
        "Message": "Invalid protocol, protocol can be http or https. If not defined the "
                   "protocol will be selected automatically."},
        s3.put_bucket_website, Bucket=b, WebsiteConfiguration={
            "RedirectAllRequestsTo": {"HostName": "example.com", "Protocol": "ftp"}})
    c.error("GetBucketReplication none", 404, {
        "Code": "ReplicationConfigurationNotFoundError", "BucketName": b,
        "Message": "The replication configuration was not found"},
        s3.get_bucket_replication, Bucket=b)
    c.error("PutBucketReplication unversioned", 400, {
        "Code": "InvalidRequest",
        "Message": "Versioning must be 'Enabled' on the bucket to apply a replication "
                   "configuration"},
        s3.put_bucket_replication, Bucket=b, ReplicationConfiguration={
            "Role": "arn:aws:iam::000000000000:role/r", "Rules": [{
                "ID": "id", "Priority": 1, "Filter": {"Prefix": "Tax"}, "Status": "Enabled",
                "DeleteMarkerReplication": {"Status": "Disabled"},
                "Destination": {"Bucket": "arn:aws:s3:::dest-bucket"}}]})
    for label, fn in (("PutObject", s3.put_object), ("CreateMultipartUpload",
                                                     s3.create_multipart_upload)):
        extra = {"Body": b"x"} if label == "PutObject" else {}
        c.error(label + " OUTPOSTS", 400, {
            "Code": "InvalidStorageClass", "StorageClassRequested": "OUTPOSTS",
            "Message": "The storage class you specified is not valid"},
            fn, Bucket=b, Key="o", StorageClass="OUTPOSTS", **extra)
    up = s3.create_multipart_upload(Bucket=b, Key="m")["UploadId"]
    c.error("UploadPart -1", 400, {
        "Code": "InvalidArgument",
        "Message": "Part number must be an integer between 1 and 10000, inclusive",
        "ArgumentName": "partNumber", "ArgumentValue": "-1"},
        s3.upload_part, Bucket=b, Key="m", UploadId=up, PartNumber=-1, Body=b"x")
    e1 = s3.upload_part(Bucket=b, Key="m", UploadId=up, PartNumber=1, Body=b"a" * 5242880)["ETag"]
    e2 = s3.upload_part(Bucket=b, Key="m", UploadId=up, PartNumber=2, Body=b"b")["ETag"]
    c.error("CompleteMultipartUpload unordered", 400, {
        "Code": "InvalidPartOrder", "UploadId": up,
        "Message": "The list of parts was not in ascending order. Parts must be ordered by part "
                   "number."},
        s3.complete_multipart_upload, Bucket=b, Key="m", UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]})
    wrong = '"d41d8cd98f00b204e9800998ecf8427e"'
    c.error("CompleteMultipartUpload wrong ETag", 400, {
        "Code": "InvalidPart", "UploadId": up, "PartNumber": "1",
        "ETag": "d41d8cd98f00b204e9800998ecf8427e",
        "Message": "One or more of the specified parts could not be found.  The part may not "
                   "have been uploaded, or the specified entity tag may not match the part's "
                   "entity tag."},
        s3.complete_multipart_upload, Bucket=b, Key="m", UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": wrong}]})
    s3.complete_multipart_upload(Bucket=b, Key="m", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    c.error("ListParts completed", 404, {
        "Code": "NoSuchUpload", "UploadId": up,
        "Message": "The specified upload does not exist. The upload ID may be invalid, or the "
                   "upload may have been aborted or completed."},
        s3.list_parts, Bucket=b, Key="m", UploadId=up)
    c.done()


if __name__ == "__main__":
    try:
        run([test_missing_bucket_answers, test_delete_bucket_not_empty, test_version_ids,
             test_delete_markers, test_versioning_configuration, test_tagging_errors,
             test_ranges, test_conditional_writes, test_bucket_configuration_errors,
             test_object_and_bucket_errors, test_names_archive_and_acl_errors,
             test_configuration_and_multipart_errors])
    finally:
        print("%d expectations compared" % COMPARED[0])
