#!/usr/bin/python3
"""S3 behaviour that the first half of ceph's s3-tests (test_s3.py) checks and
the emulator got wrong, as AWS documents it, with boto3 and raw HTTP: an empty
delimiter left out of listings, POST Object's policy checked against the key
as stored (${filename} replaced), its expiration's ISO 8601 form and its
required signature fields, the form's signer as the request's principal
(with --s3-enforce-access and signature verification), canonical user ids in
ACL grants, multipart uploads naming their initiator, objects owned by their
writer (ACLs, listings, access), and READ/WRITE ACL grants covering the
listings and uploads S3 maps them to."""

import base64
import datetime
import hashlib
import hmac
import http.client
import json
import uuid
import xml.etree.ElementTree as ET

import boto3
from botocore.config import Config

from s3_e2e_support import Emulator, client, code_of, error_of, run
import s3_e2e_support as S

ALT_KEY = "111122223333"  # a 12-digit access key acts in that account


def raw(emu, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=30)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def alt(key=ALT_KEY, emu=None, **config):
    """A client of another account (a 12-digit key), of emu or the file's."""
    return boto3.client("s3", endpoint_url=(emu or S.EMU).endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}, **config))


def error_fields(body):
    root = ET.fromstring(body)
    assert root.tag == "Error", body
    return {child.tag: child.text for child in root}


# ---- POST Object forms, built by hand as browsers send them ----

