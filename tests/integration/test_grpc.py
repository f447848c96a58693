"""gRPC through a live node (Kong's grpc/grpcs services and routes): a real
gRPC service generated at test time (tests/helpers/grpc_echo.py) called with
grpcio through the proxy's HTTP/2 listeners, h2c and TLS; the gateway's own
answers read by the gRPC client as gRPC errors."""
from __future__ import annotations

import json
import socket
import ssl
import time

import pytest
import requests

from tests.conftest import IN_CI, require_binary
from tests.helpers.gateway import Gateway
from tests.helpers.http import admin
from tests.helpers.servers import free_port
from tests.helpers.tls import make_ca, make_leaf

try:
    import grpc

    from tests.helpers import grpc_echo
except ImportError as exc:  # pragma: no cover - the dev extras install grpcio
    if IN_CI:
        raise
    pytest.skip(f"grpcio is not installed ({exc}): pip install -e '.[dev]'",
                allow_module_level=True)

PATH = grpc_echo.PATH_PREFIX
GATEWAY_SNI = "grpc.kongpy.test"


@pytest.fixture(scope="module")
def pki():
    root = make_ca("kongpy grpc root")
    return {
        "root": root,
        "other": make_ca("kongpy grpc other"),
        "upstream": make_leaf("localhost", root, dns=["localhost"]),
        "client": make_leaf("kongpy grpc client", root, client=True),
        "gateway": make_leaf(GATEWAY_SNI, root),
    }


@pytest.fixture(scope="module")
def servers(pki):
    started = {
        "h2c": grpc_echo.EchoServer("h2c"),
        "second": grpc_echo.EchoServer("second"),
        "tls": grpc_echo.EchoServer("tls", cert=pki["upstream"].chain_pem,
                                    key=pki["upstream"].key_pem,
                                    client_ca=pki["root"].cert_pem),
    }
    yield started
    for s in started.values():
        s.stop()


@pytest.fixture(scope="module")
def gw(tmp_path_factory, pki):
    """One worker; the plain port speaks HTTP/1.1, `h2c` HTTP/2 with prior
    knowledge, the TLS port offers h2 by ALPN."""
    require_binary("nginx")
    node = Gateway(tmp_path_factory.mktemp("grpc"), workers=1)
    node.ports["h2c"] = free_port()
    node.settings["proxy_listen"] = (
        f"127.0.0.1:{node.ports['proxy']}, "
        f"127.0.0.1:{node.ports['proxy_ssl']} ssl http2, "
        f"127.0.0.1:{node.ports['h2c']} http2")
    node.write_conf()
    node.start()
    api = admin(node)
    api.post("/certificates", {"cert": pki["gateway"].chain_pem, "key": pki["gateway"].key_pem,
                               "snis": [GATEWAY_SNI]})
    yield node
    node.stop()


def grpc_service(gw: Gateway, name: str, url: str, route: dict | None = None,
                 **fields) -> None:
    api = admin(gw)
    api.post("/services", {"name": name, "url": url, **fields})
    api.post(f"/services/{name}/routes", {"name": name, "protocols": ["grpc", "grpcs"],
                                          "paths": [PATH], "hosts": [f"{name}.test"],
                                          **(route or {})})
    gw.wait_sync()


def say(channel, text: str = "hi", metadata=(), timeout: float = 10):
    """The reply and the call (its initial metadata holds the gateway's headers)."""
    return grpc_echo.stub(channel).Say.with_call(grpc_echo.msg(text), timeout=timeout,
                                                 metadata=metadata)


def channel_for(gw: Gateway, host: str, secure: bool = False, pki=None):
    """A channel to the gateway whose calls carry ``host`` as :authority:
    h2c on the http2 cleartext listener, or TLS (h2 by ALPN)."""
    options = [("grpc.default_authority", host)]
    if secure:
        creds = grpc.ssl_channel_credentials(root_certificates=pki["root"].cert_pem.encode())
        return grpc.secure_channel(f"127.0.0.1:{gw.ports['proxy_ssl']}", creds,
                                   options=[*options,
                                            ("grpc.ssl_target_name_override", GATEWAY_SNI)])
    return grpc.insecure_channel(f"127.0.0.1:{gw.ports['h2c']}", options=options)


def rpc_error(fn) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        fn()
    return info.value


# -- proxying -----------------------------------------------------------------

