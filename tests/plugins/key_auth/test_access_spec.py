"""Kong 3.9's key-auth access scenarios (spec/03-plugins/09-key-auth) through
a real node: where the key may come from, what each refusal says, what the
upstream sees."""
from __future__ import annotations

import json

import pytest

from tests.helpers.http import basic, proxy

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MULTIPART = "multipart/form-data"


@pytest.fixture(scope="module")
def ka(gateway, svc, bob):
    gw = gateway
    anon = gw.create("/consumers", {"username": "no-body"})
    gw.route("/ka1", {"name": "key-auth"})
    gw.route("/ka2", {"name": "key-auth", "config": {"hide_credentials": True}})
    gw.route("/ka3", {"name": "key-auth", "config": {"anonymous": anon["id"]}})
    gw.route("/ka4", {"name": "key-auth",
                      "config": {"anonymous": "00000000-0000-4000-8000-000000000001"}})
    gw.route("/ka5", {"name": "key-auth", "config": {"key_in_body": True}})
    gw.route("/ka6", {"name": "key-auth",
                      "config": {"key_in_body": True, "hide_credentials": True}})
    gw.route("/ka7", {"name": "key-auth", "config": {"run_on_preflight": False}})
    gw.route("/ka8", {"name": "key-auth", "config": {"key_names": ["api_key"]}})
    gw.route("/ka9", {"name": "key-auth", "config": {"key_names": ["api-key"]}})
    gw.route("/ka10", {"name": "key-auth", "config": {"anonymous": "no-body"}})
    gw.route("/ka11", {"name": "key-auth", "config": {"key_in_header": False}})
    gw.route("/ka12", {"name": "key-auth", "config": {"key_in_query": False}})
    gw.route("/ka13", {"name": "key-auth", "config": {"realm": "test-realm"}})
    gw.route("/ka14", {"name": "key-auth", "config": {"key_names": ["k1", "k2"]}})
    # two auth plugins: logical AND without anonymous, OR with it
    mouse = gw.create("/consumers", {"username": "Mickey"})
    aladdin = gw.create("/consumers", {"username": "Aladdin"})
    gw.create("/consumers/Mickey/key-auth", {"key": "Mouse"})
    gw.create("/consumers/Aladdin/basic-auth", {"username": "Aladdin", "password": "OpenSesame"})
    gw.route("/and", {"name": "basic-auth"}, {"name": "key-auth"})
    gw.route("/or", {"name": "basic-auth", "config": {"anonymous": anon["id"]}},
             {"name": "key-auth", "config": {"anonymous": anon["id"]}})
    gw.wait_sync()
    return {"anon": anon, "mouse": mouse, "aladdin": aladdin, "bob": bob}


def _msg(resp, status):
    assert resp.status_code == status, resp.text
    return resp.json()["message"]


def _post(px, path, ctype, fields):
    if ctype == FORM:
        return px.post(path, data=fields)
    if ctype == JSON:
        return px.post(path, json=fields)
    return px.post(path, files={k: (None, v) for k, v in fields.items()})


def _posted(seen):
    """The fields of the body the upstream received, whatever its type."""
    ctype = seen["headers"].get("content-type", "")
    body = seen["body"]
    if ctype.startswith(JSON):
        return json.loads(body)
    if ctype.startswith(FORM):
        return dict(p.split("=", 1) for p in body.split("&") if p)
    fields = {}
    for part in body.split("--")[1:]:
        if 'name="' in part:
            name = part.split('name="', 1)[1].split('"', 1)[0]
            fields[name] = part.split("\r\n\r\n", 1)[1].rsplit("\r\n", 1)[0]
    return fields


def test_unauthorized(ka, gateway):
    px = proxy(gateway)
    assert px.options("/ka7/status").status_code == 200
    resp = px.options("/ka1/status")
    assert _msg(resp, 401) == "No API key found in request"
    assert _msg(px.get("/ka1"), 401) == "No API key found in request"
    assert _msg(px.get("/ka1", headers={"apikey": ""}), 401) == "No API key found in request"
    assert _msg(px.get("/ka1?apikey"), 401) == "No API key found in request"
    assert _msg(px.get("/ka1?apikey="), 401) == "No API key found in request"
    assert px.get("/ka1").headers["WWW-Authenticate"] == "Key"
    assert px.get("/ka13").headers["WWW-Authenticate"] == 'Key realm="test-realm"'
    for resp in (px.get("/ka13?apikey=123"), px.get("/ka13?apikey=a&apikey=b")):
        assert resp.headers["WWW-Authenticate"] == 'Key realm="test-realm"'


