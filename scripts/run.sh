#!/usr/bin/env bash
# Starts kongpy on the embedded default datastore (SQLite) in its default prefix
# (/usr/local/kongpy; ~/.kongpy for a user other than root).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
KONGPY="${KONGPY_VENV:-$ROOT/.venv}/bin/kongpy"
cd "$ROOT"
if "$KONGPY" health >/dev/null 2>&1; then
    echo "kongpy is already running:"
    "$KONGPY" health | tail -n 2
else
    # bootstraps the datastore the first time (and runs any new migrations)
    "$KONGPY" start --run-migrations
fi
echo "stop it with: make stop"
