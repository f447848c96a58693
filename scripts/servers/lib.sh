# Shared helpers for the test-server scripts in this folder. Sourced, not run.
# shellcheck shell=bash disable=SC2034

SERVERS_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SERVERS_SCRIPT_DIR/../.." && pwd)"
# Every server keeps its files under $SERVERS_CACHE/<name>/ (ignored by git).
SERVERS_CACHE="${KONGPY_TEST_SERVERS_DIR:-$REPO_ROOT/.cache/servers}"
# Seconds that `start` waits for a server to answer queries.
START_TIMEOUT="${KONGPY_TEST_SERVER_TIMEOUT:-}"

log() { printf '==> %s\n' "$*" >&2; }

die() {
    printf '==> ERROR: %s\n' "$*" >&2
    exit 1
}

is_root() { [[ $(id -u) -eq 0 ]]; }

# Installs Debian packages when running as root; otherwise explains what is missing.
apt_install() {
    if ! is_root; then
        die "missing package(s) $*: run 'sudo apt-get install $*' (or scripts/setup.sh --dev)"
    fi
    log "installing Debian package(s): $*"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Prints the last lines of a log file, indented, to stderr.
log_tail() {
    local file="$1" lines="${2:-40}"
    if [[ -s "$file" ]]; then
        printf '==> last %s lines of %s:\n' "$lines" "$file" >&2
        tail -n "$lines" "$file" | cut -c1-400 | sed 's/^/    /' >&2
    else
        printf '==> (log %s is empty or missing)\n' "$file" >&2
    fi
}

# Serialises start/stop/reset of one server between concurrent callers.
# Usage: take_lock DIR (the lock is released when the script exits).
take_lock() {
    mkdir -p "$1"
    exec 9>"$1/.lock"
    if ! flock -w 600 9; then
        die "another start/stop of this server holds $1/.lock"
    fi
}

# Dies unless $2 is a TCP port number; $1 names the variable for the message.
check_port() {
    if ! [[ "$2" =~ ^[0-9]+$ ]] || (($2 < 1 || $2 > 65535)); then
        die "$1=$2 is not a TCP port number"
    fi
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# True when the process whose id is in file $1 is alive and, if $2 is given,
# its command line contains $2 (so a recycled pid is not mistaken for ours).
pid_alive() {
    local pidfile="$1" expect="${2:-}" pid
    [[ -s "$pidfile" ]] || return 1
    pid="$(tr -dc '0-9' <"$pidfile")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    [[ -z "$expect" ]] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$expect"
}

pid_of() { tr -dc '0-9' <"$1"; }

# True while process $1 exists and is not a zombie waiting to be reaped.
pid_running() {
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1 || true)"
    [[ "$state" != Z && -n "$state" ]]
}

# Waits up to $1 seconds for process $2 to exit.
wait_pid_gone() {
    local timeout="$1" pid="$2" waited=0
    while pid_running "$pid"; do
        ((waited >= timeout * 10)) && return 1
        sleep 0.1
        waited=$((waited + 1))
    done
}

# Stops the process whose id is in file $2 (server name $1): SIGTERM, up to
# $3 seconds to exit, then SIGKILL; removes the pid file.
# Usage: stop_pidfile NAME PIDFILE GRACE
stop_pidfile() {
    local name="$1" pidfile="$2" grace="$3" pid
    pid="$(pid_of "$pidfile")"
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_pid_gone "$grace" "$pid"; then
        log "$name did not exit after ${grace}s, killing it"
        kill -KILL "$pid" 2>/dev/null || true
        wait_pid_gone 10 "$pid" || die "could not stop $name (pid $pid)"
    fi
    rm -f "$pidfile"
    log "$name stopped"
}

# Resident memory of a process in MiB (empty if unknown).
rss_mib() {
    local kb
    kb="$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || true)"
    [[ -n "$kb" ]] && echo $((kb / 1024))
}

# Runs "$@" until it succeeds or $timeout seconds pass. Between tries it calls
# the function named by $alive_check (if set); when that fails the server died.
# Usage: wait_until TIMEOUT ALIVE_FN cmd args...
wait_until() {
    local timeout="$1" alive_fn="$2"
    shift 2
    local deadline=$((SECONDS + timeout))
    while true; do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if [[ -n "$alive_fn" ]] && ! "$alive_fn"; then
            return 2
        fi
        ((SECONDS >= deadline)) && return 1
        sleep 0.5
    done
}

usage() {
    local name="$1" extra="${2:-}"
    cat >&2 <<EOF
usage: $0 start|stop|status|env|restart|reset
  start    start the private $name server (no-op if it already runs)
  stop     stop it cleanly
  status   say whether it runs (exit 0) or not (exit 3)
  env      print export lines for the test suite: eval "\$($0 env)"
  restart  stop, then start
  reset    stop and delete all its data (the next start begins afresh)
EOF
    [[ -z "$extra" ]] || printf '%s\n' "$extra" >&2
    exit 2
}
