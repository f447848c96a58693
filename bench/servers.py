"""The upstream, the bare-nginx baselines (S0, S0H, S0L) and the peers (Caddy, HAProxy).

Each system under test gets one worker (or one thread) pinned to `SUT_CPU`;
the upstream and everything else run on `LOAD_CPU`.
"""
from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import procs

log = logging.getLogger(__name__)

BODY = "x" * 1024
KEEPALIVE = 512          # idle upstream connections, as kongpy's default pool
KEEPALIVE_REQUESTS = 10000


@dataclass
class Target:
    """Something wrk can load: a base URL and the processes doing the work."""

    name: str
    port: int
    pids: Callable[[], list[int]]
    info: dict[str, object] = field(default_factory=dict)
    stop: Callable[[], None] = lambda: None
    # TLS targets are reached by name: wrk sends the URL's host as SNI
    scheme: str = "http"
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def _affinity_mask(cpu: int) -> str:
    return "1" + "0" * cpu


def nginx_main(prefix: Path, cpu: int) -> str:
    user = "user root root;\n" if os.geteuid() == 0 else ""
    return (f"{user}worker_processes 1;\n"
            f"worker_cpu_affinity {_affinity_mask(cpu)};\n"
            f"pid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/error.log warn;\n"
            "events { worker_connections 16384; }\n")


