"""The proxy's TLS through a real nginx (contracts.md §7): the certificate of
each handshake chosen from the configuration's `certificates` and `snis` by
SNI, with no reload; RSA and ECDSA pairs on one certificate; HTTP/2; routes'
`snis` and `protocols = ["https"]` over real TLS."""
from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from kongpy.sync.snapshot import SNAPSHOT_FORMAT

from .harness import DataPlane, Upstream, framed, free_port, route, service, snapshot
from .tls import Pair, certificate, client_context, https_get, peer_cert, sni

pytestmark = pytest.mark.integration

_versions = itertools.count(1)

# one key per name for the whole module: RSA key generation is slow
PAIRS = {name: Pair(name) for name in (
    "default", "api.example.com", "wild.example.com", "suffix.example",
    "catch-all", "swap-1", "swap-2", "dual-rsa")}
PAIRS["default-ec"] = Pair("default-ec", "ec")
PAIRS["dual-ec"] = Pair("dual-ec", "ec")
# the node's default pair: the client's algorithms pick RSA or ECDSA
DEFAULT = {PAIRS["default"].der, PAIRS["default-ec"].der}


class TlsPlane:
    def __init__(self, dp: DataPlane, tls_port: int, upstream: Upstream) -> None:
        self.dp, self.tls_port, self.upstream = dp, tls_port, upstream
        self.version = 0

    def push(self, certs: list, snis: list, routes: list | None = None) -> int:
        version = next(_versions)
        snap = snapshot(version, [service("s", self.upstream.port)],
                        routes if routes is not None else [route("r", "s", paths=["/"])])
        snap["certificates"], snap["snis"] = certs, snis
        status, body = self.dp.push(snap)
        assert status == 201, body
        self.dp.wait_version(version)
        self.version = version
        return version

    def delta(self, **changes: dict) -> tuple[int, Any]:
        version = next(_versions)
        status, body = self.dp.control("POST", "/snapshot/delta", framed({
            "snapshot_format": SNAPSHOT_FORMAT, "base_version": self.version,
            "version": version, "hash": f"{version:064x}", "changes": changes}))
        if status == 201:
            self.dp.wait_version(version)
            self.version = version
        return status, body

    def cert_for(self, name: str | None, **ctx: Any) -> bytes:
        return peer_cert(self.tls_port, name, client_context(**ctx) if ctx else None)


@pytest.fixture(scope="module")
def tls() -> Iterator[TlsPlane]:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.fail("nginx is required for the data-plane tests")
    prefix = Path(tempfile.mkdtemp(prefix="kpt", dir="/tmp"))
    (prefix / "ssl").mkdir()
    defaults = [PAIRS["default"].write(prefix / "ssl", "default"),
                PAIRS["default-ec"].write(prefix / "ssl", "default-ec")]
    plain, tls_port = free_port(), free_port()
    dp = DataPlane(prefix, context_overrides={
        "proxy_listeners": [
            {"address": f"127.0.0.1:{plain}", "ssl": False, "http2": False, "flags": ""},
            {"address": f"127.0.0.1:{tls_port}", "ssl": True, "http2": True, "flags": ""}],
        "ssl_certificates": defaults})
    dp.port = plain
    upstream = Upstream("tls")
    dp.start()
    yield TlsPlane(dp, tls_port, upstream)
    dp.stop()
    upstream.close()
    shutil.rmtree(prefix, ignore_errors=True)


BASE_CERTS = [certificate("c-api", PAIRS["api.example.com"]),
              certificate("c-wild", PAIRS["wild.example.com"]),
              certificate("c-suffix", PAIRS["suffix.example"])]
BASE_SNIS = [sni("n-api", "api.example.com", "c-api"),
             sni("n-wild", "*.example.com", "c-wild"),
             sni("n-suffix", "suffix.example.*", "c-suffix")]


