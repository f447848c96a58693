"""TLS helpers of the data-plane tests: self-signed certificates (cryptography),
`certificates`/`snis` rows in Kong's shapes, and clients that report the
certificate the proxy presented."""
from __future__ import annotations

import datetime
import http.client
import socket
import ssl
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


class Pair:
    """A self-signed certificate and its key, as PEM strings."""

    def __init__(self, cn: str, kind: str = "rsa") -> None:
        key = (rsa.generate_private_key(public_exponent=65537, key_size=2048)
               if kind == "rsa" else ec.generate_private_key(ec.SECP256R1()))
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .sign(key, hashes.SHA256()))
        self.cn, self.kind = cn, kind
        self.der = cert.public_bytes(serialization.Encoding.DER)
        self.cert = cert.public_bytes(serialization.Encoding.PEM).decode()
        self.key = key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode()

    def write(self, folder: Path, stem: str) -> dict[str, str]:
        cert, key = folder / f"{stem}.crt", folder / f"{stem}.key"
        cert.write_text(self.cert)
        key.write_text(self.key)
        key.chmod(0o644)
        return {"cert": str(cert), "key": str(key)}


def certificate(cid: str, pair: Pair, alt: Pair | None = None) -> dict[str, Any]:
    return {"id": cid, "cert": pair.cert, "key": pair.key,
            "cert_alt": alt.cert if alt else None, "key_alt": alt.key if alt else None,
            "tags": None, "created_at": 1700000000, "updated_at": 1700000000}


def sni(sid: str, name: str, cid: str) -> dict[str, Any]:
    return {"id": sid, "name": name, "certificate": {"id": cid}, "tags": None,
            "created_at": 1700000000, "updated_at": 1700000000}


def client_context(max_tls12: bool = False, ciphers: str | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if max_tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def peer_cert(port: int, sni: str | None, ctx: ssl.SSLContext | None = None) -> bytes:
    """The DER certificate the proxy presents for `sni` (None: no SNI sent)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with (ctx or client_context()).wrap_socket(raw, server_hostname=sni) as tls:
            return tls.getpeercert(binary_form=True)


def https_get(port: int, sni: str | None, path: str, host: str | None = None
              ) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 request over TLS with the given SNI: status, headers, body."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with client_context().wrap_socket(raw, server_hostname=sni) as tls:
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {host or sni or 'localhost'}\r\n"
                        "Connection: close\r\n\r\n".encode())
            resp = http.client.HTTPResponse(tls)
            resp.begin()
            body = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
