"""Certificates and TLS upstream servers for tests.

Certificates are made with `cryptography`: a CA, optional intermediates and
leaves (server or client). :class:`TlsServer` is an HTTPS echo server that
records every accepted TLS connection (its SNI and client certificate), and
may require a client certificate issued by a given CA.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass
class Cert:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    chain: list[x509.Certificate] = field(default_factory=list)

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()

    @property
    def chain_pem(self) -> str:
        """The certificate followed by its intermediates (what a server sends)."""
        return self.cert_pem + "".join(
            c.public_bytes(serialization.Encoding.PEM).decode() for c in self.chain)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _build(cn: str, issuer: Cert | None, *, ca: bool, dns: list[str] | None = None,
           client: bool = False) -> Cert:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(cn))
               .issuer_name(issuer.cert.subject if issuer else _name(cn))
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    if dns:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False)
    if not ca:
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    signer = issuer.key if issuer else key
    cert = builder.sign(signer, hashes.SHA256())
    chain = []
    if issuer and issuer.cert.issuer != issuer.cert.subject:
        chain = [issuer.cert, *issuer.chain]
    return Cert(cert, key, chain)


def make_ca(cn: str, issuer: Cert | None = None) -> Cert:
    """A root CA, or an intermediate one when `issuer` is given."""
    return _build(cn, issuer, ca=True)


def make_leaf(cn: str, issuer: Cert, dns: list[str] | None = None,
              client: bool = False) -> Cert:
    return _build(cn, issuer, ca=False, dns=dns if dns is not None else [cn], client=client)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        peer = self.connection.getpeercert()
        subject = dict(x[0] for x in peer["subject"]) if peer else {}
        body = json.dumps({"name": self.server.name,  # type: ignore[attr-defined]
                           "path": self.path,
                           "client_cn": subject.get("commonName"),
                           "host": self.headers.get("Host")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def get_request(self) -> Any:
        sock, addr = self.socket.accept()
        holder: dict[str, Any] = {}
        self._pending = holder  # type: ignore[attr-defined]
        tls = self.context.wrap_socket(sock, server_side=True)  # type: ignore[attr-defined]
        peer = tls.getpeercert()
        subject = dict(x[0] for x in peer["subject"]) if peer else {}
        with self.lock:  # type: ignore[attr-defined]
            self.accepted.append({"sni": holder.get("sni"),  # type: ignore[attr-defined]
                                  "client_cn": subject.get("commonName")})
        return tls, addr


class TlsServer:
    """An HTTPS echo server on 127.0.0.1 presenting `leaf` (with its chain)."""

    def __init__(self, name: str, leaf: Cert, client_ca: Cert | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="kptls"))
        (self.folder / "chain.pem").write_text(leaf.chain_pem)
        (self.folder / "key.pem").write_text(leaf.key_pem)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.folder / "chain.pem", self.folder / "key.pem")
        if client_ca is not None:
            (self.folder / "client_ca.pem").write_text(client_ca.cert_pem)
            ctx.load_verify_locations(self.folder / "client_ca.pem")
            ctx.verify_mode = ssl.CERT_REQUIRED
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.name = name  # type: ignore[attr-defined]
        self.server.context = ctx  # type: ignore[attr-defined]
        self.server.accepted = []  # type: ignore[attr-defined]
        self.server.lock = threading.Lock()  # type: ignore[attr-defined]

        def on_sni(_sock: Any, server_name: str | None, _ctx: Any) -> None:
            self.server._pending["sni"] = server_name  # type: ignore[attr-defined]

        ctx.sni_callback = on_sni
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def accepted(self) -> list[dict[str, Any]]:
        with self.server.lock:  # type: ignore[attr-defined]
            return list(self.server.accepted)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.folder, ignore_errors=True)