def test_unary_and_streaming_calls_over_h2c(gw, servers):
    grpc_service(gw, "plain", f"grpc://127.0.0.1:{servers['h2c'].port}")
    with channel_for(gw, "plain.test") as ch:
        reply, call = say(ch, "hello")
        assert (reply.text, reply.server) == ("hello", "h2c")
        meta = json.loads(reply.meta)
        assert meta["x-forwarded-proto"] == "http"
        assert meta["x-forwarded-host"] == "plain.test"
        assert meta["x-forwarded-path"] == PATH + "Say"
        assert meta["x-real-ip"] == "127.0.0.1"
        assert meta["via"].startswith("2 kongpy/")  # the client spoke HTTP/2
        # nginx sends the Host header grpc_set_header sets (the service's host)
        assert meta["host"] == f"127.0.0.1:{servers['h2c'].port}"
        # the gateway's response headers reach the client (header_filter ran)
        headers = dict(call.initial_metadata())
        assert "x-kong-upstream-latency" in headers
        assert "x-kong-proxy-latency" in headers
        # the next call reuses the gateway's upstream connection (keepalive)
        again, _ = say(ch, "again")
        assert json.loads(again.meta)[":peer"] == meta[":peer"]
        stream = grpc_echo.stub(ch).Stream(grpc_echo.msg("many", 5), timeout=10)
        replies = list(stream)
        assert [(r.text, r.count, r.server) for r in replies] == [
            ("many", i, "h2c") for i in range(5)]


def until_ok(call, gw: Gateway, timeout: float = 15.0):
    """``call()``'s result once it stops raising a gRPC error."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except grpc.RpcError as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"{exc}\n{gw.error_log_tail()}") from exc
            time.sleep(0.25)


def test_grpcs_service_presents_its_upstreams_client_certificate(gw, servers, pki):
    """TLS on both sides: h2 by ALPN from the client, grpcs to a server that
    requires a client certificate (Kong: the upstream's client_certificate
    when the service has none; grpcs services have no tls_verify)."""
    api = admin(gw)
    client = api.post("/certificates", {"cert": pki["client"].cert_pem,
                                        "key": pki["client"].key_pem})
    api.post("/upstreams", {"name": "tls.grpc.up", "client_certificate": {"id": client["id"]}})
    api.post("/upstreams/tls.grpc.up/targets", {"target": f"localhost:{servers['tls'].port}"})
    grpc_service(gw, "secure", "grpcs://tls.grpc.up")
    with channel_for(gw, "secure.test", secure=True, pki=pki) as ch:
        reply, _ = until_ok(lambda: say(ch, "over tls"), gw)
        assert (reply.text, reply.server) == ("over tls", "tls")
        meta = json.loads(reply.meta)
        assert meta["x-forwarded-proto"] == "https"
        replies = list(grpc_echo.stub(ch).Stream(grpc_echo.msg("s", 3), timeout=10))
        assert [(r.count, r.server) for r in replies] == [(0, "tls"), (1, "tls"), (2, "tls")]


def test_grpcs_upstream_refusing_the_handshake_is_a_502_grpc_error(gw, servers):
    """No client certificate: the server refuses the handshake, nginx's 502
    reaches the gRPC client as Kong's error handler makes it."""
    grpc_service(gw, "nocert", f"grpcs://localhost:{servers['tls'].port}", retries=0)
    calls = servers["tls"].calls
    with channel_for(gw, "nocert.test") as ch:
        err = rpc_error(lambda: say(ch))
    assert err.code() == grpc.StatusCode.INTERNAL, (err, gw.error_log_tail())
    assert err.details() == "An invalid response was received from the upstream server"
    assert servers["tls"].calls == calls


# -- Kong's checks of gRPC routes ---------------------------------------------

def test_grpc_route_checks(gw, servers):
    grpc_service(gw, "checked", f"grpc://127.0.0.1:{servers['h2c'].port}")
    grpc_service(gw, "tlsonly", f"grpc://127.0.0.1:{servers['h2c'].port}",
                 route={"protocols": ["grpcs"]})
    plain = f"http://127.0.0.1:{gw.ports['proxy']}{PATH}Say"
    # gRPC over HTTP/1.1: 426, asking for HTTP/2
    resp = requests.post(plain, headers={"Host": "checked.test",
                                         "Content-Type": "application/grpc"}, data=b"")
    assert resp.status_code == 426
    assert resp.json()["message"] == "Please use HTTP2 protocol"
    assert resp.headers["Upgrade"] == "HTTP/2"
    assert "Upgrade" in resp.headers["Connection"]
    # not gRPC at all: 415
    resp = requests.post(plain, headers={"Host": "checked.test",
                                         "Content-Type": "application/json"}, data=b"{}")
    assert resp.status_code == 415
    assert resp.json()["message"] == "Non-gRPC request matched gRPC route"
    resp = requests.get(plain, headers={"Host": "checked.test"})
    assert resp.status_code == 415
    calls = servers["h2c"].calls
    # a grpcs-only route over cleartext: grpc-status 1 (CANCELLED)
    with channel_for(gw, "tlsonly.test") as ch:
        err = rpc_error(lambda: say(ch))
    assert err.code() == grpc.StatusCode.CANCELLED
    assert err.details() == "gRPC request matched gRPCs route"
    assert servers["h2c"].calls == calls


