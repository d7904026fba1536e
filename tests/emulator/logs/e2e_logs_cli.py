#!/usr/bin/python3
"""CloudWatch Logs through Debian's aws CLI against a real `airgap emulator`:
a group with retention, a stream, events put and read back, a filter
pattern, an Insights query, and the CLI's rendering of an error."""

import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator  # noqa: E402


def main():
    emu = Emulator()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                       AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
                       AWS_SHARED_CREDENTIALS_FILE=os.devnull, HOME=tmp, AWS_PAGER="")

            def aws(*args, check=True):
                p = subprocess.run(["aws", "--endpoint-url", emu.endpoint, "logs", *args],
                                   env=env, capture_output=True, text=True, timeout=60)
                if check and p.returncode != 0:
                    raise AssertionError("aws logs %s failed: %s" % (args[0], p.stderr))
                return p

            aws("create-log-group", "--log-group-name", "/cli/app")
            aws("put-retention-policy", "--log-group-name", "/cli/app",
                "--retention-in-days", "14")
            aws("create-log-stream", "--log-group-name", "/cli/app", "--log-stream-name", "s")
            t = int(time.time() * 1000) - 5000
            events = [{"timestamp": t + i, "message": m}
                      for i, m in enumerate(["GET /a 200", "GET /b 500", "POST /c 201"])]
            put = json.loads(aws("put-log-events", "--log-group-name", "/cli/app",
                                 "--log-stream-name", "s", "--log-events",
                                 json.dumps(events)).stdout)
            assert "nextSequenceToken" in put and "rejectedLogEventsInfo" not in put, put
            got = json.loads(aws("get-log-events", "--log-group-name", "/cli/app",
                                 "--log-stream-name", "s", "--start-from-head").stdout)
            assert [e["message"] for e in got["events"]] == [e["message"] for e in events], got
            found = aws("filter-log-events", "--log-group-name", "/cli/app", "--filter-pattern",
                        "[method, path, status = 5*]", "--query", "events[].message",
                        "--output", "text").stdout.strip()
            assert found == "GET /b 500", found
            groups = json.loads(aws("describe-log-groups", "--log-group-name-prefix",
                                    "/cli").stdout)["logGroups"]
            assert [(g["logGroupName"], g["retentionInDays"]) for g in groups] == \
                [("/cli/app", 14)], groups
            qid = json.loads(aws("start-query", "--log-group-name", "/cli/app", "--start-time",
                                 str(t // 1000 - 60), "--end-time", str(t // 1000 + 60),
                                 "--query-string", "filter @message like /POST/").stdout)["queryId"]
            res = json.loads(aws("get-query-results", "--query-id", qid).stdout)
            assert res["status"] == "Complete" and len(res["results"]) == 1, res
            bad = aws("create-log-stream", "--log-group-name", "/cli/none",
                      "--log-stream-name", "s", check=False)
            assert bad.returncode != 0, bad
            assert ("An error occurred (ResourceNotFoundException) when calling the "
                    "CreateLogStream operation: The specified log group does not exist."
                    in bad.stderr), bad.stderr
    finally:
        emu.stop()
    print("ok")


if __name__ == "__main__":
    main()
