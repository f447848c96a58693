"""The session plugin's cookies, read here independently of the data plane:
lua-resty-session 4's header layout, HKDF-SHA256 keys, AES-256-GCM payload
and HMAC-SHA256 header signature (docs/session.md)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SECRET = "correct horse battery staple"


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def hkdf(secret: str, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None,
                info=info).derive(hashlib.sha256(secret.encode()).digest())


def decode(value: str, secret: str = SECRET) -> dict:
    """The cookie's header fields and decrypted payload, checked on the way."""
    header = b64url_decode(value[:110])
    assert len(header) == 82
    kind, flags = header[0], struct.unpack("<H", header[1:3])[0]
    sid = header[3:35]
    created = int.from_bytes(header[35:40], "little")
    rolling, = struct.unpack("<I", header[40:44])
    size = int.from_bytes(header[44:47], "little")
    tag, idling = header[47:63], int.from_bytes(header[63:66], "little")
    mac_key = hkdf(secret, b"authentication:" + sid, 32)
    assert hmac.new(mac_key, header[:66], hashlib.sha256).digest()[:16] == header[66:]
    okm = hkdf(secret, b"encryption:" + sid, 44)
    ciphertext = b64url_decode(value[110:])
    assert len(ciphertext) == size
    plain = AESGCM(okm[:32]).decrypt(okm[32:], ciphertext + tag, header[:47])
    return {"type": kind, "flags": flags, "sid": sid, "created_at": created,
            "rolling_offset": rolling, "idling_offset": idling, "data": json.loads(plain)}


def set_cookies(resp) -> dict[str, str]:
    """name -> full Set-Cookie line, for each cookie the answer sets."""
    out = {}
    for line in resp.raw.headers.getlist("Set-Cookie"):
        out[line.split("=", 1)[0]] = line
    return out


def cookie_values(resp) -> dict[str, str]:
    return {name: line.split("=", 1)[1].split(";", 1)[0]
            for name, line in set_cookies(resp).items()}


def cookie_header(values: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in values.items())}


def session_conf(**extra) -> dict:
    config = {"secret": SECRET}
    config.update(extra)
    return {"name": "session", "config": config}


def wait_age(value: str, seconds: int) -> None:
    """Sleeps until the session is ``seconds`` old in whole seconds, as the
    data plane counts (ngx.time())."""
    created = int.from_bytes(b64url_decode(value[:110])[35:40], "little")
    target = created + seconds + 0.2
    time.sleep(max(0.0, target - time.time()))
