"""Fixtures of the plugin suites (tests/plugins/<plugin>/): the Admin API tests
use the root ``client``; the access and invalidation tests share one node per
module (the root ``gateway``) with a service ``svc`` in front of the module's
upstream echo server."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def svc(gateway, upstream):
    """The service ``svc`` of the module's node (tests add routes to it)."""
    return gateway.create("/services", {"name": "svc", "url": upstream.url})


@pytest.fixture(scope="module")
def bob(gateway):
    """The consumer ``bob`` with the key-auth key ``bob-key``."""
    consumer = gateway.create("/consumers", {"username": "bob"})
    key = gateway.create("/consumers/bob/key-auth", {"key": "bob-key"})
    return {"consumer": consumer, "key": key}
