"""The answer to an offered place: its signed links, and the time its winner has to answer.

The time counts from when the mail server accepted the offer mail, so a
winner whose offer left late never sees the deadline run out unawares.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.models import OutboxMessage
from tweetup.links import absolute_url, signed_link_data, signed_link_token

from ..errors import ContestError
from ..models import Contest, Selection

ANSWER_SALT = "contests.selection-answer"
# A winner who opens the form just before the deadline may still send it.
ANSWER_GRACE = timedelta(minutes=15)
Status = Selection.Status


# Links ---------------------------------------------------------------------


def selection_answer_token(selection: Selection) -> str:
    """A signed token naming this selection and its current offer (by its deadline)."""
    if selection.deadline is None:
        raise ContestError(_("This place has not been offered yet."))
    return signed_link_token(
        salt=ANSWER_SALT, s=selection.pk, d=int(selection.deadline.timestamp())
    )


def selection_answer_url(selection: Selection, *, action: str, base_url: str | None = None) -> str:
    # The answer pages are the visitors app's: accepting makes the winner a visitor.
    name = {"accept": "visitors:place_accept", "decline": "visitors:place_decline"}[action]
    path = reverse(name, kwargs={"token": selection_answer_token(selection)})
    return absolute_url(path, base_url=base_url)


def selection_from_token(*, token: str, now: datetime | None = None) -> Selection:
    """The selection a link names, as long as the link is genuine and current.

    Raises ContestError when the link was tampered with, belongs to an earlier
    offer, its deadline has passed (and its holder did not answer in time), or
    it is older than VISITOR_LINK_MAX_AGE.
    """
    # An answered place's link keeps showing the answer (and the visitor's
    # profile link), so it must stop working some day like every link in mail.
    data = signed_link_data(
        token, salt=ANSWER_SALT, key="s", max_age=settings.VISITOR_LINK_MAX_AGE, error=ContestError
    )
    selection = (
        Selection.objects.select_related("entry", "draw__contest__visit")
        .filter(pk=data["s"])
        .first()
    )
    if selection is None or selection.deadline is None:
        raise ContestError(_("This place no longer exists."))
    if int(selection.deadline.timestamp()) != data.get("d"):
        raise ContestError(_("This link belongs to an earlier offer and no longer works."))
    now = now or timezone.now()
    answered = selection.status in (Status.ACCEPTED, Status.DECLINED)
    if not answered and past_answer_time(selection, now):
        raise ContestError(
            _("This link has expired: the deadline to answer has passed, so the place went on.")
        )
    return selection


# The time to answer ---------------------------------------------------------


def selection_deadline_zone(contest: Contest) -> str:
    """The time zone deadlines are written in: the visit's, else the contest's."""
    return contest.visit.time_zone if contest.visit_id else contest.time_zone


def selection_context(selection: Selection, **extra) -> dict:
    """What the offer mail and the answer pages show of a place: contest, visit, deadline zone."""
    contest = selection.draw.contest
    return {
        "selection": selection,
        "entry": selection.entry,
        "contest": contest,
        "visit": contest.visit,
        "time_zone": selection_deadline_zone(contest),
        **extra,
    }


def offer_key(selection_pk: int, offer: int) -> str:
    """The outbox key of a place's first (1) or second (2, once promoted) offer mail."""
    return f"selection_offer:{selection_pk}:{offer}"


def selection_offer_key(selection: Selection) -> str:
    """The outbox key of a place's offer mail (a promoted alternate's is its second offer)."""
    return offer_key(selection.pk, 2 if selection.is_promoted else 1)


def selection_answer_by(
    selection: Selection, *, offer: OutboxMessage | None, drawn_at: datetime
) -> datetime | None:
    """When the time to answer a pending place runs out (ANSWER_GRACE comes on top).

    The time counts from when the mail server accepted the offer mail: the
    stored deadline (the one the mail states) moves on by as long as the mail
    took to leave after the place was offered. While the offer mail waits or
    has failed, the time has not begun: None. A place offered without any
    mail in the outbox keeps its stored deadline.
    """
    if selection.deadline is None:
        return None
    if offer is None:
        return selection.deadline
    if offer.sent_at is None:
        return None
    offered_at = selection.promoted_at or drawn_at
    return selection.deadline + max(offer.sent_at - offered_at, timedelta(0))


def selections_offers(selections: list[Selection]) -> dict[int, OutboxMessage]:
    """The offer mail of each of these selections that has one, by selection (one query)."""
    keys = {selection_offer_key(selection): selection.pk for selection in selections}
    rows = OutboxMessage.objects.filter(key__in=list(keys)).only("key", "status", "sent_at")
    return {keys[row.key]: row for row in rows}


def selection_answer_deadline(selection: Selection) -> datetime | None:
    """``selection_answer_by`` of one selection (its draw loaded), reading its offer mail."""
    offer = selections_offers([selection]).get(selection.pk)
    return selection_answer_by(selection, offer=offer, drawn_at=selection.draw.drawn_at)


def answer_time_over(selection: Selection, offer: OutboxMessage | None, now: datetime) -> bool:
    answer_by = selection_answer_by(selection, offer=offer, drawn_at=selection.draw.drawn_at)
    return answer_by is not None and now > answer_by + ANSWER_GRACE


def past_answer_time(selection: Selection, now: datetime) -> bool:
    answer_by = selection_answer_deadline(selection)
    return answer_by is not None and now > answer_by + ANSWER_GRACE
