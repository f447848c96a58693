#!/usr/bin/env bash
# A private PostgreSQL cluster for the test suite, on 127.0.0.1 only.
#   scripts/servers/postgres.sh start|stop|status|env|restart|reset
# Data, sockets and log live in .cache/servers/postgres/. When run as root the
# cluster belongs to the unprivileged "postgres" system user (PostgreSQL refuses
# to run as root). See docs/test-servers.md.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_PORT="${KONGPY_TEST_PG_PORT:-55432}"
PG_USER="${KONGPY_TEST_PG_USER:-kongpy}"
PG_PASSWORD="${KONGPY_TEST_PG_PASSWORD:-kongpy}"
PG_DATABASE="${KONGPY_TEST_PG_DATABASE:-kongpy_tests}"
PG_DEV_DATABASE="${KONGPY_TEST_PG_DEV_DATABASE:-kongpy}"
PG_OS_USER="${KONGPY_TEST_PG_OS_USER:-postgres}"
PG_HOST=127.0.0.1
TIMEOUT="${START_TIMEOUT:-60}"
check_port KONGPY_TEST_PG_PORT "$PG_PORT"

DIR="$SERVERS_CACHE/postgres"
DATA="$DIR/data"
RUN="$DIR/run"
LOGFILE="$DIR/postgres.log"

# Highest installed major version of Debian's PostgreSQL server binaries.
find_bindir() {
    if [[ -n "${KONGPY_TEST_PG_BINDIR:-}" ]]; then
        echo "$KONGPY_TEST_PG_BINDIR"
        return
    fi
    local d
    d="$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' 2>/dev/null \
        | sort -t/ -k5,5n | tail -n 1)"
    [[ -n "$d" ]] && dirname "$d"
}

# Finds the binaries. Missing ones: "install" installs them, "status" and "stop"
# report a stopped server.
ensure_installed() {
    BINDIR="$(find_bindir || true)"
    if [[ -z "$BINDIR" || ! -x "$BINDIR/initdb" ]] || ! command -v psql >/dev/null 2>&1; then
        case "${1:-}" in
            status) log "postgres stopped (PostgreSQL is not installed)"; exit 3 ;;
            stop) log "postgres not running (PostgreSQL is not installed)"; exit 0 ;;
        esac
        apt_install postgresql
        BINDIR="$(find_bindir || true)"
    fi
    [[ -n "$BINDIR" && -x "$BINDIR/initdb" && -x "$BINDIR/pg_ctl" ]] ||
        die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"
    PG_MAJOR="$(basename "$(dirname "$BINDIR")")"
}

# Runs a command as the user who owns the cluster.
as_owner() {
    if is_root; then
        runuser -u "$PG_OS_USER" -- "$@"
    else
        "$@"
    fi
}

prepare_dirs() {
    if is_root; then
        if ! id "$PG_OS_USER" >/dev/null 2>&1; then
            log "creating system user $PG_OS_USER"
            useradd --system --home-dir /var/lib/postgresql --shell /bin/bash "$PG_OS_USER"
        fi
        mkdir -p "$DIR"
        chown "$PG_OS_USER": "$DIR"
        as_owner test -w "$DIR" ||
            die "user $PG_OS_USER cannot write $DIR (a parent folder is not searchable by others?)"
    fi
    as_owner mkdir -p "$RUN"
    as_owner chmod 700 "$DIR"
}

running() {
    [[ -f "$DATA/PG_VERSION" ]] && as_owner "$BINDIR/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

# pid and port of the running postmaster, from postmaster.pid.
running_pid() { as_owner sed -n 1p "$DATA/postmaster.pid" 2>/dev/null || true; }
running_port() { as_owner sed -n 4p "$DATA/postmaster.pid" 2>/dev/null || true; }

admin_psql() {
    as_owner psql -X -q -v ON_ERROR_STOP=1 -h "$RUN" -p "$(running_port)" -U postgres -d postgres "$@"
}

client_query() {
    PGPASSWORD="$PG_PASSWORD" PGCONNECT_TIMEOUT=5 psql -X -A -t -h "$PG_HOST" -p "$PG_PORT" \
        -U "$PG_USER" -d "$PG_DATABASE" -c 'select 1'
}

init_cluster() {
    if [[ -f "$DATA/PG_VERSION" ]]; then
        local have
        have="$(cat "$DATA/PG_VERSION")"
        [[ "$have" == "$PG_MAJOR" ]] ||
            die "$DATA was created by PostgreSQL $have, the installed one is $PG_MAJOR: run '$0 reset'"
        return
    fi
    log "creating PostgreSQL $PG_MAJOR cluster in $DATA"
    as_owner "$BINDIR/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 --no-sync --no-instructions \
        >"$DIR/initdb.log" 2>&1 || { log_tail "$DIR/initdb.log"; die "initdb failed"; }
}

ensure_roles() {
    admin_psql -v user="$PG_USER" -v pass="$PG_PASSWORD" \
        -v db="$PG_DATABASE" -v devdb="$PG_DEV_DATABASE" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'user', :'pass')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') \gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB PASSWORD %L', :'user', :'pass') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', d, :'user')
  FROM unnest(ARRAY[:'db', :'devdb']) AS d
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = d) \gexec
SQL
}

