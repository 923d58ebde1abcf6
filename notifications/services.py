"""The one entry point for mail, and the sending of outbox rows.

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
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import models, transaction
from django.db.models import CharField, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from tweetup.audit import Verb, log_action
from tweetup.links import absolute_url
from tweetup.publish import task_after_commit, task_named

from .models import OutboxMessage

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status

# How many rows the sweep queues per transaction; it loops until none is due.
SWEEP_BATCH = 500
# How many failed mails one report to the organizers lists by name.
REPORT_LISTED = 50
CLEARED_ERROR = "Personal data removed before the mail was sent."
# The task that sends one row (notifications.tasks), queued by its name.
SEND_TASK = "notifications.tasks.send_outbox_message"


def concerns_label(instance: models.Model | None) -> str | None:
    """How an outbox row names the person it is about: ``app_label.model:pk``."""
    if instance is None:
        return None
    return f"{instance._meta.label_lower}:{instance.pk}"


def mail_enqueue(
    *,
    key: str,
    kind: str,
    to: str,
    language: str,
    template: str,
    context: dict,
    contest_id: int | None = None,
    concerns: models.Model | None = None,
) -> OutboxMessage:
    """Write the outbox row for a mail and send it once the transaction commits.

    The mail is rendered now, in the recipient's language, from
    ``templates/<template>_subject.txt``, ``<template>.txt`` and ``<template>.html``.
    ``concerns`` is the person the mail is about (an entry, a visitor
    profile), so that their data can be found and removed with them.
    A second call with the same key returns the existing row: a notice is
    never queued twice.
    """
    existing = OutboxMessage.objects.filter(key=key).first()
    if existing is not None:
        return existing
    with translation.override(language):
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        body_text = render_to_string(f"{template}.txt", context)
        body_html = render_to_string(f"{template}.html", context)
    return _outbox_write(
        key=key,
        kind=kind,
        to=to,
        language=language,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        contest_id=contest_id,
        concerns=concerns_label(concerns),
    )


def _outbox_write(*, key: str, to: str, subject: str, **fields) -> OutboxMessage:
    with transaction.atomic():
        message, created = OutboxMessage.objects.get_or_create(
            key=key,
            defaults={
                "to_email": to,
                "subject": subject[:255],
                "queued_at": timezone.now(),
                **fields,
            },
        )
    if created:
        queue_send(message.pk)
    return message


def queue_send(message_id: int) -> None:
    """Hand a row to the Celery worker after commit; the sweep covers a broker outage.

    The caller has set the row's ``queued_at``, which keeps the sweep from
    queueing it a second time while the task waits in the queue.
    """

    def refused() -> None:
        logger.warning("Broker unavailable; outbox message %s waits for the sweep.", message_id)
        OutboxMessage.objects.filter(pk=message_id, status=Status.PENDING).update(queued_at=None)

    task_after_commit(SEND_TASK, message_id, on_refused=refused)


# Sending -------------------------------------------------------------------


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
        message.status = Status.SENDING
        message.claimed_at = now
        message.queued_at = None
        message.attempts += 1
        message.save(update_fields=["status", "claimed_at", "queued_at", "attempts"])
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


def _answer_code(error: str) -> str:
    """The server's reply code of a stored error (or the error's type): no address in it."""
    kind, _sep, rest = error.partition(": ")
    code = rest[:3]
    return code if code.isdigit() else kind


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


# Resending -----------------------------------------------------------------


def messages_resend(
    *,
    message_ids: Iterable[int],
    seen: Mapping[int, datetime | None] | None = None,
    actor=None,
) -> int:
    """Queue these rows again, once per press; returns how many were queued.

    A failed or sent row goes back to pending with a fresh set of attempts; a
    pending row waiting for its next try is tried now; a row already due or
    in a worker's hands is left alone. Each row is locked, so simultaneous
    presses queue it once. ``seen`` maps a row to the ``resend_requested_at``
    its organizer saw: a press is ignored once the row was resent since. A
    press without it is ignored within OUTBOX_RESEND_INTERVAL of the last
    resend. Rows whose personal data was removed stay as they are.
    """
    seen = seen or {}
    now = timezone.now()
    queued = 0
    with transaction.atomic():
        rows = (
            OutboxMessage.objects.select_for_update()
            .filter(pk__in=list(message_ids))
            .exclude(to_email="")
            .order_by("pk")
        )
        for message in rows:
            if message.pk in seen:
                if message.resend_requested_at != seen[message.pk]:
                    continue
            elif (
                message.resend_requested_at is not None
                and message.resend_requested_at > now - settings.OUTBOX_RESEND_INTERVAL
            ):
                continue
            if message.status == Status.SENDING:
                continue
            if message.status == Status.PENDING:
                if message.next_attempt_at is None or message.next_attempt_at <= now:
                    continue  # Due already: on its way.
            else:
                message.status = Status.PENDING
                message.attempts = 0
            message.next_attempt_at = None
            message.resend_requested_at = now
            message.queued_at = now
            message.failure_reported_at = None
            message.save(
                update_fields=[
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "resend_requested_at",
                    "queued_at",
                    "failure_reported_at",
                ]
            )
            logger.info("Outbox message %s queued again by %s.", message.pk, actor)
            queue_send(message.pk)
            queued += 1
    return queued


def resends_log(*, actor, message_ids: Iterable[int], since: datetime) -> int:
    """Log as ``actor``'s resends the outbox rows that were queued again since ``since``.

    ``messages_resend`` says how many rows it queued again, not which: each
    marks its row's ``resend_requested_at``. Call both in one transaction.
    Returns how many resends were logged.
    """
    rows = OutboxMessage.objects.filter(pk__in=list(message_ids), resend_requested_at__gte=since)
    logged = 0
    for message in rows.only("pk", "kind", "contest_id", "to_email", "key"):
        log_action(
            actor=actor,
            action=Verb.MAIL_RESEND,
            target=message,
            data={"kind": message.kind},
            at=message.resend_requested_at,
        )
        logged += 1
    return logged


# Telling the organizers ----------------------------------------------------


def failed_messages(contest_id: int | None = None):
    """Rows that failed for good and can still be resent (their address is kept)."""
    rows = OutboxMessage.objects.filter(status=Status.FAILED).exclude(to_email="")
    if contest_id is not None:
        rows = rows.filter(contest_id=contest_id)
    return rows.order_by("-last_attempt_at", "-pk")


def failures_report(*, now: datetime | None = None) -> OutboxMessage | None:
    """Mail ORGANIZERS_EMAIL the mails that failed for good since the last report.

    One mail lists them (kind, contest, when, the server's answer code, a link
    to each row in the admin), without the recipients' addresses. Sent
    through the outbox itself; the failure of a report is not reported.
    Returns the report's row, or None when there is nothing to tell or no
    address to tell it to.
    """
    address = settings.ORGANIZERS_EMAIL
    if not address:
        return None
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            failed_messages()
            .filter(failure_reported_at__isnull=True)
            .exclude(kind=OutboxMessage.Kind.MAIL_FAILED)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("contest")
            .only("pk", "kind", "last_error", "last_attempt_at", "contest__title")
            .order_by("pk")
        )
        if not rows:
            return None
        OutboxMessage.objects.filter(pk__in=[row.pk for row in rows]).update(
            failure_reported_at=now
        )
        listed = [
            {
                "message": row,
                "answer": _answer_code(row.last_error),
                "url": absolute_url(
                    reverse("admin:notifications_outboxmessage_change", args=[row.pk])
                ),
            }
            for row in rows[:REPORT_LISTED]
        ]
        context = {
            "failures": listed,
            "count": len(rows),
            "more": len(rows) - len(listed),
            "outbox_url": absolute_url(
                reverse("admin:notifications_outboxmessage_changelist") + "?status__exact=failed"
            ),
        }
        language = settings.LANGUAGE_CODE
        with translation.override(language):
            subject = render_to_string("notifications/mail/failures_subject.txt", context)
            body_text = render_to_string("notifications/mail/failures.txt", context)
        return _outbox_write(
            key=f"{OutboxMessage.Kind.MAIL_FAILED}:{now:%Y%m%dT%H%M%S.%f}:{rows[0].pk}",
            kind=OutboxMessage.Kind.MAIL_FAILED,
            to=address,
            language=language,
            subject=" ".join(subject.split()),
            body_text=body_text,
        )


# Privacy -------------------------------------------------------------------


def _outbox_clear(messages: QuerySet[OutboxMessage]) -> int:
    """Blank the address and text of these outbox rows; their key, kind and dates stay.

    The key stays so that the same notice is never queued again; a row still
    waiting is marked failed, as it can no longer reach anyone.
    """
    messages.filter(status=OutboxMessage.Status.PENDING).update(
        status=OutboxMessage.Status.FAILED, last_error=CLEARED_ERROR
    )
    return messages.update(to_email="", body_text="", body_html="")


def _concerning(people: QuerySet) -> Q:
    """The outbox rows about these people (entries, visitor profiles), as a filter.

    ``mail_enqueue(concerns=...)`` names the person a mail is about as
    ``app_label.model:pk`` (``notifications.services.concerns_label``).
    """
    label = Concat(
        Value(f"{people.model._meta.label_lower}:"), Cast("pk", output_field=CharField())
    )
    return Q(concerns__in=people.annotate(concerns_label=label).values("concerns_label"))


def outbox_personal_data_remove(*, forgotten: Iterable[QuerySet]) -> int:
    """Clear the outbox rows about the people the other apps' purges have forgotten.

    ``forgotten`` holds a queryset per kind of person (entries, visitor
    profiles): everyone forgotten so far, so a mail written while a purge ran
    goes at the next. A row is found by the person it concerns, never by its
    address, so a mail about an entrant who has since corrected their address
    goes too. Returns how many rows were cleared.
    """
    about = Q(pk__in=[])
    for people in forgotten:
        about |= _concerning(people)
    return _outbox_clear(OutboxMessage.objects.exclude(to_email="").filter(about))
