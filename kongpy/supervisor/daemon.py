"""The node supervisor: nginx, Admin API and GUI children, the sync loop, signals.

SIGHUP re-reads `<prefix>/.kongpy_env` and reloads what changed; SIGTERM,
SIGQUIT and SIGINT stop the node gracefully (in-flight requests finish).
"""
from __future__ import annotations

import logging
import os
import re
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import IO

from kongpy import conf, guiconf, paths
from kongpy.render import writer
from kongpy.render.context import enabled_plugins, write_socket_target
from kongpy.supervisor import pidfile
from kongpy.supervisor.process import (Child, become_subreaper, children_of, reap,
                                       threads_children)
from kongpy.sync.loop import SyncLoop, open_node_db
from kongpy.sync.push import write_token
from kongpy.sync.writes import WriteServer

log = logging.getLogger(__name__)

STOP_TIMEOUT_FILE = "stop_timeout"
DEFAULT_STOP_TIMEOUT = 10.0
_TICK = 0.1
_REAP_EVERY = 10
_ADMIN_KEYS = ("admin_listen", "admin_workers", "admin_access_log", "admin_error_log",
               "log_level")
_GUI_KEYS = ("admin_gui_listen", "admin_gui_path", "admin_gui_api_url", "admin_gui_access_log",
             "admin_gui_error_log", "admin_listen", "log_level")
_GUNICORN_LEVELS = {"debug": "debug", "info": "info", "notice": "info", "warn": "warning",
                    "error": "error", "crit": "critical", "alert": "critical",
                    "emerg": "critical"}
_PY_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "notice": logging.INFO,
              "warn": logging.WARNING, "error": logging.ERROR}
_DAEMON_RE = re.compile(r"^\s*daemon\s", re.MULTILINE)


def load_saved(prefix: str | Path) -> conf.Config:
    """The conf the node was started (or last reloaded) with."""
    return conf.load(str(paths.prefix(prefix).env_file), env={})


def _gunicorn_has_control_socket() -> bool:
    try:
        from gunicorn.config import Config as GunicornConfig
    except ImportError:
        return False
    return "control_socket_disable" in GunicornConfig().settings


_GUNICORN_HAS_CONTROL_SOCKET = _gunicorn_has_control_socket()


def _in_prefix(config: conf.Config, value: str) -> str:
    return value if os.path.isabs(value) else os.path.join(config["prefix"], value)


def _remove_stale_socket(path: Path) -> None:
    """A killed nginx leaves its unix socket file behind; binding it again fails."""
    if not path.exists():
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
        return  # someone still listens: leave it
    except OSError:
        pass
    finally:
        probe.close()
    path.unlink(missing_ok=True)


def _owner_only(path: Path) -> None:
    """nginx makes its unix sockets 0666; its folder is owner-only, and so is
    the socket once nginx has created it."""
    try:
        if path.stat().st_mode & 0o777 != 0o600:
            path.chmod(0o600)
    except OSError:
        pass  # not created yet, or nginx is restarting


