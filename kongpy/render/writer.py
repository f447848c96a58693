"""Prepare a prefix: render to temp files, `nginx -t`, swap atomically if changed.

A configuration that fails `nginx -t` never replaces the one in place, so a
running node is never left with a conf it cannot reload.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jinja2

from kongpy import paths
from kongpy.conf import Config
from kongpy.errors import NginxTestError, RenderError
from kongpy.render import context, stream, upstream_tls
from kongpy.render.env import environment

log = logging.getLogger(__name__)

MAIN_TEMPLATE = "nginx.conf.j2"
_NGINX_TEST_TIMEOUT = 60
_OPENSSL_TIMEOUT = 60


@dataclass(frozen=True)
class RenderResult:
    nginx_conf: Path
    nginx_conf_changed: bool
    settings_changed: bool

    @property
    def changed(self) -> bool:
        """Whether nginx must reload to apply the new files."""
        return self.nginx_conf_changed or self.settings_changed


def render_nginx_conf(config: Config, node_id: str | None = None,
                      settings_file: str | None = None,
                      templates: str | Path | None = None) -> str:
    """The nginx.conf text for `config` (nothing is written)."""
    node = node_id or paths.node_id(config["prefix"])
    ctx = context.template_context(config, node, settings_file)
    try:
        return environment(templates).get_template(MAIN_TEMPLATE).render(ctx)
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"template not found: {exc.name}") from None
    except jinja2.TemplateError as exc:
        raise RenderError(f"cannot render {MAIN_TEMPLATE}: {exc}") from None


def nginx_test(prefix: str | Path, conf_file: str | Path) -> None:
    """Runs `nginx -t` on `conf_file`; raises NginxTestError with nginx's words."""
    cmd = [paths.nginx_binary(), "-t", "-q", "-e", "stderr", "-p", f"{prefix}/",
           "-c", str(conf_file)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_NGINX_TEST_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NginxTestError(f"cannot run nginx -t: {exc}") from None
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines()
                 if "[emerg]" in ln or "[alert]" in ln or "[crit]" in ln or "error" in ln]
        detail = "\n".join(lines) or proc.stderr.strip() or f"exit code {proc.returncode}"
        raise NginxTestError(f"nginx configuration is invalid: {detail}")


_KEY_OPTIONS = {"rsa": ["rsa", "-pkeyopt", "rsa_keygen_bits:2048"],
                "ec": ["ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]}


def ensure_default_cert(config: Config) -> None:
    """Self-signed RSA and ECDSA pairs for the TLS listeners when `ssl_cert` is unset."""
    if config["ssl_cert"]:
        return
    for (kind, _, _), pair in zip(context.DEFAULT_PAIRS, context.ssl_files(config)):
        if not (os.path.isfile(pair["cert"]) and os.path.isfile(pair["key"])):
            _self_signed(kind, pair["cert"], pair["key"])


def _self_signed(kind: str, cert: str, key: str) -> None:
    cmd = ["openssl", "req", "-x509", "-nodes", "-newkey", *_KEY_OPTIONS[kind],
           "-sha256", "-days", "3650",
           "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
           "-keyout", key, "-out", cert]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_OPENSSL_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"cannot generate the default certificate: {exc}") from None
    if proc.returncode != 0:
        raise RenderError(f"cannot generate the default certificate: {proc.stderr.strip()}")
    os.chmod(key, 0o600)


def _copy_static(prefix: paths.Prefix) -> None:
    target = prefix.root / "mime.types"
    for source in (paths.nginx_dir() / "mime.types", Path("/etc/nginx/mime.types")):
        if source.is_file():
            if not target.is_file() or target.read_bytes() != source.read_bytes():
                shutil.copyfile(source, target)
            return


def _write_temp(directory: Path, name: str, text: str) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return Path(tmp)


def _make_temp_root(config: Config, node: str) -> None:
    """The workers' temp folder when they run as another user: reachable by
    their group only; nginx creates the folders inside, owned by the workers."""
    ids = context.worker_ids(config)
    streams = [context.stream_dir(config)] if config["stream_listen"] else []
    if ids is None:
        for folder in streams:
            folder.mkdir(mode=0o750, parents=True, exist_ok=True)
        return
    writes = context.write_socket_target(config)[0].parent
    for folder in (context.RUNTIME_ROOT, Path(context.temp_root(config, node)), writes,
                   *streams):
        folder.mkdir(mode=0o750, exist_ok=True)
        info = folder.stat()
        if info.st_uid != 0 or info.st_gid != ids[1]:
            os.chown(folder, 0, ids[1])


def _swap_if_changed(tmp: Path, target: Path) -> bool:
    try:
        same = target.read_text() == tmp.read_text()
    except OSError:
        same = False
    if same:
        return False
    os.replace(tmp, target)
    return True


def _settings_text(config: Config, node_id: str) -> str:
    return json.dumps(context.settings(config, node_id), indent=2, sort_keys=True) + "\n"


# Where a configuration nginx refused is kept (its errors cite this file).
REJECTED = "nginx.conf.rejected"


def prepare(config: Config, *, swap: bool = True, test: bool = True,
            templates: str | Path | None = None) -> RenderResult:
    """Renders the prefix of `config`; with `swap=False` only validates it."""
    stream.check_module(config)
    prefix = paths.prefix(config["prefix"])
    prefix.make_dirs()
    node = paths.node_id(prefix.root)
    _make_temp_root(config, node)
    ensure_default_cert(config)
    upstream_tls.write_bundle(
        upstream_tls.trusted_files(config["lua_ssl_trusted_certificate"]),
        Path(context.temp_root(config, node)))
    _copy_static(prefix)
    tmp_files: list[Path] = []
    try:
        tmp_dp = _write_temp(prefix.root, "settings.json", _settings_text(config, node))
        tmp_files.append(tmp_dp)
        # The tested conf points at the new settings.json, the installed one
        # at its final name: they differ only in that path.
        tested = render_nginx_conf(config, node, str(tmp_dp), templates)
        tmp_test = _write_temp(prefix.root, "nginx.conf.test", tested)
        tmp_files.append(tmp_test)
        if test:
            try:
                nginx_test(prefix.root, tmp_test)
            except NginxTestError as exc:
                # the message cites the file nginx read: keep it for the operator
                kept = prefix.root / REJECTED
                os.replace(tmp_test, kept)
                tmp_files.remove(tmp_test)
                raise NginxTestError(exc.message.replace(str(tmp_test), str(kept))) from None
        if not swap:
            return RenderResult(prefix.nginx_conf, False, False)
        final = _write_temp(prefix.root, "nginx.conf", render_nginx_conf(
            config, node, None, templates))
        tmp_files.append(final)
        dp_changed = _swap_if_changed(tmp_dp, prefix.settings_file)
        conf_changed = _swap_if_changed(final, prefix.nginx_conf)
    finally:
        for tmp in tmp_files:
            tmp.unlink(missing_ok=True)
    if conf_changed or dp_changed:
        log.info("prefix %s rendered (nginx.conf %s, settings.json %s)", prefix.root,
                 "changed" if conf_changed else "unchanged",
                 "changed" if dp_changed else "unchanged")
    return RenderResult(prefix.nginx_conf, conf_changed, dp_changed)
