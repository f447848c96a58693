"""DAO.compare_and_set, the write behind credential re-hashes, on every datastore:
a value changed meanwhile is never overwritten, even when the change commits
between the compare-and-set's read and its write."""
from __future__ import annotations

import threading

import pytest

from kongpy.errors import InvalidOptions
from tests.helpers import passwords
from tests.helpers.imported import import_basic_auth


@pytest.fixture
def legacy(db):
    bob = db.consumers.insert({"username": "bob"})
    return import_basic_auth(db, bob["id"], "bob", "pw")


def _pbkdf2(_db, password: str) -> str:
    return passwords.hash_password(password)


def test_sets_only_while_the_value_is_expected(db, legacy):
    dao = db.basicauth_credentials
    new = _pbkdf2(db, "pw")
    before = db.events.latest()
    assert dao.compare_and_set(legacy["id"], "password", legacy["password"], new)
    stored = dao.select(legacy["id"])
    assert stored["password"] == new
    assert {k: v for k, v in stored.items() if k != "password"} == \
        {k: v for k, v in legacy.items() if k != "password"}
    assert db.events.latest() > before
    after = db.events.latest()
    assert not dao.compare_and_set(legacy["id"], "password", legacy["password"],
                                   _pbkdf2(db, "pw"))
    assert not dao.compare_and_set("8a4f7a3e-0d5c-4c36-9d4b-3f7e1b2a6c90", "password",
                                   legacy["password"], new)
    assert dao.select(legacy["id"])["password"] == new and db.events.latest() == after
    with pytest.raises(InvalidOptions):
        dao.compare_and_set(legacy["id"], "username", "bob", "eve")


def test_an_admin_change_after_the_login_wins(db, legacy):
    dao = db.basicauth_credentials
    changed = dao.update(legacy["id"], {"password": "new"})["password"]
    assert not dao.compare_and_set(legacy["id"], "password", legacy["password"],
                                   _pbkdf2(db, "pw"))
    assert dao.select(legacy["id"])["password"] == changed


def test_a_change_committed_between_read_and_write_wins(backend, db, legacy):
    dao = db.basicauth_credentials
    strategy = db.strategy
    original = strategy.update_if
    admin: dict = {}

    def change() -> None:
        admin["password"] = dao.update(legacy["id"], {"password": "new"})["password"]

    writer = threading.Thread(target=change)

    def racing_update_if(*args, **kwargs):
        # The Admin API changes the password after the re-hash read the row.
        writer.start()
        # SQLite: the re-hash holds the write lock (BEGIN IMMEDIATE), the change
        # waits for it and lands after; elsewhere the change commits first.
        writer.join(timeout=1.0)
        return original(*args, **kwargs)

    strategy.update_if = racing_update_if
    try:
        done = dao.compare_and_set(legacy["id"], "password", legacy["password"],
                                   _pbkdf2(db, "pw"))
    finally:
        strategy.update_if = original
        writer.join(timeout=30)
    assert done is (backend["database"] == "sqlite")
    assert dao.select(legacy["id"])["password"] == admin["password"]


def test_concurrent_rehashes_have_one_winner(db, legacy):
    dao = db.basicauth_credentials
    candidates = [_pbkdf2(db, "pw") for _ in range(4)]
    barrier = threading.Barrier(len(candidates))
    won: list[str] = []

    def rehash(new: str) -> None:
        barrier.wait()
        if dao.compare_and_set(legacy["id"], "password", legacy["password"], new):
            won.append(new)

    threads = [threading.Thread(target=rehash, args=(c,)) for c in candidates]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(won) == 1
    assert dao.select(legacy["id"])["password"] == won[0]
