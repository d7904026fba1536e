#!/usr/bin/env bash
# deploy/compose.yaml end to end (issue #18): the airgap image built from the
# build under test (deploy/airgap-image), a PostgreSQL image made from this
# machine's package (tests/deploy/postgres-image), `docker-compose up` of
# PostgreSQL, two queue servers and two agents in containers; a job submitted
# through both servers' URLs runs on an agent and passes with its log; then
# `down -v` leaves no container, mount or volume behind. Exit 77 (skipped)
# when docker-compose or PostgreSQL is not installed.
set -euo pipefail
bin=${AIRGAP_BIN:?AIRGAP_BIN names the airgap under test}
root=${AIRGAP_SOURCE_DIR:?}
command -v docker-compose >/dev/null || { echo "skipped: docker-compose is not installed"; exit 77; }
build=$(cd "$(dirname "$bin")/.." && pwd)
tag=airgap-test/airgap:compose-$$
pgtag=airgap-test/postgres:compose-$$
project=airgapcompose$$
hostdir=$(mktemp -d /tmp/airgap-compose-XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export AIRGAP_IMAGE=$tag AIRGAP_POSTGRES_IMAGE=$pgtag AIRGAP_HOST_DIR=$hostdir
export AIRGAP_PORT_A=$(free_port) AIRGAP_PORT_B=$(free_port) AIRGAP_AGENT_FLAGS=--allow-local-repos
compose() { docker-compose -p "$project" -f "$root/deploy/compose.yaml" "$@"; }
mounted=0
cleanup() {
  compose logs --no-color >"$hostdir.compose.log" 2>&1 || true
  compose down -v --remove-orphans >/dev/null 2>&1 || true
  for agent in compose-agent-1 compose-agent-2; do
    ids=$(docker ps -aq --filter "label=airgap.agent=$agent")
    [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
  done
  if [ "$mounted" = 1 ]; then
    grep " $hostdir/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l || true
    umount -l "$hostdir" || true
  fi
  docker image rm "$tag" "$pgtag" >/dev/null 2>&1 || true
  rm -rf "$hostdir" "$hostdir.compose.log" "$hostdir.up.err"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  compose ps >&2 || true
  compose logs --no-color --tail=40 >&2 || true
  exit 1
}

"$root/tests/deploy/postgres-image" "$pgtag" >/dev/null || { rc=$?; [ $rc -eq 77 ] && { echo "skipped: no PostgreSQL"; exit 77; }; exit $rc; }
"$root/deploy/airgap-image" --build "$build" --tag "$tag" >/dev/null
# The agents' directories are bound rshared: the overlay mounts they make must
# reach the host's engine, so the directory must be a shared mount point.
mount --bind "$hostdir" "$hostdir" && mounted=1
mount --make-rshared "$hostdir"
repo=$hostdir/repo
git init -q -b main "$repo"
echo "from compose" >"$repo/README"
git -C "$repo" -c user.email=t@example.com -c user.name=t add README
git -C "$repo" -c user.email=t@example.com -c user.name=t commit -qm initial

compose up -d >/dev/null 2>"$hostdir.up.err" || { cat "$hostdir.up.err" >&2; fail "compose up"; }
queue="http://127.0.0.1:$AIRGAP_PORT_A,http://127.0.0.1:$AIRGAP_PORT_B"
client=
for _ in $(seq 1 120); do
  client=$(compose exec -T queue-a cat /tokens/client 2>/dev/null || true)
  [ -n "$client" ] && curl -fsS "http://127.0.0.1:$AIRGAP_PORT_B/healthz" >/dev/null 2>&1 && break
  sleep 1
done
[ -n "$client" ] || fail "no client token after 120 s"
export AIRGAP_QUEUE=$queue AIRGAP_TOKEN=$client
id=$("$bin" submit --repo "$repo" --image airgap-test/busybox -- sh -c 'echo "job says: $(cat README)"') ||
  fail "submit"
"$bin" wait --timeout 240 "$id" >/dev/null 2>&1 || fail "job $id did not pass: $("$bin" show "$id" 2>&1)"
log=$("$bin" logs "$id")
grep -q "job says: from compose" <<<"$log" || fail "the job's log: $log"
grep -q "on agent compose-agent-" <<<"$log" || fail "no agent named in the log: $log"

compose down -v --remove-orphans >/dev/null 2>&1
left=$(docker ps -aq --filter "label=airgap.agent=compose-agent-1"; docker ps -aq --filter "label=airgap.agent=compose-agent-2")
[ -z "$left" ] || fail "containers left: $left"
if grep -q " $hostdir/" /proc/mounts; then fail "mounts left: $(grep " $hostdir/" /proc/mounts)"; fi
echo "ok: a job ran through deploy/compose.yaml (PostgreSQL, two queue servers, two agents)"
