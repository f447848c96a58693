"""Kong's router expression language (``router_flavor = expressions``).

One parser for the whole project: the Admin API validates a route's
``expression`` with it (Kong's messages: parse errors in the pest layout
with line, column and reason; the engine's type errors as plain text), and
the sync encoder ships the parsed, type-checked tree with each route
(:func:`compile_route`), so the data planes (lua/kongpy/expressions.lua)
never parse the language (docs/router.md, "Expressions").

The tree is JSON:

- ``["and", a, b]``, ``["or", a, b]``, ``["not", a]``;
- ``["protocol", p, ...]``: Kong's protocol guard, ``net.protocol`` is one
  of the names (:func:`compile_route`);
- ``["pred", field, op, value]`` or ``["pred", field, op, value, flags]``
  (flags: 1 for ``lower()``, 2 for ``any()``): ``value`` is a string, an
  integer, ``{"ip": "10.0.0.1"}`` or ``{"cidr": "10.0.0.0/8"}``; a regex
  (``~``) is its pattern string.

The grammar is atc-router's: ``||`` binds tighter than ``&&`` (both
left-associative); ``!`` only before parentheses; transformations
(``lower``, ``any``) only on the left side.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any

PREFIX = "Router Expression failed validation: "

STRING, INT, IP, CIDR, REGEX = "String", "Int", "IpAddr", "IpCidr", "Regex"

_STREAM_FIELDS = {
    "net.protocol": STRING, "tls.sni": STRING,
    "net.src.ip": IP, "net.src.port": INT, "net.dst.ip": IP, "net.dst.port": INT,
}
_HTTP_FIELDS = dict(_STREAM_FIELDS, **{
    "http.method": STRING, "http.host": STRING, "http.path": STRING,
    "http.path.segments.len": INT,
    "http.path.segments.*": STRING, "http.headers.*": STRING, "http.queries.*": STRING,
})
HTTP_PROTOCOLS = ("http", "https", "grpc", "grpcs")
_PROTOCOL_OVERRIDE = {"tls_passthrough": "tcp", "grpc": "http", "grpcs": "https"}
_NO_GUARD = (["https"], ["tls"], ["tls_passthrough"])
_SEGMENTS = "http.path.segments."
_SEGMENT_SUFFIX = re.compile(r"^(0|[1-9]\d*)(_([1-9]\d*))?$")
_INT64 = (-(2 ** 63), 2 ** 63 - 1)
_OPERATORS = ("==", "!=", "~", "^=", "=^", ">=", ">", "<=", "<")
_WORD_OPERATORS = ("contains", "in")
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_IPV6 = re.compile(r"[0-9A-Fa-f:]*:[0-9A-Fa-f:]*(?:\d{1,3}(?:\.\d{1,3}){3})?")
_INT = re.compile(r"-?(?:0x[0-9A-Fa-f]+|0[0-7]*|[1-9][0-9]*)")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}
_WS = " \t\r\n"


class _ExpressionError(ValueError):
    """A refused expression; ``str()`` is Kong's text (without the prefix)."""


# -- parse errors in pest's layout ---------------------------------------------------


