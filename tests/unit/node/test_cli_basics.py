"""The CLI's own options: --version, --v/--vv, and what check reports."""
from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

import kongpy
from kongpy.cli import main

REPO = Path(__file__).resolve().parents[3]


def test_version():
    for flag in ("--version", "-V"):
        result = CliRunner().invoke(main, [flag])
        assert (result.exit_code, result.output) == (0, f"kongpy {kongpy.__version__}\n")


def test_v_and_vv_say_where_the_configuration_came_from(tmp_path):
    conf_file = tmp_path / "kongpy.conf"
    conf_file.write_text(f"prefix = {tmp_path / 'p'}\npg_password = hunter2\n")
    plain = CliRunner().invoke(main, ["check", str(conf_file)])
    assert plain.output == f"configuration at {conf_file} is valid\n"
    verbose = CliRunner().invoke(main, ["check", str(conf_file), "--v"])
    assert f"reading configuration file at {conf_file}" in verbose.output
    assert "DEBUG" not in verbose.output
    debug = CliRunner().invoke(main, ["check", str(conf_file), "--vv"])
    assert re.search(r"DEBUG.*pg_password = \*\*\*\*\*\*", debug.output)
    assert "hunter2" not in debug.output


def test_check_reports_an_enabled_plugin_that_is_not_installed(tmp_path):
    conf_file = tmp_path / "kongpy.conf"
    conf_file.write_text(f"prefix = {tmp_path / 'p'}\nplugins = bundled, ghost\n")
    result = CliRunner().invoke(main, ["check", str(conf_file)])
    assert result.exit_code == 1
    assert result.output == "Error: ghost plugin is enabled but not installed\n"


def test_check_reports_every_invalid_property(tmp_path):
    conf_file = tmp_path / "kongpy.conf"
    conf_file.write_text(f"prefix = {tmp_path / 'p'}\nproxy_listen = bogus\n"
                         "admin_workers = x\nlog_level = loud\ndatabase = mysql\n")
    result = CliRunner().invoke(main, ["check", str(conf_file)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("Error: invalid value for 'proxy_listen': ")
    assert [line.split("'")[1] for line in lines] == [
        "proxy_listen", "admin_workers", "log_level", "database"]


def test_usage_errors_exit_1_as_kongs_cli_does():
    for args in (["foobar"], ["migrations", "invalid"], ["start", "--bogus"],
                 ["config", "parse", "a", "b"], ["admin", "token", "bogus"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, (args, result.output)
        assert "Error: " in result.output, args
    assert CliRunner().invoke(main, ["--help"]).exit_code == 0


def test_the_vagrant_box_runs_the_gateway_and_keeps_the_admin_api_private():
    text = (REPO / "Vagrantfile").read_text()
    assert 'type: "rsync"' in text
    assert 'run: "always"' in text and "scripts/run.sh" in text
    assert "guest: 8001" not in text  # the Admin API is reached through an SSH tunnel
    assert "-L 8001:127.0.0.1:8001" in (REPO / "README.md").read_text()
