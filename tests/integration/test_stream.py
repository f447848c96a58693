"""Stream routes on a live node (docs/streams.md): tcp, tls (terminated),
tls_passthrough and udp routes proxied by the stream data plane, with
upstreams, upstream TLS, a preread plugin and PROXY protocol, configured
through the Admin API with no reload."""
from __future__ import annotations

import json
import socket
import ssl
import threading
import time

import pytest

from tests.helpers import certs
from tests.helpers.gateway import Gateway
from tests.helpers.http import admin
from tests.conftest import require_binary
from tests.helpers.servers import free_port
from tests.helpers.stream_servers import (TcpEchoServer, TlsEchoServer, UdpEchoServer,
                                          echo_through)


@pytest.fixture(scope="module")
def echo():
    servers = [TcpEchoServer().start(), TcpEchoServer().start()]
    yield servers
    for s in servers:
        s.stop()


@pytest.fixture(scope="module")
def tls_echo():
    server = TlsEchoServer(certs.make("upstream.test", sans=("upstream.test",))).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def udp_echo():
    server = UdpEchoServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    require_binary("nginx")
    ports = {name: free_port() for name in ("tcp", "tcp2", "tls", "udp", "pp")}
    extra = {
        "stream_listen": (f"127.0.0.1:{ports['tcp']}, 127.0.0.1:{ports['tcp2']}, "
                          f"127.0.0.1:{ports['tls']} ssl, 127.0.0.1:{ports['udp']} udp, "
                          f"127.0.0.1:{ports['pp']} proxy_protocol"),
        "trusted_ips": "127.0.0.1",
    }
    node = Gateway(tmp_path_factory.mktemp("stream"), workers=2, extra=extra).start()
    node.stream_ports = ports
    yield node
    node.stop()


