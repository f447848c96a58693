"""Kong's router scenarios (tests/lua/kong_router_cases.lua, those marked
`node`) through a real node, once per router flavour: the route each request
selects (Kong-Route-Name, allow_debug_header) and the path the upstream sees."""
from __future__ import annotations

import http.client
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.http import admin

LUA_DIR = Path(__file__).resolve().parents[1] / "lua"
CASES = [LUA_DIR / f"kong_router_{name}.lua"
         for name in ("cases", "unit_cases", "proxy_cases", "path_cases")]
FLAVORS = ("traditional", "traditional_compatible", "expressions")
# Routes without an expression are compiled as traditional_compatible in the
# expressions flavour: the table's traditional_compatible data applies there.
DATA_FLAVOR = {"expressions": "traditional_compatible"}
DEFAULT_HOST = "kong-router.test"

# The table as JSON: LuaJIT with lua-cjson reads the data file as it is.
_DUMP = """
package.path = "{lua_dir}/?.lua;" .. package.path
local cjson = require("cjson")
cjson.encode_sparse_array(true)
local out = {{}}
for _, file in ipairs({{ {files} }}) do
    for _, sc in ipairs(dofile(file)) do
        if sc.node then
            local reqs = {{}}
            for j, rq in ipairs(sc[3]) do
                reqs[j] = {{ req = rq[1], want = rq[2], flavors = rq.flavors,
                             upstream_path = rq.upstream_path, raw = rq.raw }}
            end
            out[#out + 1] = {{ name = sc[1], routes = sc[2], requests = reqs,
                               flavors = sc.flavors }}
        end
    end
end
io.write(cjson.encode(out))
"""


def _scenarios() -> list[dict]:
    luajit = shutil.which("luajit")
    if not luajit:
        pytest.fail("luajit (with lua-cjson) is required to read the router table")
    files = ", ".join(f'"{f}"' for f in CASES)
    out = subprocess.run([luajit, "-e", _DUMP.format(files=files, lua_dir=LUA_DIR)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _applies(flavors, flavor: str) -> bool:
    return not flavors or DATA_FLAVOR.get(flavor, flavor) in flavors


def _upstream(rq: dict, flavor: str):
    want = rq.get("upstream_path")
    return want.get(DATA_FLAVOR.get(flavor, flavor)) if isinstance(want, dict) else want


def _dashes(headers: dict | None) -> dict:
    return {k.replace("_", "-"): v for k, v in (headers or {}).items()}


def _send(node, req: dict):
    conn = http.client.HTTPConnection("127.0.0.1", node.ports["proxy"], timeout=10)
    try:
        conn.putrequest(req.get("method", "GET"), req["path"], skip_host=True,
                        skip_accept_encoding=True)
        conn.putheader("Host", req.get("host") or DEFAULT_HOST)
        conn.putheader("Kong-Debug", "1")
        for name, value in _dashes(req.get("headers")).items():
            for v in value if isinstance(value, list) else [value]:
                conn.putheader(name, v)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


@pytest.fixture(scope="module", params=FLAVORS)
def flavored(request, start_node):
    node = start_node(workers=1, allow_debug_header="on", router_flavor=request.param)
    return request.param, node


def _install(api, upstream, n: int, routes: list[dict]) -> list[tuple[str, str]]:
    made = []
    for r in routes:
        body = {k: v for k, v in r.items()
                if k not in ("id", "service_path", "serviceless", "service_enabled")}
        if "headers" in body:
            body["headers"] = _dashes(body["headers"])
        body["name"] = f"s{n}-{r['id']}"
        if r.get("serviceless"):
            made.append(("routes", api.post("/routes", body)["id"]))
            continue
        svc = api.post("/services", {"name": body["name"],
                                     "url": upstream.url + r.get("service_path", "/"),
                                     "enabled": r.get("service_enabled", True)})
        made.append(("routes", api.post(f"/services/{svc['id']}/routes", body)["id"]))
        made.append(("services", svc["id"]))
    return made


def test_kong_router_scenarios_through_a_node(flavored, upstream):
    flavor, node = flavored
    api = admin(node)
    checked, failures = 0, []
    for n, sc in enumerate(_scenarios()):
        if not _applies(sc.get("flavors"), flavor):
            continue
        made = _install(api, upstream, n, sc["routes"])
        node.wait_sync()
        serviceless = {f"s{n}-{r['id']}" for r in sc["routes"] if r.get("serviceless")}
        for i, rq in enumerate(sc["requests"]):
            req, want = rq["req"], rq["want"]
            if isinstance(want, dict):
                want = want[DATA_FLAVOR.get(flavor, flavor)]
            # a request without Host cannot be sent over HTTP/1.1, and nginx
            # itself answers TRACE with 405 (in Kong too)
            if not _applies(rq.get("flavors"), flavor) or req.get("host") == "" \
                    or req.get("method") == "TRACE" or rq.get("raw"):
                continue
            checked += 1
            status, headers, body = _send(node, req)
            got = headers.get("Kong-Route-Name")
            label = f"{sc['name']} #{i + 1} {req}"
            if want is False:
                if status != 404:
                    failures.append(f"{label}: expected 404, got {status} ({got})")
                continue
            name = f"s{n}-{want}"
            if got != name:
                failures.append(f"{label}: expected {name}, got {got} ({status})")
            elif name in serviceless:
                if status != 503:
                    failures.append(f"{label}: expected 503, got {status}")
            elif status != 200:
                failures.append(f"{label}: status {status}")
            elif _upstream(rq, flavor) and json.loads(body)["path"] != _upstream(rq, flavor):
                failures.append(f"{label}: upstream path {json.loads(body)['path']}")
        for kind, ident in made:
            api.delete(f"/{kind}/{ident}")
    assert checked > 50
    print(f"{flavor}: {checked - len(failures)}/{checked} requests as Kong")
    assert not failures, "\n".join(failures)
