"""/metrics: what Prometheus scrapes, only with METRICS_TOKEN.

The queue lengths are read from a real Redis broker (one the test starts),
holding tasks really published to it.
"""

import os
import subprocess
import sys
import urllib.request
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from notifications.models import OutboxMessage
from notifications.tasks import send_outbox_message, send_unsent_messages
from tests.factories import ContestFactory, EntryFactory
from tests.support import (
    BASE_DIR,
    celery_publishing_to,
    free_port,
    periodic_queue,
    port_answers,
    postgres_test_database_url,
    wait_until,
)
from tweetup.tasks import beat_heartbeat

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789"


def scrape(client=None, token=TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return (client or Client()).get("/metrics", headers=headers)


def samples(response) -> dict[tuple, float]:
    """Every sample of a scrape, keyed by name and sorted labels."""
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, *sorted(sample.labels.items()))] = sample.value
    return found


def test_metrics_are_not_served_without_a_token_configured(settings):
    settings.METRICS_TOKEN = ""
    assert scrape().status_code == 404
    assert scrape(token="").status_code == 404


def test_metrics_refuse_a_scrape_without_the_token(settings):
    settings.METRICS_TOKEN = TOKEN
    assert scrape(token="").status_code == 403
    assert scrape(token="wrong").status_code == 403
    assert Client().get("/metrics", {"token": TOKEN}).status_code == 403


def test_a_scrape_reads_requests_entries_outbox_and_beat(settings):
    settings.METRICS_TOKEN = TOKEN
    contest = ContestFactory()
    EntryFactory.create_batch(2, contest=contest, confirmed_at=None)
    EntryFactory(contest=contest)
    EntryFactory(contest=contest, invalidated_at=timezone.now(), invalid_reason="twice")
    old = timezone.now() - timedelta(minutes=10)
    for number, status in enumerate(["pending", "pending", "sent", "failed"]):
        message = OutboxMessage.objects.create(
            key=f"metrics-{number}",
            kind="entry_confirm",
            to_email="someone@example.org",
            subject="Hi",
            status=status,
            sent_at=timezone.now() if status == "sent" else None,
        )
        if number == 0:
            OutboxMessage.objects.filter(pk=message.pk).update(created_at=old)
    beat_heartbeat.delay()
    before = samples(scrape())
    client = Client()
    assert client.get(contest.get_absolute_url()).status_code == 200
    assert client.get("/no-such-page/").status_code == 404

    response = scrape()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    found = samples(response)

    def requests(status: str) -> float:
        key = ("tweetup_http_requests_total", ("method", "GET"), ("status", status))
        return found.get(key, 0) - before.get(key, 0)

    assert requests("200") == 1 and requests("404") == 1  # scrapes are not counted
    assert found[("tweetup_http_request_duration_seconds_count", ("method", "GET"))] >= 2
    assert found[("tweetup_entries", ("state", "unconfirmed"))] == 2
    assert found[("tweetup_entries", ("state", "confirmed"))] == 1
    assert found[("tweetup_entries", ("state", "invalidated"))] == 1
    assert found[("tweetup_outbox_messages", ("status", "pending"))] == 2
    assert found[("tweetup_outbox_messages", ("status", "sending"))] == 0
    assert found[("tweetup_outbox_messages", ("status", "sent"))] == 1
    assert found[("tweetup_outbox_messages", ("status", "failed"))] == 1
    assert 600 <= found[("tweetup_outbox_oldest_unsent_age_seconds",)] < 660
    assert found[("tweetup_beat_heartbeat_age_seconds",)] < 5
    assert found[("tweetup_metrics_source_up", ("source", "database"))] == 1
    assert b"someone@example.org" not in response.content


@pytest.mark.integration
def test_a_scrape_counts_the_tasks_waiting_in_each_celery_queue(settings, private_redis):
    settings.METRICS_TOKEN = TOKEN
    broker_url = f"redis://127.0.0.1:{private_redis.port}/0"
    queue = "metrics-test"
    with (
        celery_publishing_to(broker_url, queue),
        override_settings(
            CELERY_TASK_DEFAULT_QUEUE=queue, CELERY_PERIODIC_QUEUE=periodic_queue(queue)
        ),
    ):
        # No worker runs: the tasks wait in the queues.
        for message_id in range(3):
            send_outbox_message.delay(message_id)
        send_outbox_message.apply_async((99,), priority=9)
        send_unsent_messages.delay()
        found = samples(scrape())
        assert found[("tweetup_celery_queue_length", ("queue", queue))] == 4
        assert found[("tweetup_celery_queue_length", ("queue", periodic_queue(queue)))] == 1
        assert found[("tweetup_metrics_source_up", ("source", "broker"))] == 1

        private_redis.stop()
        try:
            response = scrape()
        finally:
            private_redis.start()
    # The broker's figures are left out, the rest is served.
    found = samples(response)
    assert response.status_code == 200
    assert found[("tweetup_metrics_source_up", ("source", "broker"))] == 0
    assert not any(key[0] == "tweetup_celery_queue_length" for key in found)
    assert ("tweetup_entries", ("state", "confirmed")) in found


@pytest.mark.integration
def test_a_scrape_adds_up_the_requests_of_every_gunicorn_worker(db, tmp_path):
    """gunicorn.conf.py with PROMETHEUS_MULTIPROC_DIR: any worker answers for all of them."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"left by a previous run")
    bind = f"127.0.0.1:{free_port()}"
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "tweetup.wsgi"],
        cwd=BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tweetup.settings.test",
            "DATABASE_URL": postgres_test_database_url(),
            "GUNICORN_BIND": bind,
            "WEB_CONCURRENCY": "3",
            "PROMETHEUS_MULTIPROC_DIR": str(folder),
            "METRICS_TOKEN": TOKEN,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        host, port = bind.rsplit(":", 1)
        wait_until(lambda: port_answers(host, int(port)), timeout=30, what="gunicorn to answer")
        for _request in range(12):
            with urllib.request.urlopen(f"http://{bind}/contests/", timeout=10) as answer:
                assert answer.status == 200
        totals = set()
        for _scrape in range(6):
            request = urllib.request.Request(
                f"http://{bind}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                found = {}
                for family in text_string_to_metric_families(answer.read().decode()):
                    for sample in family.samples:
                        found[(sample.name, *sorted(sample.labels.items()))] = sample.value
            totals.add(found[("tweetup_http_requests_total", ("method", "GET"), ("status", "200"))])
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
    assert totals == {12}
