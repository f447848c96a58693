"""docs/grafana/kongpy.json queries only metrics the prometheus plugin
exports (their names as lua/kong/plugins/prometheus/metrics.lua defines them)."""
from __future__ import annotations

import json
import subprocess

from tests.conftest import require_binary
from tests.helpers import dashboard
from tests.helpers.datastores import REPO

_DUMP = """
package.path = "{lua}/?.lua;" .. package.path
local m = require("kong.plugins.prometheus.metrics")
local out = {{}}
for name, f in pairs(m.FAMILIES) do out[#out + 1] = name .. " " .. f[1] end
io.write(table.concat(out, "\\n"))
"""


def exported() -> dict[str, str]:
    """sample name -> family type, from the exporter's own table."""
    require_binary("luajit")
    proc = subprocess.run(["luajit", "-e", _DUMP.format(lua=REPO / "lua")],
                          capture_output=True, text=True, check=True, timeout=30)
    names = {}
    for line in proc.stdout.splitlines():
        name, kind = line.split()
        names[name] = kind
        if kind == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                names[name + suffix] = kind
    return names


def test_dashboard_queries_only_exported_metrics():
    names = exported()
    queried = dashboard.metric_names()
    assert queried, "the dashboard queries nothing"
    assert queried <= set(names), sorted(queried - set(names))


def test_dashboard_covers_the_issue_panels():
    queried = dashboard.metric_names()
    for needed in ("kong_http_requests_total", "kong_request_latency_ms_bucket",
                   "kong_upstream_latency_ms_bucket", "kong_kong_latency_ms_bucket",
                   "kong_bandwidth_bytes", "kong_upstream_target_health",
                   "kong_nginx_connections_total", "kong_memory_lua_shared_dict_bytes",
                   "kong_memory_lua_shared_dict_total_bytes", "kong_datastore_reachable"):
        assert needed in queried, needed
    exprs = " ".join(dashboard.expressions())
    assert "histogram_quantile(0.95" in exprs and "histogram_quantile(0.99" in exprs


def test_dashboard_is_importable_json():
    doc = json.loads(dashboard.DASHBOARD.read_text())
    assert doc["__inputs"][0]["pluginId"] == "prometheus"
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
