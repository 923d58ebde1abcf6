"""The one entry point for mail, and the sending of outbox rows."""

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .models import OutboxMessage

logger = logging.getLogger(__name__)


class NotificationError(Exception):
    """A mail could not be queued or resent; the message says why."""


def absolute_url(path: str, *, base_url: str | None = None) -> str:
    """Join a site path to the site's address (the request's when known)."""
    base = (base_url or settings.SITE_URL).rstrip("/")
    return f"{base}{path}"


def mail_enqueue(
    *,
    key: str,
    kind: str,
    to: str,
    language: str,
    template: str,
    context: dict,
    contest_id: int | None = None,
) -> OutboxMessage:
    """Write the outbox row for a mail and send it once the transaction commits.

    The mail is rendered now, in the recipient's language, from
    ``templates/<template>_subject.txt``, ``<template>.txt`` and ``<template>.html``.
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
    with transaction.atomic():
        message, created = OutboxMessage.objects.get_or_create(
            key=key,
            defaults={
                "kind": kind,
                "to_email": to,
                "language": language,
                "subject": subject[:255],
                "body_text": body_text,
                "body_html": body_html,
                "contest_id": contest_id,
            },
        )
    if created:
        queue_send(message.pk)
    return message


def queue_send(message_id: int) -> None:
    """Hand a row to the Celery worker after commit; the sweep covers a broker outage."""

    def publish() -> None:
        from .tasks import send_outbox_message

        try:
            send_outbox_message.delay(message_id)
        except Exception:  # noqa: BLE001 - any broker failure leaves the row for the sweep
            logger.warning("Broker unavailable; outbox message %s waits for the sweep.", message_id)

    transaction.on_commit(publish)


def message_send(*, message_id: int) -> bool:
    """Send one outbox row if it is still pending.

    Locks the row so two workers never send it twice. A row already sent, or
    failed for good (given up, or its personal data removed), is left alone
    until an organizer resends it. Returns True when this call sent it, False
    when there was nothing to do. An SMTP or network error
    is recorded on the row (attempts, last error) and raised again so the task
    can retry it.
    """
    try:
        with transaction.atomic():
            message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
            if message is None or message.status != OutboxMessage.Status.PENDING:
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
            email.send()
            now = timezone.now()
            message.status = OutboxMessage.Status.SENT
            message.sent_at = now
            message.last_attempt_at = now
            message.attempts += 1
            message.last_error = ""
            message.next_attempt_at = None
            message.save(
                update_fields=[
                    "status",
                    "sent_at",
                    "last_attempt_at",
                    "attempts",
                    "last_error",
                    "next_attempt_at",
                ]
            )
            return True
    except Exception as exc:
        _record_failure(message_id, exc)
        raise


def retry_delay(attempts: int) -> timedelta:
    """How long the sweep waits after the given number of failed attempts.

    Doubles from OUTBOX_RETRY_AFTER up to OUTBOX_RETRY_MAX, so that an SMTP
    server down for hours still gets the mail once it is back.
    """
    first = settings.OUTBOX_RETRY_AFTER
    return min(first * 2 ** min(max(attempts - 1, 0), 30), settings.OUTBOX_RETRY_MAX)


def _record_failure(message_id: int, exc: Exception) -> None:
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.status != OutboxMessage.Status.PENDING:
            return
        now = timezone.now()
        message.attempts += 1
        message.last_attempt_at = now
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            message.status = OutboxMessage.Status.FAILED
            message.next_attempt_at = None
        else:
            message.next_attempt_at = now + retry_delay(message.attempts)
        message.save(
            update_fields=["attempts", "last_attempt_at", "last_error", "status", "next_attempt_at"]
        )


def unsent_message_ids(*, limit: int = 500) -> list[int]:
    """Pending rows due for a try: never tried, or whose retry delay has passed.

    A row younger than OUTBOX_RETRY_AFTER is left to the task queued after
    its commit.
    """
    now = timezone.now()
    return list(
        OutboxMessage.objects.filter(
            status=OutboxMessage.Status.PENDING,
            created_at__lt=now - settings.OUTBOX_RETRY_AFTER,
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )


def messages_resend(*, message_ids: Iterable[int]) -> int:
    """Queue the given rows again, sent or not; returns how many were queued.

    Rows whose personal data was removed (no recipient left) stay as they are.
    """
    with transaction.atomic():
        rows = OutboxMessage.objects.filter(pk__in=list(message_ids)).exclude(to_email="")
        ids = list(rows.values_list("pk", flat=True))
        count = OutboxMessage.objects.filter(pk__in=ids).update(
            status=OutboxMessage.Status.PENDING, sent_at=None, next_attempt_at=None
        )
        for message_id in ids:
            queue_send(message_id)
    return count
