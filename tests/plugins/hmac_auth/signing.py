"""hmac-auth signatures as a client computes them (Kong 3.9's scheme)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from email.utils import formatdate

SECRET = "bob-secret"
DIGESTS = {"hmac-sha1": hashlib.sha1, "hmac-sha256": hashlib.sha256,
           "hmac-sha384": hashlib.sha384, "hmac-sha512": hashlib.sha512}


def date(offset: float = 0) -> str:
    return formatdate(time.time() + offset, usegmt=True)


def authorization(lines: list[str], names: str, algorithm: str = "hmac-sha256",
                  secret: str = SECRET, username: str = "bob-hmac") -> str:
    mac = hmac.new(secret.encode(), "\n".join(lines).encode(), DIGESTS[algorithm]).digest()
    signature = base64.b64encode(mac).decode()
    return (f'hmac username="{username}", algorithm="{algorithm}", headers="{names}", '
            f'signature="{signature}"')


def signed(method: str, path: str, algorithm: str = "hmac-sha256", secret: str = SECRET,
           header: str = "Authorization", username: str = "bob-hmac",
           date_header: str = "Date", offset: float = 0) -> dict[str, str]:
    """Date + request-line signature for `method path` (path with its query)."""
    value = date(offset)
    lines = [f"{date_header.lower()}: {value}", f"{method} {path} HTTP/1.1"]
    names = f"{date_header.lower()} request-line"
    return {date_header: value,
            header: authorization(lines, names, algorithm, secret, username)}
