import time
from tests.helpers.http import admin


def test_quick(client):
    api = admin(client)
    api.post("/consumers", {"username": "bob"})
    api.post("/consumers", {"username": "bob2"})
    for i in range(3):
        api.post("/consumers/bob/key-auth", {})
    for i in range(3):
        api.post("/consumers/bob2/key-auth", {})
    for _ in range(5):
        p = api.get("/key-auths?size=3")
        assert len(p["data"]) == 3
        p2 = api.get("/key-auths?size=3&offset=" + p["offset"])
        assert len(p2["data"]) == 3, p2


def test_ttl(client):
    api = admin(client)
    api.post("/consumers", {"username": "bob"})
    for i in range(4):
        api.post("/consumers/bob/key-auth", {"ttl": 1})
    time.sleep(2.1)
    for i in range(6):
        api.post("/consumers/bob/key-auth", {})
    p = api.get("/key-auths?size=3")
    assert len(p["data"]) == 3
    p2 = api.get("/key-auths?size=3&offset=" + p["offset"])
    assert len(p2["data"]) == 3, p2
