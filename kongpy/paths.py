"""Where things are: the shipped roots (templates, lua, plugins) and a node's prefix."""
from __future__ import annotations

import glob
import os
import shutil
import sys
import sysconfig
import uuid
from dataclasses import dataclass
from pathlib import Path

_SHARE_NAME = "kongpy"
# Every process of a node creates files with this mask: nothing it writes
# (datastore file, snapshot with credentials, logs, rotated logs) is readable
# by other users, and its group may only read.
UMASK = 0o027
# The control socket's per-start secret, beside the socket.
CONTROL_TOKEN = "control.token"
_ROOT_MARKER = "templates"
# Where a built wheel puts the shipped roots, inside the package (setup.py).
_PACKAGED = "share"


def checkout_root() -> Path | None:
    """The repository root when this `kongpy` package is the one of a checkout."""
    root = Path(__file__).resolve().parent.parent
    if (root / "setup.cfg").is_file() and (root / _ROOT_MARKER).is_dir():
        return root
    return None


def share_root() -> Path:
    """The folder holding templates/, lua/ and plugins/.

    ``KONGPY_SHARE_DIR`` wins; then a checkout, so an editable install (which
    copies nothing) always uses the tree it runs; then the copy a built wheel
    carries inside the package (setup.py); then the system's share dirs.
    """
    override = os.environ.get("KONGPY_SHARE_DIR")
    candidates = [Path(override)] if override else []
    candidates += [root for root in [checkout_root()] if root is not None]
    candidates += [Path(__file__).resolve().parent / _PACKAGED,
                   Path(sys.prefix) / "share" / _SHARE_NAME,
                   Path("/usr/local/share") / _SHARE_NAME, Path("/usr/share") / _SHARE_NAME]
    for candidate in candidates:
        if (candidate / _ROOT_MARKER).is_dir():
            return candidate
    return candidates[0]


def templates_dir() -> Path:
    return share_root() / "templates"


def lua_dir() -> Path:
    return share_root() / "lua"


def nginx_dir() -> Path:
    return share_root() / "nginx"


STREAM_MODULE = "ngx_stream_kongpy_module.so"


def stream_module() -> Path:
    """The nginx module of the stream data plane (``KONGPY_STREAM_MODULE`` wins;
    else where scripts/build-stream-module.sh puts it)."""
    override = os.environ.get("KONGPY_STREAM_MODULE")
    return Path(os.path.abspath(override)) if override \
        else nginx_dir() / "build" / STREAM_MODULE


def nginx_binary() -> str:
    """The nginx that runs nodes (and loads plugin handlers to read their facts)."""
    return os.environ.get("KONGPY_NGINX_BIN") or shutil.which("nginx") or "/usr/sbin/nginx"


def _multiarch() -> str:
    arch = sysconfig.get_config_var("MULTIARCH")
    if arch and os.path.isdir(f"/usr/lib/{arch}"):
        return arch
    found = sorted(glob.glob("/usr/lib/*-linux-gnu*/lua/5.1"))
    if found:
        return found[0].split("/")[3]
    return "x86_64-linux-gnu"


def system_lua_path() -> list[str]:
    """Debian's Lua 5.1 module paths (lua-resty-*, lua-cjson's Lua side, ...)."""
    return ["/usr/share/lua/5.1/?.lua", "/usr/share/lua/5.1/?/init.lua"]


def system_lua_cpath() -> list[str]:
    return [f"/usr/lib/{_multiarch()}/lua/5.1/?.so"]


@dataclass(frozen=True)
class Prefix:
    """The runtime layout of one node's prefix."""

    root: Path

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def sockets(self) -> Path:
        return self.root / "sockets"

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def ssl(self) -> Path:
        return self.root / "ssl"

    @property
    def nginx_conf(self) -> Path:
        return self.root / "nginx.conf"

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.json"

    @property
    def env_file(self) -> Path:
        return self.root / ".kongpy_env"

    @property
    def control_socket(self) -> Path:
        return self.sockets / "control.sock"

    @property
    def control_token_file(self) -> Path:
        """The per-start secret every request on the control socket carries."""
        return self.sockets / CONTROL_TOKEN

    @property
    def sync_socket(self) -> Path:
        return self.sockets / "sync.sock"

    @property
    def snapshot_file(self) -> Path:
        return self.config / "snapshot.jsonl"

    @property
    def node_id_file(self) -> Path:
        return self.root / "node_id"

    def pid_file(self, name: str) -> Path:
        """`supervisor`, `nginx` or `admin`."""
        return self.pids / f"{name}.pid"

    def dirs(self) -> list[Path]:
        return [self.root, self.logs, self.pids, self.sockets, self.config, self.ssl]

    def make_dirs(self) -> None:
        for directory in self.dirs():
            directory.mkdir(parents=True, exist_ok=True)
        # The control and sync sockets: only the node's own user may connect.
        if self.sockets.stat().st_mode & 0o777 != 0o700:
            self.sockets.chmod(0o700)


def prefix(root: str | os.PathLike) -> Prefix:
    return Prefix(Path(os.path.abspath(root)))


def node_id(root: str | os.PathLike) -> str:
    """The node's id: created once, then kept in the prefix across restarts."""
    path = prefix(root).node_id_file
    try:
        return str(uuid.UUID(path.read_text().strip()))
    except OSError:
        pass
    except ValueError:
        path.unlink()
    return _create_once(path, str(uuid.uuid4()), 0o640)


def _create_once(path: Path, value: str, mode: int) -> str:
    """Writes ``value`` to ``path`` unless another process did first; returns
    what ``path`` holds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    try:
        # link() fails if another process created the file first; keep theirs.
        os.link(tmp, path)
    except FileExistsError:
        value = path.read_text().strip()
    finally:
        tmp.unlink()
    return value
