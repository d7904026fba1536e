#!/usr/bin/python3
"""End-to-end tests of S3's opt-in request authentication
(S3_SKIP_SIGNATURE_VALIDATION=0, LocalStack's name for
`--s3-verify-signatures`) against a real `airgap emulator` ($AIRGAP_BIN):
SigV4 headers (boto3, the aws CLI, curl --aws-sigv4), SigV4 and SigV2
presigned URLs, SigV2 headers, wrong secrets (SignatureDoesNotMatch with
AWS's fields), tampered URLs, expired URLs (AccessDenied "Request has
expired"), skewed dates (RequestTimeTooSkewed), malformed Authorization
headers (AuthorizationHeaderMalformed) -- and the default, which accepts any
signature as LocalStack does."""

import base64
import datetime
import email.utils
import hashlib
import hmac
import http.client
import os
import re
import socket
import subprocess
import struct
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
import zlib

import boto3
import botocore
from botocore.config import Config

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, ".."))
from emulator_support import Emulator, run_tests  # noqa: E402

STRICT = None
LAX = None


def client(emu, secret="test", version=None, key="test"):
    kw = {"retries": {"max_attempts": 1}}
    if version:
        kw["signature_version"] = version
    return boto3.client(
        "s3", endpoint_url=emu.endpoint, region_name="us-east-1",
        aws_access_key_id=key, aws_secret_access_key=secret, config=Config(**kw))


