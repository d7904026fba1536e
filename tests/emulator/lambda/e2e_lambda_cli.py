#!/usr/bin/python3
"""Lambda through Debian's aws CLI against a real `airgap emulator`:
create-function from fileb://, wait function-active-v2, invoke into an
outfile (a provided.al2023-style shell function in a real container when
Docker answers), get-function, an error's code on stderr, delete."""

import json
import os
import subprocess
import sys
import tempfile
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lambda_support import (MAPPING, ROLE, Emulator, build_images,  # noqa: E402
                            docker_available, make_zip)

BOOTSTRAP = """#!/bin/sh
api="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  wget -q -S -O /tmp/event "$api/invocation/next" 2>/tmp/headers || exit 0
  id=$(sed -n 's/^ *Lambda-Runtime-Aws-Request-Id: *\\([^ ]*\\).*/\\1/p' /tmp/headers | tr -d '\\r')
  wget -q -O /dev/null --post-data="{\\"cli\\":$(cat /tmp/event)}" "$api/invocation/$id/response"
done
"""


def main():
    warnings.simplefilter("ignore", ResourceWarning)
    docker = docker_available() and build_images()
    emu = Emulator(extra_env={"LAMBDA_RUNTIME_IMAGE_MAPPING": MAPPING})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                       AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="", AWS_MAX_ATTEMPTS="1")

            def aws(*args, check=True):
                p = subprocess.run(["aws", "--endpoint-url", emu.endpoint, "lambda", *args],
                                   env=env, capture_output=True, text=True, timeout=120)
                if check and p.returncode != 0:
                    raise AssertionError("aws lambda %s failed: %s" % (args[0], p.stderr))
                return p

            zpath = os.path.join(tmp, "fn.zip")
            with open(zpath, "wb") as f:
                f.write(make_zip({"bootstrap": (BOOTSTRAP, 0o100755)}))
            made = json.loads(aws("create-function", "--function-name", "cli-fn", "--runtime",
                                  "provided.al2023", "--role", ROLE, "--handler", "fn.handler",
                                  "--zip-file", "fileb://" + zpath).stdout)
            assert made["FunctionArn"].endswith(":function:cli-fn"), made
            aws("wait", "function-active-v2", "--function-name", "cli-fn")
            got = json.loads(aws("get-function", "--function-name", "cli-fn").stdout)
            assert got["Configuration"]["State"] == "Active", got
            again = aws("create-function", "--function-name", "cli-fn", "--runtime",
                        "provided.al2023", "--role", ROLE, "--handler", "fn.handler",
                        "--zip-file", "fileb://" + zpath, check=False)
            assert again.returncode != 0 and "ResourceConflictException" in again.stderr, again
            if docker:
                out = os.path.join(tmp, "out.json")
                meta = json.loads(aws("invoke", "--function-name", "cli-fn",
                                      "--payload", '{"n": 7}', out).stdout)
                assert meta["StatusCode"] == 200 and meta["ExecutedVersion"] == "$LATEST", meta
                with open(out) as f:
                    assert json.load(f) == {"cli": {"n": 7}}
            aws("delete-function", "--function-name", "cli-fn")
            gone = aws("get-function", "--function-name", "cli-fn", check=False)
            assert gone.returncode != 0 and "ResourceNotFoundException" in gone.stderr, gone
    finally:
        emu.stop()
    print("ok (invoke %s)" % ("run" if docker else "skipped: no Docker"))


if __name__ == "__main__":
    main()