def test_http_route_hit_over_http2_is_proxied_as_http(gw, upstream):
    """An http route keeps proxying over HTTP/1.1 when the client speaks
    HTTP/2 (h2 by ALPN on the TLS listener)."""
    api = admin(gw)
    api.post("/services", {"name": "web", "url": upstream.url})
    api.post("/services/web/routes", {"name": "web", "paths": ["/web"]})
    gw.wait_sync()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", gw.ports["proxy_ssl"]), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls_sock:
            assert tls_sock.selected_alpn_protocol() == "h2"
    # the cleartext http2 listener speaks HTTP/2 with prior knowledge only
    with socket.create_connection(("127.0.0.1", gw.ports["h2c"]), timeout=5) as raw:
        raw.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        frame = raw.recv(9)
        assert frame[3] == 0x04  # the server's SETTINGS frame
    # and the plain listener keeps HTTP/1.1
    assert requests.get(f"{gw.proxy}/web").status_code == 200


# -- the gateway's own answers as gRPC errors ---------------------------------

def test_no_route_is_a_not_found_grpc_error(gw):
    with channel_for(gw, "nowhere.test") as ch:
        err = rpc_error(lambda: say(ch))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert err.details() == "NotFound"
    # a trailers-only answer: the gateway's headers come as trailing metadata
    trailing = dict(err.trailing_metadata())
    assert trailing["server"].startswith("kongpy/")
    assert len(trailing["x-kong-request-id"]) == 32


def test_key_auth_and_rate_limiting_answer_grpc_errors(gw, servers):
    grpc_service(gw, "guarded", f"grpc://127.0.0.1:{servers['h2c'].port}")
    api = admin(gw)
    # plugins for grpc/grpcs only run there; one for http/https only does not
    api.post("/routes/guarded/plugins", {"name": "key-auth", "protocols": ["grpc", "grpcs"]})
    api.post("/routes/guarded/plugins", {"name": "request-termination",
                                         "protocols": ["http", "https"]})
    api.post("/routes/guarded/plugins", {"name": "rate-limiting",
                                         "config": {"minute": 2, "policy": "local"}})
    api.post("/consumers", {"username": "grpc-user"})
    api.post("/consumers/grpc-user/key-auth", {"key": "grpc-secret"})
    gw.wait_sync()
    with channel_for(gw, "guarded.test") as ch:
        err = rpc_error(lambda: say(ch))
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED
        assert err.details() == "Unauthenticated"
        key = (("apikey", "grpc-secret"),)
        reply, call = say(ch, "authorised", metadata=key)
        assert reply.text == "authorised"
        headers = dict(call.initial_metadata())
        assert headers["x-ratelimit-remaining-minute"] == "1"
        # Kong's grpc scenario (rate-limiting 04-access_spec): the
        # RateLimit-* headers on success, and Retry-After on the refusal
        assert (headers["x-ratelimit-limit-minute"], headers["ratelimit-limit"],
                headers["ratelimit-remaining"]) == ("2", "2", "1")
        assert 0 <= int(headers["ratelimit-reset"]) <= 60
        say(ch, "second", metadata=key)
        err = rpc_error(lambda: say(ch, metadata=key))
        assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert err.details() == "ResourceExhausted"
        refused = dict(err.initial_metadata()) | dict(err.trailing_metadata())
        assert (refused["ratelimit-limit"], refused["ratelimit-remaining"]) == ("2", "0")
        assert 0 < int(refused["retry-after"]) <= 60
        assert 0 < int(refused["ratelimit-reset"]) <= 60


