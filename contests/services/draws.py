"""Business rules for the freeze and the draw (tweetup-draw-v1, DESIGN.md).

The draw reads the tickets once, as plain strings streamed from the database
(``values_list(...).iterator()``): no model object per entry, no query per
entry. Only the few tickets chosen are mapped back to their entries.
"""

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.db.models.functions import Collate
from django.utils import timezone
from django.utils.translation import gettext as _

from tweetup.audit import Verb, log_action

from .. import draw_algorithm
from ..errors import AlreadyDrawn, ContestError
from ..models import Contest, Draw, Entry, Selection, SelectionEvent
from .selections import Action, draw_offers_send, draw_withdrawn_decline

logger = logging.getLogger(__name__)

# The fields an organizer may cap, as written in the audit record.
CAP_FIELDS = ("country", "background")
# Rows fetched per round trip when streaming tickets.
CHUNK_SIZE = 20_000


# Tickets -------------------------------------------------------------------


def _tickets_in_draw(contest_id: int) -> QuerySet[Entry]:
    return Entry.objects.filter(contest_id=contest_id, in_draw=True)


def _bytewise(queryset: QuerySet[Entry]) -> QuerySet[Entry]:
    """Order by ticket, bytewise (the order of the audit record), in the database."""
    if connection.vendor == "postgresql":
        # The "C" collation compares bytes, whatever the database's own collation.
        return queryset.order_by(Collate("ticket", "C"))
    # SQLite's default BINARY collation already compares the UTF-8 bytes.
    return queryset.order_by("ticket")


def tickets_sorted(contest_id: int) -> Iterator[str]:
    """Stream the tickets in the draw, sorted bytewise, without holding them all."""
    return (
        _bytewise(_tickets_in_draw(contest_id))
        .values_list("ticket", flat=True)
        .iterator(chunk_size=CHUNK_SIZE)
    )


def _attributes_sorted(contest_id: int, fields: tuple[str, ...]) -> Iterator[tuple[str, dict]]:
    """Stream (ticket, {field: value}) for the capped fields, sorted bytewise by ticket.

    Entries sharing the same values share one dict, so a million tickets cost
    a million dict slots, not a million dicts.
    """
    shared: dict[tuple[str, ...], dict[str, str]] = {}
    rows = (
        _bytewise(_tickets_in_draw(contest_id))
        .values_list("ticket", *fields)
        .iterator(chunk_size=CHUNK_SIZE)
    )
    for ticket, *values in rows:
        key = tuple(str(value or "") for value in values)
        attributes = shared.get(key)
        if attributes is None:
            attributes = shared[key] = dict(zip(fields, key, strict=True))
        yield ticket, attributes


class _DigestWatch:
    """Pass tickets through while hashing them as the tickets digest does.

    The tickets must come sorted bytewise; the draw then checks that the
    tickets it read are exactly those frozen.
    """

    def __init__(self) -> None:
        self.count = 0
        self._hash = hashlib.sha256()
        self._previous: str | None = None
        self.sorted = True

    def watch(self, tickets) -> Iterator[str]:
        for ticket in tickets:
            if self._previous is not None:
                if ticket <= self._previous:
                    self.sorted = False
                self._hash.update(b"\n")
            self._hash.update(ticket.encode())
            self._previous = ticket
            self.count += 1
            yield ticket

    @property
    def digest(self) -> str:
        return self._hash.hexdigest()


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
        entry.in_draw = False
        entry.save(update_fields=["invalidated_at", "invalid_reason", "invalidated_by", "in_draw"])
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


def contest_freeze(*, contest: Contest, actor, now: datetime | None = None) -> Contest:
    """Fix the tickets of a closed contest and publish their digest.

    The eligible entries (confirmed before closing, not invalidated) are
    marked in the draw with one UPDATE; their tickets are then streamed once
    and hashed (sorted bytewise, joined by newlines). Raises ContestError
    unless the contest is closed and not yet frozen.
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
        Entry.objects.filter(contest=contest, in_draw=True).update(in_draw=False)
        count = Entry.objects.eligible(contest).update(in_draw=True)
        tickets = _tickets_in_draw(contest.pk).values_list("ticket", flat=True)
        try:
            digest = draw_algorithm.tickets_digest(tickets.iterator(chunk_size=CHUNK_SIZE))
        except ValueError as exc:
            raise ContestError(
                _("The tickets cannot be frozen: %(problem)s") % {"problem": exc}
            ) from exc
        contest.frozen_at = now
        contest.tickets_digest = digest
        contest.tickets_count = count
        contest.save(update_fields=["frozen_at", "tickets_digest", "tickets_count"])
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
) -> Draw:
    """Draw the winners and alternates of a frozen contest, once.

    ``caps`` maps "country" and/or "background" to the most winners sharing a
    value; None takes the contest's own caps. The tickets are read once
    (with their capped fields only when there are caps), checked against the
    frozen digest, and ranked by tweetup-draw-v1. The winners' selections are
    pending with a deadline ``acceptance_hours`` away, the alternates' are
    waiting; each gets a "drawn" event, and the winners' offers are queued
    unless ``notify`` is false.

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
            result = _select(contest, external_entropy=external_entropy, caps=caps)
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


