"""PEM certificates and keys as Kong's typedefs check them (``certificate``, ``key``).

Pure parsing with the ``cryptography`` package, no I/O. Kong parses with
lua-resty-openssl (``x509.new``, ``pkey.new``) and prefixes OpenSSL's reason
with ``invalid certificate: `` / ``invalid key: ``; the prefix and the
checks are Kong's, the reason after it is ours (OpenSSL's own strings differ
from one build to the next anyway).
"""
from __future__ import annotations

import datetime
import hashlib
import re
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

_CERT_BEGIN = re.compile(r"-----BEGIN CERTIFICATE-----")
_PUBLIC = (serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_certificate(value: str) -> x509.Certificate:
    """The first certificate of a PEM chain; raises ValueError."""
    data = value.encode("utf-8", "surrogateescape")
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        pass
    try:
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise ValueError("x509.new: unable to parse a certificate (PEM or DER)") from None


def load_key(value: str) -> Any:
    """A private key, or a public key (``pkey.new`` takes both); raises ValueError."""
    data = value.encode("utf-8", "surrogateescape")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ValueError("pkey.new:load_key: the key is encrypted") from None
    except (ValueError, UnsupportedAlgorithm):
        pass
    try:
        return serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError("pkey.new:load_key: unable to parse a key (PEM)") from None


def check_certificate(value: str) -> str | None:
    try:
        load_certificate(value)
    except ValueError as exc:
        return f"invalid certificate: {exc}"
    return None


def check_key(value: str) -> str | None:
    try:
        load_key(value)
    except ValueError as exc:
        return f"invalid key: {exc}"
    return None


def _public_pem(key: Any) -> bytes:
    public = key.public_key() if hasattr(key, "private_bytes") else key
    return public.public_bytes(*_PUBLIC)


def matches(cert: str, key: str) -> bool:
    """Whether the certificate's public key is the key's (Kong compares public PEMs)."""
    return _public_pem(load_certificate(cert).public_key()) == _public_pem(load_key(key))


def key_type(cert: str) -> str:
    """The kind of the certificate's key (RSA, EC, ...), as OpenSSL's key type id."""
    public = load_certificate(cert).public_key()
    for kind, name in ((rsa.RSAPublicKey, "RSA"), (ec.EllipticCurvePublicKey, "EC"),
                       (dsa.DSAPublicKey, "DSA"), (ed25519.Ed25519PublicKey, "ED25519"),
                       (ed448.Ed448PublicKey, "ED448")):
        if isinstance(public, kind):
            return name
    return type(public).__name__


def count_certificates(value: str) -> int:
    return len(_CERT_BEGIN.findall(value))


def expired(cert: str, now: float) -> bool:
    not_after = load_certificate(cert).not_valid_after_utc
    return not_after < datetime.datetime.fromtimestamp(now, datetime.timezone.utc)


def is_ca(cert: str) -> bool:
    try:
        ext = load_certificate(cert).extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return bool(ext.value.ca)


def digest(cert: str) -> str:
    """SHA-256 hex of the certificate's DER (Kong's ``cert_digest``)."""
    der = load_certificate(cert).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()
