#!/usr/bin/python3
"""KMS through Debian's aws CLI against a real `airgap emulator`: a key, an
alias, an encrypt/decrypt round trip with an encryption context through
files (fileb://), and the CLI's rendering of a KMS error."""

import base64
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
                p = subprocess.run(["aws", "--endpoint-url", emu.endpoint, "kms", *args],
                                   env=env, capture_output=True, text=True, timeout=60)
                if check and p.returncode != 0:
                    raise AssertionError("aws kms %s failed: %s" % (args[0], p.stderr))
                return p

            key = json.loads(aws("create-key", "--description", "cli").stdout)["KeyMetadata"]
            aws("create-alias", "--alias-name", "alias/cli", "--target-key-id", key["KeyId"])
            plain = os.path.join(tmp, "plain.bin")
            with open(plain, "wb") as f:
                f.write(b"cli secret \x00\x01")
            out = json.loads(aws("encrypt", "--key-id", "alias/cli", "--plaintext",
                                 "fileb://" + plain, "--encryption-context", "env=ci").stdout)
            assert out["KeyId"] == key["Arn"], out
            blob = os.path.join(tmp, "blob.bin")
            with open(blob, "wb") as f:
                f.write(base64.b64decode(out["CiphertextBlob"]))
            back = aws("decrypt", "--ciphertext-blob", "fileb://" + blob,
                       "--encryption-context", "env=ci", "--query", "Plaintext",
                       "--output", "text").stdout.strip()
            assert base64.b64decode(back) == b"cli secret \x00\x01", back
            bad = aws("decrypt", "--ciphertext-blob", "fileb://" + blob, check=False)
            assert bad.returncode != 0 and "InvalidCiphertextException" in bad.stderr, bad.stderr
            aliases = json.loads(aws("list-aliases").stdout)["Aliases"]
            assert [a["AliasName"] for a in aliases] == ["alias/cli"], aliases
    finally:
        emu.stop()
    print("ok")


if __name__ == "__main__":
    main()
