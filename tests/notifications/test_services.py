"""The mail outbox: one row per notice, claimed, sent, recorded, classified; nothing lost.

Mail goes to a real SMTP server (aiosmtpd, run by the test, answering as the
test tells it) or to an address where nothing listens; only what lies outside
the site is played by the test. Time is moved by moving the row's dates, never
by sleeping.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from notifications import tasks
from notifications.models import OutboxMessage
from notifications.services import outbox, reports, sending
from tests.factories import ContestFactory, EntryFactory
from tests.support import free_port, html_part, text_part

pytestmark = pytest.mark.django_db

TEMPLATE = "contests/mail/entry_confirm"
Status = OutboxMessage.Status


def enqueue(key: str = "entry_confirm:1", **overrides) -> OutboxMessage:
    contest = overrides.pop("contest", None) or ContestFactory(title="CERN TweetUp")
    entry = {"name": "Lucy McKenna", "ticket": "K7F3-9QXD"}
    fields = {
        "key": key,
        "kind": "entry_confirm",
        "to": "lucy@example.org",
        "language": "en",
        "template": TEMPLATE,
        "context": {
            "entry": entry,
            "contest": contest,
            "confirm_url": "http://testserver/contests/confirm/abc/",
            "valid_days": 7,
        },
        "contest_id": contest.pk,
    }
    fields.update(overrides)
    return outbox.mail_enqueue(**fields)


def row(message: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.objects.get(pk=message.pk)


def make_due(message: OutboxMessage) -> None:
    """Time passes until the row's next try is due."""
    OutboxMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


@pytest.fixture
def unreachable_smtp(settings):
    """Mail goes to a port where no SMTP server listens: every send fails."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "notifications.mail.SmtpEmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},
        }
    }


@pytest.fixture
def defaults(settings):
    """The outbox's production defaults (the test settings retry at once)."""
    settings.OUTBOX_MAX_ATTEMPTS = 12
    settings.OUTBOX_RETRY_AFTER = timedelta(seconds=60)
    settings.OUTBOX_RETRY_MAX = timedelta(seconds=3600)
    return settings


# Writing and sending --------------------------------------------------------


def test_mail_enqueue_writes_a_rendered_multipart_row_and_sends_after_commit(
    django_capture_on_commit_callbacks,
):
    entry = EntryFactory()
    contest = ContestFactory(title="CERN TweetUp")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = enqueue(concerns=entry, contest=contest)
    assert len(callbacks) == 1
    assert message.status == Status.PENDING and message.queued_at is not None
    assert message.subject == "Confirm your entry: CERN TweetUp"
    assert "Hello Lucy McKenna," in message.body_text
    assert "http://testserver/contests/confirm/abc/" in message.body_html
    assert message.concerns == f"contests.entry:{entry.pk}"
    assert mail.outbox == []  # nothing leaves before the transaction commits

    callbacks[0]()
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.sent_at is not None and message.attempts == 1
    assert message.claimed_at is not None and message.queued_at is None
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["lucy@example.org"]
    assert sent.extra_headers["X-TweetUp-Key"] == "entry_confirm:1"
    assert sent.alternatives[0].mimetype == "text/html"


def test_same_key_is_never_queued_twice(django_capture_on_commit_callbacks):
    contest = ContestFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = enqueue(contest=contest)
        second = enqueue(contest=contest, to="someone-else@example.org")
    assert second.pk == first.pk
    assert second.to_email == "lucy@example.org"
    assert OutboxMessage.objects.count() == 1
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1


