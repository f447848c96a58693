"""key-auth, basic-auth, acl and plugin scoping through a real node."""
from __future__ import annotations

import base64
import http.client
import json
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import require_binary
from tests.helpers.gateway import Gateway, control_request
from tests.helpers.imported import import_basic_auth

FIXTURE_PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    require_binary("nginx")
    node = Gateway(tmp_path_factory.mktemp("auth"), extra={
        "plugins": "bundled, test-tag", "plugins_path": str(FIXTURE_PLUGINS)}).start()
    yield node
    node.stop()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _get(gw: Gateway, path: str, **kwargs) -> requests.Response:
    return requests.get(gw.proxy + path, timeout=5, **kwargs)


def _delete(gw: Gateway, path: str) -> None:
    assert requests.delete(gw.admin + path, timeout=5).status_code == 204


@pytest.fixture(scope="module")
def world(gateway, upstream):
    """Consumers and credentials shared by the tests of this module."""
    gw = gateway
    gw.create("/services", {"name": "svc", "url": upstream.url})
    bob = gw.create("/consumers", {"username": "bob"})
    ann = gw.create("/consumers", {"username": "anon", "custom_id": "anon-1"})
    key = gw.create("/consumers/bob/key-auth", {"key": "bob-key"})
    gw.create("/consumers/bob/basic-auth", {"username": "bob", "password": "pw"})
    gw.create("/consumers/bob/acls", {"group": "gold"})
    return {"bob": bob, "anon": ann, "key": key}


def _route(gw: Gateway, path: str, *plugins: dict) -> dict:
    route = gw.create("/services/svc/routes", {"name": path.strip("/"), "paths": [path]})
    for plugin in plugins:
        gw.create(f"/routes/{route['id']}/plugins", plugin)
    return route


def test_key_auth_errors_and_success(gateway, world):
    gw = gateway
    _route(gw, "/ka", {"name": "key-auth"})
    _route(gw, "/ka-realm", {"name": "key-auth", "config": {"realm": "kong"}})
    gw.wait_sync()
    resp = _get(gw, "/ka")
    assert resp.status_code == 401
    assert resp.json()["message"] == "No API key found in request"
    assert resp.headers["WWW-Authenticate"] == "Key"
    resp = _get(gw, "/ka-realm", headers={"apikey": "nope"})
    assert (resp.status_code, resp.json()["message"]) == (401, "Unauthorized")
    assert resp.headers["WWW-Authenticate"] == 'Key realm="kong"'
    resp = _get(gw, "/ka?apikey=a&apikey=b")
    assert resp.json()["message"] == "Duplicate API key found"
    # a repeated header, whatever the case of its name
    conn = http.client.HTTPConnection("127.0.0.1", gw.ports["proxy"], timeout=5)
    conn.putrequest("GET", "/ka")
    conn.putheader("apikey", "bob-key")
    conn.putheader("ApiKey", "other")
    conn.endheaders()
    dup = conn.getresponse()
    assert (dup.status, json.loads(dup.read())["message"]) == (401, "Duplicate API key found")
    conn.close()
    resp = _get(gw, "/ka?apikey=bob-key", headers={"APIKEY": "nope"})
    assert resp.status_code == 401  # a header key wins over the query string
    resp = _get(gw, "/ka", headers={"apikey": "bob-key", "X-Consumer-Custom-ID": "spoof",
                                    "X-Consumer-Username": "evil",
                                    "X-Anonymous-Consumer": "true"})
    assert resp.status_code == 200, resp.text
    seen = resp.json()["headers"]
    assert seen["x-consumer-id"] == world["bob"]["id"]
    assert seen["x-consumer-username"] == "bob"
    assert seen["x-credential-identifier"] == world["key"]["id"]
    assert "x-consumer-custom-id" not in seen and "x-anonymous-consumer" not in seen
    assert seen["apikey"] == "bob-key"  # hide_credentials is off
    resp = _get(gw, "/ka?apikey=bob-key")
    assert resp.status_code == 200


