"""Routes changed one at a time through the Admin API reach a real node's
workers as deltas that update the router in place of a build
(lua/kongpy/router_update.lua); after each change, every request of a grid
is routed as by the router a full build gives (a service change makes one).
Both flavours that update: traditional_compatible and expressions."""
from __future__ import annotations

from typing import Any

import pytest
import requests

PATHS = ["/", "/a", "/a/b", "/a/7", "/a/b/c", "/b/x", "/c"]
HOSTS = ["one.test", "two.test", "other.org"]

ROUTES = [("r1", {"paths": ["/a"]}),
          ("r2", {"paths": ["/a/b"], "hosts": ["one.test"]}),
          ("r3", {"paths": [r"~/a/\d+$"]}),
          ("r4", {"paths": ["/"], "hosts": ["*.test"]}),
          ("r5", {"paths": ["/b"]})]
CHANGES = [
    ("POST", "r6", {"paths": ["/a/b/c"], "hosts": ["two.test"]}),
    ("PATCH", "r1", {"paths": ["/a/b", "/c"]}),
    ("PATCH", "r2", {"paths": ["/a/b"], "hosts": ["two.test", "other.org"]}),
    ("PATCH", "r3", {"paths": [r"~/a/\w+$"], "priority": 5}),
    ("PATCH", "r4", {"paths": ["/a"], "methods": ["GET"]}),
    ("DELETE", "r5", None),
    ("POST", "r7", {"paths": ["/"]}),
    ("DELETE", "r3", None),
]


def _any(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "(" + " || ".join(parts) + ")"


def _expression(spec: dict[str, Any]) -> str:
    paths = [f'http.path ~ r#"^{p[1:]}"#' if p.startswith("~") else f'http.path ^= "{p}"'
             for p in spec["paths"]]
    parts = [_any(paths)]
    if spec.get("hosts"):
        parts.append(_any([f'http.host =^ "{h[1:]}"' if h.startswith("*")
                           else f'http.host == "{h}"' for h in spec["hosts"]]))
    if spec.get("methods"):
        parts.append(_any([f'http.method == "{m}"' for m in spec["methods"]]))
    return " && ".join(parts)


def _body(flavor: str, spec: dict[str, Any]) -> dict[str, Any]:
    if flavor == "expressions":
        return {"expression": _expression(spec), "priority": spec.get("priority", 0)}
    return {"paths": spec["paths"], "hosts": spec.get("hosts"),
            "methods": spec.get("methods"), "regex_priority": spec.get("priority", 0)}


def _grid(gw) -> dict[tuple[str, str], str]:
    out = {}
    for path in PATHS:
        for host in HOSTS:
            # fresh connections spread over both workers
            seen = set()
            for _ in range(2):
                resp = requests.get(gw.proxy + path, timeout=5,
                                    headers={"Host": host, "Connection": "close"})
                seen.add(resp.json()["path"].split("/")[1] if resp.status_code == 200
                         else str(resp.status_code))
            assert len(seen) == 1, (path, host, seen)
            out[(path, host)] = seen.pop()
    return out


def _full_build(gw, n: int) -> None:
    """A change of a service: the data plane builds its router again."""
    requests.patch(f"{gw.admin}/services/spare", json={"retries": n}, timeout=5
                   ).raise_for_status()
    gw.wait_sync()


def _route(gw, upstream, flavor: str, name: str, spec: dict[str, Any]) -> str:
    gw.create("/services", {"name": f"s-{name}", "url": f"{upstream.url}/{name}"})
    gw.wait_sync()
    return gw.create(f"/services/s-{name}/routes", _body(flavor, spec))["id"]


@pytest.mark.parametrize("flavor", ["traditional_compatible", "expressions"])
def test_route_changes_match_a_full_build(start_node, upstream, flavor):
    gw = start_node(workers=2, router_flavor=flavor)
    gw.create("/services", {"name": "spare", "url": upstream.url + "/spare"})
    ids = {name: _route(gw, upstream, flavor, name, spec) for name, spec in ROUTES}
    gw.wait_sync()
    before = _grid(gw)
    assert len(set(before.values())) > 3
    for n, (method, name, spec) in enumerate(CHANGES, start=1):
        if method == "POST":
            ids[name] = _route(gw, upstream, flavor, name, spec)
        else:
            resp = requests.request(method, f"{gw.admin}/routes/{ids[name]}", timeout=5,
                                    json=_body(flavor, spec) if spec else None)
            assert resp.status_code in (200, 204), resp.text
        gw.wait_sync()
        changed = _grid(gw)
        _full_build(gw, n)
        assert _grid(gw) == changed, (flavor, method, name)
    log = (gw.prefix / "logs" / "error.log").read_text(errors="replace")
    # the route changes went the incremental way, the service changes did not
    assert log.count("(router updated)") >= len(CHANGES)
    assert "(router built)" in log
