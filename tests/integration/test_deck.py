"""Debian's decK (1.4) against a node in database mode, through the node's Admin API.

decK reads ``GET /``, lists every entity (``size=1000``, following ``offset``,
``tags`` with ``--select-tag``) and writes with PUT/POST/DELETE by id. A state
file syncs into an empty node, the proxy serves it, ``dump`` gives it back,
``diff`` and a second ``sync`` find nothing to do, ``reset`` empties the node.
"""
from __future__ import annotations

import json
import socket
import ssl
import subprocess

import pytest
import requests
import yaml

from tests.conftest import require_binary
from tests.helpers import certs
from tests.helpers.gateway import Gateway, datastore_node

SERVER = certs.make("deck.test", sans=("deck.test", "www.deck.test"))
CA = certs.make("Deck Root CA", ca=True)
CERT_ID = "5f8a6a39-2d61-4c5e-9b55-6f1f2b8f4d11"
COLLECTIONS = ("services", "routes", "plugins", "consumers", "upstreams", "certificates",
               "snis", "ca_certificates", "key-auths", "basic-auths", "hmac-auths", "jwts",
               "acls")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def node(request, tmp_path_factory):
    require_binary("nginx")
    with datastore_node(tmp_path_factory, request.param) as gateway:
        yield gateway


