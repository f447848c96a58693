"""bench.instructions counts: S0 and S1 under callgrind give a table with
both, every counted request answered 200, kongpy's count above bare
nginx's (it runs the same nginx work and its Lua on top), and S1's
function list shows the Lua module's handlers. An unknown subject is
refused. No timing is asserted."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_binary

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.instructions", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=900)


def test_counts_s0_and_s1(tmp_path: Path) -> None:
    for binary in ("nginx", "valgrind"):
        require_binary(binary)
    proc = _run("S0,S1", "--warmup", "300", "--requests", "200", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = dict(re.findall(r"^\| (S0|S1) \| ([\d,]+) \| 200: 200 \|", proc.stdout, re.M))
    assert set(rows) == {"S0", "S1"}, proc.stdout
    s0, s1 = (int(rows[k].replace(",", "")) for k in ("S0", "S1"))
    assert 0 < s0 < s1, proc.stdout
    s1_part = proc.stdout.split("## S1")[1]
    assert "ngx_http_lua_access_handler" in s1_part
    assert list(tmp_path.glob("*-instructions-S0-S1.md"))


def test_unknown_subject_refused() -> None:
    proc = _run("S1,NOPE")
    assert proc.returncode == 2
    assert "Error: no subject named NOPE" in proc.stderr
