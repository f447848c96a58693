"""Expired ttl rows (oauth2 codes and tokens, key-auth keys) on every datastore:
invisible at once, then removed by the cleanup (with their tags), the live
ones kept; removing them appends no cluster event."""
from __future__ import annotations

import time


def test_expired_rows_are_invisible_then_removed(db, backend):
    bob = db.consumers.insert({"username": "bob"})
    app = db.oauth2_credentials.insert({"consumer": {"id": bob["id"]}, "name": "app"})
    cred = {"id": app["id"]}
    short = db.oauth2_tokens.insert({"credential": cred, "expires_in": 1, "ttl": 1})
    kept = db.oauth2_tokens.insert({"credential": cred, "expires_in": 1, "ttl": 600})
    code = db.oauth2_authorization_codes.insert({"credential": cred, "ttl": 1})
    key = db.keyauth_credentials.insert({"consumer": {"id": bob["id"]}, "ttl": 1,
                                         "tags": ["gone"]})
    assert short["ttl"] == 1 and kept["ttl"] <= 600
    time.sleep(1.2)
    assert db.oauth2_tokens.select(short["id"]) is None
    assert db.oauth2_tokens.select_by_key(short["access_token"]) is None
    assert db.oauth2_authorization_codes.select(code["id"]) is None
    assert [t["id"] for t in db.oauth2_tokens.each()] == [kept["id"]]
    version = db.events.latest()
    removed = sum(dao.delete_expired() for dao in db.daos.values() if dao.schema.uses_ttl)
    # Cassandra's own TTL removes them (within a second or so); SQL stores
    # need the cleanup

    # (each row its own second boundary: wait for all of them)
    def stored() -> list:
        return [row for row in (db.strategy.select(db.oauth2_tokens.table, short["id"]),
                                db.strategy.select(db.keyauth_credentials.table, key["id"]))
                if row is not None]

    deadline = time.monotonic() + 3
    while stored() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert db.strategy.select(db.oauth2_tokens.table, short["id"]) is None
    assert db.strategy.select(db.keyauth_credentials.table, key["id"]) is None
    assert removed == (0 if backend["database"] == "cassandra" else 3)
    if backend["database"] != "cassandra":  # its tag index rows carry no TTL yet
        assert db.tags.page(tag="gone")[0] == []
    assert db.oauth2_tokens.select(kept["id"])["id"] == kept["id"]
    assert db.events.latest() == version
