"""The stream subset of the snapshot: what the stream data plane serves.

The stream workers (TCP, TLS, UDP routes on ``stream_listen``) need a small
part of the configuration: the stream routes, their services and upstreams,
the certificates (TLS termination, SNI), the CA certificates (upstream TLS)
and the plugin instances that can run on a stream route. They read it from
``<prefix>/config/stream.json`` (docs/contracts.md §1, "The stream subset"),
which the control plane rewrites after every configuration the HTTP data
plane applied, so both subsystems serve the same version.

Rows are the full snapshot's rows unchanged (kongpy/sync/snapshot.py encodes
them); this module only chooses which.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from kongpy.sync import snapshot

# Declared once here and once on the stream data plane's side; bump both together.
STREAM_FORMAT = 1
STREAM_PROTOCOLS = frozenset({"tcp", "tls", "tls_passthrough", "udp"})
# Kept whole: a TLS handshake may need any certificate, an upstream any CA.
_WHOLE = ("certificates", "snis", "ca_certificates")
ENTITIES = ("services", "routes", "upstreams", "targets", *_WHOLE, "plugins")


def _rows(body: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    rows = body.get(name)
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def _ref(row: Mapping[str, Any], name: str) -> Any:
    ref = row.get(name)
    return ref.get("id") if isinstance(ref, dict) else None


def _by_id(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: str(r.get("id")))


def is_stream_route(route: Mapping[str, Any]) -> bool:
    return bool(STREAM_PROTOCOLS & set(route.get("protocols") or ()))


def _plugin_kept(plugin: Mapping[str, Any], routes: set[Any], services: set[Any]) -> bool:
    if not plugin.get("enabled") or _ref(plugin, "consumer") is not None:
        return False
    if not STREAM_PROTOCOLS & set(plugin.get("protocols") or ()):
        return False
    route, service = _ref(plugin, "route"), _ref(plugin, "service")
    if route is None and service is None:
        return True
    return (route is None or route in routes) and (service is None or service in services)


def select(body: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The rows of the stream subset, per entity, in id order."""
    routes = [r for r in _rows(body, "routes") if is_stream_route(r)]
    route_ids = {r.get("id") for r in routes}
    service_ids = {_ref(r, "service") for r in routes} - {None}
    services = [s for s in _rows(body, "services") if s.get("id") in service_ids]
    hosts = {s.get("host") for s in services}
    upstreams = [u for u in _rows(body, "upstreams") if u.get("name") in hosts]
    upstream_ids = {u.get("id") for u in upstreams}
    out = {
        "services": services, "routes": routes, "upstreams": upstreams,
        "targets": [t for t in _rows(body, "targets") if _ref(t, "upstream") in upstream_ids],
        "plugins": [p for p in _rows(body, "plugins")
                    if _plugin_kept(p, route_ids, service_ids)],
        **{name: _rows(body, name) for name in _WHOLE},
    }
    return {name: _by_id(out[name]) for name in ENTITIES}


def subset(body: Mapping[str, Any], version: int | None) -> bytes:
    """The stream subset of a snapshot body (the entity arrays), encoded."""
    return snapshot.encode({"stream_format": STREAM_FORMAT, "version": version,
                            **select(body)})


def write(path: str | Path, blob: bytes, group: int | None = None) -> None:
    """Writes atomically: a stream worker may read the file at any moment;
    readable by ``group`` (the workers') when given."""
    snapshot.write(path, blob, group=group)


def from_snapshot(blob: bytes) -> bytes | None:
    """The stream subset of a framed snapshot (as start writes it), or None."""
    parsed = snapshot.parse(blob)
    if parsed is None:
        return None
    header, body = parsed
    version = header.get("version")
    return subset(body, version if isinstance(version, int) else None)