def test_message_send_skips_a_row_already_sent(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue()
    assert sending.message_send(message_id=message.pk) is False
    assert sending.message_send(message_id=0) is False
    assert row(message).attempts == 1
    assert len(mail.outbox) == 1


def test_mail_is_sent_through_a_real_smtp_server_as_text_and_html(scripted_smtp):
    message = enqueue(
        context={
            "entry": {"name": "<script>alert(1)</script>", "ticket": "K7F3-9QXD"},
            "contest": ContestFactory(title="Tom & Jerry <b>"),
            "confirm_url": "http://testserver/contests/confirm/abc/",
            "valid_days": 7,
        }
    )
    assert sending.message_send(message_id=message.pk) is True
    [received] = scripted_smtp.handler.messages
    assert received["To"] == "lucy@example.org"
    assert received["X-TweetUp-Key"] == "entry_confirm:1"
    html = html_part(received)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "Tom &amp; Jerry &lt;b&gt;" in html
    # The text part is plain text: shown as typed, never interpreted.
    assert "Hello <script>alert(1)</script>," in text_part(received)


# Permanent and transient refusals ---------------------------------------------


def test_a_permanent_refusal_fails_the_mail_at_once_with_the_servers_answer(
    scripted_smtp, django_capture_on_commit_callbacks
):
    scripted_smtp.handler.recipients["nobody@example.org"] = "550 5.1.1 No such user here"
    contest = ContestFactory()
    with django_capture_on_commit_callbacks(execute=True):
        refused = enqueue("a", contest=contest, to="nobody@example.org")
        other = enqueue("b", contest=contest)
    refused = row(refused)
    assert refused.status == Status.FAILED and refused.attempts == 1
    assert refused.last_error == "SMTPRecipientsRefused: 550 5.1.1 No such user here"
    assert refused.next_attempt_at is None and refused.sent_at is None
    # The other mail is not held back, and the sweep never tries the refused one again.
    assert row(other).status == Status.SENT
    assert scripted_smtp.handler.keys() == ["b"]
    assert tasks.send_unsent_messages.delay().get() == 0
    assert row(refused).attempts == 1


@pytest.mark.parametrize(
    ("stage", "answer", "error"),
    [
        ("data", "554 5.7.1 Message rejected as spam", "SMTPDataError: 554 5.7.1"),
        ("sender", "553 5.7.1 Sender address rejected", "SMTPSenderRefused: 553 5.7.1"),
    ],
)
def test_a_5xx_answer_to_the_message_or_the_sender_is_permanent(
    scripted_smtp, stage, answer, error
):
    if stage == "data":
        scripted_smtp.handler.data.append(answer)
    else:
        scripted_smtp.handler.sender = answer
    message = enqueue()
    assert sending.message_send(message_id=message.pk) is False
    message = row(message)
    assert message.status == Status.FAILED and message.attempts == 1
    assert message.last_error.startswith(error)
    assert scripted_smtp.handler.refused == [answer]


def test_a_transient_refusal_waits_for_its_next_try_and_is_never_raised(scripted_smtp, defaults):
    scripted_smtp.handler.data.append("451 4.3.0 Try again later")
    message = enqueue()
    tasks.send_outbox_message.delay(message.pk)  # eager: one attempt, no retry of its own
    message = row(message)
    assert message.status == Status.PENDING and message.attempts == 1
    assert message.last_error == "SMTPDataError: 451 4.3.0 Try again later"
    assert message.next_attempt_at - message.last_attempt_at == timedelta(minutes=1)
    assert scripted_smtp.handler.refused == ["451 4.3.0 Try again later"]
    # A stray task before the next try is due sends nothing and counts no attempt.
    assert sending.message_send(message_id=message.pk) is False
    assert tasks.send_unsent_messages.delay().get() == 0
    assert row(message).attempts == 1 and scripted_smtp.handler.messages == []

    make_due(message)
    assert tasks.send_unsent_messages.delay().get() == 1
    message = row(message)
    assert message.status == Status.SENT and message.attempts == 2
    assert message.last_error == "" and message.next_attempt_at is None
    assert scripted_smtp.handler.keys() == [message.key]


def test_an_outage_costs_one_attempt_per_step_and_fails_after_the_documented_time(
    unreachable_smtp, defaults
):
    """With the defaults a mail survives 6 h 3 min of outage (README), one attempt per step."""
    message = enqueue()
    waits = []
    for attempt in range(1, 13):
        assert tasks.send_unsent_messages.delay().get() == (0 if attempt == 1 else 1)
        if attempt == 1:
            tasks.send_outbox_message.delay(message.pk)  # what the queue did after commit
        message = row(message)
        assert message.attempts == attempt  # the step made exactly one attempt
        assert "ConnectionRefusedError" in message.last_error
        if attempt < 12:
            assert message.status == Status.PENDING
            waits.append(message.next_attempt_at - message.last_attempt_at)
            # Not due before its wait is over: a sweep now changes nothing.
            assert tasks.send_unsent_messages.delay().get() == 0
            make_due(message)
    assert message.status == Status.FAILED and message.next_attempt_at is None
    assert [int(wait.total_seconds()) // 60 for wait in waits] == [
        1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60,
    ]  # fmt: skip
    assert sum(waits, timedelta(0)) == sending.outage_survived() == timedelta(seconds=21780)
    assert tasks.send_unsent_messages.delay().get() == 0


def test_an_outage_shorter_than_the_retries_still_ends_with_the_mail_sent(settings, scripted_smtp):
    settings.MAILERS = {
        "default": {
            "BACKEND": "notifications.mail.SmtpEmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},
        }
    }
    message = enqueue()
    tasks.send_outbox_message.delay(message.pk)
    assert row(message).status == Status.PENDING
    # The server is back before the retries run out.
    settings.MAILERS = scripted_smtp.mailers()
    make_due(message)
    assert tasks.send_unsent_messages.delay().get() == 1
    assert scripted_smtp.handler.keys() == [message.key]
    message = row(message)
    assert message.status == Status.SENT and message.attempts == 2


def test_a_slow_server_answering_after_the_exchange_timeout_gets_the_mail_once(
    settings, scripted_smtp
):
    """The answer to the message may take EMAIL_DATA_TIMEOUT, longer than EMAIL_TIMEOUT."""
    settings.MAILERS = scripted_smtp.mailers(timeout=1, data_timeout=10)
    scripted_smtp.handler.delay = 2
    message = enqueue()
    assert sending.message_send(message_id=message.pk) is True
    message = row(message)
    assert message.status == Status.SENT and message.attempts == 1
    assert scripted_smtp.handler.keys() == [message.key]


# Claims ---------------------------------------------------------------------


def test_a_row_stuck_in_sending_is_sent_again_after_the_timeout_and_not_before(
    settings, scripted_smtp
):
    """A worker killed mid-send leaves its claim; the sweep takes it over only once it is stale."""
    settings.OUTBOX_SENDING_TIMEOUT = timedelta(minutes=15)
    message = enqueue()
    claimed_at = timezone.now() - timedelta(minutes=14)
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=Status.SENDING, claimed_at=claimed_at, attempts=1, queued_at=None
    )
    assert tasks.send_unsent_messages.delay().get() == 0
    assert sending.message_send(message_id=message.pk) is False  # a late duplicate task
    message = row(message)
    assert message.status == Status.SENDING and message.claimed_at == claimed_at
    assert scripted_smtp.handler.messages == []

    OutboxMessage.objects.filter(pk=message.pk).update(
        claimed_at=timezone.now() - timedelta(minutes=15, seconds=1)
    )
    assert tasks.send_unsent_messages.delay().get() == 1
    message = row(message)
    assert message.status == Status.SENT and message.attempts == 2
    assert scripted_smtp.handler.keys() == [message.key]


