"""Every bundled plugin is a Kong 3.x plugin folder the helper loads whole."""
from __future__ import annotations

import pytest

from kongpy import paths, plugins

FOLDERS = sorted(p for p in paths.lua_dir().joinpath(*plugins.LAYOUT).iterdir()
                 if p.is_dir() and not p.name.startswith(("_", ".")))


@pytest.fixture(scope="module")
def bundled():
    return plugins.load({"plugins": "bundled"})


def test_bundled_plugins_exist(bundled):
    assert {"key-auth", "basic-auth", "acl"} <= set(bundled)
    assert set(bundled) == {p.name for p in FOLDERS}


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_a_folder_is_a_plugin_named_after_it(folder, bundled):
    assert (folder / "handler.lua").is_file() and (folder / "schema.lua").is_file()
    spec = bundled[folder.name].spec
    assert spec.name == folder.name
    assert spec.phases, "a handler must define at least one phase"
    assert any("config" in item for item in spec.schema["fields"])


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_unknown_config_fields_are_refused(folder):
    lua = plugins.helper({"plugins": "bundled"})
    _entity, errors = lua.validate("plugins", {"name": folder.name,
                                               "config": {"unknown_field": 1}})
    assert errors["config"]["unknown_field"] == "unknown field"


def test_kong_meta_names_the_kong_release_implemented():
    import re

    import kongpy
    from kongpy import paths

    text = (paths.lua_dir() / "kong" / "meta.lua").read_text()
    found = re.search(r"local MAJOR, MINOR, PATCH = (\d+), (\d+), (\d+)", text)
    assert found and ".".join(found.groups()) == kongpy.KONG_VERSION
