"""A Redis cache that stops answering slows nothing down and refuses nobody.

The cache is the production one (django-redis, as `CACHE_URL=rediscache://`
configures it) on a Redis server of the test's own, which the test stops.
"""

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contests.models import Entry
from contests.services.entries import contest_save
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


def _home(language: str = "en") -> str:
    client = Client(raise_request_exception=False)
    response = client.get("/", headers={"accept-language": language})
    assert response.status_code == 200, response.content[:300]
    return response.content.decode()


def test_the_home_page_renders_its_lists_while_the_cache_redis_is_down(redis_cache):
    contest = ContestFactory(title_en="Open one", title_fr="Concours ouvert")
    assert "Open one" in _home()  # its lists kept in Redis

    redis_cache.stop()
    try:
        for language, title in (("en", "Open one"), ("fr", "Concours ouvert"), ("en", "Open one")):
            assert title in _home(language)
        contest.title_en = "Renamed while the cache is down"
        contest_save(contest=contest)
        assert "Renamed while the cache is down" in _home()
    finally:
        redis_cache.start()

    contest.title_en = "Renamed once it is back"
    contest_save(contest=contest)
    assert "Renamed once it is back" in _home()
    with CaptureQueriesContext(connection) as queries:
        assert "Renamed once it is back" in _home()
    assert len(queries) == 0  # kept in the cache again
