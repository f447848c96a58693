"""WSGI entry point of the web GUI: `gunicorn kongpy.gui.wsgi:app`.

The node supervisor sets `KONGPY_PREFIX`; the pages are configured from the
conf saved in that prefix, as the Admin API is.
"""
from __future__ import annotations

import os

from gunicorn.http import wsgi as gunicorn_wsgi

import kongpy
from kongpy import conf, paths
from kongpy.gui.app import create_app

gunicorn_wsgi.SERVER = f"kongpy/{kongpy.__version__}"

app = create_app(conf.load(str(paths.prefix(os.environ["KONGPY_PREFIX"]).env_file), env={}))
