"""The web GUI's node properties: ``admin_gui_listen``, ``admin_gui_path``, ``admin_gui_api_url``.

Pure validation shared by conf loading, plus the two facts the rest of the
node derives from them: the origins the GUI's pages have (the Admin API lets
them call it when no ``admin_gui_url`` says otherwise) and the Admin API URL
the pages are told to call.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from kongpy import adminsec
from kongpy.errors import ConfigError

TYPES = {"admin_gui_listen": "listeners"}
DEFAULT_PATH = "/"
# Kong's messages (kong/conf_loader/init.lua), checked in Kong's order.
_PATH_CHECKS = (
    (lambda p: not p.startswith("/"), "admin_gui_path must start with a slash ('/')"),
    (lambda p: re.match(r"^/.+/$", p) is not None,
     "admin_gui_path must not end with a slash ('/')"),
    (lambda p: not re.fullmatch(r"[A-Za-z0-9_/-]*", p),
     "admin_gui_path can only contain letters, digits, hyphens ('-'), underscores ('_'), "
     "and slashes ('/')"),
    (lambda p: "//" in p, "admin_gui_path must not contain continuous slashes ('/')"),
)
# Kong's warning, for the same case
WITHOUT_API = ("Kong Manager won't be functional because the Admin API is not listened "
               "on any interface")
_WILDCARDS = ("0.0.0.0", "::", "*")
_API_URL_RE = re.compile(r"^(?:https?://)?(\[[0-9a-f:.]+\]|[^/?#@\s:\[\]]+)(?::\d{1,5})?"
                         r"(/[^?#\s]*)?$", re.IGNORECASE)


def check(values: dict[str, Any]) -> None:
    path = values.get("admin_gui_path") or DEFAULT_PATH
    for failed, message in _PATH_CHECKS:
        if failed(path):
            raise ConfigError(message, prop="admin_gui_path")
    values["admin_gui_path"] = path
    for listener in values.get("admin_gui_listen") or []:
        if listener["ssl"] or listener["http2"]:
            raise ConfigError.invalid("admin_gui_listen", "ssl and http2 are not available "
                                                          "yet on the GUI")
    api_url = values.get("admin_gui_api_url")
    if api_url and not _API_URL_RE.match(api_url.strip()):
        raise ConfigError.invalid("admin_gui_api_url", f"'{api_url}' is not a URL "
                                                       "([http(s)://]host[:port][/path])")


def served(config: Mapping[str, Any]) -> bool:
    """Whether the node serves its GUI: it listens, and has an Admin API to call."""
    return bool(config.get("admin_gui_listen")
                and (config.get("admin_listen") or config.get("admin_gui_api_url")))


def listen_origins(config: Mapping[str, Any]) -> list[str]:
    """``http://host:port`` of each ``admin_gui_listen`` address as a browser
    names it: a loopback or wildcard address by 127.0.0.1 and localhost."""
    entries = config.get("admin_gui_listen") or []
    if isinstance(entries, str):
        entries = [] if entries.strip().lower() == "off" else entries.split(",")
    found = []
    for host, port in adminsec.listen_addresses(entries):
        if host in _WILDCARDS or host in ("127.0.0.1", "localhost", "::1"):
            hosts = ["127.0.0.1", "localhost"] + (["[::1]"] if host in ("::", "::1") else [])
        else:
            hosts = [f"[{host}]" if ":" in host else host]
        found += [f"http://{h}:{port}" for h in hosts]
    return list(dict.fromkeys(found))


def kconfig(config: Mapping[str, Any]) -> dict[str, str]:
    """What ``/kconfig.js`` tells the pages, under Kong's names (strings,
    empty when unset)."""
    plain = [li for li in config.get("admin_listen") or [] if not li["ssl"]]
    tls = [li for li in config.get("admin_listen") or [] if li["ssl"]]
    return {
        "ADMIN_GUI_PATH": config.get("admin_gui_path") or DEFAULT_PATH,
        "ADMIN_API_URL": (config.get("admin_gui_api_url") or "").strip(),
        "ADMIN_API_PORT": str(plain[0]["port"]) if plain else "",
        "ADMIN_API_SSL_PORT": str(tls[0]["port"]) if tls else "",
        "ANONYMOUS_REPORTS": "false",
    }
