# The visitors' tests share the visits tests' fixtures: a visit, its staff, and
# a cache cleared around each test for the rate limits.
from tests.visits.conftest import _clear_cache, organizer, tour_admin, visit  # noqa: F401
