"""Routes of `router_flavor = expressions` (kong-reference §10.1, §10.3, §10.4):
the fields, the entity checks and Kong's messages for bad expressions."""
from __future__ import annotations

import pytest

from kongpy.schemas import RouteSchema
from kongpy.schemas.expressions import PREFIX, compile_route, parse
from kongpy.schemas.routes import ExpressionsRouteSchema as X

MIX = ("'methods', 'hosts', 'paths', 'headers', 'snis', 'sources' or 'destinations'")


def test_fields_exist_only_in_the_expressions_flavour(violation):
    data = X.validate({"expression": 'http.path == "/a"'})
    assert data["expression"] == 'http.path == "/a"' and data["priority"] == 0
    assert list(X.field_map())[-2:] == ["expression", "priority"]
    body = violation(RouteSchema, {"expression": 'http.path == "/a"', "priority": 1,
                                   "paths": ["/a"]})
    assert body["fields"] == {"expression": "unknown field", "priority": "unknown field"}


@pytest.mark.parametrize("body,fields", [
    ({"expression": 'http.path == "/a"', "paths": ["/a"]},
     {"@entity": [f"{PREFIX}cannot set 'expression' with {MIX} simultaneously"]}),
    ({"expression": 'http.path == "/a"', "sources": [{"ip": "10.0.0.1"}]},
     {"@entity": [f"{PREFIX}cannot set 'expression' with {MIX} simultaneously"]}),
    ({"expression": 'http.path == "/a"', "regex_priority": 3},
     {"@entity": [f"{PREFIX}cannot set 'regex_priority' with 'expression' simultaneously"]}),
    ({"paths": ["/a"], "priority": 3},
     {"@entity": [f"{PREFIX}cannot set 'priority' with {MIX} simultaneously"]}),
    ({"expression": 'http.path == "/a"', "priority": 2 ** 46},
     {"priority": "value should be between 0 and 70368744177663"}),
    ({"expression": 'http.path == "/a"', "priority": -1},
     {"priority": "value should be between 0 and 70368744177663"}),
    ({"expression": 5}, {"expression": "expected a string"}),
    ({"protocols": ["http"]},
     {"@entity": ["must set one of 'methods', 'hosts', 'headers', 'paths', 'expression' "
                  "when 'protocols' is 'http'"]}),
    ({},
     {"@entity": ["must set one of 'methods', 'hosts', 'headers', 'paths', 'snis', "
                  "'expression' when 'protocols' is 'https'"]}),
    ({"protocols": ["grpc"]},
     {"@entity": ["must set one of 'hosts', 'headers', 'paths', 'expression' when "
                  "'protocols' is 'grpc'"]}),
    ({"protocols": ["tcp"]},
     {"@entity": ["must set one of 'sources', 'destinations', 'snis', 'expression' when "
                  "'protocols' is 'tcp', 'tls' or 'udp'"]}),
])
def test_entity_checks(violation, body, fields):
    assert violation(X, body)["fields"] == fields


def test_sources_and_destinations_are_refused_on_http_routes(violation):
    # Kong accepts them in this flavour; the HTTP router does not match on
    # them, so they are refused rather than ignored
    body = violation(X, {"protocols": ["http"], "sources": [{"ip": "10.0.0.0/8"}],
                         "paths": ["/a"]})
    assert body["fields"] == {
        "sources": "cannot set 'sources' when 'protocols' is 'http' or 'https'"}


def _expr_error(violation, expression: str, protocols=("http", "https")) -> str:
    body = violation(X, {"expression": expression, "protocols": list(protocols)})
    (message,) = body["fields"]["@entity"]
    assert message.startswith(PREFIX)
    assert body["message"] == f"schema violation ({message})"
    return message[len(PREFIX):]


@pytest.mark.parametrize("expression,message", [
    ('http.foo == "a"', "Unknown LHS field"),
    ('http.headers.a.b == "a"', "Unknown LHS field"),
    ('http.path == 1', "Type mismatch between the LHS and RHS values of predicate"),
    ('net.dst.port == "80"', "Type mismatch between the LHS and RHS values of predicate"),
    ('net.src.ip == "10.0.0.1"', "Type mismatch between the LHS and RHS values of predicate"),
    ('lower(net.dst.port) == 1',
     "lower-case transformation function only supported with String type fields"),
    ('net.dst.port ~ "1"', "Regex operators only supports string operands"),
    ('net.dst.port ^= 1', "Regex/Prefix/Postfix operators only supports string operands"),
    ('http.path > "a"', "Greater/GreaterOrEqual/Lesser/LesserOrEqual operators only supports "
                        "integer operands"),
    ('net.src.ip in 10.0.0.1', "In/NotIn operators only supports IP in CIDR"),
    ('http.path in 10.0.0.0/8', "In/NotIn operators only supports IP in CIDR"),
    ('net.dst.port contains 1', "Contains operator only supports string operands"),
    ('http.path.segments.01_2 == "a"', "illformed http.path.segments.* field"),
    ('http.path.segments.2_1 == "a"', "illformed http.path.segments.* field"),
    ('http.path.segments.1_1 == "a"', "illformed http.path.segments.* field"),
    ('http.path.segments.x == "a"', "illformed http.path.segments.* field"),
])
def test_engine_messages(violation, expression, message):
    assert _expr_error(violation, expression) == message


