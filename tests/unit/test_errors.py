"""One error hierarchy, mapped once at each edge: HTTP in kongpy/admin/errors.py,
``Error: …`` lines in the CLI's Group."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import click
import pytest
from click.testing import CliRunner
from flask import Flask

import kongpy
from kongpy import errors as e
from kongpy.admin import errors as edge
from kongpy.cli._common import Group


def _kongpy_modules():
    for info in pkgutil.walk_packages(kongpy.__path__, "kongpy."):
        if info.name.endswith("__main__") or info.name in ("kongpy.admin.wsgi", "kongpy.gui.wsgi"):
            continue  # entry points: importing them runs them
        yield importlib.import_module(info.name)


def test_every_public_exception_is_in_the_hierarchy():
    strays = []
    for module in _kongpy_modules():
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, BaseException)
                    and obj.__module__ == module.__name__ and not name.startswith("_")
                    and not issubclass(obj, e.KongpyError)):
                strays.append(f"{module.__name__}.{name}")
    assert strays == []


def test_one_configuration_error():
    assert not hasattr(e, "ConfigurationError")
    assert kongpy.conf.ConfigError is e.ConfigError
    err = e.ConfigError.invalid("pg_pool_size", "must be at least 1")
    assert str(err) == "invalid value for 'pg_pool_size': must be at least 1"
    assert err.property == "pg_pool_size"


@pytest.mark.parametrize("exc, status, body", [
    (e.UniqueViolation({"name": "a"}), 409, {
        "code": 5, "name": "unique constraint violation",
        "message": "UNIQUE violation detected on '{name=\"a\"}'", "fields": {"name": "a"}}),
    (e.NotFound({"id": "x"}), 404, None),
    (e.DatabaseError("[postgres] boom"), 500, edge.UNEXPECTED),
    (e.DatastoreUnavailable("cannot reach the datastore (x): down"), 503,
     {"message": "cannot reach the datastore (x): down"}),
    (e.DatastoreBusy("error acquiring query semaphore: timeout"), 503,
     {"message": "error acquiring query semaphore: timeout"}),
    (e.TokensUnavailable(), 503,
     {"message": "cannot check credentials while the datastore is unreachable"}),
    (e.InvalidBody("Cannot parse JSON body"), 400, {"message": "Cannot parse JSON body"}),
    (e.BadBatch("expected a JSON object"), 400, {"message": "expected a JSON object"}),
    (e.UnsupportedBody("Unsupported media type"), 415,
     {"message": "Unsupported media type"}),
    (e.ConfigError("plugin x is in use but not enabled"), 500, edge.UNEXPECTED),
    (e.Conflict("name"), 500, edge.UNEXPECTED),
])
def test_the_admin_api_maps_each_class_once(exc, status, body):
    with Flask(__name__).app_context():
        resp = edge.response_for(exc)
    assert resp.status_code == status
    if body is not None:
        assert resp.get_json() == body


def test_every_kong_code_has_a_status():
    assert set(edge.HTTP_STATUS) == set(e.NAMES)


@pytest.mark.parametrize("exc, line", [
    (e.TokenError("no admin token named 'ci'"), "Error: no admin token named 'ci'"),
    (e.ConfigError.invalid("pg_backlog", "must be at least 0"),
     "Error: invalid value for 'pg_backlog': must be at least 0"),
    (e.DatastoreBusy("error acquiring query semaphore: timeout"),
     "Error: error acquiring query semaphore: timeout"),
    (e.NginxTestError("nginx configuration is invalid: x"),
     "Error: nginx configuration is invalid: x"),
])
def test_the_cli_prints_each_error_once(exc, line):
    @click.group(cls=Group)
    def cli() -> None:
        pass

    @cli.command()
    def fail() -> None:
        raise exc

    result = CliRunner().invoke(cli, ["fail"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [line]


def test_the_property_is_never_taken_for_the_message():
    # (name, message) is invalid()'s order; the constructor refuses it.
    with pytest.raises(TypeError):
        e.ConfigError("prefix", "cannot change on reload")  # type: ignore[misc]
    assert e.ConfigError("plain words", prop="nginx_user").property == "nginx_user"
