"""The stream subset of the snapshot (kongpy/sync/stream.py), from a real datastore."""
from __future__ import annotations

import json

from kongpy.sync import model, snapshot, stream
from tests.helpers import certs


def _ids(rows):
    return [r["id"] for r in rows]


def _configure(database):
    ins = database
    tcp_svc = ins.services.insert({"name": "tcp", "host": "echo.upstream", "port": 9000,
                                   "protocol": "tcp"})
    tls_svc = ins.services.insert({"name": "tls", "host": "127.0.0.1", "port": 9443,
                                   "protocol": "tls"})
    http_svc = ins.services.insert({"name": "web", "host": "web.upstream"})
    tcp = ins.routes.insert({"protocols": ["tcp"], "destinations": [{"port": 9000}],
                             "service": {"id": tcp_svc["id"]}})
    passthrough = ins.routes.insert({"protocols": ["tls_passthrough"], "snis": ["a.test"],
                                     "service": {"id": tls_svc["id"]}})
    web = ins.routes.insert({"paths": ["/"], "service": {"id": http_svc["id"]}})
    echo = ins.upstreams.insert({"name": "echo.upstream"})
    webup = ins.upstreams.insert({"name": "web.upstream"})
    echo_target = ins.targets.insert({"upstream": {"id": echo["id"]}, "target": "127.0.0.1:1"})
    ins.targets.insert({"upstream": {"id": webup["id"]}, "target": "127.0.0.1:2"})
    pair = certs.fixture("rsa")
    cert = ins.certificates.insert({"cert": pair.cert, "key": pair.key})
    ins.snis.insert({"name": "a.test", "certificate": {"id": cert["id"]}})
    ca = certs.fixture("ca")
    ins.ca_certificates.insert({"cert": ca.cert})
    bob = ins.consumers.insert({"username": "bob"})
    allow = {"config": {"allow": ["127.0.0.1"]}}
    kept = [
        ins.plugins.insert({"name": "ip-restriction", **allow}),                     # global
        ins.plugins.insert({"name": "ip-restriction", "route": {"id": tcp["id"]}, **allow}),
        ins.plugins.insert({"name": "ip-restriction", "service": {"id": tls_svc["id"]},
                            **allow}),
    ]
    for dropped in (
            {"name": "ip-restriction", "route": {"id": web["id"]}, **allow},      # http route
            {"name": "ip-restriction", "consumer": {"id": bob["id"]}, **allow},   # consumer
            {"name": "ip-restriction", "enabled": False,                          # disabled
             "route": {"id": passthrough["id"]}, **allow},
            {"name": "ip-restriction", "protocols": ["http"],                     # not stream
             "service": {"id": tcp_svc["id"]}, **allow},
            {"name": "key-auth"}):                                                # http only
        ins.plugins.insert(dropped)
    return {"services": [tcp_svc, tls_svc], "routes": [tcp, passthrough],
            "upstreams": [echo], "targets": [echo_target], "plugins": kept}


def test_subset_keeps_what_streams_need(database):
    wanted = _configure(database)
    doc = model.document(database)
    blob = stream.subset(doc, doc["version"])
    got = json.loads(blob)
    assert set(got) == {"stream_format", "version", *stream.ENTITIES}
    assert got["stream_format"] == 1 and got["version"] == doc["version"]
    for name, rows in wanted.items():
        assert _ids(got[name]) == sorted(_ids(rows)), name
    for name in ("certificates", "snis", "ca_certificates"):
        assert _ids(got[name]) == sorted(_ids(doc[name])) and got[name], name
    # the rows are the full snapshot's rows, unchanged
    full = {r["id"]: r for name in stream.ENTITIES for r in doc[name]}
    for name in stream.ENTITIES:
        for row in got[name]:
            assert row == full[row["id"]]
    # encoded as the snapshot is: compact, sorted keys
    assert blob == snapshot.encode(got)


def test_subset_of_an_http_only_node_is_empty_but_for_certificates(database):
    svc = database.services.insert({"name": "web", "url": "http://127.0.0.1:1"})
    database.routes.insert({"paths": ["/"], "service": {"id": svc["id"]}})
    got = json.loads(stream.subset(model.document(database), None))
    assert got["version"] is None
    assert all(got[name] == [] for name in stream.ENTITIES)


def test_from_snapshot_reads_the_framed_document(database):
    _configure(database)
    blob = model.build(database)
    header, body = snapshot.parse(blob)
    assert stream.from_snapshot(blob) == stream.subset(body, header["version"])
    assert stream.from_snapshot(b"not a snapshot") is None


def test_write_is_atomic_and_replaces(tmp_path):
    path = tmp_path / "config" / "stream.json"
    stream.write(path, b'{"a":1}')
    stream.write(path, b'{"a":2}')
    assert path.read_bytes() == b'{"a":2}'
    assert [p.name for p in path.parent.iterdir()] == ["stream.json"]