def test_sni_selects_exact_then_wildcards_then_default(tls: TlsPlane) -> None:
    tls.push(BASE_CERTS, BASE_SNIS)
    assert tls.cert_for("api.example.com") == PAIRS["api.example.com"].der
    # exact names are case-insensitive
    assert tls.cert_for("API.Example.COM") == PAIRS["api.example.com"].der
    # the wildcard prefix covers one label only
    assert tls.cert_for("other.example.com") == PAIRS["wild.example.com"].der
    assert tls.cert_for("a.b.example.com") in DEFAULT
    assert tls.cert_for("suffix.example.org") == PAIRS["suffix.example"].der
    assert tls.cert_for("suffix.example.net") == PAIRS["suffix.example"].der
    # no match, and no SNI at all: the node's default, never a failed handshake
    assert tls.cert_for("unknown.test") in DEFAULT
    assert tls.cert_for(None) in DEFAULT


def test_wildcard_prefix_wins_over_suffix(tls: TlsPlane) -> None:
    tls.push(BASE_CERTS, [sni("n-pre", "*.example.org", "c-wild"),
                          sni("n-suffix", "suffix.example.*", "c-suffix")])
    # both `*.example.org` and `suffix.example.*` match: the prefix form wins
    assert tls.cert_for("suffix.example.org") == PAIRS["wild.example.com"].der
    assert tls.cert_for("suffix.example.net") == PAIRS["suffix.example"].der


def test_catch_all_sni_before_default(tls: TlsPlane) -> None:
    tls.push(BASE_CERTS + [certificate("c-any", PAIRS["catch-all"])],
             BASE_SNIS + [sni("n-any", "*", "c-any")])
    assert tls.cert_for("unknown.test") == PAIRS["catch-all"].der
    assert tls.cert_for("api.example.com") == PAIRS["api.example.com"].der
    # a client without SNI still gets the node's default (as Kong)
    assert tls.cert_for(None) in DEFAULT


