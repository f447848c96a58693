"""The web GUI (Kong Manager's place): static pages served by the control plane.

Nothing runs at import: call :func:`kongpy.gui.app.create_app`.
"""