def test_http_fields_are_unknown_on_stream_routes(violation):
    assert _expr_error(violation, 'http.path == "/a"', ["tcp"]) == "Unknown LHS field"
    assert X.validate({"expression": "net.dst.port == 9000", "protocols": ["tcp"]})


def test_parse_errors_name_position_and_reason(violation):
    assert _expr_error(violation, 'http.path = "/a"') == (
        " --> 1:11\n  |\n1 | http.path = \"/a\"\n  |           ^---\n  |\n"
        "  = expected binary_operator")
    assert _expr_error(violation, '! http.path == "/a"').endswith("= expected term")
    assert _expr_error(violation, 'http.path == "/a" &&').endswith("= expected term")
    err = _expr_error(violation, '(http.path == "/a"')
    assert err.startswith(" --> 1:19\n") and err.endswith("= expected logical_operator")
    # custom errors underline atc-router's span: the call, the predicate, the literal
    assert _expr_error(violation, 'foo(http.path) == "a"') == (
        " --> 1:1\n  |\n1 | foo(http.path) == \"a\"\n  | ^------------^\n  |\n"
        "  = unknown transformation function: foo")
    assert _expr_error(violation, 'http.path ~ 1') == (
        " --> 1:1\n  |\n1 | http.path ~ 1\n  | ^-----------^\n  |\n"
        "  = regex operator can only be used with String operands")
    assert _expr_error(violation, 'net.src.ip in 10.0.0.1/8') == (
        " --> 1:15\n  |\n1 | net.src.ip in 10.0.0.1/8\n  |               ^--------^\n"
        "  |\n  = host part of address was not zero")
    # a second line is located by line and column
    err = _expr_error(violation, 'http.path == "/a" &&\n  http.method = "GET"')
    assert err.startswith(" --> 2:15\n  |\n2 |   http.method = \"GET\"\n")


@pytest.mark.parametrize("pattern", [
    "(?=a)", "(?<!a)b", r"(a)\1", "[a-z&&[^aeiou]]", r"\<word", "(?u)a", "(unclosed",
])
def test_regexes_pcre_would_read_otherwise_are_refused(violation, pattern):
    err = _expr_error(violation, f'http.path ~ r#"{pattern}"#')
    assert "regex parse error:" in err


def test_stream_routes_refuse_regexes(violation):
    assert _expr_error(violation, 'tls.sni ~ "a"', ["tls"]) == (
        "Regex operators are not supported on stream routes")


def test_trees_and_precedence():
    pred = ["pred", "http.path", "==", "/a"]
    assert parse('http.path == "/a"') == pred
    # `||` binds tighter than `&&`
    a, b, c = ('http.method == "G"', 'http.path == "/a"', 'http.host == "h"')
    assert parse(f"{a} && {b} || {c}") == ["and", parse(a), ["or", parse(b), parse(c)]]
    assert parse(f"{a} || {b} && {c}") == ["and", ["or", parse(a), parse(b)], parse(c)]
    assert parse(f"!({a})") == ["not", parse(a)]
    assert parse('lower(any(http.headers.x)) == "v"') == [
        "pred", "http.headers.x", "==", "v", 3]
    assert parse('any(http.headers.x) == "v"') == ["pred", "http.headers.x", "==", "v", 2]
    assert parse('lower(http.headers.x) == "v"') == ["pred", "http.headers.x", "==", "v", 1]
    assert parse("net.src.ip in 10.0.0.0/8")[3] == {"cidr": "10.0.0.0/8"}
    assert parse("net.src.ip == ::1")[3] == {"ip": "::1"}
    assert parse("net.dst.port == -0x10")[3] == -16
    assert parse('http.path == "a\\"b\\\\\\n"')[3] == 'a"b\\\n'
    # the deprecated net.port
    assert parse("net.port == 80")[1] == "net.dst.port"


@pytest.mark.parametrize("protocols,guard", [
    (["http", "https"], ["http", "https"]),
    (["grpc", "grpcs"], ["http", "https"]),
    (["tcp", "udp"], ["tcp", "udp"]),
    (["https"], None), (["tls"], None), (["tls_passthrough"], None),
])
def test_protocol_guard(protocols, guard):
    tree = compile_route({"expression": "net.dst.port == 1", "protocols": protocols})
    if guard is None:
        assert tree == parse("net.dst.port == 1")
        return
    assert tree == ["and", parse("net.dst.port == 1"), ["protocol", *guard]]
