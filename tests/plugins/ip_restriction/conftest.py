"""ip-restriction's node trusts 127.0.0.1, so X-Real-IP stands for other client
addresses."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def gateway(start_node):
    return start_node(trusted_ips="127.0.0.1", real_ip_header="X-Real-IP")
