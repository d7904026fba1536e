#!/usr/bin/python3
"""e2e_init_hooks.py — LocalStack's init hooks on `airgap emulator --init-dir`.

Real scripts in a real hooks folder: boot.d/start.d before Ready., ready.d while
the emulator serves (awslocal from the aws CLI v2 creates a queue that Debian's
boto3 then sees), LocalStack's order (a folder's files sorted, then its
subfolders), failing, non-executable and .py scripts, /_localstack/init and
/_localstack/init/<stage> shapes, shutdown.d reaching the API during SIGTERM,
a hung READY script stopped on SIGTERM with what it started, and bad folders.
Run: AIRGAP_BIN=build/.../airgap /usr/bin/python3 tests/emulator/e2e_init_hooks.py
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import boto3

from e2e_gateway import AIRGAP, Emulator


def write(path, text, mode=0o755):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose (its parent may not have reaped it yet).
    with open("/proc/%d/stat" % pid) as f:
        return f.read().split(") ")[-1][0] != "Z"


class InitHooksTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="airgap-init-test-")
        self.hooks = os.path.join(self.dir, "init")
        self.out = os.path.join(self.dir, "out")
        os.mkdir(self.out)
        self.data = os.path.join(self.dir, "data")
        os.mkdir(self.data)
        self.emu = None

    def tearDown(self):
        try:
            if self.emu and self.emu.proc.poll() is None:
                self.emu.stop(signal.SIGKILL)  # the test failed
            else:
                # The awslocal helper folder is gone with the emulator.
                self.assertEqual(os.listdir(self.data), [])
        finally:
            shutil.rmtree(self.dir)

    def start(self, *args):
        self.emu = Emulator("--init-dir", self.hooks, "--data-dir", self.data, *args)
        return self.emu

    def get(self, path):
        status, _, body = self.emu.request("GET", path)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def wait_completed(self, stage, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            report = self.get("/_localstack/init/" + stage)
            if report["completed"]:
                return report
            time.sleep(0.05)
        self.fail("%s scripts did not complete: %s" % (stage, report))

    def test_stages_order_states_and_awslocal(self):
        out = self.out
        write(self.hooks + "/boot.d/boot.sh",
              "#!/bin/sh\necho boot > %s/boot\n" % out)
        # START runs before Ready.: the file exists when the emulator is ready.
        write(self.hooks + "/start.d/start.sh",
              "#!/bin/sh\necho \"$AWS_ENDPOINT_URL\" > %s/start\n" % out)
        write(self.hooks + "/ready.d/01-create.sh",
              "#!/bin/sh\nset -e\nawslocal sqs create-queue --queue-name from-hook\n"
              "echo \"$AWS_ACCESS_KEY_ID $AWS_DEFAULT_REGION\" > %s/ready-env\n" % out)
        write(self.hooks + "/ready.d/02-fail.sh", "#!/bin/sh\nexit 3\n")
        write(self.hooks + "/ready.d/03-python.py",
              "import os\nopen(%r, 'w').write(os.environ['AWS_ENDPOINT_URL'])\n"
              % (out + "/py"), mode=0o644)
        write(self.hooks + "/ready.d/04-not-executable.sh", "#!/bin/sh\nexit 0\n", mode=0o644)
        write(self.hooks + "/ready.d/notes.txt", "not a script\n", mode=0o644)
        write(self.hooks + "/ready.d/a-sub/05-nested.sh",
              "#!/bin/sh\necho nested > %s/nested\n" % out)
        write(self.hooks + "/ready.d/.hidden.sh", "#!/bin/sh\nexit 9\n")
        write(self.hooks + "/shutdown.d/bye.sh",
              "#!/bin/sh\nawslocal sqs list-queues > %s/at-shutdown\n" % out)

        emu = self.start()
        with open(out + "/boot") as f:
            self.assertEqual(f.read(), "boot\n")
        with open(out + "/start") as f:
            self.assertEqual(f.read(), "http://127.0.0.1:%d\n" % emu.port)

        ready = self.wait_completed("ready")
        self.assertEqual([(s["name"], s["state"]) for s in ready["scripts"]], [
            ("01-create.sh", "SUCCESSFUL"), ("02-fail.sh", "ERROR"),
            ("03-python.py", "SUCCESSFUL"), ("04-not-executable.sh", "ERROR"),
            ("05-nested.sh", "SUCCESSFUL")])
        self.assertTrue(all(s["stage"] == "READY" for s in ready["scripts"]))

        full = self.get("/_localstack/init")
        self.assertEqual(full["completed"],
                         {"BOOT": True, "START": True, "READY": True, "SHUTDOWN": False})
        self.assertEqual([(s["stage"], s["name"], s["state"]) for s in full["scripts"]][:2],
                         [("BOOT", "boot.sh", "SUCCESSFUL"), ("START", "start.sh", "SUCCESSFUL")])
        self.assertEqual(full["scripts"][-1], {"stage": "SHUTDOWN", "name": "bye.sh",
                                               "state": "UNKNOWN"})
        self.assertEqual(len(full["scripts"]), 8)
        self.assertEqual(self.get("/_localstack/init/shutdown"),
                         {"completed": False, "scripts": [full["scripts"][-1]]})
        status = emu.request("GET", "/_localstack/init/nonsense")[0]
        self.assertEqual(status, 404)

        # What awslocal created is there for a real client.
        sqs = boto3.client("sqs", endpoint_url=emu.url, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
        urls = sqs.list_queues().get("QueueUrls", [])
        self.assertTrue(any(u.endswith("/from-hook") for u in urls), urls)
        with open(out + "/ready-env") as f:
            self.assertEqual(f.read(), "test us-east-1\n")
        with open(out + "/py") as f:
            self.assertEqual(f.read(), "http://127.0.0.1:%d" % emu.port)
        self.assertTrue(os.path.exists(out + "/nested"))
        log = emu.log()
        self.assertIn("chmod +x", log)
        self.assertIn("02-fail.sh failed with exit status 3", log)

        # SHUTDOWN scripts still reach the emulator's services.
        self.assertEqual(emu.stop(), 0)
        with open(out + "/at-shutdown") as f:
            self.assertIn("from-hook", f.read())

    def test_sigterm_stops_a_hung_ready_script_and_what_it_started(self):
        write(self.hooks + "/ready.d/hang.sh",
              "#!/bin/sh\nsleep 300 &\necho $! > %s/child\ntrap '' TERM\n"
              "while :; do sleep 0.1; done\n" % self.out)
        write(self.hooks + "/ready.d/never.sh", "#!/bin/sh\ntouch %s/never\n" % self.out)
        emu = self.start()
        deadline = time.monotonic() + 10
        while not os.path.exists(self.out + "/child") and time.monotonic() < deadline:
            time.sleep(0.05)
        with open(self.out + "/child") as f:
            child = int(f.read())
        self.assertTrue(alive(child))
        report = self.get("/_localstack/init/ready")
        self.assertEqual(report["completed"], False)
        self.assertEqual([s["state"] for s in report["scripts"]], ["RUNNING", "UNKNOWN"])
        began = time.monotonic()
        self.assertEqual(emu.stop(), 0)
        # The script ignores SIGTERM: SIGKILL follows after 2 s.
        self.assertLess(time.monotonic() - began, 6)
        deadline = time.monotonic() + 5
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(alive(child), "the script's background process outlived the emulator")
        self.assertFalse(os.path.exists(self.out + "/never"))

    def test_background_process_of_a_finished_script_is_stopped(self):
        write(self.hooks + "/ready.d/spawn.sh",
              "#!/bin/sh\nsleep 300 &\necho $! > %s/child\n" % self.out)
        emu = self.start()
        self.wait_completed("ready")
        with open(self.out + "/child") as f:
            child = int(f.read())
        deadline = time.monotonic() + 5
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(alive(child))
        self.assertEqual(emu.stop(), 0)

    def test_no_scripts(self):
        os.makedirs(self.hooks + "/ready.d")
        emu = self.start()
        report = self.wait_completed("ready")
        self.assertEqual(report, {"completed": True, "scripts": []})
        self.assertEqual(self.get("/_localstack/init"), {
            "completed": {"BOOT": True, "START": True, "READY": True, "SHUTDOWN": False},
            "scripts": []})
        self.assertEqual(emu.stop(), 0)

    def test_bad_folders(self):
        missing = os.path.join(self.dir, "missing")
        run = subprocess.run([AIRGAP, "emulator", "--listen", "127.0.0.1:0", "--init-dir",
                              missing], capture_output=True, text=True, timeout=10)
        self.assertEqual(run.returncode, 2)
        self.assertIn("init hooks folder %s cannot be read" % missing, run.stderr)
        # Folders nested past the limit: a clear error, nothing runs.
        deep = self.hooks + "/ready.d/" + "/".join("d%d" % i for i in range(10))
        write(deep + "/x.sh", "#!/bin/sh\ntouch %s/ran\n" % self.out)
        run = subprocess.run([AIRGAP, "emulator", "--listen", "127.0.0.1:0", "--init-dir",
                              self.hooks, "--data-dir", self.data],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(run.returncode, 1)
        self.assertIn("nest deeper than 8 levels", run.stderr)
        self.assertFalse(os.path.exists(self.out + "/ran"))
        # "" runs none, also when AIRGAP_INIT_DIR names a (here: bad) folder.
        emu = Emulator("--init-dir", "", "--data-dir", self.data,
                       env={"AIRGAP_INIT_DIR": self.hooks})
        self.assertEqual(emu.stop(), 0)
        self.assertFalse(os.path.exists(self.out + "/ran"))

if __name__ == "__main__":
    unittest.main(verbosity=2)
