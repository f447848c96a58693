"""Key material for the ``keys`` entity's tests: JWKs and PEM pairs made here."""
from __future__ import annotations

import base64
import json
from functools import lru_cache
from typing import NamedTuple

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa


class PemPair(NamedTuple):
    public_key: str
    private_key: str


def _b64(number: int) -> str:
    raw = number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@lru_cache(maxsize=None)
def _rsa(seed: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def rsa_jwk(kid: str, private: bool = True, seed: int = 0) -> dict:
    """An RSA JWK as lua-resty-openssl dumps one (Kong's spec merges public and private)."""
    numbers = _rsa(seed).private_numbers()
    out = {"kty": "RSA", "kid": kid, "n": _b64(numbers.public_numbers.n),
           "e": _b64(numbers.public_numbers.e)}
    if private:
        out.update(d=_b64(numbers.d), p=_b64(numbers.p), q=_b64(numbers.q),
                   dp=_b64(numbers.dmp1), dq=_b64(numbers.dmq1), qi=_b64(numbers.iqmp))
    return out


def ec_jwk(kid: str) -> dict:
    numbers = ec.generate_private_key(ec.SECP256R1()).private_numbers()
    size = 32
    pub = numbers.public_numbers
    enc = (lambda v: base64.urlsafe_b64encode(v.to_bytes(size, "big")).rstrip(b"=").decode())
    return {"kty": "EC", "crv": "P-256", "kid": kid, "x": enc(pub.x), "y": enc(pub.y),
            "d": enc(numbers.private_value)}


def okp_jwk(kid: str) -> dict:
    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "kid": kid,
            "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}


def jwk_text(members: dict) -> str:
    return json.dumps(members)


def pem_pair(seed: int = 0) -> PemPair:
    key = _rsa(seed)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return PemPair(public.decode(), private)
