#!/usr/bin/python3
"""Overhead of a trivial job (`true`) through the whole airgap path — submit,
lease, workspace, sandbox + emulator, job container, teardown, final status —
beside `docker run --rm IMAGE true` measured in the same run.

    AIRGAP_BIN=build/x/cli/airgap /usr/bin/python3 tests/bench/agent_bench.py [RUNS]

Needs root, Docker and the airgap-test/busybox image (tests/images/build).
Sandboxes use network none. The figures are medians; the first airgap job
(cold snapshot) is not counted. airgap is measured twice: with a warm
sandbox (the agent starts the next job's network namespace ahead of the
lease; the default) and with --warm-sandbox no.
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent"))
import test_agent_e2e as e2e  # noqa: E402  (the same queue/agent harness)

IMAGE = "airgap-test/busybox"


def docker_run_ms():
    start = time.perf_counter()
    subprocess.run(["docker", "run", "--rm", "--network", "none", IMAGE, "true"], check=True,
                   capture_output=True)
    return (time.perf_counter() - start) * 1000


def airgap_job_ms(cluster, repo):
    start = time.perf_counter()
    job_id = cluster.submit(repo, "true")
    # The follow request returns when the job has ended (final status stored).
    req = urllib.request.Request("%s/v1/jobs/%s/logs?offset=0&follow=1" % (cluster.url, job_id),
                                 headers={"Authorization": "Bearer " + cluster.token})
    log = urllib.request.urlopen(req, timeout=120).read().decode()
    total = (time.perf_counter() - start) * 1000
    state = cluster.job(job_id)["state"]
    if state != "passed":
        raise SystemExit("job %s %s:\n%s" % (job_id, state, log))
    parts = {}
    m = re.search(r"workspace ready: commit \w+ \((\d+) ms\)", log)
    parts["workspace (beside image check + sandbox)"] = int(m.group(1)) if m else 0
    m = re.search(r"job container started \((\d+) ms after .*?, (\d+) ms after the supervisor", log)
    parts["emulator + job container start"] = int(m.group(1)) if m else 0
    parts["supervisor start -> job container running"] = int(m.group(2)) if m else 0
    m = re.search(r"container exited with code 0 after (\d+) ms", log)
    parts["container ran"] = int(m.group(1)) if m else 0
    m = re.search(r"cleaned up in (\d+) ms", log)
    parts["teardown"] = int(m.group(1)) if m else 0
    return total, parts


def measure(cluster, repo, runs, docker):
    airgap, parts = [], []
    for _ in range(runs):
        docker.append(docker_run_ms())
        total, p = airgap_job_ms(cluster, repo)
        airgap.append(total)
        parts.append(p)
    return statistics.median(airgap), {k: statistics.median(p[k] for p in parts) for k in parts[0]}


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    if not e2e.AIRGAP:
        raise SystemExit("set AIRGAP_BIN to the airgap binary")
    tmp = tempfile.mkdtemp(prefix="airgap-agent-bench-")
    results, docker = {}, []
    try:
        repo = e2e.make_repo(tmp, {"README": "bench\n"})
        for warm in ("yes", "no"):
            cluster = e2e.Cluster(agent_args=["--warm-sandbox", warm])
            try:
                airgap_job_ms(cluster, repo)  # warm up: mirror, snapshot, image metadata
                time.sleep(0.5)  # let the agent start its next warm sandbox
                results[warm] = measure(cluster, repo, runs, docker)
            finally:
                cluster.close()
        d = statistics.median(docker)
        print("trivial job (`true`), median of %d runs each, network none" % runs)
        print("  %-52s %7.0f ms" % ("docker run --rm %s true" % IMAGE, d))
        for warm, label in (("yes", "warm sandbox (default)"), ("no", "--warm-sandbox no")):
            total, parts = results[warm]
            print("  airgap, %s:" % label)
            print("    %-50s %7.0f ms" % ("submit -> final status", total))
            print("    %-50s %+7.0f ms" % ("added beyond docker run --rm", total - d))
            for key, value in parts.items():
                print("      %-48s %7.0f ms" % (key, value))
            ran = parts["container ran"]
            print("      %-48s %7.0f ms" % ("(container exit -> final status, approx.)",
                                             parts["teardown"]))
            print("      %-48s %7.0f ms" % ("(submit -> container start, approx.)",
                                             total - ran - parts["teardown"]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
