"""Real receivers for the logging plugins: a TCP listener (plain or TLS) that
keeps every line, a UDP listener and a unix datagram socket that keep every
datagram. Each serves from a daemon thread once built (a context manager
stops it), and ``wait(n)`` returns what arrived once there are ``n`` items
(raising after ``timeout``), so a test never sleeps for a fixed time."""
from __future__ import annotations

import os
import shutil
import socket
import ssl
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tests.helpers import certs


class _Receiver:
    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.items: list[bytes] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _add(self, item: bytes) -> None:
        with self.lock:
            self.items.append(item)
            self.lock.notify_all()

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[bytes]:
        """The first ``count`` items received, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.items) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"received {len(self.items)} of {count}: {self.items}")
                self.lock.wait(left)
            return list(self.items[:count])

    def received(self) -> list[bytes]:
        with self.lock:
            return list(self.items)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()

    def close(self) -> None:
        self._stop.set()

    def __enter__(self) -> "_Receiver":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class TcpReceiver(_Receiver):
    """Keeps each ``\\n``-terminated line (without the newline). With ``tls``,
    a TLS server (certificate ``pair``, default the ``rsa`` fixture) that
    records the SNI of each handshake in ``snis``. ``connections``: how many
    were accepted."""

    def __init__(self, tls: bool = False, pair: certs.Pair | None = None) -> None:
        super().__init__()
        self.connections = 0
        self.snis: list[str | None] = []
        self.context: ssl.SSLContext | None = None
        self._folder: Path | None = None
        if tls:
            pair = pair or certs.fixture("rsa")
            self._folder = Path(tempfile.mkdtemp(prefix="kplog"))
            (self._folder / "cert.pem").write_text(pair.cert)
            (self._folder / "key.pem").write_text(pair.key)
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.load_cert_chain(self._folder / "cert.pem", self._folder / "key.pem")
            self.context.sni_callback = self._on_sni
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._spawn(self._accept)

    def _on_sni(self, sock: Any, name: str | None, _ctx: Any) -> None:
        with self.lock:
            self.snis.append(name)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            with self.lock:
                self.connections += 1
            self._spawn(self._serve, conn)
        self.sock.close()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.context is not None:
                conn = self.context.wrap_socket(conn, server_side=True)
            conn.settimeout(0.2)
            buf = b""
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    self._add(line)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        super().close()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


class _DatagramReceiver(_Receiver):
    def _start(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.settimeout(0.2)
        self._spawn(self._read)

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(262144)
            except (socket.timeout, OSError):
                continue
            self._add(data)
        self.sock.close()


class UdpReceiver(_DatagramReceiver):
    """Keeps every datagram sent to 127.0.0.1:``port``."""

    def __init__(self) -> None:
        super().__init__()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self._start(sock)

    def lines(self, count: int, timeout: float = 10.0) -> list[str]:
        """Waits until ``count`` newline-separated lines arrived (statsd
        packs several metrics in a datagram) and returns them all."""
        deadline = time.monotonic() + timeout
        while True:
            got = [line for d in self.received() for line in d.decode().split("\n")]
            if len(got) >= count or time.monotonic() > deadline:
                assert len(got) >= count, f"{len(got)} of {count} lines: {got}"
                return got
            time.sleep(0.02)


class UnixDatagramReceiver(_DatagramReceiver):
    """A syslog-like unix datagram socket at ``path`` (in a fresh folder)."""

    def __init__(self) -> None:
        super().__init__()
        self._folder = Path(tempfile.mkdtemp(prefix="kpsyslog"))
        self.path = str(self._folder / "log.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(self.path)
        # the nginx workers may run as another user
        os.chmod(self._folder, 0o755)
        os.chmod(self.path, 0o777)
        self._start(sock)

    def close(self) -> None:
        super().close()
        shutil.rmtree(self._folder, ignore_errors=True)
