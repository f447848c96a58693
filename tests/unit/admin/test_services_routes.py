import json

from tests.helpers.http import admin

SID = "5a0c1d39-1b2f-4a3e-9a27-7f0f8e3d8a11"


def _svc(client, **body):
    body.setdefault("host", "example.com")
    return admin(client).post("/services", body)


def test_create_get_json_headers(client, changes):
    resp = client.post("/services", json={"name": "s1", "url": "https://example.com/x"})
    assert resp.status_code == 201 and changes == [1]
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "X-Kong-Admin-Latency" in resp.headers
    body = resp.get_json()
    assert (body["protocol"], body["port"], body["path"]) == ("https", 443, "/x")
    assert "url" not in body
    assert client.get(f"/services/{body['id']}").get_json() == body
    assert client.get("/services/s1/").get_json() == body


def test_schema_violation_body(client):
    resp = client.post("/services", json={"port": "x"})
    assert resp.status_code == 400
    assert resp.get_json() == {
        "code": 2, "name": "schema violation",
        "message": "2 schema violations (host: required field missing; port: expected an integer)",
        "fields": {"host": "required field missing", "port": "expected an integer"}}
    assert client.get("/services").get_json() == {"data": [], "next": None}


def test_unique_violation(client):
    _svc(client, name="s1")
    resp = client.post("/services", json={"name": "s1", "host": "x"})
    assert resp.status_code == 409
    assert resp.get_json() == {"code": 5, "name": "unique constraint violation",
                               "message": "UNIQUE violation detected on '{name=\"s1\"}'",
                               "fields": {"name": "s1"}}


def test_form_bodies(client):
    _svc(client, name="s1")
    resp = client.post("/routes", data={"paths[]": ["/a", "/b"], "service.name": "s1",
                                        "strip_path": "false", "regex_priority": "2",
                                        "name": ""})
    body = resp.get_json()
    assert resp.status_code == 201, body
    assert body["paths"] == ["/a", "/b"] and body["strip_path"] is False
    assert body["regex_priority"] == 2 and body["name"] is None
    resp = client.post("/routes", data={"paths": ["/c", "/d"], "hosts[1]": "a.com",
                                        "headers.x-a": "v", "service[name]": "s1"})
    body = resp.get_json()
    assert body["paths"] == ["/c", "/d"] and body["hosts"] == ["a.com"]
    assert body["headers"] == {"x-a": ["v"]}
    resp = client.post("/services", data={"host": "h", "port": "8080", "tags": "t1"},
                       content_type="multipart/form-data")
    assert resp.status_code == 201 and resp.get_json()["port"] == 8080
    assert resp.get_json()["tags"] == ["t1"]


def test_bad_bodies(client):
    resp = client.post("/services", data="{", content_type="application/json")
    assert resp.status_code == 400 and resp.get_json() == {"message": "Cannot parse JSON body"}
    resp = client.post("/services", data="host=x", content_type="text/plain")
    assert resp.status_code == 415
    assert resp.get_json() == {"message": "Unsupported media type"}


def test_put_is_upsert(client):
    resp = client.put("/services/s1", json={"host": "a", "port": 81, "tags": ["x"]})
    assert resp.status_code == 200 and resp.get_json()["name"] == "s1"
    first = resp.get_json()
    resp = client.put("/services/s1", json={"host": "b"})
    body = resp.get_json()
    assert body["id"] == first["id"] and body["port"] == 80 and body["tags"] is None
    resp = client.put(f"/services/{SID}", json={"host": "c"})
    assert resp.status_code == 200 and resp.get_json()["id"] == SID


def test_patch(client):
    svc = _svc(client, name="s1", retries=3)
    resp = client.patch("/services/s1", json={"port": 9000})
    assert resp.status_code == 200
    assert resp.get_json()["port"] == 9000 and resp.get_json()["retries"] == 3
    resp = client.patch(f"/services/{SID}", json={"port": 1})
    assert resp.status_code == 404
    assert resp.get_json() == {
        "code": 6, "name": "not found",
        "message": f"could not find the entity with primary key '{{id=\"{SID}\"}}'",
        "fields": {"id": SID}}
    resp = client.patch("/services/nope", json={"port": 1})
    assert resp.get_json()["message"] == "could not find the entity with '{name=\"nope\"}'"
    resp = client.patch("/services/s1", json={"port": "x"})
    assert resp.status_code == 400
    assert client.get(f"/services/{svc['id']}").get_json()["port"] == 9000


def test_delete(client):
    svc = _svc(client, name="s1")
    assert client.delete("/services/s1").status_code == 204
    assert client.delete("/services/s1").status_code == 204
    assert client.get(f"/services/{svc['id']}").status_code == 404
    assert client.get(f"/services/{svc['id']}").get_json() == {"message": "Not found"}


def test_delete_restricted(client):
    _svc(client, name="s1")
    client.post("/services/s1/routes", json={"paths": ["/"]})
    resp = client.delete("/services/s1")
    assert resp.status_code == 400
    assert resp.get_json() == {
        "code": 4, "name": "foreign key violation",
        "message": "an existing 'routes' entity references this 'services' entity",
        "fields": {"@referenced_by": "routes"}}


