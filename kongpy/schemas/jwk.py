"""JSON Web Keys and PEM key pairs as Kong's ``keys`` entity checks them.

Pure, with the ``cryptography`` package. Kong loads a key with
lua-resty-openssl (``pkey.new(jwk, {format = "JWK"})``) and only says
whether it loaded, so :func:`loads` answers yes or no for the key types that
library reads (RSA, EC on the NIST curves, OKP); a symmetric ``oct`` key is
refused there and here. The JWK's members are then checked against Kong's
``typedefs.jwk`` record, whose errors Kong flattens to one string
(:func:`errors_to_string`).
"""
from __future__ import annotations

import base64
import binascii
from typing import Any, Callable, Mapping

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa, x448, x25519
from marshmallow import ValidationError

from kongpy.schemas import fields as f

_SPKI = (serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
_CURVES = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}
_OKP: dict[str, tuple[Any, Any]] = {
    "Ed25519": (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey),
    "Ed448": (ed448.Ed448PrivateKey, ed448.Ed448PublicKey),
    "X25519": (x25519.X25519PrivateKey, x25519.X25519PublicKey),
    "X448": (x448.X448PrivateKey, x448.X448PublicKey),
}
# Kong's typedefs.jwk members, in its order; two are arrays of strings.
_MEMBERS = ("issuer", "kty", "use", "key_ops", "alg", "kid", "x5u", "x5c", "x5t", "x5t#S256",
            "k", "x", "y", "crv", "n", "e", "d", "p", "q", "dp", "dq", "qi", "oth", "r", "t")
_ARRAYS = ("key_ops", "x5c")


def _record() -> f.Record:
    """Kong's ``typedefs.jwk``: every member a string but two arrays; ``kid`` required."""
    fields: dict[str, f.KongField] = {}
    for name in _MEMBERS:
        if name in _ARRAYS:
            fields[name] = f.Array(f.String(required=True))
        else:
            fields[name] = f.String(required=name == "kid")
    return f.Record(fields)


JWK_RECORD = _record()


# -- loading -------------------------------------------------------------------

def _int(members: Mapping[str, Any], name: str) -> int:
    return int.from_bytes(_bytes(members, name), "big")


def _bytes(members: Mapping[str, Any], name: str) -> bytes:
    value = members.get(name)
    if not isinstance(value, str):
        raise ValueError(f'missing "{name}"')
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ValueError(f'"{name}" is not base64url') from None


def _rsa(m: Mapping[str, Any]) -> Any:
    public = rsa.RSAPublicNumbers(_int(m, "e"), _int(m, "n"))
    if "d" not in m:
        return public.public_key()
    d = _int(m, "d")
    if "p" in m and "q" in m:
        p, q = _int(m, "p"), _int(m, "q")
    else:
        p, q = rsa.rsa_recover_prime_factors(public.n, public.e, d)
    dp = _int(m, "dp") if "dp" in m else rsa.rsa_crt_dmp1(d, p)
    dq = _int(m, "dq") if "dq" in m else rsa.rsa_crt_dmq1(d, q)
    qi = _int(m, "qi") if "qi" in m else rsa.rsa_crt_iqmp(p, q)
    return rsa.RSAPrivateNumbers(p, q, d, dp, dq, qi, public).private_key()


def _ec(m: Mapping[str, Any]) -> Any:
    curve = _CURVES.get(m.get("crv"))  # type: ignore[arg-type]
    if curve is None:
        raise ValueError("unknown curve")
    public = ec.EllipticCurvePublicNumbers(_int(m, "x"), _int(m, "y"), curve())
    if "d" not in m:
        return public.public_key()
    return ec.EllipticCurvePrivateNumbers(_int(m, "d"), public).private_key()


def _okp(m: Mapping[str, Any]) -> Any:
    kinds = _OKP.get(m.get("crv"))  # type: ignore[arg-type]
    if kinds is None:
        raise ValueError("unknown curve")
    if "d" in m:
        return kinds[0].from_private_bytes(_bytes(m, "d"))
    return kinds[1].from_public_bytes(_bytes(m, "x"))


_LOADERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {"RSA": _rsa, "EC": _ec, "OKP": _okp}


def loads(members: Any) -> bool:
    """Whether a decoded JWK is a key lua-resty-openssl would load."""
    if not isinstance(members, dict):
        return False
    loader = _LOADERS.get(members.get("kty"))  # type: ignore[arg-type]
    if loader is None:
        return False
    try:
        loader(members)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def record_error(members: Mapping[str, Any]) -> str | None:
    """The members checked against ``typedefs.jwk``, as Kong's one-line message."""
    try:
        JWK_RECORD.check_type(dict(members))
    except ValidationError as exc:
        return errors_to_string(f.first_error(exc.messages))
    return None


def errors_to_string(errors: Any) -> str:
    """Kong's ``Schema:errors_to_string``: entity errors first, then ``field: error``
    joined by ``; `` (Kong's order is a Lua table's; ours is sorted)."""
    if not isinstance(errors, dict):
        return "; ".join(errors) if isinstance(errors, list) else str(errors)
    msgs = list(errors.get("@entity") or [])
    for key in sorted(k for k in errors if k != "@entity"):
        value = errors[key]
        if isinstance(value, (dict, list)):
            value = errors_to_string(value)
        msgs.append(f"{key}: {value}")
    return "; ".join(msgs)


# -- PEM pairs (typedefs.pem) --------------------------------------------------------

def _private(text: str) -> Any:
    try:
        return serialization.load_pem_private_key(text.encode(), password=None)
    except TypeError:
        raise ValueError("pkey.new:load_key: the key is encrypted") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError("pkey.new:load_key: unable to parse a private key (PEM)") from None


def _public(text: str) -> Any:
    try:
        return serialization.load_pem_public_key(text.encode())
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError("pkey.new:load_key: unable to parse a public key (PEM)") from None


def pem_pair_error(public_key: str | None, private_key: str | None) -> str | None:
    """Kong's ``validate_pem_keys``: each key loads as its kind, and a pair agrees."""
    public = private = None
    if public_key is not None:
        try:
            public = _public(public_key)
        except ValueError:
            return "could not load public key"
    if private_key is not None:
        try:
            private = _private(private_key)
        except ValueError as exc:
            # Kong appends OpenSSL's reason with no separator; kept as Kong has it.
            return f"could not load private key{exc}"
    if public is not None and private is not None \
            and private.public_key().public_bytes(*_SPKI) != public.public_bytes(*_SPKI):
        return "public key does not match private key"
    return None
