"""The ``upstreams`` entity (Kong 3.9): a virtual host balanced over targets."""
from __future__ import annotations

import copy
from typing import Any, Mapping

from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.base import EntitySchema, entity_error

ALGORITHMS = ("consistent-hashing", "least-connections", "round-robin", "latency")
HASH_ON = ("none", "consumer", "ip", "header", "cookie", "path", "query_arg", "uri_capture")
CHECK_TYPES = ("tcp", "http", "https", "grpc", "grpcs")
# Algorithms that do not hash: choosing one clears the hash inputs.
_NO_HASH = ("least-connections", "latency")
# RFC 6265 token separators, refused in a cookie name.
_COOKIE_SEPARATORS = frozenset('()<>@,;:\\"/?={}[] \t')

ACTIVE_HEALTHY_STATUSES = [200, 302]
ACTIVE_UNHEALTHY_STATUSES = [429, 404, 500, 501, 502, 503, 504, 505]
PASSIVE_HEALTHY_STATUSES = [200, 201, 202, 203, 204, 205, 206, 207, 208, 226,
                            300, 301, 302, 303, 304, 305, 306, 307, 308]
PASSIVE_UNHEALTHY_STATUSES = [429, 500, 503]


def check_name(value: str) -> str | None:
    host, port, kind = t.split_host_port(value)
    if kind is None or not host:
        return "Invalid name; must be a valid hostname"
    if kind != "name":
        return "Invalid name; no ip addresses allowed"
    if port is not None:
        return "Invalid name; no port allowed"
    return None


def check_cookie_name(value: str) -> str | None:
    if any(ord(c) < 33 or ord(c) > 126 or c in _COOKIE_SEPARATORS for c in value):
        return ("contains one or more invalid characters. ASCII control characters "
                "(0-31;127), space, tab and the characters ()<>@,;:\\\"/?={}[] "
                "are not allowed.")
    return None


def _seconds(default: Any) -> f.Number:
    return f.Number(default=default, checks=[t.between(0, 65535)],
                    describe={"between": [0, 65535]})


def _counter() -> f.Integer:
    return t.integer(0, 255, default=0)


def _statuses(default: list) -> f.Array:
    return f.Array(t.integer(100, 999, required=True), default=default)


def _record(fields: Mapping[str, f.KongField]) -> f.Record:
    defaults = {name: copy.deepcopy(fld.kong_default) if fld.has_default else None
                for name, fld in fields.items()}
    return f.Record(fields, default=defaults)


def _active() -> f.Record:
    return _record({
        "type": t.string_one_of(CHECK_TYPES, default="http"),
        "timeout": _seconds(1),
        "concurrency": t.integer(1, 2 ** 31, default=10),
        "http_path": t.path(default="/"),
        "https_sni": f.String(checks=[t.check_sni]),
        "https_verify_certificate": f.Boolean(default=True),
        "headers": f.Map(f.String(checks=[t.check_header_name]), f.Array(f.String())),
        "healthy": _record({
            "interval": _seconds(0),
            "http_statuses": _statuses(ACTIVE_HEALTHY_STATUSES),
            "successes": _counter(),
        }),
        "unhealthy": _record({
            "interval": _seconds(0),
            "http_statuses": _statuses(ACTIVE_UNHEALTHY_STATUSES),
            "tcp_failures": _counter(),
            "timeouts": _counter(),
            "http_failures": _counter(),
        }),
    })


def _passive() -> f.Record:
    return _record({
        "type": t.string_one_of(CHECK_TYPES, default="http"),
        "healthy": _record({
            "http_statuses": _statuses(PASSIVE_HEALTHY_STATUSES),
            "successes": _counter(),
        }),
        "unhealthy": _record({
            "http_statuses": _statuses(PASSIVE_UNHEALTHY_STATUSES),
            "tcp_failures": _counter(),
            "timeouts": _counter(),
            "http_failures": _counter(),
        }),
    })


def _param() -> f.String:
    return f.String()


