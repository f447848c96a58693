"""The proxy's TLS properties of kongpy.conf (``ssl_*``), typed and checked.

They mean what they mean in Kong 3.9: ``ssl_cipher_suite`` names one of
Mozilla's server-side TLS profiles (version 5.7), which sets the protocols,
the ciphers and whether the server's cipher order wins; only with ``custom``
do ``ssl_protocols``, ``ssl_ciphers`` and ``ssl_prefer_server_ciphers`` take
effect (Kong's conf loader overwrites them for the other suites, and its
kong.conf says so). ``ssl_cert``/``ssl_cert_key`` are lists of files, in
pairs (an RSA and an ECDSA certificate may both be given).
"""
from __future__ import annotations

import os
import re
from typing import Any, Mapping

from kongpy.errors import ConfigError

TYPES: dict[str, str] = {
    "ssl_cert": "list", "ssl_cert_key": "list",
    "status_ssl_cert": "list", "status_ssl_cert_key": "list",
    "ssl_prefer_server_ciphers": "bool", "ssl_session_tickets": "bool",
}
ENUMS: dict[str, tuple[str, ...]] = {
    "ssl_cipher_suite": ("modern", "intermediate", "old", "custom"),
}
SSL_PROTOCOLS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")

_INTERMEDIATE = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                 "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                 "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                 "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"
                 "DHE-RSA-CHACHA20-POLY1305")
# Kong's CIPHER_SUITES (kong/conf_loader/constants.lua): protocols, ciphers
# (None: the TLSv1.3 suites only, all safe) and ssl_prefer_server_ciphers.
CIPHER_SUITES: dict[str, dict[str, Any]] = {
    "modern": {"protocols": "TLSv1.3", "ciphers": None, "prefer_server_ciphers": False},
    "intermediate": {"protocols": "TLSv1.2 TLSv1.3", "ciphers": _INTERMEDIATE,
                     "prefer_server_ciphers": False},
    "old": {"protocols": "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3",
            "ciphers": _INTERMEDIATE + ":"
            "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:"
            "ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
            "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA256:"
            "DHE-RSA-AES256-SHA256:AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:"
            "AES256-SHA256:AES128-SHA:AES256-SHA:DES-CBC3-SHA",
            "prefer_server_ciphers": True},
}
# nginx time values (`1d`, `1h30m`, `600`) and sizes (`10m`, `512k`)
_TIME_RE = re.compile(r"^(\d+(ms|s|m|h|d|w|M|y)?)+$")
_SIZE_RE = re.compile(r"^\d+[kKmM]?$")


def check_pairs(values: dict[str, Any], prefix: str = "") -> None:
    """Kong's checks and messages (kong/conf_loader/parse.lua), for the files
    kongpy takes (a path each, made absolute): ``<prefix>ssl_cert`` and
    ``<prefix>ssl_cert_key`` (``status_`` for the Status API's)."""
    cert, key = f"{prefix}ssl_cert", f"{prefix}ssl_cert_key"
    certs, keys = values[cert] or [], values[key] or []
    if certs and not keys:
        raise ConfigError(f"{key} must be specified", prop=key)
    if keys and not certs:
        raise ConfigError(f"{cert} must be specified", prop=cert)
    if len(certs) != len(keys):
        raise ConfigError(f"{cert} was specified {len(certs)} times while {key} "
                          f"was specified {len(keys)} times", prop=cert)
    for name, what in ((cert, "certificate"), (key, "key")):
        if not values[name]:
            continue
        paths = [os.path.abspath(os.path.expanduser(p)) for p in values[name]]
        for given, path in zip(values[name], paths):
            if not os.path.isfile(path):
                raise ConfigError(f"{name}: failed loading {what} from {given}", prop=name)
        values[name] = paths


def check(values: dict[str, Any]) -> None:
    """Refuses ssl properties that could not be honoured; makes paths absolute."""
    check_pairs(values)
    check_pairs(values, "status_")
    protocols = (values["ssl_protocols"] or "").split()
    if not protocols or any(p not in SSL_PROTOCOLS for p in protocols):
        raise ConfigError.invalid("ssl_protocols", f"'{values['ssl_protocols']}' must list "
                                                   f"protocols among {' '.join(SSL_PROTOCOLS)}")
    if values["ssl_cipher_suite"] == "custom" and not values["ssl_ciphers"]:
        raise ConfigError.invalid("ssl_ciphers", "required when ssl_cipher_suite is custom")
    for name, pattern, example in (("ssl_session_timeout", _TIME_RE, "1d or 30m"),
                                   ("ssl_session_cache_size", _SIZE_RE, "10m or 512k")):
        value = values.get(name)
        if value is None or not pattern.match(value):
            raise ConfigError.invalid(name, f"'{value}' is not a value such as {example}")


def proxy_tls(values: Mapping[str, Any]) -> dict[str, Any]:
    """The directives of the TLS listeners, as Kong derives them from the suite."""
    suite = values["ssl_cipher_suite"]
    if suite == "custom":
        chosen = {"protocols": values["ssl_protocols"], "ciphers": values["ssl_ciphers"],
                  "prefer_server_ciphers": values["ssl_prefer_server_ciphers"]}
    else:
        chosen = CIPHER_SUITES[suite]
    return {
        "protocols": chosen["protocols"],
        "ciphers": chosen["ciphers"],
        "prefer_server_ciphers": "on" if chosen["prefer_server_ciphers"] else "off",
        "session_tickets": "on" if values["ssl_session_tickets"] else "off",
        "session_timeout": values["ssl_session_timeout"],
        "session_cache_size": values["ssl_session_cache_size"],
    }
