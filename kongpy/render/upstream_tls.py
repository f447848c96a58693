"""Upstream TLS verification profiles (docs/upstream-tls.md).

nginx 1.22 takes `proxy_ssl_verify`, `proxy_ssl_trusted_certificate` and
`proxy_ssl_verify_depth` per location only, so every trust store and depth a
service may verify its upstream with is a location rendered into nginx.conf.
A profile is named by the key the data plane computes from a service
(lua/kongpy/upstream_tls.lua): ``<store>|<depth>``, where the store is
``global`` (``lua_ssl_trusted_certificate``) or the sorted, comma-joined
``cert_digest`` of the service's CA certificates.

The set of per-service stores comes from the configuration; it is kept in
``<prefix>/ssl/upstream_ca/profiles.json`` (with one PEM bundle per store) by
:func:`write_stores`, and the render reads that file, never the datastore.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

GLOBAL = "global"
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
COMBINED_NAME = "lua_ssl_trusted_certificate.pem"
STORES_DIR = "upstream_ca"
PROFILES_FILE = "profiles.json"
# keepalive blocks per worker for upstream TLS settings (distinct profile,
# SNI, client certificate); settings past the last get no keepalive
POOLS = 32


def trusted_files(values: Iterable[str] | None) -> list[str]:
    """``lua_ssl_trusted_certificate`` entries as files (``system`` is the
    system's CA bundle)."""
    return [SYSTEM_CA_BUNDLE if v == "system" else v for v in values or [] if v]


def bundle_path(files: list[str], folder: Path) -> Path | None:
    """The file nginx reads as ``lua_ssl_trusted_certificate``: the one file
    given, or one bundle of several in ``folder`` (as Kong's ``.ca_combined``);
    None when there is none. The workers read it: ``folder`` must be theirs."""
    if not files:
        return None
    return Path(files[0]) if len(files) == 1 else folder / COMBINED_NAME


def write_bundle(files: list[str], folder: Path) -> Path | None:
    """Writes the bundle :func:`bundle_path` names when there are several files."""
    target = bundle_path(files, folder)
    if target is None or len(files) == 1:
        return target
    parts = []
    for name in files:
        text = Path(name).read_text()
        parts.append(text if text.endswith("\n") else text + "\n")
    _write(target, "".join(parts))
    target.chmod(0o644)
    return target


def store_key(ca_rows: Iterable[Mapping[str, Any]]) -> str:
    return ",".join(sorted({row["cert_digest"] for row in ca_rows}))


def profile_key(store: str, depth: int) -> str:
    return f"{store}|{depth}"


def needed_stores(services: Iterable[Mapping[str, Any]],
                  ca_certificates: Iterable[Mapping[str, Any]],
                  default_depth: int) -> dict[str, tuple[str, int, list[str] | None]]:
    """profile key -> (store, depth, PEMs or None for the global store) for
    every service that verifies its upstream, plus the global store at the
    default depth."""
    by_id = {row["id"]: row for row in ca_certificates}
    found: dict[str, tuple[str, int, list[str] | None]] = {
        profile_key(GLOBAL, default_depth): (GLOBAL, default_depth, None)}
    for svc in services:
        if svc.get("tls_verify") is not True:
            continue
        depth = svc.get("tls_verify_depth")
        depth = default_depth if depth is None else depth
        ids = svc.get("ca_certificates")
        if ids is None:
            found[profile_key(GLOBAL, depth)] = (GLOBAL, depth, None)
            continue
        rows = [by_id[i] for i in ids if i in by_id]
        if not rows or len(rows) != len(ids):
            continue  # the data plane refuses such a service (fail closed)
        store = store_key(rows)
        pems = [r["cert"] for r in sorted(rows, key=lambda r: r["cert_digest"])]
        found[profile_key(store, depth)] = (store, depth, pems)
    return found


def write_stores(ssl_dir: Path, needed: Mapping[str, tuple[str, int, list[str] | None]],
                 default_depth: int) -> bool:
    """Writes the PEM bundles and the profile list; True when the profiles
    differ from those nginx was rendered with (it must reload to load them).
    Without a list nginx has the global store at the default depth."""
    folder = ssl_dir / STORES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for key in sorted(needed):
        store, depth, pems = needed[key]
        entry: dict[str, Any] = {"key": key, "store": store, "depth": depth}
        if pems is not None:
            name = hashlib.sha256(store.encode()).hexdigest() + ".pem"
            _write(folder / name, "".join(p if p.endswith("\n") else p + "\n" for p in pems))
            entry["file"] = name
        entries.append(entry)
    target = folder / PROFILES_FILE
    text = json.dumps(entries, indent=2) + "\n"
    try:
        before = {e["key"] for e in json.loads(target.read_text())}
    except (OSError, ValueError, KeyError, TypeError):
        before = {profile_key(GLOBAL, default_depth)}
    if not target.is_file() or target.read_text() != text:
        _write(target, text)
    return before != set(needed)


def profiles(ssl_dir: Path, global_file: str | None, default_depth: int) -> list[dict[str, Any]]:
    """The profile locations to render: {name, key, trusted_certificate, depth}."""
    listed = ssl_dir / STORES_DIR / PROFILES_FILE
    try:
        entries = json.loads(listed.read_text())
    except (OSError, ValueError):
        entries = [{"key": profile_key(GLOBAL, default_depth), "store": GLOBAL,
                    "depth": default_depth}]
    out = []
    for entry in entries:
        if entry["store"] == GLOBAL:
            trusted = global_file
        else:
            trusted = str(ssl_dir / STORES_DIR / entry["file"])
        if not trusted:
            continue  # no global store: such services are refused
        out.append({"name": f"kongpy_tls_{len(out) + 1}", "key": entry["key"],
                    "trusted_certificate": trusted, "depth": entry["depth"]})
    return out


def settings(profile_list: list[dict[str, Any]], default_depth: int, pools: int
             ) -> dict[str, Any]:
    """The data plane's ``upstream_tls`` settings."""
    return {"profiles": {p["key"]: p["name"] for p in profile_list},
            "verify_depth": default_depth, "pools": pools}


def _write(target: Path, text: str) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, target)
