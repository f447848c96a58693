from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from kongpy import conf, paths
from kongpy.supervisor import pidfile
from kongpy.supervisor.daemon import Supervisor
from kongpy.supervisor.process import Child, children_of


@pytest.fixture
def log_file(workdir):
    with open(workdir / "child.log", "a") as handle:
        yield handle


def _child(workdir, log_file, code: str) -> Child:
    return Child("sleeper", lambda: [sys.executable, "-c", code], log_file=log_file,
                 pid_file=workdir / "pids" / "sleeper.pid")


def test_child_start_stop_and_pid_file(workdir, log_file):
    child = _child(workdir, log_file, "import time; time.sleep(30)")
    child.start()
    try:
        assert pidfile.read(workdir / "pids" / "sleeper.pid") == child.pid
        assert pidfile.alive(child.pid) and child.exited() is None
        assert child.pid in children_of(os.getpid())
    finally:
        child.stop(signal.SIGTERM, 5)
    assert child.exited() == -signal.SIGTERM
    assert not (workdir / "pids" / "sleeper.pid").exists()


def test_child_ignoring_the_graceful_signal_is_forced(workdir, log_file):
    code = ("import signal, time; signal.signal(signal.SIGQUIT, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(30)")
    child = _child(workdir, log_file, code)
    child.start()
    for _ in range(100):
        if "ready" in (workdir / "child.log").read_text():
            break
        time.sleep(0.02)
    child.stop(signal.SIGQUIT, 0.2)
    assert child.exited() == -signal.SIGTERM


def test_restart_backoff_grows_then_caps(workdir, log_file):
    child = _child(workdir, log_file, "raise SystemExit(3)")
    child.start()
    child.wait(5)
    assert child.exited() == 3
    delays = [child.schedule_restart() for _ in range(10)]
    assert delays[0] == 0.5 and delays[1] == 1.0 and delays[2] == 2.0
    assert max(delays) == 30.0 and delays == sorted(delays)


def test_stale_pid_files_are_not_running(workdir):
    layout = paths.prefix(workdir / "p")
    layout.make_dirs()
    pidfile.write(layout.pid_file("supervisor"), os.getpid())  # alive, but not a supervisor
    pidfile.write(layout.pid_file("nginx"), 2 ** 22 + 1)       # no such process
    assert pidfile.supervisor_running(layout.root) is None
    assert pidfile.running(layout.root, "nginx") is None
    assert pidfile.read(layout.pid_file("admin")) is None


def test_reload_with_a_bad_conf_keeps_the_running_one(make_conf, workdir, nginx_bin):
    good = conf.load(make_conf(proxy_listen="127.0.0.1:18500", admin_listen="off"), env={})
    layout = paths.prefix(good["prefix"])
    layout.make_dirs()
    layout.env_file.write_text(good.dump())
    supervisor = Supervisor(layout.root)
    assert supervisor.reload()              # renders the prefix, nothing to signal
    before = layout.nginx_conf.read_text()

    bad = conf.load(make_conf(proxy_listen="127.0.0.1:18500", admin_listen="off",
                              nginx_http_no_such_directive="on"), env={})
    layout.env_file.write_text(bad.dump())
    assert supervisor.reload() is False
    assert layout.nginx_conf.read_text() == before
    assert supervisor.config == good

    layout.env_file.write_text("admin_workers = nope\n")
    assert supervisor.reload() is False
    assert supervisor.config == good
