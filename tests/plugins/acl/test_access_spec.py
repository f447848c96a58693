"""Kong 3.9's acl access scenarios (spec/03-plugins/18-acl) through a real
node: consumer groups behind key-auth, authenticated groups set by another
plugin (the groups-probe fixture standing in for Kong's ctx-checker), allow
and deny lists, hide_groups_header, always_use_authenticated_groups."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.http import admin, proxy

FIXTURE_PLUGINS = Path(__file__).resolve().parents[2] / "fixtures" / "plugins"
FORBIDDEN = "You cannot consume this service"
KEY_AUTH = {"name": "key-auth"}


@pytest.fixture(scope="module")
def gateway(start_node):
    return start_node(plugins="bundled, groups-probe", plugins_path=str(FIXTURE_PLUGINS))


def _groups(*names):
    return {"name": "groups-probe", "config": {"groups": list(names), "shared": True}}


def _acl(**config):
    return {"name": "acl", "config": config}


@pytest.fixture(scope="module")
def acl(gateway, svc):
    gw = gateway
    members = {"consumer1": ("apikey123", ()), "consumer2": ("apikey124", ("admin",)),
               "consumer3": ("apikey125", ("pro", "hello")),
               "consumer4": ("apikey126", ("free", "hello")),
               "anonymous": (None, ("anonymous",))}
    ids = {}
    for name, (key, groups) in members.items():
        ids[name] = gw.create("/consumers", {"username": name})["id"]
        if key:
            gw.create(f"/consumers/{name}/key-auth", {"key": key})
        for group in groups:
            gw.create(f"/consumers/{name}/acls", {"group": group})
    anon = {"name": "key-auth", "config": {"anonymous": ids["anonymous"]}}
    routes = {
        "/acl1": [_acl(allow=["admin"])],
        "/acl2": [_acl(allow=["admin"]), KEY_AUTH],
        "/acl2b": [_acl(allow=["admin"]), _groups("admin")],
        "/acl2c": [_acl(allow=["admin"]), _groups()],
        "/acl3": [_acl(deny=["admin"]), KEY_AUTH],
        "/acl3b": [_acl(deny=["admin"]), _groups()],
        "/acl3c": [_acl(deny=["admin"]), _groups("admin")],
        "/acl4": [_acl(allow=["admin", "pro"]), KEY_AUTH],
        "/acl4b": [_acl(allow=["admin", "pro"]), _groups("pro", "hello")],
        "/acl4c": [_acl(allow=["admin", "pro"]), _groups("free", "hello")],
        "/acl5": [_acl(deny=["admin", "pro"]), KEY_AUTH],
        "/acl5b": [_acl(deny=["admin", "pro"]), _groups("pro", "hello")],
        "/acl5c": [_acl(deny=["admin", "pro"]), _groups("free", "hello")],
        "/acl6": [_acl(deny=["admin", "pro", "hello"]), KEY_AUTH],
        "/acl6b": [_acl(deny=["admin", "pro", "hello"]), _groups("free", "hello")],
        "/acl6c": [_acl(deny=["admin", "pro", "hello"]), _groups("pro", "hello")],
        "/acl7": [_acl(allow=["admin", "pro", "hello"]), KEY_AUTH],
        "/acl7b": [_acl(allow=["admin", "pro", "hello"]), _groups("free", "hello")],
        "/acl8": [_acl(allow=["anonymous"]), anon],
        "/acl8b": [_acl(allow=["anonymous"]), anon, _groups("anonymous")],
        "/acl9": [_acl(allow=["admin"], hide_groups_header=True), KEY_AUTH],
        "/acl9b": [_acl(allow=["admin"], hide_groups_header=True), _groups("admin")],
        "/acl10": [_acl(allow=["admin"], hide_groups_header=False), KEY_AUTH],
        "/acl10b": [_acl(allow=["admin"], hide_groups_header=False), _groups("admin")],
        "/acl11": [_acl(allow=["admin", "anonymous"]), anon, _groups("admin")],
        "/acl12": [_acl(allow=["anonymous"]), anon, _groups("anonymous")],
        "/acl13": [_acl(allow=["anonymous"]), anon, _groups("admin")],
        "/acl14": [_acl(allow=["admin"], always_use_authenticated_groups=True), KEY_AUTH,
                   _groups("free")],
        "/acl15": [_acl(allow=["admin"]), KEY_AUTH, _groups("free")],
        "/acl16": [_acl(allow=["admin"], deny=[]), KEY_AUTH],
        # groups in ngx.ctx.authenticated_groups (set once a credential is in)
        "/acl17": [_acl(allow=["admin"], always_use_authenticated_groups=True), KEY_AUTH,
                   {"name": "groups-probe", "config": {"groups": ["admin"]}}],
    }
    for path, plugins in routes.items():
        gw.route(path, *plugins)
    gw.wait_sync()
    return ids


def _get(gateway, path, key=None):
    return proxy(gateway).get(path + (f"?apikey={key}" if key else ""))


def _seen(gateway, path, key=None):
    resp = _get(gateway, path, key)
    assert resp.status_code == 200, (path, resp.text)
    headers = resp.json()["headers"]
    return headers.get("x-consumer-groups"), headers.get("x-authenticated-groups")


def _forbidden(gateway, path, key=None):
    resp = _get(gateway, path, key)
    assert (resp.status_code, resp.json()["message"]) == (403, FORBIDDEN), path


def test_mapping_to_consumer_or_authenticated_groups(acl, gateway):
    assert _seen(gateway, "/acl2", "apikey124") == ("admin", None)
    assert _seen(gateway, "/acl2b") == (None, "admin")
    assert _seen(gateway, "/acl8") == ("anonymous", None)
    assert _seen(gateway, "/acl8b") == (None, "anonymous")


# (path, key, expected status): plain outcomes of the allow and deny lists,
# with consumer groups (key) or authenticated groups (no key)
OUTCOMES = [
    ("/acl2", "apikey123", 403), ("/acl2c", None, 403),
    ("/acl3", "apikey123", 200), ("/acl3b", None, 200),
    ("/acl3", "apikey124", 403), ("/acl3c", None, 403),
    ("/acl4", "apikey126", 403), ("/acl4c", None, 403),
    ("/acl5", "apikey125", 403), ("/acl5b", None, 403),
    ("/acl5", "apikey126", 200), ("/acl5c", None, 200),
    ("/acl6", "apikey126", 403), ("/acl6b", None, 403),
    ("/acl6", "apikey125", 403), ("/acl6c", None, 403),
    ("/acl7", "apikey126", 200), ("/acl7b", None, 200),
]


def test_simple_and_multi_lists(acl, gateway):
    resp = _get(gateway, "/acl1")  # no authentication plugin ran
    assert (resp.status_code, resp.json()["message"]) == (401, "Unauthorized")
    for path, key, status in OUTCOMES:
        if status == 403:
            _forbidden(gateway, path, key)
        else:
            assert _get(gateway, path, key).status_code == 200, path
    assert _seen(gateway, "/acl9", "apikey124") == (None, None)
    assert _seen(gateway, "/acl9b") == (None, None)
    assert _seen(gateway, "/acl10", "apikey124") == ("admin", None)
    assert _seen(gateway, "/acl10b") == (None, "admin")
    # the consumer's groups in the datastore's order, as Kong's spec allows
    assert _seen(gateway, "/acl4", "apikey125") in (("pro, hello", None), ("hello, pro", None))
    assert _seen(gateway, "/acl4b") == (None, "pro, hello")


def test_anonymous_consumer_and_authenticated_groups(acl, gateway):
    # authenticated groups replace the anonymous consumer's own groups
    assert _seen(gateway, "/acl11") == (None, "admin")
    assert _seen(gateway, "/acl12") == (None, "anonymous")
    _forbidden(gateway, "/acl13")
    # with a credential they count only with always_use_authenticated_groups
    _forbidden(gateway, "/acl14", "apikey124")
    assert _seen(gateway, "/acl15", "apikey124") == ("admin", None)
    # Kong falls back to ngx.ctx.authenticated_groups
    assert _seen(gateway, "/acl17", "apikey123") == (None, "admin")


def test_empty_deny_list_keeps_the_allow_list(acl, gateway):
    assert _seen(gateway, "/acl16", "apikey124") == ("admin", None)
    _forbidden(gateway, "/acl16", "apikey125")


def test_rules_set_fast(acl, gateway):
    gw, api = gateway, admin(gateway)
    api.post("/consumers", {"username": "acl_consumer"})
    api.post("/consumers/acl_consumer/key-auth", {"key": "secret123"})
    for i in range(1, 4):
        gw.route(f"/fast{i}", _acl(allow=[f"admin{i}"]), KEY_AUTH)
        api.post("/consumers/acl_consumer/acls", {"group": f"admin{i}"})
        gw.wait_sync()
        assert _get(gw, f"/fast{i}", "secret123").status_code == 200
    for i in range(1, 4):
        gw.route(f"/fast{i}b", _acl(allow=[f"admin{i}"]), _groups(f"admin{i}"))
        gw.wait_sync()
        assert _get(gw, f"/fast{i}b").status_code == 200
