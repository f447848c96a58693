#!/usr/bin/env bash
# Builds nginx/build/ngx_stream_kongpy_module.so, the stream data plane's
# bridge into Lua (docs/streams.md), against the nginx Debian installed
# (nginx-dev ships its configure flags and headers). Idempotent: rebuilds
# only when the sources are newer than the module.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC_DIR="$ROOT/nginx/stream"
OUT="$ROOT/nginx/build/ngx_stream_kongpy_module.so"
NGINX_SRC=/usr/share/nginx/src

log() { printf '==> %s\n' "$*" >&2; }

if [[ -f "$OUT" && "$OUT" -nt "$SRC_DIR/ngx_stream_kongpy_module.c" && "$OUT" -nt "$SRC_DIR/config" \
      && "$OUT" -nt /usr/sbin/nginx ]]; then
    log "stream module present"
    exit 0
fi
if [[ ! -f "$NGINX_SRC/conf_flags" ]]; then
    echo "Error: $NGINX_SRC is missing: install the nginx-dev package (scripts/setup.sh does)" >&2
    exit 1
fi

log "building the stream module"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp -r "$NGINX_SRC/." "$WORK/"
# shellcheck disable=SC1091
. "$WORK/conf_flags"
(
    cd "$WORK"
    # the stream modules Debian's nginx is built with (nginx -V), so the
    # module's signature matches the binary's
    ./configure "${NGX_CONF_FLAGS[@]}" --with-stream=dynamic --with-stream_ssl_module \
        --with-stream_ssl_preread_module --with-stream_realip_module \
        --add-dynamic-module="$SRC_DIR" >"$WORK/configure.log" 2>&1 \
        || { tail -20 "$WORK/configure.log" >&2; exit 1; }
    make -f objs/Makefile objs/ngx_stream_kongpy_module.so >"$WORK/make.log" 2>&1 || { grep -B2 -A6 -E "error" "$WORK/make.log" | head -60 >&2; exit 1; }
)
mkdir -p "$(dirname "$OUT")"
install -m 0644 "$WORK/objs/ngx_stream_kongpy_module.so" "$OUT"
log "built $OUT"
