"""The Admin API (Flask). Nothing runs at import: call :func:`create_app`."""
from __future__ import annotations

from typing import Any


def create_app(*args: Any, **kwargs: Any):  # noqa: ANN201 - returns flask.Flask
    """See :func:`kongpy.admin.app.create_app`."""
    from kongpy.admin.app import create_app as _create_app
    return _create_app(*args, **kwargs)


def close_app(app: Any) -> None:
    """Ends what an application started: its history recorder records what is
    pending and stops, then its datastore handle closes."""
    kongpy_state = app.extensions["kongpy"]
    recorder = kongpy_state.get("history")
    if recorder is not None:
        recorder.close()
    kongpy_state["db"].close()


__all__ = ["close_app", "create_app"]
