"""The Admin API token table on every datastore: its migration step and its store."""
from __future__ import annotations

import pytest

from kongpy.db import admin_tokens
from kongpy.db.migrations import SUBSYSTEM
from kongpy.sync import snapshot


def test_store_create_list_revoke(db):
    strategy = db.strategy
    assert admin_tokens.rows(strategy) == []
    token = admin_tokens.create(strategy, "deployer")
    reader = admin_tokens.create(strategy, "auditor", read_only=True)
    assert len(token) >= 43 and token != reader  # 256 random bits, url-safe base64
    rows = admin_tokens.rows(strategy)
    assert [(r["name"], r["read_only"]) for r in rows] == [("auditor", True),
                                                           ("deployer", False)]
    # Only the hash is kept.
    assert all(token not in str(r) and reader not in str(r) for r in rows)
    assert admin_tokens.holders(strategy) == {
        admin_tokens.hash_token(token): admin_tokens.Holder("deployer", False),
        admin_tokens.hash_token(reader): admin_tokens.Holder("auditor", True)}
    with pytest.raises(admin_tokens.TokenError, match="'deployer' already exists"):
        admin_tokens.create(strategy, "deployer", read_only=True)
    admin_tokens.revoke(strategy, "deployer")
    assert [r["name"] for r in admin_tokens.rows(strategy)] == ["auditor"]
    with pytest.raises(admin_tokens.TokenError, match="no admin token named 'deployer'"):
        admin_tokens.revoke(strategy, "deployer")


def test_tokens_are_no_entity(db):
    admin_tokens.create(db.strategy, "deployer")
    assert admin_tokens.TABLE.name not in db.daos
    assert admin_tokens.TABLE.name not in snapshot.entity_names(db)
    assert db.events.latest() == 0  # no cluster event: nothing for the data plane


def _drop_table(db) -> None:
    strategy = db.strategy
    if db.database == "cassandra":
        strategy.cql.ddl(f"DROP TABLE IF EXISTS {strategy.t(admin_tokens.TABLE.name)}")
    else:
        strategy._exec(f'DROP TABLE IF EXISTS "{admin_tokens.TABLE.name}"')


def test_up_adds_the_table_to_an_existing_datastore(db):
    """A datastore bootstrapped before the step existed gets it from `up`."""
    meta = db.strategy.meta_get(SUBSYSTEM)
    assert admin_tokens.STEP in meta["executed"]
    with db.strategy.transaction():
        _drop_table(db)
        db.strategy.meta_set(SUBSYSTEM, [s for s in meta["executed"]
                                         if s != admin_tokens.STEP], meta["pending"])
    assert db.migrations.state()["new"] == [admin_tokens.STEP]
    assert db.migrations.up() == [admin_tokens.STEP]
    assert db.migrations.state()["new"] == []
    admin_tokens.create(db.strategy, "after-up")
    assert [r["name"] for r in admin_tokens.rows(db.strategy)] == ["after-up"]
