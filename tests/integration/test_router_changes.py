"""Routes changed one at a time through the Admin API reach a real node's
workers as deltas that update the router in place of a build
(lua/kongpy/router_update.lua); after each change, every request of a grid
is routed as by the router a full build gives (a service change makes one)."""
from __future__ import annotations

import requests

PATHS = ["/", "/a", "/a/b", "/a/7", "/a/b/c", "/b/x", "/c"]
HOSTS = ["one.test", "two.test", "other.test"]


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


def test_route_changes_match_a_full_build(gateway, upstream):
    gw = gateway
    ids = {}
    gw.create("/services", {"name": "spare", "url": upstream.url + "/spare"})
    for name, route in [("r1", {"paths": ["/a"]}),
                        ("r2", {"paths": ["/a/b"], "hosts": ["one.test"]}),
                        ("r3", {"paths": [r"~/a/\d+$"]}),
                        ("r4", {"paths": ["/"], "hosts": ["*.test"]}),
                        ("r5", {"paths": ["/b"]})]:
        gw.create("/services", {"name": f"s-{name}", "url": f"{upstream.url}/{name}"})
        ids[name] = gw.create(f"/services/s-{name}/routes", route)["id"]
    gw.wait_sync()
    changes = [
        ("POST", "r6", {"paths": ["/a/b/c"], "hosts": ["two.test"]}),
        ("PATCH", "r1", {"paths": ["/a/b", "/c"]}),
        ("PATCH", "r2", {"hosts": ["two.test", "other.test"]}),
        ("PATCH", "r3", {"regex_priority": 5, "paths": [r"~/a/\w+$"]}),
        ("PATCH", "r4", {"hosts": None, "paths": ["/a"], "methods": ["GET"]}),
        ("DELETE", "r5", None),
        ("POST", "r7", {"paths": ["/"]}),
        ("DELETE", "r3", None),
    ]
    for n, (method, name, body) in enumerate(changes, start=1):
        if method == "POST":
            gw.create("/services", {"name": f"s-{name}", "url": f"{upstream.url}/{name}"})
            gw.wait_sync()
            ids[name] = gw.create(f"/services/s-{name}/routes", body)["id"]
        else:
            resp = requests.request(method, f"{gw.admin}/routes/{ids[name]}", json=body,
                                    timeout=5)
            assert resp.status_code in (200, 204), resp.text
        gw.wait_sync()
        changed = _grid(gw)
        _full_build(gw, n)
        assert _grid(gw) == changed, (method, name)
    log = (gw.prefix / "logs" / "error.log").read_text(errors="replace")
    # the route changes went the incremental way, the service changes did not
    assert log.count("(router updated)") >= len(changes)
    assert "(router built)" in log
