"""Generic CRUD views for any entity (of kongpy.admin, imports only the body reader).

Blueprints (core or plugin ``api.py``) call :func:`register_entity`,
:func:`register_nested` and :func:`register_foreign` to get Kong's endpoints
for an entity. The application keeps its state in
``current_app.extensions["kongpy"]`` (a mapping with ``db`` and ``on_change``).
"""
from __future__ import annotations

import json
import logging
from typing import Any, Callable
from urllib.parse import parse_qsl, quote

from flask import Blueprint, Response, current_app, g, request
from flask.views import MethodView
from werkzeug.exceptions import NotFound as HTTPNotFound
from werkzeug.http import HTTP_STATUS_CODES

import kongpy
from kongpy.admin.body import read_body
from kongpy.db import paging
from kongpy.db.dao import DAO
from kongpy.errors import InvalidPrimaryKey
from kongpy.schemas.typedefs import is_uuid

log = logging.getLogger(__name__)

JSON_TYPE = "application/json; charset=utf-8"
SERVER = f"kongpy/{kongpy.__version__}"


# -- helpers shared with other Admin API modules -------------------------------------------

def state() -> dict:
    return current_app.extensions["kongpy"]


def dao_for(entity: str) -> DAO:
    return state()["db"].daos[entity]


def json_response(body: Any, status: int = 200) -> Response:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate has no UTF-8 form; JSON's escapes still carry it.
        data = json.dumps(body, separators=(",", ":")).encode("ascii")
    return Response(data, status=status, content_type=JSON_TYPE)


def kong_status(code: int) -> str:
    """Kong's status line ("201 Created"), not Werkzeug's upper-cased one."""
    return f"{code} {HTTP_STATUS_CODES.get(code, '')}".rstrip()


def no_content() -> Response:
    return Response(status=204)


def not_found() -> Response:
    return json_response({"message": "Not found"}, 404)


def changed() -> None:
    """Wake the sync loop after a successful write; its failures never fail the write.

    The request is also marked for the configuration history, recorded once
    per request when the answer leaves (kongpy/admin/history.py)."""
    g.kongpy_changed = True
    hook: Callable[[], None] | None = state().get("on_change")
    if hook is None:
        return
    try:
        hook()
    except Exception:  # noqa: BLE001 - the write is committed; only log
        log.exception("on_change hook failed")


_DBLESS_OPS = {"POST": "create", "PUT": "create or update", "PATCH": "update",
               "DELETE": "remove"}


def refuse_dbless_write() -> None:
    """On a DB-less node, Kong's 405 for an entity write, before any lookup
    (a missing entity included); the DAOs refuse whatever else writes."""
    op = _DBLESS_OPS.get(request.method)
    db = state()["db"]
    if op is None or not db.read_only or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    cls = getattr(view, "view_class", None)
    args = getattr(view, "entity_args", ())
    key = None
    if cls is None or not args:
        return
    if issubclass(cls, EntityView):
        key = (request.view_args or {}).get(args[0])
    elif issubclass(cls, ForeignView):
        args = args[2:]
    elif not (issubclass(cls, CollectionView) and op == "create"):
        return
    db.daos[args[0]].check_writable(op, key)


def page_body(rows: list, token: str | None, path: str, tagged: bool = True) -> dict:
    """A page as Kong answers it; ``tagged=False`` leaves the tags filter out
    of ``next`` (a collection that does not filter by tags)."""
    body: dict[str, Any] = {"data": rows, "next": None}
    if token:
        body["offset"] = token
        nxt = f"{path}?offset={quote(token, safe='')}"
        if request.args.get("size") is not None:
            nxt += f"&size={quote(request.args['size'], safe='')}"
        if tagged and request.args.get("tags") is not None:
            nxt += f"&tags={quote(request.args['tags'], safe='')}"
        body["next"] = nxt
    return body


def _raw_arg(name: str) -> bytes | None:
    """The first value of query argument ``name`` as the client's bytes
    (``request.args`` has replaced what is not UTF-8)."""
    for key, value in parse_qsl(request.query_string.decode("latin-1"),
                                keep_blank_values=True, encoding="latin-1"):
        if key == name:
            return value.encode("latin-1")
    return None


def tags_filter() -> tuple[list[str] | None, bool]:
    """The ``tags`` query argument as (tags, any of them), or (None, False)."""
    if "tags" not in request.args:
        return None, False
    return paging.parse_tags(request.args.get("tags"), _raw_arg("tags"))


