"""A real nginx data plane in a temp prefix, driven over its control socket."""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jinja2

from kongpy import sslconf
from kongpy.render import context as render_context
from kongpy.sync import snapshot as sync_snapshot
from kongpy.sync.push import UnixHTTPConnection, write_token
from tests.helpers.servers import free_port

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


# the ssl_* properties' defaults (templates/kongpy.conf.default)
SSL_DEFAULTS = {"ssl_cipher_suite": "intermediate", "ssl_protocols": "TLSv1.2 TLSv1.3",
                "ssl_ciphers": None, "ssl_prefer_server_ciphers": True,
                "ssl_session_tickets": True, "ssl_session_timeout": "1d",
                "ssl_session_cache_size": "10m"}


def settings(prefix: Path, **overrides: Any) -> dict[str, Any]:
    data = {
        "kong_version": "3.9.1",
        "kongpy_version": "0.1.0",
        "node_id": "6d0e6d3a-6f4b-4c0a-9f56-0d7c3f1c2a11",
        "prefix": str(prefix),
        "snapshot_path": str(prefix / "config" / "snapshot.jsonl"),
        "control_token_file": str(prefix / "sockets" / "control.token"),
        "headers": ["server_tokens", "latency_tokens", "x-kong-request-id"],
        "headers_upstream": ["x-kong-request-id"],
        "trusted_ips": [],
        "real_ip_header": "X-Real-IP",
        "error_default_type": "text/plain",
        "router_flavor": "traditional_compatible",
        "allow_debug_header": False,
        "dns_resolver": ["127.0.0.1:53"],
        "dns_hostsfile": "/etc/hosts",
        "plugins": [],
        "upstream_tls": {"profiles": {}, "verify_depth": 1, "pools": 4},
    }
    data.update(overrides)
    data.setdefault("nginx_headers", render_context.nginx_headers(data))
    return data


def settings_context(data: dict[str, Any]) -> dict[str, Any]:
    """The template context names render/context.py derives from the same settings."""
    trusted = data["trusted_ips"]
    return {
        "trusted_geo": render_context.trusted_geo({"trusted_ips": trusted}),
        "trusted_unix": "unix:" in trusted,
        "via": render_context.via_tokens(data["kongpy_version"]),
        "upstream_request_id": "x-kong-request-id" in data["headers_upstream"],
        "nginx_headers": render_context.nginx_header_directives(data["nginx_headers"]),
        "forwarded": render_context.forwarded_values({"trusted_ips": trusted,
                                                      "port_maps": data.get("port_maps", [])}),
    }


def context(prefix: Path, proxy_port: int, workers: int = 2, **overrides: Any) -> dict[str, Any]:
    ctx = {
        "prefix": str(prefix),
        "worker_processes": str(workers),
        "nginx_user": "root root" if os.geteuid() == 0 else None,
        "temp_root": str(prefix),
        "worker_rlimit_nofile": 16384,
        "worker_connections": 16384,
        "log_level": "info",
        "error_log": str(prefix / "logs" / "error.log"),
        "access_log": "off",
        "pid_file": str(prefix / "pids" / "nginx.pid"),
        "lua_package_path": f"{REPO}/lua/?.lua;{REPO}/lua/?/init.lua;;",
        "lua_package_cpath": ";;",
        "settings_file": str(prefix / "settings.json"),
        "control_socket": str(prefix / "sockets" / "control.sock"),
        "proxy_listeners": [
            {"address": f"127.0.0.1:{proxy_port}", "ssl": False, "http2": False, "flags": ""},
        ],
        # streams are tested on whole nodes (tests/integration/test_stream.py)
        "stream_listeners": [],
        # a test with a TLS listener gives the default certificates
        "ssl_certificates": [],
        "ssl": sslconf.proxy_tls(SSL_DEFAULTS),
        "shared_dicts": [
            {"name": "kongpy_snapshot", "size": "16m"},
            {"name": "kongpy_cache", "size": "16m"},
            {"name": "kongpy_health", "size": "1m"},
        ],
        "upstream_keepalive_pool_size": 60,
        "upstream_keepalive_max_requests": 10000,
        "upstream_keepalive_idle_timeout": 60,
        "upstream_tls_pools": 4,
        "upstream_tls_profiles": [],
        "lua_ssl_trusted_certificate": "",
        "lua_ssl_verify_depth": 1,
        "real_ip_from": [],
        "real_ip_header": "X-Real-IP",
        "real_ip_recursive": False,
        "client_body_buffer_size": "8k",
        "injected": {"http": [{"name": "client_max_body_size", "value": "0"}]},
        "plugin_phases": [],
        "port_maps": [],
        "status_listeners": [],
    }
    ctx.update(overrides)
    return ctx


def render(ctx: dict[str, Any]) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(REPO / "templates")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template("nginx.conf.j2").render(**ctx)


