"""pre-function and post-function's configuration through the Admin API."""
from __future__ import annotations

import pytest

from tests.helpers.http import admin

PHASES = ("certificate", "rewrite", "access", "header_filter", "body_filter", "log")


@pytest.mark.parametrize("name", ["pre-function", "post-function"])
def test_defaults_and_phases(client, name):
    plugin = admin(client).post("/plugins", {"name": name, "config": {
        "access": ["local x = 1 return function() x = x + 1 end", "ngx.status = 200"]}})
    assert plugin["config"] == {
        "certificate": [], "rewrite": [], "header_filter": [], "body_filter": [], "log": [],
        "access": ["local x = 1 return function() x = x + 1 end", "ngx.status = 200"]}
    assert plugin["protocols"] == ["grpc", "grpcs", "http", "https"]


@pytest.mark.parametrize("name", ["pre-function", "post-function"])
def test_at_least_one_phase(client, name):
    expected = ("at least one of these fields must be non-empty: "
                + ", ".join(f"'config.{p}'" for p in PHASES))
    for config in ({}, {"access": []}):
        body = admin(client).post("/plugins", {"name": name, "config": config}, 400)
        assert body["fields"] == {"@entity": [expected]}


@pytest.mark.parametrize("name", ["pre-function", "post-function"])
def test_code_that_does_not_parse(client, name):
    body = admin(client).post("/plugins", {"name": name, "config": {
        "log": ["local ok = 1", "print("]}}, 400)
    # Kong's message, on the element of the array
    assert body["fields"] == {"config": {"log": [
        None, f"error parsing {name}: [string \"print(\"]:1: unexpected symbol near '<eof>'"]}}


def test_code_is_not_run_at_configuration_time(client):
    # neither an error it raises nor a return value that is no function
    api = admin(client)
    api.post("/plugins", {"name": "pre-function", "config": {
        "access": ['error("should never happen")', 'return "hello-world"']}})


def test_certificate_phase_refused(client):
    body = admin(client).post("/plugins", {"name": "pre-function", "config": {
        "certificate": ["kong.log.err('x')"]}}, 400)
    assert body["fields"] == {"config": {"certificate": (
        "kongpy does not run the certificate phase: functions for it are not supported")}}


def test_consumer_scope_refused(client):
    api = admin(client)
    api.post("/consumers", {"username": "carl"})
    body = api.post("/consumers/carl/plugins", {"name": "post-function",
                                                "config": {"access": ["local a = 1"]}}, 400)
    assert body["fields"] == {"consumer": "value must be null"}
