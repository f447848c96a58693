"""The Redis test server (scripts/servers/redis.sh; its `env` output sets
KONGPY_TEST_REDIS_*) that the rate-limiting plugins' `redis` policy counts in."""
from __future__ import annotations

import os

from tests.helpers.datastores import require_listening

REDIS_HOST = os.environ.get("KONGPY_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("KONGPY_TEST_REDIS_PORT", "56379"))
REDIS = {"host": REDIS_HOST, "port": REDIS_PORT}
if os.environ.get("KONGPY_TEST_REDIS_PASSWORD"):
    REDIS["password"] = os.environ["KONGPY_TEST_REDIS_PASSWORD"]


def require_redis() -> None:
    """Skips (locally) or fails (CI=true) unless the Redis test server answers."""
    require_listening("redis", REDIS_HOST, REDIS_PORT, "redis")


def command(*args: str | int, db: int = 0) -> object:
    """One command on the test server's database ``db`` over a plain socket
    (RESP), as the Kong specs inspect Redis (``DBSIZE``, ``KEYS``)."""
    import socket

    def encode(parts) -> bytes:
        out = [f"*{len(parts)}\r\n".encode()]
        for part in parts:
            raw = str(part).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
        return b"".join(out)

    def read(stream):
        line = stream.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else stream.read(n + 2)[:-2].decode()
        return [read(stream) for _ in range(int(rest))]

    with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=5) as sock:
        stream = sock.makefile("rb")
        prefix = [("AUTH", REDIS["password"])] if "password" in REDIS else []
        for pre in prefix + [("SELECT", db)]:
            sock.sendall(encode(pre))
            read(stream)
        sock.sendall(encode(args))
        return read(stream)
