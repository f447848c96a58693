"""JSON error handlers: one place that turns errors into Admin API answers."""
from __future__ import annotations

import logging

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from kongpy.admin.resources import BodyError, json_response
from kongpy.errors import DATABASE_ERROR, DaoError, DatastoreUnavailable

log = logging.getLogger(__name__)

UNEXPECTED = {"message": "An unexpected error occurred"}
_HTTP_MESSAGES = {404: "Not found", 405: "Method not allowed"}


def _dao_error(exc: DaoError) -> Response:
    if exc.code == DATABASE_ERROR:
        log.error("datastore error: %s", exc.message, exc_info=exc)
        return json_response(UNEXPECTED, 500)
    return json_response(exc.to_body(), exc.http_status)


def _unavailable(exc: DatastoreUnavailable) -> Response:
    log.warning("datastore unavailable: %s", exc.message)
    return json_response({"message": exc.message}, 503)


def _body_error(exc: BodyError) -> Response:
    if exc.status == 415:
        return Response(status=415)
    return json_response({"message": exc.message}, exc.status)


def _http_error(exc: HTTPException) -> Response:
    code = exc.code or 500
    if code == 415:
        return Response(status=415)
    message = _HTTP_MESSAGES.get(code) or exc.description or exc.name
    resp = json_response({"message": message}, code)
    valid = getattr(exc, "valid_methods", None)
    if code == 405 and valid:
        resp.headers["Allow"] = ", ".join(sorted(set(valid) | {"HEAD", "OPTIONS"}))
    return resp


def _unexpected(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    log.exception("unexpected error in the Admin API")
    return json_response(UNEXPECTED, 500)


def install(app: Flask) -> None:
    app.register_error_handler(DaoError, _dao_error)
    app.register_error_handler(DatastoreUnavailable, _unavailable)
    app.register_error_handler(BodyError, _body_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
