"""``/keys`` and ``/key-sets`` on a running node of each datastore: the keys are
kept and served by the Admin API, and stay out of the data plane's snapshot
(Kong's data plane reads keys only through plugins; none of ours does)."""
from __future__ import annotations

import json

import pytest
import requests

from tests.conftest import require_binary
from tests.helpers import datastores
from tests.helpers.gateway import datastore_node
from tests.helpers.keys import jwk_text, pem_pair, rsa_jwk


@pytest.fixture(scope="module", params=datastores.BACKENDS)
def node(request, tmp_path_factory):
    require_binary("nginx")
    with datastore_node(tmp_path_factory, request.param) as gateway:
        yield gateway


def test_keys_are_kept_and_stay_out_of_the_snapshot(node, upstream):
    node.proxied("svc", upstream.url, "/k")
    key_set = node.create("/key-sets", {"name": "signing"})
    jwk = node.create("/key-sets/signing/keys", {"name": "jwk", "kid": "j1",
                                                 "jwk": jwk_text(rsa_jwk("j1"))})
    node.create("/keys", {"name": "pem", "kid": "p1", "set": {"name": "signing"},
                          "pem": {"public_key": pem_pair().public_key}})
    loose = node.create("/keys", {"name": "loose", "kid": "j1", "jwk": jwk_text(rsa_jwk("j1"))})
    assert jwk["set"] == {"id": key_set["id"]} and loose["set"] is None
    dup = requests.post(node.admin + "/keys", json={"kid": "j1", "set": {"id": key_set["id"]},
                                                    "jwk": jwk_text(rsa_jwk("j1"))}, timeout=10)
    assert dup.status_code == 409, dup.text

    node.wait_sync()
    assert requests.get(node.proxy + "/k", timeout=10).status_code == 200
    shipped = json.loads(node.prefix.joinpath("config", "snapshot.jsonl")
                         .read_bytes().split(b"\n", 1)[1])
    assert "keys" not in shipped and "key_sets" not in shipped and "services" in shipped

    assert requests.delete(node.admin + "/key-sets/signing", timeout=10).status_code == 204
    left = requests.get(node.admin + "/keys", timeout=10).json()["data"]
    assert [k["name"] for k in left] == ["loose"]
    node.assert_clean_error_log()
