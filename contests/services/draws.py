"""Business rules for the freeze and the draw (tweetup-draw-v1, DESIGN.md).

The freeze writes no entry: it records on the contest the cut-off that fixes
the tickets in the draw (``Contest.tickets_cutoff``: the entries confirmed
before it and not invalidated, ``Entry.objects.in_draw``) and their digest.
The freeze and the draw read the tickets page by page in bytewise order
(``contests.services.tickets``): no model object per entry, no query per
entry, never more than a page in memory. Only the few tickets chosen are
mapped back to their entries. The published record of a draw is built in
``contests.services.audit_record``.
"""

import itertools
import logging
import operator
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tweetup.audit import Verb, log_action

from .. import draw_algorithm
from ..errors import AlreadyDrawn, ContestError
from ..models import Contest, Draw, Entry, Selection, SelectionEvent
from .selection_mail import draw_offers_send
from .selections import Action, draw_withdrawn_decline
from .tickets import TicketsDigest, attribute_pages, ticket_pages

logger = logging.getLogger(__name__)

# The fields an organizer may cap, as written in the audit record.
CAP_FIELDS = ("country", "background")

Progress = Callable[[int, int], None]


# Entries -------------------------------------------------------------------


def entry_invalidate(*, entry: Entry, actor, reason: str, now: datetime | None = None) -> Entry:
    """Invalidate an entry before the freeze, keeping the reason on record.

    An invalid entry is not drawn. The contest row is locked so that an
    invalidation and a freeze never overlap. Raises ContestError without a
    reason, once the contest is frozen, or when the entry is already invalid.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ContestError(_("Give a reason for invalidating the entry."))
    now = now or timezone.now()
    with transaction.atomic():
        contest = Contest.objects.select_for_update().get(pk=entry.contest_id)
        if contest.frozen_at is not None:
            raise ContestError(
                _("The contest is frozen: its entries can no longer be invalidated.")
            )
        entry = Entry.objects.select_for_update().get(pk=entry.pk)
        if entry.invalidated_at is not None:
            raise ContestError(_("Entry %(ticket)s is already invalid.") % {"ticket": entry.ticket})
        entry.invalidated_at = now
        entry.invalid_reason = reason[:300]
        entry.invalidated_by = actor if actor is not None and actor.is_authenticated else None
        entry.save(update_fields=["invalidated_at", "invalid_reason", "invalidated_by"])
        log_action(
            actor=actor,
            action=Verb.ENTRY_INVALIDATE,
            target=entry,
            reason=reason,
            changes={"invalidated_at": [None, now]},
            at=now,
        )
    logger.info("Entry %s invalidated by %s: %s", entry.pk, actor, reason)
    return entry


# Freeze --------------------------------------------------------------------


def contest_freeze_check(*, contest: Contest, now: datetime | None = None) -> None:
    """Raise ContestError, as ``contest_freeze`` would, unless the contest can be frozen now.

    For the page that starts the freeze as a background job: the refusal is
    said at once; the freeze checks again under its lock.
    """
    if contest.frozen_at is not None:
        raise ContestError(_("This contest is already frozen."))
    state = contest.state_at(now or timezone.now())
    if state != Contest.State.CLOSED:
        raise ContestError(
            _("Only a closed contest can be frozen; this one is %(state)s.")
            % {"state": state.label.lower()}
        )


def contest_freeze(
    *,
    contest: Contest,
    actor,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> Contest:
    """Fix the tickets of a closed contest and publish their digest.

    Writes no entry: the contest records its closing time as the cut-off
    (``tickets_cutoff``), which fixes the tickets in the draw (the entries
    confirmed before it and not invalidated, ``Entry.objects.in_draw``;
    neither can change once frozen), and their number and digest, read in
    one bytewise pass over the tickets, page by page. ``progress``, when
    given, is called as ``progress(done, total)`` after each page (the total
    costs one count). Raises ContestError unless the contest is closed and
    not yet frozen, or when a ticket cannot be hashed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        contest = Contest.objects.select_for_update().get(pk=contest.pk)
        if contest.frozen_at is not None:
            raise ContestError(_("This contest is already frozen."))
        state = contest.state_at(now)
        if state != Contest.State.CLOSED:
            raise ContestError(
                _("Only a closed contest can be frozen; this one is %(state)s.")
                % {"state": state.label.lower()}
            )
        contest.tickets_cutoff = contest.closes_at
        total = Entry.objects.in_draw(contest).count() if progress is not None else 0
        tickets = TicketsDigest()
        try:
            for page in ticket_pages(contest):
                tickets.add(list(map(operator.itemgetter(0), page)))
                if progress is not None:
                    progress(tickets.count, total)
        except ValueError as exc:
            raise ContestError(
                _("The tickets cannot be frozen: %(problem)s") % {"problem": exc}
            ) from exc
        if not tickets.ordered:
            # The database's "C" collation orders bytes; anything else is a bug.
            raise ContestError(_("The tickets cannot be frozen: they were not read in order."))
        count, digest = tickets.count, tickets.digest
        contest.frozen_at = now
        contest.tickets_digest = digest
        contest.tickets_count = count
        contest.save(
            update_fields=["frozen_at", "tickets_cutoff", "tickets_digest", "tickets_count"]
        )
        log_action(
            actor=actor,
            action=Verb.CONTEST_FREEZE,
            target=contest,
            data={"tickets_count": count, "tickets_digest": digest},
            at=now,
        )
    logger.info("Contest %s frozen by %s with %s tickets.", contest.pk, actor, count)
    return contest


