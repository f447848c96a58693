"""The Jinja environment for templates/: strict, so a missing name fails render."""
from __future__ import annotations

from pathlib import Path

import jinja2

from kongpy import paths


def environment(templates: str | Path | None = None) -> jinja2.Environment:
    root = Path(templates) if templates else paths.templates_dir()
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
