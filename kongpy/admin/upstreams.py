"""``/upstreams``, their targets, and the node's view of their health.

Targets are addressed by id or by ``host:port`` (a target given without a
port means port 8000, as stored). Health lives in the data plane: the
endpoints here ask the node's nginx through the control socket
(docs/contracts.md §6) and, for manual overrides, also tell the other nodes
through a cluster event.
"""
from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, request
from werkzeug.exceptions import NotFound as HTTPNotFound

from kongpy.admin.resources import (CollectionView, EntityView, changed, dao_for,
                                    json_response, no_content, page_body, register_entity,
                                    state)
from kongpy.errors import DataPlaneError
from kongpy.schemas.targets import DEFAULT_PORT, normalize
from kongpy.sync.model import BROADCAST

log = logging.getLogger(__name__)

# Kong's cluster channel for manual health overrides.
HEALTH_CHANNEL = "balancer:post_health"


def _upstream(key: str) -> dict:
    row = dao_for("upstreams").select_by_key(key)
    if row is None:
        raise HTTPNotFound()
    return row


def _target(upstream: dict, key: str) -> dict:
    row = dao_for("targets").select_by_key(key, within={"upstream": {"id": upstream["id"]}})
    if row is None or (row.get("upstream") or {}).get("id") != upstream["id"]:
        raise HTTPNotFound()
    return row


class TargetView(EntityView):
    """A missing target is a 404 for every method, PUT included: Kong 3.9
    routes PUT through the same update as PATCH (a partial update of a target
    that must exist), never an upsert keyed by the URL."""

    def delete(self, **kwargs: str) -> Response:
        _parent, row = self._scope(kwargs)
        dao_for("targets").delete(row["id"])
        changed()
        return no_content()

    def patch(self, **kwargs: str) -> Response:
        self._scope(kwargs)
        return super().patch(**kwargs)

    put = patch


def _targets_page(upstreams: str, up: dict, suffix: str) -> dict:
    """A page of the upstream's targets. Kong builds ``next`` of these two
    endpoints by hand: the upstream as the client named it, the offset, and
    neither ``size`` nor ``tags``."""
    rows, token = dao_for("targets").page(request.args.get("size"),
                                          request.args.get("offset") or None,
                                          upstream=up["id"])
    body = page_body(rows, token, request.path)
    if token:
        body["next"] = f"/upstreams/{upstreams}/{suffix}?offset={quote(token, safe='')}"
    return body


def _all_targets(upstreams: str) -> Response:
    return json_response(_targets_page(upstreams, _upstream(upstreams), "targets/all"))


# -- health -------------------------------------------------------------------------------

def _control() -> Any:
    return state().get("control")


def _dataplane_health(upstream: dict) -> dict | None:
    control = _control()
    if control is None:
        return None
    try:
        return control.upstream_health(upstream["id"])
    except DataPlaneError as exc:
        log.debug("upstream health unavailable: %s", exc)
        return None


def _health(upstreams: str) -> Response:
    up = _upstream(upstreams)
    node_id = state().get("node_id")
    doc = _dataplane_health(up) or {}
    # Kong compares the argument with "1" and nothing else ("true" lists targets).
    if request.args.get("balancer_health") == "1":
        balancer = doc.get("balancer") or {}
        data = {"id": up["id"], **balancer}
        return json_response({"data": data, "next": None, "node_id": node_id})
    body = _targets_page(upstreams, up, "health")
    per_target = doc.get("targets") or {}
    for row in body["data"]:
        info = per_target.get(row["id"])
        if isinstance(info, dict):
            row["health"] = info.get("health")
            row["data"] = info.get("data")
    body["node_id"] = node_id
    return json_response(body)


def _set_health(upstream: str, target: str, healthy: bool,
                address: str | None = None) -> Response:
    up = _upstream(upstream)
    row = _target(up, target)
    host, port = normalize(row["target"]) or (row["target"], DEFAULT_PORT)
    ip, ip_port = None, None
    if address is not None:
        parsed = normalize(address)
        if parsed is None:
            return json_response({"message": f"invalid address '{address}'"}, 400)
        ip, ip_port = parsed
    control = _control()
    if control is None:
        return json_response({"message": f"no healthchecker found for {up['name']}"}, 400)
    try:
        err = control.set_health(up["id"], host, port, ip, ip_port, healthy)
    except DataPlaneError as exc:
        log.warning("manual health override not applied: %s", exc)
        return json_response({"message": f"Upstream {up['name']} has no balancer"}, 400)
    if err:
        return json_response({"message": err}, 400)
    # The other nodes of the cluster learn it through their sync loops.
    payload = "|".join([host, ip or "", str(ip_port or port), "1" if healthy else "0",
                        up["id"], up["name"]])
    state()["db"].append_event(BROADCAST + HEALTH_CHANNEL,
                               json.dumps({"data": payload, "delay": 0}))
    return no_content()


def blueprint() -> Blueprint:
    bp = Blueprint("upstreams", __name__)
    register_entity(bp, "upstreams")
    bp.add_url_rule("/upstreams/<upstreams>/targets", view_func=CollectionView.as_view(
        "upstreams_targets_collection", "targets", "upstreams", "upstream"))
    bp.add_url_rule("/upstreams/<upstreams>/targets/all", "upstreams_targets_all",
                    _all_targets, methods=["GET"])
    bp.add_url_rule("/upstreams/<upstreams>/targets/<targets>", view_func=TargetView.as_view(
        "upstreams_targets_entity", "targets", "upstreams", "upstream"))
    bp.add_url_rule("/upstreams/<upstreams>/health", "upstreams_health", _health,
                    methods=["GET"])
    # Kong 3.9 takes PUT only here; POST (Kong 1.x's) is a 405.
    for verdict in ("healthy", "unhealthy"):
        healthy = verdict == "healthy"
        bp.add_url_rule(
            f"/upstreams/<upstreams>/targets/<targets>/{verdict}", f"target_{verdict}",
            lambda upstreams, targets, _h=healthy: _set_health(upstreams, targets, _h),
            methods=["PUT"])
        bp.add_url_rule(
            f"/upstreams/<upstreams>/targets/<targets>/<address>/{verdict}",
            f"address_{verdict}",
            lambda upstreams, targets, address, _h=healthy:
                _set_health(upstreams, targets, _h, address),
            methods=["PUT"])
    return bp
