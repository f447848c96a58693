"""oauth2 through a real node, driven by real OAuth 2.0 clients (oauthlib,
requests-oauthlib): the four grants, refresh, PKCE, scopes, revocation and
Kong 3.9's error bodies."""
from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import urllib3
from oauthlib.oauth2 import BackendApplicationClient, WebApplicationClient
from requests_oauthlib import OAuth2Session

from tests.helpers.http import admin

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

PROVISION = "provision-key-123"
REDIRECT = "https://app.test/cb"
CONFIG = {"scopes": ["email", "profile"], "provision_key": PROVISION,
          "enable_authorization_code": True, "enable_implicit_grant": True,
          "enable_client_credentials": True, "enable_password_grant": True}


@pytest.fixture(scope="module")
def node(gateway, svc):
    api = admin(gateway)
    api.post("/consumers", {"username": "alice", "custom_id": "a-1"})
    for app in ({"name": "web", "client_id": "web-id", "client_secret": "web-secret"},
                {"name": "spa", "client_id": "spa-id", "client_type": "public"},
                {"name": "hashed", "client_id": "hashed-id", "client_secret": "hashed-secret",
                 "hash_secret": True}):
        api.post("/consumers/alice/oauth2", {**app, "redirect_uris": [REDIRECT]})
    gateway.route("/oauth", {"name": "oauth2", "config": CONFIG})
    gateway.route("/reuse", {"name": "oauth2", "config": {
        **CONFIG, "reuse_refresh_token": True}})
    gateway.route("/mandatory", {"name": "oauth2", "config": {
        **CONFIG, "mandatory_scope": True, "realm": "kong"}})
    gateway.route("/plain-http", {"name": "oauth2", "config": {
        **CONFIG, "accept_http_if_already_terminated": True}})
    gateway.wait_sync()
    return gateway


def https(node) -> str:
    return f"https://127.0.0.1:{node.ports['proxy_ssl']}"


def post(node, path: str, data: dict, **kwargs) -> requests.Response:
    return requests.post(https(node) + path, data=data, verify=False, timeout=10, **kwargs)


def authorize(node, route: str = "/oauth", **params) -> requests.Response:
    data = {"provision_key": PROVISION, "authenticated_userid": "user-1",
            "client_id": "web-id", "response_type": "code", "scope": "email"}
    data.update(params)
    return post(node, route + "/oauth2/authorize", {k: v for k, v in data.items()
                                                    if v is not None})


def token(node, route: str = "/oauth", **params) -> requests.Response:
    data = {"client_id": "web-id", "client_secret": "web-secret"}
    data.update(params)
    return post(node, route + "/oauth2/token", {k: v for k, v in data.items()
                                                if v is not None})


def redirect_error(resp: requests.Response) -> tuple[str, str]:
    """The error an authorize reply put in its redirect URI's query."""
    query = parse_qs(urlsplit(resp.json()["redirect_uri"]).query)
    return query["error"][0], query["error_description"][0]


def call(node, access_token: str, path: str = "/oauth/data") -> requests.Response:
    return requests.get(node.proxy + path, timeout=10,
                        headers={"Authorization": f"Bearer {access_token}"})


def test_authorization_code_with_pkce_s256(node):
    client = WebApplicationClient("web-id")
    verifier = client.create_code_verifier(64)
    challenge = client.create_code_challenge(verifier, "S256")
    resp = authorize(node, state="xyz", redirect_uri=REDIRECT, code_challenge=challenge,
                     code_challenge_method="S256")
    assert resp.status_code == 200, resp.text + node.error_log_tail()
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["Pragma"] == "no-cache"
    location = resp.json()["redirect_uri"]
    assert location.startswith(REDIRECT + "?")
    code = client.parse_request_uri_response(location, state="xyz")["code"]
    session = OAuth2Session("web-id", redirect_uri=REDIRECT, scope=["email"])
    issued = session.fetch_token(https(node) + "/oauth/oauth2/token", code=code,
                                 client_secret="web-secret", include_client_id=True,
                                 code_verifier=verifier, verify=False)
    assert issued["token_type"] == "bearer" and issued["expires_in"] == 7200
    assert len(issued["access_token"]) == 32 and len(issued["refresh_token"]) == 32
    # usable at once, on every worker, before the configuration carries it
    for _ in range(6):
        resp = call(node, issued["access_token"])
        assert resp.status_code == 200, resp.text
    seen = resp.json()["headers"]
    assert seen["x-consumer-username"] == "alice" and seen["x-consumer-custom-id"] == "a-1"
    assert seen["x-credential-identifier"] == "web-id"
    assert seen["x-authenticated-scope"] == "email"
    assert seen["x-authenticated-userid"] == "user-1"
    # a code is spent once
    again = token(node, grant_type="authorization_code", code=code, code_verifier=verifier)
    assert (again.status_code, again.json()) == (400, {
        "error": "invalid_request", "error_description": "Invalid code"})