def test_a_late_record_of_a_superseded_claim_changes_nothing(scripted_smtp):
    """A worker whose claim was taken over does not undo what the new one recorded."""
    message = enqueue()
    old_claim = sending._claim(message.pk)
    OutboxMessage.objects.filter(pk=message.pk).update(status=Status.SENT, sent_at=timezone.now())
    sending._record_failure(old_claim, OSError("timed out"))
    assert row(message).status == Status.SENT


def test_a_row_failed_for_good_or_emptied_by_the_purge_is_not_sent_by_a_late_task():
    failed = enqueue("a")
    purged = enqueue("b")
    OutboxMessage.objects.filter(pk=failed.pk).update(status=Status.FAILED)
    OutboxMessage.objects.filter(pk=purged.pk).update(to_email="", body_text="", body_html="")
    assert sending.message_send(message_id=failed.pk) is False
    assert sending.message_send(message_id=purged.pk) is False
    assert mail.outbox == []
    assert row(failed).status == Status.FAILED and row(failed).attempts == 0
    purged = row(purged)
    assert purged.status == Status.FAILED and purged.last_error == outbox.CLEARED_ERROR


# The sweep ------------------------------------------------------------------


def test_the_sweep_queues_every_due_row_in_batches_and_leaves_queued_ones(
    settings, django_capture_on_commit_callbacks
):
    settings.OUTBOX_REQUEUE_AFTER = timedelta(hours=1)
    contest = ContestFactory()
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=False):  # the broker "was down"
        never_queued = [enqueue(f"lost-{n}", contest=contest) for n in range(7)]
        waiting = enqueue("waiting", contest=contest)
        lost_long_ago = enqueue("lost-long-ago", contest=contest)
        retry_later = enqueue("later", contest=contest)
        sent = enqueue("sent", contest=contest)
        failed = enqueue("failed", contest=contest)
    OutboxMessage.objects.filter(pk__in=[m.pk for m in never_queued]).update(queued_at=None)
    OutboxMessage.objects.filter(pk=waiting.pk).update(queued_at=now - timedelta(minutes=59))
    OutboxMessage.objects.filter(pk=lost_long_ago.pk).update(queued_at=now - timedelta(hours=2))
    OutboxMessage.objects.filter(pk=retry_later.pk).update(
        queued_at=None, attempts=3, next_attempt_at=now + timedelta(minutes=1)
    )
    OutboxMessage.objects.filter(pk=sent.pk).update(status=Status.SENT, sent_at=now)
    OutboxMessage.objects.filter(pk=failed.pk).update(status=Status.FAILED)

    due = [m.pk for m in never_queued] + [lost_long_ago.pk]
    assert sending.unsent_message_ids() == due
    with django_capture_on_commit_callbacks(execute=True):
        assert sending.messages_due_queue(batch=3) == 8  # three batches, one sweep
    assert sorted(m.extra_headers["X-TweetUp-Key"] for m in mail.outbox) == sorted(
        [f"lost-{n}" for n in range(7)] + ["lost-long-ago"]
    )
    assert row(waiting).status == Status.PENDING  # its task is still in the queue
    assert row(retry_later).status == Status.PENDING
    assert sending.messages_due_queue(batch=3) == 0


