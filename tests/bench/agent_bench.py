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

Then the local one-shot, `airgap run --repo R --image IMAGE -- true` (embedded
queue and agent, start to exit), in pairs with `docker run --rm IMAGE true`:
median, p90 and max of each and the median of the per-pair differences (the
issue's target: airgap run <= docker run + 50 ms), and the run's timeline:
when each step happened, from the debug log's timestamps (median over the
pairs).

    ... agent_bench.py [RUNS] [ONESHOT_PAIRS]    (defaults 5 and 10; RUNS 0: only
                                                  the one-shot)
"""
import datetime
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


# The one-shot's steps, from its --log-level debug lines (wall-clock
# timestamps), in the order they happen.
STEPS = (
    ("embedded queue listening", r"queue: listening on port"),
    ("agent started", r"agent: agent run-"),
    ("job leased", r"agent: job \w+: leased"),
    ("sandbox ahead created", r"sandbox ahead created at"),
    ("supervisor: image checked", r"image checked at"),
    ("supervisor: sandbox created", r"sandbox created at"),
    ("supervisor: workspace ready", r"workspace ready at"),
    ("supervisor: job container created", r"job container created at"),
    ("sandbox ahead running", r"sandbox ahead running at"),
    ("supervisor: sandbox running", r"sandbox running at"),
    ("supervisor: emulator answers", r"emulator up at"),
    ("supervisor: job container started", r"job container started at"),
    ("supervisor: job container exited", r"job container exited at"),
    ("teardown: job containers removed", r"teardown: job containers gone"),
    ("teardown: sandbox removed", r"teardown: emulator and sandbox gone"),
    ("final status stored", r"queue: job \w+ passed"),
    ("supervisor collected", r"supervisor done"),
)
STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z ")


# AIRGAP_BEFORE_BIN: another build (say the previous commit's), whose
# one-shot is timed in turn with this one's and docker run's.
BEFORE = os.environ.get("AIRGAP_BEFORE_BIN")


def airgap_run_ms(repo, binary=None):
    """Start to exit of `airgap run`, and when each step happened (ms from
    the start; steps whose line is missing are left out)."""
    start_wall = time.time()
    start = time.perf_counter()
    done = subprocess.run([binary or e2e.AIRGAP, "run", "--repo", repo, "--image", IMAGE, "--pull", "never",
                           "--network", "none", "--log-level", "debug", "--", "true"],
                          check=True, capture_output=True, text=True)
    total = (time.perf_counter() - start) * 1000
    steps = {}
    for line in done.stderr.splitlines():
        m = STAMP.match(line)
        if not m:
            continue
        when = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f")
        at = (when.replace(tzinfo=datetime.timezone.utc).timestamp() - start_wall) * 1000
        for label, pattern in STEPS:
            if label not in steps and re.search(pattern, line):
                steps[label] = at
    return total, steps


def pct(values, p):
    """Nearest-rank percentile: always a measured value."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def oneshot(repo, pairs):
    airgap_run_ms(repo)  # the sandbox image for this binary, the page cache
    runs, docker, timelines, before = [], [], [], []
    if BEFORE:
        airgap_run_ms(repo, BEFORE)
    for i in range(pairs):
        if BEFORE:
            before.append(airgap_run_ms(repo, BEFORE)[0])
        # alternate which goes first, so neither always follows the other
        if i % 2:
            docker.append(docker_run_ms())
            total, steps = airgap_run_ms(repo)
        else:
            total, steps = airgap_run_ms(repo)
            docker.append(docker_run_ms())
        runs.append(total)
        timelines.append(steps)
    diffs = [a - d for a, d in zip(runs, docker)]
    print("local one-shot, %d pairs, network none" % pairs)
    print("  %-44s %9s %9s %9s" % ("", "median", "p90", "max"))
    for label, values in (("airgap run -- true", runs),
                          ("docker run --rm %s true" % IMAGE, docker),
                          ("difference within a pair", diffs)):
        print("  %-44s %7.0f ms %6.0f ms %6.0f ms" % (label, statistics.median(values),
                                                    pct(values, 90), max(values)))
    print("  %-44s %9.2f   (target: difference <= 50 ms)" %
          ("ratio of medians", statistics.median(runs) / statistics.median(docker)))
    if BEFORE:
        print("  %-44s %7.0f ms %6.0f ms %6.0f ms  (ratio %.2f)" % (
            "AIRGAP_BEFORE_BIN run -- true", statistics.median(before), pct(before, 90),
            max(before), statistics.median(before) / statistics.median(docker)))
    print("  timeline of a run (median ms from the start of `airgap run`; the time"
          " since the step before)")
    previous = 0.0
    medians = []
    for label, _ in STEPS:
        seen = [t[label] for t in timelines if label in t]
        if seen:
            medians.append((statistics.median(seen), label))
    # in the order they happened: the sandbox started ahead runs beside the rest
    for at, label in sorted(medians):
        print("    %-44s %7.0f ms %+7.0f ms" % (label, at, at - previous))
        previous = at
    print("    %-44s %7.0f ms %+7.0f ms" % ("exit", statistics.median(runs),
                                            statistics.median(runs) - previous))


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
    pairs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    if not e2e.AIRGAP:
        raise SystemExit("set AIRGAP_BIN to the airgap binary")
    tmp = tempfile.mkdtemp(prefix="airgap-agent-bench-")
    results, docker = {}, []
    try:
        repo = e2e.make_repo(tmp, {"README": "bench\n"})
        if runs == 0:  # only the one-shot
            oneshot(repo, pairs)
            return
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
        if pairs > 0:
            oneshot(repo, pairs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