def deck(node: Gateway, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    binary = require_binary("deck")
    proc = subprocess.run([binary, *args, "--kong-addr", node.admin, "--no-color"],
                          capture_output=True, text=True, timeout=120,
                          env={"DECK_ANALYTICS": "off", "HOME": str(node.prefix)})
    if check and proc.returncode != 0:
        raise AssertionError(f"deck {' '.join(args)} exited {proc.returncode}\n"
                             f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


EVENTS = {"creating": "Created", "updating": "Updated", "deleting": "Deleted"}


def summary(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """What decK did, counted from the line it prints for each operation.

    decK 1.4 totals its ``Summary:`` block with unsynchronised increments
    from its parallel workers, so on a busy machine the block can come out
    one short of the lines above it (2009 of 2010 creations has been seen).
    The lines are printed one per operation before it runs, and a failed
    operation makes decK exit non-zero, which ``deck()`` refuses.
    """
    lines = proc.stdout.splitlines()
    assert "Summary:" in lines, proc.stdout
    done = dict.fromkeys(EVENTS.values(), 0)
    for line in lines:
        verb = line.split(" ", 1)[0]
        if verb in EVENTS:
            done[EVENTS[verb]] += 1
    return done


def state(upstream_url: str) -> dict:
    """Every kind of entity decK 1.4 knows and the node serves."""
    target = upstream_url.split("//", 1)[1]
    return {
        "_format_version": "1.1",
        "services": [{
            "name": "svc1", "url": upstream_url, "tags": ["deck"],
            "routes": [
                {"name": "r1", "paths": ["/one"], "tags": ["deck"],
                 "plugins": [{"name": "key-auth", "config": {"key_names": ["apikey"]}}]},
                {"name": "r2", "paths": ["/two"], "methods": ["GET"],
                 "plugins": [{"name": "basic-auth", "config": {}},
                             {"name": "acl", "config": {"allow": ["admins"]}}]},
            ],
            "plugins": [{"name": "rate-limiting", "config": {"minute": 100, "policy": "local"}}],
        }, {
            "name": "svc2", "host": "backend", "port": 80, "protocol": "http",
            "routes": [{"name": "r3", "hosts": ["b.test"], "paths": ["/b"]}],
        }],
        "upstreams": [{"name": "backend", "targets": [{"target": target, "weight": 100}]}],
        "consumers": [
            {"username": "alice", "custom_id": "a1", "tags": ["deck"],
             "keyauth_credentials": [{"key": "alice-key"}],
             "basicauth_credentials": [{"username": "alice", "password": "s3cret"}],
             "hmacauth_credentials": [{"username": "alice-hmac", "secret": "hsecret"}],
             "jwt_secrets": [{"key": "alice-iss", "secret": "jsecret", "algorithm": "HS256"}],
             "acls": [{"group": "admins"}],
             "plugins": [{"name": "request-size-limiting",
                          "config": {"allowed_payload_size": 10}}]},
            {"username": "bob"},
        ],
        "plugins": [{"name": "correlation-id", "config": {"header_name": "X-Req"}}],
        # decK 1.4's file schema wants a certificate's id
        "certificates": [{"id": CERT_ID, "cert": SERVER.cert, "key": SERVER.key,
                          "snis": [{"name": "deck.test"}, {"name": "www.deck.test"}]}],
        "ca_certificates": [{"cert": CA.cert}],
    }


def listed(node: Gateway, name: str) -> int:
    """How many entities the collection holds, following every page."""
    total, url = 0, f"{node.admin}/{name}?size=1000"
    while url:
        page = requests.get(url, timeout=10).json()
        total += len(page["data"])
        url = page["next"] and f"{node.admin}{page['next']}"
    return total


def counts(node: Gateway) -> dict[str, int]:
    return {name: len(requests.get(f"{node.admin}/{name}", timeout=10).json()["data"])
            for name in COLLECTIONS}


def served_certificate(node: Gateway, sni: str) -> bytes:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", node.ports["proxy_ssl"]), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=sni) as sock:
            return sock.getpeercert(binary_form=True)


def assert_served(node: Gateway) -> None:
    node.wait_sync()
    proxy = node.proxy
    assert requests.get(f"{proxy}/one", timeout=5).status_code == 401
    keyed = requests.get(f"{proxy}/one", headers={"apikey": "alice-key"}, timeout=5)
    assert keyed.status_code == 200, keyed.text
    assert keyed.headers["X-RateLimit-Limit-Minute"] == "100"
    assert requests.get(f"{proxy}/two", auth=("alice", "wrong"), timeout=5).status_code == 401
    basic = requests.get(f"{proxy}/two", auth=("alice", "s3cret"), timeout=5)
    assert basic.status_code == 200, basic.text
    assert json.loads(basic.text)["headers"].get("x-req")
    balanced = requests.get(f"{proxy}/b", headers={"Host": "b.test"}, timeout=5)
    assert balanced.status_code == 200, balanced.text
    pem = ssl.DER_cert_to_PEM_cert(served_certificate(node, "www.deck.test"))
    assert pem.strip() == SERVER.cert.strip()


def test_ping_reads_the_kong_version(node):
    out = deck(node, "ping").stdout
    assert "Successfully connected to Kong!" in out
    assert "Kong version:  3.9" in out


def test_validate_checks_a_state_file_offline(node, tmp_path, upstream):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(state(upstream.url)))
    deck(node, "validate", "-s", str(good))
    bad = tmp_path / "bad.json"
    broken = state(upstream.url)
    broken["services"].append({"name": "svc1", "host": "dup"})
    bad.write_text(json.dumps(broken))
    proc = deck(node, "validate", "-s", str(bad), check=False)
    assert proc.returncode != 0 and "svc1" in proc.stderr


def test_sync_dump_diff_resync_reset(node, tmp_path, upstream):
    path = tmp_path / "kong.json"
    wanted = state(upstream.url)
    path.write_text(json.dumps(wanted))
    assert not any(counts(node).values())

    created = deck(node, "sync", "-s", str(path))
    assert summary(created) == {"Created": 24, "Updated": 0, "Deleted": 0}
    assert counts(node) == {"services": 2, "routes": 3, "plugins": 6, "consumers": 2,
                            "upstreams": 1, "certificates": 1, "snis": 2,
                            "ca_certificates": 1, "key-auths": 1, "basic-auths": 1,
                            "hmac-auths": 1, "jwts": 1, "acls": 1}
    assert_served(node)

    dumped_path = tmp_path / "dump.yaml"
    deck(node, "dump", "--with-id", "-o", str(dumped_path))
    dumped = yaml.safe_load(dumped_path.read_text())
    assert_equivalent(wanted, dumped)

    # decK 1.4 fills no defaults for the fields Kong added after it (retries,
    # upstream algorithm, plugin config): its own dump, which has them, diffs empty
    version = node.db_version()
    diff = deck(node, "diff", "-s", str(dumped_path), "--non-zero-exit-code")
    assert summary(diff) == {"Created": 0, "Updated": 0, "Deleted": 0}
    again = deck(node, "sync", "-s", str(dumped_path))
    assert summary(again) == {"Created": 0, "Updated": 0, "Deleted": 0}
    assert node.db_version() == version, "a sync with nothing to do wrote to the datastore"

    reset = deck(node, "reset", "--force")
    assert reset.returncode == 0
    assert not any(counts(node).values()), counts(node)


def assert_equivalent(wanted: dict, dumped: dict) -> None:
    """Every value of the state file comes back in the dump (which adds defaults)."""
    def by(items: list[dict], key: str) -> dict:
        return {item[key]: item for item in items}

    services = by(dumped["services"], "name")
    assert set(services) == {"svc1", "svc2"}
    svc1 = services["svc1"]
    assert (svc1["protocol"], svc1["port"], svc1["tags"]) == ("http", int(
        wanted["services"][0]["url"].rsplit(":", 1)[1]), ["deck"])
    routes = by(svc1["routes"], "name")
    assert routes["r1"]["paths"] == ["/one"] and routes["r1"]["tags"] == ["deck"]
    assert routes["r1"]["plugins"][0]["config"]["key_names"] == ["apikey"]
    assert routes["r2"]["methods"] == ["GET"]
    assert sorted(p["name"] for p in routes["r2"]["plugins"]) == ["acl", "basic-auth"]
    assert svc1["plugins"][0]["config"]["minute"] == 100
    assert by(services["svc2"]["routes"], "name")["r3"]["hosts"] == ["b.test"]
    consumers = by(dumped["consumers"], "username")
    alice = consumers["alice"]
    assert alice["custom_id"] == "a1" and alice["tags"] == ["deck"]
    assert [c["key"] for c in alice["keyauth_credentials"]] == ["alice-key"]
    # Kong stores basic-auth passwords hashed, and dumps the hash
    assert alice["basicauth_credentials"][0]["password"] != "s3cret"
    assert alice["hmacauth_credentials"][0]["secret"] == "hsecret"
    assert alice["jwt_secrets"][0]["key"] == "alice-iss"
    assert [a["group"] for a in alice["acls"]] == ["admins"]
    assert alice["plugins"][0]["config"]["allowed_payload_size"] == 10
    assert "bob" in consumers
    assert dumped["plugins"][0]["config"]["header_name"] == "X-Req"
    upstream = dumped["upstreams"][0]
    assert upstream["name"] == "backend"
    assert [(t["target"], t["weight"]) for t in upstream["targets"]] == [
        (wanted["upstreams"][0]["targets"][0]["target"], 100)]
    certificate = dumped["certificates"][0]
    assert certificate["id"] == CERT_ID
    assert certificate["cert"].strip() == SERVER.cert.strip()
    assert sorted(s["name"] for s in certificate["snis"]) == ["deck.test", "www.deck.test"]
    assert dumped["ca_certificates"][0]["cert"].strip() == CA.cert.strip()


def test_sync_applies_changes_and_select_tag(node, tmp_path, upstream):
    path = tmp_path / "kong.json"
    first = state(upstream.url)
    path.write_text(json.dumps(first))
    deck(node, "sync", "-s", str(path))

    changed = state(upstream.url)
    svc1 = changed["services"][0]
    svc1["routes"] = svc1["routes"][:1]
    svc1["plugins"][0]["config"]["minute"] = 50
    alice = changed["consumers"][0]
    alice["keyauth_credentials"][0]["key"] = "alice-key-2"
    del alice["hmacauth_credentials"]
    changed["consumers"] = changed["consumers"][:1]
    changed["certificates"][0]["snis"] = [{"name": "deck.test"}]
    path.write_text(json.dumps(changed))
    proc = deck(node, "sync", "-s", str(path))
    # deleted: r2 and its 2 plugins, the hmac credential, bob, an SNI; decK 1.4
    # replaces a key-auth credential whose key changed (delete, then create)
    done = summary(proc)
    assert (done["Created"], done["Deleted"]) == (1, 7), proc.stdout

    node.wait_sync()
    assert requests.get(f"{node.proxy}/two", timeout=5).status_code == 404
    keyed = requests.get(f"{node.proxy}/one", headers={"apikey": "alice-key-2"}, timeout=5)
    assert keyed.status_code == 200
    assert keyed.headers["X-RateLimit-Limit-Minute"] == "50"
    assert requests.get(f"{node.admin}/snis/www.deck.test", timeout=5).status_code == 404

    tagged = tmp_path / "tagged.yaml"
    deck(node, "dump", "--select-tag", "deck", "-o", str(tagged))
    dumped = yaml.safe_load(tagged.read_text())
    assert [s["name"] for s in dumped["services"]] == ["svc1"]
    assert [r["name"] for r in dumped["services"][0]["routes"]] == ["r1"]
    assert [c["username"] for c in dumped["consumers"]] == ["alice"]
    assert "upstreams" not in dumped and "certificates" not in dumped

    deck(node, "reset", "--force")
    assert not any(counts(node).values()), counts(node)


def test_lists_longer_than_one_page(node, tmp_path):
    """decK asks for pages of 1000 and follows ``offset``."""
    path = tmp_path / "bulk.json"
    path.write_text(json.dumps({"_format_version": "1.1", "consumers": [
        {"username": f"c{i:04d}", "keyauth_credentials": [{"key": f"k{i:04d}"}]}
        for i in range(1005)]}))
    created = deck(node, "sync", "-s", str(path))
    assert summary(created) == {"Created": 2010, "Updated": 0, "Deleted": 0}
    assert (listed(node, "consumers"), listed(node, "key-auths")) == (1005, 1005)
    diff = deck(node, "diff", "-s", str(path), "--non-zero-exit-code")
    assert summary(diff) == {"Created": 0, "Updated": 0, "Deleted": 0}
    deck(node, "reset", "--force")
    assert requests.get(f"{node.admin}/consumers", timeout=5).json()["data"] == []
