"""Custom plugins: the `plugin new` skeleton, plugins_path discovery, rendered phases."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import kongpy.db
from kongpy import conf, plugins
from kongpy.cli import main
from kongpy.errors import ConfigError
from kongpy.render import context

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "plugins"


def test_plugin_new_renders_a_working_plugin(tmp_path):
    result = CliRunner().invoke(main, ["plugin", "new", "my-thing", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "kong" / "plugins" / "my-thing"
    assert plugins.is_plugin_folder(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["handler.lua", "schema.lua"]
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(tmp_path / "tests" / "test_my_thing.py")], capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    config = {"database": "sqlite", "sqlite_path": str(tmp_path / "c.db"),
              "plugins": "bundled, my-thing", "plugins_path": str(tmp_path)}
    db = kongpy.db.open(config)
    db.migrations.bootstrap()
    row = db.plugins.insert({"name": "my-thing", "config": {"header_name": "X-Hi"}})
    assert row["config"] == {"header_name": "X-Hi", "header_value": "hello"}
    db.close()
    again = CliRunner().invoke(main, ["plugin", "new", "my-thing", "--dir", str(tmp_path)])
    assert again.exit_code == 1 and "already exists" in again.output
    bundled = CliRunner().invoke(main, ["plugin", "new", "key-auth", "--dir", str(tmp_path)])
    assert bundled.exit_code == 1 and "bundled plugin" in bundled.output


def test_enabled_but_missing_plugin_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="ghost plugin is enabled but not installed"):
        kongpy.db.open({"database": "sqlite", "sqlite_path": str(tmp_path / "g.db"),
                        "plugins": "ghost"})


def test_render_installs_only_needed_phases(tmp_path):
    def ctx(**settings):
        config = conf.load(None, env={}, overrides={"prefix": str(tmp_path), **settings})
        return context.template_context(config, "0b7d2a4e-3c1f-4f57-a1c7-8f1b7d4c2e10")
    assert ctx(plugins="off")["plugin_phases"] == []
    assert ctx(plugins="key-auth")["plugin_phases"] == ["access"]
    custom = ctx(plugins="key-auth,test-tag", plugins_path=str(FIXTURES))
    # a log handler brings the body filter: it ends the log object's receive time
    assert custom["plugin_phases"] == ["init_worker", "access", "header_filter", "body_filter",
                                       "log"]
    assert ctx(plugins="file-log")["plugin_phases"] == ["body_filter", "log"]
    assert f"{FIXTURES}/?.lua" in custom["lua_package_path"]
    assert "test-tag" in custom["plugins"]


@pytest.mark.parametrize("handler,schema,file,reason", [
    ('return { VERSION = "1" }', 'return { name = "broken", fields = {} }', "handler.lua",
     "PRIORITY must be an integer"),
    ('return { PRIORITY = 1, VERSION = "1" }', "return {", "schema.lua", "expected"),
])
def test_check_refuses_a_broken_plugin_naming_its_file(tmp_path, handler, schema, file, reason):
    folder = tmp_path.joinpath(*plugins.LAYOUT, "broken")
    folder.mkdir(parents=True)
    (folder / "handler.lua").write_text(handler)
    (folder / "schema.lua").write_text(schema)
    conf_file = tmp_path / "kongpy.conf"
    conf_file.write_text(f"prefix = {tmp_path / 'prefix'}\nplugins = bundled, broken\n"
                         f"plugins_path = {tmp_path}\n")
    result = CliRunner().invoke(main, ["check", str(conf_file)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: broken plugin: {folder / file}"), result.output
    assert reason in result.output
