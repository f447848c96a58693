"""WebSocket through a real node, with a real client and server (`websockets`).

Kong proxies an upgrade on any http/https route: the upstream gets
`Connection: keep-alive, Upgrade` and `Upgrade: websocket`; once upgraded,
nginx tunnels the bytes and the service's read_timeout closes a socket that
stays idle that long (docs/websocket.md). Entity changes never reload nginx,
so no change cuts an established socket, not even the deletion of its route:
Kong does not track upgraded connections, only new handshakes see the change.
"""
from __future__ import annotations

import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.helpers.http import admin
from tests.helpers.websocket import WsEchoServer, open_socket


@pytest.fixture(scope="module")
def ws_server():
    server = WsEchoServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def node(gateway, ws_server):
    api = admin(gateway)
    api.post("/services", {"name": "ws", "url": ws_server.url + "/up"})
    api.post("/services/ws/routes", {"name": "ws", "paths": ["/ws"]})
    api.post("/services", {"name": "ws-idle", "url": ws_server.url, "read_timeout": 1000})
    api.post("/services/ws-idle/routes", {"name": "ws-idle", "paths": ["/idle"]})
    api.post("/consumers", {"username": "alice"})
    api.post("/consumers/alice/key-auth", {"key": "alice-key"})
    route = api.post("/services/ws/routes", {"name": "ws-auth", "paths": ["/auth"]})
    api.post(f"/routes/{route['id']}/plugins", {"name": "key-auth"})
    gateway.wait_sync()
    return gateway


def _ws(node, path: str = "/ws") -> str:
    return f"ws://127.0.0.1:{node.ports['proxy']}{path}"


def _wss(node, path: str = "/ws") -> str:
    return f"wss://127.0.0.1:{node.ports['proxy_ssl']}{path}"


def _echo(sock, text: str) -> None:
    sock.send(text)
    assert sock.recv(timeout=5) == text


@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_echo_through_the_gateway(node, scheme):
    url = _ws(node) if scheme == "ws" else _wss(node)
    with open_socket(url + "/x?q=1") as sock:
        for i in range(20):
            _echo(sock, f"{scheme} message {i}")
        sock.send(b"\x00\x01binary")
        assert sock.recv(timeout=5) == b"\x00\x01binary"


def test_upstream_sees_kongs_upgrade_headers(node, ws_server):
    with open_socket(_ws(node, "/ws/path?x=1"), {"Connection": "Upgrade"}) as sock:
        _echo(sock, "hello")
    seen = ws_server.handshakes[-1]
    assert seen["connection"] == "keep-alive, Upgrade"
    assert seen["upgrade"] == "websocket"
    assert seen["path"] == "/up/path?x=1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-prefix"] == "/ws"
    assert "sec-websocket-key" in seen and seen["sec-websocket-version"] == "13"


def test_key_auth_gates_the_handshake(node):
    with pytest.raises(InvalidStatus) as refused:
        open_socket(_ws(node, "/auth"))
    assert refused.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as wrong:
        open_socket(_ws(node, "/auth"), {"apikey": "nope"})
    assert wrong.value.response.status_code == 401
    with open_socket(_ws(node, "/auth"), {"apikey": "alice-key"}) as sock:
        _echo(sock, "authenticated")


