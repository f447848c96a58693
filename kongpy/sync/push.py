"""HTTP over the node's control socket (docs/contracts.md §2)."""
from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kongpy import paths
from kongpy.errors import DataPlaneError


@dataclass(frozen=True)
class PushResult:
    status: int
    body: dict[str, Any]

    @property
    def applied(self) -> bool:
        return self.status in (200, 201)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def write_token(path: str | Path) -> None:
    """A new secret for the control socket, readable by its owner only."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    os.replace(tmp, path)


def _read_token(socket_path: str) -> str | None:
    try:
        return (Path(socket_path).parent / paths.CONTROL_TOKEN).read_text().strip() or None
    except OSError:
        return None


class ControlClient:
    """Talks to `lua/kongpy/control.lua` on `<prefix>/sockets/control.sock`.

    Every request carries the node's per-start secret (read anew each time:
    a restarted node has a new one); the socket's folder is owner-only too.
    """

    def __init__(self, socket_path: str, timeout: float = 10.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def _request(self, method: str, path: str,
                 body: bytes | None = None) -> tuple[int, dict[str, Any]]:
        status, data = self._raw(method, path, body)
        try:
            decoded = json.loads(data) if data else {}
        except ValueError:
            raise DataPlaneError(f"{method} {path}: answer is not JSON "
                                 f"(status {status})") from None
        return status, decoded if isinstance(decoded, dict) else {}

    def _raw(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        conn = UnixHTTPConnection(self.socket_path, self.timeout)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        token = _read_token(self.socket_path)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise DataPlaneError(f"control socket {self.socket_path}: {exc}") from None
        finally:
            conn.close()
        return resp.status, data

    def push(self, body: bytes) -> PushResult:
        status, decoded = self._request("POST", "/snapshot", body)
        if status not in (200, 201, 400):
            raise DataPlaneError(f"POST /snapshot answered {status}: {decoded}")
        return PushResult(status, decoded)

    def push_delta(self, body: bytes) -> PushResult:
        """POST /snapshot/delta; any answer but 201 means: push the full snapshot."""
        status, decoded = self._request("POST", "/snapshot/delta", body)
        return PushResult(status, decoded)

    def push_secrets(self, body: bytes) -> PushResult:
        """POST /secrets: the resolved vault references (docs/contracts.md §2)."""
        status, decoded = self._request("POST", "/secrets", body)
        if status not in (200, 201, 400):
            raise DataPlaneError(f"POST /secrets answered {status}")
        return PushResult(status, decoded)

    def take_rehash(self) -> list[dict[str, Any]]:
        """POST /rehash: the queued credential re-hashes, removed from the queue."""
        status, decoded = self._request("POST", "/rehash")
        entries = decoded.get("rehash")
        if status != 200 or not isinstance(entries, list):
            raise DataPlaneError(f"POST /rehash answered {status}")
        return [e for e in entries if isinstance(e, dict)]

    def take_counters(self) -> list[dict[str, Any]]:
        """POST /counters: the touched `cluster` rate-limiting counters and their deltas."""
        status, decoded = self._request("POST", "/counters")
        entries = decoded.get("counters")
        if status != 200 or not isinstance(entries, list):
            raise DataPlaneError(f"POST /counters answered {status}")
        return [e for e in entries if isinstance(e, dict)]

    def settle_counters(self, totals: list[dict[str, Any]], returned: list[dict[str, Any]],
                        error: str | None = None) -> None:
        """POST /counters/totals: the stored totals, and what could not be stored."""
        doc: dict[str, Any] = {"totals": totals, "returned": returned}
        if error is not None:
            doc["error"] = error
        status, _ = self._request("POST", "/counters/totals", json.dumps(doc).encode())
        if status != 200:
            raise DataPlaneError(f"POST /counters/totals answered {status}")

    def take_cluster_events(self) -> list[dict[str, Any]]:
        """POST /cluster-events/take: the plugins' broadcasts, removed from the queue."""
        status, decoded = self._request("POST", "/cluster-events/take")
        entries = decoded.get("events")
        if status != 200 or not isinstance(entries, list):
            raise DataPlaneError(f"POST /cluster-events/take answered {status}")
        return [e for e in entries if isinstance(e, dict)]

    def deliver_cluster_events(self, events: list[dict[str, Any]]) -> None:
        """POST /cluster-events: other nodes' broadcasts, to the subscribers."""
        status, _ = self._request("POST", "/cluster-events",
                                  json.dumps({"events": events}).encode())
        if status != 200:
            raise DataPlaneError(f"POST /cluster-events answered {status}")

    def upstream_health(self, upstream_id: str) -> dict[str, Any]:
        """GET /upstreams/health: the node's balancer view of one upstream
        (docs/contracts.md §6)."""
        return self._get(f"/upstreams/health?id={quote(upstream_id, safe='')}")

    def set_health(self, upstream_id: str, host: str, port: int, ip: str | None,
                   ip_port: int | None, healthy: bool) -> str | None:
        """POST /upstreams/health: a manual override; Kong's error text or None."""
        doc = {"upstream": upstream_id, "host": host, "port": port, "ip": ip,
               "ip_port": ip_port, "healthy": healthy}
        status, decoded = self._request("POST", "/upstreams/health", json.dumps(doc).encode())
        if status == 200:
            return None
        if status == 400 and isinstance(decoded.get("message"), str):
            return decoded["message"]
        raise DataPlaneError(f"POST /upstreams/health answered {status}")

    def proxy_cache(self, op: str, doc: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST /proxy-cache/<op> (flush, fetch, delete): the entries of the
        proxy-cache dictionaries ``doc["dicts"]``; (status, answer)."""
        return self._request("POST", f"/proxy-cache/{op}", json.dumps(doc).encode())

    def cache(self, op: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """POST /cache/<op> (probe, invalidate, purge): kong.cache of the
        worker that answers; (status, answer)."""
        return self._request("POST", f"/cache/{op}", body)

    def push_node(self, facts: dict[str, Any]) -> None:
        """POST /node: what the control plane knows of the node (whether the
        datastore answers, the DB-less configuration hash)."""
        status, decoded = self._request("POST", "/node", json.dumps(facts).encode())
        if status != 200:
            raise DataPlaneError(f"POST /node answered {status}: {decoded}")

    def plugin_status(self, path: str) -> tuple[int, bytes]:
        """GET /plugin-status<path>: a route of the enabled plugins'
        status_api.lua (``/metrics``: the prometheus text), as answered."""
        return self._raw("GET", "/plugin-status" + path)

    def snapshot_state(self) -> dict[str, Any]:
        return self._get("/snapshot")

    def status(self) -> dict[str, Any]:
        return self._get("/status")

    def _get(self, path: str) -> dict[str, Any]:
        status, decoded = self._request("GET", path)
        if status != 200:
            raise DataPlaneError(f"GET {path} answered {status}")
        return decoded
