"""Telling the organizers of the mail that failed for good."""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from tweetup.links import absolute_url

from ..models import OutboxMessage
from .outbox import outbox_write

Status = OutboxMessage.Status
# How many failed mails one report to the organizers lists by name.
REPORT_LISTED = 50


def _answer_code(error: str) -> str:
    """The server's reply code of a stored error (or the error's type): no address in it."""
    kind, _sep, rest = error.partition(": ")
    code = rest[:3]
    return code if code.isdigit() else kind


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
            # The title in each language (django-modeltranslation), so that
            # naming a row's contest costs no query of its own.
            .only(
                "pk",
                "kind",
                "last_error",
                "last_attempt_at",
                "contest__title",
                "contest__title_en",
                "contest__title_fr",
            )
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
        return outbox_write(
            key=f"{OutboxMessage.Kind.MAIL_FAILED}:{now:%Y%m%dT%H%M%S.%f}:{rows[0].pk}",
            kind=OutboxMessage.Kind.MAIL_FAILED,
            to=address,
            language=language,
            subject=" ".join(subject.split()),
            body_text=body_text,
        )
