#!/usr/bin/python3
"""EventBridge Scheduler through the aws CLI against a real `airgap
emulator`: a schedule group, a schedule created, read back, listed and
deleted, a rate() schedule firing into an SQS queue with the clock sped up,
and the CLI's rendering of a validation error and a missing schedule. Few
calls: each CLI start costs seconds on a loaded machine."""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/cli"


def main():
    emu = Emulator(extra_env={"AIRGAP_SCHEDULER_CLOCK_SPEED": "600"})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                       AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
                       AWS_SHARED_CREDENTIALS_FILE=os.devnull, HOME=tmp, AWS_PAGER="")

            def aws(service, *args, check=True):
                p = subprocess.run(["aws", "--endpoint-url", emu.endpoint, service, *args],
                                   env=env, capture_output=True, text=True, timeout=60)
                if check and p.returncode != 0:
                    raise AssertionError("aws %s %s failed: %s" % (service, args[0], p.stderr))
                return json.loads(p.stdout or "{}") if check else p

            url = aws("sqs", "create-queue", "--queue-name", "cli-sched")["QueueUrl"]
            qarn = "arn:aws:sqs:us-east-1:000000000000:cli-sched"
            group = aws("scheduler", "create-schedule-group", "--name", "cli-group")
            assert group["ScheduleGroupArn"].endswith(":schedule-group/cli-group"), group
            target = json.dumps({"Arn": qarn, "RoleArn": ROLE, "Input": "tick"})
            made = aws("scheduler", "create-schedule", "--name", "tick", "--group-name",
                       "cli-group", "--schedule-expression", "rate(1 minute)",
                       "--flexible-time-window", "Mode=OFF", "--target", target)
            assert made["ScheduleArn"].endswith(":schedule/cli-group/tick"), made
            got = aws("scheduler", "get-schedule", "--name", "tick", "--group-name", "cli-group")
            assert got["ScheduleExpression"] == "rate(1 minute)", got
            assert got["Target"]["Input"] == "tick", got
            listed = aws("scheduler", "list-schedules", "--group-name", "cli-group")
            assert [s["Name"] for s in listed["Schedules"]] == ["tick"], listed
            body = None
            deadline = time.monotonic() + 20
            while body is None and time.monotonic() < deadline:
                r = aws("sqs", "receive-message", "--queue-url", url, "--wait-time-seconds", "2")
                for m in r.get("Messages", []):
                    body = m["Body"]
            assert body == "tick", body
            bad = aws("scheduler", "create-schedule", "--name", "bad", "--schedule-expression",
                      "rate(2 weeks)", "--flexible-time-window", "Mode=OFF", "--target", target,
                      check=False)
            assert bad.returncode != 0 and "ValidationException" in bad.stderr, bad.stderr
            assert "Invalid Schedule Expression rate(2 weeks)" in bad.stderr, bad.stderr
            aws("scheduler", "delete-schedule", "--name", "tick", "--group-name", "cli-group")
            gone = aws("scheduler", "get-schedule", "--name", "tick", "--group-name", "cli-group",
                       check=False)
            assert gone.returncode != 0 and "ResourceNotFoundException" in gone.stderr, gone.stderr
            req = urllib.request.Request(emu.endpoint + "/_aws/scheduler/clock", method="GET")
            try:
                urllib.request.urlopen(req)
                raise AssertionError("GET /_aws/scheduler/clock was accepted")
            except urllib.error.HTTPError as e:
                assert e.code == 405, e.code
    finally:
        emu.stop()
    print("ok")


if __name__ == "__main__":
    main()
