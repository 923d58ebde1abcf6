"""The outbox with the real services: PostgreSQL, Redis, a Celery worker, an SMTP server.

The worker is ``celery -A tweetup worker`` in a subprocess on the test
database, consuming its default queue and its periodic queue; mail goes to an
aiosmtpd server run by the test. The worker takes tasks one at a time in the
order they were queued, so once a mail queued last has arrived, every task
queued before it is done: that is how the tests know nothing more will come.
"""

import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from notifications.models import OutboxMessage
from notifications.services import outbox
from tests.conftest import need
from tests.factories import ContestFactory, staff_user
from tests.support import celery_publishing_to, wait_until
from tweetup.roles import ORGANIZERS

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

Status = OutboxMessage.Status


def wait_for_status(message_id: int, status: str, timeout: float = 30) -> OutboxMessage:
    def reached():
        message = OutboxMessage.objects.get(pk=message_id)
        return message if message.status == status else None

    return wait_until(reached, timeout=timeout, what=f"outbox row {message_id} to be {status}")


def press_at_once(url: str, data: dict, user, times: int) -> list[int]:
    """``times`` organizers' browsers post the same form at the same instant."""
    barrier = threading.Barrier(times)
    codes: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def press() -> None:
        try:
            client = Client()
            client.force_login(user)
            barrier.wait(timeout=10)
            response = client.post(url, data)
            with lock:
                codes.append(response.status_code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=press) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return codes


def test_ten_simultaneous_resend_presses_deliver_one_copy(
    machine_redis_url, smtp_server, celery_worker_factory
):
    need(connection.vendor == "postgresql", "row locks need PostgreSQL")
    contest = ContestFactory()
    organizer = staff_user("organizer", ORGANIZERS)
    failed = OutboxMessage.objects.create(
        # Not an offer: resending one asks its place (contests.services.selection_mail).
        key="not_chosen:1",
        kind=OutboxMessage.Kind.NOT_CHOSEN,
        contest=contest,
        to_email="lucy@example.org",
        subject="Thank you for entering",
        body_text="You were not chosen this time.",
        status=Status.FAILED,
        attempts=12,
        last_error="ConnectionRefusedError: [Errno 111] Connection refused",
        last_attempt_at=timezone.now(),
    )
    url = reverse("contests:outbox_resend", kwargs={"slug": contest.slug, "pk": failed.pk})
    worker = celery_worker_factory(broker_url=machine_redis_url)
    with celery_publishing_to(machine_redis_url, worker.queue):
        # The dashboard as everyone saw it: the row failed, never resent.
        codes = press_at_once(url, {"page": "1", "requested": ""}, organizer, 10)
        assert codes == [302] * 10
        message = wait_for_status(failed.pk, Status.SENT)
        worker.wait_idle()
        keys = [m["X-TweetUp-Key"] for m in smtp_server.sink.messages]
        assert keys.count(failed.key) == 1
        assert message.attempts == 1 and message.resend_requested_at is not None

        # A double press on the page that showed the failed row sends nothing more; nor
        # does one that does not say what it saw (as the admin's action), so soon after.
        press_at_once(url, {"page": "1", "requested": ""}, organizer, 2)
        press_at_once(url, {"page": "1"}, organizer, 2)
        worker.wait_idle()
    keys = [m["X-TweetUp-Key"] for m in smtp_server.sink.messages]
    assert keys.count(failed.key) == 1
    assert OutboxMessage.objects.get(pk=failed.pk).status == Status.SENT


def test_a_transient_refusal_is_retried_by_the_sweep_one_attempt_at_a_time(
    machine_redis_url, smtp_server, celery_worker_factory
):
    """The task makes one attempt; each later one is the sweep's, through beat's queue."""
    from notifications.tasks import send_unsent_messages

    smtp_server.sink.reset(refuse_next=2)
    contest = ContestFactory()
    worker = celery_worker_factory(broker_url=machine_redis_url)
    with celery_publishing_to(machine_redis_url, worker.queue):
        message = outbox.mail_enqueue(
            key="entry_confirm:1",
            kind=OutboxMessage.Kind.ENTRY_CONFIRM,
            to="lucy@example.org",
            language="en",
            template="contests/mail/entry_confirm",
            context={"entry": {"name": "L", "ticket": "T"}, "contest": contest, "valid_days": 7},
            contest_id=contest.pk,
        )
        for attempt in (1, 2):
            wait_until(
                lambda attempt=attempt: OutboxMessage.objects.filter(
                    pk=message.pk, status=Status.PENDING, attempts=attempt
                ).exists(),
                timeout=30,
                what=f"attempt {attempt} to be refused and recorded",
            )
            assert smtp_server.sink.refused == attempt  # no retry of the task's own
            send_unsent_messages.delay()  # what beat does every minute
        message = wait_for_status(message.pk, Status.SENT)
    assert message.attempts == 3 and message.last_error == ""
    assert smtp_server.sink.refused == 2 and len(smtp_server.sink.messages) == 1
