"""Request bodies of the Admin API: what is read, and what is refused before
any schema sees it.

Kong reads ``application/json``, ``application/x-www-form-urlencoded`` and
``multipart/form-data`` on POST, PUT and PATCH; any other content type is
refused (415), a body its content type does not describe too (400
``Cannot parse JSON body``). JSON is read as Kong's lua-cjson reads it, and
what cjson refuses is refused here with the same answer: an empty body, a
lone UTF-16 surrogate (``"\\ud800"``, which no UTF-8 text can carry), a
document nested deeper than cjson's limit. We also refuse ``NaN``,
``Infinity`` and numbers too large for a double (cjson reads them, then
cannot write them back), and nest less deep than cjson allows: every
layer of the control plane (validation, the datastore, the Lua helper,
the snapshot) then handles what it is given without running out of stack.
Size limits (413) are the application's ``MAX_CONTENT_LENGTH``.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import request

from kongpy.errors import InvalidBody, UnsupportedBody
from kongpy.schemas import coerce

# Kong's Admin API nginx server: `nginx_admin_client_max_body_size = 10m`.
MAX_BODY_BYTES = 10 * 1024 * 1024
# cjson refuses more than 1000 levels; nothing Kong stores comes near ten.
MAX_DEPTH = 100
# Kong's Admin API reads at most this many query (or form) arguments and
# refuses a request with more (400 `Too many arguments`).
MAX_ARGS = 1000

CANNOT_PARSE_JSON = "Cannot parse JSON body"
CANNOT_PARSE_FORM = "Cannot parse form body"
UNSUPPORTED = "Unsupported media type"

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_SURROGATE = re.compile("[\ud800-\udfff]")


def read_body(target: Any) -> Any:
    """The body of a POST, PUT or PATCH as plain data, or a refusal.

    ``target`` is a DAO or an entity schema class (form values are coerced by it).
    """
    mimetype = request.mimetype or ""
    if mimetype == "application/json" or mimetype.endswith("+json"):
        return parse_json(request.get_data(cache=True))
    if mimetype in _FORM_TYPES:
        return _read_form(target)
    if mimetype or request.get_data(cache=True):
        # As Kong: a content type it does not read is refused even without
        # a body; no content type is fine as long as there is no body.
        raise UnsupportedBody(UNSUPPORTED)
    return {}


def _count_args(raw: bytes) -> int:
    return sum(1 for part in raw.split(b"&") if part)


def too_many_arguments() -> bool:
    """Whether the query string, or a form-encoded body, holds more than
    MAX_ARGS arguments (multipart and JSON bodies are not counted, as in Kong)."""
    if _count_args(request.query_string) > MAX_ARGS:
        return True
    if request.method in ("POST", "PUT", "PATCH") and \
            request.mimetype == "application/x-www-form-urlencoded":
        return _count_args(request.get_data(cache=True)) > MAX_ARGS
    return False


def parse_json(raw: bytes) -> Any:
    """``raw`` decoded, or :class:`InvalidBody` (``Cannot parse JSON body``)."""
    try:
        value = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite)
    except (ValueError, RecursionError):
        # ValueError covers bad JSON, bad UTF-8 and over-long integers.
        raise InvalidBody(CANNOT_PARSE_JSON) from None
    if not _acceptable(value):
        raise InvalidBody(CANNOT_PARSE_JSON)
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} does not fit a double")
    return value


def _acceptable(value: Any) -> bool:
    """No lone surrogate in any key or string, no nesting deeper than MAX_DEPTH.

    Iterative: the document may be as deep as the parser allowed.
    """
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                return False
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            return False
        if isinstance(node, dict):
            for key, item in node.items():
                if _SURROGATE.search(key):
                    return False
                stack.append((item, depth + 1))
        else:
            stack.extend((item, depth + 1) for item in node)
    return True


def _read_form(target: Any) -> dict:
    pairs = list(request.form.items(multi=True))
    pairs += [(k, v.read().decode("utf-8", "replace"))
              for k, v in request.files.items(multi=True)]
    for key, _value in pairs:
        # `a.b[c]` nests one level per separator: the same limit as JSON.
        if key.count(".") + key.count("[") >= MAX_DEPTH:
            raise InvalidBody(CANNOT_PARSE_FORM)
    schema = getattr(target, "schema", target)
    data = coerce.decode(pairs, schema.field_map())
    hook = getattr(schema, "coerce_form", None)
    return hook(data) if hook else data
