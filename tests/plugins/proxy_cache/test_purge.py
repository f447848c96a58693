"""proxy-cache's Admin API endpoints on a live node: an entry read and
purged by key, by plugin instance and key, and every entry at once."""
from __future__ import annotations

from tests.helpers.http import admin, proxy


def _status(gw, path: str) -> str:
    return proxy(gw).get(path).headers["X-Cache-Status"]


def _fill(gw, path: str) -> str:
    resp = proxy(gw).get(path)
    assert resp.headers["X-Cache-Status"] in ("Miss", "Hit")
    assert _status(gw, path) == "Hit"
    return resp.headers["X-Cache-Key"]


def test_purge(gateway, svc):
    gw, api = gateway, admin(gateway)
    route_a = gw.route("/pg-a", {"name": "proxy-cache", "config": {"strategy": "memory"}})
    gw.route("/pg-b", {"name": "proxy-cache", "config": {
        "strategy": "memory", "memory": {"dictionary_name": "pc_extra"}}})
    gw.wait_sync()
    plugin_a = api.get(f"/routes/{route_a['id']}/plugins")["data"][0]
    key_a, key_b = _fill(gw, "/pg-a"), _fill(gw, "/pg-b")

    # GET by key: Kong's cached object
    entry = api.get(f"/proxy-cache/{key_b}")
    assert entry["status"] == 200 and entry["version"] == 1
    assert entry["body_len"] == len(entry["body"]) and '"name": "upstream"' in entry["body"]
    # nginx keeps the type apart from the other headers: it reads lower-cased;
    # the plugin's own headers of the miss are stored, as in Kong
    assert entry["headers"] == {"content-type": "application/json",
                                "X-Cache-Key": key_b, "X-Cache-Status": "Miss"}
    assert api.get(f"/proxy-cache/{key_a}")["headers"]["X-Cache-Key"] == key_a
    assert entry["ttl"] == 300 and isinstance(entry["timestamp"], int)
    api.get("/proxy-cache/0000", status=404)

    # by plugin instance: only that instance's dictionary
    assert api.get(f"/proxy-cache/{plugin_a['id']}/caches/{key_a}")["status"] == 200
    api.get(f"/proxy-cache/{plugin_a['id']}/caches/{key_b}", status=404)
    api.get(f"/proxy-cache/6d0f8a1c-6f5c-4c3f-9f0e-8f3c9a6f2b11/caches/{key_a}", status=404)
    api.request("DELETE", f"/proxy-cache/{plugin_a['id']}/caches/{key_a}", status=204)
    api.request("DELETE", f"/proxy-cache/{plugin_a['id']}/caches/{key_a}", status=404)
    assert _status(gw, "/pg-a") == "Miss"
    assert _status(gw, "/pg-b") == "Hit"

    # by key, whichever instance holds it
    api.request("DELETE", f"/proxy-cache/{key_b}", status=204)
    api.request("DELETE", f"/proxy-cache/{key_b}", status=404)
    assert _status(gw, "/pg-b") == "Miss"

    # everything
    _fill(gw, "/pg-a"), _fill(gw, "/pg-b")
    api.request("DELETE", "/proxy-cache", status=204)
    assert (_status(gw, "/pg-a"), _status(gw, "/pg-b")) == ("Miss", "Miss")
    api.get(f"/proxy-cache/{key_a}")  # filled again by that miss
