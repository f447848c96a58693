"""The GUI's WSGI application: the shipped pages under ``admin_gui_path``.

As Kong's ``kong_gui`` server: ``/kconfig.js`` tells the pages where the Admin
API is, ``/robots.txt`` keeps crawlers out, a file of the package is served as
is, and any other path gets ``index.html`` (the pages route themselves), with
``/__km_base__/`` replaced by the GUI's base path. The pages never reach the
datastore through this server: they call the Admin API like any client, so
its origin rules and tokens apply to them unchanged.
"""
from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from werkzeug.wrappers import Request, Response

from kongpy import guiconf

STATIC = Path(__file__).resolve().parent / "static"
BASE_MARK = "/__km_base__/"
ROBOTS = "User-agent: *\nDisallow: /\n"
_SECURITY_HEADERS = (("X-Frame-Options", "sameorigin"), ("X-Content-Type-Options", "nosniff"))
_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml"}


def _load_files(base: str) -> dict[str, tuple[bytes, str]]:
    """Every shipped file, read once: relative path → (body, content type)."""
    files = {}
    for path in sorted(STATIC.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        name = path.relative_to(STATIC).as_posix()
        kind = _TYPES.get(path.suffix) or mimetypes.guess_type(name)[0] \
            or "application/octet-stream"
        body = path.read_bytes()
        if path.suffix in (".html", ".js", ".css"):
            body = body.replace(BASE_MARK.encode(), base.encode())
        files[name] = (body, kind)
    return files


def kconfig_js(config: Mapping[str, Any]) -> str:
    values = guiconf.kconfig(config)
    lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in values.items()]
    return "window.K_CONFIG = {\n" + ",\n".join(lines) + "\n};\n"


class GuiApp:
    def __init__(self, config: Mapping[str, Any]) -> None:
        path = config.get("admin_gui_path") or guiconf.DEFAULT_PATH
        self.root = "" if path == "/" else path
        self.base = self.root + "/"
        self.files = _load_files(self.base)
        self.kconfig = kconfig_js(config).encode()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        return self.respond(Request(environ))(environ, start_response)

    def respond(self, request: Request) -> Response:
        resp = self._route(request)
        for name, value in _SECURITY_HEADERS:
            resp.headers[name] = value
        return resp

    def _route(self, request: Request) -> Response:
        path = request.path
        if self.root and path == self.root:
            return Response(status=301, headers={"Location": self.base})
        if not path.startswith(self.base):
            return Response("Not Found\n", status=404, mimetype="text/plain")
        if request.method not in ("GET", "HEAD"):
            return Response("Method Not Allowed\n", status=405, mimetype="text/plain",
                            headers={"Allow": "GET, HEAD"})
        name = path[len(self.base):]
        if name == "kconfig.js":
            return self._file(self.kconfig, _TYPES[".js"], cache=False)
        if name == "robots.txt":
            return self._file(ROBOTS.encode(), "text/plain; charset=utf-8", cache=True)
        if name in self.files and name != "index.html":
            body, kind = self.files[name]
            return self._file(body, kind, cache=False)
        body, kind = self.files["index.html"]
        return self._file(body, kind, cache=False)

    @staticmethod
    def _file(body: bytes, kind: str, cache: bool) -> Response:
        resp = Response(body, content_type=kind)
        # the pages change with the node's version: always revalidated
        resp.headers["Cache-Control"] = "public, max-age=3600" if cache else "no-cache"
        return resp


def create_app(config: Mapping[str, Any]) -> GuiApp:
    return GuiApp(config)
