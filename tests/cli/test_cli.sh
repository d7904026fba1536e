#!/usr/bin/env bash
# The airgap command's dispatch: --version, help, per-command --help (every
# flag with its default), unknown commands and flags (one line on stderr,
# exit 2), and the hand-over to airgap-runner (see cli/commands_int.h): found next
# to airgap or in the installed layout, a clear error when missing, and an
# emulator that does not load the runner's libraries. Then what a new user
# hits without Docker: run's errors when the engine cannot be reached, the
# emulator's address, logs/submit against a real queue.
set -u
bin=$(realpath "$1")
runner=$(dirname "$bin")/airgap-runner
tmp=$(mktemp -d /tmp/airgap-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { # check <description> <expected-exit> <command…>
  local what=$1 want=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then
    fail "$what: exit $got, want $want"; cat "$tmp/err"
  fi
}
check "--version" 0 "$bin" --version
grep -q '^airgap [0-9]' "$tmp/out" || fail "--version output"
check "no command" 2 "$bin"
grep -q 'usage: airgap' "$tmp/err" || fail "usage not on stderr"
check "help" 0 "$bin" help
check "--help" 0 "$bin" --help
check "unknown command" 2 "$bin" frobnicate
grep -q "unknown command 'frobnicate'" "$tmp/err" || fail "unknown command message"
check "help unknown" 2 "$bin" help frobnicate
check "help --help" 0 "$bin" help --help
grep -q 'usage: airgap <command>' "$tmp/out" || fail "help --help: not the usage"
check "help help" 0 "$bin" help help
check "unknown top-level flag" 2 "$bin" --frobnicate
grep -q "unknown flag '--frobnicate'" "$tmp/err" || fail "unknown top-level flag message"

# Every flag in a --help says its default (or that it is required, repeatable,
# or has none): one entry starts with "  -", its continuation lines are indented.
flags_without_default() {
  awk '/^  -/ { if (entry != "" && entry !~ /default|required|repeatable|--help +show/) print entry; entry = $0; next }
       /^       / && entry != "" { entry = entry " " $0; next }
       { if (entry != "" && entry !~ /default|required|repeatable|--help +show/) print entry; entry = "" }
       END { if (entry != "" && entry !~ /default|required|repeatable|--help +show/) print entry }' "$1"
}
for cmd in emulator queue agent serve run submit jobs show logs cancel wait; do
  check "$cmd --help" 0 "$bin" "$cmd" --help
  [ -s "$tmp/out" ] || fail "$cmd --help printed nothing"
  grep -q "usage: airgap $cmd" "$tmp/out" || fail "$cmd --help: not its own usage"
  missing=$(flags_without_default "$tmp/out")
  [ -z "$missing" ] || fail "$cmd --help: flags without a default: $missing"
  check "help $cmd" 0 "$bin" help "$cmd"
  grep -q "usage: airgap $cmd" "$tmp/out" || fail "help $cmd: not its own usage"
  # An unknown flag or a missing value: one line naming it and where the help is, not the usage.
  check "$cmd --no-such-flag" 2 "$bin" "$cmd" --no-such-flag
  grep -q "^airgap $cmd: unknown flag '--no-such-flag'\$" "$tmp/err" || fail "$cmd: unknown flag message"
  grep -q "see \`airgap $cmd --help\`" "$tmp/err" || fail "$cmd: unknown flag: no help hint"
  [ "$(wc -l <"$tmp/err")" -le 2 ] || fail "$cmd --no-such-flag: $(wc -l <"$tmp/err") lines on stderr"
  [ -s "$tmp/out" ] && fail "$cmd --no-such-flag printed on stdout"
done
check "missing value" 2 "$bin" submit --image
grep -q "flag '--image' needs a value" "$tmp/err" || fail "missing value message"
check "queue token create --help" 0 "$bin" queue token create --help
missing=$(flags_without_default "$tmp/out")
[ -z "$missing" ] || fail "queue token create --help: flags without a default: $missing"

# run and submit share their job flags; run offers no flag it would ignore.
"$bin" run --help >"$tmp/run-help"
"$bin" submit --help >"$tmp/submit-help"
for flag in --repo --ref --commit --image --script --env --secret --timeout --services --label \
  --memory --cpus --pids --mountpoint; do
  grep -q "^  $flag " "$tmp/run-help" || fail "run --help lacks $flag"
  grep -q "^  $flag " "$tmp/submit-help" || fail "submit --help lacks $flag"
done
for flag in --slots --labels; do
  grep -q "^  $flag " "$tmp/run-help" && fail "run --help lists $flag, which run cannot use"
  check "run $flag" 2 "$bin" run "$flag" 2 --repo /x --image x -- true
done
check "run: a bad agent flag value" 2 "$bin" run --log-level loud --repo / --image x -- true
grep -q "unknown log level 'loud'" "$tmp/err" || fail "run --log-level loud: $(cat "$tmp/err")"

# The emulator's executable must not load what only the runner needs: that is
# what keeps `airgap emulator` starting in milliseconds. Nor GnuTLS, which
# libmicrohttpd loads only for TLS (cmake/lean_emulator.cmake).
needed=$(readelf -d "$bin" | grep NEEDED)
for lib in libcurl libgit2 libsqlite3 libarchive libpq libgnutls; do
  if grep -q "$lib" <<<"$needed"; then fail "airgap links $lib"; fi
done
grep -q 'libc\.so' <<<"$needed" || fail "readelf found no libc: check broken"

# A missing runner: a clear error with exit 127; the emulator still works.
check "runner missing" 127 env AIRGAP_RUNNER=/nonexistent "$bin" jobs
grep -q "cannot find airgap-runner.*AIRGAP_RUNNER" "$tmp/err" || fail "missing runner message"
check "emulator without runner" 0 env AIRGAP_RUNNER=/nonexistent "$bin" emulator --help
mkdir -p "$tmp/alone" "$tmp/prefix/bin" "$tmp/prefix/lib/airgap"
cp "$bin" "$tmp/alone/airgap"
check "runner not next to airgap" 127 "$tmp/alone/airgap" wait --help
grep -q "$tmp/alone/airgap-runner" "$tmp/err" || fail "missing runner: paths tried not named"
# The installed layout: bin/airgap and lib/airgap/airgap-runner.
cp "$bin" "$tmp/prefix/bin/airgap"
ln -s "$(realpath "$runner")" "$tmp/prefix/lib/airgap/airgap-runner"
check "installed layout" 0 "$tmp/prefix/bin/airgap" wait --help
grep -q "usage: airgap wait" "$tmp/out" || fail "installed layout: wrong usage"
check "AIRGAP_RUNNER" 0 env AIRGAP_RUNNER="$(realpath "$runner")" "$tmp/alone/airgap" jobs --help
# The runner's exit status is the command's own (wait exits 4 when the queue is unreachable).
check "exit status passes through" 4 "$bin" wait --queue http://127.0.0.1:9 job-1
# The runner alone explains itself.
check "runner without command" 2 "$runner"
grep -q "airgap <command>" "$tmp/err" || fail "runner usage message"

# The emulator says where it listens, and keeps "Ready." alone on its line.
"$bin" emulator --listen 127.0.0.1:0 >"$tmp/emu" 2>"$tmp/emu-err" &
emu=$!
for _ in $(seq 100); do grep -qx 'Ready.' "$tmp/emu" && break; sleep 0.1; done
kill "$emu"; wait "$emu"
grep -qx 'Ready.' "$tmp/emu" || fail "emulator: no Ready. line"
port=$(sed -n 's/^Listening on \([0-9]*\)$/\1/p' "$tmp/emu")
grep -qx "AWS endpoint: http://127.0.0.1:$port" "$tmp/emu" || fail "emulator: no endpoint line: $(cat "$tmp/emu")"

# `airgap run` when the Docker engine cannot be reached: errored (125) with the
# real cause, before any job is queued; never canceled (130).
repo=$tmp/repo
git init -q -b main "$repo" && echo hi >"$repo/README" && git -C "$repo" add -A &&
  git -C "$repo" -c user.email=t@example.com -c user.name=t commit -qm i
run_unreachable() { # run_unreachable <description> <expected stderr pattern> <env…>
  local what=$1 want=$2; shift 2
  check "run: $what" 125 env "$@" "$bin" run --repo "$repo" --image airgap-test/busybox \
    --network none --pull never -- true
  grep -q "$want" "$tmp/err" || fail "run: $what: message: $(cat "$tmp/err")"
  grep -q "canceled\|http://127.0.0.1" "$tmp/err" && fail "run: $what: says canceled or the queue URL"
}
run_unreachable "no socket" "no socket at /nonexistent.sock" DOCKER_HOST=unix:///nonexistent.sock
run_unreachable "tcp DOCKER_HOST" "tcp://127.0.0.1:2375' is not supported" \
  DOCKER_HOST=tcp://127.0.0.1:2375
touch "$tmp/plain"
run_unreachable "not a socket" "$tmp/plain is not a socket" DOCKER_HOST="unix://$tmp/plain"
# Permission denied: a socket of root's with mode 000, and a user who is not root.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
  chmod 755 "$tmp"
  /usr/bin/python3 -c 'import os, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); os.chmod(sys.argv[1], 0)
print("up", flush=True); time.sleep(60)' "$tmp/deny.sock" >"$tmp/sock-up" &
  sock=$!
  for _ in $(seq 50); do [ -s "$tmp/sock-up" ] && break; sleep 0.1; done
  chmod -R a+rX "$repo"
  run_unreachable "permission denied" "permission denied on $tmp/deny.sock" \
    DOCKER_HOST="unix://$tmp/deny.sock" setpriv --reuid=65534 --regid=65534 --clear-groups
  grep -q "is dockerd running" "$tmp/err" && fail "permission denied: blames dockerd"
  kill "$sock"; wait "$sock" 2>/dev/null
else
  echo "cli: permission-denied case skipped (needs root and setpriv)"
fi

# The client commands against a real queue (no Docker: nothing leases the jobs).
"$bin" queue --listen 127.0.0.1:0 --data "$tmp/queue" --log-level warn >"$tmp/queue.out" &
queue=$!
for _ in $(seq 100); do grep -q "listening on" "$tmp/queue.out" && break; sleep 0.1; done
url=$(sed -n 's/.*listening on //p' "$tmp/queue.out")
token=$("$bin" queue token create --role client --data "$tmp/queue")
export AIRGAP_QUEUE=$url AIRGAP_TOKEN=$token
# logs: an unknown job is an error on stderr, never the error's JSON on stdout.
check "logs of an unknown job" 1 "$bin" logs 0123456789abcdef
[ -s "$tmp/out" ] && fail "logs of an unknown job printed on stdout: $(cat "$tmp/out")"
grep -q "no job 0123456789abcdef" "$tmp/err" || fail "logs: unknown job message: $(cat "$tmp/err")"
check "logs with a wrong token" 1 env AIRGAP_TOKEN=aq_bad_token "$bin" logs 0123456789abcdef
[ -s "$tmp/out" ] && fail "logs with a wrong token printed on stdout: $(cat "$tmp/out")"
# submit: a missing directory says so; a relative one becomes absolute; the
# command's words are quoted so that /bin/sh -c runs exactly them.
check "submit: no such directory" 2 "$bin" submit --repo "$tmp/missing" --image x -- true
grep -q "no such directory" "$tmp/err" || fail "submit: missing repo message: $(cat "$tmp/err")"
check "submit --repo ." 0 sh -c "cd '$repo' && '$bin' submit --repo . --image airgap-test/busybox -- sh -c 'echo \"a b\"; exit 3'"
id=$(cat "$tmp/out")
check "show" 0 "$bin" show "$id"
grep -qx "repo:      $(realpath "$repo")" "$tmp/out" || fail "submit --repo .: not absolute: $(cat "$tmp/out")"
grep -qx "sh -c 'echo \"a b\"; exit 3'" "$tmp/out" || fail "submit: script not quoted: $(cat "$tmp/out")"
check "submit: a URL is left alone" 0 "$bin" submit --repo https://git.example.com/app.git \
  --image x --script 'echo $HOME'
check "submit --script and a command" 2 "$bin" submit --repo "$repo" --image x --script x -- y
# Several servers: a dead one is passed over, a malformed list refused.
check "show: fails over past a dead server" 0 "$bin" show --queue "http://127.0.0.1:9,$AIRGAP_QUEUE" "$id"
grep -q "trying $AIRGAP_QUEUE" "$tmp/err" || fail "show: no word of the failover: $(cat "$tmp/err")"
check "show: a malformed server list" 1 "$bin" show --queue "$AIRGAP_QUEUE,ftp://x" "$id"
grep -q "several separated by commas" "$tmp/err" || fail "malformed list message: $(cat "$tmp/err")"
kill "$queue"; wait "$queue"
unset AIRGAP_QUEUE AIRGAP_TOKEN

echo "cli: $fails failures"
[ "$fails" -eq 0 ]
