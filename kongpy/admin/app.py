"""The Admin API application factory."""
from __future__ import annotations

import logging
import time
import uuid
from typing import Any, Callable, Mapping

from flask import Flask, Response, current_app, g, request
from flask.logging import wsgi_errors_stream
from werkzeug.exceptions import MethodNotAllowed, NotFound, RequestEntityTooLarge

import kongpy.conf
import kongpy.db
from kongpy.admin import (cache, certificates, config as config_api, consumers, errors, history,
                          info, keys, metrics, openapi, plugins, proxy_cache, routes,
                          schemas as schemas_api, services, tags, upstreams)
from kongpy.admin.body import MAX_BODY_BYTES, too_many_arguments
from kongpy.admin.guard import Guard
from kongpy.admin.resources import SERVER, json_response, kong_status, refuse_dbless_write
from kongpy.admin.tokens import TokenCache
from kongpy.db import admin_tokens

log = logging.getLogger(__name__)

_BLUEPRINTS = (info, services, routes, consumers, plugins, upstreams, certificates, keys,
               tags, schemas_api, openapi, config_api, history, proxy_cache, metrics, cache)


class _LogLines(logging.StreamHandler):
    """Flask's default log handler (``wsgi.errors`` during a request, else
    stderr), whose lines are always valid UTF-8: a message may quote what a
    client sent, and gunicorn's error stream refuses a lone surrogate."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).encode("utf-8", "backslashreplace").decode("utf-8")


def _install_logging(app: Flask) -> None:
    logger = logging.getLogger(app.name)
    if not any(isinstance(h, _LogLines) for h in logger.handlers):
        handler = _LogLines(wsgi_errors_stream)  # type: ignore[arg-type]
        handler.setFormatter(logging.Formatter(
            "[%(asctime)s] %(levelname)s in %(module)s: %(message)s"))
        logger.addHandler(handler)


class _TrailingSlash:
    """``/services/`` is ``/services``: strip one trailing slash before routing."""

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        path = environ.get("PATH_INFO") or "/"
        if len(path) > 1 and path.endswith("/"):
            environ["PATH_INFO"] = path.rstrip("/") or "/"
        return self.wsgi_app(environ, start_response)


def create_app(config: Mapping[str, Any], *, node_id: str | None = None,
               on_change: Callable[[], None] | None = None,
               dataplane: Callable[[], dict] | None = None,
               control: Any = None) -> Flask:
    """Build the Admin API for ``config`` (a mapping of kongpy.conf properties)."""
    app = Flask("kongpy.admin")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    # Larger bodies are refused (413) before they are read, form fields included.
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_BODY_BYTES
    _install_logging(app)
    node_id = node_id or str(config.get("node_id") or uuid.uuid4())
    db = kongpy.db.open(config, node_id=node_id)
    if db.database == "sqlite" and db.migrations.needs_bootstrap():
        # The embedded store bootstraps itself; server datastores need the CLI.
        log.info("bootstrapping the sqlite datastore at %s", config.get("sqlite_path"))
        db.migrations.bootstrap()
    app.extensions["kongpy"] = {"db": db, "config": config, "node_id": node_id,
                                "on_change": on_change, "dataplane": dataplane,
                                "control": control,
                                "latency_header": kongpy.conf.admin_headers(config)[1]}
    with app.app_context():  # plugin endpoints depend on the node's enabled plugins
        for module in _BLUEPRINTS:
            app.register_blueprint(module.blueprint())
    errors.install(app)
    app.before_request(_before)
    app.after_request(_after)
    app.after_request(history.record_after)
    tokens = None
    if (config.get("admin_auth") or "off") == "token":
        tokens = TokenCache(lambda: admin_tokens.holders(db.strategy))
    # The guard wraps everything: refusals happen before routing and the body.
    guard = Guard(_TrailingSlash(app.wsgi_app), config, tokens)
    app.wsgi_app = guard  # type: ignore[method-assign]
    return app


def _allowed_methods() -> list[str] | None:
    from flask import current_app
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        adapter.match(method="__none__")
    except MethodNotAllowed as exc:
        methods = set(exc.valid_methods or [])
        return sorted(methods | {"HEAD", "OPTIONS"})
    except NotFound:
        return None
    return None


def _before() -> Response | None:
    g.kongpy_started = time.monotonic()
    if (request.content_length or 0) > MAX_BODY_BYTES:
        # As nginx's client_max_body_size: whatever the method, path or type.
        raise RequestEntityTooLarge()
    refuse_dbless_write()
    if request.method != "OPTIONS":
        if request.endpoint is not None and too_many_arguments():
            return json_response({"message": "Too many arguments"}, 400)
        return None
    methods = _allowed_methods()
    if methods is None:
        return json_response({"message": "Not found"}, 404)
    resp = Response(status=204)
    allow = ", ".join(methods)
    resp.headers["Allow"] = allow
    resp.headers["Access-Control-Allow-Methods"] = allow
    resp.headers["Access-Control-Allow-Headers"] = (
        request.headers.get("Access-Control-Request-Headers") or "Content-Type")
    return resp


def _after(resp: Response) -> Response:
    if not resp.content_type or resp.content_type.startswith("text/html"):
        resp.content_type = "application/json; charset=utf-8"
    resp.status = kong_status(resp.status_code)
    # the Guard drops it again when `headers` turns Server off
    resp.headers["Server"] = SERVER
    started = getattr(g, "kongpy_started", None)
    if started is not None and current_app.extensions["kongpy"]["latency_header"]:
        resp.headers["X-Kong-Admin-Latency"] = str(int((time.monotonic() - started) * 1000))
    return resp
