#!/usr/bin/env bash
# A private single-node Apache Cassandra 5.0 for the test suite, on 127.0.0.1 only.
#   scripts/servers/cassandra.sh start|stop|status|env|restart|reset|fetch
# Cassandra's jars come from Maven Central (cassandra-all and its dependencies,
# resolved with scripts/servers/cassandra/pom.xml) and are kept in
# .cache/servers/cassandra/lib/<version>/, so only the first start needs the
# network. Config, data and logs live in .cache/servers/cassandra/ as well.
# See docs/test-servers.md.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CASS_VERSION="${KONGPY_TEST_CASSANDRA_VERSION:-5.0.9}"
CASS_HOST=127.0.0.1
CASS_PORT="${KONGPY_TEST_CASSANDRA_PORT:-59042}"
CASS_STORAGE_PORT="${KONGPY_TEST_CASSANDRA_STORAGE_PORT:-57000}"
CASS_SSL_STORAGE_PORT="${KONGPY_TEST_CASSANDRA_SSL_STORAGE_PORT:-57001}"
# Empty: JMX stays off. A port number: JMX on 127.0.0.1:<port> (for nodetool).
CASS_JMX_PORT="${KONGPY_TEST_CASSANDRA_JMX_PORT:-}"
CASS_KEYSPACE="${KONGPY_TEST_CASSANDRA_KEYSPACE:-kongpy_tests}"
HEAP_MIN="${KONGPY_TEST_CASSANDRA_HEAP_MIN:-512m}"
HEAP_MAX="${KONGPY_TEST_CASSANDRA_HEAP_MAX:-768m}"
TIMEOUT="${START_TIMEOUT:-180}"
PYTHON="${PYTHON:-python3}"
check_port KONGPY_TEST_CASSANDRA_PORT "$CASS_PORT"
check_port KONGPY_TEST_CASSANDRA_STORAGE_PORT "$CASS_STORAGE_PORT"
check_port KONGPY_TEST_CASSANDRA_SSL_STORAGE_PORT "$CASS_SSL_STORAGE_PORT"
[[ -z "$CASS_JMX_PORT" ]] || check_port KONGPY_TEST_CASSANDRA_JMX_PORT "$CASS_JMX_PORT"

TEMPLATES="$SERVERS_SCRIPT_DIR/cassandra"
DIR="$SERVERS_CACHE/cassandra"
LIB="$DIR/lib/$CASS_VERSION"
CONF="$DIR/conf"
LOGDIR="$DIR/logs"
PIDFILE="$DIR/cassandra.pid"
STDOUT_LOG="$LOGDIR/stdout.log"
SYSTEM_LOG="$LOGDIR/system.log"
MAIN_CLASS=org.apache.cassandra.service.CassandraDaemon

find_java() {
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
        echo "$JAVA_HOME/bin/java"
    else
        command -v java || true
    fi
}

java_major() {
    "$1" -XshowSettings:properties -version 2>&1 |
        awk -F'= ' '/java.specification.version/ {print $2; exit}' | cut -d. -f1
}

ensure_java() {
    JAVA="$(find_java)"
    [[ -n "$JAVA" ]] || { apt_install openjdk-17-jre-headless; JAVA="$(find_java)"; }
    [[ -n "$JAVA" ]] || die "java not found"
    local major
    major="$(java_major "$JAVA")"
    [[ "$major" =~ ^[0-9]+$ ]] || die "cannot tell the version of $JAVA"
    ((major >= 17)) || die "Cassandra 5.0 here needs Java 17, $JAVA is Java $major (set JAVA_HOME)"
    ((major == 17)) || log "warning: Cassandra 5.0 supports Java 11 and 17, $JAVA is Java $major"
}

# Downloads cassandra-all and its runtime dependencies once per version.
ensure_jars() {
    if [[ -f "$LIB/.complete" ]]; then
        return
    fi
    command -v mvn >/dev/null 2>&1 || apt_install maven
    log "downloading Apache Cassandra $CASS_VERSION jars with Maven into $LIB"
    local tmp="$LIB.partial" mvnlog="$DIR/maven.log"
    rm -rf "$tmp"
    mkdir -p "$tmp" "$DIR"
    if ! mvn -B -q -f "$TEMPLATES/pom.xml" -Dcassandra.version="$CASS_VERSION" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
        >"$mvnlog" 2>&1; then
        log_tail "$mvnlog"
        die "Maven could not fetch org.apache.cassandra:cassandra-all:$CASS_VERSION"
    fi
    [[ -f "$tmp/cassandra-all-$CASS_VERSION.jar" ]] ||
        die "cassandra-all-$CASS_VERSION.jar missing after the download (see $mvnlog)"
    rm -rf "$LIB"
    mv "$tmp" "$LIB"
    touch "$LIB/.complete"
    log "cached $(find "$LIB" -name '*.jar' | wc -l) jars ($(du -sh "$LIB" | cut -f1))"
}

