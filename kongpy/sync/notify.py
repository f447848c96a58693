"""The nudge: tells the node's sync loop to look for changes now."""
from __future__ import annotations

import os
import socket

from kongpy import paths


def notify(prefix: str | os.PathLike) -> None:
    """Wakes the sync loop of the node at `prefix`. Never raises.

    A lost nudge only delays the change by `db_update_frequency`, so errors
    (no loop running, full socket buffer) are ignored on purpose.
    """
    try:
        target = str(paths.prefix(prefix).sync_socket)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.sendto(b"1", target)
    except Exception:  # noqa: BLE001 - a nudge must never break its caller
        pass