# Resending --------------------------------------------------------------------


def test_resend_queues_failed_and_sent_rows_once_per_press(
    unreachable_smtp, settings, django_capture_on_commit_callbacks
):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    contest = ContestFactory()
    failed = enqueue("a", contest=contest)
    sending.message_send(message_id=failed.pk)
    assert row(failed).status == Status.FAILED
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        sent = enqueue("b", contest=contest)
    assert len(mail.outbox) == 1

    seen = {failed.pk: None, sent.pk: None}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert outbox.messages_resend(message_ids=[failed.pk, sent.pk], seen=seen) == 2
    assert len(callbacks) == 2
    assert sorted(m.extra_headers["X-TweetUp-Key"] for m in mail.outbox) == ["a", "b", "b"]
    for message in (failed, sent):
        message = row(message)
        assert message.status == Status.SENT and message.attempts == 1
        assert message.resend_requested_at is not None
    # The same press again (a double click on the same page) sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.messages_resend(message_ids=[failed.pk, sent.pk], seen=seen) == 0
    # A press without the state it saw (the admin's action) is ignored for a moment.
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.messages_resend(message_ids=[failed.pk, sent.pk]) == 0
    assert len(mail.outbox) == 3
    # A press on the page as it is now is a new press.
    now_seen = {sent.pk: row(sent).resend_requested_at}
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.messages_resend(message_ids=[sent.pk], seen=now_seen) == 1
    assert len(mail.outbox) == 4