write_config() {
    mkdir -p "$CONF" "$LOGDIR" "$DIR/data" "$DIR/commitlog" "$DIR/hints" \
        "$DIR/saved_caches" "$DIR/cdc_raw" "$DIR/triggers"
    # Rewritten on every start so ports follow the environment; the data stays.
    sed -e "s|@STORAGE_PORT@|$CASS_STORAGE_PORT|g" \
        -e "s|@SSL_STORAGE_PORT@|$CASS_SSL_STORAGE_PORT|g" \
        -e "s|@NATIVE_PORT@|$CASS_PORT|g" \
        -e "s|@DATA_DIR@|$DIR|g" \
        "$TEMPLATES/cassandra.yaml.in" >"$CONF/cassandra.yaml"
    cp "$TEMPLATES/logback.xml" "$CONF/logback.xml"
}

# JVM options: a small heap, plus what Cassandra's conf/jvm-server.options and
# conf/jvm17-server.options set for Java 17 (G1, module exports and opens, Netty).
jvm_options() {
    local jamm
    jamm="$(find "$LIB" -maxdepth 1 -name 'jamm-*.jar' | head -n 1)"
    JVM_OPTS=(
        "-Xms$HEAP_MIN" "-Xmx$HEAP_MAX" -Xss256k
        -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1
        -XX:MaxGCPauseMillis=300 -XX:+UseThreadPriorities -XX:+UseTLAB -XX:+ResizeTLAB
        -XX:+PerfDisableSharedMem -XX:+ExitOnOutOfMemoryError
        # C1 only: starts in about 60% of the time and is plenty for tests.
        -XX:TieredStopAtLevel=1
        -ea -da:net.openhft...
        -Djava.net.preferIPv4Stack=true
        -Djdk.attach.allowAttachSelf=true
        --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
        --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
        --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
        --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
        --add-exports java.sql/java.sql=ALL-UNNAMED
        --add-exports java.base/java.lang.ref=ALL-UNNAMED
        --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
        --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
        --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
        --add-opens java.base/java.lang.module=ALL-UNNAMED
        --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
        --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
        --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
        --add-opens java.base/jdk.internal.math=ALL-UNNAMED
        --add-opens java.base/jdk.internal.module=ALL-UNNAMED
        --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
        --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
        --add-opens java.base/sun.nio.ch=ALL-UNNAMED
        --add-opens java.base/java.io=ALL-UNNAMED
        --add-opens java.base/java.lang.reflect=ALL-UNNAMED
        --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
        --add-opens java.base/java.lang=ALL-UNNAMED
        --add-opens java.base/java.util=ALL-UNNAMED
        -Dio.netty.tryReflectionSetAccessible=true
        -Dio.netty.allocator.useCacheForAllThreads=true
        -Dio.netty.allocator.maxOrder=11
        "-Dcassandra.config=file://$CONF/cassandra.yaml"
        "-Dlogback.configurationFile=file://$CONF/logback.xml"
        "-Dcassandra.logdir=$LOGDIR"
        "-Dcassandra.storagedir=$DIR"
        "-Dcassandra.triggers_dir=$DIR/triggers"
        "-Dcassandra-pidfile=$PIDFILE"
        -Dcassandra.skip_wait_for_gossip_to_settle=0
        -Dcassandra.ring_delay_ms=1000
        -Dcassandra.superuser_setup_delay_ms=0
        -Dcassandra.shutdown_announce_in_ms=0
        -Dcassandra.initial_token=0
    )
    [[ -n "$jamm" ]] && JVM_OPTS+=("-javaagent:$jamm")
    [[ -n "$CASS_JMX_PORT" ]] && JVM_OPTS+=("-Dcassandra.jmx.local.port=$CASS_JMX_PORT")
    # Extra JVM options, split on spaces.
    if [[ -n "${KONGPY_TEST_CASSANDRA_JVM_OPTS:-}" ]]; then
        local extra
        read -r -a extra <<<"$KONGPY_TEST_CASSANDRA_JVM_OPTS"
        JVM_OPTS+=("${extra[@]}")
    fi
    return 0
}

running() { pid_alive "$PIDFILE" "$MAIN_CLASS"; }

cql() { "$PYTHON" "$SERVERS_SCRIPT_DIR/cql_ping.py" --host "$CASS_HOST" --port "$CASS_PORT" "$@"; }

ready() { cql --quiet --timeout 3; }

fail_start() {
    log_tail "$STDOUT_LOG" 20
    log_tail "$SYSTEM_LOG" 40
    if running; then
        local pid
        pid="$(pid_of "$PIDFILE")"
        kill -TERM "$pid" 2>/dev/null || true
        wait_pid_gone 30 "$pid" || kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    die "$1"
}