def test_pkce_plain_public_client_and_errors(node):
    verifier = "v" * 50
    # a public client must bring a challenge
    resp = authorize(node, client_id="spa-id")
    assert resp.status_code == 400
    assert redirect_error(resp) == ("invalid_request",
                                    "code_challenge is required for public clients")
    resp = authorize(node, client_id="spa-id", code_challenge_method="S256")
    assert redirect_error(resp)[1] == "code_challenge is required when code_method is present"
    resp = authorize(node, client_id="spa-id", code_challenge=verifier,
                     code_challenge_method="plain")
    assert redirect_error(resp)[1] == "code_challenge_method is not supported, must be S256"
    resp = authorize(node, client_id="spa-id", code_challenge=verifier)  # plain
    code = parse_qs(urlsplit(resp.json()["redirect_uri"]).query)["code"][0]
    public = {"client_id": "spa-id", "client_secret": None}
    resp = token(node, grant_type="authorization_code", code=code, **public)
    assert resp.json() == {"error": "invalid_request", "error_description":
                           "code_verifier is required for PKCE authorization requests"}
    resp = token(node, grant_type="authorization_code", code=code, code_verifier="short",
                 **public)
    assert resp.json()["error_description"] == \
        "code_verifier must be between 43 and 128 characters"
    resp = token(node, grant_type="authorization_code", code=code, code_verifier="w" * 50,
                 **public)
    assert (resp.status_code, resp.json()) == (400, {"error": "invalid_grant",
                                                     "error_description": "Invalid code"})
    resp = token(node, grant_type="authorization_code", code=code, code_verifier=verifier,
                 client_id="spa-id", client_secret="anything")
    assert resp.json()["error_description"] == "client_secret is disallowed for public clients"
    resp = token(node, grant_type="authorization_code", code=code, code_verifier=verifier,
                 **public)
    assert resp.status_code == 200, resp.text
    assert call(node, resp.json()["access_token"]).status_code == 200


def test_client_credentials_with_oauthlib_and_hashed_secret(node):
    stored = admin(node).get("/oauth2/hashed-id")["client_secret"]
    assert stored.startswith("$pbkdf2-sha512$i=10000,l=32$")
    session = OAuth2Session(client=BackendApplicationClient(client_id="hashed-id"))
    issued = session.fetch_token(https(node) + "/oauth/oauth2/token", client_id="hashed-id",
                                 client_secret="hashed-secret", verify=False)
    assert "refresh_token" not in issued
    assert call(node, issued["access_token"]).status_code == 200
    # wrong secret in the Basic header: 401 and Kong's challenge
    basic = base64.b64encode(b"hashed-id:wrong").decode()
    resp = post(node, "/oauth/oauth2/token", {"grant_type": "client_credentials"},
                headers={"Authorization": f"Basic {basic}"})
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="OAuth2.0"'
    assert resp.json() == {"error": "invalid_client",
                           "error_description": "Invalid client authentication"}
    resp = token(node, grant_type="client_credentials", client_secret="wrong")
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_client"
    # client_credentials: the provision_key only matters with a user id
    resp = token(node, grant_type="client_credentials", authenticated_userid="u",
                 provision_key="bad")
    assert resp.json()["error"] == "invalid_provision_key"


