"""The Admin API's gate: Host, Origin and token checks before anything else.

A WSGI middleware around the whole Flask application, so a refused request
is answered before routing, before its body is read and before any datastore
access. In order:

1. ``Host`` must name an ``admin_listen`` address, ``localhost``, an IP
   address or an ``admin_server_names`` entry (DNS rebinding needs a host
   name the attacker controls). No Host header (HTTP/1.0) passes.
2. An ``Origin`` header must be an allowed origin (``admin_gui_url``, else
   the node's own ``admin_gui_listen`` addresses, and
   ``admin_allowed_origins``); preflights (OPTIONS) included. Kong echoes any
   origin with credentials; we refuse foreign browser origins on purpose.
3. With ``admin_auth = token``, every request but OPTIONS carries a known
   ``Kong-Admin-Token``; read-only tokens may only read. The node's own data
   plane presents the node secret instead, valid for internal paths only.

Every response that passes gets the CORS headers here too, so Flask views
and error handlers never deal with them.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from werkzeug.wrappers import Response

from kongpy import adminsec, conf, guiconf
from kongpy.admin.errors import response_for
from kongpy.admin.resources import SERVER, json_response, kong_status
from kongpy.admin.tokens import TokenCache
from kongpy.errors import TokensUnavailable

HOST_REFUSED = "host not allowed"
ORIGIN_REFUSED = "origin not allowed"
NO_CREDENTIALS = "Invalid credentials. Token or User credentials required"
TOKEN_HEADER = "Kong-Admin-Token"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_ACTIONS = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}
_TOKEN_KEY = "HTTP_" + TOKEN_HEADER.upper().replace("-", "_")
_VARY = [("Vary", "Origin")]
TOKEN_NAME_KEY = "kongpy.admin_token"


class Guard:
    def __init__(self, app: Callable, config: Mapping[str, Any],
                 tokens: TokenCache | None) -> None:
        self.app = app
        self.tokens = tokens
        self.origins = adminsec.allowed_origins(config)
        # Without admin_gui_url, the node's own GUI pages may call it too.
        gui = [] if config.get("admin_gui_url") else guiconf.listen_origins(config)
        self._origin_set = frozenset(self.origins + gui)
        names = adminsec.as_list(config.get("admin_server_names"))
        self._names = frozenset(["localhost"] + [n.lower().rstrip(".") for n in names])
        self._listen = adminsec.listen_addresses(config.get("admin_listen") or [])
        # `headers` without server_tokens/server: no answer names the server
        self._server = conf.admin_headers(config)[0]

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not self._server:
            start_response = _without_server(start_response)
        origin = environ.get("HTTP_ORIGIN")
        if not self.host_allowed(environ.get("HTTP_HOST")):
            return _answer(403, HOST_REFUSED)(environ, _adding(start_response, _VARY))
        if origin is not None and adminsec.request_origin(origin) not in self._origin_set:
            return _answer(403, ORIGIN_REFUSED)(environ, _adding(start_response, _VARY))
        start = _adding(start_response, self._cors(origin))
        refusal = self._token_refusal(environ)
        if refusal is not None:
            return refusal(environ, start)
        return self.app(environ, start)

    # -- the checks ---------------------------------------------------------------------

    def host_allowed(self, value: str | None) -> bool:
        if not value:
            return True
        parsed = adminsec.split_host(value)
        if parsed is None:
            return False
        host, port = parsed
        if host in self._names or adminsec.is_ip_literal(host):
            return True
        return any(host == listen_host and port in (None, listen_port)
                   for listen_host, listen_port in self._listen)

    def _token_refusal(self, environ: dict) -> Response | None:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if self.tokens is None or method == "OPTIONS":
            return None
        token = environ.get(_TOKEN_KEY)
        if not token:
            return _answer(401, NO_CREDENTIALS)
        try:
            holder = self.tokens.find(token)
        except TokensUnavailable as exc:
            return _finish(response_for(exc))
        if holder is None:
            return _answer(401, NO_CREDENTIALS)
        if holder.read_only and method not in READ_METHODS:
            action = _ACTIONS.get(method, "update")
            return _answer(403, f"{holder.name}, you do not have permissions to {action} "
                                "this resource")
        # the configuration history names the token behind each change
        environ[TOKEN_NAME_KEY] = holder.name
        return None

    # -- CORS -----------------------------------------------------------------------------

    def _cors(self, origin: str | None) -> list[tuple[str, str]]:
        """Headers for a request whose Origin (if any) passed the check.

        Without an Origin, Kong answers its ``admin_gui_url`` origin, else ``*``.
        """
        allow = origin if origin is not None else (self.origins[0] if self.origins else "*")
        headers = [("Access-Control-Allow-Origin", allow), ("Vary", "Origin")]
        if allow != "*":
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers


def _answer(status: int, message: str) -> Response:
    return _finish(json_response({"message": message}, status))


def _finish(resp: Response) -> Response:
    """What Flask's after-request hooks add to its own answers (none run here)."""
    resp.status = kong_status(resp.status_code)
    resp.headers["Server"] = SERVER
    return resp


def _without_server(start_response: Callable) -> Callable:
    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        kept = [(k, v) for k, v in headers if k.lower() != "server"]
        return start_response(status, kept, exc_info)
    return start


def _adding(start_response: Callable, extra: list[tuple[str, str]]) -> Callable:
    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        merged = [(k, v) for k, v in headers if k.lower() != "vary"]
        vary = [v for k, v in headers if k.lower() == "vary"]
        for name, value in extra:
            if name == "Vary":
                vary.append(value)
            else:
                merged.append((name, value))
        if vary:
            merged.append(("Vary", ", ".join(dict.fromkeys(vary))))
        return start_response(status, merged, exc_info)
    return start
