import pytest

from kongpy.errors import SchemaViolation


@pytest.fixture
def violation():
    """Validate and return the schema-violation body (fails if validation passes)."""
    def _run(schema, body):
        with pytest.raises(SchemaViolation) as info:
            schema.validate(body)
        return info.value.to_body()
    return _run