cmd_start() {
    ensure_installed install
    prepare_dirs
    if running; then
        log "postgres already running (pid $(running_pid)) on $PG_HOST:$(running_port), data in $DATA"
        return 0
    fi
    if port_open "$PG_PORT"; then
        die "port $PG_PORT is taken by another program: set KONGPY_TEST_PG_PORT to a free port"
    fi
    init_cluster
    log "starting postgres $PG_MAJOR on $PG_HOST:$PG_PORT (log $LOGFILE)"
    local started=$SECONDS
    if ! as_owner "$BINDIR/pg_ctl" start -D "$DATA" -l "$LOGFILE" -w -t "$TIMEOUT" -s -o \
        "-c listen_addresses=$PG_HOST -p $PG_PORT -k $RUN -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        9>&-; then
        log_tail "$LOGFILE"
        die "postgres did not start (or not within ${TIMEOUT}s)"
    fi
    ensure_roles || { log_tail "$LOGFILE"; die "could not create role $PG_USER and databases"; }
    local left=$((TIMEOUT - (SECONDS - started)))
    ((left < 5)) && left=5
    if ! wait_until "$left" running client_query; then
        log_tail "$LOGFILE"
        die "postgres runs but 'select 1' as $PG_USER@$PG_HOST:$PG_PORT/$PG_DATABASE fails"
    fi
    log "postgres ready in $((SECONDS - started))s (pid $(running_pid)): $PG_USER:$PG_PASSWORD@$PG_HOST:$PG_PORT/$PG_DATABASE"
}

cmd_stop() {
    ensure_installed stop
    if ! running; then
        log "postgres not running"
        return 0
    fi
    log "stopping postgres (pid $(running_pid))"
    as_owner "$BINDIR/pg_ctl" stop -D "$DATA" -m fast -w -t 60 -s ||
        { log_tail "$LOGFILE"; die "postgres did not stop"; }
    log "postgres stopped"
}

cmd_status() {
    ensure_installed status
    if running; then
        local pid
        pid="$(running_pid)"
        log "postgres running (pid $pid, rss $(rss_mib "$pid")MiB) on $PG_HOST:$(running_port), data in $DATA"
        return 0
    fi
    log "postgres stopped (data in $DATA)"
    return 3
}

cmd_env() {
    printf 'export KONGPY_TEST_PG_HOST=%q\n' "$PG_HOST"
    printf 'export KONGPY_TEST_PG_PORT=%q\n' "$PG_PORT"
    printf 'export KONGPY_TEST_PG_USER=%q\n' "$PG_USER"
    printf 'export KONGPY_TEST_PG_PASSWORD=%q\n' "$PG_PASSWORD"
    printf 'export KONGPY_TEST_PG_DATABASE=%q\n' "$PG_DATABASE"
    printf 'export KONGPY_TEST_PG_DEV_DATABASE=%q\n' "$PG_DEV_DATABASE"
    printf 'export KONGPY_TEST_PG_DSN=%q\n' \
        "postgresql://$PG_USER:$PG_PASSWORD@$PG_HOST:$PG_PORT/$PG_DATABASE"
}

cmd_reset() {
    cmd_stop
    log "removing $DIR"
    rm -rf "$DIR"
}

case "${1:-}" in
    start) take_lock "$DIR"; cmd_start ;;
    stop) take_lock "$DIR"; cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    restart) take_lock "$DIR"; cmd_stop; cmd_start ;;
    reset) take_lock "$DIR"; cmd_reset ;;
    *) usage postgres ;;
esac
