"""The ``services`` entity (Kong 3.9)."""
from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import urlsplit

from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.base import EntitySchema, conditional_null

_NO_PATH_PROTOCOLS = ("tcp", "tls", "udp", "grpc", "grpcs")
_TLS_PROTOCOLS = ("https", "tls")


def expand_url(value: Any) -> dict:
    """The write-only ``url`` shorthand: protocol, host, port and path in one string."""
    if not isinstance(value, str):
        raise ValueError("expected a string")
    parts = urlsplit(value)
    netloc = parts.netloc.rpartition("@")[2]
    host, port_text = netloc, None
    if netloc.startswith("["):
        end = netloc.find("]")
        host, rest = netloc[1:end], netloc[end + 1:]
        port_text = rest[1:] if rest.startswith(":") else None
    elif ":" in netloc:
        host, _, port_text = netloc.partition(":")
    port: Any = None
    if port_text:
        port = int(port_text) if port_text.isdigit() else port_text
    guessed = {80: "http", 443: "https"}.get(port) if isinstance(port, int) else None
    protocol = parts.scheme or guessed or "http"
    if port is None:
        port = {"http": 80, "https": 443}.get(protocol, 80)
    return {"protocol": protocol, "host": host or None, "port": port,
            "path": parts.path or None}


class ServiceSchema(EntitySchema):
    entity_name = "services"
    endpoint_key = "name"
    unique_fields = ("name",)
    shorthands = {"url": expand_url}

    id = t.uuid()
    created_at = t.auto_timestamp_s()
    updated_at = t.auto_timestamp_s()
    name = t.utf8_name()
    retries = t.integer(0, 32767, default=5)
    protocol = t.protocol(required=True, default="http")
    host = t.host(required=True)
    port = t.port(required=True, default=80)
    path = t.path()
    connect_timeout = t.timeout(default=60000)
    write_timeout = t.timeout(default=60000)
    read_timeout = t.timeout(default=60000)
    tags = t.tags()
    client_certificate = t.foreign("certificates")
    tls_verify = f.Boolean()
    tls_verify_depth = t.integer(0, 64, default=None)
    ca_certificates = f.Array(f.String(required=True, checks=[t.check_uuid],
                                       describe={"uuid": True}))
    enabled = f.Boolean(required=True, default=True)

    describe_checks = [
        {"conditional": {"if_field": "protocol",
                         "if_match": {"one_of": list(_NO_PATH_PROTOCOLS)},
                         "then_field": "path", "then_match": {"eq": None}}},
    ] + [
        {"conditional": {"if_field": "protocol",
                         "if_match": {"not_one_of": list(_TLS_PROTOCOLS)},
                         "then_field": name, "then_match": {"eq": None}}}
        for name in ("client_certificate", "tls_verify", "tls_verify_depth", "ca_certificates")
    ]

    def check_entity(self, data: dict, raw: Mapping, errors: dict) -> None:
        conditional_null(data, errors, "protocol", lambda p: p in _NO_PATH_PROTOCOLS, "path")
        for name in ("client_certificate", "tls_verify", "tls_verify_depth", "ca_certificates"):
            conditional_null(data, errors, "protocol",
                             lambda p: p not in _TLS_PROTOCOLS, name)