class _Chatter(threading.Thread):
    """One socket echoing a numbered message after another until told to stop."""

    def __init__(self, url: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url, self.stop = url, stop
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with open_socket(self.url) as sock:
                while not self.stop.is_set():
                    _echo(sock, f"{self.name} {self.sent}")
                    self.sent += 1
                    time.sleep(0.01)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc


def _churn(node, rounds: int) -> None:
    """Entity changes of every kind, none of which removes the route /ws."""
    api = admin(node)
    for i in range(rounds):
        api.post("/services", {"name": f"churn-{i}", "url": "http://127.0.0.1:9/"})
        route = api.post(f"/services/churn-{i}/routes",
                         {"name": f"churn-{i}", "paths": [f"/churn-{i}"]})
        plugin = api.post(f"/routes/{route['id']}/plugins", {"name": "key-auth"})
        global_plugin = api.plugin("correlation-id", {"header_name": f"X-Churn-{i}"})
        api.patch("/routes/ws", {"paths": ["/ws", f"/ws-alias-{i}"]})
        api.patch("/services/ws", {"retries": i % 5 + 1})
        api.patch(f"/plugins/{plugin['id']}", {"enabled": False})
        node.wait_sync()
        api.delete(f"/plugins/{plugin['id']}")
        api.delete(f"/plugins/{global_plugin['id']}")
        api.delete(f"/routes/{route['id']}")
        api.delete(f"/services/churn-{i}")
        node.wait_sync()


def test_many_sockets_survive_configuration_changes(node):
    stop = threading.Event()
    chatters = [_Chatter(_ws(node) if i % 4 else _wss(node), stop) for i in range(24)]
    for c in chatters:
        c.start()
    try:
        _churn(node, 3)
        # new handshakes keep succeeding while the configuration changes
        late = [_Chatter(_ws(node), stop) for _ in range(8)]
        chatters += late
        for c in late:
            c.start()
        _churn(node, 2)
        # every socket keeps echoing after the changes (a loaded machine may
        # take a while to give each of them a few more rounds)
        marks = [c.sent for c in chatters]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not all(
                c.sent > m + 5 or c.error for c, m in zip(chatters, marks)):
            time.sleep(0.05)
    finally:
        stop.set()
        for c in chatters:
            c.join(10)
    failed = [(c.name, repr(c.error)) for c in chatters if c.error is not None]
    assert not failed
    assert all(c.sent > m + 5 for c, m in zip(chatters, marks)), \
        [(m, c.sent) for c, m in zip(chatters, marks)]


def test_a_deleted_route_keeps_its_established_socket(node, ws_server):
    api = admin(node)
    api.post("/services/ws/routes", {"name": "ws-gone", "paths": ["/gone"]})
    node.wait_sync()
    with open_socket(_ws(node, "/gone")) as sock:
        _echo(sock, "before")
        api.delete("/routes/ws-gone")
        node.wait_sync()
        with pytest.raises(InvalidStatus) as refused:
            open_socket(_ws(node, "/gone"))
        assert refused.value.response.status_code == 404
        for i in range(5):
            _echo(sock, f"after {i}")


def test_an_idle_socket_is_closed_after_the_services_read_timeout(node):
    # the service's read_timeout is 1000 ms; /ws keeps the default 60 s
    with open_socket(_ws(node, "/idle")) as busy, open_socket(_ws(node)) as idle_default:
        # traffic every 0.4 s keeps the socket open well past the timeout
        for i in range(6):
            time.sleep(0.4)
            _echo(busy, f"busy {i}")
        started = time.monotonic()
        with pytest.raises(ConnectionClosed):
            busy.recv(timeout=10)
        waited = time.monotonic() - started
        assert 0.9 <= waited < 5, waited
        _echo(idle_default, "still open")


def test_a_patched_read_timeout_applies_to_new_sockets(node):
    api = admin(node)
    api.patch("/services/ws-idle", {"read_timeout": 3000})
    node.wait_sync()
    try:
        with open_socket(_ws(node, "/idle")) as sock:
            time.sleep(1.5)
            _echo(sock, "still open after 1.5 s")
            started = time.monotonic()
            with pytest.raises(ConnectionClosed):
                sock.recv(timeout=10)
            waited = time.monotonic() - started
            assert 2.9 <= waited < 7, waited
    finally:
        api.patch("/services/ws-idle", {"read_timeout": 1000})
        node.wait_sync()


def test_a_reload_keeps_established_sockets(node):
    with open_socket(_ws(node)) as sock:
        _echo(sock, "before the reload")
        node.cli("reload", "-c", str(node.conf_path), "-p", str(node.prefix))
        node.wait_sync(timeout=15)
        # a new worker answers the new handshake, the old one keeps the socket
        with open_socket(_ws(node)) as fresh:
            _echo(fresh, "after the reload")
        for i in range(5):
            _echo(sock, f"after the reload {i}")
