"""key-auth: its table, created through the strategy interface (every datastore)."""
from kongpy.db.migrations import Migration, create_tables
from kongpy.db.strategies.base import TableDef

MIGRATIONS = [
    Migration("000_base_key_auth", create_tables(TableDef(
        name="keyauth_credentials", unique=("key",), foreign={"consumer": "consumer_id"},
        ttl=True))),
]
