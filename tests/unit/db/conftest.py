"""The DAO contract suite runs once per datastore (Kong's ``each_strategy``)."""
import pytest

import kongpy.db
from tests.helpers.datastores import BACKENDS, clean


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request, datastore_pool):
    """Settings of an empty, bootstrapped datastore of each kind."""
    return datastore_pool.get(request.param)


@pytest.fixture
def db(backend):
    handle = kongpy.db.open(backend)
    clean(handle)
    yield handle
    handle.close()
