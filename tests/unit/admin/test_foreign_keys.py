"""Foreign keys as clients send them: Kong's resolution and validation
(kong/db/dao/init.lua resolve_foreign, kong/db/schema/init.lua foreign fields)."""
from tests.helpers.http import admin

ONE_OF = "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp"
MISSING_PK = {"code": 2, "name": "schema violation",
              "message": "schema violation (service.id: missing primary key)",
              "fields": {"service": {"id": "missing primary key"}}}


def test_full_object_uses_its_primary_key_only(client):
    api = admin(client)
    svc = api.post("/services", {"name": "s1", "host": "example.com"})
    # go-kong sends the whole service; Kong ignores all but its id, even
    # fields that would not validate or that disagree with the stored service
    whole = dict(svc, host="elsewhere.example", protocol="nope", extra=1)
    route = api.post("/routes", {"paths": ["/a"], "service": whole})
    assert route["service"] == {"id": svc["id"]}
    assert api.get(f"/routes/{route['id']}")["service"] == {"id": svc["id"]}
    assert api.get("/services/s1")["host"] == "example.com"
    route = api.put("/routes/r2", {"paths": ["/b"], "service": whole})
    assert route["service"] == {"id": svc["id"]}
    route = api.patch("/routes/r2", {"service": dict(whole, name="other")})
    assert route["service"] == {"id": svc["id"]}
    plugin = api.post("/plugins", {"name": "cors", "service": whole})
    assert plugin["service"] == {"id": svc["id"]}


def test_full_object_on_a_plugin_entity(client):
    api = admin(client)
    bob = api.post("/consumers", {"username": "bob"})
    key = api.post("/key-auths", {"key": "k1", "consumer": bob})
    assert key["consumer"] == {"id": bob["id"]}
    assert api.get("/key-auths/k1")["consumer"] == {"id": bob["id"]}


def test_nested_errors_are_the_referenced_schemas(client):
    api = admin(client)
    code, body = api.send("POST", "/routes", {"paths": ["/"], "service": {"protocol": "foo"}})
    assert (code, body) == (400, {
        "code": 2, "name": "schema violation",
        "message": f"schema violation (service.protocol: {ONE_OF})",
        "fields": {"service": {"protocol": ONE_OF}}})
    code, body = api.send("POST", "/routes", {"paths": ["/"], "service": {"name": "\\o/"}})
    assert code == 400 and list(body["fields"]["service"]) == ["name"]
    assert body["fields"]["service"]["name"].startswith("invalid value '\\o/'")
    code, body = api.send("POST", "/routes", {"paths": ["/"], "service": {"nope": 1}})
    assert (code, body["fields"]) == (400, {"service": {"nope": "unknown field"}})
    code, body = api.send("POST", "/routes", {"paths": ["/"], "service": {"id": "x"}})
    assert (code, body["fields"]) == (400, {"service": {"id": "expected a valid UUID"}})
    code, body = api.send("POST", "/routes", {"paths": ["/"], "service": {"id": None}})
    assert (code, body["fields"]) == (400, {"service": {"id": "required field missing"}})


def test_missing_primary_key(client):
    api = admin(client)
    api.post("/services", {"name": "s1", "host": "example.com"})
    for ref in ({"name": None}, {"protocol": "http"}, {}):
        assert api.send("POST", "/routes", {"paths": ["/"], "service": ref}) == (400, MISSING_PK)
    # a form's empty value is null (Kong's arguments decoder)
    resp = client.post("/routes", data={"paths[]": "/", "service.name": ""})
    assert (resp.status_code, resp.get_json()) == (400, MISSING_PK)
    # in JSON, "" is a string, refused by the service's own name field
    code, body = api.send("POST", "/routes", {"paths": ["/"], "service": {"name": ""}})
    assert (code, body["fields"]) == (400, {"service": {"name": "length must be at least 1"}})
    assert api.get("/routes")["data"] == []


def test_resolved_by_unique_field(client):
    api = admin(client)
    svc = api.post("/services", {"name": "s1", "host": "example.com"})
    route = api.post("/routes", {"paths": ["/"], "service": {"name": "s1", "host": "x"}})
    assert route["service"] == {"id": svc["id"]}
    code, body = api.send("POST", "/routes", {"paths": ["/"], "service": {"name": "nope"}})
    message = ("the foreign key cannot be resolved with '{name=\"nope\"}' "
               "for an existing 'services' entity")
    assert (code, body) == (400, {
        "code": 13, "name": "foreign keys unresolved",
        "message": f"foreign key unresolved (service.name: {message})",
        "fields": {"service": {"name": message}}})


def test_schema_validate_endpoint(client):
    code, body = admin(client).send("POST", "/schemas/routes/validate",
                                    {"paths": ["/"], "service": {"protocol": "foo"}})
    assert (code, body["fields"]) == (400, {"service": {"protocol": ONE_OF}})
