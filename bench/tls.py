"""S0T and S1T: S0 and S1 behind a TLS listener, one ECDSA certificate for
`localhost` (wrk sends the URL's host as SNI; keepalive connections, so the
figure is mostly the per-request cost of TLS records, plus kongpy's certificate
choice at each of the few handshakes).

S0T is bare nginx serving the certificate from its own directives; the kongpy
node gets it as a `certificates` entity with the SNI `localhost`, chosen per
handshake by ssl_certificate_by_lua, while its default certificate stays the
self-signed pair.
"""
from __future__ import annotations

import socket
import ssl
import subprocess
from pathlib import Path

from bench import procs, servers
from bench.context import Context, Skipped
from bench.node import AdminError, Node
from bench.runner import Subject

SNI = "localhost"
_OPENSSL_TIMEOUT = 60


def bench_pair(workdir: Path) -> tuple[Path, Path]:
    """A self-signed ECDSA P-256 certificate for `localhost` (made once)."""
    cert, key = workdir / "bench-tls.crt", workdir / "bench-tls.key"
    if not (cert.exists() and key.exists()):
        subprocess.run(["openssl", "req", "-x509", "-nodes", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:prime256v1", "-sha256", "-days", "30",
                        "-subj", f"/CN={SNI}", "-addext", f"subjectAltName=DNS:{SNI}",
                        "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True, timeout=_OPENSSL_TIMEOUT)
    return cert, key


def _served_der(port: int) -> bytes:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=SNI) as tls:
            return tls.getpeercert(binary_form=True)


def _der(cert: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(cert.read_text())


def s0t(ctx: Context) -> Subject:
    cert, key = bench_pair(ctx.workdir)
    port = procs.free_port()
    conf = servers.proxy_conf(ctx.workdir / "S0T", port, ctx.upstream.port, lua=False,
                              tls=(cert, key))
    target = servers.start_nginx("S0T", ctx.workdir, conf, port, scheme="https", host=SNI)
    return Subject(target, ctx.load("/"))


def s1t(ctx: Context) -> Subject:
    cert, key = bench_pair(ctx.workdir)

    def configure(node: Node) -> None:
        node.call("POST", "/services", {"name": "up", "url": ctx.upstream.url})
        node.call("POST", "/services/up/routes", {"name": "s1t", "paths": ["/s1t"]})
        try:
            node.call("POST", "/certificates", {"cert": cert.read_text(),
                                                "key": key.read_text(), "snis": [SNI]})
        except AdminError as exc:
            if exc.status == 404:
                raise Skipped("this build has no certificates entity") from None
            raise

    node = ctx.node("tls", configure, proxy_flags="http2 ssl")
    # the certificate comes from the configuration, chosen by SNI
    if _served_der(node.proxy_port) != _der(cert):
        raise RuntimeError("S1T: the node does not serve the certificate of its SNI")
    return Subject(node.target("S1T"), ctx.load("/s1t"))
