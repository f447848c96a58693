"""The ``routes`` entity (Kong 3.9, traditional and traditional_compatible flavors)."""
from __future__ import annotations

import re
from typing import Mapping

from kongpy.schemas import expressions as expr, fields as f, pcre, typedefs as t
from kongpy.schemas.base import EntitySchema, entity_error, is_empty, quoted

PROTOCOL_SUBSETS = (("http", "https"), ("tcp", "tls", "udp"), ("tls_passthrough",),
                    ("grpc", "grpcs"))
_SNI_PROTOCOLS = ("grpcs", "https", "tls", "tls_passthrough")
_SNI_ERR = ("'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' "
            "or 'tls_passthrough'")
_HOST_HEADER = re.compile(r"^[Hh][Oo][Ss][Tt]$")
# RFC 3986 reserved characters plus "%" itself: their escapes are kept (hex
# upper-cased); every other escape is decoded, as the router decodes the request
# path it matches against (a route kept in escaped form could never match).
_RESERVED = frozenset(b"!*'();:@&=+$,/?%#[]")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


# -- element validators ------------------------------------------------------------

def check_route_host(value: str) -> str | None:
    if value.count("*") > 1:
        return "invalid wildcard: must have at most one wildcard"
    # the placement is the host's: a port may follow (`*.example.com:8000`, `example.*:80`)
    host = re.sub(r":\d+$", "", value) if not value.startswith("[") else value
    if "*" in value and not (host.startswith("*.") or host.endswith(".*")):
        return "invalid wildcard: must be placed at leftmost or rightmost label"
    return t.check_host_with_optional_port(value.replace("*", "abc"))


def check_buffered(value: bool) -> str | None:
    """The data plane buffers every proxied request and response: `false` would be
    accepted and ignored, so it is refused until unbuffered proxying exists."""
    return None if value else "unbuffered proxying is not supported; must be true"


def _decode_escapes(path: str) -> str:
    """Decodes every %-escape but those of reserved characters, which are
    upper-cased. Decoding works on bytes: `%C3%A9` is one character, `é`."""
    out, pos = bytearray(), 0
    for m in _ESCAPE.finditer(path):
        out += path[pos:m.start()].encode()
        byte = int(m.group(1), 16)
        out += m.group(0).upper().encode() if byte in _RESERVED else bytes((byte,))
        pos = m.end()
    out += path[pos:].encode()
    return out.decode(errors="replace")


def normalize_path(path: str) -> str:
    """Kong's normalisation of a plain route path: escapes decoded (reserved
    characters excepted), dot segments dropped."""
    decoded = _decode_escapes(path) if "%" in path else path
    out: list[str] = []
    segments = decoded.split("/")
    for idx, seg in enumerate(segments):
        last = idx == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
            continue
        if seg == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
            continue
        out.append(seg)
    return "/".join(out) or "/"


def check_router_path(value: str) -> str | None:
    if "//" in value:
        return "must not have empty segments"
    if not (value.startswith("/") or value.startswith("~/")):
        return "should start with: / (fixed path) or ~/ (regex path)"
    if not value.startswith("~"):
        err = t.check_percent_encoding(value)
        if err:
            return err
        normalized = normalize_path(value)
        if normalized != value:
            return f"non-normalized path, consider use '{normalized}' instead"
        return None
    regex = value[1:]
    err = pcre.compile_error(regex)
    if err:
        return f"invalid regex: '{regex}' (PCRE returned: {err})"
    return None


def check_not_host_header(value: str) -> str | None:
    if _HOST_HEADER.match(value):
        return "cannot contain 'host' header, which must be specified in the 'hosts' attribute"
    return None


# -- the schema ------------------------------------------------------------------------