def error_of(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except botocore.exceptions.ClientError as e:
        return e.response
    raise AssertionError("%s did not fail" % getattr(fn, "__name__", fn))


def fetch(url, method="GET", headers=None, data=None):
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def code_of(body):
    root = ET.fromstring(body)
    return root.findtext("Code"), root


def raw(emu, method, path, headers):
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=30)
    conn.request(method, path, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def test_sigv4_headers_with_the_right_secret_pass():
    s3 = client(STRICT)
    s3.create_bucket(Bucket="auth-ok")
    s3.put_object(Bucket="auth-ok", Key="dir/a b+c~.txt", Body=b"hello")
    assert s3.get_object(Bucket="auth-ok", Key="dir/a b+c~.txt")["Body"].read() == b"hello"
    listed = s3.list_objects_v2(Bucket="auth-ok", Prefix="dir/", Delimiter="/")
    assert listed["KeyCount"] == 1
    s3.put_object_tagging(Bucket="auth-ok", Key="dir/a b+c~.txt",
                          Tagging={"TagSet": [{"Key": "k", "Value": "v w"}]})
    # Virtual-host style signs the Host with the bucket in it.
    vh = boto3.client("s3", endpoint_url="http://s3.localhost.localstack.cloud:%d" % STRICT.port,
                      region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="test",
                      config=Config(s3={"addressing_style": "virtual"},
                                    retries={"max_attempts": 1}))
    try:
        vh.head_bucket(Bucket="auth-ok")
    except botocore.exceptions.EndpointConnectionError:
        pass  # no resolver for *.localhost.localstack.cloud here: nothing to check


def test_wrong_secret_is_refused_with_aws_fields():
    r = error_of(client(STRICT, secret="wrong").list_buckets)
    assert r["Error"]["Code"] == "SignatureDoesNotMatch", r
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert r["Error"]["AWSAccessKeyId"] == "test"
    assert r["Error"]["StringToSign"].startswith("AWS4-HMAC-SHA256\n")
    assert len(r["Error"]["SignatureProvided"]) == 64
    assert r["Error"]["CanonicalRequest"].startswith("GET\n/\n")
    # A wrong secret on a write changes nothing.
    r = error_of(client(STRICT, secret="wrong").create_bucket, Bucket="auth-nope")
    assert r["Error"]["Code"] == "SignatureDoesNotMatch"
    assert "auth-nope" not in [b["Name"] for b in client(STRICT).list_buckets()["Buckets"]]


def test_default_accepts_any_signature():
    s3 = client(LAX, secret="wrong")
    s3.create_bucket(Bucket="lax")
    s3.put_object(Bucket="lax", Key="k", Body=b"x")
    url = client(LAX).generate_presigned_url(
        "get_object", Params={"Bucket": "lax", "Key": "k"}, ExpiresIn=60)
    assert fetch(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"))[0] == 200


def test_presigned_v4_get_put_tampered_and_expired():
    s3 = client(STRICT, version="s3v4")
    s3.create_bucket(Bucket="auth-pre")
    put = s3.generate_presigned_url("put_object", Params={"Bucket": "auth-pre", "Key": "p k"},
                                    ExpiresIn=300)
    assert "X-Amz-Signature=" in put
    # http.client adds no Content-Type (urllib would, and it is not signed).
    conn = http.client.HTTPConnection("127.0.0.1", STRICT.port, timeout=30)
    conn.request("PUT", put[len(STRICT.endpoint):], body=b"presigned body")
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    assert resp.status == 200, body
    get = s3.generate_presigned_url("get_object", Params={"Bucket": "auth-pre", "Key": "p k"},
                                    ExpiresIn=300)
    assert fetch(get) == (200, b"presigned body")
    # Another key in the same URL: the signature no longer matches.
    status, body = fetch(get.replace("/p%20k?", "/other?"))
    assert status == 403 and code_of(body)[0] == "SignatureDoesNotMatch", body
    # A signature made with another secret.
    bad = client(STRICT, secret="wrong", version="s3v4").generate_presigned_url(
        "get_object", Params={"Bucket": "auth-pre", "Key": "p k"}, ExpiresIn=300)
    status, body = fetch(bad)
    assert status == 403 and code_of(body)[0] == "SignatureDoesNotMatch", body
    # Expired: signed two hours ago for one hour.
    old = datetime.datetime.utcnow() - datetime.timedelta(hours=2)
    with _frozen(old):
        expired = s3.generate_presigned_url(
            "get_object", Params={"Bucket": "auth-pre", "Key": "p k"}, ExpiresIn=3600)
    status, body = fetch(expired)
    code, root = code_of(body)
    assert status == 403 and code == "AccessDenied", body
    assert root.findtext("Message") == "Request has expired"
    assert root.findtext("X-Amz-Expires") == "3600"
    # More than a week.
    status, body = fetch(get.replace("X-Amz-Expires=300", "X-Amz-Expires=604801"))
    assert status == 400 and code_of(body)[0] == "AuthorizationQueryParametersError", body


def _expect_continue(emu, path, length):
    """Sends a PUT's headers with `Expect: 100-continue` and no body; returns
    the first status line the emulator answers with (and the rest)."""
    sock = socket.create_connection(("127.0.0.1", emu.port), timeout=30)
    try:
        sock.sendall(("PUT %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: %d\r\n"
                      "Expect: 100-continue\r\n\r\n" % (path, emu.port, length)).encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data.split(b"\r\n", 1)[0].decode(), data
    finally:
        sock.close()


def test_100_continue_only_after_the_signature_checks():
    s3 = client(STRICT, version="s3v4")
    s3.create_bucket(Bucket="auth-expect")
    put = s3.generate_presigned_url("put_object", Params={"Bucket": "auth-expect", "Key": "k"},
                                    ExpiresIn=300)
    path = put[len(STRICT.endpoint):]
    line, _ = _expect_continue(STRICT, path, 10 << 20)
    assert line == "HTTP/1.1 100 Continue", line
    line, data = _expect_continue(STRICT, path.replace("/k?", "/other?"), 10 << 20)
    assert line.startswith("HTTP/1.1 403"), (line, data)
    assert b"SignatureDoesNotMatch" in data or b"Content-Length" in data, data
    # without verification every body is welcome
    line, _ = _expect_continue(LAX, "/auth-expect/k?X-Amz-Signature=bogus", 10 << 20)
    assert line == "HTTP/1.1 100 Continue", line


def _hmac(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _signed_chunked_put(emu, bucket, key, chunks, secret="test", tamper=None, trailer=None):
    """PUTs chunks as a SigV4 streaming upload (STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
    or -TRAILER with a signed x-amz-checksum-crc32 trailer), as the AWS SDKs
    for Java and Go send it: the seed signature in the Authorization header,
    each chunk signed over the previous signature. tamper(i, sig) may alter
    the i-th chunk signature. Returns (status, body)."""
    now = datetime.datetime.utcnow()
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = "%s/us-east-1/s3/aws4_request" % day
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else "")
    decoded = sum(len(c) for c in chunks)
    host = "127.0.0.1:%d" % emu.port
    headers = {"host": host, "x-amz-content-sha256": mode, "x-amz-date": amz_date,
               "content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(decoded)}
    if trailer:
        headers["x-amz-trailer"] = "x-amz-checksum-crc32"
    signed = sorted(headers)
    creq = "\n".join(["PUT", "/%s/%s" % (bucket, key), "",
                      "".join("%s:%s\n" % (h, headers[h]) for h in signed), ";".join(signed),
                      mode])
    sts = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (amz_date, scope,
                                            hashlib.sha256(creq.encode()).hexdigest())
    k = _hmac(("AWS4" + secret).encode(), day)
    for step in ("us-east-1", "s3", "aws4_request"):
        k = _hmac(k, step)
    prev = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = ("AWS4-HMAC-SHA256 Credential=test/%s, SignedHeaders=%s, "
                                "Signature=%s" % (scope, ";".join(signed), prev))
    empty = hashlib.sha256(b"").hexdigest()
    body = b""
    for i, data in enumerate(list(chunks) + [b""]):
        to_sign = "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s" % (
            amz_date, scope, prev, empty, hashlib.sha256(data).hexdigest())
        sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        prev = sig
        if tamper:
            sig = tamper(i, sig)
        body += b"%x;chunk-signature=%s\r\n" % (len(data), sig.encode())
        if data:
            body += data + b"\r\n"
    if trailer:
        crc = base64.b64encode(struct.pack(">I", zlib.crc32(b"".join(chunks)))).decode()
        line = "x-amz-checksum-crc32:%s\n" % crc
        to_sign = "AWS4-HMAC-SHA256-TRAILER\n%s\n%s\n%s\n%s" % (
            amz_date, scope, prev, hashlib.sha256(line.encode()).hexdigest())
        tsig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        if trailer == "tampered":
            tsig = "0" * 64
        body += line.replace("\n", "\r\n").encode()
        body += b"x-amz-trailer-signature:%s\r\n" % tsig.encode()
    body += b"\r\n"
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=30)
    conn.request("PUT", "/%s/%s" % (bucket, key), body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def test_aws_chunked_signatures_verified():
    s3 = client(STRICT, version="s3v4")
    s3.create_bucket(Bucket="auth-chunks")
    chunks = [b"a" * 8192, b"b" * 100]
    status, body = _signed_chunked_put(STRICT, "auth-chunks", "good", chunks)
    assert status == 200, body
    assert s3.get_object(Bucket="auth-chunks", Key="good")["Body"].read() == b"".join(chunks)
    status, body = _signed_chunked_put(STRICT, "auth-chunks", "trailed", chunks, trailer="ok")
    assert status == 200, body
    # a forged second chunk, a forged final chunk, a missing signature, a forged trailer
    for name, tamper, trailer in (
            ("bad1", lambda i, s: "0" * 64 if i == 1 else s, None),
            ("bad2", lambda i, s: "f" * 64 if i == 2 else s, None),
            ("bad3", lambda i, s: "" if i == 0 else s, None),
            ("bad4", None, "tampered")):
        status, body = _signed_chunked_put(STRICT, "auth-chunks", name, chunks, tamper=tamper,
                                           trailer=trailer)
        assert status == 403 and code_of(body)[0] == "SignatureDoesNotMatch", (name, body)
        names = [o["Key"] for o in s3.list_objects_v2(Bucket="auth-chunks").get("Contents", [])]
        assert name not in names, (name, names)
    # without verification, the chunk signatures are not looked at
    lax = client(LAX, version="s3v4")
    lax.create_bucket(Bucket="auth-chunks")
    status, body = _signed_chunked_put(LAX, "auth-chunks", "any", chunks,
                                       tamper=lambda i, s: "0" * 64)
    assert status == 200, body


class _frozen:
    """Makes botocore sign as if it were `when` (its clock is
    datetime.datetime.utcnow in botocore.auth)."""

    def __init__(self, when):
        self.when = when

    def __enter__(self):
        import botocore.auth
        mods = [botocore.auth]
        try:  # with awscrt installed botocore signs S3 requests there
            import botocore.crt.auth
            mods.append(botocore.crt.auth)
        except ImportError:
            pass
        when = self.when
        real = datetime

        class _dt(real.datetime):
            @classmethod
            def utcnow(cls):
                return when

            @classmethod
            def now(cls, tz=None):
                return when.replace(tzinfo=tz) if tz else when

        class _mod:
            datetime = _dt
            timedelta = real.timedelta
            timezone = real.timezone

        self.saved = [(m, m.datetime) for m in mods]
        for m in mods:
            m.datetime = _mod
        return self

    def __exit__(self, *exc):
        for m, saved in self.saved:
            m.datetime = saved


def test_skewed_request_time():
    s3 = client(STRICT)
    old = datetime.datetime.utcnow() - datetime.timedelta(minutes=30)
    with _frozen(old):
        r = error_of(s3.list_buckets)
    assert r["Error"]["Code"] == "RequestTimeTooSkewed", r
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert r["Error"]["MaxAllowedSkewMilliseconds"] == "900000"


def test_malformed_authorization():
    now = datetime.datetime.utcnow().strftime("%Y%m%dT%H%M%SZ")
    headers = {"x-amz-date": now, "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
               "Authorization": "AWS4-HMAC-SHA256 Credential=test/2026/us-east-1/s3, "
                                "SignedHeaders=host, Signature=" + "0" * 64}
    status, body = raw(STRICT, "GET", "/", headers)
    assert status == 400 and code_of(body)[0] == "AuthorizationHeaderMalformed", body
    headers["Authorization"] = ("AWS4-HMAC-SHA256 Credential=test/%s/us-east-1/s3/aws4_request"
                                % now[:8])
    status, body = raw(STRICT, "GET", "/", headers)
    assert status == 400 and code_of(body)[0] == "AuthorizationHeaderMalformed", body
    status, body = raw(STRICT, "GET", "/", {"Authorization": "Bearer xyz"})
    assert status == 400 and code_of(body)[0] == "InvalidArgument", body


def test_sigv2_headers_and_presigned():
    s3v2 = client(STRICT, version="s3")
    s3v2.create_bucket(Bucket="auth-v2")
    s3v2.put_object(Bucket="auth-v2", Key="k2", Body=b"v2", ContentType="text/plain",
                    Metadata={"a": "b"})
    assert s3v2.get_object(Bucket="auth-v2", Key="k2")["Body"].read() == b"v2"
    # A signed sub-resource (?acl), signed by hand: botocore 1.29 signs
    # sub-resources twice ("?acl?acl"), which S3 refuses too.
    date = email.utils.formatdate(usegmt=True)
    for secret, want in (("test", 200), ("wrong", 403)):
        sts = "GET\n\n\n%s\nx-amz-meta-z:1\n/auth-v2?acl" % date
        sig = base64.b64encode(hmac.new(secret.encode(), sts.encode(), hashlib.sha1).digest())
        status, body = raw(STRICT, "GET", "/auth-v2?acl&prefix=x", {
            "Date": date, "X-Amz-Meta-Z": " 1 ", "Authorization": "AWS test:" + sig.decode()})
        assert status == want, body
    assert s3v2.list_objects(Bucket="auth-v2", Prefix="k")["Contents"][0]["Key"] == "k2"
    assert s3v2.get_object(Bucket="auth-v2", Key="k2", VersionId="null")["Body"].read() == b"v2"
    r = error_of(client(STRICT, secret="wrong", version="s3").get_object, Bucket="auth-v2",
                 Key="k2")
    assert r["Error"]["Code"] == "SignatureDoesNotMatch", r
    url = s3v2.generate_presigned_url("get_object", Params={"Bucket": "auth-v2", "Key": "k2"},
                                      ExpiresIn=60)
    assert "AWSAccessKeyId=" in url
    assert fetch(url) == (200, b"v2")
    status, body = fetch(url.replace("Signature=", "Signature=A"))
    assert status == 403 and code_of(body)[0] == "SignatureDoesNotMatch", body
    expired = re.sub(r"Expires=\d+", "Expires=1000000000", url)
    status, body = fetch(expired)
    code, root = code_of(body)
    assert status == 403 and code == "AccessDenied", body
    assert root.findtext("Message") == "Request has expired"


def test_curl_sigv4():
    env = dict(os.environ)
    url = "%s/auth-ok/dir/a%%20b%%2Bc~.txt" % STRICT.endpoint
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                          "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "test:test",
                          "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", url],
                         capture_output=True, text=True, env=env, check=True).stdout
    assert out == "200", out
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                          "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "test:nope",
                          "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", url],
                         capture_output=True, text=True, env=env, check=True).stdout
    assert out == "403", out


