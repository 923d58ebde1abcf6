"""Bulk mail in bulk: rows written in batches, sent in batches over one SMTP connection.

The writing is measured in queries; the sending goes through the real Celery
worker (``celery -A tweetup worker`` on the test database) to a real SMTP
server (aiosmtpd), which counts the connections it was sent mail through.
"""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contests.models import Contest
from contests.services.notices import not_chosen_notices_queue
from notifications.models import OutboxMessage
from notifications.services import outbox
from notifications.services.outbox import Mail
from tests.builders import drawn_contest
from tests.conftest import need
from tests.factories import ContestFactory
from tests.support import celery_publishing_to, wait_until
from tweetup.publish import task_named

Status = OutboxMessage.Status
TEMPLATE = "contests/mail/entry_confirm"


def mails(contest, count: int, *, prefix: str = "bulk") -> list[Mail]:
    return [
        Mail(
            key=f"{prefix}:{n}",
            kind=OutboxMessage.Kind.ENTRY_CONFIRM,
            to=f"person-{n}@example.org",
            language="fr" if n % 2 else "en",
            template=TEMPLATE,
            context={
                "entry": {"name": f"Person {n}", "ticket": f"T{n}"},
                "contest": contest,
                "valid_days": 7,
            },
            contest_id=contest.pk,
        )
        for n in range(count)
    ]


def wait_all_final(count: int, timeout: float = 60) -> None:
    wait_until(
        lambda: (
            OutboxMessage.objects.filter(status__in=[Status.SENT, Status.FAILED]).count() >= count
        ),
        timeout=timeout,
        what=f"{count} outbox rows sent or failed",
    )


