from __future__ import annotations

import pytest

from tests.conftest import require_binary
from tests.helpers.gateway import Gateway
from tests.helpers.servers import EchoServer


@pytest.fixture(scope="module")
def upstream():
    server = EchoServer("upstream").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    require_binary("nginx")
    node = Gateway(tmp_path_factory.mktemp("node")).start()
    yield node
    node.stop()


@pytest.fixture
def node(tmp_path):
    """A node of its own for one test (one worker)."""
    require_binary("nginx")
    gw = Gateway(tmp_path, workers=1).start()
    yield gw
    gw.stop()