def test_aws_cli():
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    out = subprocess.run(["aws", "--endpoint-url", STRICT.endpoint, "s3", "ls", "s3://auth-ok/dir/"],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0 and "a b+c~.txt" in out.stdout, out
    env["AWS_SECRET_ACCESS_KEY"] = "nope"
    out = subprocess.run(["aws", "--endpoint-url", STRICT.endpoint, "s3", "ls"],
                         capture_output=True, text=True, env=env)
    assert out.returncode != 0 and "SignatureDoesNotMatch" in out.stderr, out


def test_the_flag_turns_verification_on():
    # --s3-verify-signatures does what S3_SKIP_SIGNATURE_VALIDATION=0 does.
    emu = Emulator({"S3_SKIP_SIGNATURE_VALIDATION": "1"}, ["--s3-verify-signatures"])
    try:
        client(emu).list_buckets()
        r = error_of(client(emu, secret="wrong").list_buckets)
        assert r["Error"]["Code"] == "SignatureDoesNotMatch", r
    finally:
        emu.stop()


def main():
    return run_tests(globals(), [("STRICT", {"S3_SKIP_SIGNATURE_VALIDATION": "0"}),
                               ("LAX", {"S3_SKIP_SIGNATURE_VALIDATION": "1"})])


if __name__ == "__main__":
    sys.exit(main())
