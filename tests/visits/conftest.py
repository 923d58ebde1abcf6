import pytest
from django.core.cache import cache

from tests.factories import VisitFactory


@pytest.fixture(autouse=True)
def _clear_cache():
    # The rate limits count in the cache; each test starts afresh.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def visit(db):
    return VisitFactory()
