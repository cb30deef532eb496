#!/usr/bin/env bash
# Installs everything Lacquer needs to build, test and run on a Debian bookworm machine, idempotently.
# Each step lives in scripts/setup.d/NN-name.sh and skips its work when it is already done; builds are cached
# below $LACQUER_CACHE (default ~/.cache/lacquer), never inside the repository.
# Usage: scripts/setup.sh [step-name...]   (no names: every step, in order)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
LACQUER_ROOT=$(cd "$here/.." && pwd)
export LACQUER_ROOT

started=$(date +%s)
for file in "$here"/setup.d/*.sh; do
  name=$(basename "$file" .sh); name=${name#*-}
  if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then continue; fi
  step "$name"
  # shellcheck disable=SC1090
  . "$file"
done
step "done in $(($(date +%s) - started)) s"
