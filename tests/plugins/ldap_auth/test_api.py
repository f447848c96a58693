"""ldap-auth: its configuration through the Admin API (Kong 3.9's defaults
and messages, validated by the schema in the control plane's Lua helper)."""
from __future__ import annotations

from tests.helpers.http import admin


def conf(**extra) -> dict:
    config = {"ldap_host": "ldap.example.test", "ldap_port": 389,
              "base_dn": "ou=people,dc=example,dc=test", "attribute": "uid"}
    config.update(extra)
    return {"name": "ldap-auth", "config": config}


def test_schema(client):
    api = admin(client)
    resp = api.post("/plugins", conf(ldaps=True, start_tls=True), status=400)
    assert resp["fields"]["config"]["@entity"] == [
        "'ldaps' and 'start_tls' cannot be enabled simultaneously"]
    resp = api.post("/plugins", conf(ldap_host="not a host!"), status=400)
    assert resp["fields"]["config"]["ldap_host"] == "invalid value: not a host!"
    resp = api.post("/plugins", {"name": "ldap-auth", "config": {"ldap_host": "h"}}, status=400)
    assert resp["fields"]["config"] == {"base_dn": "required field missing",
                                        "attribute": "required field missing"}
    resp = api.post("/plugins", {"name": "ldap-auth", "consumer": {"id": "x"},
                                 "config": conf()["config"]}, status=400)
    assert "consumer" in resp["fields"]
    config = conf()["config"]
    del config["ldap_port"]
    plugin = api.post("/plugins", {"name": "ldap-auth", "config": config}, status=201)
    assert plugin["config"]["ldap_port"] == 389
    assert {k: plugin["config"][k] for k in (
        "ldaps", "start_tls", "verify_ldap_host", "cache_ttl", "hide_credentials", "timeout",
        "keepalive", "anonymous", "header_type", "realm")} == {
        "ldaps": False, "start_tls": False, "verify_ldap_host": False, "cache_ttl": 60,
        "hide_credentials": False, "timeout": 10000, "keepalive": 60000, "anonymous": None,
        "header_type": "ldap", "realm": None}
    api.delete(f"/plugins/{plugin['id']}")
