#!/usr/bin/python3
"""Lambda's packages from S3, event invoke configurations and asynchronous
destinations through Debian's aws CLI against a real `airgap emulator`:
`aws s3 cp` a zip, `create-function --code S3Bucket=…,S3Key=…`, the missing
key's error on stderr, put/get/list/delete-function-event-invoke-config with
a range error, and (when Docker answers) an Event invoke whose success
record arrives in the OnSuccess queue."""

import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lambda_support import (MAPPING, ROLE, Emulator, build_images,  # noqa: E402
                            docker_available, lambda_containers, make_zip)

APP = "def handler(event, context):\n    return {'cli': event}\n"


def main():
    warnings.simplefilter("ignore", ResourceWarning)
    docker = docker_available() and build_images()
    extra = {"LAMBDA_RUNTIME_IMAGE_MAPPING": MAPPING}
    if not docker:
        extra["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    emu = Emulator(extra_env=extra)
    pid = emu.proc.pid
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                       AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="", AWS_MAX_ATTEMPTS="1")

            def aws(*args, check=True):
                p = subprocess.run(["aws", "--endpoint-url", emu.endpoint, *args],
                                   env=env, capture_output=True, text=True, timeout=120)
                if check and p.returncode != 0:
                    raise AssertionError("aws %s failed: %s" % (" ".join(args[:2]), p.stderr))
                return p

            zpath = os.path.join(tmp, "fn.zip")
            with open(zpath, "wb") as f:
                f.write(make_zip({"app.py": APP}))
            aws("s3", "mb", "s3://cli-code")
            aws("s3", "cp", zpath, "s3://cli-code/pkg/fn.zip")
            p = aws("lambda", "create-function", "--function-name", "cli-s3", "--runtime",
                    "python3.12", "--role", ROLE, "--handler", "app.handler", "--code",
                    "S3Bucket=cli-code,S3Key=pkg/missing.zip", check=False)
            assert p.returncode != 0
            assert "InvalidParameterValueException" in p.stderr, p.stderr
            assert "S3 Error Code: NoSuchKey" in p.stderr, p.stderr
            made = json.loads(aws("lambda", "create-function", "--function-name", "cli-s3",
                                  "--runtime", "python3.12", "--role", ROLE, "--handler",
                                  "app.handler", "--code",
                                  "S3Bucket=cli-code,S3Key=pkg/fn.zip").stdout)
            assert made["CodeSize"] == os.path.getsize(zpath), made
            aws("lambda", "wait", "function-active-v2", "--function-name", "cli-s3")

            p = aws("lambda", "put-function-event-invoke-config", "--function-name", "cli-s3",
                    "--maximum-event-age-in-seconds", "30000", check=False)
            assert p.returncode != 0 and "ValidationException" in p.stderr, p.stderr
            url = json.loads(aws("sqs", "create-queue", "--queue-name", "cli-ok").stdout)["QueueUrl"]
            qarn = json.loads(aws("sqs", "get-queue-attributes", "--queue-url", url,
                                  "--attribute-names", "QueueArn").stdout)["Attributes"]["QueueArn"]
            put = json.loads(aws("lambda", "put-function-event-invoke-config", "--function-name",
                                 "cli-s3", "--maximum-retry-attempts", "0",
                                 "--destination-config",
                                 json.dumps({"OnSuccess": {"Destination": qarn}})).stdout)
            assert put["MaximumRetryAttempts"] == 0, put
            got = json.loads(aws("lambda", "get-function-event-invoke-config", "--function-name",
                                 "cli-s3").stdout)
            assert got["DestinationConfig"]["OnSuccess"]["Destination"] == qarn, got
            listed = json.loads(aws("lambda", "list-function-event-invoke-configs",
                                    "--function-name", "cli-s3").stdout)
            assert len(listed["FunctionEventInvokeConfigs"]) == 1, listed

            if docker:
                out = os.path.join(tmp, "out.json")
                r = json.loads(aws("lambda", "invoke", "--function-name", "cli-s3",
                                   "--invocation-type", "Event", "--payload", '{"n": 1}',
                                   out).stdout)
                assert r["StatusCode"] == 202, r
                record = None
                deadline = time.monotonic() + 60
                while record is None and time.monotonic() < deadline:
                    msgs = json.loads(aws("sqs", "receive-message", "--queue-url", url,
                                          "--wait-time-seconds", "2").stdout or "{}")
                    for m in msgs.get("Messages", []):
                        record = json.loads(m["Body"])
                assert record is not None, "no success record arrived"
                assert record["requestContext"]["condition"] == "Success", record
                assert record["responsePayload"] == {"cli": {"n": 1}}, record

            aws("lambda", "delete-function-event-invoke-config", "--function-name", "cli-s3")
            p = aws("lambda", "get-function-event-invoke-config", "--function-name", "cli-s3",
                    check=False)
            assert "ResourceNotFoundException" in p.stderr, p.stderr
            aws("lambda", "delete-function", "--function-name", "cli-s3")
    finally:
        emu.stop()
    if docker:
        left = lambda_containers(pid)
        assert not left, "containers left behind: %s" % left
    print("ok")


if __name__ == "__main__":
    main()
