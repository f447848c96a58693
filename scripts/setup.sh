#!/usr/bin/env bash
# Installs everything kongpy needs on a Debian 12 machine, idempotently.
#   scripts/setup.sh          system packages + a virtualenv with kongpy
#   scripts/setup.sh --dev    the same plus the test tools and test servers
# The README, the Makefile, .ci/run and the Vagrantfile all call this one script.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${KONGPY_VENV:-$ROOT/.venv}"
DEV=0
[[ "${1:-}" == "--dev" ]] && DEV=1

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

packages() {
    grep -v '^\s*#' "$ROOT/nginx/packages.txt" | sed '/^\s*$/d'
    if [[ $DEV -eq 1 ]]; then
        grep -v '^\s*#' "$ROOT/nginx/packages-dev.txt" | sed '/^\s*$/d'
    fi
}

install_system_packages() {
    local missing=()
    local pkg
    for pkg in $(packages); do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        log "system packages present"
        return
    fi
    log "installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
    # Debian's nginx package starts a system nginx on port 80; kongpy runs its own.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled nginx >/dev/null 2>&1; then
        as_root systemctl disable --now nginx >/dev/null 2>&1 || true
    fi
}

# nginx workers of a node started as root run as this system user and group
# (the `nginx_user` default), as Kong's run as `kong`.
create_runtime_user() {
    if getent passwd kongpy >/dev/null; then
        return
    fi
    if [[ $(id -u) -ne 0 ]] && ! command -v sudo >/dev/null 2>&1; then
        log "no user 'kongpy' (a node started as root needs it); skipped: not root"
        return
    fi
    log "creating the system user and group kongpy"
    as_root useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin kongpy
}

install_python() {
    local python="${PYTHON:-python3}"
    if [[ ! -x "$VENV/bin/python" ]]; then
        log "creating virtualenv $VENV"
        "$python" -m venv "$VENV"
    fi
    local extras="" stamp_src
    [[ $DEV -eq 1 ]] && extras="[dev]"
    stamp_src="$(cat "$ROOT/setup.cfg" "$ROOT/pyproject.toml")$extras"
    local stamp="$VENV/.kongpy-installed"
    if [[ -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$(printf '%s' "$stamp_src" | sha256sum)" ]]; then
        log "python packages present"
        return
    fi
    log "installing kongpy$extras into $VENV"
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q -e "$ROOT$extras"
    printf '%s' "$stamp_src" | sha256sum > "$stamp"
}

install_system_packages
create_runtime_user
install_python
# the stream data plane (stream_listen): an nginx module built against the
# installed nginx (docs/streams.md)
"$ROOT/scripts/build-stream-module.sh"
if [[ $DEV -eq 1 ]]; then
    # Cassandra's jars come from Maven Central; fetch them now, not mid-test.
    "$ROOT/scripts/servers/cassandra.sh" fetch
fi
log "ready: $VENV/bin/kongpy"
