"""``/certificates`` (with their ``snis``), ``/snis``, ``/ca_certificates``, ``/vaults``.

As in Kong (kong/api/routes/certificates.lua), ``/certificates/{key}`` also
takes an SNI name for ``{key}``: it stands for the certificate that SNI
belongs to (``404 {"message": "SNI not found"}`` when no SNI has that name,
except on PUT, which then creates a certificate with a new id). A PUT by
name adds that name to the ``snis`` it is given; a PUT without ``snis``
leaves the certificate with no SNI (Kong's quirk, kept). Reads of a
certificate show its SNI names, sorted.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.exceptions import NotFound as HTTPNotFound

from kongpy.admin.body import read_body
from kongpy.admin.resources import (CollectionView, EntityView, changed, dao_for,
                                    json_response, no_content, page_body, register_entity,
                                    register_foreign, tags_filter)
from kongpy.schemas.typedefs import is_uuid

log = logging.getLogger(__name__)


def _sni_not_found() -> Response:
    return json_response({"message": "SNI not found"}, 404)


def _certificate_id(key: str, method: str) -> tuple[str | None, str | None]:
    """(certificate id, SNI name) for a URL key; id None when no SNI has that name."""
    if is_uuid(key):
        return key, None
    sni = dao_for("snis").select_by_key(key)
    if sni is not None:
        return sni["certificate"]["id"], key
    return (str(uuid.uuid4()) if method == "PUT" else None), key


def _snis_arg(body: Any, name: str | None, method: str) -> Any:
    """Kong's ``prepare_args``: the name of the URL joins a PUT's ``snis``."""
    if not isinstance(body, dict):
        return body
    snis = body.get("snis")
    if isinstance(snis, str):
        snis = [snis]
    if isinstance(snis, list) and name is not None and method == "PUT" and name not in snis:
        snis = snis + [name]
    if snis is None and method == "PUT":
        body["snis"] = None
    elif "snis" in body:
        body["snis"] = snis
    return body


class CertificateCollection(CollectionView):
    def get(self, **kwargs: str) -> Response:
        dao = dao_for("certificates")
        tags, tags_any = tags_filter()
        rows, token = dao.page(request.args.get("size"), request.args.get("offset") or None,
                               tags=tags, tags_any=tags_any)
        return json_response(page_body([dao.with_snis(r) for r in rows], token, request.path))


class CertificateView(EntityView):
    def _resolve(self, kwargs: dict) -> tuple[str | None, str | None]:
        cert_id, name = _certificate_id(kwargs["certificates"], request.method)
        return cert_id, name

    def get(self, **kwargs: str) -> Response:
        cert_id, name = self._resolve(kwargs)
        if cert_id is None:
            return _sni_not_found()
        row = dao_for("certificates").select(cert_id)
        if row is None:
            raise HTTPNotFound()
        return json_response(dao_for("certificates").with_snis(row))

    def put(self, **kwargs: str) -> Response:
        cert_id, name = self._resolve(kwargs)
        dao = dao_for("certificates")
        body = _snis_arg(read_body(dao), name, "PUT")
        row = dao.upsert(cert_id, body)
        changed()
        return json_response(row)

    def patch(self, **kwargs: str) -> Response:
        cert_id, name = self._resolve(kwargs)
        if cert_id is None:
            return _sni_not_found()
        dao = dao_for("certificates")
        row = dao.update(cert_id, _snis_arg(read_body(dao), name, "PATCH"))
        changed()
        return json_response(row)

    def delete(self, **kwargs: str) -> Response:
        cert_id, _name = self._resolve(kwargs)
        if cert_id is None:
            return _sni_not_found()
        if dao_for("certificates").delete(cert_id):
            changed()
        return no_content()


class _ByCertificate:
    """Nested SNI views: the parent certificate may be named by one of its SNIs."""

    def _parent(self, kwargs: dict) -> dict | None:  # CollectionView
        return self._certificate(kwargs)

    def _certificate(self, kwargs: dict) -> dict:
        cert_id, _name = _certificate_id(kwargs["certificates"], "GET")
        row = dao_for("certificates").select(cert_id) if cert_id else None
        if row is None:
            raise HTTPNotFound()
        kwargs["certificates"] = row["id"]
        return row


class CertificateSnis(_ByCertificate, CollectionView):
    pass


class CertificateSni(_ByCertificate, EntityView):
    def _scope(self, kwargs: dict, missing_ok: bool = False) -> tuple[dict | None, dict | None]:
        self._certificate(kwargs)
        return super()._scope(kwargs, missing_ok)


class CaCertificateView(EntityView):
    """Kong's Admin API refuses the delete with a plain message (400)."""

    def delete(self, **kwargs: str) -> Response:
        dao = dao_for("ca_certificates")
        row = dao.select_by_key(kwargs["ca_certificates"])
        if row is not None:
            found = dao.referenced_by(row["id"])
            if found is not None:
                message = (f"ca_certificate {row['id']} is still referenced by {found[0]} "
                           f"(id = {found[1]['id']})")
                log.info("%s", message)
                return json_response({"message": message}, 400)
        return super().delete(**kwargs)


def blueprint() -> Blueprint:
    bp = Blueprint("certificates", __name__)
    bp.add_url_rule("/certificates", view_func=CertificateCollection.as_view(
        "certificates_collection", "certificates"))
    bp.add_url_rule("/certificates/<certificates>", view_func=CertificateView.as_view(
        "certificates_entity", "certificates"))
    bp.add_url_rule("/certificates/<certificates>/snis", view_func=CertificateSnis.as_view(
        "certificates_snis_collection", "snis", "certificates", "certificate"))
    bp.add_url_rule("/certificates/<certificates>/snis/<snis>",
                    view_func=CertificateSni.as_view(
                        "certificates_snis_entity", "snis", "certificates", "certificate"))
    register_entity(bp, "snis")
    register_foreign(bp, "snis", "certificate", "certificates")
    bp.add_url_rule("/ca_certificates", view_func=CollectionView.as_view(
        "ca_certificates_collection", "ca_certificates"))
    bp.add_url_rule("/ca_certificates/<ca_certificates>", view_func=CaCertificateView.as_view(
        "ca_certificates_entity", "ca_certificates"))
    register_entity(bp, "vaults")
    for parent in ("services", "upstreams"):
        register_foreign(bp, parent, "client_certificate", "certificates")
    return bp
