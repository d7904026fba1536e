#!/usr/bin/python3
"""SSM Parameter Store through Debian's aws CLI against a real `airgap
emulator`: put a String and a SecureString, read them by path with
decryption, read a public AMI parameter, and the CLI's rendering of
ParameterNotFound."""

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
                p = subprocess.run(["aws", "--endpoint-url", emu.endpoint, "ssm", *args],
                                   env=env, capture_output=True, text=True, timeout=60)
                if check and p.returncode != 0:
                    raise AssertionError("aws ssm %s failed: %s" % (args[0], p.stderr))
                return p

            aws("put-parameter", "--name", "/cli/host", "--value", "db.local", "--type", "String")
            aws("put-parameter", "--name", "/cli/pw", "--value", "s3cr3t", "--type",
                "SecureString")
            params = json.loads(aws("get-parameters-by-path", "--path", "/cli",
                                    "--with-decryption").stdout)["Parameters"]
            got = {p["Name"]: p["Value"] for p in params}
            assert got == {"/cli/host": "db.local", "/cli/pw": "s3cr3t"}, got
            enc = aws("get-parameter", "--name", "/cli/pw", "--query", "Parameter.Value",
                      "--output", "text").stdout.strip()
            assert enc and enc != "s3cr3t", enc
            ami = aws("get-parameters", "--names",
                      "/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2",
                      "--query", "Parameters[0].Value", "--output", "text").stdout.strip()
            assert ami.startswith("ami-"), ami
            missing = aws("get-parameter", "--name", "/cli/none", check=False)
            assert missing.returncode != 0 and "ParameterNotFound" in missing.stderr, \
                missing.stderr
    finally:
        emu.stop()
    print("ok")


if __name__ == "__main__":
    main()