def form_body(fields, file_bytes, filename="up.txt"):
    boundary = "----ceph" + uuid.uuid4().hex
    out = []
    for name, value in fields:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                    % (boundary, name, value)).encode())
    out.append(("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                "Content-Type: text/plain\r\n\r\n" % (boundary, filename)).encode())
    out.append(file_bytes + ("\r\n--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def post_form(emu, bucket, fields, file_bytes=b"bar", filename="up.txt"):
    body, ctype = form_body(fields, file_bytes, filename)
    return raw(emu, "POST", "/" + bucket, body, {"Content-Type": ctype})


def expiration(seconds=3600):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def signed_fields(bucket, key, conditions, exp=None, access_key="test", secret="test",
                  with_signature=True):
    """SigV2 form fields: the base64 policy and its HMAC-SHA1 signature."""
    doc = {"expiration": exp or expiration(),
           "conditions": [{"bucket": bucket}] + conditions}
    policy = base64.b64encode(json.dumps(doc).encode()).decode()
    fields = [("key", key), ("AWSAccessKeyId", access_key), ("policy", policy)]
    if with_signature:
        sig = base64.b64encode(hmac.new(secret.encode(), policy.encode(), hashlib.sha1).digest())
        fields.append(("signature", sig.decode()))
    return fields


# ---- listings ----

def test_empty_delimiter_is_no_delimiter():
    s3 = client()
    s3.create_bucket(Bucket="ceph-delim")
    names = ["a/1", "a/2", "b", "c"]
    for k in names:
        s3.put_object(Bucket="ceph-delim", Key=k, Body=b"x")
    for listing in (s3.list_objects, s3.list_objects_v2):
        r = listing(Bucket="ceph-delim", Delimiter="")
        assert "Delimiter" not in r, r
        assert [o["Key"] for o in r["Contents"]] == names, r
        assert "CommonPrefixes" not in r, r
        # a real delimiter still comes back and folds keys
        r = listing(Bucket="ceph-delim", Delimiter="/")
        assert r["Delimiter"] == "/" and [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/"], r
    # the XML itself carries no element, and a page of v1 no NextMarker
    # (S3 gives it only when a delimiter was asked for)
    status, _, body = raw(S.EMU, "GET", "/ceph-delim?delimiter=&max-keys=1")
    assert status == 200, body
    assert b"<Delimiter" not in body and b"<NextMarker" not in body, body
    assert b"<IsTruncated>true</IsTruncated>" in body, body
    status, _, body = raw(S.EMU, "GET", "/ceph-delim?list-type=2&delimiter=")
    assert status == 200 and b"<Delimiter" not in body, body
    status, _, body = raw(S.EMU, "GET", "/ceph-delim?delimiter=%2F&max-keys=1")
    assert b"<Delimiter>/</Delimiter>" in body and b"<NextMarker>a/</NextMarker>" in body, body


# ---- POST Object ----

def test_post_policy_checks_the_key_as_stored():
    s3 = client()
    s3.create_bucket(Bucket="ceph-post-name")
    cond = [["starts-with", "$key", "foo"], ["content-length-range", 0, 1024]]
    # ${filename} becomes the file's name before the policy is checked
    status, _, body = post_form(S.EMU, "ceph-post-name",
                                signed_fields("ceph-post-name", "${filename}", cond),
                                filename="foo.txt")
    assert status == 204, body
    assert s3.get_object(Bucket="ceph-post-name", Key="foo.txt")["Body"].read() == b"bar"
    # a file name the condition does not allow is refused as S3 refuses it
    status, _, body = post_form(S.EMU, "ceph-post-name",
                                signed_fields("ceph-post-name", "${filename}", cond),
                                filename="other.txt")
    e = error_fields(body)
    assert status == 403 and e["Code"] == "AccessDenied", body
    assert "Policy Condition failed" in e["Message"] and "$key" in e["Message"], e
    assert error_of(s3.head_object, Bucket="ceph-post-name",
                    Key="other.txt")["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_post_expiration_must_be_iso8601():
    s3 = client()
    s3.create_bucket(Bucket="ceph-post-exp")
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    cond = [["starts-with", "$key", ""]]
    for bad in (str(later), later.strftime("%Y-%m-%d %H:%M:%SZ"),
                later.strftime("%Y-%m-%dT%H:%M:%S"), later.strftime("%Y-%m-%dT%H:%M:%S.Z")):
        status, _, body = post_form(S.EMU, "ceph-post-exp",
                                    signed_fields("ceph-post-exp", "k", cond, exp=bad))
        e = error_fields(body)
        assert status == 400 and e["Code"] == "InvalidPolicyDocument", (bad, body)
        assert "Invalid 'expiration' value" in e["Message"], e
    for good in (later.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 later.strftime("%Y-%m-%dT%H:%M:%S.000Z")):
        status, _, body = post_form(S.EMU, "ceph-post-exp",
                                    signed_fields("ceph-post-exp", "k", cond, exp=good))
        assert status == 204, (good, body)


def test_post_policy_needs_its_signature_fields():
    s3 = client()
    s3.create_bucket(Bucket="ceph-post-sig")
    cond = [["starts-with", "$key", ""]]
    fields = signed_fields("ceph-post-sig", "k", cond, with_signature=False)
    status, _, body = post_form(S.EMU, "ceph-post-sig", fields)
    e = error_fields(body)
    assert status == 400 and e["Code"] == "InvalidArgument", body
    assert e["ArgumentName"] == "Signature", e
    fields = [f for f in signed_fields("ceph-post-sig", "k", cond) if f[0] != "AWSAccessKeyId"]
    status, _, body = post_form(S.EMU, "ceph-post-sig", fields)
    e = error_fields(body)
    assert status == 400 and e["Code"] == "InvalidArgument", body
    assert e["ArgumentName"] == "AWSAccessKeyId", e
    assert error_of(s3.head_object, Bucket="ceph-post-sig",
                    Key="k")["ResponseMetadata"]["HTTPStatusCode"] == 404
    # the signature's value is checked only when signatures are verified
    fields = signed_fields("ceph-post-sig", "k", cond, secret="not-the-secret")
    status, _, body = post_form(S.EMU, "ceph-post-sig", fields)
    assert status == 204, body
    # no policy: an anonymous form, access control decides
    status, _, body = post_form(S.EMU, "ceph-post-sig", [("key", "anon")])
    assert status == 204, body


def test_post_signer_is_the_principal_when_strict():
    strict = Emulator({"AIRGAP_S3_ENFORCE_ACCESS": "1", "S3_SKIP_SIGNATURE_VALIDATION": "0"})
    try:
        s3 = alt("test", strict, signature_version="s3v4")
        s3.create_bucket(Bucket="ceph-post-private")
        cond = [["starts-with", "$key", "up/"], ["content-length-range", 0, 1024]]
        # the owner's signed form writes to its private bucket
        status, _, body = post_form(strict, "ceph-post-private",
                                    signed_fields("ceph-post-private", "up/a", cond))
        assert status == 204, body
        assert s3.get_object(Bucket="ceph-post-private", Key="up/a")["Body"].read() == b"bar"
        # SigV4 forms as boto3 makes them, too
        p = s3.generate_presigned_post("ceph-post-private", "up/v4")
        status, _, body = post_form(strict, "ceph-post-private", list(p["fields"].items()))
        assert status == 204, body
        assert s3.head_object(Bucket="ceph-post-private", Key="up/v4")["ContentLength"] == 3
        # another account's signed form and an anonymous one are refused
        status, _, body = post_form(strict, "ceph-post-private",
                                    signed_fields("ceph-post-private", "up/b", cond,
                                                  access_key=ALT_KEY))
        assert status == 403 and error_fields(body)["Code"] == "AccessDenied", body
        status, _, body = post_form(strict, "ceph-post-private", [("key", "up/c")])
        assert status == 403 and error_fields(body)["Code"] == "AccessDenied", body
        # a wrong signature still fails as a signature
        status, _, body = post_form(strict, "ceph-post-private",
                                    signed_fields("ceph-post-private", "up/d", cond,
                                                  secret="wrong"))
        assert status == 403 and error_fields(body)["Code"] == "SignatureDoesNotMatch", body
        for k in ("up/b", "up/c", "up/d"):
            assert code_of(s3.head_object, Bucket="ceph-post-private", Key=k)[0] == 404
    finally:
        strict.stop()


# ---- ACLs ----

def test_acl_grants_need_canonical_ids():
    s3 = client()
    s3.create_bucket(Bucket="ceph-acl-ids", ObjectOwnership="ObjectWriter")
    acl = s3.get_bucket_acl(Bucket="ceph-acl-ids")
    for bad in ("_foo", "a" * 63, "g" * 64):
        grants = acl["Grants"] + [{"Grantee": {"ID": bad, "Type": "CanonicalUser"},
                                   "Permission": "FULL_CONTROL"}]
        err = error_of(s3.put_bucket_acl, Bucket="ceph-acl-ids",
                       AccessControlPolicy={"Grants": grants, "Owner": acl["Owner"]})
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 400, err
        assert err["Error"]["Code"] == "InvalidArgument", err
        assert err["Error"]["Message"] == "Invalid id", err
        assert err["Error"]["ArgumentName"] == "CanonicalUser/ID", err
        assert err["Error"]["ArgumentValue"] == bad, err
        assert code_of(s3.put_object, Bucket="ceph-acl-ids", Key="k", Body=b"x",
                       GrantRead='id="%s"' % bad) == (400, "InvalidArgument")
    # nothing was stored; a canonical id of another account is
    assert s3.get_bucket_acl(Bucket="ceph-acl-ids")["Grants"] == acl["Grants"]
    other = hashlib.sha256(ALT_KEY.encode()).hexdigest()
    grants = acl["Grants"] + [{"Grantee": {"ID": other, "Type": "CanonicalUser"},
                               "Permission": "READ"}]
    s3.put_bucket_acl(Bucket="ceph-acl-ids",
                      AccessControlPolicy={"Grants": grants, "Owner": acl["Owner"]})
    ids = [g["Grantee"].get("ID") for g in s3.get_bucket_acl(Bucket="ceph-acl-ids")["Grants"]]
    assert other in ids, ids


def test_uploads_name_their_initiator():
    s3, other = client(), alt()
    s3.create_bucket(Bucket="ceph-mpu-owner", ObjectOwnership="ObjectWriter")
    s3.create_bucket(Bucket="ceph-mpu-enforced")
    me = s3.get_bucket_acl(Bucket="ceph-mpu-owner")["Owner"]
    them_id = hashlib.sha256(ALT_KEY.encode()).hexdigest()
    for bucket in ("ceph-mpu-owner", "ceph-mpu-enforced"):
        mine = s3.create_multipart_upload(Bucket=bucket, Key="m1")["UploadId"]
        theirs = other.create_multipart_upload(Bucket=bucket, Key="m2")["UploadId"]
        ups = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
        assert [u["UploadId"] for u in ups] == [mine, theirs], ups
        assert ups[0]["Initiator"]["ID"] == me["ID"] and ups[0]["Owner"]["ID"] == me["ID"], ups
        assert ups[1]["Initiator"]["ID"] == them_id, ups
        assert ups[1]["Initiator"]["DisplayName"] == ALT_KEY, ups
        # the object will be the writer's, unless ACLs are disabled (then the
        # bucket owner owns every object)
        want_owner = them_id if bucket == "ceph-mpu-owner" else me["ID"]
        assert ups[1]["Owner"]["ID"] == want_owner, (bucket, ups)
        parts = s3.list_parts(Bucket=bucket, Key="m2", UploadId=theirs)
        assert parts["Initiator"]["ID"] == them_id, parts
        assert parts["Owner"]["ID"] == want_owner, parts
        s3.abort_multipart_upload(Bucket=bucket, Key="m1", UploadId=mine)
        s3.abort_multipart_upload(Bucket=bucket, Key="m2", UploadId=theirs)


def test_read_and_write_grants_cover_listings_and_uploads():
    strict = Emulator({"AIRGAP_S3_ENFORCE_ACCESS": "1"})
    try:
        s3, other = alt("test", strict), alt(ALT_KEY, strict)
        s3.create_bucket(Bucket="ceph-grants", ObjectOwnership="ObjectWriter")
        s3.delete_public_access_block(Bucket="ceph-grants")  # on by default, as on AWS
        s3.put_object(Bucket="ceph-grants", Key="k", Body=b"x")
        # private: another account may not list anything
        for op in (other.list_multipart_uploads, other.list_object_versions,
                   other.list_objects_v2):
            assert code_of(op, Bucket="ceph-grants") == (403, "AccessDenied"), op
        assert code_of(other.create_multipart_upload, Bucket="ceph-grants",
                       Key="w") == (403, "AccessDenied")
        # READ lists the bucket, its versions and its uploads
        s3.put_bucket_acl(Bucket="ceph-grants", ACL="public-read")
        other.list_objects_v2(Bucket="ceph-grants")
        assert [v["Key"] for v in other.list_object_versions(Bucket="ceph-grants")["Versions"]] \
            == ["k"]
        assert "Uploads" not in other.list_multipart_uploads(Bucket="ceph-grants")
        assert code_of(other.create_multipart_upload, Bucket="ceph-grants",
                       Key="w") == (403, "AccessDenied")
        # WRITE starts uploads, and lets their writer see and abort them
        s3.put_bucket_acl(Bucket="ceph-grants", ACL="public-read-write")
        uid = other.create_multipart_upload(Bucket="ceph-grants", Key="w")["UploadId"]
        other.upload_part(Bucket="ceph-grants", Key="w", UploadId=uid, PartNumber=1, Body=b"p")
        assert [p["PartNumber"] for p in other.list_parts(
            Bucket="ceph-grants", Key="w", UploadId=uid)["Parts"]] == [1]
        other.abort_multipart_upload(Bucket="ceph-grants", Key="w", UploadId=uid)
        assert "Uploads" not in s3.list_multipart_uploads(Bucket="ceph-grants")
    finally:
        strict.stop()


def test_objects_are_owned_by_their_writer():
    s3, other = client(), alt()
    them = {"ID": hashlib.sha256(ALT_KEY.encode()).hexdigest(), "DisplayName": ALT_KEY}
    s3.create_bucket(Bucket="ceph-own-writer", ObjectOwnership="ObjectWriter")
    me = s3.get_bucket_acl(Bucket="ceph-own-writer")["Owner"]

    def grants(bucket, key):
        acl = s3.get_object_acl(Bucket=bucket, Key=key)
        return acl["Owner"]["ID"], sorted((g["Grantee"]["ID"], g["Permission"])
                                          for g in acl["Grants"])
    other.put_object(Bucket="ceph-own-writer", Key="r", Body=b"x", ACL="bucket-owner-read")
    assert grants("ceph-own-writer", "r") == (
        them["ID"], sorted([(them["ID"], "FULL_CONTROL"), (me["ID"], "READ")]))
    other.put_object(Bucket="ceph-own-writer", Key="f", Body=b"x",
                     ACL="bucket-owner-full-control")
    assert grants("ceph-own-writer", "f") == (
        them["ID"], sorted([(them["ID"], "FULL_CONTROL"), (me["ID"], "FULL_CONTROL")]))
    s3.put_object(Bucket="ceph-own-writer", Key="m", Body=b"x", ACL="bucket-owner-read")
    assert grants("ceph-own-writer", "m") == (me["ID"], [(me["ID"], "FULL_CONTROL")])
    # listings name each object's owner
    owners = {o["Key"]: o["Owner"]["ID"]
              for o in s3.list_objects_v2(Bucket="ceph-own-writer", FetchOwner=True)["Contents"]}
    assert owners == {"f": them["ID"], "m": me["ID"], "r": them["ID"]}, owners
    owners = {o["Key"]: o["Owner"]["ID"]
              for o in s3.list_object_versions(Bucket="ceph-own-writer")["Versions"]}
    assert owners == {"f": them["ID"], "m": me["ID"], "r": them["ID"]}, owners
    # a copy and a completed upload belong to whoever made them
    other.copy_object(Bucket="ceph-own-writer", Key="c",
                      CopySource={"Bucket": "ceph-own-writer", "Key": "m"})
    uid = other.create_multipart_upload(Bucket="ceph-own-writer", Key="u")["UploadId"]
    etag = other.upload_part(Bucket="ceph-own-writer", Key="u", UploadId=uid, PartNumber=1,
                             Body=b"p")["ETag"]
    other.complete_multipart_upload(Bucket="ceph-own-writer", Key="u", UploadId=uid,
                                    MultipartUpload={"Parts": [{"ETag": etag,
                                                                "PartNumber": 1}]})
    for key in ("c", "u"):
        assert grants("ceph-own-writer", key)[0] == them["ID"], key
    # ACLs disabled: the bucket owner owns everything; preferred: writes that
    # give it full control
    s3.create_bucket(Bucket="ceph-own-enforced")
    other.put_object(Bucket="ceph-own-enforced", Key="k", Body=b"x")
    assert grants("ceph-own-enforced", "k") == (me["ID"], [(me["ID"], "FULL_CONTROL")])
    s3.create_bucket(Bucket="ceph-own-preferred", ObjectOwnership="BucketOwnerPreferred")
    other.put_object(Bucket="ceph-own-preferred", Key="given", Body=b"x",
                     ACL="bucket-owner-full-control")
    other.put_object(Bucket="ceph-own-preferred", Key="kept", Body=b"x")
    assert grants("ceph-own-preferred", "given")[0] == me["ID"]
    assert grants("ceph-own-preferred", "kept")[0] == them["ID"]


def test_object_owner_has_full_control_when_enforced():
    strict = Emulator({"AIRGAP_S3_ENFORCE_ACCESS": "1"})
    try:
        s3, other = alt("test", strict), alt(ALT_KEY, strict)
        s3.create_bucket(Bucket="ceph-own-acl", ObjectOwnership="ObjectWriter")
        s3.delete_public_access_block(Bucket="ceph-own-acl")
        s3.put_bucket_acl(Bucket="ceph-own-acl", ACL="public-read-write")
        other.put_object(Bucket="ceph-own-acl", Key="theirs", Body=b"x",
                         ACL="bucket-owner-read")
        s3.put_object(Bucket="ceph-own-acl", Key="mine", Body=b"x")
        # the writer reads and changes its object's ACL; not another's
        acl = other.get_object_acl(Bucket="ceph-own-acl", Key="theirs")
        assert acl["Owner"]["DisplayName"] == ALT_KEY, acl
        other.put_object_acl(Bucket="ceph-own-acl", Key="theirs", ACL="private")
        assert other.get_object(Bucket="ceph-own-acl", Key="theirs")["Body"].read() == b"x"
        for op in (other.get_object_acl, other.get_object):
            assert code_of(op, Bucket="ceph-own-acl", Key="mine") == (403, "AccessDenied"), op
        # the bucket owner keeps access to what others wrote
        s3.get_object_acl(Bucket="ceph-own-acl", Key="theirs")
    finally:
        strict.stop()


if __name__ == "__main__":
    run([test_empty_delimiter_is_no_delimiter, test_post_policy_checks_the_key_as_stored,
         test_post_expiration_must_be_iso8601, test_post_policy_needs_its_signature_fields,
         test_post_signer_is_the_principal_when_strict, test_acl_grants_need_canonical_ids,
         test_uploads_name_their_initiator,
         test_read_and_write_grants_cover_listings_and_uploads,
         test_objects_are_owned_by_their_writer, test_object_owner_has_full_control_when_enforced])
