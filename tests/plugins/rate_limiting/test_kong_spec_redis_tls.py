"""Kong 3.9's `ssl_verify` and `ssl_no_verify` Redis variants of both
rate-limiting plugins' access and integration scenarios: a Redis server that
speaks TLS only (started here), trusted through `lua_ssl_trusted_certificate`."""
from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.helpers.servers import free_port
from tests.helpers.tls import make_ca, make_leaf

SNI = "test-redis.example.test"
BOGUS = "really.really.really.does.not.exist.host.test"


@pytest.fixture(scope="module")
def tls_redis():
    binary = shutil.which("redis-server")
    if not binary:
        pytest.skip("redis-server is not installed")
    # nginx's workers (not root) read the CA: a folder they can enter
    folder = Path(tempfile.mkdtemp(prefix="kongpy-redis-tls-"))
    folder.chmod(0o755)
    ca = make_ca("kongpy redis root")
    leaf = make_leaf(SNI, ca, dns=[SNI])
    for name, pem in (("ca.pem", ca.cert_pem), ("cert.pem", leaf.chain_pem),
                      ("key.pem", leaf.key_pem)):
        (folder / name).write_text(pem)
        (folder / name).chmod(0o644)
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(folder / "cert.pem"), "--tls-key-file", str(folder / "key.pem"),
         "--tls-ca-cert-file", str(folder / "ca.pem"), "--tls-auth-clients", "no",
         "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the TLS redis did not start"
            time.sleep(0.1)
    yield {"port": port, "ca": str(folder / "ca.pem")}
    proc.terminate()
    proc.wait(10)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def node(start_node, tls_redis, upstream):
    made = start_node(lua_ssl_trusted_certificate=tls_redis["ca"])
    made.create("/services", {"name": "svc", "url": upstream.url})
    return made


SSL_CONFS = {
    "ssl_verify": {"ssl": True, "ssl_verify": True, "server_name": SNI},
    "ssl_no_verify": {"ssl": True, "ssl_verify": False, "server_name": BOGUS},
}


def _route(node, tls_redis, name: str, ssl: dict, limits: dict) -> str:
    path = "/" + uuid.uuid4().hex[:10]
    route = node.create("/services/svc/routes", {"paths": [path]})
    redis = {"host": "127.0.0.1", "port": tls_redis["port"], "database": 1, **ssl}
    node.create(f"/routes/{route['id']}/plugins", {
        "name": name, "config": {"policy": "redis", "fault_tolerant": False, "redis": redis,
                                 **limits}})
    node.wait_sync()
    return path


@pytest.mark.parametrize("ssl_conf", sorted(SSL_CONFS))
def test_rate_limiting_over_tls(node, tls_redis, ssl_conf):
    path = _route(node, tls_redis, "rate-limiting", SSL_CONFS[ssl_conf], {"minute": 6})
    left = 60 - time.time() % 60
    if left < 8:
        time.sleep(left + 0.2)
    got = [requests.get(node.proxy + path, timeout=10) for _ in range(7)]
    assert [r.status_code for r in got] == [200] * 6 + [429]
    assert [r.headers["X-RateLimit-Remaining-Minute"] for r in got] == [
        "5", "4", "3", "2", "1", "0", "0"]


@pytest.mark.parametrize("ssl_conf", sorted(SSL_CONFS))
def test_response_ratelimiting_over_tls(node, tls_redis, ssl_conf):
    path = _route(node, tls_redis, "response-ratelimiting", SSL_CONFS[ssl_conf],
                  {"limits": {"video": {"minute": 6}}})
    report = {"header": "X-Kong-Limit:video=1"}
    first = requests.get(node.proxy + path, params=report, timeout=10)
    assert first.status_code == 200
    assert first.headers["X-RateLimit-Remaining-video-minute"] == "5"
    deadline = time.monotonic() + 5
    while requests.get(node.proxy + path, timeout=10).headers[
            "X-RateLimit-Remaining-video-minute"] != "5":
        assert time.monotonic() < deadline, "the increment never reached redis"
        time.sleep(0.1)


def test_a_name_the_certificate_does_not_carry_fails_verification(node, tls_redis):
    path = _route(node, tls_redis, "rate-limiting",
                  {"ssl": True, "ssl_verify": True, "server_name": BOGUS}, {"minute": 6})
    resp = requests.get(node.proxy + path, timeout=10)
    assert resp.status_code == 500
    assert resp.json()["message"] == "An unexpected error occurred"
