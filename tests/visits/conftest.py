import pytest
from django.core.cache import cache

from tests.factories import VisitFactory
from tests.visits.factories import drawn_for


@pytest.fixture(autouse=True)
def _clear_cache():
    # The rate limits count in the cache; each test starts afresh.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def visit(db):
    return VisitFactory()


@pytest.fixture
def draw(visit):
    return drawn_for(visit)
