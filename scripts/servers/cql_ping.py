#!/usr/bin/env python3
"""Run one CQL statement against a Cassandra node, with the standard library only.

Speaks the CQL native protocol v4 over a plain socket: STARTUP (with
username/password authentication when the server asks for it), then QUERY.
Prints the rows of the result, one per line, columns separated by tabs.
Exits 0 on success and 1 with a message on stderr on any failure.

    cql_ping.py --port 59042
    cql_ping.py --port 59042 --query "SELECT cluster_name FROM system.local"
"""

import argparse
import socket
import struct
import sys
import uuid

VERSION = 0x04
OP_ERROR, OP_STARTUP, OP_READY, OP_AUTHENTICATE = 0x00, 0x01, 0x02, 0x03
OP_QUERY, OP_RESULT, OP_AUTH_RESPONSE, OP_AUTH_SUCCESS = 0x07, 0x08, 0x0F, 0x10
CONSISTENCY_ONE = 0x0001


class CQLError(Exception):
    pass


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise CQLError("truncated response")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def byte(self):
        return self.take(1)[0]

    def short(self):
        return struct.unpack(">H", self.take(2))[0]

    def int(self):
        return struct.unpack(">i", self.take(4))[0]

    def string(self):
        return self.take(self.short()).decode("utf-8")

    def bytes(self):
        n = self.int()
        return None if n < 0 else self.take(n)

    def option(self):
        """Reads a column type; returns its id (nested types are skipped)."""
        type_id = self.short()
        if type_id == 0x0000:  # custom
            self.string()
        elif type_id in (0x0020, 0x0022):  # list, set
            self.option()
        elif type_id == 0x0021:  # map
            self.option()
            self.option()
        elif type_id == 0x0030:  # user-defined type
            self.string()
            self.string()
            for _ in range(self.short()):
                self.string()
                self.option()
        elif type_id == 0x0031:  # tuple
            for _ in range(self.short()):
                self.option()
        return type_id


def encode_string(s):
    raw = s.encode("utf-8")
    return struct.pack(">H", len(raw)) + raw


def encode_long_string(s):
    raw = s.encode("utf-8")
    return struct.pack(">i", len(raw)) + raw


def frame(stream, opcode, body):
    return struct.pack(">BBhBi", VERSION, 0, stream, opcode, len(body)) + body


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise CQLError("connection closed by the server")
        buf.extend(chunk)
    return bytes(buf)


def request(sock, stream, opcode, body):
    sock.sendall(frame(stream, opcode, body))
    header = recv_exact(sock, 9)
    _version, _flags, _stream, op, length = struct.unpack(">BBhBi", header)
    payload = recv_exact(sock, length)
    if op == OP_ERROR:
        r = Reader(payload)
        code = r.int()
        raise CQLError("server error 0x%04x: %s" % (code, r.string()))
    return op, payload


def decode_value(type_id, raw):
    if raw is None:
        return "null"
    if type_id in (0x0001, 0x000D):  # ascii, varchar/text
        return raw.decode("utf-8", "replace")
    if type_id in (0x0009, 0x0002, 0x0013, 0x0014):  # int, bigint, smallint, tinyint
        return str(int.from_bytes(raw, "big", signed=True))
    if type_id == 0x0004:  # boolean
        return "true" if raw != b"\x00" else "false"
    if type_id in (0x000C, 0x000F):  # uuid, timeuuid
        return str(uuid.UUID(bytes=raw))
    if type_id == 0x0010:  # inet
        return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)
    return "0x" + raw.hex()


def parse_result(payload):
    r = Reader(payload)
    kind = r.int()
    if kind == 0x0001:
        return []
    if kind == 0x0003:
        return [["keyspace", r.string()]]
    if kind == 0x0005:
        return [["schema change", r.string()]]
    if kind != 0x0002:
        return [["result kind %d" % kind]]
    flags = r.int()
    ncols = r.int()
    if flags & 0x0002:  # has more pages
        r.bytes()
    types = []
    if not flags & 0x0004:  # metadata present
        global_spec = flags & 0x0001
        if global_spec:
            r.string()
            r.string()
        for _ in range(ncols):
            if not global_spec:
                r.string()
                r.string()
            r.string()
            types.append(r.option())
    else:
        types = [None] * ncols
    rows = []
    for _ in range(r.int()):
        rows.append([decode_value(types[i], r.bytes()) for i in range(ncols)])
    return rows


def run(host, port, query, timeout, user, password):
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        startup = struct.pack(">H", 1) + encode_string("CQL_VERSION") + encode_string("3.0.0")
        op, payload = request(sock, 1, OP_STARTUP, startup)
        if op == OP_AUTHENTICATE:
            if user is None:
                raise CQLError("the server requires authentication: pass --user and --password")
            token = b"\x00" + user.encode() + b"\x00" + (password or "").encode()
            op, payload = request(sock, 2, OP_AUTH_RESPONSE, struct.pack(">i", len(token)) + token)
            if op != OP_AUTH_SUCCESS:
                raise CQLError("authentication failed (opcode 0x%02x)" % op)
        elif op != OP_READY:
            raise CQLError("unexpected reply to STARTUP (opcode 0x%02x)" % op)
        body = encode_long_string(query) + struct.pack(">HB", CONSISTENCY_ONE, 0)
        op, payload = request(sock, 3, OP_QUERY, body)
        if op != OP_RESULT:
            raise CQLError("unexpected reply to QUERY (opcode 0x%02x)" % op)
        return parse_result(payload)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9042)
    parser.add_argument("--query", default="SELECT release_version FROM system.local")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--quiet", action="store_true", help="print nothing, only set the exit code")
    args = parser.parse_args()
    try:
        rows = run(args.host, args.port, args.query, args.timeout, args.user, args.password)
    except (OSError, CQLError) as exc:
        print("cql_ping: %s:%d: %s" % (args.host, args.port, exc), file=sys.stderr)
        return 1
    if not args.quiet:
        for row in rows:
            print("\t".join(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
