"""Shared pieces of the Lambda end-to-end tests: clients, deployment packages
built in memory (with unix modes, symlinks and hostile entries when asked),
the locally built images mapped to runtimes, Lambda's botocore model with
what the emulator's model build adds, and the check that no function
container is left behind."""

import gzip
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile

import boto3
import botocore
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from emulator_support import Emulator  # noqa: E402,F401

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
IMAGES = {"python3.12": "airgap-test/lambda-python",
          "provided.al2023": "airgap-test/lambda-provided"}
MAPPING = json.dumps(IMAGES)
SOURCE = os.environ.get("AIRGAP_SOURCE_DIR",
                        os.path.dirname(os.path.dirname(os.path.dirname(
                            os.path.dirname(os.path.abspath(__file__))))))


def client(endpoint, service="lambda", validate=True, read_timeout=60):
    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, parameter_validation=validate,
                      read_timeout=read_timeout))


def make_zip(files):
    """files: {name: text} or {name: (text, mode)}; a mode with 0o120000 makes a symlink."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            mode = 0o100644
            if isinstance(content, tuple):
                content, mode = content
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            info.create_system = 3  # unix, so the mode is read
            z.writestr(info, content)
    return buf.getvalue()


def docker_available():
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def build_images():
    """Builds (or finds cached) the Lambda test images; False when it cannot."""
    script = os.path.join(SOURCE, "tests", "images", "build")
    out = subprocess.run([script, "busybox", "python", "lambda-provided", "lambda-python"],
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
    return out.returncode == 0


def lambda_containers(owner_pid=None):
    """Ids of function containers (all, or those of one emulator process)."""
    out = subprocess.run(["docker", "ps", "-aq", "--no-trunc", "--filter", "label=airgap.lambda"],
                         capture_output=True, text=True, check=True).stdout.split()
    if owner_pid is None:
        return out
    mine = []
    for cid in out:
        label = subprocess.run(
            ["docker", "inspect", "-f", '{{ index .Config.Labels "airgap.lambda" }}', cid],
            capture_output=True, text=True).stdout.strip()
        if label.split(".")[0] == str(owner_pid):
            mine.append(cid)
    return mine


def lambda_model_dir():
    """A botocore data folder with Debian's Lambda model plus what the
    emulator's model build adds (InvokeMode, the streaming operation, ...), so
    boto3 sends and reads those members (owned: the caller removes it)."""
    sys.path.insert(0, os.path.join(SOURCE, "emulator", "protocol", "models"))
    import gen_models
    data = os.path.join(os.path.dirname(botocore.__file__), "data", "lambda")
    version = sorted(os.listdir(data))[-1]
    path = os.path.join(data, version, "service-2.json")
    if os.path.exists(path):
        with open(path) as f:
            model = json.load(f)
    else:
        with gzip.open(path + ".gz") as f:
            model = json.load(f)
    gen_models.lambda_overlay(model["operations"], model["shapes"])
    top = tempfile.mkdtemp(prefix="airgap-botocore-")
    os.makedirs(os.path.join(top, "lambda", version))
    with open(os.path.join(top, "lambda", version, "service-2.json"), "w") as f:
        json.dump(model, f)
    return top
