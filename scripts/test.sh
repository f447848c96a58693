#!/usr/bin/env bash
# Installs everything the test suite needs and runs the whole suite.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh" --dev
PY="${KONGPY_VENV:-$ROOT/.venv}/bin/python"
cd "$ROOT"
luacheck -q lua/ tests/lua/
# The servers the suite runs against (Redis for the rate-limiting redis policy,
# OpenLDAP for ldap-auth).
# Their `env` output tells the tests where they listen.
for s in postgres redis cassandra ldap; do
    "$ROOT/scripts/servers/$s.sh" start
    eval "$("$ROOT/scripts/servers/$s.sh" env)"
done
"$PY" -m flake8 kongpy tests bench
# Unit tests and integration tests; integration tests start their own nginx
# and upstream servers on free loopback ports.
status=0
"$PY" -m pytest -n 2 "$@" || status=$?
# The servers stay up for the next run (starting Cassandra takes a while).
echo
echo "test servers left running (data in .cache/servers/):"
for s in postgres redis cassandra ldap; do
    "$ROOT/scripts/servers/$s.sh" status || true
done
echo "stop them with: for s in postgres redis cassandra ldap; do scripts/servers/\$s.sh stop; done"
exit "$status"
