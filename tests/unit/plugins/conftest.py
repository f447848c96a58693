import pytest

from kongpy.admin import create_app


@pytest.fixture
def app(tmp_path):
    config = {"database": "sqlite", "sqlite_path": str(tmp_path / "p.db"),
              "prefix": str(tmp_path)}
    application = create_app(config, node_id="0b7d2a4e-3c1f-4f57-a1c7-8f1b7d4c2e10")
    yield application
    application.extensions["kongpy"]["db"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    return app.extensions["kongpy"]["db"]
