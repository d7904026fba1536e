#!/usr/bin/python3
"""CORS as S3 answers it from the bucket's rules, with Debian's boto3 (to
configure) and raw HTTP (what a browser sends): preflights refused without
a configuration or a matching rule (403 AccessForbidden), the matched rule's
methods, headers, max age and exposed headers, wildcard origins answered
with '*', and the same headers on ordinary requests; plus object metadata
with empty and non-ASCII values (boto3, the aws CLI)."""

import http.client
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3_e2e_support as sup  # noqa: E402
from s3_e2e_support import client  # noqa: E402


def raw(method, path, headers=None, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", sup.EMU.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def preflight(path, origin, method, headers=None):
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        h["Access-Control-Request-Headers"] = headers
    return raw("OPTIONS", path, h)


def test_preflight_without_configuration():
    s3 = client()
    s3.create_bucket(Bucket="cors-none")
    status, hdrs, body = preflight("/cors-none/k", "https://app.example", "GET")
    assert status == 403, (status, body)
    assert b"<Code>AccessForbidden</Code>" in body, body
    assert b"CORSResponse: CORS is not enabled for this bucket." in body, body
    assert b"<Method>GET</Method>" in body and b"<ResourceType>BUCKET</ResourceType>" in body
    assert "access-control-allow-origin" not in hdrs, hdrs
    status, _, body = preflight("/cors-missing/k", "https://app.example", "GET")
    assert status == 403 and b"Bucket not found" in body, (status, body)
    # an ordinary request with an Origin gets no CORS headers either
    s3.put_object(Bucket="cors-none", Key="k", Body=b"x")
    status, hdrs, _ = raw("GET", "/cors-none/k", {"Origin": "https://app.example"})
    assert status == 200 and "access-control-allow-origin" not in hdrs, hdrs
    # a preflight naming no bucket (a browser calling SQS, DynamoDB, … at "/") is
    # allowed for any origin, as LocalStack allows it
    status, hdrs, _ = preflight("/", "https://app.example", "POST",
                                "content-type,x-amz-target")
    assert status == 200 and hdrs["access-control-allow-origin"] == "https://app.example", hdrs
    assert "x-amz-target" in hdrs["access-control-allow-headers"], hdrs
    # what a preflight must carry
    status, _, body = raw("OPTIONS", "/cors-none/k", {"Access-Control-Request-Method": "GET"})
    assert status == 400 and b"Origin request header needed" in body, (status, body)
    status, _, body = raw("OPTIONS", "/cors-none/k", {"Origin": "https://app.example"})
    assert status == 400 and b"Invalid Access-Control-Request-Method: null" in body, body


def test_preflight_from_rules():
    s3 = client()
    s3.create_bucket(Bucket="cors-rules")
    s3.put_bucket_cors(Bucket="cors-rules", CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["PUT", "POST"],
         "AllowedHeaders": ["Content-Type", "x-amz-meta-*"], "ExposeHeaders": ["ETag", "x-amz-id-2"],
         "MaxAgeSeconds": 600},
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"]},
    ]})
    status, hdrs, body = preflight("/cors-rules/k", "https://app.example.com", "PUT",
                                   "Content-Type, X-Amz-Meta-Owner")
    assert status == 200, (status, body)
    assert hdrs["access-control-allow-origin"] == "https://app.example.com", hdrs
    assert hdrs["access-control-allow-methods"] == "PUT, POST", hdrs
    assert hdrs["access-control-allow-headers"] == "content-type, x-amz-meta-owner", hdrs
    assert hdrs["access-control-expose-headers"] == "ETag, x-amz-id-2", hdrs
    assert hdrs["access-control-max-age"] == "600", hdrs
    assert hdrs["access-control-allow-credentials"] == "true", hdrs
    assert hdrs["vary"] == ("Origin, Access-Control-Request-Headers, "
                            "Access-Control-Request-Method"), hdrs
    # a header no rule allows, an origin no rule allows for PUT, a method no rule has
    for args in (("https://app.example.com", "PUT", "authorization"),
                 ("https://evil.test", "PUT", None),
                 ("https://app.example.com", "DELETE", None)):
        status, hdrs, body = preflight("/cors-rules/k", *args)
        assert status == 403, (args, status, body)
        assert b"This CORS request is not allowed" in body, body
        assert b"<ResourceType>OBJECT</ResourceType>" in body, body
        assert "access-control-allow-origin" not in hdrs, hdrs
    # the wildcard rule: any origin, answered as '*' without credentials
    status, hdrs, _ = preflight("/cors-rules/k", "https://evil.test", "GET")
    assert status == 200 and hdrs["access-control-allow-origin"] == "*", hdrs
    assert hdrs["access-control-allow-methods"] == "GET, HEAD", hdrs
    assert "access-control-allow-credentials" not in hdrs, hdrs
    # an unknown method is a bad request
    status, _, body = preflight("/cors-rules/k", "https://evil.test", "PATCH")
    assert status == 400, (status, body)
    # a virtual-hosted preflight reads the same bucket's rules
    status, hdrs, _ = raw("OPTIONS", "/k", {"Host": "cors-rules.s3.localhost.localstack.cloud",
                                            "Origin": "https://x.test",
                                            "Access-Control-Request-Method": "HEAD"})
    assert status == 200 and hdrs["access-control-allow-origin"] == "*", (status, hdrs)