class RouteSchema(EntitySchema):
    entity_name = "routes"
    endpoint_key = "name"
    unique_fields = ("name",)

    id = t.uuid()
    created_at = t.auto_timestamp_s()
    updated_at = t.auto_timestamp_s()
    name = t.utf8_name()
    protocols = t.protocols(required=True, default=["http", "https"],
                            describe={"len_min": 1, "mutually_exclusive_subsets":
                                      [list(s) for s in PROTOCOL_SUBSETS]})
    methods = t.methods()
    hosts = f.Array(f.String(required=True, checks=[check_route_host]))
    paths = f.Array(f.String(required=True, checks=[check_router_path]))
    headers = f.Map(t.header_name(check_not_host_header),
                    f.Array(f.String(required=True), required=True))
    https_redirect_status_code = f.Integer(
        required=True, default=426, checks=[t.one_of((426, 301, 302, 307, 308))],
        describe={"one_of": [426, 301, 302, 307, 308]})
    regex_priority = f.Integer(default=0)
    strip_path = f.Boolean(required=True, default=True)
    path_handling = t.string_one_of(("v0", "v1"), default="v0")
    preserve_host = f.Boolean(required=True, default=False)
    request_buffering = f.Boolean(required=True, default=True, checks=[check_buffered])
    response_buffering = f.Boolean(required=True, default=True, checks=[check_buffered])
    snis = t.snis()
    sources = t.ip_port_records()
    destinations = t.ip_port_records()
    tags = t.tags()
    service = t.foreign("services")

    describe_checks = [
        {"conditional": {"if_field": "protocols",
                         "if_match": {"elements": {"type": "string",
                                                   "not_one_of": list(_SNI_PROTOCOLS)}},
                         "then_field": "snis", "then_match": {"len_eq": 0},
                         "then_err": _SNI_ERR}},
    ]

    def check_entity(self, data: dict, raw: Mapping, errors: dict) -> None:
        protocols = data.get("protocols")
        if "protocols" in errors or not protocols:
            if protocols == [] and "protocols" not in errors:
                errors["protocols"] = "length must be at least 1"
            return
        if _check_subsets(protocols, errors):
            return
        if not any(p in _SNI_PROTOCOLS for p in protocols) and not is_empty(data.get("snis")) \
                and "snis" not in errors:
            errors["snis"] = "length must be 0"
            entity_error(errors, _SNI_ERR)
        self.check_match_fields(data, raw, errors)

    def check_match_fields(self, data: dict, raw: Mapping, errors: dict,
                           extra: tuple[str, ...] = ()) -> None:
        first = data["protocols"][0]
        if first in ("http", "https"):
            _check_http(data, raw, errors, extra)
        elif first in ("grpc", "grpcs"):
            _check_grpc(data, raw, errors, extra)
        else:
            _check_stream(data, raw, errors, extra)


def _check_subsets(protocols: list[str], errors: dict) -> bool:
    found = [s for s in PROTOCOL_SUBSETS if any(p in s for p in protocols)]
    if len(found) > 1:
        sets = ", ".join("(" + quoted(s) + ")" for s in found)
        errors["protocols"] = f"these sets are mutually exclusive: {sets}"
        return True
    return False


def _present(data: Mapping, raw: Mapping, errors: dict, name: str) -> bool:
    if name in errors:
        return not is_empty(raw.get(name))
    return not is_empty(data.get(name))


def _forbid(data: Mapping, raw: Mapping, errors: dict, names: tuple[str, ...], why: str) -> None:
    for name in names:
        if name not in errors and not is_empty(data.get(name)):
            errors[name] = f"cannot set '{name}' when 'protocols' is {why}"


def _at_least_one(data: Mapping, raw: Mapping, errors: dict, names: tuple[str, ...],
                  template: str) -> None:
    if not any(_present(data, raw, errors, n) for n in names):
        entity_error(errors, template % quoted(names))


