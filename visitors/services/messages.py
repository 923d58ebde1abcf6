"""The organizers' messages to the visitors of a visit, through the outbox.

A message is written by a background job (``visit_message_job_start``), so
that no request waits for the mail of every visitor to be written.
"""

from collections.abc import Callable

from django.db import transaction
from django.utils.translation import gettext as _

from notifications.services.outbox import Mail, mail_enqueue_many
from tweetup import jobs
from tweetup.audit import Verb, log_action
from tweetup.models import Job
from visits.models import Visit

from ..errors import VisitorError
from ..models import VisitMessage
from ..selectors import visitor_profiles
from .mail import MESSAGE_KIND, _contest_id, _visit_stops, _visitor_mail_context


def visit_message_send(
    *,
    visit: Visit,
    audience: str,
    subject_en: str,
    body_en: str,
    subject_fr: str = "",
    body_fr: str = "",
    actor=None,
    base_url: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> VisitMessage:
    """Write to the visitors of a visit (all, or those not confirmed yet) through the outbox.

    Each visitor gets the French text when they read French and one was
    written, else the English one. Returns the message with how many it reached.
    Raises VisitorError when the English subject or text is missing.
    """
    subject_en, body_en = (subject_en or "").strip(), (body_en or "").strip()
    subject_fr, body_fr = (subject_fr or "").strip(), (body_fr or "").strip()
    if not (subject_en and body_en):
        raise VisitorError(_("Write at least the English subject and message."))
    if audience not in VisitMessage.Audience.values:
        raise VisitorError(_("Choose who receives the message."))
    with transaction.atomic():
        message = VisitMessage.objects.create(
            visit=visit,
            audience=audience,
            subject_en=subject_en,
            body_en=body_en,
            subject_fr=subject_fr,
            body_fr=body_fr,
            sent_by=actor if actor is not None and actor.is_authenticated else None,
        )
        profiles = visitor_profiles(visit).exclude(email="")
        if audience == VisitMessage.Audience.UNCONFIRMED:
            profiles = profiles.filter(attendance_confirmed_at__isnull=True)
        total = profiles.count() if progress is not None else 0
        stops = _visit_stops(visit)
        mails = []
        for profile in profiles:
            if progress is not None and len(mails) % 100 == 0:
                progress(len(mails), total)
            french = profile.language == "fr" and subject_fr and body_fr
            mails.append(
                Mail(
                    key=f"{MESSAGE_KIND}:{message.pk}:{profile.pk}",
                    kind=MESSAGE_KIND,
                    to=profile.email,
                    language=profile.language,
                    template="visitors/mail/message",
                    context={
                        **_visitor_mail_context(profile, visit, base_url, stops),
                        "subject": subject_fr if french else subject_en,
                        "body": body_fr if french else body_en,
                    },
                    contest_id=_contest_id(profile),
                    concerns=profile,
                )
            )
        mail_enqueue_many(mails=mails)
        count = len(mails)
        if progress is not None:
            progress(count, count)
        message.recipients_count = count
        message.save(update_fields=["recipients_count"])
        log_action(
            actor=actor,
            action=Verb.VISIT_MESSAGE,
            target=message,
            data={"audience": audience, "subject": subject_en, "recipients": count},
        )
    return message


def _message_texts(
    *, audience: str, subject_en: str, body_en: str, subject_fr: str, body_fr: str
) -> dict[str, str]:
    """The message's texts, trimmed; VisitorError when one it needs is missing."""
    texts = {
        "audience": audience,
        "subject_en": (subject_en or "").strip(),
        "body_en": (body_en or "").strip(),
        "subject_fr": (subject_fr or "").strip(),
        "body_fr": (body_fr or "").strip(),
    }
    if not (texts["subject_en"] and texts["body_en"]):
        raise VisitorError(_("Write at least the English subject and message."))
    if audience not in VisitMessage.Audience.values:
        raise VisitorError(_("Choose who receives the message."))
    return texts


def visit_message_job_start(
    *,
    visit: Visit,
    audience: str,
    subject_en: str,
    body_en: str,
    subject_fr: str = "",
    body_fr: str = "",
    actor=None,
    base_url: str | None = None,
) -> tuple[Job, bool]:
    """Start writing a message to the visitors as a background job; ``(job, created)``.

    The job calls ``visit_message_send``. While one message to the visit's
    visitors is being written, a second press shows that job. Raises
    VisitorError at once for a missing text.
    """
    texts = _message_texts(
        audience=audience,
        subject_en=subject_en,
        body_en=body_en,
        subject_fr=subject_fr,
        body_fr=body_fr,
    )
    return jobs.job_start(
        kind=Job.Kind.VISIT_MESSAGE,
        task="visitors.tasks.run_visit_message_job",
        actor=actor,
        visit=visit,
        params={**texts, "base_url": base_url},
    )
