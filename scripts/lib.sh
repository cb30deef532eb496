# Shared shell helpers for the scripts in this folder. Source it; do not run it.
# Everything the scripts install or build goes below LACQUER_CACHE, outside the repository.

: "${LACQUER_CACHE:=$HOME/.cache/lacquer}"
export LACQUER_CACHE
LACQUER_DENO_VERSION=2.9.6
LACQUER_DENO="$LACQUER_CACHE/bin/deno"

# Prints a progress line on stderr: "[setup] message", under set-up "[setup 2:31] message" (minutes and seconds since
# it started). In a background job (start_job), whose stderr is its log, the line also goes to the terminal (file
# descriptor LACQUER_STEP_FD), so its progress stays visible.
step() {
  local tag=${LACQUER_STEP_PREFIX:-setup} at line
  if [ -n "${LACQUER_SETUP_STARTED:-}" ]; then
    at=$((EPOCHSECONDS - LACQUER_SETUP_STARTED))
    tag+=" $((at / 60)):$(printf '%02d' $((at % 60)))"
  fi
  line=$(printf '\033[1m[%s]\033[0m %s' "$tag" "$*")
  printf '%s\n' "$line" >&2
  if [ -n "${LACQUER_STEP_FD:-}" ]; then printf '%s\n' "$line" >&"$LACQUER_STEP_FD"; fi
}

# Stops the script with a message on stderr (and on the terminal, in a background job).
die() {
  local line
  line=$(printf '[%s] error: %s' "${LACQUER_STEP_PREFIX:-setup}" "$*")
  printf '%s\n' "$line" >&2
  if [ -n "${LACQUER_STEP_FD:-}" ]; then printf '%s\n' "$line" >&"$LACQUER_STEP_FD"; fi
  exit 1
}

# Runs a command as root (directly when we are root, else through sudo).
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Background jobs: set-up runs the builds that do not need each other at the same time, so that both cores stay busy
# while one of them links, downloads or waits. Each job runs in a session of its own (setsid: the terminal's Ctrl-C
# reaches set-up only, which stops them all) with its output in a log; its step lines, named after the job, still
# reach the terminal.
declare -gA setup_jobs=() setup_job_logs=()

# start_job NAME LOG COMMAND...: starts COMMAND in the background; wait_job NAME, or the end of set-up, waits for it.
# COMMAND's status also goes to LOG.status once it ended: bash forgets a job that ended once it has reported it, and
# pids come round again (pid_max is 32768 here), so that file, not the pid, says whether the job has ended.
start_job() {
  local name=$1 log=$2
  shift 2
  mkdir -p "$(dirname "$log")"
  rm -f "$log.status"
  step "$name: started in the background (log: $log)"
  # shellcheck disable=SC2016 # expanded by the job's shell
  LACQUER_STEP_PREFIX=$name LACQUER_STEP_FD=3 setsid bash -c '"${@:2}"; s=$?; echo "$s" >"$1"; exit "$s"' \
    _ "$log.status" "$@" 3>&2 >"$log" 2>&1 </dev/null &
  setup_jobs[$name]=$!
  setup_job_logs[$name]=$log
  trap 'finish_jobs $?' EXIT
  trap 'stop_jobs; exit 129' HUP
  trap 'stop_jobs; exit 130' INT
  trap 'stop_jobs; exit 143' TERM
}

# Whether a job has ended (its status file, or its process gone without writing it: killed) or was reaped.
job_ended() {
  [ -n "${setup_jobs[$1]:-}" ] || return 0
  [ -s "${setup_job_logs[$1]}.status" ] || ! kill -0 "${setup_jobs[$1]}" 2>/dev/null
}

# Takes the status of a job that ended (`wait PID` keeps it for a pid it has not waited for); one that failed stops
# the others and set-up at once, with the end of its log.
reap_job() {
  local name=$1 status=0
  wait "${setup_jobs[$name]}" || status=$?
  unset "setup_jobs[$name]"
  if [ "$status" != 0 ]; then
    stop_jobs
    tail -n 20 "${setup_job_logs[$name]}" >&2
    die "$name failed with status $status (log: ${setup_job_logs[$name]})"
  fi
}

# Fails set-up when a job has already failed, without waiting for those still running (set-up calls it between steps,
# so that a failed build does not go unnoticed behind the steps after it).
check_jobs() {
  local name
  for name in "${!setup_jobs[@]}"; do
    if [ -n "${setup_jobs[$name]:-}" ] && job_ended "$name"; then reap_job "$name"; fi
  done
}

# Waits for a job (nothing when it was not started or was waited for), checking every second that no other job
# failed meanwhile.
wait_job() {
  local name=$1
  [ -n "${setup_jobs[$name]:-}" ] || return 0
  job_ended "$name" || step "waiting for $name"
  until job_ended "$name"; do
    sleep 1
    check_jobs
  done
  check_jobs
}

# Ends every job still running with everything it started (SIGTERM to its session's process group), and reaps them.
stop_jobs() {
  local name
  for name in "${!setup_jobs[@]}"; do kill -TERM -- "-${setup_jobs[$name]}" 2>/dev/null || true; done
  for name in "${!setup_jobs[@]}"; do wait "${setup_jobs[$name]}" 2>/dev/null || true; done
  setup_jobs=()
}

# The EXIT trap of a script that started jobs: when it succeeded, waits for the jobs left (and fails with the first
# that failed); when it failed (a failed step, Ctrl-C), stops them, so that nothing keeps building behind it.
finish_jobs() {
  local status=$1 name
  if [ "$status" != 0 ]; then stop_jobs; return 0; fi
  for name in "${!setup_jobs[@]}"; do wait_job "$name"; done
}
