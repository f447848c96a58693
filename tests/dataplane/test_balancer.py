"""Load balancing over upstreams through a real nginx (contracts.md §6):
algorithms, weights, retries, host header, changes under load, DNS targets."""
from __future__ import annotations

import collections
import concurrent.futures
import itertools
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from kongpy.sync.snapshot import SNAPSHOT_FORMAT
from tests.helpers.dns_server import DnsServer
from tests.helpers.servers import EchoServer, free_port

from .harness import DataPlane, framed, route, service, snapshot

pytestmark = pytest.mark.integration

_versions = itertools.count(1000)
RING_ERROR = "failure to get a peer from the ring-balancer"


def upstream(uid: str, name: str, **fields: Any) -> dict[str, Any]:
    row = {
        "id": uid, "name": name, "algorithm": "round-robin", "hash_on": "none",
        "hash_fallback": "none", "hash_on_header": None, "hash_fallback_header": None,
        "hash_on_cookie": None, "hash_on_cookie_path": "/", "hash_on_query_arg": None,
        "hash_fallback_query_arg": None, "hash_on_uri_capture": None,
        "hash_fallback_uri_capture": None, "slots": 10000, "host_header": None,
        "client_certificate": None, "use_srv_name": False, "tags": None,
        "healthchecks": {"threshold": 0}, "created_at": 1700000000, "updated_at": 1700000000,
    }
    row.update(fields)
    return row


def target(tid: str, uid: str, address: str, weight: int = 100) -> dict[str, Any]:
    return {"id": tid, "upstream": {"id": uid}, "target": address, "weight": weight,
            "tags": None, "created_at": 1700000000.0, "updated_at": 1700000000.0}


class Env:
    def __init__(self, dp: DataPlane, dns: DnsServer, servers: dict[str, EchoServer]) -> None:
        self.dp, self.dns, self.servers = dp, dns, servers
        self.version = 0

    def push(self, ups: list, targets: list, services: list | None = None,
             routes: list | None = None) -> int:
        version = next(_versions)
        snap = snapshot(version, services or [], routes or [])
        snap["upstreams"], snap["targets"] = ups, targets
        status, body = self.dp.push(snap)
        assert status == 201, body
        self.dp.wait_version(version)
        self.version = version
        return version

    def delta(self, **changes: dict) -> int:
        version = next(_versions)
        status, body = self.dp.control("POST", "/snapshot/delta", framed({
            "snapshot_format": SNAPSHOT_FORMAT, "base_version": self.version,
            "version": version, "hash": f"{version:064x}", "changes": changes}))
        assert status in (200, 201), body
        self.dp.wait_version(version)
        self.version = version
        return version

    def one(self, name: str, upstream_name: str, *, retries: int = 0,
            path: str = "/lb", **route_fields: Any) -> tuple[list, list]:
        return ([service(f"s-{name}", 80, host=upstream_name, retries=retries)],
                [route(f"r-{name}", f"s-{name}", paths=[path], **route_fields)])

    def addr(self, key: str) -> str:
        s = self.servers[key]
        return f"{s.host}:{s.port}"


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.fail("nginx is required for the data-plane tests")
    dns = DnsServer()
    shared_port = free_port("127.0.0.2")
    servers = {k: EchoServer(k).start() for k in ("a", "b", "c")}
    servers["slow"] = EchoServer("slow", delay=0.4).start()
    servers["x2"] = EchoServer("x2", host="127.0.0.2", port=shared_port).start()
    servers["x3"] = EchoServer("x3", host="127.0.0.3", port=shared_port).start()
    prefix = Path(tempfile.mkdtemp(prefix="kpb", dir="/tmp"))
    dp = DataPlane(prefix, settings_overrides={"dns_resolver": [dns.address],
                                               "dns_order": ["LAST", "SRV", "A", "CNAME"]})
    dp.start()
    yield Env(dp, dns, servers)
    dp.stop()
    for s in servers.values():
        s.stop()
    dns.close()
    shutil.rmtree(prefix, ignore_errors=True)


