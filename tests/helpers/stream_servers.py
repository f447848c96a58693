"""Real upstream servers for stream tests: TCP, UDP and TLS echo servers.

Each binds a free port of 127.0.0.1 (``free_port``, the test process's own
range), serves from a daemon thread after ``start()`` and counts what it
accepted, so a test can tell a reused or a new upstream connection apart.
The TLS server first answers each connection with the SNI it received
(``b"sni=<name>\\n"``, empty without one), then echoes.
"""
from __future__ import annotations

import shutil
import socket
import socketserver
import ssl
import tempfile
import threading
from pathlib import Path
from typing import Any

from tests.helpers import certs
from tests.helpers.servers import free_port

_CHUNK = 65536


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: Any) -> None:
        self.lock = threading.Lock()
        self.connections = 0
        self.snis: list[str | None] = []
        self.context: ssl.SSLContext | None = None
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.lock:
            self.connections += 1
        super().process_request(request, client_address)


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock = self.request
        context = self.server.context  # type: ignore[attr-defined]
        if context is not None:
            with context.wrap_socket(sock, server_side=True,
                                     do_handshake_on_connect=False) as tls:
                try:
                    tls.do_handshake()
                except OSError:  # ssl.SSLError included
                    return
                # set on the socket by the SNI callback during the handshake
                sni = getattr(tls, "received_sni", None)
                with self.server.lock:  # type: ignore[attr-defined]
                    self.server.snis.append(sni)  # type: ignore[attr-defined]
                try:
                    tls.sendall(b"sni=" + (sni or "").encode() + b"\n")
                except OSError:
                    return
                _echo(tls)
            return
        _echo(sock)


def _echo(sock: Any) -> None:
    try:
        while True:
            data = sock.recv(_CHUNK)
            if not data:
                return
            sock.sendall(data)
    except OSError:
        return


class _Base:
    server: Any

    def start(self) -> "_Base":
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def connections(self) -> int:
        with self.server.lock:
            return self.server.connections


class TcpEchoServer(_Base):
    """Echoes every byte of every connection until the peer closes."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.server = _TcpServer((host, port or free_port(host)), _EchoHandler)
        self.port = self.server.server_address[1]


class TlsEchoServer(_Base):
    """TLS with ``pair`` (default: the ``rsa`` fixture, ``ssl-example.com``):
    ``sni=<name>\\n`` first, then an echo. ``snis``: the names received."""

    def __init__(self, pair: certs.Pair | None = None, host: str = "127.0.0.1",
                 port: int | None = None) -> None:
        pair = pair or certs.fixture("rsa")
        self.folder = Path(tempfile.mkdtemp(prefix="kpstream"))
        (self.folder / "cert.pem").write_text(pair.cert)
        (self.folder / "key.pem").write_text(pair.key)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.folder / "cert.pem", self.folder / "key.pem")

        def on_sni(sock: Any, server_name: str | None, _ctx: Any) -> None:
            sock.received_sni = server_name

        context.sni_callback = on_sni
        self.host = host
        self.server = _TcpServer((host, port or free_port(host)), _EchoHandler)
        self.server.context = context
        self.port = self.server.server_address[1]

    @property
    def snis(self) -> list[str | None]:
        with self.server.lock:
            return list(self.server.snis)

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class _UdpServer(socketserver.ThreadingUDPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: Any) -> None:
        self.lock = threading.Lock()
        self.peers: set[tuple[str, int]] = set()
        self.datagrams = 0
        super().__init__(address, handler)

    @property
    def connections(self) -> int:
        return len(self.peers)


class _UdpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        with self.server.lock:  # type: ignore[attr-defined]
            self.server.datagrams += 1  # type: ignore[attr-defined]
            self.server.peers.add(self.client_address)  # type: ignore[attr-defined]
        sock.sendto(data, self.client_address)


class UdpEchoServer(_Base):
    """Sends every datagram back to its sender. ``connections``: the distinct
    peer addresses seen (one per upstream socket); ``datagrams``: how many."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.server = _UdpServer((host, port or _free_udp_port(host)), _UdpHandler)
        self.port = self.server.server_address[1]

    @property
    def datagrams(self) -> int:
        with self.server.lock:
            return self.server.datagrams


def _free_udp_port(host: str) -> int:
    """A port free for both TCP and UDP (free_port checks TCP only)."""
    for _ in range(50):
        port = free_port(host)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free UDP port")


def echo_through(port: int, payload: bytes = b"ping\n", timeout: float = 3.0) -> bytes | None:
    """What comes back for ``payload`` sent on a new connection to ``port``
    (as many bytes as were sent, fewer when closed first), None on a socket error."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(payload)
            data = b""
            while len(data) < len(payload):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            return data
    except OSError:
        return None
