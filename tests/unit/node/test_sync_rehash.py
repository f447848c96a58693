"""The sync loop stores the data plane's password re-hashes by compare-and-set."""
from __future__ import annotations

import logging
from typing import Any

import pytest

from kongpy.sync.loop import SyncLoop
from kongpy.sync.push import DataPlaneError
from tests.helpers import passwords
from tests.helpers.imported import import_basic_auth
from tests.unit.node.test_sync_delta import RecordingDataPlane


class QueueingDataPlane(RecordingDataPlane):
    """Also keeps a re-hash queue, as lua/kongpy/rehash.lua does."""

    def __init__(self) -> None:
        super().__init__()
        self.queue: list[dict[str, Any]] = []
        self.takes = 0
        self.fail_take = False

    def snapshot_state(self) -> dict[str, Any]:
        return {**super().snapshot_state(), "rehash_queued": len(self.queue)}

    def take_rehash(self) -> list[dict[str, Any]]:
        self.takes += 1
        if self.fail_take:
            raise DataPlaneError("POST /rehash answered 500")
        taken, self.queue = self.queue, []
        return taken


@pytest.fixture
def setup(config, database):
    dp = QueueingDataPlane()
    sync = SyncLoop(config, open_db=lambda _c: database, client=dp)
    assert sync.tick() is True
    yield sync, dp
    sync._close_db()


def _hash(_database: Any, password: str, **kwargs: Any) -> str:
    return passwords.hash_password(password, **kwargs)


def _entry(cred: dict, new: str, **changes: Any) -> dict[str, Any]:
    return {"entity": "basicauth_credentials", "id": cred["id"], "old": cred["password"],
            "new": new, **changes}


def test_rehashes_are_stored_and_pushed_in_the_same_round(setup, database, caplog):
    sync, dp = setup
    caplog.set_level(logging.DEBUG)
    bob = database.consumers.insert({"username": "bob"})
    fresh = import_basic_auth(database, bob["id"], "fresh", "pw")
    changed = import_basic_auth(database, bob["id"], "changed", "pw")
    weak = import_basic_auth(database, bob["id"], "weak", "pw")
    assert sync.tick() is True
    dao = database.basicauth_credentials
    # the Admin API changes a password between the login and the re-hash
    admin_value = dao.update(changed["id"], {"password": "other"})["password"]
    good = _hash(database, "pw")
    dp.queue = [
        _entry(fresh, good),
        _entry(changed, _hash(database, "pw")),
        _entry(weak, _hash(database, "pw", iterations=1)),
        _entry(weak, good, entity="consumers"),
        _entry(weak, good, id="not-a-uuid"),
        {"entity": "basicauth_credentials"},
    ]
    assert sync.tick() is True
    assert dp.queue == [] and dp.takes == 1
    assert dao.select(fresh["id"])["password"] == good
    assert dao.select(changed["id"])["password"] == admin_value
    assert dao.select(weak["id"])["password"] == weak["password"]
    assert dp.version == database.events.latest()
    assert dp.rows["basicauth_credentials"][fresh["id"]]["password"] == good
    assert "1 stored, 1 outdated, 4 refused" in caplog.text
    for secret in (good, fresh["password"], changed["password"], admin_value):
        assert secret not in caplog.text


def test_no_take_without_queued_entries_or_when_it_fails(setup, database):
    sync, dp = setup
    assert sync.tick() is False and dp.takes == 0
    bob = database.consumers.insert({"username": "bob"})
    cred = import_basic_auth(database, bob["id"], "u", "pw")
    assert sync.tick() is True
    dp.queue = [_entry(cred, _hash(database, "pw"))]
    dp.fail_take = True
    assert sync.tick() is False and dp.takes == 1  # nothing new to push
    assert database.basicauth_credentials.select(cred["id"])["password"] == cred["password"]
