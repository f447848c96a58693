"""JWTs as a client signs them: HMAC with the standard library, RSA, ECDSA and
EdDSA with the openssl CLI."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
from pathlib import Path

HS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
# algorithm -> (key name, openssl digest option, extra openssl options, ECDSA half size)
ASYMMETRIC = {
    "RS256": ("rsa", "-sha256", [], 0), "RS384": ("rsa", "-sha384", [], 0),
    "RS512": ("rsa", "-sha512", [], 0),
    "PS256": ("rsa", "-sha256", ["-sigopt", "rsa_padding_mode:pss", "-sigopt",
                                 "rsa_pss_saltlen:digest"], 0),
    "ES256": ("p256", "-sha256", [], 32), "ES384": ("p384", "-sha384", [], 48),
    "EdDSA": ("ed25519", "", [], 0),
}
KEYGEN = {"rsa": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
          "p256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
          "p384": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
          "ed25519": ["-algorithm", "ED25519"]}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _der_to_raw(der: bytes, half: int) -> bytes:
    """ECDSA-Sig-Value (DER SEQUENCE of two INTEGERs) -> JOSE's r || s."""
    pos = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        assert der[pos] == 0x02
        length = der[pos + 1]
        value = int.from_bytes(der[pos + 2:pos + 2 + length], "big")
        out += value.to_bytes(half, "big")
        pos += 2 + length
    return out


class Keys:
    """Key pairs made with the openssl CLI in ``workdir``, one of each kind."""

    def __init__(self, workdir: Path, kinds: tuple[str, ...] = tuple(KEYGEN)) -> None:
        self.dir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.private: dict[str, Path] = {}
        self.public: dict[str, str] = {}
        for name in kinds:
            opts = KEYGEN[name]
            path = workdir / f"{name}.pem"
            subprocess.run(["openssl", "genpkey", *opts, "-out", str(path)], check=True,
                           capture_output=True)
            pub = subprocess.run(["openssl", "pkey", "-in", str(path), "-pubout"],
                                 check=True, capture_output=True)
            self.private[name], self.public[name] = path, pub.stdout.decode()

    def sign(self, alg: str, data: bytes, secret: bytes = b"") -> bytes:
        if alg in HS:
            return hmac.new(secret, data, HS[alg]).digest()
        name, digest, extra, half = ASYMMETRIC[alg]
        key = str(self.private[name])
        if alg == "EdDSA":
            msg = self.dir / "msg.bin"
            msg.write_bytes(data)
            cmd = ["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", str(msg)]
        else:
            cmd = ["openssl", "dgst", digest, "-sign", key, *extra]
        sig = subprocess.run(cmd, input=data, check=True, capture_output=True).stdout
        return _der_to_raw(sig, half) if half else sig


def make_token(keys: Keys, claims: dict, alg: str = "HS256", secret: bytes = b"",
               header: dict | None = None) -> str:
    head = header if header is not None else {"typ": "JWT", "alg": alg}
    signed = b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(claims).encode())
    return signed + "." + b64url(keys.sign(alg, signed.encode(), secret))


def hs256(claims: dict, secret: bytes) -> str:
    """An HS256 token: needs no key pair."""
    head = b64url(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    signed = head + "." + b64url(json.dumps(claims).encode())
    return signed + "." + b64url(hmac.new(secret, signed.encode(), hashlib.sha256).digest())