def test_resend_tries_a_waiting_row_now_and_leaves_rows_on_their_way(
    scripted_smtp, defaults, django_capture_on_commit_callbacks
):
    scripted_smtp.handler.data.append("451 4.3.0 Try again later")
    contest = ContestFactory()
    waiting = enqueue("waiting", contest=contest)
    sending.message_send(message_id=waiting.pk)
    assert row(waiting).next_attempt_at > timezone.now()
    with django_capture_on_commit_callbacks(execute=False):
        queued = enqueue("queued", contest=contest)
    in_hand = enqueue("sending", contest=contest)
    OutboxMessage.objects.filter(pk=in_hand.pk).update(
        status=Status.SENDING, claimed_at=timezone.now()
    )
    ids = [waiting.pk, queued.pk, in_hand.pk]
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.messages_resend(message_ids=ids) == 1
    assert scripted_smtp.handler.keys() == ["waiting"]
    assert row(waiting).attempts == 2 and row(queued).attempts == 0
    assert row(in_hand).status == Status.SENDING


def test_resend_leaves_rows_whose_personal_data_was_removed(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        purged = enqueue("purged")
    OutboxMessage.objects.filter(pk=purged.pk).update(to_email="", body_text="", body_html="")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert outbox.messages_resend(message_ids=[purged.pk]) == 0
    assert not callbacks and not mail.outbox
    assert row(purged).status == Status.SENT


# Telling the organizers ---------------------------------------------------------


def test_organizers_get_one_report_of_the_mail_that_failed_for_good(
    settings, scripted_smtp, django_capture_on_commit_callbacks
):
    settings.ORGANIZERS_EMAIL = "organizers@example.org"
    scripted_smtp.handler.recipients["nobody@example.org"] = "550 5.1.1 No such user here"
    contest = ContestFactory(title="CERN TweetUp")
    with django_capture_on_commit_callbacks(execute=True):
        refused = enqueue("refused", contest=contest, to="nobody@example.org")
        enqueue("fine", contest=contest)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.send_unsent_messages.delay()
    report = OutboxMessage.objects.get(kind=OutboxMessage.Kind.MAIL_FAILED)
    assert report.status == Status.SENT and report.to_email == "organizers@example.org"
    assert report.subject == "TweetUp: 1 mail could not be delivered"
    assert "Entry confirmation, CERN TweetUp" in report.body_text
    assert ": 550" in report.body_text
    assert f"/admin/notifications/outboxmessage/{refused.pk}/change/" in report.body_text
    assert "nobody@example.org" not in report.body_text  # no address in the report
    assert scripted_smtp.handler.keys() == ["fine", report.key]
    assert row(refused).failure_reported_at is not None

    # The next sweep has nothing new to tell; the report's own failure is never reported.
    OutboxMessage.objects.filter(pk=report.pk).update(status=Status.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.send_unsent_messages.delay()
    assert OutboxMessage.objects.filter(kind=OutboxMessage.Kind.MAIL_FAILED).count() == 1


def test_no_report_without_an_organizers_address(settings, scripted_smtp):
    settings.ORGANIZERS_EMAIL = ""
    scripted_smtp.handler.recipients["nobody@example.org"] = "550 5.1.1 No such user here"
    message = enqueue(to="nobody@example.org")
    sending.message_send(message_id=message.pk)
    assert row(message).status == Status.FAILED
    assert reports.failures_report() is None
    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.MAIL_FAILED).exists()


# Queues -----------------------------------------------------------------------


def test_beat_tasks_run_on_a_queue_of_their_own_that_the_procfile_worker_consumes(settings):
    """make run and production start the worker from the Procfile: it must consume
    both the mail queue and the periodic one, or the sweep and expiries never run."""
    import shlex
    from pathlib import Path

    from tweetup.celery import app

    routes = app.conf.task_routes
    for entry in app.conf.beat_schedule.values():
        assert routes[entry["task"]] == {"queue": settings.CELERY_PERIODIC_QUEUE}
    assert "notifications.tasks.send_outbox_message" not in routes
    procfile = (Path(settings.BASE_DIR) / "Procfile").read_text().splitlines()
    worker = shlex.split(next(line for line in procfile if line.startswith("worker:")))
    queues = worker[worker.index("-Q") + 1].split(",")
    assert set(queues) == {settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_PERIODIC_QUEUE}
