"""Business rules for the selections after the draw: offers, answers, promotions.

A selection holds a place while it is pending or accepted. Every time a place
is freed (declined, expired, disqualified) the draw is locked and the free
places are offered to the first alternates that keep the caps, in the draw's
order (tweetup-draw-v1, step 5), each with a fresh deadline and a mail
(``contests.services.selection_mail``). Every change of a selection is
logged as a SelectionEvent with who and when.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tweetup.audit import Verb, log_action

from .. import draw_algorithm
from ..errors import ContestError
from ..models import Contest, Draw, Selection, SelectionEvent
from .answers import ANSWER_GRACE, answer_time_over, past_answer_time, selections_offers
from .selection_mail import (
    DECLINED_KIND,
    DISQUALIFIED_KIND,
    EXPIRED_KIND,
    selection_notify,
    selection_outcome_notify,
)

logger = logging.getLogger(__name__)

Status = Selection.Status


# The actions written in a selection's log, and the site's own reasons for them.
Action = SelectionEvent.Action
Cause = SelectionEvent.Cause


@dataclass(frozen=True)
class PlacesState:
    """Where the places of a draw stand."""

    places: int
    accepted: int
    pending: int
    alternates_waiting: int
    # True while a free place could still go to a waiting alternate.
    alternate_available: bool

    @property
    def free(self) -> int:
        return max(self.places - self.accepted - self.pending, 0)

    @property
    def settled(self) -> bool:
        """Nobody is left to answer and no free place can be filled any more."""
        return self.pending == 0 and (self.free == 0 or not self.alternate_available)

    @property
    def alternates_exhausted(self) -> bool:
        return self.settled and self.free > 0


# State changes -------------------------------------------------------------


def _log(
    selection: Selection, action: str, *, actor=None, cause: str = "", note: str = "", at=None
) -> None:
    # The site's own reason is a code (``SelectionEvent.Cause``), read in the
    # reader's language; a person's note is kept as written.
    SelectionEvent.objects.create(
        selection=selection,
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
        cause=SelectionEvent.Cause(cause) if cause else "",
        note=note[:300],
        at=at or timezone.now(),
    )


def _lock(selection_id: int) -> tuple[Draw, Selection]:
    """Lock the draw, then the selection: the one lock order of this module."""
    draw_id = Selection.objects.filter(pk=selection_id).values_list("draw_id", flat=True).first()
    if draw_id is None:
        raise ContestError(_("This place no longer exists."))
    draw = (
        Draw.objects.select_for_update(of=("self",))
        .select_related("contest__visit")
        .get(pk=draw_id)
    )
    selection = (
        Selection.objects.select_for_update(of=("self",))
        .select_related("entry")
        .get(pk=selection_id)
    )
    selection.draw = draw
    return draw, selection


def _check_answerable(selection: Selection, now: datetime) -> None:
    if selection.status == Status.ACCEPTED:
        raise ContestError(_("You have already accepted this place."))
    if selection.status == Status.DECLINED:
        raise ContestError(_("You have already declined this place."))
    if selection.status != Status.PENDING:
        raise ContestError(_("This place is no longer open to an answer."))
    if past_answer_time(selection, now):
        raise ContestError(_("The deadline to answer has passed."))


def selection_accept(
    *,
    selection: Selection,
    can_attend: bool,
    actor=None,
    now: datetime | None = None,
) -> Selection:
    """Accept a pending place before its deadline, confirming the visit's date.

    The contest's side of the answer only: a winner accepts through
    ``visitors.services.places.place_accept``, which also makes them a
    visitor in the same transaction. Raises ContestError when the date is not
    confirmed, the place was already answered or taken back, or the deadline
    has passed.
    """
    if not can_attend:
        raise ContestError(_("Please confirm that you can come on the day of the visit."))
    now = now or timezone.now()
    with transaction.atomic():
        _draw, selection = _lock(selection.pk)
        _check_answerable(selection, now)
        selection.status = Status.ACCEPTED
        selection.answered_at = now
        selection.save(update_fields=["status", "answered_at"])
        _log(selection, Action.ACCEPTED, actor=actor, at=now)
    return selection


def selection_decline(
    *,
    selection: Selection,
    actor=None,
    cause: str = "",
    note: str = "",
    base_url: str | None = None,
    now: datetime | None = None,
) -> Selection:
    """Decline a pending place; confirm it by mail and offer the place to an alternate.

    ``cause`` (a ``SelectionEvent.Cause``) says how it was declined, ``note``
    what a staff member declining in the winner's stead wrote; both go to
    the selection's log. Raises ContestError when the place was already
    answered or taken back, or the deadline has passed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        draw, selection = _lock(selection.pk)
        _check_answerable(selection, now)
        selection.status = Status.DECLINED
        selection.answered_at = now
        selection.save(update_fields=["status", "answered_at"])
        _log(selection, Action.DECLINED, actor=actor, cause=cause, note=note, at=now)
        selection_outcome_notify(
            selection=selection, kind=DECLINED_KIND, template="contests/mail/selection_declined"
        )
        _fill_free_places(draw, actor=None, base_url=base_url, now=now)
    return selection


