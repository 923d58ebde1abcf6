"""The one entry point for mail: each mail a row of the outbox, written in the caller's
transaction and queued for sending after commit; resends; and the purge of the rows
about the people the other apps have forgotten.
"""

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime

from django.conf import settings
from django.db import models, transaction
from django.db.models import CharField, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from tweetup.audit import Verb, log_action
from tweetup.links import absolute_url
from tweetup.publish import task_after_commit

from ..models import OutboxMessage

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status
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
    # Every mail's footer links to the privacy notice (notifications/mail_base.html).
    context = {"privacy_url": absolute_url(reverse("privacy")), **context}
    with translation.override(language):
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        body_text = render_to_string(f"{template}.txt", context)
        body_text += render_to_string("notifications/mail_footer.txt", context)
        body_html = render_to_string(f"{template}.html", context)
    return outbox_write(
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


def outbox_write(*, key: str, to: str, subject: str, **fields) -> OutboxMessage:
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
    resend. Rows whose personal data was removed stay as they are. Each row
    queued is written to the audit log as ``actor``'s resend when an actor is given.
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
            if actor is not None:
                # Logged here, under the row's lock, for the rows this press
                # queued: a press that queued nothing leaves no resend on record.
                log_action(
                    actor=actor,
                    action=Verb.MAIL_RESEND,
                    target=message,
                    data={"kind": message.kind},
                    at=now,
                )
            queue_send(message.pk)
            queued += 1
    return queued


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
