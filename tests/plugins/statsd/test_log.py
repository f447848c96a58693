"""statsd through a real node (one worker, so the shared-dict report is
deterministic) to real UDP and TCP listeners: Kong's metric names, stat
types and sample rates, identifiers, tag styles, packet batching, status
ranges, the global.unmatched scope and an unreachable server."""
from __future__ import annotations

import re
import socket
import time

import pytest

from tests.helpers.http import admin, proxy
from tests.helpers.log_receivers import TcpReceiver, UdpReceiver

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture(scope="module")
def gateway(start_node):
    return start_node(workers=1)


@pytest.fixture(scope="module")
def robert(gateway):
    """The consumer ``bob`` (custom_id ``robert``) with the key ``kong``."""
    consumer = gateway.create("/consumers", {"username": "bob", "custom_id": "robert"})
    gateway.create("/consumers/bob/key-auth", {"key": "kong"})
    return consumer


def _statsd(port: int, **config) -> dict:
    return {"name": "statsd", "config": {"host": "127.0.0.1", "port": port, **config}}


KEY_AUTH = {"name": "key-auth"}


def _lines_until(rx, plain: int, *marks: str, timeout: float = 10.0) -> list[str]:
    """Every line received once ``plain`` lines outside the shared-dict report
    and a line with each of ``marks`` arrived (or the time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = rx.lines(0)
        done = len([line for line in lines if ".shdict." not in line]) >= plain and all(
            any(mark in line for line in lines) for mark in marks)
        if done or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_default_metrics(gateway, svc, robert):
    with UdpReceiver() as rx:
        route = gateway.route("/st", KEY_AUTH, _statsd(rx.port))
        gateway.wait_sync()
        assert proxy(gateway).get("/st", headers={"apikey": "kong"}).status_code == 200
        # the request's 12 metrics, and worker 0's shared-dict report, which
        # comes in datagrams of its own (one dict's lines may come later)
        lines = _lines_until(rx, 12, ".shdict.kongpy_snapshot.free_space:",
                             ".shdict.kongpy_snapshot.capacity:", ".shdict.kong.capacity:")
        base = r"kong\.service\.svc\."
        expected = [
            base + r"request\.count:1\|c", base + r"latency:\d+\|ms",
            base + r"request\.size:\d+\|c", base + r"status\.200:1\|c",
            base + r"response\.size:\d+\|c", base + r"user\.uniques:robert\|s",
            base + r"user\.robert\.request\.count:1\|c", base + r"upstream_latency:\d+\|ms",
            base + r"kong_latency:\d+\|ms", base + r"user\.robert\.status\.200:1\|c",
            base + r"workspace\." + UUID + r"\.status\.200:1\|c",
            r"kong\.route\." + route["id"] + r"\.user\.robert\.status\.200:1\|c",
        ]
        plain = [line for line in lines if ".shdict." not in line]
        for pattern in expected:
            assert [line for line in plain if re.fullmatch(pattern, line)], (pattern, plain)
        assert len(plain) == len(expected), plain
        # worker 0 reports every shared dict once a minute, with the host name
        host = socket.gethostname().replace(".", "_")
        shdict = [line for line in lines if ".shdict." in line]
        assert shdict
        for line in shdict:
            assert re.fullmatch(rf"kong\.node\.{re.escape(host)}\.shdict\.[\w-]+\."
                                r"(free_space|capacity):\d+\|g", line), line
        assert any(".shdict.kongpy_snapshot.capacity:" in line for line in shdict)
        assert any(".shdict.kongpy_snapshot.free_space:" in line for line in shdict)
        # Kong's own dictionary, as Kong's statsd spec reads it
        assert any(".shdict.kong.capacity:" in line for line in shdict)


def test_identifiers_rates_prefix(gateway, svc, robert):
    with UdpReceiver() as rx:
        gateway.route("/st-ids", KEY_AUTH, _statsd(
            rx.port, prefix="edge", hostname_in_prefix=True, metrics=[
                {"name": "request_count", "stat_type": "counter", "sample_rate": 0.5,
                 "service_identifier": "service_id"},
                {"name": "latency", "stat_type": "gauge", "sample_rate": 1},
                {"name": "request_per_user", "stat_type": "counter", "sample_rate": 1,
                 "consumer_identifier": "username"},
                {"name": "status_count_per_user", "stat_type": "counter", "sample_rate": 1,
                 "consumer_identifier": "consumer_id"}]))
        gateway.wait_sync()
        assert proxy(gateway).get("/st-ids", headers={"apikey": "kong"}).status_code == 200
        lines = [x for x in rx.lines(4) if ".shdict." not in x]
        host = re.escape(socket.gethostname().replace(".", "_"))
        pre = rf"edge\.node\.{host}\.service\."
        expected = [pre + svc["id"] + r"\.request\.count:1\|c\|@0\.5",
                    pre + r"svc\.latency:\d+\|g",
                    pre + r"svc\.user\.bob\.request\.count:1\|c",
                    pre + r"svc\.user\." + robert["id"] + r"\.status\.200:1\|c"]
        for pattern in expected:
            assert any(re.fullmatch(pattern, x) for x in lines), (pattern, lines)
        assert len(lines) == 4, lines


def test_tag_styles(gateway, svc, robert):
    formats = {
        "dogstatsd": r"kong\.request\.count:1\|c\|#{tags}",
        "influxdb": r"kong\.request\.count,{tags}:1\|c",
        "librato": r"kong\.request\.count#{tags}:1\|c",
        "signalfx": r"kong\.request\.count\[{tags}\]:1\|c",
    }
    for style, fmt in formats.items():
        with UdpReceiver() as rx:
            route = gateway.route(f"/st-{style}", KEY_AUTH, _statsd(
                rx.port, tag_style=style, hostname_in_prefix=True))
            gateway.wait_sync()
            assert proxy(gateway).get(f"/st-{style}",
                                      headers={"apikey": "kong"}).status_code == 200
            lines = rx.lines(6)
            sep = ":" if style == "dogstatsd" else "="
            tags = ",".join(f"{k}{sep}{v}" for k, v in (
                ("service", "svc"), ("route", route["name"]),
                ("workspace", UUID), ("consumer", "robert"), ("status", "200")))
            assert any(re.fullmatch(fmt.format(tags=tags), x) for x in lines), (style, lines)
            names = sorted(re.match(r"kong\.([a-z_.]+)", x).group(1) for x in lines)
            # only the six plain stats carry tags; the scoped metrics are not sent
            assert names == ["kong_latency", "latency", "request.count", "request.size",
                             "response.size", "upstream_latency"], lines


def test_udp_packet_size_and_tcp(gateway, svc, robert):
    three = [{"name": "request_count", "stat_type": "counter", "sample_rate": 1},
             {"name": "upstream_latency", "stat_type": "timer"},
             {"name": "kong_latency", "stat_type": "timer"}]
    sizes = {500: None, 100: None, 1: None}
    with UdpReceiver() as big, UdpReceiver() as mid, UdpReceiver() as tiny, \
            TcpReceiver() as tcp:
        for size, rx in ((500, big), (100, mid), (1, tiny)):
            gateway.route(f"/st-pkt{size}", _statsd(rx.port, metrics=three,
                                                    udp_packet_size=size))
            sizes[size] = rx
        gateway.route("/st-tcp", _statsd(tcp.port, use_tcp=True, metrics=three))
        gateway.wait_sync()
        for size in sizes:
            assert proxy(gateway).get(f"/st-pkt{size}").status_code == 200
        assert proxy(gateway).get("/st-tcp").status_code == 200
        # 500 bytes: the three lines in one datagram
        packet = big.wait(1)[0].decode().split("\n")
        assert len(packet) == 3 and packet[0] == "kong.service.svc.request.count:1|c"
        # 100 bytes: two datagrams, none larger than 100 bytes
        mid_lines = mid.lines(3)
        assert len(mid_lines) == 3 and all(len(d) <= 100 for d in mid.received())
        assert len(mid.received()) == 2, mid.received()
        # 1 byte: each line alone (larger than the limit, so sent as is)
        tiny.lines(3)
        assert len(tiny.received()) == 3
        lines = tcp.wait(3)
        assert lines[0] == b"kong.service.svc.request.count:1|c"
        assert re.fullmatch(rb"kong\.service\.svc\.upstream_latency:\d+\|ms", lines[1])


def test_status_ranges_and_unreachable(gateway, svc):
    with UdpReceiver() as rx:
        gateway.route("/st-4xx", _statsd(rx.port, allow_status_codes=["400-499"], metrics=[
            {"name": "status_count", "stat_type": "counter", "sample_rate": 1}]))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as closed:
            closed.bind(("127.0.0.1", 0))
            down = closed.getsockname()[1]
        gateway.route("/st-down", _statsd(down))
        gateway.wait_sync()
        assert proxy(gateway).get("/st-4xx").status_code == 200
        assert proxy(gateway).get("/st-4xx?status=404").status_code == 404
        assert rx.wait(1) == [b"kong.service.svc.status.404:1|c"]
        for _ in range(10):
            assert proxy(gateway).get("/st-down").status_code == 200


def test_global_unmatched(gateway, svc, robert):
    with UdpReceiver() as rx:
        plugin = gateway.create("/plugins", _statsd(rx.port))
        gateway.wait_sync()
        try:
            assert proxy(gateway).get("/no-such-route",
                                      headers={"apikey": "kong"}).status_code == 404
            lines = rx.lines(6)
        finally:
            admin(gateway).delete(f"/plugins/{plugin['id']}")
        names = sorted(re.sub(r":.*", "", x) for x in lines if ".shdict." not in x)
        assert names == ["kong.global.unmatched.kong_latency", "kong.global.unmatched.latency",
                         "kong.global.unmatched.request.count",
                         "kong.global.unmatched.request.size",
                         "kong.global.unmatched.response.size",
                         "kong.global.unmatched.status.404"], lines
