"""Entering a contest with the real services: PostgreSQL, Redis, a Celery worker, SMTP.

The worker is ``celery -A tweetup worker`` in a subprocess on the test
database; mail goes to an aiosmtpd server run by the test. The Redis that a
test stops is one it started itself, never the machine's.
"""

import re
import threading
import time

import pytest
from django.db import connection, connections
from django.test import Client

from contests.models import Entry
from notifications.models import OutboxMessage
from notifications.tasks import send_unsent_messages
from tests.conftest import need
from tests.factories import ContestFactory
from tests.factories import entry_form_data as form_data
from tests.support import celery_publishing_to, reconnect_celery, text_part, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_for_status(message_id: int, status: str, timeout: float = 20) -> OutboxMessage:
    def reached():
        message = OutboxMessage.objects.get(pk=message_id)
        return message if message.status == status else None

    return wait_until(reached, timeout=timeout, what=f"outbox row {message_id} to be {status}")


def test_worker_sends_the_confirmation_mail_by_smtp_after_an_entry(
    client, machine_redis_url, smtp_server, celery_worker_factory
):
    contest = ContestFactory(title="CERN TweetUp")
    worker = celery_worker_factory(broker_url=machine_redis_url)
    with celery_publishing_to(machine_redis_url, worker.queue):
        response = client.post(contest.get_absolute_url(), form_data())
    assert response.status_code == 302

    [received] = smtp_server.sink.wait_for(1)
    entry = Entry.objects.get()
    message = wait_for_status(OutboxMessage.objects.get().pk, OutboxMessage.Status.SENT)
    assert message.attempts == 1 and message.sent_at is not None
    assert received["To"] == "Lucy@Example.org"
    assert received["Subject"] == "Confirm your entry: CERN TweetUp"
    assert received["X-TweetUp-Key"] == f"entry_confirm:{entry.pk}"
    assert received.get_content_type() == "multipart/alternative"
    link = re.search(r"http://testserver(/contests/confirm/\S+/)", text_part(received)).group(1)
    page = client.post(link)
    assert page.status_code == 200 and entry.ticket in page.content.decode()
    entry.refresh_from_db()
    assert entry.confirmed_at is not None
    worker.wait_idle()
    assert len(smtp_server.sink.messages) == 1


def test_entry_made_while_the_broker_is_down_is_mailed_once_it_is_back(
    client, private_redis, smtp_server, celery_worker_factory
):
    broker_url = f"redis://{private_redis.host}:{private_redis.port}/0"
    queue = f"integ-down-{private_redis.port}"
    contest = ContestFactory()
    with celery_publishing_to(broker_url, queue):
        private_redis.stop()
        try:
            started = time.monotonic()
            response = client.post(contest.get_absolute_url(), form_data())
            elapsed = time.monotonic() - started
        finally:
            private_redis.start()
        # The entrant is not kept waiting and the entry is saved; the mail waits.
        assert response.status_code == 302
        assert elapsed < 5, f"the entry took {elapsed:.1f} s with the broker down"
        entry = Entry.objects.get()
        message = OutboxMessage.objects.get()
        assert message.status == OutboxMessage.Status.PENDING and message.attempts == 0

        reconnect_celery()
        worker = celery_worker_factory(broker_url=broker_url, queue=queue)
        assert smtp_server.sink.messages == []  # nothing was queued while Redis was down
        send_unsent_messages.delay()  # what beat does every minute, through the broker

        [received] = smtp_server.sink.wait_for(1)
        assert received["X-TweetUp-Key"] == f"entry_confirm:{entry.pk}"
        message = wait_for_status(message.pk, OutboxMessage.Status.SENT)
        assert message.attempts == 1
        # A second sweep finds nothing left to send.
        send_unsent_messages.delay()
        worker.wait_idle()
    assert len(smtp_server.sink.messages) == 1


def test_smtp_server_refusing_at_first_ends_with_exactly_one_mail(
    client, machine_redis_url, smtp_server, celery_worker_factory
):
    smtp_server.sink.reset(refuse_next=2)
    contest = ContestFactory()
    worker = celery_worker_factory(broker_url=machine_redis_url)
    with celery_publishing_to(machine_redis_url, worker.queue):
        response = client.post(contest.get_absolute_url(), form_data())
        assert response.status_code == 302

        # Each refusal costs one attempt; the next is the sweep's, once it is due
        # (at once here: the worker's OUTBOX_RETRY_AFTER is 0).
        message_id = OutboxMessage.objects.get().pk
        for attempt in (1, 2):
            wait_until(
                lambda attempt=attempt: OutboxMessage.objects.filter(
                    pk=message_id, status=OutboxMessage.Status.PENDING, attempts=attempt
                ).exists(),
                timeout=20,
                what=f"refusal {attempt} to be recorded",
            )
            send_unsent_messages.delay()  # what beat does every minute
        message = wait_for_status(message_id, OutboxMessage.Status.SENT)
    assert smtp_server.sink.refused == 2
    assert message.attempts == 3
    assert message.last_error == ""
    assert len(smtp_server.sink.messages) == 1
    assert "451" in worker.log()  # the refusals were real, recorded by the worker


def test_simultaneous_entries_of_the_same_person_end_as_one_entry():
    need(connection.vendor == "postgresql", "this test needs PostgreSQL")
    contest = ContestFactory()
    url = contest.get_absolute_url()
    threads_count = 12
    barrier = threading.Barrier(threads_count)
    results: list[tuple[int, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    spellings = ["lucy@example.org", "LUCY@example.org", " Lucy@Example.ORG "]
    handles = ["@Lucy_M", "lucy_m", "https://x.com/LUCY_M"]

    def enter(number: int) -> None:
        try:
            data = form_data(email=spellings[number % 3], twitter_handle=handles[number // 3 % 3])
            client = Client()
            barrier.wait(timeout=10)
            response = client.post(url, data)
            with lock:
                results.append((response.status_code, response.content.decode()))
        except BaseException as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=enter, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    # Every sender gets the same answer: the form tells nobody who entered first.
    codes = sorted(code for code, _content in results)
    assert codes == [302] * threads_count, [
        re.findall(r"alert.{0,300}", content) for code, content in results if code != 302
    ]
    [entry] = Entry.objects.filter(contest=contest)
    mail = OutboxMessage.objects.filter(contest=contest)
    assert mail.filter(key=f"entry_confirm:{entry.pk}").count() == 1
    # The entrant is reminded of their link once a day at most, however many came.
    assert mail.filter(key__startswith=f"entry_reminder:{entry.pk}:").count() <= 1
    assert mail.count() <= 2
