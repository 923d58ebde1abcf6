"""A Redis cache that stops answering slows nothing down and refuses nobody.

The cache is the production one (django-redis, as `CACHE_URL=rediscache://`
configures it) on a Redis server of the test's own, which the test stops.
"""

import pytest
from django.core.cache import caches
from django.test import Client, override_settings
from django.urls import reverse

from contests.models import Entry
from tests.factories import ContestFactory, entry_form_data, staff_user
from tweetup.roles import ORGANIZERS
from tweetup.settings import base

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def redis_cache(private_redis, monkeypatch):
    """The production cache settings on the test's own Redis; closed afterwards."""
    monkeypatch.setenv("CACHE_URL", f"rediscache://127.0.0.1:{private_redis.port}/1")
    settings = base.cache_settings("locmemcache://unused")
    assert settings["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    with override_settings(CACHES=settings, ENTRY_RATE_LIMIT="10/h", LOGIN_RATE_LIMIT="20/10m"):
        caches["default"].clear()
        yield private_redis
        caches["default"].close()


def _enter(client: Client, contest, number: int):
    token = client.get(contest.get_absolute_url()).cookies["csrftoken"].value
    data = entry_form_data(email=f"person{number}@example.org", twitter_handle=f"person_{number}")
    return client.post(contest.get_absolute_url(), {**data, "csrfmiddlewaretoken": token})


def test_entries_and_the_admin_login_work_while_the_cache_redis_is_down(redis_cache):
    contest = ContestFactory()
    staff_user("organizer", ORGANIZERS)
    warm = Client()
    assert warm.get(contest.get_absolute_url()).status_code == 200  # fills the form cache
    assert _enter(Client(enforce_csrf_checks=True), contest, 0).status_code == 302

    redis_cache.stop()
    try:
        for number in range(1, 4):
            visitor = Client(enforce_csrf_checks=True, raise_request_exception=False)
            response = _enter(visitor, contest, number)
            assert response.status_code == 302, response.content[:300]
        organizer = Client(raise_request_exception=False)
        login = organizer.post(
            reverse("admin:login"),
            {"username": "organizer", "password": "pw", "next": "/admin/"},
        )
        assert login.status_code == 302 and login.url == "/admin/"
        assert organizer.get("/admin/").status_code == 200
    finally:
        redis_cache.start()

    assert Entry.objects.filter(contest=contest).count() == 4
    assert _enter(Client(enforce_csrf_checks=True), contest, 4).status_code == 302