cmd_start() {
    if running; then
        log "cassandra already running (pid $(pid_of "$PIDFILE")) on $CASS_HOST:$CASS_PORT"
        return 0
    fi
    local port
    for port in "$CASS_PORT" "$CASS_STORAGE_PORT"; do
        if port_open "$port"; then
            die "port $port is taken by another program: set KONGPY_TEST_CASSANDRA_PORT / _STORAGE_PORT"
        fi
    done
    command -v "$PYTHON" >/dev/null 2>&1 || apt_install python3
    ensure_java
    ensure_jars
    write_config
    jvm_options
    rm -f "$PIDFILE"
    # Keep the previous run's log aside so a failure shows only this run's lines.
    [[ -f "$SYSTEM_LOG" ]] && mv -f "$SYSTEM_LOG" "$SYSTEM_LOG.prev"
    : >"$STDOUT_LOG"
    log "starting cassandra $CASS_VERSION on $CASS_HOST:$CASS_PORT (heap $HEAP_MIN..$HEAP_MAX, log $SYSTEM_LOG)"
    local started=$SECONDS pid
    # Cassandra locks all its memory (mlockall) when it may, which as root makes the
    # whole initial heap resident and slows the start; a test server does not need it.
    local launcher=(setsid nohup)
    if is_root && command -v setpriv >/dev/null 2>&1; then
        launcher+=(setpriv --inh-caps -ipc_lock --bounding-set -ipc_lock)
    fi
    (
        cd "$DIR"
        export MALLOC_ARENA_MAX=4
        exec "${launcher[@]}" "$JAVA" "${JVM_OPTS[@]}" -cp "$CONF:$LIB/*" "$MAIN_CLASS" \
            >"$STDOUT_LOG" 2>&1 </dev/null 9>&-
    ) &
    pid=$!
    echo "$pid" >"$PIDFILE"
    sleep 1 # let the launcher exec the JVM before the pid is checked by name
    local rc=0
    wait_until "$TIMEOUT" running ready || rc=$?
    case $rc in
        0) ;;
        2) fail_start "cassandra exited during start-up" ;;
        *) fail_start "cassandra did not accept CQL on $CASS_HOST:$CASS_PORT within ${TIMEOUT}s (raise KONGPY_TEST_SERVER_TIMEOUT?)" ;;
    esac
    pid="$(pid_of "$PIDFILE")"
    log "cassandra $(cql --query 'SELECT release_version FROM system.local') ready in $((SECONDS - started))s (pid $pid, rss $(rss_mib "$pid")MiB) on $CASS_HOST:$CASS_PORT"
}

cmd_stop() {
    if ! running; then
        log "cassandra not running"
        rm -f "$PIDFILE"
        return 0
    fi
    stop_pidfile cassandra "$PIDFILE" 60
}

cmd_status() {
    if running; then
        local pid version
        pid="$(pid_of "$PIDFILE")"
        if version="$(cql --query 'SELECT release_version FROM system.local' 2>/dev/null)"; then
            log "cassandra $version running (pid $pid, rss $(rss_mib "$pid")MiB) on $CASS_HOST:$CASS_PORT"
        else
            log "cassandra running (pid $pid) but not answering CQL on $CASS_HOST:$CASS_PORT yet"
        fi
        return 0
    fi
    log "cassandra stopped"
    return 3
}

cmd_env() {
    printf 'export KONGPY_TEST_CASSANDRA_HOST=%q\n' "$CASS_HOST"
    printf 'export KONGPY_TEST_CASSANDRA_PORT=%q\n' "$CASS_PORT"
    printf 'export KONGPY_TEST_CASSANDRA_KEYSPACE=%q\n' "$CASS_KEYSPACE"
}

# Deletes data, config and logs but keeps the downloaded jars.
cmd_reset() {
    cmd_stop
    log "removing data, config and logs under $DIR (jars in $DIR/lib are kept)"
    rm -rf "$DIR/data" "$DIR/commitlog" "$DIR/hints" "$DIR/saved_caches" "$DIR/cdc_raw" \
        "$DIR/triggers" "$CONF" "$LOGDIR"
}

case "${1:-}" in
    start) take_lock "$DIR"; cmd_start ;;
    stop) take_lock "$DIR"; cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    restart) take_lock "$DIR"; cmd_stop; cmd_start ;;
    reset) take_lock "$DIR"; cmd_reset ;;
    fetch) take_lock "$DIR"; ensure_java; ensure_jars; log "cassandra $CASS_VERSION jars ready in $LIB" ;;
    *) usage cassandra "  fetch    only download the jars (for set-up scripts; start does it too)" ;;
esac