class Supervisor:
    def __init__(self, prefix: str | Path) -> None:
        self.prefix = paths.prefix(prefix)
        self.config = load_saved(self.prefix.root)
        self._log_file: IO | None = None
        self._stop_signal: int | None = None
        self._reload_requested = False
        self.loop: SyncLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self.writes: WriteServer | None = None
        self.nginx: Child | None = None
        self.admin: Child | None = None
        self.gui: Child | None = None
        self._ticks = 0
        self._nginx_workers: list[int] = []

    # -- set-up ----------------------------------------------------------

    def _setup_logging(self) -> None:
        path = _in_prefix(self.config, self.config["proxy_error_log"] or "logs/error.log")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._log_file = open(path, "a", buffering=1)
        handler = logging.StreamHandler(self._log_file)
        handler.setFormatter(logging.Formatter(
            f"%(asctime)s [%(levelname)s] supervisor[{os.getpid()}]: %(message)s",
            "%Y/%m/%d %H:%M:%S"))
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(_PY_LEVELS.get(self.config["log_level"], logging.ERROR))

    def _install_signals(self) -> None:
        def stop(signum: int, _frame: object) -> None:
            self._stop_signal = signum

        def hup(_signum: int, _frame: object) -> None:
            self._reload_requested = True

        for sig in (signal.SIGTERM, signal.SIGQUIT, signal.SIGINT):
            signal.signal(sig, stop)
        signal.signal(signal.SIGHUP, hup)
        signal.signal(signal.SIGCHLD, self._on_sigchld)

    def _on_sigchld(self, _signum: int, _frame: object) -> None:
        # Workers of a killed master keep serving the old configuration; they
        # are told to quit at once (not at the next tick) so that every new
        # connection reaches the respawned nginx.
        pid = self.nginx.pid if self.nginx else None
        if pid and self._nginx_workers and not pidfile.alive(pid):
            for worker in self._nginx_workers:
                try:
                    os.kill(worker, signal.SIGQUIT)
                except ProcessLookupError:
                    pass
            self._nginx_workers = []

    def _nginx_argv(self) -> list[str]:
        argv = [paths.nginx_binary(), "-p", f"{self.prefix.root}/", "-c",
                str(self.prefix.nginx_conf)]
        try:
            has_daemon = bool(_DAEMON_RE.search(self.prefix.nginx_conf.read_text()))
        except OSError:
            has_daemon = False
        return argv if has_daemon else argv + ["-g", "daemon off;"]

    def _admin_argv(self) -> list[str]:
        config = self.config
        # gthread keeps client connections alive, as Kong's Admin API does:
        # decK and go-kong issue thousands of small requests in a row.
        return self._gunicorn_argv(config["admin_listen"], config["admin_workers"],
                                   config["admin_error_log"], config["admin_access_log"],
                                   pidfile.ADMIN_MARK)

    def _gui_argv(self) -> list[str]:
        config = self.config
        # static pages: one worker, its threads are plenty
        return self._gunicorn_argv(config["admin_gui_listen"], 1,
                                   config["admin_gui_error_log"], config["admin_gui_access_log"],
                                   pidfile.GUI_MARK)

    def _gunicorn_argv(self, listeners: list[dict], workers: int, error_log: str | None,
                       access_log: str | None, mark: str) -> list[str]:
        config = self.config
        argv = [sys.executable, "-m", "gunicorn"]
        for listener in listeners:
            argv += ["--bind", listener["address"]]
        argv += ["--workers", str(workers), "--worker-class", "gthread",
                 "--threads", "4", "--keep-alive", "60", "--graceful-timeout", "10",
                 # nginx reads request lines up to its 8k header buffers (Kong's
                 # Admin API answers a thousand query arguments); gunicorn's
                 # default stops at 4094 bytes
                 "--limit-request-line", "8190",
                 "--log-level", _GUNICORN_LEVELS.get(config["log_level"], "info"),
                 "--error-logfile", _in_prefix(config, error_log or "logs/error.log")]
        if access_log and access_log != "off":
            argv += ["--access-logfile", _in_prefix(config, access_log)]
        if _GUNICORN_HAS_CONTROL_SOCKET:
            # gunicorn's control socket defaults to one path per user, shared by
            # every node: none is used, none is opened
            argv.append("--no-control-socket")
        return argv + [f"{mark}:app"]

    def _make_children(self) -> None:
        env = dict(os.environ, KONGPY_PREFIX=str(self.prefix.root))
        # Both die with the supervisor (nginx finishing its requests), so a
        # killed supervisor never leaves a node that serves but cannot be managed.
        self.nginx = Child("nginx", self._nginx_argv, log_file=self._log_file,
                           death_signal=signal.SIGQUIT)
        if self.config["admin_listen"]:
            self.admin = Child("admin", self._admin_argv, log_file=self._log_file, env=env,
                               pid_file=self.prefix.pid_file("admin"),
                               death_signal=signal.SIGTERM)
        if guiconf.served(self.config):
            self.gui = Child("gui", self._gui_argv, log_file=self._log_file, env=env,
                             pid_file=self.prefix.pid_file("gui"),
                             death_signal=signal.SIGTERM)
        elif self.config["admin_gui_listen"]:
            log.warning(guiconf.WITHOUT_API)

    def _children(self) -> list[Child]:
        return [c for c in (self.nginx, self.admin, self.gui) if c is not None]

    # -- running ---------------------------------------------------------

    def run(self) -> int:
        self.prefix.make_dirs()
        self._setup_logging()
        self._install_signals()
        pidfile.write(self.prefix.pid_file("supervisor"), os.getpid())
        become_subreaper()
        try:
            writer.prepare(self.config)
        except writer.RenderError as exc:
            log.error("cannot start: %s", exc)
            pidfile.remove(self.prefix.pid_file("supervisor"))
            return 1
        write_token(self.prefix.control_token_file)
        log.info("starting node in %s (plugins: %s)", self.prefix.root,
                 ", ".join(enabled_plugins(self.config)) or "none")
        self._start_loop()
        self._make_children()
        for child in self._children():
            self._start_child(child)
        try:
            while self._stop_signal is None:
                self._step()
                time.sleep(_TICK)
        finally:
            self._shutdown()
        return 0

    def _start_loop(self) -> None:
        self.loop = SyncLoop(self.config, on_node_change=self._request_reload)
        self.loop.bind()
        self._loop_thread = threading.Thread(target=self.loop.run, name="sync", daemon=True)
        self._loop_thread.start()
        # the data plane's write channel (kongpy/sync/writes.py), before nginx starts
        socket, group = write_socket_target(self.config)
        self.writes = WriteServer(self.prefix.root, socket, group,
                                  lambda: open_node_db(self.config))
        self.writes.start()

    def _request_reload(self) -> None:
        # from the sync thread: the main loop reloads at its next step
        self._reload_requested = True

    def _step(self) -> None:
        if self._reload_requested:
            self._reload_requested = False
            self.reload()
        for child in self._children():
            code = child.exited()
            if code is not None and child.restart_at is None:
                self._on_death(child, code)
            elif child.due():
                self._start_child(child)
        self._ticks += 1
        _owner_only(self.prefix.control_socket)
        if self._ticks % _REAP_EVERY == 0:
            known = {c.pid for c in self._children()}
            reap([pid for pid in children_of(os.getpid()) if pid not in known])
        self._track_nginx_workers()

    def _track_nginx_workers(self) -> None:
        nginx = self.nginx.pid if self.nginx and self.nginx.exited() is None else None
        if nginx is None:
            return
        workers = threads_children(nginx)
        if workers is None and self._ticks % _REAP_EVERY == 0:
            workers = children_of(nginx)
        if workers is not None:
            self._nginx_workers = workers

    def _start_child(self, child: Child) -> None:
        if child is self.nginx:
            _remove_stale_socket(self.prefix.control_socket)
        child.start()
        if child is self.nginx and self.loop:
            self.loop.wake()

    def _on_death(self, child: Child, code: int) -> None:
        delay = child.schedule_restart()
        how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        log.error("%s exited unexpectedly (%s); restarting in %.1fs", child.name, how, delay)
        if child is self.nginx:
            pidfile.remove(self.prefix.pid_file("nginx"))
            self._stop_orphans()

    def _stop_orphans(self) -> None:
        """Workers of a killed nginx master keep the listening sockets; they must
        go (finishing their requests) before a new master can bind."""
        known = {c.pid for c in self._children()}
        orphans = [pid for pid in children_of(os.getpid()) if pid not in known]
        for pid in orphans:
            try:
                os.kill(pid, signal.SIGQUIT)
            except ProcessLookupError:
                pass
        if orphans:
            log.warning("stopping %d orphaned process(es): %s", len(orphans), orphans)

    # -- reload ------------------------------------------------------------

    def reload(self) -> bool:
        """Applies the saved conf; a conf nginx refuses leaves everything as is.

        nginx reloads even when nginx.conf did not change, as Kong's does: the
        new workers load the Lua code and plugin handlers afresh.
        """
        try:
            new = load_saved(self.prefix.root)
            if new["prefix"] != self.config["prefix"]:
                raise conf.ConfigError.invalid("prefix", "cannot change on reload")
            result = writer.prepare(new)
        except (conf.ConfigError, writer.RenderError) as exc:
            log.error("reload refused, the node keeps its configuration: %s", exc)
            return False
        old, self.config = self.config, new
        if self.nginx:
            log.info("reloading nginx (nginx.conf %s)",
                     "changed" if result.changed else "unchanged")
            self.nginx.signal(signal.SIGHUP)
        self._reload_admin(old)
        self._reload_gui(old)
        if self.loop:
            self.loop.reconfigure(new)
        if self.writes:
            self.writes.reset()
        log.info("reload complete")
        return True

    def _reload_admin(self, old: conf.Config) -> None:
        if self.admin is None:
            return
        if any(old[k] != self.config[k] for k in _ADMIN_KEYS):
            # Binds and worker count are gunicorn arguments: only a restart changes them.
            self.admin.stop(signal.SIGTERM, DEFAULT_STOP_TIMEOUT)
            self.admin.start()
        else:
            self.admin.signal(signal.SIGHUP)

    def _reload_gui(self, old: conf.Config) -> None:
        if not any(old[k] != self.config[k] for k in _GUI_KEYS):
            return
        if self.gui is not None:
            self.gui.stop(signal.SIGTERM, DEFAULT_STOP_TIMEOUT)
            self.gui = None
        if guiconf.served(self.config):
            env = dict(os.environ, KONGPY_PREFIX=str(self.prefix.root))
            self.gui = Child("gui", self._gui_argv, log_file=self._log_file, env=env,
                             pid_file=self.prefix.pid_file("gui"), death_signal=signal.SIGTERM)
            self.gui.start()
        else:
            pidfile.remove(self.prefix.pid_file("gui"))

    # -- stop ------------------------------------------------------------------

    def _stop_timeout(self) -> float:
        path = self.prefix.pids / STOP_TIMEOUT_FILE
        try:
            return max(0.0, float(path.read_text().strip()))
        except (OSError, ValueError):
            return DEFAULT_STOP_TIMEOUT
        finally:
            path.unlink(missing_ok=True)

    def _shutdown(self) -> None:
        timeout = self._stop_timeout()
        log.info("stopping (signal %s, timeout %ss)", self._stop_signal, timeout)
        if self.loop:
            self.loop.stop()
        stoppers = []
        if self.nginx:
            stoppers.append(threading.Thread(
                target=self.nginx.stop, args=(signal.SIGQUIT, timeout)))
        for child in (self.admin, self.gui):
            if child:
                stoppers.append(threading.Thread(
                    target=child.stop, args=(signal.SIGTERM, timeout)))
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()
        self._stop_orphans()
        if self._loop_thread:
            self._loop_thread.join(timeout=5)
        if self.writes:
            self.writes.stop()
        pidfile.remove(self.prefix.pid_file("nginx"))
        pidfile.remove(self.prefix.pid_file("gui"))
        pidfile.remove(self.prefix.pid_file("supervisor"))
        log.info("stopped")
