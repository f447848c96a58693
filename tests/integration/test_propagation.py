"""Entity changes reach every worker without an nginx reload and without
failing a single request."""
from __future__ import annotations

import threading
import time

import requests


def _pids(gateway) -> tuple[int, tuple[int, ...]]:
    config = gateway.dataplane_config()
    return tuple(sorted(w["pid"] for w in config["workers"]))


def test_change_visible_within_a_second_without_reload(gateway, upstream):
    before = _pids(gateway)
    gateway.create("/services", {"name": "fast", "url": upstream.url})
    started = time.monotonic()
    gateway.create("/services/fast/routes", {"name": "fast-r", "paths": ["/fast"]})
    while True:
        resp = requests.get(gateway.proxy + "/fast", timeout=5)
        if resp.status_code == 200:
            break
        assert time.monotonic() - started < 1.0, "route not served within 1 second"
        time.sleep(0.01)
    # Every worker converges on the version, and none was replaced (no reload).
    gateway.wait_sync(timeout=1.0)
    assert _pids(gateway) == before

    resp = requests.delete(gateway.admin + "/routes/fast-r", timeout=5)
    assert resp.status_code == 204
    started = time.monotonic()
    while requests.get(gateway.proxy + "/fast", timeout=5).status_code != 404:
        assert time.monotonic() - started < 1.0, "deleted route still served after 1 second"
        time.sleep(0.01)
    assert _pids(gateway) == before


def test_route_changes_under_load_lose_no_request(gateway, upstream):
    gateway.create("/services", {"name": "load", "url": upstream.url})
    gateway.create("/services/load/routes", {"name": "steady", "paths": ["/steady"]})
    gateway.wait_sync()

    total_per_client, clients = 1250, 4
    failures: list[str] = []
    done = threading.Event()

    def hammer() -> None:
        with requests.Session() as session:
            for _ in range(total_per_client):
                try:
                    resp = session.get(gateway.proxy + "/steady/x", timeout=5)
                    if resp.status_code != 200:
                        failures.append(f"{resp.status_code} {resp.text[:200]}")
                except requests.RequestException as exc:
                    failures.append(repr(exc))

    threads = [threading.Thread(target=hammer) for _ in range(clients)]
    for thread in threads:
        thread.start()

    changes = 0
    with requests.Session() as admin:
        for i in range(50):
            # Change the route being hit, and add/remove others around it.
            paths = ["/steady"] if i % 2 else ["/steady", f"/extra-{i}"]
            resp = admin.patch(f"{gateway.admin}/routes/steady", json={"paths": paths}, timeout=5)
            assert resp.status_code == 200, resp.text
            resp = admin.post(f"{gateway.admin}/services/load/routes",
                              json={"name": f"tmp-{i}", "paths": [f"/tmp-{i}"]}, timeout=5)
            assert resp.status_code == 201, resp.text
            changes += 2
            time.sleep(0.01)
    done.set()
    for thread in threads:
        thread.join(timeout=120)
    assert changes == 100
    assert not failures, f"{len(failures)} failed requests, e.g. {failures[:3]}"
    gateway.wait_sync()
    assert requests.get(gateway.proxy + "/tmp-49", timeout=5).status_code == 200
