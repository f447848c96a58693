"""A real kongpy node for integration tests, driven through its CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from kongpy.sync.push import UnixHTTPConnection

from tests.helpers import datastores
from tests.helpers.http import admin
from tests.helpers.servers import free_port

CLI = [sys.executable, "-c", "import sys; from kongpy.cli import main; sys.exit(main())"]


def control_request(prefix: Path, method: str, path: str, body: bytes | None = None,
                    token: str | None = None):
    """One request on the node's control socket, with its secret unless ``token`` is given."""
    sockets = prefix / "sockets"
    conn = UnixHTTPConnection(str(sockets / "control.sock"), timeout=10.0)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        secret = token if token is not None else (sockets / "control.token").read_text()
        headers["Authorization"] = f"Bearer {secret.strip()}"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, (json.loads(data) if data else None)
    finally:
        conn.close()


class Gateway:
    """One node: a prefix, a conf file, free loopback ports."""

    def __init__(self, workdir: Path, workers: int = 2, extra: dict[str, str] | None = None,
                 ports: dict[str, int] | None = None) -> None:
        self.prefix = workdir / "prefix"
        self.conf_path = workdir / "kongpy.conf"
        self.ports = ports or {
            "proxy": free_port(), "proxy_ssl": free_port(), "admin": free_port()}
        self.settings = {
            "prefix": str(self.prefix),
            "database": "sqlite",
            "proxy_listen": (f"127.0.0.1:{self.ports['proxy']}, "
                             f"127.0.0.1:{self.ports['proxy_ssl']} ssl"),
            "admin_listen": f"127.0.0.1:{self.ports['admin']}",
            "admin_gui_listen": "off",
            "nginx_worker_processes": str(workers),
            "admin_workers": "1",
            "log_level": "info",
        }
        self.settings.update(extra or {})
        self.write_conf()

    def write_conf(self) -> None:
        lines = [f"{k} = {v}" for k, v in self.settings.items()]
        self.conf_path.write_text("\n".join(lines) + "\n")

    @property
    def admin(self) -> str:
        return f"http://127.0.0.1:{self.ports['admin']}"

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.ports['proxy']}"

    @property
    def proxy_ssl(self) -> str:
        return f"https://127.0.0.1:{self.ports['proxy_ssl']}"

    def cli(self, *args: str, check: bool = True,
            timeout: float = 60) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("KONG_", "KONGPY_"))}
        proc = subprocess.run([*CLI, *args], capture_output=True, text=True,
                              timeout=timeout, env=env)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"kongpy {' '.join(args)} exited {proc.returncode}\n"
                f"stdout: {proc.stdout}\nstderr: {proc.stderr}\n{self.error_log_tail()}")
        return proc

    def start(self) -> "Gateway":
        self.cli("migrations", "bootstrap", "-c", str(self.conf_path))
        try:
            self.cli("start", "-c", str(self.conf_path), "-p", str(self.prefix))
        except BaseException:
            # a start that failed or timed out may have left the supervisor
            # (and an nginx it keeps restarting) behind
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.cli("stop", "-p", str(self.prefix), check=False)

    def error_log_tail(self, lines: int = 40) -> str:
        log = self.prefix / "logs" / "error.log"
        if not log.exists():
            return ""
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        return "error.log tail:\n" + "\n".join(tail)

    # -- the data plane -------------------------------------------------

    def dataplane_config(self) -> dict:
        status, body = control_request(self.prefix, "GET", "/snapshot")
        assert status == 200, body
        return body

    def open_db(self):  # noqa: ANN201 - kongpy.db.DB, imported lazily
        """A handle on the node's datastore (the caller closes it)."""
        from kongpy import conf as kconf
        from kongpy import db as kdb
        return kdb.open(kconf.load(str(self.conf_path), env={}))

    def counter(self, table: str, key: dict) -> int:
        """The datastore total of one rate-limiting counter (``cluster`` policy)."""
        from kongpy.db import metrics
        database = self.open_db()
        try:
            return metrics.apply(database.strategy, table, [dict(key, value=0)])[0]
        finally:
            database.close()

    def db_version(self) -> int:
        database = self.open_db()
        try:
            return database.events.latest()
        finally:
            database.close()

    def wait_sync(self, timeout: float = 5.0) -> int:
        """Waits until every worker serves the datastore's latest version."""
        wanted = self.db_version()
        deadline = time.monotonic() + timeout
        state: dict = {}
        while time.monotonic() < deadline:
            state = self.dataplane_config()
            workers = state.get("workers") or []
            if workers and all((w.get("version") or 0) >= wanted for w in workers):
                return wanted
            time.sleep(0.02)
        raise AssertionError(f"data plane did not reach version {wanted}: {state}")

    def assert_clean_error_log(self) -> None:
        """No Lua error and no line at level error or above in the error log."""
        log = (self.prefix / "logs" / "error.log").read_text(errors="replace")
        assert "runtime error" not in log and "entry thread aborted" not in log
        assert not [line for line in log.splitlines()
                    if any(level in line for level in ("[error]", "[crit]", "[alert]"))]

    # -- Admin API shortcuts ----------------------------------------------

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(self.admin + path, timeout=10, **kwargs)

    def create(self, path: str, payload: dict) -> dict:
        return admin(self).post(path, payload)

    def route(self, path: str, *plugins: dict, service: str = "svc") -> dict:
        """A route of ``service`` named after ``path``, with ``plugins`` on it (not waited for)."""
        route = self.create(f"/services/{service}/routes",
                            {"name": path.strip("/"), "paths": [path]})
        for plugin in plugins:
            self.create(f"/routes/{route['id']}/plugins", plugin)
        return route

    def proxied(self, name: str, url: str, *paths: str) -> dict:
        """A service named ``name`` for ``url`` with one route for ``paths``, served."""
        service = self.create("/services", {"name": name, "url": url})
        self.create(f"/services/{name}/routes", {"paths": list(paths)})
        self.wait_sync()
        return service

    def add_plugin_routes(self, service: str, plugin: str, routes: dict[str, dict],
                          anonymous: tuple[str, str] | None = None) -> None:
        """One route of ``service`` per path, each with ``plugin`` and its config.

        ``anonymous`` (path, consumer id): that route also runs key-auth with
        the consumer as its anonymous fallback.
        """
        for path, config in routes.items():
            route = self.create(f"/services/{service}/routes", {"paths": [path]})
            self.create(f"/routes/{route['id']}/plugins", {"name": plugin, "config": config})
            if anonymous is not None and path == anonymous[0]:
                self.create(f"/routes/{route['id']}/plugins",
                            {"name": "key-auth", "config": {"anonymous": anonymous[1]}})


@contextmanager
def datastore_node(tmp_path_factory, backend: str) -> Iterator[Gateway]:
    """One running node (one worker) on a new datastore of ``backend``."""
    settings = datastores.isolated(backend, tmp_path_factory.mktemp("db"))
    node = Gateway(tmp_path_factory.mktemp("node"), workers=1,
                   extra=datastores.as_conf(settings)).start()
    try:
        yield node
    finally:
        node.stop()
        if backend != "sqlite":
            datastores.drop(settings)


@contextmanager
def shared_datastore_nodes(tmp_path_factory, backend: str,
                           extra: dict[str, str] | None = None) -> Iterator[list[Gateway]]:
    """Two running nodes ``a`` and ``b`` on one new datastore of ``backend``."""
    settings = datastores.isolated(backend, tmp_path_factory.mktemp("db"))
    conf = {**datastores.as_conf(settings), **(extra or {})}
    nodes: list[Gateway] = []
    try:
        for name in ("a", "b"):
            nodes.append(Gateway(tmp_path_factory.mktemp(f"node-{name}"), workers=1,
                                 extra=conf).start())
        yield nodes
    finally:
        for node in nodes:
            node.stop()
        datastores.drop(settings)
