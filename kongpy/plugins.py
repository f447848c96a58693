"""Plugins in Kong's layout, and what the control plane derives from them.

A plugin is a folder ``kong/plugins/<name>/`` on the Lua path, written for
Kong 3.x: ``handler.lua`` (PRIORITY, VERSION, phase functions),
``schema.lua`` (its configuration, in Kong's schema language), optional
``daos.lua`` (entities it owns), ``migrations/`` and ``api.lua``. Bundled
plugins live under the shipped ``lua/`` root; custom ones under a folder of
``plugins_path`` or of ``lua_package_path`` (the folder that ``<dir>/?.lua``
names). The first folder holding ``kong/plugins/<name>/`` wins.

Everything Python needs is derived from those Lua files by the control
plane's Lua helper (kongpy.luahelper): the handler's facts, the schema in
Kong's JSON form, validations, the entities' storage and endpoints, the
migration steps. No fact about a plugin is written twice.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from kongpy import luahelper, paths
from kongpy.db.migrations import plugin as plugin_migrations
from kongpy.errors import ConfigError
from kongpy.schemas import lua as lua_schema
from kongpy.schemas.base import EntitySchema
from kongpy.schemas.plugins import PluginSchema, PluginSpec

log = logging.getLogger(__name__)

# Where a plugin folder sits below a Lua root: kong.plugins.<name>.handler.
LAYOUT = ("kong", "plugins")
# The phases of Kong's handler contract the data plane runs, in order.
PHASES = ("init_worker", "configure", "rewrite", "access", "response", "header_filter",
          "body_filter", "log")
# Those it does not run (yet): a handler defining one is refused rather
# than silently half-run. `preread` runs in the stream data plane
# (lua/kongpy/stream.lua) for stream connections.
NOT_RUN = ("certificate",)
# The entities a plugin may write from the data plane, through the write
# channel (kongpy/sync/writes.py), while it answers a request: never
# consumers, plugins or credentials an operator creates.
DATA_PLANE_WRITES = frozenset({"oauth2_authorization_codes", "oauth2_tokens", "sessions"})


@dataclass
class Plugin:
    """One loaded plugin."""

    name: str
    folder: Path
    spec: PluginSpec
    entities: list[type[EntitySchema]] = field(default_factory=list)
    endpoints: list[dict] = field(default_factory=list)
    migrations: list[Any] = field(default_factory=list)
    api: list[dict] = field(default_factory=list)


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in re.split(r"[;,]", value) if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


def custom_dirs(config: Mapping[str, Any]) -> list[Path]:
    """Folders of custom plugins: plugins_path, then lua_package_path entries."""
    # relative folders are the caller's: nginx and the Lua helper run elsewhere
    dirs: list[Path] = [Path(p).absolute() for p in _split(config.get("plugins_path"))]
    for entry in _split(config.get("lua_package_path")):
        if entry.endswith("/?.lua"):
            dirs.append(Path(entry[:-len("/?.lua")]).absolute())
    seen: list[Path] = []
    for d in dirs:
        if d not in seen:
            seen.append(d)
    return seen


def search_dirs(config: Mapping[str, Any]) -> list[Path]:
    """Custom folders first, then the bundled root."""
    return custom_dirs(config) + [paths.lua_dir()]


def is_plugin_folder(folder: Path) -> bool:
    return (folder / "handler.lua").is_file() and (folder / "schema.lua").is_file()


def bundled_names() -> list[str]:
    root = paths.lua_dir().joinpath(*LAYOUT)
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
        folder = directory.joinpath(*LAYOUT, name)
        if is_plugin_folder(folder):
            return folder
    return None


def _lua_paths(extra: str | None, own: list[str], system: list[str]) -> str:
    entries = [e for e in (extra or "").split(";") if e] + own + system
    return ";".join(entries) + ";;"


def lua_package_path(config: Mapping[str, Any]) -> str:
    """kongpy's Lua (with the bundled plugins), then the custom plugin folders.

    `require("kong.plugins.key-auth.handler")` maps to
    `<dir>/kong/plugins/key-auth/handler.lua` through `<dir>/?.lua`.
    """
    lua = str(paths.lua_dir())
    own: list[str] = []
    for directory in custom_dirs(config):
        own += [f"{directory}/?.lua", f"{directory}/?/init.lua"]
    own += [f"{lua}/?.lua", f"{lua}/?/init.lua"]
    return _lua_paths(config.get("lua_package_path"), own, paths.system_lua_path())


def lua_package_cpath(config: Mapping[str, Any]) -> str:
    return _lua_paths(config.get("lua_package_cpath"), [], paths.system_lua_cpath())


def folders(config: Mapping[str, Any]) -> dict[str, Path]:
    """Every enabled plugin's folder, by name; an enabled but missing plugin is an error."""
    out: dict[str, Path] = {}
    for name in enabled_names(config):
        folder = find(name, config)
        if folder is None:
            raise ConfigError(f"{name} plugin is enabled but not installed")
        out[name] = folder
    return out


