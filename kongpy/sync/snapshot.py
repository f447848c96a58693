"""The snapshot document: what the data plane serves (docs/contracts.md §1).

This module owns the document: which entities it holds and which rows of
them, how rows are encoded, and its framing. A snapshot (or a delta) is two
lines: a small JSON header (format, version, hash, ...) and the JSON body.
The data plane reads the header without decoding the body, whatever order
its keys come in, and decides from it whether the body is worth decoding.

:class:`kongpy.sync.model.SnapshotModel` keeps the rows of a datastore in
memory and encodes them with the functions here; it is the only encoder.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

import kongpy
from kongpy import paths, plugins
from kongpy.schemas import expressions

# Declared once here and once in lua/kongpy/snapshot.lua; bump both together.
SNAPSHOT_FORMAT = 3

# Always present; later entity arrays join when their DAO exists. Not here on
# purpose: vaults (resolved by the control plane), keys and key_sets (Kong's
# data plane reads keys only through plugins, and none of ours does).
CORE_ENTITIES = ("services", "routes")
OPTIONAL_ENTITIES = ("consumers", "plugins", "upstreams", "targets", "certificates", "snis",
                     "ca_certificates")

_CODE_SUFFIXES = (".lua", ".py")


def encode(value: Any) -> bytes:
    """Compact, key-sorted JSON: equal content always gives equal bytes (and hash)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def digest(body: bytes) -> str:
    """The hash a header carries: SHA-256 hex of the body's bytes."""
    return hashlib.sha256(body).hexdigest()


def frame(header: Mapping[str, Any], body: bytes) -> bytes:
    """A snapshot or delta: the header line, then the body (compact JSON has no newline)."""
    return encode(dict(header, snapshot_format=SNAPSHOT_FORMAT)) + b"\n" + body


def parse(blob: bytes) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(header, body) of a framed document, or None when it is not one."""
    head, sep, body = blob.partition(b"\n")
    try:
        header, content = json.loads(head), json.loads(body)
    except ValueError:
        return None
    if not sep or not isinstance(header, dict) or not isinstance(content, dict):
        return None
    return header, content


# -- which rows ---------------------------------------------------------------


def plugin_entity_names(db: Any) -> list[str]:
    """Entities owned by the node's plugins (credentials, acls, ...)."""
    names: list[str] = []
    for plugin in getattr(db, "loaded_plugins", {}).values():
        names += [schema.entity_name for schema in plugin.entities]
    return names


def entity_names(db: Any) -> list[str]:
    return (list(CORE_ENTITIES) + [n for n in OPTIONAL_ENTITIES if hasattr(db, n)]
            + plugin_entity_names(db))


def shipped(name: str, row: Mapping[str, Any]) -> bool:
    """Whether a row reaches the data plane.

    Every enabled plugin instance does, also of plugins the node does not
    run: the data plane refuses the requests those would have checked.
    """
    return name != "plugins" or bool(row.get("enabled"))


def read_all(db: Any, name: str) -> Iterable[dict[str, Any]]:
    """Every row of ``name``; rows of ttl entities carry ``expires_at`` (epoch s)
    so the data plane stops honouring them on time, between two pushes."""
    dao = getattr(db, name)
    rows = dao.each_with_expiry() if getattr(dao.schema, "uses_ttl", False) else dao.each()
    return (encode_row(name, dao.schema.stored(row)) for row in rows)


def read_one(db: Any, name: str, pk: str) -> dict[str, Any] | None:
    dao = getattr(db, name)
    row = dao.select_with_expiry(pk) if getattr(dao.schema, "uses_ttl", False) \
        else dao.select(pk)
    return None if row is None else encode_row(name, dao.schema.stored(row))


def encode_row(name: str, row: dict[str, Any]) -> dict[str, Any]:
    """A row as the data planes get it: an expression route carries its
    parsed tree (``expression_tree``, kongpy/schemas/expressions.py), so no
    data plane parses the language."""
    if name == "routes" and row.get("expression") is not None:
        row["expression_tree"] = expressions.compile_route(row)
    return row


# -- what it was built for ----------------------------------------------------


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
    code = hashlib.sha256(kongpy.__version__.encode())
    roots = [paths.lua_dir()] + [f for f in (plugins.find(n, config) for n in names) if f]
    for root in roots:
        for path in _code_files(root):
            code.update(b"\0" + str(path.relative_to(root.parent)).encode() + b"\0")
            code.update(path.read_bytes())
    return {"code": code.hexdigest(), "plugins": names}


# -- the file a prefix keeps ----------------------------------------------------


def write(path: str | Path, blob: bytes, group: int | None = None, *,
          durable: bool = True) -> None:
    """Writes atomically: nginx may read the file at any moment on restart.
    With ``group``, the file is readable by that group (and no one else).
    ``durable=False`` leaves the flush to disk to a later :func:`make_durable`
    (readers see the new file at once either way)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".snapshot.", suffix=".tmp", dir=path.parent)
    try:
        if group is not None:
            os.fchown(fd, -1, group)
            os.fchmod(fd, 0o640)
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        _sync_dir(path.parent)


def make_durable(path: str | Path) -> None:
    """Flushes a file written with ``durable=False``, and its rename, to disk."""
    path = Path(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    _sync_dir(path.parent)


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(header, body) of a kept snapshot, or None when absent or unreadable."""
    try:
        return parse(Path(path).read_bytes())
    except OSError:
        return None
