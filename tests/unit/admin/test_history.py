"""``/config/history``, its diff and ``/config/rollback`` on every datastore."""
import threading

import kongpy.db
from kongpy.admin import close_app, create_app
from kongpy.db import admin_tokens
from kongpy.db import history as store
from tests.helpers.datastores import clean

NODE = "0b7d2a4e-3c1f-4f57-a1c7-8f1b7d4c2e10"


def _settled(client, resp):
    """``resp`` after its version is recorded: a history read waits for it
    (writes that arrive while one is recorded share the next version)."""
    assert client.get("/config/history").status_code == 200
    return resp


def _changes(client):
    svc = _settled(client, client.post("/services", json={"name": "one",
                                                          "url": "http://127.0.0.1:9/"}))
    assert svc.status_code == 201
    assert _settled(client, client.post("/services/one/routes",
                                        json={"name": "r1", "paths": ["/a"]})).status_code == 201
    assert _settled(client, client.patch("/services/one", json={"retries": 2})
                    ).status_code == 200
    assert _settled(client, client.delete("/routes/r1")).status_code == 204
    return svc.get_json()


def test_every_write_is_a_version(client, changes):
    _changes(client)
    # a write that fails is no version, nor is a read
    assert client.post("/services", json={"name": "one", "host": "x"}).status_code == 409
    assert client.get("/services").status_code == 200
    body = client.get("/config/history").get_json()
    assert body["next"] is None
    assert [e["version"] for e in body["data"]] == [4, 3, 2, 1]
    assert {e["origin"] for e in body["data"]} == {NODE}
    assert [e["summary"] for e in body["data"]] == [
        {"routes": {"created": 0, "updated": 0, "deleted": 1}},
        {"services": {"created": 0, "updated": 1, "deleted": 0}},
        {"routes": {"created": 1, "updated": 0, "deleted": 0}},
        {"services": {"created": 1, "updated": 0, "deleted": 0}}]
    assert all(isinstance(e["created_at"], int) and e["rollback_of"] is None
               for e in body["data"])


def test_paging(client):
    for i in range(5):
        assert _settled(client, client.post("/consumers", json={"username": f"u{i}"})
                        ).status_code == 201
    first = client.get("/config/history?size=2").get_json()
    assert [e["version"] for e in first["data"]] == [5, 4]
    assert first["next"].startswith("/config/history?offset=")
    assert "size=2" in first["next"]
    second = client.get(first["next"]).get_json()
    assert [e["version"] for e in second["data"]] == [3, 2]
    third = client.get(second["next"]).get_json()
    assert [e["version"] for e in third["data"]] == [1] and third["next"] is None
    bad = client.get("/config/history?offset=bm9wZQ")
    assert bad.status_code == 400 and bad.get_json()["name"] == "invalid offset"
    assert client.get("/config/history?size=0").status_code == 400


def test_document_and_diff(client):
    svc = _changes(client)
    doc = client.get("/config/history/3").get_json()
    assert doc["_format_version"] == "3.0" and doc["_transform"] is False
    assert doc["services"][0]["retries"] == 2
    assert [r["name"] for r in doc["routes"]] == ["r1"]
    diff = client.get("/config/history/3/diff").get_json()
    assert (diff["from"], diff["to"]) == (2, 3)
    [changed] = diff["changes"]["services"]["changed"]
    assert (changed["id"], changed["name"]) == (svc["id"], "one")
    assert changed["fields"]["retries"] == {"old": 5, "new": 2}
    wide = client.get("/config/history/4/diff?against=1").get_json()
    assert wide["summary"] == {"services": {"created": 0, "updated": 1, "deleted": 0}}
    missing = client.get("/config/history/9")
    assert missing.status_code == 404
    assert missing.get_json() == {"message": "no configuration version 9 in the history"}
    assert client.get("/config/history/1/diff").status_code == 404  # no version 0
    assert client.get("/config/history/2/diff?against=x").status_code == 400


def test_rollback(client, changes):
    _changes(client)
    assert _settled(client, client.post("/services", json={"name": "two",
                                                           "url": "http://127.0.0.1:8/"})
                    ).status_code == 201
    before = len(changes)
    res = client.post("/config/rollback/2")
    assert res.status_code == 201
    body = res.get_json()
    assert (body["version"], body["rollback_of"], body["origin"]) == (6, 2, NODE)
    assert body["summary"]["services"]["deleted"] == 1
    assert len(changes) > before  # the sync loop was woken
    assert [s["name"] for s in client.get("/services").get_json()["data"]] == ["one"]
    assert client.get("/services/one").get_json()["retries"] == 5
    assert client.get("/routes/r1").status_code == 200
    assert [e["version"] for e in client.get("/config/history").get_json()["data"]][:2] == [6, 5]
    assert client.post("/config/rollback/40").status_code == 404


