"""The suite's verdicts on synthetic runs: a broken pair gives no ratio,
figures are restated against S0H, and a missed target is reported as failed.
Run from the repository root in a subprocess, as `python -m bench` is (this
folder's package shadows the suite's name here)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_SCRIPT = """
import json
from bench import report, runner, suite

def run(name, us, non2xx=0, requests=1000):
    return runner.Run(target=name, rps=1e6 / us, cpu_us=us, cpu_busy=1.0, p50_ms=1.0,
                      p99_ms=2.0, non2xx=non2xx, socket_errors=0, timeouts=0,
                      requests=requests, rss_kib=1024)

def pair(base, subj, targets=None):
    res = {"kind": "pair", "status": "ok", "baseline_name": "S0", "targets": targets or {},
           "baseline": runner.summarize(base), "subject": runner.summarize(subj)}
    whole = [(b, s) for b, s in zip(base, subj) if not runner.broken(b) and not runner.broken(s)]
    if whole:
        eff = [b.cpu_us / s.cpu_us for b, s in whole]
        res["ratios"] = {"efficiency": {**runner.spread(eff), "pairs": eff},
                         "throughput": {**runner.spread(eff), "pairs": eff}}
    return res

results = {
    "S0H": pair([run("S0", 20.0)], [run("S0H", 25.0)]),
    "S1": pair([run("S0", 20.0), run("S0", 20.0)],
               [run("S1", 40.0), run("S1", 10.0, non2xx=3)],
               {"efficiency": 0.70, "vs_S0H": 0.90}),
    "S2": pair([run("S0", 20.0)], [run("S2", 22.0)], {"efficiency": 0.65}),
    "C1": {"kind": "change", "status": "ok", "targets": {"propagation_p99_s": 1.0},
           "p99_s": 1.5},
}
suite._against_headers(results)
suite._judge(results)
print(json.dumps({n: {k: r.get(k) for k in ("ratios", "split_us", "failed")}
                  for n, r in results.items()}))
"""


def test_verdicts() -> None:
    proc = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    s1 = out["S1"]
    # the pair with failed requests gave no ratio: only 20/40 counts
    assert s1["ratios"]["efficiency"]["pairs"] == [0.5]
    # against S0H (0.8 of S0): 0.5 / 0.8
    assert abs(s1["ratios"]["vs_S0H"]["median"] - 0.625) < 1e-9
    # header work 20 * (1/0.8 - 1) = 5 µs; the rest 20 * (1/0.5 - 1/0.8) = 15 µs
    assert abs(s1["split_us"]["headers"] - 5.0) < 1e-9
    assert abs(s1["split_us"]["lua"] - 15.0) < 1e-9
    assert s1["failed"] == ["efficiency 0.500 < 0.7", "vs_S0H 0.625 < 0.9"]
    assert out["S2"]["failed"] is None
    assert out["C1"]["failed"] == ["propagation_p99_s 1.500 > 1"]
    assert out["S0H"]["split_us"] is None  # a baseline is not restated against itself


_STEMS = """
import json, sys, tempfile
from pathlib import Path
from bench import report

out = Path(tempfile.mkdtemp())
doc = {"date": "2026-12-01", "mode": "full", "settings": {"scenarios": ["R2", "D1"]}}
names = []
for _ in range(3):
    name = report.stem(doc, out)
    names.append(name)
    (out / f"{name}.md").write_text("")
whole = report.stem({**doc, "complete": True}, out)
print(json.dumps(names + [whole]))
"""


def test_a_run_never_overwrites_earlier_results() -> None:
    proc = subprocess.run([sys.executable, "-c", _STEMS], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [
        "2026-12-01-full-only-R2-D1", "2026-12-01-full-only-R2-D1-2",
        "2026-12-01-full-only-R2-D1-3", "2026-12-01-full"]
