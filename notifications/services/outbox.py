"""The one entry point for mail: each mail a row of the outbox, written in the caller's
transaction and queued for sending after commit; resends; and the purge of the rows
about the people the other apps have forgotten.
"""

import itertools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, models, transaction
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
# The tasks that send one row and a batch of rows (notifications.tasks), queued by name.
SEND_TASK = "notifications.tasks.send_outbox_message"
SEND_BATCH_TASK = "notifications.tasks.send_outbox_messages"
# How many rows of a bulk mail are written (and looked up) per INSERT.
WRITE_BATCH = 1000

# What the apps above the outbox say of their own mail before it goes again:
# each check takes a row (locked) and returns why it must not be resent (an
# offer for a place answered or taken back since), or None. Registered by
# the apps when they are ready (``resend_check_register``).
RESEND_CHECKS: list[Callable[[OutboxMessage], str | None]] = []


def resend_check_register(check: Callable[[OutboxMessage], str | None]) -> None:
    if check not in RESEND_CHECKS:
        RESEND_CHECKS.append(check)


def resend_refusal(message: OutboxMessage) -> str | None:
    """Why this row must not be resent, by the first check that refuses it; None if none does."""
    for check in RESEND_CHECKS:
        reason = check(message)
        if reason:
            return reason
    return None


def concerns_label(instance: models.Model | None) -> str | None:
    """How an outbox row names the person it is about: ``app_label.model:pk``."""
    if instance is None:
        return None
    return f"{instance._meta.label_lower}:{instance.pk}"


@dataclass(frozen=True)
class Mail:
    """One mail of a bulk send, as ``mail_enqueue`` takes it; see there."""

    key: str
    kind: str
    to: str
    language: str
    template: str
    context: dict
    contest_id: int | None = None
    concerns: models.Model | None = None


def _with_footer_links(context: dict) -> dict:
    """The context with what every mail's footer links to: the privacy notice."""
    return {"privacy_url": absolute_url(reverse("privacy")), **context}


def _bodies(template: str, context: dict) -> tuple[str, str]:
    """The text (with the footer every mail has) and HTML of a mail, in the active language."""
    body_text = render_to_string(f"{template}.txt", context)
    body_text += render_to_string("notifications/mail_footer.txt", context)
    return body_text, render_to_string(f"{template}.html", context)


def _render(template: str, language: str, context: dict) -> tuple[str, str, str]:
    """The subject, text and HTML of a mail, in ``language``."""
    context = _with_footer_links(context)
    with translation.override(language):
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        body_text, body_html = _bodies(template, context)
    return subject, body_text, body_html


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
    bodies_in_worker: bool = False,
) -> OutboxMessage:
    """Write the outbox row for a mail and send it once the transaction commits.

    The mail is rendered in the recipient's language, from
    ``templates/<template>_subject.txt``, ``<template>.txt`` and ``<template>.html``:
    all three now, or with ``bodies_in_worker`` the subject now and the bodies
    by the worker that sends the row (``outbox_render``), so the request that
    caused the mail does not render them; its ``context`` must then be JSON
    (strings, numbers, lists, dicts). ``concerns`` is the person the mail is
    about (an entry, a visitor profile), so that their data can be found and
    removed with them. A second call with the same key returns the existing
    row: a notice is never queued twice.
    """
    if not bodies_in_worker:
        existing = OutboxMessage.objects.filter(key=key).first()
        if existing is not None:
            return existing
    context = _with_footer_links(context)
    if bodies_in_worker:
        with translation.override(language):
            subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        bodies = {"template": template, "context": context, "body_text": ""}
    else:
        subject, body_text, body_html = _render(template, language, context)
        bodies = {"body_text": body_text, "body_html": body_html}
    return outbox_write(
        key=key,
        kind=kind,
        to=to,
        language=language,
        subject=subject,
        contest_id=contest_id,
        concerns=concerns_label(concerns),
        **bodies,
    )


def outbox_render(message: OutboxMessage) -> list[str]:
    """Render the bodies of a row left to the worker; returns the fields changed (to save).

    A row rendered already (or written whole) is left as it is.
    """
    if not message.template:
        return []
    with translation.override(message.language):
        message.body_text, message.body_html = _bodies(
            message.template, _with_footer_links(message.context)
        )
    # The context has done its work; it holds what the bodies say (a signed link too).
    message.template = ""
    message.context = None
    return ["body_text", "body_html", "template", "context"]


