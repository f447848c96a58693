"""``/upstreams`` and their targets, on every datastore (Kong 3.9's fields and errors)."""
import pytest

from tests.helpers.http import violation_fields as _violation

DEFAULT_HEALTHCHECKS = {
    "active": {
        "type": "http", "timeout": 1, "concurrency": 10, "http_path": "/",
        "https_sni": None, "https_verify_certificate": True, "headers": None,
        "healthy": {"interval": 0, "http_statuses": [200, 302], "successes": 0},
        "unhealthy": {"interval": 0,
                      "http_statuses": [429, 404, 500, 501, 502, 503, 504, 505],
                      "tcp_failures": 0, "timeouts": 0, "http_failures": 0},
    },
    "passive": {
        "type": "http",
        "healthy": {"http_statuses": [200, 201, 202, 203, 204, 205, 206, 207, 208, 226,
                                      300, 301, 302, 303, 304, 305, 306, 307, 308],
                    "successes": 0},
        "unhealthy": {"http_statuses": [429, 500, 503],
                      "tcp_failures": 0, "timeouts": 0, "http_failures": 0},
    },
    "threshold": 0,
}


def _up(client, **body):
    body.setdefault("name", "example.upstream")
    resp = client.post("/upstreams", json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_defaults(client):
    up = _up(client, name="my_service.example")
    assert up["algorithm"] == "round-robin"
    assert (up["hash_on"], up["hash_fallback"], up["hash_on_cookie_path"]) == ("none", "none", "/")
    assert up["slots"] == 10000 and up["use_srv_name"] is False
    assert up["healthchecks"] == DEFAULT_HEALTHCHECKS
    for field in ("hash_on_header", "hash_fallback_header", "hash_on_cookie",
                  "hash_on_query_arg", "hash_fallback_query_arg", "hash_on_uri_capture",
                  "hash_fallback_uri_capture", "host_header", "client_certificate", "tags"):
        assert up[field] is None
    assert client.get("/upstreams/my_service.example").get_json() == up


def test_partial_healthchecks_keep_the_other_defaults(client):
    up = _up(client, healthchecks={"active": {"healthy": {"interval": 5}}, "threshold": 50})
    hc = up["healthchecks"]
    assert hc["active"]["healthy"] == {"interval": 5, "http_statuses": [200, 302],
                                       "successes": 0}
    assert hc["active"]["unhealthy"] == DEFAULT_HEALTHCHECKS["active"]["unhealthy"]
    assert hc["passive"] == DEFAULT_HEALTHCHECKS["passive"] and hc["threshold"] == 50
    patched = client.patch(f"/upstreams/{up['id']}",
                           json={"healthchecks": {"active": {"timeout": 3}}}).get_json()
    assert patched["healthchecks"]["active"]["timeout"] == 3
    assert patched["healthchecks"]["active"]["healthy"]["interval"] == 5


@pytest.mark.parametrize("name, message", [
    ("1234", "Invalid name; must be a valid hostname"),
    ("fafa fafa", "Invalid name; must be a valid hostname"),
    ("192.168.0.1", "Invalid name; no ip addresses allowed"),
    ("myserver:8000", "Invalid name; no port allowed"),
])
def test_invalid_names(client, name, message):
    assert _violation(client.post("/upstreams", json={"name": name})) == {"name": message}


@pytest.mark.parametrize("body, field, message", [
    ({"slots": 9}, "slots", "value should be between 10 and 65536"),
    ({"slots": 65537}, "slots", "value should be between 10 and 65536"),
    ({"algorithm": "random"}, "algorithm",
     "expected one of: consistent-hashing, least-connections, round-robin, latency"),
    ({"hash_on": "header"}, "hash_on_header", "required field missing"),
    ({"hash_on": "cookie"}, "hash_on_cookie", "required field missing"),
    ({"hash_on": "query_arg"}, "hash_on_query_arg", "required field missing"),
    ({"hash_on": "uri_capture"}, "hash_on_uri_capture", "required field missing"),
    ({"hash_on": "ip", "hash_fallback": "header"}, "hash_fallback_header",
     "required field missing"),
    ({"hash_on": "none", "hash_fallback": "ip"}, "hash_fallback", "expected one of: none"),
    ({"hash_on": "cookie", "hash_on_cookie": "c", "hash_fallback": "ip"}, "hash_fallback",
     "expected one of: none"),
    ({"hash_on_cookie": "a cookie"}, "hash_on_cookie", None),
    ({"healthchecks": {"active": {"concurrency": 0}}}, "healthchecks", None),
    ({"healthchecks": {"active": {"http_path": "ovo"}}}, "healthchecks", None),
    ({"healthchecks": {"passive": {"unhealthy": {"http_statuses": [99]}}}}, "healthchecks",
     None),
    ({"healthchecks": {"threshold": 101}}, "healthchecks", None),
    ({"host_header": "bad host"}, "host_header", None),
])
def test_invalid_fields(client, body, field, message):
    fields = _violation(client.post("/upstreams", json={"name": "u.example", **body}))
    assert field in fields
    if message:
        assert fields[field] == message
    assert client.get("/upstreams").get_json()["data"] == []


def test_hash_fallback_may_not_repeat_hash_on(client):
    for mode in ("consumer", "ip", "path"):
        fields = _violation(client.post("/upstreams", json={
            "name": "u.example", "hash_on": mode, "hash_fallback": mode}))
        assert mode not in fields["hash_fallback"].split(": ", 1)[1].split(", ")
        assert fields["@entity"] == ["failed conditional validation given value of "
                                     "field 'hash_on'"]


def test_distinct_headers(client):
    fields = _violation(client.post("/upstreams", json={
        "name": "u.example", "hash_on": "header", "hash_on_header": "X-A",
        "hash_fallback": "header", "hash_fallback_header": "X-A"}))
    assert fields == {"@entity": ["values of these fields must be distinct: "
                                  "'hash_on_header', 'hash_fallback_header'"]}


def test_algorithm_follows_hash_on(client):
    assert _up(client, name="a.example", hash_on="ip")["algorithm"] == "consistent-hashing"
    up = _up(client, name="b.example", hash_on="header", hash_on_header="X-Key",
             hash_fallback="ip")
    assert up["algorithm"] == "consistent-hashing"
    back = client.patch("/upstreams/b.example", json={"hash_on": "none",
                                                      "hash_fallback": "none"}).get_json()
    assert back["algorithm"] == "round-robin"
    lc = client.patch("/upstreams/b.example",
                      json={"algorithm": "least-connections"}).get_json()
    assert (lc["algorithm"], lc["hash_on"]) == ("least-connections", "none")
    full = _up(client, name="c.example", algorithm="latency", hash_on="none")
    assert full["algorithm"] == "latency"


def test_unique_name(client):
    _up(client, name="u.example")
    resp = client.post("/upstreams", json={"name": "u.example"})
    assert resp.status_code == 409
    assert resp.get_json()["fields"] == {"name": "u.example"}


# -- targets ----------------------------------------------------------------------------

def test_targets_default_port_and_lookup(client):
    up = _up(client)
    resp = client.post(f"/upstreams/{up['id']}/targets", json={"target": "10.0.0.1"})
    assert resp.status_code == 201
    t = resp.get_json()
    assert (t["target"], t["weight"], t["upstream"]) == ("10.0.0.1:8000", 100, {"id": up["id"]})
    assert isinstance(t["created_at"], float) or isinstance(t["created_at"], int)
    assert round(t["created_at"], 3) == t["created_at"]
    for key in ("10.0.0.1", "10.0.0.1:8000", t["id"]):
        assert client.get(f"/upstreams/example.upstream/targets/{key}").get_json() == t
    v6 = client.post("/upstreams/example.upstream/targets",
                     json={"target": "[::1]:81", "weight": 0}).get_json()
    assert v6["target"] == "[0000:0000:0000:0000:0000:0000:0000:0001]:81"
    assert v6["weight"] == 0
    named = client.post("/upstreams/example.upstream/targets",
                        json={"target": "backend.example:9000"}).get_json()
    assert named["target"] == "backend.example:9000"
    listed = client.get("/upstreams/example.upstream/targets").get_json()["data"]
    assert sorted(x["id"] for x in listed) == sorted([t["id"], v6["id"], named["id"]])
    assert client.get("/upstreams/example.upstream/targets/all").get_json()["data"] == listed


def test_target_unique_per_upstream(client):
    _up(client, name="a.example")
    _up(client, name="b.example")
    assert client.post("/upstreams/a.example/targets",
                       json={"target": "10.0.0.1"}).status_code == 201
    resp = client.post("/upstreams/a.example/targets", json={"target": "10.0.0.1:8000"})
    assert resp.status_code == 409
    assert resp.get_json() == {
        "code": 5, "name": "unique constraint violation",
        "message": "UNIQUE violation detected on '{target=\"10.0.0.1:8000\"}'",
        "fields": {"target": "10.0.0.1:8000"}}
    assert client.post("/upstreams/b.example/targets",
                       json={"target": "10.0.0.1"}).status_code == 201


@pytest.mark.parametrize("body, field, message", [
    ({"target": "a b"}, "target", "Invalid target ('a b'); not a valid hostname or ip address"),
    ({"target": "10.0.0.1:99999"}, "target",
     "Invalid target ('10.0.0.1:99999'); not a valid hostname or ip address"),
    ({"target": "10.0.0.1", "weight": 65536}, "weight", "value should be between 0 and 65535"),
    ({"target": "10.0.0.1", "weight": -1}, "weight", "value should be between 0 and 65535"),
    ({}, "target", "required field missing"),
])
def test_invalid_targets(client, body, field, message):
    _up(client)
    fields = _violation(client.post("/upstreams/example.upstream/targets", json=body))
    assert fields[field] == message
    assert client.get("/upstreams/example.upstream/targets").get_json()["data"] == []


def test_target_put_patch_delete(client, changes):
    up = _up(client)
    base = f"/upstreams/{up['name']}/targets"
    created = client.post(base, json={"target": "10.0.0.2:90", "weight": 3}).get_json()
    again = client.put(f"{base}/10.0.0.2:90", json={"weight": 4}).get_json()
    assert again["id"] == created["id"] and again["weight"] == 4
    patched = client.patch(f"{base}/10.0.0.2:90", json={"weight": 7}).get_json()
    assert patched["weight"] == 7 and patched["id"] == again["id"]
    assert client.patch(f"{base}/10.9.9.9", json={"weight": 1}).status_code == 404
    assert client.delete(f"{base}/10.9.9.9").status_code == 404
    assert client.delete(f"{base}/10.0.0.2:90").status_code == 204
    assert client.get(f"{base}/10.0.0.2:90").status_code == 404


def test_target_of_another_upstream_is_not_found(client):
    _up(client, name="a.example")
    _up(client, name="b.example")
    t = client.post("/upstreams/a.example/targets", json={"target": "10.0.0.1"}).get_json()
    assert client.get(f"/upstreams/b.example/targets/{t['id']}").status_code == 404
    assert client.delete(f"/upstreams/b.example/targets/{t['id']}").status_code == 404
    assert client.get(f"/upstreams/a.example/targets/{t['id']}").status_code == 200


def test_deleting_an_upstream_deletes_its_targets(client, db):
    up = _up(client)
    client.post("/upstreams/example.upstream/targets", json={"target": "10.0.0.1"})
    client.post("/upstreams/example.upstream/targets", json={"target": "10.0.0.2"})
    assert client.delete("/upstreams/example.upstream").status_code == 204
    assert list(db.targets.each()) == []
    assert client.get(f"/upstreams/{up['id']}/targets").status_code == 404


def test_unknown_upstream(client):
    assert client.get("/upstreams/nope.example/targets").status_code == 404
    assert client.post("/upstreams/nope.example/targets",
                       json={"target": "10.0.0.1"}).status_code == 404
    assert client.get("/upstreams/nope.example/health").status_code == 404


def test_health_without_a_data_plane(client):
    """The Admin API alone knows no balancer: targets without health, Kong's errors."""
    _up(client)
    t = client.post("/upstreams/example.upstream/targets",
                    json={"target": "10.0.0.1"}).get_json()
    body = client.get("/upstreams/example.upstream/health").get_json()
    assert body["data"] == [t] and body["next"] is None and body["node_id"]
    resp = client.put("/upstreams/example.upstream/targets/10.0.0.1/unhealthy")
    assert resp.status_code == 400
    assert resp.get_json() == {"message": "no healthchecker found for example.upstream"}
    assert client.put("/upstreams/example.upstream/targets/10.9.9.9/healthy").status_code \
        == 404


def test_target_put_updates_and_never_creates(client):
    # Kong 3.9 sends PUT through the update of PATCH: 404 for a missing
    # target, and only the fields given change (the body's target wins).
    _up(client)
    base = "/upstreams/example.upstream/targets"
    resp = client.put(f"{base}/10.0.0.3:90", json={"weight": 3})
    assert resp.status_code == 404 and resp.get_json() == {"message": "Not found"}
    assert client.get(base).get_json()["data"] == []
    t = client.post(base, json={"target": "10.0.0.3:90", "weight": 3}).get_json()
    moved = client.put(f"{base}/{t['id']}", json={"target": "10.0.0.4"}).get_json()
    assert (moved["id"], moved["target"], moved["weight"]) == (t["id"], "10.0.0.4:8000", 3)


def test_health_overrides_take_put_only(client):
    _up(client)
    client.post("/upstreams/example.upstream/targets", json={"target": "10.0.0.1"})
    for path in ("10.0.0.1/healthy", "10.0.0.1/unhealthy", "10.0.0.1/10.0.0.1/healthy"):
        resp = client.post(f"/upstreams/example.upstream/targets/{path}")
        assert resp.status_code == 405, path
        assert resp.get_json() == {"message": "Method not allowed"}


def test_balancer_health_only_for_1(client):
    up = _up(client)
    body = client.get("/upstreams/example.upstream/health?balancer_health=1").get_json()
    assert body["data"]["id"] == up["id"]
    body = client.get("/upstreams/example.upstream/health?balancer_health=true").get_json()
    assert body["data"] == []


def test_health_and_all_targets_next_pages(client):
    _up(client)
    for i in (1, 2, 3):
        client.post("/upstreams/example.upstream/targets", json={"target": f"10.0.0.{i}"})
    for suffix in ("health", "targets/all"):
        body = client.get(f"/upstreams/example.upstream/{suffix}?size=2&tags=x").get_json()
        assert len(body["data"]) == 2, suffix
        assert body["next"] == (f"/upstreams/example.upstream/{suffix}?offset="
                                + body["offset"].replace("=", "%3D"))


def test_whole_numbers_are_written_as_integers(client):
    # Kong (one Lua number type) answers 5 for a form's "5" and for JSON's 6.0.
    _up(client)
    resp = client.patch("/upstreams/example.upstream",
                        data={"healthchecks.active.healthy.interval": "5",
                              "healthchecks.threshold": "2.5"})
    assert resp.status_code == 200
    assert b'"healthy":{"interval":5,' in resp.data and b'"threshold":2.5' in resp.data
    resp = client.patch("/upstreams/example.upstream",
                        json={"healthchecks": {"active": {"timeout": 6.0}}})
    assert b'"timeout":6,' in resp.data
