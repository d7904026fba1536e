#!/usr/bin/python3
"""End-to-end S3 tests with the aws CLI v2 (/usr/bin/aws) against a real
`airgap emulator` ($AIRGAP_BIN): s3 mb, a 50 MB `s3 cp` that the CLI sends as
a multipart upload, download and compare, s3 sync (twice: the second run
uploads nothing), s3 ls, s3 rm --recursive, s3 rb and a few s3api calls."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

# The emulator launcher is shared with the SQS tests and lives next to them:
# tests/emulator/sqs/ (or tests/emulator/, where it was first written).
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, ".."))
from emulator_support import Emulator  # noqa: E402


def main():
    work = tempfile.mkdtemp(prefix="airgap-s3-cli-")
    data = os.path.join(work, "data")
    os.mkdir(data)
    emu = Emulator({"DATA_DIR": data})
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.path.join(work, "config"),
               AWS_SHARED_CREDENTIALS_FILE=os.path.join(work, "credentials"), AWS_PAGER="")

    def aws(*args, check=True):
        cmd = ["/usr/bin/aws", "--endpoint-url", emu.endpoint, "--no-cli-pager"] + list(args)
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        if check and r.returncode != 0:
            raise AssertionError("%s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
        return r

    try:
        out = aws("s3", "mb", "s3://cli-bucket").stdout
        assert "make_bucket: cli-bucket" in out, out
        big = os.path.join(work, "big.bin")
        with open(big, "wb") as f:
            f.write(os.urandom(50 * 1024 * 1024))
        aws("s3", "cp", "--only-show-errors", big, "s3://cli-bucket/dir/big.bin")
        head = json.loads(aws("s3api", "head-object", "--bucket", "cli-bucket", "--key",
                              "dir/big.bin").stdout)
        assert head["ContentLength"] == 50 * 1024 * 1024, head
        assert head["ETag"].endswith('-7"'), head  # 8 MiB parts: multipart
        back = os.path.join(work, "back.bin")
        aws("s3", "cp", "--only-show-errors", "s3://cli-bucket/dir/big.bin", back)
        with open(big, "rb") as a, open(back, "rb") as b:
            assert hashlib.md5(a.read()).digest() == hashlib.md5(b.read()).digest()
        src = os.path.join(work, "tree")
        os.makedirs(os.path.join(src, "sub", "deeper"))
        files = {"a.txt": b"alpha", "sub/b.txt": b"beta", "sub/deeper/c.bin": os.urandom(1000),
                 "sp ace.txt": b"space"}
        for name, body in files.items():
            with open(os.path.join(src, name), "wb") as f:
                f.write(body)
        out = aws("s3", "sync", src, "s3://cli-bucket/tree").stdout
        assert out.count("upload:") == 4, out
        out = aws("s3", "sync", src, "s3://cli-bucket/tree").stdout
        assert "upload:" not in out, out
        out = aws("s3", "ls", "s3://cli-bucket/tree/").stdout
        assert "PRE sub/" in out and "a.txt" in out and "sp ace.txt" in out, out
        out = aws("s3", "ls", "--recursive", "s3://cli-bucket").stdout
        assert len(out.strip().splitlines()) == 5, out
        dst = os.path.join(work, "down")
        aws("s3", "sync", "--only-show-errors", "s3://cli-bucket/tree", dst)
        for name, body in files.items():
            with open(os.path.join(dst, name), "rb") as f:
                assert f.read() == body, name
        aws("s3api", "create-bucket", "--bucket", "cli-versions")
        aws("s3api", "put-bucket-versioning", "--bucket", "cli-versions",
            "--versioning-configuration", "Status=Enabled")
        v = json.loads(aws("s3api", "get-bucket-versioning", "--bucket", "cli-versions").stdout)
        assert v["Status"] == "Enabled", v
        ids = [json.loads(aws("s3api", "put-object", "--bucket", "cli-versions", "--key", "v",
                              "--body", os.path.join(src, "a.txt")).stdout)["VersionId"]
               for _ in range(2)]
        aws("s3", "rm", "--only-show-errors", "s3://cli-versions/v")
        lv = json.loads(aws("s3api", "list-object-versions", "--bucket", "cli-versions").stdout)
        assert sorted(x["VersionId"] for x in lv["Versions"]) == sorted(ids), lv
        assert len(lv["DeleteMarkers"]) == 1, lv
        for x in lv["Versions"] + lv["DeleteMarkers"]:
            aws("s3api", "delete-object", "--bucket", "cli-versions", "--key", "v",
                "--version-id", x["VersionId"])
        aws("s3", "rb", "s3://cli-versions")
        listed = json.loads(aws("s3api", "list-objects-v2", "--bucket", "cli-bucket", "--prefix",
                                "tree/sub/").stdout)
        assert sorted(o["Key"] for o in listed["Contents"]) == [
            "tree/sub/b.txt", "tree/sub/deeper/c.bin"], listed
        r = aws("s3", "rb", "s3://cli-bucket", check=False)
        assert r.returncode != 0 and "BucketNotEmpty" in r.stderr, r.stderr
        out = aws("s3", "rm", "--recursive", "s3://cli-bucket").stdout
        assert out.count("delete:") == 5, out
        assert aws("s3", "ls", "s3://cli-bucket").stdout.strip() == ""
        aws("s3", "rb", "s3://cli-bucket")
        r = aws("s3api", "head-bucket", "--bucket", "cli-bucket", check=False)
        assert r.returncode != 0 and "404" in r.stderr, r.stderr
        left = [os.path.join(root, f) for root, _, fs in os.walk(data) for f in fs]
        assert not left, left
    finally:
        emu.stop()
        left = os.listdir(data)
        shutil.rmtree(work, ignore_errors=True)
    assert not left, "the emulator left %r in its data directory" % left
    print("ok")


if __name__ == "__main__":
    main()
