"""Vault references on a live node: resolved from the environment the node was
started with, used by the data plane, never stored, shown or written resolved."""
from __future__ import annotations

import base64
import json
import os
import ssl
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tests.dataplane.tls import peer_cert
from tests.helpers.certs import fixture
from tests.helpers.http import admin, proxy

_DER = Encoding.DER
FIXTURE_PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"
BASE = {"first": "x", "third": "y", "doc": {"n": 1}}
ENV = {
    # {vault://env/...} reads with the node's vault_env_prefix (VTC_)
    "VTC_VAULT_TEST_SECRET": "s3cr3t-from-env",
    "VT_REDIS": json.dumps({"password": "redis-pass-from-json"}),
    "VT_CERT": fixture("rsa").cert,
    "VT_KEY": fixture("rsa").key,
    "VTC_PG_PASSWORD": "conf-secret-value",
    "VTC_PG_USER": "conf-user-value",
}
SECRETS = ("s3cr3t-from-env", "redis-pass-from-json", "conf-secret-value", "conf-user-value",
           fixture("rsa").key.splitlines()[1])


@pytest.fixture(scope="module")
def gateway(start_node):
    # the node starts with them (so does whatever here reads its conf file)
    os.environ.update(ENV)
    try:
        yield start_node(plugins="bundled, schema-probe", plugins_path=str(FIXTURE_PLUGINS),
                         vault_env_prefix="VTC_", pg_password="{vault://env/pg-password}",
                         pg_user="{vault://env/pg-user}")
    finally:
        for name in ENV:
            del os.environ[name]


def _probe(gw, path: str, config: dict) -> dict:
    route = gw.route(path)
    return admin(gw).post(f"/routes/{route['id']}/plugins",
                          {"name": "schema-probe", "config": {**BASE, **config}})


def _seen(resp) -> dict:
    assert resp.status_code == 200, resp.text
    return json.loads(base64.b64decode(resp.json()["headers"]["x-schema-probe"]))


def test_references_reach_the_data_plane_only(gateway, svc):
    gw = gateway
    admin(gw).put("/vaults/vt-vault", {"name": "env", "config": {"prefix": "VT_"}})
    plugin = _probe(gw, "/vault-ok", {"secret": "{vault://env/vault-test-secret}",
                                      "redis": {"password": "{vault://vt-vault/redis/password}"}})
    cert = admin(gw).post("/certificates", {"cert": "{vault://vt-vault/cert}",
                                            "key": "{vault://vt-vault/key}",
                                            "snis": ["vault.test"]})
    gw.wait_sync()
    seen = _seen(proxy(gw).get("/vault-ok"))
    assert seen["secret"] == "s3cr3t-from-env"
    # The certificate given by references is the one a handshake receives.
    served = peer_cert(gw.ports["proxy_ssl"], "vault.test")
    assert served == x509.load_pem_x509_certificate(
        fixture("rsa").cert.encode()).public_bytes(_DER)
    assert seen["redis_password"] == "redis-pass-from-json"
    # The Admin API and the datastore rows hold the references.
    config = admin(gw).get(f"/plugins/{plugin['id']}")["config"]
    assert config["secret"] == "{vault://env/vault-test-secret}"
    assert config["redis"]["password"] == "{vault://vt-vault/redis/password}"
    assert admin(gw).get("/certificates/vault.test")["key"] == "{vault://vt-vault/key}"
    db = gw.open_db()
    try:
        raw = db.strategy.select(db.plugins.table, plugin["id"])
        assert raw["config"]["secret"] == "{vault://env/vault-test-secret}"
        raw = db.strategy.select(db.certificates.table, cert["id"])
        assert (raw["cert"], raw["key"]) == ("{vault://vt-vault/cert}", "{vault://vt-vault/key}")
    finally:
        db.close()
    # GET / shows a conf property given as a reference as the reference,
    # a sensitive one masked (Kong's remove_sensitive).
    shown = admin(gw).get("/")["configuration"]
    assert (shown["pg_user"], shown["pg_password"]) == ("{vault://env/pg-user}", "******")
    # No file of the prefix holds a resolved value (snapshot, rendered conf, logs).
    for path in gw.prefix.rglob("*"):
        if path.is_file() and not path.is_socket():
            data = path.read_bytes()
            for secret in SECRETS:
                assert secret.encode() not in data, f"{secret!r} written to {path}"


def test_an_unresolvable_reference_fails_closed(gateway, svc):
    gw = gateway
    _probe(gw, "/vault-missing", {"secret": "{vault://env/not-in-the-environment}"})
    _probe(gw, "/vault-literal", {"label": "abc"})
    gw.wait_sync()
    resp = proxy(gw).get("/vault-missing")
    assert resp.status_code == 500
    assert resp.json()["message"] == "An unexpected error occurred"
    # other routes are served
    assert proxy(gw).get("/vault-literal").status_code == 200
    assert "cannot resolve {vault://env/not-in-the-environment}" in gw.error_log_tail(200)


def test_a_certificate_with_an_unresolvable_reference_is_not_served(gateway, svc):
    """Fail closed: its names get a failed handshake, neither it nor the default."""
    gw = gateway
    admin(gw).post("/certificates", {"cert": "{vault://env/no-such-cert}",
                                     "key": "{vault://env/no-such-key}",
                                     "snis": ["missing.test"]})
    gw.wait_sync()
    with pytest.raises(ssl.SSLError):
        peer_cert(gw.ports["proxy_ssl"], "missing.test")
    # (either of its references is named: the first one found unresolved)
    assert "unresolved vault reference {vault://env/no-such-" in gw.error_log_tail(200)
    # other names are still served (the node's default here)
    assert peer_cert(gw.ports["proxy_ssl"], "other.test")


def test_a_restarted_node_resolves_again(gateway, svc):
    gw = gateway
    _probe(gw, "/vault-restart", {"secret": "{vault://env/vault-test-secret}"})
    gw.wait_sync()
    assert _seen(proxy(gw).get("/vault-restart"))["secret"] == "s3cr3t-from-env"
    # nginx starts from the kept snapshot (references only); the values come
    # back with the sync loop's next round
    gw.cli("restart", "-c", str(gw.conf_path), "-p", str(gw.prefix))
    deadline = time.monotonic() + 10
    resp = proxy(gw).get("/vault-restart")
    while resp.status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
        resp = proxy(gw).get("/vault-restart")
    assert _seen(resp)["secret"] == "s3cr3t-from-env"
