"""/healthz and /healthz/ready: what a load balancer and monitoring read.

The services are real and broken for real: the database's connection is
pointed at a closed port, the cache's Redis is one the test started and
stops, the broker's address is a closed port.
"""

import json
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.test import Client, override_settings
from django.utils import timezone

from notifications.models import OutboxMessage
from tests.outages import database_unreachable
from tests.support import free_port
from tweetup.celery import app as celery_app
from tweetup.models import Heartbeat
from tweetup.settings import base
from tweetup.tasks import beat_heartbeat

# The readiness check sees the connection closed and reopened, so the test
# runs outside a transaction of its own.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def all_well():
    """A beat that just ticked, and no mail waiting: every check can pass."""
    beat_heartbeat.delay()  # what beat sends every minute (run eagerly here)


def ready(client=None, **extra):
    response = (client or Client()).get("/healthz/ready", **extra)
    return response, json.loads(response.content)


def test_liveness_answers_ok_without_touching_the_database(django_assert_num_queries):
    with django_assert_num_queries(0), database_unreachable():
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readiness_is_200_when_every_check_passes_in_two_queries(
    all_well, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):
        response, body = ready()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and body["failing"] == []
    assert set(body["checks"]) == {"database", "outbox", "beat", "cache", "broker"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["beat"]["last_beat_seconds"] <= 5
    assert body["checks"]["outbox"]["oldest_unsent_seconds"] is None


def test_readiness_names_the_database_when_it_is_down(all_well):
    with database_unreachable():
        response, body = ready()
    assert response.status_code == 503
    assert body["status"] == "fail" and body["failing"] == ["database"]
    assert body["checks"]["database"] == {
        "ok": False,
        "error": "OperationalError",
        "ms": body["checks"]["database"]["ms"],
    }
    # What needs the database is not checked, and not blamed.
    assert body["checks"]["outbox"]["ok"] is None and body["checks"]["beat"]["ok"] is None
    # Back up, the next probe is ready again.
    assert ready()[0].status_code == 200


def test_readiness_names_the_cache_when_its_redis_is_down(all_well, private_redis, monkeypatch):
    monkeypatch.setenv("CACHE_URL", f"rediscache://127.0.0.1:{private_redis.port}/1")
    with override_settings(CACHES=base.cache_settings("locmemcache://unused")):
        try:
            assert ready()[0].status_code == 200
            private_redis.stop()
            try:
                response, body = ready()
            finally:
                private_redis.start()
        finally:
            caches["default"].close()
    assert response.status_code == 503
    assert body["failing"] == ["cache"]
    assert body["checks"]["cache"]["error"] == "ConnectionError"
    assert body["checks"]["cache"]["ms"] < 1000


def test_readiness_names_the_broker_when_it_does_not_answer(all_well, monkeypatch):
    monkeypatch.setitem(celery_app.conf, "broker_url", f"redis://127.0.0.1:{free_port()}/0")
    response, body = ready()
    assert response.status_code == 503
    assert body["failing"] == ["broker"]
    assert body["checks"]["broker"]["error"] == "ConnectionError"


def test_readiness_answers_a_live_redis_broker(all_well, private_redis, monkeypatch):
    monkeypatch.setitem(celery_app.conf, "broker_url", f"redis://127.0.0.1:{private_redis.port}/0")
    response, body = ready()
    assert response.status_code == 200, body


def test_readiness_fails_on_mail_waiting_too_long_without_naming_anyone(all_well, settings):
    settings.HEALTH_OUTBOX_MAX_AGE = timedelta(minutes=15)
    message = OutboxMessage.objects.create(
        key="health-test", kind="entry_confirm", to_email="ada@example.org", subject="Hello"
    )
    assert ready()[0].status_code == 200  # just written: on its way

    OutboxMessage.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(minutes=16)
    )
    response, body = ready()
    assert response.status_code == 503
    assert body["failing"] == ["outbox"]
    assert 16 * 60 <= body["checks"]["outbox"]["oldest_unsent_seconds"] < 17 * 60
    assert body["checks"]["outbox"]["max_seconds"] == 900
    assert b"ada@example.org" not in response.content and b"Hello" not in response.content

    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxMessage.Status.SENT, sent_at=timezone.now()
    )
    assert ready()[0].status_code == 200


def test_readiness_fails_until_beat_has_ticked_and_when_it_stops(settings):
    settings.HEALTH_BEAT_MAX_AGE = timedelta(minutes=5)
    response, body = ready()
    assert response.status_code == 503 and body["failing"] == ["beat"]
    assert body["checks"]["beat"]["last_beat_seconds"] is None

    beat_heartbeat.delay()
    assert ready()[0].status_code == 200

    Heartbeat.objects.update(beat_at=timezone.now() - timedelta(minutes=6))
    response, body = ready()
    assert response.status_code == 503 and body["failing"] == ["beat"]
    assert body["checks"]["beat"]["last_beat_seconds"] >= 360


def test_beat_sends_the_heartbeat_on_the_periodic_queue(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["beat-heartbeat"]
    assert entry["task"] == beat_heartbeat.name
    assert entry["schedule"] <= settings.HEALTH_BEAT_MAX_AGE / 2
    assert settings.CELERY_TASK_ROUTES[beat_heartbeat.name] == {
        "queue": settings.CELERY_PERIODIC_QUEUE
    }


@override_settings(ALLOWED_HOSTS=["tweetup.example.org"], SECURE_SSL_REDIRECT=True)
def test_a_load_balancer_calling_by_address_over_http_gets_its_answer(all_well):
    balancer = Client(REMOTE_ADDR="10.0.0.2")
    for _probe in range(3):
        assert balancer.get("/healthz", HTTP_HOST="10.0.0.7:8000").status_code == 200
        assert balancer.get("/healthz/ready", HTTP_HOST="10.0.0.7:8000").status_code == 200
    # Every other page still holds to ALLOWED_HOSTS and HTTPS.
    assert balancer.get("/", HTTP_HOST="10.0.0.7:8000").status_code == 400
    assert balancer.get("/", HTTP_HOST="tweetup.example.org").status_code == 301


def test_the_endpoints_take_only_get_and_head(all_well):
    client = Client()
    assert client.head("/healthz/ready").status_code == 200
    assert client.post("/healthz").status_code == 405
