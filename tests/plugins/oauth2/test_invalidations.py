"""oauth2: Admin API changes reach the proxy without a restart: the
instance's config, the application (its tokens go with it) and its
consumer."""
from __future__ import annotations

import time

import requests
import urllib3

from tests.helpers.http import admin

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

CONFIG = {"enable_client_credentials": True, "scopes": ["read"]}


def _token(gw, client_id: str, secret: str, **extra) -> requests.Response:
    return requests.post(f"https://127.0.0.1:{gw.ports['proxy_ssl']}/inv/oauth2/token",
                         data={"grant_type": "client_credentials", "client_id": client_id,
                               "client_secret": secret, **extra}, verify=False, timeout=10)


def _status(gw, token: str) -> int:
    return requests.get(gw.proxy + "/inv/x", headers={"Authorization": f"Bearer {token}"},
                        timeout=5).status_code


def _within(gw, check, seconds: float = 5.0) -> None:
    # how fast a change spreads is the benchmark's business; here only that
    # it does, with room for a loaded machine
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not check():
        # what each worker serves against the datastore's version, and what
        # the node logged: tells a slow spread from a wrong one
        workers = gw.dataplane_config().get("workers")
        raise AssertionError(f"datastore version {gw.db_version()}, workers {workers}\n"
                             + gw.error_log_tail(60))


def test_changes_reach_the_proxy(gateway, svc):
    gw, api = gateway, admin(gateway)
    route = gw.route("/inv")
    plugin = api.post(f"/routes/{route['id']}/plugins", {"name": "oauth2", "config": CONFIG})
    api.post("/consumers", {"username": "dave"})
    api.post("/consumers/dave/oauth2", {"name": "a1", "client_id": "a1", "client_secret": "s1"})
    api.post("/consumers/dave/oauth2", {"name": "a2", "client_id": "a2", "client_secret": "s2"})
    gw.wait_sync()
    assert _token(gw, "a1", "s1", scope="write").json()["error"] == "invalid_scope"
    api.patch(f"/plugins/{plugin['id']}", {"config": {"scopes": ["read", "write"]}})
    _within(gw, lambda: _token(gw, "a1", "s1", scope="write").status_code == 200)
    t1 = _token(gw, "a1", "s1").json()["access_token"]
    t2 = _token(gw, "a2", "s2").json()["access_token"]
    assert _status(gw, t1) == 200 and _status(gw, t2) == 200
    # a new secret (as in Kong, given with hash_secret): the old one is refused
    body = api.patch("/oauth2/a1", {"client_secret": "s1-new"}, status=400)
    assert body["fields"] == {"@entity": [
        "all or none of these fields must be set: 'hash_secret', 'client_secret'"]}
    api.patch("/oauth2/a1", {"client_secret": "s1-new", "hash_secret": True})
    _within(gw, lambda: _token(gw, "a1", "s1").status_code == 400)
    assert _token(gw, "a1", "s1-new").status_code == 200
    # the application deleted: its tokens go with it
    api.delete("/oauth2/a1")
    _within(gw, lambda: _status(gw, t1) == 401)
    assert _status(gw, t2) == 200
    # the consumer deleted: its applications and their tokens too
    api.delete("/consumers/dave")
    _within(gw, lambda: _status(gw, t2) == 401)
    assert api.get("/oauth2_tokens")["data"] == []
    # the instance disabled: the route is open again
    api.patch(f"/plugins/{plugin['id']}", {"enabled": False})
    # every worker on the new version first (its error says which is not),
    # then the answer: a failure tells a slow spread from a wrong one
    gw.wait_sync(timeout=10)
    deadline = time.monotonic() + 5
    resp = requests.get(gw.proxy + "/inv/x", timeout=5)
    while resp.status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.02)
        resp = requests.get(gw.proxy + "/inv/x", timeout=5)
    assert resp.status_code == 200, (resp.status_code, resp.text[:300])
