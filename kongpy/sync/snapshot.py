"""The configuration snapshot pushed to the data plane (docs/contracts.md §1)."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

import kongpy
from kongpy import paths, plugins

# Declared once here and once in lua/kongpy/snapshot.lua; bump both together.
SNAPSHOT_FORMAT = 1

# Always present; later entity arrays join when their DAO exists.
CORE_ENTITIES = ("services", "routes")
OPTIONAL_ENTITIES = ("consumers", "plugins", "upstreams", "targets", "certificates", "snis")


_CODE_SUFFIXES = (".lua", ".py")


def _code_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*")
                  if p.suffix in _CODE_SUFFIXES and "__pycache__" not in p.parts and p.is_file())


def built_for(config: Mapping[str, Any]) -> dict[str, Any]:
    """What a snapshot was built for: the node's plugin set and a digest of its code.

    A node restarted while its datastore is down serves the snapshot its
    prefix keeps only when both still match: a snapshot made for another
    plugin set or another release may hold instances the node cannot run.
    """
    names = plugins.enabled_names(config)
    digest = hashlib.sha256(kongpy.__version__.encode())
    roots = [paths.lua_dir()] + [f for f in (plugins.find(n, config) for n in names) if f]
    for root in roots:
        for path in _code_files(root):
            digest.update(b"\0" + str(path.relative_to(root.parent)).encode() + b"\0")
            digest.update(path.read_bytes())
    return {"code": digest.hexdigest(), "plugins": names}


def read_built_for(path: str | Path) -> dict[str, Any] | None:
    """The ``built_for`` header of a kept snapshot (None when absent or unreadable)."""
    doc = read(path)
    value = doc.get("built_for") if isinstance(doc, dict) else None
    return value if isinstance(value, dict) else None


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def plugin_entity_names(db: Any) -> list[str]:
    """Entities owned by the node's plugins (credentials, acls, ...)."""
    names: list[str] = []
    for plugin in getattr(db, "loaded_plugins", {}).values():
        names += [schema.entity_name for schema in plugin.entities]
    return names


def entity_names(db: Any) -> list[str]:
    return (list(CORE_ENTITIES) + [n for n in OPTIONAL_ENTITIES if hasattr(db, n)]
            + plugin_entity_names(db))


def _rows(db: Any, name: str) -> list[dict[str, Any]]:
    dao = getattr(db, name)
    if name == "plugins":
        # Every enabled instance, also of plugins this node does not run: the
        # data plane refuses the requests those would have checked.
        return [p for p in dao.each() if p.get("enabled")]
    if getattr(dao.schema, "uses_ttl", False):
        # Expired rows are left out; live ones carry `expires_at` so the data
        # plane stops honouring them on time between two pushes.
        return list(dao.each_with_expiry())
    return list(dao.each())


def build(db: Any) -> dict[str, Any]:
    """Reads the whole configuration from `db` into one snapshot.

    The version is read first: a write landing while the entities are read
    makes the snapshot newer than its label, so the next round pushes again;
    the reverse order could label old data with a new version for good.
    """
    version = db.events.latest()
    arrays = {name: _rows(db, name) for name in entity_names(db)}
    return assemble(version, arrays)


def assemble(version: int, arrays: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    snapshot: dict[str, Any] = {
        "snapshot_format": SNAPSHOT_FORMAT,
        "version": version,
        "hash": content_hash(arrays),
    }
    snapshot.update(arrays)
    return snapshot


def content_hash(arrays: dict[str, list[dict[str, Any]]]) -> str:
    return hashlib.sha256(canonical(arrays)).hexdigest()


def dumps(snapshot: dict[str, Any]) -> bytes:
    return canonical(snapshot)


def write(path: str | Path, body: bytes) -> None:
    """Writes atomically: nginx may read the file at any moment on restart."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".snapshot.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read(path: str | Path) -> dict[str, Any] | None:
    try:
        return json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return None
