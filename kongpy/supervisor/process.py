"""One supervised child process, and the orphans a dead child leaves behind."""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from kongpy.supervisor import pidfile

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_BACKOFF_FIRST = 0.5
_BACKOFF_MAX = 30.0
# A child that stayed up this long is healthy again: its next death restarts fast.
_STABLE_AFTER = 30.0


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def die_with_parent(sig: int) -> Callable[[], None]:
    """A preexec_fn: the child gets `sig` when the process that started it dies.

    The kernel sends it when the starting thread exits, so children must be
    started from the supervisor's main thread. A parent that died before the
    call is caught by comparing the parent pid afterwards.
    """
    libc = _libc()  # loaded before the fork: nothing to load in the child
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)
    return preexec


def become_subreaper() -> bool:
    """Adopts grandchildren orphaned by a dead child (e.g. nginx workers of a
    killed master), so they can be found and stopped before a respawn."""
    try:
        return _libc().prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry))
    return found


def threads_children(pid: int) -> list[int] | None:
    """Children of `pid` from /proc/<pid>/task/*/children (one cheap read per
    thread), or None when the kernel does not provide that file."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found: list[int] = []
    for task in tasks:
        try:
            found += [int(p) for p in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            continue
    return found


def reap(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


class Child:
    """A child process the supervisor keeps alive."""

    def __init__(self, name: str, argv: Callable[[], list[str]], *, log_file: IO,
                 env: dict[str, str] | None = None, pid_file: Path | None = None,
                 death_signal: int | None = None) -> None:
        self.name = name
        self._death_signal = death_signal
        self._argv = argv
        self._log_file = log_file
        self._env = env
        self._pid_file = pid_file
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.restart_at: float | None = None
        self._failures = 0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> None:
        argv = self._argv()
        log.info("starting %s: %s", self.name, " ".join(argv))
        preexec = die_with_parent(self._death_signal) if self._death_signal else None
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log_file,
                                     stderr=self._log_file, env=self._env, close_fds=True,
                                     preexec_fn=preexec)
        self.started_at = time.monotonic()
        self.restart_at = None
        if self._pid_file:
            pidfile.write(self._pid_file, self.proc.pid)

    def exited(self) -> int | None:
        """The exit code if the child died since it was started, else None."""
        if self.proc is None:
            return None
        return self.proc.poll()

    def schedule_restart(self) -> float:
        if time.monotonic() - self.started_at >= _STABLE_AFTER:
            self._failures = 0
        delay = min(_BACKOFF_MAX, _BACKOFF_FIRST * (2 ** self._failures))
        self._failures += 1
        self.restart_at = time.monotonic() + delay
        return delay

    def due(self) -> bool:
        return self.restart_at is not None and time.monotonic() >= self.restart_at

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> bool:
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self, sig: int, timeout: float) -> None:
        """`sig` first (graceful), then SIGTERM, then SIGKILL."""
        if self.proc is None:
            return
        self.signal(sig)
        if not self.wait(timeout):
            log.warning("%s did not stop within %ss; terminating it", self.name, timeout)
            self.signal(signal.SIGTERM)
            if not self.wait(5):
                self.signal(signal.SIGKILL)
                self.wait(5)
        if self._pid_file:
            pidfile.remove(self._pid_file)
        self.restart_at = None