def test_route_with_missing_service(client):
    resp = client.post("/routes", json={"paths": ["/"], "service": {"id": SID}})
    assert resp.status_code == 400
    assert resp.get_json() == {
        "code": 4, "name": "foreign key violation",
        "message": f"the foreign key '{{id=\"{SID}\"}}' does not reference an existing "
                   "'services' entity.",
        "fields": {"service": {"id": SID}}}
    resp = client.post("/routes", json={"paths": ["/"], "service": {"name": "nope"}})
    assert resp.status_code == 400 and resp.get_json()["code"] == 13


def test_nested_routes(client):
    s1 = _svc(client, name="s1")
    _svc(client, name="s2")
    resp = client.post("/services/s1/routes", json={"name": "r1", "paths": ["/"]})
    assert resp.status_code == 201 and resp.get_json()["service"] == {"id": s1["id"]}
    assert len(client.get("/services/s1/routes").get_json()["data"]) == 1
    assert client.get("/services/s2/routes").get_json()["data"] == []
    assert client.get("/services/s1/routes/r1").status_code == 200
    assert client.get("/services/s2/routes/r1").status_code == 404
    assert client.get("/services/nope/routes").status_code == 404
    assert client.patch("/services/s1/routes/r1", json={"hosts": ["a.com"]}).status_code == 200
    assert client.delete("/services/s1/routes/r1").status_code == 204
    assert client.get("/routes/r1").status_code == 404


def test_route_service_endpoint(client):
    s1 = _svc(client, name="s1")
    client.post("/routes", json={"name": "r1", "paths": ["/"], "service": {"id": s1["id"]}})
    assert client.get("/routes/r1/service").get_json()["id"] == s1["id"]
    resp = client.patch("/routes/r1/service", json={"port": 8081})
    assert resp.get_json()["port"] == 8081
    resp = client.delete("/routes/r1/service")
    assert resp.status_code == 405 and resp.get_json() == {"message": "Method not allowed"}
    client.post("/routes", json={"name": "r2", "paths": ["/2"]})
    assert client.get("/routes/r2/service").status_code == 404
    resp = client.put("/routes/r2/service", json={"name": "s2", "host": "h"})
    assert resp.status_code == 200
    assert client.get("/routes/r2").get_json()["service"] == {"id": resp.get_json()["id"]}


def test_pagination_next(client):
    for i in range(5):
        _svc(client, host=f"h{i}", tags=["t"])
    resp = client.get("/services?size=2&tags=t")
    body = resp.get_json()
    assert len(body["data"]) == 2 and body["offset"]
    assert body["next"].startswith("/services?offset=")
    assert body["next"].endswith("&size=2&tags=t")
    seen = [r["id"] for r in body["data"]]
    while body["next"]:
        body = client.get(body["next"]).get_json()
        seen += [r["id"] for r in body["data"]]
    assert len(seen) == 5 and seen == sorted(seen)
    assert "offset" not in body


def test_pagination_errors(client):
    for query, message in [("size=0", "size must be an integer between 1 and 1000"),
                           ("size=abc", "size must be a number")]:
        resp = client.get(f"/services?{query}")
        assert resp.status_code == 400
        assert resp.get_json() == {"code": 9, "name": "invalid size", "message": message}
    resp = client.get("/services?offset=%21%21")
    assert resp.get_json() == {"code": 7, "name": "invalid offset",
                               "message": "'!!' is not a valid offset: bad base64 encoding"}


def test_tag_filters(client):
    a = _svc(client, tags=["x", "y"])
    b = _svc(client, tags=["y"])
    assert [r["id"] for r in client.get("/services?tags=x,y").get_json()["data"]] == [a["id"]]
    ids = {r["id"] for r in client.get("/services?tags=x/y").get_json()["data"]}
    assert ids == {a["id"], b["id"]}
    resp = client.get("/services?tags=x,y/z")
    assert resp.status_code == 400 and resp.get_json() == {
        "code": 11, "name": "invalid options",
        "message": "invalid option (tags: invalid filter syntax)",
        "options": {"tags": "invalid filter syntax"}}
    resp = client.get("/services?tags=a,b,c,d,e,f")
    assert resp.get_json()["options"] == {"tags": "cannot query more than 5 tags"}


def test_tags_endpoints(client):
    svc = _svc(client, tags=["x"])
    assert client.get("/tags").get_json()["data"] == [
        {"entity_name": "services", "entity_id": svc["id"], "tag": "x"}]
    assert len(client.get("/tags/x").get_json()["data"]) == 1
    assert client.get("/tags/none").get_json() == {"data": [], "next": None}


def test_json_array_body_is_schema_violation(client):
    resp = client.post("/services", data=json.dumps([1]), content_type="application/json")
    assert resp.status_code == 400 and resp.get_json()["code"] == 2