def test_dual_rsa_and_ecdsa_pairs(tls: TlsPlane) -> None:
    tls.push([certificate("c-dual", PAIRS["dual-rsa"], PAIRS["dual-ec"])],
             [sni("n-dual", "dual.test", "c-dual")])
    ecdsa = tls.cert_for("dual.test", max_tls12=True, ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")
    rsa_only = tls.cert_for("dual.test", max_tls12=True, ciphers="ECDHE-RSA-AES128-GCM-SHA256")
    assert ecdsa == PAIRS["dual-ec"].der
    assert rsa_only == PAIRS["dual-rsa"].der
    # the default pair offers both types too (ssl_cert lists)
    assert tls.cert_for("unknown.test", max_tls12=True,
                        ciphers="ECDHE-ECDSA-AES128-GCM-SHA256") == PAIRS["default-ec"].der
    assert tls.cert_for("unknown.test", max_tls12=True,
                        ciphers="ECDHE-RSA-AES128-GCM-SHA256") == PAIRS["default"].der


def test_certificate_change_by_delta_without_reload(tls: TlsPlane) -> None:
    tls.push([certificate("c-swap", PAIRS["swap-1"])], [sni("n-swap", "swap.test", "c-swap")])
    pid = tls.dp.control("GET", "/snapshot")[1]["workers"]
    assert tls.cert_for("swap.test") == PAIRS["swap-1"].der
    status, body = tls.delta(certificates={"upsert": [certificate("c-swap", PAIRS["swap-2"])]})
    assert status == 201, body
    for _ in range(4):  # every worker
        assert tls.cert_for("swap.test") == PAIRS["swap-2"].der
    # an SNI moved to another certificate, then deleted
    status, body = tls.delta(certificates={"upsert": [certificate("c-other",
                                                                  PAIRS["swap-1"])]},
                             snis={"upsert": [sni("n-swap", "swap.test", "c-other")]})
    assert status == 201, body
    assert tls.cert_for("swap.test") == PAIRS["swap-1"].der
    status, body = tls.delta(snis={"delete": ["n-swap"]})
    assert status == 201, body
    assert tls.cert_for("swap.test") in DEFAULT
    assert [w["pid"] for w in tls.dp.control("GET", "/snapshot")[1]["workers"]] == \
        [w["pid"] for w in pid]


def test_unparsable_certificate_is_refused_and_the_last_good_one_served(tls: TlsPlane) -> None:
    tls.push([certificate("c-ok", PAIRS["swap-1"])], [sni("n-ok", "ok.test", "c-ok")])
    broken = certificate("c-ok", PAIRS["swap-2"])
    broken["cert"] = broken["cert"].replace("MII", "MIX", 1)
    status, body = tls.delta(certificates={"upsert": [broken]})
    assert status == 400
    assert "certificate c-ok: could not parse PEM certificate" in body["message"]
    bad_key = certificate("c-ok", PAIRS["swap-2"])
    bad_key["key"] = "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"
    snap = snapshot(next(_versions), [], [])
    snap["certificates"], snap["snis"] = [bad_key], [sni("n-ok", "ok.test", "c-ok")]
    status, body = tls.dp.push(snap)
    assert status == 400
    assert "could not parse PEM private key" in body["message"]
    # an SNI naming no certificate is refused too
    status, body = tls.delta(snis={"upsert": [sni("n-lost", "lost.test", "c-missing")]})
    assert status == 400 and "no certificate c-missing" in body["message"]
    assert tls.cert_for("ok.test") == PAIRS["swap-1"].der


def test_certificate_swapped_under_load_no_failed_handshake(tls: TlsPlane) -> None:
    tls.push([certificate("c-load", PAIRS["swap-1"])], [sni("n-load", "load.test", "c-load")])
    stop = threading.Event()
    seen: dict[bytes, int] = {}
    failures: list[str] = []
    lock = threading.Lock()

    def handshakes() -> None:
        while not stop.is_set():
            try:
                der = tls.cert_for("load.test")
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                with lock:
                    failures.append(repr(exc))
                continue
            with lock:
                seen[der] = seen.get(der, 0) + 1

    threads = [threading.Thread(target=handshakes) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(12):
            pair = PAIRS["swap-2"] if i % 2 == 0 else PAIRS["swap-1"]
            status, body = tls.delta(certificates={"upsert": [certificate("c-load", pair)]})
            assert status == 201, body
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert failures == []
    assert set(seen) == {PAIRS["swap-1"].der, PAIRS["swap-2"].der}
    assert sum(seen.values()) > 50
    assert tls.cert_for("load.test") == PAIRS["swap-1"].der


def test_http2_through_the_proxy(tls: TlsPlane) -> None:
    tls.push(BASE_CERTS, BASE_SNIS)
    out = subprocess.run(
        ["curl", "-sk", "--http2", "--resolve", f"api.example.com:{tls.tls_port}:127.0.0.1",
         "-w", "\n%{http_version}", f"https://api.example.com:{tls.tls_port}/h2?x=1"],
        capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    body, version = out.stdout.rsplit("\n", 1)
    assert version == "2"
    echo = json.loads(body)
    assert echo["name"] == "tls" and echo["path"] == "/h2?x=1"
    assert echo["headers"]["x-forwarded-proto"] == "https"
    assert echo["headers"]["via"].startswith("2 kongpy/")


def test_route_snis_match_the_handshake(tls: TlsPlane) -> None:
    tls.push(BASE_CERTS, BASE_SNIS, routes=[
        route("r-sni", "s", paths=["/sni"], snis=["api.example.com"]),
        route("r-https", "s", paths=["/secure"], protocols=["https"]),
        route("r-redir", "s", paths=["/moved"], protocols=["https"],
              https_redirect_status_code=308)])
    status, _, body = https_get(tls.tls_port, "api.example.com", "/sni")
    assert status == 200 and json.loads(body)["name"] == "tls"
    status, _, body = https_get(tls.tls_port, "other.example.com", "/sni",
                                host="api.example.com")
    assert status == 404
    assert json.loads(body)["message"] == "no Route matched with those values"
    # snis constrain TLS requests only (as Kong): plain HTTP ignores them
    assert requests.get(tls.dp.url("/sni")).status_code == 200
    status, _, _ = https_get(tls.tls_port, "unknown.test", "/secure")
    assert status == 200
    r = requests.get(tls.dp.url("/secure"))
    assert r.status_code == 426
    assert r.json()["message"] == "Please use HTTPS protocol"
    assert "Upgrade" in r.headers["Connection"]
    assert r.headers["Upgrade"] == "TLS/1.2, HTTP/1.1"
    r = requests.get(tls.dp.url("/moved/x?q=1"), allow_redirects=False)
    assert r.status_code == 308
    assert r.headers["Location"] == "https://127.0.0.1/moved/x?q=1"
