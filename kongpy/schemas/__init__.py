"""Entity schemas: the single source of truth for fields, defaults and validation.

Pure: imports only marshmallow, :mod:`kongpy.errors` and (for PEM checks,
kongpy/schemas/pem.py) the cryptography package; no I/O.
"""
from __future__ import annotations

from kongpy.schemas.base import EntitySchema
from kongpy.schemas.certificates import CaCertificateSchema, CertificateSchema, SniSchema
from kongpy.schemas.consumers import ConsumerSchema
from kongpy.schemas.keys import KeySchema, KeySetSchema
from kongpy.schemas.plugins import PluginSchema
from kongpy.schemas.routes import RouteSchema
from kongpy.schemas.services import ServiceSchema
from kongpy.schemas.targets import TargetSchema
from kongpy.schemas.upstreams import UpstreamSchema
from kongpy.schemas.vaults import VaultSchema

# Core entities in dependency order (parents before children). Later entities
# (consumers, plugins, upstreams, ...) and plugin-owned ones are appended here or
# registered at run time through :func:`register`.
CORE_ENTITIES: dict[str, type[EntitySchema]] = {
    "certificates": CertificateSchema,
    "snis": SniSchema,
    "ca_certificates": CaCertificateSchema,
    "vaults": VaultSchema,
    "services": ServiceSchema,
    "routes": RouteSchema,
    "consumers": ConsumerSchema,
    "plugins": PluginSchema,
    "upstreams": UpstreamSchema,
    "targets": TargetSchema,
    "key_sets": KeySetSchema,
    "keys": KeySchema,
}

_registry: dict[str, type[EntitySchema]] = dict(CORE_ENTITIES)


def register(schema: type[EntitySchema]) -> None:
    """Make an entity schema known (plugin-owned entities use this)."""
    _registry[schema.entity_name] = schema


def get(name: str) -> type[EntitySchema] | None:
    return _registry.get(name)


def all_entities() -> dict[str, type[EntitySchema]]:
    return dict(_registry)


__all__ = ["EntitySchema", "ServiceSchema", "RouteSchema", "ConsumerSchema",
           "PluginSchema", "UpstreamSchema", "TargetSchema", "CertificateSchema",
           "SniSchema", "CaCertificateSchema", "VaultSchema", "KeySetSchema", "KeySchema",
           "CORE_ENTITIES",
           "register", "get", "all_entities"]
