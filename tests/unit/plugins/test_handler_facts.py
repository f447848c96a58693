"""What a plugin's Lua files declare is read by loading them in nginx (the Lua helper)."""
from __future__ import annotations

from pathlib import Path

import pytest

from kongpy import plugins
from kongpy.errors import ConfigError
from tests.conftest import require_binary

SCHEMA = """return { name = "%s", fields = { { config = { type = "record", fields = {
    { size = { type = "integer", default = 3, between = { 1, 9 } } } } } } } }
"""


def _plugin(root: Path, name: str, handler: str, schema: str | None = None) -> dict:
    folder = root.joinpath(*plugins.LAYOUT, name)
    folder.mkdir(parents=True)
    (folder / "handler.lua").write_text(handler)
    (folder / "schema.lua").write_text(schema if schema is not None else SCHEMA % name)
    return {"plugins": name, "plugins_path": str(root)}


@pytest.fixture(autouse=True)
def _nginx():
    require_binary("nginx")


def test_phases_count_however_they_are_defined(tmp_path):
    config = _plugin(tmp_path, "assigned", """
local H = { PRIORITY = 7, VERSION = "1.2.3" }
H.log = function(self, conf) end
H["access"] = function(self, conf) end
H.init_worker = function(self) end
return H
""")
    spec = plugins.load(config)["assigned"].spec
    assert (spec.priority, spec.version) == (7, "1.2.3")
    assert spec.phases == ("init_worker", "access", "log")
    entity, errors = plugins.helper(config).validate("plugins", {"name": "assigned"})
    assert errors is None and entity["config"] == {"size": 3}
    _, errors = plugins.helper(config).validate("plugins", {"name": "assigned",
                                                            "config": {"size": 10}})
    assert errors == {"config": {"size": "value should be between 1 and 9"}}


@pytest.mark.parametrize("handler,schema,file,reason", [
    ('return { VERSION = "1" }', None, "handler.lua", "PRIORITY must be an integer"),
    ('return { PRIORITY = 1.5, VERSION = "1" }', None, "handler.lua",
     "PRIORITY must be an integer"),
    ("return { PRIORITY = 1 }", None, "handler.lua", "VERSION must be a string"),
    ("return 42", None, "handler.lua", "must return a table"),
    ('error("boom")', None, "handler.lua", "boom"),
    ('return { PRIORITY = 1, VERSION = "1" }', 'error("bad schema")', "schema.lua",
     "bad schema"),
    ('return { PRIORITY = 1, VERSION = "1" }',
     'return { name = "broken", fields = { { nope = { type = "string" } } } }', "schema.lua",
     "cannot create a new field"),
])
def test_a_plugin_that_cannot_run_is_refused_naming_it(tmp_path, handler, schema, file, reason):
    config = _plugin(tmp_path, "broken", handler, schema)
    with pytest.raises(ConfigError) as exc:
        plugins.load(config)
    message = str(exc.value)
    assert message.startswith(f"broken plugin: {tmp_path.joinpath(*plugins.LAYOUT)}/broken/"
                              f"{file}"), message
    assert reason in message


def test_a_phase_the_data_plane_does_not_run_is_refused(tmp_path):
    config = _plugin(tmp_path, "later", 'return { PRIORITY = 1, VERSION = "1", '
                                        'certificate = function() end }')
    with pytest.raises(ConfigError, match="does not run the certificate phase"):
        plugins.load(config)


def test_the_node_says_which_api_lua_endpoints_it_serves(tmp_path):
    config = _plugin(tmp_path, "notes", 'return { PRIORITY = 1, VERSION = "1" }')
    folder = tmp_path.joinpath(*plugins.LAYOUT, "notes")
    (folder / "daos.lua").write_text(
        'local typedefs = require("kong.db.schema.typedefs")\n'
        'return { { name = "notes", primary_key = { "id" }, endpoint_key = "title", '
        'admin_api_nested_name = "notes", fields = { { id = typedefs.uuid }, '
        '{ created_at = typedefs.auto_timestamp_s }, '
        '{ consumer = { type = "foreign", reference = "consumers" } }, '
        '{ title = { type = "string", unique = true } } } } }')
    (folder / "api.lua").write_text(
        'return { ["/consumers/:consumers/notes/:notes"] = { GET = function() end }, '
        '["/notes-report"] = { GET = function() end, POST = function() end } }')
    lines = plugins.unserved_api(plugins.load(config))
    where = f"notes plugin: {folder / 'api.lua'}: "
    assert lines == [
        f"{where}/consumers/:consumers/notes/:notes (GET) is served by the generic "
        "endpoints of its entity; the api.lua handlers do not run",
        f"{where}/notes-report (GET, POST) is not served"]
