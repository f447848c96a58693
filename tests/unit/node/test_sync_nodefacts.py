"""The sync loop tells the data plane whether the datastore answers (and, on
DB-less nodes, the configuration hash) after its rounds, only on change."""
from __future__ import annotations

from kongpy import conf, dbless
from kongpy.errors import DatastoreUnavailable
from kongpy.sync import nodefacts
from kongpy.sync.loop import SyncLoop
from tests.unit.node.test_sync_delta import RecordingDataPlane


class _Switchable:
    """The datastore, or, while ``down``, one that never answers (the loop
    keeps its handle through an outage: the strategy reconnects by itself)."""

    def __init__(self, database) -> None:
        self.database = database
        self.down = False

    def __getattr__(self, name):
        if self.down:
            raise DatastoreUnavailable("cannot reach the datastore (test)")
        return getattr(self.database, name)


def test_reachability_is_pushed_once_per_change(config, database):
    dp = RecordingDataPlane()
    handle = _Switchable(database)
    sync = SyncLoop(config, open_db=lambda _c: handle, client=dp)
    try:
        sync.tick()
        assert dp.node == {"database_reachable": True} and dp.node_pushes == 1
        sync.tick()
        assert dp.node_pushes == 1  # nothing changed, nothing pushed
        handle.down = True
        sync.tick()
        assert dp.node == {"database_reachable": False} and dp.node_pushes == 2
        sync.tick()
        assert dp.node_pushes == 2
        handle.down = False
        sync.tick()
        assert dp.node == {"database_reachable": True} and dp.node_pushes == 3
    finally:
        database.close()


def test_dbless_nodes_also_push_their_configuration_hash(make_conf):
    config = conf.load(make_conf(database="off"), env={})
    facts = nodefacts.facts(config, True)
    assert facts == {"database_reachable": True,
                     "configuration_hash": dbless.current_hash(config)}
    assert facts["configuration_hash"] == dbless.EMPTY_HASH
