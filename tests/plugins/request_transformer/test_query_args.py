"""Kong's query-args spec (spec/02-integration/05-proxy/32-query-params):
the upstream query is built from the request's args once the plugins ran,
so an empty query (`/x?`) still carries what a plugin added."""
from __future__ import annotations

from tests.helpers.http import proxy


def test_an_empty_query_gets_the_added_arguments(gateway, svc):
    gw = gateway
    gw.route("/set-query-arg", {"name": "request-transformer",
                                "config": {"add": {"querystring": ["dummy:1"]}}})
    gw.wait_sync()
    for path in ("/set-query-arg?", "/set-query-arg"):
        resp = proxy(gw).get(path)
        assert resp.status_code == 200, resp.text
        assert resp.json()["query"] == {"dummy": ["1"]}
    # no plugin touched the args: an empty query stays as the client sent it
    gw.route("/plain-query")
    gw.wait_sync()
    assert proxy(gw).get("/plain-query?").json()["raw_query"] == ""
