"""`kongpy migrations` as scripts written for `kong migrations` use it:
exit codes of `list`, `reset`'s refusals, and Kong's options."""
from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

from click.testing import CliRunner

from kongpy import conf, db
from kongpy.cli import main

CLI = [sys.executable, "-c", "import sys; from kongpy.cli import main; sys.exit(main())"]


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _interrupt_last_core_step(path: str) -> str:
    """The datastore as an upgrade left it between `up` and `finish`."""
    handle = db.open(conf.load(path, env={}))
    try:
        meta = handle.strategy.meta_get("core")
        last = meta["executed"][-1]
        handle.strategy.meta_set("core", meta["executed"][:-1], [last])
        return last
    finally:
        handle.close()


def test_list_exit_codes(make_conf):
    path = make_conf(plugins="off")
    result = run("migrations", "list", "-c", path)
    assert result.exit_code == 3
    assert result.stdout.startswith("Database needs bootstrapping")
    booted = run("migrations", "bootstrap", "-c", path)
    assert booted.exit_code == 0
    assert re.search(r"^(\d+) migrations processed\n\1 executed\nDatabase is up-to-date\n\Z",
                     booted.stdout, re.M), booted.stdout
    assert run("migrations", "list", "-c", path).exit_code == 0
    # plugins enabled since the bootstrap bring new migrations
    bundled = make_conf(plugins="bundled")
    result = run("migrations", "list", "-c", bundled)
    assert result.exit_code == 5
    assert re.search(r"^Executed migrations:\ncore: 000_base, [^\n]+\n\n"
                     r"New migrations available:\n(\s*[\w-]+: \w+\n)+\n"
                     r"Run 'kongpy migrations up' to proceed\n\Z", result.stdout), result.stdout
    # aligned on the colons, as basic-auth is the longest name
    assert f"\n{'acl'.rjust(len('basic-auth'))}: 000_base_acl\n" in result.stdout
    upped = run("migrations", "up", "-c", bundled)
    assert upped.exit_code == 0
    assert re.search(r"^(\d+) migrations processed\n\1 executed\nDatabase is up-to-date\n\Z",
                     upped.stdout, re.M), upped.stdout
    step = _interrupt_last_core_step(bundled)
    result = run("migrations", "list", "-c", bundled)
    assert result.exit_code == 4
    assert f"\n\nPending migrations:\ncore: {step}\n" in result.stdout
    assert result.stdout.endswith("\nRun 'kongpy migrations finish' when ready\n")
    finished = run("migrations", "finish", "-c", bundled)
    assert finished.exit_code == 0
    assert finished.stdout.endswith("1 migration processed\n1 executed\nDatabase is up-to-date\n")
    assert run("migrations", "list", "-c", bundled).exit_code == 0


def test_up_refuses_while_migrations_are_pending(make_conf):
    path = make_conf(plugins="off")
    run("migrations", "bootstrap", "-c", path)
    _interrupt_last_core_step(path)
    bundled = make_conf(plugins="bundled")
    result = run("migrations", "up", "-c", bundled)
    assert result.exit_code == 1
    assert result.output == ("Error: Database has pending migrations; "
                             "run 'kongpy migrations finish'\n")
    assert run("migrations", "list", "-c", bundled).exit_code == 4


def test_reset_without_yes_refuses_off_a_terminal(make_conf, workdir):
    path = make_conf()
    run("migrations", "bootstrap", "-c", path)
    proc = subprocess.run([*CLI, "migrations", "reset", "-c", path], input="y\n",
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == ("Error: not a tty: invoke 'reset' non-interactively "
                           "with the --yes flag\n")
    assert run("migrations", "list", "-c", path).exit_code == 0


def test_reset_asks_on_a_terminal(make_conf):
    path = make_conf()
    run("migrations", "bootstrap", "-c", path)
    for answers, still_there in (("maybe\nn\n", True), ("yes\n", False)):
        controller, terminal = pty.openpty()
        proc = subprocess.Popen([*CLI, "migrations", "reset", "-c", path],
                                stdin=terminal, stdout=terminal, stderr=terminal)
        os.close(terminal)
        os.write(controller, answers.encode())
        assert proc.wait(timeout=60) == 0
        output = b""
        try:
            while chunk := os.read(controller, 4096):
                output += chunk
        except OSError:  # the terminal closed with the process
            pass
        os.close(controller)
        text = output.decode()
        assert text.count("> Are you sure? This operation is irreversible. [Y/n] ") == (
            2 if still_there else 1)
        assert ("cancelled" in text) is still_there
        assert run("migrations", "list", "-c", path).exit_code == (0 if still_there else 3)


def test_reset_of_a_datastore_never_bootstrapped(make_conf):
    result = run("migrations", "reset", "-c", make_conf(), "--yes")
    assert result.exit_code == 1
    assert result.stdout == "Database not bootstrapped, nothing to reset\n"


def test_kongs_options_are_accepted(make_conf):
    path = make_conf()
    quiet = run("migrations", "bootstrap", "-c", path, "-q", "-y", "--db-timeout", "5")
    assert (quiet.exit_code, quiet.output) == (0, "")
    for command in ("up", "finish", "list"):
        result = run("migrations", command, "-c", path, "--quiet", "--yes",
                     "--db-timeout", "30")
        assert (result.exit_code, result.output) == (0, ""), command
    result = run("migrations", "reset", "-c", path, "-y", "-q")
    assert (result.exit_code, result.output) == (0, "")
    assert run("migrations", "list", "-c", path, "-q").exit_code == 3


def test_db_timeout_replaces_the_datastore_timeouts(make_conf):
    path = make_conf(pg_timeout="5000", cassandra_timeout="5000")
    debug = CliRunner().invoke(main, ["migrations", "status", "-c", path, "--vv"]).output
    assert "pg_timeout = 5000" in debug and "cassandra_timeout = 5000" in debug
    debug = CliRunner().invoke(main, ["migrations", "status", "-c", path, "--vv",
                                      "--db-timeout", "2.5"]).output
    assert "pg_timeout = 2500" in debug and "cassandra_timeout = 2500" in debug
