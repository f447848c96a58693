"""tcp-log (plain and TLS), udp-log and syslog through a real node, each to a
real receiver: the JSON log entry, the syslog header (PRI from facility and
severity), the severity filter, and receivers that are down."""
from __future__ import annotations

import json
import re
import socket
import time

import pytest

from tests.helpers.http import proxy
from tests.helpers.log_receivers import TcpReceiver, UdpReceiver, UnixDatagramReceiver


@pytest.fixture(scope="module")
def syslog_sock():
    with UnixDatagramReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def gateway(start_node, syslog_sock):
    return start_node(syslog_socket=syslog_sock.path)


def _entry(raw: bytes, path: str, status: int = 200) -> dict:
    entry = json.loads(raw)
    assert entry["request"]["uri"] == path
    assert entry["request"]["method"] == "GET"
    assert entry["response"]["status"] == status
    assert entry["route"]["paths"] == [path.split("?")[0]]
    assert entry["service"]["name"] == "svc"
    assert entry["request"]["headers"]["authorization"] == "REDACTED"
    return entry


def _by_uri(lines: list[bytes], uris: list[str]) -> dict[str, dict]:
    """The entries of ``lines`` by request uri, one for each of ``uris``."""
    got = {json.loads(line)["request"]["uri"]: line for line in lines}
    assert sorted(got) == sorted(uris), got.keys()
    return {uri: _entry(got[uri], uri) for uri in uris}


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_tcp_log_plain_and_tls(gateway, svc):
    with TcpReceiver() as plain, TcpReceiver(tls=True) as tls:
        gateway.route("/tcp", {"name": "tcp-log", "config": {
            "host": "127.0.0.1", "port": plain.port}})
        gateway.route("/tcps", {"name": "tcp-log", "config": {
            "host": "127.0.0.1", "port": tls.port, "tls": True, "tls_sni": "logs.test"}})
        gateway.wait_sync()
        auth = {"Authorization": "Basic secret"}
        for i in range(3):
            assert proxy(gateway).get(f"/tcp?n={i}", headers=auth).status_code == 200
        # two workers may send over two connections: no order between them
        entries = _by_uri(plain.wait(3), [f"/tcp?n={i}" for i in range(3)])
        assert entries["/tcp?n=0"]["request"]["querystring"] == {"n": "0"}
        # one connection kept alive for the three entries (one worker may open a second)
        assert plain.connections <= 2

        for i in range(2):
            assert proxy(gateway).get(f"/tcps?n={i}", headers=auth).status_code == 200
        _by_uri(tls.wait(2), [f"/tcps?n={i}" for i in range(2)])
        # the handshake sends the configured SNI, once per new connection
        assert tls.snis and set(tls.snis) == {"logs.test"}
        assert len(tls.snis) == tls.connections


def test_udp_log(gateway, svc):
    with UdpReceiver() as receiver:
        gateway.route("/udp", {"name": "udp-log", "config": {
            "host": "127.0.0.1", "port": receiver.port}})

        gateway.wait_sync()
        headers = {"Authorization": "Bearer x"}
        assert proxy(gateway).get("/udp", headers=headers).status_code == 200
        assert proxy(gateway).get("/udp?x=1", headers=headers).status_code == 200
        datagrams = receiver.wait(2)
        assert sorted(json.loads(d)["request"]["uri"] for d in datagrams) == ["/udp", "/udp?x=1"]
        for d in datagrams:
            _entry(d, json.loads(d)["request"]["uri"])


def test_custom_fields_by_lua(gateway, svc):
    """Set, remove and nest (dotted names) fields of the entry, in the sandbox."""
    with UdpReceiver() as receiver:
        gateway.route("/udp-fields", {"name": "udp-log", "config": {
            "host": "127.0.0.1", "port": receiver.port, "custom_fields_by_lua": {
                "route": "return nil", "extra.method": "return kong.request.get_method()",
                "request.size": "return 1"}}})
        gateway.wait_sync()
        assert proxy(gateway).get("/udp-fields").status_code == 200
        entry = json.loads(receiver.wait(1)[0])
        assert "route" not in entry and entry["service"]["name"] == "svc"
        assert entry["extra"] == {"method": "GET"} and entry["request"]["size"] == 1


