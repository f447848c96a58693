"""HTTP from tests, written once: the Admin API, of a Flask test client (unit
tests) or of a live node (a Gateway), with the status asserted and the JSON
body returned; and the proxy of a live node, with the response returned as is."""
from __future__ import annotations

import base64
from typing import Any

import requests

ADMIN_TIMEOUT = 10
PROXY_TIMEOUT = 5


class Admin:
    """``admin(target).post(path, body, status=201) -> body`` and its siblings."""

    def __init__(self, target: Any, headers: dict[str, str] | None = None) -> None:
        self._target = target
        self._headers = dict(headers or {})
        base = getattr(target, "admin", None)
        self._base = base if isinstance(base, str) else None  # None: a Flask test client

    def response(self, method: str, path: str, body: Any = None,
                 headers: dict[str, str] | None = None) -> Any:
        """The response itself (Flask's or ``requests``'), for tests about headers."""
        headers = {**self._headers, **(headers or {})}
        if self._base is None:
            return self._target.open(path, method=method, json=body, headers=headers)
        return requests.request(method, self._base + path, json=body, headers=headers,
                                timeout=ADMIN_TIMEOUT)

    def send(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """(status, JSON body or None), whatever the status."""
        resp = self.response(method, path, body, headers)
        if self._base is None:
            return resp.status_code, resp.get_json(silent=True)
        try:
            return resp.status_code, resp.json() if resp.content else None
        except ValueError:
            return resp.status_code, resp.text

    def request(self, method: str, path: str, body: Any = None, status: int = 200,
                headers: dict[str, str] | None = None) -> Any:
        code, data = self.send(method, path, body, headers)
        assert code == status, f"{method} {path} answered {code}, not {status}: {data}"
        return data

    def get(self, path: str, status: int = 200, **kwargs: Any) -> Any:
        return self.request("GET", path, None, status, **kwargs)

    def post(self, path: str, body: Any = None, status: int = 201, **kwargs: Any) -> Any:
        return self.request("POST", path, body, status, **kwargs)

    def put(self, path: str, body: Any = None, status: int = 200, **kwargs: Any) -> Any:
        return self.request("PUT", path, body, status, **kwargs)

    def patch(self, path: str, body: Any = None, status: int = 200, **kwargs: Any) -> Any:
        return self.request("PATCH", path, body, status, **kwargs)

    def delete(self, path: str, status: int = 204, **kwargs: Any) -> Any:
        return self.request("DELETE", path, None, status, **kwargs)

    def plugin(self, name: str, config: dict | None = None, status: int = 201) -> Any:
        """POST /plugins for a global instance of ``name`` (``config`` left out when None)."""
        body: dict[str, Any] = {"name": name}
        if config is not None:
            body["config"] = config
        return self.post("/plugins", body, status)


def admin(target: Any, headers: dict[str, str] | None = None) -> Admin:
    """The Admin API of a Flask test client or of a Gateway (its ``admin`` URL)."""
    return Admin(target, headers)


class Proxy:
    """Requests to a node's proxy listener; the ``requests`` response, unchecked."""

    def __init__(self, node: Any, base: str | None = None) -> None:
        self.base = base or node.proxy

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", PROXY_TIMEOUT)
        return requests.request(method, self.base + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("OPTIONS", path, **kwargs)


def proxy(node: Any) -> Proxy:
    """The proxy (plain HTTP listener) of a Gateway."""
    return Proxy(node)


def basic(user: str, password: str) -> str:
    """The value of an ``[Proxy-]Authorization: Basic`` header."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def violation_fields(resp: Any) -> dict:
    """The ``fields`` of a Flask test client's schema-violation answer (400, code 2)."""
    assert resp.status_code == 400, resp.get_json()
    body = resp.get_json()
    assert body["code"] == 2 and body["name"] == "schema violation"
    return body["fields"]
