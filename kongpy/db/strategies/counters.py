"""Counter tables (Kong's ``ratelimiting_metrics``): the SQL both SQL strategies share.

An increment is one ``INSERT ... ON CONFLICT DO UPDATE SET value = value + n
RETURNING value`` statement: atomic on SQLite and PostgreSQL, and it tells the
writer the value it produced. Rows carry ``expire_at`` (epoch seconds) and
expired ones are deleted now and then by the writer that happens to pass by.
"""
from __future__ import annotations

import itertools
import time
from typing import Any, Mapping

from kongpy.db.strategies.base import CounterDef, ident

PURGE_EVERY = 1000
_calls = itertools.count(1)


def create_sql(counter: CounterDef, text: str, integer: str) -> str:
    cols = [f"{ident(k)} {text} NOT NULL" for k in counter.key]
    cols += [f'"value" {integer} NOT NULL', f'"expire_at" {integer}']
    keys = ", ".join(ident(k) for k in counter.key)
    return (f"CREATE TABLE IF NOT EXISTS {ident(counter.name)} "
            f"({', '.join(cols)}, PRIMARY KEY ({keys}))")


def upsert_sql(counter: CounterDef, key: Mapping[str, Any], amount: int,
               expire_at: int | None, mark: str) -> tuple[str, list[Any]]:
    table = ident(counter.name)
    names = [ident(k) for k in counter.key]
    params = [str(key[k]) for k in counter.key] + [int(amount), expire_at]
    marks = ", ".join([mark] * len(params))
    sql = (f"INSERT INTO {table} ({', '.join(names)}, \"value\", \"expire_at\") "
           f"VALUES ({marks}) ON CONFLICT ({', '.join(names)}) DO UPDATE SET "
           f"\"value\" = {table}.\"value\" + excluded.\"value\" RETURNING \"value\"")
    return sql, params


def purge_sql(counter: CounterDef, mark: str) -> tuple[str, list[Any]] | None:
    """Every PURGE_EVERY calls: the statement deleting expired rows."""
    if next(_calls) % PURGE_EVERY:
        return None
    return (f'DELETE FROM {ident(counter.name)} WHERE "expire_at" < {mark}',
            [int(time.time())])
