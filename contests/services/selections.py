"""Business rules for the selections after the draw: offers, answers, promotions.

A selection holds a place while it is pending or accepted. Every time a place
is freed (declined, expired, disqualified) the draw is locked and the free
places are offered to the first alternates that keep the caps, in the draw's
order (tweetup-draw-v1, step 5), each with a fresh deadline and a mail.
Every change of a selection is logged as a SelectionEvent with who and when.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.models import OutboxMessage
from notifications.services import mail_enqueue
from tweetup.audit import Verb, log_action
from tweetup.links import absolute_url, signed_link_data, signed_link_token

from .. import draw_algorithm
from ..errors import ContestError
from ..models import Contest, Draw, Entry, Selection, SelectionEvent

logger = logging.getLogger(__name__)

ANSWER_SALT = "contests.selection-answer"
# A winner who opens the form just before the deadline may still send it.
ANSWER_GRACE = timedelta(minutes=15)

OFFER_KIND = OutboxMessage.Kind.SELECTION_OFFER
PROMOTED_KIND = OutboxMessage.Kind.SELECTION_PROMOTED
DECLINED_KIND = OutboxMessage.Kind.SELECTION_DECLINED
EXPIRED_KIND = OutboxMessage.Kind.SELECTION_EXPIRED
NOT_CHOSEN_KIND = OutboxMessage.Kind.NOT_CHOSEN

Status = Selection.Status


# The actions written in a selection's log.
Action = SelectionEvent.Action


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
    if not answered and _past_answer_time(selection, now):
        raise ContestError(
            _("This link has expired: the deadline to answer has passed, so the place went on.")
        )
    return selection


# The time to answer ---------------------------------------------------------


def selection_offer_key(selection: Selection) -> str:
    """The outbox key of a place's offer mail (a promoted alternate's is its second offer)."""
    return f"selection_offer:{selection.pk}:{2 if selection.is_promoted else 1}"


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


def _answer_time_over(selection: Selection, offer: OutboxMessage | None, now: datetime) -> bool:
    answer_by = selection_answer_by(selection, offer=offer, drawn_at=selection.draw.drawn_at)
    return answer_by is not None and now > answer_by + ANSWER_GRACE


def _past_answer_time(selection: Selection, now: datetime) -> bool:
    answer_by = selection_answer_deadline(selection)
    return answer_by is not None and now > answer_by + ANSWER_GRACE


# Mail ----------------------------------------------------------------------


def selection_deadline_zone(contest: Contest) -> str:
    """The time zone deadlines are written in: the visit's, else the contest's."""
    return contest.visit.time_zone if contest.visit_id else contest.time_zone


def _mail_context(selection: Selection, **extra) -> dict:
    contest = selection.draw.contest
    return {
        "selection": selection,
        "entry": selection.entry,
        "contest": contest,
        "visit": contest.visit,
        "time_zone": selection_deadline_zone(contest),
        **extra,
    }


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
        context=_mail_context(
            selection,
            accept_url=selection_answer_url(selection, action="accept", base_url=base_url),
            decline_url=selection_answer_url(selection, action="decline", base_url=base_url),
        ),
        contest_id=selection.draw.contest_id,
        concerns=selection.entry,
    )


def draw_offers_send(*, draw: Draw, actor=None, base_url: str | None = None) -> int:
    """Queue the offer mail of every pending selection of a draw; returns how many.

    Safe to call again: an offer already queued is not queued twice. An
    organizer who asks for it (``actor``) is on the record.
    """
    selections = Selection.objects.filter(draw=draw, status=Status.PENDING).select_related(
        "entry", "draw__contest__visit"
    )
    count = 0
    with transaction.atomic():
        for selection in selections:
            selection_notify(selection=selection, base_url=base_url)
            count += 1
        if actor is not None:
            log_action(
                actor=actor, action=Verb.OFFERS_SEND, target=draw, data={"pending_places": count}
            )
    return count


def _mail_outcome(selection: Selection, *, kind: str, template: str) -> None:
    mail_enqueue(
        key=f"{kind}:{selection.pk}",
        kind=kind,
        to=selection.entry.email,
        language=selection.entry.language,
        template=template,
        context=_mail_context(selection),
        contest_id=selection.draw.contest_id,
        concerns=selection.entry,
    )


# State changes -------------------------------------------------------------


def _log(selection: Selection, action: str, *, actor=None, note: str = "", at=None) -> None:
    SelectionEvent.objects.create(
        selection=selection,
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
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
    if _past_answer_time(selection, now):
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
    note: str = "",
    base_url: str | None = None,
    now: datetime | None = None,
) -> Selection:
    """Decline a pending place; confirm it by mail and offer the place to an alternate.

    Raises ContestError when the place was already answered or taken back, or
    the deadline has passed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        draw, selection = _lock(selection.pk)
        _check_answerable(selection, now)
        selection.status = Status.DECLINED
        selection.answered_at = now
        selection.save(update_fields=["status", "answered_at"])
        _log(selection, Action.DECLINED, actor=actor, note=note, at=now)
        _mail_outcome(selection, kind=DECLINED_KIND, template="contests/mail/selection_declined")
        _fill_free_places(draw, actor=None, base_url=base_url, now=now)
    return selection


