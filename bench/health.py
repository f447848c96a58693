"""L2: one service over an upstream of three targets with active health
checks every second, against S1 (one service straight to its host): what the
balancer and the node's prober cost a proxied request."""
from __future__ import annotations

from bench import servers
from bench.context import Context
from bench.node import Node
from bench.runner import Subject

HEALTHCHECKS = {"active": {"type": "http", "http_path": "/", "timeout": 1,
                           "healthy": {"interval": 1, "successes": 1},
                           "unhealthy": {"interval": 1, "http_failures": 1,
                                         "tcp_failures": 1, "timeouts": 1}}}


def l2(ctx: Context) -> Subject:
    # two more copies of the upstream: three targets on three ports
    ports = [ctx.upstream.port] + [
        servers.start_upstream(ctx.workdir / f"l2-upstream-{i}").port for i in (1, 2)]

    def configure(node: Node) -> None:
        node.call("POST", "/upstreams", {"name": "l2.bench", "healthchecks": HEALTHCHECKS})
        for port in ports:
            node.call("POST", "/upstreams/l2.bench/targets", {"target": f"127.0.0.1:{port}"})
        node.call("POST", "/services", {"name": "l2", "host": "l2.bench", "port": 80})
        node.call("POST", "/services/l2/routes", {"name": "l2", "paths": ["/l2"]})
    return Subject(ctx.node("l2", configure).target("L2"), ctx.load("/l2"))
