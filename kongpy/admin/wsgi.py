"""WSGI entry point of the Admin API: `gunicorn kongpy.admin.wsgi:app`.

The node supervisor sets `KONGPY_PREFIX`; the app is built from the conf saved
in that prefix, so every worker sees exactly what the node was started with.
"""
from __future__ import annotations

import os
from typing import Any, Callable

from gunicorn.http import wsgi as gunicorn_wsgi

import kongpy
from kongpy import conf, paths
from kongpy.admin import create_app, rawtarget
from kongpy.sync.notify import notify
from kongpy.sync.push import ControlClient


def _quiet_server(default_headers: Callable) -> Callable:
    """gunicorn's own status-line block without its `Server` line."""
    def headers(self: Any) -> list[str]:
        return [h for h in default_headers(self) if not h.startswith("Server:")]
    return headers


def build_app(prefix: str):
    layout = paths.prefix(prefix)
    config = conf.load(str(layout.env_file), env={})
    if not conf.admin_headers(config)[0]:
        # `headers` turns Server off (Kong's answers then carry none)
        gunicorn_wsgi.Response.default_headers = _quiet_server(  # type: ignore[method-assign]
            gunicorn_wsgi.Response.default_headers)
    root = str(layout.root)
    client = ControlClient(str(layout.control_socket), timeout=5.0)
    app = create_app(config, node_id=paths.node_id(root),
                     on_change=lambda: notify(root), dataplane=client.status,
                     control=client)
    app.wsgi_app = rawtarget.RawPath(app.wsgi_app)  # type: ignore[method-assign]
    return app


# gunicorn announces itself in every response unless told otherwise; the Admin
# API answers as kongpy, the way Kong's answers as kong.
gunicorn_wsgi.SERVER = f"kongpy/{kongpy.__version__}"
# Raw UTF-8 request targets reach the application, as they reach Kong's.
rawtarget.accept_utf8_targets()

app = build_app(os.environ["KONGPY_PREFIX"])
