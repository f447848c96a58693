"""The checks behind tests/plugins/<plugin>/test_invalidations.py: a change made
through the Admin API reaches the proxy of a running node, without a restart,
once ``Gateway.wait_sync()`` says every worker serves it. Each step asserts what
the proxy does before and after the change, so a change that does not
propagate fails the step that made it."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from tests.helpers.http import admin

Probe = Callable[[], Any]
Request = Callable[[], requests.Response]

# Kong's default workspace id: the last part of Kong's entity cache keys
WORKSPACE = "00000000-0000-4000-8000-000000000000"


def cached(gw: Any, entity: str, key: str) -> tuple[int, Any]:
    """GET /cache/<Kong's cache key of the ``entity`` row with cache key ``key``>."""
    return admin(gw).send("GET", f"/cache/{entity}:{key}:::::{WORKSPACE}")


def until_uncached(gw: Any, entity: str, key: str) -> None:
    """Until /cache answers 404 for the row (Kong's wait_for_invalidation),
    then until every worker serves the change."""
    deadline = time.monotonic() + 5
    while cached(gw, entity, key)[0] != 404:
        assert time.monotonic() < deadline, f"{entity} {key} still cached"
        time.sleep(0.05)
    gw.wait_sync()


def add_consumer(gw: Any, username: str,
                 credentials: dict[str, dict]) -> tuple[dict, list[dict]]:
    """A new consumer with credentials (``{"key-auth": body, "acls": body…}``,
    by nested Admin API path), once the data plane serves them."""
    api = admin(gw)
    consumer = api.post("/consumers", {"username": username})
    made = [api.post(f"/consumers/{username}/{path}", body) for path, body in credentials.items()]
    gw.wait_sync()
    return consumer, made


def _expect(probe: Probe, wanted: Any, step: str) -> None:
    seen = probe()
    assert seen == wanted, f"{step}: the proxy shows {seen!r}, not {wanted!r}"


def check_instance_lifecycle(gw: Any, scope: str, plugin: dict, patch: dict, probe: Probe,
                             *, off: Any, on: Any, patched: Any) -> None:
    """Creates ``plugin`` under ``scope`` (``""`` for a global instance,
    ``/routes/<id>``, ``/services/<name>``…), PATCHes ``patch`` into its config,
    disables it, enables it again and deletes it. ``probe()`` must show ``off``
    before and whenever the instance is disabled or gone, ``on`` once it is
    created, ``patched`` once its config is patched."""
    api = admin(gw)
    _expect(probe, off, "before the instance exists")
    instance = api.post(f"{scope}/plugins", plugin)
    gw.wait_sync()
    _expect(probe, on, "once created")
    for body, wanted, step in (({"config": patch}, patched, "once its config is patched"),
                               ({"enabled": False}, off, "once disabled"),
                               ({"enabled": True}, patched, "once enabled again")):
        api.patch(f"/plugins/{instance['id']}", body)
        gw.wait_sync()
        _expect(probe, wanted, step)
    api.delete(f"/plugins/{instance['id']}")
    gw.wait_sync()
    _expect(probe, off, "once deleted")


def _status(request: Request) -> Probe:
    return lambda: request().status_code


def check_credential_changes(gw: Any, credential: str, patch: dict, old: Request,
                             new: Request) -> None:
    """``old()`` authenticates with the credential at ``credential`` (its Admin
    API path) as it is, ``new()`` as ``patch`` leaves it: the PATCH moves the
    proxy's 200 from one to the other, the DELETE refuses ``new()`` too."""
    api = admin(gw)
    _expect(_status(old), 200, "before the credential changes")
    _expect(_status(new), 401, "before the credential changes, the new one")
    api.patch(credential, patch)
    gw.wait_sync()
    _expect(_status(old), 401, "once patched, the old one")
    _expect(_status(new), 200, "once patched, the new one")
    api.delete(credential)
    gw.wait_sync()
    _expect(_status(new), 401, "once deleted")


def check_consumer_changes(gw: Any, consumer: dict, request: Request) -> None:
    """``request()`` authenticates as ``consumer``: renaming the consumer changes
    the X-Consumer-* headers the upstream sees, deleting it (and so its
    credentials) refuses the request."""
    api = admin(gw)

    def seen() -> tuple[int, str | None, str | None]:
        resp = request()
        headers = resp.json()["headers"] if resp.status_code == 200 else {}
        return (resp.status_code, headers.get("x-consumer-username"),
                headers.get("x-consumer-custom-id"))

    _expect(seen, (200, consumer["username"], None), "before the consumer changes")
    api.patch(f"/consumers/{consumer['id']}", {"username": consumer["username"] + "-renamed",
                                               "custom_id": "c-" + consumer["username"]})
    gw.wait_sync()
    _expect(seen, (200, consumer["username"] + "-renamed", "c-" + consumer["username"]),
            "once the consumer is renamed")
    api.delete(f"/consumers/{consumer['id']}")
    gw.wait_sync()
    _expect(seen, (401, None, None), "once the consumer is deleted")
