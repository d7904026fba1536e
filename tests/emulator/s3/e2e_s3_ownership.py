#!/usr/bin/python3
"""Object Ownership's BucketOwnerEnforced (ACLs disabled, the default for new
buckets) with boto3 and the aws CLI: writes with an ACL other than the bucket
owner's full control answer 400 AccessControlListNotSupported (PutObject,
CopyObject, CreateMultipartUpload, PutObjectAcl, PutBucketAcl); CreateBucket
and PutBucketOwnershipControls answer InvalidBucketAclWithObjectOwnership
for an ACL granting others; ACL reads show the owner's full control alone."""

import os
import subprocess

import s3_e2e_support as sup

PUBLIC = 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'


def test_enforced_refuses_acls_on_writes():
    s3 = sup.client()
    s3.create_bucket(Bucket="own-enforced")
    oc = s3.get_bucket_ownership_controls(Bucket="own-enforced")["OwnershipControls"]
    assert oc["Rules"][0]["ObjectOwnership"] == "BucketOwnerEnforced", oc
    s3.put_object(Bucket="own-enforced", Key="src", Body=b"x")
    for call, kw in [
            (s3.put_object, dict(Key="k", Body=b"x", ACL="public-read")),
            (s3.put_object, dict(Key="k", Body=b"x", GrantRead=PUBLIC)),
            (s3.copy_object, dict(Key="c", CopySource="own-enforced/src",
                                  ACL="authenticated-read")),
            (s3.create_multipart_upload, dict(Key="m", ACL="public-read-write")),
            (s3.put_object_acl, dict(Key="src", ACL="public-read")),
            (s3.put_bucket_acl, dict(ACL="public-read")),
            (s3.put_bucket_acl, dict(GrantFullControl='id="%s"' % ("e" * 64)))]:
        r = sup.error_of(call, Bucket="own-enforced", **kw)
        assert (r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]) == (
            400, "AccessControlListNotSupported"), (call, kw, r)
        assert r["Error"]["Message"] == "The bucket does not allow ACLs", r
    assert s3.list_objects_v2(Bucket="own-enforced")["KeyCount"] == 1


def test_enforced_accepts_owner_full_control():
    s3 = sup.client()
    s3.create_bucket(Bucket="own-ok", ACL="private")
    owner = s3.get_bucket_acl(Bucket="own-ok")["Owner"]
    s3.put_object(Bucket="own-ok", Key="a", Body=b"a", ACL="bucket-owner-full-control")
    s3.put_object(Bucket="own-ok", Key="b", Body=b"b", ACL="private")
    s3.put_object(Bucket="own-ok", Key="c", Body=b"c", GrantFullControl='id="%s"' % owner["ID"])
    s3.put_object_acl(Bucket="own-ok", Key="a", AccessControlPolicy={
        "Owner": owner, "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]},
                                    "Permission": "FULL_CONTROL"}]})
    s3.put_bucket_acl(Bucket="own-ok", ACL="bucket-owner-full-control")
    r = sup.error_of(s3.put_object_acl, Bucket="own-ok", Key="a", AccessControlPolicy={
        "Owner": owner, "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]},
                                    "Permission": "READ"}]})
    assert r["Error"]["Code"] == "AccessControlListNotSupported", r
    grants = s3.get_object_acl(Bucket="own-ok", Key="a")["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"], grants


def test_create_bucket_acl_with_enforced():
    s3 = sup.client()
    for kw in (dict(ACL="public-read"), dict(ACL="public-read",
                                             ObjectOwnership="BucketOwnerEnforced"),
               dict(GrantRead=PUBLIC)):
        r = sup.error_of(s3.create_bucket, Bucket="own-create", **kw)
        assert (r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]) == (
            400, "InvalidBucketAclWithObjectOwnership"), (kw, r)
    assert "own-create" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    # ACLs enabled: a public one still waits for the public-access block to
    # be lifted; then it is taken, and then ACLs cannot be disabled.
    r = sup.error_of(s3.create_bucket, Bucket="own-create", ACL="public-read",
                     ObjectOwnership="ObjectWriter")
    assert r["Error"]["Code"] == "InvalidBucketAclWithBlockPublicAccessError", r
    s3.create_bucket(Bucket="own-create", ObjectOwnership="ObjectWriter")
    s3.delete_public_access_block(Bucket="own-create")
    s3.put_bucket_acl(Bucket="own-create", ACL="public-read")
    s3.put_object(Bucket="own-create", Key="k", Body=b"k", ACL="public-read")
    r = sup.error_of(s3.put_bucket_ownership_controls, Bucket="own-create",
                     OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    assert r["Error"]["Code"] == "InvalidBucketAclWithObjectOwnership", r
    s3.put_bucket_acl(Bucket="own-create", ACL="private")
    s3.put_bucket_ownership_controls(
        Bucket="own-create",
        OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    # The object's stored public-read ACL no longer shows (nor grants).
    grants = s3.get_object_acl(Bucket="own-create", Key="k")["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"], grants


def test_aws_cli_acl_refused():
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    sup.client().create_bucket(Bucket="own-cli")
    base = ["aws", "--endpoint-url", sup.EMU.endpoint, "s3api"]
    out = subprocess.run(base + ["put-object", "--bucket", "own-cli", "--key", "k",
                                 "--acl", "public-read"],
                         capture_output=True, text=True, env=env)
    assert out.returncode != 0 and "AccessControlListNotSupported" in out.stderr, out
    out = subprocess.run(base + ["put-object", "--bucket", "own-cli", "--key", "k",
                                 "--acl", "bucket-owner-full-control"],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out


if __name__ == "__main__":
    sup.run([test_enforced_refuses_acls_on_writes, test_enforced_accepts_owner_full_control,
             test_create_bucket_acl_with_enforced, test_aws_cli_acl_refused])