def selection_disqualify(
    *,
    selection: Selection,
    actor,
    reason: str,
    message: str = "",
    base_url: str | None = None,
    now: datetime | None = None,
) -> Selection:
    """Take a place (or an alternate's rank) back, with a reason; the place goes on.

    ``reason`` is for the record; the person is told by mail that the place
    was taken back, with ``message`` when the organizer chose to send one.
    Raises ContestError without a reason or when the selection is already
    declined, expired or disqualified.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ContestError(_("Give a reason for the disqualification."))
    now = now or timezone.now()
    with transaction.atomic():
        draw, selection = _lock(selection.pk)
        if selection.status not in (Status.WAITING, Status.PENDING, Status.ACCEPTED):
            raise ContestError(
                _("This selection is already %(status)s.")
                % {"status": selection.get_status_display().lower()}
            )
        was = selection.status
        selection.status = Status.DISQUALIFIED
        selection.reason = reason[:300]
        selection.save(update_fields=["status", "reason"])
        _log(selection, Action.DISQUALIFIED, actor=actor, note=reason, at=now)
        selection_outcome_notify(
            selection=selection,
            kind=DISQUALIFIED_KIND,
            template="contests/mail/selection_disqualified",
            message=(message or "").strip()[:2000],
        )
        log_action(
            actor=actor,
            action=Verb.SELECTION_DISQUALIFY,
            target=selection,
            reason=reason,
            changes={"status": [was, selection.status]},
            contest=draw.contest_id,
            at=now,
        )
        _fill_free_places(draw, actor=actor, base_url=base_url, now=now)
    return selection


def selection_withdrawn(
    *, selection: Selection, base_url: str | None = None, now: datetime | None = None
) -> bool:
    """Decline the place of an entry its entrant withdrew; the place goes on to an alternate.

    A place held or offered, or an alternate's rank still waiting, is
    declined with no mail (the entrant's address is gone) and logged as the
    entrant's own answer. Returns whether anything was declined. Called by
    ``entry_withdraw`` inside its transaction.
    """
    now = now or timezone.now()
    with transaction.atomic():
        draw, selection = _lock(selection.pk)
        if not _withdrawn_decline(selection, now):
            return False
        _fill_free_places(draw, actor=None, base_url=base_url, now=now)
    return True


def draw_withdrawn_decline(*, draw: Draw, now: datetime) -> int:
    """Decline, at the draw, the places of entries withdrawn after the freeze.

    Their tickets stayed in the frozen draw (its digest holds them), so the
    draw may choose them; each is handled as declined and its place offered
    on to the next alternate. The caller (``draw_run``) holds the lock on
    the draw and sends the offers. Returns how many were declined.
    """
    withdrawn = list(
        Selection.objects.filter(draw=draw, entry__withdrawn_at__isnull=False).select_related(
            "entry"
        )
    )
    declined = sum(_withdrawn_decline(selection, now) for selection in withdrawn)
    if declined:
        _fill_free_places(draw, actor=None, base_url=None, now=now, notify=False)
    return declined


def _withdrawn_decline(selection: Selection, now: datetime) -> bool:
    if selection.status not in (Status.WAITING, Status.PENDING, Status.ACCEPTED):
        return False
    selection.status = Status.DECLINED
    selection.answered_at = now
    selection.save(update_fields=["status", "answered_at"])
    _log(selection, Action.DECLINED, cause=Cause.ENTRY_WITHDRAWN, at=now)
    return True


def selection_promote(
    *,
    draw: Draw,
    actor=None,
    notify: bool = True,
    base_url: str | None = None,
    now: datetime | None = None,
) -> list[Selection]:
    """Offer every free place of the draw to the first alternates that keep the caps.

    Locks the draw so that two concurrent calls never promote the same
    alternate. Each promoted alternate's offer mail is queued, unless
    ``notify`` is False (the demo's past contest, whose mail went long ago).
    Returns the promoted selections (none when no place is free or no
    alternate fits).
    """
    now = now or timezone.now()
    with transaction.atomic():
        draw = (
            Draw.objects.select_for_update(of=("self",))
            .select_related("contest__visit")
            .get(pk=draw.pk)
        )
        return _fill_free_places(draw, actor=actor, base_url=base_url, now=now, notify=notify)


def _attributes(selections: list[Selection], caps: dict) -> dict[str, dict[str, str]]:
    return {
        s.entry.ticket: {field: str(getattr(s.entry, field, "") or "") for field in caps}
        for s in selections
    }


def _candidate(selections: list[Selection], caps: dict) -> Selection | None:
    """The first waiting alternate, in order, that keeps the caps with the places held.

    An alternate whose personal data the privacy purge removed is passed
    over, as an alternate already used: nobody is left to write to.
    """
    alternates = sorted(
        (s for s in selections if s.kind == Selection.Kind.ALTERNATE), key=lambda s: s.position
    )
    ticket = draw_algorithm.promotion_candidate(
        alternates=[s.entry.ticket for s in alternates],
        winners_in_place=[s.entry.ticket for s in selections if s.holds_place],
        attributes=_attributes(selections, caps),
        caps=caps,
        used={
            s.entry.ticket
            for s in alternates
            if s.status != Status.WAITING or s.entry.personal_data_removed_at is not None
        },
    )
    return next((s for s in alternates if s.entry.ticket == ticket), None)


def _places(selections: list[Selection]) -> int:
    return sum(1 for s in selections if s.kind == Selection.Kind.WINNER)


def _fill_free_places(
    draw: Draw, *, actor, base_url: str | None, now: datetime, notify: bool = True
) -> list[Selection]:
    # The caller holds the lock on the draw.
    visit = draw.contest.visit
    if visit is not None and now >= visit.day_start:
        # A place freed on or after the day cannot be taken up any more.
        return []
    selections = list(draw.selections.select_related("entry"))
    caps = dict(draw.caps or {})
    promoted = []
    while _places(selections) - sum(1 for s in selections if s.holds_place) > 0:
        selection = _candidate(selections, caps)
        if selection is None:
            break
        selection.status = Status.PENDING
        selection.promoted_at = now
        selection.deadline = now + timedelta(hours=draw.contest.acceptance_hours)
        selection.save(update_fields=["status", "promoted_at", "deadline"])
        selection.draw = draw
        _log(selection, Action.PROMOTED, actor=actor, at=now)
        log_action(
            actor=actor,
            action=Verb.SELECTION_PROMOTE,
            target=selection,
            changes={"status": [Status.WAITING, Status.PENDING]},
            data={"position": selection.position, "deadline": selection.deadline},
            contest=draw.contest_id,
            at=now,
        )
        if notify:
            selection_notify(selection=selection, base_url=base_url)
        promoted.append(selection)
    return promoted


def selections_expire_overdue(*, now: datetime | None = None) -> int:
    """Expire the pending places whose time to answer (and grace) has passed; each goes on.

    The time counts from when the offer mail was accepted by the mail server
    (``selection_answer_by``): a place whose offer mail has not left yet does
    not expire. Each selection is handled in its own transaction, so one
    failure does not hold back the others. Returns how many selections expired.
    """
    now = now or timezone.now()
    # The stored deadline is the earliest the time can run out.
    candidates = list(
        Selection.objects.filter(
            status=Status.PENDING, deadline__lt=now - ANSWER_GRACE
        ).select_related("draw")
    )
    offers = selections_offers(candidates)
    overdue = [
        selection.pk
        for selection in candidates
        if answer_time_over(selection, offers.get(selection.pk), now)
    ]
    expired = 0
    for selection_id in overdue:
        with transaction.atomic():
            draw, selection = _lock(selection_id)
            if selection.status != Status.PENDING or not past_answer_time(selection, now):
                continue
            selection.status = Status.EXPIRED
            selection.save(update_fields=["status"])
            _log(selection, Action.EXPIRED, cause=Cause.NO_ANSWER, at=now)
            selection_outcome_notify(
                selection=selection, kind=EXPIRED_KIND, template="contests/mail/selection_expired"
            )
            _fill_free_places(draw, actor=None, base_url=None, now=now)
            expired += 1
    return expired


# The end of the selections -------------------------------------------------


def contest_places_settled(*, contest: Contest) -> PlacesState | None:
    """Where the places stand, or None before the draw."""
    draw = Draw.objects.filter(contest=contest).first()
    if draw is None:
        return None
    selections = list(draw.selections.select_related("entry"))
    return places_state(draw=draw, selections=selections)


def places_state(*, draw: Draw, selections: list[Selection]) -> PlacesState:
    """The PlacesState of a draw from its selections (entries loaded)."""
    caps = dict(draw.caps or {})
    return PlacesState(
        places=_places(selections),
        accepted=sum(1 for s in selections if s.status == Status.ACCEPTED),
        pending=sum(1 for s in selections if s.status == Status.PENDING),
        alternates_waiting=sum(1 for s in selections if s.status == Status.WAITING),
        alternate_available=_candidate(selections, caps) is not None,
    )
