#!/usr/bin/env bash
# The whole test suite from a fresh machine: installs what is missing, then runs `deno task test` (TypeScript, then
# Rust) and closes with one line totalling every runner's results: "N passed, N failed".
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$here/setup.sh"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
"$here/deno" task test "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# Deno ends with "ok | 223 passed (182 steps) | 0 failed", cargo with "test result: ok. 15 passed; 0 failed; ...".
plain=$(sed 's/\x1b\[[0-9;]*m//g' "$log")
count() {
  printf '%s\n' "$plain" | grep -oE "$1" | grep -oE '[0-9]+' | awk '{ s += $1 } END { print s + 0 }'
}
passed=$(($(count '\| [0-9]+ passed') + $(count 'test result: [a-zA-Z]+\. [0-9]+ passed')))
failed=$(($(count '\| [0-9]+ failed') + $(count '; [0-9]+ failed')))
echo "tests: $passed passed, $failed failed"
exit "$status"
