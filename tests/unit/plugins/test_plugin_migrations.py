"""Which statements of a plugin's Kong migrations kongpy accepts (its tables
come from daos.lua) and which it refuses (they change stored data)."""
from __future__ import annotations

import pytest

from kongpy import plugins
from kongpy.db.migrations.plugin import refusal, split_statements
from kongpy.errors import ConfigError
from tests.conftest import require_binary

BASE = """
-- the entity's table, as Kong lays it out
CREATE TABLE IF NOT EXISTS "ledger_entries" (
  "id"           UUID                       PRIMARY KEY,
  "created_at"   TIMESTAMP WITH TIME ZONE   DEFAULT (CURRENT_TIMESTAMP(0) AT TIME ZONE 'UTC'),
  "consumer_id"  UUID                       REFERENCES "consumers" ("id") ON DELETE CASCADE,
  "note"         TEXT,
  "cache_key"    TEXT                       UNIQUE
);
/* an index; the semicolon in this comment does not split ; */
CREATE INDEX IF NOT EXISTS "ledger_consumer_idx" ON "ledger_entries" ("consumer_id");
DO $$
BEGIN
  ALTER TABLE IF EXISTS ONLY "ledger_entries" ADD "amount" INTEGER DEFAULT 0;
EXCEPTION WHEN DUPLICATE_COLUMN THEN
  -- already there; nothing to update
END;
$$;
CREATE OR REPLACE FUNCTION ledger_cleanup() RETURNS void AS $body$
BEGIN
  DELETE FROM ledger_entries WHERE note = 'a;b';
END;
$body$ LANGUAGE plpgsql;
"""


def test_statements_split_outside_strings_comments_and_bodies():
    found = split_statements(BASE)
    assert len(found) == 4
    assert found[0].startswith('CREATE TABLE IF NOT EXISTS "ledger_entries"')
    assert found[2].startswith("DO $$") and found[2].endswith("$$")
    assert "'a;b'" in found[3]
    assert split_statements("SELECT 'it''s; fine'; SELECT 2") == ["SELECT 'it''s; fine'",
                                                                  "SELECT 2"]


def test_shaping_statements_are_accepted():
    assert [refusal(s) for s in split_statements(BASE)] == [None] * 4
    for cql in ("CREATE TABLE IF NOT EXISTS ledger_entries (id uuid PRIMARY KEY, note text)",
                "CREATE INDEX IF NOT EXISTS ON ledger_entries(note)",
                "ALTER TABLE ledger_entries ADD amount int",
                'ALTER TABLE "ledger_entries" ALTER COLUMN "note" SET DEFAULT \'x\''):
        assert refusal(cql) is None, cql


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_entries SET amount = 0",
    "INSERT INTO ledger_entries (id) VALUES ('x')",
    "DELETE FROM ledger_entries",
    "DROP TABLE ledger_entries",
    'ALTER TABLE "ledger_entries" DROP COLUMN "note"',
    'ALTER TABLE "ledger_entries" RENAME COLUMN "note" TO "memo"',
    'ALTER TABLE "ledger_entries" ALTER COLUMN "amount" TYPE BIGINT',
    "DO $$ BEGIN UPDATE ledger_entries SET amount = 1; END $$",
    "DO $$ BEGIN EXECUTE 'ALTER TABLE x ADD y TEXT'; END $$",
    "SELECT 1",
])
def test_data_changes_are_refused(statement):
    assert refusal(statement)


def _plugin(root, steps: dict[str, str], teardown: bool = False) -> dict:
    folder = root.joinpath(*plugins.LAYOUT, "ledger")
    (folder / "migrations").mkdir(parents=True)
    (folder / "handler.lua").write_text('return { PRIORITY = 1, VERSION = "1.0.0" }')
    (folder / "schema.lua").write_text(
        'return { name = "ledger", fields = { { config = { type = "record", '
        'fields = {} } } } }')
    (folder / "daos.lua").write_text(
        'local typedefs = require("kong.db.schema.typedefs")\n'
        'return { { name = "ledger_entries", primary_key = { "id" }, '
        'fields = { { id = typedefs.uuid }, { created_at = typedefs.auto_timestamp_s }, '
        '{ note = { type = "string" } } } } }')
    (folder / "migrations" / "init.lua").write_text(
        "return { " + ", ".join(f'"{n}"' for n in steps) + " }")
    for name, sql in steps.items():
        extra = ", teardown = function(connector) end" if teardown else ""
        (folder / "migrations" / f"{name}.lua").write_text(
            f"return {{ postgres = {{ up = [[{sql}]]{extra} }} }}")
    return {"plugins": "ledger", "plugins_path": str(root)}


def test_a_plugin_keeps_its_step_names(tmp_path):
    require_binary("nginx")
    config = _plugin(tmp_path, {"000_base_ledger": BASE, "001_more": "CREATE INDEX i ON t (c)"})
    loaded = plugins.load(config)["ledger"]
    assert [m.name for m in loaded.migrations] == ["000_base_ledger", "001_more"]


def test_a_step_that_changes_data_refuses_the_plugin_naming_it(tmp_path):
    require_binary("nginx")
    config = _plugin(tmp_path, {"000_base_ledger": BASE,
                                "001_fill": "UPDATE ledger_entries SET note = 'x'"})
    with pytest.raises(ConfigError) as exc:
        plugins.load(config)
    message = str(exc.value)
    assert message.startswith("ledger plugin: ")
    assert "migrations/001_fill.lua" in message
    assert "UPDATE ledger_entries SET note = 'x'" in message


def test_a_teardown_function_refuses_the_plugin(tmp_path):
    require_binary("nginx")
    config = _plugin(tmp_path, {"000_base_ledger": BASE}, teardown=True)
    with pytest.raises(ConfigError, match="teardown function of step 000_base_ledger"):
        plugins.load(config)


def test_rows_stored_before_a_field_was_added_read_its_default():
    from kongpy.schemas.lua import entity_schema

    def unused(*_args):
        raise AssertionError("not called")

    schema = entity_schema({"describe": {"name": "ledger_entries", "primary_key": ["id"]},
                            "schema": {"fields": [
                                {"id": {"type": "string", "uuid": True, "auto": True}},
                                {"note": {"type": "string"}},
                                {"amount": {"type": "integer", "default": 0}},
                                {"labels": {"type": "array", "default": ["x"],
                                            "elements": {"type": "string"}}}]}},
                           unused, unused, unused)
    old = schema.to_output({"id": "a", "note": None})
    assert old == {"id": "a", "note": None, "amount": 0, "labels": ["x"]}
    # a stored null stays null
    assert schema.to_output({"id": "a", "note": "n", "amount": None,
                             "labels": None})["amount"] is None
