"""The migration steps of a plugin, from its Kong files.

kongpy stores a plugin's entities (daos.lua) the way it stores Kong's own:
one row per entity, its fields as a document, its keys as columns. The
tables come from the entity definitions, on every datastore, so a plugin
needs no migrations to store its entities.

A plugin that ships Kong's ``migrations/`` keeps its step names (they are
recorded and listed like any other step) and each step is read before it is
accepted: statements that shape Kong's tables (CREATE TABLE / INDEX / TYPE,
ALTER TABLE … ADD, triggers and functions, DO blocks made of those) are
satisfied by the tables kongpy derives; a step that changes data or removes
structure (INSERT, UPDATE, DELETE, DROP TABLE / COLUMN, a column type
change, a renaming, a ``teardown`` function) cannot be applied to documents,
and the plugin is refused with the step, its file and the statement, rather
than migrated halfway.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

from kongpy.db.entities import table_for
from kongpy.db.migrations.core import Migration
from kongpy.errors import ConfigError
from kongpy.schemas.base import EntitySchema

_TABLE = r"ALTER TABLE (IF EXISTS )?(ONLY )?[^ ]+ "
# Statements that only shape a table: what kongpy derives from daos.lua.
_SHAPE = [re.compile(p) for p in (
    r"CREATE (UNLOGGED )?TABLE\b",
    r"CREATE (UNIQUE )?INDEX\b",
    r"CREATE CUSTOM INDEX\b",
    r"CREATE TYPE\b",
    r"CREATE SEQUENCE\b",
    r"CREATE (OR REPLACE )?FUNCTION\b",
    r"CREATE (OR REPLACE )?(CONSTRAINT )?TRIGGER\b",
    r"DROP (INDEX|TRIGGER|FUNCTION)\b",
    _TABLE + r"ADD\b",
    _TABLE + r"ALTER (COLUMN )?[^ ]+ (SET|DROP) (DEFAULT|NOT NULL)\b",
    _TABLE + r"(ENABLE|DISABLE) TRIGGER\b",
    _TABLE + r"WITH\b",
)]
# Within a DO block, words that change data or remove structure.
_CHANGES = re.compile(r"\b(INSERT|UPDATE|DELETE|TRUNCATE|COPY|RENAME|EXECUTE)\b"
                      r"|\bDROP (TABLE|COLUMN)\b|\bALTER (COLUMN )?[^ ]+ (SET DATA )?TYPE\b")
_DOLLAR = re.compile(r"\$[A-Za-z_]*\$")


def split_statements(sql: str) -> list[str]:
    """The statements of ``sql``: split at semicolons outside strings, quoted
    identifiers, dollar-quoted bodies and comments; comments removed."""
    out: list[str] = []
    buf: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
            buf.append(" ")
            continue
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            buf.append(" ")
            continue
        if ch in "'\"":
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:  # doubled quote
                        end += 2
                        continue
                    break
                end += 1
            buf.append(sql[i:end + 1])
            i = end + 1
            continue
        tag = _DOLLAR.match(sql, i)
        if tag:
            end = sql.find(tag.group(0), tag.end())
            end = n if end < 0 else end + len(tag.group(0))
            buf.append(sql[i:end])
            i = end
            continue
        if ch == ";":
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    out.append("".join(buf))
    return [s.strip() for s in out if s.strip()]


def _normal(statement: str) -> str:
    return " ".join(statement.split()).upper()


def refusal(statement: str) -> str | None:
    """Why kongpy cannot apply ``statement`` to its stored documents, or None."""
    text = _normal(statement)
    if text.startswith("DO "):
        found = _CHANGES.search(_normal(_code_of(statement)))
        if found:
            return f"it changes data or removes structure ({found.group(0)})"
        return None
    if any(p.match(text) for p in _SHAPE):
        if _CHANGES.search(text) and not text.startswith("CREATE"):
            return "it changes data or removes structure"
        return None
    return "it changes data or removes structure"


_STRING = re.compile(r"'(?:[^']|'')*'")


def _code_of(block: str) -> str:
    """The code of a DO block: its dollar-quoted body without comments or
    string literals."""
    tag = _DOLLAR.search(block)
    if not tag:
        return block
    end = block.find(tag.group(0), tag.end())
    body = block[tag.end():end if end >= 0 else len(block)]
    return _STRING.sub("''", " ; ".join(split_statements(body)))


def _excerpt(statement: str) -> str:
    text = " ".join(statement.split())
    return text if len(text) <= 80 else text[:77] + "..."


def _check_step(plugin: str, step: dict[str, Any]) -> None:
    where = f"{plugin} plugin: {step.get('file') or step.get('name')}"
    for db in ("postgres", "cassandra"):
        part = step.get(db)
        if not isinstance(part, dict):
            continue
        if part.get("teardown"):
            raise ConfigError(f"{where}: the {db} teardown function of step "
                              f"{step.get('name')} cannot be run: kongpy stores plugin "
                              "entities as documents derived from daos.lua and does not "
                              "run migration code")
        for statement in split_statements(part.get("up") or ""):
            reason = refusal(statement)
            if reason:
                raise ConfigError(f"{where}: step {step.get('name')} cannot be applied, "
                                  f"{reason}: {_excerpt(statement)}")


def _tables(entities: Sequence[type[EntitySchema]]) -> Any:
    def _up(strategy: Any) -> None:
        for entity in entities:
            strategy.create_table(table_for(entity))
    return _up


def steps(plugin: str, entities: Sequence[type[EntitySchema]],
          declared: Iterable[dict[str, Any]] | None) -> list[Migration]:
    """The plugin's steps: its own (checked) when it ships migrations/, else
    one derived step ``000_base_<name>`` when it has entities."""
    declared = list(declared or [])
    if not declared:
        if not entities:
            return []
        return [Migration(f"000_base_{plugin.replace('-', '_')}", _tables(entities))]
    for step in declared:
        _check_step(plugin, step)
    # every step makes sure the entities' tables exist (idempotent): a step
    # that adds an entity in a later version gets its table
    return [Migration(str(step["name"]), _tables(entities)) for step in declared]
