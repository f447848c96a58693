"""Core migrations, a versioned list per datastore.

Each step is ``(name, up, teardown)``; ``up`` runs on ``bootstrap``/``up``,
``teardown`` (optional) on ``finish``, as with Kong's two-phase migrations.
Steps receive the strategy and speak to it through its interface or, when a
datastore needs it, its own dialect.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

from kongpy.db import admin_tokens, history
from kongpy.db import metrics
from kongpy.db.entities import table_for
from kongpy.db.strategies.base import Strategy
from kongpy.schemas import (CaCertificateSchema, CertificateSchema, ConsumerSchema,
                            KeySchema, KeySetSchema, PluginSchema, RouteSchema, ServiceSchema,
                            SniSchema, TargetSchema, UpstreamSchema, VaultSchema)


class Migration(NamedTuple):
    name: str
    up: Callable[[Strategy], None]
    teardown: Callable[[Strategy], None] | None = None


def _base(strategy: Strategy) -> None:
    strategy.create_core_tables()
    strategy.create_table(table_for(ServiceSchema))
    strategy.create_table(table_for(RouteSchema))


def _consumers_plugins(strategy: Strategy) -> None:
    strategy.create_table(table_for(ConsumerSchema))
    strategy.create_table(table_for(PluginSchema))


def _admin_tokens(strategy: Strategy) -> None:
    strategy.create_table(admin_tokens.TABLE)


def _counters(strategy: Strategy) -> None:
    # The `cluster` policy's counters of Kong's two rate-limiting plugins:
    # kept by the core so that their (Kong-named) tables exist whatever the
    # plugins' own files say.
    for name in metrics.TABLES:
        strategy.create_counter_table(metrics.TABLES[name])


def _upstreams_targets(strategy: Strategy) -> None:
    strategy.create_table(table_for(UpstreamSchema))
    strategy.create_table(table_for(TargetSchema))


def _certificates_vaults(strategy: Strategy) -> None:
    for schema in (CertificateSchema, SniSchema, CaCertificateSchema, VaultSchema):
        strategy.create_table(table_for(schema))


def _keys(strategy: Strategy) -> None:
    # Kong's 017_300_to_310: key_sets, then keys (whose set_id references them).
    for schema in (KeySetSchema, KeySchema):
        strategy.create_table(table_for(schema))


def _config_history(strategy: Strategy) -> None:
    strategy.create_table(history.META)
    strategy.create_table(history.DOCUMENTS)


def _cassandra_versions(strategy: Strategy) -> None:
    strategy.upgrade_event_tables()  # type: ignore[attr-defined] - Cassandra only


def _cassandra_versions_finish(strategy: Strategy) -> None:
    strategy.drop_legacy_version()  # type: ignore[attr-defined] - Cassandra only


# Steps that speak only through the strategy interface serve every datastore;
# a datastore that needs its own dialect for a step gets a list of its own.
GENERIC: list[Migration] = [
    Migration("000_base", _base),
    Migration("001_consumers_plugins", _consumers_plugins),
    Migration(admin_tokens.STEP, _admin_tokens),
]

# Cassandra's version moved from a row of its own into the cluster_events
# partition, so that it advances together with its events (docs/datastores.md).
# Nodes still running the code before it keep the old row until `finish`.
CASSANDRA: list[Migration] = GENERIC + [
    Migration("003_cassandra_versions", _cassandra_versions, _cassandra_versions_finish),
]
COUNTERS = Migration("004_ratelimiting_counters", _counters)
UPSTREAMS = Migration("005_upstreams_targets", _upstreams_targets)
CERTIFICATES = Migration("006_certificates_vaults", _certificates_vaults)
CONFIG_HISTORY = Migration(history.STEP, _config_history)
KEYS = Migration("008_keys_key_sets", _keys)
GENERIC = GENERIC + [COUNTERS, UPSTREAMS, CERTIFICATES, CONFIG_HISTORY, KEYS]
CASSANDRA = CASSANDRA + [COUNTERS, UPSTREAMS, CERTIFICATES, CONFIG_HISTORY, KEYS]

MIGRATIONS: dict[str, list[Migration]] = {
    "sqlite": GENERIC,
    "postgres": GENERIC,
    "cassandra": CASSANDRA,
}