def list_entities(dao: DAO, path: str, **fk: str) -> Response:
    tags, tags_any = tags_filter()
    if fk:
        # As Kong (#6779): a collection under a parent is filtered by its
        # parent alone; a tags filter is checked, then ignored.
        tags, tags_any = None, False
    rows, token = dao.page(request.args.get("size"), request.args.get("offset") or None,
                           tags=tags, tags_any=tags_any, **fk)
    return json_response(page_body(rows, token, path, tagged=not fk))


def _belongs(row: dict, fk_field: str, parent: dict) -> bool:
    ref = row.get(fk_field)
    return isinstance(ref, dict) and ref.get("id") == parent["id"]


# -- views -------------------------------------------------------------------------------

class _KongView(MethodView):
    """A view of one entity; its arguments stay readable on the view function
    (``entity_args``) for the OpenAPI document."""

    init_every_request = False

    @classmethod
    def as_view(cls, name: str, *class_args: Any, **class_kwargs: Any) -> Any:
        view = super().as_view(name, *class_args, **class_kwargs)
        view.entity_args = class_args  # type: ignore[attr-defined]
        return view


class CollectionView(_KongView):
    """``/{entity}`` and ``/{parent}/{key}/{entity}``."""

    # Query arguments a GET reads beyond size, offset and tags.
    extra_args: tuple[str, ...] = ()

    def __init__(self, entity: str, parent: str | None = None,
                 fk_field: str | None = None) -> None:
        self.entity, self.parent, self.fk_field = entity, parent, fk_field

    def _parent(self, kwargs: dict) -> dict | None:
        if not self.parent:
            return None
        row = dao_for(self.parent).select_by_key(kwargs[self.parent])
        if row is None:
            raise HTTPNotFound()
        return row

    def get(self, **kwargs: str) -> Response:
        parent = self._parent(kwargs)
        fk = {self.fk_field: parent["id"]} if parent else {}
        return list_entities(dao_for(self.entity), request.path, **fk)

    def post(self, **kwargs: str) -> Response:
        parent = self._parent(kwargs)
        dao = dao_for(self.entity)
        body = read_body(dao)
        if parent and isinstance(body, dict):
            body[self.fk_field] = {"id": parent["id"]}
        row = dao.insert(body)
        changed()
        return json_response(row, 201)


def _check_primary_key(entity: str, key: str) -> None:
    """Kong looks an entity without an endpoint key (ca_certificates) up by
    its primary key whatever the URL says, and its DAO refuses a key that is
    no UUID: 400 ``invalid primary key``, for every method, not a 404."""
    if not is_uuid(key) and not dao_for(entity).schema.endpoint_key:
        raise InvalidPrimaryKey({"id": "expected a valid UUID"})


class EntityView(_KongView):
    """``/{entity}/{key}`` and ``/{parent}/{pkey}/{entity}/{key}``."""

    def __init__(self, entity: str, parent: str | None = None,
                 fk_field: str | None = None) -> None:
        self.entity, self.parent, self.fk_field = entity, parent, fk_field

    def _scope(self, kwargs: dict, missing_ok: bool = False) -> tuple[dict | None, dict | None]:
        parent = None
        within = None
        for entity in filter(None, (self.parent, self.entity)):
            _check_primary_key(entity, kwargs[entity])
        if self.parent:
            parent = dao_for(self.parent).select_by_key(kwargs[self.parent])
            if parent is None:
                raise HTTPNotFound()
            within = {self.fk_field: {"id": parent["id"]}}
        row = dao_for(self.entity).select_by_key(kwargs[self.entity], within)
        if row is not None and parent is not None and not _belongs(row, self.fk_field, parent):
            raise HTTPNotFound()
        if row is None and not missing_ok:
            raise HTTPNotFound()
        return parent, row

    def get(self, **kwargs: str) -> Response:
        _parent, row = self._scope(kwargs)
        return json_response(row)

    def put(self, **kwargs: str) -> Response:
        parent, _row = self._scope(kwargs, missing_ok=True)
        dao = dao_for(self.entity)
        body = read_body(dao)
        if parent and isinstance(body, dict):
            body[self.fk_field] = {"id": parent["id"]}
        row = dao.upsert(kwargs[self.entity], body)
        changed()
        return json_response(row)

    def patch(self, **kwargs: str) -> Response:
        # Kong: a missing entity under a parent is a plain 404. The body is
        # the client's own, as on the flat path: ``{"service": null}``
        # detaches the plugin from the service it was found under.
        _parent, row = self._scope(kwargs, missing_ok=not self.parent)
        dao = dao_for(self.entity)
        row = dao.update(row["id"] if row else kwargs[self.entity], read_body(dao))
        changed()
        return json_response(row)

    def delete(self, **kwargs: str) -> Response:
        # Deleting what is not there is no error (204), except under a
        # parent, where Kong answers 404 as for any other method.
        _parent, row = self._scope(kwargs, missing_ok=not self.parent)
        if row is not None and dao_for(self.entity).delete(row["id"]):
            changed()
        return no_content()


