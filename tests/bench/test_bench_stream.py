"""T1's pieces: the TCP echo baseline measures echoes; T1 waits for the stream module.

No timing is asserted (figures are the suite's business, as ratios).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from bench import procs, runner, stream
from bench.context import QUICK, Context, Skipped
from kongpy import paths
from tests.conftest import require_binary

pytestmark = pytest.mark.integration


@pytest.fixture
def ctx(tmp_path: Path):
    require_binary("nginx")
    require_binary("cc")
    context = Context(workdir=tmp_path, mode=QUICK, upstream=None,  # type: ignore[arg-type]
                      builders={"T0": stream.t0, "T1": stream.t1})
    yield context
    procs.stop_all()


def test_t0_relays_echoes(ctx):
    run = runner.measure(ctx.workdir, ctx.subject("T0"), 1)
    assert run.requests > 0 and run.socket_errors == 0
    assert run.cpu_us > 0


def test_t1_is_skipped_without_the_stream_module(ctx, monkeypatch, tmp_path):
    monkeypatch.setenv("KONGPY_STREAM_MODULE", str(tmp_path / "missing.so"))
    assert not paths.stream_module().is_file()
    with pytest.raises(Skipped, match="missing.so is not built"):
        ctx.subject("T1")
