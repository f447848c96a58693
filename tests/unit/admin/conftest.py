import pytest

from kongpy.admin import create_app


@pytest.fixture
def changes():
    return []


@pytest.fixture
def app(tmp_path, changes):
    config = {"database": "sqlite", "sqlite_path": str(tmp_path / "admin.db"),
              "prefix": str(tmp_path), "pg_password": "hunter2", "admin_listen": ["127.0.0.1:8001"]}
    application = create_app(config, node_id="0b7d2a4e-3c1f-4f57-a1c7-8f1b7d4c2e10",
                             on_change=lambda: changes.append(1))
    yield application
    application.extensions["kongpy"]["db"].close()


@pytest.fixture
def client(app):
    return app.test_client()
