# Shared shell helpers for the scripts in this folder. Source it; do not run it.
# Everything the scripts install or build goes below LACQUER_CACHE, outside the repository.

: "${LACQUER_CACHE:=$HOME/.cache/lacquer}"
export LACQUER_CACHE
LACQUER_DENO_VERSION=2.9.6
LACQUER_DENO="$LACQUER_CACHE/bin/deno"

# Prints a progress line on stderr: "[setup] message".
step() { printf '\033[1m[%s]\033[0m %s\n' "${LACQUER_STEP_PREFIX:-setup}" "$*" >&2; }

# Stops the script with a message on stderr.
die() { printf '[%s] error: %s\n' "${LACQUER_STEP_PREFIX:-setup}" "$*" >&2; exit 1; }

# Runs a command as root (directly when we are root, else through sudo).
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