class ForeignView(_KongView):
    """``/{child}/{key}/{fk}``: the parent an entity points at.

    DELETE is never allowed, but Kong says so (405) only when there is a
    parent to refuse to delete: a missing child or a null reference is 404.
    """

    def __init__(self, entity: str, fk_field: str, reference: str) -> None:
        self.entity, self.fk_field, self.reference = entity, fk_field, reference

    def _child(self, kwargs: dict) -> dict:
        row = dao_for(self.entity).select_by_key(kwargs[self.entity])
        if row is None:
            raise HTTPNotFound()
        return row

    def get(self, **kwargs: str) -> Response:
        ref = self._child(kwargs).get(self.fk_field)
        parent = dao_for(self.reference).select(ref["id"]) if ref else None
        return json_response(parent) if parent else not_found()

    def delete(self, **kwargs: str) -> Response:
        if not self._child(kwargs).get(self.fk_field):
            raise HTTPNotFound()
        return json_response({"message": "Method not allowed"}, 405)

    def patch(self, **kwargs: str) -> Response:
        ref = self._child(kwargs).get(self.fk_field)
        if not ref:
            raise HTTPNotFound()
        dao = dao_for(self.reference)
        row = dao.update(ref["id"], read_body(dao))
        changed()
        return json_response(row)

    def put(self, **kwargs: str) -> Response:
        child = self._child(kwargs)
        ref = child.get(self.fk_field)
        dao = dao_for(self.reference)
        body = read_body(dao)
        if ref:
            row = dao.upsert(ref["id"], body)
        else:
            db = state()["db"]
            with db.strategy.transaction():
                row = dao.insert(body)
                dao_for(self.entity).update(child["id"], {self.fk_field: {"id": row["id"]}})
        changed()
        return json_response(row)


# -- registration ------------------------------------------------------------------------

def register_entity(bp: Blueprint, entity: str, path: str | None = None,
                    collection: bool = True) -> None:
    """``/{path}`` (GET, POST) and ``/{path}/{key}`` (GET, PUT, PATCH, DELETE).

    ``path`` is the URL segment when it differs from the entity name
    (``/key-auths`` for ``keyauth_credentials``); ``collection=False`` leaves
    ``/{path}`` to a view of the caller's own.
    """
    path = path or entity
    if collection:
        bp.add_url_rule(f"/{path}", view_func=CollectionView.as_view(
            f"{path}_collection", entity))
    bp.add_url_rule(f"/{path}/<{entity}>", view_func=EntityView.as_view(
        f"{path}_entity", entity))


def register_nested(bp: Blueprint, parent: str, entity: str, fk_field: str,
                    path: str | None = None, parent_path: str | None = None) -> None:
    """``/{parent_path}/{pkey}/{path}`` and ``/{parent_path}/{pkey}/{path}/{key}``
    (``parent_path`` when the parent's URL segment is not its name: ``key-sets``)."""
    path = path or entity
    base = f"/{parent_path or parent}/<{parent}>/{path}"
    bp.add_url_rule(base, view_func=CollectionView.as_view(
        f"{parent}_{path}_collection", entity, parent, fk_field))
    bp.add_url_rule(f"{base}/<{entity}>", view_func=EntityView.as_view(
        f"{parent}_{path}_entity", entity, parent, fk_field))


def register_foreign(bp: Blueprint, entity: str, fk_field: str, reference: str,
                     path: str | None = None) -> None:
    """``/{path}/{key}/{fk_field}`` (GET, PUT, PATCH; DELETE refused)."""
    path = path or entity
    bp.add_url_rule(f"/{path}/<{entity}>/{fk_field}", view_func=ForeignView.as_view(
        f"{path}_{fk_field}_foreign", entity, fk_field, reference))
