"""Declarative configuration text to a document: YAML or JSON, format version, migration.

Kong reads ``.json`` files as JSON and ``.yml``/``.yaml`` as YAML; text of
no known kind is tried as JSON, then YAML. ``_format_version`` "1.1" and
"2.1" documents are migrated on load as Kong's declarative migrations do:
route paths that are regexes in the old sense (a character outside the
unreserved set) get the ``~`` prefix 3.0 requires, and the document becomes
"3.0". Migration touches only routes at the top level and routes nested in
top-level services, as Kong's does.
"""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

import yaml

from kongpy.errors import KongpyError

FORMAT_VERSIONS = ("1.1", "2.1", "3.0")
PARSE_ERROR = "failed parsing declarative configuration: "
# Kong's plain (non-regex) path characters before 3.0.
_PLAIN_PATH = re.compile(r"^[a-zA-Z0-9.\-_~/%]*$")
_ESCAPE = re.compile(r"%([0-9a-fA-F]{2})")
_UNRESERVED = re.compile(r"[a-zA-Z0-9.\-_~]")


class ParseError(KongpyError, ValueError):
    """The text is not a declarative configuration (Kong's ``failed parsing`` error)."""


class _Loader(yaml.SafeLoader):
    """YAML without timestamps: a date stays the string it was written as,
    as Kong's YAML reader keeps it."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def parse_text(text: str, filename: str | None = None) -> Any:
    """The document in ``text``; ParseError when it is neither JSON nor YAML."""
    kind = _kind(filename)
    if kind == "json":
        return _json(text)
    if kind == "yaml":
        return _yaml(text)
    try:
        return _json(text)
    except ParseError:
        return _yaml(text)


def _kind(filename: str | None) -> str | None:
    name = (filename or "").lower()
    if name.endswith(".json"):
        return "json"
    if name.endswith((".yml", ".yaml")):
        return "yaml"
    return None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ParseError(f"{PARSE_ERROR}{exc}") from None


def _yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise ParseError(f"{PARSE_ERROR}{_yaml_reason(exc)}") from None


def _yaml_reason(exc: yaml.YAMLError) -> str:
    return " ".join(str(exc).split())


def migrate(doc: dict) -> dict:
    """A 1.1/2.1 document in the 3.0 form (``doc`` is left as it was)."""
    if doc.get("_format_version") not in ("1.1", "2.1"):
        return doc
    out = dict(doc)
    out["_format_version"] = "3.0"
    if isinstance(out.get("routes"), list):
        out["routes"] = [_migrate_route(r) for r in out["routes"]]
    if isinstance(out.get("services"), list):
        out["services"] = [_migrate_service(s) for s in out["services"]]
    return out


def _migrate_service(service: Any) -> Any:
    if not isinstance(service, dict) or not isinstance(service.get("routes"), list):
        return service
    return {**service, "routes": [_migrate_route(r) for r in service["routes"]]}


def _migrate_route(route: Any) -> Any:
    if not isinstance(route, dict) or not isinstance(route.get("paths"), list):
        return route
    return {**route, "paths": [migrate_path(p) if isinstance(p, str) else p
                               for p in route["paths"]]}


def migrate_path(path: str) -> str:
    """A pre-3.0 route path in its 3.0 form: regexes get ``~``, plain paths
    have their escaped unreserved characters decoded."""
    if path.startswith("~"):
        return path
    if not _PLAIN_PATH.match(path):
        return "~" + path
    return _ESCAPE.sub(_decode_unreserved, path)


def _decode_unreserved(match: re.Match) -> str:
    char = unquote(match.group(0))
    return char if _UNRESERVED.fullmatch(char) else match.group(0)