def _select(
    contest: Contest, *, external_entropy: str, caps: dict[str, int]
) -> draw_algorithm.DrawResult:
    """Run tweetup-draw-v1 over the frozen tickets, reading them once."""
    key = draw_algorithm.draw_key(bytes(contest.seed), external_entropy)
    # The last pass over the tickets says whether they are those frozen; the
    # draw reads them in full on every pass.
    watches: list[_DigestWatch] = []
    if caps:
        fields = tuple(field for field in CAP_FIELDS if field in caps)
        attributes = dict(_attributes_sorted(contest.pk, fields))

        def read_tickets() -> Iterator[str]:
            # A second pass, if the caps need a longer prefix, reads the dict:
            # no second query.
            watches.append(_DigestWatch())
            return watches[-1].watch(attributes)

    else:
        attributes = {}

        def read_tickets() -> Iterator[str]:
            watches.append(_DigestWatch())
            return watches[-1].watch(tickets_sorted(contest.pk))

    try:
        result = draw_algorithm.select_tickets(
            key=key,
            tickets=read_tickets,
            winners_count=contest.winners_count,
            alternates_count=contest.alternates_count,
            caps=caps,
            attributes=attributes,
        )
    except ValueError as exc:
        raise ContestError(_("The draw cannot be made: %(problem)s") % {"problem": exc}) from exc
    watch = watches[-1]
    if (
        not watch.sorted
        or watch.count != contest.tickets_count
        or watch.digest != contest.tickets_digest
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


# The audit record ----------------------------------------------------------


def draw_audit_record(*, draw: Draw) -> dict[str, Any]:
    """The public audit record of a draw, as one dict (for small draws and tests).

    Same content as ``draw_audit_record_stream``, which the site serves.
    """
    return json.loads("".join(draw_audit_record_stream(draw=draw)))


def draw_audit_record_stream(*, draw: Draw) -> Iterator[str]:
    """Yield the audit record's JSON text piece by piece, keys as in DESIGN.md.

    The tickets (and their attributes when there are caps) are streamed from
    the database in bytewise order, so a million tickets never sit in memory
    at once. ``json.loads`` of the joined pieces equals what
    ``draw_algorithm.build_audit_record`` gives for the same inputs.
    """
    contest = draw.contest
    seed = bytes(contest.seed)
    caps = dict(draw.caps or {})

    def dump(value) -> str:
        return json.dumps(value, ensure_ascii=False)

    def scalar(key: str, value, *, first: bool = False) -> str:
        return ("{" if first else ",") + f"\n{dump(key)}:{dump(value)}"

    yield scalar("algorithm", draw_algorithm.ALGORITHM, first=True)
    yield scalar("contest", contest.slug)
    yield scalar("seed", seed.hex())
    yield scalar("commitment", draw_algorithm.commitment(seed))
    yield scalar("external_entropy", draw.external_entropy)
    yield ',\n"tickets":['
    yield from _chunked(dump(ticket) for ticket in tickets_sorted(contest.pk))
    yield "]"
    yield scalar("tickets_digest", contest.tickets_digest)
    yield scalar("winners_count", draw.winners_count)
    yield scalar("alternates_count", draw.alternates_count)
    yield scalar("caps", caps)
    yield ',\n"attributes":{'
    if caps:
        fields = tuple(field for field in CAP_FIELDS if field in caps)
        yield from _chunked(
            f"{dump(ticket)}:{dump(values)}"
            for ticket, values in _attributes_sorted(contest.pk, fields)
        )
    yield "}"
    yield scalar("ranking", list(draw.ranking))
    yield scalar("winners", list(draw.winners))
    yield scalar("alternates", list(draw.alternates))
    yield scalar("drawn_at", draw.drawn_at.astimezone(UTC).isoformat())
    yield "\n}\n"


def _chunked(items: Iterator[str], size: int = 5000) -> Iterator[str]:
    """Join items with commas into pieces of ``size`` items, for fewer, larger writes."""
    batch: list[str] = []
    first = True
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield ("" if first else ",") + ",".join(batch)
            first = False
            batch = []
    if batch:
        yield ("" if first else ",") + ",".join(batch)
