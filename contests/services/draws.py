"""Business rules for the freeze and the draw (tweetup-draw-v1, DESIGN.md).

The freeze writes no entry: it records on the contest the cut-off that fixes
the tickets in the draw (``Contest.tickets_cutoff``: the entries confirmed
before it and not invalidated, ``Entry.objects.in_draw``) and their digest.
Every read of the tickets (the freeze, the draw, draw.json) pages through
them in bytewise order by keyset, one short query per page of
``PAGE_SIZE`` tickets, on the index (contest, ticket COLLATE "C"): no model
object per entry, no query per entry, no server-side cursor (so it works
behind PgBouncer in transaction mode), and never more than a page in memory.
Only the few tickets chosen are mapped back to their entries.
"""

import hashlib
import itertools
import json
import logging
import operator
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.db.models import F, QuerySet
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
# Tickets read per query (and per call of a progress callback).
PAGE_SIZE = 10_000
CHUNK_SIZE = PAGE_SIZE

Progress = Callable[[int, int], None]


# Tickets -------------------------------------------------------------------


def _bytewise(queryset: QuerySet[Entry]) -> QuerySet[Entry]:
    """Order by ticket, bytewise (the order of the audit record), in the database."""
    if connections[queryset.db].vendor == "postgresql":
        # The "C" collation compares bytes, whatever the database's own collation.
        return queryset.alias(bytewise=Collate("ticket", "C")).order_by("bytewise")
    # SQLite's default BINARY collation already compares the UTF-8 bytes.
    return queryset.alias(bytewise=F("ticket")).order_by("bytewise")


def _fetch(queryset: QuerySet) -> list[tuple]:
    """The rows of a values_list queryset as plain tuples, on a client-side cursor."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def ticket_pages(contest: Contest, fields: tuple[str, ...] = ()) -> Iterator[list[tuple]]:
    """Pages of ``(ticket, *fields)`` rows of the tickets in the draw, sorted bytewise.

    Each page is one query starting after the last ticket of the page before
    (keyset pagination on the index (contest, ticket COLLATE "C")), so no
    cursor stays open between pages and no more than ``PAGE_SIZE`` rows are
    held. The set is fixed once frozen, so the pages add up to it.
    """
    if contest.tickets_cutoff is None:
        return
    rows = _bytewise(Entry.objects.in_draw(contest)).values_list("ticket", *fields)
    after = None
    while True:
        page = _fetch((rows if after is None else rows.filter(bytewise__gt=after))[:PAGE_SIZE])
        if page:
            yield page
        if len(page) < PAGE_SIZE:
            return
        after = page[-1][0]


def tickets_sorted(contest: Contest) -> Iterator[str]:
    """Stream the tickets in the draw, sorted bytewise, a page at a time."""
    for page in ticket_pages(contest):
        yield from map(operator.itemgetter(0), page)


class _SharedValues(dict):
    """The capped values of a ticket as one dict per combination of values, made once."""

    def __init__(self, fields: tuple[str, ...]) -> None:
        super().__init__()
        self.fields = fields

    def __missing__(self, key) -> dict[str, str]:
        values = key if len(self.fields) > 1 else (key,)
        shared = self[key] = {
            field: str(value or "") for field, value in zip(self.fields, values, strict=True)
        }
        return shared


def _attribute_pages(
    contest: Contest, fields: tuple[str, ...]
) -> Iterator[list[tuple[str, dict[str, str]]]]:
    """Pages of (ticket, {field: value}) for the capped fields, sorted bytewise by ticket.

    Entries sharing the same values share one dict, so a page costs a slot
    per ticket, not a dict per ticket, and no Python-level call per ticket.
    """
    shared = _SharedValues(fields)
    values_of = operator.itemgetter(*range(1, len(fields) + 1))
    for page in ticket_pages(contest, fields):
        yield list(
            zip(
                map(operator.itemgetter(0), page),
                map(shared.__getitem__, map(values_of, page)),
                strict=True,
            )
        )


class _TicketsDigest:
    """Hash tickets as the tickets digest does, a page at a time.

    The tickets must come sorted bytewise (``ordered`` says whether they
    did, each strictly after the one before); ``add`` raises ValueError on a
    ticket that cannot be one (empty, or holding a newline).
    """

    def __init__(self) -> None:
        self.count = 0
        self.ordered = True
        self._hash = hashlib.sha256()
        self._last: str | None = None

    def add(self, tickets: list[str]) -> None:
        if not tickets:
            return
        data = "\n".join(tickets).encode()
        if data.count(b"\n") != len(tickets) - 1 or "" in tickets:
            for ticket in tickets:
                problem = draw_algorithm.ticket_problem(ticket)
                if problem is not None:
                    raise ValueError(problem)
        # Python compares str by code point, which is the bytewise order of UTF-8.
        if (self._last is not None and not self._last < tickets[0]) or not all(
            map(operator.lt, tickets, itertools.islice(tickets, 1, None))
        ):
            self.ordered = False
        if self._last is not None:
            self._hash.update(b"\n")
        self._hash.update(data)
        self._last = tickets[-1]
        self.count += len(tickets)

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
        tickets = _TicketsDigest()
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
    digests: list[_TicketsDigest] = []
    fields = tuple(field for field in CAP_FIELDS if field in caps)

    def pages() -> Iterator[list]:
        digest = _TicketsDigest()
        digests.append(digest)
        pages = _attribute_pages(contest, fields) if caps else ticket_pages(contest)
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

    def compact(value) -> str:
        # One call per page: the tickets of a page as one JSON text.
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def scalar(key: str, value, *, first: bool = False) -> str:
        return ("{" if first else ",") + f"\n{dump(key)}:{dump(value)}"

    yield scalar("algorithm", draw_algorithm.ALGORITHM, first=True)
    yield scalar("contest", contest.slug)
    yield scalar("seed", seed.hex())
    yield scalar("commitment", draw_algorithm.commitment(seed))
    yield scalar("external_entropy", draw.external_entropy)
    yield ',\n"tickets":['
    yield from _joined(
        compact(list(map(operator.itemgetter(0), page)))[1:-1] for page in ticket_pages(contest)
    )
    yield "]"
    yield scalar("tickets_digest", contest.tickets_digest)
    yield scalar("winners_count", draw.winners_count)
    yield scalar("alternates_count", draw.alternates_count)
    yield scalar("caps", caps)
    yield ',\n"attributes":{'
    if caps:
        fields = tuple(field for field in CAP_FIELDS if field in caps)
        yield from _joined(compact(dict(page))[1:-1] for page in _attribute_pages(contest, fields))
    yield "}"
    yield scalar("ranking", list(draw.ranking))
    yield scalar("winners", list(draw.winners))
    yield scalar("alternates", list(draw.alternates))
    yield scalar("drawn_at", draw.drawn_at.astimezone(UTC).isoformat())
    yield "\n}\n"


def _joined(pieces: Iterator[str]) -> Iterator[str]:
    """Join pieces of a JSON list or object with commas, one piece per page."""
    first = True
    for piece in pieces:
        yield piece if first else "," + piece
        first = False
