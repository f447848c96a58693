"""jwt: its table, created through the strategy interface (every datastore)."""
from kongpy.db.migrations import Migration, create_tables
from kongpy.db.strategies.base import TableDef

MIGRATIONS = [
    Migration("000_base_jwt", create_tables(TableDef(
        name="jwt_secrets", unique=("key",), foreign={"consumer": "consumer_id"}))),
]
