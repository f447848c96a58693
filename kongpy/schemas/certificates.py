"""``certificates``, ``snis`` and ``ca_certificates`` (Kong 3.9).

A certificate's ``cert``/``key``/``cert_alt``/``key_alt`` are referenceable:
a vault reference (``{vault://env/TLS_KEY}``) is stored as given and its PEM
checks are skipped, as Kong skips them (only the node can resolve it). An
entity check whose inputs include a reference does not run either.
"""
from __future__ import annotations

import time
from typing import Any, Mapping

from kongpy.schemas import fields as f, pem, typedefs as t
from kongpy.schemas.base import EntitySchema, entity_error, quoted
from kongpy.schemas.references import is_reference

_ALT = ("cert_alt", "key_alt")
SAME_TYPE = ("certificate and alternative certificate need to have different type "
             "(e.g. RSA and ECDSA), the provided certificates were both of the same type")


def _skip_reference(check: f.Check) -> f.Check:
    return lambda value: None if is_reference(value) else check(value)


def certificate_field(**kw: Any) -> f.String:
    """Kong's ``typedefs.certificate { referenceable = true }``."""
    return f.String(checks=[_skip_reference(pem.check_certificate)],
                    describe={"referenceable": True}, **kw)


def key_field(**kw: Any) -> f.String:
    """Kong's ``typedefs.key { referenceable = true, encrypted = true }``."""
    return f.String(checks=[_skip_reference(pem.check_key)],
                    describe={"referenceable": True, "encrypted": True}, **kw)


def _pem_values(data: Mapping, errors: Mapping, names: tuple[str, ...]) -> list | None:
    """The values of ``names`` when each is a valid, non-reference PEM."""
    values = [data.get(n) for n in names]
    if any(n in errors for n in names) or not all(isinstance(v, str) for v in values) \
            or any(is_reference(v) for v in values):
        return None
    return values


class CertificateSchema(EntitySchema):
    entity_name = "certificates"

    id = t.uuid()
    created_at = t.auto_timestamp_s()
    updated_at = t.auto_timestamp_s()
    cert = certificate_field(required=True)
    key = key_field(required=True)
    cert_alt = certificate_field()
    key_alt = key_field()
    tags = t.tags()

    describe_checks = [
        {"mutually_required": list(_ALT)},
        {"custom_entity_check": {"field_sources": ["cert", "key"]}},
        {"custom_entity_check": {"field_sources": ["cert_alt", "key_alt"]}},
        {"custom_entity_check": {"field_sources": ["cert", "cert_alt"]}},
    ]

    def check_entity(self, data: dict, raw: Mapping, errors: dict) -> None:
        if not any(n in errors for n in _ALT) \
                and (data.get("cert_alt") is None) != (data.get("key_alt") is None):
            entity_error(errors, f"all or none of these fields must be set: {quoted(_ALT)}")
        pair = _pem_values(data, errors, ("cert", "key"))
        if pair and not pem.matches(*pair):
            entity_error(errors, "certificate does not match key")
        pair = _pem_values(data, errors, _ALT)
        if pair and not pem.matches(*pair):
            entity_error(errors, "alternative certificate does not match key")
        pair = _pem_values(data, errors, ("cert", "cert_alt"))
        if pair and pem.key_type(pair[0]) == pem.key_type(pair[1]):
            entity_error(errors, SAME_TYPE)


def check_wildcard_host(value: str) -> str | None:
    """Kong's ``typedefs.wildcard_host``: one ``*``, first or last character."""
    idx = value.find("*")
    if idx < 0:
        return t.check_host(value)
    if idx not in (0, len(value) - 1):
        return "wildcard must be leftmost or rightmost character"
    if value.find("*", idx + 1) >= 0:
        return "only one wildcard must be specified"
    return t.check_host(value.replace("*", "wildcard"))


def sni_name(**kw: Any) -> f.String:
    return f.String(checks=[check_wildcard_host],
                    describe={"unique": True, "indexed": True}, **kw)


class SniSchema(EntitySchema):
    entity_name = "snis"
    endpoint_key = "name"
    unique_fields = ("name",)

    id = t.uuid()
    name = sni_name(required=True)
    created_at = t.auto_timestamp_s()
    updated_at = t.auto_timestamp_s()
    tags = t.tags()
    certificate = t.foreign("certificates", required=True)


class CaCertificateSchema(EntitySchema):
    entity_name = "ca_certificates"
    unique_fields = ("cert_digest",)

    id = t.uuid()
    created_at = t.auto_timestamp_s()
    updated_at = t.auto_timestamp_s()
    cert = f.String(required=True, checks=[pem.check_certificate])
    cert_digest = f.String(describe={"unique": True})
    tags = t.tags()

    describe_checks = [{"custom_entity_check": {"field_sources": ["cert"]}}]

    def check_entity(self, data: dict, raw: Mapping, errors: dict) -> None:
        cert = data.get("cert")
        if "cert" in errors or not isinstance(cert, str):
            return
        if pem.count_certificates(cert) > 1:
            entity_error(errors, "please submit only one certificate at a time")
        elif pem.expired(cert, time.time()):
            entity_error(errors, 'certificate expired, "Not After" time is in the past')
        elif not pem.is_ca(cert):
            entity_error(errors, "certificate does not appear to be a CA because it is "
                                 'missing the "CA" basic constraint')

    @classmethod
    def on_write(cls, data: dict, supplied: Mapping) -> dict:
        data["cert_digest"] = pem.digest(data["cert"])
        return data
