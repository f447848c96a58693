"""The `kongpy` command line (console script `kongpy = kongpy.cli:main`)."""
from __future__ import annotations

import os

import click

import kongpy
from kongpy import paths

from kongpy.cli._common import Group
from kongpy.cli.admin import admin
from kongpy.cli.check import check
from kongpy.cli.config import config
from kongpy.cli.health import health
from kongpy.cli.migrations import migrations
from kongpy.cli.plugin import plugin
from kongpy.cli.prepare import prepare
from kongpy.cli.reload import reload
from kongpy.cli.restart import restart
from kongpy.cli.start import start
from kongpy.cli.stop import quit, stop
from kongpy.cli.vault import vault
from kongpy.cli.version import version


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(kongpy.__version__, "--version", "-V", prog_name="kongpy",
                      message="%(prog)s %(version)s")
def main() -> None:
    """kongpy: an API gateway that speaks Kong's Admin API."""
    os.umask(paths.UMASK)


for _command in (start, stop, quit, reload, restart, health, check, prepare, config,
                 migrations, plugin, admin, vault, version):
    main.add_command(_command)
