"""``/consumers``, ``GET /consumers?custom_id=x`` and the plugins nested under a consumer."""
from __future__ import annotations

from flask import Blueprint, Response, request

from kongpy.admin.resources import (CollectionView, dao_for, json_response, register_entity,
                                    register_nested)


class ConsumerCollection(CollectionView):
    """Kong answers ``?custom_id=`` with the single match (or none), never paged."""

    extra_args = ("custom_id",)

    def get(self, **kwargs: str) -> Response:
        custom_id = request.args.get("custom_id")
        if custom_id is None:
            return super().get(**kwargs)
        row = dao_for("consumers").select_by("custom_id", custom_id)
        return json_response({"data": [row] if row else [], "next": None})


def blueprint() -> Blueprint:
    bp = Blueprint("consumers", __name__)
    bp.add_url_rule("/consumers", view_func=ConsumerCollection.as_view(
        "consumers_collection", "consumers"))
    register_entity(bp, "consumers", collection=False)
    register_nested(bp, "consumers", "plugins", "consumer")
    return bp
