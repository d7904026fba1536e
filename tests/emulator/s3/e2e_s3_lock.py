#!/usr/bin/python3
"""S3 Object Lock with Debian's boto3 against `airgap emulator`: a bucket
created with Object Lock (versioning on, ObjectLockEnabled), its configuration
validated, default retention applied to new versions, retention and legal
hold per version with the x-amz-object-lock-* headers on GET/HEAD, and
deletes of locked versions refused (AccessDenied) unless governance bypass
applies; an integrity header required on PutObject with lock parameters."""

import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3_e2e_support as sup  # noqa: E402
from s3_e2e_support import client, code_of  # noqa: E402


def future(days=1):
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)


def test_lock_bucket():
    s3 = client()
    s3.create_bucket(Bucket="lock-b", ObjectLockEnabledForBucket=True)
    assert s3.get_bucket_versioning(Bucket="lock-b")["Status"] == "Enabled"
    cfg = s3.get_object_lock_configuration(Bucket="lock-b")["ObjectLockConfiguration"]
    assert cfg == {"ObjectLockEnabled": "Enabled"}, cfg
    assert code_of(s3.put_bucket_versioning, Bucket="lock-b",
                   VersioningConfiguration={"Status": "Suspended"}) == (409, "InvalidBucketState")
    s3.create_bucket(Bucket="plain-b")
    assert code_of(s3.get_object_lock_configuration, Bucket="plain-b") == (
        404, "ObjectLockConfigurationNotFoundError")
    assert code_of(s3.put_object_lock_configuration, Bucket="plain-b",
                   ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}) == (
        409, "InvalidBucketState")
    # Lock parameters on a bucket without Object Lock.
    assert code_of(s3.put_object, Bucket="plain-b", Key="k", Body=b"x",
                   ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=future()) == (
        400, "InvalidRequest")
    assert code_of(s3.put_object_retention, Bucket="plain-b", Key="k",
                   Retention={"Mode": "GOVERNANCE", "RetainUntilDate": future()}) == (
        400, "InvalidRequest")
    # Configuration validation.
    bad = {"ObjectLockEnabled": "Enabled",
           "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1, "Years": 1}}}
    assert code_of(s3.put_object_lock_configuration, Bucket="lock-b",
                   ObjectLockConfiguration=bad) == (400, "MalformedXML")
    bad = {"ObjectLockEnabled": "Enabled",
           "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 0}}}
    assert code_of(s3.put_object_lock_configuration, Bucket="lock-b",
                   ObjectLockConfiguration=bad) == (400, "InvalidArgument")
    bad = {"ObjectLockEnabled": "Enabled",
           "Rule": {"DefaultRetention": {"Mode": "FOREVER", "Days": 1}}}
    assert code_of(s3.put_object_lock_configuration, Bucket="lock-b",
                   ObjectLockConfiguration=bad) == (400, "MalformedXML")


def test_default_retention():
    s3 = client()
    s3.create_bucket(Bucket="lock-d", ObjectLockEnabledForBucket=True)
    cfg = {"ObjectLockEnabled": "Enabled",
           "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2}}}
    s3.put_object_lock_configuration(Bucket="lock-d", ObjectLockConfiguration=cfg)
    assert s3.get_object_lock_configuration(
        Bucket="lock-d")["ObjectLockConfiguration"] == cfg
    v = s3.put_object(Bucket="lock-d", Key="k", Body=b"x")["VersionId"]
    h = s3.head_object(Bucket="lock-d", Key="k")
    assert h["ObjectLockMode"] == "GOVERNANCE", h
    until = h["ObjectLockRetainUntilDate"]
    assert future(1) < until < future(3), until
    r = s3.get_object_retention(Bucket="lock-d", Key="k")["Retention"]
    assert r["Mode"] == "GOVERNANCE", r
    # Locked: a versioned delete is refused, a delete marker is not.
    assert code_of(s3.delete_object, Bucket="lock-d", Key="k", VersionId=v) == (
        403, "AccessDenied")
    s3.delete_object(Bucket="lock-d", Key="k")
    # Shortening GOVERNANCE needs the bypass; so does deleting.
    assert code_of(s3.put_object_retention, Bucket="lock-d", Key="k", VersionId=v,
                   Retention={"Mode": "GOVERNANCE", "RetainUntilDate": future(1)}) == (
        403, "AccessDenied")
    s3.put_object_retention(Bucket="lock-d", Key="k", VersionId=v,
                            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": future(5)})
    res = s3.delete_objects(Bucket="lock-d", Delete={"Objects": [{"Key": "k", "VersionId": v}]})
    assert res["Errors"][0]["Code"] == "AccessDenied", res
    s3.delete_object(Bucket="lock-d", Key="k", VersionId=v, BypassGovernanceRetention=True)


def test_compliance_and_legal_hold():
    s3 = client()
    s3.create_bucket(Bucket="lock-c", ObjectLockEnabledForBucket=True)
    v = s3.put_object(Bucket="lock-c", Key="k", Body=b"x", ObjectLockMode="COMPLIANCE",
                      ObjectLockRetainUntilDate=future(),
                      ObjectLockLegalHoldStatus="ON")["VersionId"]
    g = s3.get_object(Bucket="lock-c", Key="k")
    assert g["ObjectLockMode"] == "COMPLIANCE" and g["ObjectLockLegalHoldStatus"] == "ON", g
    assert s3.get_object_legal_hold(Bucket="lock-c", Key="k")["LegalHold"]["Status"] == "ON"
    s3.put_object_legal_hold(Bucket="lock-c", Key="k", LegalHold={"Status": "OFF"})
    assert s3.get_object_legal_hold(Bucket="lock-c", Key="k")["LegalHold"]["Status"] == "OFF"
    # COMPLIANCE: no bypass helps.
    assert code_of(s3.delete_object, Bucket="lock-c", Key="k", VersionId=v,
                   BypassGovernanceRetention=True) == (403, "AccessDenied")
    assert code_of(s3.put_object_retention, Bucket="lock-c", Key="k",
                   Retention={"Mode": "GOVERNANCE", "RetainUntilDate": future()},
                   BypassGovernanceRetention=True) == (403, "AccessDenied")
    # A legal hold alone protects too.
    v2 = s3.put_object(Bucket="lock-c", Key="h", Body=b"x",
                       ObjectLockLegalHoldStatus="ON")["VersionId"]
    assert code_of(s3.get_object_retention, Bucket="lock-c", Key="h") == (
        404, "NoSuchObjectLockConfiguration")
    assert code_of(s3.delete_object, Bucket="lock-c", Key="h", VersionId=v2,
                   BypassGovernanceRetention=True) == (403, "AccessDenied")
    s3.put_object_legal_hold(Bucket="lock-c", Key="h", LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket="lock-c", Key="h", VersionId=v2)
    # Header validation.
    assert code_of(s3.put_object, Bucket="lock-c", Key="x", Body=b"x",
                   ObjectLockMode="GOVERNANCE") == (400, "InvalidArgument")
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
    assert code_of(s3.put_object, Bucket="lock-c", Key="x", Body=b"x",
                   ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=past) == (
        400, "InvalidArgument")


def test_integrity_header_required():
    """boto3 1.29 sends Content-MD5 on PutObject; drop it to see S3's refusal."""
    s3 = client()
    s3.create_bucket(Bucket="lock-md5", ObjectLockEnabledForBucket=True)

    def drop(request, **kw):
        if "Content-MD5" in request.headers:
            del request.headers["Content-MD5"]
    s3.meta.events.register("before-sign.s3.PutObject", drop)
    err = sup.error_of(s3.put_object, Bucket="lock-md5", Key="k", Body=b"x",
                       ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=future())
    assert err["Error"]["Code"] == "InvalidRequest" and "Content-MD5" in err["Error"]["Message"]
    # The lock operations themselves need it too.
    s3.put_object(Bucket="lock-md5", Key="k", Body=b"x")
    for op in ("PutObjectRetention", "PutObjectLegalHold", "PutObjectLockConfiguration"):
        s3.meta.events.register("before-sign.s3.%s" % op, drop)
    assert code_of(s3.put_object_retention, Bucket="lock-md5", Key="k", Retention={
        "Mode": "GOVERNANCE", "RetainUntilDate": future()}) == (400, "InvalidRequest")
    assert code_of(s3.put_object_legal_hold, Bucket="lock-md5", Key="k",
                   LegalHold={"Status": "ON"}) == (400, "InvalidRequest")
    assert code_of(s3.put_object_lock_configuration, Bucket="lock-md5",
                   ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}) == (
        400, "InvalidRequest")


if __name__ == "__main__":
    sup.run([test_lock_bucket, test_default_retention, test_compliance_and_legal_hold,
             test_integrity_header_required])
