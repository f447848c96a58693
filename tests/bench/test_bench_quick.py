"""The benchmark suite still works: a quick S0-vs-S1 run produces sane output.

No timing is asserted here: figures on shared machines are the suite's
business, reported as ratios, never a test's.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_binary

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FIGURES = ("rps", "cpu_us_per_req", "p50_ms", "p99_ms")


def _run_quick(out: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "S1", "--pairs", "1",
         "--duration", "2", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    docs = sorted(out.glob("*-quick-only-S1.json"))
    assert len(docs) == 1 and docs[0].with_suffix(".md").exists()
    return json.loads(docs[0].read_text())


def test_quick_s0_vs_s1(tmp_path: Path) -> None:
    require_binary("nginx")
    require_binary("wrk")
    doc = _run_quick(tmp_path)
    assert doc["mode"] == "quick"
    assert doc["machine"]["cores"] >= 1 and doc["machine"]["cpu_model"]
    assert len(doc["machine"]["loadavg"]) == 3
    s1 = doc["scenarios"]["S1"]
    assert s1["status"] == "ok", s1.get("reason")
    assert s1["baseline_name"] == "S0"
    for side in ("baseline", "subject"):
        figures = s1[side]
        for name in FIGURES:
            assert set(figures[name]) == {"median", "min", "max"}
        assert figures["rps"]["min"] > 0
        assert figures["cpu_us_per_req"]["min"] > 0
        assert figures["socket_errors"] == 0
        assert figures["requests"] > 0
        assert figures["rss_kib"] > 0
    for ratio in ("throughput", "efficiency"):
        assert s1["ratios"][ratio]["median"] > 0
        assert len(s1["ratios"][ratio]["pairs"]) == 1
    assert [r["target"] for r in s1["runs"]] == ["S0", "S1"]
