"""tcp-log, udp-log and syslog configuration through the Admin API: Kong
3.9's defaults and schema messages."""
from __future__ import annotations

from tests.helpers.http import admin


def test_defaults(client):
    api = admin(client)
    tcp = api.post("/plugins", {"name": "tcp-log", "config": {"host": "logs.test", "port": 9}})
    assert tcp["config"] == {"host": "logs.test", "port": 9, "timeout": 10000,
                             "keepalive": 60000, "tls": False, "tls_sni": None,
                             "custom_fields_by_lua": None}
    assert tcp["protocols"] == ["grpc", "grpcs", "http", "https"]
    udp = api.post("/plugins", {"name": "udp-log", "config": {"host": "10.0.0.1", "port": 9}})
    assert udp["config"] == {"host": "10.0.0.1", "port": 9, "timeout": 10000,
                             "custom_fields_by_lua": None}
    syslog = api.post("/plugins", {"name": "syslog"})
    assert syslog["config"] == {"log_level": "info", "successful_severity": "info",
                                "client_errors_severity": "info",
                                "server_errors_severity": "info", "facility": "user",
                                "custom_fields_by_lua": None}


def test_messages(client):
    api = admin(client)
    for name in ("tcp-log", "udp-log"):
        body = api.post("/plugins", {"name": name}, 400)
        assert body["fields"] == {"config": {"host": "required field missing",
                                             "port": "required field missing"}}
        body = api.post("/plugins", {"name": name, "config": {
            "host": "a b", "port": 70000, "timeout": "x"}}, 400)
        assert body["fields"]["config"] == {
            "host": "invalid value: a b",
            "port": "value should be between 0 and 65535",
            "timeout": "expected a number"}
    body = api.post("/plugins", {"name": "tcp-log", "config": {
        "host": "h", "port": 1, "tls": "yes", "keepalive": "long"}}, 400)
    assert body["fields"]["config"] == {"tls": "expected a boolean",
                                        "keepalive": "expected a number"}
    body = api.post("/plugins", {"name": "syslog", "config": {
        "log_level": "warn", "facility": "USER", "server_errors_severity": "error"}}, 400)
    severities = "expected one of: debug, info, notice, warning, err, crit, alert, emerg"
    assert body["fields"]["config"] == {
        "log_level": severities, "server_errors_severity": severities,
        "facility": "expected one of: auth, authpriv, cron, daemon, ftp, kern, lpr, mail, "
                    "news, syslog, user, uucp, local0, local1, local2, local3, local4, "
                    "local5, local6, local7"}
    body = api.post("/plugins", {"name": "udp-log", "config": {
        "host": "h", "port": 1, "custom_fields_by_lua": {"x": "return ("}}}, 400)
    assert "custom_fields_by_lua" in body["fields"]["config"]