def closed_port() -> int:
    return free_port()


def names(env: Env, n: int, path: str = "/lb", **kwargs: Any) -> collections.Counter:
    seen: collections.Counter = collections.Counter()
    with requests.Session() as s:
        for _ in range(n):
            r = s.get(env.dp.url(path), **kwargs)
            assert r.status_code == 200, r.text
            seen[r.json()["name"]] += 1
    return seen


def test_weighted_round_robin_spreads_by_weight_and_weight_zero_gets_nothing(env: Env) -> None:
    svcs, rts = env.one("rr", "rr.up")
    env.push([upstream("u-rr", "rr.up")],
             [target("t1", "u-rr", env.addr("a"), 100), target("t2", "u-rr", env.addr("b"), 200),
              target("t3", "u-rr", env.addr("c"), 100),
              target("t4", "u-rr", env.addr("slow"), 0)], svcs, rts)
    seen = names(env, 2000)
    assert seen["slow"] == 0
    for name, expected in (("a", 500), ("b", 1000), ("c", 500)):
        assert abs(seen[name] - expected) <= expected * 0.05, seen


def test_all_weights_zero_or_no_targets_is_kongs_503(env: Env) -> None:
    svcs, rts = env.one("zero", "zero.up")
    svcs2, rts2 = env.one("none", "none.up", path="/none")
    env.push([upstream("u-z", "zero.up"), upstream("u-n", "none.up")],
             [target("tz", "u-z", env.addr("a"), 0)], svcs + svcs2, rts + rts2)
    for path in ("/lb", "/none"):
        r = requests.get(env.dp.url(path))
        assert r.status_code == 503
        assert r.json()["message"] == RING_ERROR


def test_retries_go_to_another_target_when_one_refuses(env: Env) -> None:
    svcs, rts = env.one("retry", "retry.up", retries=3)
    dead = f"127.0.0.1:{closed_port()}"
    env.push([upstream("u-r", "retry.up")],
             [target("t1", "u-r", dead), target("t2", "u-r", env.addr("a")),
              target("t3", "u-r", f"127.0.0.1:{closed_port()}")], svcs, rts)
    seen = names(env, 60)
    assert seen == {"a": 60}


def test_host_header_and_target_host(env: Env) -> None:
    svcs, rts = env.one("hh", "hh.up")
    svcs2, rts2 = env.one("plain", "plain.up", path="/plain")
    svcs3, rts3 = env.one("keep", "hh.up", path="/keep", preserve_host=True)
    env.push([upstream("u-h", "hh.up", host_header="backend.example"),
              upstream("u-p", "plain.up")],
             [target("t1", "u-h", env.addr("a")), target("t2", "u-p", env.addr("b"))],
             svcs + svcs2 + svcs3, rts + rts2 + rts3)
    port_a, port_b = env.servers["a"].port, env.servers["b"].port
    assert requests.get(env.dp.url("/lb")).json()["headers"]["host"] == \
        f"backend.example:{port_a}"
    assert requests.get(env.dp.url("/plain")).json()["headers"]["host"] == \
        f"127.0.0.1:{port_b}"
    assert requests.get(env.dp.url("/keep"), headers={"Host": "client.example"}
                        ).json()["headers"]["host"] == "client.example"


def test_upstream_connections_are_kept_alive_per_target(env: Env) -> None:
    svcs, rts = env.one("ka", "ka.up")
    env.push([upstream("u-ka", "ka.up")],
             [target("t1", "u-ka", env.addr("b")), target("t2", "u-ka", env.addr("c"))],
             svcs, rts)
    before = env.servers["b"].connections + env.servers["c"].connections
    seen = names(env, 200)
    assert seen["b"] == seen["c"] == 100
    # two workers, two targets: a handful of connections, not one per request
    assert env.servers["b"].connections + env.servers["c"].connections - before <= 8