def test_response_ratelimiting_headers_on_a_grpc_call(gw, servers):
    """Kong's response-ratelimiting grpc scenario: the limit's headers are
    added to a gRPC answer (its upstream reports no usage)."""
    grpc_service(gw, "rrl", f"grpc://127.0.0.1:{servers['h2c'].port}")
    admin(gw).post("/services/rrl/plugins", {"name": "response-ratelimiting",
                                             "config": {"limits": {"video": {"minute": 6}}}})
    gw.wait_sync()
    with channel_for(gw, "rrl.test") as ch:
        reply, call = say(ch, "counted")
    assert reply.text == "counted"
    headers = dict(call.initial_metadata())
    assert headers["x-ratelimit-limit-video-minute"] == "6"
    assert headers["x-ratelimit-remaining-video-minute"] == "6"


# -- balancing, retries, timeouts ---------------------------------------------

def test_a_retry_reaches_the_second_target_when_the_first_is_down(gw, servers):
    api = admin(gw)
    api.post("/upstreams", {"name": "retry.grpc.up"})
    down = free_port()  # nothing listens there
    api.post("/upstreams/retry.grpc.up/targets", {"target": f"127.0.0.1:{down}"})
    api.post("/upstreams/retry.grpc.up/targets",
             {"target": f"127.0.0.1:{servers['second'].port}"})
    grpc_service(gw, "retried", "grpc://retry.grpc.up")
    with channel_for(gw, "retried.test") as ch:
        for i in range(6):
            reply, _ = say(ch, f"try {i}")
            assert (reply.text, reply.server) == (f"try {i}", "second")
    grpc_service(gw, "noretry", "grpc://retry.grpc.up", retries=0)
    with channel_for(gw, "noretry.test") as ch:
        codes = set()
        for _ in range(4):
            try:
                say(ch)
                codes.add("ok")
            except grpc.RpcError as exc:
                codes.add(exc.code())
    # round-robin without retries: the dead target's calls fail
    assert codes == {"ok", grpc.StatusCode.INTERNAL}


def test_per_service_read_timeout(gw, servers):
    grpc_service(gw, "patient", f"grpc://127.0.0.1:{servers['h2c'].port}")
    grpc_service(gw, "hasty", f"grpc://127.0.0.1:{servers['h2c'].port}",
                 read_timeout=300, retries=0)
    slow = grpc_echo.msg("slow", 1000)
    with channel_for(gw, "patient.test") as ch:
        assert grpc_echo.stub(ch).Slow(slow, timeout=10).text == "slow"
    with channel_for(gw, "hasty.test") as ch:
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as info:
            grpc_echo.stub(ch).Slow(slow, timeout=10)
        elapsed = time.monotonic() - started
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert info.value.details() == "The upstream server is timing out"
    assert elapsed < 0.9


def test_a_plugins_exit_message_is_the_grpc_message(gw, servers):
    """kong.response.exit(status, { message = ... }) answers a gRPC client
    with the message in grpc-message (request-termination)."""
    grpc_service(gw, "closed", f"grpc://127.0.0.1:{servers['h2c'].port}")
    admin(gw).post("/routes/closed/plugins", {
        "name": "request-termination",
        "config": {"status_code": 403, "message": "closed for gRPC"}})
    gw.wait_sync()
    with channel_for(gw, "closed.test") as ch:
        err = rpc_error(lambda: say(ch))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert err.details() == "closed for gRPC"


def test_correlation_id_and_request_termination_on_grpc(gw, servers):
    """Kong's grpc scenarios of correlation-id (the counter id upstream and
    echoed in the initial metadata) and request-termination (503 is
    UNAVAILABLE)."""
    grpc_service(gw, "correlated", f"grpc://127.0.0.1:{servers['h2c'].port}")
    grpc_service(gw, "terminated", f"grpc://127.0.0.1:{servers['h2c'].port}")
    api = admin(gw)
    api.post("/routes/correlated/plugins", {"name": "correlation-id",
                                            "config": {"echo_downstream": True}})
    api.post("/routes/terminated/plugins", {"name": "request-termination",
                                            "config": {"status_code": 503}})
    gw.wait_sync()
    counters = []
    with channel_for(gw, "correlated.test") as ch:
        for _ in range(2):
            reply, call = say(ch)
            sent = json.loads(reply.meta)["kong-request-id"]
            assert dict(call.initial_metadata())["kong-request-id"] == sent
            prefix, _, counter = sent.partition("#")
            assert len(prefix) == 36
            counters.append(int(counter))
    assert counters[1] > counters[0]
    with channel_for(gw, "terminated.test") as ch:
        err = rpc_error(lambda: say(ch))
    assert err.code() == grpc.StatusCode.UNAVAILABLE
    assert err.details() == "Service unavailable"
