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
