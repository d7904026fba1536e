#!/usr/bin/python3
"""config_bench.py — the configuration calls every application makes at
start-up, `airgap emulator` side by side with moto's server in the same run:

  GetSecretValue   Secrets Manager, a 64-byte JSON secret (KMS-encrypted at rest)
  GetParameter     SSM, a SecureString read WithDecryption
  Encrypt          KMS, 64 bytes under a customer key

Each is measured as calls per second over the JSON protocol from CLIENTS
processes with keep-alive connections for SECONDS each, against the same
set-up made the same way on both emulators; the ratios airgap/moto are
printed. moto is the peer when `python3 -m moto.server` works with $MOTO_PYTHON
or the python3 first on PATH (pyenv's, on these machines); otherwise its
column says so and the run still succeeds. Not a test: run it by hand on an
optimised (non-sanitizer) build.

  AIRGAP_BIN=build/rel/cli/airgap /usr/bin/python3 tests/bench/config_bench.py
Target (issue 16): >= 30x moto.
"""
import base64
import http.client
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import time

AIRGAP = os.environ.get("AIRGAP_BIN", "airgap")
CLIENTS = int(os.environ.get("CLIENTS", "2"))
SECONDS = float(os.environ.get("SECONDS_PER_RUN", "3"))

TARGETS = {"secretsmanager": "secretsmanager", "ssm": "AmazonSSM", "kms": "TrentService"}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def call(conn, service, operation, body):
    data = json.dumps(body)
    conn.request("POST", "/", body=data, headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "%s.%s" % (TARGETS[service], operation),
        "Authorization": ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/%s/aws4_request, "
                          "SignedHeaders=host, Signature=00" % service)})
    resp = conn.getresponse()
    out = resp.read()
    if resp.status != 200:
        raise RuntimeError("%s.%s: %d %s" % (service, operation, resp.status, out[:300]))
    return json.loads(out) if out else {}


def setup(port):
    """The same resources on either emulator; returns each operation's call."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    key = call(conn, "kms", "CreateKey", {"Description": "bench"})["KeyMetadata"]["KeyId"]
    secret = json.dumps({"user": "app", "password": "x" * 32})
    call(conn, "secretsmanager", "CreateSecret", {"Name": "bench/db", "SecretString": secret})
    call(conn, "ssm", "PutParameter", {"Name": "/bench/db/password", "Value": "s3cret",
                                       "Type": "SecureString"})
    conn.close()
    plaintext = base64.b64encode(b"p" * 64).decode()
    return {
        "GetSecretValue": ("secretsmanager", "GetSecretValue", {"SecretId": "bench/db"}),
        "GetParameter": ("ssm", "GetParameter", {"Name": "/bench/db/password",
                                                 "WithDecryption": True}),
        "Encrypt": ("kms", "Encrypt", {"KeyId": key, "Plaintext": plaintext}),
    }


def client(port, spec, seconds, out):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    calls = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        call(conn, *spec)
        calls += 1
    conn.close()
    out.put(calls)


def ready(port, method, path):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request(method, path, body=b"" if method == "POST" else None)
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def launch(argv, port, ready_method, ready_path):
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    begin = time.monotonic()
    while not ready(port, ready_method, ready_path):
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %d" % (argv[0], proc.returncode))
        if time.monotonic() - begin > 30:
            stop(proc)
            raise RuntimeError("%s not ready after 30 s" % argv[0])
        time.sleep(0.01)
    return proc


def rate(port, spec):
    q = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=client, args=(port, spec, SECONDS, q))
               for _ in range(CLIENTS)]
    for w in workers:
        w.start()
    total = sum(q.get(timeout=SECONDS + 60) for _ in workers)
    for w in workers:
        w.join()
    return total / SECONDS


def moto_python():
    for candidate in (os.environ.get("MOTO_PYTHON"), shutil.which("python3")):
        try:
            if candidate and subprocess.run([candidate, "-c", "import moto.server"],
                                            capture_output=True).returncode == 0:
                return candidate
        except OSError:
            continue
    return None


def main():
    # Both emulators run at once and each operation is measured on one right
    # after the other, so that a busy shared machine weighs on both alike.
    servers, procs = {}, []
    try:
        port = free_port()
        procs.append(launch([AIRGAP, "emulator", "--listen", "127.0.0.1:%d" % port], port,
                            "GET", "/_localstack/health"))
        servers["airgap"] = (port, setup(port))
        py = moto_python()
        if py:
            port = free_port()
            procs.append(launch([py, "-m", "moto.server", "-p", str(port)], port,
                                "POST", "/moto-api/reset"))
            servers["moto"] = (port, setup(port))
        results = {name: {} for name in servers}
        for op in ("GetSecretValue", "GetParameter", "Encrypt"):
            for name, (port, specs) in servers.items():
                results[name][op] = rate(port, specs[op])
    finally:
        for p in procs:
            stop(p)
    print("%-22s %12s %12s %10s" % ("calls per second", "airgap", "moto", "ratio"))
    for op in ("GetSecretValue", "GetParameter", "Encrypt"):
        a = results["airgap"][op]
        m = results.get("moto", {}).get(op)
        print("%-22s %12.0f %12s %10s" % (op, a, "%.0f" % m if m else "unavailable",
                                          "%.1fx" % (a / max(m, 1e-9)) if m else "-"))
    print("(client: %d processes with keep-alive, %.0f s per operation and emulator)"
          % (CLIENTS, SECONDS))
    if "moto" not in servers:
        print("moto: unavailable (no `python3 -m moto.server`; set MOTO_PYTHON); "
              "airgap figures only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
