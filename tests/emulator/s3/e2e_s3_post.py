#!/usr/bin/python3
"""End-to-end tests of S3's POST Object (browser form uploads) against a real
`airgap emulator` ($AIRGAP_BIN): boto3's generate_presigned_post (SigV4 and
SigV2) posted with urllib and with `curl -F`, path and virtual-host style,
the policy's conditions (eq, starts-with, content-length-range, expiration,
extra fields), success_action_status and success_action_redirect, tagging,
metadata, SSE and ${filename}; with S3_SKIP_SIGNATURE_VALIDATION=0 the form's
signature is verified; AWS's error codes for each failure."""

import base64
import datetime
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import boto3
import botocore
from botocore.config import Config

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, ".."))
from emulator_support import Emulator, run_tests  # noqa: E402

LAX = None
STRICT = None


def client(emu, secret="test", version="s3v4"):
    return boto3.client(
        "s3", endpoint_url=emu.endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key=secret,
        config=Config(signature_version=version, retries={"max_attempts": 1}))


def multipart(fields, file_bytes, filename="up.bin", file_type="application/octet-stream"):
    boundary = "----airgap" + uuid.uuid4().hex
    out = []
    for name, value in fields:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                    % (boundary, name, value)).encode())
    out.append(("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                "Content-Type: %s\r\n\r\n" % (boundary, filename, file_type)).encode())
    out.append(file_bytes)
    out.append(("\r\n--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def post(url, fields, file_bytes, headers=None, **kw):
    body, ctype = multipart(list(fields.items()) if isinstance(fields, dict) else fields,
                            file_bytes, **kw)
    hdrs = {"Content-Type": ctype}
    hdrs.update(headers or {})
    req = urllib.request.Request(url, data=body, method="POST", headers=hdrs)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def error_code(body):
    root = ET.fromstring(body)
    return root.findtext("Code"), root


def test_presigned_post_v4_with_urllib():
    s3 = client(LAX)
    s3.create_bucket(Bucket="post-b")
    p = s3.generate_presigned_post("post-b", "uploads/${filename}",
                                   Fields={"Content-Type": "text/plain", "x-amz-meta-color": "Blue",
                                           "tagging": "<Tagging><TagSet><Tag><Key>t</Key><Value>"
                                                      "1</Value></Tag></TagSet></Tagging>"},
                                   Conditions=[{"Content-Type": "text/plain"},
                                               {"x-amz-meta-color": "Blue"},
                                               ["starts-with", "$key", "uploads/"],
                                               ["starts-with", "$tagging", ""],
                                               ["content-length-range", 1, 100]],
                                   ExpiresIn=300)
    assert "x-amz-signature" in p["fields"] and "policy" in p["fields"]
    status, headers, body = post(p["url"], p["fields"], b"hello form", filename="a b.txt")
    assert status == 204, (status, body)
    assert headers["ETag"] == '"%s"' % __import__("hashlib").md5(b"hello form").hexdigest()
    assert headers["Location"].endswith("/post-b/uploads/a%20b.txt"), headers
    got = s3.get_object(Bucket="post-b", Key="uploads/a b.txt")
    assert got["Body"].read() == b"hello form"
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"color": "Blue"}
    assert s3.get_object_tagging(Bucket="post-b", Key="uploads/a b.txt")["TagSet"] == \
        [{"Key": "t", "Value": "1"}]


def test_success_action_status_and_redirect():
    s3 = client(LAX)
    fields = {"key": "st201", "success_action_status": "201"}
    status, headers, body = post(LAX.endpoint + "/post-b", fields, b"x")
    assert status == 201, body
    root = ET.fromstring(body)
    assert root.tag == "PostResponse" and root.findtext("Key") == "st201"
    assert root.findtext("Bucket") == "post-b" and root.findtext("ETag").startswith('"')
    status, _, body = post(LAX.endpoint + "/post-b", {"key": "st200",
                                                        "success_action_status": "200"}, b"x")
    assert status == 200 and body == b""
    status, headers, _ = post(LAX.endpoint + "/post-b",
                              {"key": "red", "success_action_redirect": "http://app.test/done?x=1"},
                              b"redirected")
    assert status == 303, status
    assert headers["Location"].startswith("http://app.test/done?x=1&bucket=post-b&key=red&etag="), \
        headers
    assert s3.get_object(Bucket="post-b", Key="red")["Body"].read() == b"redirected"


def test_sse_and_virtual_host():
    s3 = client(LAX)
    status, headers, body = post(
        "http://127.0.0.1:%d/" % LAX.port,
        {"key": "vh", "x-amz-server-side-encryption": "AES256"}, b"vhost",
        headers={"Host": "post-b.s3.localhost.localstack.cloud:%d" % LAX.port})
    assert status == 204, body
    assert headers.get("x-amz-server-side-encryption") == "AES256", headers
    assert s3.head_object(Bucket="post-b", Key="vh")["ServerSideEncryption"] == "AES256"
    status, _, body = post(LAX.endpoint + "/post-b",
                           {"key": "bad", "x-amz-server-side-encryption": "rot13"}, b"x")
    assert status == 400 and error_code(body)[0] == "InvalidArgument", body


def test_curl_form():
    s3 = client(LAX)
    p = s3.generate_presigned_post("post-b", "curl.txt", ExpiresIn=60)
    args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}"]
    for k, v in p["fields"].items():
        args += ["-F", "%s=%s" % (k, v)]
    args += ["-F", "file=@-;filename=c.txt", p["url"]]
    out = subprocess.run(args, input=b"from curl", capture_output=True, check=True).stdout
    assert out == b"204", out
    assert s3.get_object(Bucket="post-b", Key="curl.txt")["Body"].read() == b"from curl"


def test_policy_conditions_refused():
    s3 = client(LAX)
    p = s3.generate_presigned_post("post-b", "pol/${filename}",
                                   Conditions=[["starts-with", "$key", "pol/"],
                                               ["content-length-range", 2, 5]],
                                   ExpiresIn=60)
    status, _, body = post(p["url"], p["fields"], b"123456")
    assert status == 400 and error_code(body)[0] == "EntityTooLarge", body
    status, _, body = post(p["url"], p["fields"], b"1")
    assert status == 400 and error_code(body)[0] == "EntityTooSmall", body
    f = dict(p["fields"], key="elsewhere/x")
    status, _, body = post(p["url"], f, b"123")
    code, root = error_code(body)
    assert status == 403 and code == "AccessDenied", body
    assert "Policy Condition failed" in root.findtext("Message")
    f = dict(p["fields"], extra="1")
    status, _, body = post(p["url"], f, b"123")
    code, root = error_code(body)
    assert status == 403 and "Extra input fields: extra" in root.findtext("Message"), body
    expired = base64.b64encode(json.dumps({
        "expiration": "2020-01-01T00:00:00Z", "conditions": [{"bucket": "post-b"},
                                                             ["starts-with", "$key", ""]]}
    ).encode()).decode()
    # signature fields are required with a policy, verified only when strict
    signed = {"AWSAccessKeyId": "test", "signature": "unchecked"}
    status, _, body = post(p["url"], dict(signed, key="k", policy=expired), b"1")
    code, root = error_code(body)
    assert status == 403 and root.findtext("Message").endswith("Policy expired."), body
    status, _, body = post(p["url"], dict(signed, key="k", policy="!!notbase64"), b"1")
    assert status == 400 and error_code(body)[0] == "InvalidPolicyDocument", body
    status, _, body = post(p["url"], {"acl": "private"}, b"1")
    code, root = error_code(body)
    assert status == 400 and code == "InvalidArgument" and root.findtext("ArgumentName") == "key"
    status, _, body = post(LAX.endpoint + "/nope-bucket", {"key": "k"}, b"1")
    assert status == 404 and error_code(body)[0] == "NoSuchBucket", body
    req = urllib.request.Request(LAX.endpoint + "/post-b", data=b"--x\r\nbroken", method="POST",
                                 headers={"Content-Type": "multipart/form-data; boundary=x"})
    try:
        urllib.request.urlopen(req, timeout=30)
        raise AssertionError("a broken form was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 400 and error_code(e.read())[0] == "MalformedPOSTRequest"


def test_signatures_verified_when_strict():
    client(STRICT).create_bucket(Bucket="post-s")
    client(LAX).create_bucket(Bucket="post-s")
    for version in ("s3v4", "s3"):
        good = client(STRICT, version=version).generate_presigned_post("post-s", "ok-" + version)
        status, _, body = post(good["url"], good["fields"], b"signed")
        assert status == 204, (version, body)
        bad = client(STRICT, secret="wrong", version=version).generate_presigned_post(
            "post-s", "bad-" + version)
        status, _, body = post(bad["url"], bad["fields"], b"signed")
        assert status == 403 and error_code(body)[0] == "SignatureDoesNotMatch", (version, body)
        # The default accepts the same wrong signature.
        lax = client(LAX, secret="wrong", version=version).generate_presigned_post(
            "post-s", "lax-" + version)
        assert post(lax["url"], lax["fields"], b"x")[0] == 204
    keys = [o["Key"] for o in client(STRICT).list_objects_v2(Bucket="post-s")["Contents"]]
    assert keys == ["ok-s3", "ok-s3v4"], keys


def main():
    return run_tests(globals(), [("LAX", None), ("STRICT", {"S3_SKIP_SIGNATURE_VALIDATION": "0"})])


if __name__ == "__main__":
    sys.exit(main())
