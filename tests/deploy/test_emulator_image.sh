#!/usr/bin/env bash
# deploy/emulator-image end to end: builds the image from the airgap under test,
# runs it with network none (the test reaches it inside the container's own
# network namespace with nsenter), drives it with Debian's boto3, runs an init
# hook mounted at /etc/localstack/init, and checks it stops at once and cleanly
# on `docker stop`, and that nothing is left behind.
set -euo pipefail
bin=${AIRGAP_BIN:?AIRGAP_BIN names the airgap under test}
root=${AIRGAP_SOURCE_DIR:?}
tag=airgap-test/emulator-image:$$
tmp=$(mktemp -d /tmp/airgap-image-test-XXXXXX)
cid=
cleanup() {
  [ -z "$cid" ] || docker rm -f "$cid" >/dev/null 2>&1 || true
  docker image rm "$tag" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -z "$cid" ] || docker logs "$cid" >&2 || true; exit 1; }

"$root/deploy/emulator-image" --airgap "$bin" --tag "$tag" >/dev/null
size=$(docker image inspect -f '{{ .Size }}' "$tag")
# Sanitizer builds carry libasan and libubsan: still far under LocalStack's 1 GB.
[ "$size" -lt $((64 << 20)) ] || fail "image is $size bytes"
[ "$(docker image inspect -f '{{ json .Config.Entrypoint }}' "$tag")" = '["/usr/local/bin/airgap","emulator"]' ] ||
  fail "entrypoint"

# A refused argument: the wrong executable (the runner links libcurl).
if "$root/deploy/emulator-image" --airgap "$(dirname "$bin")/airgap-runner" --tag "$tag-wrong" 2>"$tmp/err"; then
  fail "packaged airgap-runner"
fi
grep -q "airgap-runner, not airgap" "$tmp/err" || fail "wrong executable message"

mkdir -p "$tmp/init/ready.d"
# The hook leaves a background process: it is stopped when the hook ends, and the
# emulator, PID 1 here, reaps it (no zombie left in the container).
printf '#!/bin/sh\nsleep 300 &\necho "hook saw $AWS_ENDPOINT_URL" > /tmp/hooked\n' >"$tmp/init/ready.d/10-hook.sh"
chmod +x "$tmp/init/ready.d/10-hook.sh"
# LeakSanitizer cannot stop the world inside a container's default seccomp profile.
cid=$(docker run -d --network none -e ASAN_OPTIONS=detect_leaks=0 \
  -v "$tmp/init:/etc/localstack/init:ro" "$tag")
for _ in $(seq 100); do
  docker logs "$cid" 2>/dev/null | grep -qx 'Ready.' && break
  sleep 0.1
done
docker logs "$cid" 2>/dev/null | grep -qx 'Ready.' || fail "no Ready."
pid=$(docker inspect -f '{{ .State.Pid }}' "$cid")

nsenter --net="/proc/$pid/ns/net" /usr/bin/python3 - <<'PY' || fail "clients inside the container's network"
import json, time, urllib.request
import boto3
url = "http://127.0.0.1:4566"
health = json.load(urllib.request.urlopen(url + "/_localstack/health", timeout=5))
assert health["edition"] == "community" and "sqs" in health["services"], health
kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
          aws_secret_access_key="test")
sqs = boto3.client("sqs", **kw)
q = sqs.create_queue(QueueName="in-image")["QueueUrl"]
sqs.send_message(QueueUrl=q, MessageBody="hello")
got = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=1)["Messages"]
assert got[0]["Body"] == "hello", got
s3 = boto3.client("s3", **kw)
s3.create_bucket(Bucket="in-image")
s3.put_object(Bucket="in-image", Key="k", Body=b"v" * 5000)
assert s3.get_object(Bucket="in-image", Key="k")["Body"].read() == b"v" * 5000
for _ in range(100):
    ready = json.load(urllib.request.urlopen(url + "/_localstack/init/ready", timeout=5))
    if ready["completed"]:
        break
    time.sleep(0.05)
assert ready == {"completed": True, "scripts": [
    {"stage": "READY", "name": "10-hook.sh", "state": "SUCCESSFUL"}]}, ready
PY
[ "$(docker exec "$cid" cat /tmp/hooked)" = "hook saw http://127.0.0.1:4566" ] || fail "init hook output"
docker exec "$cid" ps -o pid,stat,comm >"$tmp/ps"
if grep -Eq ' Z |sleep' "$tmp/ps"; then cat "$tmp/ps" >&2; fail "the hook's process lingers"; fi

start=$(date +%s%N)
docker stop -t 10 "$cid" >/dev/null
took=$((($(date +%s%N) - start) / 1000000))
[ "$took" -lt 3000 ] || fail "docker stop took $took ms (SIGTERM ignored?)"
[ "$(docker inspect -f '{{ .State.ExitCode }}' "$cid")" = 0 ] || fail "exit code $(docker inspect -f '{{ .State.ExitCode }}' "$cid")"
docker rm "$cid" >/dev/null
cid=
echo "emulator image: ok ($((size >> 20)) MiB, stopped in $took ms)"