def hash_targets(env: Env, keys: list[str], header: str = "X-Key") -> dict[str, str]:
    with requests.Session() as s:
        return {k: s.get(env.dp.url("/lb"), headers={header: k}).json()["name"] for k in keys}


def test_consistent_hashing_keeps_keys_and_moves_about_a_third(env: Env) -> None:
    svcs, rts = env.one("ch", "ch.up")
    up = upstream("u-ch", "ch.up", algorithm="consistent-hashing", hash_on="header",
                  hash_on_header="X-Key", hash_fallback="ip")
    targets = [target(f"t{k}", "u-ch", env.addr(k)) for k in ("a", "b", "c")]
    env.push([up], targets, svcs, rts)
    keys = [f"user-{i}" for i in range(1800)]
    first = hash_targets(env, keys)
    assert hash_targets(env, keys) == first
    counts = collections.Counter(first.values())
    assert all(counts[k] > 300 for k in ("a", "b", "c")), counts
    env.delta(targets={"delete": ["tc"]})
    after = hash_targets(env, keys)
    assert "c" not in after.values()
    moved = sum(1 for k in keys if after[k] != first[k])
    assert moved <= len(keys) * (1 / 3 + 0.05), moved
    # the keys of the remaining targets stay where they were
    assert all(after[k] == first[k] for k in keys if first[k] != "c")


def test_consistent_hashing_on_a_cookie_hands_one_out(env: Env) -> None:
    svcs, rts = env.one("ck", "ck.up")
    up = upstream("u-ck", "ck.up", algorithm="consistent-hashing", hash_on="cookie",
                  hash_on_cookie="lb", hash_on_cookie_path="/app")
    env.push([up], [target(f"t{k}", "u-ck", env.addr(k)) for k in ("a", "b", "c")], svcs, rts)
    r = requests.get(env.dp.url("/lb"))
    cookie = r.headers["Set-Cookie"]
    name, _, rest = cookie.partition("=")
    value = rest.split(";")[0]
    assert name == "lb" and len(value) == 36
    assert "Path=/app" in cookie
    chosen = {requests.get(env.dp.url("/lb"), cookies={"lb": value}).json()["name"]
              for _ in range(10)}
    assert len(chosen) == 1
    assert "Set-Cookie" not in requests.get(env.dp.url("/lb"), cookies={"lb": value}).headers


