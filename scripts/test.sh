#!/usr/bin/env bash
# The whole test suite from a fresh machine (what CI runs, through .ci/run): installs what is missing, then runs the
# TypeScript tests (`deno task test:ts`, arguments go to `deno test`), the Rust tests with each varnishtest file, and
# the Gateway API conformance profile (tests/conformance/), each step even when an earlier one failed. It closes with
# one line per kind of test (product, harness, doc examples, Rust, .vtc files, conformance; passed, failed, ignored),
# a line naming each failed test (the Rust tests run to the end even when one fails: --no-fail-fast),
# and the total "tests: N passed, N failed"; it fails when any step failed.
#
# Every step runs under one overall deadline, LACQUER_TEST_TIMEOUT_MINUTES (default 80; CI stops a run at 90): a
# step still running then is stopped and the run fails saying so.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
started=$(date +%s)
deadline=$((started + ${LACQUER_TEST_TIMEOUT_MINUTES:-80} * 60))
"$here/setup.sh"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0

# step <name> <log> <command...>: runs the command until the deadline, its output to the terminal and <log>.
step() {
  local name=$1 log=$2 code left
  shift 2
  left=$((deadline - $(date +%s)))
  if [ "$left" -le 0 ]; then
    echo "test.sh: step $name not started: the overall deadline of ${LACQUER_TEST_TIMEOUT_MINUTES:-80} min has passed" >&2
    code=124
  else
    set +e
    # SIGTERM first: the runners stop their clusters; SIGKILL a minute later
    timeout --kill-after=60 "$left" "$@" 2>&1 | tee "$log"
    code=${PIPESTATUS[0]}
    set -e
    if [ "$code" -eq 124 ] || [ "$code" -eq 137 ]; then
      echo "test.sh: step $name stopped: the overall deadline of ${LACQUER_TEST_TIMEOUT_MINUTES:-80} min was reached" >&2
    fi
  fi
  echo "$name $code" >>"$out/status"
  [ "$code" -eq 0 ] || status=1
}

cd "$root"
step typescript "$out/deno.log" "$here/deno" task test:ts --junit-path="$out/deno.xml" "$@"
step rust "$out/cargo.log" env VTC_RESULTS="$out/vtc.txt" bash -c \
  'bash ghost/scripts/cargo.sh build -p vmod_ghost && bash ghost/scripts/cargo.sh test --workspace --no-fail-fast'
step conformance "$out/conformance.log" "$here/deno" run --allow-all tests/conformance/run_conformance.ts
echo "test.sh: took $(($(date +%s) - started)) s"
"$here/deno" run --allow-read tests/summary/print_summary.ts "$out" || status=1
exit "$status"
