"""A kongpy node on its embedded default (SQLite), started through its CLI."""
from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any

import requests

from bench import procs
from bench.servers import Target
from kongpy.sync.push import ControlClient, DataPlaneError

log = logging.getLogger(__name__)

CLI = [sys.executable, "-c", "import sys; from kongpy.cli import main; sys.exit(main())"]
_RELOAD_RE = re.compile(r"signal 1 \(SIGHUP\) received|reconfiguring")


class AdminError(RuntimeError):
    def __init__(self, method: str, path: str, resp: requests.Response) -> None:
        super().__init__(f"{method} {path} answered {resp.status_code}: {resp.text[:300]}")
        self.status = resp.status_code


class Node:
    """One node in `<workdir>/<name>`: 1 nginx worker pinned to SUT_CPU."""

    def __init__(self, workdir: Path, name: str, extra: dict[str, str] | None = None,
                 proxy_flags: str = "") -> None:
        self.name = name
        self.root = workdir / name
        self.prefix = self.root / "prefix"
        self.conf_path = self.root / "kongpy.conf"
        self.proxy_port = procs.free_port()
        self.admin_port = procs.free_port()
        self.settings = {
            "prefix": str(self.prefix),
            "database": "sqlite",
            "proxy_listen": f"127.0.0.1:{self.proxy_port} {proxy_flags}".strip(),
            "admin_listen": f"127.0.0.1:{self.admin_port}",
            "admin_gui_listen": "off",
            "nginx_worker_processes": "1",
            "nginx_main_worker_cpu_affinity": "1" + "0" * procs.SUT_CPU,
            "admin_workers": "2",
            "proxy_access_log": "off",
            "admin_access_log": "off",
            "log_level": "notice",
        }
        self.settings.update(extra or {})
        self.session = requests.Session()
        self.control = ControlClient(str(self.prefix / "sockets" / "control.sock"), timeout=30)
        self._stop_cb = None
        self.tls = "ssl" in proxy_flags.split()

    @property
    def admin(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KONG_", "KONGPY_"))}
        # the CLI, the supervisor and the Admin API inherit the load core
        cmd = [*procs.pin_args(procs.LOAD_CPU), *CLI, *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              start_new_session=True)
        if proc.returncode != 0:
            raise RuntimeError(f"kongpy {' '.join(args)} exited {proc.returncode}: "
                               f"{proc.stderr.strip()[-1500:]}")
        return proc

    def start(self, prepare: Callable[["Node"], Any] | None = None) -> "Node":
        """Bootstraps the datastore, runs `prepare` (e.g. a bulk import), starts."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text("".join(f"{k} = {v}\n" for k, v in self.settings.items()))
        self.cli("migrations", "bootstrap", "-c", str(self.conf_path))
        if prepare is not None:
            prepare(self)
        self._stop_cb = procs.on_exit(self.stop)
        self.cli("start", "-c", str(self.conf_path), "-p", str(self.prefix))
        log.info("kongpy node %s: proxy :%d, admin :%d", self.name, self.proxy_port,
                 self.admin_port)
        return self

    def stop(self) -> None:
        if self._stop_cb is not None:
            procs.forget(self._stop_cb)
            self._stop_cb = None
        self.session.close()
        try:
            self.cli("stop", "-p", str(self.prefix), timeout=60)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            log.warning("kongpy stop %s: %s", self.name, exc)

    def target(self, name: str) -> Target:
        if self.tls:
            return Target(name, self.proxy_port, self.worker_pids, stop=lambda: None,
                          scheme="https", host="localhost")
        return Target(name, self.proxy_port, self.worker_pids, stop=lambda: None)

    # -- the data plane -------------------------------------------------------

    def dp_state(self) -> dict[str, Any]:
        return self.control.snapshot_state()

    def worker_pids(self) -> list[int]:
        return [w["pid"] for w in self.dp_state().get("workers", []) if w.get("pid")]

    def master_pid(self) -> int | None:
        pid_file = self.prefix / "pids" / "nginx.pid"
        try:
            return int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def reload_marks(self) -> int:
        """How many reloads nginx has logged so far (notice level)."""
        log_path = self.prefix / "logs" / "error.log"
        try:
            text = log_path.read_text(errors="replace")
        except OSError:
            return 0
        return sum(1 for line in text.splitlines() if _RELOAD_RE.search(line))

    def wait_version(self, version: int, timeout: float = 60.0, poll: float = 0.002) -> float:
        """Waits until every worker serves `version`; returns when (monotonic)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                workers = self.dp_state().get("workers") or []
            except DataPlaneError:
                workers = []
            if workers and all((w.get("version") or 0) >= version for w in workers):
                return time.monotonic()
            time.sleep(poll)
        raise RuntimeError(f"{self.name}: data plane did not reach version {version}")

    def db_version(self) -> int:
        """The datastore's latest version (what the data plane should reach)."""
        from kongpy import conf as kconf
        from kongpy import db as kdb
        database = kdb.open(kconf.load(str(self.conf_path), env={}))
        try:
            return int(database.events.latest() or 0)
        finally:
            database.close()

    def wait_synced(self, timeout: float = 120.0) -> float:
        """Waits until the data plane serves what the Admin API last wrote."""
        return self.wait_version(self.db_version(), timeout, poll=0.05)

    # -- the Admin API ----------------------------------------------------------

    def call(self, method: str, path: str, payload: dict | None = None,
             ok: tuple[int, ...] = (200, 201, 204)) -> Any:
        resp = self.session.request(method, self.admin + path, json=payload, timeout=30)
        if resp.status_code not in ok:
            raise AdminError(method, path, resp)
        return resp.json() if resp.content else None
