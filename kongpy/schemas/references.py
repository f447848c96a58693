"""Vault references, ``{vault://<vault>/<resource>[/<key>][?<config>][#<version>]}``.

The grammar of Kong's ``kong.vault.parse_reference`` (pure: no lookup here;
kongpy/secrets.py resolves). ``<vault>`` is a vault name (``env``) or the
``prefix`` of a ``/vaults`` entity; ``<key>`` picks a string field of a
secret holding a flat JSON object; ``?prefix=...`` overrides the vault's
config for this reference; ``#2`` asks for the previous version.
"""
from __future__ import annotations

from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit


class Reference(NamedTuple):
    name: str
    resource: str
    key: str | None
    version: int | None
    config: dict[str, str]


def is_reference(value: Any) -> bool:
    """Kong's shape test: a string ``{vault://...}``."""
    return (isinstance(value, str) and len(value) > 9 and value.startswith("{vault://")
            and value.endswith("}"))


def parse(reference: str) -> Reference:
    """The parts of a reference; raises ValueError with Kong's message."""
    if not is_reference(reference):
        raise ValueError(f"not a reference [{reference}]")
    try:
        url = urlsplit(reference[1:-1])
    except ValueError as exc:
        raise ValueError(f"reference is not url ({exc}) [{reference}]") from None
    if not url.netloc:
        raise ValueError(f"reference url is missing host [{reference}]")
    name = url.netloc
    resource = url.path[1:]
    if resource == "":
        raise ValueError(f"reference url has empty path [{reference}]")
    version = None
    if url.fragment:
        if not url.fragment.isdigit():
            raise ValueError(f"reference url has invalid version [{reference}]")
        version = int(url.fragment)
    parts = resource.split("/")
    key = None
    if len(parts) > 1:
        key = unquote(parts[-1]) or None
        resource = "/".join(parts[:-1])
    return Reference(name, unquote(resource), key, version, dict(parse_qsl(url.query)))
