"""Sending the outbox's rows, and the sweep that queues the rows that are due.

A row goes pending → sending → sent, or back to pending with a later try, or
failed. A worker claims a batch of rows in a short transaction (status
``sending``), talks to the mail server outside any transaction, over one
connection for the batch, and records the outcomes in other short
transactions, so no lock or transaction is held while the server takes its
time. Only a worker stopped between the server's acceptance and the record
can send a mail twice: its row stays ``sending`` and is taken again after
OUTBOX_SENDING_TIMEOUT.
"""

import contextlib
import logging
import smtplib
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import mailers
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from tweetup.publish import task_named

from ..checks import longest_conversation
from ..mail import OutboxEmail
from ..models import OutboxMessage
from .outbox import CLEARED_ERROR, SEND_BATCH_TASK, outbox_render, queue_sends

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status
# How many rows the sweep marks queued per transaction; it loops until none is due.
SWEEP_BATCH = 1000
# How many mails of a batch the server accepted before their rows are marked sent:
# a worker that dies mid-batch leaves at most these to be sent twice.
RECORD_EVERY = 20
# Answers after which smtplib has reset the conversation, ready for the next mail.
_CONVERSATION_KEPT = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
    ValueError,
)


def message_send(*, message_id: int) -> bool:
    """Send one outbox row if it is due; returns True when the mail server accepted it.

    ``messages_send`` for a batch of one.
    """
    return messages_send(message_ids=[message_id]) == 1


def messages_send(*, message_ids: Sequence[int]) -> int:
    """Send those of these outbox rows that are due, over one connection to the mail server.

    Returns how many the server accepted. Claims the rows in a short
    transaction: only a pending row
    whose next try is due, or a row whose claim is older than
    OUTBOX_SENDING_TIMEOUT (its worker died), is taken, and each claim counts
    as one attempt. The mails are sent outside any transaction, each on its
    own, so that one refusal concerns one row. The outcomes are recorded in
    other transactions: sent (every RECORD_EVERY mails and at the end);
    failed at once on a permanent refusal (a 5xx answer to the sender, the
    recipient or the message), with the server's answer; or, on a transient
    error (4xx, no connection, a timeout), pending again with its next try
    OUTBOX_RETRY_AFTER doubled per attempt (at most OUTBOX_RETRY_MAX) away,
    until OUTBOX_MAX_ATTEMPTS attempts have failed. When the mail server
    cannot be reached, every row claimed has had its attempt. No mail is
    begun once the claim could outlive OUTBOX_SENDING_TIMEOUT: the rows left
    are handed back, their attempt not counted, and queued again. Never
    raises for a failed send.
    """
    claimed = _claim_batch(message_ids)
    if not claimed:
        return 0
    # The last moment a mail may be begun and still end before the claim goes stale.
    begin_by = claimed[0].claimed_at + settings.OUTBOX_SENDING_TIMEOUT - longest_conversation()
    mailer = mailers.default
    accepted: list[OutboxMessage] = []
    sent = 0
    try:
        for index, message in enumerate(claimed):
            if index and timezone.now() >= begin_by:
                _release(claimed[index:])
                break
            try:
                mailer.open()
            except Exception as exc:  # noqa: BLE001 - the server is unreachable for all of them
                for unsent in claimed[index:]:
                    _record_failure(unsent, exc)
                break
            try:
                mailer.send_messages([_email(message)])
            except Exception as exc:  # noqa: BLE001 - every failure is recorded and classified
                if not isinstance(exc, _CONVERSATION_KEPT) or _closing(exc):
                    _close(mailer)  # The next mail opens a new connection.
                _record_failure(message, exc)
                continue
            accepted.append(message)
            if len(accepted) >= RECORD_EVERY:
                sent += _record_sent(accepted)
                accepted = []
    finally:
        sent += _record_sent(accepted)
        _close(mailer)
    return sent


def _email(message: OutboxMessage) -> OutboxEmail:
    email = OutboxEmail(
        subject=message.subject,
        body=message.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_email],
        headers={"X-TweetUp-Key": message.key},
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    return email


def _closing(exc: Exception) -> bool:
    """Whether the server answered that it closes the connection (421)."""
    return getattr(exc, "smtp_code", None) == 421 or any(
        code == 421 for code, _answer in getattr(exc, "recipients", {}).values()
    )


def _close(mailer) -> None:
    """Close the connection to the mail server; a connection already lost is closed too."""
    with contextlib.suppress(Exception):
        mailer.close()
    mailer.connection = None


def _claim(message_id: int) -> OutboxMessage | None:
    """Claim one row, as ``_claim_batch`` does; None when it is not to be sent now."""
    claimed = _claim_batch([message_id])
    return claimed[0] if claimed else None