def _pest(text: str, pos: int, message: str, end: int | None = None) -> _ExpressionError:
    line = text.count("\n", 0, pos) + 1
    start = text.rfind("\n", 0, pos) + 1
    stop = text.find("\n", pos)
    source = text[start:] if stop < 0 else text[start:stop]
    col = pos - start + 1
    pad = " " * len(str(line))
    if end is not None and end - pos > 1 and (stop < 0 or end <= stop):
        mark = "^" + "-" * (end - pos - 2) + "^"
    else:
        mark = "^---"
    return _ExpressionError(f"{pad}--> {line}:{col}\n{pad} |\n{line} | {source}\n"
                            f"{pad} | {' ' * (col - 1)}{mark}\n{pad} |\n{pad} = {message}")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WS:
            self.pos += 1

    def peek(self, s: str) -> bool:
        return self.text.startswith(s, self.pos)

    def fail(self, expected: str, pos: int | None = None) -> _ExpressionError:
        return _pest(self.text, self.pos if pos is None else pos, f"expected {expected}")

    # expression = term ~ (("&&" | "||") ~ term)*, `||` binding tighter
    def expression(self) -> Any:
        ands = [self.disjunction()]
        while True:
            self.ws()
            if not self.peek("&&"):
                return _fold("and", ands)
            self.pos += 2
            ands.append(self.disjunction())

    def disjunction(self) -> Any:
        ors = [self.term()]
        while True:
            self.ws()
            if not self.peek("||"):
                return _fold("or", ors)
            self.pos += 2
            ors.append(self.term())

    def term(self) -> Any:
        self.ws()
        negate = False
        if self.peek("!"):
            negate, start = True, self.pos
            self.pos += 1
            self.ws()
            if not self.peek("("):
                raise self.fail("term", start)
        if self.peek("("):
            self.pos += 1
            inner = self.expression()
            self.ws()
            if not self.peek(")"):
                raise self.fail("logical_operator")
            self.pos += 1
            return ["not", inner] if negate else inner
        if not _IDENT.match(self.text, self.pos):
            raise self.fail("term")
        return self.predicate()

    def lhs(self) -> tuple[str, list[tuple[str, int, int]]]:
        self.ws()
        m = _IDENT.match(self.text, self.pos)
        if not m:
            raise self.fail("lhs")
        self.pos = m.end()
        after = self.pos
        self.ws()
        if self.peek("("):
            self.pos += 1
            field, funcs = self.lhs()
            self.ws()
            if not self.peek(")"):
                raise self.fail("transform_func")
            self.pos += 1
            # an error names the whole call, as atc-router's span does
            return field, [(m.group(), m.start(), self.pos)] + funcs
        self.pos = after
        return m.group(), []

    def operator(self) -> str:
        self.ws()
        for op in _OPERATORS:
            if self.peek(op):
                self.pos += len(op)
                return op
        for word in _WORD_OPERATORS:
            if self.peek(word):
                self.pos += len(word)
                return word
        if self.peek("not"):
            start = self.pos
            self.pos += 3
            self.ws()
            if self.peek("in"):
                self.pos += 2
                return "not in"
            self.pos = start
        raise self.fail("binary_operator")

    def predicate(self) -> Any:
        begin = self.pos
        field, funcs = self.lhs()
        lower = any_ = False
        for name, start, end in funcs:
            if name == "lower":
                lower = True
            elif name == "any":
                any_ = True
            else:
                raise _pest(self.text, start, f"unknown transformation function: {name}", end)
        op = self.operator()
        self.ws()
        value, kind = self.rhs()
        if op == "~":
            # errors name the whole predicate, as atc-router's span does
            if kind != STRING:
                raise _pest(self.text, begin,
                            "regex operator can only be used with String operands", self.pos)
            err = regex_error(value)
            if err:
                raise _pest(self.text, begin, err, self.pos)
            kind = REGEX
        return ["pred", field, op, value, lower, any_, kind]

    def rhs(self) -> tuple[Any, str]:
        text, pos = self.text, self.pos
        if self.peek('r#"'):
            end = text.find('"#', pos + 3)
            if end < 0:
                raise self.fail("rhs")
            self.pos = end + 2
            return text[pos + 3:end], STRING
        if self.peek('"'):
            out, i = [], pos + 1
            while i < len(text) and text[i] != '"':
                if text[i] == "\\":
                    if text[i + 1:i + 2] not in _ESCAPES:
                        raise self.fail("rhs", pos)
                    out.append(_ESCAPES[text[i + 1]])
                    i += 2
                else:
                    out.append(text[i])
                    i += 1
            if i >= len(text):
                raise self.fail("rhs", pos)
            self.pos = i + 1
            return "".join(out), STRING
        for pattern in (_IPV4, _IPV6):
            m = pattern.match(text, pos)
            if m and (pattern is _IPV6 or text[m.end():m.end() + 1] in ("", "/") or
                      text[m.end()] in _WS + ")&|"):
                return self.ip(m)
        m = _INT.match(text, pos)
        if not m:
            raise self.fail("rhs")
        self.pos = m.end()
        raw = m.group()
        sign = -1 if raw.startswith("-") else 1
        digits = raw.lstrip("-")
        base = 16 if digits.startswith("0x") else 8 if digits.startswith("0") and digits != "0" \
            else 10
        value = sign * int(digits[2:] if base == 16 else digits, base)
        if not _INT64[0] <= value <= _INT64[1]:
            raise _pest(text, pos, "number too large to fit in target type", self.pos)
        return value, INT

    def ip(self, m: re.Match) -> tuple[Any, str]:
        text, start = self.text, m.start()
        end = m.end()
        cidr = re.compile(r"/\d{1,3}").match(text, end)
        try:
            if cidr:
                end = cidr.end()
                try:
                    net = ipaddress.ip_network(text[start:end], strict=True)
                except ValueError:
                    ipaddress.ip_network(text[start:end], strict=False)
                    # the cidr crate's words for host bits set
                    raise ValueError("host part of address was not zero") from None
                self.pos = end
                return {"cidr": str(net)}, CIDR
            addr = ipaddress.ip_address(text[start:end])
        except ValueError as exc:
            raise _pest(text, start, str(exc), end) from None
        self.pos = end
        return {"ip": str(addr)}, IP


