import pytest
from django.core.cache import cache

from tests.factories import VisitFactory, staff_user
from tweetup.roles import ORGANIZERS, TOUR_ADMINS


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
def tour_admin(db):
    return staff_user("touradmin", TOUR_ADMINS)


@pytest.fixture
def organizer(db):
    return staff_user("organizer", ORGANIZERS)
