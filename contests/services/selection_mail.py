"""The mail about places: offers, alternates' ranks, and what became of a place.

Every mail names the person's entry (``concerns``) and goes through the
outbox (``notifications.services.outbox.mail_enqueue``) under a key that
names the offer or the outcome, so asking twice sends one mail. Deadlines are
written in the visit's time zone (``answers.selection_deadline_zone``).
"""

from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from notifications.models import OutboxMessage
from notifications.services.outbox import mail_enqueue, messages_resend
from tweetup.audit import Verb, log_action
from tweetup.links import absolute_url

from ..errors import ContestError
from ..models import Draw, Selection
from .answers import offer_key, selection_answer_url, selection_context, selection_offer_key

OFFER_KIND = OutboxMessage.Kind.SELECTION_OFFER
PROMOTED_KIND = OutboxMessage.Kind.SELECTION_PROMOTED
DECLINED_KIND = OutboxMessage.Kind.SELECTION_DECLINED
EXPIRED_KIND = OutboxMessage.Kind.SELECTION_EXPIRED
ALTERNATE_KIND = OutboxMessage.Kind.SELECTION_ALTERNATE
DISQUALIFIED_KIND = OutboxMessage.Kind.SELECTION_DISQUALIFIED

OFFER_KINDS = (OFFER_KIND, PROMOTED_KIND)

Status = Selection.Status


def selection_notify(*, selection: Selection, base_url: str | None = None) -> OutboxMessage:
    """Queue the offer mail of a pending selection: accept and decline links, deadline.

    The key names the offer, so asking twice for the same offer sends one mail.
    Raises ContestError when the selection is not waiting for an answer.
    """
    if selection.status != Status.PENDING:
        raise ContestError(_("Only a place waiting for an answer can be offered."))
    promoted = selection.is_promoted
    return mail_enqueue(
        key=selection_offer_key(selection),
        kind=PROMOTED_KIND if promoted else OFFER_KIND,
        to=selection.entry.email,
        language=selection.entry.language,
        template=f"contests/mail/selection_{'promoted' if promoted else 'offer'}",
        context=selection_context(
            selection,
            accept_url=selection_answer_url(selection, action="accept", base_url=base_url),
            decline_url=selection_answer_url(selection, action="decline", base_url=base_url),
        ),
        contest_id=selection.draw.contest_id,
        concerns=selection.entry,
    )


def selection_alternate_notify(
    *, selection: Selection, deadline: datetime | None, base_url: str | None = None
) -> OutboxMessage:
    """Queue the mail telling an alternate their rank and what happens next.

    ``deadline`` is the winners' (the first offers'); the key names the
    selection, so an alternate hears of their rank once.
    """
    contest = selection.draw.contest
    return mail_enqueue(
        key=f"{ALTERNATE_KIND}:{selection.pk}",
        kind=ALTERNATE_KIND,
        to=selection.entry.email,
        language=selection.entry.language,
        template="contests/mail/selection_alternate",
        context=selection_context(
            selection,
            deadline=deadline,
            results_url=absolute_url(
                reverse("contests:results", kwargs={"slug": contest.slug}), base_url=base_url
            ),
        ),
        contest_id=contest.pk,
        concerns=selection.entry,
    )


def draw_offers_send(*, draw: Draw, actor=None, base_url: str | None = None) -> int:
    """Queue the offer mail of every pending selection of a draw; returns how many.

    The alternates still waiting are told their rank at the same time. Safe
    to call again: a mail already queued is not queued twice. An organizer
    who asks for it (``actor``) is on the record.
    """
    selections = list(
        Selection.objects.filter(
            draw=draw, status__in=(Status.PENDING, Status.WAITING)
        ).select_related("entry", "draw__contest__visit")
    )
    deadline = min(
        (s.deadline for s in selections if s.status == Status.PENDING and s.deadline),
        default=None,
    )
    count = 0
    with transaction.atomic():
        for selection in selections:
            if selection.status == Status.WAITING:
                selection_alternate_notify(
                    selection=selection, deadline=deadline, base_url=base_url
                )
                continue
            selection_notify(selection=selection, base_url=base_url)
            count += 1
        if actor is not None:
            log_action(
                actor=actor, action=Verb.OFFERS_SEND, target=draw, data={"pending_places": count}
            )
    return count


def selection_outcome_notify(*, selection: Selection, kind: str, template: str, **extra) -> None:
    """Queue the mail telling a person what became of their place (``kind``), once.

    The key names the selection and the outcome, so asking twice sends one mail.
    """
    mail_enqueue(
        key=f"{kind}:{selection.pk}",
        kind=kind,
        to=selection.entry.email,
        language=selection.entry.language,
        template=template,
        context=selection_context(selection, **extra),
        contest_id=selection.draw.contest_id,
        concerns=selection.entry,
    )


def offers_closed_keys(selections: list[Selection]) -> set[str]:
    """The outbox keys of the offer mails of these places that no longer wait for an answer.

    Sent again, such a mail would offer a place that was answered, expired or
    taken back since.
    """
    return {
        offer_key(selection.pk, offer)
        for selection in selections
        if selection.status != Status.PENDING
        for offer in (1, 2)
    }


def offer_resend_refusal(message: OutboxMessage) -> str | None:
    """Why an offer mail must not go again: its place no longer waits for an answer.

    Registered with the outbox (``resend_check_register``), so that no resend,
    from the dashboard or the admin, offers again a place answered, expired
    or taken back since. The place is locked while the mail is queued, so
    that a disqualification at the same moment waits for it.
    """
    if message.kind not in OFFER_KINDS:
        return None
    _prefix, selection_pk, _offer = message.key.split(":")
    selection = (
        Selection.objects.select_for_update()
        .filter(pk=int(selection_pk))
        .only("pk", "status", "promoted_at")
        .first()
    )
    if selection is None or selection_offer_key(selection) != message.key:
        return _("This offer mail is for a place that no longer exists.")
    if selection.status != Status.PENDING:
        return _(
            "This place no longer waits for an answer (%(status)s): its offer is not mailed again."
        ) % {"status": selection.get_status_display()}
    return None


def outbox_message_resend(*, message: OutboxMessage, seen: dict | None = None, actor=None) -> bool:
    """Queue a contest's mail again (``messages_resend``); whether it was queued.

    Raises ContestError, with the reason, for a mail the outbox refuses to
    resend (``offer_resend_refusal``, which it asks under the row's lock).
    """
    refused: dict[int, str] = {}
    queued = messages_resend(message_ids=[message.pk], seen=seen, actor=actor, refused=refused)
    if message.pk in refused:
        raise ContestError(refused[message.pk])
    return queued > 0
