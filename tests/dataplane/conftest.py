from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import DataPlane, Upstream

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[Upstream, Upstream]]:
    a, b = Upstream("a"), Upstream("b")
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    # unix socket paths are limited to 107 bytes: keep prefixes short
    path = Path(tempfile.mkdtemp(prefix="kpd", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def dataplane() -> Iterator[DataPlane]:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.fail("nginx is required for the data-plane tests")
    prefix = Path(tempfile.mkdtemp(prefix="kpd", dir="/tmp"))
    dp = DataPlane(prefix)
    dp.start()
    yield dp
    dp.stop()
    shutil.rmtree(prefix, ignore_errors=True)
