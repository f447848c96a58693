"""The PDK (Kong 3.9's ``kong.*``) through a live node, seen by the pdk-probe
fixture plugin (tests/fixtures/plugins/pdk-probe/): each module in the phases
Kong allows, Kong's phase errors elsewhere, the "not supported" errors, and
what crosses workers (kong.cache, kong.worker_events)."""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.helpers.http import admin, proxy
from tests.helpers.servers import EchoServer

FIXTURE_PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"


@pytest.fixture(scope="module")
def gateway(start_node):
    return start_node(plugins="bundled, pdk-probe", plugins_path=str(FIXTURE_PLUGINS),
                      trusted_ips="127.0.0.1, 10.0.0.0/8, unix:")


@pytest.fixture(scope="module")
def node(gateway, svc):
    """The probe as a global instance (so its rewrite phase runs), a route, a
    regex route and the consumer alice with a key-auth key."""
    gw = gateway
    gw.create("/services/svc/routes", {"name": "probe-route", "paths": ["/probe"]})
    gw.create("/services/svc/routes", {"name": "captures",
                                       "paths": [r"~/captures/(?<word>[a-z]+)/(\d+)$"]})
    plugin = gw.create("/plugins", {"name": "pdk-probe"})
    consumer = gw.create("/consumers", {"username": "alice"})
    gw.create("/consumers/alice/key-auth", {"key": "alice-key"})
    gw.wait_sync()
    return {"gw": gw, "plugin": plugin, "consumer": consumer}


def op(gw, name: str, path: str = "/probe/x", **params) -> dict:
    resp = proxy(gw).get(path, params={"op": name, **params})
    assert resp.status_code == 200, resp.text
    return resp.json()


def on_each_worker(gw, name: str, workers: int = 2, **params) -> dict[int, dict]:
    """One answer of op ``name`` from each worker (new connections until all answered)."""
    seen: dict[int, dict] = {}
    deadline = time.monotonic() + 10
    while len(seen) < workers and time.monotonic() < deadline:
        resp = requests.get(gw.proxy + "/probe/x", params={"op": name, **params},
                            headers={"Connection": "close"}, timeout=5)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        seen.setdefault(body["worker"], body)
    assert len(seen) == workers, seen
    return seen


