"""basic-auth: its credentials through the Admin API and their password storage
(the PBKDF2 format, legacy SHA-1 rows, re-hashes)."""
from __future__ import annotations

import base64
import hashlib

import pytest

from tests.helpers import passwords as daos
from tests.helpers.http import admin
from tests.helpers.imported import import_basic_auth, kong_sha1


@pytest.fixture
def bob(db):
    return db.consumers.insert({"username": "bob"})


def test_credentials(client):
    api = admin(client)
    bob = api.post("/consumers", {"username": "bob"})
    basic = api.post("/consumers/bob/basic-auth", {"username": "b", "password": "pw"})
    assert basic["password"].startswith("$pbkdf2-sha256$i=")
    assert basic["consumer"] == {"id": bob["id"]}
    again = api.patch("/basic-auths/b", {"tags": ["t"]})
    assert again["password"] == basic["password"]
    changed = api.patch("/basic-auths/b", {"password": "new"})
    assert changed["password"] not in (basic["password"], "new")
    api.delete("/consumers/bob")
    assert api.get("/basic-auths") == {"data": [], "next": None}


def test_admin_writes_store_pbkdf2(db, bob):
    cred = db.basicauth_credentials.insert({"consumer": {"id": bob["id"]},
                                            "username": "u", "password": "pw"})
    parsed = daos.parse_hash(cred["password"])
    assert parsed.iterations == daos.ITERATIONS and len(parsed.salt) == daos.SALT_BYTES
    assert parsed.digest == hashlib.pbkdf2_hmac("sha256", b"pw", parsed.salt,
                                                parsed.iterations, 32)
    assert base64.b64decode(cred["password"].split("$")[-1]) == parsed.digest
    other = db.basicauth_credentials.insert({"consumer": {"id": bob["id"]},
                                             "username": "v", "password": "pw"})
    assert daos.parse_hash(other["password"]).salt != parsed.salt  # a new salt every time
    # a write that does not supply the password keeps the stored value as is
    same = db.basicauth_credentials.update(cred["id"], {"tags": ["t"]})
    assert same["password"] == cred["password"]
    changed = db.basicauth_credentials.update(cred["id"], {"password": "pw"})
    assert changed["password"] != cred["password"]


def test_accepts_rehash(db):
    schema = db.basicauth_credentials.schema
    legacy = kong_sha1("pw", "c")
    good = daos.hash_password("pw")
    assert schema.rehash_field == "password"
    assert schema.accepts_rehash(legacy, good)
    assert not schema.accepts_rehash(good, daos.hash_password("pw"))    # not legacy
    assert not schema.accepts_rehash(legacy.upper(), good)
    assert not schema.accepts_rehash(legacy, legacy)
    assert not schema.accepts_rehash(legacy, daos.hash_password("pw", iterations=1000))
    assert not schema.accepts_rehash(legacy, daos.hash_password("pw", salt=b"short"))
    assert not schema.accepts_rehash(legacy, "pw")


def test_compare_and_set_writes_the_hash_as_given(db, bob):
    cred = import_basic_auth(db, bob["id"], "u", "pw")
    assert cred["password"] == kong_sha1("pw", bob["id"])
    new = daos.hash_password("pw")
    before = db.events.latest()
    dao = db.basicauth_credentials
    assert dao.compare_and_set(cred["id"], "password", cred["password"], new) is True
    assert dao.select(cred["id"])["password"] == new  # not hashed again
    assert db.events.latest() > before
    # the stored value is no longer the expected one: nothing changes
    assert dao.compare_and_set(cred["id"], "password", cred["password"],
                               daos.hash_password("pw")) is False
    assert dao.select(cred["id"])["password"] == new


def test_moving_a_credential_needs_its_password(client):
    # Kong's hash is salted with the consumer id: the consumer changes only
    # with a new password (all or none of them)
    api = admin(client)
    api.post("/consumers", {"username": "bob"})
    john = api.post("/consumers", {"username": "john"})
    basic = api.post("/consumers/bob/basic-auth", {"username": "b", "password": "pw"})
    message = "all or none of these fields must be set: 'password', 'consumer.id'"
    for path in ("/basic-auths/b", "/consumers/bob/basic-auth/b"):
        assert api.send("PATCH", path, {"consumer": {"id": john["id"]}}) == (400, {
            "code": 2, "name": "schema violation",
            "message": f"schema violation ({message})",
            "fields": {"@entity": [message]}}), path
    assert api.get("/basic-auths/b")["consumer"] == basic["consumer"]
    # the same consumer again is no change; the password alone is a change of its own
    same = api.patch("/basic-auths/b", {"consumer": basic["consumer"], "tags": ["t"]})
    assert same["password"] == basic["password"]
    api.patch("/basic-auths/b", {"password": "other"})
    moved = api.patch("/basic-auths/b", {"consumer": {"id": john["id"]}, "password": "new"})
    assert moved["consumer"] == {"id": john["id"]}
    assert moved["password"] not in (basic["password"], "new")