class DataPlane:
    """One nginx master with its workers, in its own prefix."""

    def __init__(self, prefix: Path, workers: int = 2, settings_overrides: dict | None = None,
                 context_overrides: dict | None = None) -> None:
        self.prefix = prefix
        self.port = free_port()
        for sub in ("logs", "pids", "sockets", "config"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        # workers of a root master run unprivileged and keep the snapshot file
        prefix.chmod(0o755)
        (prefix / "config").chmod(0o777)
        write_token(prefix / "sockets" / "control.token")
        self.token = (prefix / "sockets" / "control.token").read_text()
        data = settings(prefix, **(settings_overrides or {}))
        (prefix / "settings.json").write_text(json.dumps(data))
        self.ctx = context(prefix, self.port, workers, **{
            **settings_context(data), **(context_overrides or {})})
        self.conf = prefix / "nginx.conf"
        self.conf.write_text(render(self.ctx))
        self.socket = self.ctx["control_socket"]
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(self.prefix), "-c", str(self.conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited: " + self.proc.stderr.read().decode()
                                   + self.error_log())
            try:
                status, body = self.control("GET", "/snapshot")
                if status == 200 and all(w["pid"] for w in body["workers"]):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("nginx did not become ready: " + self.error_log())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()

    def error_log(self) -> str:
        path = self.prefix / "logs" / "error.log"
        return path.read_text() if path.exists() else ""

    def control(self, method: str, path: str, body: bytes | str | None = None
                ) -> tuple[int, Any]:
        conn = UnixHTTPConnection(self.socket, timeout=10.0)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            headers["Authorization"] = f"Bearer {self.token}"
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read() or b"null")
        finally:
            conn.close()

    def push(self, snapshot: dict | str | bytes) -> tuple[int, Any]:
        body = framed(snapshot) if isinstance(snapshot, dict) else snapshot
        return self.control("POST", "/snapshot", body)

    def wait_version(self, version: int, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        body: dict = {}
        while time.monotonic() < deadline:
            _, body = self.control("GET", "/snapshot")
            if all(w["version"] == version for w in body["workers"]):
                return body
            time.sleep(0.02)
        raise AssertionError(f"workers did not reach version {version}: {body}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


class EchoHandler(BaseHTTPRequestHandler):
    """Answers every request with a JSON echo of what it received."""

    protocol_version = "HTTP/1.1"
    server_version = ""
    sys_version = ""

    def send_response(self, code: int, message: str | None = None) -> None:
        # no Server header of our own: the gateway adds one when it is missing
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/sleep"):
            time.sleep(float(self.headers.get("X-Sleep", "2")))
        data = json.dumps({
            "name": self.server.name,  # type: ignore[attr-defined]
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("latin-1"),
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for extra in self.headers.get_all("X-Respond-Header") or []:
            name, _, value = extra.partition(":")
            self.send_header(name.strip(), value.strip())
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _answer

    def log_message(self, fmt: str, *args: Any) -> None:
        log.debug(fmt, *args)


class Upstream:
    def __init__(self, name: str) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
        self.server.daemon_threads = True
        self.server.name = name  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def service(sid: str, port: int, **fields: Any) -> dict[str, Any]:
    svc = {
        "id": sid, "name": None, "protocol": "http", "host": "127.0.0.1", "port": port,
        "path": None, "retries": 0, "connect_timeout": 2000, "write_timeout": 2000,
        "read_timeout": 2000, "tags": None, "client_certificate": None, "tls_verify": None,
        "tls_verify_depth": None, "ca_certificates": None, "enabled": True,
        "created_at": 1700000000, "updated_at": 1700000000,
    }
    svc.update(fields)
    return svc


def route(rid: str, service_id: str | None, **fields: Any) -> dict[str, Any]:
    r = {
        "id": rid, "name": None, "protocols": ["http", "https"], "methods": None,
        "hosts": None, "paths": None, "headers": None, "snis": None, "sources": None,
        "destinations": None, "https_redirect_status_code": 426, "regex_priority": 0,
        "strip_path": True, "path_handling": "v0", "preserve_host": False,
        "request_buffering": True, "response_buffering": True, "tags": None,
        "service": {"id": service_id} if service_id else None,
        "created_at": 1700000000, "updated_at": 1700000000,
    }
    r.update(fields)
    return r


HEADER_KEYS = ("snapshot_format", "version", "hash", "base_version", "built_for")


def framed(doc: dict[str, Any]) -> bytes:
    """A test's flat document as the control socket takes it (contracts.md §1):
    the header keys on the first line, the rest (or a delta's `changes`) as the body."""
    header = {k: doc[k] for k in HEADER_KEYS if k in doc}
    body = doc["changes"] if "changes" in doc else {
        k: v for k, v in doc.items() if k not in HEADER_KEYS}
    return sync_snapshot.encode(header) + b"\n" + sync_snapshot.encode(body)


def snapshot(version: int, services: list, routes: list) -> dict[str, Any]:
    return {
        "snapshot_format": sync_snapshot.SNAPSHOT_FORMAT,
        "version": version,
        "hash": f"{version:064x}",
        "services": services,
        "routes": routes,
    }