# The node properties plugin validations may read from kong.configuration.
HELPER_PROPERTIES = ("untrusted_lua", "untrusted_lua_sandbox_requires",
                     "untrusted_lua_sandbox_environment")


def helper(config: Mapping[str, Any]) -> luahelper.LuaHelper:
    """The Lua helper that loads the node's enabled plugins."""
    from kongpy.render.context import shared_dict_names  # render imports this module

    configuration: dict[str, Any] = {name: config.get(name) for name in HELPER_PROPERTIES
                                     if config.get(name) is not None}
    # what the workers find in ngx.shared (proxy-cache checks its dictionary)
    configuration["kongpy_shared_dicts"] = shared_dict_names(config)
    return luahelper.for_plugins(folders(config), lua_package_path(config),
                                 lua_package_cpath(config), configuration)


def _endpoints(entities: Iterable[type[lua_schema.LuaEntitySchema]]) -> list[dict]:
    """Kong's generated endpoints: ``/<admin_api_name or name>``, and under
    ``/consumers/:consumers/`` (admin_api_nested_name first) for an entity
    with a consumer."""
    out = []
    for entity in entities:
        if entity.generate_admin_api:
            path = entity.admin_api_name or entity.entity_name
            nested = None
            if "consumer" in entity.foreign_fields():
                nested = entity.admin_api_nested_name or path
            out.append({"entity": entity.entity_name, "path": path, "nested": nested})
    return out


def _spec(name: str, folder: Path, facts: Mapping[str, Any]) -> PluginSpec:
    refused = [p for p in facts.get("phases") or () if p in NOT_RUN]
    if refused:
        raise ConfigError(f"{name} plugin ({facts.get('handler_file')}): kongpy does not run "
                          f"the {', '.join(refused)} phase of plugins yet")
    return PluginSpec(
        name=name, priority=int(facts["priority"]), version=str(facts["version"]),
        phases=tuple(facts.get("phases") or ()),
        protocols=tuple(facts.get("protocols") or ()),
        no_consumer=bool(facts.get("no_consumer")), no_route=bool(facts.get("no_route")),
        no_service=bool(facts.get("no_service")),
        schema=dict(facts.get("schema") or {}), source=str(folder))


def load(config: Mapping[str, Any]) -> dict[str, Plugin]:
    """Every enabled plugin, by name, loaded by the Lua helper.

    Raises ConfigError naming the plugin, its file and the reason when one
    cannot be loaded.
    """
    found = folders(config)
    if not found:
        return {}
    lua = helper(config)
    facts = lua.facts()
    errors = facts.get("errors") or {}
    for name in sorted(errors):
        raise ConfigError(f"{name} plugin: {errors[name]}")
    out: dict[str, Plugin] = {}
    for name, folder in found.items():
        pf = facts["plugins"][name]
        entities = [lua_schema.entity_schema(e, lua.validate, lua.transform,
                                             lua.accepts_rehash, lua.validate_many)
                    for e in pf.get("entities") or []]
        out[name] = Plugin(
            name=name, folder=folder, spec=_spec(name, folder, pf), entities=entities,
            endpoints=_endpoints(entities), api=list(pf.get("api") or []),
            migrations=plugin_migrations.steps(name, entities, pf.get("migrations")))
    return out


def _shape(path: str) -> tuple[str, ...]:
    return tuple("*" if seg.startswith(":") else seg for seg in path.strip("/").split("/"))


def _generic_shapes(plugin: Plugin) -> set[tuple[str, ...]]:
    shapes: set[tuple[str, ...]] = set()
    for ep in plugin.endpoints:
        shapes |= {(ep["path"],), (ep["path"], "*")}
        if ep.get("nested"):
            shapes |= {("consumers", "*", ep["nested"]), ("consumers", "*", ep["nested"], "*")}
    return shapes


def unserved_api(loaded: Mapping[str, Plugin]) -> list[str]:
    """What the node says at start about each endpoint of a plugin's api.lua:
    kongpy does not run api.lua; a path its daos.lua entities already have
    is served by kongpy's generic endpoints, any other is not served."""
    lines = []
    for name, plugin in sorted(loaded.items()):
        generic = _generic_shapes(plugin)
        for ep in plugin.api:
            what = (f"{name} plugin: {plugin.folder / 'api.lua'}: {ep['path']} "
                    f"({', '.join(ep.get('methods') or []) or 'no methods'})")
            if _shape(ep["path"]) in generic:
                lines.append(f"{what} is served by the generic endpoints of its entity; "
                             "the api.lua handlers do not run")
            else:
                lines.append(f"{what} is not served")
    return lines


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
    lua = helper(config)
    db.register(PluginSchema.bind({n: p.spec for n, p in loaded.items()},
                                  lua.validate, lua.validate_many))
    for plugin in loaded.values():
        for schema in plugin.entities:
            db.register(schema)
        if plugin.migrations:
            db.migrations.add(plugin.name, plugin.migrations)
    db.loaded_plugins = loaded
    return loaded