def test_password_grant_refresh_and_revocation(node):
    resp = token(node, grant_type="password", provision_key=PROVISION,
                 authenticated_userid="user-2", scope="email profile", state="s1")
    assert resp.status_code == 200, resp.text
    first = resp.json()
    assert first["state"] == "s1" and first["expires_in"] == 7200
    assert call(node, first["access_token"]).json()["headers"]["x-authenticated-scope"] \
        == "email profile"
    resp = token(node, grant_type="password", provision_key=PROVISION)
    assert resp.json()["error_description"] == "Missing authenticated_userid parameter"
    resp = token(node, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert resp.status_code == 200, resp.text
    second = resp.json()
    assert second["refresh_token"] != first["refresh_token"]
    # the old token is gone at once on this node
    assert call(node, first["access_token"]).status_code == 401
    assert call(node, second["access_token"]).status_code == 200
    resp = token(node, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert resp.json() == {"error": "invalid_request",
                           "error_description": "Invalid refresh_token"}
    # revoked through the Admin API: refused within a second
    node.wait_sync()
    admin(node).delete(f"/oauth2_tokens/{second['access_token']}")
    deadline = time.monotonic() + 1.0
    status = 200
    while time.monotonic() < deadline and status == 200:
        status = call(node, second["access_token"]).status_code
    assert status == 401


def test_refresh_with_reuse(node):
    resp = token(node, "/reuse", grant_type="password", provision_key=PROVISION,
                 authenticated_userid="user-3")
    first = resp.json()
    resp = token(node, "/reuse", grant_type="refresh_token",
                 refresh_token=first["refresh_token"])
    assert resp.status_code == 200, resp.text
    second = resp.json()
    assert second["refresh_token"] == first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert call(node, second["access_token"], "/reuse/x").status_code == 200
    assert call(node, first["access_token"], "/reuse/x").status_code == 401
    # the route's service is another one's than /oauth's? same service: works on both
    resp = token(node, "/reuse", grant_type="refresh_token",
                 refresh_token=first["refresh_token"])
    assert resp.status_code == 200


def test_implicit_grant(node):
    resp = authorize(node, response_type="token", state="st")
    assert resp.status_code == 200, resp.text
    location = resp.json()["redirect_uri"]
    fragment = parse_qs(urlsplit(location).fragment)
    assert fragment["token_type"] == ["bearer"] and fragment["state"] == ["st"]
    assert "refresh_token" not in fragment
    assert call(node, fragment["access_token"][0]).status_code == 200


def test_scopes_and_mandatory_scope(node):
    resp = authorize(node, "/mandatory", scope=None)
    assert resp.status_code == 400
    assert redirect_error(resp) == ("invalid_scope", "You must specify a scope")
    resp = token(node, grant_type="client_credentials", scope="admin")
    assert resp.json() == {"error": "invalid_scope",
                           "error_description": '"admin" is an invalid scope'}
    missing = requests.get(node.proxy + "/mandatory/x", timeout=5)
    assert missing.status_code == 401
    assert missing.json() == {"error": "invalid_request",
                              "error_description": "The access token is missing"}
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="kong"'


def test_https_required(node):
    resp = requests.post(node.proxy + "/oauth/oauth2/token",
                         data={"grant_type": "client_credentials"}, timeout=5)
    assert (resp.status_code, resp.json()) == (400, {
        "error": "access_denied", "error_description": "You must use HTTPS"})
    # X-Forwarded-Proto only counts from a trusted peer (none is trusted here)
    resp = requests.post(node.proxy + "/plain-http/oauth2/token", timeout=5,
                         data={"grant_type": "client_credentials", "client_id": "web-id",
                               "client_secret": "web-secret"},
                         headers={"X-Forwarded-Proto": "https"})
    assert resp.json()["error"] == "access_denied"


def test_endpoint_and_token_errors(node):
    resp = requests.get(https(node) + "/oauth/oauth2/token", verify=False, timeout=5)
    assert (resp.status_code, resp.json()) == (405, {
        "error": "invalid_method",
        "error_description": "The HTTP method GET is invalid for the token endpoint"})
    resp = requests.get(https(node) + "/oauth/oauth2/authorize/", verify=False, timeout=5)
    assert resp.json()["error_description"] == \
        "The HTTP method GET is invalid for the authorization endpoint"
    assert token(node, grant_type="magic").json() == {
        "error": "unsupported_grant_type", "error_description": "Invalid grant_type"}
    assert token(node, grant_type="authorization_code", code="nope").json() == {
        "error": "invalid_request", "error_description": "Invalid code"}
    assert token(node, grant_type="authorization_code", code=["a", "b"]).json()[
        "error_description"] == "Invalid code"
    assert token(node, grant_type="refresh_token").json()["error_description"] == \
        "Invalid refresh_token"
    assert token(node, grant_type="password", redirect_uri="https://evil.test/").json() == {
        "error": "invalid_request", "error_description": "Invalid redirect_uri that does "
        "not match with any redirect_uri created with the application"}
    resp = authorize(node, provision_key="bad")
    assert resp.json() == {"error": "invalid_provision_key",
                           "error_description": "Invalid provision_key"}
    resp = authorize(node, authenticated_userid=" ")
    assert resp.json()["error"] == "invalid_authenticated_userid"
    resp = authorize(node, client_id="unknown")
    assert resp.json() == {"error": "invalid_client",
                           "error_description": "Invalid client authentication"}
    resp = authorize(node, response_type="id_token", scope=["a", "b"])
    assert resp.json()["redirect_uri"].startswith(REDIRECT + "?")
    assert redirect_error(resp) == ("invalid_scope", "scope must be a string")
    for bad in ("", "Bearer", "Bearer nope", "Token x y", "Basic abc"):
        resp = requests.get(node.proxy + "/oauth/x", headers={"Authorization": bad},
                            timeout=5)
        assert resp.status_code == 401, bad
    resp = requests.get(node.proxy + "/oauth/x", headers={"Authorization": "Bearer nope"},
                        timeout=5)
    assert resp.json() == {"error": "invalid_token", "error_description":
                           "The access token is invalid or has expired"}
    assert resp.headers["WWW-Authenticate"] == (
        'Bearer error="invalid_token" error_description='
        '"The access token is invalid or has expired"')
    node.assert_clean_error_log()


def test_options(node):
    api = admin(node)
    api.post("/consumers", {"username": "guest"})
    node.route("/anon", {"name": "oauth2", "config": {**CONFIG, "anonymous": "guest"}})
    node.route("/hide", {"name": "oauth2", "config": {**CONFIG, "hide_credentials": True}})
    node.route("/short", {"name": "oauth2", "config": {**CONFIG, "token_expiration": 1}})
    node.route("/never", {"name": "oauth2", "config": {**CONFIG, "token_expiration": 0,
                                                       "global_credentials": True}})
    node.route("/custom", {"name": "oauth2", "config": {**CONFIG,
                                                        "auth_header_name": "x-token"}})
    node.wait_sync()
    seen = requests.get(node.proxy + "/anon/x", timeout=5,
                        headers={"X-Authenticated-Scope": "spoof"}).json()["headers"]
    assert seen["x-consumer-username"] == "guest" and seen["x-anonymous-consumer"] == "true"
    assert "x-authenticated-scope" not in seen
    issued = token(node, "/hide", grant_type="client_credentials", scope="email").json()
    seen = call(node, issued["access_token"], "/hide/x").json()
    assert "authorization" not in seen["headers"]
    seen = requests.get(f"{node.proxy}/hide/x?access_token={issued['access_token']}&k=1",
                        timeout=5).json()
    assert seen["path"] == "/x?k=1"
    # a token of another route of the same service works (same service id)
    assert call(node, issued["access_token"], "/oauth/x").status_code == 200
    # without global_credentials a global token is refused with Kong's message
    forever = token(node, "/never", grant_type="password", provision_key=PROVISION,
                    authenticated_userid="u").json()
    assert "expires_in" not in forever and "refresh_token" not in forever
    assert call(node, forever["access_token"], "/never/x").status_code == 200
    resp = call(node, forever["access_token"], "/oauth/x")
    assert resp.json()["error_description"] == (
        "The access token is global, but the current plugin is configured without "
        "'global_credentials'")
    short = token(node, "/short", grant_type="client_credentials").json()
    assert short["expires_in"] == 1
    assert call(node, short["access_token"], "/short/x").status_code == 200
    time.sleep(2.1)
    resp = call(node, short["access_token"], "/short/x")
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_token"
    issued = token(node, "/custom", grant_type="client_credentials").json()
    resp = requests.get(node.proxy + "/custom/x", timeout=5,
                        headers={"x-token": f"bearer {issued['access_token']}"})
    assert resp.status_code == 200
    basic = base64.b64encode(b"web-id:web-secret").decode()
    resp = post(node, "/custom/oauth2/token", {"grant_type": "client_credentials"},
                headers={"x-token": f"Basic {basic}"})
    assert resp.status_code == 200, resp.text


def test_malformed_parameters_never_give_500(node):
    url = https(node) + "/oauth/oauth2/token"
    bodies = [
        {"grant_type": ["password"], "client_id": "web-id", "client_secret": "web-secret"},
        {"grant_type": "password", "client_id": {"a": 1}, "client_secret": "web-secret"},
        {"grant_type": "password", "client_id": "web-id", "client_secret": 5,
         "provision_key": PROVISION, "authenticated_userid": 7},
        {"grant_type": "refresh_token", "client_id": "web-id", "client_secret": "web-secret",
         "refresh_token": {"x": 1}, "state": ["a", "b"]},
        {"grant_type": "client_credentials", "client_id": "web-id",
         "client_secret": "web-secret", "scope": 3},
        {"grant_type": "authorization_code", "client_id": "web-id",
         "client_secret": "web-secret", "code": None, "redirect_uri": [REDIRECT]},
    ]
    for body in bodies:
        resp = requests.post(url, json=body, verify=False, timeout=10)
        assert resp.status_code in (400, 401), (body, resp.text)
        assert set(resp.json()) >= {"error", "error_description"}
    resp = requests.post(https(node) + "/oauth/oauth2/authorize", verify=False, timeout=10,
                         json={"provision_key": PROVISION, "authenticated_userid": "u",
                               "client_id": "web-id", "response_type": "code",
                               "redirect_uri": {"a": 1}, "code_challenge": ["x"],
                               "code_challenge_method": 256})
    assert resp.status_code == 400, resp.text
    resp = requests.get(node.proxy + "/oauth/x?access_token=a&access_token=b", timeout=5)
    assert resp.json()["error_description"] == "The access token is missing"
    basic = requests.post(url, data={"grant_type": "client_credentials"}, verify=False,
                          timeout=10, headers={"Authorization": "Basic !!!not-base64"})
    assert basic.status_code == 401 and basic.json()["error"] == "invalid_client"
    node.assert_clean_error_log()


def test_refresh_token_ttl_and_persistent_refresh_token(node):
    base = {**CONFIG, "refresh_token_ttl": 100}
    node.route("/ttl", {"name": "oauth2", "config": base})
    node.route("/persist", {"name": "oauth2", "config": {**base,
                                                         "persistent_refresh_token": True}})
    node.wait_sync()
    api = admin(node)
    grant = {"grant_type": "password", "provision_key": PROVISION, "authenticated_userid": "u"}
    plain = token(node, "/ttl", **grant).json()
    kept = token(node, "/persist", **grant).json()
    assert 98 <= api.get(f"/oauth2_tokens/{plain['access_token']}")["ttl"] <= 100
    time.sleep(3)
    renewed = token(node, "/ttl", grant_type="refresh_token",
                    refresh_token=plain["refresh_token"]).json()
    assert 98 <= api.get(f"/oauth2_tokens/{renewed['access_token']}")["ttl"] <= 100
    # persistent: the refresh token keeps its first expiry across refreshes
    again = token(node, "/persist", grant_type="refresh_token",
                  refresh_token=kept["refresh_token"]).json()
    assert again["refresh_token"] != kept["refresh_token"]
    assert api.get(f"/oauth2_tokens/{again['access_token']}")["ttl"] <= 97
    assert call(node, again["access_token"], "/persist/x").status_code == 200