def _check_http(data: dict, raw: Mapping, errors: dict, extra: tuple[str, ...] = ()) -> None:
    # Kong's expressions flavour accepts sources and destinations on http
    # routes; kongpy's HTTP router does not match on them, so every flavour
    # refuses them rather than ignore them
    _forbid(data, raw, errors, ("sources", "destinations"), "'http' or 'https'")
    if "https" in data["protocols"]:
        _at_least_one(data, raw, errors,
                      ("methods", "hosts", "headers", "paths", "snis") + extra,
                      "must set one of %s when 'protocols' is 'https'")
    else:
        _at_least_one(data, raw, errors, ("methods", "hosts", "headers", "paths") + extra,
                      "must set one of %s when 'protocols' is 'http'")


def _check_stream(data: dict, raw: Mapping, errors: dict, extra: tuple[str, ...] = ()) -> None:
    _forbid(data, raw, errors, ("methods", "hosts", "paths", "headers"),
            "'tcp', 'tls', 'tls_passthrough' or 'udp'")
    if data["protocols"] == ["tls_passthrough"]:
        if not any(_present(data, raw, errors, n) for n in ("snis",) + extra):
            entity_error(errors, "must set snis when 'protocols' is 'tls_passthrough'")
        return
    _at_least_one(data, raw, errors, ("sources", "destinations", "snis") + extra,
                  "must set one of %s when 'protocols' is 'tcp', 'tls' or 'udp'")


def _check_grpc(data: dict, raw: Mapping, errors: dict, extra: tuple[str, ...] = ()) -> None:
    # gRPC routes default to strip_path = false and may not enable it.
    if raw.get("strip_path") is None and "strip_path" not in errors:
        data["strip_path"] = False
    elif data.get("strip_path") is True:
        errors["strip_path"] = "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'"
    _forbid(data, raw, errors, ("methods", "sources", "destinations"), "'grpc' or 'grpcs'")
    if "grpcs" in data["protocols"]:
        _at_least_one(data, raw, errors, ("hosts", "headers", "paths", "snis") + extra,
                      "must set one of %s when 'protocols' is 'grpcs'")
    else:
        _at_least_one(data, raw, errors, ("hosts", "headers", "paths") + extra,
                      "must set one of %s when 'protocols' is 'grpc'")


# -- router_flavor = expressions ------------------------------------------------------

_MATCH_FIELDS = ("methods", "hosts", "paths", "headers", "snis", "sources", "destinations")
_MATCH_LIST = "'methods', 'hosts', 'paths', 'headers', 'snis', 'sources' or 'destinations'"


class ExpressionsRouteSchema(RouteSchema):
    """The routes of a node with ``router_flavor = expressions`` (kong-reference
    §10.1): a route either has an ``expression`` (and a ``priority``) or the
    traditional match fields, compiled as traditional_compatible."""

    expression = f.String()
    priority = t.integer(0, 2 ** 46 - 1, required=True, default=0)

    def check_match_fields(self, data: dict, raw: Mapping, errors: dict,
                           extra: tuple[str, ...] = ()) -> None:
        expression = data.get("expression")
        if "expression" in errors or not _present(data, raw, errors, "expression"):
            if data.get("priority") and any(_present(data, raw, errors, n)
                                            for n in _MATCH_FIELDS):
                entity_error(errors, expr.PREFIX + f"cannot set 'priority' with {_MATCH_LIST} "
                             "simultaneously")
                return
            super().check_match_fields(data, raw, errors, ("expression",))
            return
        if any(_present(data, raw, errors, n) for n in _MATCH_FIELDS):
            entity_error(errors, expr.PREFIX + f"cannot set 'expression' with {_MATCH_LIST} "
                         "simultaneously")
            return
        if data.get("regex_priority"):
            entity_error(errors, expr.PREFIX + "cannot set 'regex_priority' with 'expression' "
                         "simultaneously")
            return
        if data["protocols"][0] in ("grpc", "grpcs"):
            _check_grpc(data, raw, errors, ("expression",))
        message = expr.validate(expression, data["protocols"])
        if message:
            entity_error(errors, message)
