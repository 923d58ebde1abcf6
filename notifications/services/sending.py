"""Sending the outbox's rows, and the sweep that queues the rows that are due.

A row goes pending → sending → sent, or back to pending with a later try, or
failed. A worker claims a row in a short transaction (status ``sending``),
talks to the mail server outside any transaction, and records the outcome in
another short transaction, so no lock or transaction is held while the server
takes its time. Only a worker stopped between the server's acceptance and the
record can send a mail twice: its row stays ``sending`` and is taken again
after OUTBOX_SENDING_TIMEOUT.
"""

import logging
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tweetup.publish import task_named

from ..models import OutboxMessage
from .outbox import CLEARED_ERROR, SEND_TASK, outbox_render

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status
# How many rows the sweep queues per transaction; it loops until none is due.
SWEEP_BATCH = 500


def message_send(*, message_id: int) -> bool:
    """Send one outbox row if it is due; returns True when the mail server accepted it.

    Claims the row in a short transaction: only a pending row whose next try
    is due, or a row whose claim is older than OUTBOX_SENDING_TIMEOUT (its
    worker died), is taken, and each claim counts as one attempt. The mail is
    sent outside any transaction. The outcome is recorded in another: sent;
    failed at once on a permanent refusal (a 5xx answer to the sender, the
    recipient or the message), with the server's answer; or, on a transient
    error (4xx, no connection, a timeout), pending again with its next try
    OUTBOX_RETRY_AFTER doubled per attempt (at most OUTBOX_RETRY_MAX) away,
    until OUTBOX_MAX_ATTEMPTS attempts have failed. Never raises for a
    failed send.
    """
    message = _claim(message_id)
    if message is None:
        return False
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_email],
        headers={"X-TweetUp-Key": message.key},
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    try:
        email.send()
    except Exception as exc:  # noqa: BLE001 - every failure is recorded and classified
        _record_failure(message, exc)
        return False
    _record_sent(message)
    return True


def _claim(message_id: int) -> OutboxMessage | None:
    now = timezone.now()
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            return None
        due = message.next_attempt_at is None or message.next_attempt_at <= now
        stale = (
            message.status == Status.SENDING
            and message.claimed_at < now - settings.OUTBOX_SENDING_TIMEOUT
        )
        if message.status == Status.PENDING and not due:
            # Too early (a stray task): the sweep queues it when its try is due.
            if message.queued_at is not None:
                message.queued_at = None
                message.save(update_fields=["queued_at"])
            return None
        if message.status != Status.PENDING and not stale:
            return None
        if not message.to_email:
            _fail(message, now, CLEARED_ERROR)
            return None
        if stale and message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            _fail(message, now, "The worker sending it stopped before recording the outcome.")
            return None
        # A mail whose bodies were left to the worker gets them now, once.
        rendered = outbox_render(message)
        message.status = Status.SENDING
        message.claimed_at = now
        message.queued_at = None
        message.attempts += 1
        message.save(update_fields=["status", "claimed_at", "queued_at", "attempts", *rendered])
    return message


def _fail(message: OutboxMessage, now: datetime, error: str) -> None:
    message.status = Status.FAILED
    message.last_error = error[:2000]
    message.last_attempt_at = now
    message.next_attempt_at = None
    message.queued_at = None
    message.save(
        update_fields=["status", "last_error", "last_attempt_at", "next_attempt_at", "queued_at"]
    )


def _record_sent(claimed: OutboxMessage) -> None:
    now = timezone.now()
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().get(pk=claimed.pk)
        # Whoever holds the row now, this mail has left: never send it again.
        message.status = Status.SENT
        message.sent_at = message.sent_at or now
        message.last_attempt_at = now
        message.last_error = ""
        message.next_attempt_at = None
        message.save(
            update_fields=["status", "sent_at", "last_attempt_at", "last_error", "next_attempt_at"]
        )


def _record_failure(claimed: OutboxMessage, exc: Exception) -> None:
    now = timezone.now()
    permanent = refusal_is_permanent(exc)
    error = describe_error(exc)
    log = logger.warning if permanent else logger.info
    log("Outbox message %s not sent (%s): %s", claimed.pk, claimed.kind, error)
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().get(pk=claimed.pk)
        if message.status != Status.SENDING or message.claimed_at != claimed.claimed_at:
            return  # Another worker took the row over after a timeout; it records.
        if permanent or message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            _fail(message, now, error)
            return
        message.status = Status.PENDING
        message.last_error = error
        message.last_attempt_at = now
        message.next_attempt_at = now + retry_delay(message.attempts)
        message.save(update_fields=["status", "last_error", "last_attempt_at", "next_attempt_at"])


