#!/usr/bin/env bash
# Starts kongpy on the embedded default datastore (SQLite) in ./servroot.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
KONGPY="${KONGPY_VENV:-$ROOT/.venv}/bin/kongpy"
cd "$ROOT"
if "$KONGPY" health >/dev/null 2>&1; then
    echo "kongpy is already running; proxy on :8000, Admin API on 127.0.0.1:8001"
    exit 0
fi
"$KONGPY" migrations bootstrap
"$KONGPY" start
echo "proxy on :8000, Admin API on 127.0.0.1:8001 (stop with: .venv/bin/kongpy stop)"
