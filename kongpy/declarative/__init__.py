"""Kong's declarative configuration format (``_format_version`` 1.1, 2.1, 3.0).

``parse(text, db)`` checks a document against the datastore's entity
schemas and returns its entities; ``kongpy config parse | db_import |
db_export`` are built on it (kongpy/declarative/dbio.py, export.py).
"""
from __future__ import annotations

from typing import Any

from kongpy.declarative.catalog import Catalog
from kongpy.declarative.errors import DeclarativeError
from kongpy.declarative.load import ParseError, parse_text
from kongpy.declarative.validate import Config, Entry, flatten


def parse(text: str, db: Any, filename: str | None = None) -> Config:
    """The entities of a document; DeclarativeError when it is not valid."""
    try:
        doc = parse_text(text, filename)
    except ParseError as exc:
        raise DeclarativeError.parse(str(exc).split(": ", 1)[1]) from None
    return flatten(doc, Catalog.of(db))


__all__ = ["parse", "Catalog", "Config", "Entry", "DeclarativeError"]
