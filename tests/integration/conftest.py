from __future__ import annotations

import pytest

from tests.conftest import require_binary
from tests.helpers.gateway import Gateway


@pytest.fixture
def node(tmp_path):
    """A node of its own for one test (one worker)."""
    require_binary("nginx")
    gw = Gateway(tmp_path, workers=1).start()
    yield gw
    gw.stop()
