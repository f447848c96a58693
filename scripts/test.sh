#!/usr/bin/env bash
# Installs everything the test suite needs and runs the whole suite.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh" --dev
PY="${KONGPY_VENV:-$ROOT/.venv}/bin/python"
cd "$ROOT"
luacheck -q lua/ plugins/ tests/lua/
"$PY" -m flake8 kongpy tests
# Unit tests and integration tests; integration tests start their own nginx
# and upstream servers on free loopback ports.
"$PY" -m pytest -n 2 "$@"
