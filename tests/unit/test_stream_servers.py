"""The stream test servers: TCP, UDP and TLS echo, on loopback."""
from __future__ import annotations

import socket
import ssl

import pytest

from tests.helpers import certs
from tests.helpers.stream_servers import TcpEchoServer, TlsEchoServer, UdpEchoServer


@pytest.fixture
def started(request):
    servers = []

    def start(server):
        servers.append(server.start())
        return server
    yield start
    for server in servers:
        server.stop()


def _read_line(sock) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        assert chunk, data
        data += chunk
    return data


def _recv_exactly(sock, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk
        data += chunk
    return data


def test_tcp_echo_counts_connections(started):
    server = started(TcpEchoServer())
    assert server.connections == 0
    for i in range(2):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            for message in (b"hello", b"x" * 100000):
                sock.sendall(message)
                assert _recv_exactly(sock, len(message)) == message
    assert server.connections == 2


def test_udp_echo(started):
    server = started(UdpEchoServer())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        for message in (b"one", b"two"):
            sock.sendto(message, ("127.0.0.1", server.port))
            data, peer = sock.recvfrom(100)
            assert (data, peer) == (message, ("127.0.0.1", server.port))
    assert server.datagrams == 2 and server.connections == 1


def test_tls_echo_answers_the_sni_first(started):
    pair = certs.fixture("rsa")
    server = started(TlsEchoServer(pair))
    context = ssl.create_default_context(cadata=pair.cert)
    context.check_hostname = False
    for name in ("ssl-example.com", None):
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        with context.wrap_socket(raw, server_hostname=name) as sock:
            assert _read_line(sock) == b"sni=" + (name or "").encode() + b"\n"
            sock.sendall(b"ping")
            assert _recv_exactly(sock, 4) == b"ping"
    assert server.snis == ["ssl-example.com", None]
    assert server.connections == 2


def test_tls_echo_survives_a_failed_handshake(started):
    server = started(TlsEchoServer())
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")  # not TLS
        try:
            while sock.recv(100):  # a TLS alert, then the close
                pass
        except ConnectionResetError:
            pass
    assert server.snis == []
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    with context.wrap_socket(raw, server_hostname="a.test") as sock:
        assert _read_line(sock) == b"sni=a.test\n"
