"""``/consumers``, ``GET /consumers?custom_id=x`` and the plugins nested under a consumer."""
from __future__ import annotations

from flask import Blueprint, Response, request

from kongpy.admin.resources import (CollectionView, dao_for, json_response, register_entity,
                                    register_nested)


class ConsumerCollection(CollectionView):
    """Kong answers ``?custom_id=x`` with the single match (or none), never paged."""

    extra_args = ("custom_id",)

    def get(self, **kwargs: str) -> Response:
        values = request.args.getlist("custom_id")
        if not values:
            return super().get(**kwargs)
        custom_id = values[0]
        # Kong: an empty value (or several: a table, not a string) is refused
        if len(values) > 1 or custom_id == "":
            return json_response({"message": "custom_id must be an unempty string"}, 400)
        row = dao_for("consumers").select_by("custom_id", custom_id)
        return json_response({"data": [row] if row else [], "next": None})


def blueprint() -> Blueprint:
    bp = Blueprint("consumers", __name__)
    bp.add_url_rule("/consumers", view_func=ConsumerCollection.as_view(
        "consumers_collection", "consumers"))
    register_entity(bp, "consumers", collection=False)
    register_nested(bp, "consumers", "plugins", "consumer")
    return bp
