"""``/keys`` and ``/key-sets`` on every datastore (Kong 3.9's endpoints, after its
spec 21-admin-api-keys_spec.lua)."""
from tests.helpers.http import violation_fields
from tests.helpers.keys import jwk_text, pem_pair, rsa_jwk


def _created(resp):
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _data(client, path):
    resp = client.get(path)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["data"]


def _setup(client):
    key_set = _created(client.post("/key-sets", json={"name": "test"}))
    jwk = rsa_jwk("jwk-kid")
    jwk_key = _created(client.post("/keys", json={
        "name": "unique jwk key", "set": {"id": key_set["id"]}, "jwk": jwk_text(jwk),
        "kid": "jwk-kid"}))
    pair = pem_pair()
    pem_key = _created(client.post("/keys", json={
        "name": "unique pem key", "set": {"id": key_set["id"]}, "kid": "test_pem",
        "pem": {"public_key": pair.public_key, "private_key": pair.private_key}}))
    return key_set, jwk_key, pem_key


def test_kongs_scenario_create_list_patch_cascade(client, changes):
    key_set, jwk_key, pem_key = _setup(client)
    assert list(key_set) == ["id", "name", "tags", "created_at", "updated_at"]
    assert list(jwk_key) == ["id", "set", "name", "kid", "jwk", "pem", "tags", "created_at",
                             "updated_at"]
    assert jwk_key["set"] == {"id": key_set["id"]} and jwk_key["pem"] is None
    assert pem_key["pem"]["public_key"] == pem_pair().public_key
    # Keys without a set.
    _created(client.post("/keys", json={"name": "no set", "kid": "jwk-kid",
                                        "jwk": jwk_text(rsa_jwk("jwk-kid"))}))
    _created(client.post("/keys", json={"name": "pem no set", "kid": "pem-no-set",
                                        "pem": {"public_key": pem_pair().public_key}}))
    assert len(_data(client, "/key-sets")) == 1 and len(_data(client, "/keys")) == 4

    resp = client.patch(f"/key-sets/{key_set['id']}", json={"name": "changeme"})
    assert resp.status_code == 200 and resp.get_json()["name"] == "changeme"
    for key, name in ((jwk_key, "changeme_jwk"), (pem_key, "changeme_pem")):
        resp = client.patch(f"/keys/{key['id']}", json={"name": name})
        assert resp.status_code == 200 and resp.get_json()["name"] == name

    assert client.delete(f"/key-sets/{key_set['id']}").status_code == 204
    assert sorted(k["name"] for k in _data(client, "/keys")) == ["no set", "pem no set"]
    assert _data(client, "/key-sets") == []
    assert changes


def test_kongs_error_messages(client):
    resp = client.post("/keys", json={"name": "jwk3", "kid": "35", "jwk": '"kid":test'})
    assert resp.get_json()["message"] == "schema violation (could not json decode jwk string)"
    resp = client.post("/keys", json={"name": "pem4", "kid": "test_pem",
                                      "jwk": jwk_text(rsa_jwk("jwk-kid"))})
    assert resp.get_json()["message"] == \
        "schema violation (kid in jwk.kid must be equal to keys.kid)"
    resp = client.post("/keys", json={"name": "jwk invalid", "kid": "36",
                                      "jwk": '{"kid": "36"}'})
    assert resp.status_code == 400
    assert resp.get_json()["message"] == \
        "schema violation (could not load JWK, likely not a valid key)"
    assert violation_fields(client.post("/keys", json={"kid": "x"})) == {
        "@entity": ["at least one of these fields must be non-empty: 'jwk', 'pem'"]}
    assert violation_fields(client.post("/key-sets", json={"name": ""})) == {
        "name": "length must be at least 1"}


def test_names_and_kids_are_unique(client):
    key_set, _jwk_key, _pem_key = _setup(client)
    resp = client.post("/key-sets", json={"name": "test"})
    assert resp.status_code == 409
    assert resp.get_json()["message"] == "UNIQUE violation detected on '{name=\"test\"}'"
    pem = {"public_key": pem_pair().public_key}
    resp = client.post("/keys", json={"name": "unique pem key", "kid": "other", "pem": pem})
    assert resp.status_code == 409 and resp.get_json()["fields"] == {"name": "unique pem key"}
    # kid is unique within a set (Kong's cache key kid + set) ...
    resp = client.post("/keys", json={"kid": "test_pem", "set": {"id": key_set["id"]},
                                      "pem": pem})
    assert resp.status_code == 409
    assert resp.get_json()["fields"] == {"kid": "test_pem", "set": {"id": key_set["id"]}}
    # ... and among the keys without one, but not across sets.
    _created(client.post("/keys", json={"kid": "test_pem", "pem": pem}))
    assert client.post("/keys", json={"kid": "test_pem", "pem": pem}).status_code == 409
    other = _created(client.post("/key-sets", json={"name": "other"}))
    _created(client.post("/keys", json={"kid": "test_pem", "set": {"id": other["id"]},
                                        "pem": pem}))


def test_endpoints_by_name_nested_and_foreign(client):
    key_set, jwk_key, _pem_key = _setup(client)
    assert client.get("/key-sets/test").get_json() == key_set
    assert client.get("/keys/unique jwk key").get_json() == jwk_key
    assert sorted(k["kid"] for k in _data(client, "/key-sets/test/keys")) == [
        "jwk-kid", "test_pem"]
    nested = _created(client.post("/key-sets/test/keys", json={
        "kid": "nested", "pem": {"public_key": pem_pair().public_key}}))
    assert nested["set"] == {"id": key_set["id"]}
    assert client.get(f"/key-sets/test/keys/{nested['id']}").get_json() == nested
    assert client.get("/keys/unique jwk key/set").get_json() == key_set
    assert client.get(f"/keys/{nested['id']}/set").status_code == 200
    # A key set named in a foreign key by its name.
    by_name = _created(client.post("/keys", json={
        "kid": "by-name", "set": {"name": "test"}, "pem": {"public_key": pem_pair().public_key}}))
    assert by_name["set"] == {"id": key_set["id"]}
    # PUT by name creates, then replaces.
    resp = client.put("/key-sets/made-by-put", json={"tags": ["t"]})
    assert resp.status_code == 200 and resp.get_json()["name"] == "made-by-put"
    resp = client.put("/keys/put-key", json={"kid": "p", "jwk": jwk_text(rsa_jwk("p"))})
    assert resp.status_code == 200 and resp.get_json()["name"] == "put-key"
    assert client.get("/keys/missing").status_code == 404
    assert client.get("/key-sets/missing/keys").status_code == 404
    assert client.delete("/keys/put-key").status_code == 204
    assert client.get("/keys/put-key").status_code == 404


def test_tags_filter_and_schemas(client):
    _created(client.post("/key-sets", json={"name": "a", "tags": ["red"]}))
    _created(client.post("/key-sets", json={"name": "b", "tags": ["blue"]}))
    _created(client.post("/keys", json={"kid": "k", "tags": ["red"],
                                        "pem": {"public_key": pem_pair().public_key}}))
    assert [s["name"] for s in _data(client, "/key-sets?tags=red")] == ["a"]
    assert [k["kid"] for k in _data(client, "/keys?tags=red")] == ["k"]
    tagged = {(t["entity_name"], t["tag"]) for t in _data(client, "/tags")}
    assert {("key_sets", "red"), ("keys", "red")} <= tagged
    keys = client.get("/schemas/keys").get_json()
    assert keys["entity_checks"][0] == {"mutually_exclusive": ["jwk", "pem"]}
    assert client.get("/schemas/key_sets").status_code == 200
