"""The vault references of the configuration, resolved for the local data plane.

The snapshot (and the file the prefix keeps) carries references only. Each
round that builds a snapshot also collects the references found in its
referenceable fields (certificates' PEM fields, plugin config fields Kong
marks ``referenceable``), resolves them from the environment the node was
started with and the datastore's ``/vaults`` entities (kongpy/secrets.py),
and pushes the result to the data plane's memory (``POST /secrets``,
docs/contracts.md §2) before the snapshot that needs it. Every document has
a new random ``id`` when its content changes; the data plane reports the id it
holds, so a restarted nginx gets the values again.
"""
from __future__ import annotations

import json
import logging
import os
import secrets as token
from typing import Any, Mapping

from kongpy import secrets
from kongpy.errors import DataPlaneError

log = logging.getLogger(__name__)


class SecretsPusher:
    def __init__(self, config: Mapping[str, Any], client: Any,
                 environ: Mapping[str, str] | None = None) -> None:
        self._config = config
        self._client = client
        self._environ = os.environ if environ is None else environ
        self._paths: dict[str, list] | None = None
        self._content: tuple | None = None
        self._body: bytes | None = None
        self.id: str | None = None

    def _plugin_paths(self, db: Any) -> dict[str, list]:
        if self._paths is None:
            self._paths = {name: secrets.referenceable_paths(plugin.spec.schema)
                           for name, plugin in getattr(db, "loaded_plugins", {}).items()}
        return self._paths

    def refresh(self, db: Any, model: Any) -> None:
        """Resolves the references of the model's rows (a new id when anything changed)."""
        body = {name: model.rows(name) for name in ("certificates", "plugins")}
        refs = secrets.references_in(body, self._plugin_paths(db))
        vaults = list(db.vaults.each()) if refs and hasattr(db, "vaults") else []
        resolver = secrets.Resolver(self._environ, vaults, self._config.get("vault_env_prefix"))
        values, reasons = resolver.resolve_all(sorted(refs))
        for ref, reason in reasons.items():
            log.error("vault reference %s cannot be resolved: %s", ref, reason)
        content = (tuple(sorted(values.items())), tuple(sorted(reasons.items())))
        if content == self._content or (not refs and self.id is None):
            self._content = content
            return
        self._content = content
        self.id = token.token_hex(16)
        self._body = json.dumps({"id": self.id, "values": values, "unresolved": reasons},
                                separators=(",", ":")).encode()

    def push(self, served_id: Any) -> bool:
        """Pushes the document unless the data plane holds it; False when it could not."""
        if self._body is None or served_id == self.id:
            return True
        try:
            result = self._client.push_secrets(self._body)
        except DataPlaneError as exc:
            log.warning("cannot push the resolved vault references: %s", exc)
            return False
        if not result.applied:
            log.error("data plane refused the resolved vault references: %s",
                      result.body.get("message"))
            return False
        return True
