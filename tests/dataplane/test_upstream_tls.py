"""Upstream TLS through a real nginx (docs/upstream-tls.md): verification
with tls_verify, ca_certificates, lua_ssl_trusted_certificate and the depth;
mutual TLS with the service's or the upstream's client certificate; no
keepalive connection shared across TLS settings. Real HTTPS upstreams."""
from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from kongpy.render import upstream_tls
from tests.helpers.tls import Cert, TlsServer, make_ca, make_leaf

from . import harness
from .harness import DataPlane, route, service, snapshot
from .test_balancer import target, upstream

pytestmark = pytest.mark.integration

_versions = itertools.count(1)
MSG_502 = "An invalid response was received from the upstream server"


@pytest.fixture(scope="module")
def pki() -> dict[str, Cert]:
    root = make_ca("kongpy test root")
    other = make_ca("kongpy other root")
    inter = make_ca("kongpy test intermediate", root)
    client_ca = make_ca("kongpy client root")
    return {
        "root": root, "other": other, "inter": inter, "client_ca": client_ca,
        "leaf": make_leaf("localhost", root, dns=["localhost", "vm", "runsc"]),
        "deep_leaf": make_leaf("localhost", inter),
        "other_leaf": make_leaf("localhost", other),
        "client_a": make_leaf("client-a", client_ca, client=True),
        "client_b": make_leaf("client-b", client_ca, client=True),
    }


def cert_row(cid: str, c: Cert) -> dict[str, Any]:
    return {"id": cid, "cert": c.cert_pem, "key": c.key_pem, "cert_alt": None,
            "key_alt": None, "tags": None, "created_at": 1700000000}


def ca_row(cid: str, c: Cert) -> dict[str, Any]:
    return {"id": cid, "cert": c.cert_pem, "cert_digest": c.digest, "tags": None,
            "created_at": 1700000000}


