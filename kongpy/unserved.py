"""Routes the node accepts but none of its listeners can serve.

Kong accepts a route whatever the node's listeners (a `tcp` route while
`stream_listen` is off, an `https`-only route with no `ssl` proxy listener):
the configuration may be meant for other nodes of the cluster. We accept them
too, and say so where an operator looks: `kongpy check` prints a warning and
`GET /` lists them under `kongpy_warnings`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

STREAM_TCP = ("tcp", "tls", "tls_passthrough")


def _reason(protocol: str, config: Mapping[str, Any]) -> str | None:
    """Why no listener of the node takes ``protocol``; None when one does."""
    proxies, streams = config["proxy_listen"], config["stream_listen"]
    if protocol in ("http", "grpc"):
        return None if proxies else "proxy_listen is off"
    if protocol in ("https", "grpcs"):
        if not proxies:
            return "proxy_listen is off"
        return None if any(li["ssl"] for li in proxies) else "no proxy_listen entry has ssl"
    if not streams:
        return "stream_listen is off"
    if protocol == "udp":
        return None if any(li["udp"] for li in streams) else "no stream_listen entry has udp"
    if protocol in STREAM_TCP:
        return None if any(not li["udp"] for li in streams) \
            else "every stream_listen entry is udp"
    return None


def warnings(config: Mapping[str, Any], routes: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per (protocols, reason): the routes no listener serves."""
    found: dict[tuple[tuple[str, ...], str], list[str]] = {}
    for route in routes:
        protocols = tuple(route.get("protocols") or ())
        reasons = [_reason(p, config) for p in protocols]
        if not reasons or any(r is None for r in reasons):
            continue
        name = str(route.get("name") or route.get("id"))
        found.setdefault((protocols, str(reasons[0])), []).append(name)
    lines = []
    for (protocols, reason), names in sorted(found.items()):
        shown = ", ".join(sorted(names)[:3]) + (", ..." if len(names) > 3 else "")
        lines.append(f"{len(names)} route(s) with protocols {', '.join(protocols)} will not "
                     f"be served by this node: {reason} ({shown})")
    return lines
