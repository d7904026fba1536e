#!/usr/bin/env bash
# The airgap command's dispatch: --version, help, per-command --help, unknown
# commands and flags (usage on stderr, exit 2), and the hand-over to
# airgap-runner (see agent/commands.h): found next to airgap or in the
# installed layout, a clear error when missing, and an emulator that does not
# load the runner's libraries.
set -u
bin=$1
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
for cmd in emulator queue agent serve run submit jobs show logs cancel wait; do
  check "$cmd --help" 0 "$bin" "$cmd" --help
  [ -s "$tmp/out" ] || fail "$cmd --help printed nothing"
  grep -q "usage: airgap $cmd" "$tmp/out" || fail "$cmd --help: not its own usage"
  check "help $cmd" 0 "$bin" help "$cmd"
  grep -q "usage: airgap $cmd" "$tmp/out" || fail "help $cmd: not its own usage"
  check "$cmd --no-such-flag" 2 "$bin" "$cmd" --no-such-flag
done

# The emulator's executable must not load what only the runner needs: that is
# what keeps `airgap emulator` starting in milliseconds.
needed=$(readelf -d "$bin" | grep NEEDED)
for lib in libcurl libgit2 libsqlite3 libarchive libpq; do
  if grep -q "$lib" <<<"$needed"; then fail "airgap links $lib"; fi
done
grep -q libmicrohttpd <<<"$needed" || fail "readelf found no libmicrohttpd: check broken"

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

echo "cli: $fails failures"
[ "$fails" -eq 0 ]
