"""A Kong 0.x configuration as a ``_format_version: "3.0"`` declarative document.

The input is what a 0.x Admin API returns: an object with ``apis``,
``consumers``, ``plugins`` and the credential collections, each as the list
body (``{"data": [...]}``) or a plain list. A YAML/JSON dump of the same
shape may nest an API's ``plugins`` in the API and a consumer's
credentials and plugins in the consumer.

Kong removed the API entity in 1.0 without migrating it (operators had to
recreate their APIs as services and routes before upgrading); the mapping
follows the correspondence between the API's fields and the service's and
route's:

- an API becomes a service (the API's id, ``upstream_url`` as its URL,
  ``retries``, ``upstream_{connect,send,read}_timeout`` as
  ``{connect,write,read}_timeout``) and one route of the same name
  (``hosts``, ``uris`` as ``paths`` with ``~`` on regexes, ``methods``,
  ``strip_uri`` as ``strip_path``, ``preserve_host``); the 0.9 fields
  ``request_host``/``request_path``/``strip_request_path`` likewise;
- ``https_only`` makes the route ``https`` only (plain HTTP is answered
  426, as 0.x answered); ``http_if_terminated`` has no route field: Kong 1.x+
  trusts ``X-Forwarded-Proto`` from ``trusted_ips`` only, which is reported;
- a plugin on an API goes on its route; plugin fields Kong renamed are
  renamed (acl and ip-restriction ``whitelist``/``blacklist`` →
  ``allow``/``deny``, rate limiting ``redis_*`` → the ``redis`` record,
  ``continue_on_error`` → ``fault_tolerant``), an empty ``anonymous`` is
  dropped (1.x wants a consumer or nothing);
- consumers and their credentials keep their ids; stored values are
  carried as stored (``_transform: false``: 0.x returns basic-auth
  passwords already hashed as SHA1(password .. consumer_id), Kong's hash to
  this day); 0.x millisecond ``created_at`` become seconds.

Whatever has no place in the result (an unknown field, a plugin this node
does not have, a reference to nothing) is listed in ``Result.unmapped`` and
in the document's ``_comment``: nothing is dropped silently.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from kongpy.declarative.load import migrate_path
from kongpy.errors import KongpyError

# A credential table, by each name a 0.x dump may give it.
CREDENTIALS = {
    "keyauth_credentials": ("keyauth_credentials", "key-auths", "key-auth", "keyauth"),
    "basicauth_credentials": ("basicauth_credentials", "basic-auths", "basic-auth",
                              "basicauth"),
    "hmacauth_credentials": ("hmacauth_credentials", "hmac-auths", "hmac-auth", "hmacauth"),
    "jwt_secrets": ("jwt_secrets", "jwts", "jwt"),
    "acls": ("acls", "acl"),
}
CREDENTIAL_FIELDS = {
    "keyauth_credentials": ("key",),
    "basicauth_credentials": ("username", "password"),
    "hmacauth_credentials": ("username", "secret"),
    "jwt_secrets": ("key", "secret", "rsa_public_key", "algorithm"),
    "acls": ("group",),
}
# API field -> service field
_SERVICE_FIELDS = {
    "retries": "retries",
    "upstream_connect_timeout": "connect_timeout",
    "upstream_send_timeout": "write_timeout",
    "upstream_read_timeout": "read_timeout",
}
_API_HANDLED = {"id", "name", "created_at", "upstream_url", "hosts", "uris", "methods",
                "strip_uri", "preserve_host", "https_only", "http_if_terminated",
                "request_host", "request_path", "strip_request_path", *_SERVICE_FIELDS}
_REDIS = {"redis_host": "host", "redis_port": "port", "redis_password": "password",
          "redis_timeout": "timeout", "redis_database": "database"}
_RENAMES: dict[str, dict[str, str]] = {
    "acl": {"whitelist": "allow", "blacklist": "deny"},
    "ip-restriction": {"whitelist": "allow", "blacklist": "deny"},
    "rate-limiting": {"continue_on_error": "fault_tolerant"},
    "response-ratelimiting": {"continue_on_error": "fault_tolerant"},
}
_NAME_CHARS = re.compile(r"[^A-Za-z0-9.\-_~]")


class MigrationError(KongpyError, ValueError):
    """The input is not a Kong 0.x configuration."""


@dataclass
class Result:
    doc: dict
    unmapped: list[str] = field(default_factory=list)


# plugin name -> the names its 3.x ``config`` accepts; None when unknown to the node
PluginFields = Callable[[str], "set[str] | None"]


def migrate(source: Any, plugin_fields: PluginFields) -> Result:
    if not isinstance(source, Mapping):
        raise MigrationError("expected an object with 'apis', 'consumers', 'plugins' "
                             "and credential lists")
    return _Migration(plugin_fields).run(source)


class _Migration:
    def __init__(self, plugin_fields: PluginFields) -> None:
        self.plugin_fields = plugin_fields
        self.unmapped: list[str] = []
        self.routes: dict[str, str] = {}  # api id or name -> route name
        self.consumers: set[str] = set()
        self.out: dict[str, list] = {"services": [], "consumers": [], "plugins": []}

    def run(self, source: Mapping) -> Result:
        aliases = {alias: table for table, names in CREDENTIALS.items() for alias in names}
        for key in source:
            if key not in ("apis", "consumers", "plugins") and key not in aliases:
                self.unmapped.append(f"{key}: a collection the migration does not read")
        plugins = [(p, None) for p in _items(source.get("plugins"), "plugins")]
        for api in _items(source.get("apis"), "apis"):
            plugins += [(p, api) for p in self.api(api)]
        creds = []
        for consumer in _items(source.get("consumers"), "consumers"):
            nested, consumer_plugins = self.consumer(consumer, aliases)
            creds += nested
            plugins += [(dict(p, consumer_id=consumer.get("id")), None)
                        for p in consumer_plugins]
        for alias, table in aliases.items():
            creds += [(table, c) for c in _items(source.get(alias), alias)]
        for table, cred in creds:
            self.credential(table, cred)
        for plugin, api in plugins:
            self.plugin(plugin, api)
        doc: dict[str, Any] = {"_format_version": "3.0", "_transform": False}
        if self.unmapped:
            doc["_comment"] = ("migrated from Kong 0.x; not carried over:\n"
                               + "\n".join(self.unmapped))
        doc.update({k: v for k, v in self.out.items() if v})
        return Result(doc, self.unmapped)

    # -- apis -----------------------------------------------------------------

    def api(self, api: Any) -> list:
        if not isinstance(api, Mapping):
            self.unmapped.append(f"apis: {api!r} is not an API object")
            return []
        name = api.get("name") or api.get("request_host") or api.get("request_path")
        where = f"apis[{name or api.get('id')}]"
        if not api.get("upstream_url"):
            self.unmapped.append(f"{where}: no upstream_url; the API is not carried over")
            return []
        route: dict[str, Any] = {}
        service: dict[str, Any] = {"id": api["id"]} if api.get("id") else {}
        if name:
            clean = _NAME_CHARS.sub("-", str(name).strip("/")) or "root"
            if clean != name and api.get("name"):  # a 0.9 default name is no loss
                self.unmapped.append(f"{where}.name: {name!r} is not a valid 3.x name; "
                                     f"named {clean!r}")
            service["name"] = route["name"] = clean
        service["url"] = api["upstream_url"]
        _created(api, service)
        for old, new in _SERVICE_FIELDS.items():
            if api.get(old) is not None:
                service[new] = api[old]
        hosts = _list(api.get("hosts")) + _list(api.get("request_host"))
        paths = [migrate_path(p) for p in _list(api.get("uris")) + _list(api.get("request_path"))
                 if isinstance(p, str)]
        methods = _list(api.get("methods"))
        for key, value in (("hosts", hosts), ("paths", paths), ("methods", methods)):
            if value:
                route[key] = value
        if api.get("strip_uri") is not None:
            route["strip_path"] = bool(api["strip_uri"])
        elif api.get("strip_request_path") is not None:
            route["strip_path"] = bool(api["strip_request_path"])
        elif "request_host" in api or "request_path" in api:
            route["strip_path"] = False  # 0.9's default
        else:
            route["strip_path"] = True  # 0.10+'s default
        route["preserve_host"] = bool(api.get("preserve_host"))
        if api.get("https_only"):
            route["protocols"] = ["https"]
            route["https_redirect_status_code"] = 426
            if api.get("http_if_terminated"):
                self.unmapped.append(
                    f"{where}.http_if_terminated: X-Forwarded-Proto is trusted only from "
                    "trusted_ips in Kong 1.x and later; set trusted_ips in kongpy.conf")
        else:
            route["protocols"] = ["http", "https"]
        for key in api:
            if key not in _API_HANDLED and key != "plugins":
                self.unmapped.append(f"{where}.{key}: no 3.x field")
        service["routes"] = [route]
        self.out["services"].append(service)
        ref = route.get("name")
        if ref is None:  # an unnamed route: give it the API's id so plugins can name it
            ref = route["id"] = api.get("id")
        for key in ("id", "name"):
            if api.get(key) and ref:
                self.routes[str(api[key])] = ref
        return _items(api.get("plugins"), f"{where}.plugins")

    # -- consumers and credentials -------------------------------------------

    def consumer(self, consumer: Any, aliases: Mapping[str, str]) -> tuple[list, list]:
        if not isinstance(consumer, Mapping):
            self.unmapped.append(f"consumers: {consumer!r} is not a consumer object")
            return [], []
        where = f"consumers[{consumer.get('username') or consumer.get('id')}]"
        out = {k: consumer[k] for k in ("id", "username", "custom_id")
               if consumer.get(k) is not None}
        _created(consumer, out)
        nested = []
        for key, value in consumer.items():
            if key in aliases:
                for cred in _items(value, f"{where}.{key}"):
                    cred = dict(cred, consumer_id=consumer.get("id")) \
                        if isinstance(cred, Mapping) else cred
                    nested.append((aliases[key], cred))
            elif key not in ("id", "username", "custom_id", "created_at", "plugins"):
                self.unmapped.append(f"{where}.{key}: no 3.x field")
        if consumer.get("id"):
            self.consumers.add(str(consumer["id"]))
        self.out["consumers"].append(out)
        return nested, _items(consumer.get("plugins"), f"{where}.plugins")

    def credential(self, table: str, cred: Any) -> None:
        if not isinstance(cred, Mapping):
            self.unmapped.append(f"{table}: {cred!r} is not a credential object")
            return
        where = f"{table}[{cred.get('id')}]"
        consumer = cred.get("consumer_id")
        if str(consumer) not in self.consumers:
            self.unmapped.append(f"{where}: consumer_id {consumer!r} names no consumer "
                                 "of the input; not carried over")
            return
        out: dict[str, Any] = {"consumer": str(consumer)}
        if cred.get("id"):
            out["id"] = cred["id"]
        _created(cred, out)
        for key, value in cred.items():
            if key in CREDENTIAL_FIELDS[table]:
                if value is not None:
                    out[key] = value
            elif key not in ("id", "consumer_id", "created_at"):
                self.unmapped.append(f"{where}.{key}: no 3.x field")
        self.out.setdefault(table, []).append(out)

    # -- plugins ---------------------------------------------------------------

    def plugin(self, plugin: Any, api: Mapping | None) -> None:
        if not isinstance(plugin, Mapping):
            self.unmapped.append(f"plugins: {plugin!r} is not a plugin object")
            return
        name = plugin.get("name")
        where = f"plugins[{plugin.get('id') or name}]"
        known = self.plugin_fields(name) if isinstance(name, str) else None
        if known is None:
            self.unmapped.append(f"{where}: plugin {name!r} is not available on this node; "
                                 "not carried over")
            return
        if not isinstance(plugin.get("config") or {}, Mapping):
            self.unmapped.append(f"{where}.config: not an object; not carried over")
            return
        out: dict[str, Any] = {"name": name}
        if plugin.get("id"):
            out["id"] = plugin["id"]
        _created(plugin, out)
        api_ref = plugin.get("api_id") or (api and (api.get("id") or api.get("name")))
        if api_ref:
            route = self.routes.get(str(api_ref))
            if route is None:
                self.unmapped.append(f"{where}: api_id {api_ref!r} names no API of the "
                                     "input; not carried over")
                return
            out["route"] = route
        if plugin.get("consumer_id"):
            if str(plugin["consumer_id"]) not in self.consumers:
                self.unmapped.append(f"{where}: consumer_id {plugin['consumer_id']!r} "
                                     "names no consumer of the input; not carried over")
                return
            out["consumer"] = str(plugin["consumer_id"])
        if plugin.get("enabled") is not None:
            out["enabled"] = bool(plugin["enabled"])
        out["config"] = self.config(name, plugin.get("config") or {}, known, where)
        for key in plugin:
            if key not in ("id", "name", "created_at", "api_id", "consumer_id", "enabled",
                           "config"):
                self.unmapped.append(f"{where}.{key}: no 3.x field")
        self.out["plugins"].append(out)

    def config(self, name: str, config: Mapping, known: set[str], where: str) -> dict:
        out: dict[str, Any] = {}
        renames = _RENAMES.get(name, {})
        for key, value in config.items():
            if value is None or (key == "anonymous" and value == ""):
                continue  # 0.x's "no value"; 1.x+ wants the field absent
            if key in _REDIS and "redis" in known:
                out.setdefault("redis", {})[_REDIS[key]] = value
                continue
            new = renames.get(key, key)
            if new in known:
                out[new] = value
            else:
                self.unmapped.append(f"{where}.config.{key}: no 3.x field of {name}")
        return out


def _items(value: Any, key: str) -> list:
    if isinstance(value, Mapping) and "data" in value:
        value = value["data"]
    if value is None:
        return []
    if not isinstance(value, list):
        raise MigrationError(f"'{key}': expected a list or a {{\"data\": [...]}} body")
    return value


def _list(value: Any) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, str):  # 0.x form bodies kept comma-separated strings
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _created(source: Mapping, out: dict) -> None:
    value = source.get("created_at")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out["created_at"] = int(value // 1000) if value > 10 ** 11 else int(value)


def plugin_fields(db: Any) -> PluginFields:
    """What a datastore's enabled plugins accept in ``config`` (shorthands included)."""
    from kongpy.schemas import lua as lua_schema

    registry = db.daos["plugins"].schema.registry

    def fields(name: str) -> set[str] | None:
        spec = registry.get(name)
        if spec is None:
            return None
        config = lua_schema.config_json(spec.schema)
        items = (config.get("fields") or []) + (config.get("shorthand_fields") or [])
        return {key for item in items for key in item}
    return fields
