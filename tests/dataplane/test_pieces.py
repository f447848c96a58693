"""Full snapshots listing their pieces (docs/contracts.md §1): a worker
reloading one decodes only the pieces it does not hold, takes over the maps
and indexes of unchanged entities, and a later delta leaves what it took over
from the previous configuration intact."""
from __future__ import annotations

import json

from kongpy.sync.model import SnapshotModel, _shard

from .harness import DataPlane, route, service
from .test_delta import consumer, cred, delta, dp, key_auth, status_of  # noqa: F401

KEYS = {f"{i:02x}-cred": f"key-{i}" for i in range(0, 256, 5)}


def encoded(version: int, port: int, keys: dict[str, str]) -> bytes:
    """The snapshot as the control plane's one encoder frames it."""
    model = SnapshotModel()
    model.version = version
    rows = {"services": [service("s1", port)], "routes": [route("r1", "s1", paths=["/v"])],
            "consumers": [consumer()], "plugins": [key_auth()],
            "keyauth_credentials": [cred(cid, key) for cid, key in keys.items()]}
    for name, items in rows.items():
        shards = model._rows[name] = {}
        for row in items:
            shards.setdefault(_shard(row["id"]), {})[row["id"]] = row
    return model.encode()[0]


def test_reload_decodes_only_new_pieces(dp: DataPlane, upstreams) -> None:  # noqa: F811
    assert dp.push(encoded(1, upstreams[0].port, KEYS))[0] == 201
    dp.wait_version(1)
    changed = dict(KEYS, **{"0a-cred": "key-ten-b"})
    blob = encoded(2, upstreams[0].port, changed)
    head, _, body = blob.partition(b"\n")
    pieces = json.loads(head)["pieces"]["keyauth_credentials"]
    assert len(pieces) == len(KEYS)
    # every piece but the changed one is held: its bytes are never read again
    held = [p for p in pieces if b"0a-cred" not in body[p[0]:p[0] + p[1]]]
    for off, length, _ in held:
        body = body[:off] + b"!" * length + body[off + length:]
    status, answer = dp.push(head + b"\n" + body)
    assert status == 201, answer
    dp.wait_version(2)
    assert status_of(dp, "key-ten-b") == {200}
    assert status_of(dp, "key-10") == {401}
    assert status_of(dp, "key-15") == {200}
    # the same body is refused by a data plane that holds nothing of it
    assert dp.push(encoded(3, upstreams[0].port, {}))[0] == 201
    dp.wait_version(3)
    assert dp.push(head + b"\n" + body)[0] == 400


def test_delta_after_reload_keeps_the_lent_maps(dp: DataPlane, upstreams) -> None:  # noqa: F811
    assert dp.push(encoded(1, upstreams[0].port, KEYS))[0] == 201
    dp.wait_version(1)
    assert dp.push(encoded(2, upstreams[0].port, KEYS))[0] == 201
    dp.wait_version(2)
    status, body = dp.control("POST", "/snapshot/delta", delta(
        2, 3, keyauth_credentials={"upsert": [cred("ff-new", "key-new")],
                                   "delete": ["05-cred"]}))
    assert status == 201, body
    dp.wait_version(3)
    assert status_of(dp, "key-5") == {401}
    assert status_of(dp, "key-new") == {200}
    assert status_of(dp, "key-20") == {200}
    # a full reload of version 2's content again: the rows of its pieces, not
    # those the delta changed
    assert dp.push(encoded(4, upstreams[0].port, KEYS))[0] == 201
    dp.wait_version(4)
    assert status_of(dp, "key-5") == {200}
    assert status_of(dp, "key-new") == {401}
