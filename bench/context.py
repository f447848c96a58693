"""What scenarios share during one invocation: the mode, the servers, the nodes."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import servers, wrk
from bench.node import Node
from bench.runner import Subject

log = logging.getLogger(__name__)


class Skipped(Exception):
    """The scenario cannot run on this node (e.g. a plugin is not available)."""


@dataclass(frozen=True)
class Mode:
    name: str
    pairs: int               # adjacent (baseline, subject) pairs per scenario
    duration: float          # seconds per wrk run
    warmup: float            # seconds of unmeasured load per target, once per scenario
    routes: int              # R2
    consumers: int           # S3
    change_seconds: int      # C1: one change per second for this long
    revocations: int         # C3
    credentials: int         # K1
    connections: int = 64


QUICK = Mode("quick", pairs=1, duration=2, warmup=1, routes=1000, consumers=1000,
             change_seconds=6, revocations=3, credentials=10000)
FULL = Mode("full", pairs=5, duration=6, warmup=3, routes=10000, consumers=10000,
            change_seconds=30, revocations=10, credentials=100000)


@dataclass
class Context:
    workdir: Path
    mode: Mode
    upstream: servers.Target
    subjects: dict[str, Subject] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    node_skips: dict[str, str] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    builders: dict[str, Callable[["Context"], Subject]] = field(default_factory=dict)
    node_extra: dict[str, str] = field(default_factory=dict)   # settings for every node
    shared: dict[str, Any] = field(default_factory=dict)        # helpers started once (T1's echo)

    def load(self, path: str = "/", requests_file: Path | None = None,
             **kwargs: Any) -> wrk.Load:
        return wrk.Load(path=path, requests_file=requests_file,
                        connections=kwargs.pop("connections", self.mode.connections), **kwargs)

    def subject(self, name: str) -> Subject:
        """A subject by scenario name, built on first use."""
        if name not in self.subjects:
            if name not in self.builders:
                raise KeyError(f"no subject named {name}")
            self.subjects[name] = self.builders[name](self)
        return self.subjects[name]

    def node(self, name: str, configure: Callable[[Node], None],
             extra: dict[str, str] | None = None, proxy_flags: str = "") -> Node:
        """A started, configured node by name (configured once, reused)."""
        if name in self.node_skips:
            raise Skipped(self.node_skips[name])
        if name not in self.nodes:
            node = Node(self.workdir, name, {**self.node_extra, **(extra or {})},
                        proxy_flags).start()
            try:
                configure(node)
            except Skipped as exc:
                node.stop()
                self.node_skips[name] = str(exc)
                raise
            except BaseException:
                node.stop()
                raise
            node.wait_synced()
            self.nodes[name] = node
        return self.nodes[name]

    def release(self, keep: set[str]) -> None:
        """Stops nodes and peers no longer needed."""
        for name in [n for n in self.nodes if n not in keep]:
            log.info("stopping node %s", name)
            self.nodes.pop(name).stop()
        for name in [n for n, s in self.subjects.items() if n not in keep and n != "S0"]:
            self.subjects.pop(name).target.stop()
