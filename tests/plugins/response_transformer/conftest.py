"""response-transformer's node proxies to an upstream that serves what a test asks
(JSON, gzip, chunked, large bodies)."""
from __future__ import annotations

import pytest

from tests.helpers.serving import ServingServer


@pytest.fixture(scope="module")
def upstream():
    server = ServingServer().start()
    yield server
    server.stop()
