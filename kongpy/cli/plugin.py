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
# Kong's layout: the plugin under kong/plugins/<name>/, its tests beside kong/.
_FILES = {"handler.lua.j2": "kong/plugins/{name}/handler.lua",
          "schema.lua.j2": "kong/plugins/{name}/schema.lua",
          "test_plugin.py.j2": "tests/test_{ident}.py"}


def render_plugin(name: str, directory: Path, priority: int = 1000) -> Path:
    """Writes ``directory/kong/plugins/name/`` (and a test); returns the plugin folder.

    ``directory`` is what ``plugins_path`` names; nothing is overwritten."""
    if not _NAME_RE.match(name):
        raise click.ClickException(
            f"invalid plugin name '{name}': lower-case letters, digits and '-' only")
    if name in plugins.bundled_names():
        raise click.ClickException(f"'{name}' is the name of a bundled plugin; choose another")
    folder = directory.joinpath(*plugins.LAYOUT, name)
    if folder.exists():
        raise click.ClickException(f"{folder} already exists")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(paths.templates_dir() / "plugin"),
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    ident = name.replace("-", "_")
    for template, target in _FILES.items():
        text = env.get_template(template).render(name=name, ident=ident, priority=priority)
        path = directory / target.format(name=name, ident=ident)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
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
    """Create kong/plugins/NAME/ (handler.lua, schema.lua) and tests/ in DIR."""
    folder = render_plugin(name, Path(directory), priority)
    click.echo(f"Plugin '{name}' created in {folder}\n"
               f"Enable it with: plugins = bundled, {name}\n"
               f"            and plugins_path = {Path(directory).resolve()}")
