import kongpy
from kongpy.admin import create_app
from kongpy.admin.errors import NO_SCHEMA


def test_root(client, backend):
    body = client.get("/").get_json()
    assert body["tagline"] == "Welcome to kong"
    assert body["version"] == kongpy.KONG_VERSION
    assert body["kongpy_version"] == kongpy.__version__
    assert body["edition"] == "community"
    assert body["node_id"] == "0b7d2a4e-3c1f-4f57-a1c7-8f1b7d4c2e10"
    assert body["configuration"]["pg_password"] == "******"
    assert body["configuration"]["database"] == backend["database"]
    assert body["plugins"]["enabled_in_cluster"] == []
    assert body["plugins"]["available_on_server"]["key-auth"] == {
        "version": "3.9.1", "priority": 1250}
    assert "timers" not in body  # no data plane to count them


def test_root_and_status_with_dataplane(tmp_path):
    doc = {"server": {"connections_active": 3, "total_requests": 9},
           "memory": {"workers_lua_vms": [{"pid": 7, "http_allocated_gc": 2 * 2 ** 20}],
                      "lua_shared_dicts": {"kongpy_snapshot": {
                          "allocated_slabs": 1024, "capacity": 5 * 2 ** 20}}},
           "pids": {"master": 6, "workers": [7]}, "lua_version": "LuaJIT 2.1",
           "timers": {"running": 2, "pending": 5}}
    app = create_app({"database": "sqlite", "sqlite_path": str(tmp_path / "d.db")},
                     dataplane=lambda: doc)
    client = app.test_client()
    root = client.get("/").get_json()
    assert root["pids"] == {"master": 6, "workers": [7]} and root["lua_version"] == "LuaJIT 2.1"
    assert root["timers"] == {"running": 2, "pending": 5}
    status = client.get("/status").get_json()
    assert status["server"]["connections_active"] == 3
    assert status["database"] == {"reachable": True}
    assert status["memory"]["workers_lua_vms"] == [{"pid": 7, "http_allocated_gc": "2.00 MiB"}]
    raw = client.get("/status?unit=b").get_json()["memory"]["lua_shared_dicts"]
    assert raw == {"kongpy_snapshot": {"allocated_slabs": 1024, "capacity": 5 * 2 ** 20}}
    assert client.get("/status?unit=k&scale=1").get_json()["memory"]["lua_shared_dicts"][
        "kongpy_snapshot"]["allocated_slabs"] == "1.0 KiB"
    assert client.get("/status?unit=x").status_code == 400


def test_dataplane_failure_is_not_500(tmp_path):
    def broken():
        raise OSError("no socket")
    app = create_app({"database": "sqlite", "sqlite_path": str(tmp_path / "d.db")},
                     dataplane=broken)
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert "timers" not in client.get("/").get_json()
    assert client.get("/status").get_json()["server"]["total_requests"] == 0


def test_not_found_and_methods(client):
    resp = client.get("/nope")
    assert resp.status_code == 404 and resp.get_json() == {"message": "Not found"}
    resp = client.delete("/services")
    assert resp.status_code == 405 and resp.get_json() == {"message": "Method not allowed"}


def test_options_and_cors(client):
    resp = client.options("/services/x")
    assert resp.status_code == 204
    assert resp.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"
    assert resp.headers["Access-Control-Allow-Methods"] == resp.headers["Allow"]
    assert client.get("/").headers["Access-Control-Allow-Origin"] == "*"
    assert client.head("/services").status_code == 200
    # Kong echoes any Origin; kongpy refuses those it was not told to allow
    # (tests/unit/admin/test_guard.py).
    resp = client.options("/services/x", headers={"Origin": "http://ui.local"})
    assert resp.status_code == 403


def test_endpoints(client):
    data = client.get("/endpoints").get_json()["data"]
    assert data == sorted(data)
    for path in ("/services/{services}/routes", "/routes/{routes}/service", "/tags/{tags}"):
        assert path in data


