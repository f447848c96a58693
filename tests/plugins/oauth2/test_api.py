"""oauth2 through the Admin API: applications, tokens and the plugin's
configuration, with Kong 3.9's errors."""
from __future__ import annotations

from tests.helpers.http import admin

FLOWS = ("at least one of these fields must be true: enable_authorization_code, "
         "enable_implicit_grant, enable_client_credentials, enable_password_grant")


def test_applications(client):
    api = admin(client)
    bob = api.post("/consumers", {"username": "bob"})
    app = api.post("/consumers/bob/oauth2", {"name": "app",
                                             "redirect_uris": ["https://app.test/cb"]})
    assert len(app["client_id"]) == 32 and len(app["client_secret"]) == 32
    assert (app["hash_secret"], app["client_type"]) == (False, "confidential")
    assert app["consumer"] == {"id": bob["id"]}
    assert api.get(f"/oauth2/{app['client_id']}")["id"] == app["id"]
    assert api.get(f"/consumers/bob/oauth2/{app['client_id']}")["id"] == app["id"]
    assert api.get(f"/oauth2/{app['client_id']}/consumer")["id"] == bob["id"]
    changed = api.patch(f"/oauth2/{app['id']}", {"name": "renamed"})
    assert changed["name"] == "renamed" and changed["client_secret"] == app["client_secret"]
    hashed = api.post("/consumers/bob/oauth2", {"name": "h", "client_secret": "s3cret",
                                                "hash_secret": True})
    assert hashed["client_secret"].startswith("$pbkdf2-sha512$i=10000,l=32$")
    assert hashed["client_secret"] != api.post(
        "/consumers/bob/oauth2", {"name": "h2", "client_secret": "s3cret",
                                  "hash_secret": True})["client_secret"]  # salted
    api.delete(f"/oauth2/{app['client_id']}")
    api.get(f"/oauth2/{app['client_id']}", status=404)


def test_application_errors(client):
    api = admin(client)
    api.post("/consumers", {"username": "bob"})
    body = api.post("/consumers/bob/oauth2", {"name": "a", "redirect_uris": ["not-a-url"]},
                    status=400)
    assert body["fields"] == {"redirect_uris": ["cannot parse 'not-a-url'"]}
    body = api.post("/consumers/bob/oauth2", {"name": "a", "redirect_uris": [
        "https://ok.test/", "https://x.test/cb#frag", "/relative"]}, status=400)
    assert body["fields"] == {"redirect_uris": [
        None, "fragment not allowed in 'https://x.test/cb#frag'", "cannot parse '/relative'"]}
    body = api.post("/consumers/bob/oauth2", {"redirect_uris": []}, status=400)
    assert body["fields"] == {"name": "required field missing"}
    body = api.post("/consumers/bob/oauth2", {"name": "a", "client_type": "secret"},
                    status=400)
    assert body["fields"] == {"client_type": "expected one of: confidential, public"}
    api.post("/consumers/bob/oauth2", {"name": "a", "client_id": "dup"})
    body = api.post("/consumers/bob/oauth2", {"name": "b", "client_id": "dup"}, status=409)
    assert body["message"] == "UNIQUE violation detected on '{client_id=\"dup\"}'"
    assert body["fields"] == {"client_id": "dup"}


def test_plugin_configuration(client):
    api = admin(client)
    body = api.post("/plugins", {"name": "oauth2", "config": {}}, status=400)
    assert body["fields"] == {"config": FLOWS}
    body = api.post("/plugins", {"name": "oauth2", "config": {
        "enable_password_grant": True, "mandatory_scope": True}}, status=400)
    assert body["fields"]["config"]["scopes"] == "required field missing"
    body = api.post("/plugins", {"name": "oauth2", "config": {
        "enable_password_grant": True, "pkce": "maybe"}}, status=400)
    assert body["fields"] == {"config": {"pkce": "expected one of: none, lax, strict"}}
    body = api.post("/plugins", {"name": "oauth2", "config": {
        "enable_password_grant": True, "refresh_token_ttl": 100000001}}, status=400)
    assert body["fields"] == {"config": {"refresh_token_ttl": "value should be between 0 and "
                                                              "100000000"}}
    body = api.post("/plugins", {"name": "oauth2", "consumer": {"id": "x"}, "config": {
        "enable_password_grant": True}}, status=400)
    assert "consumer" in body["fields"]
    plugin = api.post("/plugins", {"name": "oauth2", "config": {"enable_password_grant": True}})
    config = plugin["config"]
    assert len(config["provision_key"]) == 32
    assert config == {
        "scopes": None, "mandatory_scope": False, "provision_key": config["provision_key"],
        "token_expiration": 7200, "enable_authorization_code": False,
        "enable_implicit_grant": False, "enable_client_credentials": False,
        "enable_password_grant": True, "hide_credentials": False,
        "accept_http_if_already_terminated": False, "anonymous": None,
        "global_credentials": False, "auth_header_name": "authorization",
        "refresh_token_ttl": 1209600, "reuse_refresh_token": False,
        "persistent_refresh_token": False, "pkce": "lax", "realm": None}
    # Kong checks `unique` of top-level fields only: a provision_key may repeat
    svc = api.post("/services", {"name": "s", "url": "http://127.0.0.1:9"})
    again = api.post(f"/services/{svc['id']}/plugins", {"name": "oauth2", "config": {
        "enable_password_grant": True, "provision_key": config["provision_key"]}})
    assert again["config"]["provision_key"] == config["provision_key"]


def test_tokens(client):
    api = admin(client)
    api.post("/consumers", {"username": "bob"})
    app = api.post("/consumers/bob/oauth2", {"name": "app"})
    cred = {"id": app["id"]}
    tok = api.post("/oauth2_tokens", {"credential": cred, "expires_in": 10, "ttl": 300})
    assert len(tok["access_token"]) == 32 and tok["token_type"] == "bearer"
    assert 295 <= tok["ttl"] <= 300 and tok["service"] is None
    assert api.get(f"/oauth2_tokens/{tok['access_token']}")["id"] == tok["id"]
    patched = api.patch(f"/oauth2_tokens/{tok['id']}", {"scope": "email"})
    assert patched["scope"] == "email"
    body = api.post("/oauth2_tokens", {"credential": cred}, status=400)
    assert body["fields"] == {"expires_in": "required field missing"}
    body = api.post("/oauth2_tokens", {"credential": cred, "expires_in": 1,
                                       "token_type": "mac"}, status=400)
    assert body["fields"] == {"token_type": "expected one of: bearer"}
    assert [t["id"] for t in api.get("/oauth2_tokens")["data"]] == [tok["id"]]
    # the authorization codes have no endpoints of their own
    api.get("/oauth2_authorization_codes", status=404)
    api.delete(f"/oauth2/{app['id']}")  # cascades to its tokens
    assert api.get("/oauth2_tokens")["data"] == []
