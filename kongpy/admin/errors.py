"""The Admin API edge: every error becomes an HTTP answer here, and only here.

:func:`response_for` maps the :class:`~kongpy.errors.KongpyError` hierarchy
to statuses and bodies once: Kong's coded errors through :data:`HTTP_STATUS`,
the others by class. The Flask handlers and the WSGI guard (which answers
before Flask runs) both use it.
"""
from __future__ import annotations

import logging

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from kongpy import errors as e
from kongpy.admin.resources import json_response

log = logging.getLogger(__name__)

UNEXPECTED = {"message": "An unexpected error occurred"}
# Kong's wording of the statuses the HTTP layer may answer with itself
# (kong.response.error's defaults): a JSON body, never Werkzeug's HTML prose.
_HTTP_MESSAGES = {
    400: "Bad request", 404: "Not found", 405: "Method not allowed",
    408: "Request timeout", 411: "Length required", 412: "Precondition failed",
    413: "Payload too large", 414: "URI too long", 415: "Unsupported media type",
    416: "Range not satisfiable", 417: "Expectation failed",
    431: "Request header fields too large",
}

# Kong's error code -> HTTP status. Primary key violations answer 400 through
# the generated CRUD endpoints, as Kong's do.
HTTP_STATUS = {
    e.INVALID_PRIMARY_KEY: 400,
    e.SCHEMA_VIOLATION: 400,
    e.PRIMARY_KEY_VIOLATION: 400,
    e.FOREIGN_KEY_VIOLATION: 400,
    e.UNIQUE_VIOLATION: 409,
    e.NOT_FOUND: 404,
    e.INVALID_OFFSET: 400,
    e.DATABASE_ERROR: 500,
    e.INVALID_SIZE: 400,
    e.INVALID_UNIQUE: 400,
    e.INVALID_OPTIONS: 400,
    e.OPERATION_UNSUPPORTED: 405,
    e.FOREIGN_KEYS_UNRESOLVED: 400,
    e.DECLARATIVE_CONFIG: 400,
    e.REFERENCED_BY_OTHERS: 400,
}


NO_SCHEMA = ("the datastore holds no kongpy schema (reset, or never bootstrapped); "
             "run 'kongpy migrations bootstrap'")


def _schema_missing(exc: BaseException) -> bool:
    """Whether a datastore error says a table is missing (the datastore was
    reset under the node): SQLite's, PostgreSQL's (SQLSTATE 42P01) and
    Cassandra's own words for it."""
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) == "42P01" or getattr(cause, "pgcode", None) == "42P01":
        return True
    text = str(cause or exc).lower()
    return "no such table" in text or "unconfigured table" in text or (
        "keyspace" in text and "does not exist" in text)


def response_for(exc: e.KongpyError) -> Response:
    """The Admin API's answer to any error of the hierarchy."""
    if isinstance(exc, e.DaoError):
        if exc.code == e.DATABASE_ERROR and _schema_missing(exc):
            log.warning("datastore error: %s", exc.message)
            return json_response({"message": NO_SCHEMA}, 503)
        if exc.code == e.DATABASE_ERROR:
            log.error("datastore error: %s", exc.message, exc_info=exc)
            return json_response(UNEXPECTED, 500)
        return json_response(exc.to_body(), HTTP_STATUS[exc.code])
    if isinstance(exc, e.DatastoreUnavailable):
        log.warning("datastore unavailable: %s", exc.message)
        return json_response({"message": exc.message}, 503)
    if isinstance(exc, e.UnsupportedBody):
        return json_response({"message": exc.message}, 415)
    if isinstance(exc, e.RequestError):
        return json_response({"message": exc.message}, 400)
    # Configuration, rendering, migrations, signals that escaped the DAO: none
    # is the client's doing, and their details stay in the log.
    log.error("unexpected %s in the Admin API: %s", type(exc).__name__, exc, exc_info=exc)
    return json_response(UNEXPECTED, 500)


def _http_error(exc: HTTPException) -> Response:
    code = exc.code or 500
    if code >= 500:
        # Flask's own answer when a handler failed too (it has logged it).
        return json_response(UNEXPECTED, code)
    resp = json_response({"message": _HTTP_MESSAGES.get(code) or exc.name}, code)
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
    app.register_error_handler(e.KongpyError, response_for)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
