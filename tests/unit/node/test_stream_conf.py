"""stream_listen and the stream blocks' injected directives (Kong 3.9's syntax)."""
import pytest

from kongpy import conf, streamconf

USAGE = ("stream_listen must be of form: [off] | <ip>:<port> [udp] [ssl] [proxy_protocol] "
         "[bind] [reuseport] [backlog=%d+] [ipv6only=on] [ipv6only=off] [so_keepalive=on] "
         "[so_keepalive=off] [so_keepalive=%w*:%w*:%d*], [... next entry ...]")


def test_default_is_off(make_conf):
    assert conf.load(make_conf(), env={})["stream_listen"] == []


def test_listeners_and_their_flags(make_conf):
    c = conf.load(make_conf(stream_listen=(
        "127.0.0.1:9000 reuseport backlog=16384, 127.0.0.1:9001 ssl proxy_protocol "
        "so_keepalive=30m::10, [::1]:9002 udp bind ipv6only=on")), env={})
    tcp, tls, udp = c["stream_listen"]
    assert tcp == {"address": "127.0.0.1:9000", "host": "127.0.0.1", "port": 9000,
                   "ssl": False, "udp": False, "proxy_protocol": False,
                   "flags": "reuseport backlog=16384"}
    assert (tls["ssl"], tls["proxy_protocol"], tls["udp"], tls["flags"]) == (
        True, True, False, "so_keepalive=30m::10")
    assert (udp["host"], udp["port"], udp["udp"], udp["flags"]) == (
        "::1", 9002, True, "bind ipv6only=on")


@pytest.mark.parametrize("value", [
    "127.0.0.1:9000 http2",          # http2 is an HTTP listener's flag
    "127.0.0.1:9000 deferred",
    "127.0.0.1:9000 backlog=lots",
    "127.0.0.1:9000 ipv6only=maybe",
    "localhost",
    "127.0.0.1:0",
    "127.0.0.1:70000",
])
def test_kong_usage_message(make_conf, value):
    with pytest.raises(conf.ConfigError) as info:
        conf.load(make_conf(stream_listen=value), env={})
    assert str(info.value) == USAGE
    assert info.value.property == "stream_listen"


@pytest.mark.parametrize("flags,word", [
    ("ssl", "ssl"), ("backlog=10", "backlog"), ("so_keepalive=on", "so_keepalive"),
    ("proxy_protocol", "proxy_protocol")])
def test_udp_refuses_what_nginx_refuses(make_conf, flags, word):
    entry = f"127.0.0.1:9000 udp {flags}"
    with pytest.raises(conf.ConfigError) as info:
        conf.load(make_conf(stream_listen=entry), env={})
    assert str(info.value) == (f"invalid value for 'stream_listen': \"{word}\" parameter is "
                               f"incompatible with \"udp\" in '{entry}'")


def test_address_shared_with_proxy_listen_is_refused(make_conf):
    with pytest.raises(conf.ConfigError, match="127.0.0.1:9000 is also in proxy_listen"):
        conf.load(make_conf(proxy_listen="127.0.0.1:9000", stream_listen="127.0.0.1:9000"),
                  env={})
    # a UDP listener may share a TCP listener's port
    c = conf.load(make_conf(proxy_listen="127.0.0.1:9000", stream_listen="127.0.0.1:9000 udp"),
                  env={})
    assert c["stream_listen"][0]["udp"] is True


def test_stream_blocks_are_injected(make_conf):
    c = conf.load(make_conf(nginx_stream_variables_hash_max_size="2048"),
                  env={"KONG_NGINX_SPROXY_PROXY_BUFFER_SIZE": "32k",
                       "KONGPY_NGINX_SUPSTREAM_RANDOM": "two"})
    blocks = c.injected()
    assert blocks["stream"] == [("variables_hash_max_size", "2048")]
    assert blocks["sproxy"] == [("proxy_buffer_size", "32k")]
    assert blocks["supstream"] == [("random", "two")]


def test_parse_off_and_empty():
    assert streamconf.parse("off") == []
    assert streamconf.parse("off, 127.0.0.1:9000") == []   # Kong: `off` first wins
    with pytest.raises(conf.ConfigError):
        streamconf.parse("")
