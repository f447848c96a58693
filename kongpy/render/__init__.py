"""Rendering of a node's prefix: nginx.conf, settings.json, default TLS pair."""
from kongpy.render.writer import (NginxTestError, RenderError, RenderResult, prepare,
                                  render_nginx_conf)

__all__ = ["NginxTestError", "RenderError", "RenderResult", "prepare", "render_nginx_conf"]
