"""Entities under a parent and the parent an entity points at, as Kong answers
them (kong/api/endpoints.lua): 404 for what is not there, the client's body as
given; and the consumers' own edge cases."""
from tests.helpers.http import admin

ZERO = "00000000-0000-0000-0000-000000000000"
JSON = {"Content-Type": "application/json"}


def test_delete_the_parent_of_a_route(client):
    api = admin(client)
    api.post("/services", {"name": "s", "host": "example.com"})
    api.post("/routes", {"name": "bound", "paths": ["/a"], "service": {"name": "s"}})
    api.post("/routes", {"name": "free", "paths": ["/b"]})
    # nothing to refuse to delete: 404, as for GET
    assert api.send("DELETE", "/routes/nope/service") == (404, {"message": "Not found"})
    assert api.send("DELETE", f"/routes/{ZERO}/service") == (404, {"message": "Not found"})
    assert api.send("DELETE", "/routes/free/service") == (404, {"message": "Not found"})
    # a service is there; it is never deleted through the route
    assert api.send("DELETE", "/routes/bound/service") == (
        405, {"message": "Method not allowed"})
    assert api.get("/services/s")["name"] == "s"


def test_delete_missing_plugin_under_a_consumer(client):
    api = admin(client)
    api.post("/consumers", {"username": "bob"})
    api.post("/consumers", {"username": "alice"})
    plugin = api.post("/consumers/alice/plugins",
                      {"name": "rate-limiting", "config": {"minute": 1}})
    for key in ("nope", ZERO, plugin["id"]):  # alice's plugin is not bob's
        assert api.send("DELETE", f"/consumers/bob/plugins/{key}") == (
            404, {"message": "Not found"}), key
    assert api.send("DELETE", "/consumers/nobody/plugins/nope")[0] == 404
    assert api.get(f"/plugins/{plugin['id']}")["id"] == plugin["id"]
    api.request("DELETE", f"/consumers/alice/plugins/{plugin['id']}", status=204)
    # the flat path still answers 204 for what is not there
    api.request("DELETE", f"/plugins/{plugin['id']}", status=204)


def test_delete_missing_credential_of_every_type(app, client):
    api = admin(client)
    api.post("/consumers", {"username": "bob"})
    paths = sorted({rule.rule.split("/")[3] for rule in app.url_map.iter_rules()
                    if rule.rule.startswith("/consumers/<consumers>/")
                    and rule.rule.count("/") == 4})
    assert {"acls", "basic-auth", "hmac-auth", "jwt", "key-auth", "plugins"} <= set(paths)
    for path in paths:
        for key in ("blah", ZERO):
            assert api.send("DELETE", f"/consumers/bob/{path}/{key}") == (
                404, {"message": "Not found"}), (path, key)


def test_json_content_type_without_a_body(client):
    api = admin(client)
    api.post("/consumers", {"username": "bob"})
    for method, path in (("POST", "/consumers"), ("PATCH", "/consumers/bob"),
                         ("PUT", "/consumers/carol"), ("POST", "/consumers/bob/key-auth")):
        resp = client.open(path, method=method, headers=JSON)
        assert (resp.status_code, resp.get_json()) == (
            400, {"message": "Cannot parse JSON body"}), (method, path)
    assert api.get("/consumers/bob")["username"] == "bob"
    assert api.send("GET", "/consumers/carol")[0] == 404
    # an empty object is a body: a consumer needs a username or a custom_id
    assert api.send("POST", "/consumers", {})[0] == 400
    # methods without a body are not concerned
    resp = client.get("/consumers/bob", headers=JSON)
    assert resp.status_code == 200


def test_consumers_by_custom_id(client):
    api = admin(client)
    bob = api.post("/consumers", {"username": "bob", "custom_id": "c1"})
    assert api.get("/consumers?custom_id=c1") == {"data": [bob], "next": None}
    assert api.get("/consumers?custom_id=c2") == {"data": [], "next": None}
    for query in ("custom_id=", "custom_id=c1&custom_id=c2"):
        assert api.send("GET", "/consumers?" + query) == (
            400, {"message": "custom_id must be an unempty string"}), query


def test_patch_under_a_parent_keeps_the_body(client):
    api = admin(client)
    svc = api.post("/services", {"name": "s", "host": "example.com"})
    other = api.post("/services", {"name": "t", "host": "example.com"})
    plugin = api.post("/services/s/plugins", {"name": "cors"})
    assert plugin["service"] == {"id": svc["id"]}
    # a PATCH that leaves the service out keeps it
    patched = api.patch(f"/services/s/plugins/{plugin['id']}", {"enabled": False})
    assert patched["service"] == {"id": svc["id"]} and patched["enabled"] is False
    # a PATCH that names another service moves the plugin there
    moved = api.patch(f"/services/s/plugins/{plugin['id']}", {"service": {"id": other["id"]}})
    assert moved["service"] == {"id": other["id"]}
    # null clears it, as on /plugins/{id}
    cleared = api.patch(f"/services/t/plugins/{plugin['id']}", {"service": None})
    assert cleared["service"] is None
    assert api.get(f"/plugins/{plugin['id']}")["service"] is None
    assert api.send("GET", f"/services/t/plugins/{plugin['id']}")[0] == 404
    assert api.send("PATCH", f"/services/s/plugins/{ZERO}", {"enabled": True})[0] == 404