def _until(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    result = check()
    while not result and time.monotonic() < deadline:
        time.sleep(0.1)
        result = check()
    return result


def _tls_client(port: int, sni: str, payload: bytes = b"hello\n"):
    """(peer certificate CN, bytes read back) over TLS with ``sni``."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=3) as raw:
        with context.wrap_socket(raw, server_hostname=sni) as tls:
            der = tls.getpeercert(binary_form=True)
            from cryptography import x509
            cn = x509.load_der_x509_certificate(der).subject.rfc4514_string()
            tls.sendall(payload)
            data = b""
            deadline = time.monotonic() + 3
            while payload not in data and time.monotonic() < deadline:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                data += chunk
            return cn, data


def test_a_tcp_route_by_destination_port_reaches_its_service(gw, echo):
    api = admin(gw)
    api.post("/services", {"name": "tcp-echo", "protocol": "tcp", "host": "127.0.0.1",
                           "port": echo[0].port})
    api.post("/services/tcp-echo/routes", {"name": "tcp-dest", "protocols": ["tcp"],
                                           "destinations": [{"port": gw.stream_ports["tcp"]}]})
    assert _until(lambda: echo_through(gw.stream_ports["tcp"]) == b"ping\n"), gw.error_log_tail()
    # the other listener has no route: the connection is closed at once
    assert not echo_through(gw.stream_ports["tcp2"])
    assert "no Route found with those values" in gw.error_log_tail(200)


def test_sources_and_the_more_specific_route_win(gw, echo):
    api = admin(gw)
    api.post("/services", {"name": "tcp-echo-2", "protocol": "tcp", "host": "127.0.0.1",
                           "port": echo[1].port})
    port = gw.stream_ports["tcp2"]
    api.post("/services/tcp-echo/routes", {"name": "by-dest-2", "protocols": ["tcp"],
                                           "destinations": [{"ip": "127.0.0.0/8",
                                                             "port": port}]})
    before = echo[1].connections
    api.post("/services/tcp-echo-2/routes", {
        "name": "by-src-and-dest", "protocols": ["tcp"],
        "sources": [{"ip": "127.0.0.1"}], "destinations": [{"port": port}]})
    assert _until(lambda: echo_through(port) == b"ping\n" and echo[1].connections > before), \
        gw.error_log_tail()


def test_an_upstream_balances_and_retries_past_a_dead_target(gw, echo):
    api = admin(gw)
    dead = free_port()
    api.post("/upstreams", {"name": "stream-up"})
    for target in (f"127.0.0.1:{echo[0].port}", f"127.0.0.1:{echo[1].port}",
                   f"127.0.0.1:{dead}"):
        api.post("/upstreams/stream-up/targets", {"target": target})
    api.post("/services", {"name": "balanced", "protocol": "tcp", "host": "stream-up",
                           "retries": 3})
    api.patch("/routes/tcp-dest", {"service": {"name": "balanced"}})
    counts = (echo[0].connections, echo[1].connections)

    def spread():
        ok = all(echo_through(gw.stream_ports["tcp"]) == b"ping\n" for _ in range(12))
        return ok and echo[0].connections > counts[0] and echo[1].connections > counts[1]

    assert _until(spread), gw.error_log_tail()
    # every connection succeeded although one target in three refuses them
    assert all(echo_through(gw.stream_ports["tcp"]) == b"ping\n" for _ in range(9))


def test_tls_is_terminated_with_the_certificate_of_the_sni(gw, echo):
    api = admin(gw)
    pair = certs.make("stream.test", sans=("stream.test",))
    api.post("/certificates", {"cert": pair.cert, "key": pair.key, "snis": ["stream.test"]})
    api.post("/services", {"name": "behind-tls", "protocol": "tcp", "host": "127.0.0.1",
                           "port": echo[0].port})
    api.post("/services/behind-tls/routes", {"name": "tls-sni", "protocols": ["tls"],
                                             "snis": ["stream.test"]})
    port = gw.stream_ports["tls"]

    def terminated():
        try:
            result = _tls_client(port, "stream.test")
        except OSError:
            return None
        # the node's default certificate, and a close, until the route is served
        return result if result[1] == b"hello\n" else None

    result = _until(terminated)
    assert result, gw.error_log_tail()
    assert result[0] == "CN=stream.test"
    # another SNI: the node's default certificate, then no tls route
    # matches: closed without a byte
    cn, data = _tls_client(port, "other.test")
    assert cn != "CN=stream.test" and data == b""


def test_a_wildcard_sni_route_matches(gw, echo):
    api = admin(gw)
    pair = certs.make("*.wild.test", sans=("*.wild.test",))
    api.post("/certificates", {"cert": pair.cert, "key": pair.key, "snis": ["*.wild.test"]})
    api.post("/services/behind-tls/routes", {"name": "tls-wild", "protocols": ["tls"],
                                             "snis": ["*.wild.test"]})

    def terminated():
        try:
            result = _tls_client(gw.stream_ports["tls"], "a.wild.test")
        except OSError:
            return None
        return result if result[1] == b"hello\n" else None

    result = _until(terminated)
    assert result and result[0] == "CN=*.wild.test", gw.error_log_tail()


def test_tls_passthrough_reaches_the_tls_upstream_by_sni(gw, tls_echo):
    api = admin(gw)
    api.post("/services", {"name": "passthrough", "protocol": "tcp", "host": "127.0.0.1",
                           "port": tls_echo.port})
    api.post("/services/passthrough/routes", {"name": "pass", "protocols": ["tls_passthrough"],
                                              "snis": ["pass.test"]})

    def passed():
        try:
            result = _tls_client(gw.stream_ports["tls"], "pass.test", b"x\n")
        except OSError:
            return None
        # the upstream's own certificate (the node's until the route is served)
        return result if result[0] == "CN=upstream.test" else None

    result = _until(passed)
    assert result, gw.error_log_tail()
    # the upstream received the client's SNI, then the bytes
    assert result[1] == b"sni=pass.test\nx\n"
    assert tls_echo.snis[-1] == "pass.test"


def _through_pp(gw, source: str, payload: bytes, until: bytes | None = None) -> bytes:
    """What comes back on a connection to the proxy_protocol listener whose
    PROXY header names ``source`` (read until ``until``, or the close)."""
    header = f"PROXY TCP4 {source} 127.0.0.1 5555 {gw.stream_ports['pp']}\r\n".encode()
    data = b""
    try:
        with socket.create_connection(("127.0.0.1", gw.stream_ports["pp"]), timeout=3) as s:
            s.sendall(header + payload)
            while until is None or until not in data:
                chunk = s.recv(1024)
                if not chunk:
                    break
                data += chunk
    except OSError:
        pass
    return data


def test_a_tls_service_speaks_tls_to_its_upstream(gw, tls_echo):
    api = admin(gw)
    api.post("/services", {"name": "tls-up", "protocol": "tls", "host": "127.0.0.1",
                           "port": tls_echo.port})
    api.post("/services/tls-up/routes", {"name": "to-tls", "protocols": ["tcp"],
                                         "sources": [{"ip": "10.4.4.4"}]})
    # the upstream saw TLS: its greeting names the SNI it received, none
    # here (nginx sends no SNI for an address)
    assert _until(lambda: _through_pp(gw, "10.4.4.4", b"x\n", b"x\n") == b"sni=\nx\n"), \
        gw.error_log_tail()


def test_a_udp_route_reaches_its_service(gw, udp_echo):
    api = admin(gw)
    api.post("/services", {"name": "udp-echo", "protocol": "udp", "host": "127.0.0.1",
                           "port": udp_echo.port})
    api.post("/services/udp-echo/routes", {"name": "udp", "protocols": ["udp"],
                                           "destinations": [{"port": gw.stream_ports["udp"]}]})

    def echoed():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(1)
            sock.sendto(b"datagram", ("127.0.0.1", gw.stream_ports["udp"]))
            try:
                return sock.recvfrom(1024)[0]
            except OSError:
                return None

    assert _until(lambda: echoed() == b"datagram"), gw.error_log_tail()


def test_the_proxy_protocol_gives_the_client_address_routes_match_on(gw, echo):
    api = admin(gw)
    api.post("/services/tcp-echo-2/routes", {"name": "pp", "protocols": ["tcp"],
                                             "sources": [{"ip": "10.1.2.0/24"}]})

    def through(source: str) -> bytes | None:
        header = f"PROXY TCP4 {source} 127.0.0.1 5555 {gw.stream_ports['pp']}\r\n".encode()
        try:
            with socket.create_connection(("127.0.0.1", gw.stream_ports["pp"]), timeout=3) as s:
                s.sendall(header + b"pp\n")
                return s.recv(1024)
        except OSError:
            return None

    assert _until(lambda: through("10.1.2.3") == b"pp\n"), gw.error_log_tail()
    # an address no route names: closed
    assert not through("10.9.9.9")


def test_ip_restriction_runs_on_stream_routes(gw, echo):
    api = admin(gw)
    api.post("/services", {"name": "guarded", "protocol": "tcp", "host": "127.0.0.1",
                           "port": echo[0].port})
    api.post("/services/guarded/routes", {"name": "guarded", "protocols": ["tcp"],
                                          "sources": [{"ip": "10.7.0.0/16"}]})
    api.post("/routes/guarded/plugins", {"name": "ip-restriction",
                                         "config": {"deny": ["10.7.7.7"]}})

    def through(source: str) -> bytes | None:
        header = f"PROXY TCP4 {source} 127.0.0.1 5555 {gw.stream_ports['pp']}\r\n".encode()
        with socket.create_connection(("127.0.0.1", gw.stream_ports["pp"]), timeout=3) as s:
            s.sendall(header + b"in\n")
            data = b""
            while True:
                try:
                    chunk = s.recv(1024)
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
                if data.endswith(b"in\n"):
                    break
            return data

    assert _until(lambda: b"IP address not allowed" in through("10.7.7.7")), \
        gw.error_log_tail()
    # Kong's stream refusal: the status and the message as one JSON object
    assert json.loads(through("10.7.7.7")) == {"status": 403,
                                               "message": "IP address not allowed: 10.7.7.7"}
    assert through("10.7.1.1") == b"in\n"


def test_an_open_connection_survives_configuration_changes(gw, echo):
    api = admin(gw)
    port = gw.stream_ports["tcp"]
    assert _until(lambda: echo_through(port) == b"ping\n")
    failures: list[str] = []
    stop = threading.Event()

    def clients():
        while not stop.is_set():
            if echo_through(port) != b"ping\n":
                failures.append("failed connection")

    with socket.create_connection(("127.0.0.1", port), timeout=5) as held:
        held.sendall(b"before\n")
        assert held.recv(64) == b"before\n"
        runner = threading.Thread(target=clients)
        runner.start()
        for i in range(8):
            api.post("/services", {"name": f"churn-{i}", "protocol": "tcp",
                                   "host": "127.0.0.1", "port": echo[1].port})
            api.post(f"/services/churn-{i}/routes", {"protocols": ["tcp"],
                                                     "sources": [{"ip": f"10.200.{i}.1"}]})
            time.sleep(0.15)
        stop.set()
        runner.join()
        held.sendall(b"after\n")
        assert held.recv(64) == b"after\n"
    assert not failures, failures


def test_an_idle_connection_is_closed_after_the_timeout(gw, echo):
    api = admin(gw)
    api.post("/services", {"name": "short", "protocol": "tcp", "host": "127.0.0.1",
                           "port": echo[0].port, "read_timeout": 600, "write_timeout": 600})
    api.post("/services/short/routes", {"name": "short", "protocols": ["tcp"],
                                        "sources": [{"ip": "10.3.3.3"}]})
    header = f"PROXY TCP4 10.3.3.3 127.0.0.1 5555 {gw.stream_ports['pp']}\r\n".encode()

    def closed_when_idle():
        try:
            with socket.create_connection(("127.0.0.1", gw.stream_ports["pp"]),
                                          timeout=5) as s:
                s.sendall(header + b"x\n")
                if s.recv(64) != b"x\n":
                    return False
                started = time.monotonic()
                # closed by the gateway, well before the client's own timeout
                return s.recv(64) == b"" and time.monotonic() - started < 4
        except OSError:  # the route is not served yet
            return False

    assert _until(closed_when_idle), gw.error_log_tail()


def _which(echo, action):
    """The echo server (0 or 1) that accepted the connection ``action`` made."""
    before = [s.connections for s in echo]
    action()
    after = [s.connections for s in echo]
    grown = [i for i in range(len(echo)) if after[i] > before[i]]
    return grown[0] if len(grown) == 1 else None


def test_consistent_hashing_keeps_a_client_address_on_one_target(gw, echo):
    api = admin(gw)
    api.post("/upstreams", {"name": "ch-up", "algorithm": "consistent-hashing",
                            "hash_on": "ip"})
    for s in echo:
        api.post("/upstreams/ch-up/targets", {"target": f"127.0.0.1:{s.port}"})
    api.post("/services", {"name": "ch", "protocol": "tcp", "host": "ch-up"})
    api.post("/services/ch/routes", {"name": "ch", "protocols": ["tcp"],
                                     "sources": [{"ip": "10.5.0.0/16"}]})
    assert _until(lambda: _through_pp(gw, "10.5.0.1", b"h\n", b"h\n") == b"h\n"), \
        gw.error_log_tail()
    chosen = {}
    for i in range(1, 17):
        source = f"10.5.0.{i}"
        seen = {_which(echo, lambda: _through_pp(gw, source, b"h\n", b"h\n")) for _ in range(3)}
        assert len(seen) == 1 and None not in seen, (source, seen)
        chosen[source] = seen.pop()
    # the addresses spread over both targets
    assert set(chosen.values()) == {0, 1}, chosen


def test_least_connections_sends_new_connections_to_the_idle_target(tmp_path, echo):
    # one worker: least-connections counts each worker's connections
    port = free_port()
    node = Gateway(tmp_path, workers=1, extra={"stream_listen": f"127.0.0.1:{port}"}).start()
    try:
        api = admin(node)
        api.post("/upstreams", {"name": "lc-up", "algorithm": "least-connections"})
        for s in echo:
            api.post("/upstreams/lc-up/targets", {"target": f"127.0.0.1:{s.port}"})
        api.post("/services", {"name": "lc", "protocol": "tcp", "host": "lc-up"})
        api.post("/services/lc/routes", {"name": "lc", "protocols": ["tcp"],
                                         "destinations": [{"port": port}]})
        assert _until(lambda: echo_through(port) == b"ping\n"), node.error_log_tail()
        held: list[socket.socket] = []

        def hold():
            sock = socket.create_connection(("127.0.0.1", port), timeout=3)
            held.append(sock)
            sock.sendall(b"l\n")
            assert sock.recv(16) == b"l\n"

        try:
            busy = _which(echo, hold)
            assert busy is not None
            # while one target holds a connection, every short connection
            # (each over before the next: its count released) goes to the other
            for _ in range(6):
                assert _which(echo, lambda: echo_through(port)) == 1 - busy
                time.sleep(0.3)
        finally:
            for sock in held:
                sock.close()
    finally:
        node.stop()
