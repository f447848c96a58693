"""Pid files and liveness checks, shared by the supervisor and the CLI."""
from __future__ import annotations

import os
from pathlib import Path

from kongpy import paths

SUPERVISOR_MARK = "kongpy.supervisor"
ADMIN_MARK = "kongpy.admin.wsgi"
GUI_MARK = "kongpy.gui.wsgi"


def read(path: str | Path) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def write(path: str | Path, pid: int) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(f"{pid}\n")
    os.replace(tmp, path)


def remove(path: str | Path) -> None:
    Path(path).unlink(missing_ok=True)


def alive(pid: int | None) -> bool:
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] == "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace")
    except OSError:
        return ""


def running(prefix: str | Path, name: str) -> int | None:
    """The pid of `name` (supervisor, nginx, admin, gui) in `prefix` if it runs."""
    pid = read(paths.prefix(prefix).pid_file(name))
    if not alive(pid):
        return None
    # A stale pid file may name an unrelated process that reused the pid.
    if name == "supervisor" and SUPERVISOR_MARK not in cmdline(pid):
        return None
    if name == "nginx" and not ("nginx" in cmdline(pid)
                                and f"{paths.prefix(prefix).root}/" in cmdline(pid)):
        return None
    if name == "admin" and ADMIN_MARK not in cmdline(pid):
        return None
    if name == "gui" and GUI_MARK not in cmdline(pid):
        return None
    return pid


def supervisor_running(prefix: str | Path) -> int | None:
    return running(prefix, "supervisor")
