"""The Admin API suite runs once per datastore, like the DAO suite."""
import pytest

import kongpy.db
from kongpy.admin import close_app, create_app
from tests.helpers.datastores import BACKENDS, clean


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request, datastore_pool):
    return datastore_pool.get(request.param)


@pytest.fixture
def changes():
    return []


@pytest.fixture
def app(tmp_path, changes, backend):
    handle = kongpy.db.open(backend)
    try:
        clean(handle)
    finally:
        handle.close()
    # A secret to check that GET / hides it (the real one when a server needs it).
    config = {"pg_password": "hunter2", **backend, "prefix": str(tmp_path),
              "admin_listen": ["127.0.0.1:8001"]}
    application = create_app(config, node_id="0b7d2a4e-3c1f-4f57-a1c7-8f1b7d4c2e10",
                             on_change=lambda: changes.append(1))
    yield application
    close_app(application)


@pytest.fixture
def client(app):
    return app.test_client()
