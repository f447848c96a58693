"""bench.ab still works: one short pair of S1 on HEAD's lua/ against the
tree's prints both figures and a ratio; a revision git does not know and a
scenario without a kongpy node are refused with an error. No timing is
asserted."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_binary

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _ab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.ab", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=600)


def test_one_pair_against_head() -> None:
    require_binary("nginx")
    proc = _ab("S1", "--against", "HEAD", "--pairs", "1", "--duration", "1")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    line = re.search(r"^S1: HEAD ([\d.]+) µs, tree ([\d.]+) µs per request .*"
                     r"median ([\d.]+)$", proc.stdout, re.M)
    assert line, proc.stdout
    assert all(float(v) > 0 for v in line.groups())


def test_unknown_revision_and_scenario_refused() -> None:
    require_binary("nginx")
    proc = _ab("S1", "--against", "no-such-revision-anywhere", "--pairs", "1")
    assert proc.returncode == 2
    assert "Error:" in proc.stderr
    proc = _ab("S0H", "--against", "HEAD", "--pairs", "1", "--duration", "1")
    assert proc.returncode == 2
    assert "not a kongpy scenario" in proc.stderr