def read_shared(gw, key: str, timeout: float = 5.0) -> dict:
    """A report the probe left in the shared dict (from a later phase)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = op(gw, "read", key=key)["value"]
        if value is not None:
            return value
        time.sleep(0.05)
    raise AssertionError(f"no probe report under {key}")


# -- kong.request ----------------------------------------------------------------------

def test_request_reads(node):
    gw = node["gw"]
    resp = proxy(gw).post(
        "/probe/b//c%2F", params={"op": "request", "a": ["1", "2"], "flag": ""},
        data=json.dumps({"k": [1, 2]}),
        headers={"X-Probe": "p1", "Content-Type": "application/json",
                 "X-Forwarded-Proto": "HTTPS", "X-Forwarded-Host": "user@Example.com:9443",
                 "X-Forwarded-Path": "/original"})
    body = resp.json()
    assert resp.status_code == 200, body
    assert body["scheme"] == "http" and body["method"] == "POST"
    assert body["port"] == gw.ports["proxy"] and body["http_version"] == 1.1
    assert body["raw_path"] == "/probe/b//c%2F" and body["path"] == "/probe/b/c%2F"
    assert body["path_with_query"].startswith("/probe/b//c%2F?op=request")
    assert body["query_arg"] == "1" and body["query"]["a"] == ["1", "2"]
    assert body["query"]["flag"] == ""
    assert body["query_limit"] == "max_args must be >= 1"
    assert body["header"] == "p1" and body["header_underscore"] == "p1"
    assert body["headers_limited"] == 2
    assert body["raw_body"] == '{"k": [1, 2]}'
    assert body["body"] == {"k": [1, 2]} and body["body_mime"] == "application/json"
    # 127.0.0.1 is in trusted_ips: the client's X-Forwarded-* count
    assert body["forwarded_scheme"] == "https"
    assert body["forwarded_host"] == "example.com" and body["forwarded_port"] == 9443
    assert body["forwarded_path"] == "/original"
    assert body["forwarded_prefix"] == "/probe"
    assert abs(body["start_time"] / 1000 - time.time()) < 30


def test_request_bodies(node):
    gw = node["gw"]
    form = proxy(gw).post("/probe/x", params={"op": "request"}, data={"f": "v", "g": "w"})
    assert form.json()["body"] == {"f": "v", "g": "w"}
    multi = proxy(gw).post("/probe/x", params={"op": "request"},
                           files={"a": (None, "1"), "b": ("b.txt", "two")})
    assert multi.json()["body"] == {"a": "1", "b": "two"}
    text = proxy(gw).post("/probe/x", params={"op": "request"}, data="plain",
                          headers={"Content-Type": "text/plain"}).json()
    assert text["body"] is None
    assert text["body_err"] == "unsupported content type 'text/plain'"
    forced = proxy(gw).post("/probe/x", params={"op": "request", "mime": "application/json"},
                            data='{"x": 1}', headers={"Content-Type": "text/plain"}).json()
    assert forced["body"] == {"x": 1}


def test_uri_captures(node):
    body = op(node["gw"], "request", path="/captures/abc/42")
    assert body["captures"] == {"unnamed": ["abc", "42"], "named": {"word": "abc"}}
    assert op(node["gw"], "request")["captures"] == {"unnamed": [], "named": {}}


# -- kong.client, kong.ctx, kong.plugin ------------------------------------------------------

def test_client(node):
    body = op(node["gw"], "client", consumer="alice")
    assert body["ip"] == body["forwarded_ip"] == "127.0.0.1"
    assert isinstance(body["port"], int) and body["port"] == body["forwarded_port"]
    assert body["protocol"] == "http" and body["protocol_terminated"] == "http"
    assert body["consumer_before"] is None
    alice = body["by_username"]
    assert alice["username"] == "alice" and "custom_id" not in alice  # no JSON nulls
    assert body["by_id"] == alice
    assert body["consumer_after"] == "alice" and body["credential_after"] == "cred-1"
    assert body["load_bad_id"] == "cannot load a consumer with an id that is not a uuid"
    assert body["authenticate_none"] == "either credential or consumer must be provided"
    assert body["tls_verify"] == "ok" and body["tls_verify_bad"].startswith(
        "unknown client verify value: MAYBE")
    assert body["tls_request_cert"] == ("kong.client.tls.request_client_certificate: function "
                                        "cannot be called in access phase (only in: certificate)")
    assert body["tls_chain"] is None


def test_ctx_and_plugin_id(node):
    body = op(node["gw"], "ctx")
    assert body["shared"] == "probe"
    assert body["plugin_from_rewrite"] == "rewrite"  # one instance, one kong.ctx.plugin
    assert body["plugin_id"] == node["plugin"]["id"]
    assert body["rewrite_get_consumer"] == (
        "kong.client.get_consumer: function cannot be called in rewrite phase "
        "(only in: access, header_filter, body_filter, log)")


# -- kong.node, kong.router, kong.ip, kong.nginx, tables, configuration -----------------------

def test_node_router_ip_nginx(node):
    gw = node["gw"]
    body = op(gw, "node")
    settings = json.loads((gw.prefix / "settings.json").read_text())
    assert body["id"] == settings["node_id"]
    assert body["hostname"] and body["name"] == body["hostname"]
    assert body["workers"] == 2
    assert body["cache_dict"]["capacity"] > 0
    assert body["cache_dict_k"]["capacity"].endswith(" KiB")
    assert body["bad_unit"] == "invalid unit 'x' (expected 'k/K', 'm/M', or 'g/G')"
    route = op(gw, "router")
    assert route == {"route_name": "probe-route", "route_hosts_absent": True,
                     "service_name": "svc", "service_port": route["service_port"]}
    assert op(gw, "ip") == {"127.0.0.1": True, "10.1.2.3": True, "192.168.0.1": False,
                            "::1": False, "unix:": True, "bogus": False}
    nginx = op(gw, "nginx")
    assert nginx["subsystem"] == "http" and nginx["ctx"] == "probe-value"
    assert nginx["total_requests"] > 0 and nginx["connections_active"] >= 1


def test_tables_and_tools(node):
    body = op(node["gw"], "tables")
    assert body["cleared"] == 0 and body["merged"] == {"a": 1, "b": 3, "c": 4}
    assert body["table_merge"] == {"a": 1, "b": 2} and body["contains"] is True
    assert body["cycle"] is True and body["deep"] == 1 and body["shallow"] == 3
    assert body["pack_n"] == 3 and body["unpacked"] == 3 and body["concat"] == [1, 2, 3]
    assert body["split"] == ["a", "b", "", "c"] and body["strip"] == "x"
    assert body["bytes"] == "5.24 MiB" and body["random_len"] == 32
    assert body["uuid_valid"] and body["utils_uuid"] and body["utils_merge"] == 2
    assert body["utils_encode"] == "a=true&b=x%20y" and body["module_missing"]


def test_configuration_version_vault_tracing(node):
    body = op(node["gw"], "misc")
    assert body["version"] == "3.9.1" and body["version_num"] == 30901
    assert body["log_level"] == "info" and body["database"] == "sqlite"
    assert body["prefix"] == str(node["gw"].prefix) and body["role"] == "traditional"
    assert body["pg_password"] in (None, "******")
    assert body["write_conf"].endswith("cannot write to configuration")
    assert body["is_ref"] is True and body["not_ref"] is False
    assert body["vault_get"] == ("kong.vault.get: vaults are not supported yet, cannot "
                                 "resolve {vault://env/secret}")
    assert body["vault_update"].startswith("kong.vault.update: vaults are not supported yet")
    assert body["vault_plain"] == "plain"
    assert body["active_span"] is None and body["telemetry"] == "ok"


# -- kong.response --------------------------------------------------------------------------

def test_response_exit_and_error(node):
    gw = node["gw"]
    table = proxy(gw).get("/probe/x", params={"op": "exit"})
    assert table.status_code == 201 and table.json() == {"message": "created", "list": [1, 2]}
    assert table.headers["Content-Type"] == "application/json; charset=utf-8"
    assert table.headers["X-Exit"] == "1" and table.headers["X-Probe-Source"] == "exit"
    text = proxy(gw).get("/probe/x", params={"op": "exit", "kind": "string"})
    assert text.status_code == 418 and text.text == "short and stout"
    assert text.headers["Content-Type"] == "text/plain"
    empty = proxy(gw).get("/probe/x", params={"op": "exit", "kind": "empty"})
    assert empty.status_code == 204 and empty.text == ""
    err = proxy(gw).get("/probe/x", params={"op": "exit", "kind": "error"})
    assert err.status_code == 403 and err.json()["message"] == "go away"
    assert err.headers["X-Error"] == "1"
    default = proxy(gw).get("/probe/x", params={"op": "exit", "kind": "error_default"},
                            headers={"Accept": "text/html"})
    assert default.status_code == 404 and "<p>Not found.</p>" in default.text
    plain = proxy(gw).get("/probe/x", params={"op": "exit", "kind": "error_text"})
    assert plain.status_code == 401 and plain.text.startswith("who\nrequest_id: ")
    assert plain.headers["Content-Type"] == "text/plain"


def test_response_exit_prepared(node):
    """kongpy's own prepare_headers()/exit_prepared(): exit() with headers
    checked once (what proxy-cache's hits use)."""
    resp = proxy(node["gw"]).get("/probe/x", params={"op": "exit", "kind": "prepared"})
    assert resp.status_code == 203 and resp.text == "prepared body"
    assert resp.headers["Content-Type"] == "text/plain"
    assert resp.headers["Content-Length"] == str(len("prepared body"))
    assert [resp.headers[f"X-P{i}"] for i in range(1, 14)] == [str(i) for i in range(1, 14)]
    assert resp.raw.headers.getlist("X-Multi") == ["a", "2"]
    assert "Transfer-Encoding" not in resp.headers
    assert resp.headers["X-Probe-Source"] == "exit"
    body = op(node["gw"], "phases")
    assert body["prepared_unprepared"] == "headers must come from kong.response.prepare_headers"
    assert body["prepared_bad_header"] == ('invalid header value for "X-Bad": got function, '
                                           'expected array of string, string, number or boolean')
    assert body["prepared_table_body"] == "body must be a nil or string"


def test_response_in_header_and_body_filter(node):
    gw = node["gw"]
    resp = proxy(gw).get("/probe/x", params={"hf": "service"})
    assert resp.status_code == 200 and resp.headers["X-Probe-Source"] == "service"
    assert resp.headers["X-Probe-Status"] == "200"
    assert resp.headers["X-Probe-Service-Status"] == "200"
    assert resp.headers["X-Probe-Service-Type"] == "application/json"
    # only what the service sent, not the headers set by the gateway or plugins
    assert resp.headers["X-Probe-Service-Kong-Header"] == "nil"
    # Kong's own message: this request was not proxied buffered
    assert resp.headers["X-Probe-Service-Body"] == (
        "service body is only available with buffered proxying (see: "
        "kong.service.request.enable_buffering function)")
    assert resp.headers["X-Probe-Hf-Get-Body"] == (
        "kong.request.get_body: function cannot be called in header_filter phase (only in: "
        "rewrite, access, response, error, admin_api)")
    assert resp.headers["X-Probe-Multi"] == "one, two"
    upper = proxy(gw).get("/probe/x", params={"hf": "upper"})
    assert upper.status_code == 200 and '"METHOD": "GET"' in upper.text
    status = proxy(gw).get("/probe/x", params={"hf": "status"})
    assert status.status_code == 299
    late = proxy(gw).get("/probe/x", params={"hf": "exit"})
    assert late.status_code == 403 and late.headers["X-Probe-Exit"] == "1"
    assert late.headers["X-Probe-Exit-Body"] == (
        "kong.response.exit: a body cannot be sent from the header_filter phase")
    assert late.json()["method"] == "GET"  # the service's body, already on its way


def test_phase_and_unsupported_errors(node):
    body = op(node["gw"], "phases")
    assert body["response_raw_body"] == ("kong.response.get_raw_body: function cannot be "
                                         "called in access phase (only in: response, body_filter)")
    assert body["response_get_status"].startswith(
        "kong.response.get_status: function cannot be called in access phase")
    assert body["service_response_status"] == (
        "kong.service.response.get_status: function cannot be called in access phase "
        "(only in: response, header_filter, body_filter, log)")
    assert body["router_in_access"] == "ok"
    assert body["buffering"] == "ok"
    assert body["upstream"] == "could not find an Upstream named 'up'"
    assert body["tls_verify"].startswith("kong.service.set_tls_verify: not supported")
    assert body["tls_depth"].startswith("kong.service.set_tls_verify_depth: not supported")
    assert body["bad_header"] == ('invalid header value for "X-Bad": got function, expected '
                                  'array of string, string, number or boolean')
    assert body["bad_status"] == "code must be a number between 100 and 599"
    assert body["exit_bad_body"] == "body must be a nil, string or table"
    assert body["error_low"] == "code must be a number between 400 and 599"


def test_init_worker_phase(node):
    gw = node["gw"]
    body = read_shared(gw, "init_worker")
    assert body == {"get_port": "kong.request.get_port: function cannot be called in "
                                "init_worker phase (can be called in any phases except: "
                                "init_worker)",
                    "get_ip": "kong.client.get_ip: function cannot be called in init_worker "
                              "phase (can be called in any phases except: init_worker)"}
    log = (gw.prefix / "logs" / "error.log").read_text(errors="replace")
    assert "[kong] handler.lua:" in log and "[pdk-probe] pdk-probe init_worker" in log


# -- kong.service, kong.service.request ------------------------------------------------------

def test_service_request_changes(node):
    gw = node["gw"]
    resp = proxy(gw).get("/probe/x", params={"op": "upstream", "keep": "me"},
                         headers={"X-Remove-Me": "1", "Content-Type": "text/plain"})
    assert resp.status_code == 200, resp.text
    seen = resp.json()
    assert seen["method"] == "PUT"
    assert seen["path"] == "/changed/path?a=1&a=x%20y"
    assert seen["headers"]["x-set"] == "one"
    assert seen["headers"]["x-added"] == ["a", "b"]
    assert seen["headers"]["x-many"] == ["m1", "m2"] and seen["headers"]["x-num"] == "5"
    assert "x-remove-me" not in seen["headers"]
    assert seen["body"] == "y=2&z=1"
    assert seen["headers"]["content-type"] == "application/x-www-form-urlencoded"
    raw = proxy(gw).post("/probe/x?op=raw_upstream", data="ignored").json()
    assert raw["path"] == "/x?raw=1&x" and raw["body"] == "raw body"


def test_service_set_target(node):
    gw = node["gw"]
    other = EchoServer("other").start()
    try:
        resp = proxy(gw).get("/probe/x", params={"op": "upstream",
                                                 "target_port": str(other.port)})
        assert resp.status_code == 200, resp.text
        assert resp.json()["name"] == "other"
        assert resp.json()["headers"]["host"] == "127.0.0.1"
    finally:
        other.stop()


# -- kong.log ------------------------------------------------------------------------------

def test_log_lines_and_serialize(node):
    gw = node["gw"]
    rid = uuid.uuid4().hex
    resp = proxy(gw).get("/probe/x", params={"op": "log"},
                         headers={"X-Probe-Id": rid, "Authorization": "Basic secret"})
    assert resp.json() == {
        "bad_mode": "mode must be 'set', 'add' or 'replace'",
        "serialize_in_access": "kong.log.serialize: function cannot be called in access "
                               "phase (only in: log)"}
    report = read_shared(gw, "log:" + rid)
    log = report["serialize"]
    assert log["request"]["headers"]["authorization"] == "REDACTED"
    assert log["request"]["headers"]["x-probe-id"] == rid
    assert log["request"]["method"] == "GET" and log["request"]["querystring"]["op"] == "log"
    assert log["request"]["uri"].startswith("/probe/x?op=log")
    assert log["request"]["url"].startswith(f"http://127.0.0.1:{gw.ports['proxy']}/probe/x")
    assert log["request"]["id"] == resp.headers["X-Kong-Request-Id"]
    assert log["response"]["status"] == 200 and log["source"] == "kong"
    assert log["response"]["headers"]["content-type"] == "application/json; charset=utf-8"
    assert log["route"]["name"] == "probe-route" and log["service"]["name"] == "svc"
    assert log["client_ip"] == "127.0.0.1" and log["started_at"] > 0
    assert set(log["latencies"]) == {"kong", "proxy", "request", "receive"}
    assert log["latencies"]["proxy"] == -1
    assert log["probe"] == {"extra": "x"} and "absent" not in log
    assert "x-probe-drop" not in log["request"]["headers"]
    assert report["set_header"].startswith(
        "kong.response.set_header: function cannot be called in log phase")
    assert report["exit"].startswith("kong.response.exit: function cannot be called in log")
    assert report["plugin_id"] == node["plugin"]["id"] and report["shared"] == "probe"
    text = (gw.prefix / "logs" / "error.log").read_text(errors="replace")
    assert "[kong] ops.lua:" in text
    for line in ("[pdk-probe] probe notice 1 nil", "[pdk-probe] probe err",
                 "[pdk-probe] probe call", "[pdk-probe] probe deprecated (deprecated after 3.0, "
                 "scheduled for removal in 4.0)", '"probe inspect"'):
        assert line in text, line
    assert "probe debug never written" not in text


def test_serialize_proxied(node):
    gw = node["gw"]
    rid = uuid.uuid4().hex
    resp = proxy(gw).get("/probe/x", headers={"X-Probe-Id": rid})
    assert resp.status_code == 200
    log = read_shared(gw, "log:" + rid)["serialize"]
    assert log["source"] == "upstream" and log["upstream_status"] == "200"
    assert log["upstream_uri"] == "/x"
    assert log["tries"][-1]["ip"] == "127.0.0.1" and log["latencies"]["proxy"] >= 0
    assert "authenticated_entity" not in log and "consumer" not in log


# -- kong.db ------------------------------------------------------------------------------

def test_db_reads_and_refused_writes(node):
    body = op(node["gw"], "db", username="alice", key="alice-key")
    assert body["consumer"]["username"] == "alice" and body["by_id"] == "alice"
    assert body["nulls"] is True  # {nulls = true}: the row with its JSON nulls
    assert body["cred_consumer"] == node["consumer"]["id"]
    assert body["each"] >= 1 and body["page"] == 1
    assert body["creds_of_consumer"] == 1
    assert body["cache_key"] == body["cache_key_row"] == "keyauth_credentials:alice-key:::::"
    assert body["plugins_key"] == "plugins:key-auth:::::"
    assert body["by_cache_key"]
    assert body["unknown"] is True
    assert body["insert"] == ("kong.db.consumers:insert: the data plane cannot write to the "
                              "datastore")
    assert body["delete"].startswith("kong.db.consumers:delete: the data plane cannot write")
    assert body["update_by"].startswith("kong.db.consumers:update_by_username: the data plane")


def test_db_follows_configuration(node):
    gw = node["gw"]
    gw.create("/consumers", {"username": "bob-db", "custom_id": "c-9"})
    gw.wait_sync()
    body = op(gw, "db", username="bob-db", key="alice-key")
    assert body["consumer"]["custom_id"] == "c-9"
    admin(gw).delete("/consumers/bob-db")
    gw.wait_sync()
    assert op(gw, "db_user", username="bob-db")["consumer"] is None


# -- kong.cache ---------------------------------------------------------------------------

def test_cache_levels_across_workers(node):
    gw = node["gw"]
    key = "probe-" + uuid.uuid4().hex
    first = op(gw, "cache", key=key, value="v1")
    assert first["hit"] == 3 and first["value"] == {"value": "v1"} and first["calls"] == 1
    answers = on_each_worker(gw, "cache", key=key, value="other")
    for worker, body in answers.items():
        assert body["value"] == {"value": "v1"} and body["calls"] == 1
        assert body["hit"] == (1 if worker == first["worker"] else 2)
    probe = op(gw, "cache_probe", key=key)
    assert probe["value"] == {"value": "v1"} and probe["ttl"] == 0


def test_cache_negative_ttl_and_errors(node):
    gw = node["gw"]
    miss = "miss-" + uuid.uuid4().hex
    assert op(gw, "cache", key=miss, value="nil")["calls"] == 1
    again = op(gw, "cache", key=miss, value="nil")
    assert again["value"] is None and again["hit"] in (1, 2) and again["calls"] == 1
    short = "short-" + uuid.uuid4().hex
    assert op(gw, "cache", key=short, value="nil", neg_ttl="0.3")["calls"] == 1
    time.sleep(0.5)
    assert op(gw, "cache", key=short, value="x", neg_ttl="0.3")["calls"] == 2
    failing = "fail-" + uuid.uuid4().hex
    err = op(gw, "cache", key=failing, value="x", fail="1")
    assert err["value"] is None and "callback threw an error" in err["err"]
    assert "loader failed" in err["err"]
    assert op(gw, "cache", key=failing, value="x", fail="1")["calls"] == 2  # errors not cached
    bulk = op(gw, "cache_bulk")
    assert bulk == {"n": 2, "a": "A", "a_hit": bulk["a_hit"], "b": "B", "b_hit": bulk["b_hit"]}


def test_cache_invalidate_reaches_every_worker(node):
    gw = node["gw"]
    key = "inv-" + uuid.uuid4().hex
    on_each_worker(gw, "cache", key=key, value="old")
    op(gw, "cache_invalidate", key=key)
    time.sleep(0.4)  # the other worker's poll (0.1 s)
    answers = on_each_worker(gw, "cache", key=key, value="new")
    assert {b["value"]["value"] for b in answers.values()} == {"new"}
    assert max(b["calls"] for b in answers.values()) == 2
    op(gw, "cache_purge")
    time.sleep(0.4)
    answers = on_each_worker(gw, "cache", key=key, value="newer")
    assert {b["value"]["value"] for b in answers.values()} == {"newer"}


def _gone_from_cache(api, key: str) -> dict:
    """GET /cache/{key} until it answers 404 (the other worker drops its
    level 1 at its next poll, 0.1 s)."""
    deadline = time.monotonic() + 2
    while True:
        code, body = api.send("GET", f"/cache/{key}")
        if code == 404 or time.monotonic() > deadline:
            assert code == 404, body
            return body
        time.sleep(0.05)


def test_admin_api_cache_endpoints(node):
    """Kong's /cache: GET answers what kong.cache holds (a table as it is),
    DELETE /cache/{key} and DELETE /cache drop entries (204)."""
    gw = node["gw"]
    api = admin(gw)
    key, other = ("admin-" + uuid.uuid4().hex for _ in range(2))
    assert api.get(f"/cache/{key}", status=404) == {"message": "Not found"}
    op(gw, "cache", key=key, value="v1")
    assert api.get(f"/cache/{key}") == {"value": "v1"}
    api.delete(f"/cache/{key}")
    assert _gone_from_cache(api, key) == {"message": "Not found"}
    op(gw, "cache", key=key, value="v2")
    op(gw, "cache", key=other, value="v3")
    assert api.get(f"/cache/{other}") == {"value": "v3"}
    api.delete("/cache")
    _gone_from_cache(api, key)
    _gone_from_cache(api, other)


def test_cache_entity_keys_live_one_configuration(node):
    gw = node["gw"]
    key = "consumers:" + uuid.uuid4().hex
    before = on_each_worker(gw, "cache", key=key, value="a")
    assert {b["value"]["value"] for b in before.values()} == {"a"}
    gw.create("/consumers", {"username": "cache-bump-" + uuid.uuid4().hex[:8]})
    gw.wait_sync()
    answers = on_each_worker(gw, "cache", key=key, value="b")
    assert {b["value"]["value"] for b in answers.values()} == {"b"}


# -- kong.worker_events, kong.cluster_events ----------------------------------------------

def test_worker_events_reach_every_worker(node):
    gw = node["gw"]
    marker = uuid.uuid4().hex
    posted = op(gw, "events_post", n=marker)
    assert posted["ok"] is True
    deadline = time.monotonic() + 5
    events: dict = {}
    while time.monotonic() < deadline:
        events = op(gw, "events")
        if all((events.get(w) or {}).get("data", {}).get("n") == marker for w in ("0", "1")):
            break
        time.sleep(0.05)
    for w in ("0", "1"):
        assert events[w]["data"] == {"n": marker}
        assert events[w]["event"] == "ping" and events[w]["source"] == "pdk-probe"
    assert events["post_local"] == "sync"
    assert events["cluster_bad_data"].endswith("data must be a string")
    assert events["subscribe"] is True
