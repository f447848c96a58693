"""Vault references resolved on the node, from the environment it was started with.

Kong OSS's one vault is ``env``: ``{vault://env/my-secret}`` is the variable
``MY_SECRET`` (upper-cased, ``-`` as ``_``), ``config.prefix`` prepended
(``vault_env_prefix`` in kongpy.conf, a vault entity's ``config.prefix``, or
``?prefix=`` in the reference, the last winning), ``#2`` the ``_PREVIOUS``
variable, and a trailing ``/key`` a string field of a secret holding a flat
JSON object. ``{vault://<prefix>/...}`` goes through the ``/vaults`` entity
with that prefix.

Resolved values live only in memory: the caller (the sync loop, the conf
loader) hands them to the data plane through the control socket or keeps
them in the node's configuration object; nothing here writes them anywhere
and error messages never quote them.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from kongpy.schemas.references import is_reference, parse
from kongpy.schemas.vaults import VAULT_NAMES


class Resolver:
    """Resolves references against ``environ`` and the node's vault entities."""

    def __init__(self, environ: Mapping[str, str], vaults: Iterable[Mapping[str, Any]] = (),
                 env_prefix: str | None = None) -> None:
        self._environ = environ
        self._vaults = {v["prefix"]: v for v in vaults if isinstance(v.get("prefix"), str)}
        self._env_prefix = env_prefix

    def resolve(self, reference: str) -> str:
        """The secret; raises ValueError (a message without the secret)."""
        ref = parse(reference)
        if ref.name in VAULT_NAMES:
            kind, config = ref.name, {"prefix": self._env_prefix}
        elif ref.name in self._vaults:
            vault = self._vaults[ref.name]
            kind, config = vault.get("name"), dict(vault.get("config") or {})
        else:
            raise ValueError(f"vault not found ({ref.name}) [{reference}]")
        if kind != "env":
            raise ValueError(f"could not find vault ({kind}) [{reference}]")
        config.update({k: v for k, v in ref.config.items() if k == "prefix"})
        variable = (config.get("prefix") or "") + ref.resource
        variable = variable.replace("-", "_").upper()
        if ref.version == 2:
            variable += "_PREVIOUS"
        value = self._environ.get(variable)
        if value is None:
            raise ValueError(f"could not get value from external vault (no value found "
                             f"({ref.resource})) [{reference}]")
        if ref.key is None:
            return value
        try:
            doc = json.loads(value)
        except ValueError:
            raise ValueError(f"unable to json decode value [{reference}]") from None
        found = doc.get(ref.key) if isinstance(doc, dict) else None
        if not isinstance(found, str):
            raise ValueError(f"subfield {ref.key} not found in JSON secret [{reference}]")
        return found

    def resolve_all(self, references: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
        """(values, reasons): each reference resolved or the reason it was not."""
        values: dict[str, str] = {}
        reasons: dict[str, str] = {}
        for reference in references:
            try:
                values[reference] = self.resolve(reference)
            except ValueError as exc:
                reasons[reference] = str(exc)
        return values, reasons


# -- which references a configuration holds ---------------------------------------------

CERTIFICATE_FIELDS = ("cert", "key", "cert_alt", "key_alt")


def referenceable_paths(schema: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """Paths below ``config`` of a plugin schema (Kong's JSON form) whose
    strings are referenceable; ``*`` stands for any element of an array."""
    for item in schema.get("fields") or []:
        if "config" in item:
            return list(_paths(item["config"], ()))
    return []


def _paths(defn: Mapping[str, Any], at: tuple[str, ...]) -> Iterable[tuple[str, ...]]:
    kind = defn.get("type")
    if kind == "string" and defn.get("referenceable"):
        yield at
    elif kind == "record":
        for item in defn.get("fields") or []:
            for name, sub in item.items():
                yield from _paths(sub, at + (name,))
    elif kind in ("array", "set") and isinstance(defn.get("elements"), Mapping):
        yield from _paths(defn["elements"], at + ("*",))


def _at(value: Any, path: tuple[str, ...]) -> Iterable[Any]:
    if not path:
        yield value
    elif path[0] == "*" and isinstance(value, list):
        for item in value:
            yield from _at(item, path[1:])
    elif isinstance(value, Mapping):
        yield from _at(value.get(path[0]), path[1:])


def references_in(body: Mapping[str, Any], plugin_paths: Mapping[str, list]) -> set[str]:
    """Every reference in a referenceable field of a snapshot body: the
    certificates' PEM fields and the plugin configs' referenceable strings."""
    found: set[str] = set()
    for row in body.get("certificates") or []:
        found.update(row.get(n) for n in CERTIFICATE_FIELDS if is_reference(row.get(n)))
    for row in body.get("plugins") or []:
        for path in plugin_paths.get(row.get("name"), []):
            found.update(v for v in _at(row.get("config"), path) if is_reference(v))
    return found
