#!/usr/bin/env bash
# Runs cargo for the ghost workspace: build outputs go below $LACQUER_CACHE, and on Varnish 7.0-7.2 the
# varnish-sys crate is patched first (see patch_varnish_sys.sh). Usage: ghost/scripts/cargo.sh <cargo args...>
set -euo pipefail
ghost_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${LACQUER_CACHE:=$HOME/.cache/lacquer}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$LACQUER_CACHE/ghost-target}"
config=()
while IFS= read -r line; do
  [ -n "$line" ] && config+=(--config "$line")
done < <("$ghost_dir/scripts/patch_varnish_sys.sh")
cd "$ghost_dir"
# rustfmt needs no dependencies and cargo fmt rejects --config.
[ "${1:-}" = fmt ] && exec cargo "$@"
# Cargo names the workspace's own crates relative to the workspace root, so checkouts sharing a target dir build into
# the same artifacts, and cargo, comparing mtimes only, may take another checkout's build for this one's. After a
# build from another checkout, touching every crate root makes cargo build them from these sources.
stamp="$CARGO_TARGET_DIR/.ghost-checkout"
if [ "$(cat "$stamp" 2>/dev/null)" != "$ghost_dir" ]; then
  touch core/src/lib.rs transport/src/lib.rs vmod/src/lib.rs keeper/src/lib.rs keeper/src/main.rs keeper-preload/src/lib.rs
  mkdir -p "$CARGO_TARGET_DIR" && echo "$ghost_dir" >"$stamp"
fi
# After the subcommand, so that external subcommands (clippy) pass the options on to cargo as well.
exec cargo "$1" "${config[@]}" "${@:2}"
