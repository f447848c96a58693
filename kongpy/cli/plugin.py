"""`kongpy plugin new NAME`: a working custom plugin skeleton from templates/plugin/."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import click
import jinja2

from kongpy import paths, plugins
from kongpy.cli._common import Group, verbosity

log = logging.getLogger(__name__)

_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
_FILES = {"handler.lua.j2": "handler.lua", "schema.py.j2": "schema.py",
          "test_plugin.py.j2": "test_{ident}.py"}


def render_plugin(name: str, directory: Path, priority: int = 1000) -> Path:
    """Writes ``directory/name/`` and returns it; refuses to overwrite."""
    if not _NAME_RE.match(name):
        raise click.ClickException(
            f"invalid plugin name '{name}': lower-case letters, digits and '-' only")
    if name in plugins.bundled_names():
        raise click.ClickException(f"'{name}' is the name of a bundled plugin; choose another")
    folder = directory / name
    if folder.exists():
        raise click.ClickException(f"{folder} already exists")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(paths.templates_dir() / "plugin"),
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    ident = name.replace("-", "_")
    folder.mkdir(parents=True)
    for template, target in _FILES.items():
        text = env.get_template(template).render(name=name, ident=ident, priority=priority)
        (folder / target.format(ident=ident)).write_text(text)
    log.info("plugin %s written to %s", name, folder)
    return folder


@click.group(cls=Group)
def plugin() -> None:
    """Custom plugins."""


@plugin.command()
@click.argument("name")
@click.option("-d", "--dir", "directory", default=".", show_default=True,
              type=click.Path(file_okay=False), help="Folder to create the plugin in.")
@click.option("--priority", default=1000, show_default=True, type=int,
              help="PRIORITY of the handler (higher runs first).")
@verbosity
def new(name: str, directory: str, priority: int) -> None:
    """Create plugins folder NAME/ with handler.lua, schema.py and a test."""
    folder = render_plugin(name, Path(directory), priority)
    click.echo(f"Plugin '{name}' created in {folder}\n"
               f"Enable it with: plugins = bundled, {name}\n"
               f"            and plugins_path = {folder.parent.resolve()}")
