"""Plugin scenarios: key-auth (S2, S3) and the rate-limiting hooks (S4, S5).

They run through the Admin API only (`POST /plugins`, `POST /consumers`,
`POST /consumers/{c}/key-auth`), and skip cleanly while the node does not
offer the plugin.
"""
from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from bench import bulk, procs, wrk
from bench.context import Context, Skipped
from bench.node import AdminError, Node
from bench.runner import Subject

log = logging.getLogger(__name__)

KEY_HEADER = "apikey"            # key-auth's default key_names
NO_LIMIT = 1_000_000_000         # rate-limiting that never says 429 during a run


def enable_plugin(node: Node, name: str, route_id: str, config: dict | None = None) -> dict:
    """Adds a plugin to a route, or raises Skipped when the node refuses it."""
    body: dict[str, Any] = {"name": name, "route": {"id": route_id}}
    if config:
        body["config"] = config
    try:
        return node.call("POST", "/plugins", body)
    except AdminError as exc:
        if exc.status in (400, 404, 405):
            raise Skipped(f"{name} plugin not available") from None
        raise


def route(node: Node, ctx: Context, path: str) -> dict:
    node.call("POST", "/services", {"name": "up", "url": ctx.upstream.url})
    return node.call("POST", "/services/up/routes", {"name": path.strip("/"), "paths": [path]})


def add_consumers(node: Node, count: int, prefix: str = "c") -> list[tuple[str, str, str]]:
    """`count` consumers with one key each; returns (username, key, credential id)."""
    names = [f"{prefix}{i}" for i in range(count)]
    keys = [f"k{i}-{secrets.token_hex(8)}" for i in range(count)]
    bulk.run(node.admin, [("POST", "/consumers", {"username": n}) for n in names])
    creds = bulk.run(node.admin, [("POST", f"/consumers/{n}/key-auth", {"key": k})
                                  for n, k in zip(names, keys)])
    return [(n, k, (c or {}).get("id", "")) for n, k, c in zip(names, keys, creds)]


def _keys_file(ctx: Context, name: str, path: str, keys: list[str]) -> Path:
    return wrk.write_requests(ctx.workdir / f"requests-{name}.tsv",
                              [(path, "-", KEY_HEADER, k) for k in keys])


def _ka_node(ctx: Context, name: str, consumers: int,
             extra_plugins: tuple[tuple[str, dict], ...] = ()) -> tuple[Node, list[str]]:
    keys: list[str] = []

    def configure(node: Node) -> None:
        r = route(node, ctx, "/ka")
        enable_plugin(node, "key-auth", r["id"])
        for plugin, config in extra_plugins:
            enable_plugin(node, plugin, r["id"], config)
        keys.extend(k for _, k, _ in add_consumers(node, consumers))
        (node.root / "keys.txt").write_text("\n".join(keys))

    node = ctx.node(name, configure)
    if not keys:
        keys = (node.root / "keys.txt").read_text().split("\n")
    return node, keys


def s2(ctx: Context) -> Subject:
    node, keys = _ka_node(ctx, "ka1", 1)
    return Subject(node.target("S2"), ctx.load("/", _keys_file(ctx, "S2", "/ka", keys[:1])))


def s9(ctx: Context) -> Subject:
    """S2's route with oauth2 instead of key-auth and a valid bearer token
    (one application, one token, stored through the Admin API)."""
    tokens: list[str] = []

    def configure(node: Node) -> None:
        r = route(node, ctx, "/oa")
        enable_plugin(node, "oauth2", r["id"], {"enable_client_credentials": True})
        node.call("POST", "/consumers", {"username": "c0"})
        app = node.call("POST", "/consumers/c0/oauth2", {"name": "bench"})
        token = node.call("POST", "/oauth2_tokens", {
            "credential": {"id": app["id"]}, "service": {"id": r["service"]["id"]},
            "expires_in": 0})
        (node.root / "token.txt").write_text(token["access_token"])

    node = ctx.node("oa1", configure)
    tokens.append((node.root / "token.txt").read_text().strip())
    rows = [("/oa", "-", "Authorization", f"Bearer {tokens[0]}")]
    return Subject(node.target("S9"),
                   ctx.load("/", wrk.write_requests(ctx.workdir / "requests-S9.tsv", rows)))


def s3(ctx: Context) -> Subject:
    node, keys = _ka_node(ctx, "ka-many", ctx.mode.consumers)
    return Subject(node.target("S3"), ctx.load("/", _keys_file(ctx, "S3", "/ka", keys)))


def s4(ctx: Context) -> Subject:
    limit = ("rate-limiting", {"minute": NO_LIMIT, "policy": "local"})
    node, keys = _ka_node(ctx, "ka-rl", 1, (limit,))
    return Subject(node.target("S4"), ctx.load("/", _keys_file(ctx, "S4", "/ka", keys[:1])))


def _redis(ctx: Context) -> int:
    binary = procs.which("redis-server")
    if binary is None:
        raise Skipped("redis-server is not installed (scripts/setup.sh --dev)")
    port = procs.free_port()
    workdir = ctx.workdir / "redis"
    workdir.mkdir(exist_ok=True)
    proc = procs.spawn([*procs.pin_args(procs.LOAD_CPU), binary, "--port", str(port),
                        "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                        "--dir", str(workdir)], log_path=workdir / "redis.log")
    procs.managed(proc)
    procs.wait_port(port)
    return port


def s5(ctx: Context) -> Subject:
    def configure(node: Node) -> None:
        r = route(node, ctx, "/rl")
        # refuse early, before starting a Redis server for nothing
        plugin = enable_plugin(node, "rate-limiting", r["id"],
                               {"minute": NO_LIMIT, "policy": "local"})
        port = _redis(ctx)
        node.call("DELETE", f"/plugins/{plugin['id']}")
        enable_plugin(node, "rate-limiting", r["id"], {
            "minute": NO_LIMIT, "policy": "redis",
            "redis": {"host": "127.0.0.1", "port": port}})

    node = ctx.node("rl-redis", configure)
    return Subject(node.target("S5"), ctx.load("/rl"))