# (if_field, if_value, then_field) pairs: then_field is required.
_REQUIRED_WHEN = (
    ("hash_on", "header", "hash_on_header"),
    ("hash_fallback", "header", "hash_fallback_header"),
    ("hash_on", "cookie", "hash_on_cookie"),
    ("hash_fallback", "cookie", "hash_on_cookie"),
    ("hash_on", "query_arg", "hash_on_query_arg"),
    ("hash_fallback", "query_arg", "hash_fallback_query_arg"),
    ("hash_on", "uri_capture", "hash_on_uri_capture"),
    ("hash_fallback", "uri_capture", "hash_fallback_uri_capture"),
)
# hash_on value -> the hash_fallback values it allows (others: any).
_FALLBACK_ALLOWED = {
    "none": ("none",),
    "cookie": ("none",),
    "consumer": tuple(h for h in HASH_ON if h != "consumer"),
    "ip": tuple(h for h in HASH_ON if h != "ip"),
    "path": tuple(h for h in HASH_ON if h != "path"),
}
_DISTINCT = (("hash_on_header", "hash_fallback_header"),
             ("hash_on_query_arg", "hash_fallback_query_arg"),
             ("hash_on_uri_capture", "hash_fallback_uri_capture"))


class UpstreamSchema(EntitySchema):
    entity_name = "upstreams"
    endpoint_key = "name"
    unique_fields = ("name",)

    id = t.uuid()
    created_at = t.auto_timestamp_s()
    updated_at = t.auto_timestamp_s()
    name = f.String(required=True, checks=[check_name],
                    describe={"unique": True, "indexed": True})
    algorithm = t.string_one_of(ALGORITHMS, default="round-robin")
    hash_on = t.string_one_of(HASH_ON, default="none")
    hash_fallback = t.string_one_of(HASH_ON, default="none")
    hash_on_header = f.String(checks=[t.check_header_name])
    hash_fallback_header = f.String(checks=[t.check_header_name])
    hash_on_cookie = f.String(checks=[check_cookie_name])
    hash_on_cookie_path = t.path(default="/")
    hash_on_query_arg = _param()
    hash_fallback_query_arg = _param()
    hash_on_uri_capture = _param()
    hash_fallback_uri_capture = _param()
    slots = t.integer(10, 2 ** 16, default=10000)
    healthchecks = _record({
        "active": _active(),
        "passive": _passive(),
        "threshold": f.Number(default=0, checks=[t.between(0, 100)],
                              describe={"between": [0, 100]}),
    })
    tags = t.tags()
    host_header = f.String(checks=[t.check_host_with_optional_port])
    client_certificate = t.foreign("certificates")
    use_srv_name = f.Boolean(default=False)

    describe_checks = [
        {"conditional": {"if_field": a, "if_match": {"match": f"^{v}$"},
                         "then_field": b, "then_match": {"required": True}}}
        for a, v, b in _REQUIRED_WHEN
    ] + [
        {"conditional": {"if_field": "hash_on", "if_match": {"match": f"^{v}$"},
                         "then_field": "hash_fallback",
                         "then_match": {"one_of": list(allowed)}}}
        for v, allowed in _FALLBACK_ALLOWED.items()
    ] + [{"distinct": list(pair)} for pair in _DISTINCT]

    @classmethod
    def validate(cls, raw: Any) -> dict:
        if isinstance(raw, Mapping) and raw.get("healthchecks") is None:
            raw = dict(raw, healthchecks={})
        return super().validate(raw)

    def check_entity(self, data: dict, raw: Mapping, errors: dict) -> None:
        for if_field, value, then_field in _REQUIRED_WHEN:
            if if_field in errors or then_field in errors:
                continue
            if data.get(if_field) == value and data.get(then_field) is None:
                errors[then_field] = f.REQUIRED
                entity_error(errors, "failed conditional validation given value of "
                                     f"field '{if_field}'")
        hash_on, fallback = data.get("hash_on"), data.get("hash_fallback")
        allowed = _FALLBACK_ALLOWED.get(hash_on)
        if allowed and "hash_fallback" not in errors and fallback not in allowed:
            errors["hash_fallback"] = "expected one of: " + ", ".join(allowed)
            entity_error(errors, "failed conditional validation given value of "
                                 "field 'hash_on'")
        for a, b in _DISTINCT:
            if data.get(a) is not None and data.get(a) == data.get(b):
                entity_error(errors, f"values of these fields must be distinct: '{a}', '{b}'")

    @classmethod
    def on_write(cls, data: dict, supplied: Mapping) -> dict:
        """Kong's coupling of ``algorithm`` and ``hash_on``: hashing on something
        means consistent hashing, and an algorithm that does not hash clears
        the hash inputs."""
        if not isinstance(supplied, Mapping):
            return data
        if supplied.get("hash_on") not in (None, "none"):
            data["algorithm"] = "consistent-hashing"
        elif supplied.get("hash_on") == "none" and "algorithm" not in supplied \
                and data.get("algorithm") == "consistent-hashing":
            data["algorithm"] = "round-robin"
        if data.get("algorithm") in _NO_HASH:
            data["hash_on"] = "none"
            data["hash_fallback"] = "none"
        return data
