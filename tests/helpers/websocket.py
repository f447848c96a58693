"""A real WebSocket echo server for tests (the `websockets` package).

It echoes every message, remembers the headers of each opening handshake and
counts the connections it saw closed by their peer. Pings are off on both
sides of the tests, so an idle socket carries no frame at all.
"""
from __future__ import annotations

import ssl
import threading
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.sync.server import ServerConnection, serve


class WsEchoServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self._lock = threading.Lock()
        self.handshakes: list[dict[str, str]] = []
        self.closed = 0
        self._server = serve(self._echo, host, 0, ping_interval=None, compression=None)
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "WsEchoServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def _echo(self, conn: ServerConnection) -> None:
        headers = {k.lower(): v for k, v in conn.request.headers.raw_items()}
        headers["path"] = conn.request.path
        with self._lock:
            self.handshakes.append(headers)
        try:
            for message in conn:
                conn.send(message)
        except ConnectionClosed:
            pass
        with self._lock:
            self.closed += 1


def open_socket(url: str, headers: dict[str, str] | None = None,
                **kwargs: Any) -> ClientConnection:
    """A client socket with no keepalive pings; ``wss://`` trusts any certificate."""
    if url.startswith("wss://"):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        kwargs.setdefault("ssl", context)
    return connect(url, additional_headers=headers, ping_interval=None, compression=None,
                   open_timeout=10, close_timeout=2, **kwargs)