def test_schemas(client):
    body = client.get("/schemas/routes").get_json()
    names = [next(iter(f)) for f in body["fields"]]
    assert "protocols" in names and "service" in names
    assert client.get("/schemas/nope").get_json() == {"message": "No entity named 'nope'"}
    resp = client.post("/schemas/services/validate", json={"host": "x"})
    assert resp.get_json() == {"message": "schema validation successful"}
    resp = client.post("/schemas/services/validate", json={})
    assert resp.status_code == 400 and resp.get_json()["code"] == 2
    assert client.get("/services").get_json()["data"] == []


def test_database_errors_are_generic(client, app):
    strategy = app.extensions["kongpy"]["db"].strategy
    # a table that lost a column: neither the client's doing nor a reset
    if strategy.name == "cassandra":
        strategy.cql.ddl(f"ALTER TABLE {strategy.t('services')} DROP entity")
    else:
        strategy._exec('ALTER TABLE "services" DROP COLUMN "entity"')
    try:
        resp = client.get("/services")
        assert resp.status_code == 500
        assert resp.get_json() == {"message": "An unexpected error occurred"}
    finally:
        strategy.drop_everything()  # the next test bootstraps afresh


def test_a_datastore_reset_under_the_node_gives_503_saying_what_to_do(client, app):
    app.extensions["kongpy"]["db"].strategy.drop_everything()
    for method, path, body in (("GET", "/services", None),
                               ("POST", "/services", {"host": "example.test"}),
                               ("GET", "/consumers/bob", None)):
        resp = client.open(path, method=method, json=body)
        assert (resp.status_code, resp.get_json()) == (503, {"message": NO_SCHEMA}), path


def test_status_unit_and_scale_as_kong_reads_them(tmp_path):
    doc = {"memory": {"workers_lua_vms": [{"pid": 9, "http_allocated_gc": 3 * 2 ** 20},
                                          {"pid": 8, "http_allocated_gc": 2 ** 20}],
                      "lua_shared_dicts": {"d": {"allocated_slabs": 1536,
                                                 "capacity": 5 * 2 ** 20}}}}
    app = create_app({"database": "sqlite", "sqlite_path": str(tmp_path / "d.db")},
                     dataplane=lambda: doc)
    client = app.test_client()

    def memory(query: str):
        resp = client.get("/status?" + query)
        body = resp.get_json()
        return (resp.status_code, body["memory"] if resp.status_code == 200 else body)

    # workers in pid order; Lua's tonumber reads the scale (hex, spaces, fractions)
    code, mem = memory("unit=K&scale=0x3")
    assert code == 200 and mem["workers_lua_vms"] == [
        {"pid": 8, "http_allocated_gc": "1024.000 KiB"},
        {"pid": 9, "http_allocated_gc": "3072.000 KiB"}]
    assert memory("unit=k&scale=%201.9%20")[1]["lua_shared_dicts"]["d"] == {
        "allocated_slabs": "1.5 KiB", "capacity": "5120.0 KiB"}
    # no number: the default scale; an empty unit: bytes as strings ("%d")
    assert memory("scale=x")[1]["lua_shared_dicts"]["d"]["capacity"] == "5.00 MiB"
    assert memory("scale=1_0")[1]["lua_shared_dicts"]["d"]["capacity"] == "5.00 MiB"
    assert memory("unit=")[1]["lua_shared_dicts"]["d"] == {
        "allocated_slabs": "1536", "capacity": "5242880"}
    # bytes never look at the scale
    assert memory("unit=B&scale=-1")[1]["lua_shared_dicts"]["d"]["capacity"] == 5 * 2 ** 20
    assert memory("unit=z") == (400, {
        "message": "invalid unit 'z' (expected 'k/K', 'm/M', or 'g/G')"})
    assert memory("unit=z&scale=-1") == (400, {
        "message": "scale must be equal or greater than 0"})
    # precisions LuaJIT's string.format refuses, with its message
    assert memory("unit=g&scale=99")[0] == 200
    assert memory("unit=g&scale=1000") == (400, {
        "message": "invalid option '%.100' to 'format'"})
    assert memory("scale=inf") == (400, {"message": "invalid option '%.-' to 'format'"})
    assert memory("scale=nan") == (400, {"message": "invalid option '%.-' to 'format'"})
