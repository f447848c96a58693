"""``GET /metrics`` on the Admin API: the prometheus plugin's text, as its
status_api.lua answers it in the data plane (fetched over the node's private
control socket). Present while the plugin is enabled on the node, as Kong's
plugin adds the endpoint."""
from __future__ import annotations

import logging

from flask import Blueprint, Response

from kongpy import plugins
from kongpy.admin.resources import json_response, state
from kongpy.errors import DataPlaneError

log = logging.getLogger(__name__)

_CONTENT_TYPE = "text/plain; charset=UTF-8"
_UNAVAILABLE = "An unexpected error occurred"


def metrics() -> Response:
    """The prometheus plugin's metrics, in the Prometheus text format."""
    control = state().get("control")
    if control is None:
        return json_response({"message": _UNAVAILABLE}, 500)
    try:
        status, text = control.plugin_status("/metrics")
    except DataPlaneError as exc:
        log.error("cannot read the metrics of the data plane: %s", exc)
        return json_response({"message": _UNAVAILABLE}, 500)
    if status != 200:
        log.error("the data plane answered the metrics with status %d", status)
        return json_response({"message": _UNAVAILABLE}, 500)
    return Response(text, status=200, content_type=_CONTENT_TYPE)


metrics.openapi_media = "text/plain"  # type: ignore[attr-defined]


def blueprint() -> Blueprint:
    bp = Blueprint("metrics", __name__)
    if "prometheus" in plugins.enabled_names(state()["config"]):
        bp.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])
    return bp
