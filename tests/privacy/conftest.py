# The purge's tests use the visits tests' fixtures: a visit, and a cache cleared
# around each test.
from tests.visits.conftest import _clear_cache, visit  # noqa: F401