class Node:
    """A data plane whose upstream TLS profiles are rendered from its rows,
    reloaded as a node change when the set of trust stores changes."""

    def __init__(self, prefix: Path, global_files: list[str], depth: int = 1) -> None:
        self.prefix, self.depth = prefix, depth
        self.ssl = prefix / "ssl"
        self.ssl.mkdir(parents=True, exist_ok=True)
        combined = upstream_tls.write_bundle(global_files, self.ssl)
        self.global_file = str(combined) if combined else None
        self.dp = DataPlane(prefix, **self._overrides())

    def _overrides(self) -> dict[str, Any]:
        profiles = upstream_tls.profiles(self.ssl, self.global_file, self.depth)
        return {
            "settings_overrides": {"upstream_tls": upstream_tls.settings(
                profiles, self.depth, 4)},
            "context_overrides": {"upstream_tls_profiles": profiles,
                                  "lua_ssl_trusted_certificate": self.global_file or "",
                                  "lua_ssl_verify_depth": self.depth},
        }

    def push(self, services: list, routes: list, **entities: list) -> None:
        """Writes the trust stores the rows need (reloading nginx when their
        set changed), then pushes the rows."""
        needed = upstream_tls.needed_stores(services, entities.get("ca_certificates", []),
                                            self.depth)
        if upstream_tls.write_stores(self.ssl, needed, self.depth):
            self.reload()
        self.push_only(services, routes, **entities)

    def push_only(self, services: list, routes: list, **entities: list) -> None:
        version = next(_versions)
        snap = snapshot(version, services, routes)
        snap.update(entities)
        status, body = self.dp.push(snap)
        assert status == 201, body
        self.dp.wait_version(version)

    def reload(self) -> None:
        over = self._overrides()
        data = harness.settings(self.prefix, **over["settings_overrides"])
        (self.prefix / "settings.json").write_text(json.dumps(data))
        ctx = harness.context(self.prefix, self.dp.port, 2, **{
            **harness.settings_context(data), **over["context_overrides"]})
        self.dp.conf.write_text(harness.render(ctx))
        _, before = self.dp.control("GET", "/snapshot")
        old = {w["pid"] for w in before["workers"]}
        assert self.dp.proc is not None
        self.dp.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            # the old workers gone, and every worker slot reported by a new one
            if not any(_alive(pid) for pid in old):
                _, body = self.dp.control("GET", "/snapshot")
                pids = {w["pid"] for w in body["workers"]}
                if all(pids) and not pids & old:
                    return
            time.sleep(0.05)
        raise AssertionError("nginx did not reload: " + self.dp.error_log())

    def get(self, path: str) -> requests.Response:
        return requests.get(self.dp.url(path), headers={"Accept": "application/json"},
                            timeout=10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def make_node() -> Iterator[Any]:
    nodes: list[tuple[Node, Path]] = []

    def make(global_files: list[str] | None = None, depth: int = 1) -> Node:
        prefix = Path(tempfile.mkdtemp(prefix="kpt", dir="/tmp"))
        node = Node(prefix, global_files if global_files is not None
                    else [upstream_tls.SYSTEM_CA_BUNDLE], depth)
        node.dp.start()
        nodes.append((node, prefix))
        return node

    yield make
    for node, prefix in nodes:
        node.dp.stop()
        shutil.rmtree(prefix, ignore_errors=True)


@pytest.fixture
def servers() -> Iterator[list[TlsServer]]:
    started: list[TlsServer] = []
    yield started
    for s in started:
        s.close()


def https(sid: str, port: int, **fields: Any) -> dict[str, Any]:
    return service(sid, port, **{"protocol": "https", "host": "localhost", **fields})


def test_verification_refused_then_accepted_once_the_ca_is_attached(make_node, servers, pki):
    srv = TlsServer("tls", pki["leaf"])
    servers.append(srv)
    node = make_node()
    ca = ca_row("ca-root", pki["root"])
    routes = [route("r1", "s1", paths=["/v"])]
    # tls_verify null: nginx's default, no verification
    node.push([https("s1", srv.port)], routes, ca_certificates=[ca])
    res = node.get("/v")
    assert res.status_code == 200, (res.text, node.dp.error_log()[-3000:])
    # verified against lua_ssl_trusted_certificate (the system bundle): refused
    node.push([https("s1", srv.port, tls_verify=True)], routes, ca_certificates=[ca])
    res = node.get("/v")
    assert res.status_code == 502
    assert res.json()["message"] == MSG_502
    assert "upstream SSL certificate verify error: (21:unable to verify the first " \
           "certificate)" in node.dp.error_log()
    # the CA attached before its trust store is loaded: refused, never unverified
    attached = [https("s1", srv.port, tls_verify=True, ca_certificates=["ca-root"])]
    node.push_only(attached, routes, ca_certificates=[ca])
    res = node.get("/v")
    assert res.status_code == 500
    assert "no trust store for its upstream TLS verification is loaded" in node.dp.error_log()
    # the node reloads with the new store: accepted
    node.push(attached, routes, ca_certificates=[ca])
    res = node.get("/v")
    assert res.status_code == 200, res.text
    assert res.json()["name"] == "tls"
    # another CA than the one that issued the upstream's certificate: refused
    other = ca_row("ca-other", pki["other"])
    node.push([https("s1", srv.port, tls_verify=True, ca_certificates=["ca-other"])],
              routes, ca_certificates=[ca, other])
    assert node.get("/v").status_code == 502


def test_global_trusted_certificate_and_name_check(make_node, servers, pki, tmp_path):
    srv = TlsServer("tls", pki["leaf"])
    servers.append(srv)
    bundle = tmp_path / "root.pem"
    bundle.write_text(pki["root"].cert_pem)
    node = make_node([upstream_tls.SYSTEM_CA_BUNDLE, str(bundle)])
    routes = [route("r1", "s1", paths=["/g"]), route("r2", "s2", paths=["/wrong"])]
    node.push([https("s1", srv.port, tls_verify=True),
               # the certificate does not name 127.0.0.1: refused by name
               service("s2", srv.port, protocol="https", host="127.0.0.1",
                       tls_verify=True)], routes)
    assert node.get("/g").status_code == 200
    assert node.get("/wrong").status_code == 502
    assert "upstream SSL certificate does not match \"127.0.0.1\"" in node.dp.error_log()


def test_verify_depth(make_node, servers, pki):
    # the upstream sends leaf + intermediate; only the root is trusted.
    # OpenSSL's depth counts the intermediates (not the trust anchor).
    srv = TlsServer("deep", pki["deep_leaf"])
    servers.append(srv)
    node = make_node()
    ca = [ca_row("ca-root", pki["root"])]
    routes = [route("r1", "s1", paths=["/d"])]
    node.push([https("s1", srv.port, tls_verify=True, tls_verify_depth=0,
                     ca_certificates=["ca-root"])], routes, ca_certificates=ca)
    assert node.get("/d").status_code == 502
    # OpenSSL stops building the chain at the depth: the issuer is not found
    assert "upstream SSL certificate verify error: (20:unable to get local issuer " \
           "certificate)" in node.dp.error_log()
    # tls_verify_depth null: lua_ssl_verify_depth (1)
    node.push([https("s1", srv.port, tls_verify=True, ca_certificates=["ca-root"])],
              routes, ca_certificates=ca)
    assert node.get("/d").status_code == 200


def test_lua_ssl_verify_depth(make_node, servers, pki):
    srv = TlsServer("deep", pki["deep_leaf"])
    servers.append(srv)
    node = make_node(depth=0)
    ca = [ca_row("ca-root", pki["root"])]
    routes = [route("r1", "s1", paths=["/d"])]
    node.push([https("s1", srv.port, tls_verify=True, ca_certificates=["ca-root"])],
              routes, ca_certificates=ca)
    assert node.get("/d").status_code == 502
    node.push([https("s1", srv.port, tls_verify=True, tls_verify_depth=1,
                     ca_certificates=["ca-root"])], routes, ca_certificates=ca)
    assert node.get("/d").status_code == 200


def test_mutual_tls_service_and_upstream_certificates(make_node, servers, pki):
    srv = TlsServer("mtls", pki["leaf"], client_ca=pki["client_ca"])
    servers.append(srv)
    node = make_node()
    certs = [cert_row("c-a", pki["client_a"]), cert_row("c-b", pki["client_b"])]
    routes = [route("r1", "s1", paths=["/none"]), route("r2", "s2", paths=["/svc"]),
              route("r3", "s3", paths=["/up"]), route("r4", "s4", paths=["/both"])]
    ups = [upstream("u1", "mtls.upstream", client_certificate={"id": "c-b"})]
    targets = [target("t1", "u1", f"localhost:{srv.port}")]
    node.push([https("s1", srv.port),
               https("s2", srv.port, client_certificate={"id": "c-a"}),
               https("s3", 443, host="mtls.upstream"),
               https("s4", 443, host="mtls.upstream", client_certificate={"id": "c-a"})],
              routes, certificates=certs, upstreams=ups, targets=targets)
    # no client certificate: the upstream refuses the handshake
    assert node.get("/none").status_code == 502
    res = node.get("/svc")
    assert res.status_code == 200, res.text
    assert res.json()["client_cn"] == "client-a"
    # balanced: the upstream's certificate, unless the service has its own
    res = node.get("/up")
    assert res.status_code == 200, res.text
    assert res.json()["client_cn"] == "client-b"
    assert node.get("/both").json()["client_cn"] == "client-a"


def test_no_connection_shared_across_tls_settings(make_node, servers, pki):
    srv = TlsServer("pool", pki["leaf"], client_ca=pki["client_ca"])
    servers.append(srv)
    node = make_node()
    certs = [cert_row("c-a", pki["client_a"]), cert_row("c-b", pki["client_b"])]
    routes = [route("r1", "s1", paths=["/a"]), route("r2", "s2", paths=["/b"]),
              route("r3", "s3", paths=["/sni"])]
    node.push([https("s1", srv.port, client_certificate={"id": "c-a"}),
               https("s2", srv.port, client_certificate={"id": "c-b"}),
               # same address, same certificate, another SNI
               https("s3", srv.port, host="vm", client_certificate={"id": "c-a"})],
              routes, certificates=certs)
    for _ in range(20):
        for path, cn in (("/a", "client-a"), ("/b", "client-b"), ("/sni", "client-a")):
            res = node.get(path)
            assert res.status_code == 200, res.text
            assert res.json()["client_cn"] == cn
    accepted = srv.accepted
    settings = {(a["sni"], a["client_cn"]) for a in accepted}
    assert settings == {("localhost", "client-a"), ("localhost", "client-b"),
                        ("vm", "client-a")}
    # connections are kept alive within a setting (2 workers: at most one
    # connection per worker and setting)
    assert len(accepted) <= 2 * 3