def selection_disqualify(
    *,
    selection: Selection,
    actor,
    reason: str,
    base_url: str | None = None,
    now: datetime | None = None,
) -> Selection:
    """Take a place (or an alternate's rank) back, with a reason; the place goes on.

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
        if _answer_time_over(selection, offers.get(selection.pk), now)
    ]
    expired = 0
    for selection_id in overdue:
        with transaction.atomic():
            draw, selection = _lock(selection_id)
            if selection.status != Status.PENDING or not _past_answer_time(selection, now):
                continue
            selection.status = Status.EXPIRED
            selection.save(update_fields=["status"])
            _log(selection, Action.EXPIRED, note=_("No answer before the deadline."), at=now)
            _mail_outcome(selection, kind=EXPIRED_KIND, template="contests/mail/selection_expired")
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


def entries_not_chosen(contest: Contest):
    """Entries of the draw that were never offered a place (alternates left waiting too)."""
    offered = Selection.objects.filter(draw__contest=contest).exclude(status=Status.WAITING)
    return (
        Entry.objects.filter(contest=contest, in_draw=True, personal_data_removed_at__isnull=True)
        .exclude(pk__in=offered.values("entry_id"))
        .filter(Q(invalidated_at__isnull=True))
    )


def contest_notify_not_chosen(*, contest: Contest, actor=None, now: datetime | None = None) -> None:
    """Mark the contest so that a kind notice goes to every entrant not chosen, once.

    The notices are written by a Celery task after commit (there may be many);
    should the broker be down, the beat task ``resume_not_chosen_notices``
    finishes them. Raises ContestError before the places are settled or when
    it was done already.
    """
    now = now or timezone.now()
    with transaction.atomic():
        contest = Contest.objects.select_for_update().get(pk=contest.pk)
        if contest.not_chosen_notified_at is not None:
            raise ContestError(_("The entrants who were not chosen have already been told."))
        state = contest_places_settled(contest=contest)
        if state is None or not state.settled:
            raise ContestError(
                _("Wait until every place is settled before telling those who were not chosen.")
            )
        contest.not_chosen_notified_at = now
        contest.save(update_fields=["not_chosen_notified_at"])
        log_action(actor=actor, action=Verb.NOT_CHOSEN_NOTIFY, target=contest, at=now)
        logger.info("Not-chosen notices for contest %s asked by %s.", contest.pk, actor)
        contest_id = contest.pk
        transaction.on_commit(lambda: _publish_not_chosen(contest_id))


def _publish_not_chosen(contest_id: int) -> None:
    from ..tasks import send_not_chosen_notices

    try:
        send_not_chosen_notices.delay(contest_id)
    except Exception:  # noqa: BLE001 - any broker failure is left to the beat task
        logger.warning("Broker unavailable; not-chosen notices of %s wait for beat.", contest_id)


def not_chosen_notices_unfinished(*, now: datetime | None = None) -> list[int]:
    """Contests told in the last week whose not-chosen notices are not all queued."""
    since = (now or timezone.now()) - timedelta(days=7)
    unfinished = []
    for contest in Contest.objects.filter(not_chosen_notified_at__gte=since):
        expected = entries_not_chosen(contest).count()
        queued = OutboxMessage.objects.filter(contest=contest, kind=NOT_CHOSEN_KIND).count()
        if queued < expected:
            unfinished.append(contest.pk)
    return unfinished


def not_chosen_notices_queue(*, contest_id: int, base_url: str | None = None) -> int:
    """Queue the not-chosen notice of every entrant not chosen; returns how many were new.

    Safe to run again after a crash: each notice has its own key.
    """
    contest = Contest.objects.select_related("visit").get(pk=contest_id)
    if contest.not_chosen_notified_at is None:
        return 0
    queued = 0
    contest_url = absolute_url(contest.get_absolute_url(), base_url=base_url)
    entries = entries_not_chosen(contest).order_by("pk").iterator(chunk_size=2000)
    for entry in entries:
        key = f"{NOT_CHOSEN_KIND}:{contest.pk}:{entry.pk}"
        if OutboxMessage.objects.filter(key=key).exists():
            continue
        with transaction.atomic():
            mail_enqueue(
                key=key,
                kind=NOT_CHOSEN_KIND,
                to=entry.email,
                language=entry.language,
                template="contests/mail/not_chosen",
                context={"entry": entry, "contest": contest, "contest_url": contest_url},
                contest_id=contest.pk,
                concerns=entry,
            )
        queued += 1
    return queued