def test_key_auth_hides_credentials(gateway, world):
    gw = gateway
    _route(gw, "/ka-hide", {"name": "key-auth", "config": {"hide_credentials": True}})
    gw.wait_sync()
    seen = _get(gw, "/ka-hide/x?apikey=bob-key&keep=1").json()
    assert seen["path"] == "/x?keep=1"
    seen = _get(gw, "/ka-hide", headers={"apikey": "bob-key"}).json()
    assert "apikey" not in seen["headers"]


def test_basic_auth(gateway, world):
    gw = gateway
    _route(gw, "/ba", {"name": "basic-auth"})
    _route(gw, "/ba-hide", {"name": "basic-auth", "config": {"hide_credentials": True}})
    gw.wait_sync()
    for headers in ({}, {"Authorization": "Basic %%%not-base64"},
                    {"Authorization": _basic("bob", "wrong")},
                    {"Authorization": _basic("nobody", "pw")},
                    {"Authorization": "Basic " + base64.b64encode(b"nocolon").decode()}):
        resp = _get(gw, "/ba", headers=headers)
        assert resp.status_code == 401, headers
        assert resp.json()["message"] == "Unauthorized"
        assert resp.headers["WWW-Authenticate"] == 'Basic realm="service"'
    seen = _get(gw, "/ba", headers={"Authorization": _basic("bob", "pw")}).json()["headers"]
    assert seen["x-credential-identifier"] == "bob"
    assert seen["x-consumer-id"] == world["bob"]["id"]
    assert "authorization" in seen
    resp = _get(gw, "/ba", headers={"Proxy-Authorization": _basic("bob", "pw")})
    assert resp.status_code == 200
    seen = _get(gw, "/ba-hide", headers={"Authorization": _basic("bob", "pw")}).json()
    assert "authorization" not in seen["headers"]


def test_basic_auth_password_storage(gateway, world):
    gw = gateway
    _route(gw, "/ba-store", {"name": "basic-auth"})
    gw.create("/consumers/bob/basic-auth", {"username": "carol", "password": "pw2"})
    gw.wait_sync()
    stored = requests.get(gw.admin + "/basic-auths/carol", timeout=5).json()["password"]
    assert stored.startswith("$pbkdf2-sha256$i=10000$")
    for _ in range(3):  # the first success derives, the next ones hit the cache
        resp = _get(gw, "/ba-store", headers={"Authorization": _basic("carol", "pw2")})
        assert resp.status_code == 200
        resp = _get(gw, "/ba-store", headers={"Authorization": _basic("carol", "pw")})
        assert resp.status_code == 401
        assert resp.json()["message"] == "Unauthorized"
        assert resp.headers["WWW-Authenticate"] == 'Basic realm="service"'
    requests.patch(gw.admin + "/basic-auths/carol", json={"password": "pw3"},
                   timeout=5).raise_for_status()
    gw.wait_sync()
    assert _get(gw, "/ba-store", headers={"Authorization": _basic("carol", "pw2")}) \
        .status_code == 401
    assert _get(gw, "/ba-store", headers={"Authorization": _basic("carol", "pw3")}) \
        .status_code == 200


def _stored_password(gw: Gateway, username: str) -> str:
    return requests.get(gw.admin + f"/basic-auths/{username}", timeout=5).json()["password"]


