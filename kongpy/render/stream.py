"""What the stream {} block and the stream data plane need from the Config.

The stream data plane (an nginx module embedding LuaJIT) is optional: a node
renders it only with ``stream_listen`` set, and then refuses to start without
the module file rather than serve routes nothing can proxy.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kongpy import paths
from kongpy.conf import Config
from kongpy.errors import ConfigError


def listeners(config: Config) -> list[dict[str, Any]]:
    """``stream_listen`` as the template renders it: the remaining nginx
    ``listen`` flags in ``flags``, ssl/udp/proxy_protocol as booleans."""
    return [{"address": item["address"], "ssl": item["ssl"], "udp": item["udp"],
             "proxy_protocol": item["proxy_protocol"], "flags": item["flags"]}
            for item in config["stream_listen"]]


# In the stream workers' folder (render.context.stream_dir): the stream
# snapshot, and the socket of the node's TLS terminating server.
SNAPSHOT = "stream.json"
TLS_SOCKET = "tls.sock"


def template_context(config: Config, folder: Path) -> dict[str, Any]:
    """The stream keys of the template context (docs/contracts.md §4)."""
    return {"stream_listeners": listeners(config),
            "stream_module": str(paths.stream_module()),
            "stream_snapshot_path": str(folder / SNAPSHOT),
            "stream_tls_socket": str(folder / TLS_SOCKET)}


def settings(config: Config, folder: Path) -> dict[str, Any]:
    """The stream keys of the data-plane settings file (docs/contracts.md §3)."""
    return {"stream_listeners": listeners(config),
            "stream_snapshot_path": str(folder / SNAPSHOT),
            # where an ssl listener hands the connections it does not pass through
            "stream_tls_proxy": f"unix:{folder / TLS_SOCKET}"}


def check_module(config: Config) -> None:
    """Refuses a node with stream listeners and no stream module to load."""
    if not config["stream_listen"]:
        return
    module = paths.stream_module()
    if not module.is_file():
        raise ConfigError(
            f"stream_listen is set but the stream module {module} is missing; "
            "build it with scripts/setup.sh (or set stream_listen = off)",
            prop="stream_listen")
