from __future__ import annotations

import re
import socket
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

import kongpy
from kongpy import conf, paths
from kongpy.cli import main
from kongpy.db.admin_tokens import hash_token
from kongpy.supervisor import pidfile
from tests.helpers.servers import free_port


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)
    return invoke


def test_version(run):
    result = run("version", "--all")
    assert result.exit_code == 0
    assert result.output.splitlines() == [f"kongpy {kongpy.__version__}",
                                          f"kong_version: {kongpy.KONG_VERSION}"]


def test_check_valid(run, make_conf):
    path = make_conf(log_level="debug")
    result = run("check", path)
    assert result.exit_code == 0
    assert result.output == f"configuration at {path} is valid\n"


def test_check_invalid_names_the_property(run, make_conf):
    result = run("check", make_conf(proxy_listen="127.0.0.1:8000 bogus"))
    assert result.exit_code == 1
    assert result.output.startswith("Error: invalid value for 'proxy_listen': ")
    assert "Traceback" not in result.output


def test_check_env_override_is_validated(run, make_conf, monkeypatch):
    monkeypatch.setenv("KONG_DATABASE", "mysql")
    result = run("check", make_conf())
    assert result.exit_code == 1
    assert "invalid value for 'database': 'mysql' is not one of" in result.output


def test_traceback_only_with_vv(run, make_conf):
    path = make_conf(admin_workers="x")
    quiet = run("check", path)
    loud = run("check", path, "--vv")
    assert "Traceback" not in quiet.output
    assert quiet.exit_code == loud.exit_code == 1
    assert "Traceback" in loud.output and "Error: invalid value for 'admin_workers'" in loud.output


def test_unexpected_errors_are_reported_cleanly(run, make_conf, workdir):
    # The prefix is a file: rendering fails with an OSError deep inside.
    (workdir / "blocker").write_text("")
    result = run("prepare", "-c", make_conf(), "-p", str(workdir / "blocker"))
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert "Traceback" not in result.output


def test_health_when_not_running(run, workdir):
    result = run("health", "-p", str(workdir / "nowhere"))
    assert result.exit_code == 1
    assert result.output == f"Error: no such prefix: {workdir / 'nowhere'}\n"
    (workdir / "idle").mkdir()
    result = run("health", "-p", str(workdir / "idle"))
    assert result.exit_code == 1
    assert result.output == f"Error: kongpy is not running at {workdir / 'idle'}\n"


def test_health_names_the_prefix_of_a_partly_running_node(run, workdir):
    layout = paths.prefix(workdir / "partly")
    layout.make_dirs()
    # a supervisor whose nginx and Admin API are gone
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                           pidfile.SUPERVISOR_MARK]) as proc:
        try:
            layout.pid_file("supervisor").write_text(f"{proc.pid}\n")
            result = run("health", "-p", str(layout.root))
        finally:
            proc.kill()
    assert result.exit_code == 1
    assert "nginx.......not running" in result.output
    assert result.output.endswith(f"Error: some services are not running at {layout.root}\n")


def test_health_prefix_from_env(run, workdir, monkeypatch):
    monkeypatch.setenv("KONGPY_PREFIX", str(workdir / "viaenv"))
    result = run("health")
    assert f"no such prefix: {workdir / 'viaenv'}" in result.output


def test_check_defaults_to_the_conf_every_command_reads(run, workdir, monkeypatch):
    # the default places, moved where this machine's own files cannot be
    missing = workdir / "etc" / "kongpy.conf"
    monkeypatch.setattr(conf, "DEFAULT_PATHS", (str(missing), str(workdir / "kongpy.conf")))
    result = run("check")
    assert result.exit_code == 1
    assert result.output == ("Error: invalid value for 'conf': cannot read "
                             f"{missing}: No such file or directory\n")


def test_stop_quit_reload_when_not_running(run, workdir, make_conf):
    prefix = str(workdir / "idle")
    commands = (("stop", "-p", prefix), ("quit", "-p", prefix, "-t", "1"),
                ("reload", "-c", make_conf(), "-p", prefix))
    for args in commands:
        result = run(*args)
        assert result.exit_code == 1, args
        assert result.output == f"Error: no such prefix: {prefix}\n", args
    (workdir / "idle").mkdir()
    for args in commands:
        result = run(*args)
        assert result.exit_code == 1, args
        assert result.output == f"Error: kongpy is not running at {prefix}\n", args


def test_stale_pid_file_is_not_a_running_node(run, workdir):
    layout = paths.prefix(workdir / "stale")
    layout.make_dirs()
    # pid 1 exists but is not a kongpy supervisor.
    layout.pid_file("supervisor").write_text("1\n")
    assert run("health", "-p", str(layout.root)).exit_code == 1


def test_prepare_builds_the_prefix(run, make_conf, workdir, nginx_bin):
    result = run("prepare", "-c", make_conf(proxy_listen="127.0.0.1:18100",
                                            admin_listen="127.0.0.1:18101"))
    assert result.exit_code == 0, result.output
    layout = paths.prefix(workdir / "prefix")
    assert layout.nginx_conf.is_file() and layout.settings_file.is_file()
    assert (layout.ssl / "kongpy-default.crt").is_file()
    assert "proxy_listen = 127.0.0.1:18100" in layout.env_file.read_text()


def test_config_render_prints_without_writing(run, make_conf, workdir):
    result = run("config", "render", "-c", make_conf(
        proxy_listen="127.0.0.1:18200", nginx_http_lua_regex_cache_max_entries="8192"))
    assert result.exit_code == 0, result.output
    assert "listen 127.0.0.1:18200" in result.output
    assert "lua_regex_cache_max_entries 8192;" in result.output
    assert not (workdir / "prefix").exists()


