import pytest

from kongpy.schemas import ServiceSchema as S
from kongpy.schemas.services import expand_url


def test_defaults():
    data = S.validate({"host": "example.com"})
    assert data == {
        "id": None, "created_at": None, "updated_at": None, "name": None, "retries": 5,
        "protocol": "http", "host": "example.com", "port": 80, "path": None,
        "connect_timeout": 60000, "write_timeout": 60000, "read_timeout": 60000,
        "tags": None, "client_certificate": None, "tls_verify": None,
        "tls_verify_depth": None, "ca_certificates": None, "enabled": True,
    }


def test_output_has_every_field():
    out = S.to_output({"host": "x"})
    assert list(out) == list(S.field_map())
    assert out["name"] is None


def test_host_required(violation):
    body = violation(S, {})
    assert body == {"code": 2, "name": "schema violation",
                    "message": "schema violation (host: required field missing)",
                    "fields": {"host": "required field missing"}}


def test_many_errors_sorted(violation):
    body = violation(S, {"host": "a:80", "port": "x", "foo": 1})
    assert body["message"] == ("3 schema violations (foo: unknown field; "
                               "host: must not have a port; port: expected an integer)")
    assert body["fields"] == {"foo": "unknown field", "host": "must not have a port",
                              "port": "expected an integer"}


@pytest.mark.parametrize("field,value,err", [
    ("retries", 40000, "value should be between 0 and 32767"),
    ("port", 70000, "value should be between 0 and 65535"),
    ("connect_timeout", 0, "value should be between 1 and 2147483646"),
    ("read_timeout", True, "expected an integer"),
    ("protocol", "ftp", "expected one of: grpc, grpcs, http, https, tcp, tls, "
                        "tls_passthrough, udp"),
    ("name", "a b", "invalid value 'a b': the only accepted ascii characters are "
                    "alphanumerics or ., -, _, and ~"),
    ("path", "foo", "should start with: /"),
    ("path", "/a//b", "must not have empty segments"),
    ("path", "/a%zz", "invalid url-encoded value: '%zz'"),
    ("host", "bad host", "invalid value: bad host"),
    ("enabled", "yes", "expected a boolean"),
    ("name", "", "length must be at least 1"),
    ("tls_verify_depth", 65, "value should be between 0 and 64"),
])
def test_field_messages(violation, field, value, err):
    body = {"host": "example.com", "protocol": "https", field: value}
    assert violation(S, body)["fields"] == {field: err}


def test_tags_messages(violation):
    body = violation(S, {"host": "x", "tags": ["ok", "a,b"]})
    assert body["fields"] == {"tags": [None, "invalid tag 'a,b': expected printable ascii "
                                             "(except `,` and `/`) or valid utf-8 sequences"]}
    assert body["message"].startswith("schema violation (tags.2: invalid tag")
    assert violation(S, {"host": "x", "tags": "a"})["fields"] == {"tags": "expected a set"}


def test_utf8_name_allowed():
    assert S.validate({"host": "x", "name": "sérvice~1"})["name"] == "sérvice~1"


def test_ip_hosts():
    assert S.validate({"host": "10.0.0.1"})["host"] == "10.0.0.1"
    assert S.validate({"host": "[::1]"})["host"] == "[::1]"


def test_conditional_path(violation):
    body = violation(S, {"host": "x", "protocol": "tcp", "path": "/a"})
    assert body["fields"] == {
        "@entity": ["failed conditional validation given value of field 'protocol'"],
        "path": "value must be null"}
    assert body["message"] == ("2 schema violations (failed conditional validation given "
                               "value of field 'protocol'; path: value must be null)")


def test_tls_fields_need_https(violation):
    body = violation(S, {"host": "x", "tls_verify": True})
    assert body["fields"]["tls_verify"] == "value must be null"
    assert S.validate({"host": "x", "protocol": "https", "tls_verify": True})["tls_verify"]


@pytest.mark.parametrize("url,expected", [
    ("http://example.com/a", ("http", "example.com", 80, "/a")),
    ("https://example.com", ("https", "example.com", 443, None)),
    ("example.com:443", ("https", "example.com", 443, None)),
    ("http://example.com:8080/", ("http", "example.com", 8080, "/")),
    ("grpc://g.local:9000", ("grpc", "g.local", 9000, None)),
])
def test_url_shorthand(url, expected):
    if "://" not in url:
        url = "//" + url
    data = S.validate({"url": url})
    assert (data["protocol"], data["host"], data["port"], data["path"]) == expected
    assert "url" not in data


def test_url_not_string(violation):
    assert violation(S, {"url": 5})["fields"]["url"] == "expected a string"


def test_url_without_host(violation):
    assert violation(S, {"url": "/just/a/path"})["fields"] == {"host": "required field missing"}


def test_expand_url_unknown_port_is_http():
    assert expand_url("//h:8000")["protocol"] == "http"


def test_describe():
    desc = S.describe()
    names = [next(iter(f)) for f in desc["fields"]]
    assert names[:4] == ["id", "created_at", "updated_at", "name"]
    retries = desc["fields"][4]["retries"]
    assert retries == {"type": "integer", "default": 5, "between": [0, 32767]}
    assert desc["entity_checks"]
