"""T1's pieces: the TCP echo baseline (T0) measures echoes; T1 waits for the
stream module. Run from the repository root, as `python -m bench` is (this
folder's package shadows the suite's name here).

No timing is asserted (figures are the suite's business, as ratios).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_binary

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

_SCRIPT = """
import json, pathlib, sys
from bench import procs, runner, stream
from bench.context import QUICK, Context, Skipped
ctx = Context(workdir=pathlib.Path(sys.argv[1]), mode=QUICK, upstream=None,
              builders={"T0": stream.t0, "T1": stream.t1})
try:
    run = runner.measure(ctx.workdir, ctx.subject("T0"), 1)
    try:
        ctx.subject("T1")
        skipped = None
    except Skipped as exc:
        skipped = str(exc)
    print(json.dumps({"requests": run.requests, "errors": run.socket_errors,
                      "cpu_us": run.cpu_us, "t1_skipped": skipped}))
finally:
    procs.stop_all()
"""


def test_t0_relays_echoes_and_t1_waits_for_the_module(tmp_path: Path) -> None:
    require_binary("nginx")
    require_binary("cc")
    env = dict(os.environ, KONGPY_STREAM_MODULE=str(tmp_path / "missing.so"))
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, str(tmp_path)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["requests"] > 0 and got["errors"] == 0 and got["cpu_us"] > 0
    assert got["t1_skipped"] == (f"the stream module {tmp_path / 'missing.so'} is not built "
                                 "(scripts/setup.sh)")
