"""acl: its table, created through the strategy interface (every datastore)."""
from kongpy.db.migrations import Migration, create_tables
from kongpy.db.strategies.base import TableDef

MIGRATIONS = [
    Migration("000_base_acl", create_tables(TableDef(
        name="acls", unique=("cache_key",), foreign={"consumer": "consumer_id"}))),
]