def test_least_connections_prefers_the_idle_targets(env: Env) -> None:
    svcs, rts = env.one("lc", "lc.up")
    env.push([upstream("u-lc", "lc.up", algorithm="least-connections")],
             [target(f"t{k}", "u-lc", env.addr(k)) for k in ("slow", "a", "b")], svcs, rts)

    def one(_: int) -> str:
        r = requests.get(env.dp.url("/lb"))
        assert r.status_code == 200
        return r.json()["name"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        seen = collections.Counter(pool.map(one, range(120)))
    assert seen["slow"] * 3 < seen["a"] and seen["slow"] * 3 < seen["b"], seen


def test_latency_prefers_the_fast_targets(env: Env) -> None:
    svcs, rts = env.one("lat", "lat.up")
    env.push([upstream("u-lat", "lat.up", algorithm="latency")],
             [target(f"t{k}", "u-lat", env.addr(k)) for k in ("slow", "a")], svcs, rts)
    seen = names(env, 40)
    # each worker tries the slow one once or twice before it knows better
    assert seen["slow"] <= 4, seen


def test_targets_added_and_removed_under_load_fail_no_request(env: Env) -> None:
    svcs, rts = env.one("load", "load.up")
    env.push([upstream("u-l", "load.up")], [target("ta", "u-l", env.addr("a"))], svcs, rts)
    stop = threading.Event()
    failures: list[str] = []
    seen: collections.Counter = collections.Counter()

    def hammer() -> None:
        with requests.Session() as s:
            while not stop.is_set():
                r = s.get(env.dp.url("/lb"))
                if r.status_code != 200:
                    failures.append(f"{r.status_code} {r.text}")
                else:
                    seen[r.json()["name"]] += 1

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for _ in range(5):
            env.delta(targets={"upsert": [target("tb", "u-l", env.addr("b")),
                                          target("tc", "u-l", env.addr("c"))]})
            time.sleep(0.2)
            env.delta(targets={"delete": ["ta"]})
            time.sleep(0.2)
            env.delta(targets={"upsert": [target("ta", "u-l", env.addr("a"), 50)],
                               "delete": ["tb"]})
            time.sleep(0.2)
            env.delta(targets={"delete": ["tc"]})
            time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert failures == []
    assert seen["a"] and seen["b"] and seen["c"], seen


def test_a_record_target_spreads_over_its_addresses(env: Env) -> None:
    port = env.servers["x2"].port
    env.dns.set("multi.test", A=[("127.0.0.2", 60), ("127.0.0.3", 60)])
    svcs, rts = env.one("dnsa", "dnsa.up")
    env.push([upstream("u-da", "dnsa.up")], [target("t1", "u-da", f"multi.test:{port}")],
             svcs, rts)
    seen = names(env, 200)
    assert seen == {"x2": 100, "x3": 100}


def test_srv_target_uses_ports_weights_and_top_priority(env: Env) -> None:
    a, b, c = (env.servers[k].port for k in ("a", "b", "c"))
    env.dns.set("srv.test", SRV=[(10, 10, a, "one.test", 60), (10, 30, b, "two.test", 60),
                                 (20, 100, c, "three.test", 60)])
    for host in ("one.test", "two.test", "three.test"):
        env.dns.set(host, A=[("127.0.0.1", 60)])
    svcs, rts = env.one("srv", "srv.up")
    env.push([upstream("u-srv", "srv.up")], [target("t1", "u-srv", "srv.test:8000")],
             svcs, rts)
    seen = names(env, 400)
    assert seen["c"] == 0
    assert abs(seen["a"] - 100) <= 5 and abs(seen["b"] - 300) <= 15, seen


def test_dns_ttl_is_honoured(env: Env) -> None:
    port = env.servers["x2"].port
    env.dns.set("moving.test", A=[("127.0.0.2", 2)])
    svcs, rts = env.one("ttl", "ttl.up")
    env.push([upstream("u-t", "ttl.up")], [target("t1", "u-t", f"moving.test:{port}")],
             svcs, rts)
    assert names(env, 20) == {"x2": 20}
    env.dns.set("moving.test", A=[("127.0.0.3", 2)])
    changed = time.monotonic()
    # Every worker resolves for itself: a worker whose answer expired after the
    # change answers x3 at once while another keeps x2 for the rest of its
    # TTL. Each names() call is a new connection (any worker, often the same
    # one on a quiet machine): wait until several in a row see x3, within the
    # TTL (2 s) plus room for a loaded machine's nameserver round trips.
    deadline = changed + 12
    streak = 0
    while time.monotonic() < deadline and streak < 6:
        streak = streak + 1 if names(env, 5) == {"x3": 5} else 0
        time.sleep(0.1)
    assert streak >= 6
    # Once a whole TTL has passed since the change, no worker may still
    # hold the old answer.
    time.sleep(max(0.0, changed + 2.5 - time.monotonic()))
    assert all(names(env, 5) == {"x3": 5} for _ in range(4))


def test_unresolvable_target_leaves_the_others(env: Env) -> None:
    svcs, rts = env.one("nx", "nx.up")
    env.push([upstream("u-nx", "nx.up")],
             [target("t1", "u-nx", "nowhere.test:80"), target("t2", "u-nx", env.addr("a"))],
             svcs, rts)
    assert names(env, 10) == {"a": 10}