def test_migrations_lifecycle(run, make_conf, workdir):
    path = make_conf()
    result = run("migrations", "list", "-c", path)
    assert result.exit_code == 3 and "kongpy migrations bootstrap" in result.output
    result = run("migrations", "bootstrap", "-c", path)
    assert result.exit_code == 0 and "Database is up-to-date" in result.output
    assert run("migrations", "bootstrap", "-c", path).output == "Database already bootstrapped\n"
    result = run("migrations", "list", "-c", path)
    assert "Executed migrations:" in result.output and "Database is up-to-date" in result.output
    assert "core: 000_base, 001_consumers_plugins, 002_admin_tokens" in result.output
    assert run("migrations", "up", "-c", path).output == "Database is already up-to-date\n"
    assert run("migrations", "finish", "-c", path).output == "No pending migrations to finish\n"
    result = run("migrations", "reset", "-c", path, "--yes")
    assert result.output == "Resetting database...\nDatabase successfully reset\n"
    assert run("migrations", "list", "-c", path).exit_code == 3


def test_start_refuses_a_datastore_needing_bootstrap(run, make_conf, workdir):
    # a SQLite file made by something else (not a fresh one, which start
    # bootstraps itself): an older or foreign schema
    conf_file = make_conf(proxy_listen=f"127.0.0.1:{free_port()}",
                          admin_listen=f"127.0.0.1:{free_port()}")
    db_file = workdir / "prefix" / "kongpy.db"
    db_file.parent.mkdir(parents=True, exist_ok=True)
    sqlite3.connect(db_file).execute("CREATE TABLE other (x)").connection.commit()
    result = run("start", "-c", conf_file)
    assert result.exit_code == 1
    assert "kongpy migrations bootstrap" in result.output
    assert not paths.prefix(workdir / "prefix").pid_file("supervisor").exists()


def test_start_refuses_a_busy_port(run, make_conf):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        address = f"127.0.0.1:{busy.getsockname()[1]}"
        result = run("start", "-c", make_conf(admin_listen=address,
                                              proxy_listen="127.0.0.1:18400"))
    assert result.exit_code == 1
    assert result.output == f"Error: admin_listen {address}: address already in use\n"


def test_admin_tokens_lifecycle(run, make_conf, workdir):
    path = make_conf()  # SQLite: the embedded store bootstraps itself
    created = run("admin", "token", "create", "ci", "-c", path)
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert created.stdout == token + "\n" and len(token) >= 43
    reader = run("admin", "token", "create", "audit", "--read-only", "-c", path)
    assert reader.exit_code == 0 and reader.stdout.strip() != token

    duplicate = run("admin", "token", "create", "ci", "-c", path)
    assert duplicate.exit_code == 1
    assert duplicate.output == "Error: an admin token named 'ci' already exists\n"
    bad = run("admin", "token", "create", "no spaces", "-c", path)
    assert bad.exit_code == 1 and bad.output.startswith("Error: invalid token name")

    listed = run("admin", "token", "list", "-c", path)
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split() == ["name", "access", "created"]
    assert [line.split()[:2] for line in lines[1:]] == [["audit", "read-only"],
                                                        ["ci", "read-write"]]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lines[1].split()[2])
    assert token not in listed.output and hash_token(token) not in listed.output

    # -p names the node whose (SQLite) datastore is meant.
    other = run("admin", "token", "list", "-c", path, "-p", str(workdir / "other"))
    assert other.output.splitlines()[1:] == []

    assert run("admin", "token", "revoke", "ci", "-c", path).output == \
        "admin token 'ci' revoked\n"
    unknown = run("admin", "token", "revoke", "ci", "-c", path)
    assert unknown.exit_code == 1 and unknown.output == "Error: no admin token named 'ci'\n"
    assert "ci " not in run("admin", "token", "list", "-c", path).output


def test_admin_tokens_need_migrations_on_server_datastores(run, make_conf, workdir):
    from tests.helpers import datastores

    settings = datastores.isolated("postgres", workdir)
    try:
        path = make_conf(**datastores.as_conf(settings))
        result = run("admin", "token", "create", "ci", "-c", path)
        assert result.exit_code == 1 and "kongpy migrations bootstrap" in result.output
        assert run("migrations", "bootstrap", "-c", path).exit_code == 0
        assert run("admin", "token", "create", "ci", "-c", path).exit_code == 0
    finally:
        datastores.drop(settings)


def test_unauthenticated_admin_api_off_loopback_is_refused(run, make_conf, workdir):
    path = make_conf(admin_listen="0.0.0.0:18501", proxy_listen="127.0.0.1:18500")
    for args in (("check", path), ("start", "-c", path), ("migrations", "list", "-c", path)):
        result = run(*args)
        assert result.exit_code == 1, args
        assert result.output.startswith("Error: invalid value for 'admin_auth': off is "
                                        "refused while admin_listen has a non-loopback")
        assert len(result.output.splitlines()) == 1
    # Stopping only needs the prefix: it never refuses the conf.
    (workdir / "prefix").mkdir(exist_ok=True)
    stopped = run("stop", "-c", path)
    assert stopped.output == f"Error: kongpy is not running at {workdir / 'prefix'}\n"
    assert run("check", make_conf(admin_listen="0.0.0.0:18501",
                                  admin_auth_insecure="on")).exit_code == 0
    assert run("check", make_conf(admin_listen="0.0.0.0:18501",
                                  admin_auth="token")).exit_code == 0
