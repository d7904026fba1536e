"""Shared pieces of the S3 end-to-end tests that came after e2e_s3_boto3.py:
an emulator per test file, boto3 clients against it, the error of a failing
call, raw headers added to a request through a botocore event hook (Debian's
botocore 1.29 predates IfNoneMatch, IfMatch on writes and deletes, and
ChecksumType), and the runner that reports ok/FAIL per test."""

import os
import shutil
import sys
import tempfile
import traceback

import boto3
import botocore
from botocore.config import Config

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, ".."))
from emulator_support import Emulator  # noqa: E402

EMU = None


def client(**kw):
    return boto3.client(
        "s3", endpoint_url=EMU.endpoint, region_name=kw.pop("region", "us-east-1"),
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, **kw))


def error_of(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except botocore.exceptions.ClientError as e:
        return e.response
    raise AssertionError("%s did not fail" % getattr(fn, "__name__", fn))


def code_of(fn, *args, **kw):
    r = error_of(fn, *args, **kw)
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"].get("Code")


def with_headers(s3, operation, headers):
    """Adds raw headers to every later `operation` call of s3 (before
    signing, so they are signed as a newer SDK would send them). Returns a
    function that removes the hook."""
    def hook(request, **kw):
        for k, v in headers.items():
            request.headers[k] = v
    event = "before-sign.s3.%s" % operation
    s3.meta.events.register(event, hook)
    return lambda: s3.meta.events.unregister(event, hook)


def run(tests):
    global EMU
    data = tempfile.mkdtemp(prefix="airgap-s3-test-")
    EMU = Emulator({"DATA_DIR": data})
    failed = 0
    try:
        for t in tests:
            try:
                t()
                print("ok", t.__name__)
            except Exception:
                failed += 1
                print("FAIL", t.__name__)
                traceback.print_exc()
    finally:
        EMU.stop()
        shutil.rmtree(data, ignore_errors=True)
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    if failed:
        sys.exit(1)
