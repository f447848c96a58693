"""proxy-cache's node: two workers, an extra shared dictionary injected, and
an upstream echo server that counts the requests it answered."""
from __future__ import annotations

import threading

import pytest

from tests.helpers.servers import EchoServer, _EchoHandler


class _CountingHandler(_EchoHandler):
    def _count_and_handle(self) -> None:
        with self.server.lock:
            self.server.hits += 1
        self._handle()

    do_GET = do_POST = do_PUT = do_PATCH = do_HEAD = _count_and_handle


class CountingUpstream(EchoServer):
    """The echo server; ``hits`` counts the requests it answered."""

    def __init__(self) -> None:
        super().__init__("upstream")
        self.httpd.RequestHandlerClass = _CountingHandler
        self.httpd.lock = threading.Lock()
        self.httpd.hits = 0

    @property
    def hits(self) -> int:
        return self.httpd.hits


@pytest.fixture(scope="module")
def upstream():
    server = CountingUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gateway(start_node):
    return start_node(workers=2, nginx_http_lua_shared_dict="pc_extra 1m")