def database_backends_of_others() -> set[tuple]:
    """The PostgreSQL backends connected to the test database, other than this process's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return set(cursor.fetchall())


# Writing ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_not_chosen_notice_to_300_entrants_costs_at_most_15_queries_and_is_written_once(
    django_capture_on_commit_callbacks,
):
    contest, _draw = drawn_contest(winners=1, alternates=0, entries=301)
    Contest.objects.filter(pk=contest.pk).update(not_chosen_notified_at=timezone.now())
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        CaptureQueriesContext(connection) as queries,
    ):
        assert not_chosen_notices_queue(contest_id=contest.pk) == 300
    assert len(queries) <= 0.05 * 300, [q["sql"][:120] for q in queries]
    rows = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.NOT_CHOSEN)
    assert rows.count() == 300
    assert not rows.filter(queued_at__isnull=True).exists()
    assert len(callbacks) == 2  # two send tasks of OUTBOX_SEND_BATCH (200) rows
    one = rows.order_by("pk").first()
    assert one.subject.startswith(("Thank you for entering", "Merci"))
    assert one.concerns.startswith("contests.entry:")

    # Again (a task that ran twice, a resume after a crash): nothing new, nothing queued.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert not_chosen_notices_queue(contest_id=contest.pk) == 0
    assert rows.count() == 300 and callbacks == []


@pytest.mark.django_db
def test_queuing_the_same_mails_twice_writes_no_duplicate(django_capture_on_commit_callbacks):
    contest = ContestFactory()
    with django_capture_on_commit_callbacks(execute=False):
        assert outbox.mail_enqueue_many(mails=mails(contest, 30), batch_size=7) == 30
        # The same keys, and one more; a key twice in one call is written once.
        again = mails(contest, 31)
        assert outbox.mail_enqueue_many(mails=[*again, again[-1]], batch_size=7) == 1
    assert OutboxMessage.objects.count() == 31
    assert OutboxMessage.objects.get(key="bulk:3").language == "fr"


@pytest.mark.django_db
def test_a_row_another_process_wrote_meanwhile_is_kept_and_not_queued_again(
    django_capture_on_commit_callbacks,
):
    """The look-up misses a row written at the same moment: ON CONFLICT keeps the first."""
    contest = ContestFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = outbox.mail_enqueue(**vars(mails(contest, 1)[0]) | {"to": "first@example.org"})
        # As if written between this call's look-up and its INSERT.
        OutboxMessage.objects.filter(pk=first.pk).update(queued_at=None)
        assert outbox._write_batch(mails(contest, 2)) == 1
    assert OutboxMessage.objects.get(key="bulk:0").to_email == "first@example.org"
    assert len(callbacks) == 2  # the first row's task, and the batch of the new one
    assert OutboxMessage.objects.get(key="bulk:1").queued_at is not None


# The sweep -------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_sweep_drains_a_backlog_in_batches_over_one_connection_each(
    settings, smtp_server, django_capture_on_commit_callbacks
):
    """Rows the broker never got (it was down) all go at the next sweep, 200 per connection."""
    from notifications.services import sending

    settings.MAILERS = smtp_server.mailers
    contest = ContestFactory()
    with django_capture_on_commit_callbacks(execute=False):
        outbox.mail_enqueue_many(mails=mails(contest, 450))
    OutboxMessage.objects.update(queued_at=None)
    assert sending.messages_due_queue() == 450  # the tasks run eagerly here
    assert len(smtp_server.sink.messages) == 450
    assert smtp_server.sink.connections == 3
    assert OutboxMessage.objects.filter(status=Status.SENT, attempts=1).count() == 450
    assert sending.messages_due_queue() == 0


# Sending through the real worker --------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_each_batch_goes_over_one_smtp_connection(
    machine_redis_url, smtp_server, celery_worker_factory
):
    need(connection.vendor == "postgresql", "the worker shares the test database")
    contest = ContestFactory()
    worker = celery_worker_factory(broker_url=machine_redis_url)
    with celery_publishing_to(machine_redis_url, worker.queue):
        assert outbox.mail_enqueue_many(mails=mails(contest, 450)) == 450
        smtp_server.sink.wait_for(450, timeout=60)
        worker.wait_idle()
        worker_backends = database_backends_of_others()
        # The worker kept its database connection after its tasks, and keeps
        # using it for the next (Celery would close it after each one).
        assert len(worker_backends) == 1
        outbox.mail_enqueue_many(mails=mails(contest, 460)[450:])
        smtp_server.sink.wait_for(460, timeout=60)
        worker.wait_idle()
        assert database_backends_of_others() == worker_backends
    keys = [m["X-TweetUp-Key"] for m in smtp_server.sink.messages]
    assert sorted(keys) == sorted(f"bulk:{n}" for n in range(460))
    # Three tasks of 200, 200 and 50 rows, then one of 10: one connection each.
    assert smtp_server.sink.connections == 4
    assert OutboxMessage.objects.filter(status=Status.SENT, attempts=1).count() == 460


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_5xx_for_one_recipient_fails_that_row_for_good_and_the_batch_goes_on(
    machine_redis_url, smtp_server, celery_worker_factory
):
    need(connection.vendor == "postgresql", "the worker shares the test database")
    smtp_server.sink.recipients["person-7@example.org"] = "550 5.1.1 No such user here"
    contest = ContestFactory()
    worker = celery_worker_factory(broker_url=machine_redis_url)
    with celery_publishing_to(machine_redis_url, worker.queue):
        outbox.mail_enqueue_many(mails=mails(contest, 50))
        wait_all_final(50)
        worker.wait_idle()
    refused = OutboxMessage.objects.get(key="bulk:7")
    assert refused.status == Status.FAILED and refused.attempts == 1
    assert refused.last_error == "SMTPRecipientsRefused: 550 5.1.1 No such user here"
    assert refused.next_attempt_at is None
    keys = {m["X-TweetUp-Key"] for m in smtp_server.sink.messages}
    assert keys == {f"bulk:{n}" for n in range(50)} - {"bulk:7"}
    assert OutboxMessage.objects.filter(status=Status.SENT).count() == 49
    assert smtp_server.sink.connections == 1  # the refusal did not cost a new connection


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_4xx_in_a_batch_is_retried_once_per_backoff_step(
    machine_redis_url, smtp_server, celery_worker_factory
):
    """The batch makes one attempt per row; each later one is the sweep's."""
    from notifications.tasks import send_unsent_messages

    need(connection.vendor == "postgresql", "the worker shares the test database")
    smtp_server.sink.reset(refuse_next=2)
    contest = ContestFactory()
    worker = celery_worker_factory(broker_url=machine_redis_url)
    with celery_publishing_to(machine_redis_url, worker.queue):
        outbox.mail_enqueue_many(mails=mails(contest, 10))
        smtp_server.sink.wait_for(8)
        worker.wait_idle()
        waiting = OutboxMessage.objects.filter(status=Status.PENDING)
        assert sorted(waiting.values_list("key", "attempts")) == [("bulk:0", 1), ("bulk:1", 1)]
        assert waiting.first().last_error == "SMTPDataError: 451 4.3.0 Try again later"
        assert smtp_server.sink.refused == 2  # no retry within the task
        send_unsent_messages.delay()  # what beat does every minute
        smtp_server.sink.wait_for(10)
        worker.wait_idle()
    assert sorted(
        OutboxMessage.objects.filter(key__in=["bulk:0", "bulk:1"]).values_list("status", "attempts")
    ) == [(Status.SENT, 2), (Status.SENT, 2)]
    assert smtp_server.sink.refused == 2 and len(smtp_server.sink.messages) == 10


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_two_workers_given_overlapping_batches_never_send_a_row_twice(
    machine_redis_url, smtp_server, celery_worker_factory
):
    need(connection.vendor == "postgresql", "the worker shares the test database")
    contest = ContestFactory()
    queue = f"integ-{uuid.uuid4().hex[:12]}"
    first = celery_worker_factory(broker_url=machine_redis_url, queue=queue)
    second = celery_worker_factory(broker_url=machine_redis_url, queue=queue)
    send_batch = task_named(outbox.SEND_BATCH_TASK)
    with celery_publishing_to(machine_redis_url, queue):
        outbox.mail_enqueue_many(mails=mails(contest, 1000))
        # Every row queued twice more, in batches cut elsewhere (a sweep that
        # took the rows for lost, a task delivered twice).
        ids = list(OutboxMessage.objects.order_by("pk").values_list("pk", flat=True))
        for size in (130, 370):
            for start in range(0, len(ids), size):
                send_batch.delay(ids[start : start + size])
        wait_all_final(1000, timeout=120)
        first.wait_idle(timeout=60)
        second.wait_idle(timeout=60)
    keys = [m["X-TweetUp-Key"] for m in smtp_server.sink.messages]
    assert len(keys) == len(set(keys)) == 1000
    assert OutboxMessage.objects.filter(status=Status.SENT, attempts=1).count() == 1000
    for worker in (first, second):
        assert "send_outbox_messages" in worker.log() and "succeeded" in worker.log()


