"""``POST /_kongpy/ratelimiting-metrics``: the ``cluster`` policy's sync.

Not a Kong endpoint. The node's nginx workers send the increments they
counted since their last sync; each is added to the datastore with one
atomic upsert and the new totals are answered in the same order:

    {"table": "ratelimiting_metrics",
     "increments": [{"identifier", "period", "period_date", "service_id",
                     "route_id", "value", "ttl"}, ...]}
    -> 200 {"values": [n, ...]}

Registered only when a rate-limiting plugin is enabled on the node.
"""
from __future__ import annotations

from flask import Blueprint, Response, request

from kongpy.admin.resources import json_response, state
from kongpy.db import metrics
from kongpy.errors import BadBatch

PATH = "/_kongpy/ratelimiting-metrics"
PLUGINS = ("rate-limiting", "response-ratelimiting")


def _sync() -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadBatch("expected a JSON object")
    values = metrics.apply(state()["db"].strategy, str(body.get("table")),
                           body.get("increments"))
    return json_response({"values": values})


def blueprint() -> Blueprint:
    bp = Blueprint("ratelimiting", __name__)
    loaded = getattr(state()["db"], "loaded_plugins", {}) or {}
    if any(name in loaded for name in PLUGINS):
        bp.add_url_rule(PATH, "ratelimiting_metrics_sync", _sync, methods=["POST"])
    return bp