def refusal_is_permanent(exc: Exception) -> bool:
    """Whether the mail server refused this mail for good (a 5xx answer about it).

    A 5xx answer to the recipient, the sender or the message is permanent;
    so is an address that cannot be written in SMTP. Everything else (4xx
    answers, refused or lost connections, timeouts, a failed login) is
    transient: the same mail may pass later.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _answer in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    return isinstance(exc, ValueError)


def describe_error(exc: Exception) -> str:
    """The error as stored on the row: its type and the server's answer when there is one."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = "; ".join(f"{code} {_text(answer)}" for code, answer in exc.recipients.values())
        text = f"{type(exc).__name__}: {answers}"
    elif isinstance(exc, smtplib.SMTPResponseException):
        text = f"{type(exc).__name__}: {exc.smtp_code} {_text(exc.smtp_error)}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text[:2000]


def _text(answer: bytes | str) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)


def retry_delay(attempts: int) -> timedelta:
    """How long the sweep waits after the given number of failed attempts.

    Doubles from OUTBOX_RETRY_AFTER up to OUTBOX_RETRY_MAX, so that an SMTP
    server down for hours still gets the mail once it is back.
    """
    first = settings.OUTBOX_RETRY_AFTER
    return min(first * 2 ** min(max(attempts - 1, 0), 30), settings.OUTBOX_RETRY_MAX)


def outage_survived() -> timedelta:
    """How long the mail server may be down before a mail fails for good.

    The waits between OUTBOX_MAX_ATTEMPTS attempts; the sweep, which runs
    every minute, adds up to a minute to each.
    """
    return sum(
        (retry_delay(attempt) for attempt in range(1, settings.OUTBOX_MAX_ATTEMPTS)),
        timedelta(0),
    )


# The sweep -----------------------------------------------------------------


def _due(now: datetime) -> Q:
    """Rows a worker should take now and that no task in the queue is known to wait for.

    A task queued more than OUTBOX_REQUEUE_AFTER ago is presumed lost (a
    broker restart): its row is queued again, and the claim makes sure that
    a late duplicate task sends nothing.
    """
    not_queued = Q(queued_at__isnull=True) | Q(queued_at__lt=now - settings.OUTBOX_REQUEUE_AFTER)
    pending = Q(status=Status.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    stale = Q(status=Status.SENDING, claimed_at__lt=now - settings.OUTBOX_SENDING_TIMEOUT)
    return (pending | stale) & not_queued


def unsent_message_ids(*, limit: int = SWEEP_BATCH) -> list[int]:
    """Rows due for a try, oldest first: never queued (broker down), retries due, stale claims."""
    return list(
        OutboxMessage.objects.filter(_due(timezone.now()))
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def messages_due_queue(*, batch: int = SWEEP_BATCH) -> int:
    """Queue a send task for every row that is due; returns how many were queued.

    Works in batches, each marked queued in its own transaction before its
    tasks are published, until no row is due: however long the backlog, one
    sweep queues all of it, and a row whose task still waits in the queue is
    not queued again. What is due is read as of the sweep's start, so a row
    that fails again meanwhile waits for the next sweep. Stops early when the
    broker refuses a task.
    """
    send_outbox_message = task_named(SEND_TASK)
    queued = 0
    now = timezone.now()
    while True:
        with transaction.atomic():
            ids = list(
                OutboxMessage.objects.filter(_due(now))
                .select_for_update(skip_locked=True)
                .order_by("created_at", "pk")
                .values_list("pk", flat=True)[:batch]
            )
            OutboxMessage.objects.filter(pk__in=ids).update(queued_at=now)
        if not ids:
            return queued
        for index, message_id in enumerate(ids):
            try:
                send_outbox_message.delay(message_id)
            except Exception:  # noqa: BLE001 - any broker failure: the next sweep tries again
                logger.warning("Broker unavailable; %s outbox rows wait.", len(ids) - index)
                OutboxMessage.objects.filter(pk__in=ids[index:], queued_at=now).update(
                    queued_at=None
                )
                return queued
            queued += 1
