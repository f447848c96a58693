"""`kongpy config init [FILE]`: write a starting declarative configuration
(Kong's `kong config init`; `kong.yml` by default). Needs no conf and no
datastore; an existing file is never overwritten."""
from __future__ import annotations

import os

import click

from kongpy.cli._common import verbosity
from kongpy.cli._declarative import CommandError

DEFAULT_FILE = "kong.yml"

EXAMPLE = """\
# A declarative configuration for kongpy (Kong's format).
#
# Check it:           kongpy config parse kong.yml
# Serve it DB-less:   database = off, declarative_config = /path/to/kong.yml
# Load it into a DB:  kongpy config db_import kong.yml
#
# Every entity may carry an `id`, `tags` and the fields the Admin API takes.

_format_version: "3.0"
_transform: true

services: []
# - name: example-service
#   url: http://example.com
#   plugins:
#   - name: key-auth
#   routes:
#   - name: example-route
#     paths:
#     - /example

consumers: []
# - username: example-user
#   keyauth_credentials:
#   - key: my-key

plugins: []
# - name: rate-limiting
#   config:
#     minute: 5
#     policy: local

upstreams: []
# - name: example-upstream
#   targets:
#   - target: 127.0.0.1:8080
#     weight: 100

certificates: []
vaults: []
"""


@click.command("init")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@verbosity
def init(path: str | None) -> None:
    """Write an example declarative configuration to start from (default kong.yml)."""
    target = os.path.abspath(path or DEFAULT_FILE)
    try:
        # exclusive creation: never replace a file, even one that just appeared
        with open(target, "x", encoding="utf-8") as fh:
            fh.write(EXAMPLE)
    except FileExistsError:
        raise CommandError(f"{target} already exists.\nWill not overwrite it.") from None
