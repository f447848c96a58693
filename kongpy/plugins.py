"""Plugin discovery: ``plugins/<name>/`` folders with a Lua and a Python half.

A plugin folder holds ``handler.lua`` (PRIORITY, VERSION, phase methods) and
``schema.py`` (NAME, PRIORITY, VERSION, optional PROTOCOLS / NO_CONSUMER and a
``Config`` class built with :mod:`kongpy.schemas`). Optional beside them:
``daos.py`` (``ENTITIES``: entity schemas it owns; ``ENDPOINTS``: their Admin
API paths) and ``migrations.py`` (``MIGRATIONS``: steps through the strategy
interface). Folder names are Kong's plugin names, hyphens included, so the
Python files are loaded by path under synthetic module names.

Bundled plugins live in the shipped ``plugins/`` root; custom ones in any
folder of the ``plugins_path`` property or of ``lua_package_path`` (the
folder that ``<dir>/?.lua`` names). The first folder holding ``<name>/`` wins.
"""
from __future__ import annotations

import importlib.util
import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable, Mapping

from kongpy import paths
from kongpy.errors import ConfigError
from kongpy.schemas.base import EntitySchema
from kongpy.schemas.plugins import PluginSchema, PluginSpec, spec_from_module

log = logging.getLogger(__name__)

PHASES = ("init_worker", "certificate", "rewrite", "access", "response",
          "header_filter", "body_filter", "log")
_PHASE_RE = re.compile(r"^\s*function\s+[A-Za-z_][A-Za-z0-9_]*[:.]([a-z_]+)\s*\(", re.M)
_MODULE_SAFE = re.compile(r"[^A-Za-z0-9_]")


@dataclass
class Plugin:
    """One loaded plugin."""

    name: str
    folder: Path
    spec: PluginSpec
    entities: list[type[EntitySchema]] = field(default_factory=list)
    endpoints: list[dict] = field(default_factory=list)
    migrations: list[Any] = field(default_factory=list)


_cache: dict[tuple[str, float], Plugin] = {}


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in re.split(r"[;,]", value) if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


def search_dirs(config: Mapping[str, Any]) -> list[Path]:
    """Custom folders first (plugins_path, then lua_package_path), then the bundled root."""
    dirs: list[Path] = [Path(p) for p in _split(config.get("plugins_path"))]
    for entry in _split(config.get("lua_package_path")):
        if entry.endswith("/?.lua"):
            dirs.append(Path(entry[:-len("/?.lua")]))
    dirs.append(paths.plugins_dir())
    seen: list[Path] = []
    for d in dirs:
        if d not in seen:
            seen.append(d)
    return seen


def is_plugin_folder(folder: Path) -> bool:
    return (folder / "handler.lua").is_file() and (folder / "schema.py").is_file()


def bundled_names() -> list[str]:
    root = paths.plugins_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if is_plugin_folder(p))


def enabled_names(config: Mapping[str, Any]) -> list[str]:
    """The node's ``plugins`` property resolved: ``bundled``, ``off``, custom names."""
    names: list[str] = []
    for name in _split(config.get("plugins", ["bundled"])):
        if name == "off":
            return []
        for item in (bundled_names() if name == "bundled" else [name]):
            if item not in names:
                names.append(item)
    return sorted(names)


def find(name: str, config: Mapping[str, Any]) -> Path | None:
    for directory in search_dirs(config):
        folder = directory / name
        if is_plugin_folder(folder):
            return folder
    return None


def handler_phases(handler: Path) -> tuple[str, ...]:
    """The phase methods a handler.lua defines (read from its source)."""
    found = set(_PHASE_RE.findall(handler.read_text()))
    return tuple(p for p in PHASES if p in found)


def _load_module(folder: Path, filename: str) -> ModuleType | None:
    path = folder / filename
    if not path.is_file():
        return None
    ident = _MODULE_SAFE.sub("_", folder.name)
    modname = f"kongpy_plugin_{ident}_{abs(hash(str(folder))):x}_{path.stem}"
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    spec.loader.exec_module(module)
    return module


def load_folder(folder: Path) -> Plugin:
    """Load one plugin folder (cached while its schema.py is unchanged)."""
    key = (str(folder), (folder / "schema.py").stat().st_mtime)
    if key in _cache:
        return _cache[key]
    schema = _load_module(folder, "schema.py")
    assert schema is not None
    spec = spec_from_module(schema, source=str(folder),
                            phases=handler_phases(folder / "handler.lua"))
    if spec.name != folder.name:
        raise ConfigError(
            f"plugin folder '{folder.name}' declares NAME = '{spec.name}'")
    daos = _load_module(folder, "daos.py")
    migrations = _load_module(folder, "migrations.py")
    plugin = Plugin(
        name=spec.name, folder=folder, spec=spec,
        entities=list(getattr(daos, "ENTITIES", [])),
        endpoints=list(getattr(daos, "ENDPOINTS", [])),
        migrations=list(getattr(migrations, "MIGRATIONS", [])),
    )
    _cache[key] = plugin
    return plugin


def load(config: Mapping[str, Any]) -> dict[str, Plugin]:
    """Every enabled plugin, by name; an enabled but missing plugin is an error."""
    out: dict[str, Plugin] = {}
    for name in enabled_names(config):
        folder = find(name, config)
        if folder is None:
            raise ConfigError(f"{name} plugin is enabled but not installed")
        out[name] = load_folder(folder)
    return out


def in_use(db: Any) -> list[str]:
    """Names of the plugins configured in the datastore, enabled instances or not."""
    return sorted({row["name"] for row in db.plugins.each()})


def check_in_use(names: Iterable[str], config: Mapping[str, Any]) -> None:
    """Kong's start-up check: every plugin configured must be enabled on the node.

    A node that left one out would serve its routes without it (an
    authentication plugin, say), so the node refuses instead.
    """
    enabled = set(enabled_names(config))
    for name in sorted(set(names)):
        if name not in enabled:
            raise ConfigError(f"{name} plugin is in use but not enabled")


def attach(db: Any, config: Mapping[str, Any]) -> dict[str, Plugin]:
    """Give ``db`` the node's plugins: the bound plugins schema, plugin DAOs, migrations."""
    loaded = load(config)
    db.register(PluginSchema.bind({n: p.spec for n, p in loaded.items()}))
    for plugin in loaded.values():
        for schema in plugin.entities:
            db.register(schema)
        if plugin.migrations:
            db.migrations.add(plugin.name, plugin.migrations)
    db.loaded_plugins = loaded
    return loaded
