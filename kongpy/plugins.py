"""Plugin discovery: ``plugins/<name>/`` folders with a Lua and a Python half.

A plugin folder is named after the plugin (Kong's name, hyphens included) and
holds ``handler.lua`` (PRIORITY, VERSION, phase methods: read by loading it
in nginx, kongpy.handlers) and ``schema.py`` (optional PROTOCOLS /
NO_CONSUMER and a ``Config`` class built with :mod:`kongpy.schemas`).
Optional beside them: ``daos.py`` (``ENTITIES``: entity schemas it owns, whose
tables are created by a derived ``000_base_<name>`` migration; ``ENDPOINTS``:
their Admin API paths) and ``migrations.py`` (``MIGRATIONS``: further steps
through the strategy interface). The Python files are loaded by path under
synthetic module names.

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

from kongpy import handlers, paths
from kongpy.db.entities import table_for
from kongpy.db.migrations import Migration, create_tables
from kongpy.errors import ConfigError
from kongpy.schemas.base import EntitySchema
from kongpy.schemas.plugins import PluginSchema, PluginSpec, spec_from_module

log = logging.getLogger(__name__)

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


_cache: dict[tuple[str, float, tuple], Plugin] = {}


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


def _lua_paths(extra: str | None, own: list[str], system: list[str]) -> str:
    entries = [e for e in (extra or "").split(";") if e] + own + system
    return ";".join(entries) + ";;"


def lua_package_path(config: Mapping[str, Any]) -> str:
    """kongpy's Lua, then the plugin folders: `<name>.handler` is `<dir>/<name>/handler.lua`.

    Hyphenated plugin names need no loader: `require("key-auth.handler")`
    maps to `<dir>/key-auth/handler.lua` through the `<dir>/?.lua` pattern.
    """
    lua = str(paths.lua_dir())
    own = [f"{lua}/?.lua", f"{lua}/?/init.lua"]
    for directory in search_dirs(config):
        own += [f"{directory}/?.lua", f"{directory}/?/init.lua"]
    return _lua_paths(config.get("lua_package_path"), own, paths.system_lua_path())


def lua_package_cpath(config: Mapping[str, Any]) -> str:
    return _lua_paths(config.get("lua_package_cpath"), [], paths.system_lua_cpath())


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


def _base_migration(name: str, entities: list[type[EntitySchema]]) -> list[Migration]:
    """The step creating the tables of a plugin's entities, derived from daos.py."""
    if not entities:
        return []
    ident = name.replace("-", "_")
    return [Migration(f"000_base_{ident}", create_tables(*(table_for(e) for e in entities)))]


def load_folder(folder: Path, facts: Mapping[str, Any]) -> Plugin:
    """Load one plugin folder with its handler's facts (cached while unchanged)."""
    key = (str(folder), (folder / "schema.py").stat().st_mtime,
           tuple(sorted((k, str(v)) for k, v in facts.items())))
    if key in _cache:
        return _cache[key]
    schema = _load_module(folder, "schema.py")
    assert schema is not None
    spec = spec_from_module(schema, folder.name, facts, source=str(folder))
    daos = _load_module(folder, "daos.py")
    migrations = _load_module(folder, "migrations.py")
    entities = list(getattr(daos, "ENTITIES", []))
    plugin = Plugin(
        name=spec.name, folder=folder, spec=spec, entities=entities,
        endpoints=list(getattr(daos, "ENDPOINTS", [])),
        migrations=_base_migration(spec.name, entities)
        + list(getattr(migrations, "MIGRATIONS", [])),
    )
    _cache[key] = plugin
    return plugin


def folders(config: Mapping[str, Any]) -> dict[str, Path]:
    """Every enabled plugin's folder, by name; an enabled but missing plugin is an error."""
    out: dict[str, Path] = {}
    for name in enabled_names(config):
        folder = find(name, config)
        if folder is None:
            raise ConfigError(f"{name} plugin is enabled but not installed")
        out[name] = folder
    return out


def load(config: Mapping[str, Any]) -> dict[str, Plugin]:
    """Every enabled plugin, by name, its handler loaded in nginx for its facts."""
    found = folders(config)
    facts = handlers.read(found, lua_package_path(config), lua_package_cpath(config))
    return {name: load_folder(folder, facts[name]) for name, folder in found.items()}


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
