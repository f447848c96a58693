"""Every folder under plugins/ honours the plugin contract."""
from __future__ import annotations

import re

import pytest

from kongpy import paths, plugins
from kongpy.db.entities import table_for
from kongpy.schemas import fields as f
from kongpy.schemas.plugins import PluginConfig

FOLDERS = sorted(p for p in paths.plugins_dir().iterdir() if p.is_dir()
                 and not p.name.startswith(("_", ".")))


def _declared(fields: dict[str, f.KongField], where: str) -> None:
    """Required, or an explicit default (null counts: Kong's optional fields)."""
    for name, field in fields.items():
        assert field.kong_required or "default" in field.describe(), f"{where}.{name}"
        if isinstance(field, f.Record):
            _declared(field.fields, f"{where}.{name}")


def test_bundled_plugins_exist():
    assert {"key-auth", "basic-auth", "acl"} <= {p.name for p in FOLDERS}


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_both_halves_and_names_agree(folder):
    assert (folder / "handler.lua").is_file() and (folder / "schema.py").is_file()
    plugin = plugins.load_folder(folder)
    assert plugin.name == folder.name == plugin.spec.name
    handler = (folder / "handler.lua").read_text()
    priority = re.search(r"PRIORITY\s*=\s*(-?\d+)", handler)
    version = re.search(r'VERSION\s*=\s*"([^"]+)"', handler)
    assert priority and int(priority.group(1)) == plugin.spec.priority
    assert version and version.group(1) == plugin.spec.version
    assert plugin.spec.phases, "a handler must define at least one phase"


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_every_config_field_is_required_or_defaulted(folder):
    spec = plugins.load_folder(folder).spec
    assert issubclass(spec.config, PluginConfig)
    _declared(spec.config.field_map(), "config")
    config, err = spec.validate_config({"unknown_field": 1})
    assert config is None and err["unknown_field"] == "unknown field"


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_migrations_create_the_entities_tables(folder):
    plugin = plugins.load_folder(folder)
    created = {}

    class Recorder:
        def create_table(self, table):
            created[table.name] = table

        def create_counter_table(self, counter):  # not an entity (rate-limiting metrics)
            created[counter.name] = counter

    for step in plugin.migrations:
        step.up(Recorder())
    for schema in plugin.entities:
        expected = table_for(schema)
        assert created[schema.entity_name] == expected, schema.entity_name
