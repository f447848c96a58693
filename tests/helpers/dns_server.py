"""A small authoritative DNS responder on a loopback UDP port, for tests.

It answers A, AAAA and SRV questions from a dict that tests may change while
it runs: ``{name: {"A": [(ip, ttl)], "AAAA": [(ip, ttl)],
"SRV": [(priority, weight, port, target, ttl)]}}``. A known name without the
asked type gets an empty answer (NOERROR), an unknown name NXDOMAIN.
"""
from __future__ import annotations

import ipaddress
import socket
import struct
import threading
from typing import Any

TYPES = {1: "A", 28: "AAAA", 33: "SRV"}


def _encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def _read_name(data: bytes, pos: int) -> tuple[str, int]:
    labels = []
    while data[pos]:
        length = data[pos]
        labels.append(data[pos + 1:pos + 1 + length].decode())
        pos += 1 + length
    return ".".join(labels).lower(), pos + 1


def _rdata(kind: str, record: tuple) -> tuple[bytes, int]:
    if kind in ("A", "AAAA"):
        ip, ttl = record
        return ipaddress.ip_address(ip).packed, ttl
    priority, weight, port, target, ttl = record
    return struct.pack("!HHH", priority, weight, port) + _encode_name(target), ttl


class DnsServer:
    def __init__(self, records: dict[str, dict[str, list]] | None = None) -> None:
        self.records: dict[str, dict[str, list]] = records or {}
        self.lock = threading.Lock()
        self.queries: list[tuple[str, str]] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def set(self, name: str, **kinds: Any) -> None:
        with self.lock:
            self.records[name.lower()] = kinds

    def _answer(self, query: bytes) -> bytes:
        qid, flags = struct.unpack("!HH", query[:4])
        name, pos = _read_name(query, 12)
        qtype, _ = struct.unpack("!HH", query[pos:pos + 4])
        question = query[12:pos + 4]
        kind = TYPES.get(qtype)
        with self.lock:
            self.queries.append((name, kind or str(qtype)))
            entry = self.records.get(name)
            found = list(entry.get(kind, [])) if entry is not None and kind else []
        rcode = 3 if entry is None else 0
        answers = b""
        for record in found:
            rdata, ttl = _rdata(kind, record)
            answers += struct.pack("!HHHIH", 0xC00C, qtype, 1, ttl, len(rdata)) + rdata
        # QR, opcode 0, AA, RD copied, RA
        out_flags = 0x8400 | (flags & 0x0100) | 0x0080 | rcode
        header = struct.pack("!HHHHHH", qid, out_flags, 1, len(found), 0, 0)
        return header + question + answers

    def _serve(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            try:
                self.sock.sendto(self._answer(data), peer)
            except (IndexError, struct.error, ValueError):
                continue

    def close(self) -> None:
        self.sock.close()