def test_key_in_querystring_and_headers(ka, gateway):
    px = proxy(gateway)
    assert px.get("/ka1?apikey=bob-key").status_code == 200
    assert _msg(px.get("/ka1?apikey=123"), 401) == "Unauthorized"
    assert _msg(px.get("/ka1?apikey=bob-key&apikey=bob-key"), 401) == "Duplicate API key found"
    assert px.get("/ka1", headers={"apikey": "bob-key"}).status_code == 200
    assert _msg(px.get("/ka1", headers={"apikey": "123"}), 401) == "Unauthorized"
    # key_in_header / key_in_query switched off
    assert _msg(px.get("/ka11", headers={"apikey": "bob-key"}), 401) == \
        "No API key found in request"
    assert px.get("/ka11?apikey=bob-key").status_code == 200
    assert _msg(px.get("/ka12?apikey=bob-key"), 401) == "No API key found in request"
    assert px.get("/ka12", headers={"apikey": "bob-key"}).status_code == 200
    # several names: the first that carries a key decides
    assert px.get("/ka14?k2=bob-key").status_code == 200
    assert _msg(px.get("/ka14?k1=nope&k2=bob-key"), 401) == "Unauthorized"


@pytest.mark.parametrize("ctype", [FORM, JSON, MULTIPART])
def test_key_in_body(ka, gateway, ctype):
    px = proxy(gateway)
    assert _post(px, "/ka5", ctype, {"apikey": "bob-key"}).status_code == 200
    assert _msg(_post(px, "/ka5", ctype, {"apikey": "123"}), 401) == "Unauthorized"
    # the body is not read unless key_in_body is on
    assert _msg(_post(px, "/ka1", ctype, {"apikey": "bob-key"}), 401) == \
        "No API key found in request"


def test_duplicated_key_in_body(ka, gateway):
    px = proxy(gateway)
    resp = px.post("/ka5", json={"apikey": ["bob-key", "bob-key"]})
    assert _msg(resp, 401) == "Duplicate API key found"
    form = {"Content-Type": FORM}
    resp = px.post("/ka5", data="apikey=bob-key&apikey=bob-key", headers=form)
    assert _msg(resp, 401) == "Duplicate API key found"
    for body in ("apikey[]=bob-key&apikey[]=bob-key", "apikey[1]=bob-key&apikey[1]=bob-key"):
        resp = px.post("/ka5", data=body, headers=form)
        assert _msg(resp, 401) == "No API key found in request"


def test_underscores_or_hyphens_in_key_headers(ka, gateway):
    px = proxy(gateway)
    for name in ("api_key", "api-key"):
        assert px.get("/ka8", headers={name: "bob-key"}).status_code == 200, name
        assert _msg(px.get("/ka8", headers={name: "123"}), 401) == "Unauthorized"
    # ngx.req.get_headers() turns the looked-up name's underscores into
    # dashes, never the reverse: `api-key` does not find an `api_key` header
    assert px.get("/ka9", headers={"api-key": "bob-key"}).status_code == 200
    resp = px.get("/ka9", headers={"api_key": "bob-key"})
    assert _msg(resp, 401) == "No API key found in request"


def test_consumer_headers(ka, gateway):
    seen = proxy(gateway).get("/ka1?apikey=bob-key").json()["headers"]
    assert seen["x-consumer-id"] == ka["bob"]["consumer"]["id"]
    assert seen["x-consumer-username"] == "bob"
    assert seen["x-credential-identifier"] == ka["bob"]["key"]["id"]
    assert "x-anonymous-consumer" not in seen


