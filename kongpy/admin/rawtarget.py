"""Raw UTF-8 in the Admin API's request targets (``GET /routes/円``), under gunicorn.

Kong's server, nginx, accepts bytes 0x80-0xFF in a request target and
refuses controls; Kong then looks the entity up by the UTF-8 name. Two things
of gunicorn's stand in the way, both fixed at the WSGI entry point
(kongpy/admin/wsgi.py):

- gunicorn up to 26 accepted every byte; 27 refuses everything outside
  0x21-0x7E with an HTML 400 ("Invalid HTTP request line"), in its Python
  parser and after its C parser alike, and no setting changes that (the
  ``permit_unconventional_http_*`` settings are about the method and the
  version, ``casefold_http_method``, ``header_map`` and
  ``permit_obsolete_folding`` about others). :func:`accept_utf8_targets`
  narrows the check back to what RFC 9112 calls dangerous and nginx refuses:
  controls, space and DEL.
- gunicorn percent-decodes the target after encoding its (latin-1) text as
  UTF-8, so raw bytes reach ``PATH_INFO`` encoded twice (every version).
  PEP 3333 wants the bytes themselves as latin-1 text: :class:`RawPath` takes
  them again from ``RAW_URI``, the target as received.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterable
from urllib.parse import unquote_to_bytes, urlsplit

from gunicorn.http import message as gunicorn_message

# What nginx refuses in a request target: controls, space and DEL.
TARGET_REFUSED = re.compile(r"[\x00-\x20\x7f]")


def accept_utf8_targets(module: Any = gunicorn_message) -> bool:
    """Narrow gunicorn's request-target check; False when the running gunicorn
    has none (26 and earlier accept every byte)."""
    if getattr(module, "RFC9112_TARGET_INVALID", None) is None:
        return False
    module.RFC9112_TARGET_INVALID = TARGET_REFUSED
    return True


class RawPath:
    """WSGI middleware: ``PATH_INFO`` from the raw target when it holds bytes
    beyond ASCII."""

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        raw = environ.get("RAW_URI")
        if raw and not raw.isascii():
            environ["PATH_INFO"] = path_info(raw)
        return self.wsgi_app(environ, start_response)


def path_info(raw_target: str) -> str:
    """The percent-decoded path of a request target received as latin-1 text."""
    path = raw_target if raw_target.startswith("/") else urlsplit(raw_target).path
    path = path.partition("?")[0].partition("#")[0]
    return unquote_to_bytes(path.encode("latin-1")).decode("latin-1")
