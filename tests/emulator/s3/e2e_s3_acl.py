#!/usr/bin/python3
"""End-to-end tests of S3 accounts and access control against a real
`airgap emulator` ($AIRGAP_BIN) with boto3, the aws CLI and raw HTTP.

Always (as AWS): each account owns its buckets (a 12-digit access key is its
own account, others 000000000000), another account's CreateBucket of a
taken name answers BucketAlreadyExists, ListBuckets lists the caller's own,
ExpectedBucketOwner naming another account answers 403, a canned ACL with
x-amz-grant-* headers answers InvalidRequest.

With AIRGAP_S3_ENFORCE_ACCESS=1 (`--s3-enforce-access`): other accounts and
anonymous callers are refused unless a bucket policy (Principal, Action and
Resource with wildcards) or a public canned ACL allows them; an explicit Deny
binds the owner too; the public-access block refuses public ACLs and
policies and makes public grants ignored. Without it nothing is enforced."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import boto3
import botocore
from botocore.config import Config

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, ".."))
from emulator_support import Emulator, run_tests  # noqa: E402

LAX = None
STRICT = None
ALICE = "111111111111"
BOB = "222222222222"


def client(emu, key="test"):
    return boto3.client(
        "s3", endpoint_url=emu.endpoint, region_name="us-east-1",
        aws_access_key_id=key, aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}))


def error_of(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except botocore.exceptions.ClientError as e:
        return e.response
    raise AssertionError("%s did not fail" % getattr(fn, "__name__", fn))


def code(r):
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def anon_get(emu, path):
    try:
        with urllib.request.urlopen(emu.endpoint + path, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_accounts_own_their_buckets():
    for emu in (LAX, STRICT):
        alice, bob = client(emu, ALICE), client(emu, BOB)
        alice.create_bucket(Bucket="alice-b", ObjectOwnership="ObjectWriter")
        assert code(error_of(bob.create_bucket, Bucket="alice-b")) == ("BucketAlreadyExists", 409)
        alice.create_bucket(Bucket="alice-b")  # your own again, in us-east-1: a 200
        names = [b["Name"] for b in bob.list_buckets()["Buckets"]]
        assert "alice-b" not in names, names
        assert "alice-b" in [b["Name"] for b in alice.list_buckets()["Buckets"]]
        alice.head_bucket(Bucket="alice-b", ExpectedBucketOwner=ALICE)
        r = error_of(alice.head_bucket, Bucket="alice-b", ExpectedBucketOwner=BOB)
        assert r["ResponseMetadata"]["HTTPStatusCode"] == 403
        r = error_of(alice.list_objects_v2, Bucket="alice-b", ExpectedBucketOwner=BOB)
        assert code(r) == ("AccessDenied", 403)


def test_each_account_has_its_canonical_user():
    default, alice, bob = client(LAX), client(LAX, ALICE), client(LAX, BOB)
    owners = {}
    for name, s3 in (("default", default), ("alice", alice), ("bob", bob)):
        owners[name] = s3.list_buckets()["Owner"]
        assert len(owners[name]["ID"]) == 64, owners
    # LocalStack's owner for the default account, one of its own for each other
    assert owners["default"] == {"DisplayName": "webfile", "ID": "75aa57f09aa0c8caeab4f8c24e"
                                 "99d10f8e7faeebf76c078efc7c6caea54ba06a"}, owners
    assert len({o["ID"] for o in owners.values()}) == 3, owners
    assert owners["alice"]["DisplayName"] == ALICE, owners
    # the same account always gets the same id
    assert client(LAX, ALICE).list_buckets()["Owner"] == owners["alice"]
    alice.create_bucket(Bucket="alice-owner")
    alice.put_object(Bucket="alice-owner", Key="k", Body=b"x")
    acl = alice.get_bucket_acl(Bucket="alice-owner")
    assert acl["Owner"]["ID"] == owners["alice"]["ID"], acl
    assert acl["Grants"][0]["Grantee"]["ID"] == owners["alice"]["ID"], acl
    assert alice.get_object_acl(Bucket="alice-owner", Key="k")["Owner"] == owners["alice"]
    listed = alice.list_objects_v2(Bucket="alice-owner", FetchOwner=True)["Contents"][0]
    assert listed["Owner"] == owners["alice"], listed
    up = alice.create_multipart_upload(Bucket="alice-owner", Key="m")
    uploads = alice.list_multipart_uploads(Bucket="alice-owner")["Uploads"]
    assert uploads[0]["Owner"] == owners["alice"] and uploads[0]["Initiator"] == owners["alice"]
    alice.abort_multipart_upload(Bucket="alice-owner", Key="m", UploadId=up["UploadId"])


def test_canned_acl_with_grants_conflict():
    s3 = client(LAX)
    s3.create_bucket(Bucket="acl-conflict")
    r = error_of(s3.put_object, Bucket="acl-conflict", Key="k", Body=b"x", ACL="public-read",
                 GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"')
    assert code(r) == ("InvalidRequest", 400), r
    r = error_of(s3.create_bucket, Bucket="acl-conflict-2", ACL="private",
                 GrantFullControl='id="%s"' % ("0" * 64))
    assert code(r) == ("InvalidRequest", 400), r
    r = error_of(s3.put_bucket_acl, Bucket="acl-conflict", ACL="public-read",
                 GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"')
    assert code(r) == ("InvalidRequest", 400), r


def test_grant_headers_stored_and_answered():
    s3 = client(LAX)
    all_users = "http://acs.amazonaws.com/groups/global/AllUsers"
    # A new bucket blocks public access: a public ACL cannot come with it
    # (nor any ACL with the default ownership), only once the block is lifted.
    for acl in ({"ACL": "public-read"}, {"ACL": "authenticated-read"},
                {"GrantRead": 'uri="%s"' % all_users}):
        r = error_of(s3.create_bucket, Bucket="acl-grants", ObjectOwnership="ObjectWriter", **acl)
        assert code(r) == ("InvalidBucketAclWithBlockPublicAccessError", 400), (acl, r)
        assert r["Error"]["Message"] == \
            "Bucket cannot have public ACLs set with BlockPublicAccess enabled", r
    r = error_of(s3.create_bucket, Bucket="acl-grants", ACL="public-read")
    assert code(r) == ("InvalidBucketAclWithObjectOwnership", 400), r
    assert "acl-grants" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.create_bucket(Bucket="acl-grants", ObjectOwnership="ObjectWriter",
                     GrantFullControl='id="%s"' % ("a" * 64))
    s3.delete_public_access_block(Bucket="acl-grants")
    s3.put_bucket_acl(Bucket="acl-grants", GrantRead='uri="%s"' % all_users,
                      GrantFullControl='id="%s"' % ("a" * 64))
    grants = s3.get_bucket_acl(Bucket="acl-grants")["Grants"]
    assert {"Grantee": {"Type": "CanonicalUser", "ID": "a" * 64},
            "Permission": "FULL_CONTROL"} in grants, grants
    assert {"Grantee": {"Type": "Group", "URI": all_users}, "Permission": "READ"} in grants, grants
    s3.put_object(Bucket="acl-grants", Key="k", Body=b"x",
                  GrantRead='uri="%s", id="%s"' % (all_users, "b" * 64),
                  GrantReadACP='id="%s"' % ("d" * 64))
    grants = s3.get_object_acl(Bucket="acl-grants", Key="k")["Grants"]
    assert len(grants) == 3, grants
    assert {"Grantee": {"Type": "CanonicalUser", "ID": "b" * 64}, "Permission": "READ"} in grants
    assert grants[2] == {"Grantee": {"Type": "CanonicalUser", "ID": "d" * 64},
                         "Permission": "READ_ACP"}, grants
    # No account here has an e-mail address S3 could resolve a grant to.
    r = error_of(s3.put_object, Bucket="acl-grants", Key="e", Body=b"x",
                 GrantReadACP='emailAddress="someone@example.com"')
    assert code(r) == ("UnresolvableGrantByEmailAddress", 400), r
    assert r["Error"]["EmailAddress"] == "someone@example.com", r
    s3.put_object_acl(Bucket="acl-grants", Key="k", GrantWriteACP='id="%s"' % ("c" * 64))
    grants = s3.get_object_acl(Bucket="acl-grants", Key="k")["Grants"]
    assert grants == [{"Grantee": {"Type": "CanonicalUser", "ID": "c" * 64},
                       "Permission": "WRITE_ACP"}], grants
    # malformed grants, unknown groups
    for bad in ('uri="http://example.com/group"', 'nobody="x"', "id=", '"unterminated'):
        r = error_of(s3.put_object_acl, Bucket="acl-grants", Key="k", GrantRead=bad)
        assert code(r) == ("InvalidArgument", 400), (bad, r)
        # an unknown group is named itself (as AWS answered it), others by header
        assert r["Error"]["ArgumentName"] == ("uri" if bad.startswith("uri=")
                                              else "x-amz-grant-read"), r
    # the aws CLI sends them as headers too
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="")
    subprocess.run(["aws", "--endpoint-url", LAX.endpoint, "s3api", "put-bucket-acl", "--bucket",
                    "acl-grants", "--grant-write", 'uri="%s"' % all_users],
                   check=True, capture_output=True, env=env)
    out = subprocess.run(["aws", "--endpoint-url", LAX.endpoint, "s3api", "get-bucket-acl",
                          "--bucket", "acl-grants"], check=True, capture_output=True, env=env)
    assert json.loads(out.stdout)["Grants"] == [
        {"Grantee": {"Type": "Group", "URI": all_users}, "Permission": "WRITE"}], out.stdout


def test_default_enforces_nothing():
    alice, bob = client(LAX, ALICE), client(LAX, BOB)
    alice.put_object(Bucket="alice-b", Key="secret", Body=b"s")
    assert bob.get_object(Bucket="alice-b", Key="secret")["Body"].read() == b"s"
    assert anon_get(LAX, "/alice-b/secret") == (200, b"s")


def test_enforced_cross_account_and_anonymous():
    alice, bob = client(STRICT, ALICE), client(STRICT, BOB)
    # A new bucket blocks public access (AWS's default since April 2023).
    got = alice.get_public_access_block(Bucket="alice-b")["PublicAccessBlockConfiguration"]
    assert got == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                   "RestrictPublicBuckets": True}, got
    r = error_of(alice.put_object, Bucket="alice-b", Key="pub/readme", Body=b"r",
                 ACL="public-read")
    assert code(r) == ("AccessDenied", 403), r
    alice.delete_public_access_block(Bucket="alice-b")
    r = error_of(alice.get_public_access_block, Bucket="alice-b")
    assert code(r) == ("NoSuchPublicAccessBlockConfiguration", 404), r
    alice.put_object(Bucket="alice-b", Key="secret", Body=b"s")
    alice.put_object(Bucket="alice-b", Key="pub/readme", Body=b"r", ACL="public-read")
    assert code(error_of(bob.get_object, Bucket="alice-b", Key="secret")) == ("AccessDenied", 403)
    assert code(error_of(bob.put_object, Bucket="alice-b", Key="x", Body=b"x"))[1] == 403
    assert anon_get(STRICT, "/alice-b/secret")[0] == 403
    # A public-read object ACL lets anyone read that object only.
    assert anon_get(STRICT, "/alice-b/pub/readme") == (200, b"r")
    assert bob.get_object(Bucket="alice-b", Key="pub/readme")["Body"].read() == b"r"
    assert anon_get(STRICT, "/alice-b")[0] == 403
    # A bucket policy for Bob's account on one prefix.
    alice.put_bucket_policy(Bucket="alice-b", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % BOB},
             "Action": ["s3:Get*", "s3:PutObject"], "Resource": "arn:aws:s3:::alice-b/shared/*"},
            {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
             "Resource": "arn:aws:s3:::alice-b/*"}]}))
    bob.put_object(Bucket="alice-b", Key="shared/doc", Body=b"d")
    assert bob.get_object(Bucket="alice-b", Key="shared/doc")["Body"].read() == b"d"
    assert code(error_of(bob.get_object, Bucket="alice-b", Key="secret"))[1] == 403
    # The explicit Deny binds the owner too.
    assert code(error_of(alice.delete_object, Bucket="alice-b", Key="shared/doc"))[1] == 403
    alice.delete_bucket_policy(Bucket="alice-b")
    alice.delete_object(Bucket="alice-b", Key="shared/doc")
    # Public policy for anonymous reads, then blocked by the public-access block.
    public = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*",
                                        "Action": "s3:GetObject",
                                        "Resource": "arn:aws:s3:::alice-b/*"}]})
    alice.put_bucket_policy(Bucket="alice-b", Policy=public)
    assert anon_get(STRICT, "/alice-b/secret") == (200, b"s")
    alice.put_public_access_block(Bucket="alice-b", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})
    assert anon_get(STRICT, "/alice-b/secret")[0] == 403
    assert anon_get(STRICT, "/alice-b/pub/readme")[0] == 403
    assert code(error_of(alice.put_bucket_policy, Bucket="alice-b", Policy=public))[1] == 403
    r = error_of(alice.put_object, Bucket="alice-b", Key="p", Body=b"p", ACL="public-read")
    assert code(r) == ("AccessDenied", 403), r
    alice.put_object(Bucket="alice-b", Key="p", Body=b"p", ACL="private")


def test_enforced_policy_conditions():
    alice, bob = client(STRICT, ALICE), client(STRICT, BOB)
    alice.create_bucket(Bucket="cond-b")
    alice.put_object(Bucket="cond-b", Key="docs/a", Body=b"a")
    alice.put_object(Bucket="cond-b", Key="other", Body=b"o")

    def policy(*statements):
        alice.put_bucket_policy(Bucket="cond-b", Policy=json.dumps({
            "Version": "2012-10-17", "Statement": list(statements)}))

    bob_p = {"AWS": "arn:aws:iam::%s:root" % BOB}
    # Bob may list only under docs/ (StringLike on s3:prefix) ...
    policy({"Effect": "Allow", "Principal": bob_p, "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::cond-b",
            "Condition": {"StringLike": {"s3:prefix": "docs/*"},
                          "NumericLessThanEqualsIfExists": {"s3:max-keys": "100"}}},
           # ... read from loopback only (IpAddress), and only while the date holds
           {"Effect": "Allow", "Principal": bob_p, "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::cond-b/*",
            "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "127.0.0.0/8"]},
                          "DateLessThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"}}},
           # nobody writes a public object (StringEquals on s3:x-amz-acl)
           {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::cond-b/*",
            "Condition": {"StringEquals": {"s3:x-amz-acl": "public-read"}}},
           # over plain HTTP, nothing is deleted (Bool on aws:SecureTransport)
           {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
            "Resource": "arn:aws:s3:::cond-b/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    assert bob.list_objects_v2(Bucket="cond-b", Prefix="docs/")["KeyCount"] == 1
    assert bob.list_objects_v2(Bucket="cond-b", Prefix="docs/", MaxKeys=100)["KeyCount"] == 1
    assert code(error_of(bob.list_objects_v2, Bucket="cond-b", Prefix="docs/",
                         MaxKeys=101))[1] == 403
    assert code(error_of(bob.list_objects_v2, Bucket="cond-b"))[1] == 403
    assert bob.get_object(Bucket="cond-b", Key="other")["Body"].read() == b"o"
    alice.put_object(Bucket="cond-b", Key="private", Body=b"p")  # no x-amz-acl: no match
    assert code(error_of(alice.put_object, Bucket="cond-b", Key="pub", Body=b"x",
                         ACL="public-read")) == ("AccessDenied", 403)
    assert code(error_of(alice.delete_object, Bucket="cond-b", Key="other")) == (
        "AccessDenied", 403)
    # conditions that do not hold: an address range, a date passed, a negated
    # operator on a present key, Null asking for an absent key
    policy({"Effect": "Allow", "Principal": bob_p, "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::cond-b/docs/*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}}},
           {"Effect": "Allow", "Principal": bob_p, "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::cond-b/other",
            "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"}}},
           {"Effect": "Allow", "Principal": bob_p, "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::cond-b",
            "Condition": {"StringNotEquals": {"aws:PrincipalAccount": BOB}}},
           {"Effect": "Allow", "Principal": bob_p, "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::cond-b/*",
            "Condition": {"Null": {"s3:x-amz-storage-class": "false"}}})
    assert code(error_of(bob.get_object, Bucket="cond-b", Key="docs/a"))[1] == 403
    assert code(error_of(bob.get_object, Bucket="cond-b", Key="other"))[1] == 403
    assert code(error_of(bob.list_objects_v2, Bucket="cond-b"))[1] == 403
    assert code(error_of(bob.put_object, Bucket="cond-b", Key="n", Body=b"x"))[1] == 403
    bob.put_object(Bucket="cond-b", Key="n", Body=b"x", StorageClass="STANDARD_IA")
    alice.delete_bucket_policy(Bucket="cond-b")


def test_enforced_grant_headers():
    alice, bob = client(STRICT, ALICE), client(STRICT, BOB)
    bob_id = bob.list_buckets()["Owner"]["ID"]
    alice.create_bucket(Bucket="grant-b", ObjectOwnership="ObjectWriter")
    alice.delete_public_access_block(Bucket="grant-b")
    alice.put_object(Bucket="grant-b", Key="for-bob", Body=b"b", GrantRead='id="%s"' % bob_id)
    alice.put_object(Bucket="grant-b", Key="for-all", Body=b"a",
                     GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"')
    alice.put_object(Bucket="grant-b", Key="acp", Body=b"c", GrantReadACP='id="%s"' % bob_id)
    assert bob.get_object(Bucket="grant-b", Key="for-bob")["Body"].read() == b"b"
    assert anon_get(STRICT, "/grant-b/for-bob")[0] == 403
    assert anon_get(STRICT, "/grant-b/for-all") == (200, b"a")
    # READ_ACP lets Bob read the ACL, not the object
    assert bob.get_object_acl(Bucket="grant-b", Key="acp")["Grants"][0]["Grantee"]["ID"] == bob_id
    assert code(error_of(bob.get_object, Bucket="grant-b", Key="acp"))[1] == 403
    # the public-access block: public grant headers refused, public grants ignored
    alice.put_public_access_block(Bucket="grant-b", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False})
    assert code(error_of(alice.put_object, Bucket="grant-b", Key="x", Body=b"x",
                         GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"'))[1] == 403
    assert anon_get(STRICT, "/grant-b/for-all")[0] == 403
    assert bob.get_object(Bucket="grant-b", Key="for-bob")["Body"].read() == b"b"


def test_aws_cli_other_account_denied():
    env = dict(os.environ, AWS_ACCESS_KEY_ID=BOB, AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    out = subprocess.run(["aws", "--endpoint-url", STRICT.endpoint, "s3", "ls", "s3://alice-b/"],
                         capture_output=True, text=True, env=env)
    assert out.returncode != 0 and "AccessDenied" in out.stderr, out
    env["AWS_ACCESS_KEY_ID"] = ALICE
    out = subprocess.run(["aws", "--endpoint-url", STRICT.endpoint, "s3", "ls", "s3://alice-b/"],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0 and "secret" in out.stdout, out


def test_the_flag_turns_enforcement_on():
    # --s3-enforce-access does what AIRGAP_S3_ENFORCE_ACCESS=1 does.
    emu = Emulator(extra_args=["--s3-enforce-access"])
    try:
        alice, bob = client(emu, ALICE), client(emu, BOB)
        alice.create_bucket(Bucket="flag-b")
        alice.put_object(Bucket="flag-b", Key="k", Body=b"s")
        assert code(error_of(bob.get_object, Bucket="flag-b", Key="k")) == ("AccessDenied", 403)
    finally:
        emu.stop()


def main():
    return run_tests(globals(), [("LAX", None), ("STRICT", {"AIRGAP_S3_ENFORCE_ACCESS": "1"})])


if __name__ == "__main__":
    sys.exit(main())