# The message ----------------------------------------------------------------------


def test_an_outbox_mail_reads_as_the_one_django_builds():
    """Built with the classic email API, it parses to what Django's own message says."""
    import email
    import email.policy

    from django.core.mail import EmailMultiAlternatives

    from notifications.mail import OutboxEmail

    fields = {
        "subject": "Merci d’avoir participé à « CERN TweetUp »",
        "body": "Bonjour Zoë,\n\nLe tirage est terminé.\n",
        "from_email": "TweetUp <tweetup@example.org>",
        "to": ["zoe@example.org"],
        "headers": {"X-TweetUp-Key": "not_chosen:1:2"},
    }
    built = []
    for kind in (OutboxEmail, EmailMultiAlternatives):
        message = kind(**fields)
        message.attach_alternative("<p>Bonjour Zoë,</p>", "text/html")
        raw = message.message(policy=email.policy.SMTP).as_bytes()
        assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
        built.append(email.message_from_bytes(raw, policy=email.policy.default))
    ours, django = built
    for header in ("Subject", "From", "To", "X-TweetUp-Key", "MIME-Version"):
        assert ours[header] == django[header], header
    for part in ("plain", "html"):
        # Django's 8bit part keeps the wire's CRLF and ends with a line break;
        # base64 gives the text as written.
        theirs = django.get_body(preferencelist=(part,)).get_content().replace("\r\n", "\n")
        assert ours.get_body(preferencelist=(part,)).get_content().rstrip() == theirs.rstrip()
    assert ours.get_content_type() == "multipart/alternative"


def test_an_outbox_mail_refuses_a_line_break_in_a_header_and_leaves_the_rest_to_django():
    import email.message

    from notifications.mail import OutboxEmail

    with pytest.raises(ValueError, match="linefeeds"):
        OutboxEmail(subject="Hi\r\nBcc: x@example.org", body="b", to=["a@example.org"]).message()
    copied = OutboxEmail(subject="Hi", body="b", to=["a@example.org"], cc=["c@example.org"])
    assert isinstance(copied.message(), email.message.EmailMessage)
    assert copied.message()["Cc"] == "c@example.org"