def test_legacy_basic_auth_is_rehashed(gateway, world):
    gw = gateway
    _route(gw, "/ba-legacy", {"name": "basic-auth"})
    database = gw.open_db()
    try:  # a row as Kong stored it: SHA-1 hex of password .. consumer id
        legacy = import_basic_auth(database, world["bob"]["id"], "dave", "old-pw")
    finally:
        database.close()
    gw.wait_sync()
    assert _stored_password(gw, "dave") == legacy["password"]
    assert _get(gw, "/ba-legacy", headers={"Authorization": _basic("dave", "wrong")}) \
        .status_code == 401
    time.sleep(1.5)  # a failed login queues nothing: still Kong's hash after a sync round
    assert _stored_password(gw, "dave") == legacy["password"]
    resp = _get(gw, "/ba-legacy", headers={"Authorization": _basic("dave", "old-pw")})
    assert resp.status_code == 200
    assert resp.json()["headers"]["x-credential-identifier"] == "dave"
    deadline = time.monotonic() + 5
    stored = legacy["password"]
    while stored == legacy["password"] and time.monotonic() < deadline:
        time.sleep(0.1)
        stored = _stored_password(gw, "dave")
    assert stored.startswith("$pbkdf2-sha256$i=10000$"), "not re-hashed within 5 s"
    gw.wait_sync()
    assert gw.dataplane_config()["rehash_queued"] == 0
    assert control_request(gw.prefix, "POST", "/rehash") == (200, {"rehash": []})
    assert control_request(gw.prefix, "GET", "/rehash")[0] == 405
    for _ in range(2):
        assert _get(gw, "/ba-legacy", headers={"Authorization": _basic("dave", "old-pw")}) \
            .status_code == 200
        assert _get(gw, "/ba-legacy", headers={"Authorization": _basic("dave", "wrong")}) \
            .status_code == 401
    assert _stored_password(gw, "dave") == stored
    logs = "".join(p.read_text(errors="replace") for p in (gw.prefix / "logs").iterdir()
                   if p.is_file())
    for secret in ("old-pw", legacy["password"], stored.rsplit("$", 1)[1]):
        assert secret not in logs


def test_acl(gateway, world):
    gw = gateway
    _route(gw, "/acl-only", {"name": "acl", "config": {"allow": ["gold"]}})
    _route(gw, "/acl-allow", {"name": "key-auth"}, {"name": "acl", "config": {"allow": ["gold"]}})
    _route(gw, "/acl-deny", {"name": "key-auth"}, {"name": "acl", "config": {"deny": ["gold"]}})
    _route(gw, "/acl-other", {"name": "key-auth"},
           {"name": "acl", "config": {"allow": ["silver"], "hide_groups_header": True}})
    gw.wait_sync()
    resp = _get(gw, "/acl-only")
    assert (resp.status_code, resp.json()["message"]) == (401, "Unauthorized")
    key = {"apikey": "bob-key", "X-Consumer-Groups": "admin"}
    seen = _get(gw, "/acl-allow", headers=key).json()["headers"]
    assert seen["x-consumer-groups"] == "gold"
    for path in ("/acl-deny", "/acl-other"):
        resp = _get(gw, path, headers=key)
        assert resp.status_code == 403
        assert resp.json()["message"] == "You cannot consume this service"


def test_anonymous_chain(gateway, world):
    gw = gateway
    anon = world["anon"]
    _route(gw, "/chain", {"name": "key-auth", "config": {"anonymous": "anon"}},
           {"name": "basic-auth", "config": {"anonymous": anon["id"]}})
    _route(gw, "/ghost", {"name": "key-auth", "config": {"anonymous": "ghost"}})
    gw.wait_sync()
    seen = _get(gw, "/chain", headers={"X-Consumer-ID": "spoof"}).json()["headers"]
    assert seen["x-consumer-id"] == anon["id"]
    assert seen["x-consumer-custom-id"] == "anon-1"
    assert seen["x-anonymous-consumer"] == "true"
    assert "x-credential-identifier" not in seen
    seen = _get(gw, "/chain", headers={"Authorization": _basic("bob", "pw")}).json()["headers"]
    assert seen["x-consumer-username"] == "bob" and "x-anonymous-consumer" not in seen
    seen = _get(gw, "/chain", headers={"apikey": "bob-key"}).json()["headers"]
    assert seen["x-credential-identifier"] == world["key"]["id"]
    resp = _get(gw, "/ghost")
    assert resp.status_code == 500
    assert resp.json()["message"] == "anonymous consumer ghost is configured but doesn't exist"


