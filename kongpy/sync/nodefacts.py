"""What the control plane tells the data plane about the node, pushed by the
sync loop (one direction) after each round, only when it changed: whether
the datastore answered, and on DB-less nodes the hash of the configuration
loaded. The Status API (``GET /status``, ``/status/ready``) and the
prometheus plugin's ``kong_datastore_reachable`` read it
(lua/kongpy/node_status.lua).
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

from kongpy import dbless
from kongpy.sync.push import ControlClient, DataPlaneError

log = logging.getLogger(__name__)


def facts(config: Mapping[str, Any], reachable: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {"database_reachable": reachable}
    if dbless.enabled(config):
        doc["configuration_hash"] = dbless.current_hash(config)
    return doc


def report(client: ControlClient, config: Mapping[str, Any], served: Mapping[str, Any],
           reachable: bool) -> None:
    """Pushes the facts when they differ from what ``GET /snapshot`` reported."""
    wanted = facts(config, reachable)
    known = served.get("node") if isinstance(served.get("node"), dict) else {}
    if all(known.get(k) == v for k, v in wanted.items()):
        return
    try:
        client.push_node(wanted)
    except DataPlaneError as exc:
        log.warning("cannot tell the data plane about the node: %s", exc)
