#!/usr/bin/env bash
# Installs everything Lacquer needs to build, test and run on a Debian bookworm machine, idempotently.
# Each step lives in scripts/setup.d/NN-name.sh and skips its work when it is already done; builds are cached
# below $LACQUER_CACHE (default ~/.cache/lacquer), never inside the repository. The Go builds and the images' base
# layers run as background jobs beside the steps after them (lib.sh, start_job): set-up ends once all succeeded, and
# stops them all when one fails or on Ctrl-C; each keeps its log below $LACQUER_CACHE.
# Usage: scripts/setup.sh [step-name...]   (no names: every step, in order)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
LACQUER_ROOT=$(cd "$here/.." && pwd)
export LACQUER_ROOT

# Every step line then says when it came (lib.sh, step), which is what the README's set-up figures are read from.
LACQUER_SETUP_STARTED=$EPOCHSECONDS
export LACQUER_SETUP_STARTED
for file in "$here"/setup.d/*.sh; do
  name=$(basename "$file" .sh); name=${name#*-}
  if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then continue; fi
  check_jobs
  step "$name"
  # shellcheck disable=SC1090
  . "$file"
done
finish_jobs 0
step "done in $((EPOCHSECONDS - LACQUER_SETUP_STARTED)) s"
