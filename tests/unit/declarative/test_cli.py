"""`kongpy config parse | db_import | db_export` through the CLI, on SQLite."""
import pytest
import yaml
from click.testing import CliRunner

from kongpy.cli import main

GOOD = """_format_version: "3.0"
services:
- name: example
  url: http://127.0.0.1:9/
  routes:
  - name: r1
    paths: ["/ex"]
"""
BAD = """_format_version: "3.0"
routes:
- name: r2
  service: nope
  paths: ["/x"]
"""


@pytest.fixture
def node(tmp_path):
    conf = tmp_path / "kongpy.conf"
    conf.write_text(f"prefix = {tmp_path / 'p'}\ndatabase = sqlite\n"
                    f"sqlite_path = {tmp_path / 'k.db'}\n")
    (tmp_path / "good.yml").write_text(GOOD)
    (tmp_path / "bad.yml").write_text(BAD)
    return tmp_path


def run(node, *args):
    return CliRunner().invoke(main, ["config", *args, "-c", str(node / "kongpy.conf")])


def test_parse(node):
    ok = run(node, "parse", str(node / "good.yml"))
    assert (ok.exit_code, ok.output) == (0, "parse successful\n")
    bad = run(node, "parse", str(node / "bad.yml"))
    assert bad.exit_code == 1
    assert bad.output == ("Error: Failed parsing:\nin 'routes':\n  in 'r2': invalid reference "
                          "'service: nope' (no such entry in 'services')\n")
    none = run(node, "parse")
    assert (none.exit_code, none.output) == (
        1, "Error: expected a declarative configuration file; see `kongpy config --help`\n")


def test_db_import_and_export(node):
    fresh = run(node, "db_import", str(node / "good.yml"))
    assert fresh.exit_code == 1
    assert fresh.output.startswith("Error: Database needs bootstrapping")
    assert CliRunner().invoke(main, ["migrations", "bootstrap", "-c",
                                     str(node / "kongpy.conf")]).exit_code == 0
    bad = run(node, "db_import", str(node / "bad.yml"))
    assert bad.exit_code == 1 and bad.output.startswith("Error: Failed parsing:\n")
    for _ in range(2):  # a re-run upserts the same rows
        ok = run(node, "db_import", str(node / "good.yml"))
        assert (ok.exit_code, ok.output) == (
            0, "parse successful, beginning import\nimport successful\n")
    out = node / "export.yml"
    assert run(node, "db_export", str(out)).exit_code == 0
    doc = yaml.safe_load(out.read_text())
    assert (doc["_format_version"], doc["_transform"]) == ("3.0", False)
    assert [s["name"] for s in doc["services"]] == ["example"]
    assert doc["routes"][0]["service"] == doc["services"][0]["id"]
    again = run(node, "db_export", str(out))
    assert (again.exit_code, again.output) == (
        1, f"Error: {out} already exists. Will not overwrite it.\n")
    stdout = run(node, "db_export", "-")
    assert stdout.exit_code == 0 and stdout.output == out.read_text()
    # the export is itself a valid declarative configuration
    assert run(node, "parse", str(out)).output == "parse successful\n"


def test_db_import_and_export_of_a_dbless_node_say_what_to_use(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    conf = tmp_path / "kongpy.conf"
    conf.write_text(f"prefix = {tmp_path / 'p'}\ndatabase = off\n")
    (tmp_path / "good.yml").write_text(GOOD)
    imported = CliRunner().invoke(main, ["config", "db_import", "good.yml", "-c", str(conf)])
    assert (imported.exit_code, imported.output) == (1, (
        "Error: 'kongpy config db_import' only works with a database.\n"
        "When using database=off, reload your declarative configuration\n"
        "using the /config endpoint.\n"))
    exported = CliRunner().invoke(main, ["config", "db_export", "-c", str(conf)])
    assert (exported.exit_code, exported.output) == (
        1, "Error: 'kongpy config db_export' only works with a database.\n")


def test_db_export_names_the_file_it_will_not_overwrite_in_full(node, monkeypatch):
    monkeypatch.chdir(node)
    CliRunner().invoke(main, ["migrations", "bootstrap", "-c", str(node / "kongpy.conf")])
    assert run(node, "db_export").exit_code == 0
    assert (node / "kong.yml").is_file()
    again = run(node, "db_export")
    assert (again.exit_code, again.output) == (
        1, f"Error: {node / 'kong.yml'} already exists. Will not overwrite it.\n")