SYSLOG_LINE = re.compile(rb"^<(\d+)>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d kong\[\d+\]: (\{.*\})$",
                         re.S)


def test_syslog_priority_and_filter(gateway, svc, syslog_sock):
    gateway.route("/sl", {"name": "syslog", "config": {
        "facility": "local3", "successful_severity": "notice",
        "client_errors_severity": "err", "server_errors_severity": "crit",
        "log_level": "notice"}})
    gateway.route("/sl-quiet", {"name": "syslog", "config": {
        "successful_severity": "debug", "log_level": "info"}})
    gateway.route("/sl-default", {"name": "syslog"})
    gateway.wait_sync()
    syslog_sock.clear()
    assert proxy(gateway).get("/sl-quiet").status_code == 200   # debug > info: not sent
    assert proxy(gateway).get("/sl", headers={"Authorization": "x"}).status_code == 200
    assert proxy(gateway).get("/sl?status=404").status_code == 404
    assert proxy(gateway).get("/sl?status=503").status_code == 503
    assert proxy(gateway).get("/sl-default").status_code == 200
    got = syslog_sock.wait(4)
    parsed = []
    for raw in got:
        match = SYSLOG_LINE.match(raw)
        assert match, raw
        parsed.append((int(match.group(1)), json.loads(match.group(2))))
    by_uri = {entry["request"]["uri"]: pri for pri, entry in parsed}
    # PRI = facility * 8 + severity: local3 = 19, user = 1
    assert by_uri == {"/sl": 19 * 8 + 5, "/sl?status=404": 19 * 8 + 3,
                      "/sl?status=503": 19 * 8 + 2, "/sl-default": 1 * 8 + 6}
    assert parsed[[e["request"]["uri"] for _, e in parsed].index("/sl")][1][
        "request"]["headers"]["authorization"] == "REDACTED"
    time.sleep(0.3)
    assert len(syslog_sock.received()) == 4


def _wait_in_log(gateway, needle: bytes) -> None:
    log = gateway.prefix / "logs" / "error.log"
    deadline = time.monotonic() + 5
    while needle not in log.read_bytes():
        assert time.monotonic() < deadline, gateway.error_log_tail()
        time.sleep(0.05)


def test_receivers_down_cost_the_request_nothing(gateway, svc, syslog_sock):
    down = _closed_port()
    gateway.route("/down-tcp", {"name": "tcp-log", "config": {
        "host": "127.0.0.1", "port": down, "timeout": 500}})
    gateway.route("/down-udp", {"name": "udp-log", "config": {
        "host": "127.0.0.1", "port": down}})
    gateway.wait_sync()
    for _ in range(20):
        assert proxy(gateway).get("/down-tcp").status_code == 200
        assert proxy(gateway).get("/down-udp").status_code == 200
    _wait_in_log(gateway, b"failed to connect to 127.0.0.1:%d" % down)
    time.sleep(0.5)
    text = (gateway.prefix / "logs" / "error.log").read_text(errors="replace")
    failures = [line for line in text.splitlines()
                if f"127.0.0.1:{down}" in line and "[tcp-log]" in line]
    # at most one line per worker in the reporting interval, not one per request
    assert 1 <= len(failures) <= 2, failures
    assert "runtime error" not in text

    # the syslog socket gone: the requests still pass, the error log says why
    syslog_sock.close()
    for _ in range(10):
        assert proxy(gateway).get("/sl-default").status_code == 200
    _wait_in_log(gateway, f"could not connect to the syslog socket {syslog_sock.path}".encode())
