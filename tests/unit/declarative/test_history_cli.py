"""`kongpy config history | diff | rollback` through the CLI, on SQLite."""
import json

import pytest
import yaml
from click.testing import CliRunner

from kongpy.cli import main

ONE = """_format_version: "3.0"
services:
- name: example
  id: 6a7e5f49-5b8b-4d8f-9d4a-8b9a0d5e2c11
  url: http://127.0.0.1:9/
  routes:
  - name: r1
    paths: ["/ex"]
"""
TWO = """_format_version: "3.0"
services:
- name: example
  id: 6a7e5f49-5b8b-4d8f-9d4a-8b9a0d5e2c11
  url: http://127.0.0.1:9/
  retries: 1
consumers:
- username: alice
"""


@pytest.fixture
def node(tmp_path):
    conf = tmp_path / "kongpy.conf"
    conf.write_text(f"prefix = {tmp_path / 'p'}\ndatabase = sqlite\n"
                    f"sqlite_path = {tmp_path / 'k.db'}\nconfig_history_size = 3\n")
    (tmp_path / "one.yml").write_text(ONE)
    (tmp_path / "two.yml").write_text(TWO)
    return tmp_path


def run(node, *args):
    return CliRunner().invoke(main, ["config", *args, "-c", str(node / "kongpy.conf")])


def _bootstrap(node):
    assert CliRunner().invoke(main, ["migrations", "bootstrap", "-c",
                                     str(node / "kongpy.conf")]).exit_code == 0


def test_history_diff_rollback(node):
    _bootstrap(node)
    assert run(node, "history").output == ""
    assert run(node, "db_import", str(node / "one.yml")).exit_code == 0
    assert run(node, "db_import", str(node / "two.yml")).exit_code == 0
    # an import that changes nothing is no new version
    assert run(node, "db_import", str(node / "two.yml")).exit_code == 0
    lines = run(node, "history").output.splitlines()
    assert len(lines) == 2
    version, _at, origin, summary = lines[0].split("\t")
    assert (version, origin) == ("2", "cli")
    assert summary == "services +0 ~1 -0, consumers +1 ~0 -0"
    assert lines[1].split("\t")[3] == "services +1 ~0 -0, routes +1 ~0 -0"
    assert run(node, "history", "-n", "1").output.splitlines() == lines[:1]

    diff = json.loads(run(node, "diff", "2").output)
    assert (diff["from"], diff["to"]) == (1, 2)
    assert diff["changes"]["services"]["changed"][0]["fields"]["retries"] == {"old": 5, "new": 1}
    assert diff["changes"]["consumers"]["added"][0]["entity"]["username"] == "alice"
    assert json.loads(run(node, "diff", "1", "--against", "2").output)["from"] == 2

    done = run(node, "rollback", "1")
    assert (done.exit_code, done.output) == (0, "rolled back to version 1: now version 3\n")
    assert run(node, "history").output.splitlines()[0].endswith("(rollback to 1)")
    exported = yaml.safe_load(run(node, "db_export", "-").output)
    assert "consumers" not in exported
    assert exported["services"][0]["retries"] == 5
    assert [r["name"] for r in exported["routes"]] == ["r1"]

    # config_history_size = 3: the fourth version pushes the first out
    assert run(node, "rollback", "2").exit_code == 0
    assert [line.split("\t")[0] for line in run(node, "history").output.splitlines()] == \
        ["4", "3", "2"]
    missing = run(node, "rollback", "1")
    assert (missing.exit_code, missing.output) == (
        1, "Error: no configuration version 1 in the history\n")
    assert run(node, "diff", "9").output == "Error: no configuration version 9 in the history\n"


def test_needs_bootstrap(node):
    out = run(node, "history")
    assert out.exit_code == 1 and "bootstrap" in out.output