def _http_common(prefix: Path) -> str:
    temps = "".join(f"    {k}_temp_path {prefix}/{k}_temp;\n"
                    for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return "    access_log off;\n    server_tokens off;\n" + temps


EXTRA_IPS = ("127.0.0.2", "127.0.0.3")


def upstream_conf(prefix: Path, port: int) -> str:
    return (nginx_main(prefix, procs.LOAD_CPU) + "http {\n" + _http_common(prefix)
            + "    keepalive_requests 1000000;\n    keepalive_timeout 120s;\n"
            + f"    server {{\n        listen 127.0.0.1:{port} backlog=4096;\n"
            # the same answer on two more loopback addresses: the targets of L1
            + "".join(f"        listen {ip}:{port} backlog=4096;\n" for ip in EXTRA_IPS)
            + "        default_type text/plain;\n"
            + f'        location / {{ return 200 "{BODY}"; }}\n    }}\n}}\n')


_LUA_PHASES = """\
            access_by_lua_block { }
            header_filter_by_lua_block { }
"""


# What a kongpy node's TLS listener is given by default (ssl_cipher_suite =
# intermediate), for a baseline serving the same certificate the same way.
TLS_INTERMEDIATE = (
    "        ssl_protocols TLSv1.2 TLSv1.3;\n"
    "        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305;\n"
    "        ssl_prefer_server_ciphers off;\n"
    "        ssl_session_cache shared:bench_ssl:10m;\n"
    "        ssl_session_tickets on;\n"
    "        ssl_session_timeout 1d;\n")


def _listen(port: int, tls: tuple[Path, Path] | None) -> str:
    if tls is None:
        return f"        listen 127.0.0.1:{port};\n"
    return (f"        listen 127.0.0.1:{port} ssl http2;\n"
            f"        ssl_certificate {tls[0]};\n        ssl_certificate_key {tls[1]};\n"
            + TLS_INTERMEDIATE)


def proxy_conf(prefix: Path, port: int, upstream: int, lua: bool,
               tls: tuple[Path, Path] | None = None) -> str:
    """S0 (plain proxy_pass) or S0L (the same with kongpy's Lua phases, empty);
    with `tls` (certificate, key), S0 behind a TLS listener (S0T)."""
    if lua:
        modules = ("load_module /usr/lib/nginx/modules/ndk_http_module.so;\n"
                   "load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;\n")
        peer = f'require("ngx.balancer").set_current_peer("127.0.0.1", {upstream})'
        balancer = ("        server 0.0.0.1;\n        balancer_by_lua_block {\n"
                    f"            {peer}\n        }}\n")
    else:
        modules = ""
        balancer = f"        server 127.0.0.1:{upstream};\n"
    return (modules + nginx_main(prefix, procs.SUT_CPU) + "http {\n" + _http_common(prefix)
            + "    upstream backend {\n" + balancer
            + f"        keepalive {KEEPALIVE};\n"
            + f"        keepalive_requests {KEEPALIVE_REQUESTS};\n"
            + "        keepalive_timeout 60s;\n    }\n"
            + "    server {\n" + _listen(port, tls)
            + "        location / {\n" + (_LUA_PHASES if lua else "")
            + "            proxy_http_version 1.1;\n"
            + '            proxy_set_header Connection "";\n'
            + "            proxy_set_header Host $host;\n"
            + "            proxy_pass http://backend;\n        }\n    }\n}\n")


# S0H: the header work of kongpy's template (templates/nginx_kongpy.conf.j2,
# macros.j2) done by nginx alone, no Lua: the forwarding headers through the
# same maps (no trusted IPs: the gateway's own values), hop-by-hop and Via
# handling, the request id to the upstream and to the client, and the
# response's Via and latency headers from nginx variables.
_HEADER_MAPS = """\
    map $http_x_forwarded_for $h_x_forwarded_for {
        "" $remote_addr;
        default "$http_x_forwarded_for, $realip_remote_addr";
    }
    map $request_uri $h_request_path {
        "~^([^?]*)" $1;
        default $request_uri;
    }
    map $request_id $h_request_id {
        default "";
    }
    map $http_upgrade $h_upgrade {
        "" "";
        "~*^websocket$" websocket;
        default "";
    }
    map $http_upgrade $h_connection {
        "" keep-alive;
        "~*^websocket$" "keep-alive, Upgrade";
        default keep-alive;
    }
    map $http_te $h_te {
        "" "";
        "~*trailers" trailers;
        default "";
    }
    map $server_protocol $h_via_own {
        "HTTP/1.1" "1.1 kongpy";
        default "1.1 kongpy";
    }
    map $http_via $h_via {
        "" $h_via_own;
        default "$http_via, $h_via_own";
    }
    map $upstream_http_via $h_resp_via {
        "" "1.1 kongpy";
        default "$upstream_http_via, 1.1 kongpy";
    }
"""

_HEADER_LOCATION = """\
            set $upstream_host $host;
            set $upstream_uri $request_uri;
            set $upstream_x_forwarded_prefix '';
            proxy_http_version 1.1;
            proxy_pass_header Server;
            proxy_pass_header Date;
            proxy_set_header Host               $upstream_host;
            proxy_set_header Upgrade            $h_upgrade;
            proxy_set_header Connection         $h_connection;
            proxy_set_header TE                 $h_te;
            proxy_set_header Proxy              "";
            proxy_set_header Proxy-Connection   "";
            proxy_set_header X-Forwarded-For    $h_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto  $scheme;
            proxy_set_header X-Forwarded-Host   $host;
            proxy_set_header X-Forwarded-Port   $server_port;
            proxy_set_header X-Forwarded-Path   $h_request_path;
            proxy_set_header X-Forwarded-Prefix $upstream_x_forwarded_prefix;
            proxy_set_header X-Real-IP          $remote_addr;
            proxy_set_header Via                $h_via;
            proxy_set_header X-Kong-Request-Id  $request_id;
            add_header Via $h_resp_via always;
            add_header X-Kong-Upstream-Latency $upstream_response_time always;
            add_header X-Kong-Proxy-Latency 0 always;
            add_header X-Kong-Request-Id $request_id always;
            proxy_pass http://backend$upstream_uri;
"""


def header_conf(prefix: Path, port: int, upstream: int) -> str:
    """S0H: S0 plus the header work kongpy's template makes nginx do."""
    return (nginx_main(prefix, procs.SUT_CPU) + "http {\n" + _http_common(prefix)
            + _HEADER_MAPS
            + "    upstream backend {\n"
            + f"        server 127.0.0.1:{upstream};\n"
            + f"        keepalive {KEEPALIVE};\n"
            + f"        keepalive_requests {KEEPALIVE_REQUESTS};\n"
            + "        keepalive_timeout 60s;\n    }\n"
            + "    server {\n" + _listen(port, None)
            + "        location / {\n" + _HEADER_LOCATION + "        }\n    }\n}\n")


def start_headers(workdir: Path, upstream: Target) -> Target:
    port = procs.free_port()
    return start_nginx("S0H", workdir, header_conf(workdir / "S0H", port, upstream.port), port)


def _nginx_pids(prefix: Path) -> Callable[[], list[int]]:
    def pids() -> list[int]:
        master = int((prefix / "nginx.pid").read_text().strip())
        return procs.children(master)
    return pids


def start_nginx(name: str, workdir: Path, conf: str, port: int, **target: str) -> Target:
    prefix = workdir / name
    prefix.mkdir(parents=True, exist_ok=True)
    conf_path = prefix / "nginx.conf"
    conf_path.write_text(conf)
    nginx = procs.which("nginx") or "nginx"
    proc = procs.spawn([*procs.pin_args(procs.LOAD_CPU), nginx, "-p", str(prefix),
                        "-c", str(conf_path), "-g", "daemon off;"],
                       log_path=prefix / "stdout.log")
    stop = procs.managed(proc, signal.SIGQUIT)
    procs.wait_port(port)
    return Target(name, port, _nginx_pids(prefix), stop=stop, **target)


def start_upstream(workdir: Path) -> Target:
    port = procs.free_port()
    return start_nginx("upstream", workdir, upstream_conf(workdir / "upstream", port), port)


def start_baseline(workdir: Path, upstream: Target, lua: bool) -> Target:
    name = "S0L" if lua else "S0"
    port = procs.free_port()
    conf = proxy_conf(workdir / name, port, upstream.port, lua)
    return start_nginx(name, workdir, conf, port)


# -- peers ---------------------------------------------------------------------

def _caddyfile(port: int, upstream: int) -> str:
    return ("{\n    admin off\n    auto_https off\n}\n"
            f"http://127.0.0.1:{port} {{\n"
            f"    reverse_proxy 127.0.0.1:{upstream} {{\n"
            "        transport http {\n"
            "            keepalive 60s\n"
            f"            keepalive_idle_conns {KEEPALIVE}\n"
            f"            keepalive_idle_conns_per_host {KEEPALIVE}\n"
            "        }\n    }\n}\n")


def _haproxy_cfg(port: int, upstream: int) -> str:
    return ("global\n    nbthread 1\n    maxconn 4096\n"
            "defaults\n    mode http\n    timeout connect 5s\n"
            "    timeout client 60s\n    timeout server 60s\n"
            "    option http-keep-alive\n    http-reuse always\n"
            f"frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\n"
            f"backend be\n    server up 127.0.0.1:{upstream} maxconn 0\n")


def start_peer(kind: str, workdir: Path, upstream: Target) -> Target | None:
    """Caddy or HAProxy as the same single-route reverse proxy; None if missing."""
    binary = procs.which(kind)
    if binary is None:
        return None
    prefix = workdir / kind
    prefix.mkdir(parents=True, exist_ok=True)
    port = procs.free_port()
    env = dict(os.environ)
    if kind == "caddy":
        conf = prefix / "Caddyfile"
        conf.write_text(_caddyfile(port, upstream.port))
        args = [binary, "run", "--config", str(conf), "--adapter", "caddyfile"]
        # one OS thread running Go code: the counterpart of one nginx worker
        env.update(GOMAXPROCS="1", XDG_DATA_HOME=str(prefix), XDG_CONFIG_HOME=str(prefix),
                   HOME=str(prefix))
    else:
        conf = prefix / "haproxy.cfg"
        conf.write_text(_haproxy_cfg(port, upstream.port))
        args = [binary, "-f", str(conf), "-db"]
    proc = procs.spawn([*procs.pin_args(procs.SUT_CPU), *args], log_path=prefix / "out.log",
                       env=env, cwd=prefix)
    stop = procs.managed(proc)
    procs.wait_port(port)
    return Target(kind, port, lambda: [proc.pid], stop=stop)
