"""The datastores the contract suite runs on: SQLite, PostgreSQL and Cassandra.

PostgreSQL and Cassandra are the private test servers of scripts/servers/
(their `env` output sets KONGPY_TEST_PG_* and KONGPY_TEST_CASSANDRA_*). Each
test process gets its own PostgreSQL schema and Cassandra keyspace, bootstrapped
once; tests empty them instead of re-creating them (Cassandra schema changes
take seconds). A server that does not answer skips its tests locally and fails
them under CI=true.
"""
from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest

BACKENDS = ("sqlite", "postgres", "cassandra")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO = Path(__file__).resolve().parents[2]


def pg_settings(schema: str | None = None) -> dict[str, Any]:
    env = os.environ.get
    settings = {"database": "postgres",
                "pg_host": env("KONGPY_TEST_PG_HOST", "127.0.0.1"),
                "pg_port": int(env("KONGPY_TEST_PG_PORT", "55432")),
                "pg_user": env("KONGPY_TEST_PG_USER", "kongpy"),
                "pg_password": env("KONGPY_TEST_PG_PASSWORD", "kongpy"),
                "pg_database": env("KONGPY_TEST_PG_DATABASE", "kongpy_tests"),
                "pg_timeout": 5000}
    if schema:
        settings["pg_schema"] = schema
    return settings


def cassandra_settings(keyspace: str | None = None) -> dict[str, Any]:
    env = os.environ.get
    return {"database": "cassandra",
            "cassandra_contact_points": [env("KONGPY_TEST_CASSANDRA_HOST", "127.0.0.1")],
            "cassandra_port": int(env("KONGPY_TEST_CASSANDRA_PORT", "59042")),
            "cassandra_keyspace": keyspace or env("KONGPY_TEST_CASSANDRA_KEYSPACE",
                                                  "kongpy_tests"),
            "cassandra_timeout": 10000}


def as_conf(settings: dict[str, Any]) -> dict[str, str]:
    """The same settings as kongpy.conf lines (lists comma-joined)."""
    return {k: ",".join(v) if isinstance(v, list) else str(v) for k, v in settings.items()}


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require_listening(name: str, host: str, port: int, script: str) -> None:
    """Skips (locally) or fails (CI=true) unless something answers on host:port."""
    if _answers(host, port):
        return
    message = f"{name} is not reachable at {host}:{port} (run scripts/servers/{script}.sh start)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def require_server(backend: str) -> None:
    """Skips (locally) or fails (CI=true) unless the backend's server answers."""
    if backend == "sqlite":
        return
    if backend == "postgres":
        where = pg_settings()
        host, port, script = where["pg_host"], where["pg_port"], "postgres"
    else:
        where = cassandra_settings()
        host, port, script = where["cassandra_contact_points"][0], where["cassandra_port"], \
            "cassandra"
    if _answers(host, port):
        return
    message = (f"{backend} is not reachable at {host}:{port} "
               f"(run scripts/servers/{script}.sh start)")
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def unique_name(prefix: str) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"{prefix}_{worker}_{uuid.uuid4().hex[:8]}"


def isolated(backend: str, tmp_dir: Path) -> dict[str, Any]:
    """Settings of a datastore of its own (a new file, schema or keyspace)."""
    require_server(backend)
    if backend == "sqlite":
        return {"database": "sqlite", "sqlite_path": str(tmp_dir / f"{uuid.uuid4().hex}.db")}
    if backend == "postgres":
        return pg_settings(unique_name("t"))
    return cassandra_settings(unique_name("t"))


def drop(settings: dict[str, Any]) -> None:
    """Removes the schema or keyspace made by :func:`isolated`."""
    import kongpy.db

    handle = kongpy.db.open(settings)
    try:
        if settings["database"] == "postgres":
            handle.strategy._exec(f'DROP SCHEMA IF EXISTS "{settings["pg_schema"]}" CASCADE')
        elif settings["database"] == "cassandra":
            handle.strategy.cql.ddl(
                f'DROP KEYSPACE IF EXISTS "{settings["cassandra_keyspace"]}"')
    finally:
        handle.close()


def clean(handle: Any) -> None:
    """Empties a datastore for the next test; bootstraps it again if a test dropped it."""
    if handle.migrations.needs_bootstrap() or handle.migrations.state()["new"]:
        handle.migrations.reset()
        handle.migrations.bootstrap()
    else:
        handle.strategy.truncate_everything()


class Pool:
    """One bootstrapped datastore per backend for the whole test process."""

    def __init__(self, tmp_dir: Path) -> None:
        self.tmp_dir = tmp_dir
        self.made: dict[str, dict[str, Any]] = {}

    def get(self, backend: str) -> dict[str, Any]:
        if backend == "sqlite":  # a file is cheap: a fresh one every time
            return isolated(backend, self.tmp_dir)
        if backend not in self.made:
            import kongpy.db

            settings = isolated(backend, self.tmp_dir)
            handle = kongpy.db.open(settings)
            try:
                handle.migrations.bootstrap()
            finally:
                handle.close()
            self.made[backend] = settings
        return dict(self.made[backend])

    def close(self) -> None:
        for settings in self.made.values():
            try:
                drop(settings)
            except Exception:  # noqa: BLE001 - best effort at the end of the run
                pass
