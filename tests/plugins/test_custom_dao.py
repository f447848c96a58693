"""A custom plugin with its own entity (daos.lua), Kong migrations and an
api.lua, on a PostgreSQL node: the ledger fixture plugin
(tests/fixtures/plugins/kong/plugins/ledger/)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import datastores
from tests.helpers.http import admin, proxy

FIXTURE_PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"


@pytest.fixture(scope="module")
def gateway(start_node, tmp_path_factory):
    settings = datastores.isolated("postgres", tmp_path_factory.mktemp("pg"))
    yield start_node(plugins="bundled, ledger", plugins_path=str(FIXTURE_PLUGINS),
                     **datastores.as_conf(settings))
    datastores.drop(settings)


def test_its_migrations_are_recorded_and_its_api_lua_reported(gateway):
    listed = gateway.cli("migrations", "list", "-c", str(gateway.conf_path)).stdout
    assert "ledger: 000_base_ledger, 001_100_to_110" in listed, listed
    checked = gateway.cli("check", str(gateway.conf_path))
    assert (f"Warning: ledger plugin: {FIXTURE_PLUGINS}/kong/plugins/ledger/api.lua: "
            "/ledger-report (GET) is not served") in checked.stderr
    assert gateway.cli("migrations", "up", "-c", str(gateway.conf_path)).stdout.startswith(
        "Database is already up-to-date")


def test_the_entity_has_kongs_generic_endpoints(gateway):
    api = admin(gateway)
    bob = api.post("/consumers", {"username": "bob"})
    rent = api.post("/consumers/bob/ledger", {"title": "rent", "amount": 5})
    assert rent["consumer"] == {"id": bob["id"]} and rent["amount"] == 5
    food = api.post("/ledger_entries", {"title": "food", "consumer": {"id": bob["id"]}})
    assert food["amount"] == 0 and food["tags"] is None
    assert api.get("/ledger_entries/rent") == rent
    assert api.get("/consumers/bob/ledger/food") == food
    assert {e["title"] for e in api.get("/consumers/bob/ledger")["data"]} == {"rent", "food"}
    dup = api.post("/consumers/bob/ledger", {"title": "rent"}, 409)
    assert dup["message"] == "UNIQUE violation detected on '{title=\"rent\"}'"
    bad = api.post("/consumers/bob/ledger", {"title": "Rent!", "amount": 1001}, 400)
    assert bad["fields"] == {"title": "invalid value: Rent!",
                             "amount": "value should be between 0 and 1000"}
    assert api.patch("/ledger_entries/food", {"amount": 7})["amount"] == 7


def test_the_data_plane_reads_it_through_kong_db(gateway, upstream):
    gw = gateway
    gw.create("/services", {"name": "books", "url": upstream.url})
    if admin(gw).send("GET", "/consumers/bob")[0] == 404:
        gw.create("/consumers", {"username": "bob"})
    gw.create("/consumers/bob/key-auth", {"key": "bob-key"})
    bob = admin(gw).get("/consumers/bob")
    admin(gw).put("/ledger_entries/tea", {"consumer": {"id": bob["id"]}, "amount": 3})
    gw.route("/books", {"name": "key-auth"}, {"name": "ledger", "config": {"title": "tea"}},
             service="books")
    gw.wait_sync()
    resp = proxy(gw).get("/books", headers={"apikey": "bob-key"})
    assert resp.status_code == 200, resp.text
    headers = resp.json()["headers"]
    assert headers["x-ledger-named"] == "3"
    assert "tea=3" in headers["x-ledger"].split(",")
    admin(gw).patch("/ledger_entries/tea", {"amount": 4})
    gw.wait_sync()
    resp = proxy(gw).get("/books", headers={"apikey": "bob-key"})
    assert resp.json()["headers"]["x-ledger-named"] == "4"
    # a consumer's deletion takes its entries along (on_delete = cascade)
    admin(gw).delete("/consumers/bob")
    assert admin(gw).send("GET", "/ledger_entries/tea")[0] == 404
