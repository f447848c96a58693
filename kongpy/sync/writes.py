"""The write channel: rows the data plane asks the control plane to store.

Some plugins must create rows while they answer a request (oauth2's codes
and tokens, the session plugin's server-side sessions), and the data plane
never opens the datastore. So the control-plane process serves a private
unix socket, never on TCP (``<prefix>/sockets/write.sock``, in the
owner-only ``sockets`` folder, ``0600``; when the workers run as another
user, in a folder of the workers' temp root that only their group may
enter, ``0660`` with their group), where a worker asks for an insert,
an update or a delete of one row of an allow-listed entity
(docs/contracts.md §9). Every request carries the node's control secret
(``Authorization: Bearer <control.token>``): the one both halves of the
node already share.

The row goes through the entity's DAO like any Admin API write: the same
schema validation, one transaction with its cluster event, nothing stored
when anything fails. The answer carries the stored row and the configuration
version that holds it; the worker keeps the row visible on its node until
the data plane serves that version (lua/kongpy/dpwrite.lua), and the sync
loop, nudged here, pushes it to this node as to every other.

Entities outside :data:`WRITABLE` are refused: the data plane may never
write consumers, plugins, or any credential an operator created.
"""
from __future__ import annotations

import hmac
import json
import logging
import os
import socketserver
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Callable

from kongpy import errors, paths
from kongpy.plugins import DATA_PLANE_WRITES
from kongpy.schemas.typedefs import is_uuid
from kongpy.sync.notify import notify

log = logging.getLogger(__name__)

WRITABLE = DATA_PLANE_WRITES
MAX_BODY = 1 << 20
_STATUS = {errors.UNIQUE_VIOLATION: 409, errors.NOT_FOUND: 404,
           errors.OPERATION_UNSUPPORTED: 405, errors.DATABASE_ERROR: 500}


class WriteError(errors.KongpyError):
    """A request the channel answers with an error status."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        super().__init__(str(body.get("message")))


def _refuse(status: int, message: str) -> WriteError:
    return WriteError(status, {"message": message})


def apply(db: Any, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    """One request of the channel: ``POST /rows/<entity>``,
    ``PATCH /rows/<entity>/<id>`` or ``DELETE /rows/<entity>/<id>``.
    Returns ``(status, answer)``; raises DaoError, DatastoreUnavailable or
    WriteError."""
    parts = path.strip("/").split("/")
    if len(parts) not in (2, 3) or parts[0] != "rows":
        raise _refuse(404, "Not found")
    entity, key = parts[1], (parts[2] if len(parts) == 3 else None)
    if entity not in WRITABLE or entity not in db.daos:
        raise _refuse(403, f"the data plane cannot write '{entity}' entities")
    dao = db.daos[entity]
    if (method == "POST") != (key is None) or method not in ("POST", "PATCH", "DELETE"):
        raise _refuse(405, "Method not allowed")
    if key is not None and not is_uuid(key):
        raise _refuse(400, "the key must be an id")
    if method == "DELETE":
        row = dao.select_with_expiry(key)
        dao.delete(key)
        return 200, {"row": row, "version": db.events.latest()}
    if not isinstance(body, dict):
        raise _refuse(400, "the body must be a JSON object")
    if method == "POST":
        old, row, status = None, dao.insert(body), 201
    else:
        old = dao.select_with_expiry(key)
        row, status = dao.update(key, body), 200
    # the row as the data plane's configuration carries it (with expires_at)
    stored = dao.select_with_expiry(row["id"]) or row
    return status, {"row": stored, "old": old, "version": db.events.latest()}


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        log.debug("write channel: " + format, *args)

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        auth = self.headers.get("Authorization") or ""
        if not hmac.compare_digest(auth.encode(), self.server.expected_auth().encode()):
            return self._answer(401, {"message": "Unauthorized"})
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            return self._answer(413, {"message": "Payload too large"})
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self._answer(400, {"message": "the body must be a JSON object"})
        status, answer = self.server.serve(self.command, self.path, body)
        self._answer(status, answer)

    do_POST = do_PATCH = do_DELETE = do_GET = _handle


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    serve: Callable[[str, str, Any], tuple[int, dict[str, Any]]]
    expected_auth: Callable[[], str]


class WriteServer:
    """The channel's server, a thread of the control-plane process."""

    def __init__(self, prefix: str | os.PathLike, socket: Path, group: int | None,
                 open_db: Callable[[], Any]) -> None:
        self.prefix = paths.prefix(prefix)
        self.socket = socket
        self._group = group
        self._open_db = open_db
        self._db: Any = None
        # one write at a time: the rate is one per login, and a single handle
        # keeps every datastore's transactions simple
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def _expected_auth(self) -> str:
        try:
            token = self.prefix.control_token_file.read_text().strip()
        except OSError:
            token = ""
        # no secret, nothing accepted: no header equals this
        return f"Bearer {token}" if token else "\0"

    def serve(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        with self._lock:
            try:
                if self._db is None:
                    self._db = self._open_db()
                status, answer = apply(self._db, method, path, body)
            except WriteError as exc:
                return exc.status, exc.body
            except errors.DatastoreUnavailable as exc:
                log.error("write channel: %s", exc.message)
                return 503, {"message": "datastore unavailable"}
            except errors.DaoError as exc:
                return _STATUS.get(exc.code, 400), exc.to_body()
            except Exception:  # noqa: BLE001 - answered, logged, never fatal
                log.exception("write channel: %s %s failed", method, path)
                return 500, {"message": "An unexpected error occurred"}
        if status < 300:
            notify(self.prefix.root)  # the sync loop pushes the new version now
        return status, answer

    def start(self) -> None:
        path = self.socket
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        server = _Server(str(path), _Handler, bind_and_activate=False)
        old = os.umask(0o177)
        try:
            server.server_bind()
        finally:
            os.umask(old)
        if self._group is not None:
            os.chown(path, -1, self._group)
            os.chmod(path, 0o660)
        else:
            os.chmod(path, 0o600)
        server.server_activate()
        server.serve = self.serve
        server.expected_auth = self._expected_auth
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="writes",
                                        daemon=True)
        self._thread.start()

    def reset(self) -> None:
        """A reloaded node: the next write opens the datastore with its new settings."""
        with self._lock:
            self._close_db()

    def _close_db(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except Exception:  # noqa: BLE001 - it is being dropped anyway
                pass
            self._db = None

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self.socket.unlink(missing_ok=True)
            self._server = None
        self.reset()
