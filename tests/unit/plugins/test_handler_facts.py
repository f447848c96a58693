"""What a handler.lua declares is read by loading it in nginx (kongpy.handlers)."""
from __future__ import annotations

from pathlib import Path

import pytest

from kongpy import plugins
from kongpy.errors import ConfigError
from tests.conftest import require_binary

SCHEMA = '''from kongpy.schemas.plugins import PluginConfig


class Config(PluginConfig):
    pass
'''


def _plugin(root: Path, name: str, handler: str) -> dict:
    folder = root / name
    folder.mkdir()
    (folder / "handler.lua").write_text(handler)
    (folder / "schema.py").write_text(SCHEMA)
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


@pytest.mark.parametrize("handler,reason", [
    ('return { VERSION = "1" }', "PRIORITY must be an integer"),
    ('return { PRIORITY = 1.5, VERSION = "1" }', "PRIORITY must be an integer"),
    ("return { PRIORITY = 1 }", "VERSION must be a string"),
    ("return 42", "handler.lua must return a table"),
    ('error("boom")', "boom"),
    ('return { PRIORITY = 1, VERSION = "1", response = function() end }',
     "does not run the response phase"),
])
def test_a_handler_that_cannot_run_is_refused_naming_it(tmp_path, handler, reason):
    config = _plugin(tmp_path, "broken", handler)
    with pytest.raises(ConfigError) as exc:
        plugins.load(config)
    message = str(exc.value)
    assert message.startswith(f"broken plugin ({tmp_path / 'broken' / 'handler.lua'})")
    assert reason in message
