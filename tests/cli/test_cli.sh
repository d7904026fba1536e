#!/usr/bin/env bash
# The airgap binary's command dispatch: --version, help, per-command --help,
# unknown commands and flags (usage on stderr, exit 2).
set -u
bin=$1
fails=0
check() { # check <description> <expected-exit> <command…>
  local what=$1 want=$2; shift 2
  "$@" >/tmp/airgap-cli.out 2>/tmp/airgap-cli.err
  local got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: $what: exit $got, want $want"; cat /tmp/airgap-cli.err; fails=$((fails + 1))
  fi
}
check "--version" 0 "$bin" --version
grep -q '^airgap [0-9]' /tmp/airgap-cli.out || { echo "FAIL: --version output"; fails=$((fails + 1)); }
check "no command" 2 "$bin"
grep -q 'usage: airgap' /tmp/airgap-cli.err || { echo "FAIL: usage not on stderr"; fails=$((fails + 1)); }
check "help" 0 "$bin" help
check "--help" 0 "$bin" --help
check "unknown command" 2 "$bin" frobnicate
grep -q "unknown command 'frobnicate'" /tmp/airgap-cli.err || { echo "FAIL: unknown command message"; fails=$((fails + 1)); }
check "help unknown" 2 "$bin" help frobnicate
for cmd in emulator queue agent serve run submit jobs show logs cancel wait; do
  check "$cmd --help" 0 "$bin" "$cmd" --help
  [ -s /tmp/airgap-cli.out ] || { echo "FAIL: $cmd --help printed nothing"; fails=$((fails + 1)); }
  check "help $cmd" 0 "$bin" help "$cmd"
  check "$cmd --no-such-flag" 2 "$bin" "$cmd" --no-such-flag
done
rm -f /tmp/airgap-cli.out /tmp/airgap-cli.err
echo "cli: $fails failures"
[ "$fails" -eq 0 ]