def _claim_batch(message_ids: Sequence[int]) -> list[OutboxMessage]:
    now = timezone.now()
    claimed, early = [], []
    with transaction.atomic():
        # Locked in the order of their keys, as every writer of several rows
        # does, so that two workers given the same rows wait for each other's
        # short claim rather than deadlock; the second finds them taken.
        rows = (
            OutboxMessage.objects.select_for_update()
            .filter(pk__in=list(message_ids))
            .order_by("pk")
        )
        for message in rows:
            due = message.next_attempt_at is None or message.next_attempt_at <= now
            stale = (
                message.status == Status.SENDING
                and message.claimed_at < now - settings.OUTBOX_SENDING_TIMEOUT
            )
            if message.status == Status.PENDING and not due:
                # Too early (a stray task): the sweep queues it when its try is due.
                if message.queued_at is not None:
                    early.append(message.pk)
                continue
            if message.status != Status.PENDING and not stale:
                continue
            if not message.to_email:
                _fail(message, now, CLEARED_ERROR)
                continue
            if stale and message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                _fail(message, now, "The worker sending it stopped before recording the outcome.")
                continue
            message.status = Status.SENDING
            message.claimed_at = now
            message.queued_at = None
            message.attempts += 1
            claimed.append(message)
        if early:
            OutboxMessage.objects.filter(pk__in=early).update(queued_at=None)
        if claimed:
            OutboxMessage.objects.filter(pk__in=[message.pk for message in claimed]).update(
                status=Status.SENDING, claimed_at=now, queued_at=None, attempts=F("attempts") + 1
            )
            # A mail whose bodies were left to the worker gets them now, once.
            for message in claimed:
                rendered = outbox_render(message)
                if rendered:
                    message.save(update_fields=rendered)
    return claimed


def _release(claimed: Sequence[OutboxMessage]) -> None:
    """Hand back rows of a batch never begun, their attempt not counted, and queue them again."""
    now = timezone.now()
    claim = claimed[0].claimed_at
    with transaction.atomic():
        ids = list(
            OutboxMessage.objects.select_for_update()
            .filter(pk__in=[message.pk for message in claimed], status=Status.SENDING)
            .filter(claimed_at=claim)
            .values_list("pk", flat=True)
        )
        OutboxMessage.objects.filter(pk__in=ids).update(
            status=Status.PENDING, attempts=F("attempts") - 1, queued_at=now
        )
    logger.info("%s outbox messages handed back before their claim went stale.", len(ids))
    queue_sends(ids)


def _fail(message: OutboxMessage, now: datetime, error: str) -> None:
    message.status = Status.FAILED
    message.last_error = error[:2000]
    message.last_attempt_at = now
    message.next_attempt_at = None
    message.queued_at = None
    message.save(
        update_fields=["status", "last_error", "last_attempt_at", "next_attempt_at", "queued_at"]
    )


def _record_sent(claimed: Sequence[OutboxMessage]) -> int:
    if not claimed:
        return 0
    now = timezone.now()
    with transaction.atomic():
        # One statement: the rows locked in the order of their keys (see
        # _claim_batch), then marked. Whoever holds them now, these mails
        # have left: never send them again.
        locked = (
            OutboxMessage.objects.select_for_update()
            .filter(pk__in=[message.pk for message in claimed])
            .order_by("pk")
            .values("pk")
        )
        OutboxMessage.objects.filter(pk__in=locked).update(
            status=Status.SENT,
            sent_at=Coalesce("sent_at", now),
            last_attempt_at=now,
            last_error="",
            next_attempt_at=None,
        )
    return len(claimed)


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
    """Queue a send task for every row that is due; returns how many rows were queued.

    Works in batches of ``batch`` rows, each marked queued in its own
    transaction before its tasks (OUTBOX_SEND_BATCH rows each) are
    published, until no row is due: however long the backlog, one sweep
    queues all of it, as many tasks as the workers can take at once, and a
    row whose task still waits in the queue is not queued again. What is due
    is read as of the sweep's start, so a row that fails again meanwhile
    waits for the next sweep. Stops early when the broker refuses a task.
    """
    send_outbox_messages = task_named(SEND_BATCH_TASK)
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
        size = settings.OUTBOX_SEND_BATCH
        for start in range(0, len(ids), size):
            try:
                send_outbox_messages.delay(ids[start : start + size])
            except Exception:  # noqa: BLE001 - any broker failure: the next sweep tries again
                waiting = ids[start:]
                logger.warning("Broker unavailable; %s outbox rows wait.", len(waiting))
                OutboxMessage.objects.filter(pk__in=waiting, queued_at=now).update(queued_at=None)
                return queued
            queued += len(ids[start : start + size])
