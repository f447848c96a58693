"""Cases of Kong's own Admin API integration specs
(spec/02-integration/04-admin_api/ in Kong 3.9), each named after its spec."""
from tests.helpers.http import admin

INVALID_TAGS = {"code": 11, "name": "invalid options",
                "message": "invalid option (tags: invalid filter syntax)",
                "options": {"tags": "invalid filter syntax"}}


def _consumer(client, username, *tags):
    return admin(client).post("/consumers", {"username": username, "tags": list(tags)})


# -- 14-tags_spec --------------------------------------------------------------------------

def test_tags_filter_refuses_bytes_kong_refuses(client):
    _consumer(client, "c1", "corp_a", "🦍")
    for raw in ("%FF", "a%01b", "corp_a,%F5"):
        resp = client.get(f"/consumers?tags={raw}")
        assert resp.status_code == 400, raw
        assert resp.get_json() == INVALID_TAGS
    # printable ASCII (space included) and UTF-8 stay valid filters
    assert len(client.get("/consumers?tags=%F0%9F%A6%8D").get_json()["data"]) == 1
    assert client.get("/consumers?tags=foo%20bar").get_json()["data"] == []


def test_tags_filter_ignored_under_a_parent(client):
    # "ignores tags when filtering by multiple filters #6779"
    c1 = _consumer(client, "c1", "corp_a", "consumer1")
    _consumer(client, "c2", "corp_a", "consumer2")
    plugin = admin(client).post(f"/consumers/{c1['id']}/plugins", {
        "name": "file-log", "config": {"path": "/tmp/kongpy-specs.log"},
        "tags": ["corp_a", "consumer1"]})
    body = client.get("/consumers/c1/plugins?tags=consumer2").get_json()
    assert [p["id"] for p in body["data"]] == [plugin["id"]]
    # the filter is still checked
    resp = client.get("/consumers/c1/plugins?tags=a,b/c")
    assert resp.status_code == 400 and resp.get_json() == INVALID_TAGS


# -- 21-truncated_arguments_spec -----------------------------------------------------------

def test_too_many_query_arguments(client):
    many = "&".join(f"a={i}" for i in range(1001))
    resp = client.get(f"/plugins?{many}")
    assert resp.status_code == 400 and resp.get_json() == {"message": "Too many arguments"}
    assert client.get("/plugins?" + many.rsplit("&", 1)[0]).status_code == 200


def test_too_many_form_arguments(client):
    allow = "&".join(f"config.allow=10.0.{i // 250}.{i % 250}" for i in range(1001))
    resp = client.post("/plugins", data="name=ip-restriction&" + allow,
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 400 and resp.get_json() == {"message": "Too many arguments"}
    assert client.get("/plugins").get_json()["data"] == []
    fewer = allow.rsplit("&", 2)[0]
    resp = client.post("/plugins", data="name=ip-restriction&" + fewer,
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 201 and len(resp.get_json()["config"]["allow"]) == 999


# -- 19-vaults_spec, and every entity with an endpoint key ----------------------------------

NAME_ERR = ("invalid value 'bad name': the only accepted ascii characters are "
            "alphanumerics or ., -, _, and ~")


def test_put_by_an_invalid_prefix(client):
    # "handles invalid input by prefix"
    resp = client.put("/vaults/env", json={"name": "env"})
    assert resp.status_code == 400
    assert resp.get_json() == {"code": 10, "name": "invalid unique prefix",
                               "message": "must not be one of: env"}


def test_endpoint_keys_the_schema_refuses(client):
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        resp = client.open("/services/bad%20name", method=method,
                           json={"host": "h"} if method in ("PUT", "PATCH") else None)
        assert resp.status_code == 400, method
        assert resp.get_json() == {"code": 10, "name": "invalid unique name",
                                   "message": NAME_ERR}
    assert client.get("/services/bad%20name/routes").status_code == 400
    assert client.get("/upstreams/bad%20name").get_json() == {
        "code": 10, "name": "invalid unique name",
        "message": "Invalid name; must be a valid hostname"}
    assert client.get("/certificates/x%20y").get_json() == {
        "code": 10, "name": "invalid unique name", "message": "invalid value: x y"}
    # a valid key of nothing is still not found; a field without checks has no such error
    assert client.get("/services/not-found").status_code == 404
    assert client.delete("/services/not-found").status_code == 204
    assert client.get("/consumers/x%20y").status_code == 404


# -- 02-kong_routes_spec: /schemas/vaults/:name ---------------------------------------------

def test_vault_schema(client):
    resp = client.get("/schemas/vaults/env")
    assert resp.status_code == 200
    (config,) = [fld["config"] for fld in resp.get_json()["fields"] if "config" in fld]
    assert config["type"] == "record"
    assert [next(iter(fld)) for fld in config["fields"]][0] == "prefix"
    resp = client.get("/schemas/vaults/not-present")
    assert resp.status_code == 404
    assert resp.get_json() == {"message": "No vault named 'not-present'"}
    # the entity's own schema and validation are still there
    assert client.get("/schemas/vaults").get_json()["fields"][0] == {
        "id": {"type": "string", "auto": True, "uuid": True}}
    resp = client.post("/schemas/vaults/validate", json={"name": "env", "prefix": "my-env"})
    assert resp.status_code == 200