def mail_enqueue_many(*, mails: Iterable[Mail], batch_size: int = WRITE_BATCH) -> int:
    """Write the outbox rows of many mails in batches, and send them once the transaction commits.

    What ``mail_enqueue`` does for one mail, for each of ``mails`` (read
    lazily, ``batch_size`` at a time): a few queries per batch, none per
    mail, so the caller must give each mail's context without queries of its
    own (prefetch what the templates read). A mail whose key is in the outbox
    already is neither rendered nor written again, even when another process
    writes it at the same moment (``ON CONFLICT DO NOTHING``). The new rows
    are sent in batches of OUTBOX_SEND_BATCH, each over one connection to
    the mail server. Returns how many rows were new.
    """
    written = 0
    for batch in itertools.batched(mails, batch_size):
        written += _write_batch(batch)
    return written


def _write_batch(mails: Sequence[Mail]) -> int:
    keys = {mail.key for mail in mails}
    existing = set(OutboxMessage.objects.filter(key__in=keys).values_list("key", flat=True))
    # Marks the rows this batch writes, to tell them from rows another process wrote.
    stamp = timezone.now()
    rows = {}
    for mail in mails:
        if mail.key in existing or mail.key in rows:
            continue
        subject, body_text, body_html = _render(mail.template, mail.language, mail.context)
        rows[mail.key] = OutboxMessage(
            key=mail.key,
            kind=mail.kind,
            to_email=mail.to,
            language=mail.language,
            subject=subject[:255],
            body_text=body_text,
            body_html=body_html,
            contest_id=mail.contest_id,
            concerns=concerns_label(mail.concerns),
            queued_at=stamp,
        )
    if not rows:
        return 0
    OutboxMessage.objects.bulk_create(rows.values(), ignore_conflicts=True)
    written = list(
        OutboxMessage.objects.filter(key__in=rows, queued_at=stamp)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    queue_sends(written)
    return len(written)


def outbox_write(*, key: str, to: str, subject: str, **fields) -> OutboxMessage:
    """Write the row with this key, or return the one written already (and queue nothing).

    The unique key decides, in a savepoint: a new notice costs one INSERT.
    """
    try:
        with transaction.atomic():
            message = OutboxMessage.objects.create(
                key=key, to_email=to, subject=subject[:255], queued_at=timezone.now(), **fields
            )
    except IntegrityError:
        return OutboxMessage.objects.get(key=key)
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


def queue_sends(message_ids: Sequence[int]) -> None:
    """Hand rows to the Celery workers after commit, OUTBOX_SEND_BATCH rows per task.

    As ``queue_send``: the caller has set the rows' ``queued_at``, and a
    batch the broker refuses waits for the sweep.
    """
    for batch in itertools.batched(message_ids, settings.OUTBOX_SEND_BATCH):
        ids = list(batch)

        def refused(ids=ids) -> None:
            logger.warning("Broker unavailable; %s outbox messages wait for the sweep.", len(ids))
            OutboxMessage.objects.filter(pk__in=ids, status=Status.PENDING).update(queued_at=None)

        task_after_commit(SEND_BATCH_TASK, ids, on_refused=refused)


# Resending -----------------------------------------------------------------


def messages_resend(
    *,
    message_ids: Iterable[int],
    seen: Mapping[int, datetime | None] | None = None,
    actor=None,
    refused: dict[int, str] | None = None,
) -> int:
    """Queue these rows again, once per press; returns how many were queued.

    A failed or sent row goes back to pending with a fresh set of attempts; a
    pending row waiting for its next try is tried now; a row already due or
    in a worker's hands is left alone. Each row is locked, so simultaneous
    presses queue it once. ``seen`` maps a row to the ``resend_requested_at``
    its organizer saw: a press is ignored once the row was resent since. A
    press without it is ignored within OUTBOX_RESEND_INTERVAL of the last
    resend. Rows whose personal data was removed stay as they are, and so do
    rows a check of their app refuses (``resend_refusal``): ``refused``, when
    given, gets each such row's reason. Each row
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
            reason = resend_refusal(message)
            if reason:
                if refused is not None:
                    refused[message.pk] = reason
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
    return messages.update(to_email="", body_text="", body_html="", context=None)


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
