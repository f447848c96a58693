"""``/tags`` and ``/tags/{tag}`` (read only)."""
from __future__ import annotations

from flask import Blueprint, Response, request

from kongpy.admin.resources import json_response, page_body, state
from kongpy.errors import InvalidUnique
from kongpy.schemas.typedefs import check_tag

_PREFIX = b"/tags/"


def _list(tag: str | None) -> Response:
    rows, token = state()["db"].tags.page(request.args.get("size"),
                                          request.args.get("offset") or None, tag)
    return json_response(page_body(rows, token, request.path))


def _path_tag() -> str:
    """The tag as the path's bytes spell it, checked as Kong's tags DAO checks
    it (``invalid unique tag``, code 10). Werkzeug decodes the path with
    replacement characters, which would hide invalid UTF-8."""
    raw = (request.environ.get("PATH_INFO") or "").encode("latin-1", "replace")
    try:
        tag = raw[len(_PREFIX):].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidUnique("tag", "invalid utf-8 character sequence detected at "
                                   f"position {exc.start + 1}") from None
    err = check_tag(tag)
    if err:
        raise InvalidUnique("tag", err)
    return tag


def blueprint() -> Blueprint:
    bp = Blueprint("tags", __name__)
    bp.add_url_rule("/tags", "tags_collection", lambda: _list(None), methods=["GET"])
    bp.add_url_rule("/tags/<tags>", "tags_entity", lambda tags: _list(_path_tag()),
                    methods=["GET"])
    return bp
