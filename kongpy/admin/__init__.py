"""The Admin API (Flask). Nothing runs at import: call :func:`create_app`."""
from __future__ import annotations

from typing import Any


def create_app(*args: Any, **kwargs: Any):  # noqa: ANN201 - returns flask.Flask
    """See :func:`kongpy.admin.app.create_app`."""
    from kongpy.admin.app import create_app as _create_app
    return _create_app(*args, **kwargs)


__all__ = ["create_app"]
