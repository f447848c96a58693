import pytest

from kongpy.schemas import RouteSchema as R
from kongpy.schemas.routes import normalize_path


def test_defaults():
    data = R.validate({"paths": ["/"]})
    assert data["protocols"] == ["http", "https"]
    assert data["https_redirect_status_code"] == 426
    assert data["regex_priority"] == 0
    assert data["strip_path"] is True
    assert data["path_handling"] == "v0"
    assert data["preserve_host"] is False
    assert data["request_buffering"] is True and data["response_buffering"] is True
    for name in ("methods", "hosts", "headers", "snis", "sources", "destinations",
                 "tags", "service", "name"):
        assert data[name] is None


def test_empty_route_https_message(violation):
    assert violation(R, {})["fields"] == {"@entity": [
        "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when "
        "'protocols' is 'https'"]}


def test_http_only_message(violation):
    assert violation(R, {"protocols": ["http"]})["message"] == (
        "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths' when "
        "'protocols' is 'http')")


def test_stream_rules(violation):
    body = violation(R, {"protocols": ["tcp"], "paths": ["/x"]})
    assert body["fields"] == {
        "@entity": ["must set one of 'sources', 'destinations', 'snis' when 'protocols' "
                    "is 'tcp', 'tls' or 'udp'"],
        "paths": "cannot set 'paths' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' "
                 "or 'udp'"}
    ok = R.validate({"protocols": ["tcp"], "destinations": [{"port": 80}]})
    assert ok["destinations"] == [{"ip": None, "port": 80}]


@pytest.mark.parametrize("protocol", ["tcp", "tls", "udp", "tls_passthrough"])
@pytest.mark.parametrize("name,value", [("methods", ["GET"]), ("hosts", ["a.test"]),
                                        ("paths", ["/x"]), ("headers", {"x-a": ["1"]})])
def test_stream_routes_refuse_http_attributes(violation, protocol, name, value):
    matching = {"snis": ["a.test"]} if protocol.startswith("tls") \
        else {"sources": [{"ip": "10.0.0.1"}]}
    route = {"protocols": [protocol], **matching, name: value}
    assert violation(R, route)["fields"] == {
        name: f"cannot set '{name}' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' "
              "or 'udp'"}


@pytest.mark.parametrize("protocols", [["http"], ["https"], ["http", "https"]])
@pytest.mark.parametrize("name", ["sources", "destinations"])
def test_http_routes_refuse_stream_attributes(violation, protocols, name):
    body = violation(R, {"protocols": protocols, "paths": ["/"], name: [{"port": 80}]})
    assert body["fields"] == {name: f"cannot set '{name}' when 'protocols' is "
                                    "'http' or 'https'"}


def test_tls_passthrough_needs_snis(violation):
    assert violation(R, {"protocols": ["tls_passthrough"]})["fields"] == {
        "@entity": ["must set snis when 'protocols' is 'tls_passthrough'"]}


def test_http_forbids_sources(violation):
    body = violation(R, {"paths": ["/"], "sources": [{"ip": "10.0.0.1"}]})
    assert body["fields"] == {"sources": "cannot set 'sources' when 'protocols' is "
                                         "'http' or 'https'"}


def test_grpc(violation):
    assert R.validate({"protocols": ["grpc"], "paths": ["/x"]})["strip_path"] is False
    body = violation(R, {"protocols": ["grpc"], "paths": ["/x"], "strip_path": True,
                         "methods": ["GET"]})
    assert body["fields"] == {
        "methods": "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'",
        "strip_path": "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'"}
    assert violation(R, {"protocols": ["grpcs"]})["fields"]["@entity"] == [
        "must set one of 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'grpcs'"]


def test_mutually_exclusive(violation):
    assert violation(R, {"protocols": ["http", "tcp"], "paths": ["/"]})["fields"] == {
        "protocols": "these sets are mutually exclusive: ('http', 'https'), "
                     "('tcp', 'tls', 'udp')"}


def test_snis_only_with_tls_protocols(violation):
    body = violation(R, {"protocols": ["http"], "paths": ["/"], "snis": ["a.com"]})
    assert body["fields"] == {
        "@entity": ["'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' "
                    "or 'tls_passthrough'"],
        "snis": "length must be 0"}


