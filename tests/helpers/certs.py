"""Certificates and keys made for tests (no files kept in the tree)."""
from __future__ import annotations

import datetime
from functools import lru_cache
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


class Pair(NamedTuple):
    cert: str
    key: str


def _key(kind: str):
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def make(cn: str = "example.com", kind: str = "rsa", ca: bool | None = None,
         days: int = 365, expired: bool = False, sans: tuple[str, ...] = ()) -> Pair:
    key = _key(kind)
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=days)
    if expired:
        start, end = now - datetime.timedelta(days=10), now - datetime.timedelta(days=2)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end))
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                                        critical=True)
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    return Pair(cert.public_bytes(serialization.Encoding.PEM).decode(), _pem_key(key))


@lru_cache(maxsize=None)
def fixture(name: str) -> Pair:
    """Made once per test process: ``rsa``, ``ecdsa``, ``rsa2``, ``ca``,
    ``ca2``, ``ca_expired``, ``not_ca``."""
    return {
        "rsa": lambda: make("ssl-example.com", "rsa", sans=("ssl-example.com",)),
        "rsa2": lambda: make("other.test", "rsa"),
        "ecdsa": lambda: make("ssl-example.com", "ecdsa", sans=("ssl-example.com",)),
        "ca": lambda: make("Test Root CA", "rsa", ca=True),
        "ca2": lambda: make("Test Root CA 2", "ecdsa", ca=True),
        "ca_expired": lambda: make("Expired CA", "ecdsa", ca=True, expired=True),
        "not_ca": lambda: make("leaf.test", "ecdsa", ca=False),
    }[name]()