def test_actual_requests_carry_the_rule():
    s3 = client()
    s3.create_bucket(Bucket="cors-get")
    s3.put_bucket_cors(Bucket="cors-get", CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET"],
         "ExposeHeaders": ["ETag"]}]})
    s3.put_object(Bucket="cors-get", Key="k", Body=b"hello")
    status, hdrs, body = raw("GET", "/cors-get/k", {"Origin": "https://app.example"})
    assert status == 200 and body == b"hello"
    assert hdrs["access-control-allow-origin"] == "https://app.example", hdrs
    assert hdrs["access-control-allow-methods"] == "GET", hdrs
    assert hdrs["access-control-expose-headers"] == "ETag", hdrs
    assert hdrs["access-control-allow-credentials"] == "true", hdrs
    # on an error too
    status, hdrs, _ = raw("GET", "/cors-get/missing", {"Origin": "https://app.example"})
    assert status == 404 and hdrs["access-control-allow-origin"] == "https://app.example", hdrs
    # a method the rule does not allow, another origin: no CORS headers
    status, hdrs, _ = raw("HEAD", "/cors-get/k", {"Origin": "https://app.example"})
    assert status == 200 and "access-control-allow-origin" not in hdrs, hdrs
    status, hdrs, _ = raw("GET", "/cors-get/k", {"Origin": "https://other.example"})
    assert status == 200 and "access-control-allow-origin" not in hdrs, hdrs
    s3.delete_bucket_cors(Bucket="cors-get")
    status, hdrs, _ = raw("GET", "/cors-get/k", {"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in hdrs, hdrs


def test_cors_configuration_wildcards_validated():
    s3 = client()
    s3.create_bucket(Bucket="cors-valid")
    r = sup.error_of(s3.put_bucket_cors, Bucket="cors-valid", CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["https://*.*.example"], "AllowedMethods": ["GET"]}]})
    assert r["Error"]["Code"] == "InvalidRequest", r
    assert "can not have more than one wildcard" in r["Error"]["Message"], r
    r = sup.error_of(s3.put_bucket_cors, Bucket="cors-valid", CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["*"], "AllowedHeaders": ["x-*-*"], "AllowedMethods": ["GET"]}]})
    assert r["Error"]["Code"] == "InvalidRequest", r


def test_metadata_empty_and_non_ascii_values():
    s3 = client()
    s3.create_bucket(Bucket="meta-values")
    s3.put_object(Bucket="meta-values", Key="k", Body=b"x",
                  Metadata={"empty": "", "plain": "v", "spaced": "a b"})
    h = s3.head_object(Bucket="meta-values", Key="k")
    assert h["Metadata"] == {"empty": "", "plain": "v", "spaced": "a b"}, h["Metadata"]
    g = s3.get_object(Bucket="meta-values", Key="k")
    assert g["Metadata"]["empty"] == "", g["Metadata"]
    # the aws CLI sends and reads the same
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="")
    subprocess.run(["aws", "--endpoint-url", sup.EMU.endpoint, "s3api", "put-object",
                    "--bucket", "meta-values", "--key", "cli", "--metadata", "blank=,k=v"],
                   check=True, capture_output=True, env=env)
    out = subprocess.run(["aws", "--endpoint-url", sup.EMU.endpoint, "s3api", "head-object",
                          "--bucket", "meta-values", "--key", "cli"],
                         check=True, capture_output=True, env=env)
    assert json.loads(out.stdout)["Metadata"] == {"blank": "", "k": "v"}, out.stdout
    # non-ASCII values: S3 answers them RFC 2047-encoded, as sent
    status, _, _ = raw("PUT", "/meta-values/utf", {"x-amz-meta-name": "=?UTF-8?B?w6nDqQ==?="},
                       b"x")
    assert status == 200
    h = s3.head_object(Bucket="meta-values", Key="utf")
    assert h["Metadata"] == {"name": "=?UTF-8?B?w6nDqQ==?="}, h["Metadata"]


if __name__ == "__main__":
    sup.run([test_preflight_without_configuration, test_preflight_from_rules,
             test_actual_requests_carry_the_rule, test_cors_configuration_wildcards_validated,
             test_metadata_empty_and_non_ascii_values])
