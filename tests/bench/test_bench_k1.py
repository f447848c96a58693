"""K1 still works: a quick run loads the credentials, reports its figures, and
a key answers 200 through the proxy. No timing is asserted."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_binary

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_quick_k1(tmp_path: Path) -> None:
    require_binary("nginx")
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "K1",
                           "--out", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (doc,) = tmp_path.glob("*-quick-only-K1.json")
    k1 = json.loads(doc.read_text())["scenarios"]["K1"]
    assert k1["status"] == "ok", k1.get("reason")
    assert k1["credentials"] == 10_000
    assert k1["request_status"] == 200
    for name in ("load_s", "rss_mib", "snapshot_mib"):
        assert k1[name] > 0, name
    # CPU time comes in clock ticks: a quick reload may cost less than one
    assert k1["reload_cpu_s"] >= 0
    assert k1["targets"] == {"load_s": 2.0, "reload_cpu_s": 0.3, "rss_mib": 80}
    assert "| **K1** | 10000 |" in doc.with_suffix(".md").read_text()
