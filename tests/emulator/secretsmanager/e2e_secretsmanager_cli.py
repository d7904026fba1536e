#!/usr/bin/python3
"""Secrets Manager through Debian's aws CLI against a real `airgap emulator`:
create, put a new version, read AWSCURRENT and AWSPREVIOUS, list, delete
without recovery, and the CLI's rendering of an error."""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator  # noqa: E402


def main():
    emu = Emulator()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                       AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
                       AWS_SHARED_CREDENTIALS_FILE=os.devnull, HOME=tmp)

            def aws(*args, check=True):
                p = subprocess.run(["aws", "--endpoint-url", emu.endpoint, "secretsmanager",
                                    *args], env=env, capture_output=True, text=True, timeout=60)
                if check and p.returncode != 0:
                    raise AssertionError("aws secretsmanager %s failed: %s" % (args[0], p.stderr))
                return p

            made = json.loads(aws("create-secret", "--name", "cli/secret", "--secret-string",
                                  '{"k":"v1"}').stdout)
            aws("put-secret-value", "--secret-id", "cli/secret", "--secret-string", '{"k":"v2"}')
            cur = json.loads(aws("get-secret-value", "--secret-id", made["ARN"]).stdout)
            assert json.loads(cur["SecretString"]) == {"k": "v2"}, cur
            prev = aws("get-secret-value", "--secret-id", "cli/secret", "--version-stage",
                       "AWSPREVIOUS", "--query", "SecretString", "--output", "text").stdout
            assert json.loads(prev) == {"k": "v1"}, prev
            listed = json.loads(aws("list-secrets").stdout)["SecretList"]
            assert [s["Name"] for s in listed] == ["cli/secret"], listed
            aws("delete-secret", "--secret-id", "cli/secret", "--force-delete-without-recovery")
            gone = aws("get-secret-value", "--secret-id", "cli/secret", check=False)
            assert gone.returncode != 0 and "ResourceNotFoundException" in gone.stderr, gone.stderr
    finally:
        emu.stop()
    print("ok")


if __name__ == "__main__":
    main()
