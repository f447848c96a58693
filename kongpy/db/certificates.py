"""The DAOs of ``certificates`` and ``ca_certificates`` (Kong's dao overrides).

Certificates take the write-only ``snis`` shorthand (an array of names) on
insert, update and upsert: the certificate's SNI rows become exactly those
names. Kong checks the names, writes the certificate, then the SNIs one by
one (a bad name leaves the certificate stored); here the whole of it is one
``transaction()`` and every name is validated before anything is written,
so a bad SNI stores nothing. Reads through :meth:`with_snis` add the sorted
``snis`` names, as Kong's Admin API shows them; the rows themselves (and the
snapshot) keep Kong's shape without them.

A CA certificate that a service's ``ca_certificates`` names cannot be deleted.
"""
from __future__ import annotations

from typing import Any, Mapping

from kongpy.db.dao import DAO
from kongpy.errors import ForeignKeyViolation, ReferencedByOthers, SchemaViolation
from kongpy.schemas.typedefs import is_uuid

# Stands for the certificate's id while its SNI names are checked before it is written.
_ANY_ID = "00000000-0000-0000-0000-000000000000"


def parse_names(value: Any) -> list | None:
    """Kong's ``parse_name_list``: null clears, a list is checked for
    duplicates and sorted; anything else means "leave the SNIs alone"."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return None
    seen: list = []
    for name in value:
        if name in seen:
            raise SchemaViolation({"snis": f"{name} is duplicated"})
        seen.append(name)
    try:
        return sorted(seen)
    except TypeError:
        return seen


class CertificatesDAO(DAO):
    """``certificates`` with the ``snis`` shorthand."""

    @property
    def _snis(self) -> DAO:
        return self.db.daos["snis"]

    def names_for(self, cert_id: str) -> list[str]:
        return sorted(row["name"] for row in self._snis.each(certificate=cert_id))

    def with_snis(self, row: dict | None) -> dict | None:
        if row is not None:
            row = dict(row, snis=self.names_for(row["id"]))
        return row

    def insert(self, entity: Mapping[str, Any]) -> dict:
        self.check_writable("create")
        entity, names = self._split(entity)
        with self._strategy.transaction():
            self._check_new(names or [], None)
            self._check_names(names, entity)
            row = super().insert(entity)
            self._replace(row, names)
        return row

    def update(self, key: str, patch: Mapping[str, Any]) -> dict:
        self.check_writable("update", key)
        patch, names = self._split(patch)
        with self._strategy.transaction():
            current = self.select_by_key(key)
            self._check_new(names or [], current["id"] if current else None)
            self._check_names(names, None)
            row = super().update(key, patch)
            self._replace(row, names)
        return row

    def upsert(self, key: str, entity: Mapping[str, Any], transform: bool = True,
               checked: Mapping[str, Any] | None = None) -> dict:
        self.check_writable("create or update", key)
        entity, names = self._split(entity)
        if checked is not None:
            checked = self._split(checked)[0]
        cert_id = key if is_uuid(key) else None
        with self._strategy.transaction():
            self._check_new(names or [], cert_id)
            self._check_names(names, entity)
            row = super().upsert(key, entity, transform, checked)
            self._replace(row, names)
        return row

    def delete(self, key: str) -> bool:
        """Kong's certificates DAO deletes the certificate's SNIs with it (the
        snis schema itself declares no cascade)."""
        self.check_writable("remove", key)
        with self._strategy.transaction():
            current = self.select_by_key(key)
            if current is None:
                return False
            self._check_restricted(current["id"])
            for row in list(self._snis.each(certificate=current["id"])):
                self._snis.delete(row["id"])
            return super().delete(current["id"])

    # -- helpers -------------------------------------------------------------------------

    def _check_restricted(self, cert_id: str) -> None:
        """Refused before the SNIs go: on Cassandra each delete lands on its own."""
        for child in self.db.daos.values():
            for field, fdef in child.schema.foreign_fields().items():
                if fdef.reference == self.name and child.name != "snis" \
                        and fdef.on_delete == "restrict" and child.count(**{field: cert_id}):
                    raise ForeignKeyViolation.restricted(self.name, child.name)

    @staticmethod
    def _split(entity: Any) -> tuple[Any, list | None]:
        if not isinstance(entity, Mapping) or "snis" not in entity:
            return entity, None
        entity = dict(entity)
        return entity, parse_names(entity.pop("snis"))

    def _check_new(self, names: list, cert_id: str | None) -> None:
        """Kong's ``check_list_is_new``: a name already on another certificate."""
        for name in names:
            if not isinstance(name, str):
                continue
            row = self._snis.select_by("name", name)
            if row is not None and (row.get("certificate") or {}).get("id") != cert_id:
                owner = row["certificate"]["id"]
                raise SchemaViolation({"snis": f"{name} already associated with existing "
                                               f"certificate '{owner}'"})

    def _check_names(self, names: list | None, entity: Any) -> None:
        """Every name is validated before anything is written. A certificate
        that is itself invalid reports its own errors first, as in Kong
        (which writes the certificate before its SNIs)."""
        for name in names or []:
            try:
                self._snis.schema.validate({"name": name, "certificate": {"id": _ANY_ID}})
            except SchemaViolation:
                if entity is not None:
                    self.schema.validate(self._resolve_foreign(entity))
                raise

    def _replace(self, cert: dict, names: list | None) -> None:
        """The certificate's SNIs become ``names`` (None: unchanged)."""
        if names is None:
            cert["snis"] = self.names_for(cert["id"])
            return
        snis = self._snis
        current = {row["name"]: row for row in snis.each(certificate=cert["id"])}
        for name, row in current.items():
            if name not in names:
                snis.delete(row["id"])
        for name in names:
            if name not in current:
                snis.insert({"name": name, "certificate": {"id": cert["id"]}})
        cert["snis"] = list(names)


class CaCertificatesDAO(DAO):
    """``ca_certificates``: deleting one that a service names is refused."""

    def referenced_by(self, ca_id: str) -> tuple[str, dict] | None:
        """The first entity naming ``ca_id`` in its ``ca_certificates``."""
        services = self.db.daos.get("services")
        if services is None:
            return None
        for row in services.each():
            if ca_id in (row.get("ca_certificates") or []):
                return "services", row
        return None

    def delete(self, key: str) -> bool:
        self.check_writable("remove", key)
        with self._strategy.transaction():
            current = self.select_by_key(key)
            if current is not None:
                found = self.referenced_by(current["id"])
                if found is not None:
                    raise ReferencedByOthers(
                        f"ca certificate {current['id']} is still referenced by "
                        f"{found[0]} (id = {found[1]['id']})")
            return super().delete(key)


DAOS: dict[str, type[DAO]] = {
    "certificates": CertificatesDAO,
    "ca_certificates": CaCertificatesDAO,
}