# Draw ----------------------------------------------------------------------


def contest_caps(contest: Contest) -> dict[str, int]:
    """The caps the contest announced, as the audit record writes them."""
    caps = {}
    if contest.max_winners_per_country:
        caps["country"] = contest.max_winners_per_country
    if contest.max_winners_per_background:
        caps["background"] = contest.max_winners_per_background
    return caps


def draw_run(
    *,
    contest: Contest,
    actor,
    external_entropy: str = "",
    caps: dict[str, int] | None = None,
    notify: bool = True,
    base_url: str | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> Draw:
    """Draw the winners and alternates of a frozen contest, once.

    ``caps`` maps "country" and/or "background" to the most winners sharing a
    value; None takes the contest's own caps. The tickets are read once
    (with their capped fields only when there are caps), checked against the
    frozen digest, and ranked by tweetup-draw-v1. The winners' selections are
    pending with a deadline ``acceptance_hours`` away, the alternates' are
    waiting; each gets a "drawn" event, and the winners' offers are queued
    unless ``notify`` is false. ``progress``, when given, is called as
    ``progress(done, total)`` after each page of tickets read (with caps, a
    rare second pass over the tickets counts from 0 again).


    Two calls at once make one draw: the contest row is locked, and the
    database allows one draw per contest. Raises AlreadyDrawn when the
    contest has its draw, ContestError when it is not frozen, has no ticket,
    or its tickets changed since the freeze.
    """
    caps = contest_caps(contest) if caps is None else {k: v for k, v in caps.items() if v}
    for field, limit in caps.items():
        if field not in CAP_FIELDS or not isinstance(limit, int) or limit < 1:
            raise ContestError(_("A cap must be a whole number of winners, 1 or more."))
    external_entropy = external_entropy or ""
    if "\x00" in external_entropy:
        raise ContestError(_("The external entropy cannot contain a NUL character."))
    now = now or timezone.now()
    try:
        with transaction.atomic():
            contest = Contest.objects.select_for_update().get(pk=contest.pk)
            existing = Draw.objects.filter(contest=contest).first()
            if existing is not None:
                raise AlreadyDrawn(_("This contest has already been drawn."), draw=existing)
            if contest.frozen_at is None:
                raise ContestError(_("Freeze the contest before drawing."))
            if not contest.tickets_count:
                raise ContestError(_("There is no ticket in the draw."))
            result = _select(
                contest, external_entropy=external_entropy, caps=caps, progress=progress
            )
            draw = Draw.objects.create(
                contest=contest,
                external_entropy=external_entropy,
                winners_count=contest.winners_count,
                alternates_count=contest.alternates_count,
                caps=caps,
                ranking=list(result.ranking),
                winners=list(result.winners),
                alternates=list(result.alternates),
                drawn_at=now,
                drawn_by=actor if actor is not None and actor.is_authenticated else None,
            )
            _create_selections(contest, draw, result, actor=actor, now=now)
            # Entrants who withdrew after the freeze keep their ticket, not a place.
            draw_withdrawn_decline(draw=draw, now=now)
            log_action(
                actor=actor,
                action=Verb.DRAW,
                target=draw,
                data={
                    "external_entropy": external_entropy,
                    "caps": caps,
                    "winners": list(result.winners),
                    "alternates": list(result.alternates),
                },
                at=now,
            )
            if notify:
                draw_offers_send(draw=draw, base_url=base_url)
    except IntegrityError as exc:
        # Another process made the draw between our check and our insert.
        existing = Draw.objects.filter(contest_id=contest.pk).first()
        if existing is None:
            raise
        raise AlreadyDrawn(_("This contest has already been drawn."), draw=existing) from exc
    logger.info(
        "Contest %s drawn by %s: %s winners, %s alternates.",
        contest.pk,
        actor,
        len(draw.winners),
        len(draw.alternates),
    )
    return draw


def draw_run_check(*, contest: Contest) -> None:
    """Raise as ``draw_run`` would (AlreadyDrawn, ContestError) unless the contest can be drawn.

    For the page that starts the draw as a background job; the draw checks
    again under its lock.
    """
    existing = Draw.objects.filter(contest=contest).first()
    if existing is not None:
        raise AlreadyDrawn(_("This contest has already been drawn."), draw=existing)
    if contest.frozen_at is None:
        raise ContestError(_("Freeze the contest before drawing."))
    if not contest.tickets_count:
        raise ContestError(_("There is no ticket in the draw."))


def _select(
    contest: Contest,
    *,
    external_entropy: str,
    caps: dict[str, int],
    progress: Progress | None = None,
) -> draw_algorithm.DrawResult:
    """Run tweetup-draw-v1 over the frozen tickets, checking them against the digest.

    Each pass reads the tickets page by page; with caps, each ticket comes
    with its capped values, and the draw keeps the values of the head of the
    ranking only.
    """
    key = draw_algorithm.draw_key(bytes(contest.seed), external_entropy)
    total = contest.tickets_count or 0
    # The last pass over the tickets says whether they are those frozen.
    digests: list[TicketsDigest] = []
    fields = tuple(field for field in CAP_FIELDS if field in caps)

    def pages() -> Iterator[list]:
        digest = TicketsDigest()
        digests.append(digest)
        pages = attribute_pages(contest, fields) if caps else ticket_pages(contest)
        for page in pages:
            digest.add(list(map(operator.itemgetter(0), page)))
            if progress is not None:
                progress(digest.count, total)
            yield page

    try:
        if caps:
            result = draw_algorithm.select_attributed_tickets(
                key=key,
                tickets=lambda: itertools.chain.from_iterable(pages()),
                winners_count=contest.winners_count,
                alternates_count=contest.alternates_count,
                caps=caps,
            )
        else:
            result = draw_algorithm.select_tickets(
                key=key,
                tickets=lambda: map(operator.itemgetter(0), itertools.chain.from_iterable(pages())),
                winners_count=contest.winners_count,
                alternates_count=contest.alternates_count,
            )
    except ValueError as exc:
        raise ContestError(_("The draw cannot be made: %(problem)s") % {"problem": exc}) from exc
    digest = digests[-1]
    if (
        not digest.ordered
        or digest.count != contest.tickets_count
        or digest.digest != contest.tickets_digest
    ):
        raise ContestError(
            _("The tickets in the draw no longer match the frozen digest; the draw was not made.")
        )
    return result


def _create_selections(
    contest: Contest, draw: Draw, result: draw_algorithm.DrawResult, *, actor, now: datetime
) -> None:
    chosen = [*result.winners, *result.alternates]
    entry_ids = dict(
        Entry.objects.filter(contest=contest, ticket__in=chosen).values_list("ticket", "pk")
    )
    deadline = now + timedelta(hours=contest.acceptance_hours)
    selections = [
        Selection(
            draw=draw,
            entry_id=entry_ids[ticket],
            kind=Selection.Kind.WINNER,
            position=position,
            status=Selection.Status.PENDING,
            deadline=deadline,
        )
        for position, ticket in enumerate(result.winners, start=1)
    ] + [
        Selection(
            draw=draw,
            entry_id=entry_ids[ticket],
            kind=Selection.Kind.ALTERNATE,
            position=position,
            status=Selection.Status.WAITING,
        )
        for position, ticket in enumerate(result.alternates, start=1)
    ]
    selections = Selection.objects.bulk_create(selections)
    actor = actor if actor is not None and actor.is_authenticated else None
    SelectionEvent.objects.bulk_create(
        SelectionEvent(selection=selection, at=now, actor=actor, action=Action.DRAWN)
        for selection in selections
    )
