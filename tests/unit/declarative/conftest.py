"""A datastore handle for the declarative tests: SQLite unless a test asks for more."""
import pytest

import kongpy.db


@pytest.fixture
def sqlite_db(tmp_path):
    handle = kongpy.db.open({"database": "sqlite", "sqlite_path": str(tmp_path / "k.db")})
    handle.migrations.bootstrap()
    yield handle
    handle.close()
