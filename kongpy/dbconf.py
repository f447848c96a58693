"""The datastore properties of kongpy.conf (``pg_*``, ``cassandra_*``), typed.

One home for what they mean: conf validation (``kongpy check``, every
command) refuses a bad combination through :func:`check`, and the strategies
read their settings through :func:`postgres`, :func:`postgres_replica` and
:func:`cassandra`, so a strategy opened from a plain mapping (tests, tools)
gets the same checks. No property is accepted and then ignored: each one
below is used, or refused with a message naming it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from kongpy.errors import ConfigError

TYPES: dict[str, str] = {
    "pg_port": "int", "pg_timeout": "int", "pg_ssl": "bool", "pg_ssl_verify": "bool",
    "pg_max_concurrent_queries": "int", "pg_semaphore_timeout": "int",
    "pg_pool_size": "int", "pg_backlog": "int", "pg_ro_port": "int", "pg_ro_timeout": "int",
    "pg_ro_ssl": "bool", "pg_ro_ssl_verify": "bool",
    "cassandra_contact_points": "list", "cassandra_port": "int", "cassandra_timeout": "int",
    "cassandra_ssl": "bool", "cassandra_ssl_verify": "bool", "cassandra_repl_factor": "int",
    "cassandra_data_centers": "list",
}
LB_POLICIES = ("RoundRobin", "RequestRoundRobin", "DCAwareRoundRobin",
               "RequestDCAwareRoundRobin")
ENUMS: dict[str, tuple[str, ...]] = {
    "cassandra_consistency": ("ALL", "EACH_QUORUM", "QUORUM", "LOCAL_QUORUM", "ONE", "TWO",
                              "THREE", "LOCAL_ONE"),
    "cassandra_repl_strategy": ("SimpleStrategy", "NetworkTopologyStrategy"),
    "cassandra_lb_policy": LB_POLICIES,
}
MINIMUMS: dict[str, int] = {
    "pg_port": 1, "pg_timeout": 1, "pg_max_concurrent_queries": 0, "pg_semaphore_timeout": 1,
    "pg_pool_size": 1, "pg_backlog": 0, "pg_ro_port": 1, "pg_ro_timeout": 1,
    "cassandra_port": 1, "cassandra_timeout": 1, "cassandra_repl_factor": 1,
}
# Kong's pool size when pg_pool_size is unset (its lua_socket_pool_size).
DEFAULT_POOL_SIZE = 256
# The read-only connection's properties and the read-write ones they default to.
_REPLICA = ("host", "port", "timeout", "user", "password", "database", "schema", "ssl",
            "ssl_verify")


@dataclass(frozen=True)
class PgSettings:
    host: str = "127.0.0.1"
    port: int = 5432
    timeout_ms: int = 5000
    user: str = "kong"
    password: str = ""
    database: str = "kong"
    schema: str | None = None
    ssl: bool = False
    ssl_verify: bool = False
    # 0: no limit. Per process (an Admin API worker, the sync loop).
    max_concurrent_queries: int = 0
    semaphore_timeout_ms: int = 60000
    # Idle connections kept per process; with a backlog, also the most open.
    pool_size: int = DEFAULT_POOL_SIZE
    # None: open connections are not limited and nobody waits.
    backlog: int | None = None
    read_only: bool = False

    def where(self) -> str:
        return f"postgres{' replica' if self.read_only else ''} at {self.host}:{self.port}"


def _get(config: Mapping[str, Any], name: str, default: Any) -> Any:
    value = config.get(name)
    return default if value is None or value == "" else value


def _at_least(name: str, value: Any) -> Any:
    minimum = MINIMUMS.get(name)
    if value is not None and minimum is not None and int(value) < minimum:
        raise ConfigError.invalid(name, f"must be at least {minimum}")
    return value


def postgres(config: Mapping[str, Any]) -> PgSettings:
    """The read-write connection's settings."""
    for name in MINIMUMS:
        if name.startswith("pg_"):
            _at_least(name, config.get(name))
    d = PgSettings()
    backlog = config.get("pg_backlog")
    return PgSettings(
        host=str(_get(config, "pg_host", d.host)), port=int(_get(config, "pg_port", d.port)),
        timeout_ms=int(_get(config, "pg_timeout", d.timeout_ms)),
        user=str(_get(config, "pg_user", d.user)),
        password=str(_get(config, "pg_password", d.password)),
        database=str(_get(config, "pg_database", d.database)),
        schema=_get(config, "pg_schema", None),
        ssl=bool(config.get("pg_ssl")), ssl_verify=bool(config.get("pg_ssl_verify")),
        max_concurrent_queries=int(_get(config, "pg_max_concurrent_queries", 0)),
        semaphore_timeout_ms=int(_get(config, "pg_semaphore_timeout", d.semaphore_timeout_ms)),
        pool_size=int(_get(config, "pg_pool_size", d.pool_size)),
        backlog=None if backlog is None or backlog == "" else int(backlog))