def test_hide_credentials_query_and_header(ka, gateway):
    px = proxy(gateway)
    assert px.get("/ka1?apikey=bob-key").json()["path"] == "/?apikey=bob-key"
    assert px.get("/ka2?apikey=bob-key").json()["path"] == "/"
    seen = px.get("/ka1", headers={"apikey": "bob-key"}).json()["headers"]
    assert seen["apikey"] == "bob-key"
    seen = px.get("/ka2", headers={"apikey": "bob-key"}).json()["headers"]
    assert "apikey" not in seen


@pytest.mark.parametrize("ctype", [FORM, JSON, MULTIPART])
def test_hide_credentials_body(ka, gateway, ctype):
    px = proxy(gateway)
    seen = _post(px, "/ka5", ctype, {"apikey": "bob-key"}).json()
    assert _posted(seen)["apikey"] == "bob-key"
    seen = _post(px, "/ka6", ctype, {"apikey": "bob-key", "foo": "bar"}).json()
    assert seen["headers"]["content-type"].startswith(ctype)
    fields = _posted(seen)
    assert "apikey" not in fields and fields["foo"] == "bar"


def test_hide_credentials_rewrites_the_body_whatever_carried_the_key(ka, gateway):
    # Kong reads and re-encodes the body with key_in_body and hide_credentials
    # also when a header or the query string carried the key
    px = proxy(gateway)
    seen = px.post("/ka6", data="b=1&apikey=other&a=2",
                   headers={"apikey": "bob-key", "Content-Type": FORM}).json()
    assert seen["body"] == "a=2&b=1"
    seen = px.post("/ka6?apikey=bob-key", json={"apikey": "other", "foo": "bar"}).json()
    assert json.loads(seen["body"]) == {"foo": "bar"}
    assert "apikey" not in seen["path"]


def test_key_in_body_with_unsupported_content_type(ka, gateway):
    resp = proxy(gateway).post("/ka6", data="foobar", headers={"Content-Type": "text/plain"})
    assert _msg(resp, 401) == "No API key found in request"
    gateway.assert_clean_error_log()


def test_anonymous(ka, gateway):
    px = proxy(gateway)
    seen = px.get("/ka3?apikey=bob-key").json()["headers"]
    assert seen["x-consumer-username"] == "bob" and "x-anonymous-consumer" not in seen
    for path in ("/ka3", "/ka10"):
        seen = px.get(path).json()["headers"]
        assert seen["x-anonymous-consumer"] == "true"
        assert seen["x-consumer-username"] == "no-body"
        assert seen["x-consumer-id"] == ka["anon"]["id"]
    assert px.get("/ka4").status_code == 500


def test_logical_and(ka, gateway):
    px = proxy(gateway)
    both = {"apikey": "Mouse", "Authorization": basic("Aladdin", "OpenSesame")}
    resp = px.get("/and", headers=both)
    assert resp.status_code == 200, resp.text
    seen = resp.json()["headers"]
    assert "x-anonymous-consumer" not in seen
    assert seen["x-consumer-id"] in (ka["mouse"]["id"], ka["aladdin"]["id"])
    assert px.get("/and", headers={"apikey": "Mouse"}).status_code == 401
    assert px.get("/and", headers={"Authorization": both["Authorization"]}).status_code == 401
    assert px.get("/and").status_code == 401


def test_logical_or(ka, gateway):
    px = proxy(gateway)
    both = {"apikey": "Mouse", "Authorization": basic("Aladdin", "OpenSesame")}
    seen = px.get("/or", headers=both).json()["headers"]
    assert "x-anonymous-consumer" not in seen
    assert seen["x-consumer-id"] in (ka["mouse"]["id"], ka["aladdin"]["id"])
    seen = px.get("/or", headers={"apikey": "Mouse"}).json()["headers"]
    assert seen["x-consumer-id"] == ka["mouse"]["id"] and "x-anonymous-consumer" not in seen
    seen = px.get("/or", headers={"Authorization": both["Authorization"]}).json()["headers"]
    assert seen["x-consumer-id"] == ka["aladdin"]["id"] and "x-anonymous-consumer" not in seen
    seen = px.get("/or").json()["headers"]
    assert seen["x-consumer-id"] == ka["anon"]["id"] and seen["x-anonymous-consumer"] == "true"
