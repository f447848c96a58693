import pytest

import kongpy.db


@pytest.fixture
def db(tmp_path):
    handle = kongpy.db.open({"database": "sqlite", "sqlite_path": str(tmp_path / "k.db")})
    handle.migrations.bootstrap()
    yield handle
    handle.close()
