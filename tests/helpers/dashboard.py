"""What docs/grafana/kongpy.json queries: metric names and the labels its
selectors and groupings use."""
from __future__ import annotations

import json
import re
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "kongpy.json"
_METRIC = re.compile(r"\b(kong_[a-z0-9_]+)")
_SELECTOR = re.compile(r"(kong_[a-z0-9_]+)\{([^}]*)\}")
_LABEL = re.compile(r"([a-z_]+)\s*(?:=~|!=|!~|=)")
_BY = re.compile(r"by \(([^)]*)\)")


def expressions() -> list[str]:
    doc = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in doc["templating"]["list"]]
    return exprs


def metric_names() -> set[str]:
    return {m for e in expressions() for m in _METRIC.findall(e)}


def labels_by_metric() -> dict[str, set[str]]:
    """Labels each metric is filtered on, plus the `by (...)` labels of the
    expression it appears in (every metric of it must carry them)."""
    out: dict[str, set[str]] = {}
    for expr in expressions():
        grouped = {lab.strip() for group in _BY.findall(expr) for lab in group.split(",")}
        grouped.discard("le")
        for name in _METRIC.findall(expr):
            out.setdefault(name, set()).update(grouped)
        for name, selector in _SELECTOR.findall(expr):
            out.setdefault(name, set()).update(_LABEL.findall(selector))
    return out