def postgres_replica(config: Mapping[str, Any]) -> PgSettings | None:
    """The read-only connection's settings (Kong's ``pg_ro_*``), or None.

    Set by ``pg_ro_host``; every other ``pg_ro_*`` left unset takes the value
    of its read-write counterpart. One without ``pg_ro_host`` is refused.
    """
    given = {name: config.get(f"pg_ro_{name}") for name in _REPLICA}
    given = {name: value for name, value in given.items() if value is not None and value != ""}
    if not given:
        return None
    if "host" not in given:
        name = f"pg_ro_{sorted(given)[0]}"
        raise ConfigError.invalid(name, "the read-only connection is enabled by pg_ro_host, "
                                        "which is not set")
    main = postgres(config)
    values = {"timeout_ms" if k == "timeout" else k: v for k, v in given.items()}
    for name in ("port", "timeout_ms"):
        if name in values:
            values[name] = int(_at_least(f"pg_ro_{name.replace('_ms', '')}", values[name]))
    return replace(main, read_only=True, **values)


@dataclass(frozen=True)
class CassandraSettings:
    contact_points: tuple[str, ...] = ("127.0.0.1",)
    port: int = 9042
    keyspace: str = "kong"
    timeout_s: float = 5.0
    consistency: str = "ONE"
    lb_policy: str = "RequestRoundRobin"
    local_dc: str | None = None
    username: str | None = None
    password: str = ""
    ssl: bool = False
    ssl_verify: bool = False
    repl_strategy: str = "SimpleStrategy"
    repl_factor: int = 1
    data_centers: tuple[str, ...] = ()

    @property
    def dc_aware(self) -> bool:
        return "DCAware" in self.lb_policy

    @property
    def per_request(self) -> bool:
        return self.lb_policy.startswith("Request")

    def where(self) -> str:
        return f"cassandra at {','.join(self.contact_points)}:{self.port}"

    def replication(self) -> str:
        if self.repl_strategy == "NetworkTopologyStrategy":
            parts = ["'class': 'NetworkTopologyStrategy'"]
            for item in self.data_centers:
                name, _, factor = item.partition(":")
                parts.append(f"'{name.strip()}': {int(factor or 1)}")
            return "{" + ", ".join(parts) + "}"
        return f"{{'class': 'SimpleStrategy', 'replication_factor': {self.repl_factor}}}"


def cassandra(config: Mapping[str, Any]) -> CassandraSettings:
    for name in MINIMUMS:
        if name.startswith("cassandra_"):
            _at_least(name, config.get(name))
    d = CassandraSettings()
    s = CassandraSettings(
        contact_points=tuple(_get(config, "cassandra_contact_points", d.contact_points)),
        port=int(_get(config, "cassandra_port", d.port)),
        keyspace=str(_get(config, "cassandra_keyspace", d.keyspace)),
        timeout_s=int(_get(config, "cassandra_timeout", 5000)) / 1000.0,
        consistency=str(_get(config, "cassandra_consistency", d.consistency)).upper(),
        lb_policy=str(_get(config, "cassandra_lb_policy", d.lb_policy)),
        local_dc=_get(config, "cassandra_local_datacenter", None),
        username=_get(config, "cassandra_username", None),
        password=str(_get(config, "cassandra_password", "")),
        ssl=bool(config.get("cassandra_ssl")),
        ssl_verify=bool(config.get("cassandra_ssl_verify")),
        repl_strategy=str(_get(config, "cassandra_repl_strategy", d.repl_strategy)),
        repl_factor=int(_get(config, "cassandra_repl_factor", d.repl_factor)),
        data_centers=tuple(_get(config, "cassandra_data_centers", ())))
    if s.lb_policy not in LB_POLICIES:
        raise ConfigError.invalid("cassandra_lb_policy", f"'{s.lb_policy}' is not one of "
                                                         f"{', '.join(LB_POLICIES)}")
    if s.dc_aware and not s.local_dc:
        # Kong's words.
        raise ConfigError(f"must specify 'cassandra_local_datacenter' when {s.lb_policy} "
                          "policy is in use", prop="cassandra_local_datacenter")
    if s.local_dc and not s.dc_aware:
        raise ConfigError.invalid(
            "cassandra_local_datacenter", f"only the DC-aware policies use it, and "
            f"cassandra_lb_policy is {s.lb_policy}: set cassandra_lb_policy = "
            "DCAwareRoundRobin or RequestDCAwareRoundRobin, or unset it")
    return s


def check(values: Mapping[str, Any]) -> None:
    """Refuses datastore properties that could not be honoured (conf validation)."""
    for name in MINIMUMS:
        _at_least(name, values.get(name))
    database = values.get("database")
    if database == "postgres":
        postgres(values)
        postgres_replica(values)
    elif database == "cassandra":
        cassandra(values)
