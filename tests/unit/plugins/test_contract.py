"""Every folder under plugins/ honours the plugin contract."""
from __future__ import annotations

import pytest

from kongpy import paths, plugins
from kongpy.schemas import fields as f
from kongpy.schemas.plugins import PluginConfig

FOLDERS = sorted(p for p in paths.plugins_dir().iterdir() if p.is_dir()
                 and not p.name.startswith(("_", ".")))


@pytest.fixture(scope="module")
def bundled():
    return plugins.load({"plugins": "bundled"})


def _declared(fields: dict[str, f.KongField], where: str) -> None:
    """Required, or an explicit default (null counts: Kong's optional fields)."""
    for name, field in fields.items():
        assert field.kong_required or "default" in field.describe(), f"{where}.{name}"
        if isinstance(field, f.Record):
            _declared(field.fields, f"{where}.{name}")


def test_bundled_plugins_exist(bundled):
    assert {"key-auth", "basic-auth", "acl"} <= set(bundled)
    assert set(bundled) == {p.name for p in FOLDERS}


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_a_folder_is_a_plugin_named_after_it(folder, bundled):
    assert (folder / "handler.lua").is_file() and (folder / "schema.py").is_file()
    spec = bundled[folder.name].spec
    assert spec.name == folder.name
    assert spec.phases, "a handler must define at least one phase"


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_every_config_field_is_required_or_defaulted(folder, bundled):
    spec = bundled[folder.name].spec
    assert issubclass(spec.config, PluginConfig)
    _declared(spec.config.field_map(), "config")
    config, err = spec.validate_config({"unknown_field": 1})
    assert config is None and err["unknown_field"] == "unknown field"
