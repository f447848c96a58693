"""The Admin API of a real node, fuzzed from its own GET /openapi.json.

schemathesis generates requests for every documented operation, bodies that
fit the schemas and bodies that break them. Whatever it sends: no 5xx, no
answer slower than REQUEST_TIMEOUT_S, and afterwards a consistent datastore
(every stored entity re-validates against its schema, no reference to a
missing entity), a data plane that took the fuzzed configuration, and a
proxy that still serves a known route.

Bounded: KONGPY_FUZZ_SECONDS (default 120) is shared by all operations.
"""
from __future__ import annotations

import logging
import os
import time
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from kongpy.errors import KongpyError
from tests.conftest import require_binary
from tests.helpers.gateway import Gateway
from tests.helpers.http import admin

FUZZ_SECONDS = float(os.environ.get("KONGPY_FUZZ_SECONDS", "120"))
REQUEST_TIMEOUT_S = 10.0
BATCH = 10  # examples per hypothesis run; runs repeat until the time share is spent
KNOWN = "/fuzz-known"


@pytest.fixture(scope="module")
def node(tmp_path_factory, upstream):
    require_binary("nginx")
    gw = Gateway(tmp_path_factory.mktemp("fuzz"), workers=1).start()
    gw.proxied("known", upstream.url, KNOWN)
    # Entities for the fuzzer's requests to run into.
    gw.create("/consumers", {"username": "c1"})
    gw.create("/consumers/c1/key-auth", {"key": "k1"})
    gw.create("/services/known/plugins", {"name": "correlation-id"})
    yield gw
    gw.stop()


def _fuzz(op: Any, mode: GenerationMode, seconds: float, base_url: str,
          failures: list[str]) -> int:
    """Requests for ``op`` until ``seconds`` have passed; returns how many."""
    deadline = time.monotonic() + seconds
    sent = [0]

    @settings(max_examples=BATCH, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if time.monotonic() > deadline:
            return
        sent[0] += 1
        try:
            resp = case.call(base_url=base_url, timeout=REQUEST_TIMEOUT_S)
        except requests.Timeout:
            failures.append(f"no answer within {REQUEST_TIMEOUT_S}s: {_describe(case)}")
            return
        if resp.status_code >= 500:
            failures.append(f"{resp.status_code} {resp.text[:200]}: {_describe(case)}")

    while time.monotonic() < deadline:
        try:
            run()
        except Unsatisfiable:
            break  # nothing to generate in this mode (no parameters to break)
    return sent[0]


def _describe(case: Any) -> str:
    return (f"{case.method} {case.formatted_path} query={case.query!r} "
            f"body={str(case.body)[:300]!r}")


def _assert_consistent(node: Gateway) -> int:
    """Every stored entity re-validates; every reference points at a row."""
    db = node.open_db()
    problems: list[str] = []
    count = 0
    try:
        for name, dao in db.daos.items():
            for row in dao.each():
                count += 1
                try:
                    dao.schema.validate(dao.schema.stored(row))
                except KongpyError as exc:
                    problems.append(f"{name} {row['id']}: {exc}")
                for field, fdef in dao.schema.foreign_fields().items():
                    ref = row.get(field)
                    if ref and db.daos[fdef.reference].select(ref["id"]) is None:
                        problems.append(f"{name} {row['id']}: {field} -> missing {ref}")
    finally:
        db.close()
    assert not problems, "\n".join(problems[:50])
    return count


def _keep_only_the_known_route(node: Gateway) -> None:
    """What the fuzzer created may legitimately stop any proxying (a global
    request-termination, a route that shadows ours): remove it."""
    api = admin(node)
    known = api.get("/services/known")
    for plugin in _every(api, "/plugins"):
        api.response("DELETE", f"/plugins/{plugin['id']}")
    for route in _every(api, "/routes"):
        if (route.get("service") or {}).get("id") != known["id"]:
            api.response("DELETE", f"/routes/{route['id']}")


def _every(api: Any, path: str) -> list[dict]:
    rows: list[dict] = []
    page: dict = {"next": f"{path}?size=1000"}
    while page["next"]:
        page = api.get(page["next"])
        rows += page["data"]
    return rows


def test_fuzzing_the_admin_api_finds_no_server_error(node, upstream, caplog):
    caplog.set_level(logging.WARNING)
    schema = schemathesis.openapi.from_url(node.admin + "/openapi.json")
    ops = [result.ok() for result in schema.get_all_operations()]
    assert len(ops) > 100  # every collection, entity, nested and plugin endpoint
    share = FUZZ_SECONDS / (2 * len(ops))
    failures: list[str] = []
    sent = 0
    for op in ops:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            sent += _fuzz(op, mode, share, node.admin, failures)
    assert not failures, f"{len(failures)} of {sent} requests:\n" + "\n".join(failures[:30])
    assert sent >= len(ops)

    # The data plane took whatever the fuzzer stored, the datastore holds it whole.
    node.wait_sync(timeout=30)
    assert _assert_consistent(node) > 0

    _keep_only_the_known_route(node)
    node.wait_sync(timeout=30)
    resp = requests.get(node.proxy + KNOWN + "/x", timeout=REQUEST_TIMEOUT_S)
    assert resp.status_code == 200, resp.text
    assert resp.json()["path"].endswith("/x")
