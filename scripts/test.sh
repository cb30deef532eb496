#!/usr/bin/env bash
# The whole test suite from a fresh machine: installs what is missing, then runs `deno task test`.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$here/setup.sh"
exec "$here/deno" task test "$@"
