#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing, then starts a local cluster with Lacquer and a demo app,
# sends traffic through the gateway, and stays up until Ctrl-C (`deno task demo`).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$here/setup.sh"
exec "$here/deno" task demo "$@"