def test_credential_revocation_and_ttl(gateway, world):
    gw = gateway
    _route(gw, "/revoke", {"name": "key-auth"})
    gw.create("/consumers/bob/key-auth", {"key": "short-lived"})
    gw.create("/consumers/bob/key-auth", {"key": "ttl-key", "ttl": 2})
    gw.wait_sync()
    assert _get(gw, "/revoke", headers={"apikey": "short-lived"}).status_code == 200
    assert _get(gw, "/revoke", headers={"apikey": "ttl-key"}).status_code == 200
    _delete(gw, "/key-auths/short-lived")
    deadline = time.monotonic() + 1.0
    status = 200
    while time.monotonic() < deadline and status == 200:
        status = _get(gw, "/revoke", headers={"apikey": "short-lived"}).status_code
    assert status == 401
    # Expired without a new push: the data plane stops honouring it by itself.
    time.sleep(2.2)
    assert _get(gw, "/revoke", headers={"apikey": "ttl-key"}).status_code == 401
    keys = requests.get(gw.admin + "/consumers/bob/key-auth", timeout=5).json()["data"]
    assert "ttl-key" not in [k["key"] for k in keys]


def _tag(gw: Gateway, path: str, **headers: str) -> str | None:
    resp = _get(gw, path, headers={"apikey": "bob-key", **headers})
    assert resp.status_code == 200, resp.text
    assert resp.headers.get("X-Test-Tag") == resp.json()["headers"].get("x-test-tag")
    return resp.headers.get("X-Test-Tag")


def test_scoping_precedence(gateway, world, upstream):
    """Kong's order: route+service+consumer › route+consumer › service+consumer ›
    route+service › consumer › route › service › global."""
    gw = gateway
    svc = gw.create("/services", {"name": "scoped", "url": upstream.url})
    route = gw.create("/services/scoped/routes", {"paths": ["/scoped"]})
    gw.create(f"/routes/{route['id']}/plugins", {"name": "key-auth"})
    other = gw.create("/services/scoped/routes", {"paths": ["/scoped-other"]})
    gw.create(f"/routes/{other['id']}/plugins", {"name": "key-auth"})
    r, s, c = {"id": route["id"]}, {"id": svc["id"]}, {"id": world["bob"]["id"]}
    levels = [("rsc", {"route": r, "service": s, "consumer": c}),
              ("rc", {"route": r, "consumer": c}), ("sc", {"service": s, "consumer": c}),
              ("rs", {"route": r, "service": s}), ("c", {"consumer": c}), ("r", {"route": r}),
              ("s", {"service": s}), ("global", {})]
    ids = {}
    for tag, scope in levels:
        ids[tag] = gw.create("/plugins", {"name": "test-tag", "config": {"tag": tag},
                                          **scope})["id"]
    gw.wait_sync()
    for tag, _scope in levels:
        assert _tag(gw, "/scoped") == tag
        _delete(gw, f"/plugins/{ids[tag]}")
        gw.wait_sync()
    assert _tag(gw, "/scoped") is None


def test_disabled_and_protocol_mismatch_ignored(gateway, world):
    gw = gateway
    route = _route(gw, "/proto", {"name": "key-auth"})
    gw.create("/plugins", {"name": "test-tag", "config": {"tag": "https-only"},
                           "route": {"id": route["id"]}, "protocols": ["https"]})
    plugin = gw.create("/plugins", {"name": "test-tag", "config": {"tag": "off"},
                                    "service": {"id": route["service"]["id"]},
                                    "enabled": False})
    gw.wait_sync()
    assert _tag(gw, "/proto") is None
    requests.patch(gw.admin + f"/plugins/{plugin['id']}", json={"enabled": True},
                   timeout=5).raise_for_status()
    gw.wait_sync()
    assert _tag(gw, "/proto") == "off"


def test_custom_plugin_init_worker_runs_in_every_worker(gateway):
    log = (gateway.prefix / "logs" / "error.log").read_text(errors="replace")
    marker = "test-tag init_worker in worker "
    workers = {line.split(marker, 1)[1].split(",")[0] for line in log.splitlines()
               if marker in line}
    assert workers == {"0", "1"}
