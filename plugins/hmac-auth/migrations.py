"""hmac-auth: its table, created through the strategy interface (every datastore)."""
from kongpy.db.migrations import Migration, create_tables
from kongpy.db.strategies.base import TableDef

MIGRATIONS = [
    Migration("000_base_hmac_auth", create_tables(TableDef(
        name="hmacauth_credentials", unique=("username",),
        foreign={"consumer": "consumer_id"}))),
]