@pytest.mark.parametrize("path,err", [
    ("x", "should start with: / (fixed path) or ~/ (regex path)"),
    ("/a//b", "must not have empty segments"),
    ("/a/../b", "non-normalized path, consider use '/b' instead"),
    ("/%7euser", "non-normalized path, consider use '/~user' instead"),
    # Kong decodes every escape but a reserved character's, as its router does
    ("/caf%C3%A9", "non-normalized path, consider use '/café' instead"),
    ("/foo%20bar", "non-normalized path, consider use '/foo bar' instead"),
    ("/a%2fb", "non-normalized path, consider use '/a%2Fb' instead"),
    # PCRE's verdict, worded as ngx.re words it (Kong dry-runs the regex with it)
    ("~/(a", "invalid regex: '/(a' (PCRE returned: pcre_compile() failed: missing ) "
             "in \"/(a\")"),
    ("~/a{2,1}", "invalid regex: '/a{2,1}' (PCRE returned: pcre_compile() failed: "
                 "numbers out of order in {} quantifier in \"/a{2,1}\" at \"}\")"),
])
def test_path_messages(violation, path, err):
    body = violation(R, {"paths": ["/ok", path]})
    assert body["fields"] == {"paths": [None, err]}
    assert body["message"] == f"schema violation (paths.2: {err})"


def test_paths_in_normalized_form_accepted():
    paths = ["/café", "/a%2Fb", "/100%25", "/~user"]
    assert R.validate({"paths": paths})["paths"] == paths


def test_regex_paths_accepted():
    assert R.validate({"paths": ["~/users/(?<id>\\d+)$"]})["paths"]


@pytest.mark.parametrize("path", [
    "~/(?i)users", "~/files/\\Qa.b\\E", "~/x\\h+y", "~/(?|(a)|(b))c",
    "~/p(?<id>\\d+)/\\k<id>",
])
def test_pcre_only_regex_paths_accepted(path):
    """Valid PCRE that Python's re refuses: Kong accepts these routes."""
    assert R.validate({"paths": [path]})["paths"] == [path]


@pytest.mark.parametrize("host,err", [
    ("*.a.*", "invalid wildcard: must have at most one wildcard"),
    ("a.*b.com", "invalid wildcard: must be placed at leftmost or rightmost label"),
    # Kong gives kong.tools.ip's own message for a host that may carry a port
    ("a b", "invalid hostname: a b"),
    ("a-.example.com", "invalid hostname: a-.example.com"),
    ("a..example.com", "invalid hostname: a..example.com"),
    ("1.2.3.256", "invalid ipv4 address: 1.2.3.256"),
    ("[fe80::1%eth0]", "invalid ipv6 address: [fe80::1%eth0]"),
    ("a.com:70000", "invalid port number"),
])
def test_host_messages(violation, host, err):
    assert violation(R, {"hosts": [host]})["fields"] == {"hosts": [err]}


def test_hosts_with_port_and_wildcards():
    assert R.validate({"hosts": ["*.a.com", "b.*", "c.com:8080"]})["hosts"]
    # the wildcard's placement is checked on the host, before its port
    hosts = ["*.a.com:81", "b.*:80", "route.com.*:8000"]
    assert R.validate({"hosts": hosts})["hosts"] == hosts


def test_a_wildcard_inside_a_label_is_refused_with_a_port(violation):
    assert violation(R, {"hosts": ["a.*b.com:80"]})["fields"] == {
        "hosts": ["invalid wildcard: must be placed at leftmost or rightmost label"]}


def test_headers(violation):
    assert violation(R, {"headers": {"Host": ["x"]}})["fields"] == {"headers": {
        "Host": "cannot contain 'host' header, which must be specified in the 'hosts' "
                "attribute"}}
    assert violation(R, {"headers": {"x-a": "v"}})["fields"] == {
        "headers": {"x-a": "expected an array"}}


def test_methods_and_redirect_code(violation):
    body = violation(R, {"methods": ["get"], "https_redirect_status_code": 200})
    assert body["fields"] == {"methods": ["invalid value: get"],
                              "https_redirect_status_code":
                                  "expected one of: 426, 301, 302, 307, 308"}


def test_service_fk_shape(violation):
    assert violation(R, {"paths": ["/"], "service": {"id": "x"}})["fields"] == {
        "service": {"id": "expected a valid UUID"}}
    assert violation(R, {"paths": ["/"], "service": "x"})["fields"] == {
        "service": "expected a record"}


def test_normalize_path():
    assert normalize_path("/a/./b/../c") == "/a/c"
    assert normalize_path("/a%2fb") == "/a%2Fb"


@pytest.mark.parametrize("field", ["request_buffering", "response_buffering"])
def test_unbuffered_proxying_is_refused_not_ignored(violation, field):
    assert violation(R, {"paths": ["/a"], field: False})["fields"] == {
        field: "unbuffered proxying is not supported; must be true"}
