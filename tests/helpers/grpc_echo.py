"""A small gRPC echo service, generated from its .proto at run time.

``load()`` compiles :data:`PROTO` with grpc_tools.protoc into a temporary
folder and imports the generated modules; :class:`EchoServer` serves the
service in this process over h2c or TLS (``grpcio``, a thread pool).

- ``Say``: unary; the reply names the server and carries the request
  metadata the server saw and its peer (``:peer``), JSON in ``meta``.
- ``Stream``: server streaming, ``count`` replies.
- ``Slow``: unary, answers after ``count`` milliseconds.
"""
from __future__ import annotations

import importlib
import json
import sys
import tempfile
import threading
import time
from concurrent import futures
from pathlib import Path
from types import ModuleType
from typing import Any

PACKAGE = "kongpytest"
SERVICE = "Echo"
PATH_PREFIX = f"/{PACKAGE}.{SERVICE}/"

PROTO = f"""
syntax = "proto3";
package {PACKAGE};

service {SERVICE} {{
  rpc Say (Msg) returns (Msg);
  rpc Stream (Msg) returns (stream Msg);
  rpc Slow (Msg) returns (Msg);
}}

message Msg {{
  string text = 1;
  int32 count = 2;
  string server = 3;
  string meta = 4;
}}
"""

_lock = threading.Lock()
_loaded: tuple[ModuleType, ModuleType] | None = None


def load() -> tuple[ModuleType, ModuleType]:
    """(messages module, services module), compiled once per process."""
    global _loaded
    with _lock:
        if _loaded is None:
            from grpc_tools import protoc

            out = Path(tempfile.mkdtemp(prefix="kpgrpc"))
            (out / "kongpy_echo.proto").write_text(PROTO)
            rc = protoc.main(["protoc", f"-I{out}", f"--python_out={out}",
                              f"--grpc_python_out={out}", str(out / "kongpy_echo.proto")])
            if rc != 0:
                raise RuntimeError(f"grpc_tools.protoc exited {rc}")
            sys.path.insert(0, str(out))
            try:
                _loaded = (importlib.import_module("kongpy_echo_pb2"),
                           importlib.import_module("kongpy_echo_pb2_grpc"))
            finally:
                sys.path.remove(str(out))
        return _loaded


class EchoServer:
    """The echo service on 127.0.0.1; TLS when ``cert``/``key`` (PEM) are given,
    requiring a client certificate issued by ``client_ca`` when given."""

    def __init__(self, name: str, *, cert: str | None = None, key: str | None = None,
                 client_ca: str | None = None, port: int = 0, workers: int = 8) -> None:
        import grpc

        pb2, pb2_grpc = load()
        self.name = name
        self.calls = 0
        server_name = name
        owner = self

        class Servicer(pb2_grpc.EchoServicer):
            def _reply(self, request: Any, context: Any, **kw: Any) -> Any:
                meta = {k: v for k, v in context.invocation_metadata()
                        if isinstance(v, str)}
                meta[":peer"] = context.peer()  # ipv4:127.0.0.1:<port>
                return pb2.Msg(text=request.text, server=server_name,
                               meta=json.dumps(meta), **kw)

            def Say(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC naming
                owner.calls += 1
                return self._reply(request, context)

            def Stream(self, request: Any, context: Any) -> Any:  # noqa: N802
                owner.calls += 1
                for i in range(request.count):
                    yield self._reply(request, context, count=i)

            def Slow(self, request: Any, context: Any) -> Any:  # noqa: N802
                owner.calls += 1
                time.sleep(request.count / 1000)
                return self._reply(request, context)

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
        pb2_grpc.add_EchoServicer_to_server(Servicer(), self.server)
        address = f"127.0.0.1:{port}"
        if cert is not None:
            creds = grpc.ssl_server_credentials(
                [(key.encode(), cert.encode())],
                root_certificates=client_ca.encode() if client_ca else None,
                require_client_auth=client_ca is not None)
            self.port = self.server.add_secure_port(address, creds)
        else:
            self.port = self.server.add_insecure_port(address)
        self.server.start()

    def stop(self) -> None:
        self.server.stop(grace=None)


def stub(channel: Any) -> Any:
    return load()[1].EchoStub(channel)


def msg(text: str = "", count: int = 0) -> Any:
    return load()[0].Msg(text=text, count=count)