def _fold(op: str, items: list[Any]) -> Any:
    node = items[0]
    for item in items[1:]:
        node = [op, node, item]
    return node


# -- regexes: Rust `regex` syntax evaluated by PCRE ---------------------------------

_LOOK = re.compile(r"\(\?<?[=!]")
_BACKREF = re.compile(r"\\[1-9]|\\k<|\\g")
_CLASS_OPS = re.compile(r"\[[^\]]*(?:&&|--|~~)")
_RUST_ONLY = re.compile(r"\\[<>]|\\b\{|\(\?[a-zA-Z]*[uR]")


def regex_error(pattern: str) -> str | None:
    """The error text for a regex Kong's engine refuses, or one PCRE would read
    differently; None when both engines agree on it."""
    def err(msg: str) -> str:
        return f"regex parse error:\n    {pattern}\n    ^\nerror: {msg}"
    if _LOOK.search(pattern):
        return err("look-around, including look-ahead and look-behind, is not supported")
    if _BACKREF.search(pattern):
        return err("backreferences are not supported")
    if _CLASS_OPS.search(pattern) or _RUST_ONLY.search(pattern):
        # Rust-only syntax PCRE would read otherwise: refused rather than mis-evaluated
        return err("syntax not supported by this gateway's regex engine (PCRE)")
    try:
        re.compile(re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", pattern))
    except re.error as exc:
        return err(exc.msg)
    return None


# -- semantic checks: atc-router's messages -------------------------------------------


def _field_type(fields: dict[str, str], name: str) -> str | None:
    if name in fields:
        return fields[name]
    head, dot, _ = name.rpartition(".")
    return fields.get(head + ".*") if dot else None


def _check(node: Any, fields: dict[str, str], seen: list[str]) -> None:
    kind = node[0]
    if kind in ("and", "or"):
        _check(node[1], fields, seen)
        _check(node[2], fields, seen)
        return
    if kind == "not":
        _check(node[1], fields, seen)
        return
    _, field, op, _, lower, _, rhs = node
    ftype = _field_type(fields, field)
    if ftype is None:
        raise _ExpressionError("Unknown LHS field")
    seen.append(field)
    if op not in ("~", "in", "not in") and ftype != rhs:
        raise _ExpressionError("Type mismatch between the LHS and RHS values of predicate")
    if lower and ftype != STRING:
        raise _ExpressionError(
            "lower-case transformation function only supported with String type fields")
    if op == "~" and ftype != STRING:
        raise _ExpressionError("Regex operators only supports string operands")
    if op in ("^=", "=^") and rhs != STRING:
        raise _ExpressionError("Regex/Prefix/Postfix operators only supports string operands")
    if op in (">", ">=", "<", "<=") and rhs != INT:
        raise _ExpressionError("Greater/GreaterOrEqual/Lesser/LesserOrEqual operators only "
                               "supports integer operands")
    if op in ("in", "not in") and (ftype != IP or rhs != CIDR):
        raise _ExpressionError("In/NotIn operators only supports IP in CIDR")
    if op == "contains" and rhs != STRING:
        raise _ExpressionError("Contains operator only supports string operands")


def _shipped(node: Any) -> Any:
    """The tree without the literal kinds; a predicate's flags (1: lower,
    2: any) only when set, so that large configurations stay small."""
    if node[0] == "pred":
        flags = (1 if node[4] else 0) | (2 if node[5] else 0)
        return node[:4] + [flags] if flags else node[:4]
    return [node[0]] + [_shipped(n) for n in node[1:]]


def is_http(protocols: Any) -> bool:
    return bool(protocols) and protocols[0] in HTTP_PROTOCOLS


def rewrite_net_port(expression: str) -> str:
    """Kong's deprecated ``net.port`` alias of ``net.dst.port``."""
    return re.sub(r"net\.port(\s*)([=><!])", r"net.dst.port\1\2", expression)


def parse(expression: str, protocols: Any = ("http",)) -> Any:
    """The checked tree of ``expression`` for a route of ``protocols``, or
    _ExpressionError with Kong's text."""
    fields = _HTTP_FIELDS if is_http(protocols) else _STREAM_FIELDS
    parser = _Parser(rewrite_net_port(expression))
    parser.ws()
    tree = parser.expression()
    parser.ws()
    if parser.pos < len(parser.text):
        raise parser.fail("EOI or logical_operator")
    seen: list[str] = []
    _check(tree, fields, seen)
    for field in seen:
        if field.startswith(_SEGMENTS):
            suffix = field[len(_SEGMENTS):]
            m = _SEGMENT_SUFFIX.match(suffix)
            if suffix != "len" and (not m or (m.group(2) and
                                              int(m.group(1)) >= int(m.group(3)))):
                raise _ExpressionError("illformed http.path.segments.* field")
    if not is_http(protocols) and _has_regex(tree):
        # the stream data plane has no regex engine (docs/router.md)
        raise _ExpressionError("Regex operators are not supported on stream routes")
    return _shipped(tree)


def _has_regex(node: Any) -> bool:
    if node[0] == "pred":
        return node[2] == "~"
    return any(_has_regex(n) for n in node[1:])


def validate(expression: str, protocols: Any) -> str | None:
    """Kong's @entity message for a bad expression, or None."""
    try:
        parse(expression, protocols)
    except _ExpressionError as exc:
        return PREFIX + str(exc)
    return None


def compile_route(route: dict[str, Any]) -> Any:
    """The tree the data planes evaluate for an expression route: its
    expression, then Kong's protocol guard (``&& (net.protocol == p || ...)``
    from ``protocols``, unless they are exactly [https], [tls] or
    [tls_passthrough], so that Kong's https redirects keep working), shipped
    as one node: ``["protocol", p, ...]``.
    None when the route has no (valid) expression."""
    expression = route.get("expression")
    if not isinstance(expression, str):
        return None
    protocols = list(route.get("protocols") or ["http", "https"])
    try:
        tree = parse(expression, protocols)
    except _ExpressionError:
        return None
    if protocols in _NO_GUARD:
        return tree
    names: list[str] = []
    for p in protocols:
        name = _PROTOCOL_OVERRIDE.get(p, p)
        if name not in names:
            names.append(name)
    return ["and", tree, ["protocol", *names]]
