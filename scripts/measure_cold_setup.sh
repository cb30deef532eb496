#!/usr/bin/env bash
# Measures a cold set-up (the README's figure): runs scripts/setup.sh with every build and download cache fresh
# (LACQUER_CACHE, GOCACHE, GOMODCACHE, CARGO_HOME, DENO_DIR, npm's cache) below /tmp/cold-<time>/, then once more
# warm, each in `time`. Debian packages and the Go and Rust toolchains are the machine's. Like any set-up it installs
# the ghost VMOD into Debian's VMOD directory and hitch as /usr/local/sbin/hitch, for every test on the machine:
# measure a checkout whose ghost/ is main's. Other work on the machine slows it down: the log states the load (uptime)
# at the start and the end and how busy the cores were (/proc/stat).
# Usage: scripts/measure_cold_setup.sh [log]   (default: setup.log in the caches' directory)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=/tmp/cold-$(date -u +%Y%m%d-%H%M%S)
log=${1:-$dir/setup.log}
mkdir -p "$dir"/{lacquer,gocache,gomodcache,cargo,deno,npm} "$(dirname "$log")"

# Busy and total jiffies of all cores (busy: neither idle nor waiting for I/O).
cpu_jiffies() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }

export LACQUER_CACHE=$dir/lacquer GOCACHE=$dir/gocache GOMODCACHE=$dir/gomodcache CARGO_HOME=$dir/cargo \
  DENO_DIR=$dir/deno npm_config_cache=$dir/npm
# rustup's proxies and toolchains stay where they are (RUSTUP_HOME); only cargo's registry and git caches are fresh.
export PATH="$HOME/.cargo/bin:$PATH"
{
  echo "cold set-up of $(git -C "$root" rev-parse --short HEAD) ($(git -C "$root" rev-parse --abbrev-ref HEAD)), caches in $dir"
  echo "start $(date -u +%T) uptime: $(uptime)"
} | tee "$log"
read -r busy0 total0 < <(cpu_jiffies)
status=0
{ time bash "$root/scripts/setup.sh"; } >>"$log" 2>&1 || status=$?
read -r busy1 total1 < <(cpu_jiffies)
{
  echo "end $(date -u +%T) status $status uptime: $(uptime)"
  echo "all cores busy $(((busy1 - busy0) * 100 / (total1 - total0)))% of the run (set-up and everything else)"
} | tee -a "$log"
[ "$status" = 0 ] || exit "$status"
echo "warm run:" | tee -a "$log"
{ time bash "$root/scripts/setup.sh"; } >>"$log" 2>&1
tail -n 4 "$log"
echo "caches kept in $dir (chmod -R u+w $dir/gomodcache before removing it)"
