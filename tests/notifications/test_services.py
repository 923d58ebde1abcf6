"""The mail outbox: one row per notice, sent once, failures recorded, nothing lost.

Mail goes to a real SMTP server (aiosmtpd, run by the test) or to an address
where nothing listens; only what lies outside the site is played by the test.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from notifications import services, tasks
from notifications.models import OutboxMessage
from tests.factories import ContestFactory
from tests.support import free_port, html_part, text_part

pytestmark = pytest.mark.django_db

TEMPLATE = "contests/mail/entry_confirm"


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
    return services.mail_enqueue(**fields)


@pytest.fixture
def unreachable_smtp(settings):
    """Mail goes to a port where no SMTP server listens: every send fails."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},
        }
    }


def test_mail_enqueue_writes_a_rendered_multipart_row_and_sends_after_commit(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = enqueue()
    assert len(callbacks) == 1
    assert message.status == OutboxMessage.Status.PENDING
    assert message.subject == "Confirm your entry: CERN TweetUp"
    assert "Hello Lucy McKenna," in message.body_text
    assert "http://testserver/contests/confirm/abc/" in message.body_html
    assert mail.outbox == []  # nothing leaves before the transaction commits

    callbacks[0]()
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.sent_at is not None and message.attempts == 1
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
    assert services.message_send(message_id=message.pk) is False
    assert services.message_send(message_id=0) is False
    message.refresh_from_db()
    assert message.attempts == 1
    assert len(mail.outbox) == 1


def test_mail_is_sent_through_a_real_smtp_server_as_text_and_html(settings, smtp_server):
    settings.MAILERS = smtp_server.mailers
    message = enqueue(
        context={
            "entry": {"name": "<script>alert(1)</script>", "ticket": "K7F3-9QXD"},
            "contest": ContestFactory(title="Tom & Jerry <b>"),
            "confirm_url": "http://testserver/contests/confirm/abc/",
            "valid_days": 7,
        }
    )
    assert services.message_send(message_id=message.pk) is True
    [received] = smtp_server.sink.wait_for(1, timeout=5)
    assert received["To"] == "lucy@example.org"
    assert received["X-TweetUp-Key"] == "entry_confirm:1"
    html = html_part(received)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "Tom &amp; Jerry &lt;b&gt;" in html
    # The text part is plain text: shown as typed, never interpreted.
    assert "Hello <script>alert(1)</script>," in text_part(received)


def test_smtp_refusal_is_recorded_and_raised(settings, smtp_server):
    settings.MAILERS = smtp_server.mailers
    smtp_server.sink.reset(refuse_next=1)
    message = enqueue()
    with pytest.raises(Exception, match="Try again later"):
        services.message_send(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.PENDING
    assert message.attempts == 1
    assert message.last_attempt_at is not None
    assert "451" in message.last_error and "SMTP" in message.last_error
    assert message.sent_at is None

    assert services.message_send(message_id=message.pk) is True
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempts == 2 and message.last_error == ""
    assert len(smtp_server.sink.wait_for(1, timeout=5)) == 1


def test_unreachable_smtp_fails_the_row_after_max_attempts(settings, unreachable_smtp):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    message = enqueue()
    for attempt in (1, 2):
        with pytest.raises(OSError):
            services.message_send(message_id=message.pk)
        message.refresh_from_db()
        assert message.attempts == attempt
        assert message.status == OutboxMessage.Status.PENDING
        assert "ConnectionRefusedError" in message.last_error
    with pytest.raises(OSError):
        services.message_send(message_id=message.pk)
    message.refresh_from_db()
    assert message.attempts == 3
    assert message.status == OutboxMessage.Status.FAILED
    assert services.unsent_message_ids() == []


def test_unsent_message_ids_lists_pending_rows_that_are_due(settings):
    settings.OUTBOX_RETRY_AFTER = timedelta(minutes=1)
    contest = ContestFactory()
    now = timezone.now()
    old = now - timedelta(minutes=5)
    never_tried = enqueue("a", contest=contest)
    retry_due = enqueue("b", contest=contest)
    retry_later = enqueue("c", contest=contest)
    too_new = enqueue("d", contest=contest)
    sent = enqueue("e", contest=contest)
    failed = enqueue("f", contest=contest)
    OutboxMessage.objects.exclude(pk=too_new.pk).update(created_at=old)
    OutboxMessage.objects.filter(pk=retry_due.pk).update(
        last_attempt_at=old, attempts=1, next_attempt_at=now - timedelta(seconds=1)
    )
    OutboxMessage.objects.filter(pk=retry_later.pk).update(
        last_attempt_at=old, attempts=3, next_attempt_at=now + timedelta(minutes=1)
    )
    OutboxMessage.objects.filter(pk=sent.pk).update(status=OutboxMessage.Status.SENT, sent_at=old)
    OutboxMessage.objects.filter(pk=failed.pk).update(status=OutboxMessage.Status.FAILED)

    assert services.unsent_message_ids() == [never_tried.pk, retry_due.pk]
    assert services.unsent_message_ids(limit=1) == [never_tried.pk]


def test_each_failure_doubles_the_wait_before_the_sweep_tries_again(settings, unreachable_smtp):
    settings.OUTBOX_RETRY_AFTER = timedelta(minutes=1)
    settings.OUTBOX_RETRY_MAX = timedelta(hours=1)
    settings.OUTBOX_MAX_ATTEMPTS = 20
    message = enqueue()
    waits = []
    for _attempt in range(8):
        with pytest.raises(OSError):
            services.message_send(message_id=message.pk)
        message.refresh_from_db()
        assert message.status == OutboxMessage.Status.PENDING
        waits.append(message.next_attempt_at - message.last_attempt_at)
        assert services.unsent_message_ids() == []  # not due yet
    minutes = [int(wait.total_seconds() // 60) for wait in waits]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60]


def test_an_smtp_outage_longer_than_the_task_retries_still_ends_with_the_mail_sent(
    settings, unreachable_smtp, smtp_server
):
    """The task gives up after its quick retries; the row stays pending for the sweep."""
    settings.OUTBOX_RETRY_AFTER = timedelta(minutes=1)
    message = enqueue()
    tasks.send_outbox_message.delay(message.pk)  # eager: its retries run at once
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.PENDING
    assert 1 < message.attempts < settings.OUTBOX_MAX_ATTEMPTS
    assert message.next_attempt_at > timezone.now()
    assert services.unsent_message_ids() == []

    # Hours later the server is back and the row is due.
    settings.MAILERS = smtp_server.mailers
    hours_ago = timezone.now() - timedelta(hours=3)
    OutboxMessage.objects.filter(pk=message.pk).update(
        created_at=hours_ago, next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert tasks.send_unsent_messages.delay().get() == 1
    [received] = smtp_server.sink.wait_for(1, timeout=5)
    assert received["X-TweetUp-Key"] == message.key
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT and message.next_attempt_at is None


def test_a_row_failed_for_good_is_not_sent_by_a_late_task(settings):
    """A stale retry must not send a row given up on or emptied by the privacy purge."""
    message = enqueue()
    OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxMessage.Status.FAILED)
    assert services.message_send(message_id=message.pk) is False
    assert mail.outbox == []
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.FAILED and message.attempts == 0


def test_sweep_task_sends_rows_left_unsent(django_capture_on_commit_callbacks):
    contest = ContestFactory()
    with django_capture_on_commit_callbacks(execute=False):  # the broker "was down"
        first = enqueue("a", contest=contest)
        second = enqueue("b", contest=contest)
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_unsent_messages.delay().get() == 2
    assert len(mail.outbox) == 2
    assert set(
        OutboxMessage.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)
    ) == {OutboxMessage.Status.SENT}
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_unsent_messages.delay().get() == 0
    assert len(mail.outbox) == 2


def test_send_task_retries_smtp_refusals_and_delivers_once(settings, smtp_server):
    settings.MAILERS = smtp_server.mailers
    smtp_server.sink.reset(refuse_next=2)
    message = enqueue()
    tasks.send_outbox_message.delay(message.pk)  # eager: retries run at once
    assert len(smtp_server.sink.wait_for(1, timeout=5)) == 1
    message.refresh_from_db()
    assert smtp_server.sink.refused == 2
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempts == 3


def test_messages_resend_sends_rows_again_sent_or_not(
    settings, unreachable_smtp, django_capture_on_commit_callbacks
):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    contest = ContestFactory()
    failed = enqueue("a", contest=contest)
    with pytest.raises(OSError):
        services.message_send(message_id=failed.pk)
    failed.refresh_from_db()
    assert failed.status == OutboxMessage.Status.FAILED
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        sent = enqueue("b", contest=contest)
    assert len(mail.outbox) == 1

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert services.messages_resend(message_ids=[failed.pk, sent.pk]) == 2
    assert len(callbacks) == 2
    assert sorted(m.extra_headers["X-TweetUp-Key"] for m in mail.outbox) == ["a", "b", "b"]
    for message in (failed, sent):
        message.refresh_from_db()
        assert message.status == OutboxMessage.Status.SENT


@pytest.mark.django_db
def test_messages_resend_leaves_rows_whose_personal_data_was_removed(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        purged = enqueue("purged")
    OutboxMessage.objects.filter(pk=purged.pk).update(to_email="", body_text="", body_html="")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert services.messages_resend(message_ids=[purged.pk]) == 0
    assert not callbacks and not mail.outbox
    purged.refresh_from_db()
    assert purged.status == OutboxMessage.Status.SENT
