"""Shared pieces of the emulator's end-to-end tests (every service imports
it): start and stop `airgap emulator` on a free loopback port, a runner for
test files that drive several emulators at once, the environment of an aws
CLI that reads nothing of this machine's own configuration, and AWS's MD5
algorithms for SQS, written here independently of the emulator so the tests
check its digests against the documented ones."""

import base64
import hashlib
import os
import select
import signal
import struct
import subprocess
import time


class Emulator:
    """`$AIRGAP_BIN emulator --listen 127.0.0.1:0`, stopped with SIGTERM.

    stop() fails when the process does not exit cleanly within 5 s or exits
    non-zero (sanitizer reports, leaks at shutdown)."""

    def __init__(self, extra_env=None, extra_args=()):
        binary = os.environ.get("AIRGAP_BIN")
        if not binary:
            raise RuntimeError("AIRGAP_BIN is not set: run through ctest")
        env = dict(os.environ)
        for name in ("GATEWAY_LISTEN", "SERVICES", "LOCALSTACK_HOST"):
            env.pop(name, None)
        env.update(extra_env or {})
        self.proc = subprocess.Popen(
            [binary, "emulator", "--listen", "127.0.0.1:0", *extra_args],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
        self.port = None
        deadline = time.monotonic() + 20
        buf = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if not ready:
                if self.proc.poll() is not None:
                    break
                continue
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            lines = buf.decode(errors="replace").splitlines()
            for line in lines:
                if line.startswith("Listening on "):
                    self.port = int(line.split()[-1])
            if "Ready." in lines and self.port:
                self.endpoint = "http://127.0.0.1:%d" % self.port
                return
        self.proc.kill()
        self.proc.wait()
        raise RuntimeError("emulator did not print its port and Ready.: %r" % buf)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("emulator did not stop within 10 s of SIGTERM")
        finally:
            self.proc.stdout.close()
        if code != 0:
            raise AssertionError("emulator exited with status %d" % code)


def aws_cli_env(home, **extra):
    """The environment of an `aws` CLI run with test credentials, no retries
    and no pager, whose config and credentials files live in home (a
    directory of the test's own), plus extra."""
    env = {
        "PATH": "/usr/bin:/bin", "HOME": home,
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1",
        "AWS_CONFIG_FILE": os.path.join(home, "config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "credentials"),
    }
    env.update(extra)
    return env


def run_tests(module_globals, emulators):
    """Runs a test file's test_ functions in the order written (later ones may
    read what earlier ones made) against the emulators it names as module
    globals: emulators is [(global name, extra_env)], all started first and
    stopped last. Prints ok/FAIL per test; returns the exit status."""
    import traceback
    tests = [(n, f) for n, f in list(module_globals.items()) if n.startswith("test_")]
    started = []
    failed = 0
    try:
        for name, env in emulators:
            module_globals[name] = Emulator(env)
            started.append(module_globals[name])
        for name, fn in tests:
            try:
                fn()
                print("ok", name)
            except Exception:
                failed += 1
                print("FAIL", name)
                traceback.print_exc()
    finally:
        for emu in started:
            emu.stop()
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    return 1 if failed else 0


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


def md5_of_attributes(attributes):
    """MD5OfMessageAttributes as AWS documents it: names sorted; name, data
    type and value each prefixed by a 4-byte big-endian length; a transport
    byte (1 string, 2 binary) before the value."""

    def encoded(b):
        return struct.pack(">I", len(b)) + b

    data = b""
    for name in sorted(attributes):
        value = attributes[name]
        data += encoded(name.encode()) + encoded(value["DataType"].encode())
        if "StringValue" in value:
            data += b"\x01" + encoded(value["StringValue"].encode())
        else:
            raw = value["BinaryValue"]
            if isinstance(raw, str):
                raw = base64.b64decode(raw)
            data += b"\x02" + encoded(bytes(raw))
    return md5_hex(data)
