"""Routes no listener serves: accepted, and reported by `kongpy check` and GET /."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from kongpy import conf, db, unserved
from kongpy.admin.app import create_app
from kongpy.cli import main

TCP = {"protocols": ["tcp"], "destinations": [{"port": 9000}]}


def _config(make_conf, **settings):
    settings.setdefault("proxy_listen", "127.0.0.1:18000")
    settings.setdefault("admin_listen", "127.0.0.1:18001")
    return conf.load(make_conf(**settings), env={})


@pytest.mark.parametrize("settings,route,expected", [
    ({}, {"name": "t", **TCP}, "1 route(s) with protocols tcp will not be served by this "
                               "node: stream_listen is off (t)"),
    ({}, {"name": "s", "protocols": ["https"], "paths": ["/"]},
     "1 route(s) with protocols https will not be served by this node: no proxy_listen "
     "entry has ssl (s)"),
    ({}, {"name": "g", "protocols": ["grpcs"], "paths": ["/"]},
     "1 route(s) with protocols grpcs will not be served by this node: no proxy_listen "
     "entry has ssl (g)"),
    ({"stream_listen": "127.0.0.1:19000"}, {"name": "u", "protocols": ["udp"],
                                            "sources": [{"ip": "10.0.0.1"}]},
     "1 route(s) with protocols udp will not be served by this node: no stream_listen "
     "entry has udp (u)"),
    ({"stream_listen": "127.0.0.1:19000 udp"}, {"name": "p", "protocols": ["tls_passthrough"],
                                                "snis": ["a.test"]},
     "1 route(s) with protocols tls_passthrough will not be served by this node: every "
     "stream_listen entry is udp (p)"),
])
def test_warning_lines(make_conf, settings, route, expected):
    assert unserved.warnings(_config(make_conf, **settings), [route]) == [expected]


def test_served_routes_give_no_warning(make_conf):
    config = _config(make_conf, stream_listen="127.0.0.1:19000, 127.0.0.1:19000 udp",
                     proxy_listen="127.0.0.1:18000, 127.0.0.1:18443 ssl")
    sets = (["http", "https"], ["https"], ["grpcs"], ["tcp"], ["tls"], ["udp"],
            ["tls_passthrough"])
    routes = [{"protocols": p} for p in sets]
    assert unserved.warnings(config, routes) == []
    # one servable protocol is enough
    plain = _config(make_conf)
    assert unserved.warnings(plain, [{"protocols": ["http", "https"]}]) == []


def test_routes_are_grouped_by_protocols(make_conf):
    routes = [{"id": f"id-{i}", "protocols": ["tcp", "udp"]} for i in range(5)]
    assert unserved.warnings(_config(make_conf), routes) == [
        "5 route(s) with protocols tcp, udp will not be served by this node: stream_listen "
        "is off (id-0, id-1, id-2, ...)"]


def test_check_warns_about_unserved_routes(make_conf):
    config = _config(make_conf)
    handle = db.open(config)
    handle.migrations.bootstrap()
    svc = handle.services.insert({"name": "t", "host": "127.0.0.1", "port": 9,
                                  "protocol": "tcp"})
    handle.routes.insert({"name": "echo", "service": {"id": svc["id"]}, **TCP})
    handle.close()
    result = CliRunner().invoke(main, ["check", config.source])
    assert result.exit_code == 0, result.output
    assert result.stderr == ("Warning: 1 route(s) with protocols tcp will not be served by "
                             "this node: stream_listen is off (echo)\n")


def test_root_reports_kongpy_warnings(make_conf):
    client = create_app(_config(make_conf), node_id="n").test_client()
    body = client.get("/").get_json()
    assert body["kongpy_warnings"] == []
    assert "kongpy_warnings" not in body["configuration"]
    svc = client.post("/services", json={"name": "t", "url": "tcp://127.0.0.1:9"}).get_json()
    assert client.post(f"/services/{svc['id']}/routes",
                       json={"name": "echo", **TCP}).status_code == 201
    assert client.get("/").get_json()["kongpy_warnings"] == [
        "1 route(s) with protocols tcp will not be served by this node: stream_listen is off "
        "(echo)"]
