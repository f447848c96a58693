"""``/tags`` and ``/tags/{tag}`` (read only)."""
from __future__ import annotations

from flask import Blueprint, Response, request

from kongpy.admin.resources import json_response, page_body, state


def _list(tag: str | None) -> Response:
    rows, token = state()["db"].tags.page(request.args.get("size"),
                                          request.args.get("offset") or None, tag)
    return json_response(page_body(rows, token, request.path))


def blueprint() -> Blueprint:
    bp = Blueprint("tags", __name__)
    bp.add_url_rule("/tags", "tags_collection", lambda: _list(None), methods=["GET"])
    bp.add_url_rule("/tags/<tags>", "tags_entity", lambda tags: _list(tags), methods=["GET"])
    return bp