def _fresh_app(backend, tmp_path, **conf):
    """An application of its own on an emptied datastore."""
    handle = kongpy.db.open(backend)
    try:
        clean(handle)
    finally:
        handle.close()
    return create_app({**backend, "prefix": str(tmp_path), "admin_listen": ["127.0.0.1:8001"],
                       **conf}, node_id=NODE)


def test_history_size_bounds_the_api(backend, tmp_path):
    app = _fresh_app(backend, tmp_path, config_history_size=2)
    client = app.test_client()
    try:
        for i in range(4):
            _settled(client, client.post("/consumers", json={"username": f"u{i}"}))
        assert [e["version"] for e in client.get("/config/history").get_json()["data"]] == [4, 3]
        assert client.get("/config/history/2").status_code == 404
    finally:
        close_app(app)


def test_closing_the_app_records_what_is_pending_and_ends_the_recorder(backend, tmp_path):
    app = _fresh_app(backend, tmp_path)
    client = app.test_client()
    try:
        for i in range(3):
            assert client.post("/consumers", json={"username": f"c{i}"}).status_code == 201
    finally:
        close_app(app)
    # no recorder thread outlives its datastore handle (it would fail on it)
    assert not any(t.name == "config-history" and t.is_alive() for t in threading.enumerate())
    handle = kongpy.db.open(backend)
    try:
        entries = store.entries(handle.strategy)
        assert sum(e["summary"]["consumers"]["created"] for e in entries) == 3
    finally:
        handle.close()


def test_origin_is_the_token_name(backend, tmp_path):
    handle = kongpy.db.open(backend)
    try:
        clean(handle)
        token = admin_tokens.create(handle.strategy, "deployer")
        read_only = admin_tokens.create(handle.strategy, "auditor", read_only=True)
    finally:
        handle.close()
    app = create_app({**backend, "prefix": str(tmp_path), "admin_auth": "token",
                      "admin_listen": ["127.0.0.1:8001"]}, node_id=NODE)
    client = app.test_client()
    try:
        headers = {"Kong-Admin-Token": token}
        assert client.post("/consumers", json={"username": "u"}, headers=headers
                           ).status_code == 201
        [entry] = client.get("/config/history", headers=headers).get_json()["data"]
        assert entry["origin"] == "deployer"
        # a read-only token reads the history but may not roll back
        ro = {"Kong-Admin-Token": read_only}
        assert client.get("/config/history/1", headers=ro).status_code == 200
        assert client.post("/config/rollback/1", headers=ro).status_code == 403
        assert client.post("/config/rollback/1").status_code == 401
    finally:
        close_app(app)


def test_a_burst_shares_versions_and_ends_at_the_current_configuration(client, app):
    for i in range(20):
        assert client.post("/consumers", json={"username": f"b{i}"}).status_code == 201
    entries = client.get("/config/history").get_json()["data"]
    assert 1 <= len(entries) <= 20
    assert sum(e["summary"]["consumers"]["created"] for e in entries) == 20
    assert {e["origin"] for e in entries} == {NODE}
    newest = client.get(f"/config/history/{entries[0]['version']}").get_json()
    assert sorted(c["username"] for c in newest["consumers"]) == sorted(
        f"b{i}" for i in range(20))


def test_rollback_to_a_document_that_no_longer_fits(client, app):
    db = app.extensions["kongpy"]["db"]
    stale = {"_format_version": "3.0", "_transform": False,
             "routes": [{"id": "3f1c5e2a-8b7d-4c6e-9a1b-2d3e4f5a6b7c", "name": "r",
                         "paths": ["/r"], "service": "7d0c1b2a-3e4f-4a5b-8c6d-9e0f1a2b3c4d"}]}
    meta = store.append(db.strategy, stale, {"origin": "x", "summary": {}}, 100)
    res = client.post(f"/config/rollback/{meta['version']}")
    assert res.status_code == 400
    body = res.get_json()
    assert (body["code"], body["name"]) == (14, "invalid declarative configuration")
    assert "routes" in body["fields"]
    assert client.get("/routes").get_json()["data"] == []
